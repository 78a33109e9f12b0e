//! The buffer pool: device buffers by size class, handed out as [`DeviceBuffer`] handles and
//! reused after `free`.
//!
//! Size classes step by quarter powers of two (256, 320, 384, 448, 512, 640, ...), so a buffer
//! is at most 25 % larger than asked for and a freed buffer serves any request of its class.
//! Every buffer is a storage buffer that can also be copied from and to. The pool belongs to one
//! backend instance; ids come from its own counter, offset by a per-instance random base so that
//! handles of two backends are unlikely to collide (and a foreign handle is still rejected
//! because its spec must match too).

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use tilework_core::{BufferSpec, DeviceBuffer, Error, Result};

/// Smallest buffer the pool makes.
pub(crate) const MIN_CLASS: u64 = 256;

/// The size class serving a request of `bytes`, or `None` above `max`.
pub(crate) fn size_class(bytes: u64, max: u64) -> Option<u64> {
    let class = if bytes <= MIN_CLASS {
        MIN_CLASS
    } else {
        let quarter = (1u64 << (63 - bytes.leading_zeros())) / 4;
        bytes.div_ceil(quarter) * quarter
    };
    if class <= max {
        Some(class)
    } else {
        // Near the limit, an exact (word-aligned) buffer may still fit.
        let exact = bytes.next_multiple_of(4);
        (exact <= max).then_some(exact)
    }
}

struct Slot {
    buffer: wgpu::Buffer,
    spec: BufferSpec,
}

#[derive(Default)]
struct State {
    live: HashMap<u64, Slot>,
    free: HashMap<u64, Vec<wgpu::Buffer>>,
    /// Free mappable download buffers (MAP_READ | COPY_DST), by size class; their bytes count
    /// in `free_bytes` too.
    staging: HashMap<u64, Vec<wgpu::Buffer>>,
    live_bytes: u64,
    free_bytes: u64,
}

/// Device buffers of one backend.
pub(crate) struct Pool {
    next_id: AtomicU64,
    state: Mutex<State>,
    cache_limit: u64,
    max_bytes: u64,
}

impl Pool {
    /// A pool keeping up to `cache_limit` bytes of freed buffers; no buffer exceeds `max_bytes`.
    pub(crate) fn new(cache_limit: u64, max_bytes: u64) -> Pool {
        let base = std::collections::hash_map::RandomState::new().hash_one(0x7431_u64) >> 16;
        Pool {
            next_id: AtomicU64::new(base.max(1)),
            state: Mutex::default(),
            cache_limit,
            max_bytes,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere cannot leave the maps half-updated (every update is one statement
        // group without early returns), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A buffer of at least `bytes`, reused when one of its class is free. The caller runs this
    /// inside an error scope so that an allocation failure becomes an `Err`.
    pub(crate) fn acquire(&self, device: &wgpu::Device, bytes: u64) -> Result<wgpu::Buffer> {
        let class = size_class(bytes, self.max_bytes).ok_or_else(|| Error::OutOfMemory {
            what: "a GPU buffer (larger than the device's largest binding)".into(),
            needed: bytes,
            budget: self.max_bytes,
        })?;
        {
            let mut state = self.lock();
            if let Some(buffer) = state.free.get_mut(&class).and_then(Vec::pop) {
                state.free_bytes -= class;
                return Ok(buffer);
            }
        }
        Ok(device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("tilework pool"),
            size: class,
            usage: wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        }))
    }

    /// Registers `buffer` as holding `spec` and returns its handle.
    pub(crate) fn register(&self, buffer: wgpu::Buffer, spec: BufferSpec) -> DeviceBuffer {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut state = self.lock();
        state.live_bytes += buffer.size();
        state.live.insert(
            id,
            Slot {
                buffer,
                spec: spec.clone(),
            },
        );
        DeviceBuffer { id, spec }
    }

    /// The buffer behind a handle of this pool.
    pub(crate) fn get(&self, handle: &DeviceBuffer) -> Result<wgpu::Buffer> {
        let state = self.lock();
        match state.live.get(&handle.id) {
            Some(slot) if slot.spec == handle.spec => Ok(slot.buffer.clone()),
            Some(slot) => Err(Error::Device(format!(
                "wgpu: buffer {} holds {} {:?}, but the handle says {} {:?}",
                handle.id,
                slot.spec.dtype,
                slot.spec.shape.as_slice(),
                handle.spec.dtype,
                handle.spec.shape.as_slice()
            ))),
            None => Err(Error::Device(format!(
                "wgpu: buffer {} does not belong to this GPU backend (freed, or another backend's)",
                handle.id
            ))),
        }
    }

    /// Ends a handle's life: its buffer goes back to the free list. Unknown handles are ignored.
    pub(crate) fn release(&self, handle: &DeviceBuffer) {
        let slot = {
            let mut state = self.lock();
            let Some(slot) = state.live.remove(&handle.id) else {
                return;
            };
            state.live_bytes -= slot.buffer.size();
            slot
        };
        self.recycle(slot.buffer);
    }

    /// Returns an unregistered buffer (a temporary) to the free list, or drops it when the
    /// cache is full. Pending GPU work that uses it keeps it alive; later writes are queued
    /// after that work, so reuse is safe.
    pub(crate) fn recycle(&self, buffer: wgpu::Buffer) {
        let size = buffer.size();
        let mut state = self.lock();
        if state.free_bytes + size <= self.cache_limit && size_class(size, u64::MAX) == Some(size) {
            state.free_bytes += size;
            state.free.entry(size).or_default().push(buffer);
        }
    }

    /// A mappable buffer of at least `bytes` to download through (reused when one of its class
    /// is free). The caller runs this inside an error scope.
    pub(crate) fn acquire_staging(&self, device: &wgpu::Device, bytes: u64) -> wgpu::Buffer {
        // Downloads are not bound, so the binding limit does not apply.
        let class = size_class(bytes, u64::MAX).unwrap_or(bytes);
        {
            let mut state = self.lock();
            if let Some(buffer) = state.staging.get_mut(&class).and_then(Vec::pop) {
                state.free_bytes -= class;
                return buffer;
            }
        }
        device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("tilework download"),
            size: class,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    }

    /// Returns a download buffer, unmapped by the caller, for reuse, or drops it when the
    /// cache is full.
    pub(crate) fn recycle_staging(&self, buffer: wgpu::Buffer) {
        let size = buffer.size();
        let mut state = self.lock();
        if state.free_bytes + size <= self.cache_limit && size_class(size, u64::MAX) == Some(size) {
            state.free_bytes += size;
            state.staging.entry(size).or_default().push(buffer);
        }
    }

    /// Drops every cached free buffer.
    pub(crate) fn trim(&self) {
        let mut state = self.lock();
        state.free.clear();
        state.staging.clear();
        state.free_bytes = 0;
    }

    /// Bytes in live buffers and bytes cached in the free list.
    pub(crate) fn bytes(&self) -> (u64, u64) {
        let state = self.lock();
        (state.live_bytes, state.free_bytes)
    }

    /// Number of live handles.
    pub(crate) fn live_count(&self) -> usize {
        self.lock().live.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_step_by_quarter_powers() {
        let max = u64::MAX;
        assert_eq!(size_class(0, max), Some(256));
        assert_eq!(size_class(256, max), Some(256));
        assert_eq!(size_class(257, max), Some(320));
        assert_eq!(size_class(320, max), Some(320));
        assert_eq!(size_class(321, max), Some(384));
        assert_eq!(size_class(449, max), Some(512));
        assert_eq!(size_class(513, max), Some(640));
        assert_eq!(size_class((1 << 26) + 4, max), Some((1 << 26) + (1 << 24)));
        for bytes in (1..100_000u64).step_by(37) {
            let c = size_class(bytes, max).unwrap();
            assert!(
                c >= bytes && (c <= 256 || c * 4 <= bytes * 5 + 3 * 4),
                "{bytes} -> {c}"
            );
            assert_eq!(size_class(c, max), Some(c), "classes are fixed points");
        }
    }

    #[test]
    fn classes_respect_the_limit() {
        assert_eq!(size_class(1000, 1024), Some(1024));
        assert_eq!(size_class(1030, 1200), Some(1032));
        assert_eq!(size_class(1300, 1200), None);
    }
}
