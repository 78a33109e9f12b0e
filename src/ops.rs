//! Operator overloads. Operators cannot return `Result`, so a failing operator yields an array
//! carrying the error; `compute` reports it (op name and both shapes), as Polars does.
//!
//! Scalar operands are `f64` and `i64` only, so literals (`&x * 2.0`, `&x + 1`) infer without
//! annotations; they are weak scalars, so `f32_array * 2.0` stays f32. Other scalar types go
//! through the `try_*` methods, which take any `Into<Operand>`.

use crate::array::Array;
use crate::elementwise::Operand;
use std::ops::{Add, Div, Mul, Neg, Rem, Sub};
use tilework_core::op::Node;
use tilework_core::{BinaryOp, Result, UnaryOp};

fn settle(ctx_of: &Array, result: Result<Array>) -> Array {
    result.unwrap_or_else(|e| Array::from_node(&ctx_of.ctx, Node::invalid(e)))
}

macro_rules! operators {
    ($($trait:ident $method:ident => $op:ident),* $(,)?) => {$(
        impl $trait<&Array> for &Array {
            type Output = Array;
            fn $method(self, rhs: &Array) -> Array { settle(self, self.try_binary(BinaryOp::$op, rhs)) }
        }
        impl $trait<Array> for Array {
            type Output = Array;
            fn $method(self, rhs: Array) -> Array { settle(&self, self.try_binary(BinaryOp::$op, &rhs)) }
        }
        impl $trait<&Array> for Array {
            type Output = Array;
            fn $method(self, rhs: &Array) -> Array { settle(&self, self.try_binary(BinaryOp::$op, rhs)) }
        }
        impl $trait<Array> for &Array {
            type Output = Array;
            fn $method(self, rhs: Array) -> Array { settle(self, self.try_binary(BinaryOp::$op, &rhs)) }
        }
        operators!(@scalars $trait $method $op; f64 i64);
    )*};
    (@scalars $trait:ident $method:ident $op:ident; $($t:ty)*) => {$(
        impl $trait<$t> for &Array {
            type Output = Array;
            fn $method(self, rhs: $t) -> Array { settle(self, self.try_binary(BinaryOp::$op, Operand::from(rhs))) }
        }
        impl $trait<$t> for Array {
            type Output = Array;
            fn $method(self, rhs: $t) -> Array { settle(&self, self.try_binary(BinaryOp::$op, Operand::from(rhs))) }
        }
        impl $trait<&Array> for $t {
            type Output = Array;
            fn $method(self, rhs: &Array) -> Array { settle(rhs, rhs.try_binary_rev(BinaryOp::$op, Operand::from(self))) }
        }
        impl $trait<Array> for $t {
            type Output = Array;
            fn $method(self, rhs: Array) -> Array { settle(&rhs, rhs.try_binary_rev(BinaryOp::$op, Operand::from(self))) }
        }
    )*};
}
operators!(Add add => Add, Sub sub => Sub, Mul mul => Mul, Div div => Div, Rem rem => Rem);

impl Neg for &Array {
    type Output = Array;
    fn neg(self) -> Array {
        settle(self, self.try_unary(UnaryOp::Neg))
    }
}

impl Neg for Array {
    type Output = Array;
    fn neg(self) -> Array {
        settle(&self, self.try_unary(UnaryOp::Neg))
    }
}
