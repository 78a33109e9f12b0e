//! The fused producer of a partial reduction: the `Partial` stage's expression as one WGSL
//! function, `rd_value(off) -> V`, that reads input `k` at `off[k]` and evaluates the nodes
//! with the elementwise kernel's per-op builders ([`crate::codegen::ops`]), so each reduced
//! value is exactly what the elementwise kernel would have stored (f16 rounded at every node,
//! u8 masked). No intermediate buffer is written.

use crate::codegen::Writer;
use crate::codegen::ops::{self, Ctx};
use crate::device::Features;
use crate::dtype::{Repr, compute_type, unsupported};
use crate::shaders::Helpers;
use tilework_core::{BinaryOp, DType, Error, Expr, ExprNode, Result, UnaryOp};

fn malformed(expr: &Expr, detail: String) -> Error {
    Error::Device(format!("wgpu reduce: {detail} in {}", expr.render()))
}

/// Checks input count and dtypes and operand order (what the elementwise generator checks).
fn validate(expr: &Expr, inputs: &[Repr]) -> Result<()> {
    let nodes = expr.nodes();
    if nodes.is_empty() || inputs.len() != expr.num_inputs() {
        return Err(malformed(
            expr,
            format!(
                "{} input buffers for an expression over {} inputs",
                inputs.len(),
                expr.num_inputs()
            ),
        ));
    }
    for (i, (node, dtype)) in nodes.iter().enumerate() {
        let ok = match *node {
            ExprNode::Input(k) => k < inputs.len() && inputs[k].dtype == *dtype,
            ExprNode::Const(_) => true,
            ExprNode::Unary(_, a) | ExprNode::Cast(a) => a < i,
            ExprNode::Binary(_, a, b) => a < i && b < i && nodes[a].1 == nodes[b].1,
            ExprNode::Where(c, a, b) => c < i && a < i && b < i,
        };
        if !ok {
            return Err(malformed(expr, format!("malformed node {i} ({node:?})")));
        }
    }
    Ok(())
}

/// `fn rd_value(off: array<u32, NA>) -> V` for `expr` over inputs `in0`, `in1`, ...
///
/// # Errors
/// `DTypeUnsupported` for an op the GPU cannot run on its dtype; `Device` for a malformed
/// expression.
pub(super) fn value_fn(
    expr: &Expr,
    inputs: &[Repr],
    f: &Features,
    helpers: &mut Helpers,
) -> Result<String> {
    validate(expr, inputs)?;
    // The GPU computes nothing in i64: an i64 chunk is reduced as it is, never through a
    // producer (its words are the state's words).
    if expr.nodes().iter().any(|(_, d)| *d == DType::I64) {
        return match expr.nodes() {
            [(ExprNode::Input(k), _)] => Ok(format!(
                "fn rd_value(off: array<u32, NA>) -> vec2<u32> {{\n    return in{k}[off[{k}]];\n}}\n"
            )),
            _ => Err(unsupported("reduce producer", DType::I64, &f.name)),
        };
    }
    let mut ctx = Ctx {
        helpers,
        f16_native: f.f16_native,
        f64: f.f64,
        device: &f.name,
    };
    let mut w = Writer::new(0);
    w.open(&format!(
        "fn rd_value(off: array<u32, NA>) -> {}",
        compute_type(expr.dtype())
    ));
    let nodes = expr.nodes();
    let mut names: Vec<String> = Vec::with_capacity(nodes.len());
    for (node, dtype) in nodes {
        let dtype = *dtype;
        let value = match *node {
            ExprNode::Input(k) => inputs[k].load(&format!("in{k}[off[{k}]]")),
            ExprNode::Const(c) => ops::literal(c, dtype),
            ExprNode::Unary(op, a) => {
                let v = ops::unary(&mut ctx, op, nodes[a].1, &names[a])?;
                if matches!(op, UnaryOp::IsNan | UnaryOp::IsFinite) {
                    v
                } else {
                    ops::finish(&mut ctx, dtype, &v)
                }
            }
            ExprNode::Binary(op, a, b) => {
                let operand = nodes[a].1;
                let fast = match (op, &nodes[b].0) {
                    (BinaryOp::Pow, ExprNode::Const(c)) => {
                        ops::pow_const(&mut ctx, operand, *c, &names[a])
                    }
                    _ => None,
                };
                let v = match fast {
                    Some(v) => v,
                    None => ops::binary(&mut ctx, op, operand, &names[a], &names[b])?,
                };
                if op.is_comparison() {
                    v
                } else {
                    ops::finish(&mut ctx, dtype, &v)
                }
            }
            ExprNode::Where(c, a, b) => format!("select({}, {}, {})", names[b], names[a], names[c]),
            ExprNode::Cast(a) => ops::cast(&mut ctx, nodes[a].1, dtype, &names[a])?,
        };
        names.push(w.temp(compute_type(dtype), &value));
    }
    let root = names
        .last()
        .ok_or_else(|| malformed(expr, "no nodes".into()))?;
    w.line(&format!("return {root};"));
    w.close();
    Ok(w.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn features() -> Features {
        Features {
            f16_native: false,
            f64: true,
            workgroup: 64,
            name: "test".into(),
        }
    }

    fn repr(dtype: DType) -> Repr {
        Repr {
            dtype,
            f16_native: false,
        }
    }

    #[test]
    fn inputs_read_at_their_offsets_and_f16_rounds() {
        let mut e = Expr::builder(2);
        let x = e.push(ExprNode::Input(0), DType::F16);
        let y = e.push(ExprNode::Input(1), DType::F16);
        e.push(ExprNode::Binary(BinaryOp::Mul, x, y), DType::F16);
        let mut h = Helpers::new();
        let src = value_fn(&e, &[repr(DType::F16); 2], &features(), &mut h).unwrap();
        for needle in [
            "fn rd_value(off: array<u32, NA>) -> f32",
            "tw_f16_to_f32(in1[off[1]])",
            "tw_round_f16((t0 * t1))",
            "return t2;",
        ] {
            assert!(src.contains(needle), "{needle} missing from\n{src}");
        }
    }

    #[test]
    fn malformed_expressions_are_errors() {
        let e = Expr::input(0, DType::F32, 1);
        let mut h = Helpers::new();
        assert!(value_fn(&e, &[repr(DType::I32)], &features(), &mut h).is_err());
        assert!(value_fn(&e, &[], &features(), &mut h).is_err());
        let mut bad = Expr::builder(1);
        let x = bad.push(ExprNode::Input(0), DType::F32);
        let c = bad.push(ExprNode::Const(tilework_core::Scalar::I32(1)), DType::I32);
        bad.push(ExprNode::Binary(BinaryOp::Add, x, c), DType::F32);
        assert!(value_fn(&bad, &[repr(DType::F32)], &features(), &mut h).is_err());
    }
}
