//! WGSL code generation: a small writer ([`Writer`]), per-op expression builders ([`ops`]) and
//! the fused elementwise generator ([`expr`]).
//!
//! Generated code is one statement per line, one `let` per expression node, indented by
//! blocks, so that a failing shader can be read in the error message.

pub(crate) mod expr;
pub(crate) mod ops;

use crate::dtype::Repr;
use crate::shaders::Helpers;
use tilework_core::DType;

/// Builds WGSL text line by line with block indentation and numbered temporaries.
#[derive(Debug, Default)]
pub(crate) struct Writer {
    out: String,
    indent: usize,
    temps: usize,
}

impl Writer {
    /// A writer starting at `indent` levels (four spaces each).
    pub(crate) fn new(indent: usize) -> Writer {
        Writer {
            indent,
            ..Writer::default()
        }
    }

    /// Writes one line at the current indentation.
    pub(crate) fn line(&mut self, text: &str) {
        for _ in 0..self.indent {
            self.out.push_str("    ");
        }
        self.out.push_str(text);
        self.out.push('\n');
    }

    /// Writes `header {` and indents what follows.
    pub(crate) fn open(&mut self, header: &str) {
        self.line(&format!("{header} {{"));
        self.indent += 1;
    }

    /// Closes the innermost block.
    pub(crate) fn close(&mut self) {
        self.indent = self.indent.saturating_sub(1);
        self.line("}");
    }

    /// Writes `let tN: ty = value;` and returns the new temporary's name.
    pub(crate) fn temp(&mut self, ty: &str, value: &str) -> String {
        let name = format!("t{}", self.temps);
        self.temps += 1;
        self.line(&format!("let {name}: {ty} = {value};"));
        name
    }

    /// Writes `var name: ty = value;`.
    pub(crate) fn var(&mut self, name: &str, ty: &str, value: &str) {
        self.line(&format!("var {name}: {ty} = {value};"));
    }

    /// The text written so far.
    pub(crate) fn finish(self) -> String {
        self.out
    }
}

/// Storage bindings of a kernel reading `inputs` and writing `out`: `{prefix}in0..` read-only
/// at bindings 1.., then `{prefix}out` (binding 0 is the params).
pub(crate) fn storage_bindings(prefix: &str, inputs: &[Repr], out: Repr) -> String {
    let mut b = Writer::new(0);
    for (k, repr) in inputs.iter().enumerate() {
        b.line(&format!(
            "@group(0) @binding({}) var<storage, read> {prefix}in{k}: array<{}>;",
            k + 1,
            repr.storage()
        ));
    }
    b.line(&format!(
        "@group(0) @binding({}) var<storage, read_write> {prefix}out: array<{}>;",
        inputs.len() + 1,
        out.storage()
    ));
    b.finish()
}

/// The f16 helpers a kernel over `inputs` and `out` needs, and whether it stores f16 natively
/// (so its shader must `enable f16;`).
pub(crate) fn f16_helpers(helpers: &mut Helpers, inputs: &[Repr], out: Repr, native: bool) -> bool {
    let any_f16 = out.dtype == DType::F16 || inputs.iter().any(|r| r.dtype == DType::F16);
    if any_f16 && !native {
        helpers.need_f16(false);
    }
    any_f16 && native
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writer_indents_blocks_and_numbers_temporaries() {
        let mut w = Writer::new(1);
        let a = w.temp("f32", "1.0");
        w.open("if (x)");
        let b = w.temp("f32", &format!("{a} + 2.0"));
        w.var("acc", "u32", "0u");
        w.close();
        w.line(&format!("out[i] = {b};"));
        assert_eq!(
            w.finish(),
            "    let t0: f32 = 1.0;\n    if (x) {\n        let t1: f32 = t0 + 2.0;\n        \
             var acc: u32 = 0u;\n    }\n    out[i] = t1;\n"
        );
    }
}
