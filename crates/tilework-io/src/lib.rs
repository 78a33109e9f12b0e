//! Storage for tilework: arrays in Zarr v3 stores (through `zarrs`) and `.npy` files, read and
//! written region by region through the core's [`ChunkReader`](tilework_core::ChunkReader) and
//! [`ChunkWriter`](tilework_core::ChunkWriter) traits.
//!
//! Readers open lazily: only metadata is read until a region is requested. Writers put each
//! chunk under a temporary name and rename it into place, so an interrupted run leaves only
//! complete chunks. Every error is an [`Error::Io`] naming the file (and the chunk, when one is
//! involved); no input makes these functions panic.
#![warn(missing_docs)]

#[cfg(test)]
mod corpus;
pub mod npy;
#[cfg(feature = "zarr")]
pub mod zarr;

use tilework_core::Error;

/// An [`Error::Io`] for `path`.
pub(crate) fn io_error(path: impl std::fmt::Display, message: impl std::fmt::Display) -> Error {
    Error::Io {
        path: path.to_string(),
        message: message.to_string(),
    }
}
