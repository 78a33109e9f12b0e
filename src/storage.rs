//! Reading and writing arrays in storage: Zarr v3 stores and `.npy` files, chunk by chunk.
//!
//! Reads are lazy sources: opening reads metadata only, and a computation reads just the chunks
//! it needs. Writes are tasks of the same graph, one per chunk, each run as soon as its chunk
//! exists, so storing never holds the whole array.

use crate::array::{Array, run};
use crate::context::Context;
use std::path::Path;
use std::sync::Arc;
use tilework_core::op::SourceOp;
use tilework_core::{ChunkGrid, ChunkReader, ChunkWriter, Chunks, DType, Error, Op, Result};
use tilework_io::npy::{NpyReader, NpyWriter};
#[cfg(feature = "zarr")]
use tilework_io::zarr::{ZarrReadMode, ZarrReader, ZarrWriteOptions, ZarrWriter};
use tilework_sched::Report;

impl Context {
    /// Opens a Zarr array lazily, chunked as it is stored: only the metadata is read now, and a
    /// computation reads only the chunks it needs. Chunks never written read as the fill value
    /// (Zarr's rule); [`from_zarr_with`](Self::from_zarr_with) and [`ZarrReadMode::Strict`]
    /// make them an error instead.
    ///
    /// # Errors
    /// [`Error::Io`] naming the path when it is missing, not a Zarr array, has unreadable
    /// metadata or an unsupported dtype.
    #[cfg(feature = "zarr")]
    pub fn from_zarr(&self, path: impl AsRef<Path>) -> Result<Array> {
        self.from_zarr_with(path, ZarrReadMode::FillMissing)
    }

    /// Opens a Zarr array lazily in read mode `mode`. With [`ZarrReadMode::Strict`], an array
    /// whose completion record says its write did not finish is refused now, and a computation
    /// that reaches a chunk never written fails naming that chunk.
    ///
    /// # Errors
    /// As [`from_zarr`](Self::from_zarr); in strict mode, [`Error::Io`] for an incomplete array.
    #[cfg(feature = "zarr")]
    pub fn from_zarr_with(&self, path: impl AsRef<Path>, mode: ZarrReadMode) -> Result<Array> {
        let reader = ZarrReader::open(path)?.with_mode(mode)?;
        let dtype = reader.dtype();
        let chunks = Chunks::Shape(store_chunk_shape(reader.chunk_shape()));
        let grid = ChunkGrid::new(reader.shape(), &chunks, dtype)?;
        Ok(store_source(self, Arc::new(reader), dtype, grid))
    }

    /// Opens a `.npy` file lazily (memory-mapped), split into chunks of about
    /// [`Chunks::AUTO_BYTES`].
    ///
    /// # Errors
    /// As [`Context::from_npy_with_chunks`].
    pub fn from_npy(&self, path: impl AsRef<Path>) -> Result<Array> {
        self.from_npy_with_chunks(path, Chunks::Auto)
    }

    /// Opens a `.npy` file lazily (memory-mapped) with the given chunking. C and Fortran order
    /// and both byte orders are read.
    ///
    /// # Errors
    /// [`Error::Io`] naming the file when it is missing, not a `.npy` file, truncated or of an
    /// unsupported dtype; bad chunks.
    pub fn from_npy_with_chunks(
        &self,
        path: impl AsRef<Path>,
        chunks: impl Into<Chunks>,
    ) -> Result<Array> {
        let reader = NpyReader::open(path)?;
        let dtype = reader.dtype();
        let grid = ChunkGrid::new(reader.shape(), &chunks.into(), reader.dtype())?;
        Ok(store_source(self, Arc::new(reader), dtype, grid))
    }
}

impl Array {
    /// Writes the array to a new Zarr v3 array at `path`, chunked as the array is (an irregular
    /// chunking is first made regular, with each axis's largest chunk). Metadata is written first
    /// and every chunk atomically, as soon as it is computed; the array is never held whole.
    ///
    /// Rechunk first to store with other chunks: `x.rechunk(..)?.to_zarr(..)`.
    ///
    /// # Errors
    /// A deferred operator error; [`Error::Io`] naming the path (and chunk) when the destination
    /// exists (without `overwrite`), cannot be written or fills up. Chunks written before a
    /// failure stay complete and readable.
    #[cfg(feature = "zarr")]
    pub fn to_zarr(&self, path: impl AsRef<Path>, options: &ZarrWriteOptions) -> Result<Report> {
        if let Some(e) = self.error() {
            return Err(e);
        }
        let chunk_shape = store_chunk_shape(&self.regular_chunk_shape());
        let source = self.rechunk(Chunks::Shape(chunk_shape.clone()))?;
        let writer = ZarrWriter::prepare(path, self.dtype(), self.shape(), &chunk_shape, options)?;
        let (_, _, report) = run(&self.ctx, &[], &[(source, Arc::new(writer))])?;
        Ok(report)
    }

    /// Writes the array to a `.npy` file (little-endian, C order), each chunk at its place as soon
    /// as it is computed. The file appears at `path` only when complete.
    ///
    /// # Errors
    /// A deferred operator error; [`Error::Io`] naming the file when it cannot be written. On
    /// failure nothing is left at `path`.
    pub fn to_npy(&self, path: impl AsRef<Path>) -> Result<Report> {
        if let Some(e) = self.error() {
            return Err(e);
        }
        let writer = Arc::new(NpyWriter::create(path, self.dtype(), self.shape())?);
        let sink: Arc<dyn ChunkWriter> = writer.clone();
        let (_, _, report) = run(&self.ctx, &[], &[(self.clone(), sink)])?;
        let writer = Arc::try_unwrap(writer)
            .map_err(|_| Error::Device("to_npy: the executor still holds the writer".into()))?;
        writer.commit()?;
        Ok(report)
    }

    /// Each axis's largest chunk: the regular chunk shape closest to the array's chunking.
    #[cfg(feature = "zarr")]
    fn regular_chunk_shape(&self) -> Vec<usize> {
        self.chunks()
            .iter()
            .map(|sizes| sizes.iter().copied().max().unwrap_or(0))
            .collect()
    }
}

/// Zarr requires positive chunk sizes; an empty axis is stored with chunk size 1.
#[cfg(feature = "zarr")]
fn store_chunk_shape(chunk_shape: &[usize]) -> Vec<usize> {
    chunk_shape.iter().map(|&c| c.max(1)).collect()
}

fn store_source(
    ctx: &Context,
    reader: Arc<dyn ChunkReader>,
    dtype: DType,
    grid: ChunkGrid,
) -> Array {
    Array::new(
        ctx,
        Op::Source(SourceOp::Store(reader)),
        Vec::new(),
        dtype,
        grid,
    )
}
