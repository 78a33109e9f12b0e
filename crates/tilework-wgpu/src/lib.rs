//! The GPU backend of tilework: kernels as WGSL compute shaders run through wgpu (Vulkan, Metal,
//! DX12, GL), including Mesa's software Vulkan driver (lavapipe) on machines without a GPU.
//!
//! [`WgpuBackend`] implements [`tilework_core::Backend`]. Buffers come from a per-backend pool
//! keyed by size class, pipelines from a per-backend cache keyed by (family, specialization),
//! and every wgpu error becomes an `Err`, never a panic: errors are captured by error scopes
//! around each operation; anything that escapes them (and device loss) is reported by the next
//! call, and by every call after it (open a new backend then). Work this backend cannot run (a
//! family it lacks, i64, f64 on a device without SHADER_F64, f64 transcendentals) returns
//! [`tilework_core::Error::DTypeUnsupported`], which the scheduler reads as "run it on the CPU".
//!
//! # Dtypes
//! bool, u8, i32, u32, f16 and f32 on every adapter; f64 with SHADER_F64; never i64. On the
//! device bool and u8 take one u32 each, f16 is native with SHADER_F16 and otherwise its bits
//! sit in a u32 (converted in software with round-to-nearest-even). f16 computes in f32 and
//! rounds at every node, like the CPU backend.
//!
//! # Kernel families
//! `fill`, `arange` (computes in f64: needs SHADER_F64), `eye`, `random`, `host_slice`,
//! `elementwise`, `gather` and `reshape` ([`WgpuBackend::kernel_families`]). Results equal the
//! CPU backend's bit for bit, except the f32/f16 transcendentals (`exp`, `log`, `sin`, `cos`,
//! `tan`, `tanh`, `pow` with a non-constant exponent, and the normal distribution), which are
//! within the device's accuracy (a few ulp on lavapipe).
//!
//! # Modules
//! - `device`: adapter choice, device creation, error scopes, device loss.
//! - `pool`: size-classed buffer pool and `DeviceBuffer` handles.
//! - `dtype`: device layout of each dtype, host <-> device bytes.
//! - `transfer`: uploads and downloads.
//! - `template`, `shaders`: `{{ name }}` substitution, the `shaders/*.wgsl` sources and helper
//!   libraries.
//! - `pipeline`: the pipeline cache and bind group layouts.
//! - `dispatch`: params buffers, 2-D grids, recording and submitting steps.
//! - `codegen`: the WGSL writer, per-op expressions, the fused elementwise generator.
//! - `kernels`: one launcher per family.
//!
//! # Adding a kernel family
//! 1. Write `shaders/<family>.wgsl`: binding 0 is `params: array<u32>` (read), then the
//!    kernel's buffers; `main` starts with the flat index
//!    `let i = gid.x + gid.y * nwg.x * {{ workgroup }}u;` and returns when `i >= params[0]`
//!    (see `shaders/fill.wgsl`). Only `{{ name }}` placeholders, never in comments; shared
//!    helpers (64-bit index math, float/int ops, f16 conversions) come from
//!    `shaders::Helpers`.
//! 2. Add `src/kernels/<family>.rs` with a `source(features, ...)` function that renders the
//!    template, and a launcher that validates the kernel on the host (bad input is an `Err`,
//!    never an out-of-bounds access), fetches its pipeline with `Launch::pipeline(family, key,
//!    bindings, || source(..))` (the key must determine the source), allocates outputs with
//!    `Launch::alloc` and submits `dispatch::Step`s (several steps run in order in one pass).
//!    Use `codegen::ops` for per-dtype expressions and casts, `Repr::load`/`store` for the
//!    storage layout, and return `dtype::unsupported` for what should fall back to the CPU.
//! 3. Route the `Kernel` variant in `kernels::run`, add the family to `kernels::FAMILIES`, and
//!    list its shader variants in `kernels::all_shaders` (the naga test validates them).
//! 4. Test it against `tilework_cpu::CpuBackend` in `tests/gpu/` with `common::run_both`.
#![warn(missing_docs)]

mod codegen;
mod device;
mod dispatch;
mod dtype;
mod kernels;
#[cfg(test)]
mod naga_tests;
mod pipeline;
mod pool;
mod roofline;
mod shaders;
mod template;
mod timing;
mod transfer;

pub use device::{AdapterSummary, GpuOptions, probe, probe_with};
pub use roofline::{Measurement, Timing, measure_copy_bandwidth, measure_fma_peak};
/// Adapter preference of [`GpuOptions`] (re-exported so callers need no wgpu dependency).
pub use wgpu::PowerPreference;

use device::Gpu;
use dtype::Repr;
use kernels::{Input, Launch};
use pipeline::PipelineCache;
use pool::Pool;
use tilework_core::{
    Backend, Buffer, BufferSpec, Caps, DeviceBuffer, DeviceKind, Error, HostArray, Kernel,
    MemoryInfo, Result,
};

/// A GPU driven through wgpu.
pub struct WgpuBackend {
    gpu: Gpu,
    pool: Pool,
    cache: PipelineCache,
    caps: Caps,
}

impl std::fmt::Debug for WgpuBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WgpuBackend")
            .field("gpu", &self.gpu)
            .finish_non_exhaustive()
    }
}

impl WgpuBackend {
    /// Opens the GPU `options` select.
    ///
    /// # Errors
    /// [`Error::Device`] when no adapter exists (the message says what was looked for and how
    /// to install a driver) or the device cannot be opened.
    pub fn new(options: &GpuOptions) -> Result<WgpuBackend> {
        let gpu = Gpu::open(options)?;
        let max_binding = gpu.max_binding();
        let caps = Caps {
            name: format!(
                "gpu {} ({}, {})",
                gpu.summary.name, gpu.summary.backend, gpu.summary.device_type
            ),
            kind: DeviceKind::Gpu,
            dtypes: dtype::supported(gpu.features.f64),
            // bool and u8 take 4 device bytes per element: stay within the binding limit for
            // every dtype.
            max_buffer_bytes: max_binding / 4,
        };
        Ok(WgpuBackend {
            pool: Pool::new(options.pool_cache_bytes, max_binding),
            cache: PipelineCache::default(),
            caps,
            gpu,
        })
    }

    /// The adapter in use.
    pub fn adapter(&self) -> &AdapterSummary {
        &self.gpu.summary
    }

    /// Names (`Kernel::family`) of the kernel families this backend runs.
    pub fn kernel_families() -> &'static [&'static str] {
        kernels::FAMILIES
    }

    /// Whether f16 is stored natively (SHADER_F16) rather than as bits in u32 words.
    pub fn f16_native(&self) -> bool {
        self.gpu.features.f16_native
    }

    /// Releases the pool's cached free buffers to the driver.
    pub fn trim(&self) {
        self.pool.trim();
    }

    /// Number of live buffer handles (allocated and not yet freed).
    pub fn live_buffers(&self) -> usize {
        self.pool.live_count()
    }

    /// Number of compiled pipelines in the cache.
    pub fn cached_pipelines(&self) -> usize {
        self.cache.len()
    }

    fn repr(&self, dtype: tilework_core::DType, op: &'static str) -> Result<Repr> {
        Repr::of(dtype, &self.gpu.features, op)
    }

    /// Resolves task inputs to device buffers, uploading host ones through `l`.
    fn inputs(&self, l: &Launch<'_>, inputs: &[&Buffer]) -> Result<Vec<Input>> {
        inputs
            .iter()
            .map(|b| match b {
                Buffer::Device(d) => Ok(Input {
                    repr: self.repr(d.spec.dtype, "launch")?,
                    shape: d.spec.shape.clone(),
                    buffer: self.pool.get(d)?,
                }),
                Buffer::Host(h) => {
                    let repr = self.repr(h.dtype(), "launch")?;
                    Ok(Input {
                        repr,
                        shape: h.shape(),
                        buffer: transfer::upload(l, repr, h)?,
                    })
                }
            })
            .collect()
    }

    fn launch_in(
        &self,
        l: &Launch<'_>,
        kernel: &Kernel,
        inputs: &[&Buffer],
        outputs: &[BufferSpec],
    ) -> Result<Vec<wgpu::Buffer>> {
        for spec in outputs {
            self.repr(spec.dtype, kernel.family())?;
        }
        let inputs = self.inputs(l, inputs)?;
        let out = kernels::run(l, kernel, &inputs, outputs)?;
        if out.len() != outputs.len() {
            return Err(Error::Device(format!(
                "wgpu {}: produced {} outputs for {} specs",
                kernel.family(),
                out.len(),
                outputs.len()
            )));
        }
        Ok(out)
    }
}

impl Backend for WgpuBackend {
    fn caps(&self) -> &Caps {
        &self.caps
    }

    fn alloc(&self, spec: &BufferSpec) -> Result<Buffer> {
        let repr = self.repr(spec.dtype, "alloc")?;
        let n = kernels::count(&spec.shape, "alloc")?;
        let buffer = self.gpu.scoped("alloc", || {
            self.pool
                .acquire(&self.gpu.device, repr.buffer_bytes(n as u64))
        })?;
        Ok(Buffer::Device(self.pool.register(buffer, spec.clone())))
    }

    fn free(&self, buffer: Buffer) {
        if let Buffer::Device(d) = buffer {
            self.pool.release(&d);
        }
    }

    fn upload(&self, host: &HostArray) -> Result<Buffer> {
        let repr = self.repr(host.dtype(), "upload")?;
        kernels::count(&host.shape(), "upload")?;
        let l = Launch::new(&self.gpu, &self.pool, &self.cache);
        match self
            .gpu
            .scoped("upload", || transfer::upload(&l, repr, host))
        {
            Ok(buffer) => {
                let spec = BufferSpec {
                    dtype: host.dtype(),
                    shape: host.shape(),
                };
                Ok(Buffer::Device(self.pool.register(buffer, spec)))
            }
            Err(e) => {
                l.abandon();
                Err(e)
            }
        }
    }

    fn download(&self, buffer: &Buffer) -> Result<HostArray> {
        let d: &DeviceBuffer = match buffer {
            Buffer::Host(h) => return Ok(h.clone()),
            Buffer::Device(d) => d,
        };
        let repr = self.repr(d.spec.dtype, "download")?;
        let raw = self.pool.get(d)?;
        let n = d.spec.shape.iter().product::<usize>() as u64;
        let bytes = self.gpu.scoped("download", || {
            transfer::read_back(&self.gpu, &self.pool, &raw, n * repr.bytes())
        })?;
        repr.decode(&bytes, &d.spec.shape)
    }

    fn launch(
        &self,
        kernel: &Kernel,
        inputs: &[&Buffer],
        outputs: &[BufferSpec],
    ) -> Result<Vec<Buffer>> {
        let l = Launch::new(&self.gpu, &self.pool, &self.cache);
        let what = format!("launching {}", kernel.family());
        match self
            .gpu
            .scoped(&what, || self.launch_in(&l, kernel, inputs, outputs))
        {
            Ok(out) => {
                let handles = out
                    .iter()
                    .zip(outputs)
                    .map(|(b, spec)| Buffer::Device(self.pool.register(b.clone(), spec.clone())))
                    .collect();
                // Uploaded inputs were temporaries: back to the pool (queued work keeps them
                // alive until it is done).
                l.release_except(&out);
                Ok(handles)
            }
            Err(e) => {
                l.abandon();
                Err(e)
            }
        }
    }

    fn sync(&self) -> Result<()> {
        self.gpu.scoped("sync", || self.gpu.wait())
    }

    fn memory_info(&self) -> MemoryInfo {
        let (live, cached) = self.pool.bytes();
        // wgpu does not report the device's memory size.
        MemoryInfo {
            total: 0,
            used: live + cached,
        }
    }
}
