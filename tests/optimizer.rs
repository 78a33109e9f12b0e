//! Structural tests: each optimizer pass provably fired, seen through the plan and the report.
mod common;

use tilework::prelude::*;

fn family(summary: &[(&'static str, usize)], name: &str) -> usize {
    summary
        .iter()
        .find(|(f, _)| *f == name)
        .map_or(0, |(_, n)| *n)
}

fn elementwise_fuses_into_reduction(ctx: &Context) -> Result<()> {
    let x = ctx
        .rng(1)
        .uniform(&[400, 300], 0.0, 1.0, DType::F32, [100, 300])?;
    let y = ctx
        .rng(2)
        .uniform(&[400, 300], 0.0, 1.0, DType::F32, [100, 300])?;
    let total = (&x * &y + 1.0).sum()?;
    let plan = total.plan_summary()?;
    // One fused reduction kernel per chunk (4 partials), one combine, one finalize; no separate
    // elementwise kernels.
    assert_eq!(family(&plan, "elementwise"), 0, "{plan:?}");
    assert_eq!(family(&plan, "reduce"), 4 + 1 + 1, "{plan:?}");
    let (value, report) = total.compute_with_report()?;
    assert_eq!(
        report.fused_ops,
        4 * 2,
        "multiply and add ran fused in each of 4 chunks"
    );
    let expected = ((x.to_ndarray::<f32>()? * y.to_ndarray::<f32>()?) + 1.0)
        .mapv(f64::from)
        .sum();
    assert!((value.get(&[]).expect("0-d").to_f64() - expected).abs() < 1e-3 * expected);
    assert!(total.explain()?.contains("sum[0, 1] of fused[2 ops]"));
    Ok(())
}

fn elementwise_chain_is_one_kernel_per_chunk(ctx: &Context) -> Result<()> {
    let x = ctx.rng(3).uniform(&[1000], -1.0, 1.0, DType::F64, 100)?;
    let y = ((&x + 1.0) * 2.0).sin()?.abs()?;
    let plan = y.plan_summary()?;
    assert_eq!(family(&plan, "elementwise"), 10, "{plan:?}");
    let (_, report) = y.compute_with_report()?;
    assert_eq!(report.fused_ops, 10 * 4);
    assert!(report.nodes_after < report.nodes_before);
    Ok(())
}

fn slices_push_down_to_sources(ctx: &Context) -> Result<()> {
    let x = ctx
        .rng(4)
        .normal(&[1_000_000], 0.0, 1.0, DType::F32, 10_000)?;
    let y = (&x * 2.0 + 1.0).exp()?;
    let part = y.slice(&s![123_456..123_466])?;
    let plan = part.plan_summary()?;
    let tasks: usize = plan.iter().map(|(_, n)| n).sum();
    // Only the one chunk overlapping the slice is generated, gathered, and transformed.
    assert_eq!(family(&plan, "random"), 1, "{plan:?}");
    assert!(tasks <= 3, "{plan:?}");
    // The elementwise work runs on the 10 sliced elements, not a whole chunk.
    let text = part.explain()?;
    assert!(
        text.lines()
            .any(|l| l.contains("elementwise") && l.contains("shape=[10]")),
        "{text}"
    );
    let got = part.to_ndarray::<f32>()?;
    let full = y.to_ndarray::<f32>()?;
    assert_eq!(
        got.as_slice().expect("contiguous"),
        &full.as_slice().expect("contiguous")[123_456..123_466]
    );
    Ok(())
}

fn common_subexpressions_computed_once(ctx: &Context) -> Result<()> {
    let x = ctx.rng(5).uniform(&[100], 0.0, 1.0, DType::F64, 10)?;
    // Two separately built, identical subexpressions.
    let y = &x.sin()? + &x.sin()?;
    let text = y.explain()?;
    assert_eq!(text.matches("sin(").count(), 1, "{text}");
    let (_, report) = y.compute_with_report()?;
    assert_eq!(report.fused_ops, 10 * 2, "one sin and one add per chunk");
    // The vectorized sin is within 2 ulp of std's, not bit-identical to it.
    let expected = x.to_ndarray::<f64>()?.mapv(|v| 2.0 * v.sin());
    common::assert_close(&y.to_ndarray::<f64>()?, &expected, 1e-15, 0.0);
    Ok(())
}

fn noops_are_dropped(ctx: &Context) -> Result<()> {
    let x = ctx.ones(&[20, 20], DType::F32, 5)?;
    let y = x.slice(&s![.., ..])?.rechunk(5)?.reshape(&[20, 20])?;
    let plan = y.plan_summary()?;
    assert_eq!(plan, vec![("fill", 16)]);
    Ok(())
}

fn elementwise_fuses_into_stencils(ctx: &Context) -> Result<()> {
    let x = ctx.rng(6).uniform(&[64, 64], 0.0, 1.0, DType::F32, 16)?;
    let y = (&x * 0.5 - 1.0).map_overlap(
        "id",
        &[1, 1],
        Boundary::Periodic,
        |b: ndarray::ArrayViewD<f32>| b.to_owned(),
    )?;
    let plan = y.plan_summary()?;
    assert_eq!(family(&plan, "elementwise"), 0, "{plan:?}");
    assert_eq!(family(&plan, "overlap"), 16, "{plan:?}");
    let expected = x.to_ndarray::<f32>()?.mapv(|v| v * 0.5 - 1.0);
    assert_eq!(y.to_ndarray::<f32>()?, expected);
    Ok(())
}

conformance!(
    elementwise_fuses_into_reduction,
    elementwise_chain_is_one_kernel_per_chunk,
    slices_push_down_to_sources,
    common_subexpressions_computed_once,
    noops_are_dropped,
    elementwise_fuses_into_stencils,
);
