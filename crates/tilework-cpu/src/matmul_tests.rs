use super::*;
use crate::testutil::{arr, assert_close, spec, vals};
use half::f16;

/// Naive batched matmul in f64 with NumPy batch broadcasting (batch shapes given explicitly).
fn naive(a: &[f64], sa: &[usize], b: &[f64], sb: &[usize], out_batch: &[usize]) -> Vec<f64> {
    let (m, k, n) = (sa[sa.len() - 2], sa[sa.len() - 1], sb[sb.len() - 1]);
    let sa_b = broadcast_strides(&sa[..sa.len() - 2], out_batch).unwrap();
    let sb_b = broadcast_strides(&sb[..sb.len() - 2], out_batch).unwrap();
    let nb: usize = out_batch.iter().product();
    let mut out = vec![0.0; nb * m * n];
    for bi in 0..nb {
        let (mut ia, mut ib, mut rem) = (0, 0, bi);
        for ax in (0..out_batch.len()).rev() {
            let i = rem % out_batch[ax];
            rem /= out_batch[ax];
            ia += i * sa_b[ax];
            ib += i * sb_b[ax];
        }
        for i in 0..m {
            for j in 0..n {
                let mut acc = 0.0;
                for p in 0..k {
                    acc += a[ia * m * k + i * k + p] * b[ib * k * n + p * n + j];
                }
                out[bi * m * n + i * n + j] = acc;
            }
        }
    }
    out
}

fn data(n: usize, seed: usize) -> Vec<f64> {
    (0..n)
        .map(|i| ((i * 31 + seed * 17) % 23) as f64 - 11.0)
        .collect()
}

fn check<T: Elem>(sa: &[usize], sb: &[usize], out: &[usize]) {
    let (na, nb) = (sa.iter().product(), sb.iter().product());
    let (a, b) = (data(na, 1), data(nb, 2));
    let cast = |v: &[f64]| v.iter().map(|&x| T::cast_from(x)).collect::<Vec<T>>();
    let (ha, hb) = (arr(cast(&a), sa), arr(cast(&b), sb));
    let got = matmul(&[&ha, &hb], &spec(T::DTYPE, out)).unwrap();
    let got: Vec<f64> = vals::<T>(&got).iter().map(|v| v.as_f64()).collect();
    assert_close(&got, &naive(&a, sa, &b, sb, &out[..out.len() - 2]), 1e-6);
}

#[test]
fn matches_naive_for_floats_and_ints() {
    for (sa, sb, out) in [
        (vec![3, 4], vec![4, 5], vec![3, 5]),
        (vec![2, 3, 4], vec![4, 2], vec![2, 3, 2]),
        (vec![4, 1, 3, 2], vec![5, 2, 3], vec![4, 5, 3, 3]),
        (vec![70, 33], vec![33, 65], vec![70, 65]),
    ] {
        check::<f32>(&sa, &sb, &out);
        check::<f64>(&sa, &sb, &out);
        check::<i32>(&sa, &sb, &out);
        check::<i64>(&sa, &sb, &out);
    }
    check::<f16>(&[3, 4], &[4, 2], &[3, 2]);
}

#[test]
fn pairs_accumulate_in_order() {
    let a0 = arr(vec![1.0f64, 2.0, 3.0, 4.0], &[2, 2]);
    let b0 = arr(vec![1.0f64, 0.0, 0.0, 1.0], &[2, 2]);
    let a1 = arr(vec![1.0f64, 1.0], &[2, 1]);
    let b1 = arr(vec![10.0f64, 20.0], &[1, 2]);
    let got = matmul(&[&a0, &b0, &a1, &b1], &spec(DType::F64, &[2, 2])).unwrap();
    assert_eq!(vals::<f64>(&got), vec![11.0, 22.0, 13.0, 24.0]);
    // An empty inner dimension contributes nothing.
    let e0 = arr(Vec::<f64>::new(), &[2, 0]);
    let e1 = arr(Vec::<f64>::new(), &[0, 2]);
    let got = matmul(&[&e0, &e1, &a0, &b0], &spec(DType::F64, &[2, 2])).unwrap();
    assert_eq!(vals::<f64>(&got), vec![1.0, 2.0, 3.0, 4.0]);
    let got = matmul(&[&e0, &e1], &spec(DType::F64, &[2, 2])).unwrap();
    assert_eq!(vals::<f64>(&got), vec![0.0; 4]);
}

#[test]
fn integer_products_wrap() {
    let a = arr(vec![200u8, 3], &[1, 2]);
    let b = arr(vec![2u8, 1], &[2, 1]);
    assert_eq!(
        vals::<u8>(&matmul(&[&a, &b], &spec(DType::U8, &[1, 1])).unwrap()),
        vec![147]
    );
}

#[test]
fn bad_operands_are_errors() {
    let a = arr(vec![1.0f32; 6], &[2, 3]);
    let b = arr(vec![1.0f32; 6], &[2, 3]);
    assert!(matmul(&[&a, &b], &spec(DType::F32, &[2, 3])).is_err());
    assert!(matmul(&[&a], &spec(DType::F32, &[2, 2])).is_err());
    assert!(matmul(&[&a, &b], &spec(DType::F64, &[2, 3])).is_err());
    let v = arr(vec![1.0f32; 3], &[3]);
    assert!(matmul(&[&v, &v], &spec(DType::F32, &[1, 1])).is_err());
    let t = arr(vec![true; 4], &[2, 2]);
    assert!(matches!(
        matmul(&[&t, &t], &spec(DType::Bool, &[2, 2])),
        Err(Error::DTypeUnsupported { .. })
    ));
    // Batch dims that do not broadcast.
    let p = arr(vec![1.0f32; 12], &[3, 2, 2]);
    let q = arr(vec![1.0f32; 8], &[2, 2, 2]);
    assert!(matmul(&[&p, &q], &spec(DType::F32, &[3, 2, 2])).is_err());
}

#[test]
fn results_do_not_depend_on_thread_count() {
    let (m, k, n) = (300, 257, 190);
    let a = arr(
        (0..m * k)
            .map(|i| ((i * 7919) % 1013) as f32 * 1e-3 - 0.5)
            .collect::<Vec<_>>(),
        &[m, k],
    );
    let b = arr(
        (0..k * n)
            .map(|i| ((i * 104729) % 997) as f32 * 1e-3 - 0.5)
            .collect::<Vec<_>>(),
        &[k, n],
    );
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| vals::<f32>(&matmul(&[&a, &b], &spec(DType::F32, &[m, n])).unwrap()))
    };
    let one = run(1);
    for threads in [2, 3, 4] {
        assert!(
            one.iter()
                .zip(run(threads))
                .all(|(x, y)| x.to_bits() == y.to_bits()),
            "{threads} threads"
        );
    }
    // And equal to the single-threaded gemm call.
    let mut single = vec![0f32; m * n];
    gemm_kernel(
        &mut single,
        vals::<f32>(&a).as_slice(),
        vals::<f32>(&b).as_slice(),
        [m, n, k],
        false,
        false,
    );
    assert!(
        one.iter()
            .zip(&single)
            .all(|(x, y)| x.to_bits() == y.to_bits())
    );
}
