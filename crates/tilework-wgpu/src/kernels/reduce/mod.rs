//! `Reduce`: the `Partial`, `Combine` and `Finalize` stages of every reduction, with the CPU
//! backend's semantics (`tilework-cpu/src/reduce/`) and the state components of
//! `tilework_core::reduce_state_specs`.
//!
//! - `Partial` runs one kernel whose work items are output elements: `lanes` invocations fold
//!   an item's elements (through the fused producer, never materialized) and merge in
//!   workgroup memory. A large reduction with few outputs is split: the first pass writes one
//!   state per split to a scratch array and a second pass merges each output's splits in order.
//! - `Combine` packs the `k` states into the scratch array and merges them in input order (the
//!   CPU's order, so the merge arithmetic is the same).
//! - `Finalize` is an elementwise kernel over the state (mean, var, std, or a cast), or a copy.
//!
//! States in f64 (float sum/prod, mean/var/std) need SHADER_F64 and states in i64 (integer
//! sum/prod, argmin/argmax indices) need the backend to hold i64 buffers; otherwise the
//! buffers' dtypes are `DTypeUnsupported` and the scheduler runs the task on the CPU.

mod expr;
mod finalize;
mod layout;
mod shader;
mod state;

use super::{Input, Launch, count};
use crate::dispatch::{Params, Step};
use crate::dtype::{Repr, unsupported};
use crate::pipeline::Access;
use layout::Globals;
use shader::{STATE_BYTES, Sink};
use state::Algebra;
use tilework_core::{BufferSpec, DType, Error, Expr, ReduceOp, ReduceStage, Result};

pub(crate) use state::I64;

/// Runs one stage of a `Reduce` kernel.
pub(crate) fn reduce(
    l: &Launch<'_>,
    op: ReduceOp,
    axes: &[usize],
    stage: &ReduceStage,
    inputs: &[Input],
    outputs: &[BufferSpec],
) -> Result<Vec<wgpu::Buffer>> {
    match stage {
        ReduceStage::Partial {
            expr,
            chunk_shape,
            chunk_start,
            global_shape,
        } => {
            let is_arg = matches!(op, ReduceOp::ArgMin | ReduceOp::ArgMax);
            let globals = is_arg.then_some(Globals {
                chunk_start,
                global_shape,
            });
            partial(
                l,
                op,
                (chunk_shape, axes),
                expr.as_ref(),
                globals,
                inputs,
                outputs,
            )
        }
        ReduceStage::Combine => combine(l, op, inputs, outputs),
        ReduceStage::Finalize {
            out_dtype,
            out_shape,
        } => finalize::finalize(l, op, inputs, (*out_dtype, out_shape), outputs),
    }
}

fn bad(detail: String) -> Error {
    Error::Device(format!("wgpu reduce: {detail}"))
}

/// Checks `outputs` against the state of `algebra` with `n` elements; their representations.
fn state_outputs(
    l: &Launch<'_>,
    algebra: &Algebra,
    outputs: &[BufferSpec],
    n: usize,
) -> Result<Vec<Repr>> {
    let want = algebra.components();
    let fits = outputs.len() == want.len()
        && outputs
            .iter()
            .zip(want)
            .all(|(s, &d)| s.dtype == d && s.shape.iter().product::<usize>() == n);
    if !fits {
        return Err(bad(format!(
            "output specs {outputs:?} are not a state of {want:?} with {n} elements"
        )));
    }
    outputs.iter().map(|s| l.repr(s.dtype, "reduce")).collect()
}

/// Errors unless a kernel with `buffers` storage bindings (params included) fits the device.
fn check_bindings(l: &Launch<'_>, buffers: usize, dtype: DType) -> Result<()> {
    if buffers > l.gpu.limits.max_storage_buffers_per_shader_stage as usize {
        return Err(unsupported(
            "reduce (more buffers than the GPU binds)",
            dtype,
            &l.features().name,
        ));
    }
    Ok(())
}

/// Scratch states the device can bind in one buffer.
fn max_states(l: &Launch<'_>) -> usize {
    (l.gpu.max_binding() / STATE_BYTES).min(u64::from(u32::MAX / 2)) as usize
}

/// A scratch buffer of `n` states.
fn alloc_scratch(l: &Launch<'_>, n: usize) -> Result<wgpu::Buffer> {
    let words = n as u64 * STATE_BYTES / 4;
    l.alloc(l.repr(DType::U32, "reduce")?, words as usize)
}

/// The `Partial` stage.
fn partial(
    l: &Launch<'_>,
    op: ReduceOp,
    (shape, axes): (&[usize], &[usize]),
    expr: Option<&Expr>,
    globals: Option<Globals<'_>>,
    inputs: &[Input],
    outputs: &[BufferSpec],
) -> Result<Vec<wgpu::Buffer>> {
    let identity;
    let expr = match expr {
        Some(e) => e,
        None => {
            let first = inputs.first().ok_or_else(|| bad("no input".into()))?;
            identity = Expr::input(0, first.repr.dtype, 1);
            &identity
        }
    };
    let f = l.features();
    let algebra = Algebra::new(op, expr.dtype(), &f.name)?;
    count(shape, "reduce chunk")?;
    let shapes: Vec<&[usize]> = inputs.iter().map(|i| i.shape.as_slice()).collect();
    let plan = layout::plan(shape, axes, &shapes, globals, f.workgroup, max_states(l))?;
    let reprs = state_outputs(l, &algebra, outputs, plan.n_out)?;
    let needs_element = !matches!(
        op,
        ReduceOp::Sum
            | ReduceOp::Prod
            | ReduceOp::Mean
            | ReduceOp::Var { .. }
            | ReduceOp::Std { .. }
            | ReduceOp::Any
            | ReduceOp::All
    );
    if needs_element && plan.count == 0 && plan.n_out > 0 {
        return Err(Error::invalid(
            op.name(),
            format!(
                "zero-size array to reduction operation {} which has no identity",
                op.name()
            ),
        ));
    }
    let c = reprs.len();
    let sink = if plan.splits > 1 {
        Sink::Scratch
    } else {
        Sink::Components
    };
    let sink_buffers = if sink == Sink::Scratch { 1 } else { c };
    check_bindings(l, 1 + inputs.len() + sink_buffers, expr.dtype())?;
    check_bindings(l, 2 + c, expr.dtype())?;
    let outs = reprs
        .iter()
        .map(|&r| l.alloc(r, plan.n_out))
        .collect::<Result<Vec<_>>>()?;
    if plan.n_out == 0 {
        return Ok(outs);
    }
    let in_reprs: Vec<Repr> = inputs.iter().map(|i| i.repr).collect();
    let source = shader::partial(expr, &in_reprs, &algebra, sink, f)?;
    let bindings: Vec<Access> = inputs
        .iter()
        .map(|_| Access::Read)
        .chain(std::iter::repeat_n(Access::ReadWrite, sink_buffers))
        .collect();
    let pipeline = l.pipeline("reduce", &source, &bindings, || Ok(source.clone()))?;
    let items = plan.n_out * plan.splits;
    let per_group = (f.workgroup / plan.lanes) as usize;
    let threads = (items.div_ceil(per_group) as u64) * u64::from(f.workgroup);
    let mut buffers: Vec<&wgpu::Buffer> = inputs.iter().map(|i| &i.buffer).collect();
    if sink == Sink::Components {
        buffers.extend(&outs);
        l.submit(&[Step {
            pipeline: &pipeline,
            buffers,
            params: plan.params,
            threads,
        }])?;
        return Ok(outs);
    }
    let scratch = alloc_scratch(l, items)?;
    buffers.push(&scratch);
    let merge = merge_pipeline(l, &algebra)?;
    let mut merge_buffers = vec![&scratch];
    merge_buffers.extend(&outs);
    let mut merge_params = Params::new();
    merge_params
        .len(plan.n_out, "reduce outputs")?
        .len(plan.splits, "splits")?
        .u32(0);
    l.submit(&[
        Step {
            pipeline: &pipeline,
            buffers,
            params: plan.params,
            threads,
        },
        Step {
            pipeline: &merge,
            buffers: merge_buffers,
            params: merge_params,
            threads: plan.n_out as u64,
        },
    ])?;
    Ok(outs)
}

fn merge_pipeline(
    l: &Launch<'_>,
    algebra: &Algebra,
) -> Result<std::sync::Arc<crate::pipeline::Pipeline>> {
    let source = shader::merge(algebra, l.features())?;
    let mut bindings = vec![Access::Read];
    bindings.extend(std::iter::repeat_n(
        Access::ReadWrite,
        algebra.components().len(),
    ));
    l.pipeline("reduce", &source, &bindings, || Ok(source.clone()))
}

/// The `Combine` stage: `k` states (`k * components` buffers) merged in input order.
fn combine(
    l: &Launch<'_>,
    op: ReduceOp,
    inputs: &[Input],
    outputs: &[BufferSpec],
) -> Result<Vec<wgpu::Buffer>> {
    let first = inputs
        .first()
        .ok_or_else(|| bad("combine of no states".into()))?;
    let f = l.features();
    let algebra = Algebra::for_states(op, first.repr.dtype, &f.name)?;
    let want = algebra.components();
    let c = want.len();
    if !inputs.len().is_multiple_of(c) {
        return Err(bad(format!(
            "combine of {} buffers is not a whole number of {c}-component states",
            inputs.len()
        )));
    }
    for (j, input) in inputs.iter().enumerate() {
        if input.repr.dtype != want[j % c] || input.shape != first.shape {
            return Err(bad(format!(
                "combine state buffer {j} is {} {:?}, expected {} {:?}",
                input.repr.dtype,
                input.shape.as_slice(),
                want[j % c],
                first.shape.as_slice()
            )));
        }
    }
    let n = count(&first.shape, "reduce state")?;
    let reprs = state_outputs(l, &algebra, outputs, n)?;
    check_bindings(l, 2 + c, first.repr.dtype)?;
    let outs = reprs
        .iter()
        .map(|&r| l.alloc(r, n))
        .collect::<Result<Vec<_>>>()?;
    if n == 0 {
        return Ok(outs);
    }
    let k = inputs.len() / c;
    let source = shader::pack(&algebra, f)?;
    let mut bindings = vec![Access::Read; c];
    bindings.push(Access::ReadWrite);
    let pack = l.pipeline("reduce", &source, &bindings, || Ok(source.clone()))?;
    let merge = merge_pipeline(l, &algebra)?;
    // Outputs go in slices small enough for one scratch binding of k states each.
    let slice = (max_states(l) / k).clamp(1, n);
    let scratch = alloc_scratch(l, slice * k)?;
    let mut steps = Vec::new();
    for o0 in (0..n).step_by(slice) {
        let len = slice.min(n - o0);
        for (j, state) in inputs.chunks_exact(c).enumerate() {
            let mut params = Params::new();
            params
                .len(len, "outputs")?
                .len(k, "states")?
                .len(j, "state")?;
            params.len(o0, "first output")?;
            let mut buffers: Vec<&wgpu::Buffer> = state.iter().map(|i| &i.buffer).collect();
            buffers.push(&scratch);
            steps.push(Step {
                pipeline: &pack,
                buffers,
                params,
                threads: len as u64,
            });
        }
        let mut params = Params::new();
        params
            .len(len, "outputs")?
            .len(k, "states")?
            .len(o0, "first output")?;
        let mut buffers = vec![&scratch];
        buffers.extend(&outs);
        steps.push(Step {
            pipeline: &merge,
            buffers,
            params,
            threads: len as u64,
        });
    }
    l.submit(&steps)?;
    Ok(outs)
}

/// Every reduce shader variant for a device with `f` (for the naga test).
#[cfg(test)]
pub(crate) fn shaders(f: &crate::device::Features) -> Result<Vec<(String, String)>> {
    shader::samples(f)
}
