//! The lazy graph: nodes whose operation is plain data (an enum per family).
//!
//! A [`Node`] is immutable and shared through `Arc`; identity is the `Arc`'s address. Every node
//! carries its output metadata (shape, dtype, chunk grid), computed and validated when the node is
//! built, so errors surface before any data moves.

use crate::chunks::ChunkGrid;
use crate::dtype::{DType, Scalar};
use crate::error::{Error, Result};
use crate::expr::Expr;
use crate::host::HostArray;
use crate::shape::Shape;
use std::fmt;
use std::sync::Arc;

/// Output metadata of a node.
#[derive(Clone, Debug, PartialEq)]
pub struct Meta {
    /// Element type.
    pub dtype: DType,
    /// Chunk grid (which also holds the shape).
    pub grid: ChunkGrid,
}

impl Meta {
    /// The shape.
    pub fn shape(&self) -> &[usize] {
        self.grid.shape()
    }
}

/// A random distribution for [`SourceOp::Random`].
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum Distribution {
    /// Uniform on `[low, high)`.
    Uniform {
        /// Lower bound (inclusive).
        low: f64,
        /// Upper bound (exclusive).
        high: f64,
    },
    /// Normal with the given mean and standard deviation (Box-Muller).
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation.
        std: f64,
    },
    /// Integers uniform on `[low, high)`.
    Integers {
        /// Lower bound (inclusive).
        low: i64,
        /// Upper bound (exclusive).
        high: i64,
    },
}

/// Operations that produce data from nothing.
#[derive(Clone, Debug)]
pub enum SourceOp {
    /// Every element equals the value.
    Fill(Scalar),
    /// Element at C-order flat index `i` is `start + i * step` (arange and linspace).
    Arange {
        /// Value at index 0.
        start: f64,
        /// Increment per element.
        step: f64,
        /// An exact value for the last element (linspace's endpoint).
        last: Option<f64>,
    },
    /// Ones on the k-th diagonal of a 2-D array.
    Eye {
        /// Diagonal offset.
        k: i64,
    },
    /// Counter-based random numbers (Philox 4x32-10).
    Random {
        /// The seed.
        seed: u64,
        /// The distribution.
        dist: Distribution,
    },
    /// Data handed over from the host, split into chunks on demand.
    Host(Arc<HostArray>),
    /// Already computed chunks, one per chunk of the node's grid in C order.
    Persisted(Arc<Vec<HostArray>>),
    /// An array in storage (a Zarr array, a .npy file), read region by region on demand.
    Store(Arc<dyn crate::storage::ChunkReader>),
}

/// How one input axis of a view is addressed.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum AxisMap {
    /// The input axis is pinned at one index (integer indexing).
    Fixed(usize),
    /// Input index `start + step * j` for output index `j` on `out_axis` (`step` may be negative,
    /// or 0 to repeat one element).
    Affine {
        /// The output axis driving this input axis.
        out_axis: usize,
        /// Input index at output index 0.
        start: isize,
        /// Input index increment per output index.
        step: isize,
    },
}

/// A strided view: slicing with steps, integer indexing, transpose, broadcast, expand/squeeze.
///
/// Each input axis is either pinned or driven by exactly one output axis; output axes that drive no
/// input axis are broadcast (new or size-1 axes).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ViewMap {
    /// One entry per input axis.
    pub in_axes: Vec<AxisMap>,
}

impl ViewMap {
    /// The view equal to applying `self` and then `outer` (a view of this view).
    pub fn then(&self, outer: &ViewMap) -> ViewMap {
        let in_axes = self
            .in_axes
            .iter()
            .map(|m| match *m {
                AxisMap::Fixed(c) => AxisMap::Fixed(c),
                AxisMap::Affine {
                    out_axis,
                    start,
                    step,
                } => match outer.in_axes[out_axis] {
                    AxisMap::Fixed(c) => AxisMap::Fixed((start + step * c as isize) as usize),
                    AxisMap::Affine {
                        out_axis: o2,
                        start: s2,
                        step: st2,
                    } => AxisMap::Affine {
                        out_axis: o2,
                        start: start + step * s2,
                        step: step * st2,
                    },
                },
            })
            .collect();
        ViewMap { in_axes }
    }

    /// True when the view maps every axis to itself with step 1 from 0 and the shapes agree.
    pub fn is_identity(&self, in_shape: &[usize], out_shape: &[usize]) -> bool {
        in_shape == out_shape
            && self.in_axes.iter().enumerate().all(|(a, m)| {
                *m == AxisMap::Affine {
                    out_axis: a,
                    start: 0,
                    step: 1,
                }
            })
    }
}

/// Padding modes (NumPy's `np.pad`).
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum PadMode {
    /// Pad with a constant.
    Constant(Scalar),
    /// Repeat the edge value.
    Edge,
    /// Mirror without repeating the edge (`reflect`).
    Reflect,
    /// Mirror repeating the edge (`symmetric`).
    Symmetric,
    /// Wrap around (`wrap`).
    Wrap,
}

/// What lies beyond the array's edge for `map_overlap`.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum Boundary {
    /// The array repeats (torus).
    Periodic,
    /// Mirror including the edge value (Dask's `reflect`).
    Reflect,
    /// A constant.
    Constant(Scalar),
    /// No halo at the array's edge: edge blocks are smaller.
    None,
}

/// Reductions.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum ReduceOp {
    Sum,
    Prod,
    Min,
    Max,
    Mean,
    /// Variance with `ddof` delta degrees of freedom.
    Var {
        ddof: u32,
    },
    /// Standard deviation with `ddof`.
    Std {
        ddof: u32,
    },
    ArgMin,
    ArgMax,
    Any,
    All,
}

impl ReduceOp {
    /// NumPy's name.
    pub fn name(self) -> &'static str {
        match self {
            ReduceOp::Sum => "sum",
            ReduceOp::Prod => "prod",
            ReduceOp::Min => "min",
            ReduceOp::Max => "max",
            ReduceOp::Mean => "mean",
            ReduceOp::Var { .. } => "var",
            ReduceOp::Std { .. } => "std",
            ReduceOp::ArgMin => "argmin",
            ReduceOp::ArgMax => "argmax",
            ReduceOp::Any => "any",
            ReduceOp::All => "all",
        }
    }

    /// The result dtype for an input dtype.
    pub fn out_dtype(self, input: DType) -> DType {
        match self {
            ReduceOp::Sum | ReduceOp::Prod if !input.is_float() => DType::I64,
            ReduceOp::Sum | ReduceOp::Prod | ReduceOp::Min | ReduceOp::Max => input,
            ReduceOp::Mean | ReduceOp::Var { .. } | ReduceOp::Std { .. } => match input {
                DType::F16 | DType::F32 => input,
                _ => DType::F64,
            },
            ReduceOp::ArgMin | ReduceOp::ArgMax => DType::I64,
            ReduceOp::Any | ReduceOp::All => DType::Bool,
        }
    }
}

/// Scans along one axis.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum ScanOp {
    CumSum,
    CumProd,
}

impl ScanOp {
    /// The result dtype for an input dtype (integers and bool accumulate in i64, as NumPy).
    pub fn out_dtype(self, input: DType) -> DType {
        if input.is_float() { input } else { DType::I64 }
    }
}

/// A user block function: receives the input blocks, returns the output block.
pub type BlockFnInner = dyn Fn(&[HostArray]) -> Result<HostArray> + Send + Sync;

/// A user kernel written in WGSL: statements computing one output element (see
/// `tilework::WgslKernel` for the functions they may call).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct WgslBody {
    /// The body of a function returning the output element.
    pub body: String,
    /// Extra WGSL declarations (functions, constants) the body uses.
    pub helpers: String,
}

/// A named user kernel for `map_blocks` / `map_overlap`: a host closure, and optionally a WGSL
/// body the GPU runs instead.
#[derive(Clone)]
pub struct BlockFn {
    /// Shown in plans.
    pub name: String,
    /// The host function (for a WGSL-only kernel, one that returns an error saying a GPU is
    /// needed).
    pub func: Arc<BlockFnInner>,
    /// The GPU version, when the user wrote one.
    pub wgsl: Option<Arc<WgslBody>>,
}

impl fmt::Debug for BlockFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlockFn({})", self.name)
    }
}

impl PartialEq for BlockFn {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.func, &other.func)
    }
}

/// The operation of a graph node.
#[derive(Clone, Debug)]
pub enum Op {
    /// Produces data.
    Source(SourceOp),
    /// A fused elementwise expression over the node's inputs (NumPy broadcasting).
    Elementwise(Expr),
    /// A reduction of the (optionally fused) input over `axes`.
    Reduce {
        /// What to reduce.
        op: ReduceOp,
        /// Reduced axes of the input, sorted.
        axes: Vec<usize>,
        /// Keep reduced axes with length 1.
        keepdims: bool,
        /// A fused elementwise producer over the node's inputs; `None` reduces input 0.
        expr: Option<Expr>,
    },
    /// Cumulative sum or product along an axis.
    Scan {
        /// Which scan.
        op: ScanOp,
        /// Along this axis.
        axis: usize,
    },
    /// Batched matrix product of inputs 0 and 1 (NumPy `matmul` on rank >= 2).
    Matmul,
    /// A strided view of input 0.
    View(ViewMap),
    /// C-order reshape of input 0.
    Reshape,
    /// Concatenation of all inputs along an axis.
    Concat {
        /// The axis.
        axis: usize,
    },
    /// Padding of input 0.
    Pad {
        /// `(before, after)` per axis.
        widths: Vec<(usize, usize)>,
        /// How to fill.
        mode: PadMode,
    },
    /// Same data, the node's chunk grid.
    Rechunk,
    /// A user kernel over each chunk extended by a halo; the result is trimmed back.
    Overlap {
        /// Halo depth per axis.
        depth: Vec<usize>,
        /// What lies beyond the edges.
        boundary: Boundary,
        /// The user kernel.
        func: BlockFn,
        /// A fused elementwise producer over the node's inputs; `None` uses input 0.
        expr: Option<Expr>,
    },
    /// A user kernel over aligned chunks of every input.
    MapBlocks(BlockFn),
    /// An operator call that failed; `compute` reports the error.
    Invalid(Error),
}

impl Op {
    /// Short name for plans and graphs.
    pub fn name(&self) -> String {
        match self {
            Op::Source(SourceOp::Fill(_)) => "fill".into(),
            Op::Source(SourceOp::Arange { .. }) => "arange".into(),
            Op::Source(SourceOp::Eye { .. }) => "eye".into(),
            Op::Source(SourceOp::Random { .. }) => "random".into(),
            Op::Source(SourceOp::Host(_)) => "from_host".into(),
            Op::Source(SourceOp::Persisted(_)) => "persisted".into(),
            Op::Source(SourceOp::Store(reader)) => format!("read {}", reader.describe()),
            Op::Elementwise(e) => format!("elementwise[{} ops]: {}", e.num_ops(), e.render()),
            Op::Reduce { op, axes, expr, .. } => match expr {
                Some(e) => format!(
                    "{}{axes:?} of fused[{} ops]: {}",
                    op.name(),
                    e.num_ops(),
                    e.render()
                ),
                None => format!("{}{axes:?}", op.name()),
            },
            Op::Scan { op, axis } => format!("{op:?}(axis={axis})").to_lowercase(),
            Op::Matmul => "matmul".into(),
            Op::View(_) => "view".into(),
            Op::Reshape => "reshape".into(),
            Op::Concat { axis } => format!("concatenate(axis={axis})"),
            Op::Pad { .. } => "pad".into(),
            Op::Rechunk => "rechunk".into(),
            Op::Overlap { func, expr, .. } => match expr {
                Some(e) => format!("map_overlap({}) of fused[{} ops]", func.name, e.num_ops()),
                None => format!("map_overlap({})", func.name),
            },
            Op::MapBlocks(f) => format!("map_blocks({})", f.name),
            Op::Invalid(e) => format!("invalid: {e}"),
        }
    }
}

/// A node of the lazy graph.
#[derive(Debug)]
pub struct Node {
    /// The operation.
    pub op: Op,
    /// Operand nodes.
    pub inputs: Vec<Arc<Node>>,
    /// Output metadata.
    pub meta: Meta,
}

impl Node {
    /// Builds a node.
    pub fn new(op: Op, inputs: Vec<Arc<Node>>, meta: Meta) -> Arc<Node> {
        Arc::new(Node { op, inputs, meta })
    }

    /// A node that carries a deferred error (for operators, which cannot return `Result`).
    pub fn invalid(error: Error) -> Arc<Node> {
        Node::new(
            Op::Invalid(error),
            Vec::new(),
            Meta {
                dtype: DType::F32,
                grid: ChunkGrid::single(&[]),
            },
        )
    }

    /// The node's shape.
    pub fn shape(&self) -> Shape {
        Shape::from_slice(self.meta.shape())
    }

    /// The first deferred error found in this node or its inputs.
    pub fn find_error(self: &Arc<Node>) -> Option<Error> {
        let mut stack = vec![self.clone()];
        let mut seen = std::collections::HashSet::new();
        while let Some(node) = stack.pop() {
            if !seen.insert(Arc::as_ptr(&node)) {
                continue;
            }
            if let Op::Invalid(e) = &node.op {
                return Some(e.clone());
            }
            stack.extend(node.inputs.iter().cloned());
        }
        None
    }
}

/// Nodes reachable from `roots`, inputs before consumers (post order).
pub fn topo_order(roots: &[Arc<Node>]) -> Vec<Arc<Node>> {
    let mut order = Vec::new();
    let mut seen = std::collections::HashSet::new();
    // Iterative DFS so deep elementwise chains cannot overflow the stack.
    let mut stack: Vec<(Arc<Node>, bool)> =
        roots.iter().rev().map(|r| (r.clone(), false)).collect();
    while let Some((node, expanded)) = stack.pop() {
        let key = Arc::as_ptr(&node);
        if expanded {
            order.push(node);
            continue;
        }
        if !seen.insert(key) {
            continue;
        }
        stack.push((node.clone(), true));
        for input in node.inputs.iter().rev() {
            if !seen.contains(&Arc::as_ptr(input)) {
                stack.push((input.clone(), false));
            }
        }
    }
    order
}
