//! Placement: which device runs each task, and the transfers that choice implies.
//!
//! [`Placement`] is itself a [`Backend`], so the executor stays device-agnostic: it routes each
//! launch to the accelerator or the CPU, moves inputs where the task runs, and counts tasks and
//! bytes per direction for the [`Report`](crate::Report).

use crate::decide::Placed;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tilework_core::{
    Backend, Buffer, BufferSpec, Caps, Error, HostArray, Kernel, MemoryInfo, Result,
};

/// Where tasks may run.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Policy {
    /// Everything on the CPU.
    Cpu,
    /// Everything the accelerator can run goes there; the rest (host closures, storage, dtypes it
    /// lacks) runs on the CPU.
    Accelerator,
    /// The accelerator for tasks it can run that are large enough or whose inputs already live
    /// there; the CPU otherwise.
    Auto,
}

/// Counters of what placement did.
#[derive(Debug, Default)]
pub struct PlacementStats {
    /// Tasks run on the CPU.
    pub cpu_tasks: AtomicU64,
    /// Tasks run on the accelerator.
    pub accelerator_tasks: AtomicU64,
    /// Bytes copied host to device.
    pub bytes_h2d: AtomicU64,
    /// Bytes copied device to host.
    pub bytes_d2h: AtomicU64,
    /// Largest number of accelerator bytes alive at once (values plus running tasks' buffers)
    /// since the last [`PlacementStats::start_peak`].
    pub peak_device_bytes: AtomicU64,
    /// Tasks too large for the accelerator's budget that ran there in row tiles.
    pub tiled_tasks: AtomicU64,
    /// Accelerator bytes alive now.
    live_device_bytes: AtomicU64,
}

impl PlacementStats {
    /// Starts a new peak measurement from the bytes alive now.
    pub fn start_peak(&self) {
        let live = self.live_device_bytes.load(Ordering::Relaxed);
        self.peak_device_bytes.store(live, Ordering::Relaxed);
    }
}

/// Routes tasks between the CPU backend and an optional accelerator.
pub struct Placement {
    cpu: Arc<dyn Backend>,
    accelerator: Option<Arc<dyn Backend>>,
    /// Kernel families the accelerator implements.
    pub(crate) accelerator_kernels: Vec<&'static str>,
    pub(crate) policy: Policy,
    /// Under [`Policy::Auto`], smaller tasks stay on the CPU (launch and transfer costs win).
    pub(crate) min_accelerator_bytes: usize,
    /// Bytes the accelerator may hold at once (chunk values plus a running task's buffers).
    pub(crate) device_budget: Option<u64>,
    /// Bytes of accelerator buffers alive now (values and running tasks' reservations).
    device_live: Mutex<u64>,
    pub(crate) stats: Arc<PlacementStats>,
}

impl Placement {
    /// A placement over `cpu` and, when present, `accelerator` (which implements the kernel
    /// families `accelerator_kernels`).
    pub fn new(
        cpu: Arc<dyn Backend>,
        accelerator: Option<(Arc<dyn Backend>, Vec<&'static str>)>,
        policy: Policy,
        min_accelerator_bytes: usize,
    ) -> Placement {
        let (accelerator, accelerator_kernels) = match accelerator {
            Some((a, k)) => (Some(a), k),
            None => (None, Vec::new()),
        };
        Placement {
            cpu,
            accelerator,
            accelerator_kernels,
            policy,
            min_accelerator_bytes,
            device_budget: None,
            device_live: Mutex::new(0),
            stats: Arc::default(),
        }
    }

    /// Caps the bytes the accelerator holds at once. A task whose buffers would not fit beside the
    /// values already there runs on the CPU instead, so the cap always holds.
    pub fn with_device_budget(mut self, budget: Option<u64>) -> Placement {
        self.device_budget = budget;
        self
    }

    fn live(&self) -> std::sync::MutexGuard<'_, u64> {
        self.device_live.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The CPU backend.
    pub(crate) fn cpu(&self) -> &dyn Backend {
        self.cpu.as_ref()
    }

    /// Counts `bytes` of accelerator buffers as alive. The executor admits tasks so that the
    /// device budget holds; this only keeps the books (and the peak) the report shows.
    pub(crate) fn hold(&self, bytes: u64) {
        let mut live = self.live();
        *live += bytes;
        self.stats.live_device_bytes.store(*live, Ordering::Relaxed);
        self.stats
            .peak_device_bytes
            .fetch_max(*live, Ordering::Relaxed);
    }

    pub(crate) fn release(&self, bytes: u64) {
        let mut live = self.live();
        *live = live.saturating_sub(bytes);
        self.stats.live_device_bytes.store(*live, Ordering::Relaxed);
    }

    /// The counters, shared with whoever reports them.
    pub fn stats(&self) -> Arc<PlacementStats> {
        self.stats.clone()
    }

    /// The accelerator, if any.
    pub fn accelerator(&self) -> Option<&Arc<dyn Backend>> {
        self.accelerator.as_ref()
    }

    /// Host copies of `inputs` (downloading device-resident ones).
    pub(crate) fn to_host(&self, inputs: &[&Buffer]) -> Result<Vec<Buffer>> {
        inputs
            .iter()
            .map(|b| match b {
                Buffer::Host(_) => Ok((*b).clone()),
                Buffer::Device(_) => self.download(b).map(Buffer::Host),
            })
            .collect()
    }
}

/// The spec of a buffer.
pub(crate) fn spec_of(buffer: &Buffer) -> BufferSpec {
    BufferSpec {
        dtype: buffer.dtype(),
        shape: buffer.shape(),
    }
}

impl Placement {
    /// Runs one task where `placed` says. A kernel the accelerator turns out not to support
    /// (a dtype its adapter lacks) runs on the CPU instead, which depends on the kernel alone.
    ///
    /// # Errors
    /// The kernel's own errors, or a failed transfer.
    pub fn launch_placed(
        &self,
        placed: &Placed,
        kernel: &Kernel,
        inputs: &[&Buffer],
        outputs: &[BufferSpec],
    ) -> Result<Vec<Buffer>> {
        let accelerator = match &self.accelerator {
            Some(a) if placed.uses_accelerator() => a.as_ref(),
            _ => return self.launch_cpu(kernel, inputs, outputs),
        };
        let tiled = match (placed, outputs) {
            (Placed::RowTiles { rows, .. }, _) => {
                Some(self.run_row_tiles(accelerator, kernel, inputs, outputs, *rows))
            }
            (Placed::MatmulTiles { rows, group, .. }, [out]) => {
                Some(self.run_matmul_tiles(accelerator, inputs, out, *rows, *group))
            }
            _ => None,
        };
        if let Some(result) = tiled {
            self.stats.accelerator_tasks.fetch_add(1, Ordering::Relaxed);
            return result;
        }
        self.launch_whole(accelerator, kernel, inputs, outputs)
    }

    /// One launch on the accelerator; its outputs stay there.
    fn launch_whole(
        &self,
        accelerator: &dyn Backend,
        kernel: &Kernel,
        inputs: &[&Buffer],
        outputs: &[BufferSpec],
    ) -> Result<Vec<Buffer>> {
        let uploaded: u64 = inputs
            .iter()
            .filter_map(|b| b.as_host().map(|h| h.nbytes() as u64))
            .sum();
        let produced: u64 = outputs.iter().map(|o| o.nbytes() as u64).sum();
        self.hold(uploaded + produced);
        let result = accelerator.launch(kernel, inputs, outputs);
        // Uploaded inputs are released after the launch; its outputs stay until freed.
        self.release(match result {
            Ok(_) => uploaded,
            Err(_) => uploaded + produced,
        });
        match result {
            Ok(out) => {
                self.stats.bytes_h2d.fetch_add(uploaded, Ordering::Relaxed);
                self.stats.accelerator_tasks.fetch_add(1, Ordering::Relaxed);
                Ok(out)
            }
            Err(e) if is_unsupported(&e) => self.launch_cpu(kernel, inputs, outputs),
            Err(e) => Err(e),
        }
    }

    fn launch_cpu(
        &self,
        kernel: &Kernel,
        inputs: &[&Buffer],
        outputs: &[BufferSpec],
    ) -> Result<Vec<Buffer>> {
        let host = self.to_host(inputs)?;
        let refs: Vec<&Buffer> = host.iter().collect();
        let out = self.cpu.launch(kernel, &refs, outputs)?;
        self.stats.cpu_tasks.fetch_add(1, Ordering::Relaxed);
        Ok(out)
    }
}

/// Whether `error` says the accelerator cannot run a kernel (so the CPU should).
pub(crate) fn is_unsupported(error: &Error) -> bool {
    matches!(error, Error::DTypeUnsupported { .. })
}

impl Backend for Placement {
    fn caps(&self) -> &Caps {
        match (&self.accelerator, self.policy) {
            (Some(a), Policy::Accelerator) => a.caps(),
            _ => self.cpu.caps(),
        }
    }

    fn alloc(&self, spec: &BufferSpec) -> Result<Buffer> {
        self.cpu.alloc(spec)
    }

    fn free(&self, buffer: Buffer) {
        match (&buffer, &self.accelerator) {
            (Buffer::Device(d), Some(a)) => {
                self.release(d.spec.nbytes() as u64);
                a.free(buffer);
            }
            _ => self.cpu.free(buffer),
        }
    }

    fn upload(&self, host: &HostArray) -> Result<Buffer> {
        // Host data stays on the host until a task placed on the accelerator needs it.
        self.cpu.upload(host)
    }

    fn download(&self, buffer: &Buffer) -> Result<HostArray> {
        match (buffer, &self.accelerator) {
            (Buffer::Host(h), _) => Ok(h.clone()),
            (Buffer::Device(d), Some(a)) => {
                let host = a.download(buffer)?;
                self.stats
                    .bytes_d2h
                    .fetch_add(d.spec.nbytes() as u64, Ordering::Relaxed);
                Ok(host)
            }
            (Buffer::Device(d), None) => Err(Error::Device(format!(
                "device buffer {} but no accelerator is attached",
                d.id
            ))),
        }
    }

    fn launch(
        &self,
        kernel: &Kernel,
        inputs: &[&Buffer],
        outputs: &[BufferSpec],
    ) -> Result<Vec<Buffer>> {
        // Outside a planned run (no decision made ahead), decide from this launch alone.
        let specs: Vec<BufferSpec> = inputs.iter().map(|b| spec_of(b)).collect();
        let located: Vec<(&BufferSpec, bool)> = specs
            .iter()
            .zip(inputs)
            .map(|(s, b)| (s, matches!(b, Buffer::Device(_))))
            .collect();
        let placed = self.decide_task(kernel, &located, outputs);
        self.launch_placed(&placed, kernel, inputs, outputs)
    }

    fn sync(&self) -> Result<()> {
        if let Some(a) = &self.accelerator {
            a.sync()?;
        }
        self.cpu.sync()
    }

    fn memory_info(&self) -> MemoryInfo {
        match &self.accelerator {
            Some(a) => a.memory_info(),
            None => self.cpu.memory_info(),
        }
    }
}
