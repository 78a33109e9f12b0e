//! Source kernels without randomness: `Arange`, `Eye` and `HostSlice`, plus the global-index
//! params block shared with `Random`.

use super::{Launch, count};
use crate::codegen::ops::{self, Ctx};
use crate::device::Features;
use crate::dispatch::{Params, Step};
use crate::dtype::{Repr, unsupported};
use crate::pipeline::Access;
use crate::shaders::{self, Helper, Helpers};
use crate::template::render;
use tilework_core::kernel_checks::{check_chunk, chunk_misfit, region_fits};
use tilework_core::shape::c_strides;
use tilework_core::{
    BufferSpec, DType, Error, HostArray, Kernel, Region, Result, Scalar, with_host_array,
};

/// Appends the block `tw_global_index` reads (see `shaders/index.wgsl`) for a chunk of `shape`
/// at `chunk_start` in an array of `global` shape.
///
/// # Errors
/// [`Error::InvalidArgument`] when the chunk does not fit (as the CPU reports it, see
/// [`check_chunk`]) or the array has 2^64 elements or more.
pub(crate) fn index_block(
    params: &mut Params,
    op: &'static str,
    shape: &[usize],
    chunk_start: &[usize],
    global: &[usize],
) -> Result<()> {
    check_chunk(op, shape, chunk_start, global)?;
    let total = global
        .iter()
        .try_fold(1u64, |acc, &g| acc.checked_mul(g as u64));
    if total.is_none() {
        return Err(chunk_misfit(op, shape, chunk_start, global));
    }
    let strides = c_strides(global);
    let first: u64 = chunk_start
        .iter()
        .zip(&strides)
        .map(|(&s, &st)| s as u64 * st as u64)
        .sum();
    params.len(shape.len(), "rank")?.u64(first);
    for (&n, &st) in shape.iter().zip(&strides) {
        params.len(n, "chunk length")?.u64(st as u64);
    }
    Ok(())
}

fn arange_source(f: &Features, dtype: DType) -> Result<String> {
    let repr = Repr::of(dtype, f, "arange")?;
    if !f.f64 {
        return Err(unsupported("arange (computes in f64)", dtype, &f.name));
    }
    let mut helpers = Helpers::new();
    helpers.need(Helper::Index);
    helpers.need(Helper::F64);
    let mut ctx = Ctx {
        helpers: &mut helpers,
        f16_native: f.f16_native,
        f64: f.f64,
        device: &f.name,
    };
    let value = repr.store(&ops::cast(&mut ctx, DType::F64, dtype, "v")?);
    render_by_index(("arange.wgsl", shaders::ARANGE), f, repr, helpers, &value)
}

/// Renders a shader that stores `value` (WGSL computing one element from its global index)
/// into an output of `repr`: the parameters `arange.wgsl` and `random.wgsl` share.
pub(crate) fn render_by_index(
    (file, template): (&str, &str),
    f: &Features,
    repr: Repr,
    mut helpers: Helpers,
    value: &str,
) -> Result<String> {
    if repr.dtype == DType::F16 && !f.f16_native {
        helpers.need_f16(false);
    }
    render(
        file,
        template,
        &[
            ("enables", helpers.enables(repr.storage() == "f16")),
            ("storage", repr.storage()),
            ("helpers", &helpers.render()?),
            ("workgroup", &f.workgroup.to_string()),
            ("value", value),
        ],
    )
}

fn f64_words(params: &mut Params, v: f64) {
    params.u64(v.to_bits());
}

/// Runs an `Arange` kernel.
pub(crate) fn arange(l: &Launch<'_>, kernel: &Kernel, spec: &BufferSpec) -> Result<wgpu::Buffer> {
    let Kernel::Arange {
        start,
        step,
        last,
        chunk_start,
        global_shape,
    } = kernel
    else {
        return Err(Error::Device(
            "wgpu: arange launcher given another kernel".into(),
        ));
    };
    let repr = l.repr(spec.dtype, "arange")?;
    let n = count(&spec.shape, "arange output")?;
    let f = l.features();
    let key = format!("{}:{}", spec.dtype, f.f16_native);
    let pipeline = l.pipeline("arange", &key, &[Access::ReadWrite], || {
        arange_source(f, spec.dtype)
    })?;
    let mut params = Params::new();
    params.len(n, "arange output")?;
    index_block(
        &mut params,
        "arange",
        &spec.shape,
        chunk_start,
        global_shape,
    )?;
    f64_words(&mut params, *start);
    f64_words(&mut params, *step);
    let (has_last, last_index, last_value) = match last {
        Some((i, v)) => (1, *i, *v),
        None => (0, 0, 0.0),
    };
    params.u32(has_last).u64(last_index);
    f64_words(&mut params, last_value);
    let out = l.alloc(repr, n)?;
    l.submit(&[Step {
        pipeline: &pipeline,
        buffers: vec![&out],
        params,
        threads: n as u64,
    }])?;
    Ok(out)
}

fn eye_source(f: &Features, dtype: DType) -> Result<String> {
    let repr = Repr::of(dtype, f, "eye")?;
    let mut helpers = Helpers::new();
    if dtype == DType::F16 {
        helpers.need_f16(f.f16_native);
    }
    render(
        "eye.wgsl",
        shaders::EYE,
        &[
            ("enables", helpers.enables(false)),
            ("helpers", &helpers.render()?),
            ("storage", repr.storage()),
            ("workgroup", &f.workgroup.to_string()),
            ("one", &repr.store(&ops::literal(Scalar::one(dtype), dtype))),
            (
                "zero",
                &repr.store(&ops::literal(Scalar::zero(dtype), dtype)),
            ),
        ],
    )
}

/// Runs an `Eye` kernel.
pub(crate) fn eye(
    l: &Launch<'_>,
    k: i64,
    chunk_start: &[usize],
    spec: &BufferSpec,
) -> Result<wgpu::Buffer> {
    let (&[rows, cols], &[r0, c0]) = (spec.shape.as_slice(), chunk_start) else {
        return Err(Error::invalid(
            "eye",
            format!(
                "needs a 2-d chunk and start, got {:?} at {chunk_start:?}",
                spec.shape.as_slice()
            ),
        ));
    };
    let repr = l.repr(spec.dtype, "eye")?;
    let n = count(&spec.shape, "eye output")?;
    let f = l.features();
    let key = format!("{}:{}", spec.dtype, f.f16_native);
    let pipeline = l.pipeline("eye", &key, &[Access::ReadWrite], || {
        eye_source(f, spec.dtype)
    })?;
    // Offsets beyond the block match no element; clamping keeps them in i32.
    let d = (i128::from(k) + r0 as i128 - c0 as i128).clamp(-(rows as i128) - 1, cols as i128 + 1);
    let mut params = Params::new();
    params
        .len(n, "eye output")?
        .len(cols, "eye columns")?
        .i32(d as i32);
    let out = l.alloc(repr, n)?;
    l.submit(&[Step {
        pipeline: &pipeline,
        buffers: vec![&out],
        params,
        threads: n as u64,
    }])?;
    Ok(out)
}

/// Runs a `HostSlice` kernel: the region is cut on the host and uploaded.
pub(crate) fn host_slice(
    l: &Launch<'_>,
    data: &HostArray,
    region: &Region,
    spec: &BufferSpec,
) -> Result<wgpu::Buffer> {
    let repr = l.repr(data.dtype(), "host_slice")?;
    let shape = data.shape();
    let fits = region_fits(&region.start, &region.shape, &shape);
    if !fits || spec.dtype != data.dtype() || spec.shape != region.shape {
        return Err(Error::bad_index(
            "host_slice",
            format!(
                "region {:?}+{:?} of a {} array of shape {:?} for an output {} {:?}",
                region.start.as_slice(),
                region.shape.as_slice(),
                data.dtype(),
                shape.as_slice(),
                spec.dtype,
                spec.shape.as_slice()
            ),
        ));
    }
    let part = with_host_array!(data, a, T => {
        let view = a.slice_each_axis(|ax| ndarray::Slice::from(region.range(ax.axis.index())));
        HostArray::from_array::<T>(view.to_owned())
    });
    crate::transfer::upload(l, repr, &part)
}

#[cfg(test)]
pub(crate) fn shaders(f: &Features) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for dtype in crate::dtype::supported(f.f64) {
        if f.f64 {
            out.push((format!("arange {dtype}"), arange_source(f, dtype)?));
        }
        out.push((format!("eye {dtype}"), eye_source(f, dtype)?));
    }
    Ok(out)
}
