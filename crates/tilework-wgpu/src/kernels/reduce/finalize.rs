//! The `Finalize` stage: a state becomes the result. Mean, var and std are one elementwise
//! kernel over `[count, mean, m2]` with the CPU's formulas in f64 (NumPy's: the mean of nothing
//! is NaN; a count not above `ddof` gives `m2 / 0`), cast to the result dtype; every other op
//! takes one component as it is
//! (a raw copy) or cast (an elementwise cast).

use super::state::Algebra;
use super::{Input, Launch, bad};
use crate::kernels::{elementwise, gather, single};
use tilework_core::{
    AxisMap, BinaryOp, BufferSpec, DType, Expr, ExprNode, Piece, ReduceOp, Result, Scalar, Shape,
    UnaryOp,
};

/// Runs `Finalize` of `op` into `(out_dtype, out_shape)`.
pub(super) fn finalize(
    l: &Launch<'_>,
    op: ReduceOp,
    inputs: &[Input],
    (out_dtype, out_shape): (DType, &Shape),
    outputs: &[BufferSpec],
) -> Result<Vec<wgpu::Buffer>> {
    let spec = single("reduce", outputs)?;
    if spec.dtype != out_dtype || &spec.shape != out_shape {
        return Err(bad(format!(
            "finalize into {out_dtype} {:?} given an output spec {spec:?}",
            out_shape.as_slice()
        )));
    }
    let first = inputs
        .first()
        .ok_or_else(|| bad("finalize of no state".into()))?;
    let algebra = Algebra::for_states(op, first.repr.dtype, &l.features().name)?;
    let want = algebra.components();
    let n: usize = out_shape.iter().product();
    let fits = inputs.len() == want.len()
        && inputs
            .iter()
            .zip(want)
            .all(|(i, &d)| i.repr.dtype == d && i.shape.iter().product::<usize>() == n);
    if !fits {
        return Err(bad(format!(
            "finalize of {} buffers for a state of {want:?} with {n} elements",
            inputs.len()
        )));
    }
    // States have the keepdims shape; the result drops axes, with the same elements in order.
    let inputs: Vec<Input> = inputs
        .iter()
        .map(|i| Input {
            repr: i.repr,
            shape: out_shape.clone(),
            buffer: i.buffer.clone(),
        })
        .collect();
    let out = match op {
        ReduceOp::Mean | ReduceOp::Var { .. } | ReduceOp::Std { .. } => {
            elementwise::elementwise(l, &moments_expr(op, out_dtype), &inputs, spec)?
        }
        ReduceOp::ArgMin | ReduceOp::ArgMax => convert(l, &inputs[1], spec)?,
        _ => convert(l, &inputs[0], spec)?,
    };
    Ok(vec![out])
}

/// `input` as `spec`: a raw copy for the same dtype (exact for every dtype, i64 included),
/// an elementwise cast otherwise.
fn convert(l: &Launch<'_>, input: &Input, spec: &BufferSpec) -> Result<wgpu::Buffer> {
    if input.repr.dtype != spec.dtype {
        let mut e = Expr::builder(1);
        let x = e.push(ExprNode::Input(0), input.repr.dtype);
        e.push(ExprNode::Cast(x), spec.dtype);
        return elementwise::elementwise(l, &e, std::slice::from_ref(input), spec);
    }
    let rank = spec.shape.len();
    let piece = Piece {
        input: 0,
        out_start: Shape::from_vec(vec![0; rank]),
        out_shape: spec.shape.clone(),
        in_axes: (0..rank)
            .map(|out_axis| AxisMap::Affine {
                out_axis,
                start: 0,
                step: 1,
            })
            .collect(),
    };
    gather::gather(l, &[piece], None, std::slice::from_ref(input), spec)
}

/// The CPU's `moment_value` over inputs `[count, mean, m2]` (f64), cast to `out`.
pub(super) fn moments_expr(op: ReduceOp, out: DType) -> Expr {
    let f = DType::F64;
    let mut e = Expr::builder(3);
    let n = e.push(ExprNode::Input(0), f);
    let nan = e.push(ExprNode::Const(Scalar::F64(f64::NAN)), f);
    let zero = e.push(ExprNode::Const(Scalar::F64(0.0)), f);
    let value = match op {
        ReduceOp::Var { ddof } | ReduceOp::Std { ddof } => {
            let m2 = e.push(ExprNode::Input(2), f);
            let d = e.push(ExprNode::Const(Scalar::F64(f64::from(ddof))), f);
            let dof = e.push(ExprNode::Binary(BinaryOp::Sub, n, d), f);
            let ok = e.push(ExprNode::Binary(BinaryOp::Gt, dof, zero), DType::Bool);
            let q = e.push(ExprNode::Binary(BinaryOp::Div, m2, dof), f);
            // `m2 / 0` spelled out (inf, or NaN for 0 and NaN), not left to the device's division.
            let inf = e.push(ExprNode::Const(Scalar::F64(f64::INFINITY)), f);
            let spread = e.push(ExprNode::Binary(BinaryOp::Gt, m2, zero), DType::Bool);
            let by_zero = e.push(ExprNode::Where(spread, inf, nan), f);
            let var = e.push(ExprNode::Where(ok, q, by_zero), f);
            if matches!(op, ReduceOp::Std { .. }) {
                e.push(ExprNode::Unary(UnaryOp::Sqrt, var), f)
            } else {
                var
            }
        }
        _ => {
            let mean = e.push(ExprNode::Input(1), f);
            let ok = e.push(ExprNode::Binary(BinaryOp::Gt, n, zero), DType::Bool);
            e.push(ExprNode::Where(ok, mean, nan), f)
        }
    };
    if out != f {
        e.push(ExprNode::Cast(value), out);
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moment_expressions_end_in_the_result_dtype() {
        let e = moments_expr(ReduceOp::Std { ddof: 1 }, DType::F16);
        assert_eq!(e.dtype(), DType::F16);
        assert!(e.render().contains("sqrt"), "{}", e.render());
        let e = moments_expr(ReduceOp::Mean, DType::F64);
        assert_eq!((e.dtype(), e.num_inputs()), (DType::F64, 3));
    }
}
