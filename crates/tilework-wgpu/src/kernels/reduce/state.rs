//! The state algebra of each reduction in WGSL: the `State` struct, `st_empty`, `st_fold` and
//! `st_merge` (from `shaders/reduce_state_*.wgsl`), the generated conversions they call, and
//! the functions that move states between the struct and their component buffers (one buffer
//! per component, as `tilework_core::kernel::reduce_state_specs` lists them).
//!
//! Field types keep every value exact: bool and u8 are u32, f16 is f32, i64 is vec2<u32>
//! (low, high) words; WGSL has no 64-bit integers without SHADER_INT64.

use crate::codegen::Writer;
use crate::device::Features;
use crate::dtype::{Repr, compute_type, unsupported};
use crate::shaders::{Helper, Helpers};
use crate::template::render;
use tilework_core::kernel::reduce_state_specs;
use tilework_core::{DType, Error, ReduceOp, Result};

const ACC: &str = include_str!("../../../../../shaders/reduce_state_acc.wgsl");
const PICK: &str = include_str!("../../../../../shaders/reduce_state_pick.wgsl");
const MOMENTS: &str = include_str!("../../../../../shaders/reduce_state_moments.wgsl");
const ARG: &str = include_str!("../../../../../shaders/reduce_state_arg.wgsl");
/// `reduce_i64.wgsl`: wrapping i64 arithmetic on vec2<u32> (also used by the scan kernels).
pub(crate) const I64: &str = include_str!("../../../../../shaders/reduce_i64.wgsl");

/// Which state an operator keeps.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Kind {
    /// Sum or product, in f64 (`float`) or wrapping i64.
    Acc { float: bool, prod: bool },
    /// Min/max (any/all on bool).
    Pick { max: bool },
    /// Count, mean, m2.
    Moments,
    /// Argmin/argmax.
    Arg { max: bool },
}

/// The state of one reduction over values of one dtype.
#[derive(Clone, Debug)]
pub(super) struct Algebra {
    kind: Kind,
    /// Dtype of the values folded in (for `Combine`, a stand-in implied by the states).
    value: DType,
    /// Dtype of each component buffer.
    components: Vec<DType>,
}

impl Algebra {
    /// The state of `op` over values of `value`.
    ///
    /// # Errors
    /// `DTypeUnsupported` for what the CPU rejects too (any/all of non-bool).
    pub(super) fn new(op: ReduceOp, value: DType, device: &str) -> Result<Algebra> {
        let kind = match op {
            ReduceOp::Sum | ReduceOp::Prod => Kind::Acc {
                float: value.is_float(),
                prod: op == ReduceOp::Prod,
            },
            ReduceOp::Min | ReduceOp::Max => Kind::Pick {
                max: op == ReduceOp::Max,
            },
            ReduceOp::Any | ReduceOp::All if value != DType::Bool => {
                return Err(unsupported(op.name(), value, device));
            }
            ReduceOp::Any | ReduceOp::All => Kind::Pick {
                max: op == ReduceOp::Any,
            },
            ReduceOp::Mean | ReduceOp::Var { .. } | ReduceOp::Std { .. } => Kind::Moments,
            ReduceOp::ArgMin | ReduceOp::ArgMax => Kind::Arg {
                max: op == ReduceOp::ArgMax,
            },
        };
        let components = reduce_state_specs(op, value, &[])
            .into_iter()
            .map(|s| s.dtype)
            .collect();
        Ok(Algebra {
            kind,
            value,
            components,
        })
    }

    /// The state of `op` whose first component has dtype `first` (what `Combine` receives).
    ///
    /// # Errors
    /// `DTypeUnsupported` for a sum or product accumulator that is neither f64 nor i64 (as
    /// the CPU reports it).
    pub(super) fn for_states(op: ReduceOp, first: DType, device: &str) -> Result<Algebra> {
        let acc = matches!(op, ReduceOp::Sum | ReduceOp::Prod);
        if acc && !matches!(first, DType::F64 | DType::I64) {
            return Err(unsupported(op.name(), first, device));
        }
        // A value dtype that yields these components (the value itself is never folded).
        let value = match op {
            ReduceOp::Sum | ReduceOp::Prod if first == DType::I64 => DType::I32,
            ReduceOp::Sum | ReduceOp::Prod | ReduceOp::Mean => DType::F64,
            ReduceOp::Var { .. } | ReduceOp::Std { .. } => DType::F64,
            _ => first,
        };
        Algebra::new(op, value, device)
    }

    /// Component dtypes, in buffer order.
    pub(super) fn components(&self) -> &[DType] {
        &self.components
    }

    /// Struct field of each component.
    fn fields(&self) -> &'static [&'static str] {
        match self.kind {
            Kind::Acc { .. } => &["acc"],
            Kind::Pick { .. } => &["v"],
            Kind::Moments => &["n", "mean", "m2"],
            Kind::Arg { .. } => &["v", "i"],
        }
    }

    /// The state struct, its operations and the conversions they call.
    pub(super) fn render(&self, helpers: &mut Helpers) -> Result<String> {
        helpers.need(Helper::Index);
        let v = value_type(self.value);
        let field = field_type(self.value);
        let mut w = Writer::new(0);
        let (file, template, vars): (&str, &str, Vec<(&str, String)>) = match self.kind {
            Kind::Acc { float, prod } => {
                let one = u8::from(prod);
                let (acc, identity, combine, widen) = if float {
                    let op = if prod { "*" } else { "+" };
                    (
                        "f64",
                        format!("f64({one})"),
                        format!("a {op} b"),
                        "f64(v)".into(),
                    )
                } else {
                    let f = if prod { "rd_mul64" } else { "tw_add64" };
                    let widen = widen_i64(self.value, "v").ok_or_else(|| {
                        Error::Device(format!("wgpu reduce: no i64 widening of {}", self.value))
                    })?;
                    (
                        "vec2<u32>",
                        format!("vec2<u32>({one}u, 0u)"),
                        format!("{f}(a, b)"),
                        widen,
                    )
                };
                func(&mut w, "rd_widen", &format!("v: {v}"), acc, &widen);
                func(
                    &mut w,
                    "rd_combine",
                    &format!("a: {acc}, b: {acc}"),
                    acc,
                    &combine,
                );
                let vars = vec![
                    ("acc", acc.to_string()),
                    ("identity", identity.to_string()),
                    ("value", v.to_string()),
                ];
                ("reduce_state_acc.wgsl", ACC, vars)
            }
            Kind::Pick { max } => {
                self.value_fns(&mut w, helpers);
                let keep = compare(self.value, if max { ">=" } else { "<=" });
                func(
                    &mut w,
                    "rd_keep",
                    &format!("a: {field}, b: {field}"),
                    "bool",
                    &keep,
                );
                let vars = vec![
                    ("field", field.to_string()),
                    ("identity", extreme(self.value, max)),
                    ("value", v.to_string()),
                ];
                ("reduce_state_pick.wgsl", PICK, vars)
            }
            Kind::Moments => {
                // `tw_isfinite_f64`, for the means of infinite values.
                helpers.need(Helper::F64);
                // i64: the high word times 2^32 is exact, so only the sum rounds (`as f64`).
                let to_f64 = match self.value {
                    DType::Bool => "select(f64(0), f64(1), v)",
                    DType::I64 => "f64(bitcast<i32>(v.y)) * 4294967296.0 + f64(v.x)",
                    _ => "f64(v)",
                };
                func(&mut w, "rd_f64", &format!("v: {v}"), "f64", to_f64);
                (
                    "reduce_state_moments.wgsl",
                    MOMENTS,
                    vec![("value", v.to_string())],
                )
            }
            Kind::Arg { max } => {
                self.value_fns(&mut w, helpers);
                let beats = compare(self.value, if max { ">" } else { "<" });
                func(
                    &mut w,
                    "rd_beats",
                    &format!("a: {field}, b: {field}"),
                    "bool",
                    &beats,
                );
                let vars = vec![
                    ("field", field.to_string()),
                    ("zero", format!("{field}(0)")),
                    ("value", v.to_string()),
                ];
                ("reduce_state_arg.wgsl", ARG, vars)
            }
        };
        let int64 = self.value == DType::I64 && !matches!(self.kind, Kind::Moments);
        if matches!(self.kind, Kind::Acc { float: false, .. }) || int64 {
            // rd_mul64, the widening helpers and the signed comparison.
            w.line(I64);
        }
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let mut out = w.finish();
        out.push_str(&render(file, template, &vars)?);
        Ok(out)
    }

    /// `rd_field` (value to field) and `rd_isnan` over fields.
    fn value_fns(&self, w: &mut Writer, helpers: &mut Helpers) {
        let v = value_type(self.value);
        let field = field_type(self.value);
        let to_field = if self.value == DType::Bool {
            "select(0u, 1u, v)"
        } else {
            "v"
        };
        func(w, "rd_field", &format!("v: {v}"), field, to_field);
        let isnan = match self.value {
            DType::F16 | DType::F32 => {
                helpers.need(Helper::F32);
                "tw_isnan_f32(x)"
            }
            DType::F64 => {
                helpers.need(Helper::F64);
                "tw_isnan_f64(x)"
            }
            _ => "false",
        };
        func(w, "rd_isnan", &format!("x: {field}"), "bool", isnan);
    }

    /// Bindings `c0`, `c1`, ... of the component buffers, from binding `first` on.
    pub(super) fn bindings(&self, w: &mut Writer, first: usize, read_only: bool, f: &Features) {
        let access = if read_only { "read" } else { "read_write" };
        for (j, &d) in self.components.iter().enumerate() {
            w.line(&format!(
                "@group(0) @binding({}) var<storage, {access}> c{j}: array<{}>;",
                first + j,
                storage(d, f)
            ));
        }
    }

    /// `rd_sink(o, s)`: writes state `s` to element `o` of the component buffers.
    pub(super) fn sink(&self, helpers: &mut Helpers, f: &Features) -> String {
        let mut w = Writer::new(0);
        w.open("fn rd_sink(o: u32, s: State)");
        for (j, (&d, name)) in self.components.iter().zip(self.fields()).enumerate() {
            let v = format!("s.{name}");
            let stored = match d {
                DType::F16 => {
                    let r = repr(d, f);
                    if !f.f16_native {
                        helpers.need_f16(false);
                    }
                    r.store(&v)
                }
                _ => v,
            };
            w.line(&format!("c{j}[o] = {stored};"));
        }
        w.close();
        w.finish()
    }

    /// `rd_load(e)`: the state at element `e` of the component buffers.
    pub(super) fn load(&self, helpers: &mut Helpers, f: &Features) -> String {
        let parts: Vec<String> = self
            .components
            .iter()
            .enumerate()
            .map(|(j, &d)| {
                let x = format!("c{j}[e]");
                match d {
                    DType::Bool => format!("select(0u, 1u, {x} != 0u)"),
                    DType::F16 => {
                        if !f.f16_native {
                            helpers.need_f16(false);
                        }
                        repr(d, f).load(&x)
                    }
                    _ => x,
                }
            })
            .collect();
        let mut w = Writer::new(0);
        func(
            &mut w,
            "rd_load",
            "e: u32",
            "State",
            &format!("State({})", parts.join(", ")),
        );
        w.finish()
    }

    /// Whether any component buffer holds native f16.
    pub(super) fn native_f16(&self, f: &Features) -> bool {
        f.f16_native && self.components.contains(&DType::F16)
    }

    /// Whether the state or the values are f64 (the naga test skips those without f64).
    #[cfg(test)]
    pub(super) fn uses_f64(&self) -> bool {
        matches!(self.kind, Kind::Moments | Kind::Acc { float: true, .. })
            || self.value == DType::F64
    }
}

/// `fn name(args) -> ret { return body; }`.
fn func(w: &mut Writer, name: &str, args: &str, ret: &str, body: &str) {
    w.open(&format!("fn {name}({args}) -> {ret}"));
    w.line(&format!("return {body};"));
    w.close();
}

/// The i64 words of an integer or bool value `v`, or `None` for floats.
fn widen_i64(value: DType, v: &str) -> Option<String> {
    Some(match value {
        DType::Bool => format!("vec2<u32>(select(0u, 1u, {v}), 0u)"),
        DType::U8 | DType::U32 => format!("rd_i64_from_u32({v})"),
        DType::I32 => format!("rd_i64_from_i32({v})"),
        DType::I64 => v.to_string(),
        _ => return None,
    })
}

/// WGSL type values of `dtype` are computed in (i64 values as vec2<u32> words).
pub(super) fn value_type(dtype: DType) -> &'static str {
    match dtype {
        DType::I64 => "vec2<u32>",
        _ => compute_type(dtype),
    }
}

/// `a cmp b` for fields of `dtype` (`cmp` one of `<`, `<=`, `>`, `>=`).
fn compare(dtype: DType, cmp: &str) -> String {
    if dtype != DType::I64 {
        return format!("a {cmp} b");
    }
    match cmp {
        "<" => "rd_lt_i64(a, b)",
        ">" => "rd_lt_i64(b, a)",
        "<=" => "!rd_lt_i64(b, a)",
        _ => "!rd_lt_i64(a, b)",
    }
    .to_string()
}

/// The struct field type holding a value of `dtype` exactly.
pub(super) fn field_type(dtype: DType) -> &'static str {
    match dtype {
        DType::Bool | DType::U8 | DType::U32 => "u32",
        DType::I32 => "i32",
        DType::F16 | DType::F32 => "f32",
        DType::F64 => "f64",
        DType::I64 => "vec2<u32>",
    }
}

/// The smallest (`min == true`) or largest value of `dtype`, as a field literal: the identity
/// of max (min).
fn extreme(dtype: DType, min: bool) -> String {
    let inf = if min { "0xff800000u" } else { "0x7f800000u" };
    match (dtype, min) {
        (DType::Bool | DType::U8 | DType::U32, true) => "0u".into(),
        (DType::Bool, false) => "1u".into(),
        (DType::U8, false) => "255u".into(),
        (DType::U32, false) => "0xffffffffu".into(),
        (DType::I32, true) => "i32(-2147483647 - 1)".into(),
        (DType::I32, false) => "i32(2147483647)".into(),
        (DType::I64, true) => "vec2<u32>(0u, 0x80000000u)".into(),
        (DType::I64, false) => "vec2<u32>(0xffffffffu, 0x7fffffffu)".into(),
        (DType::F64, _) => format!("f64(bitcast<f32>({inf}))"),
        _ => format!("bitcast<f32>({inf})"),
    }
}

/// WGSL storage element of a component (or task input) of `dtype`.
pub(super) fn storage(dtype: DType, f: &Features) -> &'static str {
    match dtype {
        DType::I64 => "vec2<u32>",
        _ => repr(dtype, f).storage(),
    }
}

/// The representation of `dtype` on a device with `f` (validity is checked by the caller).
pub(super) fn repr(dtype: DType, f: &Features) -> Repr {
    Repr {
        dtype,
        f16_native: f.f16_native,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_follow_the_contract() {
        let a = Algebra::new(ReduceOp::ArgMax, DType::F16, "t").unwrap();
        assert_eq!(a.components(), &[DType::F16, DType::I64]);
        let s = Algebra::for_states(ReduceOp::Sum, DType::I64, "t").unwrap();
        assert_eq!(s.components(), &[DType::I64]);
        let m = Algebra::for_states(ReduceOp::Mean, DType::F64, "t").unwrap();
        assert_eq!(m.components().len(), 3);
        assert!(Algebra::new(ReduceOp::Any, DType::F32, "t").is_err());
        assert!(Algebra::new(ReduceOp::Min, DType::I64, "t").is_ok());
    }

    #[test]
    fn identities_are_the_extremes() {
        assert_eq!(extreme(DType::U8, false), "255u");
        assert_eq!(extreme(DType::I32, true), "i32(-2147483647 - 1)");
        assert_eq!(extreme(DType::F16, true), "bitcast<f32>(0xff800000u)");
    }
}
