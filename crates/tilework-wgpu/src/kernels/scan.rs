//! Scans: `ScanLocal` (the chunk scanned along an axis, and its last slice), `ScanCarry`
//! (`carry (op) last`) and `ScanApply` (`scanned (op) carry`, the carry broadcast along the
//! axis), with the CPU backend's semantics (`tilework-cpu/src/scan.rs`): values accumulate in
//! the output dtype (the input's float dtype, f16 rounded at every step; i64 for integers and
//! bool, wrapping).
//!
//! `ScanLocal` runs one of two kernels: one invocation per line, serial (the CPU's order and
//! rounding, so bit-exact), or one workgroup per line with a tiled Hillis-Steele scan for few
//! long f32/f64/i64 lines (exact for i64; floats within the tolerance of `tests/gpu/scan.rs`).
//! i64 outputs need the backend to hold i64 buffers (`DTypeUnsupported` otherwise).

use super::reduce::I64;
use super::{Input, Launch, count};
use crate::codegen::Writer;
use crate::device::Features;
use crate::dispatch::{Params, Step};
use crate::dtype::{Repr, compute_type};
use crate::pipeline::Access;
use crate::shaders::{Helper, Helpers};
use crate::template::render;
use tilework_core::{BufferSpec, DType, Error, Kernel, Result, ScanOp, Shape};

const LINES: &str = include_str!("../../../../shaders/scan_lines.wgsl");
const TILES: &str = include_str!("../../../../shaders/scan_tiles.wgsl");
const APPLY: &str = include_str!("../../../../shaders/scan_apply.wgsl");

/// Lines below this count, each longer than [`TILE_MIN_LEN`], get a workgroup each.
const TILE_MAX_LINES: usize = 1024;
const TILE_MIN_LEN: usize = 64;

fn bad(detail: String) -> Error {
    Error::Device(format!("wgpu scan: {detail}"))
}

/// Which scan kernel.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Variant {
    Lines,
    Tiles,
    Apply,
}

/// The scan's accumulator functions for input dtype `input` and output dtype `out`.
fn algebra(op: ScanOp, input: Repr, out: Repr, helpers: &mut Helpers) -> Result<String> {
    let acc = acc_type(out.dtype);
    let mut w = Writer::new(0);
    let mut func = |name: &str, args: &str, ret: &str, body: &str| {
        w.open(&format!("fn {name}({args}) -> {ret}"));
        w.line(&format!("return {body};"));
        w.close();
    };
    let sum = op == ScanOp::CumSum;
    let (identity, combine) = match out.dtype {
        DType::I64 => {
            helpers.need(Helper::Index);
            let f = if sum { "tw_add64" } else { "rd_mul64" };
            let one = u8::from(!sum);
            (format!("vec2<u32>({one}u, 0u)"), format!("{f}(a, b)"))
        }
        DType::F16 | DType::F32 | DType::F64 => {
            let v = format!("a {} b", if sum { "+" } else { "*" });
            let combine = if out.dtype == DType::F16 {
                helpers.need_f16(out.f16_native);
                format!("tw_round_f16({v})")
            } else {
                v
            };
            (format!("{acc}({})", u8::from(!sum)), combine)
        }
        other => return Err(bad(format!("no scan accumulates in {other}"))),
    };
    func("sc_identity", "", acc, &identity);
    func("sc_combine", &format!("a: {acc}, b: {acc}"), acc, &combine);
    let from = |r: Repr, helpers: &mut Helpers| -> String {
        if r.dtype == DType::F16 && !r.f16_native {
            helpers.need_f16(false);
        }
        let v = r.load("x");
        match (r.dtype, out.dtype) {
            (DType::Bool, DType::I64) => format!("vec2<u32>(select(0u, 1u, {v}), 0u)"),
            (DType::U8 | DType::U32, DType::I64) => format!("vec2<u32>({v}, 0u)"),
            (DType::I32, DType::I64) => format!("rd_i64_from_i32({v})"),
            _ => v,
        }
    };
    let f_in = from(input, helpers);
    let f_out = from(out, helpers);
    func("sc_from", &format!("x: {}", storage(input)), acc, &f_in);
    func("sc_from_out", &format!("x: {}", storage(out)), acc, &f_out);
    func("sc_to", &format!("v: {acc}"), storage(out), &out.store("v"));
    let mut text = w.finish();
    if out.dtype == DType::I64 {
        text.push_str(I64);
    }
    Ok(text)
}

fn acc_type(d: DType) -> &'static str {
    match d {
        DType::I64 => "vec2<u32>",
        other => compute_type(other),
    }
}

fn storage(r: Repr) -> &'static str {
    match r.dtype {
        DType::I64 => "vec2<u32>",
        _ => r.storage(),
    }
}

/// The source of `variant` scanning `input` into `out`.
fn source(variant: Variant, op: ScanOp, input: Repr, out: Repr, f: &Features) -> Result<String> {
    let mut helpers = Helpers::new();
    let algebra = algebra(op, input, out, &mut helpers)?;
    let (file, template) = match variant {
        Variant::Lines => ("scan_lines.wgsl", LINES),
        Variant::Tiles => ("scan_tiles.wgsl", TILES),
        Variant::Apply => ("scan_apply.wgsl", APPLY),
    };
    let native = f.f16_native && (input.dtype == DType::F16 || out.dtype == DType::F16);
    render(
        file,
        template,
        &[
            ("enables", helpers.enables(native)),
            ("in_elem", storage(input)),
            ("out_elem", storage(out)),
            ("acc", acc_type(out.dtype)),
            ("helpers", &helpers.render()?),
            ("algebra", &algebra),
            ("workgroup", &f.workgroup.to_string()),
        ],
    )
}

/// `(outer, len, inner)` of `shape` around `axis`.
fn split(shape: &[usize], axis: usize) -> Result<(usize, usize, usize)> {
    if axis >= shape.len() {
        return Err(bad(format!("axis {axis} out of range for {shape:?}")));
    }
    let p = |s: &[usize]| s.iter().product::<usize>();
    Ok((p(&shape[..axis]), shape[axis], p(&shape[axis + 1..])))
}

fn expect_spec(spec: Option<&BufferSpec>, dtype: DType, shape: &[usize]) -> Result<()> {
    match spec {
        Some(s) if s.dtype == dtype && s.shape.as_slice() == shape => Ok(()),
        _ => Err(bad(format!(
            "output spec {spec:?} is not {dtype} {shape:?}"
        ))),
    }
}

/// Runs a `ScanLocal`, `ScanCarry` or `ScanApply` kernel.
pub(crate) fn scan(
    l: &Launch<'_>,
    kernel: &Kernel,
    inputs: &[Input],
    outputs: &[BufferSpec],
) -> Result<Vec<wgpu::Buffer>> {
    let (op, axis, n_inputs) = match *kernel {
        Kernel::ScanLocal { op, axis } => (op, Some(axis), 1),
        Kernel::ScanCarry { op } => (op, None, 2),
        Kernel::ScanApply { op, axis } => (op, Some(axis), 2),
        _ => return Err(bad(format!("{} is not a scan", kernel.family()))),
    };
    if inputs.len() != n_inputs || outputs.len() != 3 - n_inputs {
        return Err(bad(format!(
            "{} inputs and {} outputs for {n_inputs} and {}",
            inputs.len(),
            outputs.len(),
            3 - n_inputs
        )));
    }
    let first = &inputs[0];
    let f = l.features();
    let out_dtype = op.out_dtype(first.repr.dtype);
    let out = l.repr(out_dtype, "scan")?;
    let n = count(&first.shape, "scan input")?;
    let mut params = Params::new();
    let (variant, threads, sizes) = match (kernel, axis) {
        (Kernel::ScanLocal { .. }, Some(axis)) => {
            let (outer, len, inner) = split(&first.shape, axis)?;
            let mut last: Shape = first.shape.clone();
            last[axis] = 1;
            expect_spec(outputs.first(), out_dtype, &first.shape)?;
            expect_spec(outputs.get(1), out_dtype, &last)?;
            let lines = outer * inner;
            let tiled = out_dtype != DType::F16 && lines < TILE_MAX_LINES && len > TILE_MIN_LEN;
            params
                .len(lines, "lines")?
                .len(len, "line length")?
                .len(inner, "inner")?;
            let (variant, threads) = if tiled {
                (Variant::Tiles, lines as u64 * u64::from(f.workgroup))
            } else {
                (Variant::Lines, lines as u64)
            };
            (variant, threads, vec![n, lines])
        }
        (_, axis) => {
            let second = &inputs[1];
            let (len, inner, want) = match axis {
                Some(axis) => {
                    let (_, len, inner) = split(&first.shape, axis)?;
                    let mut carry: Shape = first.shape.clone();
                    carry[axis] = 1;
                    (len, inner, carry)
                }
                None => (1, n.max(1), first.shape.clone()),
            };
            if first.repr.dtype != out_dtype
                || second.repr.dtype != out_dtype
                || second.shape != want
            {
                return Err(bad(format!(
                    "{} {:?} and {} {:?} do not fit together",
                    first.repr.dtype,
                    first.shape.as_slice(),
                    second.repr.dtype,
                    second.shape.as_slice()
                )));
            }
            expect_spec(outputs.first(), out_dtype, &first.shape)?;
            params
                .len(n, "elements")?
                .len(len, "line length")?
                .len(inner, "inner")?;
            (Variant::Apply, n as u64, vec![n])
        }
    };
    let source = source(variant, op, first.repr, out, f)?;
    let rw = 3 - n_inputs;
    let mut bindings = vec![Access::Read; n_inputs];
    bindings.extend(std::iter::repeat_n(Access::ReadWrite, rw));
    let pipeline = l.pipeline("scan", &source, &bindings, || Ok(source.clone()))?;
    let outs = sizes
        .iter()
        .map(|&k| l.alloc(out, k))
        .collect::<Result<Vec<_>>>()?;
    let mut buffers: Vec<&wgpu::Buffer> = inputs.iter().map(|i| &i.buffer).collect();
    buffers.extend(&outs);
    l.submit(&[Step {
        pipeline: &pipeline,
        buffers,
        params,
        threads,
    }])?;
    Ok(outs)
}

/// Every scan shader variant for a device with `f` (for the naga test).
#[cfg(test)]
pub(crate) fn shaders(f: &Features) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let repr = |dtype| Repr {
        dtype,
        f16_native: f.f16_native,
    };
    let mut dtypes = crate::dtype::supported(f.f64);
    if !dtypes.contains(&DType::I64) {
        dtypes.push(DType::I64);
    }
    for op in [ScanOp::CumSum, ScanOp::CumProd] {
        for &d in &dtypes {
            let o = op.out_dtype(d);
            for v in [Variant::Lines, Variant::Tiles, Variant::Apply] {
                let src = source(v, op, repr(d), repr(o), f)?;
                out.push((format!("scan {v:?} {op:?} {d}"), src));
            }
        }
    }
    Ok(out)
}
