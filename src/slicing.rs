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

    /// Sets the step of a range (`s![a..b;step]`). Only ranges have a step: an index or a new
    /// axis comes back unchanged, and [`s!`](crate::s) refuses `s![3;2]` at compile time (as
    /// ndarray's `s!` does).
    pub fn step(self, step: isize) -> SliceElem {
        match self {
            SliceElem::Range { start, end, .. } => SliceElem::Range { start, end, step },
            other => other,
        }
    }
}

/// Ranges, the only slice elements that take a step in [`s!`](crate::s) (`a..b;step`).
pub trait SteppedRange: Into<SliceElem> {
    /// The range with `step`.
    fn with_step(self, step: isize) -> SliceElem {
        self.into().step(step)
    }
}

/// An integer bound as `isize`, saturating: a `usize` past `isize::MAX` is past the end of any
/// axis (no axis is longer than `isize::MAX`), so clamping it keeps Python's meaning.
fn saturate<T: TryInto<isize> + PartialOrd + Default>(v: T) -> isize {
    let negative = v < T::default();
    v.try_into()
        .unwrap_or(if negative { isize::MIN } else { isize::MAX })
}

/// One past an inclusive end; `..=-1` reaches the last element.
fn after(end: isize) -> Option<isize> {
    match end {
        -1 => None,
        e => Some(e.saturating_add(1)),
    }
}

macro_rules! slice_from_ints {
    ($($t:ty),*) => {$(
        impl From<$t> for SliceElem {
            fn from(i: $t) -> Self { SliceElem::Index(saturate(i)) }
        }
        impl From<Range<$t>> for SliceElem {
            fn from(r: Range<$t>) -> Self { SliceElem::Range { start: Some(saturate(r.start)), end: Some(saturate(r.end)), step: 1 } }
        }
        impl From<RangeInclusive<$t>> for SliceElem {
            fn from(r: RangeInclusive<$t>) -> Self {
                SliceElem::Range { start: Some(saturate(*r.start())), end: after(saturate(*r.end())), step: 1 }
            }
        }
        impl From<RangeFrom<$t>> for SliceElem {
            fn from(r: RangeFrom<$t>) -> Self { SliceElem::Range { start: Some(saturate(r.start)), end: None, step: 1 } }
        }
        impl From<RangeTo<$t>> for SliceElem {
            fn from(r: RangeTo<$t>) -> Self { SliceElem::Range { start: None, end: Some(saturate(r.end)), step: 1 } }
        }
        impl From<RangeToInclusive<$t>> for SliceElem {
            fn from(r: RangeToInclusive<$t>) -> Self {
                SliceElem::Range { start: None, end: after(saturate(r.end)), step: 1 }
            }
        }
        impl SteppedRange for Range<$t> {}
        impl SteppedRange for RangeInclusive<$t> {}
        impl SteppedRange for RangeFrom<$t> {}
        impl SteppedRange for RangeTo<$t> {}
        impl SteppedRange for RangeToInclusive<$t> {}
    )*};
}
slice_from_ints!(isize, usize, i32, i64);

impl From<RangeFull> for SliceElem {
    fn from(_: RangeFull) -> Self {
        SliceElem::FULL
    }
}

impl SteppedRange for RangeFull {}

/// Builds a slice specification: `s![1..5, ..;2, -1, NEW_AXIS]`.
///
/// Each element is a range (optionally `;step`), an index or [`NEW_AXIS`]; axes not mentioned are
/// kept whole. Negative indices count from the end; negative steps walk backwards. Bounds past
/// the axis clamp, as in NumPy (`s![0usize..usize::MAX]` is the whole axis); an index past the
/// axis is an error when slicing. Only ranges take a step, as in ndarray:
///
/// ```compile_fail
/// use tilework::s;
/// let _ = s![3;2]; // an index has no step
/// ```
#[macro_export]
macro_rules! s {
    (@elem $r:expr) => {
        $crate::SliceElem::from($r)
    };
    (@elem $r:expr, $step:expr) => {
        $crate::SteppedRange::with_step($r, $step)
    };
    ($($r:expr $(; $step:expr)?),* $(,)?) => {
        [$( $crate::s!(@elem $r $(, $step)?) ),*]
    };
}

impl From<&SliceElem> for SliceElem {
    fn from(e: &SliceElem) -> Self {
        *e
    }
}

/// Python's `slice.indices`: the first index and length of a slice over `n` elements (`step`
/// must not be 0).
fn resolve(start: Option<isize>, end: Option<isize>, step: isize, n: usize) -> (isize, usize) {
    // In i128 every sum below is exact: the bounds and step are isize, and n <= isize::MAX.
    let (n, step) = (n as i128, step as i128);
    let norm = |v: isize| {
        let v = v as i128;
        if v < 0 { v + n } else { v }
    };
    let (first, last) = if step > 0 {
        (
            start.map_or(0, |s| norm(s).clamp(0, n)),
            end.map_or(n, |e| norm(e).clamp(0, n)),
        )
    } else {
        (
            start.map_or(n - 1, |s| norm(s).clamp(-1, n - 1)),
            end.map_or(-1, |e| norm(e).clamp(-1, n - 1)),
        )
    };
    let len = if step > 0 {
        if last > first {
            (last - first + step - 1) / step
        } else {
            0
        }
    } else if first > last {
        (first - last - step - 1) / (-step)
    } else {
        0
    };
    // first lies in -1..=n and len in 0..=n, both within isize.
    (first as isize, len as usize)
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
                    // One element reads the same at any step; a unit step keeps later index
                    // arithmetic (`-step`, `first + step * j`) clear of overflow for huge steps.
                    let step = if len <= 1 { 1 } else { step };
                    let out_axis = out_shape.len();
                    in_axes.push(AxisMap::Affine {
                        out_axis,
                        start: if len == 0 { 0 } else { first },
                        step,
                    });
                    out_sizes.push(view_axis_chunks(self.grid(), axis, first, step, len)?);
                    out_shape.push(len);
                    axis += 1;
                }
            }
        }
        let grid = ChunkGrid::from_axis_sizes(&out_shape, &out_sizes)?;
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
) -> Result<Vec<usize>> {
    if len == 0 {
        return Ok(vec![0]);
    }
    if step.abs() == 1 {
        let bounds = grid.bounds(axis)?;
        let mut sizes = Vec::new();
        let mut j = 0usize;
        while j < len {
            let x = first + step * j as isize;
            let c = grid
                .chunks_overlapping(axis, x as usize..x as usize + 1)?
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
        return Ok(sizes);
    }
    let chunk = grid.axis_sizes(axis)?.into_iter().max().unwrap_or(1).max(1);
    let mut sizes = vec![chunk; len / chunk];
    if !len.is_multiple_of(chunk) {
        sizes.push(len % chunk);
    }
    Ok(sizes)
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

    #[test]
    fn extreme_steps_and_bounds_match_python() {
        // Python: len(range(5)[0:5:MAX]) == 1, range(5)[::MIN] == [4].
        assert_eq!(resolve(None, None, isize::MAX, 5), (0, 1));
        assert_eq!(resolve(None, None, isize::MIN, 5), (4, 1));
        assert_eq!(resolve(Some(isize::MIN), Some(isize::MAX), 1, 5), (0, 5));
        assert_eq!(resolve(Some(isize::MAX), Some(isize::MIN), -1, 5), (4, 5));
        assert_eq!(resolve(Some(isize::MAX), None, 1, 5).1, 0);
        assert_eq!(resolve(Some(isize::MIN), None, -1, 5).1, 0);
        let n = isize::MAX as usize;
        assert_eq!(resolve(None, None, 1, n), (0, n));
        assert_eq!(resolve(None, None, -1, n), (isize::MAX - 1, n));
        assert_eq!(resolve(None, None, isize::MAX - 1, n), (0, 2));
        assert_eq!(resolve(Some(-1), None, isize::MIN, n), (isize::MAX - 1, 1));
    }
}
