//! The scheduler of tilework: the planner (graph -> chunk tasks with fixed-fan-in reduction trees)
//! and the executor (priority-ordered, memory-accounted, frees after last use).
//!
//! It drives devices only through `tilework_core::Backend`; it never runs kernels itself.
#![warn(missing_docs)]

mod admission;
mod decide;
mod device_room;
mod exec;
mod placement;
mod plan;
mod plan_layout;
mod plan_ops;
mod ready;
mod report;
mod spill;
mod tiling;
mod tiling_matmul;

pub use decide::Placed;
pub use exec::{CancelToken, ExecConfig, check_budget, execute};
pub use placement::{Placement, PlacementStats, Policy};
pub use plan::{Plan, PlannedArray, Sink, Task, TaskKind, ValueRef};
pub use plan_ops::REDUCE_FAN_IN;
pub use report::Report;
