//! Chunk grids: regular chunks with ragged edges, as Dask's `chunks=` tuples.
//!
//! Invariants every method relies on: for each axis the chunk sizes sum to the axis length; no chunk
//! is empty unless the axis itself has length 0, in which case the axis has exactly one chunk of
//! size 0. Chunk coordinates are enumerated in C order.

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::shape::{Shape, numel, shape_of};
use std::ops::Range;

/// How a user asks for chunks.
#[derive(Clone, Debug, PartialEq)]
pub enum Chunks {
    /// Pick chunk sizes so that a chunk holds about [`Chunks::AUTO_BYTES`].
    Auto,
    /// The same chunk size on every axis (the last chunk of an axis may be smaller).
    Uniform(usize),
    /// One chunk size per axis (edge chunks may be smaller).
    Shape(Vec<usize>),
    /// Explicit chunk sizes per axis, as Dask's tuple of tuples.
    Explicit(Vec<Vec<usize>>),
}

impl Chunks {
    /// Target bytes per chunk for [`Chunks::Auto`] (Dask's default is 128 MiB; smaller chunks keep
    /// both cores busy on this library's typical sizes and bound memory when streaming).
    pub const AUTO_BYTES: usize = 16 << 20;
}

impl From<usize> for Chunks {
    fn from(size: usize) -> Self {
        Chunks::Uniform(size)
    }
}

impl From<&[usize]> for Chunks {
    fn from(sizes: &[usize]) -> Self {
        Chunks::Shape(sizes.to_vec())
    }
}

impl<const N: usize> From<[usize; N]> for Chunks {
    fn from(sizes: [usize; N]) -> Self {
        Chunks::Shape(sizes.to_vec())
    }
}

/// A rectangular block of an array: `start[i] .. start[i] + shape[i]` on each axis.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Region {
    /// First index on each axis.
    pub start: Shape,
    /// Extent on each axis.
    pub shape: Shape,
}

impl Region {
    /// The range covered on `axis`.
    pub fn range(&self, axis: usize) -> Range<usize> {
        self.start[axis]..self.start[axis] + self.shape[axis]
    }

    /// Number of elements in the region.
    pub fn numel(&self) -> usize {
        numel(&self.shape)
    }
}

/// The chunk sizes of an array along every axis.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ChunkGrid {
    shape: Shape,
    /// Per axis, the chunk boundaries: `bounds[a] = [0, c0, c0+c1, ..., len]`.
    bounds: Vec<Vec<usize>>,
}

impl ChunkGrid {
    /// Builds the grid of `chunks` over `shape` for elements of `dtype`.
    ///
    /// # Errors
    /// [`Error::BadChunks`] for a zero chunk size, a rank that differs from the shape's, or explicit
    /// sizes that do not sum to the axis length.
    pub fn new(shape: &[usize], chunks: &Chunks, dtype: DType) -> Result<Self> {
        let bad = |detail: String| Error::BadChunks {
            shape: shape_of(shape),
            detail,
        };
        // ndarray (and every allocator) caps an array at isize::MAX bytes; refuse larger shapes
        // here rather than overflow later.
        let fits = shape
            .iter()
            .try_fold(dtype.size(), |acc, &n| acc.checked_mul(n))
            .is_some_and(|bytes| bytes <= isize::MAX as usize);
        if !fits {
            return Err(bad(format!(
                "an array of this shape and {dtype} exceeds the addressable size"
            )));
        }
        let sizes: Vec<Vec<usize>> = match chunks {
            Chunks::Auto => return Ok(Self::auto(shape, dtype.size())),
            Chunks::Uniform(0) => return Err(bad("chunk size 0".into())),
            Chunks::Uniform(c) => {
                check_count(shape, &vec![*c; shape.len()]).map_err(bad)?;
                shape.iter().map(|&n| split_axis(n, *c)).collect()
            }
            Chunks::Shape(per_axis) => {
                if per_axis.len() != shape.len() {
                    return Err(bad(format!(
                        "{} chunk sizes for {} axes",
                        per_axis.len(),
                        shape.len()
                    )));
                }
                if let Some(axis) = per_axis.iter().position(|&c| c == 0) {
                    return Err(bad(format!("chunk size 0 on axis {axis}")));
                }
                check_count(shape, per_axis).map_err(bad)?;
                shape
                    .iter()
                    .zip(per_axis)
                    .map(|(&n, &c)| split_axis(n, c))
                    .collect()
            }
            Chunks::Explicit(per_axis) => {
                if per_axis.len() != shape.len() {
                    return Err(bad(format!(
                        "{} chunk tuples for {} axes",
                        per_axis.len(),
                        shape.len()
                    )));
                }
                for (axis, (sizes, &n)) in per_axis.iter().zip(shape).enumerate() {
                    if sizes.iter().sum::<usize>() != n {
                        return Err(bad(format!(
                            "chunks {sizes:?} on axis {axis} do not sum to {n}"
                        )));
                    }
                    if n > 0 && sizes.contains(&0) {
                        return Err(bad(format!("empty chunk on axis {axis}")));
                    }
                }
                per_axis
                    .iter()
                    .zip(shape)
                    .map(|(sizes, &n)| if n == 0 { vec![0] } else { sizes.clone() })
                    .collect()
            }
        };
        Ok(Self::from_sizes(shape, &sizes))
    }

    /// A grid of chunks with the given shape (edge chunks ragged). `chunk` must be non-zero.
    pub fn regular(shape: &[usize], chunk: &[usize]) -> Self {
        let sizes: Vec<Vec<usize>> = shape
            .iter()
            .zip(chunk)
            .map(|(&n, &c)| split_axis(n, c.max(1)))
            .collect();
        Self::from_sizes(shape, &sizes)
    }

    /// One chunk covering the whole array.
    pub fn single(shape: &[usize]) -> Self {
        Self::regular(shape, shape)
    }

    fn auto(shape: &[usize], itemsize: usize) -> Self {
        Self::with_target_elems(shape, Chunks::AUTO_BYTES / itemsize.max(1))
    }

    /// Regular chunks holding at most about `target_elems` elements: the largest axis is halved
    /// until the chunk fits (ties halve the leading axis, keeping chunks contiguous in C order).
    pub fn with_target_elems(shape: &[usize], target_elems: usize) -> Self {
        let target_elems = target_elems.max(1);
        let mut chunk: Vec<usize> = shape.iter().map(|&n| n.max(1)).collect();
        while chunk.iter().product::<usize>() > target_elems {
            let axis = (0..chunk.len())
                .max_by_key(|&a| (chunk[a], usize::MAX - a))
                .expect("rank > 0 when too big");
            chunk[axis] = chunk[axis].div_ceil(2);
        }
        Self::regular(shape, &chunk)
    }

    fn from_sizes(shape: &[usize], sizes: &[Vec<usize>]) -> Self {
        let bounds = sizes
            .iter()
            .map(|s| {
                let mut b = Vec::with_capacity(s.len() + 1);
                b.push(0);
                let mut acc = 0;
                for &c in s {
                    acc += c;
                    b.push(acc);
                }
                b
            })
            .collect();
        ChunkGrid {
            shape: shape_of(shape),
            bounds,
        }
    }

    /// A grid over `shape` with the given chunk sizes per axis (must sum to the lengths).
    pub fn from_axis_sizes(shape: &[usize], sizes: &[Vec<usize>]) -> Self {
        debug_assert!(
            shape
                .iter()
                .zip(sizes)
                .all(|(&n, s)| s.iter().sum::<usize>() == n)
        );
        Self::from_sizes(shape, sizes)
    }

    /// The array shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Rank.
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    /// Chunk sizes along `axis`.
    pub fn axis_sizes(&self, axis: usize) -> Vec<usize> {
        self.bounds[axis].windows(2).map(|w| w[1] - w[0]).collect()
    }

    /// Chunk sizes along every axis (Dask's `.chunks`).
    pub fn sizes(&self) -> Vec<Vec<usize>> {
        (0..self.ndim()).map(|a| self.axis_sizes(a)).collect()
    }

    /// Chunk boundaries along `axis`: `[0, c0, c0 + c1, ..., len]`.
    pub fn bounds(&self, axis: usize) -> &[usize] {
        &self.bounds[axis]
    }

    /// Number of chunks along each axis.
    pub fn grid_shape(&self) -> Shape {
        self.bounds.iter().map(|b| b.len() - 1).collect()
    }

    /// Total number of chunks.
    pub fn num_chunks(&self) -> usize {
        numel(&self.grid_shape())
    }

    /// The largest chunk's element count.
    pub fn max_chunk_elems(&self) -> usize {
        self.bounds
            .iter()
            .map(|b| b.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0))
            .product()
    }

    /// The region of the chunk at grid coordinate `index`.
    pub fn region(&self, index: &[usize]) -> Region {
        let start = index
            .iter()
            .enumerate()
            .map(|(a, &i)| self.bounds[a][i])
            .collect();
        let shape = index
            .iter()
            .enumerate()
            .map(|(a, &i)| self.bounds[a][i + 1] - self.bounds[a][i])
            .collect();
        Region { start, shape }
    }

    /// Grid coordinate of the chunk numbered `linear` in C order.
    pub fn unravel(&self, mut linear: usize) -> Shape {
        let grid = self.grid_shape();
        let mut out: Shape = smallvec::smallvec![0; grid.len()];
        for axis in (0..grid.len()).rev() {
            out[axis] = linear % grid[axis];
            linear /= grid[axis];
        }
        out
    }

    /// C-order number of the chunk at grid coordinate `index`.
    pub fn ravel(&self, index: &[usize]) -> usize {
        let grid = self.grid_shape();
        index.iter().zip(&grid).fold(0, |acc, (&i, &g)| acc * g + i)
    }

    /// Chunk indices along `axis` whose ranges intersect `range` (empty range: none).
    pub fn chunks_overlapping(&self, axis: usize, range: Range<usize>) -> Range<usize> {
        let b = &self.bounds[axis];
        if range.is_empty() {
            return 0..0;
        }
        // partition_point finds the first chunk whose end exceeds the position.
        let first = b[1..].partition_point(|&end| end <= range.start);
        let last = b[1..].partition_point(|&end| end < range.end);
        first..(last + 1).min(b.len() - 1)
    }

    /// True when both grids split every axis at the same places.
    pub fn same_as(&self, other: &ChunkGrid) -> bool {
        self == other
    }
}

/// Most chunks one array may have: every chunk becomes a task, and a grid this fine is always a
/// mistake (a chunk size of 1 on a large axis) that would exhaust memory while planning.
pub const MAX_CHUNKS: usize = 1 << 26;

/// Refuses chunk sizes that would split `shape` into more than [`MAX_CHUNKS`] chunks.
fn check_count(shape: &[usize], chunk: &[usize]) -> std::result::Result<(), String> {
    let count = shape.iter().zip(chunk).try_fold(1usize, |acc, (&n, &c)| {
        acc.checked_mul(n.div_ceil(c).max(1))
    });
    match count {
        Some(count) if count <= MAX_CHUNKS => Ok(()),
        _ => Err(format!(
            "chunks {chunk:?} split the array into more than {MAX_CHUNKS} chunks; use larger chunks"
        )),
    }
}

/// Splits an axis of length `n` into chunks of `c` with a ragged tail; `[0]` for an empty axis.
fn split_axis(n: usize, c: usize) -> Vec<usize> {
    if n == 0 {
        return vec![0];
    }
    let mut out = vec![c; n / c];
    if !n.is_multiple_of(c) {
        out.push(n % c);
    }
    out
}

/// The grid of an elementwise result over inputs with these grids (NumPy broadcasting, inputs
/// right-aligned): each output axis takes the chunking of an input that spans it fully.
///
/// Inputs must already agree wherever two of them span an axis (the graph layer rechunks first).
pub fn broadcast_grid(inputs: &[&ChunkGrid], shape: &[usize]) -> ChunkGrid {
    let ndim = shape.len();
    let sizes: Vec<Vec<usize>> = (0..ndim)
        .map(|axis| {
            inputs
                .iter()
                .find_map(|g| {
                    let offset = ndim - g.ndim();
                    (axis >= offset && g.shape()[axis - offset] == shape[axis])
                        .then(|| g.axis_sizes(axis - offset))
                })
                .unwrap_or_else(|| vec![shape[axis]])
        })
        .collect();
    ChunkGrid::from_axis_sizes(shape, &sizes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ragged_edges_and_lookup() {
        let g = ChunkGrid::new(&[10, 4], &Chunks::Shape(vec![3, 4]), DType::F32).unwrap();
        assert_eq!(g.axis_sizes(0), vec![3, 3, 3, 1]);
        assert_eq!(g.num_chunks(), 4);
        assert_eq!(g.chunks_overlapping(0, 2..7), 0..3);
        assert_eq!(g.chunks_overlapping(0, 9..10), 3..4);
        assert_eq!(g.region(&[3, 0]).shape.as_slice(), &[1, 4]);
        assert_eq!(g.unravel(3).as_slice(), &[3, 0]);
    }

    #[test]
    fn bad_chunks_are_errors() {
        assert!(ChunkGrid::new(&[4], &Chunks::Uniform(0), DType::F32).is_err());
        assert!(ChunkGrid::new(&[4], &Chunks::Explicit(vec![vec![1, 2]]), DType::F32).is_err());
        assert!(ChunkGrid::new(&[4, 4], &Chunks::Shape(vec![2]), DType::F32).is_err());
    }

    #[test]
    fn empty_axes_have_one_empty_chunk() {
        let g = ChunkGrid::new(&[0, 5], &Chunks::Uniform(2), DType::F32).unwrap();
        assert_eq!(g.grid_shape().as_slice(), &[1, 3]);
        assert_eq!(g.region(&[0, 2]).shape.as_slice(), &[0, 1]);
    }

    #[test]
    fn auto_chunks_fit_the_target() {
        let g = ChunkGrid::new(&[16384, 16384], &Chunks::Auto, DType::F32).unwrap();
        assert!(g.max_chunk_elems() * 4 <= Chunks::AUTO_BYTES);
        assert!(g.num_chunks() > 1);
    }
}
