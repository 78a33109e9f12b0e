//! Kernel launchers, one module per family, and the dispatch from [`Kernel`] to them.
//!
//! A launcher validates its kernel on the host (bad parameters are errors, never out-of-bounds
//! GPU accesses), builds or fetches its pipelines, allocates its outputs through
//! [`Launch::alloc`] and records its steps with [`Launch::submit`]. It returns the output
//! buffers; the backend registers them. See the crate docs for the recipe of a new family.

mod elementwise;
mod fill;
mod gather;
mod matmul;
mod random;
mod reduce;
mod reshape;
mod scan;
mod source;
mod user;

use crate::device::{Features, Gpu};
use crate::dispatch::{self, Step};
use crate::dtype::{Repr, unsupported};
use crate::pipeline::{Access, Pipeline, PipelineCache};
use crate::pool::Pool;
use std::cell::RefCell;
use std::sync::Arc;
use tilework_core::{BufferSpec, DType, Error, Kernel, Result, Shape};

/// Kernel families this backend runs (`Kernel::family` names).
pub(crate) const FAMILIES: &[&str] = &[
    "fill",
    "arange",
    "eye",
    "random",
    "host_slice",
    "elementwise",
    "gather",
    "reshape",
    "matmul",
    "reduce",
    "scan",
    "map_blocks",
    "overlap",
];

/// A task input, resident on this device.
pub(crate) struct Input {
    pub(crate) repr: Repr,
    pub(crate) shape: Shape,
    pub(crate) buffer: wgpu::Buffer,
}

/// One `launch` call: the device, its pool and pipelines, and the buffers allocated so far
/// (returned to the pool if the launch fails).
pub(crate) struct Launch<'a> {
    pub(crate) gpu: &'a Gpu,
    pub(crate) pool: &'a Pool,
    pub(crate) cache: &'a PipelineCache,
    allocated: RefCell<Vec<wgpu::Buffer>>,
}

impl<'a> Launch<'a> {
    /// A launch on `gpu`.
    pub(crate) fn new(gpu: &'a Gpu, pool: &'a Pool, cache: &'a PipelineCache) -> Launch<'a> {
        Launch {
            gpu,
            pool,
            cache,
            allocated: RefCell::new(Vec::new()),
        }
    }

    /// Shader-relevant features of the device.
    pub(crate) fn features(&self) -> &Features {
        &self.gpu.features
    }

    /// The representation of `dtype`, or `DTypeUnsupported` naming `op`.
    pub(crate) fn repr(&self, dtype: DType, op: &'static str) -> Result<Repr> {
        Repr::of(dtype, &self.gpu.features, op)
    }

    /// A buffer for `n` elements of `repr`.
    pub(crate) fn alloc(&self, repr: Repr, n: usize) -> Result<wgpu::Buffer> {
        let buffer = self
            .pool
            .acquire(&self.gpu.device, repr.buffer_bytes(n as u64))?;
        self.allocated.borrow_mut().push(buffer.clone());
        Ok(buffer)
    }

    /// The cached pipeline for `(family, key)`.
    pub(crate) fn pipeline(
        &self,
        family: &'static str,
        key: &str,
        bindings: &[Access],
        source: impl FnOnce() -> Result<String>,
    ) -> Result<Arc<Pipeline>> {
        self.cache.get(self.gpu, family, key, bindings, source)
    }

    /// Records and submits `steps`.
    pub(crate) fn submit(&self, steps: &[Step<'_>]) -> Result<()> {
        dispatch::submit(self.gpu, self.pool, steps)
    }

    /// Allocates `n` elements of `out` and runs `pipeline` once per element, binding `inputs`
    /// and then the new buffer, which it returns.
    pub(crate) fn run_per_element(
        &self,
        pipeline: &Pipeline,
        inputs: &[&wgpu::Buffer],
        out: Repr,
        n: usize,
        params: dispatch::Params,
    ) -> Result<wgpu::Buffer> {
        let buffer = self.alloc(out, n)?;
        let mut buffers = inputs.to_vec();
        buffers.push(&buffer);
        self.submit(&[Step {
            pipeline,
            buffers,
            params,
            threads: n as u64,
        }])?;
        Ok(buffer)
    }

    /// Gives the buffers this launch allocated, except `keep`, back to the pool.
    pub(crate) fn release_except(self, keep: &[wgpu::Buffer]) {
        for b in self.allocated.into_inner() {
            if !keep.contains(&b) {
                self.pool.recycle(b);
            }
        }
    }

    /// Gives every buffer this launch allocated back to the pool (after a failure).
    pub(crate) fn abandon(self) {
        for b in self.allocated.into_inner() {
            self.pool.recycle(b);
        }
    }
}

/// The one output spec of a single-output kernel.
pub(crate) fn single<'b>(family: &str, outputs: &'b [BufferSpec]) -> Result<&'b BufferSpec> {
    match outputs {
        [spec] => Ok(spec),
        _ => Err(Error::Device(format!(
            "wgpu {family}: expected 1 output spec, got {}",
            outputs.len()
        ))),
    }
}

/// Element count of a shape, as a u32-indexable count.
pub(crate) fn count(shape: &[usize], what: &str) -> Result<usize> {
    let n = shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| Error::Device(format!("wgpu: {what} of shape {shape:?} overflows")))?;
    if n > (u32::MAX / 2) as usize {
        return Err(Error::Device(format!(
            "wgpu: {what} has {n} elements, more than one GPU launch indexes"
        )));
    }
    Ok(n)
}

/// The error for a family this backend does not run (the scheduler then uses the CPU).
fn not_on_gpu(kernel: &Kernel, dtype: DType, device: &str) -> Error {
    let op = match kernel {
        Kernel::StoreRead { .. } => "store_read (host I/O, not a GPU kernel)",
        Kernel::StoreWrite { .. } => "store_write (host I/O, not a GPU kernel)",
        _ => "kernel (no GPU kernel)",
    };
    unsupported(op, dtype, device)
}

/// Runs `kernel` and returns its (unregistered) output buffers, one per spec.
pub(crate) fn run(
    l: &Launch<'_>,
    kernel: &Kernel,
    inputs: &[Input],
    outputs: &[BufferSpec],
) -> Result<Vec<wgpu::Buffer>> {
    let family = kernel.family();
    let one = |b: wgpu::Buffer| vec![b];
    Ok(match kernel {
        Kernel::Fill { value } => one(fill::fill(l, *value, single(family, outputs)?)?),
        Kernel::Arange { .. } => one(source::arange(l, kernel, single(family, outputs)?)?),
        Kernel::Eye { k, chunk_start } => {
            one(source::eye(l, *k, chunk_start, single(family, outputs)?)?)
        }
        Kernel::Random { .. } => one(random::random(l, kernel, single(family, outputs)?)?),
        Kernel::HostSlice { data, region } => one(source::host_slice(
            l,
            data,
            region,
            single(family, outputs)?,
        )?),
        Kernel::Elementwise { expr } => one(elementwise::elementwise(
            l,
            expr,
            inputs,
            single(family, outputs)?,
        )?),
        Kernel::Gather { pieces, fill } => one(gather::gather(
            l,
            pieces,
            *fill,
            inputs,
            single(family, outputs)?,
        )?),
        Kernel::Reshape {
            in_shape,
            out_shape,
            out_region,
            in_regions,
        } => one(reshape::reshape(
            l,
            (in_shape, out_shape),
            out_region,
            in_regions,
            inputs,
            single(family, outputs)?,
        )?),
        Kernel::Matmul => one(matmul::matmul(l, inputs, single(family, outputs)?)?),
        Kernel::Reduce { op, axes, stage } => reduce::reduce(l, *op, axes, stage, inputs, outputs)?,
        Kernel::ScanLocal { .. } | Kernel::ScanCarry { .. } | Kernel::ScanApply { .. } => {
            scan::scan(l, kernel, inputs, outputs)?
        }
        Kernel::MapBlocks { .. } => one(user::map_blocks(
            l,
            kernel,
            inputs,
            single(family, outputs)?,
        )?),
        Kernel::Overlap { .. } => one(user::overlap(l, kernel, inputs, single(family, outputs)?)?),
        other => {
            let dtype = outputs
                .first()
                .map(|s| s.dtype)
                .or(inputs.first().map(|i| i.repr.dtype))
                .unwrap_or(DType::F32);
            return Err(not_on_gpu(other, dtype, &l.features().name));
        }
    })
}

/// Every shader this backend can build for `features`, as `(name, source)`: what the naga
/// validation test compiles. Elementwise kernels are open-ended; `exprs` adds generated ones.
#[cfg(test)]
pub(crate) fn all_shaders(features: &Features) -> Result<Vec<(String, String)>> {
    let mut out = fill::shaders(features)?;
    out.extend(source::shaders(features)?);
    out.extend(random::shaders(features)?);
    out.extend(gather::shaders(features)?);
    out.extend(reshape::shaders(features)?);
    out.extend(matmul::shaders(features)?);
    out.extend(crate::roofline::shaders(features)?);
    out.extend(reduce::shaders(features)?);
    out.extend(scan::shaders(features)?);
    out.extend(elementwise::sample_shaders(features)?);
    out.extend(user::sample_shaders(features)?);
    Ok(out)
}
