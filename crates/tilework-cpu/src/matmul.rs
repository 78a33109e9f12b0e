//! `Matmul`: `out = sum_k a_k @ b_k` with NumPy batch broadcasting.
//!
//! f32 and f64 use the `gemm` crate (packed, cache-blocked, SIMD); f16 is widened to f32, summed
//! there and rounded once at the end; integers use a wrapping i-k-j loop whose inner loop runs
//! along contiguous output and `b` rows. Bool is not supported.
//!
//! Determinism: `gemm` splits work over output tiles only (the depth loop is sequential per
//! element, in fixed `kc` blocks chosen from cache sizes), so its result does not depend on the
//! thread count; a test checks this. Batches and integer row blocks are independent outputs.

use crate::elementwise::eval::broadcast_strides;
use crate::elementwise::ops::IntOps;
use crate::num::{Elem, cast_host, slice_of, standard, to_host, unsupported};
use gemm::Parallelism;
use rayon::prelude::*;
use tilework_core::shape::numel;
use tilework_core::{BufferSpec, DType, Error, HostArray, Result, Shape};

/// Matrices with at least this many multiply-adds let `gemm` use every thread.
const GEMM_PAR_MIN: usize = 1 << 21;
/// Outputs with at least this many multiply-adds run their batches in parallel.
const BATCH_PAR_MIN: usize = 1 << 16;

/// One `(a, b)` pair, validated against the output.
struct Pair<'a, T> {
    a: &'a [T],
    b: &'a [T],
    k: usize,
    /// Matrix index of `a` and `b` for each output batch index (broadcast).
    a_strides: Shape,
    b_strides: Shape,
}

/// Shapes of the product: output batch dims, `m`, `n`.
struct Dims {
    batch: Shape,
    m: usize,
    n: usize,
}

fn bad(detail: String) -> Error {
    Error::Device(format!("matmul: {detail}"))
}

/// Runs a `Matmul` kernel.
pub(crate) fn matmul(inputs: &[&HostArray], spec: &BufferSpec) -> Result<HostArray> {
    let rank = spec.shape.len();
    if rank < 2 || inputs.is_empty() || !inputs.len().is_multiple_of(2) {
        return Err(bad(format!(
            "{} inputs for an output of shape {:?}",
            inputs.len(),
            spec.shape.as_slice()
        )));
    }
    if let Some(h) = inputs.iter().find(|h| h.dtype() != spec.dtype) {
        return Err(bad(format!(
            "input of {} for a {} output",
            h.dtype(),
            spec.dtype
        )));
    }
    let dims = Dims {
        batch: Shape::from_slice(&spec.shape[..rank - 2]),
        m: spec.shape[rank - 2],
        n: spec.shape[rank - 1],
    };
    let inputs: Vec<HostArray> = inputs.iter().map(|h| standard(h)).collect();
    match spec.dtype {
        DType::F32 => run::<f32>(&inputs, &dims, &spec.shape, gemm_kernel::<f32>),
        DType::F64 => run::<f64>(&inputs, &dims, &spec.shape, gemm_kernel::<f64>),
        DType::F16 => {
            let wide = inputs
                .iter()
                .map(|h| cast_host(h, DType::F32))
                .collect::<Result<Vec<_>>>()?;
            let out = run::<f32>(&wide, &dims, &spec.shape, gemm_kernel::<f32>)?;
            cast_host(&out, DType::F16)
        }
        DType::U8 => run::<u8>(&inputs, &dims, &spec.shape, int_kernel::<u8>),
        DType::I32 => run::<i32>(&inputs, &dims, &spec.shape, int_kernel::<i32>),
        DType::I64 => run::<i64>(&inputs, &dims, &spec.shape, int_kernel::<i64>),
        DType::U32 => run::<u32>(&inputs, &dims, &spec.shape, int_kernel::<u32>),
        DType::Bool => Err(unsupported("matmul", DType::Bool)),
    }
}

fn pairs<'a, T: Elem>(inputs: &'a [HostArray], dims: &Dims) -> Result<Vec<Pair<'a, T>>> {
    inputs
        .chunks_exact(2)
        .map(|ab| {
            let (sa, sb) = (ab[0].shape(), ab[1].shape());
            let (ra, rb) = (sa.len(), sb.len());
            if ra < 2
                || rb < 2
                || sa[ra - 2] != dims.m
                || sb[rb - 1] != dims.n
                || sa[ra - 1] != sb[rb - 2]
            {
                return Err(bad(format!(
                    "{:?} @ {:?} does not give (.., {}, {})",
                    sa.as_slice(),
                    sb.as_slice(),
                    dims.m,
                    dims.n
                )));
            }
            Ok(Pair {
                a: slice_of::<T>(&ab[0])?,
                b: slice_of::<T>(&ab[1])?,
                k: sa[ra - 1],
                a_strides: broadcast_strides(&sa[..ra - 2], &dims.batch)?,
                b_strides: broadcast_strides(&sb[..rb - 2], &dims.batch)?,
            })
        })
        .collect()
}

/// `dst (+)= a @ b` for one matrix: `dst` is m x n, `a` m x k, `b` k x n, all row-major.
type MatKernel<T> = fn(&mut [T], &[T], &[T], [usize; 3], bool, bool);

fn run<T: Elem>(
    inputs: &[HostArray],
    dims: &Dims,
    shape: &[usize],
    kernel: MatKernel<T>,
) -> Result<HostArray> {
    let pairs = pairs::<T>(inputs, dims)?;
    let (m, n) = (dims.m, dims.n);
    let batches = numel(&dims.batch);
    let mut out = vec![T::default(); numel(shape)];
    if m == 0 || n == 0 || batches == 0 {
        return to_host(out, shape);
    }
    let flops: usize = pairs.iter().map(|p| m * n * p.k).sum::<usize>() * batches;
    let one_batch = |b: usize, dst: &mut [T], threads: bool| {
        let mut accumulate = false;
        for p in &pairs {
            if p.k == 0 {
                continue;
            }
            let (mut ia, mut ib, mut rem) = (0, 0, b);
            for axis in (0..dims.batch.len()).rev() {
                let i = rem % dims.batch[axis];
                rem /= dims.batch[axis];
                ia += i * p.a_strides[axis];
                ib += i * p.b_strides[axis];
            }
            let a = &p.a[ia * m * p.k..(ia + 1) * m * p.k];
            let b = &p.b[ib * p.k * n..(ib + 1) * p.k * n];
            kernel(dst, a, b, [m, n, p.k], accumulate, threads);
            accumulate = true;
        }
    };
    if batches > 1 && flops >= BATCH_PAR_MIN {
        out.par_chunks_mut(m * n)
            .enumerate()
            .for_each(|(b, dst)| one_batch(b, dst, false));
    } else {
        for (b, dst) in out.chunks_mut(m * n).enumerate() {
            one_batch(
                b,
                dst,
                m * n * pairs.iter().map(|p| p.k).max().unwrap_or(0) >= GEMM_PAR_MIN,
            );
        }
    }
    to_host(out, shape)
}

/// Float matrices through `gemm` (`dst = a @ b`, or `dst += a @ b` when accumulating).
fn gemm_kernel<T: Elem + GemmOne>(
    dst: &mut [T],
    a: &[T],
    b: &[T],
    [m, n, k]: [usize; 3],
    accumulate: bool,
    threads: bool,
) {
    assert!(
        dst.len() == m * n && a.len() == m * k && b.len() == k * n,
        "matmul operand sizes"
    );
    let parallelism = if threads {
        Parallelism::Rayon(0)
    } else {
        Parallelism::None
    };
    // SAFETY: the asserts above make every row-major access of an m x k, k x n and m x n matrix
    // (row strides k, n, n; column stride 1) land inside `a`, `b` and `dst`; `dst` is a unique
    // borrow, so it aliases neither operand.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.as_ptr(),
            1,
            k as isize,
            b.as_ptr(),
            1,
            n as isize,
            if accumulate { T::ONE } else { T::ZERO },
            T::ONE,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// The constants `gemm`'s `alpha`/`beta` need.
trait GemmOne: Sized {
    const ONE: Self;
    const ZERO: Self;
}
impl GemmOne for f32 {
    const ONE: Self = 1.0;
    const ZERO: Self = 0.0;
}
impl GemmOne for f64 {
    const ONE: Self = 1.0;
    const ZERO: Self = 0.0;
}

/// Integer matrices: wrapping i-k-j loop, parallel over row blocks for large outputs.
fn int_kernel<T: Elem + IntOps>(
    dst: &mut [T],
    a: &[T],
    b: &[T],
    [m, n, k]: [usize; 3],
    accumulate: bool,
    threads: bool,
) {
    if !accumulate {
        dst.fill(T::default());
    }
    let rows = |first: usize, block: &mut [T]| {
        for (r, row) in block.chunks_mut(n).enumerate() {
            let i = first + r;
            for (p, &x) in a[i * k..(i + 1) * k].iter().enumerate() {
                for (d, &y) in row.iter_mut().zip(&b[p * n..(p + 1) * n]) {
                    *d = d.wadd(x.wmul(y));
                }
            }
        }
    };
    let per_task = (64usize).min(m).max(1);
    if threads && m > per_task {
        dst.par_chunks_mut(per_task * n)
            .enumerate()
            .for_each(|(t, block)| rows(t * per_task, block));
    } else {
        rows(0, dst);
    }
}

#[cfg(test)]
#[path = "matmul_tests.rs"]
mod tests;
