//! Statistics of a Zarr array larger than you would like to hold in memory.
//!
//! Writes `--size` bytes of standard-normal f32 noise (`* scale + offset`) to a Zarr v3 array chunk
//! by chunk (each chunk is generated, compressed and renamed into place, never the whole array at
//! once), then opens it lazily and computes its mean and standard deviation in one pass: both
//! reductions share every chunk read. It prints the write and read throughput and the peak host
//! memory the executor held, which stays a few chunks however large the array is.
//!
//! ```text
//! cargo run --release --example zarr_stats                       # 2 GB, zstd, into target/
//! cargo run --release --example zarr_stats -- --size 256MiB --codec blosc-lz4
//! cargo run --release --example zarr_stats -- --reuse            # read the array written before
//! ```

mod common;

use clap::{Parser, ValueEnum};
use common::AnyResult;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;
use tilework::prelude::*;
use tilework::{BloscCompressor, Codec, ZarrWriteOptions};

#[derive(Copy, Clone, Debug, ValueEnum)]
enum CodecArg {
    None,
    Zstd,
    BloscLz4,
    Gzip,
}

impl CodecArg {
    fn codec(self) -> Codec {
        match self {
            CodecArg::None => Codec::None,
            CodecArg::Zstd => Codec::Zstd { level: 1 },
            CodecArg::BloscLz4 => Codec::Blosc {
                compressor: BloscCompressor::Lz4,
                level: 5,
                shuffle: true,
            },
            CodecArg::Gzip => Codec::Gzip { level: 1 },
        }
    }
}

#[derive(Parser, Debug)]
#[command(about = "Write a large random Zarr array, then stream its mean and std in one pass")]
struct Args {
    /// Bytes of f32 data to write (e.g. 2GB, 512MiB).
    #[arg(long, default_value = "2GB", value_parser = parse_size)]
    size: u64,
    /// Columns of the 2-D array (rows follow from the size).
    #[arg(long, default_value_t = 4096)]
    columns: usize,
    /// Rows per chunk (each chunk is rows x columns f32).
    #[arg(long, default_value_t = 1024)]
    chunk_rows: usize,
    /// Compression of the stored chunks.
    #[arg(long, value_enum, default_value = "zstd")]
    codec: CodecArg,
    /// Where the Zarr array goes.
    #[arg(long, default_value = "target/zarr_stats/noise.zarr")]
    out: PathBuf,
    /// Skip writing and read the array already at `--out`.
    #[arg(long)]
    reuse: bool,
    /// Host memory budget for the executor (e.g. 256MiB).
    #[arg(long, default_value = "1GiB", value_parser = parse_size)]
    host_memory: u64,
    /// Seed of the random generator.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Where to compute: auto, cpu or gpu.
    #[arg(long, default_value = "auto")]
    device: Device,
}

fn parse_size(text: &str) -> std::result::Result<u64, String> {
    tilework::parse_bytes(text).map_err(|e| e.to_string())
}

/// Known mean and standard deviation of the generated values.
const OFFSET: f64 = 3.0;
const SCALE: f64 = 2.0;

fn gigabytes_per_second(bytes: u64, seconds: f64) -> f64 {
    bytes as f64 / seconds.max(1e-9) / 1e9
}

fn run(args: &Args) -> AnyResult<()> {
    let ctx = Context::builder()
        .device(args.device)
        .host_memory(args.host_memory)
        .progress(true)
        .build()?;
    common::cancel_on_ctrl_c(&ctx);
    let columns = args.columns.max(1);
    let rows = (args.size / 4 / columns as u64).max(1) as usize;
    if !args.reuse {
        if let Some(parent) = args.out.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let noise = ctx.rng(args.seed).normal(
            &[rows, columns],
            OFFSET,
            SCALE,
            DType::F32,
            [args.chunk_rows.max(1), columns],
        )?;
        let options = ZarrWriteOptions {
            codec: args.codec.codec(),
            overwrite: true,
            ..ZarrWriteOptions::default()
        };
        println!(
            "writing {rows} x {columns} f32 ({:.2} GB) to {} as {:?}",
            noise.nbytes() as f64 / 1e9,
            args.out.display(),
            args.codec
        );
        let start = Instant::now();
        let report = noise.to_zarr(&args.out, &options)?;
        let seconds = start.elapsed().as_secs_f64();
        println!(
            "wrote in {seconds:.2} s: {:.2} GB/s of array data, peak host memory {:.1} MiB",
            gigabytes_per_second(noise.nbytes() as u64, seconds),
            report.peak_host_bytes as f64 / (1 << 20) as f64
        );
    }

    let x = ctx.from_zarr(&args.out)?;
    println!(
        "reading {:?} {} in {} chunks",
        x.shape(),
        x.dtype(),
        x.num_chunks()
    );
    let start = Instant::now();
    let (stats, report) = compute_all(&ctx, &[x.mean()?, x.std(0)?])?;
    let seconds = start.elapsed().as_secs_f64();
    let mean = stats[0].get(&[]).map_or(f64::NAN, |s| s.to_f64());
    let std = stats[1].get(&[]).map_or(f64::NAN, |s| s.to_f64());
    println!("mean {mean:.6} (generated with {OFFSET}), std {std:.6} (generated with {SCALE})");
    println!(
        "read and reduced in {seconds:.2} s: {:.2} GB/s of array data, {} tasks, peak host memory {:.1} MiB (budget {:.0} MiB)",
        gigabytes_per_second(x.nbytes() as u64, seconds),
        report.tasks_run,
        report.peak_host_bytes as f64 / (1 << 20) as f64,
        args.host_memory as f64 / (1 << 20) as f64
    );
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    common::exit_status("zarr_stats", run(&args))
}
