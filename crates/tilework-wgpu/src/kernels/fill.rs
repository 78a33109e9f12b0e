//! `Fill`: every element one value. The shader writes raw storage words, so one pipeline
//! serves every dtype; `Gather` uses it for its background.

use super::{Launch, count};
use crate::device::Features;
use crate::dispatch::{Params, Step};
use crate::dtype::Repr;
use crate::pipeline::{Access, Pipeline};
use crate::shaders;
use crate::template::render;
use std::sync::Arc;
use tilework_core::{BufferSpec, Result, Scalar};

fn source(f: &Features) -> Result<String> {
    render(
        "fill.wgsl",
        shaders::FILL,
        &[("workgroup", &f.workgroup.to_string())],
    )
}

/// The fill pipeline.
pub(crate) fn pipeline(l: &Launch<'_>) -> Result<Arc<Pipeline>> {
    l.pipeline("fill", "words", &[Access::ReadWrite], || {
        source(l.features())
    })
}

/// A step setting the `n` elements of `buffer` (of `repr`) to `value`.
pub(crate) fn fill_step<'a>(
    pipeline: &'a Pipeline,
    buffer: &'a wgpu::Buffer,
    repr: Repr,
    n: usize,
    value: Scalar,
) -> Step<'a> {
    let words = repr.words(value);
    let n_words = repr.buffer_bytes(n as u64) / 4;
    let mut params = Params::new();
    params
        .u32(n_words as u32)
        .u32(words.len() as u32)
        .words(&words);
    Step {
        pipeline,
        buffers: vec![buffer],
        params,
        threads: n_words,
    }
}

/// Runs a `Fill` kernel.
pub(crate) fn fill(l: &Launch<'_>, value: Scalar, spec: &BufferSpec) -> Result<wgpu::Buffer> {
    let repr = l.repr(spec.dtype, "fill")?;
    let n = count(&spec.shape, "fill output")?;
    let pipeline = pipeline(l)?;
    let out = l.alloc(repr, n)?;
    l.submit(&[fill_step(&pipeline, &out, repr, n, value)])?;
    Ok(out)
}

#[cfg(test)]
pub(crate) fn shaders(f: &Features) -> Result<Vec<(String, String)>> {
    Ok(vec![("fill".into(), source(f)?)])
}
