//! Recording and submitting kernel launches: the params buffer, the bind group and the grid.
//!
//! Every kernel is one-dimensional over `threads` invocations. More workgroups than
//! `max_compute_workgroups_per_dimension` spill into a second grid dimension, and the shader
//! rebuilds its flat index as `gid.x + gid.y * num_workgroups.x * WORKGROUP` (see
//! `shaders/README.md`) and returns early past its length, which it reads from `params[0]`.
//!
//! The params of all steps of one submit share one pool buffer (each step's words at an offset
//! aligned for storage bindings), written with `queue.write_buffer` and returned to the pool
//! right after the submit: a launch creates no params buffer of its own. Reuse is safe because
//! the queue orders a later write after the work already submitted.

use crate::device::Gpu;
use crate::pipeline::Pipeline;
use crate::pool::Pool;
use crate::timing::PassTimer;
use std::num::NonZeroU64;
use tilework_core::{Error, Result};

/// The u32 words of a kernel's `params` buffer.
#[derive(Clone, Debug, Default)]
pub(crate) struct Params(pub(crate) Vec<u32>);

impl Params {
    /// Empty params.
    pub(crate) fn new() -> Params {
        Params(Vec::new())
    }

    /// Appends a u32.
    pub(crate) fn u32(&mut self, v: u32) -> &mut Self {
        self.0.push(v);
        self
    }

    /// Appends an i32 (two's complement bits).
    pub(crate) fn i32(&mut self, v: i32) -> &mut Self {
        self.u32(v as u32)
    }

    /// Appends a u64 as (low, high) words.
    pub(crate) fn u64(&mut self, v: u64) -> &mut Self {
        self.u32(v as u32).u32((v >> 32) as u32)
    }

    /// Appends a count that must fit a u32 (`what` names it in the error).
    pub(crate) fn len(&mut self, v: usize, what: &str) -> Result<&mut Self> {
        let v = u32::try_from(v).map_err(|_| {
            Error::Device(format!(
                "wgpu: {what} = {v} does not fit the GPU's 32-bit indices"
            ))
        })?;
        Ok(self.u32(v))
    }

    /// Appends the bits of each word.
    pub(crate) fn words(&mut self, words: &[u32]) -> &mut Self {
        self.0.extend_from_slice(words);
        self
    }
}

/// One launch: a pipeline, its buffers (bindings 1..) and its params.
pub(crate) struct Step<'a> {
    pub(crate) pipeline: &'a Pipeline,
    pub(crate) buffers: Vec<&'a wgpu::Buffer>,
    pub(crate) params: Params,
    /// Invocations (one per output element, usually).
    pub(crate) threads: u64,
}

/// The (x, y) workgroup grid covering `threads` invocations.
pub(crate) fn grid(threads: u64, workgroup: u32, max_per_dim: u32) -> Result<(u32, u32)> {
    // Indices are u32 in the shaders; keep a whole row of slack below the wrap-around.
    if threads > u64::from(u32::MAX / 2) {
        return Err(Error::Device(format!(
            "wgpu: {threads} invocations exceed one launch's 32-bit index space"
        )));
    }
    let groups = threads.div_ceil(u64::from(workgroup));
    let max = u64::from(max_per_dim.max(1));
    let x = groups.min(max);
    let y = if x == 0 { 0 } else { groups.div_ceil(x) };
    if y > max {
        return Err(Error::Device(format!(
            "wgpu: {groups} workgroups exceed a {max} x {max} grid"
        )));
    }
    Ok((x as u32, y as u32))
}

/// Records `steps` in order into one compute pass and submits it. Later steps see earlier
/// steps' writes (wgpu orders dispatches that share a writable buffer). While kernel timing is
/// on (`KernelClock`), the pass is timed and its time added to the clock when it has run.
pub(crate) fn submit(gpu: &Gpu, pool: &Pool, steps: &[Step<'_>]) -> Result<()> {
    let timer = if gpu.clock.is_on() {
        PassTimer::new(gpu)
    } else {
        None
    };
    let ran = submit_timed(gpu, pool, steps, timer.as_ref())?;
    if let (true, Some(timer)) = (ran, timer) {
        gpu.clock.track(timer);
    }
    Ok(())
}

/// Bytes a params list of `words` words binds: an empty list still binds one word.
fn params_bytes(words: usize) -> u64 {
    4 * words.max(1) as u64
}

/// Where each of the params lists of `words` words starts in the shared params buffer (at a
/// multiple of `align`), and the buffer's size.
fn params_layout(words: impl Iterator<Item = usize>, align: u64) -> (Vec<u64>, u64) {
    let mut offsets = Vec::new();
    let mut end = 0u64;
    for n in words {
        let at = end.next_multiple_of(align);
        offsets.push(at);
        end = at + params_bytes(n);
    }
    (offsets, end)
}

/// Like [`submit`], with the pass timed by `timer` when given. Returns whether anything was
/// submitted (a launch whose every step is empty records nothing).
pub(crate) fn submit_timed(
    gpu: &Gpu,
    pool: &Pool,
    steps: &[Step<'_>],
    timer: Option<&PassTimer>,
) -> Result<bool> {
    let device = &gpu.device;
    let mut grids = Vec::with_capacity(steps.len());
    for step in steps {
        if step.buffers.len() != step.pipeline.bindings.len() {
            return Err(Error::Device(format!(
                "wgpu: {} kernel given {} buffers for {} bindings",
                step.pipeline.family,
                step.buffers.len(),
                step.pipeline.bindings.len()
            )));
        }
        grids.push(grid(
            step.threads,
            gpu.features.workgroup,
            gpu.limits.max_compute_workgroups_per_dimension,
        )?);
    }
    if grids.iter().all(|&(x, _)| x == 0) {
        return Ok(false);
    }
    let align = u64::from(gpu.limits.min_storage_buffer_offset_alignment.max(4));
    let (offsets, total) = params_layout(steps.iter().map(|s| s.params.0.len()), align);
    let params = pool.acquire(device, total)?;
    let mut packed = vec![0u8; total as usize];
    for (step, &at) in steps.iter().zip(&offsets) {
        let bytes: &[u8] = bytemuck::cast_slice(&step.params.0);
        packed[at as usize..at as usize + bytes.len()].copy_from_slice(bytes);
    }
    gpu.queue.write_buffer(&params, 0, &packed);
    let mut prepared = Vec::with_capacity(steps.len());
    for ((step, &(x, y)), &at) in steps.iter().zip(&grids).zip(&offsets) {
        if x == 0 {
            continue;
        }
        let size = NonZeroU64::new(params_bytes(step.params.0.len()));
        let mut entries = vec![wgpu::BindGroupEntry {
            binding: 0,
            resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                buffer: &params,
                offset: at,
                size,
            }),
        }];
        entries.extend(
            step.buffers
                .iter()
                .enumerate()
                .map(|(i, b)| wgpu::BindGroupEntry {
                    binding: i as u32 + 1,
                    resource: b.as_entire_binding(),
                }),
        );
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(step.pipeline.family),
            layout: &step.pipeline.layout,
            entries: &entries,
        });
        prepared.push((step.pipeline, bind_group, x, y));
    }
    let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
        label: Some("tilework launch"),
    });
    {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("tilework"),
            timestamp_writes: timer.map(PassTimer::writes),
        });
        for (pipeline, bind_group, x, y) in &prepared {
            pass.set_pipeline(&pipeline.pipeline);
            pass.set_bind_group(0, bind_group, &[]);
            pass.dispatch_workgroups(*x, *y, 1);
        }
    }
    if let Some(timer) = timer {
        timer.resolve(&mut encoder);
    }
    gpu.queue.submit([encoder.finish()]);
    pool.recycle(params);
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grids_cover_every_thread_and_respect_the_limit() {
        assert_eq!(grid(0, 256, 65535).unwrap(), (0, 0));
        assert_eq!(grid(1, 256, 65535).unwrap(), (1, 1));
        assert_eq!(grid(256, 256, 65535).unwrap(), (1, 1));
        assert_eq!(grid(257, 256, 65535).unwrap(), (2, 1));
        // 2^24 + 3 elements need 65537 workgroups: one more than a dimension holds.
        let (x, y) = grid((1 << 24) + 3, 256, 65535).unwrap();
        assert_eq!((x, y), (65535, 2));
        for threads in [1u64, 255, 1000, 1 << 20, (1 << 24) + 3, 1 << 30] {
            let (x, y) = grid(threads, 64, 65535).unwrap();
            assert!(u64::from(x) * u64::from(y) * 64 >= threads);
            assert!(
                u64::from(x) * u64::from(y - 1) * 64 < threads,
                "no spare row"
            );
        }
        assert!(grid(1 << 40, 256, 65535).is_err());
        assert!(grid(1 << 30, 1, 100).is_err());
    }

    #[test]
    fn params_lists_share_one_buffer_at_aligned_offsets() {
        assert_eq!(
            params_layout([3, 0, 70].into_iter(), 256),
            (vec![0, 256, 512], 792)
        );
        assert_eq!(params_layout([1, 2].into_iter(), 4), (vec![0, 4], 12));
        assert_eq!(params_layout(std::iter::empty(), 64), (vec![], 0));
    }
}
