//! The seam between the graph and storage: arrays kept in files are read and written chunk by
//! chunk through these traits, which `tilework-io` implements (Zarr, .npy).
//!
//! The core only sees regions and host arrays, so the planner can treat a store like any other
//! source (reading only the chunks a computation needs) and a write like any other task.

use crate::chunks::Region;
use crate::error::Result;
use crate::host::HostArray;
use std::fmt;

/// Reads regions of an array kept outside memory.
pub trait ChunkReader: Send + Sync + fmt::Debug {
    /// What is read, for errors, `explain` and reports (e.g. `zarr array /data/x.zarr`).
    fn describe(&self) -> String;

    /// Reads `region` (global coordinates) as a host array of the source's dtype and the
    /// region's shape.
    ///
    /// # Errors
    /// An [`Error::Io`](crate::Error::Io) naming the file and chunk when the data is missing,
    /// truncated or corrupt.
    fn read(&self, region: &Region) -> Result<HostArray>;

    /// Bytes a read of `region` allocates besides the array it returns (encoded and decoded
    /// copies of stored chunks), which the executor counts against the host budget while the
    /// read runs. Saturates at `u64::MAX`.
    fn read_scratch_bytes(&self, region: &Region) -> u64 {
        let _ = region;
        0
    }

    /// Whether any region reads at a cost proportional to its size, whatever the stored chunks
    /// (a memory-mapped file): a rechunk of such a source then reads the new chunks directly
    /// instead of gathering them from stored ones.
    fn reads_any_region(&self) -> bool {
        false
    }
}

/// Writes regions of an array to storage. Each call writes whole storage chunks, so concurrent
/// calls for different regions never touch the same bytes.
pub trait ChunkWriter: Send + Sync + fmt::Debug {
    /// What is written, for errors and reports.
    fn describe(&self) -> String;

    /// Called once before the first [`write`](Self::write), after the whole computation was
    /// planned and checked against its budgets: a writer that creates files or metadata does it
    /// here, so a refused plan leaves nothing behind.
    ///
    /// # Errors
    /// An [`Error::Io`](crate::Error::Io) naming the destination when it cannot be prepared.
    fn begin(&self) -> Result<()> {
        Ok(())
    }

    /// Called once after every region was written successfully (not after a failure), e.g. to
    /// record that the array is complete.
    ///
    /// # Errors
    /// An [`Error::Io`](crate::Error::Io) naming the destination when it cannot be finished.
    fn finish(&self) -> Result<()> {
        Ok(())
    }

    /// Writes `data`, which is `region` (global coordinates) of the array.
    ///
    /// # Errors
    /// An [`Error::Io`](crate::Error::Io) naming the file and chunk when writing fails; the
    /// chunk is then left as it was (never half-written).
    fn write(&self, region: &Region, data: &HostArray) -> Result<()>;
}
