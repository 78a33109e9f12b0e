//! What a computation did, from the executor's own accounting.

use std::fmt;

/// Counters and timings of one `compute`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    /// Tasks executed.
    pub tasks_run: usize,
    /// Tasks per kernel family in the plan.
    pub tasks_by_family: Vec<(&'static str, usize)>,
    /// Elementwise operations that ran inside fused kernels (summed over tasks).
    pub fused_ops: usize,
    /// Graph nodes before optimization.
    pub nodes_before: usize,
    /// Graph nodes after optimization.
    pub nodes_after: usize,
    /// Peak bytes of chunk values held at once on the host.
    pub peak_host_bytes: u64,
    /// Peak bytes held on a device.
    pub peak_device_bytes: u64,
    /// Tasks that ran on the GPU (the rest ran on the CPU).
    pub gpu_tasks: usize,
    /// GPU tasks too large for the device budget (or buffer limit) that ran in row tiles.
    pub gpu_tiled_tasks: usize,
    /// Bytes copied host to device.
    pub bytes_h2d: u64,
    /// Bytes copied device to host.
    pub bytes_d2h: u64,
    /// Bytes moved device to host to keep within the device budget (also counted in
    /// `bytes_d2h`).
    pub bytes_evicted: u64,
    /// Bytes written to the spill directory.
    pub bytes_spilled: u64,
    /// Most source chunks read ahead of their consumers at once (bounded by the context's
    /// prefetch depth, except for reads completing a task's inputs).
    pub peak_read_ahead: usize,
    /// Seconds spent optimizing the graph.
    pub optimize_s: f64,
    /// Seconds spent planning tasks.
    pub plan_s: f64,
    /// Seconds spent executing tasks.
    pub execute_s: f64,
    /// Seconds spent assembling the result.
    pub assemble_s: f64,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "tasks run: {} {:?}",
            self.tasks_run, self.tasks_by_family
        )?;
        writeln!(
            f,
            "graph nodes: {} -> {} after optimization",
            self.nodes_before, self.nodes_after
        )?;
        writeln!(f, "fused elementwise ops: {}", self.fused_ops)?;
        writeln!(
            f,
            "peak host bytes: {}, peak read-ahead: {} source chunks",
            self.peak_host_bytes, self.peak_read_ahead
        )?;
        if self.gpu_tasks > 0 || self.peak_device_bytes > 0 {
            writeln!(
                f,
                "gpu tasks: {} ({} in tiles), peak device bytes: {}, copied host->device {} bytes, device->host {} bytes",
                self.gpu_tasks,
                self.gpu_tiled_tasks,
                self.peak_device_bytes,
                self.bytes_h2d,
                self.bytes_d2h
            )?;
        }
        if self.bytes_evicted > 0 {
            writeln!(f, "evicted device->host bytes: {}", self.bytes_evicted)?;
        }
        if self.bytes_spilled > 0 {
            writeln!(f, "spilled bytes: {}", self.bytes_spilled)?;
        }
        write!(
            f,
            "time: optimize {:.3} ms, plan {:.3} ms, execute {:.3} ms, assemble {:.3} ms",
            self.optimize_s * 1e3,
            self.plan_s * 1e3,
            self.execute_s * 1e3,
            self.assemble_s * 1e3
        )
    }
}
