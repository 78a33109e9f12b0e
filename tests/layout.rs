//! Layout: slicing with steps and negative indices, indexing, reshape, transpose, squeeze,
//! expand_dims, broadcast_to, concatenate, stack, pad and rechunk.
mod common;

use common::{as_f64, check, shape_and_chunks, values};
use ndarray::{Axis, IxDyn, concatenate as nd_concat};
use proptest::prelude::*;
use tilework::prelude::*;

// Reversed ranges with negative steps are meaningful here (Python semantics).
#[allow(clippy::reversed_empty_ranges)]
fn slicing_with_steps(ctx: &Context) -> Result<()> {
    let data = values(&[9, 7], 5);
    let x = ctx.from_ndarray(data.clone(), [4, 3])?;
    let got = x.slice(&s![1..8;3, ..;-2])?.to_ndarray::<f64>()?;
    let expected = data.slice(ndarray::s![1..8;3, ..;-2]).to_owned();
    // ndarray's negative step reverses the sliced range; NumPy's `::-2` starts at the end. For a
    // full range both start at the last element when the length is odd (7 here).
    assert_eq!(got, expected.into_dyn());
    let got = x.slice(&s![-3.., 2])?.to_ndarray::<f64>()?;
    assert_eq!(got, data.slice(ndarray::s![6.., 2]).to_owned().into_dyn());
    let got = x
        .slice(&s![7..2;-2, NEW_AXIS, 1..=2])?
        .to_ndarray::<f64>()?;
    let expected: Vec<f64> = [7usize, 5, 3]
        .iter()
        .flat_map(|&i| [data[[i, 1]], data[[i, 2]]])
        .collect();
    assert_eq!(got.shape(), &[3, 1, 2]);
    assert_eq!(got.into_raw_vec_and_offset().0, expected);
    assert_eq!(x.slice(&s![5..2])?.shape(), &[0, 7]);
    assert_eq!(
        x.index_axis(1, -1)?.to_ndarray::<f64>()?,
        data.index_axis(Axis(1), 6).to_owned()
    );
    assert_eq!(
        x.flip(0)?.to_ndarray::<f64>()?,
        data.slice(ndarray::s![..;-1, ..]).to_owned().into_dyn()
    );
    Ok(())
}

fn reshape_transpose_squeeze(ctx: &Context) -> Result<()> {
    let data = values(&[4, 6, 5], 6);
    let x = ctx.from_ndarray(data.clone(), [3, 4, 2])?;
    for target in [vec![24isize, 5], vec![-1, 10], vec![2, 2, 30], vec![120]] {
        let got = x.reshape(&target)?.to_ndarray::<f64>()?;
        let shape: Vec<usize> = got.shape().to_vec();
        assert_eq!(
            got,
            data.clone()
                .into_shape_with_order(IxDyn(&shape))
                .expect("size")
        );
    }
    let t = x.permute(&[2, 0, 1])?.to_ndarray::<f64>()?;
    assert_eq!(t, data.view().permuted_axes(vec![2, 0, 1]).to_owned());
    assert_eq!(x.t()?.shape(), &[5, 6, 4]);
    assert_eq!(
        x.swapaxes(0, -1)?.to_ndarray::<f64>()?,
        data.view().permuted_axes(vec![2, 1, 0]).to_owned()
    );
    let e = x.expand_dims(1)?;
    assert_eq!(e.shape(), &[4, 1, 6, 5]);
    assert_eq!(e.squeeze(None)?.to_ndarray::<f64>()?, data);
    assert_eq!(x.expand_dims(-1)?.squeeze(Some(&[3]))?.shape(), &[4, 6, 5]);
    Ok(())
}

fn broadcast_concat_stack(ctx: &Context) -> Result<()> {
    let row = ctx.arange(0.0, 4.0, 1.0, DType::F64, 3)?.reshape(&[1, 4])?;
    let b = row.broadcast_to(&[2, 3, 4])?;
    let got = b.to_ndarray::<f64>()?;
    assert_eq!(got.shape(), &[2, 3, 4]);
    assert!(
        got.lanes(Axis(2))
            .into_iter()
            .all(|l| l.to_vec() == vec![0.0, 1.0, 2.0, 3.0])
    );
    let a = values(&[3, 4], 1);
    let c = values(&[5, 4], 2);
    let (ta, tc) = (
        ctx.from_ndarray(a.clone(), 2)?,
        ctx.from_ndarray(c.clone(), 3)?,
    );
    let cat = concatenate(&[&ta, &tc], 0)?.to_ndarray::<f64>()?;
    assert_eq!(
        cat,
        nd_concat(Axis(0), &[a.view(), c.view()]).expect("shapes")
    );
    let i = ctx.from_vec(vec![1i32, 2, 3, 4], &[4, 1], 2)?;
    let mixed = concatenate(&[&ta.slice(&s![.., ..1])?, &i], 0)?;
    assert_eq!(mixed.dtype(), DType::F64);
    assert_eq!(mixed.shape(), &[7, 1]);
    let st = stack(&[&ta, &ta, &ta], 1)?;
    assert_eq!(st.shape(), &[3, 3, 4]);
    assert_eq!(st.to_ndarray::<f64>()?.index_axis(Axis(1), 2).to_owned(), a);
    Ok(())
}

fn pad_modes(ctx: &Context) -> Result<()> {
    let x = ctx.from_vec(vec![1i32, 2, 3, 4], &[4], 3)?;
    let cases = [
        (
            PadMode::Constant(Scalar::I32(9)),
            vec![9, 9, 1, 2, 3, 4, 9, 9, 9],
        ),
        (PadMode::Edge, vec![1, 1, 1, 2, 3, 4, 4, 4, 4]),
        (PadMode::Reflect, vec![3, 2, 1, 2, 3, 4, 3, 2, 1]),
        (PadMode::Symmetric, vec![2, 1, 1, 2, 3, 4, 4, 3, 2]),
        (PadMode::Wrap, vec![3, 4, 1, 2, 3, 4, 1, 2, 3]),
    ];
    for (mode, expected) in cases {
        let got = x.pad(&[(2, 3)], mode)?.to_ndarray::<i32>()?;
        assert_eq!(got.into_raw_vec_and_offset().0, expected, "{mode:?}");
    }
    let m = ctx.from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[2, 2], 1)?;
    let got = m
        .pad(&[(1, 0), (0, 1)], PadMode::Constant(Scalar::F64(0.5)))?
        .to_ndarray::<f32>()?;
    assert_eq!(
        got.into_raw_vec_and_offset().0,
        vec![0.5, 0.5, 0.5, 1.0, 2.0, 0.5, 3.0, 4.0, 0.5]
    );
    assert!(x.pad(&[(4, 0)], PadMode::Reflect).is_err());
    Ok(())
}

fn rechunk_keeps_values(ctx: &Context) -> Result<()> {
    let data = values(&[10, 9], 8);
    let x = ctx.from_ndarray(data.clone(), [3, 4])?;
    let r = x.rechunk([4, 2])?;
    assert_eq!(r.chunks(), vec![vec![4, 4, 2], vec![2, 2, 2, 2, 1]]);
    assert_eq!(r.to_ndarray::<f64>()?, data);
    let e = x.rechunk(Chunks::Explicit(vec![vec![1, 9], vec![9]]))?;
    assert_eq!(e.to_ndarray::<f64>()?, data);
    Ok(())
}

/// A random slice element for an axis of length `n`.
fn slice_elem(n: usize) -> impl Strategy<Value = (Option<isize>, Option<isize>, isize)> {
    let bound = n as isize + 2;
    (
        proptest::option::of(-bound..bound),
        proptest::option::of(-bound..bound),
        prop_oneof![1isize..4, -3isize..0],
    )
}

fn property_slices_vs_ndarray(ctx: &Context) -> Result<()> {
    let strategy = shape_and_chunks().prop_flat_map(|(shape, chunks)| {
        let elems: Vec<_> = shape.iter().map(|&n| slice_elem(n)).collect();
        (Just(shape), Just(chunks), elems)
    });
    check("slices", 64, strategy, |(shape, chunks, elems)| {
        let data = values(&shape, 17);
        let x = ctx
            .from_ndarray(data.clone(), chunks.as_slice())
            .expect("chunks");
        let spec: Vec<SliceElem> = elems
            .iter()
            .map(|&(start, end, step)| SliceElem::Range { start, end, step })
            .collect();
        let got = as_f64(&x.slice(&spec).expect("valid slice"));
        // Reference: Python semantics through explicit index lists.
        let mut expected = data.clone();
        for (axis, &(start, end, step)) in elems.iter().enumerate() {
            let idx = python_indices(shape[axis], start, end, step);
            expected = expected.select(Axis(axis), &idx);
        }
        assert_eq!(got, expected);
    });
    Ok(())
}

/// The indices `range(n)[start:end:step]` selects in Python.
fn python_indices(n: usize, start: Option<isize>, end: Option<isize>, step: isize) -> Vec<usize> {
    let n = n as isize;
    let norm = |v: isize| if v < 0 { v + n } else { v };
    let mut out = Vec::new();
    if step > 0 {
        let (mut i, e) = (
            start.map_or(0, |s| norm(s).clamp(0, n)),
            end.map_or(n, |e| norm(e).clamp(0, n)),
        );
        while i < e {
            out.push(i as usize);
            i += step;
        }
    } else {
        let (mut i, e) = (
            start.map_or(n - 1, |s| norm(s).clamp(-1, n - 1)),
            end.map_or(-1, |e| norm(e).clamp(-1, n - 1)),
        );
        while i > e {
            out.push(i as usize);
            i += step;
        }
    }
    out
}

fn property_reshape_transpose_vs_ndarray(ctx: &Context) -> Result<()> {
    check("reshape", 32, shape_and_chunks(), |(shape, chunks)| {
        let data = values(&shape, 23);
        let x = ctx
            .from_ndarray(data.clone(), chunks.as_slice())
            .expect("chunks");
        let flat = as_f64(&x.reshape(&[-1]).expect("flatten"));
        assert_eq!(
            flat.into_raw_vec_and_offset().0,
            data.iter().copied().collect::<Vec<_>>()
        );
        let perm: Vec<usize> = (0..shape.len()).rev().collect();
        let t = as_f64(&x.t().expect("transpose"));
        assert_eq!(t, data.view().permuted_axes(perm).to_owned());
    });
    Ok(())
}

conformance!(
    slicing_with_steps,
    reshape_transpose_squeeze,
    broadcast_concat_stack,
    pad_modes,
    rechunk_keeps_values,
    property_slices_vs_ndarray,
    property_reshape_transpose_vs_ndarray,
);
