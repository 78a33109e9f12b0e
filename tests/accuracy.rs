//! Accuracy of reductions over 10^8 values against f64 references computed here.
//!
//! Stated bounds, relative to a compensated f64 reference of the same f32 data: the f64 sum within
//! 1e-10; f64 variance and standard deviation within 1e-9; f32 results (sum, mean, var of f32 data
//! are f32, as in NumPy) within one f32 epsilon, i.e. only the final rounding to f32. The same
//! holds for data with a large offset (mean 1e4, spread 1), where a naive one-pass
//! `E[x^2] - E[x]^2` would lose every digit.
mod common;

use tilework::prelude::*;

const N: usize = 100_000_000;

fn rel(got: f64, expected: f64) -> f64 {
    ((got - expected) / expected).abs()
}

/// Neumaier-compensated f64 sum: an f64 reference far more exact than the bounds checked.
fn reference_sum(values: impl Iterator<Item = f64>) -> f64 {
    let (mut sum, mut comp) = (0.0f64, 0.0f64);
    for v in values {
        let t = sum + v;
        comp += if sum.abs() >= v.abs() {
            (sum - t) + v
        } else {
            (v - t) + sum
        };
        sum = t;
    }
    sum + comp
}

#[test]
fn reductions_of_1e8_values_match_f64_references() -> Result<()> {
    let ctx = common::cpu();
    for offset in [0.0f64, 1e4] {
        let x = (&ctx.rng(99).uniform(&[N], -1.0, 1.0, DType::F32, 1 << 22)? + offset).persist()?;
        let host = x.to_ndarray::<f32>()?;
        let data = host.as_slice().expect("contiguous");
        let sum = reference_sum(data.iter().map(|&v| v as f64));
        let mean = sum / N as f64;
        let m2 = reference_sum(data.iter().map(|&v| (v as f64 - mean) * (v as f64 - mean)));
        let var = m2 / N as f64;
        // The f32 results are compared after rounding the reference to f32 where the API returns
        // f32 (sum, mean, var and std of f32 data are f32, as NumPy).
        let got_sum = x.sum()?.to_scalar()?.to_f64();
        let got_mean = x.mean()?.to_scalar()?.to_f64();
        let got_var = x.astype(DType::F64)?.var(0)?.to_scalar()?.to_f64();
        let got_std = x.astype(DType::F64)?.std(0)?.to_scalar()?.to_f64();
        let f32_ulp = f32::EPSILON as f64;
        assert!(
            rel(got_sum, sum) <= f32_ulp,
            "offset {offset}: sum {got_sum} vs {sum}"
        );
        assert!(
            rel(got_mean, mean) <= f32_ulp,
            "offset {offset}: mean {got_mean} vs {mean}"
        );
        assert!(
            rel(got_var, var) <= 1e-9,
            "offset {offset}: var {got_var} vs {var}"
        );
        assert!(
            rel(got_std, var.sqrt()) <= 1e-9,
            "offset {offset}: std {got_std} vs {}",
            var.sqrt()
        );
        // The f64 accumulation itself, seen through an f64 input: within 1e-10 of the reference.
        let got_sum64 = x.astype(DType::F64)?.sum()?.to_scalar()?.to_f64();
        assert!(
            rel(got_sum64, sum) <= 1e-10,
            "offset {offset}: f64 sum {got_sum64} vs {sum}"
        );
        let f32_var = x.var(0)?.to_scalar()?.to_f64();
        assert!(
            rel(f32_var, var) <= f32_ulp,
            "offset {offset}: f32 var {f32_var} vs {var}"
        );
    }
    Ok(())
}
