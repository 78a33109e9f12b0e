//! `.npy` files: memory-mapped chunk reads and positional chunk writes.
//!
//! [`NpyReader`] reads any region of a `.npy` file (format versions 1.0 to 3.0, C or Fortran
//! order, either byte order) of the dtypes tilework has; [`NpyWriter`] fills a new file region
//! by region from many threads and moves it into place on [`NpyWriter::commit`]. Both go
//! through the core's [`ChunkReader`](tilework_core::ChunkReader) and
//! [`ChunkWriter`](tilework_core::ChunkWriter) traits. [`read_npz`] reads the arrays of an
//! `.npz` archive whole.

mod header;
mod layout;
mod literal;
mod npz;
mod read;
mod write;

pub use npz::read_npz;
pub use read::NpyReader;
pub use write::NpyWriter;

#[cfg(test)]
mod tests;

/// An [`Error::Io`](tilework_core::Error::Io) on `path`: `what` failed because of `error`.
fn io_failure(path: &std::path::Path, what: &str, error: &std::io::Error) -> tilework_core::Error {
    crate::io_error(path.display(), format!("{what}: {error}"))
}
