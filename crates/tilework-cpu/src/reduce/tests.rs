use super::*;
use crate::num::cast_host;
use crate::source::host_slice;
use crate::testutil::{arr, assert_close, shape, vals};
use tilework_core::{ExprNode, Region, Scalar, UnaryOp};

const OPS: [ReduceOp; 11] = [
    ReduceOp::Sum,
    ReduceOp::Prod,
    ReduceOp::Min,
    ReduceOp::Max,
    ReduceOp::Mean,
    ReduceOp::Var { ddof: 0 },
    ReduceOp::Std { ddof: 1 },
    ReduceOp::ArgMin,
    ReduceOp::ArgMax,
    ReduceOp::Any,
    ReduceOp::All,
];

fn partial_of(
    op: ReduceOp,
    axes: &[usize],
    x: &HostArray,
    start: &[usize],
    global: &[usize],
) -> Result<Vec<HostArray>> {
    let stage = ReduceStage::Partial {
        expr: None,
        chunk_shape: x.shape(),
        chunk_start: shape(start),
        global_shape: shape(global),
    };
    reduce(op, axes, &stage, &[x])
}

fn finalize_of(
    op: ReduceOp,
    states: &[HostArray],
    in_dtype: DType,
    out_shape: &[usize],
) -> Result<HostArray> {
    let stage = ReduceStage::Finalize {
        out_dtype: op.out_dtype(in_dtype),
        out_shape: shape(out_shape),
    };
    let refs: Vec<&HostArray> = states.iter().collect();
    Ok(reduce(op, &[], &stage, &refs)?.remove(0))
}

fn combine_of(op: ReduceOp, states: &[Vec<HostArray>]) -> Result<Vec<HostArray>> {
    let refs: Vec<&HostArray> = states.iter().flatten().collect();
    reduce(op, &[], &ReduceStage::Combine, &refs)
}

fn dropped(s: &[usize], axes: &[usize]) -> Vec<usize> {
    (0..s.len())
        .filter(|a| !axes.contains(a))
        .map(|a| s[a])
        .collect()
}

/// Partial of the whole array, then finalize.
fn one_shot(op: ReduceOp, axes: &[usize], x: &HostArray) -> Result<HostArray> {
    let s = x.shape();
    let states = partial_of(op, axes, x, &vec![0; s.len()], &s)?;
    finalize_of(op, &states, x.dtype(), &dropped(&s, axes))
}

/// Straightforward reference: values grouped by kept coordinates, visited in C order.
fn reference(op: ReduceOp, x: &[f64], s: &[usize], axes: &[usize]) -> Vec<f64> {
    let kept: Vec<usize> = dropped(s, axes);
    let mut groups: Vec<Vec<(usize, f64)>> = vec![Vec::new(); kept.iter().product()];
    for (flat, &v) in x.iter().enumerate() {
        let (mut rem, mut idx) = (flat, vec![0; s.len()]);
        for a in (0..s.len()).rev() {
            idx[a] = rem % s[a];
            rem /= s[a];
        }
        let (mut slot, mut red) = (0, 0);
        for a in 0..s.len() {
            if axes.contains(&a) {
                red = red * s[a] + idx[a]
            } else {
                slot = slot * s[a] + idx[a]
            }
        }
        groups[slot].push((red, v));
    }
    groups
        .iter()
        .map(|g| {
            let vs: Vec<f64> = g.iter().map(|p| p.1).collect();
            let n = vs.len() as f64;
            let mean = vs.iter().sum::<f64>() / n;
            let m2: f64 = vs.iter().map(|v| (v - mean) * (v - mean)).sum();
            let nan_first = vs.iter().position(|v| v.is_nan());
            let arg = |better: fn(f64, f64) -> bool| {
                nan_first.unwrap_or_else(|| {
                    (0..vs.len()).fold(0, |b, i| if better(vs[i], vs[b]) { i } else { b })
                }) as f64
            };
            match op {
                ReduceOp::Sum => vs.iter().sum(),
                ReduceOp::Prod => vs.iter().product(),
                ReduceOp::Min => nan_first.map_or_else(
                    || vs.iter().cloned().fold(f64::INFINITY, f64::min),
                    |_| f64::NAN,
                ),
                ReduceOp::Max => nan_first.map_or_else(
                    || vs.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
                    |_| f64::NAN,
                ),
                ReduceOp::Mean => mean,
                ReduceOp::Var { ddof } => m2 / (n - ddof as f64),
                ReduceOp::Std { ddof } => (m2 / (n - ddof as f64)).sqrt(),
                ReduceOp::ArgMin => g[arg(|a, b| a < b) as usize].0 as f64,
                ReduceOp::ArgMax => g[arg(|a, b| a > b) as usize].0 as f64,
                ReduceOp::Any => vs.iter().any(|&v| v != 0.0) as u8 as f64,
                ReduceOp::All => vs.iter().all(|&v| v != 0.0) as u8 as f64,
            }
        })
        .collect()
}

fn as_f64(h: &HostArray) -> Vec<f64> {
    vals::<f64>(&cast_host(h, DType::F64).unwrap())
}

fn data(n: usize, seed: u64) -> Vec<f64> {
    (0..n)
        .map(|i| (((i as u64 * 2654435761 + seed) % 97) as f64 - 48.0) / 8.0)
        .collect()
}

#[test]
fn every_op_matches_reference_over_axis_sets() {
    let s = [3usize, 4, 5];
    let x = data(60, 7);
    for axes in [
        vec![0],
        vec![1],
        vec![2],
        vec![0, 1],
        vec![0, 2],
        vec![1, 2],
        vec![0, 1, 2],
        vec![],
    ] {
        for op in OPS {
            let input = if matches!(op, ReduceOp::Any | ReduceOp::All) {
                cast_host(&arr(x.clone(), &s), DType::Bool).unwrap()
            } else {
                arr(x.iter().map(|&v| v as f32).collect::<Vec<f32>>(), &s)
            };
            let got = one_shot(op, &axes, &input).unwrap();
            assert_eq!(
                got.shape().as_slice(),
                dropped(&s, &axes).as_slice(),
                "{op:?} {axes:?}"
            );
            assert_eq!(got.dtype(), op.out_dtype(input.dtype()));
            assert_close(
                &as_f64(&got),
                &reference(op, &as_f64(&input), &s, &axes),
                1e-5,
            );
        }
    }
}

#[test]
fn partial_states_have_keepdims_shapes_and_components() {
    let x = arr(data(24, 1), &[2, 3, 4]);
    for op in OPS
        .into_iter()
        .filter(|op| !matches!(op, ReduceOp::Any | ReduceOp::All))
    {
        let states = partial_of(op, &[0, 2], &x, &[0, 0, 0], &[2, 3, 4]).unwrap();
        let specs = tilework_core::kernel::reduce_state_specs(op, DType::F64, &[1, 3, 1]);
        assert_eq!(states.len(), specs.len(), "{op:?}");
        for (st, sp) in states.iter().zip(&specs) {
            assert_eq!(
                (st.dtype(), st.shape()),
                (sp.dtype, sp.shape.clone()),
                "{op:?}"
            );
        }
    }
}

#[test]
fn combined_chunks_equal_one_shot() {
    // (6, 5) i32 split into chunks along both axes; reduce over axis 0, over axis 1, and both.
    let s = [6usize, 5];
    let x = arr(
        data(30, 3)
            .iter()
            .map(|&v| (v * 8.0) as i32)
            .collect::<Vec<_>>(),
        &s,
    );
    let cuts = [(0, 0, 2, 5), (2, 0, 4, 5)];
    for op in OPS
        .into_iter()
        .filter(|op| !matches!(op, ReduceOp::Any | ReduceOp::All))
    {
        // Chunks along the reduced axis 0: rows [0, 2) and [2, 6).
        let states: Vec<Vec<HostArray>> = cuts
            .iter()
            .map(|&(r0, c0, nr, nc)| {
                let region = Region {
                    start: shape(&[r0, c0]),
                    shape: shape(&[nr, nc]),
                };
                partial_of(op, &[0], &host_slice(&x, &region).unwrap(), &[r0, c0], &s).unwrap()
            })
            .collect();
        let merged = combine_of(op, &states).unwrap();
        let got = finalize_of(op, &merged, DType::I32, &[5]).unwrap();
        let want = one_shot(op, &[0], &x).unwrap();
        assert_close(&as_f64(&got), &as_f64(&want), 1e-12);
        // Chunks along axis 1, full reduction: argmin/argmax must report global flat indices.
        let states: Vec<Vec<HostArray>> = [(0, 3), (3, 2)]
            .iter()
            .map(|&(c0, nc)| {
                let region = Region {
                    start: shape(&[0, c0]),
                    shape: shape(&[6, nc]),
                };
                partial_of(op, &[0, 1], &host_slice(&x, &region).unwrap(), &[0, c0], &s).unwrap()
            })
            .collect();
        let got = finalize_of(op, &combine_of(op, &states).unwrap(), DType::I32, &[]).unwrap();
        assert_close(
            &as_f64(&got),
            &as_f64(&one_shot(op, &[0, 1], &x).unwrap()),
            1e-12,
        );
    }
}

#[test]
fn argmin_ties_and_nan() {
    let x = arr(vec![3.0f64, 1.0, 1.0, 5.0, 5.0], &[5]);
    assert_eq!(
        vals::<i64>(&one_shot(ReduceOp::ArgMin, &[0], &x).unwrap()),
        vec![1]
    );
    assert_eq!(
        vals::<i64>(&one_shot(ReduceOp::ArgMax, &[0], &x).unwrap()),
        vec![3]
    );
    let y = arr(vec![3.0f32, f32::NAN, 0.0, f32::NAN], &[4]);
    assert_eq!(
        vals::<i64>(&one_shot(ReduceOp::ArgMin, &[0], &y).unwrap()),
        vec![1]
    );
    assert_eq!(
        vals::<i64>(&one_shot(ReduceOp::ArgMax, &[0], &y).unwrap()),
        vec![1]
    );
    assert!(vals::<f32>(&one_shot(ReduceOp::Min, &[0], &y).unwrap())[0].is_nan());
    // Axis-0 argmin (the row-update path) with ties and a NaN in column 1.
    let z = arr(vec![2.0f64, 1.0, 1.0, f64::NAN, 1.0, 0.0], &[3, 2]);
    assert_eq!(
        vals::<i64>(&one_shot(ReduceOp::ArgMin, &[0], &z).unwrap()),
        vec![1, 1]
    );
    assert_eq!(
        vals::<i64>(&one_shot(ReduceOp::ArgMax, &[0], &z).unwrap()),
        vec![0, 1]
    );
    // Combining states out of order still prefers the first occurrence.
    let a = partial_of(ReduceOp::ArgMin, &[0], &arr(vec![1.0f64], &[1]), &[3], &[5]).unwrap();
    let b = partial_of(ReduceOp::ArgMin, &[0], &arr(vec![1.0f64], &[1]), &[1], &[5]).unwrap();
    let merged = combine_of(ReduceOp::ArgMin, &[a, b]).unwrap();
    assert_eq!(vals::<i64>(&merged[1]), vec![1]);
}

#[test]
fn variance_with_ddof_and_empty_reductions() {
    let x = arr(vec![1.0f64, 2.0, 3.0, 4.0], &[4]);
    let var = |ddof| vals::<f64>(&one_shot(ReduceOp::Var { ddof }, &[0], &x).unwrap())[0];
    assert_eq!((var(0), var(1)), (1.25, 5.0 / 3.0));
    // NumPy divides by max(n - ddof, 0): spread data gives inf, constant data 0/0.
    assert_eq!((var(4), var(5)), (f64::INFINITY, f64::INFINITY));
    let c = arr(vec![2.0f64; 3], &[3]);
    assert!(vals::<f64>(&one_shot(ReduceOp::Var { ddof: 3 }, &[0], &c).unwrap())[0].is_nan());
    let e = arr(Vec::<f32>::new(), &[0, 3]);
    assert_eq!(
        vals::<f32>(&one_shot(ReduceOp::Sum, &[0], &e).unwrap()),
        vec![0.0; 3]
    );
    assert_eq!(
        vals::<f32>(&one_shot(ReduceOp::Prod, &[0], &e).unwrap()),
        vec![1.0; 3]
    );
    assert!(
        vals::<f32>(&one_shot(ReduceOp::Mean, &[0], &e).unwrap())
            .iter()
            .all(|v| v.is_nan())
    );
    for op in [
        ReduceOp::Min,
        ReduceOp::Max,
        ReduceOp::ArgMin,
        ReduceOp::ArgMax,
    ] {
        let err = one_shot(op, &[0], &e).unwrap_err();
        assert!(err.to_string().contains("zero-size array"), "{err}");
        // Reducing the non-empty axis of an empty array is fine (no slots).
        assert_eq!(one_shot(op, &[1], &e).unwrap().len(), 0);
    }
    let eb = arr(Vec::<bool>::new(), &[0]);
    assert_eq!(
        vals::<bool>(&one_shot(ReduceOp::Any, &[0], &eb).unwrap()),
        vec![false]
    );
    assert_eq!(
        vals::<bool>(&one_shot(ReduceOp::All, &[0], &eb).unwrap()),
        vec![true]
    );
    // any/all need bool input; bad axes are errors.
    assert!(one_shot(ReduceOp::Any, &[0], &x).is_err());
    assert!(one_shot(ReduceOp::Sum, &[1], &x).is_err());
    assert!(
        partial_of(
            ReduceOp::Sum,
            &[0, 0],
            &arr(vec![1.0f64; 4], &[2, 2]),
            &[0, 0],
            &[2, 2]
        )
        .is_err()
    );
}

#[test]
fn integer_sums_and_min_max_keep_exact_values() {
    let x = arr(vec![i64::MAX, 1, -5], &[3]);
    assert_eq!(
        vals::<i64>(&one_shot(ReduceOp::Sum, &[0], &x).unwrap()),
        vec![i64::MAX.wrapping_add(1).wrapping_sub(5)]
    );
    assert_eq!(
        vals::<i64>(&one_shot(ReduceOp::Min, &[0], &x).unwrap()),
        vec![-5]
    );
    let u = arr(vec![200u8, 100, 7], &[3]);
    assert_eq!(
        vals::<i64>(&one_shot(ReduceOp::Sum, &[0], &u).unwrap()),
        vec![307]
    );
    assert_eq!(
        vals::<u8>(&one_shot(ReduceOp::Max, &[0], &u).unwrap()),
        vec![200]
    );
    let b = arr(vec![true, true, false], &[3]);
    assert_eq!(
        vals::<i64>(&one_shot(ReduceOp::Sum, &[0], &b).unwrap()),
        vec![2]
    );
}

#[test]
fn fused_partial_equals_reduction_of_materialized_expression() {
    // sum(sqrt(abs(x)) * y) over axis 1, y broadcast from (1, 7).
    let mut e = Expr::builder(2);
    let x = e.push(ExprNode::Input(0), DType::F64);
    let a = e.push(ExprNode::Unary(UnaryOp::Abs, x), DType::F64);
    let r = e.push(ExprNode::Unary(UnaryOp::Sqrt, a), DType::F64);
    let y = e.push(ExprNode::Input(1), DType::F64);
    e.push(
        ExprNode::Binary(tilework_core::BinaryOp::Mul, r, y),
        DType::F64,
    );
    let xs = arr(data(5 * 7, 11), &[5, 7]);
    let ys = arr(data(7, 2), &[1, 7]);
    let full = crate::elementwise::elementwise(&e, &[&xs, &ys], &[5, 7]).unwrap();
    for op in [ReduceOp::Sum, ReduceOp::Var { ddof: 0 }, ReduceOp::ArgMax] {
        let stage = ReduceStage::Partial {
            expr: Some(e.clone()),
            chunk_shape: shape(&[5, 7]),
            chunk_start: shape(&[0, 0]),
            global_shape: shape(&[5, 7]),
        };
        let states = reduce(op, &[1], &stage, &[&xs, &ys]).unwrap();
        let got = finalize_of(op, &states, DType::F64, &[5]).unwrap();
        assert_close(
            &as_f64(&got),
            &as_f64(&one_shot(op, &[1], &full).unwrap()),
            1e-12,
        );
    }
    // A constant-root expression reduces too.
    let mut c = Expr::builder(0);
    c.push(ExprNode::Const(Scalar::F32(0.5)), DType::F32);
    let stage = ReduceStage::Partial {
        expr: Some(c),
        chunk_shape: shape(&[3000]),
        chunk_start: shape(&[0]),
        global_shape: shape(&[3000]),
    };
    let states = reduce(ReduceOp::Sum, &[0], &stage, &[]).unwrap();
    assert_eq!(vals::<f64>(&states[0]), vec![1500.0]);
}

#[test]
fn large_reductions_are_accurate_and_thread_count_independent() {
    let (n0, n1) = (700, 1500);
    let xs: Vec<f32> = (0..n0 * n1)
        .map(|i| ((i * 7919) % 10007) as f32 * 1e-3 + 100.0)
        .collect();
    let x = arr(xs.clone(), &[n0, n1]);
    let run = |threads: usize, op: ReduceOp, axes: &[usize]| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let states = partial_of(op, axes, &x, &[0, 0], &[n0, n1]).unwrap();
            states.iter().flat_map(as_f64).collect::<Vec<f64>>()
        })
    };
    for axes in [vec![0, 1], vec![0], vec![1]] {
        for op in [
            ReduceOp::Sum,
            ReduceOp::Var { ddof: 0 },
            ReduceOp::Max,
            ReduceOp::ArgMin,
        ] {
            let one = run(1, op, &axes);
            let three = run(3, op, &axes);
            assert!(
                one.iter()
                    .zip(&three)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "{op:?} {axes:?}"
            );
        }
    }
    let xd: Vec<f64> = xs.iter().map(|&v| v as f64).collect();
    for (op, axes) in [
        (ReduceOp::Sum, vec![0, 1]),
        (ReduceOp::Std { ddof: 0 }, vec![0, 1]),
        (ReduceOp::Mean, vec![0]),
        (ReduceOp::Std { ddof: 0 }, vec![0]),
    ] {
        let got = one_shot(op, &axes, &x).unwrap();
        assert_close(&as_f64(&got), &reference(op, &xd, &[n0, n1], &axes), 1e-6);
    }
}

#[test]
fn large_reduction_over_no_axes_is_elementwise() {
    let n = 600_000;
    let x = arr((0..n).map(|i| (i % 1013) as f32).collect::<Vec<_>>(), &[n]);
    let got = one_shot(ReduceOp::Max, &[], &x).unwrap();
    assert_eq!(vals::<f32>(&got), vals::<f32>(&x));
}

mod props {
    use super::*;
    use proptest::prelude::*;

    fn case() -> impl Strategy<Value = (Vec<usize>, Vec<usize>, usize, usize, usize)> {
        proptest::collection::vec(1usize..6, 1..4).prop_flat_map(|s| {
            let rank = s.len();
            (
                Just(s),
                proptest::sample::subsequence((0..rank).collect::<Vec<_>>(), 0..=rank),
                0..rank,
                0usize..7,
                any::<usize>(),
            )
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

        /// Two chunks split along `split_axis`, reduced, combined and finalized, equal the
        /// reference over the whole array (argmin/argmax report global indices).
        #[test]
        fn chunked_reductions_match_reference((s, axes, split_axis, op_i, seed) in case()) {
            // Chunks combined by one task cover the same output slots: split a reduced axis.
            prop_assume!(axes.contains(&split_axis));
            let op = OPS[op_i % 9];
            let n: usize = s.iter().product();
            let x = arr(data(n, seed as u64 % 1000), &s);
            let cut = s[split_axis] / 2;
            let mut states = Vec::new();
            for (lo, len) in [(0, cut), (cut, s[split_axis] - cut)] {
                if len == 0 {
                    continue;
                }
                let mut start = vec![0; s.len()];
                let mut shape_ = s.clone();
                start[split_axis] = lo;
                shape_[split_axis] = len;
                let region = Region { start: shape(&start), shape: shape(&shape_) };
                let chunk = host_slice(&x, &region).unwrap();
                states.push(partial_of(op, &axes, &chunk, &start, &s).unwrap());
            }
            let merged = if states.len() > 1 { combine_of(op, &states).unwrap() } else { states.remove(0) };
            let got = finalize_of(op, &merged, DType::F64, &dropped(&s, &axes)).unwrap();
            let want = reference(op, &as_f64(&x), &s, &axes);
            let got = as_f64(&got);
            for (g, w) in got.iter().zip(&want) {
                prop_assert!((g.is_nan() && w.is_nan()) || (g - w).abs() <= 1e-9 * w.abs().max(1.0), "{op:?} {s:?} {axes:?}: {got:?} vs {want:?}");
            }
        }
    }
}

#[test]
fn moments_of_infinities_merge_as_numpy_means() {
    use folds::Moments;
    let (inf, nan) = (f64::INFINITY, f64::NAN);
    let one = |v: f64| Moments {
        n: 1.0,
        mean: v,
        m2: 0.0,
    };
    let mean = |vs: &[f64]| {
        vs.iter()
            .map(|&v| one(v))
            .fold(Moments::default(), Moments::merge)
            .mean
    };
    assert_eq!(mean(&[-inf, 1.0, 2.0, 3.0]), -inf);
    assert_eq!(mean(&[1.0, inf, inf]), inf);
    assert!(mean(&[inf, -inf]).is_nan() && mean(&[1.0, nan]).is_nan());
    assert_eq!(mean(&[-1e308, 1e308]), 0.0);
    // Finite data keeps Chan's update exactly.
    assert_eq!(
        mean(&[1.0, 2.0, 4.0]),
        1.0 + 0.5 + (4.0 - 1.5) * (1.0 / 3.0)
    );
    // Row by row (Welford), inside one chunk: axis 0 of [[-inf, 1], [2, inf]].
    let x = arr(vec![-inf, 1.0, 2.0, inf], &[2, 2]);
    let got = vals::<f64>(&one_shot(ReduceOp::Mean, &[0], &x).unwrap());
    assert_eq!(got, vec![-inf, inf]);
    let var = vals::<f64>(&one_shot(ReduceOp::Var { ddof: 0 }, &[0], &x).unwrap());
    assert!(var.iter().all(|v| v.is_nan()), "{var:?}");
}
