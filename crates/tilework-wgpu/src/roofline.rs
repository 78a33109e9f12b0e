//! The device's own limits, for the benchmark suite's roofline: streaming-copy bandwidth and
//! peak f32 FMA throughput, plus the kernel clock that times ordinary launches.
//!
//! Each measurement runs one warm-up pass (pipeline compilation, first-touch clears) and then
//! `reps` passes, one submit each, and reports the best pass, as STREAM does. A pass is timed
//! with GPU timestamps when the device has `TIMESTAMP_QUERY` (lavapipe does), so submit and
//! poll overheads are left out; otherwise with the wall clock around submit and wait, which
//! [`Timing::Wall`] says.

use crate::WgpuBackend;
use crate::device::Features;
use crate::dispatch::{self, Params, Step};
use crate::pipeline::Access;
use crate::template::render;
use crate::timing::PassTimer;
use std::fmt;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tilework_core::{Error, Result};

const COPY: &str = include_str!("../../../shaders/roofline_copy.wgsl");
const FMA: &str = include_str!("../../../shaders/roofline_fma.wgsl");

/// Flops per invocation and iteration of `roofline_fma.wgsl` (8 chains x 4 lanes x 2).
const FLOPS_PER_ITERATION: u64 = 64;
/// Invocations that fill any current GPU (a few thousand workgroups per multiprocessor wave).
const MAX_FMA_THREADS: u64 = 1 << 20;
/// Iterations per invocation below which the loop no longer dominates an invocation.
const MIN_FMA_ITERATIONS: u64 = 64;

/// Where a measurement's time came from.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Timing {
    /// GPU timestamps at the start and end of the compute pass: kernel time only.
    GpuTimestamps,
    /// The wall clock around submit and wait: includes the driver's launch overhead.
    Wall,
}

impl fmt::Display for Timing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Timing::GpuTimestamps => "gpu timestamps",
            Timing::Wall => "wall clock",
        })
    }
}

/// One roofline measurement: the best pass.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Measurement {
    /// Seconds of the best pass.
    pub seconds: f64,
    /// Work per second of the best pass, in `unit`.
    pub rate: f64,
    /// `GB/s` (10^9 bytes read plus written per second) or `GFLOP/s`.
    pub unit: &'static str,
    /// How `seconds` was measured.
    pub timing: Timing,
    /// Work of one pass: bytes moved (read plus written) or flops, after fitting the request
    /// to the device.
    pub work: f64,
}

impl fmt::Display for Measurement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:.2} {} ({:.3} ms per pass, {})",
            self.rate,
            self.unit,
            self.seconds * 1e3,
            self.timing
        )
    }
}

fn bad(detail: String) -> Error {
    Error::Device(format!("wgpu roofline: {detail}"))
}

fn source(file: &str, template: &str, f: &Features) -> Result<String> {
    render(file, template, &[("workgroup", &f.workgroup.to_string())])
}

/// Runs `step` once to warm up and `reps` times measured; the best pass, by GPU timestamps
/// when every measured pass has them, else by the wall clock.
fn best_pass(backend: &WgpuBackend, step: &Step<'_>, reps: u32) -> Result<(f64, Timing)> {
    let gpu = &backend.gpu;
    let (mut best_gpu, mut best_wall) = (Some(f64::INFINITY), f64::INFINITY);
    for rep in 0..=reps {
        let timer = PassTimer::new(gpu);
        let start = Instant::now();
        if !dispatch::submit_timed(
            gpu,
            &backend.pool,
            std::slice::from_ref(step),
            timer.as_ref(),
        )? {
            return Err(bad("the measuring kernel had no work".into()));
        }
        let stamps = timer.map(|timer| {
            let (tx, rx) = mpsc::channel();
            timer.finish(move |nanos| {
                // The receiver waits below; a failed send only means it gave up.
                let _ = tx.send(nanos);
            });
            rx
        });
        gpu.wait()?;
        let wall = start.elapsed().as_secs_f64();
        // The callback runs in some poll after the pass; normally the wait above.
        let stamped = stamps
            .and_then(|rx| rx.recv_timeout(Duration::from_secs(10)).ok().flatten())
            .filter(|&nanos| nanos > 0.0);
        if rep > 0 {
            best_wall = best_wall.min(wall);
            best_gpu = best_gpu.zip(stamped).map(|(b, nanos)| b.min(nanos * 1e-9));
        }
    }
    Ok(match best_gpu {
        Some(seconds) => (seconds, Timing::GpuTimestamps),
        None => (best_wall, Timing::Wall),
    })
}

/// Bandwidth of a streaming copy of `bytes` bytes (read once and written once: the rate counts
/// `2 * bytes`), best of `reps` passes. `bytes` is cut to the device's largest binding and to
/// whole 16-byte vectors; 256 MiB or the largest binding is a good size.
///
/// # Errors
/// [`Error::Device`] for `reps == 0` or fewer than 16 bytes, a device error, or
/// [`Error::OutOfMemory`] when the two buffers do not fit.
pub fn measure_copy_bandwidth(backend: &WgpuBackend, bytes: u64, reps: u32) -> Result<Measurement> {
    let gpu = &backend.gpu;
    let bytes = bytes.min(gpu.max_binding()) / 16 * 16;
    if reps == 0 || bytes == 0 {
        return Err(bad(format!("a copy of {bytes} bytes, {reps} times")));
    }
    let vectors = usize::try_from(bytes / 16).map_err(|_| bad("copy too large".into()))?;
    gpu.scoped("measuring copy bandwidth", || {
        let pipeline = backend.cache.get(
            gpu,
            "roofline",
            "copy",
            &[Access::Read, Access::ReadWrite],
            || source("roofline_copy.wgsl", COPY, &gpu.features),
        )?;
        let src = backend.pool.acquire(&gpu.device, bytes)?;
        let dst = backend.pool.acquire(&gpu.device, bytes)?;
        let mut params = Params::new();
        params.len(vectors, "copy vectors")?;
        let step = Step {
            pipeline: &pipeline,
            buffers: vec![&src, &dst],
            params,
            threads: vectors as u64,
        };
        let best = best_pass(backend, &step, reps);
        // Dropped, not cached: the pool would otherwise keep two large buffers after this.
        drop(step);
        drop((src, dst));
        let (seconds, timing) = best?;
        let work = 2.0 * bytes as f64;
        Ok(Measurement {
            seconds,
            rate: work / seconds / 1e9,
            unit: "GB/s",
            timing,
            work,
        })
    })
}

/// Peak f32 throughput of independent FMA chains, about `flops` flops per pass (2 per FMA),
/// best of `reps` passes. Up to 2^20 invocations fill the device; 10^11 to 10^12 flops make a
/// pass of tens of milliseconds on a discrete GPU (lavapipe wants about 10^9).
///
/// # Errors
/// [`Error::Device`] for `reps == 0`, `flops == 0`, more than 2^32 iterations per invocation,
/// or a device error.
pub fn measure_fma_peak(backend: &WgpuBackend, flops: u64, reps: u32) -> Result<Measurement> {
    let gpu = &backend.gpu;
    if reps == 0 || flops == 0 {
        return Err(bad(format!("{flops} flops, {reps} times")));
    }
    let group = u64::from(gpu.features.workgroup);
    let threads =
        (flops / (FLOPS_PER_ITERATION * MIN_FMA_ITERATIONS)).clamp(group, MAX_FMA_THREADS) / group
            * group;
    let iterations = (flops / (threads * FLOPS_PER_ITERATION)).max(1);
    let iterations_u32 = u32::try_from(iterations)
        .map_err(|_| bad(format!("{iterations} iterations per invocation")))?;
    gpu.scoped("measuring fma peak", || {
        let pipeline = backend
            .cache
            .get(gpu, "roofline", "fma", &[Access::ReadWrite], || {
                source("roofline_fma.wgsl", FMA, &gpu.features)
            })?;
        let out = backend.pool.acquire(&gpu.device, threads * 4)?;
        let mut params = Params::new();
        params
            .u32(threads as u32)
            .u32(iterations_u32)
            .u32(0.999_99f32.to_bits())
            .u32(1e-5f32.to_bits());
        let step = Step {
            pipeline: &pipeline,
            buffers: vec![&out],
            params,
            threads,
        };
        let best = best_pass(backend, &step, reps);
        backend.pool.recycle(out);
        let (seconds, timing) = best?;
        let work = (threads * iterations * FLOPS_PER_ITERATION) as f64;
        Ok(Measurement {
            seconds,
            rate: work / seconds / 1e9,
            unit: "GFLOP/s",
            timing,
            work,
        })
    })
}

/// Kernel timing of ordinary launches.
impl WgpuBackend {
    /// Whether the device writes GPU timestamps (`TIMESTAMP_QUERY`): without them
    /// [`WgpuBackend::kernel_seconds`] has nothing to report and the roofline uses the wall clock.
    pub fn has_timestamps(&self) -> bool {
        self.gpu.timestamps
    }

    /// Turns kernel timing on (starting from zero) or off. While it is on, every launch's
    /// compute pass is timed with GPU timestamps, which costs a query set and two small
    /// buffers per launch; uploads and downloads are not kernels and are not counted. Turn it
    /// on after a [`tilework_core::Backend::sync`] so that no earlier launch is counted.
    pub fn time_kernels(&self, on: bool) {
        self.gpu.clock.set(on);
    }

    /// Waits for the device, then returns the summed GPU time of the launches submitted since
    /// timing was turned on: kernel time without submit and poll overheads (passes that
    /// overlap on the GPU count in full each). `None` when the device has no timestamps.
    ///
    /// # Errors
    /// [`Error::Device`] when the device fails or some passes' timestamps could not be read.
    pub fn kernel_seconds(&self) -> Result<Option<f64>> {
        if !self.gpu.timestamps {
            return Ok(None);
        }
        self.gpu
            .scoped("reading kernel times", || self.gpu.wait())?;
        let (seconds, _, lost) = self.gpu.clock.read();
        if lost > 0 {
            return Err(bad(format!(
                "the timestamps of {lost} timed launches could not be read"
            )));
        }
        Ok(Some(seconds))
    }
}

/// The roofline shaders, for the naga test.
#[cfg(test)]
pub(crate) fn shaders(f: &Features) -> Result<Vec<(String, String)>> {
    Ok(vec![
        (
            "roofline copy".into(),
            source("roofline_copy.wgsl", COPY, f)?,
        ),
        ("roofline fma".into(), source("roofline_fma.wgsl", FMA, f)?),
    ])
}
