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
pub fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
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
}
