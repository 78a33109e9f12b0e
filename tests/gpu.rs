//! Placement between the GPU and the CPU through the public API: what runs where, what moves, and
//! that results match the CPU oracle. (Every conformance test of the other files also runs on the
//! GPU through `conformance!`.) Without an adapter these tests print why they skip, and fail under
//! `TILEWORK_REQUIRE_GPU=1`.
mod common;

use tilework::prelude::*;

#[test]
fn gpu_context_runs_elementwise_on_the_gpu_and_matches_the_cpu() -> Result<()> {
    let Some(gpu) = common::gpu() else {
        return Ok(());
    };
    assert!(gpu.gpu().is_some(), "a GPU context names its adapter");
    let cpu = common::cpu();
    let expr = |ctx: &Context| -> Result<Array> {
        let x = ctx
            .rng(9)
            .uniform(&[700, 300], -2.0, 2.0, DType::F32, [256, 128])?;
        let y = ctx.arange(0.0, 300.0, 1.0, DType::F32, 128)?;
        (&x * 3.0 + &y).maximum(0.5)?.slice(&s![..;2, 10..290])
    };
    let (on_gpu, report) = expr(&gpu)?.compute_with_report()?;
    assert!(report.gpu_tasks > 0, "{report}");
    assert!(
        report.bytes_d2h > 0,
        "results come back from the device: {report}"
    );
    assert_eq!(
        on_gpu,
        expr(&cpu)?.compute()?,
        "+, *, maximum and copies are exact"
    );
    Ok(())
}

#[test]
fn host_closures_and_storage_fall_back_to_the_cpu_within_one_graph() -> Result<()> {
    let Some(gpu) = common::gpu() else {
        return Ok(());
    };
    let cpu = common::cpu();
    // A Rust closure can only run on the CPU; its neighbours run on the GPU.
    let expr = |ctx: &Context| -> Result<Array> {
        let x = ctx.rng(2).uniform(&[512, 512], 0.0, 1.0, DType::F32, 256)?;
        let doubled = (&x + 1.0).map_blocks("double", |b: ndarray::ArrayViewD<'_, f32>| {
            b.mapv(|v| v * 2.0)
        })?;
        Ok(&doubled - 2.0)
    };
    let (got, report) = expr(&gpu)?.compute_with_report()?;
    assert!(
        report.gpu_tasks > 0 && report.gpu_tasks < report.tasks_run,
        "{report}"
    );
    assert_eq!(got, expr(&cpu)?.compute()?);
    // Store reads and writes run on the host, next to GPU tasks.
    let x = gpu.rng(2).uniform(&[512, 512], 0.0, 1.0, DType::F32, 256)?;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("x.zarr");
    (&x * 2.0).to_zarr(&path, &tilework::ZarrWriteOptions::default())?;
    let back = gpu.from_zarr(&path)?;
    assert_eq!(back.compute()?, (&x * 2.0).compute()?);
    Ok(())
}

#[test]
fn dtypes_the_gpu_lacks_run_on_the_cpu_without_errors() -> Result<()> {
    let Some(gpu) = common::gpu() else {
        return Ok(());
    };
    let cpu = common::cpu();
    let expr = |ctx: &Context| -> Result<Array> {
        let i = ctx.arange(0.0, 1000.0, 1.0, DType::I64, 300)?;
        (&i * 3 - 7).try_rem(11)
    };
    assert_eq!(expr(&gpu)?.compute()?, expr(&cpu)?.compute()?);
    Ok(())
}

#[test]
fn auto_uses_the_cpu_when_the_only_adapter_is_software() -> Result<()> {
    let ctx = Context::builder().device(Device::Auto).build()?;
    match tilework_wgpu_probe_kind() {
        Some(kind) if kind != "Cpu" => assert!(ctx.gpu().is_some()),
        _ => assert!(
            ctx.gpu().is_none(),
            "lavapipe is slower than the CPU backend"
        ),
    }
    Ok(())
}

/// The kind of the adapter wgpu would pick, if any.
fn tilework_wgpu_probe_kind() -> Option<String> {
    tilework::gpu_adapter().map(|a| a.device_type)
}

#[test]
fn a_device_budget_caps_what_the_gpu_holds() -> Result<()> {
    let Some(_) = common::gpu() else {
        return Ok(());
    };
    let cap = 8u64 << 20;
    let gpu = Context::builder()
        .threads(2)
        .device(Device::Gpu)
        .device_memory(cap)
        .build()?;
    let cpu = common::cpu();
    // 64 MiB of f32 in 1 MiB chunks: each chunk's task fits the cap, the whole array does not.
    let total = |ctx: &Context| -> Result<Array> {
        let x = ctx
            .rng(5)
            .uniform(&[1 << 24], -1.0, 1.0, DType::F32, 1 << 18)?;
        (&x * 2.0 + 1.0).sum()
    };
    let (got, report) = total(&gpu)?.compute_with_report()?;
    let want = total(&cpu)?.to_scalar()?.to_f64();
    let got = got.get(&[]).expect("scalar").to_f64();
    assert!((got - want).abs() <= 1e-6 * want.abs(), "{got} vs {want}");
    assert!(report.gpu_tasks > 0, "{report}");
    assert!(report.peak_device_bytes <= cap, "{report}");
    // One 64 MiB chunk: the partial reduction runs on the GPU in row tiles that fit the cap,
    // and its tiles' states combine on the host.
    let one_chunk = |ctx: &Context| -> Result<Array> {
        let x = ctx
            .rng(8)
            .uniform(&[4096, 4096], -1.0, 1.0, DType::F32, [4096, 4096])?;
        (&x * 2.0 + 1.0).mean_axes(&[0], false)?.sum()
    };
    let (got, report) = one_chunk(&gpu)?.compute_with_report()?;
    let want = one_chunk(&cpu)?.to_scalar()?.to_f64();
    let got = got.get(&[]).expect("scalar").to_f64();
    assert!((got - want).abs() <= 1e-9 * 4096.0, "{got} vs {want}");
    assert!(report.gpu_tiled_tasks > 0, "{report}");
    assert!(report.peak_device_bytes <= cap, "{report}");
    // An elementwise chunk of 16 MiB in, 16 MiB out: tiled too, and exact.
    let scaled = |ctx: &Context| -> Result<Array> {
        let x = ctx.arange(0.0, (1 << 22) as f64, 1.0, DType::F32, 1 << 22)?;
        (&x * 0.5 - 3.0).reshape(&[2048, 2048])
    };
    let (got, report) = scaled(&gpu)?.compute_with_report()?;
    assert_eq!(got, scaled(&cpu)?.compute()?);
    assert!(report.gpu_tiled_tasks > 0, "{report}");
    assert!(report.peak_device_bytes <= cap, "{report}");
    // A 1024^2 matmul in 256^2 blocks under a 1 MiB cap: each task (4 pairs of 256 KiB
    // blocks and a 256 KiB result) needs more than the cap, so every one of the 16 runs on the
    // GPU in tiles (rows of the result, a few (a_k, b_k) pairs at a time, summed on the host).
    // Placement is fixed by the plan, so two runs place every task the same way, whatever else
    // the machine is doing.
    let small_cap = 1u64 << 20;
    let gpu = Context::builder()
        .threads(2)
        .device(Device::Gpu)
        .device_memory(small_cap)
        .build()?;
    let product = |ctx: &Context| -> Result<Array> {
        let a = ctx
            .rng(6)
            .uniform(&[1024, 1024], -1.0, 1.0, DType::F32, 256)?;
        let b = ctx
            .rng(7)
            .uniform(&[1024, 1024], -1.0, 1.0, DType::F32, 256)?;
        a.matmul(&b)
    };
    let want = product(&cpu)?.to_ndarray::<f32>()?;
    let mut placements = Vec::new();
    for _ in 0..2 {
        let (got, report) = product(&gpu)?.compute_with_report()?;
        assert!(report.peak_device_bytes <= small_cap, "{report}");
        assert_eq!(report.gpu_tiled_tasks, 16, "{report}");
        // 32 random blocks and 16 tiled matmuls; nothing on the CPU but the host-side sums.
        assert_eq!(report.gpu_tasks, 48, "{report}");
        placements.push((report.gpu_tasks, report.gpu_tiled_tasks));
        let got = tilework::HostArray::typed::<f32>(&got)?.to_owned();
        for (g, w) in got.iter().zip(want.iter()) {
            assert!((g - w).abs() <= 1e-3 * (1.0 + w.abs()), "{g} vs {w}");
        }
    }
    assert_eq!(placements[0], placements[1]);
    Ok(())
}

#[test]
fn over_budget_device_values_move_to_the_host_and_from_there_to_disk() -> Result<()> {
    let Some(_) = common::gpu() else {
        return Ok(());
    };
    let spill = tempfile::tempdir().expect("tempdir");
    let (device_cap, host_cap) = (4u64 << 20, 8u64 << 20);
    let gpu = Context::builder()
        .threads(2)
        .device(Device::Gpu)
        .device_memory(device_cap)
        .host_memory(host_cap)
        .spill_dir(spill.path())
        .build()?;
    let cpu = common::cpu();
    // `x - x.mean(axis=0)` holds all 16 MiB of x (2 MiB chunks made on the GPU) until the mean
    // is known: more than the device cap, and more than the host cap after eviction.
    let centered_spread = |ctx: &Context| -> Result<(f64, tilework::Report)> {
        let x = ctx
            .rng(3)
            .normal(&[2048, 2048], 1.0, 2.0, DType::F32, [256, 2048])?;
        let centered = &x - &x.mean_axes(&[0], true)?;
        let (v, report) = centered.abs()?.max()?.compute_with_report()?;
        Ok((v.get(&[]).expect("scalar").to_f64(), report))
    };
    let (want, _) = centered_spread(&cpu)?;
    let (got, report) = centered_spread(&gpu)?;
    assert!((got - want).abs() <= 1e-5 * want.abs(), "{got} vs {want}");
    assert!(report.gpu_tasks > 0, "{report}");
    assert!(report.bytes_evicted > 0, "{report}");
    assert!(report.bytes_spilled > 0, "{report}");
    assert!(report.peak_device_bytes <= device_cap, "{report}");
    assert!(report.peak_host_bytes <= host_cap, "{report}");
    let left = std::fs::read_dir(spill.path()).map_or(0, |d| d.count());
    assert_eq!(left, 0, "spill files are removed");
    Ok(())
}

#[test]
fn tiled_reductions_match_the_cpu() -> Result<()> {
    let Some(_) = common::gpu() else {
        return Ok(());
    };
    let cap = 1u64 << 20;
    let gpu = Context::builder()
        .device(Device::Gpu)
        .device_memory(cap)
        .build()?;
    let cpu = common::cpu();
    // One 4 MiB chunk under a 1 MiB device cap: the reductions below run in row tiles, merged
    // by a host `Combine` when axis 0 is reduced and stacked as rows when it is not.
    let x = |ctx: &Context| -> Result<Array> {
        ctx.rng(12)
            .normal(&[1024, 1024], 3.0, 2.0, DType::F32, [1024, 1024])
    };
    type Reduction = fn(&Array) -> Result<Array>;
    let cases: [(&str, Reduction); 3] = [
        ("max(axis=0)", |a| a.max_axes(&[0], false)),
        ("min(axis=1)", |a| a.min_axes(&[1], true)),
        ("max()", |a| a.max()),
    ];
    for (what, reduce) in cases {
        let (got, report) = reduce(&x(&gpu)?)?.compute_with_report()?;
        assert_eq!(got, reduce(&x(&cpu)?)?.compute()?, "{what}");
        assert!(report.gpu_tiled_tasks > 0, "{what}: {report}");
        assert!(report.peak_device_bytes <= cap, "{what}: {report}");
    }
    // Moments merge across tiles (on the GPU where it has f64, on the CPU otherwise).
    let var = |ctx: &Context| -> Result<f64> { Ok(x(ctx)?.var(1)?.to_scalar()?.to_f64()) };
    let (got, want) = (var(&gpu)?, var(&cpu)?);
    assert!((got - want).abs() <= 1e-9 * want, "var {got} vs {want}");
    Ok(())
}

#[test]
fn gpu_results_persist_on_the_host_and_feed_later_steps() -> Result<()> {
    let Some(gpu) = common::gpu() else {
        return Ok(());
    };
    let cpu = common::cpu();
    // Three persisted steps of a GPU stencil, as a time-stepping simulation runs them.
    let kernel = WgslKernel::new("smooth", "return 0.5 * in0(0) + 0.25 * (in0(-1) + in0(1));")
        .with_cpu(|b: ndarray::ArrayViewD<'_, f32>| {
            let n = b.len();
            ndarray::Array1::from_shape_fn(n - 2, |i| {
                0.5 * b[[i + 1]] + 0.25 * (b[[i]] + b[[i + 2]])
            })
            .into_dyn()
        });
    let run = |ctx: &Context| -> Result<(HostArray, tilework::Report)> {
        let mut u = ctx
            .rng(3)
            .uniform(&[1 << 20], 0.0, 1.0, DType::F32, 1 << 18)?;
        for _ in 0..3 {
            u = u
                .map_overlap_wgsl(&[1], Boundary::Periodic, &kernel)?
                .persist()?;
        }
        (&u * 1.0).compute_with_report()
    };
    let (got, report) = run(&gpu)?;
    assert!(report.gpu_tasks > 0, "{report}");
    let (want, _) = run(&cpu)?;
    let (got, want) = (got.typed::<f32>()?, want.typed::<f32>()?);
    for (g, w) in got.iter().zip(want.iter()) {
        assert!((g - w).abs() <= 1e-6, "{g} vs {w}");
    }
    Ok(())
}
