//! The planner: turns an optimized graph into chunk tasks, on demand from the requested chunks.
//!
//! Planning is demand-driven: a task exists only for a chunk some requested chunk needs, so a slice
//! of a large array plans only the chunks that overlap it. Tasks are created inputs-first in
//! depth-first order; that order doubles as the executor's priority (finish a branch before opening
//! the next, as Dask's `order`).

use std::collections::HashMap;
use std::sync::Arc;
use tilework_core::op::{Node, Op, SourceOp};
use tilework_core::shape::Shape;
use tilework_core::{BufferSpec, ChunkGrid, ChunkWriter, Error, HostArray, Kernel, Result};

/// One output of one task.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct ValueRef {
    /// Task index.
    pub task: u32,
    /// Output index of that task.
    pub output: u32,
}

/// What a task does.
#[derive(Clone, Debug)]
pub enum TaskKind {
    /// Runs a kernel on a backend.
    Launch(Box<Kernel>),
    /// A value that already exists on the host (persisted chunks).
    Literal(HostArray),
}

/// A chunk task.
#[derive(Clone, Debug)]
pub struct Task {
    /// What to do.
    pub kind: TaskKind,
    /// Input values, in the kernel's order.
    pub inputs: Vec<ValueRef>,
    /// Output specs.
    pub outputs: Vec<BufferSpec>,
}

impl Task {
    /// Bytes of all its outputs.
    pub fn output_bytes(&self) -> u64 {
        self.outputs.iter().map(|o| o.nbytes() as u64).sum()
    }

    /// Bytes the task holds while it runs besides its inputs: its outputs and its scratch
    /// (saturating; `check_budget` refuses a plan where this overflows).
    pub fn running_bytes(&self) -> u64 {
        self.output_bytes()
            .saturating_add(self.scratch_bytes().unwrap_or(u64::MAX))
    }

    /// Bytes the task allocates while it runs besides its inputs and outputs (an `Overlap`'s
    /// halo'd blocks, a store read's decode buffers); `None` when the size overflows.
    pub fn scratch_bytes(&self) -> Option<u64> {
        let TaskKind::Launch(kernel) = &self.kind else {
            return Some(0);
        };
        if let Kernel::StoreRead { reader, region } = kernel.as_ref() {
            return Some(reader.read_scratch_bytes(region)).filter(|&b| b < u64::MAX);
        }
        let itemsize = self.outputs.first().map_or(0, |o| o.dtype.size());
        let elems = kernel.scratch_elems()?;
        (elems as u64).checked_mul(itemsize as u64)
    }
}

/// The chunks of one requested array.
#[derive(Clone, Debug)]
pub struct PlannedArray {
    /// The array's chunk grid.
    pub grid: ChunkGrid,
    /// One value per chunk, C order.
    pub chunks: Vec<ValueRef>,
}

/// An array to be written to storage chunk by chunk.
#[derive(Clone, Debug)]
pub struct Sink {
    /// The array (its chunks are what the writer receives).
    pub node: Arc<Node>,
    /// Where the chunks go.
    pub writer: Arc<dyn ChunkWriter>,
}

/// A complete plan: tasks in priority order and the requested outputs.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// Tasks; every task's inputs come from earlier tasks.
    pub tasks: Vec<Task>,
    /// One entry per requested root.
    pub outputs: Vec<PlannedArray>,
}

impl Plan {
    /// Builds the plan of every chunk of each root.
    ///
    /// # Errors
    /// A deferred operator error found in the graph, or an invalid combination found while planning.
    pub fn build(roots: &[Arc<Node>]) -> Result<Plan> {
        Plan::build_with_sinks(roots, &[])
    }

    /// Builds the plan of every chunk of each root, plus one write task per chunk of each sink
    /// (storing, say, to Zarr). A write runs as soon as its chunk exists, so the written array is
    /// never held whole.
    ///
    /// # Errors
    /// As [`Plan::build`].
    pub fn build_with_sinks(roots: &[Arc<Node>], sinks: &[Sink]) -> Result<Plan> {
        let mut planner = Planner::default();
        for sink in sinks {
            if let Some(err) = sink.node.find_error() {
                return Err(err);
            }
            let grid = &sink.node.meta.grid;
            for linear in 0..grid.num_chunks() {
                let index = grid.unravel(linear)?;
                let chunk = planner.chunk(&sink.node, &index)?;
                let kernel = Kernel::StoreWrite {
                    writer: sink.writer.clone(),
                    region: grid.region(&index)?,
                };
                planner.push(TaskKind::Launch(Box::new(kernel)), vec![chunk], Vec::new());
            }
        }
        let mut outputs = Vec::with_capacity(roots.len());
        for root in roots {
            if let Some(err) = root.find_error() {
                return Err(err);
            }
            let grid = root.meta.grid.clone();
            let chunks = (0..grid.num_chunks())
                .map(|linear| planner.chunk(root, &grid.unravel(linear)?))
                .collect::<Result<Vec<_>>>()?;
            outputs.push(PlannedArray { grid, chunks });
        }
        Ok(Plan {
            tasks: planner.tasks,
            outputs,
        })
    }

    /// Number of tasks per kernel family, sorted by family name.
    pub fn tasks_by_family(&self) -> Vec<(&'static str, usize)> {
        let mut counts: HashMap<&'static str, usize> = HashMap::new();
        for task in &self.tasks {
            let family = match &task.kind {
                TaskKind::Launch(k) => k.family(),
                TaskKind::Literal(_) => "literal",
            };
            *counts.entry(family).or_default() += 1;
        }
        let mut out: Vec<_> = counts.into_iter().collect();
        out.sort();
        out
    }
}

/// Memo key for a chunk-level value: node address, chunk number, and a stage tag for multi-step ops.
type Key = (usize, usize, u8);

/// Builds tasks on demand.
#[derive(Default)]
pub(crate) struct Planner {
    pub(crate) tasks: Vec<Task>,
    memo: HashMap<Key, ValueRef>,
}

impl Planner {
    /// Appends a task and returns references to its outputs.
    pub(crate) fn push(
        &mut self,
        kind: TaskKind,
        inputs: Vec<ValueRef>,
        outputs: Vec<BufferSpec>,
    ) -> Vec<ValueRef> {
        let task = self.tasks.len() as u32;
        let refs = (0..outputs.len() as u32)
            .map(|output| ValueRef { task, output })
            .collect();
        self.tasks.push(Task {
            kind,
            inputs,
            outputs,
        });
        refs
    }

    /// Pushes a single-output kernel task.
    pub(crate) fn launch(
        &mut self,
        kernel: Kernel,
        inputs: Vec<ValueRef>,
        output: BufferSpec,
    ) -> ValueRef {
        self.push(TaskKind::Launch(Box::new(kernel)), inputs, vec![output])[0]
    }

    pub(crate) fn memo_get(&self, node: &Arc<Node>, linear: usize, stage: u8) -> Option<ValueRef> {
        self.memo
            .get(&(Arc::as_ptr(node) as usize, linear, stage))
            .copied()
    }

    pub(crate) fn memo_put(&mut self, node: &Arc<Node>, linear: usize, stage: u8, value: ValueRef) {
        self.memo
            .insert((Arc::as_ptr(node) as usize, linear, stage), value);
    }

    /// The value of chunk `index` of `node`, planning it (and what it needs) if necessary.
    pub(crate) fn chunk(&mut self, node: &Arc<Node>, index: &[usize]) -> Result<ValueRef> {
        let grid = &node.meta.grid;
        let linear = grid.ravel(index)?;
        if let Some(v) = self.memo_get(node, linear, 0) {
            return Ok(v);
        }
        let region = grid.region(index)?;
        let spec = BufferSpec {
            dtype: node.meta.dtype,
            shape: region.shape.clone(),
        };
        let value = match &node.op {
            Op::Source(SourceOp::Persisted(chunks)) => {
                let data = chunks.get(linear).cloned().ok_or_else(|| {
                    Error::invalid(
                        "persisted",
                        format!("chunk {linear} missing from persisted data"),
                    )
                })?;
                self.push(TaskKind::Literal(data), Vec::new(), vec![spec])[0]
            }
            Op::Source(source) => {
                let kernel = crate::plan_ops::source_kernel(source, node, &region);
                self.launch(kernel, Vec::new(), spec)
            }
            Op::Elementwise(expr) => {
                let inputs = self.broadcast_inputs(&node.inputs, grid.shape(), index)?;
                self.launch(Kernel::Elementwise { expr: expr.clone() }, inputs, spec)
            }
            Op::Reduce { .. } => self.reduce_chunk(node, index, spec)?,
            Op::Scan { .. } => self.scan_chunk(node, index)?,
            Op::Matmul => self.matmul_chunk(node, index, spec)?,
            Op::View(_) | Op::Concat { .. } | Op::Pad { .. } | Op::Rechunk => {
                self.gather_chunk(node, &region, spec)?
            }
            Op::Reshape => self.reshape_chunk(node, &region, spec)?,
            Op::Overlap { .. } => self.overlap_chunk(node, &region, spec)?,
            Op::MapBlocks(func) => {
                let inputs = self.broadcast_inputs(&node.inputs, grid.shape(), index)?;
                let kernel = Kernel::MapBlocks {
                    func: func.clone(),
                    chunk_start: region.start.clone(),
                    global_shape: Shape::from_slice(grid.shape()),
                };
                self.launch(kernel, inputs, spec)
            }
            Op::Invalid(e) => return Err(e.clone()),
        };
        self.memo_put(node, linear, 0, value);
        Ok(value)
    }

    /// Chunks of elementwise-aligned inputs for output chunk `index` (broadcast axes read chunk 0).
    pub(crate) fn broadcast_inputs(
        &mut self,
        inputs: &[Arc<Node>],
        out_shape: &[usize],
        index: &[usize],
    ) -> Result<Vec<ValueRef>> {
        inputs
            .iter()
            .map(|input| {
                let idx = broadcast_index(input.meta.shape(), out_shape, index);
                self.chunk(input, &idx)
            })
            .collect()
    }
}

/// The chunk index of a right-aligned broadcast input for output chunk `index`.
pub(crate) fn broadcast_index(in_shape: &[usize], out_shape: &[usize], index: &[usize]) -> Shape {
    let offset = out_shape.len() - in_shape.len();
    in_shape
        .iter()
        .enumerate()
        .map(|(a, &n)| {
            if n == out_shape[a + offset] {
                index[a + offset]
            } else {
                0
            }
        })
        .collect()
}
