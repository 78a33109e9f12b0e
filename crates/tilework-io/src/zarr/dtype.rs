//! The mapping between tilework's [`DType`]/[`Scalar`] and `zarrs`' data types and fill values.

use crate::io_error;
use half::f16;
use tilework_core::{DType, Result, Scalar};
use zarrs::array::data_type::{
    BoolDataType, Float16DataType, Float32DataType, Float64DataType, Int32DataType, Int64DataType,
    UInt8DataType, UInt32DataType,
};
use zarrs::array::{DataType, FillValue};
use zarrs::plugin::ExtensionName;

/// The dtypes tilework reads, as the error for any other dtype lists them.
pub(crate) const SUPPORTED_DTYPES: &str =
    "tilework reads bool, uint8, int32, int64, uint32, float16, float32, float64";

/// The tilework dtype of a Zarr data type.
///
/// # Errors
/// [`tilework_core::Error::Io`] naming the array when the data type has no tilework dtype.
pub(crate) fn dtype_of(data_type: &DataType, location: &str) -> Result<DType> {
    let dtype = if data_type.is::<BoolDataType>() {
        DType::Bool
    } else if data_type.is::<UInt8DataType>() {
        DType::U8
    } else if data_type.is::<Int32DataType>() {
        DType::I32
    } else if data_type.is::<Int64DataType>() {
        DType::I64
    } else if data_type.is::<UInt32DataType>() {
        DType::U32
    } else if data_type.is::<Float16DataType>() {
        DType::F16
    } else if data_type.is::<Float32DataType>() {
        DType::F32
    } else if data_type.is::<Float64DataType>() {
        DType::F64
    } else {
        let name = data_type
            .name_v3()
            .or_else(|| data_type.name_v2())
            .map_or_else(|| data_type.to_string(), |name| name.into_owned());
        return Err(io_error(
            location,
            format!("unsupported dtype '{name}' in {location} ({SUPPORTED_DTYPES})"),
        ));
    };
    Ok(dtype)
}

/// The Zarr data type written for a tilework dtype.
pub(crate) fn data_type_of(dtype: DType) -> DataType {
    use zarrs::array::data_type as zdt;
    match dtype {
        DType::Bool => zdt::bool(),
        DType::U8 => zdt::uint8(),
        DType::I32 => zdt::int32(),
        DType::I64 => zdt::int64(),
        DType::U32 => zdt::uint32(),
        DType::F16 => zdt::float16(),
        DType::F32 => zdt::float32(),
        DType::F64 => zdt::float64(),
    }
}

/// The fill value as a scalar of `dtype`.
///
/// # Errors
/// [`tilework_core::Error::Io`] when the fill value's size does not match the dtype (metadata
/// that `zarrs` accepted but that disagrees with itself).
pub(crate) fn scalar_of_fill_value(
    fill_value: &FillValue,
    dtype: DType,
    location: &str,
) -> Result<Scalar> {
    let bytes = fill_value.as_ne_bytes();
    let wrong_size = || {
        io_error(
            location,
            format!(
                "fill value has {} bytes, but a {dtype} element has {}",
                bytes.len(),
                dtype.size()
            ),
        )
    };
    macro_rules! decode {
        ($t:ty) => {
            <$t>::from_ne_bytes(bytes.try_into().map_err(|_| wrong_size())?)
        };
    }
    Ok(match dtype {
        DType::Bool => Scalar::Bool(decode!(u8) != 0),
        DType::U8 => Scalar::U8(decode!(u8)),
        DType::I32 => Scalar::I32(decode!(i32)),
        DType::I64 => Scalar::I64(decode!(i64)),
        DType::U32 => Scalar::U32(decode!(u32)),
        DType::F16 => Scalar::F16(f16::from_bits(decode!(u16))),
        DType::F32 => Scalar::F32(decode!(f32)),
        DType::F64 => Scalar::F64(decode!(f64)),
    })
}

/// The Zarr fill value for `value` cast to `dtype` (native-endian bytes, as `zarrs` keeps them).
pub(crate) fn fill_value_of(value: Scalar, dtype: DType) -> FillValue {
    let bytes = match value.cast(dtype) {
        Scalar::Bool(v) => vec![u8::from(v)],
        Scalar::U8(v) => vec![v],
        Scalar::I32(v) => v.to_ne_bytes().to_vec(),
        Scalar::I64(v) => v.to_ne_bytes().to_vec(),
        Scalar::U32(v) => v.to_ne_bytes().to_vec(),
        Scalar::F16(v) => v.to_bits().to_ne_bytes().to_vec(),
        Scalar::F32(v) => v.to_ne_bytes().to_vec(),
        Scalar::F64(v) => v.to_ne_bytes().to_vec(),
    };
    FillValue::new(bytes)
}
