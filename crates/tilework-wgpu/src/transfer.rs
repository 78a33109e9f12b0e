//! Host <-> device copies. Uploads go through `queue.write_buffer` (wgpu stages them and
//! orders them before the next submission); downloads copy into a mappable staging buffer from
//! the pool (reused, so that a small download creates no buffer) and wait for the map.

use crate::device::Gpu;
use crate::dtype::Repr;
use crate::kernels::Launch;
use crate::pool::Pool;
use std::sync::mpsc;
use tilework_core::{Error, HostArray, Result};

/// Uploads `host` (of representation `repr`) into a new buffer allocated by the launch.
pub(crate) fn upload(l: &Launch<'_>, repr: Repr, host: &HostArray) -> Result<wgpu::Buffer> {
    let bytes = repr.encode(host);
    let buffer = l.alloc(repr, host.len())?;
    if !bytes.is_empty() {
        l.gpu.queue.write_buffer(&buffer, 0, &bytes);
    }
    Ok(buffer)
}

/// The first `bytes` bytes of `buffer` (rounded up to whole words).
pub(crate) fn read_back(
    gpu: &Gpu,
    pool: &Pool,
    buffer: &wgpu::Buffer,
    bytes: u64,
) -> Result<Vec<u8>> {
    let size = bytes.next_multiple_of(4);
    if size == 0 {
        return Ok(Vec::new());
    }
    if size > buffer.size() {
        return Err(Error::Device(format!(
            "wgpu: reading {size} bytes from a buffer of {}",
            buffer.size()
        )));
    }
    // The staging buffer is this call's alone until it goes back to the pool, unmapped, at
    // the end; after a failure it is dropped instead.
    let staging = pool.acquire_staging(&gpu.device, size);
    let mut encoder = gpu
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("tilework download"),
        });
    encoder.copy_buffer_to_buffer(buffer, 0, &staging, 0, size);
    gpu.queue.submit([encoder.finish()]);
    let (tx, rx) = mpsc::channel();
    staging
        .slice(..size)
        .map_async(wgpu::MapMode::Read, move |r| {
            // The receiver outlives the wait below; a failed send only means it gave up.
            let _ = tx.send(r);
        });
    gpu.wait()?;
    match rx.recv() {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            return Err(Error::Device(format!(
                "wgpu: mapping a download failed: {e}"
            )));
        }
        Err(_) => {
            return Err(Error::Device(
                "wgpu: a download was never mapped (device lost?)".into(),
            ));
        }
    }
    let data = {
        let view = staging
            .slice(..size)
            .get_mapped_range()
            .map_err(|e| Error::Device(format!("wgpu: reading a mapped download failed: {e}")))?;
        view.to_vec()
    };
    staging.unmap();
    pool.recycle_staging(staging);
    Ok(data)
}
