//! `Random`: Philox 4x32-10 by global flat index (`shaders/random.wgsl`), reproducing the CPU
//! backend's formulas (`tilework-cpu/src/source.rs`) bit for bit where they are exact IEEE or
//! integer arithmetic:
//!
//! - Uniform: f32 and f16 outputs use the f32 formula; every other dtype the f64 one (needs
//!   SHADER_F64), then `astype`.
//! - Normal: f32 and f16 only (Box-Muller in f32; within the GPU's `log`/`cos`/`sqrt`
//!   accuracy). f64 and integer outputs need f64 `log`/`cos`, which Vulkan lacks: unsupported.
//! - Integers: exact 64-bit `bits % span` in u32 pairs; float outputs only when the range lies
//!   within +-2^24 (exact in every float dtype).

use super::source::{index_block, render_by_index};
use super::{Launch, count};
use crate::codegen::ops::{self, Ctx};
use crate::device::Features;
use crate::dispatch::{Params, Step};
use crate::dtype::{Repr, unsupported};
use crate::pipeline::Access;
use crate::shaders::{self, Helper, Helpers};
use tilework_core::{BufferSpec, DType, Distribution, Error, Kernel, Result};

/// The distribution families, which select the shader.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Family {
    Uniform,
    Normal,
    Integers,
}

const UNIT_F32: &str = "(f32(w.x >> 8u) * 5.9604644775390625e-8)";

fn value(f: &Features, family: Family, dtype: DType, helpers: &mut Helpers) -> Result<String> {
    let repr = Repr::of(dtype, f, "random")?;
    let mut ctx = Ctx {
        helpers,
        f16_native: f.f16_native,
        f64: f.f64,
        device: &f.name,
    };
    let small_float = matches!(dtype, DType::F16 | DType::F32);
    let v = match family {
        Family::Uniform if small_float => {
            let v =
                format!("bitcast<f32>(params[p + 2u]) + bitcast<f32>(params[p + 3u]) * {UNIT_F32}");
            ops::finish(&mut ctx, dtype, &v)
        }
        Family::Uniform => {
            if !f.f64 {
                return Err(unsupported(
                    "random uniform (computes in f64)",
                    dtype,
                    &f.name,
                ));
            }
            ctx.helpers.need(Helper::F64);
            let v = "(tw_f64_from_bits(params[p + 2u], params[p + 3u]) + \
                     tw_f64_from_bits(params[p + 4u], params[p + 5u]) * \
                     ((f64(w.x) * 2097152.0 + f64(w.y >> 11u)) * (1.0 / 9007199254740992.0)))";
            ops::cast(&mut ctx, DType::F64, dtype, v)?
        }
        Family::Normal if small_float => {
            let u1 = format!("(1.0 - {UNIT_F32})");
            let u2 = "(f32(w.y >> 8u) * 5.9604644775390625e-8)";
            let v = format!(
                "bitcast<f32>(params[p + 2u]) + bitcast<f32>(params[p + 3u]) * \
                 (sqrt(-2.0 * log({u1})) * cos(bitcast<f32>(0x40c90fdbu) * {u2}))"
            );
            ops::finish(&mut ctx, dtype, &v)
        }
        Family::Normal => {
            return Err(unsupported(
                "random normal (needs f64 log and cos)",
                dtype,
                &f.name,
            ));
        }
        Family::Integers => {
            let s = "tw_add64(vec2<u32>(params[p + 4u], params[p + 5u]), \
                     tw_mod64(vec2<u32>(w.x, w.y), vec2<u32>(params[p + 2u], params[p + 3u])))";
            match dtype {
                DType::Bool => format!("any({s} != vec2<u32>(0u, 0u))"),
                DType::U32 => format!("{s}.x"),
                DType::U8 => format!("({s}.x & 0xffu)"),
                _ => ops::cast(&mut ctx, DType::I32, dtype, &format!("bitcast<i32>({s}.x)"))?,
            }
        }
    };
    Ok(repr.store(&v))
}

fn source(f: &Features, family: Family, dtype: DType) -> Result<String> {
    let mut helpers = Helpers::new();
    helpers.need(Helper::Index);
    let value = value(f, family, dtype, &mut helpers)?;
    let repr = Repr::of(dtype, f, "random")?;
    render_by_index(("random.wgsl", shaders::RANDOM), f, repr, helpers, &value)
}

/// Runs a `Random` kernel.
pub(crate) fn random(l: &Launch<'_>, kernel: &Kernel, spec: &BufferSpec) -> Result<wgpu::Buffer> {
    let Kernel::Random {
        seed,
        dist,
        chunk_start,
        global_shape,
    } = kernel
    else {
        return Err(Error::Device(
            "wgpu: random launcher given another kernel".into(),
        ));
    };
    let dtype = spec.dtype;
    let repr = l.repr(dtype, "random")?;
    let n = count(&spec.shape, "random output")?;
    let mut params = Params::new();
    params.len(n, "random output")?;
    index_block(
        &mut params,
        "random",
        &spec.shape,
        chunk_start,
        global_shape,
    )?;
    params.u64(*seed);
    let family = match *dist {
        Distribution::Uniform { low, high } => {
            if matches!(dtype, DType::F16 | DType::F32) {
                params
                    .u32((low as f32).to_bits())
                    .u32(((high - low) as f32).to_bits());
            } else {
                params.u64(low.to_bits()).u64((high - low).to_bits());
            }
            Family::Uniform
        }
        Distribution::Normal { mean, std } => {
            params
                .u32((mean as f32).to_bits())
                .u32((std as f32).to_bits());
            Family::Normal
        }
        Distribution::Integers { low, high } => {
            if high <= low {
                return Err(Error::invalid(
                    "random integers",
                    format!("empty range [{low}, {high})"),
                ));
            }
            let exact = low >= -(1 << 24) && high <= (1 << 24) + 1;
            if dtype.is_float() && !exact {
                return Err(unsupported(
                    "random integers into floats beyond +-2^24",
                    dtype,
                    &l.features().name,
                ));
            }
            params.u64(high.wrapping_sub(low) as u64).u64(low as u64);
            Family::Integers
        }
    };
    let f = l.features();
    let key = format!("{family:?}:{dtype}:{}", f.f16_native);
    let pipeline = l.pipeline("random", &key, &[Access::ReadWrite], || {
        source(f, family, dtype)
    })?;
    let out = l.alloc(repr, n)?;
    l.submit(&[Step {
        pipeline: &pipeline,
        buffers: vec![&out],
        params,
        threads: n as u64,
    }])?;
    Ok(out)
}

#[cfg(test)]
pub(crate) fn shaders(f: &Features) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for dtype in crate::dtype::supported(f.f64) {
        for family in [Family::Uniform, Family::Normal, Family::Integers] {
            match source(f, family, dtype) {
                Ok(s) => out.push((format!("random {family:?} {dtype}"), s)),
                Err(Error::DTypeUnsupported { .. }) => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(out)
}
