//! Chunk grids: regular chunks with ragged edges, as Dask's `chunks=` tuples.
//!
//! Invariants every method relies on: for each axis the chunk sizes sum to the axis length; no chunk
//! is empty unless the axis itself has length 0, in which case the axis has exactly one chunk of
//! size 0. Chunk coordinates are enumerated in C order.

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::shape::{Shape, numel, shape_of, size};
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
    /// [`Error::BadChunks`] for a zero chunk size, a rank that differs from the shape's, explicit
    /// sizes that do not sum to the axis length, a shape past the addressable size, or more than
    /// [`MAX_CHUNKS`] chunks.
    pub fn new(shape: &[usize], chunks: &Chunks, dtype: DType) -> Result<Self> {
        // ndarray (and every allocator) caps an array at isize::MAX bytes; refuse larger shapes
        // here rather than overflow later.
        if size::nbytes(shape, dtype.size()).is_none() {
            return Err(bad_chunks(
                shape,
                format!("an array of this shape and {dtype} exceeds the addressable size"),
            ));
        }
        let rank = |given: usize, what: &str| {
            if given == shape.len() {
                Ok(())
            } else {
                Err(bad_chunks(
                    shape,
                    format!("{given} {what} for {} axes", shape.len()),
                ))
            }
        };
        match chunks {
            Chunks::Auto => Self::with_target_elems(shape, Chunks::AUTO_BYTES / dtype.size()),
            Chunks::Uniform(c) => Self::regular(shape, &vec![*c; shape.len()]),
            Chunks::Shape(per_axis) => {
                rank(per_axis.len(), "chunk sizes")?;
                Self::regular(shape, per_axis)
            }
            Chunks::Explicit(per_axis) => {
                rank(per_axis.len(), "chunk tuples")?;
                Self::from_axis_sizes(shape, per_axis)
            }
        }
    }

    /// A grid of chunks with the given shape (edge chunks ragged).
    ///
    /// # Errors
    /// [`Error::BadChunks`] for a rank mismatch, a zero chunk size, a shape past `isize::MAX`
    /// elements or more than [`MAX_CHUNKS`] chunks.
    pub fn regular(shape: &[usize], chunk: &[usize]) -> Result<Self> {
        if chunk.len() != shape.len() {
            return Err(bad_chunks(
                shape,
                format!("{} chunk sizes for {} axes", chunk.len(), shape.len()),
            ));
        }
        if let Some(axis) = chunk.iter().position(|&c| c == 0) {
            return Err(bad_chunks(shape, format!("chunk size 0 on axis {axis}")));
        }
        check_elems(shape)?;
        check_count(shape, shape.iter().zip(chunk).map(|(&n, &c)| n.div_ceil(c)))?;
        let sizes: Vec<Vec<usize>> = shape
            .iter()
            .zip(chunk)
            .map(|(&n, &c)| split_axis(n, c))
            .collect();
        Ok(Self::from_sizes(shape, &sizes))
    }

    /// One chunk covering the whole array. Crate-internal: it does not check the shape, so only
    /// shapes that cannot come from a user (rank 0) reach it.
    pub(crate) fn single(shape: &[usize]) -> Self {
        let sizes: Vec<Vec<usize>> = shape.iter().map(|&n| vec![n]).collect();
        Self::from_sizes(shape, &sizes)
    }

    /// Regular chunks holding at most about `target_elems` elements: the largest axis is halved
    /// until the chunk fits (ties halve the leading axis, keeping chunks contiguous in C order).
    ///
    /// # Errors
    /// As [`ChunkGrid::regular`]: chunks this small on a shape this large would make more than
    /// [`MAX_CHUNKS`] chunks.
    pub fn with_target_elems(shape: &[usize], target_elems: usize) -> Result<Self> {
        check_elems(shape)?;
        let target_elems = target_elems.max(1);
        let mut chunk: Vec<usize> = shape.iter().map(|&n| n.max(1)).collect();
        while chunk.iter().fold(1usize, |a, &c| a.saturating_mul(c)) > target_elems {
            let axis = (0..chunk.len())
                .max_by_key(|&a| (chunk[a], usize::MAX - a))
                .expect("rank > 0 when too big");
            chunk[axis] = chunk[axis].div_ceil(2);
        }
        Self::regular(shape, &chunk).map_err(|e| match e {
            Error::BadChunks { shape, detail } => Error::BadChunks {
                shape,
                detail: format!("automatic chunks: {detail}"),
            },
            other => other,
        })
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

    /// A grid over `shape` with the given chunk sizes per axis (Dask's explicit chunks). An
    /// empty axis gets its one empty chunk whatever sizes (summing to 0) are given.
    ///
    /// # Errors
    /// [`Error::BadChunks`] for a rank mismatch, sizes that do not sum to the axis length (checked:
    /// a sum that wraps is refused), an empty chunk on a non-empty axis, a shape past
    /// `isize::MAX` elements or more than [`MAX_CHUNKS`] chunks.
    pub fn from_axis_sizes(shape: &[usize], sizes: &[Vec<usize>]) -> Result<Self> {
        if sizes.len() != shape.len() {
            return Err(bad_chunks(
                shape,
                format!("{} chunk tuples for {} axes", sizes.len(), shape.len()),
            ));
        }
        check_elems(shape)?;
        for (axis, (s, &n)) in sizes.iter().zip(shape).enumerate() {
            if size::sum(s.iter().copied()) != Some(n) {
                return Err(bad_chunks(
                    shape,
                    format!("chunks {s:?} on axis {axis} do not sum to {n}"),
                ));
            }
            if n > 0 && s.contains(&0) {
                return Err(bad_chunks(shape, format!("empty chunk on axis {axis}")));
            }
        }
        check_count(shape, sizes.iter().map(Vec::len))?;
        let sizes: Vec<Vec<usize>> = sizes
            .iter()
            .zip(shape)
            .map(|(s, &n)| if n == 0 { vec![0] } else { s.clone() })
            .collect();
        Ok(Self::from_sizes(shape, &sizes))
    }

    /// The array shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Rank.
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    fn axis_bounds(&self, op: &'static str, axis: usize) -> Result<&[usize]> {
        self.bounds
            .get(axis)
            .map(Vec::as_slice)
            .ok_or(Error::BadAxis {
                op,
                axis: isize::try_from(axis).unwrap_or(isize::MAX),
                ndim: self.ndim(),
            })
    }

    /// Chunk sizes along `axis`.
    ///
    /// # Errors
    /// [`Error::BadAxis`] when `axis >= ndim`.
    pub fn axis_sizes(&self, axis: usize) -> Result<Vec<usize>> {
        Ok(self
            .axis_bounds("axis_sizes", axis)?
            .windows(2)
            .map(|w| w[1] - w[0])
            .collect())
    }

    /// Chunk sizes along every axis (Dask's `.chunks`).
    pub fn sizes(&self) -> Vec<Vec<usize>> {
        self.bounds
            .iter()
            .map(|b| b.windows(2).map(|w| w[1] - w[0]).collect())
            .collect()
    }

    /// Chunk boundaries along `axis`: `[0, c0, c0 + c1, ..., len]`.
    ///
    /// # Errors
    /// [`Error::BadAxis`] when `axis >= ndim`.
    pub fn bounds(&self, axis: usize) -> Result<&[usize]> {
        self.axis_bounds("bounds", axis)
    }

    /// Number of chunks along each axis.
    pub fn grid_shape(&self) -> Shape {
        self.bounds.iter().map(|b| b.len() - 1).collect()
    }

    /// Total number of chunks (at most [`MAX_CHUNKS`]).
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

    fn check_index(&self, op: &'static str, index: &[usize]) -> Result<()> {
        let grid = self.grid_shape();
        if index.len() != grid.len() || index.iter().zip(&grid).any(|(&i, &g)| i >= g) {
            return Err(Error::bad_index(
                op,
                format!("chunk index {index:?} is outside the chunk grid {grid:?}"),
            ));
        }
        Ok(())
    }

    /// The region of the chunk at grid coordinate `index`.
    ///
    /// # Errors
    /// [`Error::BadIndex`] when `index` is not a coordinate of the grid.
    pub fn region(&self, index: &[usize]) -> Result<Region> {
        self.check_index("region", index)?;
        let b = &self.bounds;
        Ok(Region {
            start: index.iter().enumerate().map(|(a, &i)| b[a][i]).collect(),
            shape: index
                .iter()
                .enumerate()
                .map(|(a, &i)| b[a][i + 1] - b[a][i])
                .collect(),
        })
    }

    /// Grid coordinate of the chunk numbered `linear` in C order.
    ///
    /// # Errors
    /// [`Error::BadIndex`] when `linear >= num_chunks()`.
    pub fn unravel(&self, mut linear: usize) -> Result<Shape> {
        if linear >= self.num_chunks() {
            return Err(Error::bad_index(
                "unravel",
                format!("chunk {linear} of a grid of {} chunks", self.num_chunks()),
            ));
        }
        let grid = self.grid_shape();
        let mut out: Shape = smallvec::smallvec![0; grid.len()];
        for axis in (0..grid.len()).rev() {
            out[axis] = linear % grid[axis];
            linear /= grid[axis];
        }
        Ok(out)
    }

    /// C-order number of the chunk at grid coordinate `index`.
    ///
    /// # Errors
    /// [`Error::BadIndex`] when `index` is not a coordinate of the grid.
    pub fn ravel(&self, index: &[usize]) -> Result<usize> {
        self.check_index("ravel", index)?;
        let grid = self.grid_shape();
        Ok(index.iter().zip(&grid).fold(0, |acc, (&i, &g)| acc * g + i))
    }

    /// Chunk indices along `axis` whose ranges intersect `range` (empty range: none).
    ///
    /// # Errors
    /// [`Error::BadAxis`] when `axis >= ndim`; [`Error::BadIndex`] when a non-empty `range` ends
    /// past the axis.
    pub fn chunks_overlapping(&self, axis: usize, range: Range<usize>) -> Result<Range<usize>> {
        let b = self.axis_bounds("chunks_overlapping", axis)?;
        if range.is_empty() {
            return Ok(0..0);
        }
        if range.end > self.shape[axis] {
            return Err(Error::bad_index(
                "chunks_overlapping",
                format!(
                    "range {range:?} is outside axis {axis} of length {}",
                    self.shape[axis]
                ),
            ));
        }
        // partition_point finds the first chunk whose end exceeds the position.
        let first = b[1..].partition_point(|&end| end <= range.start);
        let last = b[1..].partition_point(|&end| end < range.end);
        Ok(first..(last + 1).min(b.len() - 1))
    }

    /// True when both grids split every axis at the same places.
    pub fn same_as(&self, other: &ChunkGrid) -> bool {
        self == other
    }
}

/// Most chunks one array may have: every chunk becomes a task, and a grid this fine is always a
/// mistake (a chunk size of 1 on a large axis) that would exhaust memory while planning.
pub const MAX_CHUNKS: usize = 1 << 26;

fn bad_chunks(shape: &[usize], detail: String) -> Error {
    Error::BadChunks {
        shape: shape_of(shape),
        detail,
    }
}

/// Refuses shapes past `isize::MAX` elements (no buffer or index could address them).
fn check_elems(shape: &[usize]) -> Result<()> {
    match size::nbytes(shape, 1) {
        Some(_) => Ok(()),
        None => Err(bad_chunks(
            shape,
            "the shape has more than isize::MAX elements".into(),
        )),
    }
}

/// Refuses grids of more than [`MAX_CHUNKS`] chunks, given the chunk count of each axis (an
/// empty axis has one chunk).
fn check_count(shape: &[usize], per_axis: impl Iterator<Item = usize>) -> Result<()> {
    let per_axis: Vec<usize> = per_axis.map(|c| c.max(1)).collect();
    match size::product(per_axis.iter().copied()) {
        Some(count) if count <= MAX_CHUNKS => Ok(()),
        _ => Err(bad_chunks(
            shape,
            format!(
                "{per_axis:?} chunks per axis make more than {MAX_CHUNKS} chunks; use larger chunks"
            ),
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
///
/// # Errors
/// As [`ChunkGrid::from_axis_sizes`] (a broadcast shape past `isize::MAX` elements, too many
/// chunks).
pub fn broadcast_grid(inputs: &[&ChunkGrid], shape: &[usize]) -> Result<ChunkGrid> {
    let ndim = shape.len();
    let sizes: Vec<Vec<usize>> = (0..ndim)
        .map(|axis| {
            inputs
                .iter()
                .find_map(|g| {
                    let offset = ndim.checked_sub(g.ndim())?;
                    if axis >= offset && g.shape()[axis - offset] == shape[axis] {
                        g.axis_sizes(axis - offset).ok()
                    } else {
                        None
                    }
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
        assert_eq!(g.axis_sizes(0).unwrap(), vec![3, 3, 3, 1]);
        assert_eq!(g.num_chunks(), 4);
        assert_eq!(g.chunks_overlapping(0, 2..7).unwrap(), 0..3);
        assert_eq!(g.chunks_overlapping(0, 9..10).unwrap(), 3..4);
        assert_eq!(g.region(&[3, 0]).unwrap().shape.as_slice(), &[1, 4]);
        assert_eq!(g.unravel(3).unwrap().as_slice(), &[3, 0]);
        assert_eq!(g.ravel(&[3, 0]).unwrap(), 3);
    }

    #[test]
    fn bad_chunks_are_errors() {
        assert!(ChunkGrid::new(&[4], &Chunks::Uniform(0), DType::F32).is_err());
        assert!(ChunkGrid::new(&[4], &Chunks::Explicit(vec![vec![1, 2]]), DType::F32).is_err());
        assert!(ChunkGrid::new(&[4, 4], &Chunks::Shape(vec![2]), DType::F32).is_err());
    }

    #[test]
    fn wrapping_and_oversized_grids_are_errors() {
        // The sum wraps to 6.
        let wraps = Chunks::Explicit(vec![vec![usize::MAX, 7]]);
        assert!(ChunkGrid::new(&[6], &wraps, DType::F32).is_err());
        assert!(ChunkGrid::from_axis_sizes(&[6], &[vec![usize::MAX, 7]]).is_err());
        // 2^38 automatic chunks.
        let e = ChunkGrid::new(&[1 << 62], &Chunks::Auto, DType::Bool).unwrap_err();
        assert!(e.to_string().contains("chunks"), "{e}");
        // 6 x 110 x 2^40 f64 elements in auto chunks: 2^28 chunks.
        assert!(ChunkGrid::new(&[6, 110, 1 << 40], &Chunks::Auto, DType::F64).is_err());
        assert!(ChunkGrid::regular(&[1 << 40], &[1]).is_err());
        assert!(ChunkGrid::regular(&[4], &[0]).is_err());
        assert!(ChunkGrid::regular(&[4], &[1, 1]).is_err());
        assert!(ChunkGrid::with_target_elems(&[1 << 40, 1 << 40], 1).is_err());
        assert!(
            ChunkGrid::from_axis_sizes(&[usize::MAX, 2], &[vec![usize::MAX], vec![2]]).is_err()
        );
        let g = ChunkGrid::single(&[usize::MAX, 2]);
        assert!(broadcast_grid(&[&g], &[usize::MAX, 2]).is_err());
        let g = ChunkGrid::regular(&[1 << 40, 1], &[1 << 40, 1]).unwrap();
        assert!(broadcast_grid(&[&g], &[1 << 40, 1 << 40]).is_err());
        assert!(ChunkGrid::from_axis_sizes(&[4], &[vec![4, 0]]).is_err());
        assert_eq!(
            ChunkGrid::from_axis_sizes(&[0], &[vec![]]).unwrap().sizes(),
            vec![vec![0]]
        );
    }

    #[test]
    fn accessors_refuse_bad_axes_and_indices() {
        let g = ChunkGrid::new(&[10, 4], &Chunks::Shape(vec![3, 4]), DType::F32).unwrap();
        assert!(matches!(g.axis_sizes(5), Err(Error::BadAxis { .. })));
        assert!(g.bounds(2).is_err());
        assert!(g.region(&[4, 0]).is_err());
        assert!(g.region(&[0]).is_err());
        assert!(g.unravel(4).is_err());
        assert!(g.ravel(&[0, 1]).is_err());
        assert!(g.chunks_overlapping(2, 0..1).is_err());
        assert!(g.chunks_overlapping(0, 5..11).is_err());
        let (from, to) = (7, 3);
        assert_eq!(g.chunks_overlapping(0, from..to).unwrap(), 0..0);
    }

    #[test]
    fn empty_axes_have_one_empty_chunk() {
        let g = ChunkGrid::new(&[0, 5], &Chunks::Uniform(2), DType::F32).unwrap();
        assert_eq!(g.grid_shape().as_slice(), &[1, 3]);
        assert_eq!(g.region(&[0, 2]).unwrap().shape.as_slice(), &[0, 1]);
    }

    #[test]
    fn auto_chunks_fit_the_target() {
        let g = ChunkGrid::new(&[16384, 16384], &Chunks::Auto, DType::F32).unwrap();
        assert!(g.max_chunk_elems() * 4 <= Chunks::AUTO_BYTES);
        assert!(g.num_chunks() > 1);
    }
}
