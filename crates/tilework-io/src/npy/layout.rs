//! Where a region's elements lie in a file, and how elements turn into file bytes and back.
//!
//! A region of a C-order array is a set of contiguous runs: the trailing axes the region spans
//! completely merge with the last axis it cuts, so reading and writing copy whole runs (one
//! `memcpy` or one positional write each) instead of computing an offset per element.

use std::borrow::Cow;
use tilework_core::{Error, Region, Result};

/// Checks that `region` has the array's rank and lies inside `shape`.
///
/// # Errors
/// [`Error::BadIndex`] naming `what` (the file) otherwise.
pub(crate) fn check_region(
    op: &'static str,
    what: &str,
    shape: &[usize],
    region: &Region,
) -> Result<()> {
    let fits = region.start.len() == shape.len()
        && region.shape.len() == shape.len()
        && shape
            .iter()
            .zip(region.start.iter().zip(&region.shape))
            .all(|(&len, (&start, &extent))| {
                start.checked_add(extent).is_some_and(|end| end <= len)
            });
    if fits {
        return Ok(());
    }
    Err(Error::bad_index(
        op,
        format!(
            "region start {:?} shape {:?} is outside {what} of shape {shape:?}",
            region.start.as_slice(),
            region.shape.as_slice()
        ),
    ))
}

/// Calls `visit(array_offset, region_offset, len)` (in elements) for each contiguous run of the
/// region `start`/`extent` inside a C-order array of shape `dims`, in C order of the region.
/// The region must lie inside the array; an empty region visits nothing.
pub(crate) fn for_each_run<E>(
    dims: &[usize],
    start: &[usize],
    extent: &[usize],
    mut visit: impl FnMut(usize, usize, usize) -> Result<(), E>,
) -> Result<(), E> {
    if extent.contains(&0) {
        return Ok(());
    }
    let ndim = dims.len();
    if ndim == 0 {
        return visit(0, 0, 1);
    }
    let mut strides = vec![1usize; ndim];
    for axis in (0..ndim - 1).rev() {
        strides[axis] = strides[axis + 1] * dims[axis + 1];
    }
    // Axes after `split` are spanned completely, so each run covers `extent[split]` rows of them.
    let mut split = ndim - 1;
    while split > 0 && extent[split] == dims[split] {
        split -= 1;
    }
    let run = extent[split] * strides[split];
    let base: usize = (0..=split).map(|axis| start[axis] * strides[axis]).sum();
    let mut index = vec![0usize; split];
    let mut array_offset = base;
    let mut region_offset = 0;
    loop {
        visit(array_offset, region_offset, run)?;
        region_offset += run;
        // Odometer over the outer axes; the offset is updated incrementally.
        let mut axis = split;
        loop {
            if axis == 0 {
                return Ok(());
            }
            axis -= 1;
            index[axis] += 1;
            array_offset += strides[axis];
            if index[axis] < extent[axis] {
                break;
            }
            array_offset -= index[axis] * strides[axis];
            index[axis] = 0;
        }
    }
}

/// Reverses byte order in place of every `itemsize`-byte element of `bytes`.
pub(crate) fn swap_bytes(bytes: &mut [u8], itemsize: usize) {
    if itemsize > 1 {
        bytes.chunks_exact_mut(itemsize).for_each(<[u8]>::reverse);
    }
}

/// Element types stored in `.npy` files as their own bytes (every dtype but bool).
pub(crate) trait PlainElement: tilework_core::HostElement + bytemuck::Pod {}
impl<T: tilework_core::HostElement + bytemuck::Pod> PlainElement for T {}

/// The little-endian bytes of `values` (borrowed on little-endian machines).
pub(crate) fn little_endian_bytes<T: PlainElement>(values: &[T]) -> Cow<'_, [u8]> {
    let bytes: &[u8] = bytemuck::cast_slice(values);
    if cfg!(target_endian = "little") {
        Cow::Borrowed(bytes)
    } else {
        let mut owned = bytes.to_vec();
        swap_bytes(&mut owned, size_of::<T>());
        Cow::Owned(owned)
    }
}

/// Copies a region out of `data`, a C-order array of `dims`, into a new C-order vector, one
/// `memcpy` per contiguous run. `swap` reverses each element's bytes (file and machine byte
/// orders differ).
pub(crate) fn gather_c_order<T: PlainElement>(
    data: &[u8],
    dims: &[usize],
    start: &[usize],
    extent: &[usize],
    swap: bool,
) -> Vec<T> {
    let mut out = vec![T::zeroed(); extent.iter().product()];
    let itemsize = size_of::<T>();
    let out_bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut out);
    let copied: Result<(), std::convert::Infallible> =
        for_each_run(dims, start, extent, |array_offset, region_offset, len| {
            let (from, to, bytes) = (
                array_offset * itemsize,
                region_offset * itemsize,
                len * itemsize,
            );
            out_bytes[to..to + bytes].copy_from_slice(&data[from..from + bytes]);
            Ok(())
        });
    let Ok(()) = copied;
    if swap {
        swap_typed::<T>(&mut out);
    }
    out
}

/// Side of the square tiles the Fortran-order gather transposes through: 32 x 32 elements of
/// up to 8 bytes touch 32 source and 32 destination cache lines, which stay in L1.
const TILE: usize = 32;

/// Copies a region out of `data`, a Fortran-order array of `dims`, into a new C-order vector.
///
/// The first axis is contiguous in the file and the last one in the output, so the copy walks
/// tiles of those two axes: within a tile both sides stay in cache, where a plain element walk
/// would miss on every read.
pub(crate) fn gather_fortran_order<T: PlainElement>(
    data: &[u8],
    dims: &[usize],
    start: &[usize],
    extent: &[usize],
    swap: bool,
) -> Vec<T> {
    let ndim = dims.len();
    if ndim <= 1 {
        return gather_c_order(data, dims, start, extent, swap);
    }
    let mut out = vec![T::zeroed(); extent.iter().product()];
    if out.is_empty() {
        return out;
    }
    let mut file_strides = vec![1usize; ndim];
    for axis in 1..ndim {
        file_strides[axis] = file_strides[axis - 1] * dims[axis - 1];
    }
    let mut out_strides = vec![1usize; ndim];
    for axis in (0..ndim - 1).rev() {
        out_strides[axis] = out_strides[axis + 1] * extent[axis + 1];
    }
    let base: usize = start
        .iter()
        .zip(&file_strides)
        .map(|(s, stride)| s * stride)
        .sum();
    let plan = TilePlan {
        rows: extent[0],
        cols: extent[ndim - 1],
        out_row_stride: out_strides[0],
        file_col_stride: file_strides[ndim - 1],
    };
    // Mapped `.npy` data is normally aligned (NumPy pads the header to 64 bytes); a file that is
    // not falls back to unaligned loads rather than being refused.
    match bytemuck::try_cast_slice::<u8, T>(data) {
        Ok(typed) => transpose_tiles(
            &mut out,
            base,
            &file_strides,
            &out_strides,
            extent,
            plan,
            |at| typed[at],
        ),
        Err(_) => transpose_tiles(
            &mut out,
            base,
            &file_strides,
            &out_strides,
            extent,
            plan,
            |at| {
                bytemuck::pod_read_unaligned(&data[at * size_of::<T>()..(at + 1) * size_of::<T>()])
            },
        ),
    }
    if swap {
        swap_typed::<T>(&mut out);
    }
    out
}

/// The two axes a Fortran gather transposes: the first (rows, contiguous in the file) and the
/// last (columns, contiguous in the output).
#[derive(Clone, Copy)]
struct TilePlan {
    rows: usize,
    cols: usize,
    out_row_stride: usize,
    file_col_stride: usize,
}

fn transpose_tiles<T: Copy>(
    out: &mut [T],
    base: usize,
    file_strides: &[usize],
    out_strides: &[usize],
    extent: &[usize],
    plan: TilePlan,
    load: impl Fn(usize) -> T,
) {
    let middle = 1..extent.len() - 1;
    let mut index = vec![0usize; extent.len()];
    loop {
        let file_base = base
            + middle
                .clone()
                .map(|axis| index[axis] * file_strides[axis])
                .sum::<usize>();
        let out_base: usize = middle
            .clone()
            .map(|axis| index[axis] * out_strides[axis])
            .sum();
        for row0 in (0..plan.rows).step_by(TILE) {
            for col0 in (0..plan.cols).step_by(TILE) {
                let col_end = (col0 + TILE).min(plan.cols);
                for row in row0..(row0 + TILE).min(plan.rows) {
                    let out_start = out_base + row * plan.out_row_stride;
                    let file_row = file_base + row;
                    for (col, slot) in out[out_start + col0..out_start + col_end]
                        .iter_mut()
                        .enumerate()
                    {
                        *slot = load(file_row + (col0 + col) * plan.file_col_stride);
                    }
                }
            }
        }
        // Odometer over the middle axes; done when it wraps.
        let mut axis = middle.end;
        loop {
            if axis == middle.start {
                return;
            }
            axis -= 1;
            index[axis] += 1;
            if index[axis] < extent[axis] {
                break;
            }
            index[axis] = 0;
        }
    }
}

/// Byte-swaps whole elements through the matching unsigned integer type, which compiles to
/// `bswap` instructions instead of per-byte loops.
fn swap_typed<T: PlainElement>(values: &mut [T]) {
    match size_of::<T>() {
        2 => bytemuck::cast_slice_mut::<T, u16>(values)
            .iter_mut()
            .for_each(|v| *v = v.swap_bytes()),
        4 => bytemuck::cast_slice_mut::<T, u32>(values)
            .iter_mut()
            .for_each(|v| *v = v.swap_bytes()),
        8 => bytemuck::cast_slice_mut::<T, u64>(values)
            .iter_mut()
            .for_each(|v| *v = v.swap_bytes()),
        _ => {}
    }
}
