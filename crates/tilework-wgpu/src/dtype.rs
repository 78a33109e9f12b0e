//! How each [`DType`] lives on the device and how kernels compute with it.
//!
//! WGSL storage buffers hold 32-bit words (or `f16`/`f64` with their features), so:
//!
//! | dtype | storage element | compute type | device bytes |
//! |-------|-----------------|--------------|--------------|
//! | bool  | `u32` (0 or 1)  | `bool`       | 4 |
//! | u8    | `u32` (0..=255) | `u32`, masked to 8 bits after every op | 4 |
//! | i32   | `i32`           | `i32`        | 4 |
//! | u32   | `u32`           | `u32`        | 4 |
//! | f16   | `f16` with SHADER_F16, else its bits in a `u32` | `f32`, rounded to f16 after every op | 2 or 4 |
//! | f32   | `f32`           | `f32`        | 4 |
//! | f64   | `f64` (needs SHADER_F64) | `f64` | 8 |
//! | i64   | not on the GPU  |              |   |
//!
//! f16 computes in f32 and rounds back at every node, exactly as the CPU backend does.

use crate::device::Features;
use half::f16;
use tilework_core::{DType, Error, HostArray, Result, Scalar};

/// The device representation of one dtype (see the module table).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Repr {
    /// The dtype.
    pub(crate) dtype: DType,
    /// True when f16 is stored natively.
    pub(crate) f16_native: bool,
}

impl Repr {
    /// The representation of `dtype`, or `DTypeUnsupported` naming `op`.
    pub(crate) fn of(dtype: DType, features: &Features, op: &'static str) -> Result<Repr> {
        let ok = match dtype {
            DType::I64 => false,
            DType::F64 => features.f64,
            _ => true,
        };
        if ok {
            Ok(Repr {
                dtype,
                f16_native: features.f16_native,
            })
        } else {
            Err(unsupported(op, dtype, &features.name))
        }
    }

    /// WGSL type of one storage element.
    pub(crate) fn storage(self) -> &'static str {
        match self.dtype {
            DType::Bool | DType::U8 | DType::U32 => "u32",
            DType::I32 => "i32",
            DType::F16 if self.f16_native => "f16",
            DType::F16 => "u32",
            DType::F32 => "f32",
            DType::F64 | DType::I64 => "f64",
        }
    }

    /// WGSL type copy kernels move elements as: raw words, so that no value is canonicalized
    /// on the way (NaN payloads, subnormals), except native f16 which has no word of its own.
    pub(crate) fn copy_elem(self) -> &'static str {
        match self.bytes() {
            2 => "f16",
            8 => "vec2<u32>",
            _ => "u32",
        }
    }

    /// Device bytes per element.
    pub(crate) fn bytes(self) -> u64 {
        match self.dtype {
            DType::F16 if self.f16_native => 2,
            DType::F64 | DType::I64 => 8,
            _ => 4,
        }
    }

    /// Device bytes of `n` elements, rounded up to whole 32-bit words.
    pub(crate) fn buffer_bytes(self, n: u64) -> u64 {
        n.saturating_mul(self.bytes()).next_multiple_of(4)
    }

    /// WGSL expression turning the storage element `x` into the compute type.
    pub(crate) fn load(self, x: &str) -> String {
        match self.dtype {
            DType::Bool => format!("({x} != 0u)"),
            DType::F16 if self.f16_native => format!("f32({x})"),
            DType::F16 => format!("tw_f16_to_f32({x})"),
            _ => x.to_string(),
        }
    }

    /// WGSL expression turning the compute value `v` into a storage element. `v` is already
    /// rounded/masked to the dtype (the codegen guarantees that for every node).
    pub(crate) fn store(self, v: &str) -> String {
        match self.dtype {
            DType::Bool => format!("select(0u, 1u, {v})"),
            DType::F16 if self.f16_native => format!("f16({v})"),
            DType::F16 => format!("tw_f32_to_f16({v})"),
            _ => v.to_string(),
        }
    }

    /// The storage words (little-endian u32) of one element of value `s` (already of this dtype).
    pub(crate) fn words(self, s: Scalar) -> Vec<u32> {
        let v = s.cast(self.dtype);
        match v {
            Scalar::Bool(b) => vec![u32::from(b)],
            Scalar::U8(x) => vec![u32::from(x)],
            Scalar::I32(x) => vec![x as u32],
            Scalar::U32(x) => vec![x],
            Scalar::F16(x) if self.f16_native => {
                let bits = u32::from(x.to_bits());
                vec![bits | bits << 16]
            }
            Scalar::F16(x) => vec![u32::from(x.to_bits())],
            Scalar::F32(x) => vec![x.to_bits()],
            Scalar::F64(x) => {
                let bits = x.to_bits();
                vec![bits as u32, (bits >> 32) as u32]
            }
            Scalar::I64(x) => vec![x as u32, (x >> 32) as u32],
        }
    }

    /// The device bytes of a host array (C order), padded to whole words.
    pub(crate) fn encode(self, host: &HostArray) -> Vec<u8> {
        fn words<T: Copy>(
            a: &ndarray::ArcArray<T, ndarray::IxDyn>,
            f: impl Fn(T) -> u32,
        ) -> Vec<u8> {
            a.iter().flat_map(|&v| f(v).to_le_bytes()).collect()
        }
        if let Some(bytes) = self.encode_in_place(host) {
            return bytes;
        }
        let mut bytes: Vec<u8> = match host {
            HostArray::Bool(a) => words(a, u32::from),
            HostArray::U8(a) => words(a, u32::from),
            HostArray::I32(a) => words(a, |v| v as u32),
            HostArray::U32(a) => words(a, |v| v),
            HostArray::F16(a) if self.f16_native => {
                a.iter().flat_map(|v| v.to_bits().to_le_bytes()).collect()
            }
            HostArray::F16(a) => words(a, |v| u32::from(v.to_bits())),
            HostArray::F32(a) => words(a, f32::to_bits),
            HostArray::F64(a) => a.iter().flat_map(|v| v.to_le_bytes()).collect(),
            HostArray::I64(a) => a.iter().flat_map(|v| v.to_le_bytes()).collect(),
        };
        bytes.resize(bytes.len().next_multiple_of(4), 0);
        bytes
    }

    /// The bytes of a standard-layout array whose host and device layouts agree (one copy
    /// instead of a per-element conversion); `None` otherwise.
    fn encode_in_place(self, host: &HostArray) -> Option<Vec<u8>> {
        fn raw<T: bytemuck::Pod>(a: &ndarray::ArcArray<T, ndarray::IxDyn>) -> Option<Vec<u8>> {
            if !LITTLE {
                return None;
            }
            let mut bytes = bytemuck::cast_slice::<T, u8>(a.as_slice()?).to_vec();
            bytes.resize(bytes.len().next_multiple_of(4), 0);
            Some(bytes)
        }
        match host {
            HostArray::I32(a) => raw(a),
            HostArray::U32(a) => raw(a),
            HostArray::F32(a) => raw(a),
            HostArray::F64(a) => raw(a),
            HostArray::F16(a) if self.f16_native => raw(a),
            _ => None,
        }
    }

    /// A host array of `shape` from device bytes (at least `n * bytes()` of them).
    pub(crate) fn decode(self, bytes: &[u8], shape: &[usize]) -> Result<HostArray> {
        let n: usize = shape.iter().product();
        let need = n * self.bytes() as usize;
        let bytes = bytes.get(..need).ok_or_else(|| {
            Error::Device(format!(
                "wgpu: download of {} bytes is short of {need}",
                bytes.len()
            ))
        })?;
        let u32s = || {
            bytes
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        };
        match self.dtype {
            DType::Bool => HostArray::from_vec(u32s().map(|w| w != 0).collect(), shape),
            DType::U8 => HostArray::from_vec(u32s().map(|w| w as u8).collect(), shape),
            // One copy where the host is little-endian like the device.
            DType::I32 if LITTLE => {
                HostArray::from_vec(bytemuck::pod_collect_to_vec::<u8, i32>(bytes), shape)
            }
            DType::U32 if LITTLE => {
                HostArray::from_vec(bytemuck::pod_collect_to_vec::<u8, u32>(bytes), shape)
            }
            DType::F32 if LITTLE => {
                HostArray::from_vec(bytemuck::pod_collect_to_vec::<u8, f32>(bytes), shape)
            }
            DType::I32 => HostArray::from_vec(u32s().map(|w| w as i32).collect(), shape),
            DType::U32 => HostArray::from_vec(u32s().collect(), shape),
            DType::F16 if self.f16_native => HostArray::from_vec(
                bytes
                    .chunks_exact(2)
                    .map(|c| f16::from_bits(u16::from_le_bytes([c[0], c[1]])))
                    .collect(),
                shape,
            ),
            DType::F16 => {
                HostArray::from_vec(u32s().map(|w| f16::from_bits(w as u16)).collect(), shape)
            }
            DType::F32 => HostArray::from_vec(u32s().map(f32::from_bits).collect(), shape),
            DType::F64 => HostArray::from_vec(
                bytes
                    .chunks_exact(8)
                    .map(|c| f64::from_le_bytes(c.try_into().expect("chunks of 8")))
                    .collect(),
                shape,
            ),
            DType::I64 => HostArray::from_vec(
                bytes
                    .chunks_exact(8)
                    .map(|c| i64::from_le_bytes(c.try_into().expect("chunks of 8")))
                    .collect(),
                shape,
            ),
        }
    }
}

/// Device buffers are little-endian; on a little-endian host bytes copy as they are.
const LITTLE: bool = cfg!(target_endian = "little");

/// WGSL type values of `dtype` are computed in.
pub(crate) fn compute_type(dtype: DType) -> &'static str {
    match dtype {
        DType::Bool => "bool",
        DType::U8 | DType::U32 => "u32",
        DType::I32 => "i32",
        DType::F16 | DType::F32 => "f32",
        DType::F64 | DType::I64 => "f64",
    }
}

/// The error the scheduler reads as "run this on the CPU instead".
pub(crate) fn unsupported(op: &'static str, dtype: DType, device: &str) -> Error {
    Error::DTypeUnsupported {
        op,
        dtype,
        device: Some(format!("gpu {device}")),
    }
}

/// Dtypes a device supports (see the module table).
pub(crate) fn supported(f64: bool) -> Vec<DType> {
    DType::ALL
        .into_iter()
        .filter(|d| match d {
            DType::I64 => false,
            DType::F64 => f64,
            _ => true,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tilework_core::with_host_array;

    fn repr(dtype: DType, f16_native: bool) -> Repr {
        Repr { dtype, f16_native }
    }

    #[test]
    fn encode_decode_round_trips_every_gpu_dtype() {
        let shape = [2usize, 3];
        let arrays = vec![
            HostArray::from_vec(vec![true, false, true, true, false, false], &shape).unwrap(),
            HostArray::from_vec(vec![0u8, 1, 127, 128, 254, 255], &shape).unwrap(),
            HostArray::from_vec(vec![i32::MIN, -1, 0, 1, 7, i32::MAX], &shape).unwrap(),
            HostArray::from_vec(vec![0u32, 1, 2, 3, u32::MAX - 1, u32::MAX], &shape).unwrap(),
            HostArray::from_vec(
                [0.0f32, -0.0, 1.5, -2.25, 65504.0, f32::NAN]
                    .map(f16::from_f32)
                    .to_vec(),
                &shape,
            )
            .unwrap(),
            HostArray::from_vec(
                vec![0.0f32, -0.0, 1.5, f32::MAX, f32::INFINITY, 1e-40],
                &shape,
            )
            .unwrap(),
            HostArray::from_vec(
                vec![0.0f64, -0.0, 1.5, f64::MAX, f64::NEG_INFINITY, 1e-310],
                &shape,
            )
            .unwrap(),
        ];
        for host in arrays {
            for native in [false, true] {
                let r = repr(host.dtype(), native);
                let bytes = r.encode(&host);
                assert_eq!(bytes.len() as u64, r.buffer_bytes(6));
                let back = r.decode(&bytes, &shape).unwrap();
                let same = with_host_array!(&host, a, T => {
                    let b = back.typed::<T>().unwrap();
                    a.iter().zip(b.iter()).all(|(x, y)| format!("{x:?}") == format!("{y:?}"))
                });
                assert!(same, "{host:?} vs {back:?}");
            }
        }
    }

    #[test]
    fn words_match_encode() {
        for (s, native) in [
            (Scalar::F16(f16::from_f32(1.5)), true),
            (Scalar::F16(f16::from_f32(-3.0)), false),
            (Scalar::F64(-2.5), false),
            (Scalar::Bool(true), false),
            (Scalar::U8(200), false),
        ] {
            let r = repr(s.dtype(), native);
            let host = HostArray::full(s.dtype(), &[1], s);
            let mut bytes = r.encode(&host);
            if r.bytes() == 2 {
                bytes.truncate(2);
                bytes.extend_from_slice(&bytes.clone());
            }
            let words: Vec<u8> = r.words(s).iter().flat_map(|w| w.to_le_bytes()).collect();
            assert_eq!(bytes, words, "{s:?}");
        }
    }

    #[test]
    fn decode_rejects_short_data() {
        assert!(repr(DType::F32, false).decode(&[0; 4], &[2]).is_err());
    }
}
