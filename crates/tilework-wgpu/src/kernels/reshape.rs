//! `Reshape`: one output block of a C-order reshape, assembled from the input blocks it
//! overlaps (one launch per input block; see `shaders/reshape.wgsl`). Arrays of 2^32 elements
//! or more are left to the CPU (the shader's flat indices are u32).

use super::gather::copy_source;
use super::{Input, Launch, count, fill};
#[cfg(test)]
use crate::device::Features;
use crate::dispatch::{Params, Step};
use crate::dtype::unsupported;
use crate::pipeline::Access;
use crate::shaders;
use tilework_core::kernel_checks::{check_reshape_input, check_reshape_output};
use tilework_core::shape::c_strides;
use tilework_core::{BufferSpec, Error, Region, Result, Scalar, Shape};

/// How this backend prefixes its reshape errors.
const PREFIX: &str = "wgpu reshape";

fn bad(detail: String) -> Error {
    Error::Device(format!("{PREFIX}: {detail}"))
}

/// Rank-0 shapes and regions become rank 1 so that every array has a last axis.
fn at_least_1d(shape: &[usize], start: &[usize]) -> (Shape, Shape) {
    if shape.is_empty() {
        (Shape::from_slice(&[1]), Shape::from_slice(&[0]))
    } else {
        (Shape::from_slice(shape), Shape::from_slice(start))
    }
}

/// Runs a `Reshape` kernel.
pub(crate) fn reshape(
    l: &Launch<'_>,
    (in_shape, out_shape): (&[usize], &[usize]),
    out_region: &Region,
    in_regions: &[Region],
    inputs: &[Input],
    spec: &BufferSpec,
) -> Result<wgpu::Buffer> {
    let repr = l.repr(spec.dtype, "reshape")?;
    let total = in_shape
        .iter()
        .try_fold(1u64, |a, &d| a.checked_mul(d as u64));
    let out_total = out_shape
        .iter()
        .try_fold(1u64, |a, &d| a.checked_mul(d as u64));
    if total.is_none() || total != out_total {
        return Err(bad(format!(
            "{in_shape:?} and {out_shape:?} differ in size"
        )));
    }
    if total.is_some_and(|t| t > u64::from(u32::MAX)) {
        return Err(unsupported(
            "reshape (arrays of 2^32 elements or more)",
            spec.dtype,
            &l.features().name,
        ));
    }
    check_reshape_output(
        PREFIX,
        out_shape,
        out_region,
        &spec.shape,
        in_regions,
        inputs.len(),
    )?;
    for (r, input) in in_regions.iter().zip(inputs) {
        check_reshape_input(PREFIX, in_shape, r, &input.shape)?;
        if input.repr.dtype != spec.dtype {
            return Err(Error::DTypeMismatch {
                expected: spec.dtype,
                actual: input.repr.dtype,
            });
        }
    }
    let n = count(&spec.shape, "reshape output")?;
    let (out_global, _) = at_least_1d(out_shape, &[]);
    let (out_block, out_start) = at_least_1d(&out_region.shape, &out_region.start);
    let (in_global, _) = at_least_1d(in_shape, &[]);
    let out_strides = c_strides(&out_global);
    let mut head = Params::new();
    head.len(n, "reshape output")?
        .len(out_block.len(), "rank")?
        .len(in_global.len(), "rank")?;
    for a in 0..out_block.len() {
        head.len(out_block[a], "block length")?
            .len(out_start[a], "block start")?
            .len(out_strides[a], "stride")?;
    }
    let mut per_input = Vec::with_capacity(inputs.len());
    for (r, input) in in_regions.iter().zip(inputs) {
        let (shape, start) = at_least_1d(&r.shape, &r.start);
        let mut params = head.clone();
        for a in 0..in_global.len() {
            params
                .len(in_global[a], "input length")?
                .len(start[a], "block start")?
                .len(shape[a], "block length")?;
        }
        per_input.push((params, &input.buffer));
    }
    let fill_pipeline = fill::pipeline(l)?;
    let elem = repr.copy_elem();
    let copy = l.pipeline("reshape", elem, &[Access::Read, Access::ReadWrite], || {
        copy_source("reshape.wgsl", shaders::RESHAPE, elem, l.features())
    })?;
    let out = l.alloc(repr, n)?;
    // Blocks the planner's regions do not cover stay zero rather than stale pool contents.
    let mut steps = vec![fill::fill_step(
        &fill_pipeline,
        &out,
        repr,
        n,
        Scalar::Bool(false),
    )];
    for (params, src) in per_input {
        steps.push(Step {
            pipeline: &copy,
            buffers: vec![src, &out],
            params,
            threads: n as u64,
        });
    }
    l.submit(&steps)?;
    Ok(out)
}

#[cfg(test)]
pub(crate) fn shaders(f: &Features) -> Result<Vec<(String, String)>> {
    super::gather::elems(f)
        .into_iter()
        .map(|e| {
            let src = copy_source("reshape.wgsl", shaders::RESHAPE, e, f)?;
            Ok((format!("reshape {e}"), src))
        })
        .collect()
}
