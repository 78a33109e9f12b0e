//! NumPy-style slicing: the [`s!`](crate::s) macro and strided views.

use crate::array::Array;
use std::ops::{Range, RangeFrom, RangeFull, RangeInclusive, RangeTo, RangeToInclusive};
use tilework_core::op::{AxisMap, Op, ViewMap};
use tilework_core::{ChunkGrid, Error, Result};

/// One element of a slice specification.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SliceElem {
    /// `start..end;step` (Python semantics: negative indices count from the end, bounds clamp).
    Range {
        /// First index (default: the start for positive steps, the end for negative ones).
        start: Option<isize>,
        /// One past the last index.
        end: Option<isize>,
        /// Step; must not be 0.
        step: isize,
    },
    /// A single index: removes the axis.
    Index(isize),
    /// A new axis of length 1 (`np.newaxis`).
    NewAxis,
}

/// `np.newaxis` for [`s!`](crate::s).
pub const NEW_AXIS: SliceElem = SliceElem::NewAxis;

impl SliceElem {
    /// The whole axis (`..`).
    pub const FULL: SliceElem = SliceElem::Range {
        start: None,
        end: None,
        step: 1,
    };

    /// Sets the step of a range (`s![a..b;step]`).
    pub fn step(self, step: isize) -> SliceElem {
        match self {
            SliceElem::Range { start, end, .. } => SliceElem::Range { start, end, step },
            // A step on an index is meaningless; keep the error for the view builder.
            other => other,
        }
    }
}

macro_rules! slice_from_ints {
    ($($t:ty),*) => {$(
        impl From<$t> for SliceElem {
            fn from(i: $t) -> Self { SliceElem::Index(i as isize) }
        }
        impl From<Range<$t>> for SliceElem {
            fn from(r: Range<$t>) -> Self { SliceElem::Range { start: Some(r.start as isize), end: Some(r.end as isize), step: 1 } }
        }
        impl From<RangeInclusive<$t>> for SliceElem {
            fn from(r: RangeInclusive<$t>) -> Self {
                let end = *r.end() as isize;
                SliceElem::Range { start: Some(*r.start() as isize), end: if end == -1 { None } else { Some(end + 1) }, step: 1 }
            }
        }
        impl From<RangeFrom<$t>> for SliceElem {
            fn from(r: RangeFrom<$t>) -> Self { SliceElem::Range { start: Some(r.start as isize), end: None, step: 1 } }
        }
        impl From<RangeTo<$t>> for SliceElem {
            fn from(r: RangeTo<$t>) -> Self { SliceElem::Range { start: None, end: Some(r.end as isize), step: 1 } }
        }
        impl From<RangeToInclusive<$t>> for SliceElem {
            fn from(r: RangeToInclusive<$t>) -> Self {
                let end = r.end as isize;
                SliceElem::Range { start: None, end: if end == -1 { None } else { Some(end + 1) }, step: 1 }
            }
        }
    )*};
}
slice_from_ints!(isize, usize, i32, i64);

impl From<RangeFull> for SliceElem {
    fn from(_: RangeFull) -> Self {
        SliceElem::FULL
    }
}

/// Builds a slice specification: `s![1..5, ..;2, -1, NEW_AXIS]`.
///
/// Each element is a range (optionally `;step`), an index or [`NEW_AXIS`]; axes not mentioned are
/// kept whole. Negative indices count from the end; negative steps walk backwards.
#[macro_export]
macro_rules! s {
    ($($r:expr $(; $step:expr)?),* $(,)?) => {
        [$( $crate::SliceElem::from($r) $(.step($step))? ),*]
    };
}

impl From<&SliceElem> for SliceElem {
    fn from(e: &SliceElem) -> Self {
        *e
    }
}

/// Python's `slice.indices`: the first index, step and length of a slice over `n` elements.
fn resolve(start: Option<isize>, end: Option<isize>, step: isize, n: usize) -> (isize, usize) {
    let n = n as isize;
    let clamp = |v: isize, lo: isize, hi: isize| v.max(lo).min(hi);
    let norm = |v: isize| if v < 0 { v + n } else { v };
    let (first, last) = if step > 0 {
        (
            start.map_or(0, |s| clamp(norm(s), 0, n)),
            end.map_or(n, |e| clamp(norm(e), 0, n)),
        )
    } else {
        (
            start.map_or(n - 1, |s| clamp(norm(s), -1, n - 1)),
            end.map_or(-1, |e| clamp(norm(e), -1, n - 1)),
        )
    };
    let len = if step > 0 {
        if last > first {
            (last - first + step - 1) / step
        } else {
            0
        }
    } else if first > last {
        (first - last + (-step) - 1) / (-step)
    } else {
        0
    };
    (first, len as usize)
}

impl Array {
    /// A strided view: `x.slice(&s![1..5, ..;2])`.
    ///
    /// # Errors
    /// [`Error::BadIndex`] for a zero step, an index out of range, or more indices than axes.
    ///
    /// # Examples
    /// ```
    /// use tilework::prelude::*;
    /// let ctx = Context::new()?;
    /// let x = ctx.arange(0.0, 12.0, 1.0, DType::I32, 5)?.reshape(&[3, 4])?;
    /// let y = x.slice(&s![-1, ..;-2])?; // last row, every other column from the end
    /// assert_eq!(y.to_ndarray::<i32>()?.into_raw_vec_and_offset().0, vec![11, 9]);
    /// # Ok::<(), tilework::Error>(())
    /// ```
    pub fn slice(&self, spec: &[SliceElem]) -> Result<Array> {
        if let Some(e) = self.error() {
            return Err(e);
        }
        let used = spec
            .iter()
            .filter(|e| !matches!(e, SliceElem::NewAxis))
            .count();
        if used > self.ndim() {
            return Err(Error::bad_index(
                "slice",
                format!("{used} indices for an array of rank {}", self.ndim()),
            ));
        }
        let elems = spec
            .iter()
            .copied()
            .chain(std::iter::repeat_n(SliceElem::FULL, self.ndim() - used));
        let mut in_axes = Vec::with_capacity(self.ndim());
        let mut out_shape = Vec::new();
        let mut out_sizes: Vec<Vec<usize>> = Vec::new();
        let mut axis = 0;
        for elem in elems {
            match elem {
                SliceElem::NewAxis => {
                    out_shape.push(1);
                    out_sizes.push(vec![1]);
                }
                SliceElem::Index(i) => {
                    let n = self.shape()[axis] as isize;
                    let idx = if i < 0 { i + n } else { i };
                    if idx < 0 || idx >= n {
                        return Err(Error::bad_index(
                            "index",
                            format!("index {i} is out of bounds for axis {axis} with size {n}"),
                        ));
                    }
                    in_axes.push(AxisMap::Fixed(idx as usize));
                    axis += 1;
                }
                SliceElem::Range { start, end, step } => {
                    if step == 0 {
                        return Err(Error::bad_index(
                            "slice",
                            format!("slice step cannot be zero (axis {axis})"),
                        ));
                    }
                    let (first, len) = resolve(start, end, step, self.shape()[axis]);
                    let out_axis = out_shape.len();
                    in_axes.push(AxisMap::Affine {
                        out_axis,
                        start: if len == 0 { 0 } else { first },
                        step,
                    });
                    out_sizes.push(view_axis_chunks(self.grid(), axis, first, step, len));
                    out_shape.push(len);
                    axis += 1;
                }
            }
        }
        let grid = ChunkGrid::from_axis_sizes(&out_shape, &out_sizes);
        Ok(Array::new(
            &self.ctx,
            Op::View(ViewMap { in_axes }),
            vec![self.node.clone()],
            self.dtype(),
            grid,
        ))
    }

    /// Selects index `index` of `axis`, removing the axis (`x[..., i, ...]`).
    ///
    /// # Errors
    /// [`Error::BadAxis`] or an index out of range.
    pub fn index_axis(&self, axis: isize, index: isize) -> Result<Array> {
        let axis = tilework_core::shape::normalize_axis("index", axis, self.ndim())?;
        let mut spec = vec![SliceElem::FULL; axis];
        spec.push(SliceElem::Index(index));
        self.slice(&spec)
    }

    /// Reverses the order of elements along `axis` (`np.flip`).
    ///
    /// # Errors
    /// [`Error::BadAxis`].
    pub fn flip(&self, axis: isize) -> Result<Array> {
        let axis = tilework_core::shape::normalize_axis("flip", axis, self.ndim())?;
        let mut spec = vec![SliceElem::FULL; axis];
        spec.push(SliceElem::Range {
            start: None,
            end: None,
            step: -1,
        });
        self.slice(&spec)
    }
}

/// Output chunks of a sliced axis: unit steps keep the input's chunk boundaries (so pieces never
/// straddle chunks); other steps keep about the input's chunk size.
fn view_axis_chunks(
    grid: &ChunkGrid,
    axis: usize,
    first: isize,
    step: isize,
    len: usize,
) -> Vec<usize> {
    if len == 0 {
        return vec![0];
    }
    if step.abs() == 1 {
        let bounds = grid.bounds(axis);
        let mut sizes = Vec::new();
        let mut j = 0usize;
        while j < len {
            let x = first + step * j as isize;
            let c = grid
                .chunks_overlapping(axis, x as usize..x as usize + 1)
                .start;
            let room = if step > 0 {
                bounds[c + 1] as isize - x
            } else {
                x - bounds[c] as isize + 1
            };
            let take = (room as usize).min(len - j);
            sizes.push(take);
            j += take;
        }
        return sizes;
    }
    let chunk = grid.axis_sizes(axis).into_iter().max().unwrap_or(1).max(1);
    let mut sizes = vec![chunk; len / chunk];
    if !len.is_multiple_of(chunk) {
        sizes.push(len % chunk);
    }
    sizes
}

#[cfg(test)]
mod tests {
    use super::resolve;

    #[test]
    fn python_slice_semantics() {
        assert_eq!(resolve(None, None, 1, 5), (0, 5));
        assert_eq!(resolve(None, None, -1, 5), (4, 5));
        assert_eq!(resolve(Some(-2), None, 1, 5), (3, 2));
        assert_eq!(resolve(Some(1), Some(100), 2, 5), (1, 2));
        assert_eq!(resolve(Some(3), Some(1), 1, 5).1, 0);
        assert_eq!(resolve(Some(3), Some(0), -1, 5), (3, 3));
    }
}
