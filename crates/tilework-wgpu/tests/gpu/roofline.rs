//! The device roofline (copy bandwidth, FMA peak), kernel timing, and the per-launch overhead.

use crate::common::*;
use std::time::Instant;
use tilework_core::{Backend, Buffer, DType, HostArray, Kernel, Scalar};
use tilework_wgpu::{Timing, measure_copy_bandwidth, measure_fma_peak};

#[test]
fn copy_bandwidth_and_fma_peak_are_positive_and_labelled() {
    let Some(gpu) = gpu() else { return };
    let copy = measure_copy_bandwidth(&gpu, 16 << 20, 3).unwrap();
    let fma = measure_fma_peak(&gpu, 1 << 28, 3).unwrap();
    for (m, unit) in [(&copy, "GB/s"), (&fma, "GFLOP/s")] {
        assert!(m.rate.is_finite() && m.rate > 0.0, "{m:?}");
        assert!(m.seconds.is_finite() && m.seconds > 0.0, "{m:?}");
        assert_eq!(m.unit, unit);
        let expected = if gpu.has_timestamps() {
            Timing::GpuTimestamps
        } else {
            Timing::Wall
        };
        assert_eq!(m.timing, expected, "{m:?}");
        assert!(m.to_string().contains(unit), "{m}");
        assert!((m.rate - m.work / m.seconds / 1e9).abs() <= 1e-9 * m.rate);
    }
    assert_eq!(copy.work, 2.0 * (16 << 20) as f64);
    eprintln!("on {}: copy {copy}, fma {fma}", gpu.adapter());
    // Requests past the device's largest binding are cut to it, not refused.
    let big = measure_copy_bandwidth(&gpu, u64::MAX, 1).unwrap();
    assert!(big.work > 0.0 && big.rate > 0.0);
    assert_eq!(gpu.live_buffers(), 0);
}

#[test]
fn bad_roofline_requests_are_errors() {
    let Some(gpu) = gpu() else { return };
    assert!(measure_copy_bandwidth(&gpu, 1 << 20, 0).is_err());
    assert!(measure_copy_bandwidth(&gpu, 15, 1).is_err());
    assert!(measure_fma_peak(&gpu, 0, 1).is_err());
    assert!(measure_fma_peak(&gpu, 1 << 20, 0).is_err());
    assert!(measure_fma_peak(&gpu, u64::MAX, 1).is_err());
    // The backend still works.
    assert!(measure_fma_peak(&gpu, 1 << 20, 1).is_ok());
}

#[test]
fn kernel_timing_sums_the_timed_launches_only() {
    let Some(gpu) = gpu() else { return };
    let a = gpu
        .upload(&HostArray::zeros(DType::F32, &[256, 256]))
        .unwrap();
    let matmul = |gpu: &tilework_wgpu::WgpuBackend| {
        let out = gpu
            .launch(&Kernel::Matmul, &[&a, &a], &[spec(DType::F32, &[256, 256])])
            .unwrap();
        out.into_iter().for_each(|b: Buffer| gpu.free(b));
    };
    if !gpu.has_timestamps() {
        assert_eq!(gpu.kernel_seconds().unwrap(), None);
        return;
    }
    matmul(&gpu);
    gpu.sync().unwrap();
    gpu.time_kernels(true);
    assert_eq!(gpu.kernel_seconds().unwrap(), Some(0.0));
    matmul(&gpu);
    let one = gpu.kernel_seconds().unwrap().unwrap();
    matmul(&gpu);
    matmul(&gpu);
    let three = gpu.kernel_seconds().unwrap().unwrap();
    assert!(one > 0.0 && three > one, "{one} then {three}");
    gpu.time_kernels(false);
    matmul(&gpu);
    assert_eq!(gpu.kernel_seconds().unwrap(), Some(three));
    gpu.time_kernels(true);
    assert_eq!(gpu.kernel_seconds().unwrap(), Some(0.0));
    eprintln!("256^3 f32 matmul: {:.3} ms of kernel time", one * 1e3);
    gpu.free(a);
    assert_eq!(gpu.live_buffers(), 0);
}

#[test]
fn launches_and_downloads_reuse_their_params_and_staging_buffers() {
    let Some(gpu) = gpu() else { return };
    let k = Kernel::Fill {
        value: Scalar::F32(2.0),
    };
    let out = [spec(DType::F32, &[1000])];
    let round = || {
        let b = gpu.launch(&k, &[], &out).unwrap().pop().unwrap();
        let host = gpu.download(&b).unwrap();
        assert!(host.typed::<f32>().unwrap().iter().all(|&x| x == 2.0));
        gpu.free(b);
    };
    round();
    gpu.sync().unwrap();
    let used = gpu.memory_info().used;
    for _ in 0..20 {
        round();
    }
    gpu.sync().unwrap();
    // The pool holds the same buffers: nothing new was created and kept.
    assert_eq!(gpu.memory_info().used, used);
    assert_eq!(gpu.live_buffers(), 0);
}

/// Wall time of a tiny launch (a 1-element fill), of a launch plus its download, and of a bare
/// download, in microseconds (best of several batches). Ignored by default: run it with
/// `cargo test -p tilework-wgpu --test gpu -- --ignored --nocapture tiny_launch`.
#[test]
#[ignore = "timing, not a check"]
fn tiny_launch_overhead() {
    let Some(gpu) = gpu() else { return };
    let k = Kernel::Fill {
        value: Scalar::F32(1.0),
    };
    let out = [spec(DType::F32, &[1])];
    let reps = 200;
    let time = |f: &dyn Fn()| {
        (0..5)
            .map(|_| {
                let t = Instant::now();
                for _ in 0..reps {
                    f();
                }
                t.elapsed().as_secs_f64() * 1e6 / f64::from(reps)
            })
            .fold(f64::INFINITY, f64::min)
    };
    let launch = time(&|| {
        let b = gpu.launch(&k, &[], &out).unwrap().pop().unwrap();
        gpu.free(b);
    });
    gpu.sync().unwrap();
    let round_trip = time(&|| {
        let b = gpu.launch(&k, &[], &out).unwrap().pop().unwrap();
        gpu.download(&b).unwrap();
        gpu.free(b);
    });
    let kept = gpu.launch(&k, &[], &out).unwrap().pop().unwrap();
    let download = time(&|| {
        gpu.download(&kept).unwrap();
    });
    gpu.free(kept);
    eprintln!(
        "tiny launch {launch:.1} us, launch + download {round_trip:.1} us, download {download:.1} us"
    );
}
