//! `Gather`: assembling an output block from affine pieces of the inputs (slices with steps,
//! integer indexing, transposes, broadcasts, concatenation, padding, rechunking). The same
//! strided copy assembles the halo-extended blocks of `Overlap`.

use crate::num::{Elem, slice_of, standard, to_host};
#[cfg(test)]
use tilework_core::AxisMap;
use tilework_core::kernel_checks::{check_piece_inside, piece_strides};
use tilework_core::shape::{c_strides, numel};
use tilework_core::{BufferSpec, Element, Error, HostArray, Piece, Result, Scalar, with_dtype};

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

/// Copies one piece of `src` into `out` (C order, shape `out_shape`), validating every index
/// first so that bad pieces are errors, not panics.
pub(crate) fn apply_piece<T: Elem>(
    piece: &Piece,
    src: &HostArray,
    out_shape: &[usize],
    out: &mut [T],
) -> Result<()> {
    let rank = out_shape.len();
    check_piece_inside("gather", piece, out_shape)?;
    if numel(&piece.out_shape) == 0 {
        return Ok(());
    }
    let data = slice_of::<T>(src)?;
    let (sbase, sstrides) = piece_strides("gather", piece, &src.shape())?;
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
