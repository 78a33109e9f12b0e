//! Tiling a matmul task that does not fit the accelerator: `out = sum_k a_k @ b_k` runs as
//! tiles of rows of `out`, each summing groups of consecutive `(a_k, b_k)` pairs on the device.
//!
//! A tile holds a group's `b_k` whole, the tile's rows of its `a_k`, and the rows of the result.
//! The largest group that leaves room for at least one row is used, so a task that almost fits
//! runs as a few row tiles of one group, and one whose `b_k` alone fill the budget runs pair by
//! pair. Group results are added on the host in `k` order and the row tiles stacked there, by CPU
//! kernels. The tile size is fixed when the plan is placed (see `decide`).

use crate::placement::Placement;
use crate::tiling::{slice_rows, stack_rows};
use std::sync::atomic::Ordering;
use tilework_core::{Backend, BinaryOp, Buffer, BufferSpec, Expr, ExprNode, Kernel, Result, Shape};

/// Rows per tile, pairs per group and the device bytes of the largest tile for a rank-2 matmul
/// task, or `None` when no tile fits.
fn plan(inputs: &[&BufferSpec], out: &BufferSpec, room: u64) -> Option<(usize, usize, u64)> {
    let pairs = inputs.len() / 2;
    let (m, n) = (out.shape[0], out.shape[1]);
    let size = out.dtype.size() as u64;
    let widest_k = (0..pairs).map(|p| inputs[2 * p].shape[1]).max()? as u64;
    let b_bytes = (0..pairs)
        .map(|p| inputs[2 * p + 1].nbytes() as u64)
        .max()?;
    (1..=pairs).rev().find_map(|group| {
        let fixed = (group as u64).checked_mul(b_bytes)?;
        let per_row = (group as u64 * widest_k + n as u64).checked_mul(size)?;
        let rows = (room.checked_sub(fixed)? / per_row.max(1)).min(m as u64);
        (rows >= 1).then_some((rows as usize, group, fixed + rows * per_row))
    })
}

/// Rows per tile, pairs per group and the device bytes of the largest tile for running a rank-2
/// `Matmul` task in tiles of at most `room` bytes; `None` when the task is not such a matmul or
/// no tile fits.
pub(crate) fn matmul_tiles(
    kernel: &Kernel,
    inputs: &[&BufferSpec],
    outputs: &[BufferSpec],
    room: u64,
) -> Option<(usize, usize, u64)> {
    let (Kernel::Matmul, [out]) = (kernel, outputs) else {
        return None;
    };
    let rank2 = out.shape.len() == 2 && inputs.iter().all(|b| b.shape.len() == 2);
    if !rank2 || inputs.is_empty() || !inputs.len().is_multiple_of(2) {
        return None;
    }
    plan(inputs, out, room)
}

impl Placement {
    /// Runs a rank-2 `Matmul` task on `accelerator` in tiles of `tile_rows` result rows summing
    /// `group` pairs at a time (see [`matmul_tiles`]).
    pub(crate) fn run_matmul_tiles(
        &self,
        accelerator: &dyn Backend,
        inputs: &[&Buffer],
        out: &BufferSpec,
        tile_rows: usize,
        group: usize,
    ) -> Result<Vec<Buffer>> {
        let cpu = self.cpu();
        let host = self.to_host(inputs)?;
        let (m, n) = (out.shape[0], out.shape[1]);
        let add = {
            let mut e = Expr::builder(2);
            let a = e.push(ExprNode::Input(0), out.dtype);
            let b = e.push(ExprNode::Input(1), out.dtype);
            e.push(ExprNode::Binary(BinaryOp::Add, a, b), out.dtype);
            Kernel::Elementwise { expr: e }
        };
        let mut row_tiles = Vec::new();
        for start in (0..m).step_by(tile_rows) {
            let rows = tile_rows.min(m - start);
            let tile_spec = BufferSpec {
                dtype: out.dtype,
                shape: Shape::from_slice(&[rows, n]),
            };
            let mut sum: Option<Buffer> = None;
            for pairs in host.chunks(2 * group) {
                let mut tile_inputs = Vec::with_capacity(pairs.len());
                for pair in pairs.chunks(2) {
                    tile_inputs.push(slice_rows(cpu, &pair[0], start, rows)?);
                    tile_inputs.push(pair[1].clone());
                }
                let refs: Vec<&Buffer> = tile_inputs.iter().collect();
                let part = self
                    .run_tile(
                        accelerator,
                        &Kernel::Matmul,
                        &refs,
                        std::slice::from_ref(&tile_spec),
                    )?
                    .remove(0);
                sum = Some(match sum {
                    None => part,
                    Some(acc) => cpu
                        .launch(&add, &[&acc, &part], std::slice::from_ref(&tile_spec))?
                        .remove(0),
                });
            }
            row_tiles.push((start, sum.expect("a matmul task has at least one pair")));
        }
        self.stats.tiled_tasks.fetch_add(1, Ordering::Relaxed);
        let (starts, parts): (Vec<usize>, Vec<&Buffer>) =
            row_tiles.iter().map(|(start, b)| (*start, b)).unzip();
        stack_rows(cpu, &parts, &starts, out).map(|b| vec![b])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tilework_core::DType;

    fn host(shape: &[usize]) -> BufferSpec {
        BufferSpec {
            dtype: DType::F32,
            shape: Shape::from_slice(shape),
        }
    }

    #[test]
    fn tiles_use_the_largest_group_that_leaves_room_for_rows() {
        let (a, b) = (host(&[64, 32]), host(&[32, 16]));
        let inputs = [&a, &b, &a, &b];
        let out = BufferSpec {
            dtype: DType::F32,
            shape: Shape::from_slice(&[64, 16]),
        };
        // Both b (2 KiB each) plus rows of 2 x 32 + 16 floats (320 bytes): 4 rows in 5.25 KiB.
        assert_eq!(
            plan(&inputs, &out, 4096 + 4 * 320 + 100),
            Some((4, 2, 4096 + 4 * 320))
        );
        // Room for one b and a row of 32 + 16 floats only: pair by pair.
        assert_eq!(plan(&inputs, &out, 2048 + 192), Some((1, 1, 2048 + 192)));
        // Not even one b.
        assert_eq!(plan(&inputs, &out, 2000), None);
        // Everything fits: all rows in one tile of both pairs.
        assert_eq!(plan(&inputs, &out, 1 << 20), Some((64, 2, 4096 + 64 * 320)));
    }
}
