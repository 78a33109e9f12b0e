//! Helpers shared by the unit tests.

use crate::num::{Elem, slice_of, standard};
use tilework_core::{BufferSpec, DType, HostArray, Shape};

/// A host array from a flat C-order vector.
pub(crate) fn arr<T: Elem>(data: Vec<T>, shape: &[usize]) -> HostArray {
    HostArray::from_vec(data, shape).expect("test data fills its shape")
}

/// The elements of a host array in C order.
pub(crate) fn vals<T: Elem>(h: &HostArray) -> Vec<T> {
    slice_of::<T>(&standard(h))
        .expect("test array has the expected dtype")
        .to_vec()
}

/// A buffer spec.
pub(crate) fn spec(dtype: DType, shape: &[usize]) -> BufferSpec {
    BufferSpec {
        dtype,
        shape: Shape::from_slice(shape),
    }
}

/// A shape.
pub(crate) fn shape(dims: &[usize]) -> Shape {
    Shape::from_slice(dims)
}

/// Bitwise float equality that treats every NaN as equal.
pub(crate) fn same_f64(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
}

/// Asserts that two f64 sequences are within `tol` (relative to max(1, |b|)), NaN matching NaN.
pub(crate) fn assert_close(got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "lengths differ");
    for (i, (&a, &b)) in got.iter().zip(want).enumerate() {
        let ok = (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= tol * b.abs().max(1.0);
        assert!(ok, "element {i}: got {a}, want {b}");
    }
}
