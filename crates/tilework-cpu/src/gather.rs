//! `Gather`: assembling an output block from affine pieces of the inputs (slices with steps,
//! integer indexing, transposes, broadcasts, concatenation, padding, rechunking). The same
//! strided copy assembles the halo-extended blocks of `Overlap`.

use crate::num::{Elem, slice_of, standard, to_host};
use tilework_core::shape::{c_strides, numel};
use tilework_core::{
    AxisMap, BufferSpec, Element, Error, HostArray, Piece, Result, Scalar, with_dtype,
};

/// Runs a `Gather` kernel: the output starts as `fill` (zero when `None`), then each piece is
/// copied in, in order.
pub(crate) fn gather(
    pieces: &[Piece],
    fill: Option<Scalar>,
    inputs: &[&HostArray],
    spec: &BufferSpec,
) -> Result<HostArray> {
    let inputs: Vec<HostArray> = inputs.iter().map(|h| standard(h)).collect();
    with_dtype!(spec.dtype, T => {
        let init = fill.map_or_else(|| T::cast_from(false), T::from_scalar);
        let mut out = vec![init; numel(&spec.shape)];
        for piece in pieces {
            let src = inputs.get(piece.input).ok_or_else(|| {
                Error::Device(format!("gather: piece reads input {} of {}", piece.input, inputs.len()))
            })?;
            apply_piece(piece, src, &spec.shape, &mut out)?;
        }
        to_host(out, &spec.shape)
    })
}

fn bad_piece(detail: String) -> Error {
    Error::Device(format!("gather: {detail}"))
}

/// Where a piece reads: the input offset of its first element and the input stride (elements,
/// possibly negative or 0) per step along each output axis of the piece.
fn source_strides(piece: &Piece, in_shape: &[usize], rank: usize) -> Result<(usize, Vec<isize>)> {
    if piece.in_axes.len() != in_shape.len() {
        return Err(bad_piece(format!(
            "{} axis maps for an input of rank {}",
            piece.in_axes.len(),
            in_shape.len()
        )));
    }
    let in_strides = c_strides(in_shape);
    let mut base: isize = 0;
    let mut strides = vec![0isize; rank];
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
                    bad_piece(format!("axis map names output axis {out_axis} of {rank}"))
                })? as isize;
                // A length-1 axis never steps, so its (possibly huge) step is irrelevant.
                let step = if len > 1 { step } else { 0 };
                strides[out_axis] = step
                    .checked_mul(stride)
                    .and_then(|d| strides[out_axis].checked_add(d))
                    .ok_or_else(|| bad_piece("affine map overflows".into()))?;
                let last = step
                    .checked_mul(len - 1)
                    .and_then(|d| start.checked_add(d))
                    .ok_or_else(|| bad_piece("affine map overflows".into()))?;
                (start, last)
            }
        };
        if !(0..dim).contains(&first) || !(0..dim).contains(&last) {
            return Err(bad_piece(format!(
                "axis {a} map {map:?} leaves 0..{dim} for piece {:?}",
                piece.out_shape.as_slice()
            )));
        }
        base += match *map {
            AxisMap::Fixed(c) => c as isize,
            AxisMap::Affine { start, .. } => start,
        } * stride;
    }
    Ok((base as usize, strides))
}

/// Copies one piece of `src` into `out` (C order, shape `out_shape`), validating every index
/// first so that bad pieces are errors, not panics.
pub(crate) fn apply_piece<T: Elem>(
    piece: &Piece,
    src: &HostArray,
    out_shape: &[usize],
    out: &mut [T],
) -> Result<()> {
    let rank = out_shape.len();
    let inside = piece.out_start.len() == rank
        && piece.out_shape.len() == rank
        && (0..rank).all(|a| {
            piece.out_start[a]
                .checked_add(piece.out_shape[a])
                .is_some_and(|end| end <= out_shape[a])
        });
    if !inside {
        return Err(bad_piece(format!(
            "piece at {:?} of shape {:?} outside a block of {out_shape:?}",
            piece.out_start.as_slice(),
            piece.out_shape.as_slice()
        )));
    }
    if numel(&piece.out_shape) == 0 {
        return Ok(());
    }
    let data = slice_of::<T>(src)?;
    let (sbase, sstrides) = source_strides(piece, &src.shape(), rank)?;
    let dstrides = c_strides(out_shape);
    let dbase: usize = piece
        .out_start
        .iter()
        .zip(&dstrides)
        .map(|(i, s)| i * s)
        .sum();
    if rank == 0 {
        out[0] = data[sbase];
        return Ok(());
    }
    let last = rank - 1;
    let run = piece.out_shape[last];
    let step = sstrides[last];
    let mut index = vec![0usize; last];
    let (mut s, mut d) = (sbase as isize, dbase);
    loop {
        copy_run(data, s, step, &mut out[d..d + run]);
        // Advance the odometer over the outer axes of the piece.
        let mut axis = last;
        loop {
            if axis == 0 {
                return Ok(());
            }
            axis -= 1;
            index[axis] += 1;
            s += sstrides[axis];
            d += dstrides[axis];
            if index[axis] < piece.out_shape[axis] {
                break;
            }
            s -= sstrides[axis] * piece.out_shape[axis] as isize;
            d -= dstrides[axis] * piece.out_shape[axis];
            index[axis] = 0;
        }
    }
}

/// `dst[j] = src[start + j * step]`, with fast paths for copies, reversals and repeats.
fn copy_run<T: Copy>(src: &[T], start: isize, step: isize, dst: &mut [T]) {
    let n = dst.len();
    let s = start as usize;
    match step {
        1 => dst.copy_from_slice(&src[s..s + n]),
        0 => dst.fill(src[s]),
        -1 => {
            let lo = s + 1 - n;
            for (d, &v) in dst.iter_mut().zip(src[lo..=s].iter().rev()) {
                *d = v;
            }
        }
        _ => {
            for (j, d) in dst.iter_mut().enumerate() {
                *d = src[(start + j as isize * step) as usize];
            }
        }
    }
}

#[cfg(test)]
#[path = "gather_tests.rs"]
mod tests;
