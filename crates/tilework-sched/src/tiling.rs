//! Tiling: a task whose buffers do not fit the accelerator's budget (or its buffer limit) runs
//! there as row tiles instead of moving to the CPU.
//!
//! Elementwise tasks and partial reductions are tiled along axis 0: each tile's inputs are row
//! slices of the task's inputs (inputs broadcast along that axis go whole), its result comes back
//! to the host, and the host assembles the task's output (rows of an elementwise result or of a
//! partial state; or, when axis 0 is reduced, a `Combine` of the tiles' states in tile order, so
//! results do not depend on timing). Slicing and assembling are CPU `Gather` kernels, so every
//! dtype is handled the same way. The tile size is fixed when the plan is placed (see `decide`);
//! the executor makes room on the device before the task starts, so the budget holds.

use crate::placement::{Placement, is_unsupported, spec_of};
use std::sync::atomic::Ordering;
use tilework_core::{
    AxisMap, Backend, Buffer, BufferSpec, Error, Kernel, Piece, ReduceStage, Result, Shape,
};

/// Rows `start .. start + rows` of a buffer of shape `shape`, as a gather piece.
pub(crate) fn rows_piece(
    input: usize,
    shape: &[usize],
    start: usize,
    out_start: usize,
    rows: usize,
) -> Piece {
    let mut out_shape = Shape::from_slice(shape);
    out_shape[0] = rows;
    let mut at = Shape::from_slice(&vec![0; shape.len()]);
    at[0] = out_start;
    Piece {
        input,
        out_start: at,
        out_shape,
        in_axes: (0..shape.len())
            .map(|axis| AxisMap::Affine {
                out_axis: axis,
                start: if axis == 0 { start as isize } else { 0 },
                step: 1,
            })
            .collect(),
    }
}

/// Rows `start .. start + rows` of a host buffer, copied by the CPU's gather kernel.
pub(crate) fn slice_rows(
    cpu: &dyn Backend,
    buffer: &Buffer,
    start: usize,
    rows: usize,
) -> Result<Buffer> {
    let shape = buffer.shape();
    let gather = Kernel::Gather {
        pieces: vec![rows_piece(0, &shape, start, 0, rows)],
        fill: None,
    };
    let mut out_shape = shape;
    out_shape[0] = rows;
    let spec = BufferSpec {
        dtype: buffer.dtype(),
        shape: out_shape,
    };
    cpu.launch(&gather, &[buffer], &[spec])
        .map(|mut out| out.remove(0))
}

/// Row tiles `parts`, tile `i` starting at row `starts[i]`, stacked by the CPU into `spec`.
pub(crate) fn stack_rows(
    cpu: &dyn Backend,
    parts: &[&Buffer],
    starts: &[usize],
    spec: &BufferSpec,
) -> Result<Buffer> {
    let pieces = parts
        .iter()
        .zip(starts)
        .enumerate()
        .map(|(i, (part, &start))| {
            let shape = part.shape();
            rows_piece(i, &shape, 0, start, shape[0])
        })
        .collect();
    let gather = Kernel::Gather { pieces, fill: None };
    cpu.launch(&gather, parts, std::slice::from_ref(spec))
        .map(|mut out| out.remove(0))
}

/// How a task is split along axis 0.
struct Split {
    rows: usize,
    /// Whether the tiles' outputs are states to `Combine` (axis 0 reduced) rather than rows.
    combine: bool,
}

/// Whether and how `kernel` can be tiled along axis 0 (`None`: it cannot).
fn split(kernel: &Kernel, inputs: &[&BufferSpec], outputs: &[BufferSpec]) -> Option<Split> {
    let (rows, combine) = match kernel {
        Kernel::Elementwise { .. } => (outputs.first()?.shape.first().copied()?, false),
        Kernel::Reduce {
            axes,
            stage: ReduceStage::Partial { chunk_shape, .. },
            ..
        } => (chunk_shape.first().copied()?, axes.contains(&0)),
        _ => return None,
    };
    let rows_or_broadcast = inputs.iter().all(|b| {
        let s = &b.shape;
        !s.is_empty() && (s[0] == rows || s[0] == 1)
    });
    (rows >= 2 && rows_or_broadcast).then_some(Split { rows, combine })
}

/// Rows per tile, and the device bytes of the largest tile, for running `kernel` in row tiles of
/// at most `room` bytes each; `None` when it cannot be tiled, no tile fits, or it fits whole.
pub(crate) fn row_tiles(
    kernel: &Kernel,
    inputs: &[&BufferSpec],
    outputs: &[BufferSpec],
    room: u64,
) -> Option<(usize, u64)> {
    let split = split(kernel, inputs, outputs)?;
    let row_bytes = |shape: &[usize], size: usize| -> u64 {
        shape
            .iter()
            .skip(1)
            .try_fold(size as u64, |acc, &n| acc.checked_mul(n as u64))
            .unwrap_or(u64::MAX)
    };
    // Bytes one row of the task costs on the device: sliced inputs plus outputs; the rest
    // (inputs broadcast along axis 0, outputs without that axis) goes whole into every tile.
    let specs = || inputs.iter().copied().chain(outputs.iter());
    let per_row = specs()
        .filter(|s| s.shape.first() == Some(&split.rows))
        .map(|s| row_bytes(&s.shape, s.dtype.size()))
        .fold(0u64, u64::saturating_add);
    let fixed = specs()
        .filter(|s| s.shape.first() != Some(&split.rows))
        .map(|s| s.nbytes() as u64)
        .fold(0u64, u64::saturating_add);
    let tile_rows = (room.checked_sub(fixed)? / per_row.max(1)) as usize;
    if tile_rows == 0 || tile_rows >= split.rows {
        return None;
    }
    Some((
        tile_rows,
        fixed.saturating_add(per_row.saturating_mul(tile_rows as u64)),
    ))
}

impl Placement {
    /// Runs `kernel` on `accelerator` in tiles of `tile_rows` rows (see [`row_tiles`]).
    pub(crate) fn run_row_tiles(
        &self,
        accelerator: &dyn Backend,
        kernel: &Kernel,
        inputs: &[&Buffer],
        outputs: &[BufferSpec],
        tile_rows: usize,
    ) -> Result<Vec<Buffer>> {
        let specs: Vec<BufferSpec> = inputs.iter().map(|b| spec_of(b)).collect();
        let refs: Vec<&BufferSpec> = specs.iter().collect();
        let Some(split) = split(kernel, &refs, outputs) else {
            return Err(Error::Device(format!(
                "a {} task was placed in row tiles but cannot be split by rows",
                kernel.family()
            )));
        };
        self.run_tiles(
            accelerator,
            kernel,
            inputs,
            outputs,
            &split,
            tile_rows.max(1),
        )
    }

    fn run_tiles(
        &self,
        accelerator: &dyn Backend,
        kernel: &Kernel,
        inputs: &[&Buffer],
        outputs: &[BufferSpec],
        split: &Split,
        tile_rows: usize,
    ) -> Result<Vec<Buffer>> {
        let cpu = self.cpu();
        let host = self.to_host(inputs)?;
        let mut tile_outputs: Vec<Vec<Buffer>> = Vec::new();
        let mut starts = Vec::new();
        for start in (0..split.rows).step_by(tile_rows) {
            let rows = tile_rows.min(split.rows - start);
            let mut tile_inputs = Vec::with_capacity(host.len());
            for buffer in &host {
                if buffer.shape()[0] != split.rows {
                    tile_inputs.push(buffer.clone());
                    continue;
                }
                tile_inputs.push(slice_rows(cpu, buffer, start, rows)?);
            }
            let tile_kernel = match kernel {
                Kernel::Reduce {
                    op,
                    axes,
                    stage:
                        ReduceStage::Partial {
                            expr,
                            chunk_shape,
                            chunk_start,
                            global_shape,
                        },
                } => {
                    let (mut shape, mut at) = (chunk_shape.clone(), chunk_start.clone());
                    shape[0] = rows;
                    at[0] += start;
                    Kernel::Reduce {
                        op: *op,
                        axes: axes.clone(),
                        stage: ReduceStage::Partial {
                            expr: expr.clone(),
                            chunk_shape: shape,
                            chunk_start: at,
                            global_shape: global_shape.clone(),
                        },
                    }
                }
                other => other.clone(),
            };
            let tile_specs: Vec<BufferSpec> = outputs
                .iter()
                .map(|o| {
                    let mut shape = o.shape.clone();
                    if shape.first() == Some(&split.rows) {
                        shape[0] = rows;
                    }
                    BufferSpec {
                        dtype: o.dtype,
                        shape,
                    }
                })
                .collect();
            let refs: Vec<&Buffer> = tile_inputs.iter().collect();
            tile_outputs.push(self.run_tile(accelerator, &tile_kernel, &refs, &tile_specs)?);
            starts.push(start);
        }
        self.stats.tiled_tasks.fetch_add(1, Ordering::Relaxed);
        if split.combine {
            let states: Vec<Buffer> = tile_outputs.into_iter().flatten().collect();
            let refs: Vec<&Buffer> = states.iter().collect();
            let Kernel::Reduce { op, axes, .. } = kernel else {
                unreachable!("only partial reductions combine");
            };
            let combine = Kernel::Reduce {
                op: *op,
                axes: axes.clone(),
                stage: ReduceStage::Combine,
            };
            return cpu.launch(&combine, &refs, outputs);
        }
        // Rows of every output, tile after tile.
        outputs
            .iter()
            .enumerate()
            .map(|(k, spec)| {
                let parts: Vec<&Buffer> = tile_outputs.iter().map(|t| &t[k]).collect();
                stack_rows(cpu, &parts, &starts, spec)
            })
            .collect()
    }

    /// One tile on the accelerator (the executor made room for it); results come back to the
    /// host.
    pub(crate) fn run_tile(
        &self,
        accelerator: &dyn Backend,
        kernel: &Kernel,
        inputs: &[&Buffer],
        outputs: &[BufferSpec],
    ) -> Result<Vec<Buffer>> {
        let uploaded: u64 = inputs.iter().map(|b| b.nbytes() as u64).sum();
        let produced: u64 = outputs.iter().map(|o| o.nbytes() as u64).sum();
        self.hold(uploaded + produced);
        let launched = match accelerator.launch(kernel, inputs, outputs) {
            Err(e) if is_unsupported(&e) => {
                self.release(uploaded + produced);
                return self.cpu().launch(kernel, inputs, outputs);
            }
            other => other,
        };
        let result = launched.and_then(|out| {
            self.stats.bytes_h2d.fetch_add(uploaded, Ordering::Relaxed);
            out.into_iter()
                .map(|b| {
                    let host = self.download(&b);
                    accelerator.free(b);
                    host.map(Buffer::Host)
                })
                .collect()
        });
        self.release(uploaded + produced);
        result
    }
}
