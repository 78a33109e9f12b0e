//! Core data model of tilework: dtypes, shapes, chunk grids, the lazy op graph, the fused
//! expression IR, kernels, and the [`Backend`] trait that every device implements.
//!
//! Errors: every fallible function returns [`Result`]; user input never panics. Internal
//! invariants use `debug_assert!` or `expect("why")`.
#![warn(missing_docs)]

pub mod backend;
pub mod chunks;
mod display;
pub mod dtype;
pub mod error;
pub mod expr;
pub mod host;
pub mod kernel;
pub mod kernel_checks;
pub mod op;
pub mod optimize;
pub mod random;
pub mod rechunk_plan;
pub mod shape;
pub mod storage;

pub use backend::{Backend, Buffer, BufferSpec, Caps, DeviceBuffer, DeviceKind, MemoryInfo};
pub use chunks::{ChunkGrid, Chunks, Region};
pub use dtype::{DType, Element, Scalar};
pub use error::{Error, Result};
pub use expr::{BinaryOp, Expr, ExprNode, UnaryOp};
pub use half;
pub use host::{HostArray, HostElement};
pub use kernel::{Kernel, Piece, ReduceStage};
pub use op::{
    AxisMap, BlockFn, Boundary, Distribution, Meta, Node, Op, PadMode, ReduceOp, ScanOp, SourceOp,
    ViewMap, WgslBody,
};
pub use shape::Shape;
pub use storage::{ChunkReader, ChunkWriter};
