//! [`Array`]: a lazy chunked n-d array, and how it is computed.

use crate::context::Context;
use ndarray::{ArrayD, SliceInfoElem};
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Instant;
use tilework_core::op::{Meta, Node, Op, SourceOp, topo_order};
use tilework_core::optimize::{count_nodes, optimize};
use tilework_core::{
    Buffer, ChunkGrid, ChunkWriter, DType, Error, HostArray, HostElement, Result, Scalar,
    with_host_array,
};
use tilework_sched::{ExecConfig, PlacementStats, Plan, Report, Sink, check_budget, execute};

/// A lazy, chunked n-dimensional array.
///
/// Cloning is cheap. Methods add nodes to a graph and return `Result` (shape, dtype and axis
/// errors surface at once); nothing runs until [`Array::compute`], [`Array::to_ndarray`] or
/// [`Array::persist`]. Operators (`&a + &b`) cannot return `Result`: a bad operator call yields an
/// array whose `compute` returns the error.
#[derive(Clone)]
pub struct Array {
    pub(crate) node: Arc<Node>,
    pub(crate) ctx: Context,
}

/// Concise, as Dask's repr: the shape, the dtype, the largest chunk along each axis and how many
/// chunks there are, not every chunk length (`chunks()` lists those).
impl std::fmt::Debug for Array {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let grid = self.grid();
        let chunk: Vec<usize> = grid
            .sizes()
            .iter()
            .map(|sizes| sizes.iter().copied().max().unwrap_or(0))
            .collect();
        write!(
            f,
            "tilework.Array<shape={:?}, dtype={}, chunk={:?}, chunks={}, op={}>",
            self.shape(),
            self.dtype(),
            chunk,
            grid.num_chunks(),
            self.node.op.name()
        )
    }
}

impl Array {
    pub(crate) fn from_node(ctx: &Context, node: Arc<Node>) -> Array {
        Array {
            node,
            ctx: ctx.clone(),
        }
    }

    pub(crate) fn new(
        ctx: &Context,
        op: Op,
        inputs: Vec<Arc<Node>>,
        dtype: DType,
        grid: ChunkGrid,
    ) -> Array {
        Array::from_node(ctx, Node::new(op, inputs, Meta { dtype, grid }))
    }

    /// The array's shape.
    pub fn shape(&self) -> &[usize] {
        self.node.meta.shape()
    }

    /// Rank.
    pub fn ndim(&self) -> usize {
        self.shape().len()
    }

    /// Element count.
    pub fn len(&self) -> usize {
        self.shape().iter().product()
    }

    /// True when the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Element type.
    pub fn dtype(&self) -> DType {
        self.node.meta.dtype
    }

    /// Chunk sizes per axis (Dask's `.chunks`).
    pub fn chunks(&self) -> Vec<Vec<usize>> {
        self.node.meta.grid.sizes()
    }

    /// The chunk grid.
    pub fn grid(&self) -> &ChunkGrid {
        &self.node.meta.grid
    }

    /// Total number of chunks.
    pub fn num_chunks(&self) -> usize {
        self.node.meta.grid.num_chunks()
    }

    /// Bytes the computed array occupies.
    pub fn nbytes(&self) -> usize {
        self.len().saturating_mul(self.dtype().size())
    }

    /// The context the array belongs to.
    pub fn context(&self) -> &Context {
        &self.ctx
    }

    /// The deferred error of a failed operator call, if this array (or an input) carries one.
    pub fn error(&self) -> Option<Error> {
        self.node.find_error()
    }

    /// Computes the array into host memory.
    ///
    /// # Errors
    /// A deferred operator error, a failing kernel or user function, or an exhausted budget.
    pub fn compute(&self) -> Result<HostArray> {
        Ok(self.compute_with_report()?.0)
    }

    /// Computes the array and reports what the executor did.
    ///
    /// # Errors
    /// As [`Array::compute`].
    pub fn compute_with_report(&self) -> Result<(HostArray, Report)> {
        let (mut arrays, report) = compute_all(&self.ctx, std::slice::from_ref(self))?;
        Ok((arrays.pop().expect("one result per array"), report))
    }

    /// Computes into a typed `ndarray`.
    ///
    /// # Errors
    /// [`Error::DTypeMismatch`] when `T` is not the array's dtype, or any compute error. The dtype is
    /// checked before anything runs.
    pub fn to_ndarray<T: HostElement>(&self) -> Result<ArrayD<T>> {
        if T::DTYPE != self.dtype() {
            return Err(Error::DTypeMismatch {
                expected: T::DTYPE,
                actual: self.dtype(),
            });
        }
        Ok(self.compute()?.typed::<T>()?.to_owned())
    }

    /// Computes a 0-d (or single element) array into a [`Scalar`].
    ///
    /// # Errors
    /// When the array has more than one element, or any compute error.
    pub fn to_scalar(&self) -> Result<Scalar> {
        if self.len() != 1 {
            return Err(Error::invalid(
                "to_scalar",
                format!("array of shape {:?} is not a single element", self.shape()),
            ));
        }
        let host = self.compute()?;
        let zero = vec![0; self.ndim()];
        host.get(&zero)
            .ok_or_else(|| Error::invalid("to_scalar", "no element"))
    }

    /// Computes the chunks and keeps them in memory; the returned array reads them back.
    ///
    /// # Errors
    /// As [`Array::compute`].
    pub fn persist(&self) -> Result<Array> {
        let (mut chunks, _, _) = run(&self.ctx, std::slice::from_ref(self), &[])?;
        let chunks = chunks.pop().expect("one result per array");
        // Persisted chunks live on the host (a GPU result comes back; the device copy is freed).
        let backend = &self.ctx.inner.devices.current().backend;
        let host = chunks
            .into_iter()
            .map(|b| match b {
                Buffer::Host(h) => Ok(h),
                device => {
                    let host = backend.download(&device);
                    backend.free(device);
                    host
                }
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Array::new(
            &self.ctx,
            Op::Source(SourceOp::Persisted(Arc::new(host))),
            Vec::new(),
            self.dtype(),
            self.grid().clone(),
        ))
    }

    /// The optimized plan as text: one line per graph node, then task counts per kernel family.
    ///
    /// # Errors
    /// A deferred operator error, or an error found while planning.
    pub fn explain(&self) -> Result<String> {
        if let Some(e) = self.error() {
            return Err(e);
        }
        let roots = optimize(std::slice::from_ref(&self.node));
        let nodes = topo_order(&roots);
        let mut out = String::new();
        let index_of = |n: &Arc<Node>| nodes.iter().position(|m| Arc::ptr_eq(m, n)).unwrap_or(0);
        for (i, node) in nodes.iter().enumerate() {
            let inputs: Vec<String> = node
                .inputs
                .iter()
                .map(|n| format!("%{}", index_of(n)))
                .collect();
            let _ = writeln!(
                out,
                "%{i} = {} ({}) shape={:?} dtype={} chunks={}",
                node.op.name(),
                inputs.join(", "),
                node.meta.shape(),
                node.meta.dtype,
                node.meta.grid.num_chunks()
            );
        }
        let plan = Plan::build(&roots)?;
        let _ = writeln!(
            out,
            "tasks: {} {:?}",
            plan.tasks.len(),
            plan.tasks_by_family()
        );
        Ok(out)
    }

    /// The optimized plan's tasks per kernel family, e.g. `[("reduce", 9)]` (for tests and tools).
    ///
    /// # Errors
    /// As [`Array::explain`].
    pub fn plan_summary(&self) -> Result<Vec<(&'static str, usize)>> {
        if let Some(e) = self.error() {
            return Err(e);
        }
        let roots = optimize(std::slice::from_ref(&self.node));
        Ok(Plan::build(&roots)?.tasks_by_family())
    }

    /// The optimized graph in Graphviz dot format.
    pub fn to_dot(&self) -> String {
        let roots = optimize(std::slice::from_ref(&self.node));
        let nodes = topo_order(&roots);
        let mut out = String::from(
            "digraph tilework {\n  rankdir=BT;\n  node [shape=box, fontname=monospace];\n",
        );
        for (i, node) in nodes.iter().enumerate() {
            let label = format!(
                "{}\\n{:?} {}",
                node.op.name(),
                node.meta.shape(),
                node.meta.dtype
            )
            .replace('"', "'");
            let _ = writeln!(out, "  n{i} [label=\"{label}\"];");
            for input in &node.inputs {
                if let Some(j) = nodes.iter().position(|m| Arc::ptr_eq(m, input)) {
                    let _ = writeln!(out, "  n{j} -> n{i};");
                }
            }
        }
        out.push_str("}\n");
        out
    }
}

/// Computes several arrays in one pass, sharing common work (Dask's `dask.compute(a, b)`).
///
/// # Errors
/// As [`Array::compute`]; also when the arrays belong to different contexts.
pub fn compute_all(ctx: &Context, arrays: &[Array]) -> Result<(Vec<HostArray>, Report)> {
    let (chunks, grids, mut report) = run(ctx, arrays, &[])?;
    let start = Instant::now();
    let out = chunks
        .iter()
        .zip(&grids)
        .zip(arrays)
        .map(|((bufs, grid), array)| {
            report.bytes_d2h += bufs
                .iter()
                .filter(|b| matches!(b, Buffer::Device(_)))
                .map(|b| b.nbytes() as u64)
                .sum::<u64>();
            assemble(ctx, array.dtype(), grid, bufs)
        })
        .collect::<Result<Vec<_>>>();
    free_device_chunks(ctx, chunks.into_iter().flatten());
    let out = out?;
    report.assemble_s = start.elapsed().as_secs_f64();
    Ok((out, report))
}

type RunOutput = (Vec<Vec<Buffer>>, Vec<ChunkGrid>, Report);

/// Optimizes, plans and executes `arrays` (whose chunks are returned) together with `sinks`
/// (arrays whose chunks go to a writer as soon as they exist).
pub(crate) fn run(
    ctx: &Context,
    arrays: &[Array],
    sinks: &[(Array, Arc<dyn ChunkWriter>)],
) -> Result<RunOutput> {
    let all = arrays.iter().chain(sinks.iter().map(|(a, _)| a));
    if let Some(other) = all.clone().find(|a| !a.ctx.same_as(ctx)) {
        return Err(Error::invalid(
            "compute",
            format!("{other:?} belongs to another context"),
        ));
    }
    let roots: Vec<Arc<Node>> = all.map(|a| a.node.clone()).collect();
    for root in &roots {
        if let Some(e) = root.find_error() {
            return Err(e);
        }
    }
    let mut report = Report {
        nodes_before: count_nodes(&roots),
        ..Report::default()
    };
    let t = Instant::now();
    let mut optimized = optimize(&roots);
    report.optimize_s = t.elapsed().as_secs_f64();
    report.nodes_after = count_nodes(&optimized);
    let t = Instant::now();
    let sink_nodes = optimized.split_off(arrays.len());
    let sinks: Vec<Sink> = sink_nodes
        .into_iter()
        .zip(sinks)
        .map(|(node, (_, writer))| Sink {
            node,
            writer: writer.clone(),
        })
        .collect();
    let plan = Plan::build_with_sinks(&optimized, &sinks)?;
    report.plan_s = t.elapsed().as_secs_f64();
    // Writers create files only once the whole plan is accepted, so a refused plan leaves
    // nothing half-written.
    check_budget(&plan, ctx.inner.host_memory)?;
    for sink in &sinks {
        sink.writer.begin()?;
    }
    report.tasks_by_family = plan.tasks_by_family();
    let devices = ctx.inner.devices.for_plan(&plan);
    let grids = plan.outputs.iter().map(|o| o.grid.clone()).collect();
    let progress = crate::progress::bar_for(ctx, plan.tasks.len());
    let config = ExecConfig {
        pool: ctx.inner.pool.clone(),
        backend: devices.backend.clone(),
        placement: devices.placement.clone(),
        progress: progress.as_ref().map(|p| p.callback()),
        host_budget: ctx.inner.host_memory,
        spill_dir: ctx.inner.spill_dir.clone(),
        cancel: ctx.inner.cancel.clone(),
        device_budget: devices.stats.as_ref().and(ctx.inner.device_memory),
        prefetch_depth: ctx.inner.prefetch_depth,
        compute_threads: ctx.inner.threads,
    };
    let before = devices.stats.as_deref().map(|stats| {
        stats.start_peak();
        placement_counts(stats)
    });
    let result = execute(Arc::new(plan), &config, &mut report);
    if let (Some(stats), Some(before)) = (devices.stats.as_deref(), before) {
        let after = placement_counts(stats);
        report.gpu_tasks += (after.0 - before.0) as usize;
        report.bytes_h2d += after.1 - before.1;
        report.bytes_d2h += after.2 - before.2;
        report.gpu_tiled_tasks += (after.3 - before.3) as usize;
        // The placement sees running tasks' buffers too, which the executor does not.
        let peak = stats
            .peak_device_bytes
            .load(std::sync::atomic::Ordering::Relaxed);
        report.peak_device_bytes = report.peak_device_bytes.max(peak);
    }
    if let Some(p) = progress {
        p.finish();
    }
    let result = result?;
    for sink in &sinks {
        sink.writer.finish()?;
    }
    Ok((result, grids, report))
}

/// (GPU tasks, bytes host to device, bytes device to host, tiled GPU tasks) so far. Computations running at the
/// same time on one context share these counters, so their reports may mix.
fn placement_counts(stats: &PlacementStats) -> (u64, u64, u64, u64) {
    use std::sync::atomic::Ordering::Relaxed;
    (
        stats.accelerator_tasks.load(Relaxed),
        stats.bytes_h2d.load(Relaxed),
        stats.bytes_d2h.load(Relaxed),
        stats.tiled_tasks.load(Relaxed),
    )
}

/// Gives device-resident result chunks back once they are on the host (each once: two
/// requested arrays may share a chunk).
fn free_device_chunks(ctx: &Context, chunks: impl IntoIterator<Item = Buffer>) {
    let mut seen = std::collections::HashSet::new();
    for buffer in chunks {
        if let Buffer::Device(d) = &buffer
            && seen.insert(d.id)
        {
            ctx.inner.devices.current().backend.free(buffer);
        }
    }
}

/// Copies chunk buffers into one host array.
fn assemble(ctx: &Context, dtype: DType, grid: &ChunkGrid, chunks: &[Buffer]) -> Result<HostArray> {
    if chunks.len() == 1 {
        return ctx.inner.devices.current().backend.download(&chunks[0]);
    }
    let mut host = HostArray::zeros(dtype, grid.shape());
    for (linear, buffer) in chunks.iter().enumerate() {
        let region = grid.region(&grid.unravel(linear)?)?;
        let chunk = ctx.inner.devices.current().backend.download(buffer)?;
        let info: Vec<SliceInfoElem> = (0..grid.ndim())
            .map(|a| SliceInfoElem::Slice {
                start: region.start[a] as isize,
                end: Some((region.start[a] + region.shape[a]) as isize),
                step: 1,
            })
            .collect();
        with_host_array!(&mut host, out, T => {
            let src = chunk.typed::<T>()?;
            out.slice_mut(info.as_slice()).assign(src);
        });
    }
    Ok(host)
}

/// Wraps host data as a `Scalar`-free typed check used by creation functions.
pub(crate) fn host_to_array(ctx: &Context, host: HostArray, grid: ChunkGrid) -> Array {
    let dtype = host.dtype();
    Array::new(
        ctx,
        Op::Source(SourceOp::Host(Arc::new(host))),
        Vec::new(),
        dtype,
        grid,
    )
}
