//! Elementwise expression trees: the unit the optimizer fuses and every backend evaluates.
//!
//! An [`Expr`] is a flat list of nodes in evaluation order; node operands refer to earlier nodes by
//! position and the last node is the result. `Input(k)` reads the k-th input array (broadcast to the
//! output shape). The graph layer inserts casts so that these invariants hold, and backends rely on
//! them:
//! - arithmetic binary operands have the node's dtype; comparisons take equal dtypes and give bool;
//! - `And`/`Or`/`Not` work on bool; `Where` takes a bool condition and two operands of its dtype;
//! - float-only math (`sqrt`, `exp`, `sin`, ...) only sees float dtypes.

use crate::dtype::{DType, Scalar};

/// One-operand operations.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum UnaryOp {
    Neg,
    Abs,
    Sqrt,
    Exp,
    Log,
    Sin,
    Cos,
    Tan,
    Tanh,
    Floor,
    Ceil,
    /// Round half to even, as NumPy.
    Round,
    /// Logical not (bool only).
    Not,
    /// Gives bool.
    IsNan,
    /// Gives bool.
    IsFinite,
}

impl UnaryOp {
    /// True when the op is only defined on floats (integers are promoted first).
    pub fn float_only(self) -> bool {
        matches!(
            self,
            UnaryOp::Sqrt
                | UnaryOp::Exp
                | UnaryOp::Log
                | UnaryOp::Sin
                | UnaryOp::Cos
                | UnaryOp::Tan
                | UnaryOp::Tanh
        )
    }

    /// NumPy's name.
    pub fn name(self) -> &'static str {
        match self {
            UnaryOp::Neg => "negative",
            UnaryOp::Abs => "abs",
            UnaryOp::Sqrt => "sqrt",
            UnaryOp::Exp => "exp",
            UnaryOp::Log => "log",
            UnaryOp::Sin => "sin",
            UnaryOp::Cos => "cos",
            UnaryOp::Tan => "tan",
            UnaryOp::Tanh => "tanh",
            UnaryOp::Floor => "floor",
            UnaryOp::Ceil => "ceil",
            UnaryOp::Round => "round",
            UnaryOp::Not => "logical_not",
            UnaryOp::IsNan => "isnan",
            UnaryOp::IsFinite => "isfinite",
        }
    }
}

/// Two-operand operations.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    /// True division on floats; integer operands are promoted to float by the graph layer.
    Div,
    /// NumPy `%`: the result takes the divisor's sign; integer `x % 0` is 0.
    Rem,
    Pow,
    /// NaN-propagating maximum.
    Maximum,
    /// NaN-propagating minimum.
    Minimum,
    /// Logical and (bool only).
    And,
    /// Logical or (bool only).
    Or,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl BinaryOp {
    /// True for the comparisons (result bool).
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge
        )
    }

    /// True for logical and/or.
    pub fn is_logical(self) -> bool {
        matches!(self, BinaryOp::And | BinaryOp::Or)
    }

    /// NumPy's name.
    pub fn name(self) -> &'static str {
        match self {
            BinaryOp::Add => "add",
            BinaryOp::Sub => "subtract",
            BinaryOp::Mul => "multiply",
            BinaryOp::Div => "true_divide",
            BinaryOp::Rem => "remainder",
            BinaryOp::Pow => "power",
            BinaryOp::Maximum => "maximum",
            BinaryOp::Minimum => "minimum",
            BinaryOp::And => "logical_and",
            BinaryOp::Or => "logical_or",
            BinaryOp::Eq => "equal",
            BinaryOp::Ne => "not_equal",
            BinaryOp::Lt => "less",
            BinaryOp::Le => "less_equal",
            BinaryOp::Gt => "greater",
            BinaryOp::Ge => "greater_equal",
        }
    }
}

/// One node of an [`Expr`].
#[derive(Clone, Debug, PartialEq)]
pub enum ExprNode {
    /// The k-th input array.
    Input(usize),
    /// A constant (already of the node's dtype).
    Const(Scalar),
    /// `op(operand)`.
    Unary(UnaryOp, usize),
    /// `op(lhs, rhs)`.
    Binary(BinaryOp, usize, usize),
    /// `cond ? a : b`.
    Where(usize, usize, usize),
    /// Conversion of the operand to the node's dtype (`astype`).
    Cast(usize),
}

/// A fused elementwise expression over `num_inputs` arrays.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    nodes: Vec<(ExprNode, DType)>,
    num_inputs: usize,
}

impl Expr {
    /// The expression that reads input `index` (of `num_inputs`) unchanged.
    pub fn input(index: usize, dtype: DType, num_inputs: usize) -> Expr {
        Expr {
            nodes: vec![(ExprNode::Input(index), dtype)],
            num_inputs,
        }
    }

    /// Appends a node and returns its position. Operands must refer to earlier nodes.
    pub fn push(&mut self, node: ExprNode, dtype: DType) -> usize {
        debug_assert!(match &node {
            ExprNode::Input(k) => *k < self.num_inputs,
            ExprNode::Const(_) => true,
            ExprNode::Unary(_, a) | ExprNode::Cast(a) => *a < self.nodes.len(),
            ExprNode::Binary(_, a, b) => *a < self.nodes.len() && *b < self.nodes.len(),
            ExprNode::Where(c, a, b) => [*c, *a, *b].iter().all(|&x| x < self.nodes.len()),
        });
        self.nodes.push((node, dtype));
        self.nodes.len() - 1
    }

    /// Builds an empty expression over `num_inputs` inputs; push nodes next.
    pub fn builder(num_inputs: usize) -> Expr {
        Expr {
            nodes: Vec::new(),
            num_inputs,
        }
    }

    /// The nodes in evaluation order with their dtypes.
    pub fn nodes(&self) -> &[(ExprNode, DType)] {
        &self.nodes
    }

    /// Number of input arrays.
    pub fn num_inputs(&self) -> usize {
        self.num_inputs
    }

    /// The result dtype.
    pub fn dtype(&self) -> DType {
        self.nodes.last().expect("an expression has a root").1
    }

    /// Number of operations (nodes that are not inputs or constants): how many kernels were fused.
    pub fn num_ops(&self) -> usize {
        self.nodes
            .iter()
            .filter(|(n, _)| !matches!(n, ExprNode::Input(_) | ExprNode::Const(_)))
            .count()
    }

    /// Copies `other`'s nodes into `self`, mapping its inputs through `input_map` (each entry a node
    /// position in `self`), and returns the position of `other`'s root.
    pub fn splice(&mut self, other: &Expr, input_map: &[usize]) -> usize {
        let mut positions = Vec::with_capacity(other.nodes.len());
        for (node, dtype) in &other.nodes {
            let remapped = match *node {
                ExprNode::Input(k) => {
                    positions.push(input_map[k]);
                    continue;
                }
                ExprNode::Const(c) => ExprNode::Const(c),
                ExprNode::Unary(op, a) => ExprNode::Unary(op, positions[a]),
                ExprNode::Binary(op, a, b) => ExprNode::Binary(op, positions[a], positions[b]),
                ExprNode::Where(c, a, b) => {
                    ExprNode::Where(positions[c], positions[a], positions[b])
                }
                ExprNode::Cast(a) => ExprNode::Cast(positions[a]),
            };
            positions.push(self.push(remapped, *dtype));
        }
        *positions.last().expect("an expression has a root")
    }

    /// Renders the expression in infix form, inputs named `x0, x1, ...` (for `explain`).
    pub fn render(&self) -> String {
        let mut text: Vec<String> = Vec::with_capacity(self.nodes.len());
        for (node, dtype) in &self.nodes {
            let s = match node {
                ExprNode::Input(k) => format!("x{k}"),
                ExprNode::Const(c) => format!("{}", c.to_f64()),
                ExprNode::Unary(op, a) => format!("{}({})", op.name(), text[*a]),
                ExprNode::Binary(op, a, b) => format!("{}({}, {})", op.name(), text[*a], text[*b]),
                ExprNode::Where(c, a, b) => {
                    format!("where({}, {}, {})", text[*c], text[*a], text[*b])
                }
                ExprNode::Cast(a) => format!("{}.astype({dtype})", text[*a]),
            };
            text.push(s);
        }
        text.pop().unwrap_or_default()
    }
}
