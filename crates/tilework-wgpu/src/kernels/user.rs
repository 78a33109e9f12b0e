//! User kernels written in WGSL: `MapBlocks` and `Overlap` whose [`BlockFn`] carries a
//! [`WgslBody`] (without one they are host closures, and this backend declines them).
//!
//! The body becomes `fn tw_user()` in `shaders/user.wgsl`, run once per output element, with
//! generated accessors `in0(d0, ..)`, `in1(..)` (one per input, one offset per axis). For
//! `Overlap` the halo-extended block is first assembled on the device from the input chunks by
//! the gather kernel (one per input array) and, when the stencil has a fused producer, evaluated
//! by the elementwise kernel; the user kernel then reads that block around each output element,
//! so the trim costs nothing.

use super::{Input, Launch, count, elementwise, gather};
use crate::codegen::{self, Writer, ops};
use crate::device::Features;
use crate::dispatch::Params;
use crate::dtype::{Repr, compute_type, unsupported};
use crate::pipeline::Access;
use crate::shaders::{self, Helpers};
use crate::template::render;
use tilework_core::{
    BlockFn, BufferSpec, DType, Error, Kernel, Region, Result, Scalar, Shape, WgslBody,
};

/// How the user kernel sees one input buffer.
struct View<'a> {
    input: &'a Input,
    /// The input's shape, padded with leading 1s to the output's rank.
    shape: Shape,
    /// Block position of output element 0.
    origin: Vec<i64>,
}

/// The user kernel's WGSL, or "unsupported" (the scheduler then runs the host closure).
fn body_of<'f>(func: &'f BlockFn, dtype: DType, l: &Launch<'_>) -> Result<&'f WgslBody> {
    func.wgsl
        .as_deref()
        .ok_or_else(|| unsupported("user kernel without a WGSL body", dtype, &l.features().name))
}

/// Runs a `MapBlocks` kernel with a WGSL body; inputs broadcast to the output block.
pub(crate) fn map_blocks(
    l: &Launch<'_>,
    kernel: &Kernel,
    inputs: &[Input],
    spec: &BufferSpec,
) -> Result<wgpu::Buffer> {
    let Kernel::MapBlocks {
        func,
        chunk_start,
        global_shape,
    } = kernel
    else {
        return Err(Error::Device(
            "wgpu map_blocks: not a map_blocks kernel".into(),
        ));
    };
    let body = body_of(func, spec.dtype, l)?;
    let rank = spec.shape.len();
    let mut views = Vec::with_capacity(inputs.len());
    for input in inputs {
        let lead = rank.checked_sub(input.shape.len());
        let shape: Option<Shape> = lead.map(|lead| {
            std::iter::repeat_n(1, lead)
                .chain(input.shape.iter().copied())
                .collect()
        });
        match shape {
            Some(shape)
                if shape
                    .iter()
                    .zip(&spec.shape)
                    .all(|(&i, &o)| i == o || i == 1) =>
            {
                views.push(View {
                    input,
                    shape,
                    origin: vec![0; rank],
                })
            }
            _ => {
                return Err(Error::UserKernel(format!(
                    "{}: an input block of shape {:?} does not broadcast to the output block {:?}",
                    func.name, input.shape, spec.shape
                )));
            }
        }
    }
    run(
        l,
        func,
        body,
        &views,
        &[],
        (chunk_start, global_shape),
        spec,
    )
}

/// Runs an `Overlap` kernel with a WGSL body.
pub(crate) fn overlap(
    l: &Launch<'_>,
    kernel: &Kernel,
    inputs: &[Input],
    spec: &BufferSpec,
) -> Result<wgpu::Buffer> {
    let Kernel::Overlap {
        block_shape,
        pieces,
        slots,
        num_arrays,
        const_regions,
        expr,
        func,
        trim,
        global_shape,
        chunk_start,
    } = kernel
    else {
        return Err(Error::Device("wgpu overlap: not an overlap kernel".into()));
    };
    let body = body_of(func, spec.dtype, l)?;
    if inputs.len() != slots * num_arrays || (expr.is_none() && *num_arrays != 1) {
        return Err(Error::Device(format!(
            "wgpu overlap: {} inputs for {num_arrays} arrays of {slots} chunks",
            inputs.len()
        )));
    }
    if trim.shape != spec.shape {
        return Err(Error::Device(format!(
            "wgpu overlap: trim {:?} for an output of shape {:?}",
            trim.shape, spec.shape
        )));
    }
    let mut blocks = Vec::with_capacity(*num_arrays);
    for group in inputs.chunks(*slots) {
        let dtype = group[0].repr.dtype;
        let block_spec = BufferSpec {
            dtype,
            shape: block_shape.clone(),
        };
        let buffer = gather::gather(l, pieces, None, group, &block_spec)?;
        blocks.push(Input {
            repr: group[0].repr,
            shape: block_shape.clone(),
            buffer,
        });
    }
    let block = match expr {
        Some(e) => {
            let out_spec = BufferSpec {
                dtype: e.dtype(),
                shape: block_shape.clone(),
            };
            Input {
                repr: l.repr(e.dtype(), "overlap")?,
                shape: block_shape.clone(),
                buffer: elementwise::elementwise(l, e, &blocks, &out_spec)?,
            }
        }
        None => blocks.remove(0),
    };
    let view = View {
        input: &block,
        shape: block_shape.clone(),
        origin: trim.start.iter().map(|&s| s as i64).collect(),
    };
    run(
        l,
        func,
        body,
        &[view],
        const_regions,
        (chunk_start, global_shape),
        spec,
    )
}

/// Builds (or fetches) the user kernel's pipeline and runs it over the output block.
fn run(
    l: &Launch<'_>,
    func: &BlockFn,
    body: &WgslBody,
    views: &[View<'_>],
    const_regions: &[(Region, Scalar)],
    (chunk_start, global_shape): (&Shape, &Shape),
    spec: &BufferSpec,
) -> Result<wgpu::Buffer> {
    let rank = spec.shape.len();
    let out = l.repr(spec.dtype, "user kernel")?;
    if rank == 0 {
        return Err(unsupported(
            "user WGSL kernel on a 0-d array",
            spec.dtype,
            &l.features().name,
        ));
    }
    let n = count(&spec.shape, "user kernel output")?;
    let reprs: Vec<Repr> = views.iter().map(|v| v.input.repr).collect();
    let constant = const_regions.first().map(|(_, value)| *value);
    let source = source(&func.name, body, &reprs, constant, out, rank, l.features())?;
    let bindings: Vec<Access> = views
        .iter()
        .map(|_| Access::Read)
        .chain([Access::ReadWrite])
        .collect();
    let pipeline = l
        .pipeline("user", &source, &bindings, || Ok(source.clone()))
        .map_err(|e| Error::UserKernel(format!("{}: {e}", func.name)))?;
    let as_i32 = |v: i64| {
        i32::try_from(v).map_err(|_| {
            Error::Device(format!(
                "wgpu user kernel: offset {v} exceeds 32-bit indices"
            ))
        })
    };
    let mut params = Params::new();
    params.len(n, "user kernel output")?.len(rank, "rank")?;
    for a in 0..rank {
        params
            .len(spec.shape[a], "output length")?
            .len(chunk_start.get(a).copied().unwrap_or(0), "chunk start")?
            .len(global_shape.get(a).copied().unwrap_or(0), "array length")?;
    }
    for view in views {
        for a in 0..rank {
            params
                .len(view.shape[a], "input length")?
                .i32(as_i32(view.origin[a])?);
        }
    }
    params.len(const_regions.len(), "constant regions")?;
    for (region, _) in const_regions {
        for a in 0..rank {
            let start = region.start[a];
            params
                .i32(as_i32(start as i64)?)
                .i32(as_i32((start + region.shape[a]) as i64)?);
        }
    }
    let inputs: Vec<&wgpu::Buffer> = views.iter().map(|v| &v.input.buffer).collect();
    l.run_per_element(&pipeline, &inputs, out, n, params)
}

/// The complete WGSL of a user kernel over inputs `reprs` writing `out`; `constant` is what
/// positions in constant-boundary regions read.
fn source(
    name: &str,
    body: &WgslBody,
    reprs: &[Repr],
    constant: Option<Scalar>,
    out: Repr,
    rank: usize,
    f: &Features,
) -> Result<String> {
    let mut helpers = Helpers::new();
    let native_f16 = codegen::f16_helpers(&mut helpers, reprs, out, f.f16_native);
    let bindings = codegen::storage_bindings("tw_", reprs, out);

    let params: Vec<String> = (0..rank).map(|a| format!("d{a}: i32")).collect();
    let offsets: Vec<String> = (0..rank).map(|a| format!("d{a}")).collect();
    let mut w = Writer::new(0);
    for (k, repr) in reprs.iter().enumerate() {
        let ty = compute_type(repr.dtype);
        w.line(&format!(
            "// Input {k} ({}) at the current element shifted by (d0, ..).",
            repr.dtype
        ));
        w.open(&format!("fn in{k}({}) -> {ty}", params.join(", ")));
        w.line(&format!(
            "let c = tw_at({k}u, array<i32, {rank}>({}));",
            offsets.join(", ")
        ));
        if let Some(value) = constant {
            w.open("if (tw_constant(c))");
            w.line(&format!("return {};", ops::literal(value, repr.dtype)));
            w.close();
        }
        w.line(&format!(
            "return {};",
            repr.load(&format!("tw_in{k}[tw_index({k}u, c)]"))
        ));
        w.close();
    }
    let accessors = w.finish();
    let value = match out.dtype {
        DType::U8 => "(value & 255u)".to_string(),
        _ => "value".to_string(),
    };
    render(
        "user.wgsl",
        shaders::USER,
        &[
            ("enables", helpers.enables(native_f16)),
            ("bindings", &bindings),
            ("rank", &rank.to_string()),
            ("inputs", &reprs.len().to_string()),
            ("helpers", &helpers.render()?),
            ("accessors", &accessors),
            ("user_helpers", &body.helpers),
            ("out_type", compute_type(out.dtype)),
            ("body", &body.body),
            ("workgroup", &f.workgroup.to_string()),
            ("store", &out.store(&value)),
        ],
    )
    .map_err(|e| Error::UserKernel(format!("{name}: {e}")))
}

/// User-kernel shaders over every dtype the device supports, ranks 1 to 3, with and without a
/// constant boundary (for the naga validation test).
#[cfg(test)]
pub(crate) fn sample_shaders(f: &Features) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for dtype in crate::dtype::supported(f.f64) {
        let repr = Repr::of(dtype, f, "test")?;
        for rank in 1..=3 {
            let zeros = vec!["0"; rank].join(", ");
            let shifted = std::iter::once("-1")
                .chain(std::iter::repeat_n("1", rank - 1))
                .collect::<Vec<_>>()
                .join(", ");
            let body = WgslBody {
                body: format!(
                    "    let here = in0({zeros});\n    let there = in1({shifted});\n    \
                     if (coord(0u) + 1u == size(0u)) {{ return there; }}\n    return pick(here, there);"
                ),
                helpers: format!(
                    "fn pick(a: {t}, b: {t}) -> {t} {{ return select(a, b, false); }}",
                    t = compute_type(dtype)
                ),
            };
            for constant in [None, Some(Scalar::F64(1.5))] {
                let name = format!("user {dtype} rank {rank} constant {}", constant.is_some());
                let src = source(&name, &body, &[repr, repr], constant, repr, rank, f)?;
                out.push((name, src));
            }
        }
    }
    Ok(out)
}
