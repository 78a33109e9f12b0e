//! The GPU's own roofline, measured in the same run: a streaming copy kernel (read + write bytes
//! per second) and long independent FMA chains (GFLOP/s). Times come from GPU timestamp queries
//! where the adapter has them, from the wall clock around submit and wait otherwise; the label
//! says which.

use crate::machine::Json;
use tilework_wgpu::{GpuOptions, Measurement, Timing, WgpuBackend};

/// The device roofline.
pub(crate) struct GpuRoofline {
    pub(crate) copy_gbps: f64,
    pub(crate) fma_gflops: f64,
    copy: Measurement,
    fma: Measurement,
}

fn label(timing: &Timing) -> &'static str {
    match timing {
        Timing::GpuTimestamps => "GPU timestamps",
        Timing::Wall => "wall clock",
    }
}

impl GpuRoofline {
    pub(crate) fn describe(&self) -> String {
        format!(
            "copy {:.1} GB/s ({:.0} MiB, {}), peak FMA f32 {:.1} GFLOP/s ({})",
            self.copy_gbps,
            self.copy.work / 2.0 / f64::from(1 << 20),
            label(&self.copy.timing),
            self.fma_gflops,
            label(&self.fma.timing)
        )
    }

    pub(crate) fn to_json(&self) -> Json {
        Json::Obj(vec![
            ("copy_gbps", Json::num(Some(self.copy_gbps))),
            ("copy_timing", Json::str(label(&self.copy.timing))),
            ("fma_gflops", Json::num(Some(self.fma_gflops))),
            ("fma_timing", Json::str(label(&self.fma.timing))),
        ])
    }
}

/// Measures copy bandwidth and FMA peak on the adapter the context would pick.
pub(crate) fn roofline(small: bool) -> tilework::Result<GpuRoofline> {
    let backend = WgpuBackend::new(&GpuOptions::default())?;
    let (bytes, flops) = if small {
        (64u64 << 20, 1u64 << 32)
    } else {
        (1u64 << 30, 1u64 << 36)
    };
    let copy = tilework_wgpu::measure_copy_bandwidth(&backend, bytes, 10)?;
    let fma = tilework_wgpu::measure_fma_peak(&backend, flops, 10)?;
    Ok(GpuRoofline {
        copy_gbps: copy.rate,
        fma_gflops: fma.rate,
        copy,
        fma,
    })
}
