//! Bad input returns a clear `Err`, never a panic.
mod common;

use tilework::prelude::*;

fn bad_input_is_an_error(ctx: &Context) -> Result<()> {
    let x = ctx.ones(&[4, 6], DType::F32, 2)?;
    let y = ctx.ones(&[5], DType::F32, 2)?;
    // Mismatched shapes.
    assert!(matches!(
        x.try_add(&y),
        Err(Error::ShapeMismatch { op: "add", .. })
    ));
    assert!(concatenate(&[&x, &y], 0).is_err());
    assert!(stack(&[&x, &x.t()?], 0).is_err());
    assert!(x.broadcast_to(&[3, 6]).is_err());
    // Bad axes.
    assert!(matches!(
        x.sum_axes(&[2], false),
        Err(Error::BadAxis { .. })
    ));
    assert!(matches!(
        x.sum_axes(&[0, -2], false),
        Err(Error::BadAxis { .. })
    ));
    assert!(x.cumsum(-3).is_err());
    assert!(x.permute(&[0, 0]).is_err());
    assert!(x.squeeze(Some(&[0])).is_err());
    assert!(x.expand_dims(4).is_err());
    // Out-of-range or zero-step slices.
    assert!(matches!(x.slice(&s![..;0]), Err(Error::BadIndex { .. })));
    assert!(matches!(x.slice(&s![4]), Err(Error::BadIndex { .. })));
    assert!(x.slice(&s![-5]).is_err());
    assert!(x.slice(&s![.., .., ..]).is_err());
    assert!(x.index_axis(1, 6).is_err());
    // Chunk size 0 and chunkings that do not fit.
    assert!(matches!(
        ctx.ones(&[4], DType::F32, 0),
        Err(Error::BadChunks { .. })
    ));
    assert!(ctx.ones(&[4, 4], DType::F32, [2]).is_err());
    assert!(
        x.rechunk(Chunks::Explicit(vec![vec![1, 2], vec![6]]))
            .is_err()
    );
    // Dtype mismatch at the typed edge.
    assert!(matches!(
        x.to_ndarray::<f64>(),
        Err(Error::DTypeMismatch { .. })
    ));
    // Reshape to a different size.
    assert!(x.reshape(&[5, 5]).is_err());
    assert!(x.reshape(&[-1, -1]).is_err());
    assert!(x.reshape(&[7, -1]).is_err());
    // Matmul inner-dimension mismatch.
    assert!(matches!(
        x.matmul(&x),
        Err(Error::ShapeMismatch { op: "matmul", .. })
    ));
    // Host data that does not fill its shape.
    assert!(ctx.from_vec(vec![1.0f32; 5], &[2, 3], 1).is_err());
    // Padding and stencils that do not fit.
    assert!(x.pad(&[(1, 1)], PadMode::Edge).is_err());
    assert!(
        x.map_overlap(
            "f",
            &[1, 7],
            Boundary::Periodic,
            |b: ndarray::ArrayViewD<f32>| b.to_owned()
        )
        .is_err()
    );
    // Random parameters.
    assert!(ctx.rng(1).uniform(&[3], 1.0, 0.0, DType::F32, 1).is_err());
    assert!(ctx.rng(1).integers(&[3], 0, 5, DType::F32, 1).is_err());
    assert!(ctx.arange(0.0, 1.0, 0.0, DType::F32, 1).is_err());
    // A scalar of a non-scalar array.
    assert!(x.to_scalar().is_err());
    Ok(())
}

#[test]
fn contexts_reject_bad_settings() {
    assert!(Context::builder().threads(0).build().is_err());
    // A GPU that does not exist: the error says what was looked for and how to get a driver.
    let gpu = Context::builder()
        .device(Device::Gpu)
        .gpu_adapter("no adapter is called this")
        .build();
    let err = gpu.expect_err("no such adapter");
    let text = err.to_string();
    assert!(text.contains("no adapter is called this"), "{text}");
    assert!(text.contains("mesa-vulkan-drivers"), "{text}");
    // Under Auto the same request falls back to the CPU.
    let auto = Context::builder()
        .gpu_adapter("no adapter is called this")
        .build()
        .expect("Auto falls back to the CPU");
    assert!(auto.gpu().is_none());
    assert!("tpu".parse::<Device>().is_err());
}

#[test]
fn budgets_and_sizes_are_checked_before_anything_runs() -> Result<()> {
    let ctx = Context::builder().threads(1).host_memory(1 << 20).build()?;
    // One chunk of 4 MiB cannot fit a 1 MiB budget: the error names the task and suggests a fix.
    let big = ctx.ones(&[1 << 20], DType::F32, 1 << 20)?;
    let err = big.sum()?.compute().expect_err("over budget");
    assert!(
        matches!(
            err,
            Error::OutOfMemory {
                budget: 1048576,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("rechunk"), "{err}");
    // The same data in small chunks streams through the budget.
    let small = ctx.ones(&[1 << 20], DType::F32, 1 << 14)?;
    assert_eq!(small.sum()?.to_scalar()?.to_f64(), (1 << 20) as f64);
    // Shapes beyond the address space are refused when the array is built.
    assert!(matches!(
        ctx.zeros(&[usize::MAX, 2], DType::F32, Chunks::Auto),
        Err(Error::BadChunks { .. })
    ));
    assert!(ctx.zeros(&[1 << 62, 1 << 3], DType::F64, 1).is_err());
    // Absurdly fine chunkings are refused instead of exhausting memory while planning.
    assert!(ctx.zeros(&[1 << 40], DType::U8, 1).is_err());
    assert!(ctx.zeros(&[1 << 20, 1 << 20], DType::U8, [1, 1]).is_err());
    Ok(())
}

#[test]
fn arrays_from_different_contexts_do_not_mix() -> Result<()> {
    let (a, b) = (common::cpu(), common::cpu());
    let x = a.ones(&[3], DType::F32, 1)?;
    let y = b.ones(&[3], DType::F32, 1)?;
    assert!(x.try_add(&y).is_err());
    Ok(())
}

conformance!(bad_input_is_an_error);
