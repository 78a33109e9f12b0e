//! Source kernels: data made from nothing but the element's global position.
//!
//! `Arange` and `Random` compute each element from its global C-order flat index, so a chunk's
//! values do not depend on how the array is chunked. The exact random formulas are part of the
//! contract every backend reproduces (see [`random`]).

use crate::num::{Elem, to_host};
use half::f16;
use rayon::prelude::*;
use std::f32::consts::TAU as TAU32;
use std::f64::consts::TAU as TAU64;
use tilework_core::kernel_checks::{check_chunk, region_fits};
use tilework_core::random::{philox_words, unit_f32, unit_f64};
use tilework_core::shape::{c_strides, numel};
use tilework_core::{
    BufferSpec, DType, Distribution, Error, HostArray, HostElement, Kernel, Region, Result,
    with_dtype, with_host_array,
};

/// Outputs larger than this are generated on several threads.
const PAR_MIN: usize = 1 << 15;

/// Runs a source kernel (`Arange`, `Eye`, `Random`, `HostSlice`) for one output chunk.
pub(crate) fn run(kernel: &Kernel, spec: &BufferSpec) -> Result<HostArray> {
    let shape = &spec.shape;
    match kernel {
        Kernel::Arange {
            start,
            step,
            last,
            chunk_start,
            global_shape,
        } => {
            let (start, step, last) = (*start, *step, *last);
            with_dtype!(spec.dtype, T => by_index(shape, chunk_start, global_shape, |i| {
                let v = match last {
                    Some((n, v)) if n == i => v,
                    _ => start + i as f64 * step,
                };
                T::cast_from(v)
            }))
        }
        Kernel::Eye { k, chunk_start } => {
            with_dtype!(spec.dtype, T => eye::<T>(shape, chunk_start, *k))
        }
        Kernel::Random {
            seed,
            dist,
            chunk_start,
            global_shape,
        } => random(*seed, *dist, spec, chunk_start, global_shape),
        Kernel::HostSlice { data, region } => host_slice(data, region),
        other => Err(Error::Device(format!(
            "cpu: {} is not a source kernel",
            other.family()
        ))),
    }
}

/// A chunk whose element at global flat index `i` is `f(i)`, generated row by row (a row along
/// the last axis has consecutive global indices).
fn by_index<T: Elem>(
    shape: &[usize],
    chunk_start: &[usize],
    global: &[usize],
    f: impl Fn(u64) -> T + Sync,
) -> Result<HostArray> {
    check_chunk("source", shape, chunk_start, global)?;
    let n = numel(shape);
    let mut out = vec![T::default(); n];
    if n == 0 {
        return to_host(out, shape);
    }
    let row_len = shape.last().copied().unwrap_or(1);
    let gstrides = c_strides(global);
    // Global flat index of the first element of local row `r`.
    let row_start = |mut r: usize| -> u64 {
        let mut g = chunk_start.last().copied().unwrap_or(0) as u64;
        for a in (0..shape.len().saturating_sub(1)).rev() {
            g += ((chunk_start[a] + r % shape[a]) * gstrides[a]) as u64;
            r /= shape[a];
        }
        g
    };
    let fill_rows = |first_row: usize, rows: &mut [T]| {
        for (r, row) in rows.chunks_mut(row_len).enumerate() {
            let g0 = row_start(first_row + r);
            for (j, v) in row.iter_mut().enumerate() {
                *v = f(g0 + j as u64);
            }
        }
    };
    let rows_per_task = (PAR_MIN / row_len).max(1);
    if n <= PAR_MIN {
        fill_rows(0, &mut out);
    } else {
        out.par_chunks_mut(rows_per_task * row_len)
            .enumerate()
            .for_each(|(t, part)| fill_rows(t * rows_per_task, part));
    }
    to_host(out, shape)
}

/// Ones where `global_col - global_row == k`.
fn eye<T: Elem>(shape: &[usize], chunk_start: &[usize], k: i64) -> Result<HostArray> {
    let (&[rows, cols], &[r0, c0]) = (shape, chunk_start) else {
        return Err(Error::invalid(
            "eye",
            format!("needs a 2-d chunk and start, got {shape:?} at {chunk_start:?}"),
        ));
    };
    let mut out = vec![T::cast_from(false); rows * cols];
    let one = T::cast_from(true);
    for r in 0..rows {
        let c = (r0 + r) as i128 + k as i128 - c0 as i128;
        if (0..cols as i128).contains(&c) {
            out[r * cols + c as usize] = one;
        }
    }
    to_host(out, shape)
}

/// Philox random numbers. Element `i` (global C-order flat index) draws `w = philox_words(seed,
/// i)` and becomes, with every operation rounded in the stated type (no fused multiply-add):
///
/// - `Uniform { low, high }`
///   - f32: `(low as f32) + ((high - low) as f32) * unit_f32(w[0])`;
///   - f16: the f32 value rounded with `f16::from_f32`;
///   - f64: `low + (high - low) * unit_f64(w[0], w[1])`;
///   - integer and bool outputs: the f64 value cast with NumPy `astype` semantics.
/// - `Normal { mean, std }` (Box-Muller, cosine branch; `u1` is never 0):
///   - f32: `u1 = 1 - unit_f32(w[0])`, `u2 = unit_f32(w[1])`,
///     `z = sqrt(-2 ln u1) * cos(2π u2)`, value `(mean as f32) + (std as f32) * z`, all in f32;
///   - f16: the f32 value rounded with `f16::from_f32`;
///   - f64: `u1 = 1 - unit_f64(w[0], w[1])`, `u2 = unit_f64(w[2], w[3])`, same formula in f64;
///   - integer and bool outputs: the f64 value cast.
/// - `Integers { low, high }` (`low < high`): `r = (w[0] as u64 | (w[1] as u64) << 32) %
///   (high - low) as u64` (the span computed with wrapping i64 subtraction), value
///   `low.wrapping_add(r as i64)` cast to the output dtype (wrapping for integers).
///
/// Uniform and Integers are exact integer/IEEE arithmetic, reproducible bit for bit on any
/// backend; Normal additionally depends on the accuracy of `ln`, `sqrt` and `cos`.
fn random(
    seed: u64,
    dist: Distribution,
    spec: &BufferSpec,
    chunk_start: &[usize],
    global: &[usize],
) -> Result<HostArray> {
    let words = move |i: u64| philox_words(seed, i);
    let (shape, dtype) = (spec.shape.as_slice(), spec.dtype);
    match dist {
        Distribution::Uniform { low, high } => {
            let (lo32, span32, span64) = (low as f32, (high - low) as f32, high - low);
            let f32_of = move |i| lo32 + span32 * unit_f32(words(i)[0]);
            let f64_of = move |i| {
                let w = words(i);
                low + span64 * unit_f64(w[0], w[1])
            };
            real(dtype, shape, chunk_start, global, f32_of, f64_of)
        }
        Distribution::Normal { mean, std } => {
            let (mean32, std32) = (mean as f32, std as f32);
            let f32_of = move |i| {
                let w = words(i);
                let (u1, u2) = (1.0 - unit_f32(w[0]), unit_f32(w[1]));
                mean32 + std32 * ((-2.0 * u1.ln()).sqrt() * (TAU32 * u2).cos())
            };
            let f64_of = move |i| {
                let w = words(i);
                let (u1, u2) = (1.0 - unit_f64(w[0], w[1]), unit_f64(w[2], w[3]));
                mean + std * ((-2.0 * u1.ln()).sqrt() * (TAU64 * u2).cos())
            };
            real(dtype, shape, chunk_start, global, f32_of, f64_of)
        }
        Distribution::Integers { low, high } => {
            if high <= low {
                return Err(Error::invalid(
                    "random integers",
                    format!("empty range [{low}, {high})"),
                ));
            }
            let span = high.wrapping_sub(low) as u64;
            let int_of = move |i| {
                let w = words(i);
                let bits = w[0] as u64 | (w[1] as u64) << 32;
                low.wrapping_add((bits % span) as i64)
            };
            with_dtype!(dtype, T => by_index(shape, chunk_start, global, |i| T::cast_from(int_of(i))))
        }
    }
}

/// A real-valued distribution: f32 and f16 use the f32 formula, everything else the f64 one.
fn real(
    dtype: DType,
    shape: &[usize],
    chunk_start: &[usize],
    global: &[usize],
    f32_of: impl Fn(u64) -> f32 + Sync,
    f64_of: impl Fn(u64) -> f64 + Sync,
) -> Result<HostArray> {
    match dtype {
        DType::F32 => by_index(shape, chunk_start, global, f32_of),
        DType::F16 => by_index(shape, chunk_start, global, |i| f16::from_f32(f32_of(i))),
        _ => {
            with_dtype!(dtype, T => by_index(shape, chunk_start, global, |i| T::cast_from(f64_of(i))))
        }
    }
}

/// Copies `region` out of `data` (standard layout).
pub(crate) fn host_slice(data: &HostArray, region: &Region) -> Result<HostArray> {
    let shape = data.shape();
    if !region_fits(&region.start, &region.shape, &shape) {
        return Err(Error::bad_index(
            "host_slice",
            format!(
                "region {:?}+{:?} outside an array of shape {:?}",
                region.start.as_slice(),
                region.shape.as_slice(),
                shape.as_slice()
            ),
        ));
    }
    Ok(with_host_array!(data, a, T => {
        let view = a.slice_each_axis(|ax| ndarray::Slice::from(region.range(ax.axis.index())));
        T::wrap(view.as_standard_layout().into_owned().into_shared())
    }))
}

#[cfg(test)]
#[path = "source_tests.rs"]
mod tests;
