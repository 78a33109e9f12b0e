//! The fused elementwise kernel: an [`Expr`] becomes one WGSL shader (`shaders/elementwise.wgsl`
//! with generated bindings and body), one `let` per node.

use super::Writer;
use super::ops::{self, Ctx};
use crate::dtype::Repr;
use crate::shaders::{self, Helpers};
use crate::template::render;
use tilework_core::{BinaryOp, Error, Expr, ExprNode, Result, UnaryOp};

/// How the kernel reads one input.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Read {
    /// The input has the output's shape: element `i`.
    Direct,
    /// Through the `slot`-th set of broadcast strides in params.
    Strided {
        /// Which stride set.
        slot: usize,
    },
}

/// What the generator needs besides the expression.
pub(crate) struct Target<'a> {
    /// Representation and read mode of each input.
    pub(crate) inputs: &'a [(Repr, Read)],
    /// The output's representation.
    pub(crate) out: Repr,
    pub(crate) f16_native: bool,
    pub(crate) f64: bool,
    pub(crate) workgroup: u32,
    pub(crate) device: &'a str,
}

fn malformed(expr: &Expr, detail: String) -> Error {
    Error::Device(format!("wgpu elementwise: {detail} in {}", expr.render()))
}

/// Checks operand order, input indices and dtypes (what the CPU evaluator checks too).
fn validate(expr: &Expr, target: &Target<'_>) -> Result<()> {
    let nodes = expr.nodes();
    if nodes.is_empty() || target.inputs.len() != expr.num_inputs() {
        return Err(malformed(
            expr,
            format!(
                "{} input buffers for an expression over {} inputs",
                target.inputs.len(),
                expr.num_inputs()
            ),
        ));
    }
    for (i, (node, dtype)) in nodes.iter().enumerate() {
        let ok = match *node {
            ExprNode::Input(k) => k < target.inputs.len() && target.inputs[k].0.dtype == *dtype,
            ExprNode::Const(_) => true,
            ExprNode::Unary(_, a) | ExprNode::Cast(a) => a < i,
            ExprNode::Binary(_, a, b) => a < i && b < i,
            ExprNode::Where(c, a, b) => c < i && a < i && b < i,
        };
        if !ok {
            return Err(malformed(expr, format!("malformed node {i} ({node:?})")));
        }
    }
    if expr.dtype() != target.out.dtype {
        return Err(malformed(
            expr,
            format!(
                "result {} for an output of {}",
                expr.dtype(),
                target.out.dtype
            ),
        ));
    }
    Ok(())
}

/// The complete WGSL source of the kernel evaluating `expr`.
///
/// # Errors
/// `DTypeUnsupported` for an op the GPU cannot run on its dtype; `Device` for a malformed
/// expression.
pub(crate) fn generate(expr: &Expr, target: &Target<'_>) -> Result<String> {
    validate(expr, target)?;
    let mut helpers = Helpers::new();
    let mut ctx = Ctx {
        helpers: &mut helpers,
        f16_native: target.f16_native,
        f64: target.f64,
        device: target.device,
    };
    let mut w = Writer::new(1);
    write_offsets(&mut w, target.inputs);
    let nodes = expr.nodes();
    let mut names: Vec<String> = Vec::with_capacity(nodes.len());
    for (node, dtype) in nodes {
        let dtype = *dtype;
        let value = match *node {
            ExprNode::Input(k) => {
                let (repr, read) = target.inputs[k];
                let index = match read {
                    Read::Direct => "i".to_string(),
                    Read::Strided { slot } => format!("off{slot}"),
                };
                repr.load(&format!("in{k}[{index}]"))
            }
            ExprNode::Const(c) => ops::literal(c, dtype),
            ExprNode::Unary(op, a) => {
                let operand = nodes[a].1;
                let v = ops::unary(&mut ctx, op, operand, &names[a])?;
                if matches!(op, UnaryOp::IsNan | UnaryOp::IsFinite) {
                    v
                } else {
                    ops::finish(&mut ctx, dtype, &v)
                }
            }
            ExprNode::Binary(op, a, b) => {
                let operand = nodes[a].1;
                if operand != nodes[b].1 {
                    return Err(malformed(
                        expr,
                        format!("{op:?} of {operand} and {}", nodes[b].1),
                    ));
                }
                let pow_fast = match (op, &nodes[b].0) {
                    (BinaryOp::Pow, ExprNode::Const(c)) => {
                        ops::pow_const(&mut ctx, operand, *c, &names[a])
                    }
                    _ => None,
                };
                let v = match pow_fast {
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
        let name = w.temp(crate::dtype::compute_type(dtype), &value);
        names.push(name);
    }
    let root = names.last().expect("validated: an expression has a root");
    w.line(&format!("out[i] = {};", target.out.store(root)));
    let body = w.finish();

    let input_reprs: Vec<Repr> = target.inputs.iter().map(|(r, _)| *r).collect();
    let bindings = super::storage_bindings("", &input_reprs, target.out);
    let native_f16_storage =
        super::f16_helpers(&mut helpers, &input_reprs, target.out, target.f16_native);
    render(
        "elementwise.wgsl",
        shaders::ELEMENTWISE,
        &[
            ("enables", helpers.enables(native_f16_storage)),
            ("bindings", &bindings),
            ("helpers", &helpers.render()?),
            ("workgroup", &target.workgroup.to_string()),
            ("body", &body),
        ],
    )
}

/// Declares `offK` for every strided input slot and computes them in one pass over the axes.
fn write_offsets(w: &mut Writer, inputs: &[(Repr, Read)]) {
    let slots: Vec<usize> = inputs
        .iter()
        .filter_map(|(_, r)| match r {
            Read::Strided { slot } => Some(*slot),
            Read::Direct => None,
        })
        .collect();
    let Some(&max_slot) = slots.iter().max() else {
        return;
    };
    w.line("let rank = params[1];");
    for s in 0..=max_slot {
        w.var(&format!("off{s}"), "u32", "0u");
    }
    w.var("rem", "u32", "i");
    w.open("for (var k = 0u; k < rank; k++)");
    w.line("let a = rank - 1u - k;");
    w.line("let len = params[2u + a];");
    w.line("let idx = rem % len;");
    w.line("rem = rem / len;");
    for s in 0..=max_slot {
        w.line(&format!(
            "off{s} = off{s} + idx * params[2u + rank * {}u + a];",
            s + 1
        ));
    }
    w.close();
}

#[cfg(test)]
mod tests {
    use super::*;
    use tilework_core::{DType, Scalar};

    fn target<'a>(inputs: &'a [(Repr, Read)], out: DType) -> Target<'a> {
        Target {
            inputs,
            out: Repr {
                dtype: out,
                f16_native: false,
            },
            f16_native: false,
            f64: true,
            workgroup: 64,
            device: "test",
        }
    }

    fn repr(dtype: DType) -> Repr {
        Repr {
            dtype,
            f16_native: false,
        }
    }

    #[test]
    fn one_let_per_node_and_strided_inputs_get_offsets() {
        let mut e = Expr::builder(2);
        let x = e.push(ExprNode::Input(0), DType::F32);
        let y = e.push(ExprNode::Input(1), DType::F32);
        let s = e.push(ExprNode::Unary(UnaryOp::Sin, x), DType::F32);
        let c = e.push(ExprNode::Const(Scalar::F32(3.0)), DType::F32);
        let m = e.push(ExprNode::Binary(BinaryOp::Mul, s, y), DType::F32);
        e.push(ExprNode::Binary(BinaryOp::Sub, m, c), DType::F32);
        let inputs = [
            (repr(DType::F32), Read::Direct),
            (repr(DType::F32), Read::Strided { slot: 0 }),
        ];
        let src = generate(&e, &target(&inputs, DType::F32)).unwrap();
        for needle in [
            "let t0: f32 = in0[i];",
            "let t1: f32 = in1[off0];",
            "let t2: f32 = sin(t0);",
            "let t4: f32 = (t2 * t1);",
            "let t5: f32 = (t4 - t3);",
            "out[i] = t5;",
            "off0 = off0 + idx * params[2u + rank * 1u + a];",
            "@workgroup_size(64)",
        ] {
            assert!(src.contains(needle), "{needle} missing from\n{src}");
        }
        assert!(!src.contains("{{"));
    }

    #[test]
    fn malformed_expressions_are_errors() {
        let e = Expr::input(0, DType::F32, 1);
        let inputs = [(repr(DType::I32), Read::Direct)];
        assert!(generate(&e, &target(&inputs, DType::F32)).is_err());
        let inputs = [(repr(DType::F32), Read::Direct)];
        assert!(generate(&e, &target(&inputs, DType::U8)).is_err());
        assert!(generate(&e, &target(&[], DType::F32)).is_err());
    }
}
