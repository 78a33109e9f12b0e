//! Host-side validation of [`Kernel`](crate::Kernel) parameters shared by every backend.
//!
//! Backends check a kernel's geometry (chunks inside their array, pieces inside their output
//! block, reshape blocks inside their arrays) before touching any memory, so that a malformed
//! kernel is an error, not a panic or an out-of-bounds device access. The checks live here so
//! that every backend accepts and rejects exactly the same kernels with the same messages.
//!
//! Where backends word their errors differently, the functions take a `prefix` (such as
//! `"gather"` or `"wgpu gather"`): the error is [`Error::Device`] with the text
//! `"{prefix}: {detail}"`.

use crate::chunks::Region;
use crate::error::{Error, Result};
use crate::kernel::Piece;
use crate::op::AxisMap;
use crate::shape::c_strides;

fn device(prefix: &str, detail: String) -> Error {
    Error::Device(format!("{prefix}: {detail}"))
}

/// Whether a box of `shape` at `start` lies inside an array of shape `within`: all three have
/// the same rank and `start + shape <= within` on every axis (without overflow).
pub fn region_fits(start: &[usize], shape: &[usize], within: &[usize]) -> bool {
    start.len() == within.len()
        && shape.len() == within.len()
        && start
            .iter()
            .zip(shape)
            .zip(within)
            .all(|((&s, &n), &w)| s.checked_add(n).is_some_and(|end| end <= w))
}

/// The error for a chunk of `shape` at `chunk_start` that does not fit in `global` (see
/// [`check_chunk`]); for backends with extra limits that report them the same way.
pub fn chunk_misfit(
    op: &'static str,
    shape: &[usize],
    chunk_start: &[usize],
    global: &[usize],
) -> Error {
    Error::invalid(
        op,
        format!("chunk {shape:?} at {chunk_start:?} does not fit in {global:?}"),
    )
}

/// Checks that a chunk of `shape` at `chunk_start` lies inside an array of shape `global` (the
/// chunk of a source kernel such as `Arange` or `Random`).
///
/// # Errors
/// [`Error::InvalidArgument`] for `op` (see [`chunk_misfit`]) when the ranks differ or the chunk
/// reaches past `global`.
pub fn check_chunk(
    op: &'static str,
    shape: &[usize],
    chunk_start: &[usize],
    global: &[usize],
) -> Result<()> {
    if region_fits(chunk_start, shape, global) {
        Ok(())
    } else {
        Err(chunk_misfit(op, shape, chunk_start, global))
    }
}

/// Checks that a `Gather` piece lies inside the output block of shape `out_shape`.
///
/// # Errors
/// [`Error::Device`] (`"{prefix}: piece at .. of shape .. outside a block of .."`) when the
/// piece's rank differs from the block's or it reaches past the block.
pub fn check_piece_inside(prefix: &str, piece: &Piece, out_shape: &[usize]) -> Result<()> {
    if region_fits(&piece.out_start, &piece.out_shape, out_shape) {
        Ok(())
    } else {
        Err(device(
            prefix,
            format!(
                "piece at {:?} of shape {:?} outside a block of {out_shape:?}",
                piece.out_start.as_slice(),
                piece.out_shape.as_slice()
            ),
        ))
    }
}

/// Where a non-empty `Gather` piece reads in a C-order input of shape `in_shape`: the input
/// offset of the piece's first element and the input stride (elements, possibly negative or 0)
/// per step along each axis of the piece. Every element the piece reads is checked to lie
/// inside the input.
///
/// Call it after [`check_piece_inside`], and only for pieces with at least one element (an
/// empty piece reads nothing, so its maps are not checked).
///
/// # Errors
/// [`Error::Device`] with `prefix` when the piece has not one map per input axis, a map names an
/// output axis the piece lacks, a map leaves the input, or the arithmetic overflows.
pub fn piece_strides(
    prefix: &str,
    piece: &Piece,
    in_shape: &[usize],
) -> Result<(usize, Vec<isize>)> {
    let bad = |detail: String| device(prefix, detail);
    if piece.in_axes.len() != in_shape.len() {
        return Err(bad(format!(
            "{} axis maps for an input of rank {}",
            piece.in_axes.len(),
            in_shape.len()
        )));
    }
    let rank = piece.out_shape.len();
    let in_strides = c_strides(in_shape);
    let mut base: isize = 0;
    let mut strides = vec![0isize; rank];
    let overflow = || bad("affine map overflows".into());
    for (a, map) in piece.in_axes.iter().enumerate() {
        let (dim, stride) = (in_shape[a] as isize, in_strides[a] as isize);
        let (first, last) = match *map {
            AxisMap::Fixed(c) => (c as isize, c as isize),
            AxisMap::Affine {
                out_axis,
                start,
                step,
            } => {
                let len = *piece.out_shape.get(out_axis).ok_or_else(|| {
                    bad(format!("axis map names output axis {out_axis} of {rank}"))
                })? as isize;
                // A length-1 axis never steps, so its (possibly huge) step is irrelevant.
                let step = if len > 1 { step } else { 0 };
                strides[out_axis] = step
                    .checked_mul(stride)
                    .and_then(|d| strides[out_axis].checked_add(d))
                    .ok_or_else(overflow)?;
                let last = step
                    .checked_mul(len - 1)
                    .and_then(|d| start.checked_add(d))
                    .ok_or_else(overflow)?;
                (start, last)
            }
        };
        if !(0..dim).contains(&first) || !(0..dim).contains(&last) {
            return Err(bad(format!(
                "axis {a} map {map:?} leaves 0..{dim} for piece {:?}",
                piece.out_shape.as_slice()
            )));
        }
        base += first * stride;
    }
    Ok((base as usize, strides))
}

/// Checks the output side of a `Reshape` kernel from an array of `in_shape` to one of
/// `out_shape`: `out_region` lies inside `out_shape`, the output buffer has the region's shape
/// (`block_shape`), and there is one input region per input (`n_inputs`).
///
/// # Errors
/// [`Error::Device`] with `prefix` when any of these fails.
pub fn check_reshape_output(
    prefix: &str,
    out_shape: &[usize],
    out_region: &Region,
    block_shape: &[usize],
    in_regions: &[Region],
    n_inputs: usize,
) -> Result<()> {
    if !region_fits(&out_region.start, &out_region.shape, out_shape)
        || block_shape != out_region.shape.as_slice()
    {
        return Err(device(
            prefix,
            format!("output block {out_region:?} does not fit {out_shape:?} / {block_shape:?}"),
        ));
    }
    if in_regions.len() != n_inputs {
        return Err(device(
            prefix,
            format!("{} regions for {n_inputs} inputs", in_regions.len()),
        ));
    }
    Ok(())
}

/// Checks one input of a `Reshape` kernel: `region` lies inside the input array of shape
/// `in_shape` and the input buffer has the region's shape (`input_shape`).
///
/// # Errors
/// [`Error::Device`] with `prefix` when it does not.
pub fn check_reshape_input(
    prefix: &str,
    in_shape: &[usize],
    region: &Region,
    input_shape: &[usize],
) -> Result<()> {
    if region_fits(&region.start, &region.shape, in_shape) && input_shape == region.shape.as_slice()
    {
        Ok(())
    } else {
        Err(device(
            prefix,
            format!("input block {input_shape:?} does not match region {region:?}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shape::Shape;

    fn piece(out_start: &[usize], out_shape: &[usize], in_axes: Vec<AxisMap>) -> Piece {
        Piece {
            input: 0,
            out_start: Shape::from_slice(out_start),
            out_shape: Shape::from_slice(out_shape),
            in_axes,
        }
    }

    #[test]
    fn regions_fit_only_inside() {
        assert!(region_fits(&[1, 0], &[2, 3], &[3, 3]));
        assert!(region_fits(&[], &[], &[]));
        assert!(!region_fits(&[2, 0], &[2, 3], &[3, 3]));
        assert!(!region_fits(&[0], &[1, 1], &[3, 3]));
        assert!(!region_fits(&[usize::MAX], &[2], &[3]));
    }

    #[test]
    fn chunk_errors_keep_their_wording() {
        assert!(check_chunk("arange", &[2], &[1], &[3]).is_ok());
        let e = check_chunk("arange", &[2], &[2], &[3]).unwrap_err();
        assert!(matches!(e, Error::InvalidArgument { op: "arange", .. }));
        assert!(
            e.to_string()
                .contains("chunk [2] at [2] does not fit in [3]")
        );
    }

    #[test]
    fn reversed_transposed_piece_has_negative_strides() {
        // out[j0, j1] = in[j1, 3 - j0] for a (4, 2) piece of a (2, 4) input.
        let p = piece(
            &[0, 0],
            &[4, 2],
            vec![
                AxisMap::Affine {
                    out_axis: 1,
                    start: 0,
                    step: 1,
                },
                AxisMap::Affine {
                    out_axis: 0,
                    start: 3,
                    step: -1,
                },
            ],
        );
        check_piece_inside("gather", &p, &[4, 2]).unwrap();
        assert_eq!(
            piece_strides("gather", &p, &[2, 4]).unwrap(),
            (3, vec![-1, 4])
        );
        let e = check_piece_inside("wgpu gather", &p, &[3, 2]).unwrap_err();
        assert!(e.to_string().contains("wgpu gather: piece at [0, 0]"));
    }

    #[test]
    fn reshape_blocks_must_fit() {
        let r = Region {
            start: Shape::from_slice(&[1]),
            shape: Shape::from_slice(&[2]),
        };
        check_reshape_output("reshape", &[3], &r, &[2], &[], 0).unwrap();
        assert!(check_reshape_output("reshape", &[2], &r, &[2], &[], 0).is_err());
        assert!(check_reshape_output("reshape", &[3], &r, &[2], &[], 1).is_err());
        check_reshape_input("reshape", &[3], &r, &[2]).unwrap();
        assert!(check_reshape_input("reshape", &[3], &r, &[1]).is_err());
    }
}
