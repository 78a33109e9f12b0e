//! Rendering the three reduce kernels: the partial pass (`shaders/reduce.wgsl`), the in-order
//! merge pass (`reduce_merge.wgsl`) and the pack pass of `Combine` (`reduce_pack.wgsl`).

use super::expr::value_fn;
use super::state::{Algebra, storage};
use crate::codegen::Writer;
use crate::device::Features;
use crate::dtype::Repr;
use crate::shaders::Helpers;
use crate::template::render;
use tilework_core::{DType, Expr, Result};

const PARTIAL: &str = include_str!("../../../../../shaders/reduce.wgsl");
const MERGE: &str = include_str!("../../../../../shaders/reduce_merge.wgsl");
const PACK: &str = include_str!("../../../../../shaders/reduce_pack.wgsl");

/// Where a partial pass puts its states.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum Sink {
    /// Straight into the component buffers (one work item per output element).
    Components,
    /// Into the scratch array `part`, for the merge pass.
    Scratch,
}

/// `var<storage, read_write> part: array<State>` at `binding`.
fn scratch(w: &mut Writer, binding: usize, read_only: bool) {
    let access = if read_only { "read" } else { "read_write" };
    w.line(&format!(
        "@group(0) @binding({binding}) var<storage, {access}> part: array<State>;"
    ));
}

/// The partial pass reducing `expr` over inputs of `inputs` into `algebra`'s state.
pub(super) fn partial(
    expr: &Expr,
    inputs: &[Repr],
    algebra: &Algebra,
    sink: Sink,
    f: &Features,
) -> Result<String> {
    let mut helpers = Helpers::new();
    let value = value_fn(expr, inputs, f, &mut helpers)?;
    let state = algebra.render(&mut helpers)?;
    let mut b = Writer::new(0);
    for (k, r) in inputs.iter().enumerate() {
        b.line(&format!(
            "@group(0) @binding({}) var<storage, read> in{k}: array<{}>;",
            k + 1,
            storage(r.dtype, f)
        ));
        if r.dtype == DType::F16 && !f.f16_native {
            helpers.need_f16(false);
        }
    }
    let sink_fn = match sink {
        Sink::Components => {
            algebra.bindings(&mut b, inputs.len() + 1, false, f);
            algebra.sink(&mut helpers, f)
        }
        Sink::Scratch => {
            scratch(&mut b, inputs.len() + 1, false);
            "fn rd_sink(o: u32, s: State) {\n    part[o] = s;\n}\n".to_string()
        }
    };
    let native = f.f16_native
        && (inputs.iter().any(|r| r.dtype == DType::F16)
            || (sink == Sink::Components && algebra.native_f16(f)));
    render(
        "reduce.wgsl",
        PARTIAL,
        &[
            ("enables", helpers.enables(native)),
            ("bindings", &b.finish()),
            ("helpers", &helpers.render()?),
            ("state", &state),
            ("value", &value),
            ("sink", &sink_fn),
            ("inputs", &inputs.len().to_string()),
            ("slots", &inputs.len().max(1).to_string()),
            ("workgroup", &f.workgroup.to_string()),
        ],
    )
}

/// The merge pass: scratch states in, component buffers out.
pub(super) fn merge(algebra: &Algebra, f: &Features) -> Result<String> {
    let mut helpers = Helpers::new();
    let state = algebra.render(&mut helpers)?;
    let mut b = Writer::new(0);
    scratch(&mut b, 1, true);
    algebra.bindings(&mut b, 2, false, f);
    let sink = algebra.sink(&mut helpers, f);
    render(
        "reduce_merge.wgsl",
        MERGE,
        &[
            ("enables", helpers.enables(algebra.native_f16(f))),
            ("bindings", &b.finish()),
            ("helpers", &helpers.render()?),
            ("state", &state),
            ("sink", &sink),
            ("workgroup", &f.workgroup.to_string()),
        ],
    )
}

/// The pack pass: component buffers in, scratch states out.
pub(super) fn pack(algebra: &Algebra, f: &Features) -> Result<String> {
    let mut helpers = Helpers::new();
    let state = algebra.render(&mut helpers)?;
    let mut b = Writer::new(0);
    algebra.bindings(&mut b, 1, true, f);
    scratch(&mut b, algebra.components().len() + 1, false);
    let load = algebra.load(&mut helpers, f);
    render(
        "reduce_pack.wgsl",
        PACK,
        &[
            ("enables", helpers.enables(algebra.native_f16(f))),
            ("bindings", &b.finish()),
            ("helpers", &helpers.render()?),
            ("state", &state),
            ("load", &load),
            ("workgroup", &f.workgroup.to_string()),
        ],
    )
}

/// Bytes one scratch state may take: the largest `State` (three f64) rounded up.
pub(super) const STATE_BYTES: u64 = 32;

/// Every reduce shader variant for a device with `f`: each op over each value dtype, both
/// sinks of the partial pass, merge and pack, a fused producer, and the finalize kernels.
#[cfg(test)]
pub(super) fn samples(f: &Features) -> Result<Vec<(String, String)>> {
    use super::state::repr;
    use crate::codegen::expr::Read;
    use tilework_core::{BinaryOp, ExprNode, ReduceOp};
    const OPS: [ReduceOp; 11] = [
        ReduceOp::Sum,
        ReduceOp::Prod,
        ReduceOp::Min,
        ReduceOp::Max,
        ReduceOp::Mean,
        ReduceOp::Var { ddof: 0 },
        ReduceOp::Std { ddof: 1 },
        ReduceOp::ArgMin,
        ReduceOp::ArgMax,
        ReduceOp::Any,
        ReduceOp::All,
    ];
    let mut out = Vec::new();
    // i64 values too: states of integer sums and arg indices are i64, and i64 chunks reduce
    // without a producer.
    let mut dtypes = crate::dtype::supported(f.f64);
    if !dtypes.contains(&DType::I64) {
        dtypes.push(DType::I64);
    }
    for d in dtypes {
        for op in OPS {
            let algebra = match Algebra::new(op, d, &f.name) {
                Ok(a) if f.f64 || !a.uses_f64() => a,
                _ => continue,
            };
            let e = Expr::input(0, d, 1);
            let r = [repr(d, f)];
            for (sink, name) in [(Sink::Components, "direct"), (Sink::Scratch, "split")] {
                let src = partial(&e, &r, &algebra, sink, f)?;
                out.push((format!("reduce {} {d} {name}", op.name()), src));
            }
            out.push((
                format!("reduce merge {} {d}", op.name()),
                merge(&algebra, f)?,
            ));
            out.push((format!("reduce pack {} {d}", op.name()), pack(&algebra, f)?));
            if matches!(
                op,
                ReduceOp::Var { .. } | ReduceOp::Std { .. } | ReduceOp::Mean
            ) && d != DType::I64
            {
                let fin = super::finalize::moments_expr(op, d);
                let ins = [(repr(DType::F64, f), Read::Direct); 3];
                let src = crate::kernels::elementwise::shader(&fin, &ins, repr(d, f), f)?;
                out.push((format!("reduce finalize {} {d}", op.name()), src));
            }
        }
        if d == DType::I64 {
            continue;
        }
        // A fused producer over two broadcast inputs: sum((x * y) > x) and max(x * y).
        let mut e = Expr::builder(2);
        let x = e.push(ExprNode::Input(0), d);
        let y = e.push(ExprNode::Input(1), d);
        let p = e.push(ExprNode::Binary(BinaryOp::Mul, x, y), d);
        let mut cmp = e.clone();
        cmp.push(ExprNode::Binary(BinaryOp::Gt, p, x), DType::Bool);
        let r = [repr(d, f), repr(d, f)];
        for (op, expr) in [(ReduceOp::Max, &e), (ReduceOp::Sum, &cmp)] {
            let algebra = Algebra::new(op, expr.dtype(), &f.name)?;
            let src = partial(expr, &r, &algebra, Sink::Components, f)?;
            out.push((format!("reduce fused {} {d}", op.name()), src));
        }
    }
    Ok(out)
}
