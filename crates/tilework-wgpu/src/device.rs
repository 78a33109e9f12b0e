//! The device layer: adapter selection, device creation with the optional features the adapter
//! has, and error capture so that wgpu errors become `Err` values instead of panics.
//!
//! wgpu reports most errors asynchronously. Every public operation of the backend runs inside
//! [`Gpu::scoped`], which pushes out-of-memory, validation and internal error scopes around the
//! work and turns whatever they caught into an [`Error`]. Errors that escape every scope (and
//! device loss) land in a sticky slot that the next operation reports.

use crate::timing::KernelClock;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use tilework_core::{Error, Result};

/// How to pick and configure the GPU.
#[derive(Clone, Debug)]
pub struct GpuOptions {
    /// Preference between integrated (low power) and discrete (high performance) adapters.
    pub power_preference: wgpu::PowerPreference,
    /// Only adapters whose name contains this text (case-insensitive) are considered.
    pub adapter_name_contains: Option<String>,
    /// Use native `f16` storage when the adapter has `SHADER_F16` (otherwise f16 is stored as
    /// bits in `u32` words and converted in software). Turning it off exercises the fallback.
    pub allow_f16: bool,
    /// Enable f64 kernels when the adapter has `SHADER_F64`. Turning it off makes f64 (and the
    /// kernels that compute in f64, such as `arange`) report `DTypeUnsupported`.
    pub allow_f64: bool,
    /// Bytes of freed buffers the pool keeps for reuse before it releases them to the driver.
    pub pool_cache_bytes: u64,
}

impl Default for GpuOptions {
    fn default() -> Self {
        GpuOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            adapter_name_contains: None,
            allow_f16: true,
            allow_f64: true,
            pool_cache_bytes: 1 << 30,
        }
    }
}

/// What [`probe`] found: enough to decide whether to use the GPU, without creating a device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdapterSummary {
    /// Adapter name, e.g. `llvmpipe (LLVM 15.0.6, 256 bits)`.
    pub name: String,
    /// Backend API: `Vulkan`, `Metal`, `Dx12` or `Gl`.
    pub backend: String,
    /// `DiscreteGpu`, `IntegratedGpu`, `VirtualGpu`, `Cpu` (a software rasterizer) or `Other`.
    pub device_type: String,
    /// Native f16 shaders are available.
    pub shader_f16: bool,
    /// f64 shaders are available.
    pub shader_f64: bool,
    /// Subgroup operations are available.
    pub subgroups: bool,
}

impl fmt::Display for AdapterSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}, {})", self.name, self.backend, self.device_type)
    }
}

/// Looks for a usable adapter with default options; `None` when there is none.
///
/// Cheap compared with [`crate::WgpuBackend::new`]: it creates no device.
pub fn probe() -> Option<AdapterSummary> {
    probe_with(&GpuOptions::default()).ok()
}

/// Looks for an adapter matching `options`.
///
/// # Errors
/// [`Error::Device`] saying what was searched for and how to install a driver.
pub fn probe_with(options: &GpuOptions) -> Result<AdapterSummary> {
    let (_, adapter) = find_adapter(options)?;
    Ok(summarize(&adapter))
}

fn summarize(adapter: &wgpu::Adapter) -> AdapterSummary {
    let info = adapter.get_info();
    let features = adapter.features();
    AdapterSummary {
        name: info.name,
        backend: format!("{:?}", info.backend),
        device_type: format!("{:?}", info.device_type),
        shader_f16: features.contains(wgpu::Features::SHADER_F16),
        shader_f64: features.contains(wgpu::Features::SHADER_F64),
        subgroups: features.contains(wgpu::Features::SUBGROUP),
    }
}

fn no_adapter(backends: wgpu::Backends, options: &GpuOptions, detail: &str) -> Error {
    let names: Vec<&str> = [
        (wgpu::Backends::VULKAN, "Vulkan"),
        (wgpu::Backends::METAL, "Metal"),
        (wgpu::Backends::DX12, "DX12"),
        (wgpu::Backends::GL, "GL"),
    ]
    .into_iter()
    .filter(|(b, _)| backends.contains(*b))
    .map(|(_, n)| n)
    .collect();
    let filter = match &options.adapter_name_contains {
        Some(s) => format!(" with a name containing {s:?}"),
        None => String::new(),
    };
    Error::Device(format!(
        "wgpu: no GPU adapter{filter} found on backends [{}] ({detail}; WGPU_BACKEND selects \
         backends). Install a GPU driver; on Debian/Ubuntu `apt-get install mesa-vulkan-drivers \
         libvulkan1` provides a software Vulkan adapter (lavapipe)",
        names.join(", ")
    ))
}

fn find_adapter(options: &GpuOptions) -> Result<(wgpu::Instance, wgpu::Adapter)> {
    let desc = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
    let backends = desc.backends;
    let instance = wgpu::Instance::new(desc);
    let adapter = match &options.adapter_name_contains {
        Some(text) => {
            let wanted = text.to_lowercase();
            let adapters = pollster::block_on(instance.enumerate_adapters(backends));
            let seen: Vec<String> = adapters.iter().map(|a| a.get_info().name).collect();
            adapters
                .into_iter()
                .find(|a| a.get_info().name.to_lowercase().contains(&wanted))
                .ok_or_else(|| {
                    no_adapter(backends, options, &format!("adapters present: {seen:?}"))
                })?
        }
        None => pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: options.power_preference,
            ..Default::default()
        }))
        .map_err(|e| no_adapter(backends, options, &e.to_string()))?,
    };
    Ok((instance, adapter))
}

/// Errors that no scope caught, and device loss: reported by the next operation.
#[derive(Clone, Default)]
struct Sticky(Arc<Mutex<Option<String>>>);

impl Sticky {
    fn set(&self, message: String) {
        let mut slot = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        slot.get_or_insert(message);
    }

    fn get(&self) -> Option<String> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// What shader generation needs to know about a device (no wgpu objects, so the naga test can
/// build every shader without one).
#[derive(Clone, Debug)]
pub(crate) struct Features {
    /// f16 lives natively in storage buffers (`enable f16;`).
    pub(crate) f16_native: bool,
    /// f64 kernels may be compiled.
    pub(crate) f64: bool,
    /// Invocations per workgroup of every 1-D kernel.
    pub(crate) workgroup: u32,
    /// Device name for error messages.
    pub(crate) name: String,
}

/// An open device with what the kernels need to know about it.
pub(crate) struct Gpu {
    pub(crate) device: wgpu::Device,
    pub(crate) queue: wgpu::Queue,
    pub(crate) summary: AdapterSummary,
    pub(crate) limits: wgpu::Limits,
    pub(crate) features: Features,
    /// Compute passes can write timestamps (TIMESTAMP_QUERY).
    pub(crate) timestamps: bool,
    /// Sums kernel times while the caller has timing on.
    pub(crate) clock: KernelClock,
    sticky: Sticky,
    // Keeps the instance alive as long as the device, as some backends expect.
    _instance: wgpu::Instance,
}

impl Gpu {
    /// Opens the adapter chosen by `options`.
    pub(crate) fn open(options: &GpuOptions) -> Result<Gpu> {
        let (instance, adapter) = find_adapter(options)?;
        let summary = summarize(&adapter);
        let available = adapter.features();
        let mut features = wgpu::Features::empty();
        let f16_native = options.allow_f16 && available.contains(wgpu::Features::SHADER_F16);
        let f64 = options.allow_f64 && available.contains(wgpu::Features::SHADER_F64);
        if f16_native {
            features |= wgpu::Features::SHADER_F16;
        }
        if f64 {
            features |= wgpu::Features::SHADER_F64;
        }
        if available.contains(wgpu::Features::SUBGROUP) {
            features |= wgpu::Features::SUBGROUP;
        }
        // Kernel timing (`timing`) when the adapter has it; nothing else depends on it.
        let timestamps = available.contains(wgpu::Features::TIMESTAMP_QUERY);
        if timestamps {
            features |= wgpu::Features::TIMESTAMP_QUERY;
        }
        let limits = adapter.limits();
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("tilework"),
            required_features: features,
            required_limits: limits.clone(),
            ..Default::default()
        }))
        .map_err(|e| Error::Device(format!("wgpu: cannot open {summary}: {e}")))?;
        let sticky = Sticky::default();
        let uncaptured = sticky.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            uncaptured.set(format!("wgpu: uncaptured error: {e}"));
        }));
        let lost = sticky.clone();
        device.set_device_lost_callback(move |reason, message| {
            lost.set(format!("wgpu: device lost ({reason:?}): {message}"));
        });
        let workgroup = 256
            .min(limits.max_compute_workgroup_size_x)
            .min(limits.max_compute_invocations_per_workgroup)
            .max(1);
        let features = Features {
            f16_native,
            f64,
            workgroup,
            name: summary.name.clone(),
        };
        Ok(Gpu {
            device,
            queue,
            summary,
            limits,
            features,
            timestamps,
            clock: KernelClock::default(),
            sticky,
            _instance: instance,
        })
    }

    /// The largest buffer a kernel may bind.
    pub(crate) fn max_binding(&self) -> u64 {
        self.limits
            .max_storage_buffer_binding_size
            .min(self.limits.max_buffer_size)
    }

    /// The error an earlier operation left behind, if any.
    pub(crate) fn check(&self) -> Result<()> {
        match self.sticky.get() {
            Some(message) => Err(Error::Device(message)),
            None => Ok(()),
        }
    }

    /// Runs `work` inside error scopes; a wgpu error it caused becomes `Err` (out-of-memory
    /// errors become [`Error::OutOfMemory`] naming `what`).
    pub(crate) fn scoped<T>(&self, what: &str, work: impl FnOnce() -> Result<T>) -> Result<T> {
        self.check()?;
        let internal = self.device.push_error_scope(wgpu::ErrorFilter::Internal);
        let validation = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let result = work();
        // Scopes pop in reverse order of their pushes.
        let errors = [
            pollster::block_on(oom.pop()),
            pollster::block_on(validation.pop()),
            pollster::block_on(internal.pop()),
        ];
        if let Some(e) = errors.into_iter().flatten().next() {
            return Err(match e {
                wgpu::Error::OutOfMemory { .. } => Error::OutOfMemory {
                    what: format!("{what} on {}", self.summary.name),
                    needed: 0,
                    budget: 0,
                },
                other => Error::Device(format!("wgpu: {what}: {other}")),
            });
        }
        let value = result?;
        self.check()?;
        Ok(value)
    }

    /// Blocks until the queue is idle.
    pub(crate) fn wait(&self) -> Result<()> {
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map(|_| ())
            .map_err(|e| Error::Device(format!("wgpu: waiting for the device failed: {e}")))
    }
}

impl fmt::Debug for Gpu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gpu")
            .field("adapter", &self.summary)
            .field("features", &self.features)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open() -> Option<Gpu> {
        match Gpu::open(&GpuOptions::default()) {
            Ok(gpu) => Some(gpu),
            Err(e) => {
                if std::env::var("TILEWORK_REQUIRE_GPU").is_ok_and(|v| v == "1") {
                    panic!("TILEWORK_REQUIRE_GPU=1 but no GPU: {e}");
                }
                eprintln!("skipping GPU test: {e}");
                None
            }
        }
    }

    /// A buffer WebGPU rejects: mappable for reading and a storage buffer at once.
    fn invalid_buffer(gpu: &Gpu) -> wgpu::Buffer {
        gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("invalid on purpose"),
            size: 16,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::STORAGE,
            mapped_at_creation: false,
        })
    }

    #[test]
    fn validation_errors_in_a_scope_become_err_and_the_device_stays_usable() {
        let Some(gpu) = open() else { return };
        let r = gpu.scoped("bad buffer", || Ok(invalid_buffer(&gpu)));
        assert!(
            matches!(r, Err(Error::Device(ref m)) if m.contains("bad buffer")),
            "{r:?}"
        );
        assert!(gpu.scoped("nothing", || Ok(())).is_ok());
    }

    #[test]
    fn uncaptured_errors_fail_the_next_call() {
        let Some(gpu) = open() else { return };
        drop(invalid_buffer(&gpu));
        let r = gpu.scoped("after", || Ok(()));
        assert!(
            matches!(r, Err(Error::Device(ref m)) if m.contains("uncaptured")),
            "{r:?}"
        );
    }

    #[test]
    fn a_lost_device_fails_every_later_call() {
        let Some(gpu) = open() else { return };
        gpu.device.destroy();
        // Whatever the wait says, the loss must surface as Err, not a panic.
        let _ = gpu.wait();
        let r = gpu.scoped("after loss", || gpu.wait());
        assert!(r.is_err(), "{r:?}");
        assert!(gpu.check().is_err());
    }

    #[test]
    fn probe_finds_what_open_opens() {
        let Some(gpu) = open() else { return };
        assert_eq!(probe(), Some(gpu.summary.clone()));
        assert!(gpu.features.workgroup >= 1 && gpu.features.workgroup <= 256);
    }
}
