//! Opening the devices a [`Device`] choice asks for, and the [`Placement`] that routes tasks
//! between them.
//!
//! `Device::Auto` opens nothing when the context is built: the adapter is probed the first time
//! a plan has work a GPU would take (or [`Context::gpu`](crate::Context::gpu) asks), so that
//! programs with only small or CPU-only work never load a GPU driver (tens of MiB resident, and
//! the driver's own messages on stderr).

use crate::context::Device;
use std::sync::{Arc, OnceLock};
use tilework_core::{Backend, Result};
use tilework_cpu::CpuBackend;
use tilework_sched::{Placement, PlacementStats, Plan};
#[cfg(feature = "gpu")]
use {
    std::sync::atomic::{AtomicBool, Ordering},
    tilework_sched::{Policy, TaskKind},
    tilework_wgpu::{GpuOptions, WgpuBackend},
};

/// Under `Device::Auto`, tasks writing less than this stay on the CPU: launch and transfer costs
/// would outweigh the GPU's speed.
#[cfg(feature = "gpu")]
const AUTO_MIN_GPU_BYTES: usize = 1 << 20;

/// The backends a computation runs on.
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

/// The devices of a context: the CPU at once, the GPU when it is asked for or, under
/// `Device::Auto`, when the first plan needs it.
pub(crate) struct DeviceSlot {
    #[cfg(feature = "gpu")]
    device: Device,
    #[cfg(feature = "gpu")]
    options: GpuOptions,
    #[cfg(feature = "gpu")]
    device_memory: Option<u64>,
    /// Let the drivers' own stderr lines through (`TILEWORK_GPU_VERBOSE`).
    #[cfg(feature = "gpu")]
    driver_messages: bool,
    cpu: Devices,
    /// Set once: at build for `Cpu` and `Gpu`, at the first GPU-worthy plan for `Auto`.
    opened: OnceLock<Devices>,
}

impl DeviceSlot {
    /// The devices for `device`; `Device::Gpu` opens its adapter now.
    ///
    /// # Errors
    /// `Device::Gpu` when no usable adapter exists (the error says what was looked for and how
    /// to install a driver), or when this build has no GPU backend (feature `gpu`).
    #[cfg_attr(not(feature = "gpu"), allow(unused_variables))]
    pub(crate) fn new(
        device: Device,
        adapter: Option<String>,
        device_memory: Option<u64>,
        driver_messages: bool,
    ) -> Result<DeviceSlot> {
        let cpu = cpu_only(Arc::new(CpuBackend::new()));
        #[cfg(feature = "gpu")]
        let defaults = GpuOptions::default();
        #[cfg(feature = "gpu")]
        let options = GpuOptions {
            adapter_name_contains: adapter,
            // Freed buffers kept for reuse count against the device too.
            pool_cache_bytes: device_memory.map_or(defaults.pool_cache_bytes, |b| {
                b.min(defaults.pool_cache_bytes)
            }),
            ..defaults
        };
        let slot = DeviceSlot {
            #[cfg(feature = "gpu")]
            device,
            #[cfg(feature = "gpu")]
            options,
            #[cfg(feature = "gpu")]
            device_memory,
            #[cfg(feature = "gpu")]
            driver_messages,
            cpu,
            opened: OnceLock::new(),
        };
        match device {
            Device::Cpu => {
                let _ = slot.opened.set(cpu_only(slot.cpu.backend.clone()));
            }
            #[cfg(not(feature = "gpu"))]
            Device::Gpu => {
                return Err(tilework_core::Error::invalid(
                    "context",
                    "Device::Gpu needs tilework's `gpu` feature, which this build leaves out \
                     (Device::Auto and Device::Cpu run on the CPU)",
                ));
            }
            #[cfg(feature = "gpu")]
            Device::Gpu => {
                let gpu =
                    crate::quiet::probing(driver_messages, || WgpuBackend::new(&slot.options))?;
                let _ = slot.opened.set(slot.with_gpu(gpu));
            }
            Device::Auto => {}
        }
        Ok(slot)
    }

    /// The devices as they stand, without probing: the CPU alone until an `Auto` context has
    /// needed its GPU.
    pub(crate) fn current(&self) -> &Devices {
        self.opened.get().unwrap_or(&self.cpu)
    }

    /// The devices, probing an `Auto` context's adapter if that has not happened yet.
    pub(crate) fn resolved(&self) -> &Devices {
        self.opened.get_or_init(|| self.open_auto())
    }

    /// The devices to run `plan` on: an `Auto` context probes its adapter only for a plan with
    /// a task the GPU would take.
    #[cfg_attr(not(feature = "gpu"), allow(unused_variables))]
    pub(crate) fn for_plan(&self, plan: &Plan) -> &Devices {
        #[cfg(feature = "gpu")]
        if self.opened.get().is_none() && gpu_worthy(plan) {
            return self.resolved();
        }
        self.current()
    }

    #[cfg(not(feature = "gpu"))]
    fn open_auto(&self) -> Devices {
        cpu_only(self.cpu.backend.clone())
    }

    #[cfg(feature = "gpu")]
    fn open_auto(&self) -> Devices {
        match auto_gpu(&self.options, self.driver_messages) {
            Some(gpu) => self.with_gpu(gpu),
            None => cpu_only(self.cpu.backend.clone()),
        }
    }

    #[cfg(feature = "gpu")]
    fn with_gpu(&self, gpu: WgpuBackend) -> Devices {
        let (policy, min_bytes) = match self.device {
            Device::Gpu => (Policy::Accelerator, 0),
            _ => (Policy::Auto, AUTO_MIN_GPU_BYTES),
        };
        let name = gpu.adapter().to_string();
        let families = WgpuBackend::kernel_families().to_vec();
        let gpu: Arc<dyn Backend> = Arc::new(gpu);
        // The same CPU backend as before the probe, so chunks computed earlier stay readable.
        let placement = Arc::new(
            Placement::new(
                self.cpu.backend.clone(),
                Some((gpu, families)),
                policy,
                min_bytes,
            )
            .with_device_budget(self.device_memory),
        );
        Devices {
            stats: Some(placement.stats()),
            backend: placement.clone(),
            placement: Some(placement),
            gpu: Some(name),
        }
    }
}

fn cpu_only(backend: Arc<dyn Backend>) -> Devices {
    Devices {
        backend,
        placement: None,
        stats: None,
        gpu: None,
    }
}

/// Whether `plan` has a task `Device::Auto` would give a GPU: a kernel the GPU implements,
/// writing at least [`AUTO_MIN_GPU_BYTES`].
#[cfg(feature = "gpu")]
fn gpu_worthy(plan: &Plan) -> bool {
    let families = WgpuBackend::kernel_families();
    plan.tasks.iter().any(|task| match &task.kind {
        TaskKind::Launch(kernel) => {
            task.output_bytes() >= AUTO_MIN_GPU_BYTES as u64 && families.contains(&kernel.family())
        }
        TaskKind::Literal(_) => false,
    })
}

/// Whether this machine could have a hardware GPU. On Linux a GPU always has a device node
/// (DRM render nodes, NVIDIA's, AMD's compute node, WSL's); without one, probing could only find
/// a software adapter, which `Device::Auto` would not use anyway. Elsewhere, always true.
#[cfg(feature = "gpu")]
fn gpu_device_node_exists() -> bool {
    if !cfg!(target_os = "linux") {
        return true;
    }
    let any_named = |dir: &str, prefixes: &[&str]| {
        std::fs::read_dir(dir).is_ok_and(|entries| {
            entries.flatten().any(|e| {
                let name = e.file_name();
                let name = name.to_string_lossy();
                prefixes.iter().any(|p| name.starts_with(p))
            })
        })
    };
    any_named("/dev/dri", &["renderD", "card"])
        || any_named("/dev", &["nvidia"])
        || std::path::Path::new("/dev/dxg").exists()
        || std::path::Path::new("/dev/kfd").exists()
}

/// Printed once per process, however many contexts fall back.
#[cfg(feature = "gpu")]
static AUTO_NOTICE_SHOWN: AtomicBool = AtomicBool::new(false);

/// A hardware GPU for `Device::Auto`, or `None` with one notice on stderr. Software adapters
/// (Mesa's lavapipe) are skipped: the CPU backend is faster than a CPU emulating a GPU.
#[cfg(feature = "gpu")]
fn auto_gpu(options: &GpuOptions, verbose: bool) -> Option<WgpuBackend> {
    let why = if !gpu_device_node_exists() {
        "no GPU device node was found".to_string()
    } else {
        match crate::quiet::probing(verbose, || tilework_wgpu::probe_with(options)).ok() {
            None => "no GPU adapter was found".to_string(),
            Some(a) if a.device_type == "Cpu" => {
                format!("the only adapter is a software one ({a})")
            }
            Some(_) => match crate::quiet::probing(verbose, || WgpuBackend::new(options)) {
                Ok(gpu) => return Some(gpu),
                Err(e) => format!("the GPU could not be opened: {e}"),
            },
        }
    };
    if !AUTO_NOTICE_SHOWN.swap(true, Ordering::Relaxed) {
        eprintln!("tilework: {why}; computing on the CPU (Device::Gpu forces the GPU)");
    }
    None
}
