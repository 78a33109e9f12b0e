//! User kernels written in WGSL (`WgslKernel` through `map_blocks_wgsl` / `map_overlap_wgsl`):
//! on the GPU they must match their own CPU version, run on the CPU context (the oracle), on
//! every boundary, with fused producers, several inputs and integer dtypes; and they fail with
//! clear errors. Without an adapter the GPU halves print why they skip, and fail under
//! `TILEWORK_REQUIRE_GPU=1`.
mod common;

use ndarray::{ArrayD, ArrayViewD, IxDyn};
use tilework::prelude::*;

/// `u + 0.1 * (laplacian of u)` on a 2-D block, neighbours clamped to the block: what the WGSL
/// body computes, element by element in the same order.
fn diffuse_block(b: ArrayViewD<'_, f32>) -> ArrayD<f32> {
    let (rows, cols) = (b.shape()[0] as isize, b.shape()[1] as isize);
    let at = |i: isize, j: isize| b[[i.clamp(0, rows - 1) as usize, j.clamp(0, cols - 1) as usize]];
    ArrayD::from_shape_fn(IxDyn(b.shape()), |ix| {
        let (i, j) = (ix[0] as isize, ix[1] as isize);
        let c = at(i, j);
        let sum = at(i - 1, j) + at(i + 1, j) + at(i, j - 1) + at(i, j + 1);
        c + 0.1 * (sum - 4.0 * c)
    })
}

fn diffuse() -> WgslKernel {
    WgslKernel::new(
        "diffuse",
        "    let c = in0(0, 0);\n    let sum = in0(-1, 0) + in0(1, 0) + in0(0, -1) + in0(0, 1);\n    \
         return c + 0.1 * (sum - 4.0 * c);",
    )
    .with_cpu(diffuse_block)
}

fn field(ctx: &Context, seed: u64) -> Result<Array> {
    ctx.rng(seed)
        .uniform(&[300, 200], -1.0, 1.0, DType::F32, [128, 96])
}

fn assert_near(got: &Array, want: &Array) -> Result<()> {
    let (got, want) = (got.to_ndarray::<f32>()?, want.to_ndarray::<f32>()?);
    assert_eq!(got.shape(), want.shape());
    for (i, (g, w)) in got.iter().zip(want.iter()).enumerate() {
        assert!(
            (g - w).abs() <= 1e-6 * (1.0 + w.abs()),
            "element {i}: gpu {g}, cpu {w}"
        );
    }
    Ok(())
}

#[test]
fn wgsl_stencils_match_their_cpu_version_on_every_boundary() -> Result<()> {
    let Some(gpu) = common::gpu() else {
        return Ok(());
    };
    let cpu = common::cpu();
    let kernel = diffuse();
    for boundary in [
        Boundary::None,
        Boundary::Periodic,
        Boundary::Reflect,
        Boundary::Constant(Scalar::F32(0.5)),
    ] {
        let run = |ctx: &Context| field(ctx, 3)?.map_overlap_wgsl(&[1, 1], boundary, &kernel);
        let (on_gpu, report) = run(&gpu)?.compute_with_report()?;
        assert!(report.gpu_tasks > 0, "{boundary:?}: {report}");
        let on_gpu = gpu.from_host(on_gpu, [128, 96])?;
        assert_near(&on_gpu, &run(&cpu)?)?;
    }
    Ok(())
}

#[test]
fn wgsl_stencils_read_fused_producers_and_deep_halos() -> Result<()> {
    let Some(gpu) = common::gpu() else {
        return Ok(());
    };
    let cpu = common::cpu();
    // Two steps apart: a depth-2 halo read at +-2 along axis 0, over a fused two-input producer.
    let wide = WgslKernel::new("wide", "return in0(-2, 0) - in0(2, 0) + in0(0, 1);").with_cpu(
        |b: ArrayViewD<'_, f32>| {
            let (rows, cols) = (b.shape()[0] as isize, b.shape()[1] as isize);
            let at = |i: isize, j: isize| {
                b[[i.clamp(0, rows - 1) as usize, j.clamp(0, cols - 1) as usize]]
            };
            ArrayD::from_shape_fn(IxDyn(b.shape()), |ix| {
                let (i, j) = (ix[0] as isize, ix[1] as isize);
                at(i - 2, j) - at(i + 2, j) + at(i, j + 1)
            })
        },
    );
    let run = |ctx: &Context| -> Result<Array> {
        let (x, y) = (field(ctx, 4)?, field(ctx, 5)?);
        (&x * 2.0 + &y).map_overlap_wgsl(&[2, 1], Boundary::Periodic, &wide)
    };
    let on_gpu = run(&gpu)?.compute()?;
    assert_near(&gpu.from_host(on_gpu, 100)?, &run(&cpu)?)?;
    Ok(())
}

#[test]
fn wgsl_blocks_see_global_coordinates_and_broadcast_inputs() -> Result<()> {
    let Some(gpu) = common::gpu() else {
        return Ok(());
    };
    let cpu = common::cpu();
    // Each element's flat global index, from coord() and size().
    let index = WgslKernel::new("index", "return f32(coord(0u) * size(1u) + coord(1u));");
    let x = gpu.zeros(&[300, 200], DType::F32, [128, 96])?;
    let got = x.map_blocks_wgsl(&index, DType::F32)?.to_ndarray::<f32>()?;
    let want: Vec<f32> = (0..300 * 200).map(|i| i as f32).collect();
    assert_eq!(got.as_slice(), Some(&want[..]));
    // Two inputs, the second a broadcast row.
    let scale = WgslKernel::new("scale", "return in0(0, 0) * in1(0, 0);");
    let run = |ctx: &Context, kernel: Option<&WgslKernel>| -> Result<HostArray> {
        let x = field(ctx, 6)?;
        let row = ctx.arange(0.0, 200.0, 1.0, DType::F32, 96)?;
        match kernel {
            Some(k) => tilework::map_blocks_dyn(&[&x, &row], DType::F32, k.to_block_fn())?,
            None => &x * &row,
        }
        .compute()
    };
    assert_eq!(
        run(&gpu, Some(&scale))?,
        run(&cpu, None)?,
        "one multiply is exact"
    );
    Ok(())
}

#[test]
fn wgsl_kernels_compute_in_integer_dtypes() -> Result<()> {
    let Some(gpu) = common::gpu() else {
        return Ok(());
    };
    let x = gpu.arange(0.0, 1000.0, 1.0, DType::I32, 300)?;
    // i32 in, u8 out: the result wraps like a NumPy u8 cast.
    let wrap = WgslKernel::new("wrap", "return u32(in0(0) * 3 + in0(1));");
    let got = x.map_blocks_wgsl(&wrap, DType::U8)?.to_ndarray::<u8>()?;
    for (i, &v) in got.iter().enumerate() {
        let next = (i + 1).min(299 + 300 * (i / 300)).min(999) as i64;
        assert_eq!(i64::from(v), (3 * i as i64 + next) % 256, "element {i}");
    }
    let neighbours = WgslKernel::new("neighbours", "return in0(-1) + in0(1);");
    let got = x
        .map_overlap_wgsl(&[1], Boundary::Constant(Scalar::I32(-5)), &neighbours)?
        .to_ndarray::<i32>()?;
    for (i, &v) in got.iter().enumerate() {
        let left = if i == 0 { -5 } else { i as i32 - 1 };
        let right = if i == 999 { -5 } else { i as i32 + 1 };
        assert_eq!(v, left + right, "element {i}");
    }
    Ok(())
}

#[test]
fn wgsl_kernel_errors_are_clear() -> Result<()> {
    // A WGSL-only kernel cannot run in a context without a GPU: refused when the call is made.
    let cpu = Context::builder().device(Device::Cpu).build()?;
    let only_gpu = WgslKernel::new("only_gpu", "return in0(0) * 2.0;");
    let x = cpu.ones(&[10], DType::F32, 5)?;
    let e = x.map_blocks_wgsl(&only_gpu, DType::F32).unwrap_err();
    assert!(
        e.to_string().contains("only_gpu") && e.to_string().contains("no GPU"),
        "{e}"
    );
    // A CPU version of other dtypes than the call.
    let typed = only_gpu
        .clone()
        .with_cpu(|b: ArrayViewD<'_, f64>| b.to_owned());
    let e = x.map_blocks_wgsl(&typed, DType::F32).unwrap_err();
    assert!(e.to_string().contains("float64"), "{e}");
    let Some(gpu) = common::gpu() else {
        return Ok(());
    };
    // A body that does not compile fails the computation, naming the kernel.
    let broken = WgslKernel::new("broken", "return in0(0) * ;");
    let y = gpu
        .ones(&[10], DType::F32, 5)?
        .map_blocks_wgsl(&broken, DType::F32)?;
    match y.compute() {
        Err(Error::UserKernel(m)) => assert!(m.contains("broken"), "{m}"),
        other => panic!("expected a user-kernel error, got {other:?}"),
    }
    // The wrong number of offsets for the rank is a compile error too, not a wrong read.
    let rank = WgslKernel::new("rank", "return in0(0, 0);");
    let y = gpu
        .ones(&[10], DType::F32, 5)?
        .map_blocks_wgsl(&rank, DType::F32)?;
    assert!(matches!(y.compute(), Err(Error::UserKernel(_))));
    Ok(())
}
