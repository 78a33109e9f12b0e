//! Blocked evaluation of a fused [`Expr`], numexpr style.
//!
//! The output is walked in C order, [`BLOCK`] elements at a time. For each block every node is
//! evaluated over the whole block into a small per-node scratch column (reused across blocks), so
//! a chain of `n` ops costs `n` tight loops over L1-resident data instead of `n` passes over the
//! chunk. Inputs shaped like the output are read in place; broadcast inputs are gathered into
//! scratch through strides (0 on broadcast axes).

use super::ops;
use super::pow::{ConstPow, pow_const};
use crate::num::{Col, ColMut, ColRef, ElemCols, cast_col, col_of};
use tilework_core::Element;
use tilework_core::shape::{c_strides, numel};
use tilework_core::{
    BinaryOp, DType, Error, Expr, ExprNode, HostArray, Result, Scalar, Shape, with_dtype,
};

/// Elements per evaluation block: small enough that a dozen f64 scratch columns stay in L1/L2,
/// large enough that the per-block dispatch on `(op, dtype)` is noise.
pub(crate) const BLOCK: usize = 1024;

/// Where an expression input's block values come from.
enum Source<'a> {
    /// The input has the output's shape: the block is a sub-slice.
    Direct(ColRef<'a>),
    /// The input broadcasts: gather through `strides` over `shape`, both collapsed (see
    /// [`collapse`]) so that runs are as long as possible.
    Broadcast {
        data: ColRef<'a>,
        shape: Shape,
        strides: Shape,
    },
}

/// Evaluates one expression over inputs broadcast to one output shape, block by block.
pub(crate) struct Evaluator<'a> {
    nodes: &'a [(ExprNode, DType)],
    sources: Vec<Source<'a>>,
}

/// Per-thread scratch of an [`Evaluator`]: one column per node that needs one.
pub(crate) struct Scratch {
    cols: Vec<Option<Col>>,
    index: Shape,
}

impl<'a> Evaluator<'a> {
    /// Checks the expression against its inputs (standard layout) and the output `shape`.
    ///
    /// # Errors
    /// [`Error::Device`] for a malformed expression or inputs that do not match it, and
    /// [`Error::ShapeMismatch`] for an input that does not broadcast to `shape`.
    pub(crate) fn new(expr: &'a Expr, inputs: &'a [HostArray], shape: &[usize]) -> Result<Self> {
        let nodes = expr.nodes();
        if nodes.is_empty() || inputs.len() != expr.num_inputs() {
            return Err(Error::Device(format!(
                "elementwise: expression over {} inputs given {} buffers",
                expr.num_inputs(),
                inputs.len()
            )));
        }
        let mut sources = Vec::with_capacity(inputs.len());
        for input in inputs {
            let data = col_of(input)?;
            let in_shape = input.shape();
            sources.push(if in_shape.as_slice() == shape {
                Source::Direct(data)
            } else {
                let strides = broadcast_strides(&in_shape, shape)?;
                let (shape, strides) = collapse(shape, &strides);
                Source::Broadcast {
                    data,
                    shape,
                    strides,
                }
            });
        }
        for (i, (node, dtype)) in nodes.iter().enumerate() {
            let operands_ok = match *node {
                ExprNode::Input(k) => k < inputs.len() && inputs[k].dtype() == *dtype,
                ExprNode::Const(_) => true,
                ExprNode::Unary(_, a) | ExprNode::Cast(a) => a < i,
                ExprNode::Binary(_, a, b) => a < i && b < i,
                ExprNode::Where(c, a, b) => c < i && a < i && b < i,
            };
            if !operands_ok {
                return Err(Error::Device(format!(
                    "elementwise: malformed node {i} ({node:?}) of {}",
                    expr.render()
                )));
            }
        }
        Ok(Evaluator { nodes, sources })
    }

    /// The result dtype.
    pub(crate) fn dtype(&self) -> DType {
        self.nodes[self.nodes.len() - 1].1
    }

    fn is_direct(&self, node: usize) -> bool {
        matches!(self.nodes[node].0, ExprNode::Input(k) if matches!(self.sources[k], Source::Direct(_)))
    }

    /// Fresh scratch for one thread; constants are filled once here.
    pub(crate) fn scratch(&self) -> Scratch {
        let cols = self
            .nodes
            .iter()
            .enumerate()
            .map(|(i, (node, dtype))| {
                if self.is_direct(i) {
                    return None;
                }
                let mut col = with_dtype!(*dtype, T => T::new_col(BLOCK));
                if let ExprNode::Const(c) = node {
                    fill(col.prefix_mut(BLOCK), *c);
                }
                Some(col)
            })
            .collect();
        Scratch {
            cols,
            index: Shape::new(),
        }
    }

    /// Evaluates the block of `dest.len()` (at most [`BLOCK`]) elements starting at flat index
    /// `start`, writing the result into `dest`.
    pub(crate) fn eval_into(&self, s: &mut Scratch, start: usize, dest: ColMut<'_>) -> Result<()> {
        let len = dest.len();
        let root = self.nodes.len() - 1;
        self.eval_operands(s, start, len)?;
        self.compute(root, &s.cols[..root], &mut s.index, start, len, dest)
    }

    /// Evaluates the block `start..start + len` (`len <= BLOCK`) and returns the result values,
    /// read in place when the root is an input of the output's shape.
    pub(crate) fn eval<'s>(
        &'s self,
        s: &'s mut Scratch,
        start: usize,
        len: usize,
    ) -> Result<ColRef<'s>> {
        let root = self.nodes.len() - 1;
        self.eval_operands(s, start, len)?;
        if let ExprNode::Input(k) = self.nodes[root].0
            && let Source::Direct(c) = self.sources[k]
        {
            return Ok(c.range(start, len));
        }
        let (before, rest) = s.cols.split_at_mut(root);
        let col = rest[0].as_mut().expect("non-direct nodes have scratch");
        if !matches!(self.nodes[root].0, ExprNode::Const(_)) {
            self.compute(root, before, &mut s.index, start, len, col.prefix_mut(len))?;
        }
        Ok(col.prefix(len))
    }

    /// Computes every node but the root into its scratch column.
    fn eval_operands(&self, s: &mut Scratch, start: usize, len: usize) -> Result<()> {
        if len > BLOCK {
            return Err(Error::Device(format!(
                "elementwise: block of {len} > {BLOCK}"
            )));
        }
        for i in 0..self.nodes.len() - 1 {
            if self.is_direct(i) || matches!(self.nodes[i].0, ExprNode::Const(_)) {
                continue;
            }
            let (before, rest) = s.cols.split_at_mut(i);
            let col = rest[0].as_mut().expect("non-direct nodes have scratch");
            self.compute(i, before, &mut s.index, start, len, col.prefix_mut(len))?;
        }
        Ok(())
    }

    /// The values of node `j` for the current block.
    fn operand<'s>(
        &'s self,
        j: usize,
        before: &'s [Option<Col>],
        start: usize,
        len: usize,
    ) -> ColRef<'s> {
        if let ExprNode::Input(k) = self.nodes[j].0
            && let Source::Direct(c) = self.sources[k]
        {
            return c.range(start, len);
        }
        before[j]
            .as_ref()
            .expect("operands precede their users and have scratch")
            .prefix(len)
    }

    /// The fast path of `x ** node` when `node` is a constant exponent that has one.
    fn const_pow(&self, node: usize) -> Option<ConstPow> {
        match self.nodes[node].0 {
            ExprNode::Const(c) => ConstPow::of(c),
            _ => None,
        }
    }

    fn compute(
        &self,
        i: usize,
        before: &[Option<Col>],
        index: &mut Shape,
        start: usize,
        len: usize,
        dest: ColMut<'_>,
    ) -> Result<()> {
        let arg = |j: usize| self.operand(j, before, start, len);
        match self.nodes[i].0 {
            ExprNode::Input(k) => match &self.sources[k] {
                Source::Direct(c) => copy(c.range(start, len), dest),
                Source::Broadcast {
                    data,
                    shape,
                    strides,
                } => with_dtype!(data.dtype(), T => {
                    let src = T::col_ref(*data).expect("dtype matched");
                    let dst = T::col_mut(dest).ok_or_else(|| dtype_error(i))?;
                    gather(src, shape, strides, start, dst, index);
                    Ok(())
                }),
            },
            ExprNode::Const(c) => {
                fill(dest, c);
                Ok(())
            }
            ExprNode::Unary(op, a) => ops::unary(op, arg(a), dest),
            // `x ** c` with a constant exponent such as 2 is a multiply, not a powf per element.
            ExprNode::Binary(BinaryOp::Pow, a, b) => match self.const_pow(b) {
                Some(p) => pow_const(p, arg(a), dest),
                None => ops::binary(BinaryOp::Pow, arg(a), arg(b), dest),
            },
            ExprNode::Binary(op, a, b) => ops::binary(op, arg(a), arg(b), dest),
            ExprNode::Where(c, a, b) => ops::select(arg(c), arg(a), arg(b), dest),
            ExprNode::Cast(a) => cast_col(arg(a), dest),
        }
    }
}

fn dtype_error(node: usize) -> Error {
    Error::Device(format!("elementwise: dtype mismatch at node {node}"))
}

fn copy(src: ColRef<'_>, dest: ColMut<'_>) -> Result<()> {
    with_dtype!(src.dtype(), T => {
        let s = T::col_ref(src).expect("dtype matched");
        let d = T::col_mut(dest).ok_or_else(|| dtype_error(0))?;
        if s.len() != d.len() {
            return Err(Error::Device("elementwise: short input block".into()));
        }
        d.copy_from_slice(s);
    });
    Ok(())
}

fn fill(dest: ColMut<'_>, value: Scalar) {
    with_dtype!(dest.dtype(), T => T::col_mut(dest).expect("dtype matched").fill(T::from_scalar(value)));
}

/// NumPy broadcast strides of an input of `in_shape` read as `out_shape` (0 on broadcast axes).
///
/// # Errors
/// [`Error::ShapeMismatch`] when the shapes do not broadcast.
pub(crate) fn broadcast_strides(in_shape: &[usize], out_shape: &[usize]) -> Result<Shape> {
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
    let mut strides = Shape::from_elem(0, out_shape.len());
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

/// Drops length-1 axes and merges neighbours whose strides chain, keeping C order: the gather's
/// inner runs become as long as the data allows (`(1, n)` into `(m, n)` stays a run of `n`;
/// `(m, n)` read through strides `(n, 1)` becomes one run of `m * n`).
pub(crate) fn collapse(shape: &[usize], strides: &[usize]) -> (Shape, Shape) {
    let mut out_shape = Shape::new();
    let mut out_strides = Shape::new();
    for (&n, &s) in shape.iter().zip(strides) {
        if n == 1 {
            continue;
        }
        match (out_shape.last_mut(), out_strides.last_mut()) {
            (Some(ln), Some(ls)) if *ls == s * n => {
                *ln *= n;
                *ls = s;
            }
            _ => {
                out_shape.push(n);
                out_strides.push(s);
            }
        }
    }
    if out_shape.is_empty() {
        out_shape.push(1);
        out_strides.push(0);
    }
    (out_shape, out_strides)
}

/// Copies the elements at C-order flat positions `start..start + dst.len()` of a strided view
/// (`shape`, element `strides`, innermost stride 0 or 1) into `dst`.
pub(crate) fn gather<T: Copy>(
    src: &[T],
    shape: &[usize],
    strides: &[usize],
    start: usize,
    dst: &mut [T],
    index: &mut Shape,
) {
    debug_assert!(numel(shape) >= start + dst.len());
    let last = shape.len() - 1;
    index.clear();
    index.resize(shape.len(), 0);
    let mut rem = start;
    for a in (0..shape.len()).rev() {
        index[a] = rem % shape[a];
        rem /= shape[a];
    }
    let mut off: usize = index.iter().zip(strides).map(|(i, s)| i * s).sum();
    let (inner, step) = (shape[last], strides[last]);
    let mut done = 0;
    while done < dst.len() {
        let run = (inner - index[last]).min(dst.len() - done);
        let d = &mut dst[done..done + run];
        if step == 0 {
            d.fill(src[off]);
        } else {
            d.copy_from_slice(&src[off..off + run]);
        }
        done += run;
        index[last] += run;
        off += run * step;
        if index[last] < inner {
            continue;
        }
        index[last] = 0;
        off -= inner * step;
        for a in (0..last).rev() {
            index[a] += 1;
            off += strides[a];
            if index[a] < shape[a] {
                break;
            }
            off -= shape[a] * strides[a];
            index[a] = 0;
        }
    }
}
