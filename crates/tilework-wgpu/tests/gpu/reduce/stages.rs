//! The `Combine` and `Finalize` stages against the CPU.

use super::*;
use crate::common::*;
use tilework_core::{Backend, Buffer, DType, HostArray, Kernel, ReduceOp, ReduceStage, Shape};
use tilework_wgpu::WgpuBackend;

/// `ddof` edge cases and empty reductions go through all three stages on both backends.
pub(crate) fn stages(
    gpu: &WgpuBackend,
    op: ReduceOp,
    x: &HostArray,
    (shape, axes): (&[usize], &[usize]),
    what: &str,
) -> Outcome {
    let d = x.dtype();
    let k = partial_kernel(op, axes, None, shape);
    let kshape = keep(shape, axes);
    let specs = states(op, d, &kshape);
    let Ok(state) = cpu_run(&k, std::slice::from_ref(x), &specs) else {
        return Outcome::BothReject;
    };
    let out_shape: Vec<usize> = (0..shape.len())
        .filter(|a| !axes.contains(a))
        .map(|a| shape[a])
        .collect();
    let fin = Kernel::Reduce {
        op,
        axes: axes.to_vec(),
        stage: ReduceStage::Finalize {
            out_dtype: op.out_dtype(d),
            out_shape: Shape::from_slice(&out_shape),
        },
    };
    let out = [spec(op.out_dtype(d), &out_shape)];
    check(
        gpu,
        &fin,
        &state,
        &out,
        &[finalize_cmp(op.out_dtype(d))],
        what,
    )
}

/// One ulp of the result dtype: f64 division and sqrt are correctly rounded on lavapipe, but
/// Vulkan only promises a few ulp.
fn finalize_cmp(d: DType) -> Cmp {
    match d {
        DType::F16 => Cmp::Rel(1.0 / 1024.0),
        DType::F32 => Cmp::Rel(f64::from(f32::EPSILON)),
        DType::F64 => Cmp::Rel(f64::EPSILON),
        _ => Cmp::Exact,
    }
}

#[test]
fn finalize_every_op_with_ddof_edges() {
    let ops = [
        ReduceOp::Var { ddof: 2 },
        ReduceOp::Std { ddof: 5 },
        ReduceOp::Var { ddof: 7 },
    ];
    let cases: [(&[usize], &[usize]); 6] = [
        (&[4, 5, 6], &[1]),
        (&[4, 5, 6], &[0, 2]),
        (&[3, 0], &[1]),
        (&[6, 2], &[0]),
        (&[2, 7], &[1]),
        (&[5], &[0]),
    ];
    for gpu in gpus() {
        let mut rng = Rng::new(22);
        let mut ran = 0;
        for d in gpu.caps().dtypes.clone() {
            for op in OPS.into_iter().chain(ops) {
                for (shape, axes) in cases {
                    let x = random_host(d, shape, domain(op, d), &mut rng);
                    let what = format!("finalize {} {d} {shape:?} {axes:?}", op.name());
                    ran += usize::from(stages(&gpu, op, &x, (shape, axes), &what) == Outcome::Ran);
                }
            }
        }
        eprintln!("{}: {ran} finalizes ran", gpu.adapter());
        let f64 = gpu.caps().dtypes.contains(&DType::F64);
        assert!(ran > if f64 { 200 } else { 50 }, "only {ran} ran");
        assert_eq!(gpu.live_buffers(), 0);
    }
}

#[test]
fn finalize_casts_and_rejects_bad_states() {
    let Some(gpu) = gpu() else { return };
    // A max state finalized into another dtype (an elementwise cast) and into its own (a copy).
    let x = HostArray::from_vec(vec![1.5f32, -2.0, f32::NAN, 7.25], &[2, 2]).unwrap();
    for out_dtype in [DType::F32, DType::I32, DType::F16, DType::Bool] {
        let fin = Kernel::Reduce {
            op: ReduceOp::Max,
            axes: vec![1],
            stage: ReduceStage::Finalize {
                out_dtype,
                out_shape: Shape::from_slice(&[4]),
            },
        };
        let r = check(
            &gpu,
            &fin,
            std::slice::from_ref(&x),
            &[spec(out_dtype, &[4])],
            &[Cmp::Exact],
            "cast",
        );
        assert_eq!(r, Outcome::Ran);
    }
    // Wrong component count, wrong element count, wrong output spec: errors, not faults.
    let fin = |out_shape: &[usize]| Kernel::Reduce {
        op: ReduceOp::Var { ddof: 0 },
        axes: vec![0],
        stage: ReduceStage::Finalize {
            out_dtype: DType::F32,
            out_shape: Shape::from_slice(out_shape),
        },
    };
    let s = Buffer::Host(HostArray::zeros(DType::F64, &[1, 3]));
    let three = [&s, &s, &s];
    assert!(
        gpu.launch(&fin(&[3]), &three[..2], &[spec(DType::F32, &[3])])
            .is_err()
    );
    assert!(
        gpu.launch(&fin(&[4]), &three, &[spec(DType::F32, &[4])])
            .is_err()
    );
    assert!(
        gpu.launch(&fin(&[3]), &three, &[spec(DType::F16, &[3])])
            .is_err()
    );
    assert_eq!(gpu.live_buffers(), 0);
}

/// Tolerances of an in-order `Combine` of `states` (`k` states of `op`, component-major).
fn combine_cmps(op: ReduceOp, states: &[HostArray], c: usize) -> Vec<Cmp> {
    let comp = |j: usize| -> Vec<Vec<f64>> { states.iter().skip(j).step_by(c).map(f64s).collect() };
    let fold = |cols: &[Vec<f64>], f: &dyn Fn(f64, f64) -> f64| -> Vec<f64> {
        (0..cols[0].len())
            .map(|i| cols.iter().fold(0.0, |a, col| f(a, col[i])))
            .collect()
    };
    let float = states[0].dtype() == DType::F64;
    match op {
        ReduceOp::Sum if float => {
            vec![Cmp::Scaled(1e-14, fold(&comp(0), &|a, v| a + v.abs()))]
        }
        ReduceOp::Prod if float => vec![Cmp::Rel(1e-14)],
        ReduceOp::Mean | ReduceOp::Var { .. } | ReduceOp::Std { .. } => {
            let (n, mean, m2) = (comp(0), comp(1), comp(2));
            let big = fold(&mean, &|a, v| a.max(v.abs()));
            let sq: Vec<f64> = (0..n[0].len())
                .map(|i| {
                    (0..n.len())
                        .map(|j| m2[j][i] + n[j][i] * mean[j][i] * mean[j][i])
                        .sum()
                })
                .collect();
            vec![Cmp::Exact, Cmp::Scaled(1e-14, big), Cmp::Scaled(1e-13, sq)]
        }
        ReduceOp::ArgMin | ReduceOp::ArgMax => vec![Cmp::Exact, Cmp::Exact],
        ReduceOp::Min | ReduceOp::Max => vec![Cmp::Value],
        _ => vec![Cmp::Exact],
    }
}

#[test]
fn combine_one_to_eight_states_in_order() {
    let layouts: [(&[usize], &[usize]); 3] =
        [(&[3, 5, 4], &[1]), (&[6, 7], &[0, 1]), (&[0, 3], &[1])];
    for gpu in gpus() {
        let mut rng = Rng::new(23);
        let mut ran = 0;
        for d in gpu.caps().dtypes.clone() {
            for op in OPS {
                for k in 1..=8usize {
                    let (chunk, axes) = layouts[k % layouts.len()];
                    // The chunks sit side by side along the last reduced axis of the whole input.
                    let along = axes[axes.len() - 1];
                    let mut global = chunk.to_vec();
                    global[along] *= k;
                    let mut inputs = Vec::new();
                    for j in 0..k {
                        let mut x = random_host(d, chunk, domain(op, d), &mut rng);
                        if matches!(op, ReduceOp::Var { .. }) && d.is_float() {
                            x = with_nan(x, &mut rng);
                        }
                        let mut start = vec![0; chunk.len()];
                        start[along] = j * chunk[along];
                        let part = located(op, axes, None, chunk, &start, &global);
                        let specs = states(op, d, &keep(chunk, axes));
                        match cpu_run(&part, &[x], &specs) {
                            Ok(s) => inputs.extend(s),
                            Err(_) => break,
                        }
                    }
                    if inputs.is_empty() {
                        continue;
                    }
                    let c = inputs.len() / k;
                    let comb = Kernel::Reduce {
                        op,
                        axes: axes.to_vec(),
                        stage: ReduceStage::Combine,
                    };
                    let out = states(op, d, &keep(chunk, axes));
                    let cmps = combine_cmps(op, &inputs, c);
                    let what = format!("combine {} {d} k={k}", op.name());
                    ran += usize::from(
                        check(&gpu, &comb, &inputs, &out, &cmps, &what) == Outcome::Ran,
                    );
                }
            }
        }
        eprintln!("{}: {ran} combines ran", gpu.adapter());
        let f64 = gpu.caps().dtypes.contains(&DType::F64);
        assert!(ran > if f64 { 200 } else { 50 }, "only {ran} ran");
        assert_eq!(gpu.live_buffers(), 0);
    }
}
