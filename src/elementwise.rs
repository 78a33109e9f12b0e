//! Elementwise operations with NumPy broadcasting and promotion.
//!
//! Every operation builds one `Elementwise` node whose expression casts its operands to the
//! computation dtype first; the optimizer later fuses chains of such nodes into one kernel.

use crate::array::Array;
use std::sync::Arc;
use tilework_core::chunks::broadcast_grid;
use tilework_core::op::{Meta, Node, Op};
use tilework_core::shape::{Shape, broadcast_shapes, checked_nbytes};
use tilework_core::{BinaryOp, ChunkGrid, DType, Error, Expr, ExprNode, Result, Scalar, UnaryOp};

/// An operand of an elementwise operation: an array or a weak scalar (Python-style promotion).
#[derive(Clone, Debug)]
pub enum Operand {
    /// An array.
    Array(Array),
    /// A scalar.
    Scalar(Scalar),
}

impl From<&Array> for Operand {
    fn from(a: &Array) -> Self {
        Operand::Array(a.clone())
    }
}

impl From<Array> for Operand {
    fn from(a: Array) -> Self {
        Operand::Array(a)
    }
}

macro_rules! operand_from_scalar {
    ($($t:ty),*) => {$(
        impl From<$t> for Operand {
            fn from(v: $t) -> Self { Operand::Scalar(Scalar::from(v)) }
        }
    )*};
}
operand_from_scalar!(bool, u8, i32, i64, u32, f32, f64);

impl From<Scalar> for Operand {
    fn from(v: Scalar) -> Self {
        Operand::Scalar(v)
    }
}

impl Operand {
    fn array(&self) -> Option<&Array> {
        match self {
            Operand::Array(a) => Some(a),
            Operand::Scalar(_) => None,
        }
    }
}

/// The common dtype of operands: arrays promote by the table, scalars are weak.
pub(crate) fn result_dtype(operands: &[&Operand]) -> DType {
    let arrays: Vec<DType> = operands
        .iter()
        .filter_map(|o| o.array())
        .map(|a| a.dtype())
        .collect();
    let scalars: Vec<&Scalar> = operands
        .iter()
        .filter_map(|o| match o {
            Operand::Scalar(s) => Some(s),
            Operand::Array(_) => None,
        })
        .collect();
    match arrays.split_first() {
        Some((first, rest)) => {
            let base = rest.iter().fold(*first, |acc, &d| DType::promote(acc, d));
            scalars.iter().fold(base, |acc, s| acc.promote_weak(s))
        }
        None => scalars
            .iter()
            .fold(scalars[0].dtype(), |acc, s| DType::promote(acc, s.dtype())),
    }
}

/// Rechunks arrays so that every axis they span fully is split at the same places, and returns
/// the aligned nodes, the broadcast shape and the output grid.
pub(crate) fn align(
    op: &'static str,
    arrays: &[&Array],
) -> Result<(Vec<Arc<Node>>, Shape, ChunkGrid)> {
    let mut shape = Shape::new();
    for (i, a) in arrays.iter().enumerate() {
        shape = if i == 0 {
            Shape::from_slice(a.shape())
        } else {
            broadcast_shapes(op, &shape, a.shape()).map_err(|_| Error::ShapeMismatch {
                op,
                lhs: shape.clone(),
                rhs: Shape::from_slice(a.shape()),
            })?
        };
    }
    let ndim = shape.len();
    // Reference chunking per output axis: the first array spanning it fully.
    let reference: Vec<Option<Vec<usize>>> = (0..ndim)
        .map(|axis| {
            arrays.iter().find_map(|a| {
                let off = ndim - a.ndim();
                (axis >= off && a.shape()[axis - off] == shape[axis])
                    .then(|| a.grid().axis_sizes(axis - off).ok())
                    .flatten()
            })
        })
        .collect();
    let nodes: Vec<Arc<Node>> = arrays
        .iter()
        .map(|a| {
            let off = ndim - a.ndim();
            let sizes: Vec<Vec<usize>> = (0..a.ndim())
                .map(|ax| match &reference[ax + off] {
                    Some(r) if a.shape()[ax] == shape[ax + off] => Ok(r.clone()),
                    _ => a.grid().axis_sizes(ax),
                })
                .collect::<Result<_>>()?;
            Ok(if sizes == a.chunks() {
                a.node.clone()
            } else {
                let grid = ChunkGrid::from_axis_sizes(a.shape(), &sizes)?;
                Node::new(
                    Op::Rechunk,
                    vec![a.node.clone()],
                    Meta {
                        dtype: a.dtype(),
                        grid,
                    },
                )
            })
        })
        .collect::<Result<_>>()?;
    let grids: Vec<&ChunkGrid> = nodes.iter().map(|n| &n.meta.grid).collect();
    let grid = broadcast_grid(&grids, &shape)?;
    Ok((nodes, shape, grid))
}

/// Builds an elementwise node: operand `k` is cast to `casts[k]`, then `build` adds the
/// operation on the operand positions and returns the root position.
pub(crate) fn elementwise(
    op: &'static str,
    operands: &[&Operand],
    casts: &[DType],
    build: impl FnOnce(&mut Expr, &[usize]) -> usize,
) -> Result<Array> {
    let arrays: Vec<&Array> = operands.iter().filter_map(|o| o.array()).collect();
    let Some(first) = arrays.first() else {
        return Err(Error::invalid(op, "needs at least one array operand"));
    };
    let ctx = first.ctx.clone();
    if let Some(other) = arrays.iter().find(|a| !a.ctx.same_as(&ctx)) {
        return Err(Error::invalid(
            op,
            format!("{other:?} belongs to another context"),
        ));
    }
    for a in &arrays {
        if let Some(e) = a.error() {
            return Err(e);
        }
    }
    let (nodes, _shape, grid) = align(op, &arrays)?;
    let mut expr = Expr::builder(nodes.len());
    let mut next_input = 0;
    let positions: Vec<usize> = operands
        .iter()
        .zip(casts)
        .map(|(operand, &to)| match operand {
            Operand::Array(a) => {
                let p = expr.push(ExprNode::Input(next_input), a.dtype());
                next_input += 1;
                if a.dtype() == to {
                    p
                } else {
                    expr.push(ExprNode::Cast(p), to)
                }
            }
            Operand::Scalar(s) => expr.push(ExprNode::Const(s.cast(to)), to),
        })
        .collect();
    build(&mut expr, &positions);
    let dtype = expr.dtype();
    // Broadcasting can make the result far larger than any input.
    checked_nbytes(op, grid.shape(), dtype.size())?;
    Ok(Array::new(&ctx, Op::Elementwise(expr), nodes, dtype, grid))
}

fn binary(op: BinaryOp, lhs: &Operand, rhs: &Operand) -> Result<Array> {
    let name = op.name();
    let common = result_dtype(&[lhs, rhs]);
    let (compute, op) = match op {
        BinaryOp::Add | BinaryOp::Maximum if common == DType::Bool => (DType::Bool, BinaryOp::Or),
        BinaryOp::Mul | BinaryOp::Minimum if common == DType::Bool => (DType::Bool, BinaryOp::And),
        BinaryOp::Sub if common == DType::Bool => {
            return Err(Error::DTypeUnsupported {
                op: name,
                dtype: DType::Bool,
                device: None,
            });
        }
        BinaryOp::Div => (
            if common.is_float() {
                common
            } else {
                DType::F64
            },
            op,
        ),
        BinaryOp::Rem | BinaryOp::Pow if common == DType::Bool => (DType::I64, op),
        BinaryOp::And | BinaryOp::Or => (DType::Bool, op),
        _ => (common, op),
    };
    let out = if op.is_comparison() {
        DType::Bool
    } else {
        compute
    };
    elementwise(name, &[lhs, rhs], &[compute, compute], |e, p| {
        e.push(ExprNode::Binary(op, p[0], p[1]), out)
    })
}

fn unary(op: UnaryOp, x: &Array) -> Result<Array> {
    let dtype = x.dtype();
    let (compute, out) = match op {
        UnaryOp::Neg if dtype == DType::Bool => {
            return Err(Error::DTypeUnsupported {
                op: op.name(),
                dtype,
                device: None,
            });
        }
        UnaryOp::Abs if dtype == DType::Bool => return Ok(x.clone()),
        UnaryOp::Floor | UnaryOp::Ceil | UnaryOp::Round if dtype.is_integer() => {
            return Ok(x.clone());
        }
        UnaryOp::Not => (DType::Bool, DType::Bool),
        UnaryOp::IsNan | UnaryOp::IsFinite => (dtype, DType::Bool),
        _ if op.float_only() || matches!(op, UnaryOp::Floor | UnaryOp::Ceil | UnaryOp::Round) => {
            let f = dtype.float_promoted();
            (f, f)
        }
        _ => (dtype, dtype),
    };
    let operand = Operand::Array(x.clone());
    elementwise(op.name(), &[&operand], &[compute], |e, p| {
        e.push(ExprNode::Unary(op, p[0]), out)
    })
}

impl Array {
    /// `self op other` with broadcasting and promotion, reporting errors at once.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] when the shapes do not broadcast, or an unsupported dtype
    /// (e.g. subtracting booleans).
    pub fn try_binary(&self, op: BinaryOp, other: impl Into<Operand>) -> Result<Array> {
        binary(op, &Operand::Array(self.clone()), &other.into())
    }

    /// `lhs op self` for a scalar or array on the left.
    ///
    /// # Errors
    /// As [`Array::try_binary`].
    pub fn try_binary_rev(&self, op: BinaryOp, lhs: impl Into<Operand>) -> Result<Array> {
        binary(op, &lhs.into(), &Operand::Array(self.clone()))
    }

    /// Applies a unary op.
    ///
    /// # Errors
    /// An unsupported dtype (negating booleans).
    pub fn try_unary(&self, op: UnaryOp) -> Result<Array> {
        unary(op, self)
    }

    /// `cond ? self : other` elementwise (`np.where(cond, self, other)`).
    ///
    /// # Errors
    /// Shapes that do not broadcast.
    ///
    /// # Examples
    /// ```
    /// use tilework::prelude::*;
    /// let ctx = Context::new()?;
    /// let x = ctx.arange(-2.0, 3.0, 1.0, DType::F64, 2)?;
    /// let relu = Array::where_(&x.greater(0.0)?, &x, 0.0)?;
    /// assert_eq!(relu.to_ndarray::<f64>()?.into_raw_vec_and_offset().0, vec![0.0, 0.0, 0.0, 1.0, 2.0]);
    /// # Ok::<(), tilework::Error>(())
    /// ```
    pub fn where_(cond: &Array, a: impl Into<Operand>, b: impl Into<Operand>) -> Result<Array> {
        let (c, a, b) = (Operand::Array(cond.clone()), a.into(), b.into());
        let dtype = result_dtype(&[&a, &b]);
        elementwise(
            "where",
            &[&c, &a, &b],
            &[DType::Bool, dtype, dtype],
            |e, p| e.push(ExprNode::Where(p[0], p[1], p[2]), dtype),
        )
    }

    /// Limits values to `[min, max]` (`np.clip`; NaN stays NaN).
    ///
    /// # Errors
    /// Shapes that do not broadcast.
    pub fn clip(&self, min: impl Into<Operand>, max: impl Into<Operand>) -> Result<Array> {
        self.maximum(min)?.minimum(max)
    }

    /// Converts to `dtype` (`astype`: floats truncate toward zero, integers wrap).
    ///
    /// # Errors
    /// Never for a valid array.
    pub fn astype(&self, dtype: DType) -> Result<Array> {
        if dtype == self.dtype() {
            return Ok(self.clone());
        }
        let operand = Operand::Array(self.clone());
        elementwise("astype", &[&operand], &[dtype], |_, p| p[0])
    }
}

/// Named elementwise methods (a flat table of identical cases).
macro_rules! binary_methods {
    ($($name:ident => $op:ident),* $(,)?) => {
        impl Array {$(
            #[doc = concat!("NumPy's `", stringify!($name), "` with broadcasting.\n\n# Errors\nShapes that do not broadcast or an unsupported dtype.")]
            pub fn $name(&self, other: impl Into<Operand>) -> Result<Array> {
                self.try_binary(BinaryOp::$op, other)
            }
        )*}
    };
}
binary_methods!(
    try_add => Add, try_sub => Sub, try_mul => Mul, try_div => Div, try_rem => Rem, pow => Pow,
    maximum => Maximum, minimum => Minimum, logical_and => And, logical_or => Or,
    equal => Eq, not_equal => Ne, less => Lt, less_equal => Le, greater => Gt, greater_equal => Ge,
);

macro_rules! unary_methods {
    ($($name:ident => $op:ident),* $(,)?) => {
        impl Array {$(
            #[doc = concat!("NumPy's `", stringify!($name), "`.\n\n# Errors\nAn unsupported dtype.")]
            pub fn $name(&self) -> Result<Array> {
                self.try_unary(UnaryOp::$op)
            }
        )*}
    };
}
unary_methods!(
    try_neg => Neg, abs => Abs, sqrt => Sqrt, exp => Exp, log => Log, sin => Sin, cos => Cos, tan => Tan,
    tanh => Tanh, floor => Floor, ceil => Ceil, round => Round, logical_not => Not, isnan => IsNan,
    isfinite => IsFinite,
);
