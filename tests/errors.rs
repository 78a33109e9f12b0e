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
    assert!("tpu".parse::<Device>().is_err());
}

#[test]
#[cfg(feature = "gpu")]
fn a_missing_gpu_is_an_error_under_gpu_and_the_cpu_under_auto() {
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
}

#[test]
#[cfg(not(feature = "gpu"))]
fn without_the_gpu_feature_device_gpu_is_an_error_naming_the_feature() {
    let err = Context::builder()
        .device(Device::Gpu)
        .build()
        .expect_err("no GPU backend in this build");
    assert!(err.to_string().contains("`gpu` feature"), "{err}");
    let auto = Context::builder().build().expect("Auto runs on the CPU");
    assert!(auto.gpu().is_none());
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

// ---- Issue 14 item 5: builder and environment settings are checked when a context is built. ----

/// The message of `Err(InvalidArgument)` of op `"context"`, which must contain `needle`.
fn refused_setting(result: Result<Context>, needle: &str) -> String {
    match result {
        Err(Error::InvalidArgument {
            op: "context",
            detail,
        }) => {
            assert!(detail.contains(needle), "{detail:?} lacks {needle:?}");
            detail
        }
        Err(other) => panic!("{needle}: expected a context error, got {other}"),
        Ok(_) => panic!("{needle}: the context was built"),
    }
}

#[test]
fn builder_settings_are_checked_at_build() {
    let b = || Context::builder().threads(1);
    // Budgets of 0 bytes would make every computation fail.
    refused_setting(b().host_memory(0).build(), "host_memory(0): ");
    refused_setting(b().device_memory(0).build(), "device_memory(0): ");
    // Counts beyond MAX_THREADS used to wrap `threads + io_threads` to a one-thread pool.
    let huge = Context::builder().threads(usize::MAX).build();
    refused_setting(
        huge,
        "threads(18446744073709551615): must be between 1 and 4096",
    );
    refused_setting(Context::builder().threads(0).build(), "threads(0)");
    refused_setting(b().io_threads(usize::MAX).build(), "io_threads(");
    refused_setting(
        b().io_threads(tilework::MAX_THREADS + 1).build(),
        "4096 threads",
    );
    refused_setting(b().prefetch_depth(0).build(), "prefetch_depth(0)");
    refused_setting(b().prefetch_depth(usize::MAX).build(), "prefetch_depth(");
    // A spill directory that is a file.
    let file = std::env::current_exe().expect("the test binary");
    refused_setting(b().spill_dir(&file).build(), "is not a directory");
    // The limits themselves are fine.
    let ctx = b()
        .io_threads(0)
        .prefetch_depth(tilework::MAX_PREFETCH)
        .host_memory(1)
        .device_memory(1)
        .build()
        .expect("settings at their limits");
    assert_eq!((ctx.threads(), ctx.io_threads()), (1, 0));
    assert_eq!(
        (ctx.host_memory(), ctx.prefetch_depth()),
        (1, tilework::MAX_PREFETCH)
    );
}

/// Set by `environment_settings_are_checked_at_build` for its child processes.
const ENV_CHILD: &str = "TILEWORK_TEST_ENV_CHILD";

/// Every variable a context reads.
const SETTINGS: [&str; 7] = [
    "TILEWORK_DEVICE",
    "TILEWORK_HOST_MEMORY",
    "TILEWORK_DEVICE_MEMORY",
    "TILEWORK_SPILL_DIR",
    "TILEWORK_IO_THREADS",
    "TILEWORK_PREFETCH",
    "TILEWORK_GPU_ADAPTER",
];

/// Run only as the child of `environment_settings_are_checked_at_build`: builds a context from
/// the environment it was given and prints the outcome.
#[test]
#[ignore = "child process of environment_settings_are_checked_at_build"]
fn child_builds_a_context_from_the_environment() {
    if std::env::var(ENV_CHILD).is_err() {
        return;
    }
    match Context::builder().threads(1).build() {
        // After a newline: libtest prints the test's name on the line before.
        Ok(ctx) => println!("\noutcome: built: host_memory {}", ctx.host_memory()),
        Err(e) => println!("\noutcome: error: {e}"),
    }
}

#[test]
fn environment_settings_are_checked_at_build() {
    let exe = std::env::current_exe().expect("the test binary");
    // One process per case: the environment is shared by every test of this one.
    let outcome = |var: &str, value: &str| {
        let mut child = std::process::Command::new(&exe);
        for v in SETTINGS {
            child.env_remove(v);
        }
        let out = child
            .args([
                "--exact",
                "child_builds_a_context_from_the_environment",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(ENV_CHILD, "1")
            .env(var, value)
            .output()
            .expect("the test binary runs");
        assert!(out.status.success(), "{var}={value}: {out:?}");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let line = stdout.lines().find_map(|l| l.strip_prefix("outcome: "));
        line.unwrap_or("no outcome").to_string()
    };
    let spill_file = exe.display().to_string();
    let cases = [
        ("TILEWORK_HOST_MEMORY", "0", "0 bytes cannot hold any chunk"),
        (
            "TILEWORK_HOST_MEMORY",
            "99999999999999999999999TiB",
            "more than",
        ),
        ("TILEWORK_HOST_MEMORY", "0.5", "fraction of a byte"),
        ("TILEWORK_HOST_MEMORY", "-1GiB", "not a size"),
        ("TILEWORK_HOST_MEMORY", "NaN", "not a size"),
        ("TILEWORK_HOST_MEMORY", "inf", "not a size"),
        (
            "TILEWORK_DEVICE_MEMORY",
            "0",
            "0 bytes cannot hold any chunk",
        ),
        (
            "TILEWORK_IO_THREADS",
            "18446744073709551615",
            "must be between 0 and 4096",
        ),
        (
            "TILEWORK_IO_THREADS",
            "99999999999999999999999",
            "too large",
        ),
        ("TILEWORK_IO_THREADS", "-1", "not a whole number"),
        ("TILEWORK_PREFETCH", "0", "must be between 1 and"),
        ("TILEWORK_DEVICE", "tpu", "unknown device"),
        (
            "TILEWORK_SPILL_DIR",
            spill_file.as_str(),
            "is not a directory",
        ),
    ];
    for (var, value, needle) in cases {
        let got = outcome(var, value);
        let prefix = format!("error: context: {var}={value}: ");
        assert!(got.starts_with(&prefix), "{var}={value}: {got}");
        assert!(
            got.contains(needle),
            "{var}={value}: {got} lacks {needle:?}"
        );
    }
    // Valid values still build, fractions of a unit included.
    assert_eq!(
        outcome("TILEWORK_HOST_MEMORY", "0.5GiB"),
        "built: host_memory 536870912"
    );
    assert!(outcome("TILEWORK_PREFETCH", " 3 ").starts_with("built: "));
}
