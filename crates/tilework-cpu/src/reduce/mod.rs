//! Reductions in three stages: `Partial` (one chunk, optionally through a fused elementwise
//! producer evaluated block by block, never materialized), `Combine` (merge states in order) and
//! `Finalize` (state to result).
//!
//! Accumulators: sums and products in f64 (float inputs) or wrapping i64; mean/var/std as
//! `[count, mean, m2]` merged with Chan's formula; min/max and argmin/argmax propagate NaN (the
//! first NaN wins an arg reduction); any/all on bool.

mod folds;
mod layout;
mod state;

use crate::elementwise::eval::Evaluator;
use crate::num::{Elem, standard, unsupported};
use folds::{AnyAll, Arg, Extreme, Fold, MomentsFold, ProdF, ProdI, SumF, SumI};
use layout::{IndexMap, Layout, drive};
use state::State;
use tilework_core::{
    DType, Error, Expr, HostArray, ReduceOp, ReduceStage, Result, Shape, with_dtype,
};

/// Runs one stage of a `Reduce` kernel.
pub(crate) fn reduce(
    op: ReduceOp,
    axes: &[usize],
    stage: &ReduceStage,
    inputs: &[&HostArray],
) -> Result<Vec<HostArray>> {
    match stage {
        ReduceStage::Partial {
            expr,
            chunk_shape,
            chunk_start,
            global_shape,
        } => partial(
            op,
            axes,
            expr.as_ref(),
            chunk_shape,
            chunk_start,
            global_shape,
            inputs,
        ),
        ReduceStage::Combine => state::combine(op, inputs),
        ReduceStage::Finalize {
            out_dtype,
            out_shape,
        } => Ok(vec![state::finalize(op, inputs, *out_dtype, out_shape)?]),
    }
}

/// The `Partial` stage: reduces one chunk to its keepdims-shaped state.
fn partial(
    op: ReduceOp,
    axes: &[usize],
    expr: Option<&Expr>,
    chunk_shape: &[usize],
    chunk_start: &[usize],
    global_shape: &[usize],
    inputs: &[&HostArray],
) -> Result<Vec<HostArray>> {
    let sorted = axes.windows(2).all(|w| w[0] < w[1]);
    if !sorted || axes.last().is_some_and(|&a| a >= chunk_shape.len()) {
        return Err(Error::Device(format!(
            "reduce: axes {axes:?} must be sorted, distinct and below rank {}",
            chunk_shape.len()
        )));
    }
    let identity;
    let expr = match expr {
        Some(e) => e,
        None => {
            let first = inputs
                .first()
                .ok_or_else(|| Error::Device("reduce: no input".into()))?;
            identity = Expr::input(0, first.dtype(), 1);
            &identity
        }
    };
    let inputs: Vec<HostArray> = inputs.iter().map(|h| standard(h)).collect();
    let ev = Evaluator::new(expr, &inputs, chunk_shape)?;
    let layout = Layout::new(chunk_shape, axes);
    let needs_element = matches!(
        op,
        ReduceOp::Min | ReduceOp::Max | ReduceOp::ArgMin | ReduceOp::ArgMax
    );
    if needs_element && layout.count == 0 && layout.out_numel > 0 {
        return Err(Error::invalid(
            op.name(),
            format!(
                "zero-size array to reduction operation {} which has no identity",
                op.name()
            ),
        ));
    }
    let is_arg = matches!(op, ReduceOp::ArgMin | ReduceOp::ArgMax);
    let imap = if is_arg {
        IndexMap::new(chunk_shape, axes, chunk_start, global_shape)?
    } else {
        IndexMap::unused()
    };
    let mut keep = Shape::from_slice(chunk_shape);
    for &a in axes {
        keep[a] = 1;
    }
    let run = Partial {
        ev: &ev,
        layout: &layout,
        imap: &imap,
        keep: &keep,
    };
    let dtype = ev.dtype();
    match op {
        ReduceOp::Any | ReduceOp::All if dtype != DType::Bool => Err(unsupported(op.name(), dtype)),
        ReduceOp::Any => run.go::<bool, _>(AnyAll::<false>),
        ReduceOp::All => run.go::<bool, _>(AnyAll::<true>),
        _ => with_dtype!(dtype, T => run.typed::<T>(op)),
    }
}

/// Everything a partial reduction needs besides the operator.
struct Partial<'a> {
    ev: &'a Evaluator<'a>,
    layout: &'a Layout,
    imap: &'a IndexMap,
    keep: &'a [usize],
}

impl Partial<'_> {
    fn go<T: Elem, F: Fold<T>>(&self, fold: F) -> Result<Vec<HostArray>>
    where
        F::Slot: State,
    {
        let slots = drive::<T, F>(&fold, self.ev, self.layout, self.imap)?;
        F::Slot::encode(&slots, self.keep)
    }

    fn typed<T: Elem>(&self, op: ReduceOp) -> Result<Vec<HostArray>> {
        match op {
            ReduceOp::Sum if T::FLOAT => self.go::<T, _>(SumF),
            ReduceOp::Sum => self.go::<T, _>(SumI),
            ReduceOp::Prod if T::FLOAT => self.go::<T, _>(ProdF),
            ReduceOp::Prod => self.go::<T, _>(ProdI),
            ReduceOp::Min => self.go::<T, _>(Extreme::<false>),
            ReduceOp::Max => self.go::<T, _>(Extreme::<true>),
            ReduceOp::Mean => self.go::<T, _>(MomentsFold { m2: false }),
            ReduceOp::Var { .. } | ReduceOp::Std { .. } => {
                self.go::<T, _>(MomentsFold { m2: true })
            }
            ReduceOp::ArgMin => self.go::<T, _>(Arg::<false>),
            ReduceOp::ArgMax => self.go::<T, _>(Arg::<true>),
            ReduceOp::Any | ReduceOp::All => Err(unsupported(op.name(), T::DTYPE)),
        }
    }
}

#[cfg(test)]
mod tests;
