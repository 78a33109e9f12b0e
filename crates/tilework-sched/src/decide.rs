//! Placement decisions: where each task of a plan runs, fixed before anything runs.
//!
//! [`Placement::decide`] walks a plan in order and gives every task a [`Placed`]: the CPU, the
//! accelerator with the whole task, or the accelerator in tiles whose size is fixed here. The
//! choice depends only on the kernel, the specs of its buffers, where the producers of its inputs
//! were placed, the accelerator's caps and the device budget, never on what else happens to be
//! running or on where a value was evicted to, so one plan on one device runs the same way every
//! time. The executor makes the budget hold by waiting for device room (and evicting) instead of
//! changing its mind.

use crate::placement::{Placement, Policy};
use crate::plan::{Plan, TaskKind};
use crate::tiling::row_tiles;
use crate::tiling_matmul::matmul_tiles;
use tilework_core::{BufferSpec, Kernel};

/// Where one task runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Placed {
    /// On the CPU.
    Cpu,
    /// On the accelerator, as one launch; its outputs stay there.
    Device,
    /// On the accelerator in tiles of `rows` rows along axis 0, holding at most `bytes` there at
    /// once; results come back to the host.
    RowTiles {
        /// Rows per tile.
        rows: usize,
        /// Device bytes of the largest tile.
        bytes: u64,
    },
    /// A matmul on the accelerator in tiles of `rows` result rows summing `group` pairs at a
    /// time, holding at most `bytes` there at once; results come back to the host.
    MatmulTiles {
        /// Result rows per tile.
        rows: usize,
        /// `(a_k, b_k)` pairs per launch.
        group: usize,
        /// Device bytes of the largest tile.
        bytes: u64,
    },
}

impl Placed {
    /// Whether the task's outputs live on the accelerator when it finishes.
    pub fn outputs_on_device(&self) -> bool {
        matches!(self, Placed::Device)
    }

    /// Whether any of the task runs on the accelerator.
    pub fn uses_accelerator(&self) -> bool {
        !matches!(self, Placed::Cpu)
    }

    /// Device bytes a tiled task holds at once; `None` for the CPU and for whole launches.
    pub fn tile_bytes(&self) -> Option<u64> {
        match self {
            Placed::RowTiles { bytes, .. } | Placed::MatmulTiles { bytes, .. } => Some(*bytes),
            Placed::Cpu | Placed::Device => None,
        }
    }
}

impl Placement {
    /// Where every task of `plan` runs (one entry per task, in plan order).
    pub fn decide(&self, plan: &Plan) -> Vec<Placed> {
        let mut placed: Vec<Placed> = Vec::with_capacity(plan.tasks.len());
        for task in &plan.tasks {
            let choice = match &task.kind {
                TaskKind::Literal(_) => Placed::Cpu,
                TaskKind::Launch(kernel) => {
                    let inputs: Vec<(&BufferSpec, bool)> = task
                        .inputs
                        .iter()
                        .map(|v| {
                            let producer = v.task as usize;
                            (
                                &plan.tasks[producer].outputs[v.output as usize],
                                placed[producer].outputs_on_device(),
                            )
                        })
                        .collect();
                    self.decide_task(kernel, &inputs, &task.outputs)
                }
            };
            placed.push(choice);
        }
        placed
    }

    /// Where one launch runs, given its inputs' specs and whether each lives on the accelerator.
    pub(crate) fn decide_task(
        &self,
        kernel: &Kernel,
        inputs: &[(&BufferSpec, bool)],
        outputs: &[BufferSpec],
    ) -> Placed {
        let Some(accelerator) = self.accelerator() else {
            return Placed::Cpu;
        };
        if !self.wants(kernel, inputs, outputs) {
            return Placed::Cpu;
        }
        let max_buffer = accelerator.caps().max_buffer_bytes;
        let sizes = || {
            inputs
                .iter()
                .map(|(s, _)| s.nbytes() as u64)
                .chain(outputs.iter().map(|o| o.nbytes() as u64))
        };
        let budget = self.device_budget.unwrap_or(u64::MAX);
        let total = sizes().fold(0u64, u64::saturating_add);
        if sizes().all(|b| b <= max_buffer) && total <= budget {
            return Placed::Device;
        }
        // Tiles read their inputs from the host: the executor moves a tiled task's device
        // inputs there when it needs the room, so every tile may use the whole budget.
        let room = budget.min(max_buffer);
        let specs: Vec<&BufferSpec> = inputs.iter().map(|(s, _)| *s).collect();
        if let Some((rows, bytes)) = row_tiles(kernel, &specs, outputs, room) {
            return Placed::RowTiles { rows, bytes };
        }
        if let Some((rows, group, bytes)) = matmul_tiles(kernel, &specs, outputs, room) {
            return Placed::MatmulTiles { rows, group, bytes };
        }
        Placed::Cpu
    }

    /// Whether the policy sends `kernel` to the accelerator (before any size limit).
    fn wants(
        &self,
        kernel: &Kernel,
        inputs: &[(&BufferSpec, bool)],
        outputs: &[BufferSpec],
    ) -> bool {
        let Some(accelerator) = self.accelerator() else {
            return false;
        };
        if self.policy == Policy::Cpu || !self.accelerator_kernels.contains(&kernel.family()) {
            return false;
        }
        // A user kernel runs on the GPU exactly when its author wrote it in WGSL.
        let user_wgsl = match kernel {
            Kernel::MapBlocks { func, .. } | Kernel::Overlap { func, .. } => {
                Some(func.wgsl.is_some())
            }
            _ => None,
        };
        if user_wgsl == Some(false) {
            return false;
        }
        let dtypes = &accelerator.caps().dtypes;
        let all_supported = inputs
            .iter()
            .map(|(s, _)| s.dtype)
            .chain(outputs.iter().map(|s| s.dtype))
            .all(|d| dtypes.contains(&d));
        if !all_supported {
            return false;
        }
        if self.policy == Policy::Auto && user_wgsl.is_none() {
            let on_device = inputs.iter().any(|(_, on_device)| *on_device);
            let bytes: usize = outputs.iter().map(BufferSpec::nbytes).sum();
            if !on_device && bytes < self.min_accelerator_bytes {
                return false;
            }
        }
        true
    }
}
