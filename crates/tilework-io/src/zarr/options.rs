//! Options for writing Zarr arrays: the compression codec, fill value and overwriting.

use std::sync::Arc;
use tilework_core::{DType, Error, Result, Scalar};
use zarrs::array::BytesToBytesCodecTraits;
use zarrs::array::codec::{
    BloscCodec, BloscCompressionLevel, BloscCompressor as ZarrsBloscCompressor, BloscShuffleMode,
    GzipCodec, ZstdCodec,
};

/// The compressor inside a Blosc codec.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum BloscCompressor {
    /// LZ4: fast, moderate ratio.
    Lz4,
    /// Zstandard: slower, better ratio.
    Zstd,
}

/// How written chunks are compressed (after the little-endian `bytes` codec).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Codec {
    /// No compression: each chunk is its raw little-endian bytes.
    None,
    /// Zstandard at `level`: 1 to 22, higher being smaller and slower; 0 means zstd's default
    /// (3), and negative levels (down to -131072) trade ratio for speed.
    Zstd {
        /// Compression level.
        level: i32,
    },
    /// Blosc with `compressor` at `level` (0 to 9); `shuffle` groups the bytes of each element
    /// by significance first, which helps numeric data.
    Blosc {
        /// The compressor Blosc runs.
        compressor: BloscCompressor,
        /// Compression level, 0 to 9.
        level: u8,
        /// Byte-shuffle before compressing.
        shuffle: bool,
    },
    /// Gzip at `level` (0 to 9).
    Gzip {
        /// Compression level.
        level: u32,
    },
}

/// Options for [`ZarrWriter::create`](super::ZarrWriter::create).
///
/// The default is zstd at level 3 (the codec zarr-python 3 writes by default; it writes level 0,
/// which zstd reads as its default level, 3), a zero fill value, and no overwriting.
#[derive(Clone, Debug, PartialEq)]
pub struct ZarrWriteOptions {
    /// Compression of the chunks.
    pub codec: Codec,
    /// The value of chunks never written (cast to the array's dtype); `None` means zero.
    pub fill_value: Option<Scalar>,
    /// Replace an existing Zarr array at the destination (its chunks are removed first).
    pub overwrite: bool,
}

impl Default for ZarrWriteOptions {
    fn default() -> Self {
        ZarrWriteOptions {
            codec: Codec::Zstd { level: 3 },
            fill_value: None,
            overwrite: false,
        }
    }
}

/// The bytes-to-bytes codecs for `codec` on elements of `dtype`.
pub(crate) fn compression_codecs(
    codec: &Codec,
    dtype: DType,
) -> Result<Vec<Arc<dyn BytesToBytesCodecTraits>>> {
    let invalid = |detail: String| Error::invalid("zarr create", detail);
    Ok(match *codec {
        Codec::None => Vec::new(),
        Codec::Zstd { level } => {
            if !(-131_072..=22).contains(&level) {
                return Err(invalid(format!(
                    "zstd level {level} is not in -131072..=22"
                )));
            }
            vec![Arc::new(ZstdCodec::new(level, false))]
        }
        Codec::Blosc {
            compressor,
            level,
            shuffle,
        } => {
            let level = BloscCompressionLevel::try_from(level)
                .map_err(|level| invalid(format!("blosc level {level} is not in 0..=9")))?;
            let compressor = match compressor {
                BloscCompressor::Lz4 => ZarrsBloscCompressor::LZ4,
                BloscCompressor::Zstd => ZarrsBloscCompressor::Zstd,
            };
            let shuffle = if shuffle {
                BloscShuffleMode::Shuffle
            } else {
                BloscShuffleMode::NoShuffle
            };
            let codec = BloscCodec::new(compressor, level, None, shuffle, Some(dtype.size()))
                .map_err(|err| invalid(format!("blosc: {err}")))?;
            vec![Arc::new(codec)]
        }
        Codec::Gzip { level } => {
            let codec = GzipCodec::new(level)
                .map_err(|err| invalid(format!("gzip level {level}: {err}")))?;
            vec![Arc::new(codec)]
        }
    })
}

/// How a read treats chunks that have no stored value.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum ZarrReadMode {
    /// Zarr's rule (as zarr-python): a chunk never written reads as the fill value.
    #[default]
    FillMissing,
    /// A chunk never written is an error naming it, and an array whose completion record says a
    /// write did not finish is refused at open: for stores that must be whole.
    Strict,
}

/// What an array's metadata says about the write that produced it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ZarrCompletion {
    /// Written by tilework, and the write finished: every chunk was stored.
    Complete,
    /// Written by tilework, and the write did not finish (interrupted or failed): chunks it had
    /// not reached read as the fill value.
    Incomplete,
    /// No completion record (written by another tool): Zarr itself cannot tell.
    Unknown,
}
