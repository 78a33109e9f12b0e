//! Storage through the public API: Zarr and .npy round trips, lazy reads that touch only the
//! chunks needed, interrupted writes, and files opened by zarr-python and NumPy.
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use tilework::io::zarr::ZarrReader;
use tilework::prelude::*;
use tilework::{BlockFn, BloscCompressor, Codec, Report, ZarrWriteOptions};
use tilework_core::{ChunkReader, Region};

fn family_count(report: &Report, family: &str) -> usize {
    report
        .tasks_by_family
        .iter()
        .find(|(f, _)| *f == family)
        .map_or(0, |(_, n)| *n)
}

fn codecs() -> Vec<Codec> {
    vec![
        Codec::None,
        Codec::Zstd { level: 3 },
        Codec::Blosc {
            compressor: BloscCompressor::Lz4,
            level: 5,
            shuffle: true,
        },
        Codec::Blosc {
            compressor: BloscCompressor::Zstd,
            level: 3,
            shuffle: false,
        },
        Codec::Gzip { level: 5 },
    ]
}

fn options(codec: Codec) -> ZarrWriteOptions {
    ZarrWriteOptions {
        codec,
        ..ZarrWriteOptions::default()
    }
}

/// A test array of `dtype`: random normal values, cast (so integers and bools vary too).
fn sample(ctx: &Context, shape: &[usize], chunks: &[usize], dtype: DType) -> Result<Array> {
    let x = ctx.rng(5).normal(shape, 0.0, 20.0, DType::F64, chunks)?;
    match dtype {
        DType::Bool => x.greater(0.0),
        DType::U8 | DType::U32 => x.abs()?.astype(dtype),
        _ => x.astype(dtype),
    }
}

#[test]
fn zarr_round_trip_every_codec_and_dtype() -> Result<()> {
    let ctx = common::cpu();
    let dir = tempfile::tempdir().expect("tempdir");
    for (i, codec) in codecs().into_iter().enumerate() {
        for dtype in DType::ALL {
            let x = sample(&ctx, &[37, 23], &[10, 8], dtype)?;
            let path = dir.path().join(format!("a{i}_{dtype}.zarr"));
            let report = x.to_zarr(&path, &options(codec.clone()))?;
            assert_eq!(family_count(&report, "store_write"), x.num_chunks());
            let back = ctx.from_zarr(&path)?;
            assert_eq!(back.shape(), x.shape());
            assert_eq!(back.dtype(), dtype);
            assert_eq!(back.chunks(), x.chunks(), "stored chunks are the array's");
            assert_eq!(
                back.compute()?,
                x.compute()?,
                "{codec:?} {dtype} round trip"
            );
        }
    }
    Ok(())
}

#[test]
fn slicing_a_zarr_array_reads_only_the_chunks_it_overlaps() -> Result<()> {
    let ctx = common::cpu();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("big.zarr");
    let x = ctx.arange(0.0, 100_000.0, 1.0, DType::F64, 1000)?;
    x.to_zarr(&path, &ZarrWriteOptions::default())?;
    let stored = ctx.from_zarr(&path)?;
    assert_eq!(stored.num_chunks(), 100);
    let (part, report) = stored.slice(&s![41_000..41_010])?.compute_with_report()?;
    assert_eq!(family_count(&report, "store_read"), 1, "{report:?}");
    let expected: Vec<f64> = (41_000..41_010).map(f64::from).collect();
    assert_eq!(part, HostArray::from_vec(expected, &[10])?);
    let (_, report) = stored.slice(&s![999..1001])?.compute_with_report()?;
    assert_eq!(family_count(&report, "store_read"), 2);
    // Fused into a reduction: every chunk is read once, nothing is held whole.
    let (total, report) = (&stored * 2.0).sum()?.compute_with_report()?;
    assert_eq!(family_count(&report, "store_read"), 100);
    assert_eq!(total.get(&[]), Some(Scalar::F64(99_999.0 * 100_000.0)));
    assert!(report.peak_host_bytes < 100_000 * 8 / 4, "{report:?}");
    Ok(())
}

#[test]
fn irregular_chunks_are_stored_regular() -> Result<()> {
    let ctx = common::cpu();
    let dir = tempfile::tempdir().expect("tempdir");
    let a = ctx.ones(&[5, 4], DType::I32, [5, 4])?;
    let b = ctx
        .arange(0.0, 28.0, 1.0, DType::I32, 28)?
        .reshape(&[7, 4])?;
    let joined = concatenate(&[&a, &b], 0)?;
    let path = dir.path().join("joined.zarr");
    joined.to_zarr(&path, &ZarrWriteOptions::default())?;
    let back = ctx.from_zarr(&path)?;
    assert_eq!(back.chunks(), vec![vec![7, 5], vec![4]]);
    assert_eq!(back.compute()?, joined.compute()?);
    Ok(())
}

#[test]
fn npy_round_trip_and_chunked_reads() -> Result<()> {
    let ctx = common::cpu();
    let dir = tempfile::tempdir().expect("tempdir");
    for dtype in DType::ALL {
        let x = sample(&ctx, &[41, 3, 17], &[10, 2, 9], dtype)?;
        let path = dir.path().join(format!("x_{dtype}.npy"));
        let report = x.to_npy(&path)?;
        assert_eq!(family_count(&report, "store_write"), x.num_chunks());
        let back = ctx.from_npy_with_chunks(&path, [7, 3, 5])?;
        assert_eq!((back.shape(), back.dtype()), (x.shape(), dtype));
        assert_eq!(back.num_chunks(), 6 * 4);
        assert_eq!(back.compute()?, x.compute()?, "{dtype}");
        let auto = ctx.from_npy(&path)?;
        assert_eq!(
            auto.compute()?,
            x.compute()?,
            "{dtype} with automatic chunks"
        );
    }
    Ok(())
}

#[test]
fn failed_writes_leave_nothing_half_written() -> Result<()> {
    let ctx = common::cpu();
    let dir = tempfile::tempdir().expect("tempdir");
    // A user kernel that fails: the .npy never appears at its path.
    let x = ctx.arange(0.0, 100.0, 1.0, DType::F32, 10)?;
    let func = BlockFn {
        name: "fails past 50".into(),
        func: std::sync::Arc::new(|blocks: &[HostArray]| match blocks[0].get(&[0]) {
            Some(Scalar::F32(v)) if v >= 50.0 => {
                Err(Error::UserKernel(format!("block starting at {v}")))
            }
            _ => Ok(blocks[0].clone()),
        }),
        wgsl: None,
    };
    let failing = tilework::map_blocks_dyn(&[&x], DType::F32, func)?;
    let npy = dir.path().join("never.npy");
    let err = failing.to_npy(&npy).expect_err("the kernel fails");
    assert!(err.to_string().contains("block starting at"), "{err}");
    assert!(!npy.exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).expect("ls").count(),
        0,
        "no temp files left"
    );
    // The same into Zarr: metadata and the chunks computed before the failure are complete.
    let zarr = dir.path().join("partial.zarr");
    assert!(
        failing
            .to_zarr(&zarr, &ZarrWriteOptions::default())
            .is_err()
    );
    let reader = ZarrReader::open(&zarr)?;
    let missing = reader.missing_chunks()?;
    assert!(
        !missing.is_empty() && missing.iter().all(|c| c[0] >= 5),
        "{missing:?}"
    );
    let stored = ctx.from_zarr(&zarr)?.compute()?;
    let stored = stored.typed::<f32>()?;
    for (i, v) in stored.iter().enumerate() {
        let present = !missing.contains(&vec![i / 10]);
        assert_eq!(*v, if present { i as f32 } else { 0.0 }, "element {i}");
    }
    // The completion record tells a reader the write failed; a strict read refuses it.
    assert_eq!(reader.completion(), tilework::ZarrCompletion::Incomplete);
    let err = ctx
        .from_zarr_with(&zarr, tilework::ZarrReadMode::Strict)
        .expect_err("incomplete");
    assert!(err.to_string().contains("did not finish"), "{err}");
    Ok(())
}

#[test]
fn a_plan_refused_by_the_budget_writes_nothing() -> Result<()> {
    let ctx = Context::builder().threads(1).host_memory(1 << 20).build()?;
    let dir = tempfile::tempdir().expect("tempdir");
    // One chunk of 4 MiB cannot fit a 1 MiB budget.
    let x = ctx.ones(&[4 << 20], DType::U8, Chunks::Shape(vec![4 << 20]))?;
    let zarr = dir.path().join("refused.zarr");
    let err = x
        .to_zarr(&zarr, &ZarrWriteOptions::default())
        .expect_err("over budget");
    assert!(err.to_string().contains("budget"), "{err}");
    let npy = dir.path().join("refused.npy");
    x.to_npy(&npy).expect_err("over budget");
    assert_eq!(
        std::fs::read_dir(dir.path()).expect("ls").count(),
        0,
        "neither zarr.json nor a temporary file was written"
    );
    Ok(())
}

#[test]
fn a_finished_to_zarr_is_recorded_complete_and_reads_strictly() -> Result<()> {
    let ctx = common::cpu();
    let dir = tempfile::tempdir().expect("tempdir");
    let x = ctx.arange(0.0, 100.0, 1.0, DType::F32, 30)?;
    let zarr = dir.path().join("whole.zarr");
    x.to_zarr(&zarr, &ZarrWriteOptions::default())?;
    assert_eq!(
        ZarrReader::open(&zarr)?.completion(),
        tilework::ZarrCompletion::Complete
    );
    let strict = ctx.from_zarr_with(&zarr, tilework::ZarrReadMode::Strict)?;
    assert_eq!(strict.sum()?.to_scalar()?.to_f64(), 4950.0);
    // A chunk removed by hand: the default read fills it, a strict read names it.
    std::fs::remove_file(zarr.join("c/1")).expect("chunk 1 exists");
    let filled = ctx.from_zarr(&zarr)?.sum()?.to_scalar()?.to_f64();
    assert_eq!(filled, f64::from(4950 - (30..60).sum::<i32>()));
    let strict = ctx.from_zarr_with(&zarr, tilework::ZarrReadMode::Strict)?;
    let err = strict.compute().expect_err("chunk 1 is missing");
    assert!(err.to_string().contains("chunk [1]"), "{err}");
    Ok(())
}

/// The array the killed child writes: large enough that writing takes a second or more.
fn kill_test_array(ctx: &Context) -> Result<Array> {
    ctx.rng(99)
        .normal(&[4096, 8192], 0.0, 1.0, DType::F32, [128, 1024])
}

const KILL_DIR_ENV: &str = "TILEWORK_TEST_KILL_DIR";

/// Run only as the child of `killed_writes_leave_only_complete_chunks`.
#[test]
#[ignore = "child process of killed_writes_leave_only_complete_chunks"]
fn child_writes_zarr_until_killed() -> Result<()> {
    let dir = std::env::var(KILL_DIR_ENV).expect("run by the parent test with the target dir set");
    let ctx = Context::builder().threads(2).build()?;
    let options = ZarrWriteOptions {
        codec: Codec::Gzip { level: 6 },
        ..ZarrWriteOptions::default()
    };
    kill_test_array(&ctx)?.to_zarr(Path::new(&dir).join("a.zarr"), &options)?;
    Ok(())
}

#[test]
fn killed_writes_leave_only_complete_chunks() -> Result<()> {
    let ctx = common::cpu();
    let expected = kill_test_array(&ctx)?;
    let seed = common::seed();
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = std::env::current_exe().expect("test binary path");
    let mut partial_runs = 0;
    for round in 0..4u64 {
        let target: PathBuf = dir.path().join(format!("round{round}"));
        std::fs::create_dir(&target).expect("mkdir");
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "child_writes_zarr_until_killed",
                "--ignored",
                "--quiet",
            ])
            .env(KILL_DIR_ENV, &target)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("spawn the writer");
        // Kill after a pseudo-random delay (from the printed seed), at a different point each round.
        let delay_ms = 50
            + (seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(round * 7919)
                >> 33)
                % 900;
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().expect("kill the writer");
        child.wait().expect("reap the writer");
        let path = target.join("a.zarr");
        if !path.join("zarr.json").exists() {
            continue; // killed before it began: nothing to check but that nothing half exists
        }
        let reader = ZarrReader::open(&path)?;
        let missing = reader.missing_chunks()?;
        if !missing.is_empty() {
            partial_runs += 1;
        }
        let grid = expected.grid().clone();
        for linear in 0..grid.num_chunks() {
            let index = grid.unravel(linear)?;
            let region: Region = grid.region(&index)?;
            let stored = reader.read(&region)?;
            if missing.contains(&index.to_vec()) {
                assert!(stored.typed::<f32>()?.iter().all(|&v| v == 0.0));
                continue;
            }
            let want = expected
                .slice(&s![
                    region.start[0]..region.start[0] + region.shape[0],
                    region.start[1]..region.start[1] + region.shape[1]
                ])?
                .compute()?;
            assert_eq!(
                stored, want,
                "round {round} (kill at {delay_ms} ms): chunk {index:?}"
            );
        }
    }
    eprintln!("{partial_runs} of 4 rounds were killed mid-write");
    assert!(
        partial_runs > 0,
        "no round was killed while writing: the test checked nothing"
    );
    Ok(())
}

/// The Python interpreter with zarr and numpy: `TILEWORK_PYTHON`, else the repository's `.venv`.
/// `None` (with the reason printed) when there is none, unless `TILEWORK_REQUIRE_PYTHON=1`.
fn python() -> Option<PathBuf> {
    let candidate = std::env::var_os("TILEWORK_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"));
    let works = Command::new(&candidate)
        .args(["-c", "import zarr, numpy"])
        .output()
        .is_ok_and(|o| o.status.success());
    if works {
        return Some(candidate);
    }
    let reason = format!(
        "no Python with zarr and numpy at {} (set TILEWORK_PYTHON, or run .ci/run once)",
        candidate.display()
    );
    assert!(
        std::env::var("TILEWORK_REQUIRE_PYTHON").as_deref() != Ok("1"),
        "TILEWORK_REQUIRE_PYTHON=1 but {reason}"
    );
    eprintln!("skipping the Python interop test: {reason}");
    None
}

/// Raw little-endian bytes of a host array, written without tilework's writers so Python can
/// check them independently.
fn raw_bytes(host: &HostArray) -> Vec<u8> {
    match host {
        HostArray::Bool(a) => a.iter().map(|&v| u8::from(v)).collect(),
        HostArray::U8(a) => a.iter().copied().collect(),
        HostArray::I32(a) => a.iter().flat_map(|v| v.to_le_bytes()).collect(),
        HostArray::I64(a) => a.iter().flat_map(|v| v.to_le_bytes()).collect(),
        HostArray::U32(a) => a.iter().flat_map(|v| v.to_le_bytes()).collect(),
        HostArray::F16(a) => a.iter().flat_map(|v| v.to_le_bytes()).collect(),
        HostArray::F32(a) => a.iter().flat_map(|v| v.to_le_bytes()).collect(),
        HostArray::F64(a) => a.iter().flat_map(|v| v.to_le_bytes()).collect(),
    }
}

#[test]
fn zarr_python_and_numpy_open_what_tilework_writes() -> Result<()> {
    let Some(python) = python() else {
        return Ok(());
    };
    let ctx = common::cpu();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cases = Vec::new();
    for (i, codec) in codecs().into_iter().enumerate() {
        for dtype in DType::ALL {
            let x = sample(&ctx, &[19, 13], &[8, 5], dtype)?;
            let name = format!("c{i}_{dtype}");
            x.to_zarr(
                dir.path().join(format!("{name}.zarr")),
                &options(codec.clone()),
            )?;
            if i == 0 {
                x.to_npy(dir.path().join(format!("{name}.npy")))?;
            }
            std::fs::write(
                dir.path().join(format!("{name}.raw")),
                raw_bytes(&x.compute()?),
            )
            .expect("write raw");
            let npy = if i == 0 { "True" } else { "False" };
            cases.push(format!("('{name}', '{}', {npy})", numpy_dtype(dtype)));
        }
    }
    let script = format!(
        r#"
import sys, numpy as np, zarr
root = sys.argv[1]
for name, dtype, has_npy in [{cases}]:
    want = np.fromfile(f"{{root}}/{{name}}.raw", dtype=dtype).reshape(19, 13)
    z = zarr.open_array(f"{{root}}/{{name}}.zarr", mode="r")
    assert z.shape == (19, 13) and z.chunks == (8, 5), (name, z.shape, z.chunks)
    assert z.dtype == np.dtype(dtype), (name, z.dtype)
    assert np.array_equal(z[...], want), name
    if has_npy:
        n = np.load(f"{{root}}/{{name}}.npy")
        assert n.dtype == np.dtype(dtype) and np.array_equal(n, want), name
print("checked", len([{cases}]), "arrays")
"#,
        cases = cases.join(", ")
    );
    let out = Command::new(&python)
        .arg("-c")
        .arg(&script)
        .arg(dir.path())
        .output()
        .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "python failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("checked {} arrays", cases.len())),
        "{stdout}"
    );
    Ok(())
}

fn numpy_dtype(dtype: DType) -> &'static str {
    match dtype {
        DType::Bool => "bool",
        DType::U8 => "<u1",
        DType::I32 => "<i4",
        DType::I64 => "<i8",
        DType::U32 => "<u4",
        DType::F16 => "<f2",
        DType::F32 => "<f4",
        DType::F64 => "<f8",
    }
}

const FULL_DISK_ENV: &str = "TILEWORK_TEST_FULL_DISK_DIR";

/// 4 MiB in two 2 MiB chunks: zeros (which compress to almost nothing) and noise (which does not).
fn half_noise(ctx: &Context) -> Result<Array> {
    let zeros = ctx.zeros(&[512, 1024], DType::F32, [512, 1024])?;
    let noise = ctx
        .rng(1)
        .uniform(&[512, 1024], 0.0, 1.0, DType::F32, [512, 1024])?;
    concatenate(&[&zeros, &noise], 0)
}

/// Run only as the child of `a_full_disk_fails_cleanly`: files in this process may not grow
/// past 1 MiB, as on a nearly full disk.
#[test]
#[ignore = "child process of a_full_disk_fails_cleanly"]
fn child_writes_onto_a_full_disk() -> Result<()> {
    let dir = PathBuf::from(std::env::var(FULL_DISK_ENV).expect("run by the parent test"));
    // SAFETY: plain libc calls on this process's own limits, before any file is written; the
    // signal is ignored so that writes past the limit fail with EFBIG instead of killing us.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
        let limit = libc::rlimit {
            rlim_cur: 1 << 20,
            rlim_max: 1 << 20,
        };
        assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &limit), 0);
    }
    let ctx = Context::builder().threads(2).build()?;
    let x = half_noise(&ctx)?;
    let npy = x.to_npy(dir.join("x.npy")).expect_err("4 MiB cannot fit");
    println!("NPY_ERROR {npy}");
    // The zero chunk compresses below the limit, the noise chunk does not.
    let options = ZarrWriteOptions::default();
    let zarr = x
        .to_zarr(dir.join("x.zarr"), &options)
        .expect_err("4 MiB cannot fit");
    println!("ZARR_ERROR {zarr}");
    Ok(())
}

#[test]
fn a_full_disk_fails_cleanly() -> Result<()> {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "child_writes_onto_a_full_disk",
            "--ignored",
            "--nocapture",
        ])
        .env(FULL_DISK_ENV, dir.path())
        .output()
        .expect("run the child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let npy = stdout
        .lines()
        .find_map(|l| l.split_once("NPY_ERROR "))
        .map(|(_, e)| e);
    let npy = npy.unwrap_or_else(|| panic!("no npy error in {stdout}"));
    assert!(npy.contains("x.npy"), "{npy}");
    let zarr = stdout
        .lines()
        .find_map(|l| l.split_once("ZARR_ERROR "))
        .map(|(_, e)| e);
    let zarr = zarr.unwrap_or_else(|| panic!("no zarr error in {stdout}"));
    assert!(zarr.contains("x.zarr") && zarr.contains("chunk"), "{zarr}");
    // Nothing half-written: no .npy (nor its temp file), and every stored chunk is whole.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("ls")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["x.zarr".to_string()], "{names:?}");
    let reader = ZarrReader::open(dir.path().join("x.zarr"))?;
    assert_eq!(
        reader.missing_chunks()?,
        vec![vec![1, 0]],
        "the noise chunk did not fit"
    );
    let zeros = Region {
        start: [0, 0].into_iter().collect(),
        shape: [512, 1024].into_iter().collect(),
    };
    let want = half_noise(&common::cpu())?
        .slice(&s![..512, ..])?
        .compute()?;
    assert_eq!(reader.read(&zeros)?, want, "the zero chunk is whole");
    Ok(())
}
