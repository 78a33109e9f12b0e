//! `Reshape`: one output block of a C-order reshape, read from the input blocks it overlaps.
//!
//! Both arrays share one flat C-order index space. Each row of the output block (a run along its
//! last axis) is a contiguous flat range; that range is cut where it leaves an input block's row,
//! and every cut is one `copy_from_slice`.

use crate::num::{Elem, slice_of, standard, to_host};
use tilework_core::kernel_checks::{check_reshape_input, check_reshape_output};
use tilework_core::shape::{c_strides, numel};
use tilework_core::{BufferSpec, Error, HostArray, Region, Result, Shape, with_dtype};

fn bad(detail: String) -> Error {
    Error::Device(format!("reshape: {detail}"))
}

/// Shapes of rank 0 become `[1]`, so every array has a last axis.
fn at_least_1d(shape: &[usize]) -> Shape {
    if shape.is_empty() {
        Shape::from_slice(&[1])
    } else {
        Shape::from_slice(shape)
    }
}

fn region_1d(r: &Region) -> Region {
    if r.shape.is_empty() {
        Region {
            start: Shape::from_slice(&[0]),
            shape: Shape::from_slice(&[1]),
        }
    } else {
        r.clone()
    }
}

/// Runs a `Reshape` kernel.
pub(crate) fn reshape(
    in_shape: &[usize],
    out_shape: &[usize],
    out_region: &Region,
    in_regions: &[Region],
    inputs: &[&HostArray],
    spec: &BufferSpec,
) -> Result<HostArray> {
    if numel(in_shape) != numel(out_shape) {
        return Err(bad(format!(
            "{in_shape:?} and {out_shape:?} differ in size"
        )));
    }
    check_reshape_output(
        "reshape",
        out_shape,
        out_region,
        &spec.shape,
        in_regions,
        inputs.len(),
    )?;
    for (r, h) in in_regions.iter().zip(inputs) {
        check_reshape_input("reshape", in_shape, r, &h.shape())?;
    }
    let inputs: Vec<HostArray> = inputs.iter().map(|h| standard(h)).collect();
    let (in_shape, out_shape) = (at_least_1d(in_shape), at_least_1d(out_shape));
    let out_region = region_1d(out_region);
    let in_regions: Vec<Region> = in_regions.iter().map(region_1d).collect();
    with_dtype!(spec.dtype, T => {
        let blocks = inputs.iter().map(slice_of::<T>).collect::<Result<Vec<_>>>()?;
        let mut out = vec![T::cast_from(false); out_region.numel()];
        fill_block(&in_shape, &out_shape, &out_region, &in_regions, &blocks, &mut out)?;
        to_host(out, &spec.shape)
    })
}

fn fill_block<T: Elem>(
    in_shape: &[usize],
    out_shape: &[usize],
    out_region: &Region,
    in_regions: &[Region],
    blocks: &[&[T]],
    out: &mut [T],
) -> Result<()> {
    let run = out_region.shape[out_region.shape.len() - 1];
    if out.is_empty() || run == 0 {
        return Ok(());
    }
    let out_strides = c_strides(out_shape);
    let local_strides: Vec<Shape> = in_regions.iter().map(|r| c_strides(&r.shape)).collect();
    let last = in_shape.len() - 1;
    let mut u = Shape::from_elem(0, in_shape.len());
    let mut cached = 0usize;
    for (row, dst_row) in out.chunks_mut(run).enumerate() {
        // Global flat index of this row's first element.
        let mut rem = row;
        let mut flat = out_region.start[out_shape.len() - 1];
        for a in (0..out_shape.len() - 1).rev() {
            let n = out_region.shape[a];
            flat += (out_region.start[a] + rem % n) * out_strides[a];
            rem /= n;
        }
        let mut done = 0;
        while done < run {
            let mut g = flat + done;
            for a in (0..in_shape.len()).rev() {
                u[a] = g % in_shape[a];
                g /= in_shape[a];
            }
            let contains = |r: &Region| (0..u.len()).all(|a| r.range(a).contains(&u[a]));
            if !in_regions.get(cached).is_some_and(contains) {
                cached = in_regions.iter().position(contains).ok_or_else(|| {
                    bad(format!("no input block holds element {:?}", u.as_slice()))
                })?;
            }
            let r = &in_regions[cached];
            let off: usize = (0..u.len())
                .map(|a| (u[a] - r.start[a]) * local_strides[cached][a])
                .sum();
            let seg = (r.range(last).end - u[last]).min(run - done);
            dst_row[done..done + seg].copy_from_slice(&blocks[cached][off..off + seg]);
            done += seg;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tilework_core::DType;

    fn region(start: &[usize], shape: &[usize]) -> Region {
        Region {
            start: Shape::from_slice(start),
            shape: Shape::from_slice(shape),
        }
    }

    fn spec(shape: &[usize]) -> BufferSpec {
        BufferSpec {
            dtype: DType::I32,
            shape: Shape::from_slice(shape),
        }
    }

    /// Input blocks of a global `in_shape` arange array, split at `split` along axis 0.
    fn blocks(in_shape: &[usize], split: usize) -> (Vec<HostArray>, Vec<Region>) {
        let n = numel(in_shape);
        let all: Vec<i32> = (0..n as i32).collect();
        let row = n / in_shape[0];
        let mut a_shape = Shape::from_slice(in_shape);
        a_shape[0] = split;
        let mut b_shape = Shape::from_slice(in_shape);
        b_shape[0] = in_shape[0] - split;
        let a = HostArray::from_vec(all[..split * row].to_vec(), &a_shape).unwrap();
        let b = HostArray::from_vec(all[split * row..].to_vec(), &b_shape).unwrap();
        let mut b_start = Shape::from_elem(0, in_shape.len());
        b_start[0] = split;
        (
            vec![a, b],
            vec![
                Region {
                    start: Shape::from_elem(0, in_shape.len()),
                    shape: a_shape,
                },
                Region {
                    start: b_start,
                    shape: b_shape,
                },
            ],
        )
    }

    #[test]
    fn reshape_block_from_two_inputs() {
        // (4, 6) split into rows [0, 3) and [3, 4), reshaped to (3, 8); block rows 1..3, cols 2..7.
        let (inputs, regions) = blocks(&[4, 6], 3);
        let refs: Vec<&HostArray> = inputs.iter().collect();
        let out_region = region(&[1, 2], &[2, 5]);
        let got = reshape(
            &[4, 6],
            &[3, 8],
            &out_region,
            &regions,
            &refs,
            &spec(&[2, 5]),
        )
        .unwrap();
        let want: Vec<i32> = [10, 11, 12, 13, 14, 18, 19, 20, 21, 22].to_vec();
        assert_eq!(slice_of::<i32>(&got).unwrap(), want.as_slice());
    }

    #[test]
    fn reshape_to_and_from_rank_zero() {
        let x = HostArray::from_vec(vec![7i32], &[1, 1]).unwrap();
        let got = reshape(
            &[1, 1],
            &[],
            &region(&[], &[]),
            &[region(&[0, 0], &[1, 1])],
            &[&x],
            &spec(&[]),
        )
        .unwrap();
        assert_eq!(got.shape().as_slice(), &[] as &[usize]);
        assert_eq!(slice_of::<i32>(&got).unwrap(), &[7]);
        let s = HostArray::from_vec(vec![5i32], &[]).unwrap();
        let got = reshape(
            &[],
            &[1],
            &region(&[0], &[1]),
            &[region(&[], &[])],
            &[&s],
            &spec(&[1]),
        )
        .unwrap();
        assert_eq!(slice_of::<i32>(&got).unwrap(), &[5]);
    }

    #[test]
    fn bad_reshapes_are_errors() {
        let (inputs, regions) = blocks(&[4, 6], 3);
        let refs: Vec<&HostArray> = inputs.iter().collect();
        // Wrong total size, missing input block, and an output block out of range.
        assert!(
            reshape(
                &[4, 6],
                &[5, 5],
                &region(&[0, 0], &[1, 5]),
                &regions,
                &refs,
                &spec(&[1, 5])
            )
            .is_err()
        );
        assert!(
            reshape(
                &[4, 6],
                &[3, 8],
                &region(&[2, 0], &[1, 8]),
                &regions[..1],
                &refs[..1],
                &spec(&[1, 8])
            )
            .is_err()
        );
        assert!(
            reshape(
                &[4, 6],
                &[3, 8],
                &region(&[3, 0], &[1, 8]),
                &regions,
                &refs,
                &spec(&[1, 8])
            )
            .is_err()
        );
        // No inputs at all for a non-empty block.
        let none = reshape(
            &[4, 6],
            &[3, 8],
            &region(&[0, 0], &[1, 8]),
            &[],
            &[],
            &spec(&[1, 8]),
        );
        assert!(none.is_err());
    }
}
