//! The [`Context`]: backends, thread pool, budgets and options. No global state: everything a
//! computation needs lives here, and every array holds its context.

use crate::devices::DeviceSlot;
use crate::settings::{self, Env, Setting};
pub use crate::settings::{MAX_PREFETCH, MAX_THREADS, parse_bytes};
use std::path::PathBuf;
use std::sync::Arc;
use tilework_core::{Error, Result};
use tilework_sched::CancelToken;

/// Where computations run.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum Device {
    /// A hardware GPU for the tasks where it pays (large enough, supported there), the CPU for
    /// the rest; the CPU alone, with one notice on stderr, when no hardware GPU exists.
    #[default]
    Auto,
    /// CPU threads.
    Cpu,
    /// A GPU through wgpu.
    Gpu,
}

impl std::str::FromStr for Device {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Device::Auto),
            "cpu" => Ok(Device::Cpu),
            "gpu" => Ok(Device::Gpu),
            other => Err(Error::invalid(
                "device",
                format!("unknown device {other:?} (expected auto, cpu or gpu)"),
            )),
        }
    }
}

pub(crate) struct Inner {
    /// The CPU backend, and the GPU once it is opened.
    pub(crate) devices: DeviceSlot,
    pub(crate) pool: Arc<rayon::ThreadPool>,
    /// Threads for compute tasks; the pool has `io_threads` more, for storage reads and writes.
    pub(crate) threads: usize,
    pub(crate) io_threads: usize,
    pub(crate) device: Device,
    pub(crate) host_memory: u64,
    pub(crate) device_memory: Option<u64>,
    pub(crate) spill_dir: PathBuf,
    pub(crate) prefetch_depth: usize,
    pub(crate) progress: bool,
    pub(crate) cancel: CancelToken,
}

/// Shared settings and devices for arrays. Cheap to clone.
///
/// ```
/// use tilework::prelude::*;
/// let ctx = Context::builder().threads(2).build()?;
/// let x = ctx.ones(&[1000], DType::F32, 100)?;
/// assert_eq!(x.sum()?.to_scalar()?.to_f64(), 1000.0);
/// # Ok::<(), tilework::Error>(())
/// ```
#[derive(Clone)]
pub struct Context {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("device", &self.inner.device)
            .field("threads", &self.threads())
            .field("host_memory", &self.inner.host_memory)
            .finish()
    }
}

impl Context {
    /// A context with defaults (all cores, `Device::Auto`), honouring `TILEWORK_DEVICE`,
    /// `TILEWORK_HOST_MEMORY`, `TILEWORK_DEVICE_MEMORY`, `TILEWORK_SPILL_DIR`, `TILEWORK_PREFETCH`
    /// and `TILEWORK_IO_THREADS`.
    ///
    /// # Errors
    /// An environment variable that does not parse, or a device that cannot be opened.
    pub fn new() -> Result<Context> {
        Context::builder().build()
    }

    /// Starts a builder.
    pub fn builder() -> ContextBuilder {
        ContextBuilder::default()
    }

    /// Number of worker threads for compute tasks.
    pub fn threads(&self) -> usize {
        self.inner.threads
    }

    /// Number of extra threads for storage reads and writes, which wait on the disk while the
    /// compute threads work.
    pub fn io_threads(&self) -> usize {
        self.inner.io_threads
    }

    /// The device computations run on.
    pub fn device(&self) -> Device {
        self.inner.device
    }

    /// The token that cancels this context's computations (from another thread, or a Ctrl-C
    /// handler): running tasks finish, no new task starts, spill files are removed, and the
    /// computation returns [`Error::Cancelled`]. Call `reset` on it to compute again.
    ///
    /// ```
    /// use tilework::prelude::*;
    /// let ctx = Context::new()?;
    /// ctx.cancel_token().cancel();
    /// let err = ctx.ones(&[10], DType::F32, 5)?.sum()?.compute().unwrap_err();
    /// assert!(matches!(err, Error::Cancelled(_)));
    /// ctx.cancel_token().reset();
    /// assert_eq!(ctx.ones(&[10], DType::F32, 5)?.sum()?.to_scalar()?.to_f64(), 10.0);
    /// # Ok::<(), tilework::Error>(())
    /// ```
    pub fn cancel_token(&self) -> &CancelToken {
        &self.inner.cancel
    }

    /// The GPU this context computes on, described (name, API, kind), if any. Under
    /// `Device::Auto` this probes the adapter if no computation has done so yet (a plan probes it
    /// only when it has work a GPU would take).
    pub fn gpu(&self) -> Option<&str> {
        self.inner.devices.resolved().gpu.as_deref()
    }

    /// The host memory budget in bytes.
    pub fn host_memory(&self) -> u64 {
        self.inner.host_memory
    }

    /// The device memory budget in bytes, if set.
    pub fn device_memory(&self) -> Option<u64> {
        self.inner.device_memory
    }

    /// Where spilled chunks go.
    pub fn spill_dir(&self) -> &std::path::Path {
        &self.inner.spill_dir
    }

    /// How many source chunks may be read ahead of the tasks that consume them.
    pub fn prefetch_depth(&self) -> usize {
        self.inner.prefetch_depth
    }

    pub(crate) fn same_as(&self, other: &Context) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

/// Builds a [`Context`].
#[derive(Clone, Debug, Default)]
pub struct ContextBuilder {
    threads: Option<usize>,
    io_threads: Option<usize>,
    device: Option<Device>,
    host_memory: Option<u64>,
    device_memory: Option<u64>,
    spill_dir: Option<PathBuf>,
    prefetch_depth: Option<usize>,
    progress: bool,
    gpu_adapter: Option<String>,
}

impl ContextBuilder {
    /// Uses only a GPU adapter whose name contains `name` (case-insensitive), e.g. `"H100"`;
    /// also read from `TILEWORK_GPU_ADAPTER`.
    pub fn gpu_adapter(mut self, name: &str) -> Self {
        self.gpu_adapter = Some(name.to_string());
        self
    }

    /// Worker threads, 1 to [`MAX_THREADS`] (default: all cores, at most [`MAX_THREADS`]).
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = Some(threads);
        self
    }

    /// Extra threads that run storage reads and writes, so that waiting on the disk overlaps
    /// compute, up to [`MAX_THREADS`] (default: `TILEWORK_IO_THREADS` or 2; 0 runs them on the
    /// compute threads).
    pub fn io_threads(mut self, threads: usize) -> Self {
        self.io_threads = Some(threads);
        self
    }

    /// The device (default: `TILEWORK_DEVICE` or `Auto`).
    pub fn device(mut self, device: Device) -> Self {
        self.device = Some(device);
        self
    }

    /// Host memory budget in bytes, at least 1 (default: `TILEWORK_HOST_MEMORY`, parsed by
    /// [`parse_bytes`], or half of the RAM).
    pub fn host_memory(mut self, bytes: u64) -> Self {
        self.host_memory = Some(bytes);
        self
    }

    /// Device memory budget in bytes, at least 1 (default: `TILEWORK_DEVICE_MEMORY`, parsed by
    /// [`parse_bytes`], or the device's).
    pub fn device_memory(mut self, bytes: u64) -> Self {
        self.device_memory = Some(bytes);
        self
    }

    /// Directory for spilled chunks (default: `TILEWORK_SPILL_DIR` or the system temp dir).
    pub fn spill_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.spill_dir = Some(dir.into());
        self
    }

    /// How many source chunks (store reads, generated data) may be read ahead of the tasks that
    /// consume them, so that reading overlaps compute (default: `TILEWORK_PREFETCH` or twice the
    /// threads), 1 to [`MAX_PREFETCH`]. Read-ahead chunks are held memory and count against the
    /// host budget.
    pub fn prefetch_depth(mut self, chunks: usize) -> Self {
        self.prefetch_depth = Some(chunks);
        self
    }

    /// Show a progress bar on stderr for long computations when it is a terminal.
    pub fn progress(mut self, on: bool) -> Self {
        self.progress = on;
        self
    }

    /// Creates the context.
    ///
    /// Every setting is checked here, the builder's and the environment's alike: host and
    /// device budgets of at least one byte, 1 to [`MAX_THREADS`] compute threads, up to
    /// [`MAX_THREADS`] I/O threads, 1 to [`MAX_PREFETCH`] read-ahead chunks, a spill directory
    /// that is a directory (or does not exist yet).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] of op `"context"` for a setting outside those limits or an
    /// environment variable that does not parse, naming the builder call or the variable and
    /// its value (`TILEWORK_HOST_MEMORY=0: ...`); or, for `Device::Gpu` with no usable GPU
    /// adapter, an error that says what was looked for and how to install a driver.
    pub fn build(self) -> Result<Context> {
        self.build_with(&settings::process_env)
    }

    /// [`ContextBuilder::build`] reading the environment through `env`.
    fn build_with(self, env: Env<'_>) -> Result<Context> {
        let setting = |method, var| Setting { method, var };
        let device = setting("device", Some("TILEWORK_DEVICE"))
            .resolve(env, self.device, |t| t.parse().map_err(detail), |_| Ok(()))?
            .unwrap_or(Device::Auto);
        let host_memory = setting("host_memory", Some("TILEWORK_HOST_MEMORY"))
            .resolve(env, self.host_memory, settings::bytes, settings::budget)?
            .unwrap_or_else(|| total_ram().map(|r| r / 2).unwrap_or(4 << 30));
        let device_memory = setting("device_memory", Some("TILEWORK_DEVICE_MEMORY")).resolve(
            env,
            self.device_memory,
            settings::bytes,
            settings::budget,
        )?;
        let spill_dir = setting("spill_dir", Some("TILEWORK_SPILL_DIR"))
            .resolve(
                env,
                self.spill_dir,
                |t| Ok(PathBuf::from(t)),
                |d| settings::spill_dir(d),
            )?
            .unwrap_or_else(std::env::temp_dir);
        let threads = setting("threads", None)
            .resolve(
                env,
                self.threads,
                settings::whole,
                settings::count(1, MAX_THREADS, "threads"),
            )?
            .unwrap_or_else(|| {
                std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(1)
                    .min(MAX_THREADS)
            });
        let io_threads = setting("io_threads", Some("TILEWORK_IO_THREADS"))
            .resolve(
                env,
                self.io_threads,
                settings::whole,
                settings::count(0, MAX_THREADS, "threads"),
            )?
            .unwrap_or(2);
        let prefetch_depth = setting("prefetch_depth", Some("TILEWORK_PREFETCH"))
            .resolve(
                env,
                self.prefetch_depth,
                settings::whole,
                settings::count(1, MAX_PREFETCH, "chunks"),
            )?
            .unwrap_or(2 * threads);
        let pool_threads = threads
            .checked_add(io_threads)
            .expect("both counts are at most MAX_THREADS");
        let adapter = self.gpu_adapter.or_else(|| env("TILEWORK_GPU_ADAPTER"));
        let driver_messages =
            env("TILEWORK_GPU_VERBOSE").is_some_and(|v| v != "0" && !v.is_empty());
        let devices = DeviceSlot::new(device, adapter, device_memory, driver_messages)?;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(pool_threads)
            .thread_name(|i| format!("tilework-{i}"))
            .build()
            .map_err(|e| Error::Device(format!("cannot start {threads} worker threads: {e}")))?;
        Ok(Context {
            inner: Arc::new(Inner {
                devices,
                pool: Arc::new(pool),
                threads,
                io_threads,
                device,
                host_memory,
                device_memory,
                spill_dir,
                prefetch_depth,
                progress: self.progress,
                cancel: CancelToken::default(),
            }),
        })
    }
}

/// The detail of an error, for a setting's message.
fn detail(e: Error) -> String {
    match e {
        Error::InvalidArgument { detail, .. } => detail,
        other => other.to_string(),
    }
}

fn total_ram() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
