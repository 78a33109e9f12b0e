//! Reductions against the CPU: every op on every GPU dtype over every kind of axis set, the
//! three stages, fused producers, a two-pass whole-array reduction of 2^24 + 5 elements, and
//! what the GPU declines (i64 states, f64 states without SHADER_F64).
//!
//! Tolerances (both sides accumulate in f64, in different orders):
//!
//! | state / result | GPU vs CPU |
//! |----------------|------------|
//! | min, max, any, all, argmin/argmax (value and index), integer sum/prod, counts | exact (min/max: +0 and -0 are equal) |
//! | float sum, mean | `1e-12 * sum(|x|)` (mean: of `mean(|x|)`) |
//! | float prod | `1e-11 * |prod|` |
//! | m2 (var/std state) | `1e-11 * sum(x^2)` |
//! | `Combine` | `1e-14` of the scale of its states (the CPU's in-order merge, same formulas) |
//! | `Finalize` | one ulp of the result dtype (exact on lavapipe) |
//!
//! Mean/var/std inputs are finite or NaN: with infinities the CPU's own result (inf or NaN)
//! depends on how its runs split, so no fixed answer exists to compare with.

mod harness;
mod stages;

use crate::common::*;
pub(crate) use harness::*;
use stages::stages;
use tilework_core::{
    Backend, BinaryOp, Buffer, DType, Error, Expr, ExprNode, HostArray, Kernel, ReduceOp,
    ReduceStage,
};
use tilework_wgpu::WgpuBackend;

/// (chunk shape, reduced axes): one axis, several, non-adjacent, all, none, empty and unit
/// axes, ragged sizes, and shapes that pick each kernel layout (many outputs over a kept
/// inner axis, whole workgroups per output, two passes).
const CASES: [(&[usize], &[usize]); 17] = [
    (&[4, 5, 6], &[0]),
    (&[4, 5, 6], &[1]),
    (&[4, 5, 6], &[2]),
    (&[4, 5, 6], &[0, 1]),
    (&[4, 5, 6], &[0, 2]),
    (&[4, 5, 6], &[0, 1, 2]),
    (&[4, 5, 6], &[]),
    (&[], &[]),
    (&[3, 0, 4], &[0]),
    (&[3, 0, 4], &[1]),
    (&[1, 7, 1], &[0, 1]),
    (&[7, 13, 3], &[1]),
    (&[3, 1100], &[1]),
    (&[3, 9000], &[1]),
    (&[9000, 2], &[0]),
    (&[600, 9], &[1]),
    (&[33, 700], &[0]),
];

/// Partial reduction of one random chunk; returns what happened.
fn partial_case(
    gpu: &WgpuBackend,
    op: ReduceOp,
    d: DType,
    (shape, axes): (&[usize], &[usize]),
    rng: &mut Rng,
    what: &str,
) -> Outcome {
    let mut x = random_host(d, shape, domain(op, d), rng);
    if matches!(
        op,
        ReduceOp::Mean | ReduceOp::Var { .. } | ReduceOp::Std { .. }
    ) && d.is_float()
    {
        x = with_nan(x, rng);
    }
    let k = partial_kernel(op, axes, None, shape);
    let out = states(op, d, &keep(shape, axes));
    let cmps = state_cmps(op, d, None, std::slice::from_ref(&x), (shape, axes));
    check(gpu, &k, &[x], &out, &cmps, what)
}

#[test]
fn partial_every_op_dtype_and_axis_set() {
    for gpu in gpus() {
        let mut rng = Rng::new(21);
        let (mut ran, mut declined) = (0, 0);
        for d in gpu.caps().dtypes.clone() {
            for op in OPS {
                for (shape, axes) in CASES {
                    let what = format!("{} {d} {shape:?} axes {axes:?}", op.name());
                    match partial_case(&gpu, op, d, (shape, axes), &mut rng, &what) {
                        Outcome::Ran => ran += 1,
                        Outcome::Declined => declined += 1,
                        Outcome::BothReject => {}
                    }
                }
            }
        }
        eprintln!("{}: {ran} partials ran, {declined} declined", gpu.adapter());
        assert!(ran > 200, "only {ran} ran");
        assert_eq!(gpu.live_buffers(), 0);
    }
}

/// The producer a fused test reduces: `x > y` for any/all, `x * y` otherwise (`y` broadcast).
fn producer(op: ReduceOp, d: DType) -> Expr {
    let mut e = Expr::builder(2);
    let x = e.push(ExprNode::Input(0), d);
    let y = e.push(ExprNode::Input(1), d);
    if matches!(op, ReduceOp::Any | ReduceOp::All) {
        e.push(ExprNode::Binary(BinaryOp::Gt, x, y), DType::Bool);
    } else {
        e.push(ExprNode::Binary(BinaryOp::Mul, x, y), d);
    }
    e
}

#[test]
fn fused_producers_with_broadcast_inputs() {
    let axis_sets: [&[usize]; 4] = [&[0], &[1, 2], &[0, 2], &[0, 1, 2]];
    let shape = [4usize, 5, 6];
    for gpu in gpus() {
        let mut rng = Rng::new(24);
        let mut ran = 0;
        for d in gpu.caps().dtypes.clone() {
            for op in OPS {
                let e = producer(op, d);
                if d == DType::I64 {
                    // The GPU computes nothing in i64: such producers stay on the CPU.
                    let k = partial_kernel(op, &[0], Some(e.clone()), &shape);
                    let x = Buffer::Host(HostArray::zeros(d, &shape));
                    let out = states(op, e.dtype(), &keep(&shape, &[0]));
                    let r = gpu.launch(&k, &[&x, &x], &out).unwrap_err();
                    assert!(matches!(r, Error::DTypeUnsupported { .. }), "{r}");
                    continue;
                }
                for (n, axes) in axis_sets.iter().enumerate() {
                    let y_shape: &[usize] = [&[5, 1][..], &[], &[6], &[4, 1, 6]][n];
                    let x = random_host(d, &shape, domain(op, d), &mut rng);
                    let y = random_host(d, y_shape, Domain::Range(-2.0, 3.0), &mut rng);
                    let inputs = [x, y];
                    let k = partial_kernel(op, axes, Some(e.clone()), &shape);
                    let out = states(op, e.dtype(), &keep(&shape, axes));
                    let cmps = state_cmps(op, e.dtype(), Some(&e), &inputs, (&shape, axes));
                    let what = format!("fused {} {d} {axes:?}", op.name());
                    ran +=
                        usize::from(check(&gpu, &k, &inputs, &out, &cmps, &what) == Outcome::Ran);
                }
            }
        }
        eprintln!("{}: {ran} fused partials ran", gpu.adapter());
        assert!(ran > 50, "only {ran} ran");
        assert_eq!(gpu.live_buffers(), 0);
    }
}

#[test]
fn whole_array_of_2_pow_24_plus_5_in_two_passes() {
    let Some(gpu) = gpu() else { return };
    if !gpu.caps().dtypes.contains(&DType::F64) {
        return;
    }
    let n = (1usize << 24) + 5;
    let mut rng = Rng::new(25);
    let x = random_host(DType::F32, &[n], Domain::Range(-1.0, 3.0), &mut rng);
    let xs = std::slice::from_ref(&x);
    for op in [
        ReduceOp::Sum,
        ReduceOp::Mean,
        ReduceOp::Std { ddof: 1 },
        ReduceOp::Max,
    ] {
        let t = std::time::Instant::now();
        let k = partial_kernel(op, &[0], None, &[n]);
        let cmps = state_cmps(op, DType::F32, None, xs, (&[n], &[0]));
        let r = check(
            &gpu,
            &k,
            xs,
            &states(op, DType::F32, &[1]),
            &cmps,
            op.name(),
        );
        assert_eq!(r, Outcome::Ran, "{}", op.name());
        let r = stages(&gpu, op, &x, (&[n], &[0]), op.name());
        assert_eq!(r, Outcome::Ran, "{}", op.name());
        eprintln!(
            "2^24 + 5 {}: {:?} for both stages twice on both backends",
            op.name(),
            t.elapsed()
        );
    }
    assert_eq!(gpu.live_buffers(), 0);
}

#[test]
fn arg_reductions_take_the_first_tie_and_the_first_nan() {
    let nan = f32::NAN;
    let inf = f32::INFINITY;
    #[rustfmt::skip]
    let x = HostArray::from_vec(vec![
        3.0, 1.0, 1.0, nan, 0.0, nan,
        2.0, 2.0, 2.0, 2.0, 2.0, 2.0,
        -inf, 5.0, -inf, 0.0, 0.0, -0.0,
        -0.0, 0.0, 7.0, 7.0, -1.0, -1.0,
    ], &[4, 6]).unwrap();
    let ints = HostArray::from_vec((0..24i32).map(|i| i * 7 % 5).collect(), &[2, 3, 4]).unwrap();
    let bools = HostArray::from_vec((0..24).map(|i| i % 3 == 1).collect(), &[4, 6]).unwrap();
    for gpu in gpus() {
        let i64_ok = gpu.caps().dtypes.contains(&DType::I64);
        for op in [ReduceOp::ArgMin, ReduceOp::ArgMax] {
            // Rows of a chunk that starts at column 6 of a (4, 18) array.
            let k = located(op, &[1], None, &[4, 6], &[0, 6], &[4, 18]);
            let cmps = [Cmp::Exact, Cmp::Exact];
            for h in [&x, &bools] {
                let out = states(op, h.dtype(), &[4, 1]);
                let r = check(&gpu, &k, std::slice::from_ref(h), &out, &cmps, op.name());
                assert_eq!(r == Outcome::Ran, i64_ok);
            }
            if i64_ok {
                let cpu = cpu_run(
                    &k,
                    std::slice::from_ref(&x),
                    &states(op, DType::F32, &[4, 1]),
                )
                .unwrap();
                let want: &[i64] = if op == ReduceOp::ArgMin {
                    &[9, 6, 6, 10]
                } else {
                    &[9, 6, 7, 8]
                };
                assert_eq!(cpu[1].typed::<i64>().unwrap().as_slice().unwrap(), want);
            }
            // Non-adjacent axes of a chunk inside a larger array.
            let k = located(op, &[0, 2], None, &[2, 3, 4], &[2, 0, 4], &[5, 3, 9]);
            let out = states(op, DType::I32, &[1, 3, 1]);
            let r = check(
                &gpu,
                &k,
                std::slice::from_ref(&ints),
                &out,
                &cmps,
                op.name(),
            );
            assert_eq!(r == Outcome::Ran, i64_ok);
        }
        assert_eq!(gpu.live_buffers(), 0);
    }
}

#[test]
fn bad_requests_are_errors_and_leak_nothing() {
    let Some(gpu) = gpu() else { return };
    let x = Buffer::Host(HostArray::zeros(DType::F32, &[3, 4]));
    let out = states(ReduceOp::Max, DType::F32, &[3, 1]);
    // Unsorted, repeated and out-of-range axes.
    for axes in [&[1, 0][..], &[1, 1], &[2]] {
        let k = partial_kernel(ReduceOp::Max, axes, None, &[3, 4]);
        assert!(gpu.launch(&k, &[&x], &out).is_err(), "{axes:?}");
    }
    let k = partial_kernel(ReduceOp::Max, &[1], None, &[3, 4]);
    // Output specs that are not the state, an input that does not broadcast, no input.
    assert!(
        gpu.launch(&k, &[&x], &states(ReduceOp::Max, DType::F32, &[3, 2]))
            .is_err()
    );
    assert!(
        gpu.launch(&k, &[&x], &states(ReduceOp::Max, DType::I32, &[3, 1]))
            .is_err()
    );
    let y = Buffer::Host(HostArray::zeros(DType::F32, &[5]));
    assert!(gpu.launch(&k, &[&y], &out).is_err());
    assert!(gpu.launch(&k, &[], &out).is_err());
    // A producer whose inputs do not match the buffers.
    let e = producer(ReduceOp::Max, DType::F32);
    let fused = partial_kernel(ReduceOp::Max, &[1], Some(e), &[3, 4]);
    assert!(gpu.launch(&fused, &[&x], &out).is_err());
    // A chunk that does not fit its global shape (argmin indices).
    let arg = located(ReduceOp::ArgMax, &[1], None, &[3, 4], &[0, 2], &[3, 5]);
    assert!(
        gpu.launch(&arg, &[&x], &states(ReduceOp::ArgMax, DType::F32, &[3, 1]))
            .is_err()
    );
    // Combine: a partial state, mixed dtypes.
    let comb = Kernel::Reduce {
        op: ReduceOp::Max,
        axes: vec![1],
        stage: ReduceStage::Combine,
    };
    let i = Buffer::Host(HostArray::zeros(DType::I32, &[3, 4]));
    assert!(
        gpu.launch(
            &comb,
            &[&x, &i],
            &states(ReduceOp::Max, DType::F32, &[3, 4])
        )
        .is_err()
    );
    let var = Kernel::Reduce {
        op: ReduceOp::Var { ddof: 0 },
        axes: vec![1],
        stage: ReduceStage::Combine,
    };
    let s = Buffer::Host(HostArray::zeros(DType::F64, &[3, 1]));
    let specs = states(ReduceOp::Var { ddof: 0 }, DType::F32, &[3, 1]);
    assert!(gpu.launch(&var, &[&s, &s], &specs).is_err());
    // Any over floats: declined, as the CPU declines it.
    let any = partial_kernel(ReduceOp::Any, &[1], None, &[3, 4]);
    let e = gpu
        .launch(&any, &[&x], &states(ReduceOp::Any, DType::F32, &[3, 1]))
        .unwrap_err();
    assert!(matches!(e, Error::DTypeUnsupported { .. }), "{e}");
    assert_eq!(gpu.live_buffers(), 0);
}
