//! WGSL expressions for single operations on compute values, with the CPU backend's semantics
//! (`tilework-cpu/src/elementwise/ops.rs`, `num.rs`, `pow.rs`).
//!
//! Every builder takes operand expressions in the compute type of their dtype (see
//! [`crate::dtype`]) and returns an expression in the compute type of the result. Results of
//! dtype f16 or u8 still need [`finish`] (rounding to f16, masking to 8 bits). Operations the
//! CPU does not define for a dtype, and f64 transcendentals (Vulkan has no f64 `sin`, `exp`,
//! ...), return `DTypeUnsupported` so the scheduler runs the task on the CPU.

use crate::dtype::{compute_type, unsupported};
use crate::shaders::{Helper, Helpers};
use tilework_core::{BinaryOp, DType, Result, Scalar, UnaryOp};

/// What the builders need to know about the device, and where they record helper use.
pub(crate) struct Ctx<'a> {
    pub(crate) helpers: &'a mut Helpers,
    pub(crate) f16_native: bool,
    /// f64 is available (for casts from f64 and the CPU's f64-widened f32 powers).
    pub(crate) f64: bool,
    pub(crate) device: &'a str,
}

impl Ctx<'_> {
    fn float_ops(&mut self, dtype: DType) -> &'static str {
        if dtype == DType::F64 {
            self.helpers.need(Helper::FloatOpsF64);
            "f64"
        } else {
            self.helpers.need(Helper::FloatOpsF32);
            "f32"
        }
    }

    fn unsupported(&self, op: &'static str, dtype: DType) -> tilework_core::Error {
        unsupported(op, dtype, self.device)
    }
}

/// The value `s` (cast to `dtype` with `astype` semantics) as a compute-type literal.
pub(crate) fn literal(s: Scalar, dtype: DType) -> String {
    match s.cast(dtype) {
        Scalar::Bool(b) => b.to_string(),
        Scalar::U8(v) => format!("{v}u"),
        Scalar::U32(v) => format!("{v}u"),
        Scalar::I32(i32::MIN) => "i32(-2147483647 - 1)".into(),
        Scalar::I32(v) => format!("i32({v})"),
        // Bit patterns keep every value exact, -0, infinities and NaN included.
        Scalar::F16(v) => format!("bitcast<f32>({:#010x}u)", v.to_f32().to_bits()),
        Scalar::F32(v) => format!("bitcast<f32>({:#010x}u)", v.to_bits()),
        Scalar::F64(v) if v.is_finite() => format!("f64({v:e})"),
        Scalar::F64(v) => format!("f64(bitcast<f32>({:#010x}u))", (v as f32).to_bits()),
        Scalar::I64(v) => format!("f64({v})"),
    }
}

/// `expr` (a result of dtype `dtype`) rounded to f16 or masked to u8 where needed.
pub(crate) fn finish(ctx: &mut Ctx<'_>, dtype: DType, expr: &str) -> String {
    match dtype {
        DType::F16 => {
            ctx.helpers.need_f16(ctx.f16_native);
            format!("tw_round_f16({expr})")
        }
        DType::U8 => format!("(({expr}) & 0xffu)"),
        _ => expr.to_string(),
    }
}

/// `astype`: `x` of dtype `from` converted to `to` (already rounded/masked for `to`).
pub(crate) fn cast(ctx: &mut Ctx<'_>, from: DType, to: DType, x: &str) -> Result<String> {
    use DType::*;
    if from == to {
        return Ok(x.to_string());
    }
    if from == I64 || to == I64 || ((from == F64 || to == F64) && !ctx.f64) {
        let dtype = if from == I64 || from == F64 { from } else { to };
        return Err(ctx.unsupported("astype", dtype));
    }
    let low32 = |ctx: &mut Ctx<'_>| {
        if from == F64 {
            ctx.helpers.need(Helper::F64);
            format!("tw_low32_f64({x})")
        } else {
            ctx.helpers.need(Helper::F32);
            format!("tw_low32_f32({x})")
        }
    };
    Ok(match (from, to) {
        (_, Bool) => match from {
            U8 | U32 => format!("({x} != 0u)"),
            I32 => format!("({x} != 0)"),
            // NaN is "not zero": an ordered `==` is false for it.
            _ => format!("!({x} == 0.0)"),
        },
        (Bool, _) => {
            let ty = compute_type(to);
            format!("select({ty}(0), {ty}(1), {x})")
        }
        (U8 | U32, U32) => x.to_string(),
        (U8 | U32, U8) | (I32, U8) => format!("(bitcast<u32>({x}) & 0xffu)"),
        (U8 | U32, I32) => format!("bitcast<i32>({x})"),
        (I32, U32) => format!("bitcast<u32>({x})"),
        (F16 | F32 | F64, U32) => low32(ctx),
        (F16 | F32 | F64, U8) => format!("({} & 0xffu)", low32(ctx)),
        (F16 | F32 | F64, I32) => format!("bitcast<i32>({})", low32(ctx)),
        // Integers convert with one correct rounding, like `as f64 as f32` on exact values.
        (U8 | U32 | I32 | F64, F32) => format!("f32({x})"),
        (F16, F32) => x.to_string(),
        (F32, F16) | (U8 | U32 | I32, F16) => finish(ctx, F16, &format!("f32({x})")),
        (F64, F16) if ctx.f16_native => format!("f32(f16({x}))"),
        // Without native f16 this rounds twice (f64 -> f32 -> f16): rare ties can differ.
        (F64, F16) => finish(ctx, F16, &format!("f32({x})")),
        (_, F64) => format!("f64({x})"),
        _ => return Err(ctx.unsupported("astype", from)),
    })
}

/// `op(x)` for `x` of dtype `dtype`; `IsNan`/`IsFinite` give bool, the rest `dtype`.
pub(crate) fn unary(ctx: &mut Ctx<'_>, op: UnaryOp, dtype: DType, x: &str) -> Result<String> {
    use UnaryOp::*;
    let bad = |ctx: &Ctx<'_>| Err(ctx.unsupported(op.name(), dtype));
    match dtype {
        DType::F16 | DType::F32 | DType::F64 => {
            let f = if dtype == DType::F64 { "f64" } else { "f32" };
            if dtype == DType::F64 && op.float_only() && op != Sqrt {
                return bad(ctx);
            }
            Ok(match op {
                Neg => format!("-{x}"),
                Round if dtype == DType::F64 => {
                    ctx.helpers.need(Helper::F64);
                    format!("tw_round_f64({x})")
                }
                Floor | Ceil if dtype == DType::F64 => {
                    ctx.helpers.need(Helper::F64);
                    format!("tw_keep_sign_f64({}({x}), {x})", op_fn(op))
                }
                Abs | Sqrt | Exp | Log | Sin | Cos | Tan | Floor | Ceil => {
                    format!("{}({x})", op_fn(op))
                }
                Round => format!("round({x})"),
                Tanh => {
                    ctx.helpers.need(Helper::F32);
                    format!("tw_tanh_f32({x})")
                }
                IsNan | IsFinite => {
                    ctx.helpers
                        .need(if f == "f64" { Helper::F64 } else { Helper::F32 });
                    let which = if op == IsNan { "isnan" } else { "isfinite" };
                    format!("tw_{which}_{f}({x})")
                }
                Not => return bad(ctx),
            })
        }
        DType::I32 | DType::U32 | DType::U8 => Ok(match op {
            Neg if dtype == DType::I32 => format!("-{x}"),
            Neg => format!("(0u - {x})"),
            Abs if dtype == DType::I32 => format!("abs({x})"),
            Abs | Floor | Ceil | Round => x.to_string(),
            IsNan => "false".into(),
            IsFinite => "true".into(),
            _ => return bad(ctx),
        }),
        DType::Bool => Ok(match op {
            Not => format!("!{x}"),
            Abs => x.to_string(),
            IsNan => "false".into(),
            IsFinite => "true".into(),
            _ => return bad(ctx),
        }),
        DType::I64 => bad(ctx),
    }
}

fn op_fn(op: UnaryOp) -> &'static str {
    match op {
        UnaryOp::Abs => "abs",
        UnaryOp::Sqrt => "sqrt",
        UnaryOp::Exp => "exp",
        UnaryOp::Log => "log",
        UnaryOp::Sin => "sin",
        UnaryOp::Cos => "cos",
        UnaryOp::Tan => "tan",
        UnaryOp::Floor => "floor",
        UnaryOp::Ceil => "ceil",
        _ => "",
    }
}

/// `op(a, b)` for operands of dtype `dtype`; comparisons give bool, the rest `dtype`.
pub(crate) fn binary(
    ctx: &mut Ctx<'_>,
    op: BinaryOp,
    dtype: DType,
    a: &str,
    b: &str,
) -> Result<String> {
    use BinaryOp::*;
    let bad = |ctx: &Ctx<'_>| Err(ctx.unsupported(op.name(), dtype));
    if op.is_comparison() {
        return Ok(compare(op, dtype, a, b));
    }
    match dtype {
        DType::F16 | DType::F32 | DType::F64 => Ok(match op {
            Add | Sub | Mul | Div => format!("({a} {} {b})", infix(op)),
            Rem => format!("tw_rem_{}({a}, {b})", ctx.float_ops(dtype)),
            Maximum => format!("tw_maximum_{}({a}, {b})", ctx.float_ops(dtype)),
            Minimum => format!("tw_minimum_{}({a}, {b})", ctx.float_ops(dtype)),
            Pow if dtype != DType::F64 => {
                ctx.helpers.need(Helper::F32);
                format!("tw_pow_f32({a}, {b})")
            }
            _ => return bad(ctx),
        }),
        DType::I32 | DType::U32 | DType::U8 => {
            let t = if dtype == DType::I32 { "i32" } else { "u32" };
            Ok(match op {
                Add | Sub | Mul => format!("({a} {} {b})", infix(op)),
                Rem | Pow => {
                    ctx.helpers.need(Helper::Int);
                    let f = if op == Rem { "rem" } else { "pow" };
                    format!("tw_{f}_{t}({a}, {b})")
                }
                Maximum => format!("max({a}, {b})"),
                Minimum => format!("min({a}, {b})"),
                _ => return bad(ctx),
            })
        }
        // NumPy's bool loops: add/maximum are "or", multiply/minimum are "and".
        DType::Bool => Ok(match op {
            And | Mul | Minimum => format!("({a} && {b})"),
            Or | Add | Maximum => format!("({a} || {b})"),
            _ => return bad(ctx),
        }),
        DType::I64 => bad(ctx),
    }
}

fn infix(op: BinaryOp) -> &'static str {
    match op {
        BinaryOp::Add => "+",
        BinaryOp::Sub => "-",
        BinaryOp::Mul => "*",
        BinaryOp::Div => "/",
        BinaryOp::Eq => "==",
        BinaryOp::Ne => "!=",
        BinaryOp::Lt => "<",
        BinaryOp::Le => "<=",
        BinaryOp::Gt => ">",
        _ => ">=",
    }
}

fn compare(op: BinaryOp, dtype: DType, a: &str, b: &str) -> String {
    match (dtype, op) {
        // Drivers may compile float `!=` as an ordered comparison (false for NaN).
        (DType::F16 | DType::F32 | DType::F64, BinaryOp::Ne) => format!("!({a} == {b})"),
        // false < true, as Rust orders bools.
        (DType::Bool, BinaryOp::Lt) => format!("(!{a} && {b})"),
        (DType::Bool, BinaryOp::Le) => format!("(!{a} || {b})"),
        (DType::Bool, BinaryOp::Gt) => format!("({a} && !{b})"),
        (DType::Bool, BinaryOp::Ge) => format!("({a} || !{b})"),
        _ => format!("({a} {} {b})", infix(op)),
    }
}

/// `x ** c` for a constant float exponent with one of the CPU's fast paths (`pow.rs`), or
/// `None` when the general power applies.
pub(crate) fn pow_const(ctx: &mut Ctx<'_>, dtype: DType, c: Scalar, x: &str) -> Option<String> {
    let (f, max, min) = match dtype {
        DType::F16 | DType::F32 => ("f32", 4, -4),
        DType::F64 => ("f64", 2, -1),
        _ => return None,
    };
    let v = c.cast(dtype).to_f64();
    if v == 0.5 {
        // sqrt, except (-0) ** 0.5 = +0 and (-inf) ** 0.5 = +inf, as C's pow.
        return Some(format!(
            "select(sqrt({x}) + {f}(0), -{x}, {x} == -{f}(bitcast<f32>(0x7f800000u)))"
        ));
    }
    let n = v as i32;
    if f64::from(n) != v || !(min..=max).contains(&n) {
        return None;
    }
    // Powers beyond 2 and below -1 (f16/f32 only) are computed in f64 and rounded once, as
    // the CPU does; without f64 they round at every step (within an ulp or two).
    let w = if ctx.f64 {
        format!("f64({x})")
    } else {
        x.to_string()
    };
    let wide = |body: String| {
        if ctx.f64 {
            format!("f32({body})")
        } else {
            format!("({body})")
        }
    };
    Some(match n {
        0 => format!("{f}(1)"),
        1 => x.to_string(),
        2 => format!("({x} * {x})"),
        -1 => format!("({f}(1) / {x})"),
        3 => wide(format!("{w} * {w} * {w}")),
        4 => wide(format!("({w} * {w}) * ({w} * {w})")),
        -2 => wide(format!("1.0 / ({w} * {w})")),
        -3 => wide(format!("1.0 / ({w} * {w} * {w})")),
        _ => wide(format!("1.0 / (({w} * {w}) * ({w} * {w}))")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use half::f16;

    fn ctx(helpers: &mut Helpers) -> Ctx<'_> {
        Ctx {
            helpers,
            f16_native: false,
            f64: true,
            device: "test",
        }
    }

    #[test]
    fn literals_are_exact() {
        assert_eq!(
            literal(Scalar::F32(-0.0), DType::F32),
            "bitcast<f32>(0x80000000u)"
        );
        assert_eq!(
            literal(Scalar::F16(f16::from_f32(1.5)), DType::F16),
            "bitcast<f32>(0x3fc00000u)"
        );
        assert_eq!(literal(Scalar::F64(0.1), DType::F64), "f64(1e-1)");
        assert_eq!(
            literal(Scalar::I32(i32::MIN), DType::I32),
            "i32(-2147483647 - 1)"
        );
        assert_eq!(literal(Scalar::I64(300), DType::U8), "44u");
        assert_eq!(literal(Scalar::F64(2.0), DType::Bool), "true");
    }

    #[test]
    fn unsupported_ops_name_the_op_and_dtype() {
        let mut h = Helpers::new();
        let mut c = ctx(&mut h);
        let e = unary(&mut c, UnaryOp::Sin, DType::F64, "x").unwrap_err();
        assert!(matches!(
            e,
            tilework_core::Error::DTypeUnsupported {
                op: "sin",
                dtype: DType::F64,
                ..
            }
        ));
        assert!(binary(&mut c, BinaryOp::Div, DType::I32, "a", "b").is_err());
        assert!(binary(&mut c, BinaryOp::Pow, DType::F64, "a", "b").is_err());
        assert!(cast(&mut c, DType::I64, DType::F32, "x").is_err());
    }

    #[test]
    fn helpers_are_recorded() {
        let mut h = Helpers::new();
        let mut c = ctx(&mut h);
        assert_eq!(
            binary(&mut c, BinaryOp::Rem, DType::F32, "a", "b").unwrap(),
            "tw_rem_f32(a, b)"
        );
        assert_eq!(finish(&mut c, DType::F16, "x"), "tw_round_f16(x)");
        let text = h.render().unwrap();
        assert!(text.contains("fn tw_fmod_f32") && text.contains("fn tw_f32_to_f16"));
    }

    #[test]
    fn constant_powers_follow_the_cpu_fast_paths() {
        let mut h = Helpers::new();
        let mut c = ctx(&mut h);
        assert_eq!(
            pow_const(&mut c, DType::F32, Scalar::F32(2.0), "x").unwrap(),
            "(x * x)"
        );
        assert_eq!(
            pow_const(&mut c, DType::F32, Scalar::F32(3.0), "x").unwrap(),
            "f32(f64(x) * f64(x) * f64(x))"
        );
        assert!(pow_const(&mut c, DType::F64, Scalar::F64(3.0), "x").is_none());
        assert!(pow_const(&mut c, DType::F32, Scalar::F32(2.5), "x").is_none());
        assert!(pow_const(&mut c, DType::I32, Scalar::I32(2), "x").is_none());
    }
}
