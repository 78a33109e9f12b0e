//! The [`Context`]: backends, thread pool, budgets and options. No global state: everything a
//! computation needs lives here, and every array holds its context.

use std::path::PathBuf;
use std::sync::Arc;
use tilework_core::{Backend, Error, Result};
use tilework_sched::{CancelToken, Placement, PlacementStats};

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
    pub(crate) backend: Arc<dyn Backend>,
    /// The placement behind `backend` (which decides where tasks run), when a GPU is attached.
    pub(crate) placer: Option<Arc<Placement>>,
    /// Task and transfer counters of the placement, when a GPU is attached.
    pub(crate) placement: Option<Arc<PlacementStats>>,
    /// The attached GPU, described.
    pub(crate) gpu: Option<String>,
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

    /// The GPU this context computes on, described (name, API, kind), if any.
    pub fn gpu(&self) -> Option<&str> {
        self.inner.gpu.as_deref()
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

    /// Worker threads (default: all cores).
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = Some(threads);
        self
    }

    /// Extra threads that run storage reads and writes, so that waiting on the disk overlaps
    /// compute (default: `TILEWORK_IO_THREADS` or 2; 0 runs them on the compute threads).
    pub fn io_threads(mut self, threads: usize) -> Self {
        self.io_threads = Some(threads);
        self
    }

    /// The device (default: `TILEWORK_DEVICE` or `Auto`).
    pub fn device(mut self, device: Device) -> Self {
        self.device = Some(device);
        self
    }

    /// Host memory budget in bytes (default: `TILEWORK_HOST_MEMORY` or half of the RAM).
    pub fn host_memory(mut self, bytes: u64) -> Self {
        self.host_memory = Some(bytes);
        self
    }

    /// Device memory budget in bytes (default: `TILEWORK_DEVICE_MEMORY` or the device's).
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
    /// threads). Read-ahead chunks are held memory and count against the host budget.
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
    /// # Errors
    /// `threads(0)`, `prefetch_depth(0)`, a bad environment variable, or `Device::Gpu` with no usable GPU adapter (the
    /// error says what was looked for and how to install a driver).
    pub fn build(self) -> Result<Context> {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let device = match (self.device, env("TILEWORK_DEVICE")) {
            (Some(d), _) => d,
            (None, Some(v)) => v.parse()?,
            (None, None) => Device::Auto,
        };
        let host_memory = match (self.host_memory, env("TILEWORK_HOST_MEMORY")) {
            (Some(b), _) => b,
            (None, Some(v)) => parse_bytes(&v)?,
            (None, None) => total_ram().map(|r| r / 2).unwrap_or(4 << 30),
        };
        let device_memory = match (self.device_memory, env("TILEWORK_DEVICE_MEMORY")) {
            (Some(b), _) => Some(b),
            (None, Some(v)) => Some(parse_bytes(&v)?),
            (None, None) => None,
        };
        let spill_dir = self
            .spill_dir
            .or_else(|| env("TILEWORK_SPILL_DIR").map(PathBuf::from))
            .unwrap_or_else(std::env::temp_dir);
        let threads = match self.threads {
            Some(0) => {
                return Err(Error::invalid(
                    "threads",
                    "a context needs at least one thread",
                ));
            }
            Some(n) => n,
            None => std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
        };
        let io_threads = self
            .io_threads
            .map_or_else(
                || env_count("TILEWORK_IO_THREADS", "threads"),
                |n| Ok(Some(n)),
            )?
            .unwrap_or(2);
        let prefetch_depth = self
            .prefetch_depth
            .map_or_else(|| env_count("TILEWORK_PREFETCH", "chunks"), |n| Ok(Some(n)))?
            .unwrap_or(2 * threads);
        if prefetch_depth == 0 {
            return Err(Error::invalid(
                "prefetch_depth",
                "at least one chunk must be readable ahead",
            ));
        }
        let adapter = self.gpu_adapter.or_else(|| env("TILEWORK_GPU_ADAPTER"));
        let devices = crate::devices::open(device, adapter, device_memory)?;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads + io_threads)
            .thread_name(|i| format!("tilework-{i}"))
            .build()
            .map_err(|e| Error::Device(format!("cannot start {threads} worker threads: {e}")))?;
        Ok(Context {
            inner: Arc::new(Inner {
                backend: devices.backend,
                placer: devices.placement,
                placement: devices.stats,
                gpu: devices.gpu,
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

/// A count from the environment variable `name`, if set (`what` names the unit in the error).
fn env_count(name: &'static str, what: &str) -> Result<Option<usize>> {
    match std::env::var(name).ok().filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| Error::invalid(name, format!("{v:?} is not a number of {what}"))),
    }
}

/// Parses sizes such as `"256MiB"`, `"1.5GB"`, `"4096"` into bytes (binary and decimal units).
///
/// # Errors
/// [`Error::InvalidArgument`] for anything else.
pub fn parse_bytes(text: &str) -> Result<u64> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num.parse().map_err(|_| {
        Error::invalid("parse_bytes", format!("{text:?} is not a size like 256MiB"))
    })?;
    let scale: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "t" | "tb" => 1e12,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "tib" => 1024f64.powi(4),
        _ => {
            return Err(Error::invalid(
                "parse_bytes",
                format!("unknown unit in {text:?}"),
            ));
        }
    };
    Ok((value * scale) as u64)
}

fn total_ram() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_bytes("256MiB").unwrap(), 256 << 20);
        assert_eq!(parse_bytes("2GB").unwrap(), 2_000_000_000);
        assert_eq!(parse_bytes("4096").unwrap(), 4096);
        assert!(parse_bytes("lots").is_err());
    }
}
