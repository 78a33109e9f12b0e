//! Zarr arrays through `zarrs`: lazy chunk reads and atomic chunk writes.
//!
//! [`ZarrReader`] opens a Zarr v3 array (or a Zarr v2 array that `zarrs` can map onto v3) by
//! reading its metadata only; each [`read`](tilework_core::ChunkReader::read) then decodes just
//! the chunks that overlap the requested region. Chunks that were never written read as the
//! array's fill value, as the Zarr specification says; in [`ZarrReadMode::Strict`] a chunk never
//! written is an error instead. [`ZarrReader::missing_chunk_count`] and
//! [`ZarrReader::first_missing_chunks`] list what is absent in time proportional to what is
//! present, on any grid.
//!
//! [`ZarrWriter`] creates a Zarr v3 array and stores it chunk by chunk, from any number of threads.
//! The metadata (`zarr.json`) is written before any chunk, and every value (metadata or chunk)
//! goes to a temporary key next to its final one and is renamed into place
//! ([`AtomicRenameStore`]), so an interrupted run leaves an array that opens, holds only complete
//! chunks, and reports the chunks it lacks through [`ZarrReader::missing_chunks`]. Nothing is
//! written before [`begin`](tilework_core::ChunkWriter::begin) (so a computation refused at
//! planning leaves nothing), and the metadata's attribute `"tilework": {"complete": ..}` turns
//! true at [`finish`](tilework_core::ChunkWriter::finish): [`ZarrReader::completion`] tells a
//! finished write from an interrupted one. Temporaries that killed writes left are removed when
//! a new write of the same array begins.
//!
//! Supported dtypes: bool, uint8, int32, int64, uint32, float16, float32 and float64, always
//! stored little-endian. Chunk grids must be regular.

mod decode;
mod destination;
mod dtype;
mod listing;
mod options;
mod read;
mod store;
mod write;

#[cfg(test)]
mod tests;

pub use options::{BloscCompressor, Codec, ZarrCompletion, ZarrReadMode, ZarrWriteOptions};
pub use read::{MISSING_CHUNKS_LIST_LIMIT, ZarrReader};
pub use store::AtomicRenameStore;
pub use write::ZarrWriter;
pub use zarrs::storage::{ReadableListableStorage, ReadableWritableListableStorage};

use crate::io_error;
use tilework_core::Error;

/// An [`Error::Io`] about one chunk: names the array, the chunk's grid index and its store key,
/// so a corrupt or missing file can be found and removed by hand.
fn chunk_error(
    location: &str,
    chunk_index: &[u64],
    key: &zarrs::storage::StoreKey,
    cause: impl std::fmt::Display,
) -> Error {
    io_error(
        location,
        format!("chunk {chunk_index:?} (key '{key}'): {cause}"),
    )
}

/// Converts sizes from the Zarr side (`u64`) to the host side, failing instead of truncating on
/// targets where `usize` is narrower.
fn to_usize(values: &[u64], location: &str, what: &str) -> tilework_core::Result<Vec<usize>> {
    values
        .iter()
        .map(|&value| {
            usize::try_from(value).map_err(|_| {
                io_error(
                    location,
                    format!("{what} {values:?} does not fit this platform's usize"),
                )
            })
        })
        .collect()
}

/// The most bytes one chunk may hold (4 GiB), for reading and for writing.
///
/// Reads decode whole chunks in memory, so the chunk shape is checked when an array opens:
/// metadata claiming `[2^40, 3]` chunks is refused instead of being allocated when a chunk is
/// read (an allocation that fails aborts the process). Real chunks are far smaller (Zarr's
/// tools suggest megabytes), and the writer refuses the same shapes, so whatever it writes
/// reads back.
pub const MAX_CHUNK_BYTES: u64 = 1 << 32;

/// The bytes of an array of `shape` and `dtype`, when they fit in memory's address space
/// (`isize::MAX`, ndarray's limit, which counts the non-zero sizes of an empty shape too):
/// anything larger must be refused before allocating, since ndarray panics on it.
fn checked_nbytes(shape: &[usize], dtype: tilework_core::DType) -> Option<usize> {
    tilework_core::shape::size::nbytes(shape, dtype.size())
}

/// Why chunks of `chunk_shape` and `dtype` may not be read or written, if they may not: more
/// than [`MAX_CHUNK_BYTES`] each.
fn chunk_size_problem(chunk_shape: &[usize], dtype: tilework_core::DType) -> Option<String> {
    match checked_nbytes(chunk_shape, dtype) {
        Some(bytes) if bytes as u64 <= MAX_CHUNK_BYTES => None,
        Some(bytes) => Some(format!(
            "chunk shape {chunk_shape:?} is too large: its {dtype} chunks hold {bytes} bytes \
             each, more than the {MAX_CHUNK_BYTES} bytes a chunk may have"
        )),
        None => Some(format!(
            "chunk shape {chunk_shape:?} is too large to hold in memory"
        )),
    }
}

/// Widens host sizes to the `u64` that `zarrs` takes (lossless on every supported target).
fn to_u64(values: &[usize]) -> Vec<u64> {
    values.iter().map(|&value| value as u64).collect()
}
