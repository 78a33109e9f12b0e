//! `ooc_mean_std`: mean and std of a Zarr array larger than the host budget, in one pass, against
//! the raw read rate of the same chunk files measured in the same run.
//!
//! The array is written uncompressed (so reading it is I/O, not decompression) before any clock
//! starts. Before each timed read (raw and tilework's), the chunk files are dropped from the page
//! cache (`posix_fadvise(DONTNEED)` on Linux), so both measure the disk as a 30 GB array would see
//! it, even when RAM could hold a small one. Elsewhere both reads see whatever is cached.

use crate::workloads::{Bench, Outcome, Work};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tilework::prelude::*;
use tilework::{Codec, ZarrWriteOptions};

const COLUMNS: usize = 4096;
/// 8 MiB chunks: below glibc's largest mmap threshold, so freed chunk buffers are reused instead
/// of being mapped and faulted in afresh for every chunk (that alone halves the rate here).
const CHUNK_ROWS: usize = 512;

/// Every regular file under `dir`, recursively.
fn files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            files(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// Every chunk file of `store`.
fn store_files(store: &Path) -> Result<Vec<PathBuf>> {
    let mut paths = Vec::new();
    files(store, &mut paths).map_err(|e| Error::Io {
        path: store.display().to_string(),
        message: e.to_string(),
    })?;
    Ok(paths)
}

/// Drops `paths` from the page cache, so the next read comes from the disk. Returns whether it
/// could (Linux only; files written moments ago are flushed first, since dirty pages stay).
fn drop_from_page_cache(paths: &[PathBuf]) -> bool {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        paths.iter().all(|path| {
            let Ok(file) = std::fs::File::open(path) else {
                return false;
            };
            // SAFETY: plain syscalls on a file descriptor this function owns for their duration.
            unsafe {
                libc::fdatasync(file.as_raw_fd()) == 0
                    && libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) == 0
            }
        })
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = paths;
        false
    }
}

/// Bytes per second reading every chunk file once with `readers` threads (file `i` to reader
/// `i % readers`, each with a reused buffer): the disk's rate at the concurrency tilework reads
/// with, since many disks serve several outstanding reads faster than one.
fn raw_read_rate(store: &Path, paths: &[PathBuf], readers: usize) -> Result<f64> {
    let io = |e: std::io::Error| Error::Io {
        path: store.display().to_string(),
        message: e.to_string(),
    };
    let start = Instant::now();
    let bytes = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..readers.max(1))
            .map(|r| {
                scope.spawn(move || -> std::io::Result<u64> {
                    let mut buffer = Vec::new();
                    let mut bytes = 0;
                    for path in paths.iter().skip(r).step_by(readers.max(1)) {
                        buffer.clear();
                        bytes += std::fs::File::open(path)?.read_to_end(&mut buffer)? as u64;
                    }
                    Ok(bytes)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(std::io::Error::other("reader panicked")))
            })
            .sum::<std::io::Result<u64>>()
    })
    .map_err(io)?;
    Ok(bytes as f64 / start.elapsed().as_secs_f64().max(1e-9))
}

/// Peak resident set of this process (VmHWM), if the system reports it.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib: u64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// Writes `bytes` of f32 noise to `dir/ooc.zarr`, then times mean + std under `budget`; removes
/// the array afterwards (also when measuring fails) unless `keep`. The headline ratio is to the
/// disk's raw read rate of the same files; the one to the memory triad is in the parameters.
pub(crate) fn ooc_mean_std(
    b: &Bench,
    bytes: u64,
    budget: u64,
    dir: &Path,
    keep: bool,
    triad_gbps: f64,
) -> Result<Outcome> {
    let store = dir.join("ooc.zarr");
    println!(
        "ooc_mean_std: writing {:.1} GB to {} ({})",
        bytes as f64 / 1e9,
        store.display(),
        if keep {
            "kept: --keep"
        } else {
            "removed afterwards; --keep keeps it"
        }
    );
    let outcome = measure(b, bytes, budget, dir, &store, triad_gbps);
    if !keep
        && store.exists()
        && let Err(e) = std::fs::remove_dir_all(&store)
    {
        eprintln!("ooc_mean_std: cannot remove {}: {e}", store.display());
    }
    outcome
}

fn measure(
    b: &Bench,
    bytes: u64,
    budget: u64,
    dir: &Path,
    store: &Path,
    triad_gbps: f64,
) -> Result<Outcome> {
    let rows = ((bytes / 4) as usize / COLUMNS).max(CHUNK_ROWS);
    let ctx = Context::builder()
        .threads(b.ctx.threads())
        .device(b.ctx.device())
        .host_memory(budget)
        .build()?;
    std::fs::create_dir_all(dir).map_err(|e| Error::Io {
        path: dir.display().to_string(),
        message: e.to_string(),
    })?;
    let x = ctx.rng(4).normal(
        &[rows, COLUMNS],
        1.0,
        2.0,
        DType::F32,
        [CHUNK_ROWS, COLUMNS],
    )?;
    let options = ZarrWriteOptions {
        codec: Codec::None,
        overwrite: true,
        ..ZarrWriteOptions::default()
    };
    x.to_zarr(store, &options)?;
    let paths = store_files(store)?;
    let cold = drop_from_page_cache(&paths);
    let readers = ctx.threads() + ctx.io_threads();
    let raw_before = raw_read_rate(store, &paths, readers)?;
    // Reset the peak resident set (Linux: writing 5 to clear_refs), so VmHWM covers the reads only.
    std::fs::write("/proc/self/clear_refs", "5").ok();
    let stored = ctx.from_zarr(store)?;
    let (mean, std) = (stored.mean()?, stored.std(0)?);
    let mut peak_host = 0;
    let (times, stats) = b.time(|| {
        drop_from_page_cache(&paths);
        let (stats, report) = compute_all(&ctx, &[mean.clone(), std.clone()])?;
        peak_host = peak_host.max(report.peak_host_bytes);
        Ok(stats)
    })?;
    // The disk's rate drifts on shared machines: the raw rate is the mean of one read before and
    // one after the timed passes.
    drop_from_page_cache(&paths);
    let raw = (raw_before + raw_read_rate(store, &paths, readers)?) / 2.0;
    let value = |h: &HostArray| h.get(&[]).map_or(f64::NAN, |s| s.to_f64());
    let (m, s) = (value(&stats[0]), value(&stats[1]));
    let total = (rows * COLUMNS * 4) as f64;
    let median = {
        let mut t = times.clone();
        t.sort_by(f64::total_cmp);
        t[t.len() / 2]
    };
    let rss = peak_rss().map_or("n/a".into(), |r| format!("{} MiB", r >> 20));
    let note = ((m - 1.0).abs() > 1e-2 || (s - 2.0).abs() > 1e-2)
        .then(|| format!("check failed: mean {m}, std {s}, expected 1 and 2"));
    Ok(Outcome {
        workload: "ooc_mean_std",
        params: format!(
            "{:.2} GB zarr, budget {} MiB, {} io threads; ratio to the raw {} read ({readers} threads, {:.2} GB/s, same run), {:.2} of the memory triad; peak host {} MiB, process VmHWM {rss}",
            total / 1e9,
            budget >> 20,
            ctx.io_threads(),
            if cold {
                "disk (page cache dropped)"
            } else {
                "cached"
            },
            raw / 1e9,
            total / median / 1e9 / triad_gbps,
            peak_host >> 20
        ),
        times,
        work: Work::DiskBytes {
            bytes: total,
            raw_gbps: raw / 1e9,
        },
        note,
    })
}
