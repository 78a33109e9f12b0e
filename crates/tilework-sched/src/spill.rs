//! Spilling: chunk values written to a private folder under the context's spill directory while
//! memory is short, and read back when a task needs them.
//!
//! The folder is made on the first spill and removed (with every file in it) when the store is
//! dropped, which happens at the end of each computation, also when it fails or is cancelled.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use tilework_core::shape::Shape;
use tilework_core::{DType, Error, HostArray, Result};

/// A value written to disk.
#[derive(Clone, Debug)]
pub(crate) struct Spilled {
    path: PathBuf,
    dtype: DType,
    shape: Shape,
}

impl Spilled {
    /// Bytes the value occupies in memory once read back.
    pub(crate) fn nbytes(&self) -> usize {
        tilework_core::shape::numel(&self.shape) * self.dtype.size()
    }
}

/// The spill folder of one computation.
#[derive(Debug)]
pub(crate) struct SpillStore {
    parent: PathBuf,
    dir: Option<PathBuf>,
    next: AtomicU64,
    /// Bytes written so far.
    pub(crate) bytes_written: u64,
}

impl SpillStore {
    pub(crate) fn new(parent: &Path) -> SpillStore {
        SpillStore {
            parent: parent.to_path_buf(),
            dir: None,
            next: AtomicU64::new(0),
            bytes_written: 0,
        }
    }

    fn dir(&mut self) -> Result<&Path> {
        if self.dir.is_none() {
            static_unique_dir(&self.parent).map(|d| self.dir = Some(d))?;
        }
        Ok(self.dir.as_deref().expect("the folder was just made"))
    }

    /// Writes `value` to a new file.
    ///
    /// # Errors
    /// [`Error::Io`] naming the file when the spill directory cannot be written.
    pub(crate) fn write(&mut self, value: &HostArray) -> Result<Spilled> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let path = self.dir()?.join(format!("chunk-{n}.bin"));
        let io = |e: std::io::Error| Error::Io {
            path: path.display().to_string(),
            message: format!("cannot spill a chunk: {e}"),
        };
        let mut out = BufWriter::new(File::create(&path).map_err(io)?);
        write_value(&mut out, value).map_err(io)?;
        out.flush().map_err(io)?;
        self.bytes_written += value.nbytes() as u64;
        Ok(Spilled {
            path,
            dtype: value.dtype(),
            shape: value.shape(),
        })
    }

    /// Reads a spilled value back and deletes its file.
    ///
    /// # Errors
    /// [`Error::Io`] when the file is missing or short.
    pub(crate) fn read(&self, spilled: &Spilled) -> Result<HostArray> {
        let io = |e: std::io::Error| Error::Io {
            path: spilled.path.display().to_string(),
            message: format!("cannot read a spilled chunk back: {e}"),
        };
        let mut bytes = Vec::with_capacity(spilled.nbytes());
        BufReader::new(File::open(&spilled.path).map_err(io)?)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        if bytes.len() != spilled.nbytes() {
            return Err(io(std::io::Error::other(format!(
                "{} bytes instead of {}",
                bytes.len(),
                spilled.nbytes()
            ))));
        }
        std::fs::remove_file(&spilled.path).ok();
        from_bytes(spilled.dtype, &spilled.shape, &bytes)
    }
}

impl Drop for SpillStore {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            std::fs::remove_dir_all(dir).ok();
        }
    }
}

/// A new folder `tilework-spill-<pid>-<n>` under `parent`.
fn static_unique_dir(parent: &Path) -> Result<PathBuf> {
    let io = |path: &Path, e: std::io::Error| Error::Io {
        path: path.display().to_string(),
        message: format!("cannot create the spill directory: {e}"),
    };
    std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
    for attempt in 0..1000u32 {
        let dir = parent.join(format!("tilework-spill-{}-{attempt}", std::process::id()));
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io(&dir, e)),
        }
    }
    Err(io(
        parent,
        std::io::Error::other("no free spill folder name"),
    ))
}

/// Writes a value's elements as native-endian bytes (the file never leaves this process).
fn write_value(out: &mut impl Write, value: &HostArray) -> std::io::Result<()> {
    fn pod<T: bytemuck::Pod>(
        out: &mut impl Write,
        a: &ndarray::ArcArray<T, ndarray::IxDyn>,
    ) -> std::io::Result<()> {
        let contiguous = a.as_standard_layout();
        let data = contiguous
            .as_slice()
            .expect("standard layout is contiguous");
        out.write_all(bytemuck::cast_slice(data))
    }
    match value {
        HostArray::Bool(a) => {
            let bytes: Vec<u8> = a.iter().map(|&b| u8::from(b)).collect();
            out.write_all(&bytes)
        }
        HostArray::U8(a) => pod(out, a),
        HostArray::I32(a) => pod(out, a),
        HostArray::I64(a) => pod(out, a),
        HostArray::U32(a) => pod(out, a),
        HostArray::F16(a) => pod(out, a),
        HostArray::F32(a) => pod(out, a),
        HostArray::F64(a) => pod(out, a),
    }
}

fn from_bytes(dtype: DType, shape: &[usize], bytes: &[u8]) -> Result<HostArray> {
    fn pod<T: bytemuck::Pod>(bytes: &[u8]) -> Vec<T> {
        bytes
            .chunks_exact(std::mem::size_of::<T>())
            .map(bytemuck::pod_read_unaligned)
            .collect()
    }
    match dtype {
        DType::Bool => {
            HostArray::from_vec(bytes.iter().map(|&b| b != 0).collect::<Vec<bool>>(), shape)
        }
        DType::U8 => HostArray::from_vec(bytes.to_vec(), shape),
        DType::I32 => HostArray::from_vec(pod::<i32>(bytes), shape),
        DType::I64 => HostArray::from_vec(pod::<i64>(bytes), shape),
        DType::U32 => HostArray::from_vec(pod::<u32>(bytes), shape),
        DType::F16 => HostArray::from_vec(pod::<tilework_core::half::f16>(bytes), shape),
        DType::F32 => HostArray::from_vec(pod::<f32>(bytes), shape),
        DType::F64 => HostArray::from_vec(pod::<f64>(bytes), shape),
    }
}
