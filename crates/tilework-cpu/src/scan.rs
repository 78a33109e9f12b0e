//! Scans (cumsum, cumprod) in three kernels: a local scan of each chunk, the carry chain between
//! chunks along the axis, and applying a carry to a scanned chunk.
//!
//! Values accumulate in the scan's output dtype (i64 for integers and bool, the float dtype
//! otherwise), sequentially along the axis, as NumPy's `accumulate` does; f16 rounds each step.

use crate::num::{Elem, slice_of, standard, to_host, unsupported};
use half::f16;
use tilework_core::shape::numel;
use tilework_core::{DType, Error, HostArray, Result, ScanOp, Shape, with_dtype};

/// Element types a scan accumulates in.
trait ScanElem: Elem {
    fn combine(op: ScanOp, a: Self, b: Self) -> Self;
    fn identity(op: ScanOp) -> Self;
}

macro_rules! scan_float {
    ($($t:ty),*) => {$(
        impl ScanElem for $t {
            #[inline(always)]
            fn combine(op: ScanOp, a: Self, b: Self) -> Self {
                match op { ScanOp::CumSum => a + b, ScanOp::CumProd => a * b }
            }
            fn identity(op: ScanOp) -> Self {
                match op { ScanOp::CumSum => 0.0, ScanOp::CumProd => 1.0 }
            }
        }
    )*};
}
scan_float!(f32, f64);

impl ScanElem for i64 {
    #[inline(always)]
    fn combine(op: ScanOp, a: Self, b: Self) -> Self {
        match op {
            ScanOp::CumSum => a.wrapping_add(b),
            ScanOp::CumProd => a.wrapping_mul(b),
        }
    }
    fn identity(op: ScanOp) -> Self {
        match op {
            ScanOp::CumSum => 0,
            ScanOp::CumProd => 1,
        }
    }
}

impl ScanElem for f16 {
    #[inline(always)]
    fn combine(op: ScanOp, a: Self, b: Self) -> Self {
        f16::from_f32(f32::combine(op, a.to_f32(), b.to_f32()))
    }
    fn identity(op: ScanOp) -> Self {
        f16::from_f32(f32::identity(op))
    }
}

/// Runs `$body` with `$O` bound to the accumulation type of a scan output dtype.
macro_rules! with_scan_dtype {
    ($dtype:expr, $O:ident => $body:expr) => {
        match $dtype {
            DType::I64 => {
                type $O = i64;
                $body
            }
            DType::F16 => {
                type $O = f16;
                $body
            }
            DType::F32 => {
                type $O = f32;
                $body
            }
            DType::F64 => {
                type $O = f64;
                $body
            }
            other => Err(unsupported("scan", other)),
        }
    };
}

fn bad(detail: String) -> Error {
    Error::Device(format!("scan: {detail}"))
}

fn inputs_n(inputs: &[&HostArray], n: usize) -> Result<Vec<HostArray>> {
    if inputs.len() != n {
        return Err(bad(format!("expected {n} inputs, got {}", inputs.len())));
    }
    Ok(inputs.iter().map(|h| standard(h)).collect())
}

/// `(outer, len, inner)` of a shape around `axis`.
fn split(shape: &[usize], axis: usize) -> Result<(usize, usize, usize)> {
    if axis >= shape.len() {
        return Err(bad(format!("axis {axis} out of range for {shape:?}")));
    }
    Ok((
        numel(&shape[..axis]),
        shape[axis],
        numel(&shape[axis + 1..]),
    ))
}

/// `ScanLocal`: the chunk scanned along `axis`, and its last slice along `axis`.
pub(crate) fn local(op: ScanOp, axis: usize, inputs: &[&HostArray]) -> Result<Vec<HostArray>> {
    let input = inputs_n(inputs, 1)?.remove(0);
    let shape = input.shape();
    let (outer, len, inner) = split(&shape, axis)?;
    let mut last_shape = shape.clone();
    last_shape[axis] = 1;
    with_scan_dtype!(op.out_dtype(input.dtype()), O => {
        let mut data = vec![O::identity(op); numel(&shape)];
        with_dtype!(input.dtype(), S => crate::num::cast_slice(slice_of::<S>(&input)?, &mut data));
        let mut last = vec![O::identity(op); outer * inner];
        if inner > 0 {
            for (o, block) in data.chunks_mut((len * inner).max(1)).enumerate().take(outer) {
                for i in 1..len {
                    let (prev, cur) = block.split_at_mut(i * inner);
                    let prev = &prev[(i - 1) * inner..];
                    for (c, &p) in cur[..inner].iter_mut().zip(prev) {
                        *c = O::combine(op, p, *c);
                    }
                }
                if len > 0 {
                    last[o * inner..(o + 1) * inner].copy_from_slice(&block[(len - 1) * inner..]);
                }
            }
        }
        Ok(vec![to_host(data, &shape)?, to_host(last, &last_shape)?])
    })
}

/// `ScanCarry`: `carry (op) last`, elementwise over equal shapes.
pub(crate) fn carry(op: ScanOp, inputs: &[&HostArray]) -> Result<HostArray> {
    let inputs = inputs_n(inputs, 2)?;
    let (carry, last) = (&inputs[0], &inputs[1]);
    if carry.shape() != last.shape() || carry.dtype() != last.dtype() {
        return Err(bad(format!(
            "carry {} {:?} and last {} {:?} differ",
            carry.dtype(),
            carry.shape().as_slice(),
            last.dtype(),
            last.shape().as_slice()
        )));
    }
    with_scan_dtype!(carry.dtype(), O => {
        let (c, l) = (slice_of::<O>(carry)?, slice_of::<O>(last)?);
        let out: Vec<O> = c.iter().zip(l).map(|(&a, &b)| O::combine(op, a, b)).collect();
        to_host(out, &carry.shape())
    })
}

/// `ScanApply`: `scanned (op) carry`, the carry (length 1 on `axis`) broadcast along `axis`.
pub(crate) fn apply(op: ScanOp, axis: usize, inputs: &[&HostArray]) -> Result<HostArray> {
    let inputs = inputs_n(inputs, 2)?;
    let (scanned, carry) = (&inputs[0], &inputs[1]);
    let shape = scanned.shape();
    let (outer, len, inner) = split(&shape, axis)?;
    let mut carry_shape: Shape = shape.clone();
    carry_shape[axis] = 1;
    if carry.shape() != carry_shape || carry.dtype() != scanned.dtype() {
        return Err(bad(format!(
            "carry {} {:?} does not fit scanned {} {:?} on axis {axis}",
            carry.dtype(),
            carry.shape().as_slice(),
            scanned.dtype(),
            shape.as_slice()
        )));
    }
    with_scan_dtype!(scanned.dtype(), O => {
        let mut out = slice_of::<O>(scanned)?.to_vec();
        let c = slice_of::<O>(carry)?;
        if inner > 0 && len > 0 {
            for (o, block) in out.chunks_mut(len * inner).enumerate().take(outer) {
                let crow = &c[o * inner..(o + 1) * inner];
                for row in block.chunks_mut(inner) {
                    for (x, &k) in row.iter_mut().zip(crow) {
                        *x = O::combine(op, *x, k);
                    }
                }
            }
        }
        to_host(out, &shape)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arr<T: Elem>(v: Vec<T>, shape: &[usize]) -> HostArray {
        HostArray::from_vec(v, shape).unwrap()
    }

    #[test]
    fn local_cumsum_along_each_axis() {
        let x = arr(vec![1i32, 2, 3, 4, 5, 6], &[2, 3]);
        let r = local(ScanOp::CumSum, 1, &[&x]).unwrap();
        assert_eq!(r[0].dtype(), DType::I64);
        assert_eq!(slice_of::<i64>(&r[0]).unwrap(), &[1, 3, 6, 4, 9, 15]);
        assert_eq!(r[1].shape().as_slice(), &[2, 1]);
        assert_eq!(slice_of::<i64>(&r[1]).unwrap(), &[6, 15]);
        let r = local(ScanOp::CumProd, 0, &[&x]).unwrap();
        assert_eq!(slice_of::<i64>(&r[0]).unwrap(), &[1, 2, 3, 4, 10, 18]);
        assert_eq!(slice_of::<i64>(&r[1]).unwrap(), &[4, 10, 18]);
    }

    #[test]
    fn chunked_scan_equals_whole_scan() {
        // cumsum of 0..10 f32 in chunks [0, 4) and [4, 10).
        let all: Vec<f32> = (0..10).map(|i| i as f32 * 0.5).collect();
        let whole = local(ScanOp::CumSum, 0, &[&arr(all.clone(), &[10])]).unwrap();
        let a = local(ScanOp::CumSum, 0, &[&arr(all[..4].to_vec(), &[4])]).unwrap();
        let b = local(ScanOp::CumSum, 0, &[&arr(all[4..].to_vec(), &[6])]).unwrap();
        let zero = arr(vec![0f32], &[1]);
        let c1 = carry(ScanOp::CumSum, &[&zero, &a[1]]).unwrap();
        let b2 = apply(ScanOp::CumSum, 0, &[&b[0], &c1]).unwrap();
        let mut joined = slice_of::<f32>(&a[0]).unwrap().to_vec();
        joined.extend_from_slice(slice_of::<f32>(&b2).unwrap());
        assert_eq!(joined.as_slice(), slice_of::<f32>(&whole[0]).unwrap());
    }

    #[test]
    fn f16_and_bool_scans() {
        let h = arr(vec![f16::from_f32(1.5); 3], &[3]);
        let r = local(ScanOp::CumSum, 0, &[&h]).unwrap();
        let got: Vec<f32> = slice_of::<f16>(&r[0])
            .unwrap()
            .iter()
            .map(|v| v.to_f32())
            .collect();
        assert_eq!(got, vec![1.5, 3.0, 4.5]);
        let b = arr(vec![true, false, true], &[3]);
        let r = local(ScanOp::CumSum, 0, &[&b]).unwrap();
        assert_eq!(slice_of::<i64>(&r[0]).unwrap(), &[1, 1, 2]);
    }

    #[test]
    fn apply_broadcasts_carry_and_checks_shapes() {
        let s = arr(vec![1.0f64, 2.0, 3.0, 4.0], &[2, 2]);
        let c = arr(vec![10.0f64, 20.0], &[1, 2]);
        let out = apply(ScanOp::CumSum, 0, &[&s, &c]).unwrap();
        assert_eq!(slice_of::<f64>(&out).unwrap(), &[11.0, 22.0, 13.0, 24.0]);
        assert!(apply(ScanOp::CumSum, 1, &[&s, &c]).is_err());
        assert!(local(ScanOp::CumSum, 2, &[&s]).is_err());
        assert!(carry(ScanOp::CumSum, &[&s, &c]).is_err());
    }

    #[test]
    fn empty_axis_gives_identity_last() {
        let x = arr(Vec::<f32>::new(), &[2, 0]);
        let r = local(ScanOp::CumProd, 1, &[&x]).unwrap();
        assert_eq!(slice_of::<f32>(&r[1]).unwrap(), &[1.0, 1.0]);
    }
}
