//! Shared test plumbing: the GPU (or a printed skip), the CPU oracle, seeded inputs and the
//! tolerance table.

use half::f16;
use tilework_core::{
    Backend, Buffer, BufferSpec, DType, Element, HostArray, Kernel, Result, Shape, with_host_array,
};
use tilework_cpu::CpuBackend;
use tilework_wgpu::{GpuOptions, WgpuBackend};

/// The GPU backend, or `None` after printing why there is none. With `TILEWORK_REQUIRE_GPU=1`
/// a missing adapter fails the test instead.
pub(crate) fn gpu() -> Option<WgpuBackend> {
    gpu_with(&GpuOptions::default())
}

/// Like [`gpu`], with options.
pub(crate) fn gpu_with(options: &GpuOptions) -> Option<WgpuBackend> {
    match WgpuBackend::new(options) {
        Ok(b) => Some(b),
        Err(e) => {
            if std::env::var("TILEWORK_REQUIRE_GPU").is_ok_and(|v| v == "1") {
                panic!("TILEWORK_REQUIRE_GPU=1 but no GPU: {e}");
            }
            eprintln!("skipping GPU test: {e}");
            None
        }
    }
}

/// The backends a conformance test runs on: the default device and, where the adapter has
/// the features, devices without native f16 (f16 stored as bits) and without f64 either (what
/// Metal or GL adapters offer).
pub(crate) fn gpus() -> Vec<WgpuBackend> {
    let Some(main) = gpu() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if main.f16_native() {
        let soft = GpuOptions {
            allow_f16: false,
            ..GpuOptions::default()
        };
        out.extend(gpu_with(&soft));
    }
    if main.caps().dtypes.contains(&DType::F64) {
        let minimal = GpuOptions {
            allow_f16: false,
            allow_f64: false,
            ..GpuOptions::default()
        };
        out.extend(gpu_with(&minimal));
    }
    out.insert(0, main);
    out
}

pub(crate) fn shape(dims: &[usize]) -> Shape {
    Shape::from_slice(dims)
}

pub(crate) fn spec(dtype: DType, dims: &[usize]) -> BufferSpec {
    BufferSpec {
        dtype,
        shape: shape(dims),
    }
}

/// splitmix64: a tiny seeded generator for test inputs.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [lo, hi).
    pub(crate) fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * ((self.next() >> 11) as f64 / (1u64 << 53) as f64)
    }
}

/// How inputs are drawn.
#[derive(Copy, Clone, Debug)]
pub(crate) enum Domain {
    /// Uniform reals in the range (integers: uniform over a range clamped to the dtype).
    Range(f64, f64),
    /// Mostly `Range`, with about one in eight elements special: NaN, +-inf, +-0, extremes.
    WithSpecials(f64, f64),
}

const FLOAT_SPECIALS: [f64; 8] = [
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.5,
];

/// A seeded random array of `dtype` and `dims`.
pub(crate) fn random_host(
    dtype: DType,
    dims: &[usize],
    domain: Domain,
    rng: &mut Rng,
) -> HostArray {
    let n: usize = dims.iter().product();
    let (lo, hi, specials) = match domain {
        Domain::Range(lo, hi) => (lo, hi, false),
        Domain::WithSpecials(lo, hi) => (lo, hi, true),
    };
    let values: Vec<f64> = (0..n)
        .map(|_| {
            if specials && rng.next().is_multiple_of(8) {
                let k = (rng.next() % 8) as usize;
                if dtype.is_float() {
                    FLOAT_SPECIALS[k]
                } else {
                    [
                        0.0,
                        1.0,
                        -1.0,
                        2.0,
                        127.0,
                        255.0,
                        -2147483648.0,
                        4294967295.0,
                    ][k]
                }
            } else {
                rng.uniform(lo, hi)
            }
        })
        .collect();
    tilework_core::with_dtype!(dtype, T => {
        let data: Vec<T> = values
            .iter()
            .map(|&v| {
                let s = if dtype.is_float() || dtype == DType::Bool {
                    tilework_core::Scalar::F64(v)
                } else {
                    tilework_core::Scalar::I64(v.floor() as i64)
                };
                T::from_scalar(s)
            })
            .collect();
        HostArray::from_vec(data, dims).expect("sizes match")
    })
}

/// Tolerances of the GPU against the CPU.
#[derive(Copy, Clone, Debug, PartialEq)]
pub(crate) enum Tol {
    /// Bit for bit (NaN matches any NaN).
    Exact,
    /// `|gpu - cpu| <= atol + rtol * |cpu|`; infinities and NaN must match exactly.
    Close { rtol: f64, atol: f64 },
}

/// f32 transcendentals: the GPU's built-ins against the CPU's vectorized kernels.
pub(crate) const F32_MATH: Tol = Tol::Close {
    rtol: 2e-6,
    atol: 1e-6,
};
/// f16 results computed in f32 may round to a neighbouring f16.
pub(crate) const F16_MATH: Tol = Tol::Close {
    rtol: 1.0 / 1024.0,
    atol: 1e-4,
};

fn values(h: &HostArray) -> Vec<f64> {
    with_host_array!(h, a, _T => a.iter().map(|v| v.into_scalar().to_f64()).collect())
}

fn bits(h: &HostArray) -> Vec<u64> {
    match h {
        HostArray::F16(a) => a.iter().map(|v| u64::from(v.to_bits())).collect(),
        HostArray::F32(a) => a.iter().map(|v| u64::from(v.to_bits())).collect(),
        HostArray::F64(a) => a.iter().map(|v| v.to_bits()).collect(),
        other => values(other).iter().map(|v| *v as i64 as u64).collect(),
    }
}

/// Asserts the GPU result matches the CPU one; returns the largest difference seen, relative
/// to `max(|cpu|, 1)`.
pub(crate) fn assert_close(gpu: &HostArray, cpu: &HostArray, tol: Tol, what: &str) -> f64 {
    assert_eq!(gpu.dtype(), cpu.dtype(), "{what}: dtype");
    assert_eq!(gpu.shape(), cpu.shape(), "{what}: shape");
    let (g, c) = (values(gpu), values(cpu));
    let (gb, cb) = (bits(gpu), bits(cpu));
    let mut worst = 0.0f64;
    for i in 0..g.len() {
        let (x, y) = (g[i], c[i]);
        if x.is_nan() || y.is_nan() {
            assert!(
                x.is_nan() && y.is_nan(),
                "{what}[{i}]: gpu {x:e}, cpu {y:e}"
            );
            continue;
        }
        match tol {
            Tol::Exact => assert!(
                gb[i] == cb[i],
                "{what}[{i}]: gpu {x:e} ({:#x}), cpu {y:e} ({:#x})",
                gb[i],
                cb[i]
            ),
            Tol::Close { rtol, atol } => {
                if x.is_infinite() || y.is_infinite() {
                    assert_eq!(x, y, "{what}[{i}]");
                    continue;
                }
                let d = (x - y).abs();
                assert!(
                    d <= atol + rtol * y.abs(),
                    "{what}[{i}]: gpu {x:e}, cpu {y:e} (diff {d:e})"
                );
                worst = worst.max(d / y.abs().max(1.0));
            }
        }
    }
    worst
}

/// Runs `kernel` on the CPU (host inputs) and on the GPU (inputs uploaded first when
/// `preupload`, otherwise handed over as host buffers) and returns `(gpu, cpu)` outputs.
pub(crate) fn run_both(
    gpu: &WgpuBackend,
    kernel: &Kernel,
    inputs: &[HostArray],
    outputs: &[BufferSpec],
    preupload: bool,
) -> Result<(Vec<HostArray>, Vec<HostArray>)> {
    let cpu = CpuBackend::new();
    let host: Vec<Buffer> = inputs.iter().cloned().map(Buffer::Host).collect();
    let refs: Vec<&Buffer> = host.iter().collect();
    let want = cpu.launch(kernel, &refs, outputs)?;
    let want: Vec<HostArray> = want
        .iter()
        .map(|b| cpu.download(b))
        .collect::<Result<_>>()?;
    let dev: Vec<Buffer> = if preupload {
        inputs
            .iter()
            .map(|h| gpu.upload(h))
            .collect::<Result<_>>()?
    } else {
        host
    };
    let refs: Vec<&Buffer> = dev.iter().collect();
    let got = gpu.launch(kernel, &refs, outputs)?;
    let host_got: Vec<HostArray> = got.iter().map(|b| gpu.download(b)).collect::<Result<_>>()?;
    for b in got.into_iter().chain(dev) {
        gpu.free(b);
    }
    Ok((host_got, want))
}

/// `f16` helper for literal arrays.
pub(crate) fn h(v: f32) -> f16 {
    f16::from_f32(v)
}
