//! The machine's own limits, measured in the same process as the workloads: a STREAM-style triad
//! (memory bandwidth) and a register-only FMA loop (peak f32 compute), both on all threads.

use rayon::ThreadPool;
use std::hint::black_box;
use std::sync::Mutex;
use std::time::Instant;

/// Runs `f` once on every thread of `pool` with that thread's own part (`parts.len()` must equal
/// the thread count): a fixed split, as OpenMP's static schedule in STREAM.
fn on_each_thread<T: Send>(pool: &ThreadPool, parts: Vec<T>, f: impl Fn(T) + Sync) {
    assert_eq!(
        parts.len(),
        pool.current_num_threads(),
        "one part per thread"
    );
    let slots: Vec<Mutex<Option<T>>> = parts.into_iter().map(|p| Mutex::new(Some(p))).collect();
    pool.broadcast(|ctx| {
        let part = slots[ctx.index()].lock().expect("part lock").take();
        if let Some(part) = part {
            f(part);
        }
    });
}

/// Best triad bandwidth in GB/s (`a[i] = b[i] + s * c[i]` over `n` f64 per array, counting
/// 3 x 8 bytes per element as STREAM does), over `passes` passes.
pub(crate) fn triad_gbps(pool: &ThreadPool, n: usize, passes: usize) -> f64 {
    let threads = pool.current_num_threads();
    let part = n.div_ceil(threads);
    // `vec![0.0; n]` maps untouched zero pages; the threads touch their own parts first.
    let (mut a, mut b, mut c) = (vec![0.0f64; n], vec![0.0f64; n], vec![0.0f64; n]);
    let parts: Vec<_> = a
        .chunks_mut(part)
        .zip(b.chunks_mut(part))
        .zip(c.chunks_mut(part))
        .collect();
    on_each_thread(pool, parts, |((a, b), c)| {
        a.fill(0.0);
        b.fill(1.0);
        c.fill(2.0);
    });
    let s = black_box(3.0f64);
    let mut best = f64::INFINITY;
    for _ in 0..passes {
        let parts: Vec<_> = a
            .chunks_mut(part)
            .zip(b.chunks(part))
            .zip(c.chunks(part))
            .collect();
        let t = Instant::now();
        on_each_thread(pool, parts, |((a, b), c)| {
            for ((x, &y), &z) in a.iter_mut().zip(b).zip(c) {
                *x = y + s * z;
            }
        });
        best = best.min(t.elapsed().as_secs_f64());
        black_box(&mut a);
    }
    assert!(a.iter().step_by(4099).all(|&v| v == 7.0), "triad result");
    (3 * 8 * n) as f64 / best / 1e9
}

/// FMA chains kept in registers: `acc = acc * m + a` converges to `a / (1 - m)`, so values stay
/// finite and normal for any iteration count. The constants go through `black_box`: with known
/// values LLVM proves the chain reaches a fixed point and deletes the loop. Returns (a checksum,
/// flops per iteration).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn fma_avx512(iters: u64) -> (f32, f64) {
    use std::arch::x86_64::*;
    const CHAINS: usize = 16; // 2 FMA ports x 4 cycles latency = 8 in flight; 16 hides more
    let (m, a) = (
        _mm512_set1_ps(black_box(0.999_99)),
        _mm512_set1_ps(black_box(1e-5)),
    );
    let mut acc = [_mm512_set1_ps(black_box(0.5)); CHAINS];
    for _ in 0..iters {
        for r in &mut acc {
            *r = _mm512_fmadd_ps(*r, m, a);
        }
    }
    let total = acc
        .iter()
        .fold(_mm512_setzero_ps(), |s, &r| _mm512_add_ps(s, r));
    (_mm512_reduce_add_ps(total), (CHAINS * 16 * 2) as f64)
}

/// As [`fma_avx512`] with 256-bit AVX2 + FMA (16 vector registers: 12 chains and 2 constants).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn fma_avx2(iters: u64) -> (f32, f64) {
    use std::arch::x86_64::*;
    const CHAINS: usize = 12;
    let (m, a) = (
        _mm256_set1_ps(black_box(0.999_99)),
        _mm256_set1_ps(black_box(1e-5)),
    );
    let mut acc = [_mm256_set1_ps(black_box(0.5)); CHAINS];
    for _ in 0..iters {
        for r in &mut acc {
            *r = _mm256_fmadd_ps(*r, m, a);
        }
    }
    let total = acc
        .iter()
        .fold(_mm256_setzero_ps(), |s, &r| _mm256_add_ps(s, r));
    let mut lanes = [0.0f32; 8];
    // SAFETY: `lanes` holds 8 f32, exactly one unaligned 256-bit store.
    unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), total) };
    (lanes.iter().sum(), (CHAINS * 8 * 2) as f64)
}

/// Portable fallback: separate multiply and add on an array the compiler vectorizes (2 flops).
fn fma_portable(iters: u64) -> (f32, f64) {
    const LANES: usize = 64;
    let (m, a) = (black_box(0.999_99f32), black_box(1e-5f32));
    let mut acc = [black_box(0.5f32); LANES];
    for _ in 0..iters {
        for r in &mut acc {
            *r = *r * m + a;
        }
    }
    (acc.iter().sum(), (LANES * 2) as f64)
}

/// An FMA kernel: iterations in, (checksum, flops per iteration) out.
pub(crate) type FmaKernel = fn(u64) -> (f32, f64);

/// The FMA kernels this CPU runs, widest first, with their ISA names.
pub(crate) fn fma_kernels() -> Vec<(FmaKernel, &'static str)> {
    let mut kernels: Vec<(FmaKernel, &'static str)> = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F, checked just above.
            kernels.push((|n| unsafe { fma_avx512(n) }, "avx512f"));
        }
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            // SAFETY: the CPU has AVX2 and FMA, checked just above.
            kernels.push((|n| unsafe { fma_avx2(n) }, "avx2+fma"));
        }
    }
    kernels.push((fma_portable, "portable"));
    kernels
}

/// Best f32 throughput of `kernel` in GFLOP/s (2 flops per FMA) on all threads of `pool`.
pub(crate) fn fma_gflops(pool: &ThreadPool, kernel: FmaKernel, iters: u64, reps: usize) -> f64 {
    let threads = pool.current_num_threads();
    let mut best = f64::INFINITY;
    let mut flops_per_iter = 0.0;
    for _ in 0..reps {
        let t = Instant::now();
        let out = pool.broadcast(|_| kernel(black_box(iters)));
        best = best.min(t.elapsed().as_secs_f64());
        flops_per_iter = out[0].1;
        assert!(out.iter().all(|(sum, _)| sum.is_finite()), "fma checksum");
    }
    threads as f64 * iters as f64 * flops_per_iter / best / 1e9
}
