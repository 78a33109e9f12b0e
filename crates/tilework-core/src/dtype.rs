//! Runtime element types, NumPy's promotion rules and scalar values.
//!
//! # Promotion table (binary ops on two arrays)
//!
//! The result dtype of a mixed binary op is NumPy's `np.result_type(a, b)`, restricted to the dtypes
//! tilework has:
//!
//! |      | bool | u8  | i32 | i64 | u32 | f16 | f32 | f64 |
//! |------|------|-----|-----|-----|-----|-----|-----|-----|
//! | bool | bool | u8  | i32 | i64 | u32 | f16 | f32 | f64 |
//! | u8   | u8   | u8  | i32 | i64 | u32 | f16 | f32 | f64 |
//! | i32  | i32  | i32 | i32 | i64 | i64 | f64 | f64 | f64 |
//! | i64  | i64  | i64 | i64 | i64 | i64 | f64 | f64 | f64 |
//! | u32  | u32  | u32 | i64 | i64 | u32 | f64 | f64 | f64 |
//! | f16  | f16  | f16 | f64 | f64 | f64 | f16 | f32 | f64 |
//! | f32  | f32  | f32 | f64 | f64 | f64 | f32 | f32 | f64 |
//! | f64  | f64  | f64 | f64 | f64 | f64 | f64 | f64 | f64 |
//!
//! Scalars are "weak" (NEP 50): `array_f32 * 2.0` stays f32 and `array_i32 + 1` stays i32; a float
//! scalar with an integer or bool array gives f64, an integer scalar with a bool array gives i64.
//! True division and float math (`sqrt`, `exp`, ...) of integers promote like NumPy: bool and u8 go
//! to f16, i32, i64 and u32 to f64.

use half::f16;
use std::fmt;

/// The element type of an array, carried at runtime.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DType {
    /// Boolean.
    Bool,
    /// Unsigned 8-bit integer.
    U8,
    /// Signed 32-bit integer.
    I32,
    /// Signed 64-bit integer.
    I64,
    /// Unsigned 32-bit integer.
    U32,
    /// IEEE half precision float (`half::f16`).
    F16,
    /// Single precision float.
    F32,
    /// Double precision float.
    F64,
}

impl DType {
    /// Every dtype, in table order.
    pub const ALL: [DType; 8] = [
        DType::Bool,
        DType::U8,
        DType::I32,
        DType::I64,
        DType::U32,
        DType::F16,
        DType::F32,
        DType::F64,
    ];

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            DType::Bool | DType::U8 => 1,
            DType::F16 => 2,
            DType::I32 | DType::U32 | DType::F32 => 4,
            DType::I64 | DType::F64 => 8,
        }
    }

    /// NumPy's name for the dtype.
    pub fn name(self) -> &'static str {
        match self {
            DType::Bool => "bool",
            DType::U8 => "uint8",
            DType::I32 => "int32",
            DType::I64 => "int64",
            DType::U32 => "uint32",
            DType::F16 => "float16",
            DType::F32 => "float32",
            DType::F64 => "float64",
        }
    }

    /// True for f16, f32 and f64.
    pub fn is_float(self) -> bool {
        matches!(self, DType::F16 | DType::F32 | DType::F64)
    }

    /// True for the integer dtypes (not bool).
    pub fn is_integer(self) -> bool {
        matches!(self, DType::U8 | DType::I32 | DType::I64 | DType::U32)
    }

    fn table_index(self) -> usize {
        self as usize
    }

    /// NumPy's `result_type` for two arrays (see the module table).
    pub fn promote(a: DType, b: DType) -> DType {
        use DType::*;
        const T: [[DType; 8]; 8] = [
            [Bool, U8, I32, I64, U32, F16, F32, F64],
            [U8, U8, I32, I64, U32, F16, F32, F64],
            [I32, I32, I32, I64, I64, F64, F64, F64],
            [I64, I64, I64, I64, I64, F64, F64, F64],
            [U32, U32, I64, I64, U32, F64, F64, F64],
            [F16, F16, F64, F64, F64, F16, F32, F64],
            [F32, F32, F64, F64, F64, F32, F32, F64],
            [F64, F64, F64, F64, F64, F64, F64, F64],
        ];
        T[a.table_index()][b.table_index()]
    }

    /// Result of combining an array of this dtype with a weak (Python-style) scalar.
    pub fn promote_weak(self, scalar: &Scalar) -> DType {
        match scalar {
            Scalar::F16(_) | Scalar::F32(_) | Scalar::F64(_) if !self.is_float() => DType::F64,
            Scalar::U8(_) | Scalar::I32(_) | Scalar::I64(_) | Scalar::U32(_)
                if self == DType::Bool =>
            {
                DType::I64
            }
            _ => self,
        }
    }

    /// The float dtype NumPy computes float math (`sqrt`, true division, `mean`) in for this dtype.
    pub fn float_promoted(self) -> DType {
        match self {
            DType::Bool | DType::U8 => DType::F16,
            DType::I32 | DType::I64 | DType::U32 => DType::F64,
            float => float,
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One value of any dtype.
#[derive(Copy, Clone, Debug, PartialEq)]
#[allow(missing_docs)]
pub enum Scalar {
    Bool(bool),
    U8(u8),
    I32(i32),
    I64(i64),
    U32(u32),
    F16(f16),
    F32(f32),
    F64(f64),
}

impl Scalar {
    /// The dtype of the value.
    pub fn dtype(&self) -> DType {
        match self {
            Scalar::Bool(_) => DType::Bool,
            Scalar::U8(_) => DType::U8,
            Scalar::I32(_) => DType::I32,
            Scalar::I64(_) => DType::I64,
            Scalar::U32(_) => DType::U32,
            Scalar::F16(_) => DType::F16,
            Scalar::F32(_) => DType::F32,
            Scalar::F64(_) => DType::F64,
        }
    }

    /// The value as f64 (bool as 0/1).
    pub fn to_f64(&self) -> f64 {
        match *self {
            Scalar::Bool(v) => v as u8 as f64,
            Scalar::U8(v) => v as f64,
            Scalar::I32(v) => v as f64,
            Scalar::I64(v) => v as f64,
            Scalar::U32(v) => v as f64,
            Scalar::F16(v) => v.to_f64(),
            Scalar::F32(v) => v as f64,
            Scalar::F64(v) => v,
        }
    }

    /// The value as i64 (floats truncate toward zero, as NumPy's `astype`).
    pub fn to_i64(&self) -> i64 {
        match *self {
            Scalar::Bool(v) => v as i64,
            Scalar::U8(v) => v as i64,
            Scalar::I32(v) => v as i64,
            Scalar::I64(v) => v,
            Scalar::U32(v) => v as i64,
            other => other.to_f64() as i64,
        }
    }

    /// Converts to another dtype with NumPy `astype` semantics (wrapping integers, truncating floats).
    pub fn cast(&self, to: DType) -> Scalar {
        let is_int_src = !self.dtype().is_float();
        match to {
            DType::Bool => Scalar::Bool(self.to_f64() != 0.0 || (is_int_src && self.to_i64() != 0)),
            DType::U8 => Scalar::U8(if is_int_src {
                self.to_i64() as u8
            } else {
                self.to_f64() as i64 as u8
            }),
            DType::I32 => Scalar::I32(if is_int_src {
                self.to_i64() as i32
            } else {
                self.to_f64() as i64 as i32
            }),
            DType::I64 => Scalar::I64(self.to_i64()),
            DType::U32 => Scalar::U32(if is_int_src {
                self.to_i64() as u32
            } else {
                self.to_f64() as i64 as u32
            }),
            DType::F16 => Scalar::F16(match *self {
                Scalar::F32(v) => f16::from_f32(v),
                other => f16::from_f64(other.to_f64()),
            }),
            DType::F32 => Scalar::F32(match *self {
                Scalar::I64(v) => v as f32,
                other => other.to_f64() as f32,
            }),
            DType::F64 => Scalar::F64(self.to_f64()),
        }
    }

    /// Zero of a dtype.
    pub fn zero(dtype: DType) -> Scalar {
        Scalar::I64(0).cast(dtype)
    }

    /// One of a dtype.
    pub fn one(dtype: DType) -> Scalar {
        Scalar::I64(1).cast(dtype)
    }
}

macro_rules! scalar_from {
    ($($t:ty => $v:ident),*) => {$(
        impl From<$t> for Scalar {
            fn from(value: $t) -> Self { Scalar::$v(value) }
        }
    )*};
}
scalar_from!(bool => Bool, u8 => U8, i32 => I32, i64 => I64, u32 => U32, f16 => F16, f32 => F32, f64 => F64);

/// A Rust type that is the element type of one [`DType`].
pub trait Element: Copy + Send + Sync + PartialOrd + fmt::Debug + Default + 'static {
    /// The dtype this type stands for.
    const DTYPE: DType;
    /// Wraps the value as a [`Scalar`].
    fn into_scalar(self) -> Scalar;
    /// Extracts the value from a scalar, casting with `astype` semantics.
    fn from_scalar(scalar: Scalar) -> Self;
}

macro_rules! element {
    ($($t:ty => $v:ident),*) => {$(
        impl Element for $t {
            const DTYPE: DType = DType::$v;
            fn into_scalar(self) -> Scalar { Scalar::$v(self) }
            fn from_scalar(scalar: Scalar) -> Self {
                match scalar.cast(DType::$v) {
                    Scalar::$v(v) => v,
                    _ => unreachable!("cast returns the requested dtype"),
                }
            }
        }
    )*};
}
element!(bool => Bool, u8 => U8, i32 => I32, i64 => I64, u32 => U32, f16 => F16, f32 => F32, f64 => F64);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn promotion_is_symmetric_and_matches_spot_checks() {
        for a in DType::ALL {
            for b in DType::ALL {
                assert_eq!(DType::promote(a, b), DType::promote(b, a), "{a} {b}");
            }
        }
        assert_eq!(DType::promote(DType::U32, DType::I32), DType::I64);
        assert_eq!(DType::promote(DType::U8, DType::F16), DType::F16);
        assert_eq!(DType::promote(DType::I32, DType::F32), DType::F64);
    }

    #[test]
    fn weak_scalars() {
        assert_eq!(DType::F32.promote_weak(&Scalar::F64(2.0)), DType::F32);
        assert_eq!(DType::I32.promote_weak(&Scalar::F64(2.0)), DType::F64);
        assert_eq!(DType::Bool.promote_weak(&Scalar::I64(1)), DType::I64);
        assert_eq!(DType::U8.promote_weak(&Scalar::I64(1)), DType::U8);
    }

    #[test]
    fn casts_follow_astype() {
        assert_eq!(Scalar::F64(-1.7).cast(DType::I32), Scalar::I32(-1));
        assert_eq!(Scalar::I64(300).cast(DType::U8), Scalar::U8(44));
        assert_eq!(Scalar::F32(0.5).cast(DType::Bool), Scalar::Bool(true));
    }
}
