//! Fill, Arange, Eye, Random and HostSlice against the CPU backend.

use crate::common::*;
use std::sync::Arc;
use tilework_core::{
    Backend, DType, Distribution, Error, HostArray, Kernel, Region, Scalar, Shape,
};

/// (chunk shape, chunk start, global shape): whole arrays, inner chunks, ragged edges, empty.
const CHUNKS: [(&[usize], &[usize], &[usize]); 7] = [
    (&[], &[], &[]),
    (&[0], &[0], &[0]),
    (&[1], &[0], &[1]),
    (&[100], &[0], &[100]),
    (&[7, 9], &[3, 10], &[12, 30]),
    (&[3, 4, 5], &[1, 0, 7], &[5, 4, 13]),
    (&[2, 1000], &[0, 999_000], &[2, 1_000_000]),
];

#[test]
fn fill_every_dtype() {
    for gpu in gpus() {
        for dtype in gpu.caps().dtypes.clone() {
            for v in [0.0, 1.0, -2.5, 300.7, f64::NAN, f64::NEG_INFINITY] {
                for (dims, _, _) in CHUNKS {
                    let value = Scalar::F64(v).cast(dtype);
                    let k = Kernel::Fill { value };
                    let (g, c) = run_both(&gpu, &k, &[], &[spec(dtype, dims)], false).unwrap();
                    assert_close(
                        &g[0],
                        &c[0],
                        Tol::Exact,
                        &format!("fill {dtype} {v} {dims:?}"),
                    );
                }
            }
        }
    }
}

#[test]
fn fill_past_65535_workgroups_uses_a_2d_grid() {
    let Some(gpu) = gpu() else { return };
    // 2^24 + 3 elements = 65537 workgroups of 256.
    let n = (1 << 24) + 3;
    let k = Kernel::Fill {
        value: Scalar::F32(1.5),
    };
    let out = gpu.launch(&k, &[], &[spec(DType::F32, &[n])]).unwrap();
    let host = gpu.download(&out[0]).unwrap();
    let a = host.typed::<f32>().unwrap();
    assert_eq!(a.len(), n);
    assert!(a.iter().all(|&v| v == 1.5), "every element written");
    gpu.free(out.into_iter().next().unwrap());
}

fn arange(start: f64, step: f64, last: Option<(u64, f64)>, c: &[usize], g: &[usize]) -> Kernel {
    Kernel::Arange {
        start,
        step,
        last,
        chunk_start: Shape::from_slice(c),
        global_shape: Shape::from_slice(g),
    }
}

#[test]
fn arange_every_dtype_and_chunking() {
    for gpu in gpus() {
        if !gpu.caps().dtypes.contains(&DType::F64) {
            let k = arange(0.0, 1.0, None, &[0], &[4]);
            let e = gpu.launch(&k, &[], &[spec(DType::F32, &[4])]).unwrap_err();
            assert!(matches!(e, Error::DTypeUnsupported { .. }), "{e}");
            continue;
        }
        for dtype in gpu.caps().dtypes.clone() {
            for (start, step) in [(0.0, 1.0), (-3.25, 0.1), (1e9, -7.3), (0.5, 1.0 / 3.0)] {
                for (dims, cs, gs) in CHUNKS {
                    let total: usize = gs.iter().product();
                    let last = (total > 1).then(|| ((total - 1) as u64, 42.0));
                    let k = arange(start, step, last, cs, gs);
                    let (g, c) = run_both(&gpu, &k, &[], &[spec(dtype, dims)], false).unwrap();
                    let what = format!("arange {dtype} {start} {step} {dims:?}@{cs:?}");
                    assert_close(&g[0], &c[0], Tol::Exact, &what);
                }
            }
        }
    }
}

#[test]
fn arange_chunk_outside_the_array_is_an_error() {
    let Some(gpu) = gpu() else { return };
    let k = arange(0.0, 1.0, None, &[3], &[4]);
    assert!(gpu.launch(&k, &[], &[spec(DType::F64, &[2])]).is_err());
}

#[test]
fn eye_every_dtype_offset_and_chunk() {
    for gpu in gpus() {
        for dtype in gpu.caps().dtypes.clone() {
            for k in [-5i64, -1, 0, 1, 3, 1 << 40, -(1 << 40)] {
                for (dims, start) in [
                    (&[4usize, 4][..], &[0usize, 0][..]),
                    (&[3, 7], &[2, 5]),
                    (&[0, 5], &[0, 0]),
                    (&[1, 1], &[9, 9]),
                    (&[300, 2], &[1000, 0]),
                ] {
                    let kernel = Kernel::Eye {
                        k,
                        chunk_start: Shape::from_slice(start),
                    };
                    let (g, c) = run_both(&gpu, &kernel, &[], &[spec(dtype, dims)], false).unwrap();
                    let what = format!("eye {dtype} k={k} {dims:?}@{start:?}");
                    assert_close(&g[0], &c[0], Tol::Exact, &what);
                }
            }
        }
        let kernel = Kernel::Eye {
            k: 0,
            chunk_start: Shape::from_slice(&[0]),
        };
        assert!(gpu.launch(&kernel, &[], &[spec(DType::F32, &[4])]).is_err());
    }
}

fn random(seed: u64, dist: Distribution, c: &[usize], g: &[usize]) -> Kernel {
    Kernel::Random {
        seed,
        dist,
        chunk_start: Shape::from_slice(c),
        global_shape: Shape::from_slice(g),
    }
}

#[test]
fn random_matches_the_cpu_bit_for_bit() {
    let dists = [
        Distribution::Uniform {
            low: -2.0,
            high: 3.5,
        },
        Distribution::Uniform {
            low: 0.0,
            high: 1.0,
        },
        Distribution::Integers { low: -5, high: 17 },
        Distribution::Integers {
            low: -(1 << 40),
            high: 1 << 50,
        },
        Distribution::Integers { low: 0, high: 2 },
    ];
    let mut checked = 0;
    for gpu in gpus() {
        for dtype in gpu.caps().dtypes.clone() {
            for dist in dists {
                for (dims, cs, gs) in CHUNKS {
                    for seed in [0u64, 42, u64::MAX] {
                        let k = random(seed, dist, cs, gs);
                        let outs = [spec(dtype, dims)];
                        match run_both(&gpu, &k, &[], &outs, false) {
                            Ok((g, c)) => {
                                let what = format!("random {dist:?} {dtype} {dims:?}@{cs:?}");
                                assert_close(&g[0], &c[0], Tol::Exact, &what);
                                checked += 1;
                            }
                            // Left to the CPU: float outputs of wide integer ranges, and the
                            // f64 formula on a device without f64.
                            Err(Error::DTypeUnsupported { .. }) => {
                                let wide = matches!(dist, Distribution::Integers { low, .. } if low < -(1 << 24));
                                let f64_formula = matches!(dist, Distribution::Uniform { .. })
                                    && !matches!(dtype, DType::F16 | DType::F32);
                                assert!(
                                    (dtype.is_float() && wide)
                                        || (f64_formula
                                            && !gpu.caps().dtypes.contains(&DType::F64)),
                                    "{dist:?} {dtype} unsupported"
                                );
                            }
                            Err(e) => panic!("{e}"),
                        }
                    }
                }
            }
        }
    }
    assert!(checked > 0 || gpu().is_none());
}

#[test]
fn random_normal_f32_and_f16_within_math_tolerance() {
    for gpu in gpus() {
        for (dtype, tol) in [(DType::F32, F32_MATH), (DType::F16, F16_MATH)] {
            let dist = Distribution::Normal {
                mean: 1.5,
                std: 2.0,
            };
            for (dims, cs, gs) in CHUNKS {
                let k = random(7, dist, cs, gs);
                let (g, c) = run_both(&gpu, &k, &[], &[spec(dtype, dims)], false).unwrap();
                // Box-Muller's log near u1 = 1 amplifies absolute error: compare in absolute terms.
                let tol = match tol {
                    Tol::Close { rtol, .. } => Tol::Close { rtol, atol: 2e-5 },
                    t => t,
                };
                assert_close(&g[0], &c[0], tol, &format!("normal {dtype} {dims:?}"));
            }
        }
        let k = random(
            7,
            Distribution::Normal {
                mean: 0.0,
                std: 1.0,
            },
            &[0],
            &[4],
        );
        let e = gpu.launch(&k, &[], &[spec(DType::F64, &[4])]).unwrap_err();
        assert!(matches!(e, Error::DTypeUnsupported { .. }), "{e}");
    }
}

#[test]
fn random_same_values_whatever_the_chunking() {
    let Some(gpu) = gpu() else { return };
    let dist = Distribution::Uniform {
        low: 0.0,
        high: 1.0,
    };
    let whole = gpu
        .launch(
            &random(3, dist, &[0, 0], &[6, 10]),
            &[],
            &[spec(DType::F32, &[6, 10])],
        )
        .unwrap();
    let part = gpu
        .launch(
            &random(3, dist, &[2, 4], &[6, 10]),
            &[],
            &[spec(DType::F32, &[3, 5])],
        )
        .unwrap();
    let whole = gpu.download(&whole[0]).unwrap();
    let part = gpu.download(&part[0]).unwrap();
    let (w, p) = (whole.typed::<f32>().unwrap(), part.typed::<f32>().unwrap());
    for r in 0..3 {
        for c in 0..5 {
            assert_eq!(p[[r, c]], w[[r + 2, c + 4]]);
        }
    }
}

#[test]
fn host_slice_copies_the_region() {
    let Some(gpu) = gpu() else { return };
    let mut rng = Rng::new(5);
    for dtype in gpu.caps().dtypes.clone() {
        let data = Arc::new(random_host(
            dtype,
            &[6, 7],
            Domain::Range(-9.0, 9.0),
            &mut rng,
        ));
        let region = Region {
            start: Shape::from_slice(&[1, 2]),
            shape: Shape::from_slice(&[4, 3]),
        };
        let k = Kernel::HostSlice {
            data: data.clone(),
            region,
        };
        let (g, c) = run_both(&gpu, &k, &[], &[spec(dtype, &[4, 3])], false).unwrap();
        assert_close(&g[0], &c[0], Tol::Exact, &format!("host_slice {dtype}"));
    }
    let k = Kernel::HostSlice {
        data: Arc::new(HostArray::zeros(DType::F32, &[2])),
        region: Region {
            start: Shape::from_slice(&[1]),
            shape: Shape::from_slice(&[2]),
        },
    };
    assert!(gpu.launch(&k, &[], &[spec(DType::F32, &[2])]).is_err());
}
