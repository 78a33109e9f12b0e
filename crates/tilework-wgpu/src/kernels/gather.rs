//! `Gather`: the output is filled, then each piece (an affine strided view of an input) is
//! copied into its box, one launch per piece in order (later pieces win where they overlap).
//! This one kernel serves slicing with steps, integer indexing, transposes, broadcasts,
//! concatenation, padding and rechunking. Every index is validated on the host first, with the
//! checks the CPU backend uses (`tilework_core::kernel_checks`).

use super::{Input, Launch, count, fill};
use crate::device::Features;
use crate::dispatch::{Params, Step};
use crate::pipeline::Access;
use crate::shaders;
use crate::template::render;
use tilework_core::kernel_checks::{check_piece_inside, piece_strides};
use tilework_core::shape::c_strides;
use tilework_core::{BufferSpec, Error, Piece, Result, Scalar};

/// How this backend prefixes its gather errors.
const PREFIX: &str = "wgpu gather";

fn bad(detail: String) -> Error {
    Error::Device(format!("{PREFIX}: {detail}"))
}

/// The source of a copy shader for storage elements of type `elem`.
pub(crate) fn copy_source(file: &str, template: &str, elem: &str, f: &Features) -> Result<String> {
    render(
        file,
        template,
        &[
            ("enables", if elem == "f16" { "enable f16;" } else { "" }),
            ("elem", elem),
            ("workgroup", &f.workgroup.to_string()),
        ],
    )
}

/// Params of one piece's copy (see `shaders/gather.wgsl`), or `None` for an empty piece.
fn piece_params(piece: &Piece, in_shape: &[usize], out_shape: &[usize]) -> Result<Option<Params>> {
    let rank = out_shape.len();
    check_piece_inside(PREFIX, piece, out_shape)?;
    let n = count(&piece.out_shape, "gather piece")?;
    if n == 0 {
        return Ok(None);
    }
    let (sbase, sstrides) = piece_strides(PREFIX, piece, in_shape)?;
    let dstrides = c_strides(out_shape);
    let dbase: usize = piece
        .out_start
        .iter()
        .zip(&dstrides)
        .map(|(i, s)| i * s)
        .sum();
    let as_i32 = |v: i64| {
        i32::try_from(v).map_err(|_| bad(format!("offset {v} exceeds the GPU's 32-bit indices")))
    };
    let mut params = Params::new();
    params
        .len(n, "piece size")?
        .len(rank, "rank")?
        .len(dbase, "output offset")?
        .i32(as_i32(sbase as i64)?);
    for a in 0..rank {
        params
            .len(piece.out_shape[a], "piece length")?
            .len(dstrides[a], "output stride")?
            .i32(as_i32(sstrides[a] as i64)?);
    }
    Ok(Some(params))
}

/// Runs a `Gather` kernel.
pub(crate) fn gather(
    l: &Launch<'_>,
    pieces: &[Piece],
    fill_value: Option<Scalar>,
    inputs: &[Input],
    spec: &BufferSpec,
) -> Result<wgpu::Buffer> {
    let repr = l.repr(spec.dtype, "gather")?;
    let n = count(&spec.shape, "gather output")?;
    let mut copies = Vec::new();
    for piece in pieces {
        let input = inputs.get(piece.input).ok_or_else(|| {
            bad(format!(
                "piece reads input {} of {}",
                piece.input,
                inputs.len()
            ))
        })?;
        if input.repr.dtype != spec.dtype {
            return Err(Error::DTypeMismatch {
                expected: spec.dtype,
                actual: input.repr.dtype,
            });
        }
        if let Some(params) = piece_params(piece, &input.shape, &spec.shape)? {
            copies.push((params, &input.buffer));
        }
    }
    let fill_pipeline = fill::pipeline(l)?;
    let elem = repr.copy_elem();
    let copy = l.pipeline("gather", elem, &[Access::Read, Access::ReadWrite], || {
        copy_source("gather.wgsl", shaders::GATHER, elem, l.features())
    })?;
    let out = l.alloc(repr, n)?;
    let value = fill_value.unwrap_or(Scalar::Bool(false));
    let mut steps = vec![fill::fill_step(&fill_pipeline, &out, repr, n, value)];
    for (params, src) in copies {
        let threads = u64::from(params.0[0]);
        steps.push(Step {
            pipeline: &copy,
            buffers: vec![src, &out],
            params,
            threads,
        });
    }
    l.submit(&steps)?;
    Ok(out)
}

/// Storage element types copy shaders are built for.
#[cfg(test)]
pub(crate) fn elems(f: &Features) -> Vec<&'static str> {
    let mut elems = vec!["u32", "vec2<u32>"];
    if f.f16_native {
        elems.push("f16");
    }
    elems
}

#[cfg(test)]
pub(crate) fn shaders(f: &Features) -> Result<Vec<(String, String)>> {
    elems(f)
        .into_iter()
        .map(|e| {
            Ok((
                format!("gather {e}"),
                copy_source("gather.wgsl", shaders::GATHER, e, f)?,
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tilework_core::{AxisMap, Shape};

    fn piece(out_start: &[usize], out_shape: &[usize], in_axes: Vec<AxisMap>) -> Piece {
        Piece {
            input: 0,
            out_start: Shape::from_slice(out_start),
            out_shape: Shape::from_slice(out_shape),
            in_axes,
        }
    }

    #[test]
    fn out_of_range_pieces_are_errors() {
        let p = piece(
            &[0],
            &[3],
            vec![AxisMap::Affine {
                out_axis: 0,
                start: 2,
                step: 1,
            }],
        );
        assert!(piece_params(&p, &[4], &[3]).is_err());
        let p = piece(
            &[1],
            &[3],
            vec![AxisMap::Affine {
                out_axis: 0,
                start: 0,
                step: 1,
            }],
        );
        assert!(piece_params(&p, &[4], &[3]).is_err());
        let p = piece(
            &[0],
            &[0],
            vec![AxisMap::Affine {
                out_axis: 0,
                start: 9,
                step: 1,
            }],
        );
        assert!(piece_params(&p, &[4], &[3]).unwrap().is_none());
    }
}
