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

    /// The bytes of the data a read of `region` spans, as (offset in the file, length): the first
    /// and last elements of the region in file order bound every byte it reads.
    fn span(&self, region: &Region) -> Option<(usize, usize)> {
        if region.numel() == 0 {
            return None;
        }
        let shape = &self.header.shape;
        let last: Vec<usize> = region
            .start
            .iter()
            .zip(&region.shape)
            .map(|(s, n)| s + n - 1)
            .collect();
        let flat = |index: &[usize]| {
            let pairs = index.iter().zip(shape);
            if self.header.fortran_order {
                pairs.rev().fold(0usize, |acc, (i, n)| acc * n + i)
            } else {
                pairs.fold(0usize, |acc, (i, n)| acc * n + i)
            }
        };
        let (first, last) = (flat(&region.start), flat(&last));
        let itemsize = self.header.dtype.size();
        Some((
            self.header.data_offset + first * itemsize,
            (last + 1 - first) * itemsize,
        ))
    }

    /// Drops the mapped pages a read of `region` touched from the process's resident set: the
    /// values were copied out, and the page cache still holds them for the next read. Without
    /// this, streaming a mapped file through a small budget would leave the whole file resident.
    fn release_pages(&self, region: &Region) {
        let Some((offset, len)) = self.span(region) else {
            return;
        };
        #[cfg(unix)]
        // SAFETY: the mapping is shared and read-only. MADV_DONTNEED only unmaps its pages from
        // this process; any later access (a concurrent read of a neighbouring region included)
        // faults them back in from the file with the same contents.
        let _ = unsafe {
            self.map
                .unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, offset, len)
        };
        #[cfg(not(unix))]
        let _ = (offset, len);
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

    /// The file is memory-mapped: any region is copied straight out of it.
    fn reads_any_region(&self) -> bool {
        true
    }

    /// The mapped pages a read touches stay resident until it ends: at most the span of the
    /// region in the file, and at most one page per element.
    fn read_scratch_bytes(&self, region: &Region) -> u64 {
        const PAGE: u64 = 4096;
        self.span(region).map_or(0, |(_, len)| {
            let per_element = (region.numel() as u64).saturating_mul(PAGE);
            (len as u64).saturating_add(2 * PAGE).min(per_element)
        })
    }

    fn read(&self, region: &Region) -> Result<HostArray> {
        check_region("npy read", &self.describe(), &self.header.shape, region)?;
        let values = decode(&self.header, self.data(), &region.start, &region.shape);
        self.release_pages(region);
        Ok(values)
    }
}
