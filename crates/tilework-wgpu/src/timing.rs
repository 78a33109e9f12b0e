//! GPU timestamps around compute passes: the kernel time of one launch without the submit,
//! poll and driver overheads that a wall clock around it would include.
//!
//! A [`PassTimer`] writes a timestamp at the start and the end of one compute pass, resolves
//! them into a buffer and reads them back through a mapping whose callback runs when the pass
//! is done (during some later poll or submit). Nothing waits for it: the launch that is timed
//! returns as soon as it is submitted.
//!
//! [`KernelClock`] sums those pass times over every launch while the caller has timing on
//! (`WgpuBackend::time_kernels`); the roofline kernels use a `PassTimer` directly.
//! Timestamps need `TIMESTAMP_QUERY`, which the device layer requests when the adapter has it.

use crate::device::Gpu;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Bytes of the two resolved u64 timestamps.
const STAMP_BYTES: u64 = 16;

/// Begin and end timestamps of one compute pass.
pub(crate) struct PassTimer {
    set: wgpu::QuerySet,
    resolved: wgpu::Buffer,
    readable: wgpu::Buffer,
    /// Nanoseconds per timestamp tick.
    period: f64,
}

impl PassTimer {
    /// A timer for one pass, or `None` when the device has no timestamp queries.
    pub(crate) fn new(gpu: &Gpu) -> Option<PassTimer> {
        if !gpu.timestamps {
            return None;
        }
        let device = &gpu.device;
        let buffer = |label, usage| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: STAMP_BYTES,
                usage,
                mapped_at_creation: false,
            })
        };
        Some(PassTimer {
            set: device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("tilework pass timer"),
                ty: wgpu::QueryType::Timestamp,
                count: 2,
            }),
            resolved: buffer(
                "tilework timestamps",
                wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            ),
            readable: buffer(
                "tilework timestamps read",
                wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            ),
            period: f64::from(gpu.queue.get_timestamp_period()),
        })
    }

    /// The pass's timestamp writes.
    pub(crate) fn writes(&self) -> wgpu::ComputePassTimestampWrites<'_> {
        wgpu::ComputePassTimestampWrites {
            query_set: &self.set,
            beginning_of_pass_write_index: Some(0),
            end_of_pass_write_index: Some(1),
        }
    }

    /// Records the copy of the timestamps to where they can be read (after the pass ends).
    pub(crate) fn resolve(&self, encoder: &mut wgpu::CommandEncoder) {
        encoder.resolve_query_set(&self.set, 0..2, &self.resolved, 0);
        encoder.copy_buffer_to_buffer(&self.resolved, 0, &self.readable, 0, STAMP_BYTES);
    }

    /// After the submit: `done` gets the pass's nanoseconds once the GPU has run it (`None`
    /// when the timestamps could not be read). It runs inside a later poll or submit, maybe
    /// on another thread.
    pub(crate) fn finish(self, done: impl FnOnce(Option<f64>) + Send + 'static) {
        let readable = self.readable.clone();
        let period = self.period;
        self.readable
            .slice(..)
            .map_async(wgpu::MapMode::Read, move |mapped| {
                let nanos = mapped.ok().and_then(|()| {
                    let view = readable.slice(..).get_mapped_range().ok()?;
                    let stamp = |at: usize| {
                        let mut word = [0u8; 8];
                        word.copy_from_slice(view.get(at..at + 8)?);
                        Some(u64::from_le_bytes(word))
                    };
                    let (begin, end) = (stamp(0)?, stamp(8)?);
                    // Some drivers' counters are not monotonic across cores: a negative span
                    // is reported as unknown rather than as a huge positive one.
                    (end >= begin).then(|| (end - begin) as f64 * period)
                });
                readable.unmap();
                done(nanos);
            });
    }
}

/// The sum of the GPU times of every launch submitted while timing is on.
#[derive(Default)]
pub(crate) struct KernelClock {
    on: AtomicBool,
    totals: Arc<Totals>,
}

#[derive(Default)]
struct Totals {
    /// Bumped by every restart, so that late readings of an earlier run are dropped.
    epoch: AtomicU64,
    nanos: AtomicU64,
    passes: AtomicU64,
    lost: AtomicU64,
}

impl KernelClock {
    /// Starts timing from zero (`true`) or stops (`false`).
    pub(crate) fn set(&self, on: bool) {
        if on {
            self.totals.epoch.fetch_add(1, Ordering::AcqRel);
            self.totals.nanos.store(0, Ordering::Release);
            self.totals.passes.store(0, Ordering::Release);
            self.totals.lost.store(0, Ordering::Release);
        }
        self.on.store(on, Ordering::Release);
    }

    /// Whether launches should be timed.
    pub(crate) fn is_on(&self) -> bool {
        self.on.load(Ordering::Acquire)
    }

    /// Adds `timer`'s pass (already submitted) to the total when it has run.
    pub(crate) fn track(&self, timer: PassTimer) {
        let totals = self.totals.clone();
        let epoch = totals.epoch.load(Ordering::Acquire);
        timer.finish(move |nanos| {
            if totals.epoch.load(Ordering::Acquire) != epoch {
                return;
            }
            match nanos {
                Some(ns) => {
                    // Whole nanoseconds: sub-nanosecond residue of a pass is noise.
                    totals.nanos.fetch_add(ns.round() as u64, Ordering::AcqRel);
                    totals.passes.fetch_add(1, Ordering::AcqRel);
                }
                None => {
                    totals.lost.fetch_add(1, Ordering::AcqRel);
                }
            }
        });
    }

    /// Seconds and number of the passes read back so far, and how many could not be read.
    pub(crate) fn read(&self) -> (f64, u64, u64) {
        let t = &self.totals;
        (
            t.nanos.load(Ordering::Acquire) as f64 * 1e-9,
            t.passes.load(Ordering::Acquire),
            t.lost.load(Ordering::Acquire),
        )
    }
}
