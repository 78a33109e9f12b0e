//! The executor: deterministic reduction trees, memory accounting, persist and shared work.
mod common;

#[cfg(feature = "zarr")]
use tilework::ZarrWriteOptions;
use tilework::prelude::*;

fn with_threads(n: usize) -> Context {
    Context::builder().threads(n).build().expect("context")
}

#[test]
fn reductions_are_bit_identical_across_thread_counts() -> Result<()> {
    let results: Vec<Vec<u64>> = [1usize, 2]
        .iter()
        .map(|&threads| {
            let ctx = with_threads(threads);
            let x = ctx
                .rng(11)
                .normal(&[3000, 700], 0.0, 1.0, DType::F32, [250, 700])
                .expect("random");
            let outs = [
                x.sum(),
                x.mean(),
                x.std(1),
                x.sum_axes(&[1], false).and_then(|s| s.max()),
                (&x * &x).sum(),
            ];
            outs.into_iter()
                .map(|r| {
                    r.and_then(|a| a.to_scalar())
                        .expect("compute")
                        .to_f64()
                        .to_bits()
                })
                .collect()
        })
        .collect();
    assert_eq!(results[0], results[1]);
    Ok(())
}

#[test]
fn peak_bytes_stay_near_a_few_chunks() -> Result<()> {
    let ctx = with_threads(2);
    // 64 MiB of ones in 1 MiB chunks: streaming the sum holds only a few chunks at once.
    let x = ctx.ones(&[16 << 20], DType::F32, 1 << 18)?;
    let (total, report) = x.sum()?.compute_with_report()?;
    assert_eq!(total.get(&[]).expect("0-d").to_f64(), (16 << 20) as f64);
    assert!(
        report.peak_host_bytes <= 8 << 20,
        "peak {} bytes",
        report.peak_host_bytes
    );
    assert!(report.peak_host_bytes >= 1 << 20);
    assert_eq!(
        report.tasks_run,
        report.tasks_by_family.iter().map(|(_, n)| n).sum::<usize>()
    );
    assert!(report.execute_s > 0.0 && report.plan_s >= 0.0);
    Ok(())
}

#[test]
fn persist_and_compute_all_share_work() -> Result<()> {
    let ctx = with_threads(2);
    let x = ctx.rng(3).uniform(&[1000], 0.0, 1.0, DType::F64, 100)?;
    let p = (&x * 3.0).persist()?;
    let plan = p.sum()?.plan_summary()?;
    assert!(plan.iter().any(|(f, _)| *f == "literal"), "{plan:?}");
    assert_eq!(
        p.to_ndarray::<f64>()?,
        x.to_ndarray::<f64>()?.mapv(|v| v * 3.0)
    );
    let (values, report) = compute_all(&ctx, &[x.sum()?, x.mean()?])?;
    assert_eq!(values.len(), 2);
    // Both reductions read the same 10 random chunks once.
    let random = report
        .tasks_by_family
        .iter()
        .find(|(f, _)| *f == "random")
        .map(|(_, n)| *n);
    assert_eq!(random, Some(10));
    let (sum, mean) = (
        values[0].get(&[]).expect("0-d").to_f64(),
        values[1].get(&[]).expect("0-d").to_f64(),
    );
    assert!((sum / 1000.0 - mean).abs() < 1e-12);
    Ok(())
}

#[test]
fn two_reductions_of_one_array_stream_it_once() -> Result<()> {
    let ctx = with_threads(2);
    // 64 MiB of random data in 1 MiB chunks, reduced twice in one compute.
    let x = ctx
        .rng(5)
        .uniform(&[1 << 24], 0.0, 1.0, DType::F32, 1 << 18)?;
    let (values, report) = compute_all(&ctx, &[x.mean()?, x.std(0)?])?;
    assert!((values[0].get(&[]).expect("0-d").to_f64() - 0.5).abs() < 1e-3);
    assert!(
        report.peak_host_bytes <= 8 << 20,
        "peak {} bytes",
        report.peak_host_bytes
    );
    Ok(())
}

#[test]
fn sum_of_1e6_ones_in_small_chunks() -> Result<()> {
    let ctx = with_threads(2);
    let x = ctx.ones(&[1_000_000], DType::F64, 1000)?;
    let (total, report) = x.sum()?.compute_with_report()?;
    assert_eq!(total.get(&[]).expect("0-d").to_f64(), 1e6);
    assert!(report.tasks_run > 2000);
    Ok(())
}

#[test]
fn to_dot_lists_the_optimized_graph() -> Result<()> {
    let ctx = with_threads(1);
    let x = ctx.ones(&[10], DType::F32, 5)?;
    let dot = (&x + 1.0).sum()?.to_dot();
    assert!(
        dot.starts_with("digraph") && dot.contains("->") && dot.contains("sum"),
        "{dot}"
    );
    Ok(())
}

/// Files left in `dir` (spill folders included).
fn entries(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| d.count())
}

#[test]
fn over_budget_graphs_spill_to_disk_and_clean_up() -> Result<()> {
    let spill = tempfile::tempdir().expect("tempdir");
    let small = Context::builder()
        .threads(2)
        .host_memory(8 << 20)
        .spill_dir(spill.path())
        .build()?;
    let roomy = with_threads(2);
    // `x - x.mean(axis=0)` needs every chunk of x twice, and the mean in between: 16 MiB of x
    // must wait for the mean, so under an 8 MiB budget some chunks go to disk.
    let centered_spread = |ctx: &Context| -> Result<(f64, tilework::Report)> {
        let x = ctx
            .rng(3)
            .normal(&[2048, 2048], 1.0, 2.0, DType::F32, [256, 2048])?;
        let centered = &x - &x.mean_axes(&[0], true)?;
        let (v, report) = centered.abs()?.max()?.compute_with_report()?;
        Ok((v.get(&[]).expect("scalar").to_f64(), report))
    };
    let (want, roomy_report) = centered_spread(&roomy)?;
    let (got, report) = centered_spread(&small)?;
    assert_eq!(got, want);
    assert_eq!(roomy_report.bytes_spilled, 0);
    assert!(report.bytes_spilled > 0, "{report:?}");
    assert!(
        report.peak_host_bytes <= 8 << 20,
        "peak {} over the 8 MiB budget",
        report.peak_host_bytes
    );
    assert_eq!(entries(spill.path()), 0, "spill files are removed");
    Ok(())
}

#[test]
fn cancelling_stops_a_computation_and_removes_spill_files() -> Result<()> {
    let spill = tempfile::tempdir().expect("tempdir");
    let ctx = Context::builder()
        .threads(2)
        .host_memory(24 << 20)
        .spill_dir(spill.path())
        .build()?;
    let token = ctx.cancel_token().clone();
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = calls.clone();
    let x = ctx
        .rng(1)
        .uniform(&[64, 65536], 0.0, 1.0, DType::F32, [1, 65536])?;
    let slow = x.map_blocks(
        "cancels on the 5th block",
        move |b: ndarray::ArrayViewD<'_, f32>| {
            if seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 4 {
                token.cancel();
            }
            b.to_owned()
        },
    )?;
    let centered = &slow - &slow.mean_axes(&[0], true)?;
    let err = centered.sum()?.compute().expect_err("cancelled");
    assert!(matches!(err, Error::Cancelled(_)), "{err}");
    assert!(
        calls.load(std::sync::atomic::Ordering::SeqCst) < 64,
        "stopped early"
    );
    assert_eq!(entries(spill.path()), 0, "spill files are removed");
    ctx.cancel_token().reset();
    assert!(centered.sum()?.compute().is_ok());
    Ok(())
}

#[test]
fn read_ahead_stays_within_the_prefetch_depth() -> Result<()> {
    let mut results = Vec::new();
    for depth in [1, 3, 64] {
        let ctx = Context::builder()
            .threads(4)
            .prefetch_depth(depth)
            .build()?;
        assert_eq!(ctx.prefetch_depth(), depth);
        let x = ctx
            .rng(11)
            .normal(&[256, 4096], 0.0, 1.0, DType::F32, [8, 4096])?;
        let (values, report) = compute_all(&ctx, &[x.mean()?, x.std(0)?])?;
        assert!(
            (1..=depth).contains(&report.peak_read_ahead),
            "depth {depth}: {} chunks read ahead",
            report.peak_read_ahead
        );
        results.push((
            values[0].get(&[]).map(|s| s.to_f64()),
            values[1].get(&[]).map(|s| s.to_f64()),
        ));
    }
    // The reduction trees do not depend on the order tasks ran in.
    assert!(results.windows(2).all(|w| w[0] == w[1]), "{results:?}");
    Ok(())
}

#[test]
#[cfg(feature = "zarr")]
fn a_tight_budget_shortens_read_ahead_instead_of_spilling_it() -> Result<()> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("x.zarr");
    let roomy = with_threads(2);
    // 64 MiB in 1 MiB chunks, read from a store: reads run on I/O threads beside the reductions.
    roomy
        .rng(23)
        .normal(&[64, 1 << 18], 0.0, 1.0, DType::F32, [1, 1 << 18])?
        .to_zarr(&path, &ZarrWriteOptions::default())?;
    let summary = |ctx: &Context| -> Result<(Vec<u64>, tilework::Report)> {
        let x = ctx.from_zarr(&path)?;
        let (values, report) = compute_all(ctx, &[x.mean()?, x.std(0)?, x.abs()?.max()?])?;
        let bits = values
            .iter()
            .map(|v| v.get(&[]).map_or(u64::MAX, |s| s.to_f64().to_bits()))
            .collect();
        Ok((bits, report))
    };
    let (want, _) = summary(&roomy)?;
    for budget in [3u64 << 20, 4 << 20, 6 << 20] {
        // Read-ahead of 8 chunks would want more than the budget.
        let tight = Context::builder()
            .threads(2)
            .prefetch_depth(8)
            .host_memory(budget)
            .spill_dir(dir.path())
            .build()?;
        let (got, report) = summary(&tight)?;
        assert_eq!(got, want);
        assert_eq!(
            report.bytes_spilled, 0,
            "{budget}: read-ahead went to disk: {report:?}"
        );
        assert!(report.peak_host_bytes <= budget, "{report:?}");
        assert!((1..=8).contains(&report.peak_read_ahead), "{report:?}");
    }
    Ok(())
}

#[test]
fn a_task_reading_more_chunks_than_the_prefetch_depth_still_runs() -> Result<()> {
    let ctx = Context::builder().threads(2).prefetch_depth(1).build()?;
    // Each output chunk gathers 50 source chunks.
    let x = ctx.arange(0.0, 1000.0, 1.0, DType::F64, 2)?.rechunk(100)?;
    let (total, report) = (&x * 2.0).sum()?.compute_with_report()?;
    assert_eq!(total.get(&[]).map(|s| s.to_f64()), Some(999_000.0));
    assert!(report.peak_read_ahead >= 1);
    assert!(Context::builder().prefetch_depth(0).build().is_err());
    Ok(())
}

/// Column sums and row-weighted column sums of `x`, exact in i64: they equal only when every
/// column holds the same values in the same order.
fn column_signature(x: &Array) -> Result<(Vec<i64>, Vec<i64>)> {
    let rows = x.shape()[0];
    let row_index = x
        .context()
        .arange(0.0, rows as f64, 1.0, DType::I64, rows)?
        .reshape(&[rows as isize, 1])?;
    let sums = x.sum_axes(&[0], false)?.to_ndarray::<i64>()?;
    let weighted = (x * &row_index)
        .sum_axes(&[0], false)?
        .to_ndarray::<i64>()?;
    Ok((
        sums.iter().copied().collect(),
        weighted.iter().copied().collect(),
    ))
}

#[test]
fn a_rechunk_past_the_budget_runs_in_stages() -> Result<()> {
    let spill = tempfile::tempdir().expect("tempdir");
    let budget = 2u64 << 20;
    let small = Context::builder()
        .threads(2)
        .host_memory(budget)
        .spill_dir(spill.path())
        .build()?;
    let (rows, columns) = (2048, 256);
    // 4 MiB of i64 in row chunks (2 KiB each): one column chunk reads every row, twice the budget.
    let data = |ctx: &Context| {
        ctx.rng(5)
            .integers(&[rows, columns], -1000, 1000, DType::I64, [1, columns])
    };
    // A source is read on the new chunks directly; computed chunks must be gathered.
    let computed = |ctx: &Context| data(ctx).map(|x| &x * 3);
    let direct = data(&small)?.rechunk([rows, 1])?;
    assert_eq!(direct.plan_summary()?, vec![("random", columns)]);
    let want = column_signature(&computed(&with_threads(2))?)?;
    let by_columns = computed(&small)?.rechunk([rows, 1])?;
    assert_eq!(by_columns.chunks()[1], vec![1; columns]);
    let plan = by_columns.explain()?;
    let steps = plan.lines().filter(|l| l.contains("rechunk")).count();
    assert!(steps >= 2, "one step would need twice the budget:\n{plan}");
    assert_eq!(column_signature(&by_columns)?, want);
    let (_, report) = by_columns.sum()?.compute_with_report()?;
    assert!(
        report.peak_host_bytes <= budget,
        "peak {} over the {budget}-byte budget",
        report.peak_host_bytes
    );
    // Chunks that do not fit the budget themselves are still refused, by name.
    let tiny = Context::builder().threads(2).host_memory(1 << 10).build()?;
    let err = computed(&tiny)?
        .rechunk([rows, 1])?
        .sum()?
        .compute()
        .expect_err("over budget");
    assert!(err.to_string().contains("budget"), "{err}");
    Ok(())
}

#[test]
#[cfg(feature = "zarr")]
fn storage_threads_do_not_change_results() -> Result<()> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("x.zarr");
    let writer = with_threads(2);
    let x = writer
        .rng(12)
        .normal(&[512, 1024], 1.0, 2.0, DType::F32, [32, 1024])?;
    x.to_zarr(&path, &tilework::ZarrWriteOptions::default())?;
    let mut results = Vec::new();
    for io in [0, 1, 3] {
        let ctx = Context::builder().threads(2).io_threads(io).build()?;
        assert_eq!((ctx.threads(), ctx.io_threads()), (2, io));
        let stored = ctx.from_zarr(&path)?;
        let (values, report) = compute_all(&ctx, &[stored.mean()?, stored.std(0)?])?;
        assert!(report.peak_read_ahead >= 1, "{report}");
        results.push(values);
    }
    assert!(results.windows(2).all(|w| w[0] == w[1]));
    Ok(())
}
