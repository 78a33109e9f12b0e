//! Kernels: what a backend is asked to run for one chunk task. Backends never see the graph.
//!
//! Conventions shared by every backend:
//! - a task's inputs are buffers in the order the kernel documents; its outputs are described by
//!   [`BufferSpec`]s the planner computed, and the backend returns buffers of exactly those specs;
//! - "global" coordinates are positions in the whole array, "local" ones inside a chunk.

use crate::backend::BufferSpec;
use crate::chunks::Region;
use crate::dtype::{DType, Scalar};
use crate::expr::Expr;
use crate::host::HostArray;
use crate::op::{AxisMap, BlockFn, Distribution, ReduceOp, ScanOp};
use crate::shape::Shape;
use std::sync::Arc;

/// A rectangular piece of an output chunk copied from one input buffer through an affine map.
///
/// For each position `j` inside the piece (`0 <= j < out_shape`), the input element is found per
/// input axis: `Fixed(c)` gives index `c`; `Affine { out_axis, start, step }` gives
/// `start + step * j[out_axis]`. Indices are local to the input buffer.
#[derive(Clone, Debug, PartialEq)]
pub struct Piece {
    /// Which task input the piece reads.
    pub input: usize,
    /// Where the piece starts in the output block.
    pub out_start: Shape,
    /// The piece's extent.
    pub out_shape: Shape,
    /// One entry per axis of the input buffer.
    pub in_axes: Vec<AxisMap>,
}

/// Which reduction step a [`Kernel::Reduce`] performs.
#[derive(Clone, Debug, PartialEq)]
pub enum ReduceStage {
    /// Reduce one input chunk to a partial state (keepdims shape).
    ///
    /// Inputs: the expression's inputs for the chunk (or the one chunk when `expr` is `None`),
    /// broadcastable to `chunk_shape`. `chunk_start` and `global_shape` locate the chunk in the whole
    /// input (argmin/argmax report flat indices over the reduced axes of `global_shape`).
    Partial {
        /// A fused elementwise producer.
        expr: Option<Expr>,
        /// Shape of the chunk being reduced.
        chunk_shape: Shape,
        /// Global position of the chunk.
        chunk_start: Shape,
        /// Shape of the whole input.
        global_shape: Shape,
    },
    /// Merge partial states, in input order (fixed fan-in: results do not depend on threads).
    Combine,
    /// Turn one partial state into the result, of `out_dtype` and shape `out_shape`.
    Finalize {
        /// Result dtype.
        out_dtype: DType,
        /// Result shape (reduced axes dropped unless keepdims).
        out_shape: Shape,
    },
}

/// A unit of work on one chunk.
///
/// Partial reduction states (outputs of `Partial` and `Combine`, inputs of `Combine` and
/// `Finalize`) have the keepdims shape of the reduced chunk and these components:
/// - `Sum`, `Prod`: `[acc]`, acc f64 for float inputs, i64 otherwise;
/// - `Mean`: `[count, mean, m2]` like `Var` (m2 may stay 0), so the finalize step knows the count;
/// - `Min`, `Max`: `[value]` of the input dtype (NaN propagates);
/// - `Any`, `All`: `[bool]`;
/// - `Var`, `Std`: `[count, mean, m2]`, all f64 (Chan et al. merge);
/// - `ArgMin`, `ArgMax`: `[value of the input dtype, i64 flat index]` (first occurrence wins; NaN
///   counts as the extreme).
///
/// A `Combine` task receives `k` states as `k * components` buffers, state after state.
#[derive(Clone, Debug)]
pub enum Kernel {
    /// Every element equals `value`. No inputs.
    Fill {
        /// The value (already of the output dtype).
        value: Scalar,
    },
    /// Element at global C-order flat index `i` is `start + i * step`, cast to the output dtype;
    /// with `last = Some((n, v))` the element at flat index `n` is exactly `v`. No inputs.
    Arange {
        /// Value at index 0.
        start: f64,
        /// Step per element.
        step: f64,
        /// Exact value for one flat index (linspace endpoint).
        last: Option<(u64, f64)>,
        /// Global position of the chunk.
        chunk_start: Shape,
        /// Shape of the whole array.
        global_shape: Shape,
    },
    /// 1 where `col - row == k`, else 0. No inputs.
    Eye {
        /// Diagonal offset.
        k: i64,
        /// Global position of the chunk.
        chunk_start: Shape,
    },
    /// Philox random numbers by global flat index (see `tilework_core::random`). No inputs.
    Random {
        /// The seed.
        seed: u64,
        /// The distribution.
        dist: Distribution,
        /// Global position of the chunk.
        chunk_start: Shape,
        /// Shape of the whole array.
        global_shape: Shape,
    },
    /// Copies `region` out of host data. No inputs.
    HostSlice {
        /// The whole source array.
        data: Arc<HostArray>,
        /// The part to copy.
        region: Region,
    },
    /// Reads `region` from storage. No inputs.
    StoreRead {
        /// The stored array.
        reader: Arc<dyn crate::storage::ChunkReader>,
        /// The part to read (global coordinates).
        region: Region,
    },
    /// Writes its one input, `region` of the array, to storage. No outputs.
    StoreWrite {
        /// The destination.
        writer: Arc<dyn crate::storage::ChunkWriter>,
        /// Where the input belongs (global coordinates).
        region: Region,
    },
    /// A fused elementwise expression; input `k` is broadcast (NumPy rules) to the output shape.
    Elementwise {
        /// The expression.
        expr: Expr,
    },
    /// Assembles the output from pieces of the inputs; positions no piece covers hold `fill`
    /// (zero when `None`).
    Gather {
        /// The pieces, applied in order.
        pieces: Vec<Piece>,
        /// Value for uncovered positions.
        fill: Option<Scalar>,
    },
    /// C-order reshape: output block `out_region` of a `out_shape` array, read from input blocks
    /// `in_regions` (one per task input) of the `in_shape` array.
    Reshape {
        /// Global input shape.
        in_shape: Shape,
        /// Global output shape.
        out_shape: Shape,
        /// The output block.
        out_region: Region,
        /// The global region each task input covers.
        in_regions: Vec<Region>,
    },
    /// One step of a reduction over `axes` (local axes of the input chunk).
    Reduce {
        /// The reduction.
        op: ReduceOp,
        /// Reduced axes (sorted).
        axes: Vec<usize>,
        /// Which step.
        stage: ReduceStage,
    },
    /// Scan of one chunk along `axis`. Input: the chunk. Outputs: `[scanned, last]` where `last`
    /// is the final slice along `axis` (length 1 on that axis), both of the scan's output dtype.
    ScanLocal {
        /// The scan.
        op: ScanOp,
        /// The axis.
        axis: usize,
    },
    /// Inputs `[carry, last]` of equal shape: output `carry (op) last` (the carry into the next chunk).
    ScanCarry {
        /// The scan.
        op: ScanOp,
    },
    /// Inputs `[scanned, carry]`: output `scanned (op) carry`, `carry` broadcast along `axis`.
    ScanApply {
        /// The scan.
        op: ScanOp,
        /// The axis.
        axis: usize,
    },
    /// `out = sum_k a_k @ b_k` over inputs `[a_0, b_0, a_1, b_1, ...]`, summed in that order.
    /// `a_k` has shape `(..., m, kk)` and `b_k` `(..., kk, n)`; leading (batch) axes broadcast to
    /// the output's. All of one dtype (the output's).
    Matmul,
    /// A user kernel over the task inputs (one block per input array, broadcastable to the
    /// output block).
    MapBlocks {
        /// The user function.
        func: BlockFn,
        /// Global position of the output chunk.
        chunk_start: Shape,
        /// Shape of the whole output array.
        global_shape: Shape,
    },
    /// A user stencil: build a halo-extended block, evaluate `expr` on it, overwrite
    /// `const_regions`, call `func`, keep `trim`.
    ///
    /// Task inputs are `num_arrays` groups of `slots` buffers (array-major): piece inputs index a
    /// slot, read from every array's group alike.
    Overlap {
        /// Shape of the extended block.
        block_shape: Shape,
        /// Pieces assembling the block from the input chunks.
        pieces: Vec<Piece>,
        /// Number of chunk slots per input array.
        slots: usize,
        /// Number of input arrays (the expression's inputs, or 1).
        num_arrays: usize,
        /// Regions of the block set to a constant after `expr` (constant boundaries).
        const_regions: Vec<(Region, Scalar)>,
        /// A fused elementwise producer.
        expr: Option<Expr>,
        /// The user kernel.
        func: BlockFn,
        /// The part of the kernel's result that is the output chunk.
        trim: Region,
        /// Shape of the whole output array (the output chunk starts at `chunk_start`).
        global_shape: Shape,
        /// Global position of the output chunk.
        chunk_start: Shape,
    },
}

impl Kernel {
    /// Short family name (for reports and pipeline caches).
    pub fn family(&self) -> &'static str {
        match self {
            Kernel::Fill { .. } => "fill",
            Kernel::Arange { .. } => "arange",
            Kernel::Eye { .. } => "eye",
            Kernel::Random { .. } => "random",
            Kernel::HostSlice { .. } => "host_slice",
            Kernel::StoreRead { .. } => "store_read",
            Kernel::StoreWrite { .. } => "store_write",
            Kernel::Elementwise { .. } => "elementwise",
            Kernel::Gather { .. } => "gather",
            Kernel::Reshape { .. } => "reshape",
            Kernel::Reduce { .. } => "reduce",
            Kernel::ScanLocal { .. } | Kernel::ScanCarry { .. } | Kernel::ScanApply { .. } => {
                "scan"
            }
            Kernel::Matmul => "matmul",
            Kernel::MapBlocks { .. } => "map_blocks",
            Kernel::Overlap { .. } => "overlap",
        }
    }

    /// Elements of the working blocks the kernel allocates besides its inputs and outputs, so
    /// that budgets are checked before anything runs; `None` when the count overflows.
    ///
    /// An `Overlap` assembles one halo'd block per input array, evaluates its expression into
    /// another and receives the user function's result, each of `block_shape`.
    pub fn scratch_elems(&self) -> Option<usize> {
        match self {
            Kernel::Overlap {
                block_shape,
                num_arrays,
                expr,
                ..
            } => {
                let blocks = num_arrays.checked_add(usize::from(expr.is_some()) + 1)?;
                crate::shape::size::product(block_shape.iter().copied().chain([blocks]))
            }
            _ => Some(0),
        }
    }

    /// How many elementwise ops this kernel runs fused (0 for non-elementwise kernels).
    pub fn fused_ops(&self) -> usize {
        match self {
            Kernel::Elementwise { expr } => expr.num_ops(),
            Kernel::Reduce {
                stage: ReduceStage::Partial { expr: Some(e), .. },
                ..
            } => e.num_ops(),
            Kernel::Overlap { expr: Some(e), .. } => e.num_ops(),
            _ => 0,
        }
    }
}

/// Specs of the partial-state components of `op` for an input of `dtype` (see [`Kernel`]).
pub fn reduce_state_specs(op: ReduceOp, dtype: DType, shape: &[usize]) -> Vec<BufferSpec> {
    let spec = |dtype| BufferSpec {
        dtype,
        shape: Shape::from_slice(shape),
    };
    let acc = if dtype.is_float() {
        DType::F64
    } else {
        DType::I64
    };
    match op {
        ReduceOp::Sum | ReduceOp::Prod => vec![spec(acc)],
        ReduceOp::Mean => vec![spec(DType::F64), spec(DType::F64), spec(DType::F64)],
        ReduceOp::Min | ReduceOp::Max => vec![spec(dtype)],
        ReduceOp::Any | ReduceOp::All => vec![spec(DType::Bool)],
        ReduceOp::Var { .. } | ReduceOp::Std { .. } => {
            vec![spec(DType::F64), spec(DType::F64), spec(DType::F64)]
        }
        ReduceOp::ArgMin | ReduceOp::ArgMax => vec![spec(dtype), spec(DType::I64)],
    }
}
