//! The CPU backend of tilework: every [`Kernel`] run on host memory with ndarray buffers and
//! rayon threads. It is the reference oracle other backends are tested against, so results are
//! deterministic: no kernel's output depends on the number of threads.
//!
//! Buffers are always [`Buffer::Host`]; "uploading" shares the host array (an `Arc` clone).
//! Each kernel family lives in its own module: `source` (fill, arange, eye, random, host
//! slices), `elementwise` (blocked fused expressions), `reduce`, `scan`, `gather` (views
//! and overlap assembly), `reshape`, `matmul` and `user` (map_blocks, map_overlap).
#![warn(missing_docs)]

mod elementwise;
mod gather;
mod matmul;
mod num;
mod reduce;
mod reshape;
mod scan;
mod source;
#[cfg(test)]
mod testutil;
mod user;
mod vmath;

use tilework_core::{
    Backend, Buffer, BufferSpec, Caps, DType, DeviceKind, Error, HostArray, Kernel, MemoryInfo,
    Result,
};

/// The CPU backend: runs kernels on the calling thread, fanning large chunks out over the
/// current rayon pool.
#[derive(Debug)]
pub struct CpuBackend {
    caps: Caps,
    total_memory: u64,
}

impl CpuBackend {
    /// A backend for this machine (reads total RAM from `/proc/meminfo` where it exists).
    pub fn new() -> Self {
        CpuBackend {
            caps: Caps {
                name: format!("cpu ({} threads)", rayon::current_num_threads()),
                kind: DeviceKind::Cpu,
                dtypes: DType::ALL.to_vec(),
                max_buffer_bytes: u64::MAX,
            },
            total_memory: total_ram().unwrap_or(0),
        }
    }
}

impl Default for CpuBackend {
    fn default() -> Self {
        Self::new()
    }
}

/// `MemTotal` of `/proc/meminfo` in bytes.
fn total_ram() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// The host arrays behind `inputs`; a device buffer is an error, never a panic.
fn host_inputs<'a>(kernel: &Kernel, inputs: &[&'a Buffer]) -> Result<Vec<&'a HostArray>> {
    inputs
        .iter()
        .enumerate()
        .map(|(i, b)| {
            b.as_host().ok_or_else(|| {
                Error::Device(format!(
                    "cpu {}: input {i} is a device buffer; download it first",
                    kernel.family()
                ))
            })
        })
        .collect()
}

/// The single output spec of a one-output kernel.
fn single<'a>(kernel: &Kernel, outputs: &'a [BufferSpec]) -> Result<&'a BufferSpec> {
    match outputs {
        [spec] => Ok(spec),
        _ => Err(Error::Device(format!(
            "cpu {}: expected 1 output spec, got {}",
            kernel.family(),
            outputs.len()
        ))),
    }
}

/// Checks the kernel's results against the planner's specs, dtype and shape exactly.
fn check_outputs(
    kernel: &Kernel,
    got: Vec<HostArray>,
    specs: &[BufferSpec],
) -> Result<Vec<Buffer>> {
    let fail = |detail: String| {
        let msg = format!("cpu {}: {detail}", kernel.family());
        match kernel {
            Kernel::MapBlocks { func, .. } | Kernel::Overlap { func, .. } => {
                Error::UserKernel(format!("{} ({})", msg, func.name))
            }
            _ => Error::Device(msg),
        }
    };
    if got.len() != specs.len() {
        return Err(fail(format!(
            "produced {} outputs for {} specs",
            got.len(),
            specs.len()
        )));
    }
    for (i, (h, spec)) in got.iter().zip(specs).enumerate() {
        if h.dtype() != spec.dtype || h.shape() != spec.shape {
            return Err(fail(format!(
                "output {i} is {} {:?}, expected {} {:?}",
                h.dtype(),
                h.shape().as_slice(),
                spec.dtype,
                spec.shape.as_slice()
            )));
        }
    }
    Ok(got.into_iter().map(Buffer::Host).collect())
}

impl Backend for CpuBackend {
    fn caps(&self) -> &Caps {
        &self.caps
    }

    fn alloc(&self, spec: &BufferSpec) -> Result<Buffer> {
        Ok(Buffer::Host(HostArray::zeros(spec.dtype, &spec.shape)))
    }

    fn free(&self, buffer: Buffer) {
        drop(buffer);
    }

    fn upload(&self, host: &HostArray) -> Result<Buffer> {
        Ok(Buffer::Host(host.clone()))
    }

    fn download(&self, buffer: &Buffer) -> Result<HostArray> {
        match buffer {
            Buffer::Host(h) => Ok(h.clone()),
            Buffer::Device(d) => Err(Error::Device(format!(
                "cpu: cannot download device buffer {} (it belongs to another backend)",
                d.id
            ))),
        }
    }

    fn launch(
        &self,
        kernel: &Kernel,
        inputs: &[&Buffer],
        outputs: &[BufferSpec],
    ) -> Result<Vec<Buffer>> {
        let inputs = host_inputs(kernel, inputs)?;
        let got: Vec<HostArray> = match kernel {
            Kernel::Fill { value } => {
                let spec = single(kernel, outputs)?;
                vec![HostArray::full(spec.dtype, &spec.shape, *value)]
            }
            Kernel::Arange { .. }
            | Kernel::Eye { .. }
            | Kernel::Random { .. }
            | Kernel::HostSlice { .. } => {
                vec![source::run(kernel, single(kernel, outputs)?)?]
            }
            Kernel::StoreRead { reader, region } => {
                let spec = single(kernel, outputs)?;
                let data = reader.read(region)?;
                if data.dtype() != spec.dtype || data.shape() != spec.shape {
                    return Err(Error::Io {
                        path: reader.describe(),
                        message: format!(
                            "reading region {region:?} gave {} {:?}, expected {} {:?}",
                            data.dtype(),
                            data.shape(),
                            spec.dtype,
                            spec.shape
                        ),
                    });
                }
                vec![data]
            }
            Kernel::StoreWrite { writer, region } => {
                let [data] = inputs.as_slice() else {
                    return Err(Error::Device(format!(
                        "cpu: store_write takes one input, got {}",
                        inputs.len()
                    )));
                };
                writer.write(region, data)?;
                Vec::new()
            }
            Kernel::Elementwise { expr } => {
                vec![elementwise::elementwise(
                    expr,
                    &inputs,
                    &single(kernel, outputs)?.shape,
                )?]
            }
            Kernel::Gather { pieces, fill } => {
                vec![gather::gather(
                    pieces,
                    *fill,
                    &inputs,
                    single(kernel, outputs)?,
                )?]
            }
            Kernel::Reshape {
                in_shape,
                out_shape,
                out_region,
                in_regions,
            } => {
                let spec = single(kernel, outputs)?;
                vec![reshape::reshape(
                    in_shape, out_shape, out_region, in_regions, &inputs, spec,
                )?]
            }
            Kernel::Reduce { op, axes, stage } => reduce::reduce(*op, axes, stage, &inputs)?,
            Kernel::ScanLocal { op, axis } => scan::local(*op, *axis, &inputs)?,
            Kernel::ScanCarry { op } => vec![scan::carry(*op, &inputs)?],
            Kernel::ScanApply { op, axis } => vec![scan::apply(*op, *axis, &inputs)?],
            Kernel::Matmul => vec![matmul::matmul(&inputs, single(kernel, outputs)?)?],
            Kernel::MapBlocks { func, .. } => {
                vec![user::map_blocks(func, &inputs, single(kernel, outputs)?)?]
            }
            Kernel::Overlap { .. } => {
                vec![user::overlap(kernel, &inputs, single(kernel, outputs)?)?]
            }
        };
        check_outputs(kernel, got, outputs)
    }

    fn sync(&self) -> Result<()> {
        Ok(())
    }

    fn memory_info(&self) -> MemoryInfo {
        MemoryInfo {
            total: self.total_memory,
            used: 0,
        }
    }
}

#[cfg(test)]
mod tests;
