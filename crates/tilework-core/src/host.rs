//! Host-resident chunk data: one enum variant per dtype around an `ndarray::ArcArray`.
//!
//! Cloning is cheap (the buffer is shared); kernels that write take a unique copy first.

use crate::dtype::{DType, Element, Scalar};
use crate::error::{Error, Result};
use crate::shape::Shape;
use half::f16;
use ndarray::{ArcArray, ArrayD, IxDyn};

/// A dense n-d array in host memory whose dtype is known at runtime.
#[derive(Clone, Debug, PartialEq)]
#[allow(missing_docs)]
pub enum HostArray {
    Bool(ArcArray<bool, IxDyn>),
    U8(ArcArray<u8, IxDyn>),
    I32(ArcArray<i32, IxDyn>),
    I64(ArcArray<i64, IxDyn>),
    U32(ArcArray<u32, IxDyn>),
    F16(ArcArray<f16, IxDyn>),
    F32(ArcArray<f32, IxDyn>),
    F64(ArcArray<f64, IxDyn>),
}

/// Runs `$body` with `$a` bound to the typed `ArcArray` inside a [`HostArray`] (`$T` names its
/// element type). Used where one generic function serves every dtype.
#[macro_export]
macro_rules! with_host_array {
    ($array:expr, $a:ident, $T:ident => $body:expr) => {
        match $array {
            $crate::HostArray::Bool($a) => {
                type $T = bool;
                $body
            }
            $crate::HostArray::U8($a) => {
                type $T = u8;
                $body
            }
            $crate::HostArray::I32($a) => {
                type $T = i32;
                $body
            }
            $crate::HostArray::I64($a) => {
                type $T = i64;
                $body
            }
            $crate::HostArray::U32($a) => {
                type $T = u32;
                $body
            }
            $crate::HostArray::F16($a) => {
                type $T = $crate::half::f16;
                $body
            }
            $crate::HostArray::F32($a) => {
                type $T = f32;
                $body
            }
            $crate::HostArray::F64($a) => {
                type $T = f64;
                $body
            }
        }
    };
}

/// Runs `$body` with `$T` bound to the Rust element type of a [`DType`].
#[macro_export]
macro_rules! with_dtype {
    ($dtype:expr, $T:ident => $body:expr) => {
        match $dtype {
            $crate::DType::Bool => {
                type $T = bool;
                $body
            }
            $crate::DType::U8 => {
                type $T = u8;
                $body
            }
            $crate::DType::I32 => {
                type $T = i32;
                $body
            }
            $crate::DType::I64 => {
                type $T = i64;
                $body
            }
            $crate::DType::U32 => {
                type $T = u32;
                $body
            }
            $crate::DType::F16 => {
                type $T = $crate::half::f16;
                $body
            }
            $crate::DType::F32 => {
                type $T = f32;
                $body
            }
            $crate::DType::F64 => {
                type $T = f64;
                $body
            }
        }
    };
}

/// Element types that can live in a [`HostArray`].
pub trait HostElement: Element {
    /// Wraps a typed array.
    fn wrap(array: ArcArray<Self, IxDyn>) -> HostArray;
    /// Borrows the typed array if the dtype matches.
    fn unwrap_ref(array: &HostArray) -> Option<&ArcArray<Self, IxDyn>>;
}

macro_rules! host_element {
    ($($t:ty => $v:ident),*) => {$(
        impl HostElement for $t {
            fn wrap(array: ArcArray<Self, IxDyn>) -> HostArray { HostArray::$v(array) }
            fn unwrap_ref(array: &HostArray) -> Option<&ArcArray<Self, IxDyn>> {
                match array { HostArray::$v(a) => Some(a), _ => None }
            }
        }
    )*};
}
host_element!(bool => Bool, u8 => U8, i32 => I32, i64 => I64, u32 => U32, f16 => F16, f32 => F32, f64 => F64);

impl HostArray {
    /// An array of `shape` filled with `value` (cast to `dtype`).
    pub fn full(dtype: DType, shape: &[usize], value: Scalar) -> HostArray {
        with_dtype!(dtype, T => T::wrap(ArcArray::from_elem(IxDyn(shape), T::from_scalar(value))))
    }

    /// Zeros of `dtype` and `shape`.
    pub fn zeros(dtype: DType, shape: &[usize]) -> HostArray {
        Self::full(dtype, shape, Scalar::zero(dtype))
    }

    /// Wraps an owned typed array.
    pub fn from_array<T: HostElement>(array: ArrayD<T>) -> HostArray {
        T::wrap(array.into_shared())
    }

    /// Builds from a flat vector in C order.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when `data.len()` differs from the shape's element count.
    pub fn from_vec<T: HostElement>(data: Vec<T>, shape: &[usize]) -> Result<HostArray> {
        let len = data.len();
        let array = ArrayD::from_shape_vec(IxDyn(shape), data).map_err(|_| {
            Error::invalid(
                "from_vec",
                format!("{len} values do not fill shape {shape:?}"),
            )
        })?;
        Ok(Self::from_array(array))
    }

    /// The dtype.
    pub fn dtype(&self) -> DType {
        with_host_array!(self, _a, T => T::DTYPE)
    }

    /// The shape.
    pub fn shape(&self) -> Shape {
        with_host_array!(self, a, _T => Shape::from_slice(a.shape()))
    }

    /// Element count.
    pub fn len(&self) -> usize {
        with_host_array!(self, a, _T => a.len())
    }

    /// True when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes held by the elements.
    pub fn nbytes(&self) -> usize {
        self.len() * self.dtype().size()
    }

    /// Borrows the typed array.
    ///
    /// # Errors
    /// [`Error::DTypeMismatch`] when `T` is not this array's dtype.
    pub fn typed<T: HostElement>(&self) -> Result<&ArcArray<T, IxDyn>> {
        T::unwrap_ref(self).ok_or(Error::DTypeMismatch {
            expected: T::DTYPE,
            actual: self.dtype(),
        })
    }

    /// The element at a multi-index (for tests and small reads).
    pub fn get(&self, index: &[usize]) -> Option<Scalar> {
        with_host_array!(self, a, _T => a.get(IxDyn(index)).map(|v| v.into_scalar()))
    }

    /// Returns the same data with a new shape of equal size (C order).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when the element counts differ.
    pub fn reshaped(&self, shape: &[usize]) -> Result<HostArray> {
        with_host_array!(self, a, T => {
            let owned: ArrayD<T> = a.as_standard_layout().into_owned();
            let len = owned.len();
            let out = owned.into_shape_with_order(IxDyn(shape)).map_err(|_| {
                Error::invalid("reshape", format!("cannot view {len} elements as {shape:?}"))
            })?;
            Ok(T::wrap(out.into_shared()))
        })
    }

    /// Converts every element to `dtype` (NumPy `astype`).
    pub fn cast(&self, dtype: DType) -> HostArray {
        if self.dtype() == dtype {
            return self.clone();
        }
        with_host_array!(self, a, _S => with_dtype!(dtype, T => {
            T::wrap(a.map(|v| T::from_scalar(v.into_scalar())).into_shared())
        }))
    }
}

macro_rules! host_from {
    ($($t:ty),*) => {$(
        impl From<ArrayD<$t>> for HostArray {
            fn from(array: ArrayD<$t>) -> Self { HostArray::from_array(array) }
        }
    )*};
}
host_from!(bool, u8, i32, i64, u32, f16, f32, f64);
