//! A strided sweep over all 2^32 f32 bit patterns (every 4099th, about a million inputs,
//! every exponent and sign), in evaluator-sized slices, for every function and ISA; and a
//! throughput timing (ignored).

use super::VecMath;
use super::tests::{FUNCS, bound, isas, std64, ulp_err32};

/// The elementwise evaluator's block length: slices as the evaluator passes them.
const BLOCK: usize = crate::elementwise::eval::BLOCK;

const STRIDE: u64 = 4099;

#[test]
fn f32_strided_sweep_of_all_bit_patterns() {
    let xs: Vec<f32> = (0..(1u64 << 32) / STRIDE)
        .map(|i| f32::from_bits((i * STRIDE) as u32))
        .collect();
    let mut out = vec![0f32; xs.len()];
    for f in FUNCS {
        let want: Vec<f64> = xs.iter().map(|&x| std64(f, f64::from(x))).collect();
        for isa in isas() {
            for (x, o) in xs.chunks(BLOCK).zip(out.chunks_mut(BLOCK)) {
                f32::eval_on(isa, f, x, o);
            }
            let (mut worst, mut at) = (0.0, 0.0);
            for ((&x, &g), &w) in xs.iter().zip(&out).zip(&want) {
                let e = ulp_err32(g, w);
                if e > worst {
                    (worst, at) = (e, x);
                }
            }
            eprintln!("sweep {isa:?} {f:?}: max {worst:.3} ulp at x = {at:e}");
            assert!(worst <= bound(f).0, "{isa:?} {f:?}({at:e}): {worst} ulp");
        }
    }
}

/// Throughput per function and ISA on evaluator-sized slices. Not a test: run with
/// `cargo test --release -p tilework-cpu vmath_throughput -- --ignored --nocapture`.
#[test]
#[ignore = "timing, run by hand in --release"]
fn vmath_throughput() {
    fn time<T: Copy>(xs: &[T], run: impl Fn(&[T], &mut [T])) -> f64 {
        let mut out = xs.to_vec();
        let mut best = f64::INFINITY;
        // L2-resident data, many passes: compute throughput, not memory bandwidth.
        for _ in 0..5 {
            let t = std::time::Instant::now();
            for _ in 0..64 {
                for (x, o) in xs.chunks(BLOCK).zip(out.chunks_mut(BLOCK)) {
                    run(x, o);
                }
            }
            best = best.min(t.elapsed().as_secs_f64());
        }
        std::hint::black_box(&out);
        best * 1e9 / (64 * xs.len()) as f64
    }
    let n = 1 << 14;
    let x32: Vec<f32> = (0..n).map(|i| (i % 10007) as f32 * 1e-3 + 0.1).collect();
    let x64: Vec<f64> = x32.iter().map(|&v| f64::from(v)).collect();
    for isa in isas() {
        let m = time(&x32, |x, o| {
            o[0] = f32::from(u8::from(super::any_beyond(isa, x, 0x4b80_0000)))
        });
        eprintln!("{isa:?}: trig range scan {m:.3} ns/elem");
    }
    for f in FUNCS {
        let s32 = time(&x32, |x, o| {
            for (o, &v) in o.iter_mut().zip(x) {
                *o = std64(f, f64::from(v)) as f32;
            }
        });
        let s64 = time(&x64, |x, o| {
            for (o, &v) in o.iter_mut().zip(x) {
                *o = std64(f, v);
            }
        });
        eprintln!("{f:?}: std (via f64) f32 {s32:.2} ns, f64 {s64:.2} ns");
        for isa in isas() {
            let a = time(&x32, |x, o| f32::eval_on(isa, f, x, o));
            let b = time(&x64, |x, o| f64::eval_on(isa, f, x, o));
            eprintln!("  {isa:?}: f32 {a:.3} ns/elem, f64 {b:.3} ns/elem");
        }
    }
}
