use super::*;
use crate::testutil::{arr, shape, spec, vals};
use std::sync::Arc;
use tilework_core::Scalar;

fn arange(
    dtype: DType,
    chunk: &[usize],
    start: &[usize],
    global: &[usize],
    last: Option<(u64, f64)>,
) -> Result<HostArray> {
    let k = Kernel::Arange {
        start: -1.0,
        step: 0.5,
        last,
        chunk_start: shape(start),
        global_shape: shape(global),
    };
    run(&k, &spec(dtype, chunk))
}

fn random_chunk(
    dtype: DType,
    dist: Distribution,
    start: usize,
    len: usize,
    global: usize,
) -> HostArray {
    let k = Kernel::Random {
        seed: 42,
        dist,
        chunk_start: shape(&[start]),
        global_shape: shape(&[global]),
    };
    run(&k, &spec(dtype, &[len])).unwrap()
}

#[test]
fn arange_uses_global_flat_indices_and_casts() {
    // Chunk rows 1..3, cols 2..4 of a (3, 5) array: flat indices 7, 8, 12, 13.
    let got = arange(DType::F64, &[2, 2], &[1, 2], &[3, 5], None).unwrap();
    assert_eq!(vals::<f64>(&got), vec![2.5, 3.0, 5.0, 5.5]);
    let got = arange(DType::I32, &[2, 2], &[1, 2], &[3, 5], Some((13, 100.7))).unwrap();
    assert_eq!(vals::<i32>(&got), vec![2, 3, 5, 100]);
    let got = arange(DType::U8, &[3], &[0], &[3], None).unwrap();
    // -1.0 as u8 wraps like NumPy's astype (255); -0.5 truncates to 0.
    assert_eq!(vals::<u8>(&got), vec![255, 0, 0]);
    assert!(arange(DType::F32, &[2, 2], &[2, 2], &[3, 5], None).is_err());
    assert_eq!(
        arange(DType::F32, &[], &[], &[], None)
            .map(|h| vals::<f32>(&h))
            .unwrap(),
        vec![-1.0]
    );
    // A large chunk takes the parallel path and still matches.
    let got = arange(DType::F64, &[300, 200], &[0, 0], &[300, 200], None).unwrap();
    assert!(
        vals::<f64>(&got)
            .iter()
            .enumerate()
            .all(|(i, &v)| v == -1.0 + i as f64 * 0.5)
    );
}

#[test]
fn eye_offsets() {
    let k = Kernel::Eye {
        k: 1,
        chunk_start: shape(&[1, 0]),
    };
    let got = run(&k, &spec(DType::F32, &[2, 4])).unwrap();
    // Global rows 1 and 2: ones at columns 2 and 3.
    assert_eq!(
        vals::<f32>(&got),
        vec![0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0]
    );
    let k = Kernel::Eye {
        k: -5,
        chunk_start: shape(&[0, 0]),
    };
    assert_eq!(
        vals::<bool>(&run(&k, &spec(DType::Bool, &[2, 2])).unwrap()),
        vec![false; 4]
    );
    let bad = Kernel::Eye {
        k: 0,
        chunk_start: shape(&[0]),
    };
    assert!(run(&bad, &spec(DType::F32, &[3])).is_err());
}

#[test]
fn random_is_chunking_independent() {
    let dists = [
        Distribution::Uniform {
            low: -2.0,
            high: 3.0,
        },
        Distribution::Normal {
            mean: 1.0,
            std: 2.0,
        },
        Distribution::Integers { low: -5, high: 7 },
    ];
    for dist in dists {
        for dtype in [
            DType::F32,
            DType::F64,
            DType::F16,
            DType::I64,
            DType::I32,
            DType::U8,
        ] {
            let whole = random_chunk(dtype, dist, 0, 10, 10);
            let a = random_chunk(dtype, dist, 0, 4, 10);
            let b = random_chunk(dtype, dist, 4, 6, 10);
            with_dtype!(dtype, T => {
                let mut joined = vals::<T>(&a);
                joined.extend(vals::<T>(&b));
                let w = vals::<T>(&whole);
                let bits = |v: &[T]| format!("{v:?}");
                assert_eq!(bits(&joined), bits(&w), "{dist:?} {dtype}");
            });
        }
    }
}

#[test]
fn random_formulas_are_the_documented_ones() {
    let w = philox_words(42, 3);
    let u = random_chunk(
        DType::F32,
        Distribution::Uniform {
            low: 1.0,
            high: 2.0,
        },
        3,
        1,
        4,
    );
    assert_eq!(
        vals::<f32>(&u)[0].to_bits(),
        (1.0f32 + 1.0f32 * unit_f32(w[0])).to_bits()
    );
    let u = random_chunk(
        DType::F64,
        Distribution::Uniform {
            low: 1.0,
            high: 2.0,
        },
        3,
        1,
        4,
    );
    assert_eq!(vals::<f64>(&u)[0], 1.0 + unit_f64(w[0], w[1]));
    let i = random_chunk(
        DType::I64,
        Distribution::Integers { low: 10, high: 13 },
        3,
        1,
        4,
    );
    assert_eq!(
        vals::<i64>(&i)[0],
        10 + ((w[0] as u64 | (w[1] as u64) << 32) % 3) as i64
    );
    let n = random_chunk(
        DType::F64,
        Distribution::Normal {
            mean: 0.0,
            std: 1.0,
        },
        3,
        1,
        4,
    );
    let (u1, u2) = (1.0 - unit_f64(w[0], w[1]), unit_f64(w[2], w[3]));
    assert_eq!(
        vals::<f64>(&n)[0],
        (-2.0 * u1.ln()).sqrt() * (TAU64 * u2).cos()
    );
}

#[test]
fn random_distributions_have_the_right_moments() {
    let n = 200_000;
    let stats = |v: Vec<f64>| {
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / v.len() as f64;
        (
            mean,
            var.sqrt(),
            v.iter().cloned().fold(f64::INFINITY, f64::min),
            v.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
        )
    };
    let u = random_chunk(
        DType::F64,
        Distribution::Uniform {
            low: -2.0,
            high: 3.0,
        },
        0,
        n,
        n,
    );
    let (m, s, lo, hi) = stats(vals::<f64>(&u));
    assert!(
        (m - 0.5).abs() < 0.02 && (s - 5.0 / 12f64.sqrt()).abs() < 0.02 && lo >= -2.0 && hi < 3.0
    );
    let g = random_chunk(
        DType::F32,
        Distribution::Normal {
            mean: 1.0,
            std: 2.0,
        },
        0,
        n,
        n,
    );
    let (m, s, _, _) = stats(vals::<f32>(&g).iter().map(|&v| v as f64).collect());
    assert!((m - 1.0).abs() < 0.02 && (s - 2.0).abs() < 0.02, "{m} {s}");
    let i = random_chunk(
        DType::I32,
        Distribution::Integers { low: -5, high: 7 },
        0,
        n,
        n,
    );
    let iv = vals::<i32>(&i);
    assert!(iv.iter().all(|v| (-5..7).contains(v)));
    assert!((-5..7).all(|k| iv.contains(&k)));
    let bad = Kernel::Random {
        seed: 1,
        dist: Distribution::Integers { low: 3, high: 3 },
        chunk_start: shape(&[0]),
        global_shape: shape(&[2]),
    };
    assert!(run(&bad, &spec(DType::I64, &[2])).is_err());
}

#[test]
fn host_slices_copy_regions() {
    let data = Arc::new(arr((0..12).collect::<Vec<i32>>(), &[3, 4]));
    let region = Region {
        start: shape(&[1, 1]),
        shape: shape(&[2, 2]),
    };
    let k = Kernel::HostSlice {
        data: data.clone(),
        region,
    };
    assert_eq!(
        vals::<i32>(&run(&k, &spec(DType::I32, &[2, 2])).unwrap()),
        vec![5, 6, 9, 10]
    );
    let out_of_range = Region {
        start: shape(&[2, 3]),
        shape: shape(&[2, 2]),
    };
    assert!(host_slice(&data, &out_of_range).is_err());
    let overflow = Region {
        start: shape(&[usize::MAX, 0]),
        shape: shape(&[2, 2]),
    };
    assert!(host_slice(&data, &overflow).is_err());
    assert!(
        run(
            &Kernel::Fill {
                value: Scalar::I32(1)
            },
            &spec(DType::I32, &[1])
        )
        .is_err()
    );
}
