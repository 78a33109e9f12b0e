//! Scans against the CPU: `ScanLocal` along every axis on every GPU dtype (both kernels: one
//! invocation per line, and one workgroup per line with tiles), `ScanCarry` and `ScanApply`,
//! and what the GPU declines (i64 outputs of integer and bool scans).
//!
//! Tolerances:
//!
//! | kernel | GPU vs CPU |
//! |--------|------------|
//! | `ScanLocal`, serial kernel (f16 always; many or short lines), i64 | exact |
//! | `ScanLocal`, tiled kernel, f32/f64 cumsum | `(j + j/256 + 9) * eps * sum(|x[0..=j]|)` at position `j` |
//! | `ScanLocal`, tiled kernel, f32/f64 cumprod | `(j + j/256 + 9) * eps * prod(|x[0..=j]|)` |
//! | `ScanCarry`, `ScanApply` | exact (one operation per element) |
//!
//! The tiled bound is the first-order error of the CPU's serial order (`j` roundings) plus the
//! GPU's (`j/256` tile carries and 8 tree levels), so it holds on any hardware.

use crate::common::*;
use crate::reduce::{Cmp, Outcome, check, compare, cpu_run, f64s};
use tilework_core::{
    Backend, Buffer, BufferSpec, DType, Expr, ExprNode, HostArray, Kernel, ScanOp, UnaryOp,
};
use tilework_wgpu::WgpuBackend;

/// (shape, axis): every axis of a 3-D chunk, empty and unit axes, and lines that pick each
/// kernel: few long lines (tiled, with full and partial tiles, contiguous and strided), many
/// lines (serial).
const CASES: [(&[usize], usize); 13] = [
    (&[4, 5, 6], 0),
    (&[4, 5, 6], 1),
    (&[4, 5, 6], 2),
    (&[3, 0, 2], 1),
    (&[3, 0, 2], 0),
    (&[1], 0),
    (&[7], 0),
    (&[2, 3000], 1),
    (&[3000, 2], 0),
    (&[5, 257], 1),
    (&[2, 512, 3], 1),
    (&[2, 256], 1),
    (&[2000, 70], 1),
];

/// `ScanLocal` of `g(x)` on the CPU, in f64: `|x|` for cumsum bounds, `x` (its prefix
/// products' magnitudes) for cumprod.
fn prefix(op: ScanOp, x: &HostArray, axis: usize) -> Vec<HostArray> {
    let mut e = Expr::builder(1);
    let i = e.push(ExprNode::Input(0), x.dtype());
    let c = if x.dtype() == DType::F64 {
        i
    } else {
        e.push(ExprNode::Cast(i), DType::F64)
    };
    e.push(ExprNode::Unary(UnaryOp::Abs, c), DType::F64);
    let shape = x.shape();
    let abs = cpu_run(
        &Kernel::Elementwise { expr: e },
        std::slice::from_ref(x),
        &[spec(DType::F64, &shape)],
    )
    .expect("abs")
    .remove(0);
    let mut last = shape.to_vec();
    last[axis] = 1;
    let k = Kernel::ScanLocal { op, axis };
    cpu_run(
        &k,
        &[abs],
        &[spec(DType::F64, &shape), spec(DType::F64, &last)],
    )
    .expect("prefix")
}

/// The tolerances of `ScanLocal` outputs `[scanned, last]` (see the module table).
fn local_cmps(op: ScanOp, x: &HostArray, axis: usize) -> Vec<Cmp> {
    let eps = match x.dtype() {
        DType::F32 => f64::from(f32::EPSILON),
        DType::F64 => f64::EPSILON,
        _ => return vec![Cmp::Exact, Cmp::Exact],
    };
    let shape = x.shape();
    let (len, inner) = (shape[axis], shape[axis + 1..].iter().product::<usize>());
    let p = prefix(op, x, axis);
    let bound = |j: usize, s: f64| (j + j / 256 + 9) as f64 * eps * s;
    let scanned: Vec<f64> = f64s(&p[0])
        .iter()
        .enumerate()
        .map(|(e, &s)| bound((e / inner.max(1)) % len.max(1), s))
        .collect();
    let last: Vec<f64> = f64s(&p[1])
        .iter()
        .map(|&s| bound(len.saturating_sub(1), s))
        .collect();
    vec![Cmp::Scaled(1.0, scanned), Cmp::Scaled(1.0, last)]
}

fn local_specs(op: ScanOp, d: DType, shape: &[usize], axis: usize) -> Vec<BufferSpec> {
    let mut last = shape.to_vec();
    last[axis] = 1;
    vec![spec(op.out_dtype(d), shape), spec(op.out_dtype(d), &last)]
}

fn domain(op: ScanOp, d: DType) -> Domain {
    match (op, d.is_float()) {
        (ScanOp::CumProd, true) => Domain::Range(0.9, 1.1),
        (ScanOp::CumProd, false) => Domain::WithSpecials(-3.0, 4.0),
        (_, true) => Domain::WithSpecials(-100.0, 100.0),
        (_, false) => Domain::WithSpecials(-50.0, 300.0),
    }
}

fn outcome_ok(gpu: &WgpuBackend, r: Outcome, out: DType, what: &str) -> bool {
    let has = gpu.caps().dtypes.contains(&out);
    assert_eq!(r == Outcome::Ran, has, "{what}: {r:?}");
    r == Outcome::Ran
}

#[test]
fn local_scans_every_dtype_axis_and_kernel() {
    for gpu in gpus() {
        let mut rng = Rng::new(31);
        let mut ran = 0;
        for d in gpu.caps().dtypes.clone() {
            for op in [ScanOp::CumSum, ScanOp::CumProd] {
                for (shape, axis) in CASES {
                    let x = random_host(d, shape, domain(op, d), &mut rng);
                    let k = Kernel::ScanLocal { op, axis };
                    let out = local_specs(op, d, shape, axis);
                    let cmps = local_cmps(op, &x, axis);
                    let what = format!("{op:?} {d} {shape:?} axis {axis}");
                    let r = check(&gpu, &k, &[x], &out, &cmps, &what);
                    ran += usize::from(outcome_ok(&gpu, r, op.out_dtype(d), &what));
                }
            }
        }
        eprintln!("{}: {ran} local scans ran", gpu.adapter());
        assert!(ran >= 2 * CASES.len() * 2, "only {ran} ran");
        assert_eq!(gpu.live_buffers(), 0);
    }
}

#[test]
fn serial_scans_match_the_cpu_bit_for_bit() {
    // Many lines take the serial kernel: every float dtype is exact, f16 rounding included.
    for gpu in gpus() {
        let mut rng = Rng::new(32);
        for d in gpu
            .caps()
            .dtypes
            .clone()
            .into_iter()
            .filter(|d| d.is_float())
        {
            for op in [ScanOp::CumSum, ScanOp::CumProd] {
                let shape = [1500, 40];
                let x = random_host(d, &shape, domain(op, d), &mut rng);
                let k = Kernel::ScanLocal { op, axis: 1 };
                let out = local_specs(op, d, &shape, 1);
                let r = check(&gpu, &k, &[x], &out, &[Cmp::Exact, Cmp::Exact], "serial");
                assert_eq!(r, Outcome::Ran);
            }
        }
    }
}

#[test]
fn carry_and_apply_every_dtype() {
    for gpu in gpus() {
        let mut rng = Rng::new(33);
        let mut ran = 0;
        for d in gpu.caps().dtypes.clone() {
            for op in [ScanOp::CumSum, ScanOp::CumProd] {
                let o = op.out_dtype(d);
                for (shape, axis) in CASES {
                    let mut last = shape.to_vec();
                    last[axis] = 1;
                    let s = random_host(o, shape, Domain::WithSpecials(-30.0, 30.0), &mut rng);
                    let c = random_host(o, &last, Domain::WithSpecials(-30.0, 30.0), &mut rng);
                    let l = random_host(o, &last, Domain::WithSpecials(-30.0, 30.0), &mut rng);
                    let apply = Kernel::ScanApply { op, axis };
                    let what = format!("apply {op:?} {o} {shape:?} axis {axis}");
                    let r = check(
                        &gpu,
                        &apply,
                        &[s, c.clone()],
                        &[spec(o, shape)],
                        &[Cmp::Exact],
                        &what,
                    );
                    ran += usize::from(outcome_ok(&gpu, r, o, &what));
                    let carry = Kernel::ScanCarry { op };
                    let what = format!("carry {op:?} {o} {last:?}");
                    let r = check(
                        &gpu,
                        &carry,
                        &[c, l],
                        &[spec(o, &last)],
                        &[Cmp::Exact],
                        &what,
                    );
                    ran += usize::from(outcome_ok(&gpu, r, o, &what));
                }
            }
        }
        eprintln!("{}: {ran} carries and applies ran", gpu.adapter());
        assert_eq!(gpu.live_buffers(), 0);
    }
}

#[test]
fn chunked_scan_joins_to_the_whole_scan() {
    // cumsum of one f32 array in two chunks: local, carry, apply, as the scheduler runs them.
    let Some(gpu) = gpu() else { return };
    let mut rng = Rng::new(34);
    let whole = random_host(DType::F32, &[3, 700], Domain::Range(-1.0, 1.0), &mut rng);
    let w = f64s(&whole);
    let half = |from: usize| -> HostArray {
        let v: Vec<f32> = (0..3)
            .flat_map(|r| (from..from + 350).map(move |c| (r, c)))
            .map(|(r, c)| w[r * 700 + c] as f32)
            .collect();
        HostArray::from_vec(v, &[3, 350]).unwrap()
    };
    let local = Kernel::ScanLocal {
        op: ScanOp::CumSum,
        axis: 1,
    };
    let specs = local_specs(ScanOp::CumSum, DType::F32, &[3, 350], 1);
    let (g0, c0) = run_both(&gpu, &local, &[half(0)], &specs, true).unwrap();
    let (g1, _) = run_both(&gpu, &local, &[half(350)], &specs, true).unwrap();
    let zero = HostArray::zeros(DType::F32, &[3, 1]);
    let carry = Kernel::ScanCarry { op: ScanOp::CumSum };
    let (gc, _) = run_both(
        &gpu,
        &carry,
        &[zero, g0[1].clone()],
        &[spec(DType::F32, &[3, 1])],
        true,
    )
    .unwrap();
    let apply = Kernel::ScanApply {
        op: ScanOp::CumSum,
        axis: 1,
    };
    let (g2, _) = run_both(
        &gpu,
        &apply,
        &[g1[0].clone(), gc[0].clone()],
        &[spec(DType::F32, &[3, 350])],
        true,
    )
    .unwrap();
    let want = cpu_run(
        &local,
        &[whole],
        &local_specs(ScanOp::CumSum, DType::F32, &[3, 700], 1),
    )
    .unwrap();
    let wv = f64s(&want[0]);
    let (first, second) = (f64s(&g0[0]), f64s(&g2[0]));
    for r in 0..3 {
        for c in 0..700 {
            let got = if c < 350 {
                first[r * 350 + c]
            } else {
                second[r * 350 + c - 350]
            };
            let d = (got - wv[r * 700 + c]).abs();
            assert!(d <= 1e-4, "[{r}, {c}]: {got} vs {}", wv[r * 700 + c]);
        }
    }
    compare(
        &g0[0],
        &c0[0],
        &local_cmps(ScanOp::CumSum, &half(0), 1)[0],
        "first chunk",
    );
    assert_eq!(gpu.live_buffers(), 0);
}

#[test]
fn bad_scans_are_errors() {
    let Some(gpu) = gpu() else { return };
    let x = Buffer::Host(HostArray::zeros(DType::F32, &[3, 4]));
    let local = |axis| Kernel::ScanLocal {
        op: ScanOp::CumSum,
        axis,
    };
    let specs = local_specs(ScanOp::CumSum, DType::F32, &[3, 4], 1);
    assert!(gpu.launch(&local(2), &[&x], &specs).is_err());
    assert!(gpu.launch(&local(1), &[&x, &x], &specs).is_err());
    assert!(gpu.launch(&local(1), &[&x], &specs[..1]).is_err());
    assert!(
        gpu.launch(&local(0), &[&x], &specs).is_err(),
        "last has the wrong shape"
    );
    let apply = Kernel::ScanApply {
        op: ScanOp::CumSum,
        axis: 0,
    };
    let c = Buffer::Host(HostArray::zeros(DType::F32, &[3, 1]));
    assert!(
        gpu.launch(&apply, &[&x, &c], &[spec(DType::F32, &[3, 4])])
            .is_err()
    );
    let carry = Kernel::ScanCarry { op: ScanOp::CumSum };
    let h = Buffer::Host(HostArray::zeros(DType::F16, &[3, 1]));
    assert!(
        gpu.launch(&carry, &[&c, &h], &[spec(DType::F32, &[3, 1])])
            .is_err()
    );
    assert_eq!(gpu.live_buffers(), 0);
}
