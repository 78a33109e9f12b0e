//! The executor: deterministic reduction trees, memory accounting, persist and shared work.
mod common;

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
