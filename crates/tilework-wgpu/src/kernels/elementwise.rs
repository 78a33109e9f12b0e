//! `Elementwise`: a fused expression compiled to one shader by [`crate::codegen::expr`].
//!
//! Inputs with the output's shape are read at the output index; broadcast inputs read through
//! NumPy broadcast strides. Before launching, output axes of length 1 are dropped and neighbours
//! whose strides chain for every broadcast input are merged, so the shader's index loop runs
//! over as few axes as the data allows.

use super::{Input, Launch, count};
use crate::codegen::expr::{Read, Target, generate};
use crate::device::Features;
use crate::dispatch::Params;
use crate::dtype::{Repr, unsupported};
use crate::pipeline::Access;
use tilework_core::shape::c_strides;
use tilework_core::{BufferSpec, Error, Expr, Result, Shape};

/// NumPy broadcast strides (elements) of an input of `in_shape` read as `out_shape`.
fn broadcast_strides(in_shape: &[usize], out_shape: &[usize]) -> Result<Vec<usize>> {
    let bad = || Error::ShapeMismatch {
        op: "broadcast",
        lhs: Shape::from_slice(in_shape),
        rhs: Shape::from_slice(out_shape),
    };
    if in_shape.len() > out_shape.len() {
        return Err(bad());
    }
    let lead = out_shape.len() - in_shape.len();
    let in_strides = c_strides(in_shape);
    let mut strides = vec![0; out_shape.len()];
    for (a, (&n, &s)) in in_shape.iter().zip(&in_strides).enumerate() {
        let o = out_shape[lead + a];
        if n == o && n != 1 {
            strides[lead + a] = s;
        } else if n != 1 {
            return Err(bad());
        }
    }
    Ok(strides)
}

/// Drops length-1 axes and merges neighbours whose strides chain in every stride set.
fn collapse(shape: &[usize], sets: &[Vec<usize>]) -> (Vec<usize>, Vec<Vec<usize>>) {
    let mut dims: Vec<usize> = Vec::new();
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); sets.len()];
    for (a, &n) in shape.iter().enumerate() {
        if n == 1 {
            continue;
        }
        let chains = !dims.is_empty()
            && sets
                .iter()
                .zip(&out)
                .all(|(s, o)| o.last() == Some(&(s[a] * n)));
        if chains {
            *dims.last_mut().expect("not empty") *= n;
            for (s, o) in sets.iter().zip(out.iter_mut()) {
                *o.last_mut().expect("same length as dims") = s[a];
            }
        } else {
            dims.push(n);
            for (s, o) in sets.iter().zip(out.iter_mut()) {
                o.push(s[a]);
            }
        }
    }
    (dims, out)
}

/// The shader for `expr` with inputs `inputs` and output `out` on a device with `f`.
pub(crate) fn shader(
    expr: &Expr,
    inputs: &[(Repr, Read)],
    out: Repr,
    f: &Features,
) -> Result<String> {
    generate(
        expr,
        &Target {
            inputs,
            out,
            f16_native: f.f16_native,
            f64: f.f64,
            workgroup: f.workgroup,
            device: &f.name,
        },
    )
}

/// Runs an `Elementwise` kernel.
pub(crate) fn elementwise(
    l: &Launch<'_>,
    expr: &Expr,
    inputs: &[Input],
    spec: &BufferSpec,
) -> Result<wgpu::Buffer> {
    let out = l.repr(spec.dtype, "elementwise")?;
    let n = count(&spec.shape, "elementwise output")?;
    let max_buffers = l.gpu.limits.max_storage_buffers_per_shader_stage as usize;
    if inputs.len() + 2 > max_buffers {
        return Err(unsupported(
            "elementwise (more inputs than the GPU binds)",
            spec.dtype,
            &l.features().name,
        ));
    }
    let mut reads = Vec::with_capacity(inputs.len());
    let mut sets = Vec::new();
    for input in inputs {
        if input.shape == spec.shape {
            reads.push((input.repr, Read::Direct));
        } else {
            sets.push(broadcast_strides(&input.shape, &spec.shape)?);
            reads.push((
                input.repr,
                Read::Strided {
                    slot: sets.len() - 1,
                },
            ));
        }
    }
    let source = shader(expr, &reads, out, l.features())?;
    let bindings: Vec<Access> = inputs
        .iter()
        .map(|_| Access::Read)
        .chain([Access::ReadWrite])
        .collect();
    let pipeline = l.pipeline("elementwise", &source, &bindings, || Ok(source.clone()))?;
    let (dims, sets) = collapse(&spec.shape, &sets);
    let mut params = Params::new();
    params
        .len(n, "elementwise output")?
        .len(dims.len(), "rank")?;
    for &d in &dims {
        params.len(d, "axis length")?;
    }
    for set in &sets {
        for &s in set {
            params.len(s, "broadcast stride")?;
        }
    }
    let buffers: Vec<&wgpu::Buffer> = inputs.iter().map(|i| &i.buffer).collect();
    l.run_per_element(&pipeline, &buffers, out, n, params)
}

/// Generated shaders over every op, cast and dtype the device supports (for the naga test).
#[cfg(test)]
pub(crate) fn sample_shaders(f: &Features) -> Result<Vec<(String, String)>> {
    use tilework_core::{BinaryOp, DType, ExprNode, Scalar, UnaryOp};
    const UNARY: [UnaryOp; 15] = [
        UnaryOp::Neg,
        UnaryOp::Abs,
        UnaryOp::Sqrt,
        UnaryOp::Exp,
        UnaryOp::Log,
        UnaryOp::Sin,
        UnaryOp::Cos,
        UnaryOp::Tan,
        UnaryOp::Tanh,
        UnaryOp::Floor,
        UnaryOp::Ceil,
        UnaryOp::Round,
        UnaryOp::Not,
        UnaryOp::IsNan,
        UnaryOp::IsFinite,
    ];
    const BINARY: [BinaryOp; 16] = [
        BinaryOp::Add,
        BinaryOp::Sub,
        BinaryOp::Mul,
        BinaryOp::Div,
        BinaryOp::Rem,
        BinaryOp::Pow,
        BinaryOp::Maximum,
        BinaryOp::Minimum,
        BinaryOp::And,
        BinaryOp::Or,
        BinaryOp::Eq,
        BinaryOp::Ne,
        BinaryOp::Lt,
        BinaryOp::Le,
        BinaryOp::Gt,
        BinaryOp::Ge,
    ];
    let dtypes = crate::dtype::supported(f.f64);
    let repr = |d| Repr::of(d, f, "test");
    let mut out = Vec::new();
    let mut push = |name: String, r: Result<String>| match r {
        Ok(s) => {
            out.push((name, s));
            Ok(())
        }
        Err(Error::DTypeUnsupported { .. }) => Ok(()),
        Err(e) => Err(e),
    };
    for &d in &dtypes {
        for op in UNARY {
            let mut e = Expr::builder(1);
            let x = e.push(ExprNode::Input(0), d);
            let rd = if matches!(op, UnaryOp::IsNan | UnaryOp::IsFinite) {
                DType::Bool
            } else {
                d
            };
            e.push(ExprNode::Unary(op, x), rd);
            let r = shader(&e, &[(repr(d)?, Read::Direct)], repr(rd)?, f);
            push(format!("elementwise {op:?} {d}"), r)?;
        }
        for op in BINARY {
            let mut e = Expr::builder(2);
            let x = e.push(ExprNode::Input(0), d);
            let y = e.push(ExprNode::Input(1), d);
            let rd = if op.is_comparison() { DType::Bool } else { d };
            e.push(ExprNode::Binary(op, x, y), rd);
            let inputs = [
                (repr(d)?, Read::Direct),
                (repr(d)?, Read::Strided { slot: 0 }),
            ];
            push(
                format!("elementwise {op:?} {d}"),
                shader(&e, &inputs, repr(rd)?, f),
            )?;
        }
        for to in &dtypes {
            let mut e = Expr::builder(1);
            let x = e.push(ExprNode::Input(0), d);
            e.push(ExprNode::Cast(x), *to);
            let r = shader(&e, &[(repr(d)?, Read::Direct)], repr(*to)?, f);
            push(format!("elementwise cast {d} -> {to}"), r)?;
        }
        // where(x > c, x ** 2, x ** 0.5) with constants, and every constant power.
        for p in [-4.0, -3.0, -2.0, -1.0, 0.0, 0.5, 1.0, 2.0, 3.0, 4.0, 2.5] {
            let mut e = Expr::builder(1);
            let x = e.push(ExprNode::Input(0), d);
            let c = e.push(ExprNode::Const(Scalar::F64(p)), d);
            let cond = e.push(ExprNode::Binary(BinaryOp::Gt, x, c), DType::Bool);
            let pw = e.push(ExprNode::Binary(BinaryOp::Pow, x, c), d);
            e.push(ExprNode::Where(cond, pw, x), d);
            let r = shader(&e, &[(repr(d)?, Read::Strided { slot: 0 })], repr(d)?, f);
            push(format!("elementwise where/pow {p} {d}"), r)?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_strides_follow_numpy() {
        assert_eq!(broadcast_strides(&[3], &[2, 3]).unwrap(), vec![0, 1]);
        assert_eq!(broadcast_strides(&[2, 1], &[2, 3]).unwrap(), vec![1, 0]);
        assert_eq!(broadcast_strides(&[], &[2, 3]).unwrap(), vec![0, 0]);
        assert!(broadcast_strides(&[4], &[2, 3]).is_err());
        assert!(broadcast_strides(&[1, 2, 3], &[2, 3]).is_err());
    }

    #[test]
    fn collapse_merges_chained_axes_and_drops_ones() {
        // A (4, 5) input read as (2, 4, 5) merges its two contiguous axes.
        let (dims, sets) = collapse(&[2, 4, 5], &[vec![0, 5, 1]]);
        assert_eq!(dims, vec![2, 20]);
        assert_eq!(sets, vec![vec![0, 1]]);
        let (dims, sets) = collapse(&[1, 3, 1], &[vec![0, 1, 0]]);
        assert_eq!((dims, sets), (vec![3], vec![vec![1]]));
        let (dims, sets) = collapse(&[2, 3], &[]);
        assert_eq!((dims, sets.len()), (vec![6], 0));
        let (dims, _) = collapse(&[1, 1], &[vec![0, 0]]);
        assert!(dims.is_empty());
    }
}
