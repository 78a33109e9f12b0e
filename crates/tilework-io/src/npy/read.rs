//! [`NpyReader`]: a `.npy` file mapped into memory, read region by region.

use super::header::{self, Header};
use super::io_failure;
use super::layout::{PlainElement, check_region, gather_c_order, gather_fortran_order};
use crate::io_error;
use half::f16;
use memmap2::Mmap;
use ndarray::{ArrayD, IxDyn};
use std::fs::File;
use std::path::{Path, PathBuf};
use tilework_core::{ChunkReader, DType, HostArray, HostElement, Region, Result};

/// A `.npy` file opened for lazy, memory-mapped region reads.
///
/// Opening reads and checks only the header and the file length; [`ChunkReader::read`] then
/// copies just the requested region out of the mapping, so the operating system pages in only
/// what is read. The file must not be truncated or rewritten while a reader holds it open (as
/// with any memory-mapped file, a truncation can end the process with `SIGBUS`).
#[derive(Debug)]
pub struct NpyReader {
    path: PathBuf,
    header: Header,
    map: Mmap,
}

impl NpyReader {
    /// Opens `path`, parses its header and checks that the file holds exactly the data the
    /// header describes.
    ///
    /// # Errors
    /// An [`Error::Io`](tilework_core::Error::Io) naming the file when it cannot be opened or
    /// mapped, is not a `.npy` file, has a malformed header, has a dtype tilework does not
    /// support, or is shorter or longer than its header says.
    pub fn open(path: impl AsRef<Path>) -> Result<NpyReader> {
        let path = path.as_ref().to_path_buf();
        let file = File::open(&path).map_err(|e| io_failure(&path, "cannot open", &e))?;
        let metadata = file
            .metadata()
            .map_err(|e| io_failure(&path, "cannot read metadata", &e))?;
        if !metadata.is_file() {
            return Err(io_error(path.display(), "not a regular file"));
        }
        if metadata.len() == 0 {
            return Err(io_error(path.display(), "empty file (not a .npy file)"));
        }
        // SAFETY: the mapping is read-only and every access goes through bounds-checked slices
        // of it. Mapping a file is unsound only if another process changes the file while it is
        // mapped (a rewrite changes values under us, a truncation raises SIGBUS); `.npy` inputs
        // are treated as immutable while open, as the type's documentation states.
        let map =
            unsafe { Mmap::map(&file) }.map_err(|e| io_failure(&path, "cannot memory-map", &e))?;
        let header = header::parse(&map).map_err(|message| io_error(path.display(), message))?;
        header::check_length(&header, map.len())
            .map_err(|message| io_error(path.display(), message))?;
        Ok(NpyReader { path, header, map })
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.header.dtype
    }

    /// The array's shape (`[]` for a 0-d array).
    pub fn shape(&self) -> &[usize] {
        &self.header.shape
    }

    /// The file this reader maps.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// True when the file stores the array in Fortran (column-major) order. Reads return C
    /// order either way.
    pub fn is_fortran_order(&self) -> bool {
        self.header.fortran_order
    }

    /// True when the file stores elements big-endian. Reads return native values either way.
    pub fn is_big_endian(&self) -> bool {
        self.header.big_endian
    }

    fn data(&self) -> &[u8] {
        &self.map[self.header.data_offset..]
    }
}

/// Decodes the region `start`/`extent` (in bounds) of the array `header` describes, whose
/// element bytes are `data`, into a C-order array of native values.
pub(crate) fn decode(header: &Header, data: &[u8], start: &[usize], extent: &[usize]) -> HostArray {
    match header.dtype {
        DType::Bool => {
            // NumPy only writes 0 and 1, but other bytes are not valid `bool`s in Rust; treating
            // every nonzero byte as true matches NumPy's own `astype(bool)`.
            let bytes = gather::<u8>(header, data, start, extent);
            wrap(bytes.into_iter().map(|byte| byte != 0).collect(), extent)
        }
        DType::U8 => wrap(gather::<u8>(header, data, start, extent), extent),
        DType::I32 => wrap(gather::<i32>(header, data, start, extent), extent),
        DType::I64 => wrap(gather::<i64>(header, data, start, extent), extent),
        DType::U32 => wrap(gather::<u32>(header, data, start, extent), extent),
        DType::F16 => wrap(gather::<f16>(header, data, start, extent), extent),
        DType::F32 => wrap(gather::<f32>(header, data, start, extent), extent),
        DType::F64 => wrap(gather::<f64>(header, data, start, extent), extent),
    }
}

/// The region's elements in C order, whatever the file's order and byte order.
fn gather<T: PlainElement>(
    header: &Header,
    data: &[u8],
    start: &[usize],
    extent: &[usize],
) -> Vec<T> {
    let swap = header.big_endian != cfg!(target_endian = "big");
    let gather = if header.fortran_order {
        gather_fortran_order::<T>
    } else {
        gather_c_order::<T>
    };
    gather(data, &header.shape, start, extent, swap)
}

fn wrap<T: HostElement>(values: Vec<T>, shape: &[usize]) -> HostArray {
    let array = ArrayD::from_shape_vec(IxDyn(shape), values)
        .expect("a gather returns one value per element of the region");
    HostArray::from_array(array)
}

impl ChunkReader for NpyReader {
    fn describe(&self) -> String {
        format!("npy file {}", self.path.display())
    }

    fn read(&self, region: &Region) -> Result<HostArray> {
        check_region("npy read", &self.describe(), &self.header.shape, region)?;
        Ok(decode(
            &self.header,
            self.data(),
            &region.start,
            &region.shape,
        ))
    }
}
