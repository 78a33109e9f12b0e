//! The WGSL sources in the repository's `shaders/` folder, and the helper libraries kernels
//! pull in by name.

use crate::template::render;
use std::collections::BTreeSet;
use tilework_core::Result;

/// `fill.wgsl`.
pub(crate) const FILL: &str = include_str!("../../../shaders/fill.wgsl");
/// `arange.wgsl`.
pub(crate) const ARANGE: &str = include_str!("../../../shaders/arange.wgsl");
/// `eye.wgsl`.
pub(crate) const EYE: &str = include_str!("../../../shaders/eye.wgsl");
/// `random.wgsl`.
pub(crate) const RANDOM: &str = include_str!("../../../shaders/random.wgsl");
/// `elementwise.wgsl`.
pub(crate) const ELEMENTWISE: &str = include_str!("../../../shaders/elementwise.wgsl");
/// `gather.wgsl`.
pub(crate) const GATHER: &str = include_str!("../../../shaders/gather.wgsl");
/// `user.wgsl`.
pub(crate) const USER: &str = include_str!("../../../shaders/user.wgsl");
/// `reshape.wgsl`.
pub(crate) const RESHAPE: &str = include_str!("../../../shaders/reshape.wgsl");

const INDEX: &str = include_str!("../../../shaders/index.wgsl");
const FLOAT_F32: &str = include_str!("../../../shaders/float_f32.wgsl");
const FLOAT_F64: &str = include_str!("../../../shaders/float_f64.wgsl");
const FLOAT_OPS: &str = include_str!("../../../shaders/float_ops.wgsl");
const INT_OPS: &str = include_str!("../../../shaders/int_ops.wgsl");
const F16_SOFT: &str = include_str!("../../../shaders/f16_soft.wgsl");
const F16_NATIVE: &str = include_str!("../../../shaders/f16_native.wgsl");

/// A helper library a kernel can include.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Helper {
    /// 64-bit index arithmetic and the global flat index (`index.wgsl`).
    Index,
    /// f32 bit tests, pow, tanh, float-to-int bits (`float_f32.wgsl`).
    F32,
    /// f64 bit tests and construction from bits (`float_f64.wgsl`).
    F64,
    /// fmod, remainder, maximum, minimum for f32 (`float_ops.wgsl`).
    FloatOpsF32,
    /// The same for f64.
    FloatOpsF64,
    /// Integer remainder and power (`int_ops.wgsl`).
    Int,
    /// Software f16 conversions and rounding (`f16_soft.wgsl`).
    F16Soft,
    /// f16 rounding through the native type (`f16_native.wgsl`; needs `enable f16;`).
    F16Native,
}

/// The helper libraries one shader needs.
#[derive(Clone, Debug, Default)]
pub(crate) struct Helpers(BTreeSet<Helper>);

impl Helpers {
    /// No helpers yet.
    pub(crate) fn new() -> Helpers {
        Helpers::default()
    }

    /// Adds `h` and what it builds on.
    pub(crate) fn need(&mut self, h: Helper) {
        match h {
            Helper::FloatOpsF32 => self.need(Helper::F32),
            Helper::FloatOpsF64 => self.need(Helper::F64),
            _ => {}
        }
        self.0.insert(h);
    }

    /// Adds the f16 rounding helper of the storage mode.
    pub(crate) fn need_f16(&mut self, native: bool) {
        self.need(if native {
            Helper::F16Native
        } else {
            Helper::F16Soft
        });
    }

    /// The `enable` directives the helpers (or `extra_f16`, a shader with f16 storage) need.
    pub(crate) fn enables(&self, extra_f16: bool) -> &'static str {
        if extra_f16 || self.0.contains(&Helper::F16Native) {
            "enable f16;"
        } else {
            ""
        }
    }

    /// The helpers' WGSL, in a fixed order.
    pub(crate) fn render(&self) -> Result<String> {
        let mut out = String::new();
        for h in &self.0 {
            let text = match h {
                Helper::Index => INDEX.to_string(),
                Helper::F32 => FLOAT_F32.to_string(),
                Helper::F64 => FLOAT_F64.to_string(),
                Helper::FloatOpsF32 => render("float_ops.wgsl", FLOAT_OPS, &[("F", "f32")])?,
                Helper::FloatOpsF64 => render("float_ops.wgsl", FLOAT_OPS, &[("F", "f64")])?,
                Helper::Int => INT_OPS.to_string(),
                Helper::F16Soft => F16_SOFT.to_string(),
                Helper::F16Native => F16_NATIVE.to_string(),
            };
            out.push_str(&text);
            out.push('\n');
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependencies_are_pulled_in_and_f16_native_enables_f16() {
        let mut h = Helpers::new();
        h.need(Helper::FloatOpsF64);
        let text = h.render().unwrap();
        assert!(text.contains("fn tw_isnan_f64") && text.contains("fn tw_rem_f64"));
        assert_eq!(h.enables(false), "");
        h.need_f16(true);
        assert_eq!(h.enables(false), "enable f16;");
    }
}
