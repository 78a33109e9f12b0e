//! A writer process killed at arbitrary moments leaves an array that opens, whose stored chunks
//! are all complete, and whose other chunks are listed as missing.

use super::super::{Codec, ZarrReader, ZarrWriteOptions, ZarrWriter};
use super::{TempDir, assert_region_eq, formula, region};
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use tilework_core::{ChunkReader, ChunkWriter, DType, HostArray, Region, Result};

const SHAPE: [usize; 2] = [256, 4096];
const CHUNKS: [usize; 2] = [32, 512];
const TARGET_ENV: &str = "TILEWORK_ZARR_KILL_TARGET";

fn chunk_regions() -> Vec<Region> {
    let mut regions = Vec::new();
    for row in (0..SHAPE[0]).step_by(CHUNKS[0]) {
        for col in (0..SHAPE[1]).step_by(CHUNKS[1]) {
            regions.push(region(&[row, col], &CHUNKS));
        }
    }
    regions
}

fn piece(full: &HostArray, region: &Region) -> HostArray {
    let full = full.typed::<f32>().expect("f32");
    let view = full.slice(ndarray::s![region.range(0), region.range(1)]);
    HostArray::from_array(view.to_owned().into_dyn())
}

/// Run only as the child of `killed_writers_leave_only_complete_chunks`.
#[test]
#[ignore = "child process of killed_writers_leave_only_complete_chunks"]
fn child_writes_until_killed() -> Result<()> {
    let Some(target) = std::env::var_os(TARGET_ENV) else {
        return Ok(());
    };
    let options = ZarrWriteOptions {
        codec: Codec::Gzip { level: 6 },
        ..ZarrWriteOptions::default()
    };
    let full = formula(DType::F32, &SHAPE);
    let writer = ZarrWriter::create(Path::new(&target), DType::F32, &SHAPE, &CHUNKS, &options)?;
    // Forever, so that the kill always lands mid-run: rewriting a chunk must be atomic too.
    loop {
        for region in chunk_regions() {
            writer.write(&region, &piece(&full, &region))?;
        }
    }
}

#[test]
fn killed_writers_leave_only_complete_chunks() -> Result<()> {
    let dir = TempDir::new("killed");
    let exe = std::env::current_exe().expect("test binary");
    let full = formula(DType::F32, &SHAPE);
    for (round, delay_ms) in [40u64, 150, 400, 900].into_iter().enumerate() {
        let target = dir.join(&format!("round{round}.zarr"));
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "zarr::tests::interrupted::child_writes_until_killed",
                "--ignored",
                "--quiet",
            ])
            .env(TARGET_ENV, &target)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("spawn the writer");
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().expect("kill the writer");
        child.wait().expect("reap the writer");
        if !target.join("zarr.json").exists() {
            continue; // killed before it began
        }
        let reader = ZarrReader::open(&target)?;
        let missing = reader.missing_chunks()?;
        for region in chunk_regions() {
            let index = vec![region.start[0] / CHUNKS[0], region.start[1] / CHUNKS[1]];
            let stored = reader.read(&region)?;
            if missing.contains(&index) {
                assert!(stored.typed::<f32>()?.iter().all(|&v| v == 0.0));
            } else {
                let what = format!("round {round} ({delay_ms} ms) chunk {index:?}");
                assert_region_eq(&stored, &full, &region, &what);
            }
        }
    }
    Ok(())
}
