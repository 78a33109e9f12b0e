//! Matmul against the CPU backend: edge shapes, batch broadcasting, several (a, b) pairs,
//! empty depths, every GPU dtype, and the errors.
//!
//! Floats are compared per element against `sum_k |a_ik| |b_kj|` (the scale of the rounding
//! error of any summation order), computed by the CPU in f64; integers must match exactly.

use crate::common::*;
use std::time::Instant;
use tilework_core::{Backend, Buffer, DType, Error, HostArray, Kernel, Result};
use tilework_cpu::CpuBackend;
use tilework_wgpu::WgpuBackend;

/// Error allowed per element, relative to `sum |a||b|`: f32 sums of up to ~1000 terms in
/// different orders, f16 one rounding of the (f32) sum to f16 (2^-11 relative) on top.
fn rel_tol(dtype: DType) -> Option<f64> {
    match dtype {
        DType::F32 => Some(1e-5),
        DType::F16 => Some(1.5e-3),
        DType::F64 => Some(1e-13),
        _ => None,
    }
}

/// Operands drawn for `dtype`: floats in [-1, 1), integers over their whole range (so that
/// products and sums wrap).
fn operand(dtype: DType, dims: &[usize], rng: &mut Rng) -> HostArray {
    let (lo, hi) = match dtype {
        DType::I32 => (-2147483648.0, 2147483648.0),
        DType::U32 => (0.0, 4294967296.0),
        DType::U8 => (0.0, 256.0),
        _ => (-1.0, 1.0),
    };
    random_host(dtype, dims, Domain::Range(lo, hi), rng)
}

/// `sum_k |a_k| @ |b_k|` in f64 (by the CPU backend, which broadcasts like the kernel).
fn magnitude(inputs: &[HostArray], out: &[usize]) -> Result<Vec<f64>> {
    let cpu = CpuBackend::new();
    let abs: Vec<Buffer> = inputs
        .iter()
        .map(|h| {
            let v: Vec<f64> = h
                .cast(DType::F64)
                .typed::<f64>()?
                .iter()
                .map(|x| x.abs())
                .collect();
            Ok(Buffer::Host(HostArray::from_vec(v, &h.shape())?))
        })
        .collect::<Result<_>>()?;
    let refs: Vec<&Buffer> = abs.iter().collect();
    let s = cpu.launch(&Kernel::Matmul, &refs, &[spec(DType::F64, out)])?;
    let s = cpu.download(&s[0])?;
    Ok(s.typed::<f64>()?.iter().copied().collect())
}

/// Runs one matmul of `pairs` (shapes of `a_k`, `b_k`) into `out` on the GPU and the CPU and
/// compares; returns the GPU seconds (launch + download).
fn check(
    gpu: &WgpuBackend,
    dtype: DType,
    pairs: &[(&[usize], &[usize])],
    out: &[usize],
    seed: u64,
) -> f64 {
    let mut rng = Rng::new(seed);
    let inputs: Vec<HostArray> = pairs
        .iter()
        .flat_map(|(sa, sb)| [operand(dtype, sa, &mut rng), operand(dtype, sb, &mut rng)])
        .collect();
    let what = format!("{dtype} {pairs:?} -> {out:?} on {}", gpu.adapter().name);
    let t = Instant::now();
    let (got, want) = run_both(
        gpu,
        &Kernel::Matmul,
        &inputs,
        &[spec(dtype, out)],
        seed.is_multiple_of(2),
    )
    .unwrap_or_else(|e| panic!("{what}: {e}"));
    let seconds = t.elapsed().as_secs_f64();
    let (got, want) = (&got[0], &want[0]);
    let Some(tol) = rel_tol(dtype) else {
        assert_close(got, want, Tol::Exact, &what);
        return seconds;
    };
    assert_eq!(got.shape(), want.shape(), "{what}");
    let scale = magnitude(&inputs, out).unwrap();
    let g = got.cast(DType::F64);
    let c = want.cast(DType::F64);
    let (g, c) = (g.typed::<f64>().unwrap(), c.typed::<f64>().unwrap());
    for (i, ((x, y), s)) in g.iter().zip(c.iter()).zip(&scale).enumerate() {
        assert!(
            (x - y).abs() <= tol * s,
            "{what}[{i}]: gpu {x:e}, cpu {y:e}, sum |a||b| {s:e}"
        );
    }
    seconds
}

const DTYPES: [DType; 6] = [
    DType::F32,
    DType::F16,
    DType::F64,
    DType::I32,
    DType::U32,
    DType::U8,
];

fn dtypes(gpu: &WgpuBackend) -> impl Iterator<Item = DType> + '_ {
    DTYPES.into_iter().filter(|d| gpu.caps().dtypes.contains(d))
}

#[test]
fn edge_shapes_match_the_cpu_for_every_dtype() {
    // (m, kk, n): single elements, primes, one tile exactly, one past a tile, many tiles.
    let shapes = [
        (1, 1, 1),
        (7, 13, 5),
        (64, 64, 64),
        (65, 129, 33),
        (300, 200, 150),
    ];
    for gpu in gpus() {
        for dtype in dtypes(&gpu) {
            for (i, &(m, k, n)) in shapes.iter().enumerate() {
                check(&gpu, dtype, &[(&[m, k], &[k, n])], &[m, n], i as u64);
            }
        }
        assert_eq!(gpu.live_buffers(), 0);
    }
}

#[test]
fn batches_broadcast_like_numpy() {
    let Some(gpu) = gpu() else { return };
    for dtype in dtypes(&gpu) {
        check(
            &gpu,
            dtype,
            &[(&[2, 3, 9, 17], &[3, 17, 70])],
            &[2, 3, 9, 70],
            1,
        );
        check(
            &gpu,
            dtype,
            &[(&[2, 1, 5, 4], &[3, 4, 6])],
            &[2, 3, 5, 6],
            2,
        );
        check(&gpu, dtype, &[(&[66, 3], &[4, 1, 3, 2])], &[4, 1, 66, 2], 3);
        check(&gpu, dtype, &[(&[1, 1, 8, 8], &[8, 8])], &[1, 1, 8, 8], 4);
    }
}

#[test]
fn several_pairs_sum_in_order() {
    for gpu in gpus() {
        for dtype in dtypes(&gpu) {
            let two: [(&[usize], &[usize]); 2] = [(&[33, 20], &[20, 70]), (&[33, 7], &[7, 70])];
            check(&gpu, dtype, &two, &[33, 70], 5);
            let three: [(&[usize], &[usize]); 3] = [
                (&[2, 17, 65], &[2, 65, 9]),
                (&[17, 1], &[2, 1, 9]),
                (&[2, 17, 130], &[130, 9]),
            ];
            check(&gpu, dtype, &three, &[2, 17, 9], 6);
        }
    }
}

#[test]
fn empty_depths_and_empty_outputs() {
    let Some(gpu) = gpu() else { return };
    for dtype in dtypes(&gpu) {
        // Depth 0 alone gives zeros (over a reused, dirty buffer), also with several pairs.
        for seed in 0..2 {
            check(&gpu, dtype, &[(&[5, 0], &[0, 3])], &[5, 3], seed);
        }
        let mixed: [(&[usize], &[usize]); 3] =
            [(&[5, 0], &[0, 3]), (&[5, 4], &[4, 3]), (&[5, 0], &[0, 3])];
        check(&gpu, dtype, &mixed, &[5, 3], 7);
        let zeros: [(&[usize], &[usize]); 2] = [(&[5, 0], &[0, 3]), (&[5, 0], &[0, 3])];
        check(&gpu, dtype, &zeros, &[5, 3], 8);
        check(&gpu, dtype, &[(&[0, 4], &[4, 3])], &[0, 3], 9);
        check(&gpu, dtype, &[(&[5, 4], &[4, 0])], &[5, 0], 10);
        check(&gpu, dtype, &[(&[0, 5, 4], &[4, 3])], &[0, 5, 3], 11);
    }
    assert_eq!(gpu.live_buffers(), 0);
}

#[test]
fn a_1024_cube_in_f32() {
    let Some(gpu) = gpu() else { return };
    let seconds = check(
        &gpu,
        DType::F32,
        &[(&[1024, 1024], &[1024, 1024])],
        &[1024, 1024],
        12,
    );
    eprintln!(
        "1024^3 f32 matmul on {}: {seconds:.3} s with the CPU oracle, upload and download",
        gpu.adapter()
    );
    // The kernel alone (GPU timestamps, where the device has them).
    let a = gpu
        .upload(&HostArray::zeros(DType::F32, &[1024, 1024]))
        .unwrap();
    gpu.time_kernels(true);
    let out = gpu
        .launch(
            &Kernel::Matmul,
            &[&a, &a],
            &[spec(DType::F32, &[1024, 1024])],
        )
        .unwrap();
    if let Some(s) = gpu.kernel_seconds().unwrap() {
        let rate = 2.0 * 1024f64.powi(3) / s / 1e9;
        eprintln!(
            "1024^3 f32 matmul kernel: {:.1} ms, {rate:.1} GFLOP/s",
            s * 1e3
        );
    }
    gpu.time_kernels(false);
    out.into_iter().chain([a]).for_each(|b| gpu.free(b));
}

#[test]
fn bad_requests_are_errors_and_leak_nothing() {
    let Some(gpu) = gpu() else { return };
    let f = |dims: &[usize]| Buffer::Host(HostArray::zeros(DType::F32, dims));
    let run = |inputs: &[Buffer], dtype: DType, out: &[usize]| {
        let refs: Vec<&Buffer> = inputs.iter().collect();
        gpu.launch(&Kernel::Matmul, &refs, &[spec(dtype, out)])
    };
    let cases: Vec<(Vec<Buffer>, &[usize])> = vec![
        (vec![f(&[2, 3]), f(&[4, 5])], &[2, 5]),
        (vec![f(&[2, 3]), f(&[3, 5])], &[2, 6]),
        (vec![f(&[2, 3])], &[2, 3]),
        (vec![], &[2, 3]),
        (vec![f(&[3]), f(&[3, 5])], &[1, 5]),
        (vec![f(&[2, 2, 3]), f(&[3, 3, 5])], &[3, 2, 5]),
        (vec![f(&[2, 3]), f(&[3, 5])], &[5]),
    ];
    for (inputs, out) in &cases {
        let r = run(inputs, DType::F32, out);
        assert!(matches!(r, Err(Error::Device(_))), "{out:?}: {r:?}");
    }
    let mixed = vec![
        f(&[2, 3]),
        Buffer::Host(HostArray::zeros(DType::I32, &[3, 5])),
    ];
    assert!(matches!(
        run(&mixed, DType::F32, &[2, 5]),
        Err(Error::DTypeMismatch { .. })
    ));
    let b = |dims: &[usize]| Buffer::Host(HostArray::zeros(DType::Bool, dims));
    let r = run(&[b(&[2, 3]), b(&[3, 5])], DType::Bool, &[2, 5]);
    assert!(matches!(r, Err(Error::DTypeUnsupported { .. })), "{r:?}");
    assert_eq!(gpu.live_buffers(), 0);
}
