//! [`NpyWriter`]: a `.npy` file filled region by region through positional writes, then
//! renamed into place.

use super::header;
use super::io_failure;
use super::layout::{PlainElement, check_region, for_each_run, little_endian_bytes};
use crate::io_error;
use ndarray::{ArcArray, IxDyn};
use std::borrow::Cow;
use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use tilework_core::{ChunkWriter, DType, Error, HostArray, Region, Result};

/// Distinguishes temporary files of writers created by this process at the same time.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// How many temporary names to try before giving up; collisions only happen with leftovers of
/// a crashed process that had the same pid.
const TEMP_ATTEMPTS: usize = 16;

/// A `.npy` file being written region by region (any regions, from several threads at once).
///
/// The data goes to a temporary file beside the destination, created at its full size (sparse,
/// so unwritten regions cost no disk space and read as zeros). [`NpyWriter::commit`] moves it
/// into place; dropping the writer without committing removes it, so the destination never
/// holds a partial file.
#[derive(Debug)]
pub struct NpyWriter {
    path: PathBuf,
    temp_path: PathBuf,
    file: File,
    dtype: DType,
    shape: Vec<usize>,
    data_offset: u64,
    committed: bool,
}

impl NpyWriter {
    /// Creates a writer for a C-order little-endian `.npy` file of `dtype` and `shape` at
    /// `path`. Nothing appears at `path` until [`commit`](NpyWriter::commit).
    ///
    /// # Errors
    /// An [`Error::Io`](tilework_core::Error::Io) naming `path` when the directory is missing or
    /// not writable, the path has no file name, the shape's size overflows, or the file cannot
    /// be sized.
    pub fn create(path: impl AsRef<Path>, dtype: DType, shape: &[usize]) -> Result<NpyWriter> {
        let path = path.as_ref().to_path_buf();
        // The reader's limit (`isize::MAX` bytes, counting the non-zero sizes of an empty
        // shape too), so that every file written can be read back.
        let data_len = tilework_core::shape::size::nbytes(shape, dtype.size()).ok_or_else(|| {
            io_error(
                path.display(),
                format!("a {dtype} array of shape {shape:?} is too large"),
            )
        })? as u64;
        let header =
            header::encode(dtype, shape).map_err(|message| io_error(path.display(), message))?;
        remove_stale_temps(&path);
        let (temp_path, file) = create_temp(&path)?;
        let writer = NpyWriter {
            path,
            temp_path,
            file,
            dtype,
            shape: shape.to_vec(),
            data_offset: header.len() as u64,
            committed: false,
        };
        // From here on, dropping `writer` on an error removes the temporary file.
        writer
            .file
            .write_all_at(&header, 0)
            .map_err(|e| writer.temp_failure("cannot write the header", &e))?;
        let total = writer
            .data_offset
            .checked_add(data_len)
            .ok_or_else(|| io_error(writer.path.display(), "file size overflows"))?;
        writer.file.set_len(total).map_err(|e| {
            writer.temp_failure(&format!("cannot size the file to {total} bytes"), &e)
        })?;
        Ok(writer)
    }

    /// Flushes the data to disk and renames the temporary file to the destination, replacing
    /// any file there.
    ///
    /// # Errors
    /// An [`Error::Io`](tilework_core::Error::Io) naming the destination when syncing or
    /// renaming fails; the temporary file is then removed and the destination left as it was.
    pub fn commit(mut self) -> Result<()> {
        self.file
            .sync_all()
            .map_err(|e| self.temp_failure("cannot flush", &e))?;
        std::fs::rename(&self.temp_path, &self.path).map_err(|e| {
            let what = format!("cannot rename {} into place", self.temp_path.display());
            io_failure(&self.path, &what, &e)
        })?;
        self.committed = true;
        // Make the rename itself durable; some filesystems cannot sync a directory, and the
        // data is already safe and in place, so a failure here is not worth reporting.
        if let Ok(dir) = File::open(directory_of(&self.path)) {
            let _ = dir.sync_all();
        }
        Ok(())
    }

    fn temp_failure(&self, what: &str, error: &std::io::Error) -> Error {
        let what = format!("{what} (temporary file {})", self.temp_path.display());
        io_failure(&self.path, &what, error)
    }

    fn write_plain<T: PlainElement>(&self, region: &Region, values: &[T]) -> Result<()> {
        self.write_bytes(region, &little_endian_bytes(values), size_of::<T>())
    }

    fn write_bytes(&self, region: &Region, bytes: &[u8], itemsize: usize) -> Result<()> {
        for_each_run(
            &self.shape,
            &region.start,
            &region.shape,
            |file_offset, region_offset, len| {
                let run = &bytes[region_offset * itemsize..(region_offset + len) * itemsize];
                let at = self.data_offset + (file_offset * itemsize) as u64;
                self.file.write_all_at(run, at).map_err(|e| {
                    let what = format!("cannot write {} bytes at offset {at}", run.len());
                    self.temp_failure(&what, &e)
                })
            },
        )
    }
}

impl ChunkWriter for NpyWriter {
    fn describe(&self) -> String {
        format!("npy file {}", self.path.display())
    }

    fn write(&self, region: &Region, data: &HostArray) -> Result<()> {
        let describe = self.describe();
        check_region("npy write", &describe, &self.shape, region)?;
        if data.dtype() != self.dtype {
            return Err(Error::invalid(
                "npy write",
                format!(
                    "{describe} holds {} but the data is {}",
                    self.dtype,
                    data.dtype()
                ),
            ));
        }
        if data.shape() != region.shape {
            return Err(Error::invalid(
                "npy write",
                format!(
                    "{describe}: data of shape {:?} does not fill region shape {:?}",
                    data.shape().as_slice(),
                    region.shape.as_slice()
                ),
            ));
        }
        match data {
            HostArray::Bool(array) => {
                // Rust's bool bytes are 0 and 1 too, but the file format is spelled out here
                // rather than relying on the in-memory representation.
                let bytes: Vec<u8> = array.iter().map(|&value| u8::from(value)).collect();
                self.write_bytes(region, &bytes, 1)
            }
            HostArray::U8(array) => self.write_plain(region, &c_order(array)),
            HostArray::I32(array) => self.write_plain(region, &c_order(array)),
            HostArray::I64(array) => self.write_plain(region, &c_order(array)),
            HostArray::U32(array) => self.write_plain(region, &c_order(array)),
            HostArray::F16(array) => self.write_plain(region, &c_order(array)),
            HostArray::F32(array) => self.write_plain(region, &c_order(array)),
            HostArray::F64(array) => self.write_plain(region, &c_order(array)),
        }
    }
}

/// The elements in C order, borrowed when the array already is laid out that way.
fn c_order<T: Clone>(array: &ArcArray<T, IxDyn>) -> Cow<'_, [T]> {
    match array.as_slice() {
        Some(values) => Cow::Borrowed(values),
        None => Cow::Owned(array.iter().cloned().collect()),
    }
}

impl Drop for NpyWriter {
    fn drop(&mut self) {
        if !self.committed {
            // Nothing useful can be done if removal fails; the name marks it as a leftover.
            let _ = std::fs::remove_file(&self.temp_path);
        }
    }
}

fn directory_of(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// Creates a fresh temporary file beside `path`.
/// Removes the temporary files that killed writers of `path` left beside it
/// (`.<name>.tilework-tmp-<pid>-<n>` whose process is gone), which would otherwise hide their
/// full size on disk forever. Temporaries of live processes, this one included, are kept: they
/// may belong to a write still running. Best effort: what cannot be listed or removed stays.
fn remove_stale_temps(path: &Path) {
    let Some(name) = path.file_name() else {
        return;
    };
    let mut prefix = OsString::from(".");
    prefix.push(name);
    prefix.push(".tilework-tmp-");
    let Some(prefix) = prefix.to_str() else {
        return;
    };
    let Ok(entries) = std::fs::read_dir(directory_of(path)) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(pid) = file_name
            .to_str()
            .and_then(|n| n.strip_prefix(prefix))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !process_is_alive(pid) {
            // A failure here only leaves the file as it was.
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Whether process `pid` exists. Without a `/proc` to ask, every process counts as alive, so
/// nothing is removed that might be in use.
fn process_is_alive(pid: u32) -> bool {
    if pid == std::process::id() || !Path::new("/proc/self").exists() {
        return true;
    }
    Path::new("/proc").join(pid.to_string()).exists()
}

fn create_temp(path: &Path) -> Result<(PathBuf, File)> {
    let Some(name) = path.file_name() else {
        return Err(io_error(path.display(), "the path has no file name"));
    };
    let directory = directory_of(path);
    let mut last_error = None;
    for _ in 0..TEMP_ATTEMPTS {
        let mut temp_name = OsString::from(".");
        temp_name.push(name);
        let counter = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        temp_name.push(format!(".tilework-tmp-{}-{counter}", std::process::id()));
        let temp_path = directory.join(temp_name);
        match OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&temp_path)
        {
            Ok(file) => return Ok((temp_path, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last_error = Some(e),
            Err(e) => {
                let what = format!("cannot create temporary file {}", temp_path.display());
                return Err(io_failure(path, &what, &e));
            }
        }
    }
    let detail = last_error.map(|e| e.to_string()).unwrap_or_default();
    Err(io_error(
        path.display(),
        format!("cannot find a free temporary name: {detail}"),
    ))
}
