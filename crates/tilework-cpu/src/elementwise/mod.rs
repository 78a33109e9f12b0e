//! The fused elementwise kernel: blocked evaluation ([`eval`]) of per-op slice loops ([`ops`]),
//! parallel over groups of blocks for large chunks.

pub(crate) mod eval;
pub(crate) mod ops;
mod pow;

use crate::num::{Elem, standard, to_host};
use eval::{BLOCK, Evaluator};
use rayon::prelude::*;
use tilework_core::shape::numel;
use tilework_core::{Expr, HostArray, Result, with_dtype};

/// Chunks with more elements than this are evaluated on several threads.
const PAR_MIN: usize = 1 << 16;
/// Elements per parallel task (a whole number of blocks).
const TASK: usize = 32 * BLOCK;

/// Evaluates `expr` over `inputs` (each broadcast to `shape`) into a new array of `shape`.
///
/// # Errors
/// Inputs that do not match the expression or do not broadcast to `shape`, or an op the dtype
/// does not support.
pub(crate) fn elementwise(
    expr: &Expr,
    inputs: &[&HostArray],
    shape: &[usize],
) -> Result<HostArray> {
    let inputs: Vec<HostArray> = inputs.iter().map(|h| standard(h)).collect();
    let ev = Evaluator::new(expr, &inputs, shape)?;
    with_dtype!(ev.dtype(), T => {
        let mut out = vec![T::default(); numel(shape)];
        evaluate(&ev, &mut out)?;
        to_host(out, shape)
    })
}

/// Fills `out` (the whole output, C order) block by block.
pub(crate) fn evaluate<T: Elem>(ev: &Evaluator<'_>, out: &mut [T]) -> Result<()> {
    let run = |scratch: &mut eval::Scratch, base: usize, part: &mut [T]| -> Result<()> {
        for (b, block) in part.chunks_mut(BLOCK).enumerate() {
            ev.eval_into(scratch, base + b * BLOCK, T::wrap_mut(block))?;
        }
        Ok(())
    };
    if out.len() <= PAR_MIN {
        return run(&mut ev.scratch(), 0, out);
    }
    out.par_chunks_mut(TASK).enumerate().try_for_each_init(
        || ev.scratch(),
        |scratch, (t, part)| run(scratch, t * TASK, part),
    )
}

#[cfg(test)]
mod tests;
