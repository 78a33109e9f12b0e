//! Shapes, broadcasting and axis normalization (runtime rank, NumPy rules).

use crate::error::{Error, Result};
use smallvec::SmallVec;

/// A shape or index with runtime rank; up to four axes live inline.
pub type Shape = SmallVec<[usize; 4]>;

/// Builds a [`Shape`] from a slice.
pub fn shape_of(dims: &[usize]) -> Shape {
    Shape::from_slice(dims)
}

/// Number of elements of a shape (1 for rank 0).
///
/// Only for shapes already validated (every [`ChunkGrid`](crate::ChunkGrid) holds at most
/// `isize::MAX` elements); sizes from user input go through [`checked_numel`].
pub fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// Overflow-checked size arithmetic: the one place element counts, byte sizes and chunk counts
/// built from user input are multiplied or added. `None` means the result does not fit a `usize`.
pub mod size {
    /// Product of `factors`; `None` on overflow (a zero factor anywhere gives `Some(0)`, as NumPy
    /// accepts `(2**62, 4, 0)`).
    pub fn product(factors: impl IntoIterator<Item = usize>) -> Option<usize> {
        let mut acc = Some(1usize);
        for f in factors {
            if f == 0 {
                return Some(0);
            }
            acc = acc.and_then(|a| a.checked_mul(f));
        }
        acc
    }

    /// Sum of `terms`; `None` on overflow.
    pub fn sum(terms: impl IntoIterator<Item = usize>) -> Option<usize> {
        terms.into_iter().try_fold(0usize, |a, t| a.checked_add(t))
    }

    /// Element count of `shape` times `itemsize`, when it stays within `isize::MAX` (the most
    /// any allocation, ndarray or slice index can address). The product of the non-zero axis
    /// lengths must fit too, as ndarray and NumPy require: `(0, 2**62, 6)` is refused although
    /// it is empty.
    pub fn nbytes(shape: &[usize], itemsize: usize) -> Option<usize> {
        let nonzero = shape
            .iter()
            .copied()
            .filter(|&n| n != 0)
            .chain([itemsize.max(1)]);
        let bytes = product(nonzero).filter(|&b| b <= isize::MAX as usize)?;
        Some(if shape.contains(&0) { 0 } else { bytes })
    }
}

/// Element count of `shape`, refusing counts past `isize::MAX`.
///
/// # Errors
/// [`Error::InvalidArgument`] naming `op` when the count overflows.
pub fn checked_numel(op: &'static str, shape: &[usize]) -> Result<usize> {
    size::nbytes(shape, 1).ok_or_else(|| {
        Error::invalid(
            op,
            format!("shape {shape:?} has more than isize::MAX elements"),
        )
    })
}

/// Bytes of an array of `shape` with elements of `itemsize` bytes, refusing sizes past
/// `isize::MAX` (NumPy's "array is too big").
///
/// # Errors
/// [`Error::InvalidArgument`] naming `op` when the size overflows.
pub fn checked_nbytes(op: &'static str, shape: &[usize], itemsize: usize) -> Result<usize> {
    size::nbytes(shape, itemsize).ok_or_else(|| {
        Error::invalid(
            op,
            format!(
                "an array of shape {shape:?} with {itemsize}-byte elements exceeds the addressable size"
            ),
        )
    })
}

/// Sum of user-given sizes (padded lengths, concatenated axes...).
///
/// # Errors
/// [`Error::InvalidArgument`] naming `op` and `what` when the sum overflows.
pub fn checked_sum(
    op: &'static str,
    what: &str,
    terms: impl IntoIterator<Item = usize> + Clone,
) -> Result<usize> {
    size::sum(terms.clone()).ok_or_else(|| {
        let terms: Vec<usize> = terms.into_iter().collect();
        Error::invalid(op, format!("{what} {terms:?} overflows"))
    })
}

/// C-order (row-major) element strides of a shape.
pub fn c_strides(shape: &[usize]) -> Shape {
    let mut strides: Shape = smallvec::smallvec![0; shape.len()];
    let mut acc = 1usize;
    for (axis, &len) in shape.iter().enumerate().rev() {
        strides[axis] = acc;
        acc = acc.saturating_mul(len.max(1));
    }
    strides
}

/// The NumPy broadcast of two shapes.
///
/// # Errors
/// [`Error::ShapeMismatch`] naming `op` when an axis pair is neither equal nor contains a 1.
pub fn broadcast_shapes(op: &'static str, lhs: &[usize], rhs: &[usize]) -> Result<Shape> {
    let ndim = lhs.len().max(rhs.len());
    let mut out: Shape = smallvec::smallvec![0; ndim];
    for i in 0..ndim {
        let l = if i + lhs.len() >= ndim {
            lhs[i + lhs.len() - ndim]
        } else {
            1
        };
        let r = if i + rhs.len() >= ndim {
            rhs[i + rhs.len() - ndim]
        } else {
            1
        };
        out[i] = match (l, r) {
            (a, b) if a == b => a,
            (1, b) => b,
            (a, 1) => a,
            _ => {
                return Err(Error::ShapeMismatch {
                    op,
                    lhs: shape_of(lhs),
                    rhs: shape_of(rhs),
                });
            }
        };
    }
    Ok(out)
}

/// Normalizes a possibly negative axis against `ndim`.
///
/// # Errors
/// [`Error::BadAxis`] when the axis is outside `-ndim..ndim`.
pub fn normalize_axis(op: &'static str, axis: isize, ndim: usize) -> Result<usize> {
    let n = ndim as isize;
    if axis < -n || axis >= n {
        return Err(Error::BadAxis { op, axis, ndim });
    }
    Ok(if axis < 0 {
        (axis + n) as usize
    } else {
        axis as usize
    })
}

/// Normalizes a set of axes: each in range, none repeated; returned sorted.
///
/// # Errors
/// [`Error::BadAxis`] for an axis out of range or given twice.
pub fn normalize_axes(op: &'static str, axes: &[isize], ndim: usize) -> Result<Vec<usize>> {
    let mut out = Vec::with_capacity(axes.len());
    for &axis in axes {
        let a = normalize_axis(op, axis, ndim)?;
        if out.contains(&a) {
            return Err(Error::BadAxis { op, axis, ndim });
        }
        out.push(a);
    }
    out.sort_unstable();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasting_follows_numpy() {
        assert_eq!(
            broadcast_shapes("add", &[3, 1], &[4]).unwrap().as_slice(),
            &[3, 4]
        );
        assert_eq!(
            broadcast_shapes("add", &[], &[2, 0]).unwrap().as_slice(),
            &[2, 0]
        );
        assert!(broadcast_shapes("add", &[3], &[4]).is_err());
    }

    #[test]
    fn axes_normalize() {
        assert_eq!(normalize_axis("sum", -1, 3).unwrap(), 2);
        assert!(normalize_axis("sum", 3, 3).is_err());
        assert!(normalize_axes("sum", &[0, -3], 3).is_err());
        assert_eq!(c_strides(&[2, 3, 4]).as_slice(), &[12, 4, 1]);
    }

    #[test]
    fn sizes_are_checked() {
        assert_eq!(size::product([3, 4]), Some(12));
        assert_eq!(size::product([usize::MAX, 2]), None);
        assert_eq!(size::product([usize::MAX, 2, 0]), Some(0));
        assert_eq!(size::sum([usize::MAX, 7]), None);
        assert_eq!(size::nbytes(&[1 << 62], 2), None);
        assert_eq!(size::nbytes(&[1 << 61], 2), Some(1 << 62));
        let e = checked_numel("reshape", &[17, 1085102592571150096]).unwrap_err();
        assert!(e.to_string().starts_with("reshape:"), "{e}");
        assert!(checked_sum("pad", "widths", [4, 3, usize::MAX - 1]).is_err());
    }
}
