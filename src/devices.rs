//! Opening the devices a [`Device`] choice asks for, and the [`Placement`] that routes tasks
//! between them.

use crate::context::Device;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tilework_core::{Backend, Result};
use tilework_cpu::CpuBackend;
use tilework_sched::{Placement, PlacementStats, Policy};
use tilework_wgpu::{GpuOptions, WgpuBackend};

/// Under `Device::Auto`, tasks writing less than this stay on the CPU: launch and transfer costs
/// would outweigh the GPU's speed.
const AUTO_MIN_GPU_BYTES: usize = 1 << 20;

/// The backends of a context.
pub(crate) struct Devices {
    /// What the executor drives (a [`Placement`] when a GPU is attached).
    pub(crate) backend: Arc<dyn Backend>,
    /// The placement behind `backend`, when a GPU is attached.
    pub(crate) placement: Option<Arc<Placement>>,
    /// Task and transfer counters, when a GPU is attached.
    pub(crate) stats: Option<Arc<PlacementStats>>,
    /// The GPU's description, when one is attached.
    pub(crate) gpu: Option<String>,
}

/// Opens the devices for `device`.
///
/// # Errors
/// `Device::Gpu` when no usable adapter exists: the error says what was looked for and how to
/// install a driver.
pub(crate) fn open(
    device: Device,
    adapter: Option<String>,
    device_memory: Option<u64>,
) -> Result<Devices> {
    let cpu: Arc<dyn Backend> = Arc::new(CpuBackend::new());
    let defaults = GpuOptions::default();
    let options = GpuOptions {
        adapter_name_contains: adapter,
        // Freed buffers kept for reuse count against the device too.
        pool_cache_bytes: device_memory.map_or(defaults.pool_cache_bytes, |b| {
            b.min(defaults.pool_cache_bytes)
        }),
        ..defaults
    };
    let gpu = match device {
        Device::Cpu => None,
        Device::Gpu => Some(WgpuBackend::new(&options)?),
        Device::Auto => auto_gpu(&options),
    };
    let Some(gpu) = gpu else {
        return Ok(Devices {
            backend: cpu,
            placement: None,
            stats: None,
            gpu: None,
        });
    };
    let (policy, min_bytes) = match device {
        Device::Gpu => (Policy::Accelerator, 0),
        _ => (Policy::Auto, AUTO_MIN_GPU_BYTES),
    };
    let name = gpu.adapter().to_string();
    let families = WgpuBackend::kernel_families().to_vec();
    let gpu: Arc<dyn Backend> = Arc::new(gpu);
    let placement = Arc::new(
        Placement::new(cpu, Some((gpu, families)), policy, min_bytes)
            .with_device_budget(device_memory),
    );
    Ok(Devices {
        stats: Some(placement.stats()),
        backend: placement.clone(),
        placement: Some(placement),
        gpu: Some(name),
    })
}

/// Printed once per process, however many contexts fall back.
static AUTO_NOTICE_SHOWN: AtomicBool = AtomicBool::new(false);

/// A hardware GPU for `Device::Auto`, or `None` with one notice on stderr. Software adapters
/// (Mesa's lavapipe) are skipped: the CPU backend is faster than a CPU emulating a GPU.
fn auto_gpu(options: &GpuOptions) -> Option<WgpuBackend> {
    let why = match tilework_wgpu::probe_with(options).ok() {
        None => "no GPU adapter was found".to_string(),
        Some(a) if a.device_type == "Cpu" => format!("the only adapter is a software one ({a})"),
        Some(_) => match WgpuBackend::new(options) {
            Ok(gpu) => return Some(gpu),
            Err(e) => format!("the GPU could not be opened: {e}"),
        },
    };
    if !AUTO_NOTICE_SHOWN.swap(true, Ordering::Relaxed) {
        eprintln!("tilework: {why}; computing on the CPU (Device::Gpu forces the GPU)");
    }
    None
}
