//! Element plumbing shared by every kernel family: the [`Elem`] trait (conversions with NumPy
//! `astype` semantics), typed scratch columns ([`Col`], [`ColRef`], [`ColMut`]) and helpers that
//! move data between [`HostArray`]s and flat slices.

use half::f16;
use tilework_core::{DType, Error, HostArray, HostElement, Result, with_host_array};

/// A host element type with the conversions every kernel needs.
///
/// The conversions reproduce [`tilework_core::Scalar::cast`] exactly, but on plain values, so
/// that loops over slices monomorphize and vectorize instead of going through `Scalar`.
pub(crate) trait Elem: HostElement + ElemCols {
    /// True for f16, f32 and f64.
    const FLOAT: bool;
    /// The smallest value (`-inf` for floats, `false` for bool): the identity of `max`.
    const MIN_VAL: Self;
    /// The largest value (`+inf` for floats, `true` for bool): the identity of `min`.
    const MAX_VAL: Self;

    /// The value as f64 (bool as 0/1).
    fn as_f64(self) -> f64;
    /// The value as i64; floats truncate toward zero (saturating, NaN gives 0) like `Scalar::to_i64`.
    fn as_i64(self) -> i64;
    /// True for a float NaN.
    fn is_nan(self) -> bool {
        false
    }
    /// Conversion to f32 as `Scalar::cast(F32)` does it (via f64, except from i64).
    fn as_f32_cast(self) -> f32 {
        self.as_f64() as f32
    }
    /// Conversion to f16 as `Scalar::cast(F16)` does it (via f64, except from f32).
    fn as_f16_cast(self) -> f16 {
        f16::from_f64(self.as_f64())
    }
    /// NumPy `astype` from any element type.
    fn cast_from<S: Elem>(value: S) -> Self;
}

macro_rules! columns {
    ($($v:ident($t:ty)),*) => {
        /// An owned scratch column of one dtype.
        #[derive(Clone, Debug)]
        pub(crate) enum Col { $($v(Vec<$t>)),* }

        /// A borrowed column of one dtype.
        #[derive(Copy, Clone, Debug)]
        pub(crate) enum ColRef<'a> { $($v(&'a [$t])),* }

        /// A mutably borrowed column of one dtype.
        #[derive(Debug)]
        pub(crate) enum ColMut<'a> { $($v(&'a mut [$t])),* }

        impl Col {
            /// Borrows the first `len` elements.
            pub(crate) fn prefix(&self, len: usize) -> ColRef<'_> {
                match self { $(Col::$v(v) => ColRef::$v(&v[..len.min(v.len())])),* }
            }
            /// Mutably borrows the first `len` elements.
            pub(crate) fn prefix_mut(&mut self, len: usize) -> ColMut<'_> {
                match self { $(Col::$v(v) => { let n = len.min(v.len()); ColMut::$v(&mut v[..n]) }),* }
            }
        }

        impl<'a> ColRef<'a> {
            /// The dtype of the elements.
            pub(crate) fn dtype(&self) -> DType {
                match self { $(ColRef::$v(_) => <$t as tilework_core::Element>::DTYPE),* }
            }
            /// Number of elements.
            pub(crate) fn len(&self) -> usize {
                match self { $(ColRef::$v(s) => s.len()),* }
            }
            /// Elements `start..start + len` (clamped to the column).
            pub(crate) fn range(self, start: usize, len: usize) -> ColRef<'a> {
                match self { $(ColRef::$v(s) => {
                    let lo = start.min(s.len());
                    ColRef::$v(&s[lo..(lo + len).min(s.len())])
                }),* }
            }
        }

        impl ColMut<'_> {
            /// The dtype of the elements.
            pub(crate) fn dtype(&self) -> DType {
                match self { $(ColMut::$v(_) => <$t as tilework_core::Element>::DTYPE),* }
            }
            /// Number of elements.
            pub(crate) fn len(&self) -> usize {
                match self { $(ColMut::$v(s) => s.len()),* }
            }
        }

        $(
        impl ElemCols for $t {
            fn col_ref(col: ColRef<'_>) -> Option<&[Self]> {
                match col { ColRef::$v(s) => Some(s), _ => None }
            }
            fn col_mut(col: ColMut<'_>) -> Option<&mut [Self]> {
                match col { ColMut::$v(s) => Some(s), _ => None }
            }
            fn wrap_ref(slice: &[Self]) -> ColRef<'_> { ColRef::$v(slice) }
            fn wrap_mut(slice: &mut [Self]) -> ColMut<'_> { ColMut::$v(slice) }
            fn new_col(len: usize) -> Col { Col::$v(vec![<$t>::default(); len]) }
        }
        )*
    };
}

/// Column plumbing, generated per element type.
pub(crate) trait ElemCols: Sized {
    /// Borrows a column of this type.
    fn col_ref(col: ColRef<'_>) -> Option<&[Self]>;
    /// Mutably borrows a column of this type.
    fn col_mut(col: ColMut<'_>) -> Option<&mut [Self]>;
    /// Wraps a slice as a column.
    fn wrap_ref(slice: &[Self]) -> ColRef<'_>;
    /// Wraps a mutable slice as a column.
    fn wrap_mut(slice: &mut [Self]) -> ColMut<'_>;
    /// A new zeroed column of `len` elements.
    fn new_col(len: usize) -> Col;
}

columns!(
    Bool(bool),
    U8(u8),
    I32(i32),
    I64(i64),
    U32(u32),
    F16(f16),
    F32(f32),
    F64(f64)
);

/// Integer targets: every source goes through `as_i64` and wraps, as `Scalar::cast` does.
macro_rules! int_elem {
    ($($t:ty),*) => {$(
        impl Elem for $t {
            const FLOAT: bool = false;
            const MIN_VAL: Self = <$t>::MIN;
            const MAX_VAL: Self = <$t>::MAX;
            #[inline(always)]
            fn as_f64(self) -> f64 { self as f64 }
            #[inline(always)]
            fn as_i64(self) -> i64 { self as i64 }
            #[inline(always)]
            fn cast_from<S: Elem>(value: S) -> Self { value.as_i64() as $t }
        }
    )*};
}
int_elem!(u8, i32, u32);

impl Elem for i64 {
    const FLOAT: bool = false;
    const MIN_VAL: Self = i64::MIN;
    const MAX_VAL: Self = i64::MAX;
    #[inline(always)]
    fn as_f64(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn as_i64(self) -> i64 {
        self
    }
    #[inline(always)]
    fn as_f32_cast(self) -> f32 {
        // `Scalar::cast` rounds i64 to f32 directly (no double rounding through f64).
        self as f32
    }
    #[inline(always)]
    fn cast_from<S: Elem>(value: S) -> Self {
        value.as_i64()
    }
}

impl Elem for bool {
    const FLOAT: bool = false;
    const MIN_VAL: Self = false;
    const MAX_VAL: Self = true;
    #[inline(always)]
    fn as_f64(self) -> f64 {
        self as u8 as f64
    }
    #[inline(always)]
    fn as_i64(self) -> i64 {
        self as i64
    }
    #[inline(always)]
    fn cast_from<S: Elem>(value: S) -> Self {
        // Floats: NaN is "not zero", hence true, as in NumPy.
        if S::FLOAT {
            value.as_f64() != 0.0
        } else {
            value.as_i64() != 0
        }
    }
}

impl Elem for f32 {
    const FLOAT: bool = true;
    const MIN_VAL: Self = f32::NEG_INFINITY;
    const MAX_VAL: Self = f32::INFINITY;
    #[inline(always)]
    fn as_f64(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn as_i64(self) -> i64 {
        self as i64
    }
    #[inline(always)]
    fn is_nan(self) -> bool {
        self.is_nan()
    }
    #[inline(always)]
    fn as_f32_cast(self) -> f32 {
        self
    }
    #[inline(always)]
    fn as_f16_cast(self) -> f16 {
        f16::from_f32(self)
    }
    #[inline(always)]
    fn cast_from<S: Elem>(value: S) -> Self {
        value.as_f32_cast()
    }
}

impl Elem for f64 {
    const FLOAT: bool = true;
    const MIN_VAL: Self = f64::NEG_INFINITY;
    const MAX_VAL: Self = f64::INFINITY;
    #[inline(always)]
    fn as_f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn as_i64(self) -> i64 {
        self as i64
    }
    #[inline(always)]
    fn is_nan(self) -> bool {
        self.is_nan()
    }
    #[inline(always)]
    fn cast_from<S: Elem>(value: S) -> Self {
        value.as_f64()
    }
}

impl Elem for f16 {
    const FLOAT: bool = true;
    const MIN_VAL: Self = f16::NEG_INFINITY;
    const MAX_VAL: Self = f16::INFINITY;
    #[inline(always)]
    fn as_f64(self) -> f64 {
        self.to_f64()
    }
    #[inline(always)]
    fn as_i64(self) -> i64 {
        self.to_f64() as i64
    }
    #[inline(always)]
    fn is_nan(self) -> bool {
        self.is_nan()
    }
    #[inline(always)]
    fn as_f32_cast(self) -> f32 {
        self.to_f32()
    }
    #[inline(always)]
    fn as_f16_cast(self) -> f16 {
        self
    }
    #[inline(always)]
    fn cast_from<S: Elem>(value: S) -> Self {
        value.as_f16_cast()
    }
}

/// `out[i] = f(x[i])`: the shape of every unary loop, written so the compiler drops bounds
/// checks and vectorizes the body.
#[inline(always)]
pub(crate) fn map1<T: Copy, U>(x: &[T], out: &mut [U], f: impl Fn(T) -> U) {
    for (o, &v) in out.iter_mut().zip(x) {
        *o = f(v);
    }
}

/// `out[i] = f(a[i], b[i])`.
#[inline(always)]
pub(crate) fn map2<T: Copy, U>(a: &[T], b: &[T], out: &mut [U], f: impl Fn(T, T) -> U) {
    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
        *o = f(x, y);
    }
}

/// Converts a slice with `astype` semantics (equal lengths expected).
pub(crate) fn cast_slice<S: Elem, D: Elem>(src: &[S], dst: &mut [D]) {
    map1(src, dst, D::cast_from::<S>);
}

/// Converts a whole column into a new column of `dtype`.
pub(crate) fn cast_col(src: ColRef<'_>, dst: ColMut<'_>) -> Result<()> {
    tilework_core::with_dtype!(src.dtype(), S => {
        let s = S::col_ref(src).expect("dtype matched");
        tilework_core::with_dtype!(dst.dtype(), D => {
            let d = D::col_mut(dst).expect("dtype matched");
            if s.len() != d.len() {
                return Err(Error::Device(format!("cast: {} values into {}", s.len(), d.len())));
            }
            cast_slice(s, d);
        })
    });
    Ok(())
}

/// The array converted to `dtype` with `astype` semantics (a cheap clone when it already is).
pub(crate) fn cast_host(host: &HostArray, dtype: DType) -> Result<HostArray> {
    if host.dtype() == dtype {
        return Ok(host.clone());
    }
    let host = standard(host);
    tilework_core::with_dtype!(dtype, D => {
        let mut out = vec![D::default(); host.len()];
        cast_col(col_of(&host)?, D::wrap_mut(&mut out))?;
        to_host(out, &host.shape())
    })
}

/// The array in standard (C-contiguous) layout; a cheap clone when it already is.
pub(crate) fn standard(host: &HostArray) -> HostArray {
    with_host_array!(host, a, T => {
        if a.is_standard_layout() {
            host.clone()
        } else {
            T::wrap(a.as_standard_layout().into_owned().into_shared())
        }
    })
}

/// The elements of a standard-layout array as a column.
pub(crate) fn col_of(host: &HostArray) -> Result<ColRef<'_>> {
    let col = with_host_array!(host, a, T => a.as_slice().map(T::wrap_ref));
    col.ok_or_else(|| Error::Device("cpu: array is not in standard layout".into()))
}

/// The elements of a standard-layout array of type `T`.
pub(crate) fn slice_of<T: Elem>(host: &HostArray) -> Result<&[T]> {
    let col = col_of(host)?;
    T::col_ref(col).ok_or(Error::DTypeMismatch {
        expected: T::DTYPE,
        actual: host.dtype(),
    })
}

/// Wraps a flat C-order vector as a host array of `shape`.
pub(crate) fn to_host<T: Elem>(data: Vec<T>, shape: &[usize]) -> Result<HostArray> {
    HostArray::from_vec(data, shape)
}

/// The error for an operation a dtype does not support.
pub(crate) fn unsupported(op: &'static str, dtype: DType) -> Error {
    Error::DTypeUnsupported {
        op,
        dtype,
        device: Some("cpu".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tilework_core::{Element, Scalar};

    fn samples() -> Vec<Scalar> {
        vec![
            Scalar::Bool(true),
            Scalar::U8(200),
            Scalar::I32(-7),
            Scalar::I64(-(1 << 40) - 3),
            Scalar::U32(4_000_000_000),
            Scalar::F16(f16::from_f32(-2.75)),
            Scalar::F32(-1.5e10),
            Scalar::F32(f32::NAN),
            Scalar::F64(3.7),
            Scalar::F64(-0.0),
            Scalar::F64(f64::INFINITY),
            Scalar::I64(i64::MAX),
        ]
    }

    #[test]
    fn casts_match_scalar_cast() {
        for s in samples() {
            for to in DType::ALL {
                let expected = s.cast(to);
                let got = tilework_core::with_dtype!(s.dtype(), S => {
                    let v: S = S::from_scalar(s);
                    tilework_core::with_dtype!(to, D => D::cast_from(v).into_scalar())
                });
                let same = match (got, expected) {
                    (Scalar::F16(a), Scalar::F16(b)) => a.to_bits() == b.to_bits(),
                    (Scalar::F32(a), Scalar::F32(b)) => a.to_bits() == b.to_bits(),
                    (Scalar::F64(a), Scalar::F64(b)) => a.to_bits() == b.to_bits(),
                    (a, b) => a == b,
                };
                assert!(same, "{s:?} -> {to}: {got:?} vs {expected:?}");
            }
        }
    }

    #[test]
    fn non_standard_arrays_are_copied() {
        let a = ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&[2, 3]), vec![1i32, 2, 3, 4, 5, 6])
            .unwrap();
        let t = HostArray::from_array(a.reversed_axes());
        assert!(col_of(&t).is_err());
        let s = standard(&t);
        assert_eq!(slice_of::<i32>(&s).unwrap(), &[1, 4, 2, 5, 3, 6]);
        assert!(slice_of::<f32>(&s).is_err());
    }
}
