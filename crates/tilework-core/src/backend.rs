//! The seam between the scheduler and the devices: buffers and the [`Backend`] trait.

use crate::dtype::DType;
use crate::error::Result;
use crate::host::HostArray;
use crate::kernel::Kernel;
use crate::shape::{Shape, numel};

/// The dtype and shape of a buffer.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BufferSpec {
    /// Element type.
    pub dtype: DType,
    /// Shape.
    pub shape: Shape,
}

impl BufferSpec {
    /// Bytes the buffer occupies.
    pub fn nbytes(&self) -> usize {
        numel(&self.shape) * self.dtype.size()
    }
}

/// A buffer on a device, owned by the backend that made it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DeviceBuffer {
    /// Backend-specific handle.
    pub id: u64,
    /// What it holds.
    pub spec: BufferSpec,
}

/// A chunk's data, wherever it lives.
#[derive(Clone, Debug)]
pub enum Buffer {
    /// In host memory.
    Host(HostArray),
    /// On a device.
    Device(DeviceBuffer),
}

impl Buffer {
    /// Bytes held.
    pub fn nbytes(&self) -> usize {
        match self {
            Buffer::Host(h) => h.nbytes(),
            Buffer::Device(d) => d.spec.nbytes(),
        }
    }

    /// Element type.
    pub fn dtype(&self) -> DType {
        match self {
            Buffer::Host(h) => h.dtype(),
            Buffer::Device(d) => d.spec.dtype,
        }
    }

    /// Shape.
    pub fn shape(&self) -> Shape {
        match self {
            Buffer::Host(h) => h.shape(),
            Buffer::Device(d) => d.spec.shape.clone(),
        }
    }

    /// The host array, if the buffer is on the host.
    pub fn as_host(&self) -> Option<&HostArray> {
        match self {
            Buffer::Host(h) => Some(h),
            Buffer::Device(_) => None,
        }
    }
}

/// Which kind of device a backend drives.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum DeviceKind {
    /// CPU threads.
    Cpu,
    /// A GPU.
    Gpu,
}

/// What a backend can do.
#[derive(Clone, Debug)]
pub struct Caps {
    /// Human-readable device name.
    pub name: String,
    /// The device kind.
    pub kind: DeviceKind,
    /// Dtypes its kernels accept.
    pub dtypes: Vec<DType>,
    /// Largest single buffer in bytes.
    pub max_buffer_bytes: u64,
}

/// Memory of a device.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct MemoryInfo {
    /// Total bytes.
    pub total: u64,
    /// Bytes in use by this backend.
    pub used: u64,
}

/// A device that runs kernels on buffers. The scheduler drives devices only through this trait.
pub trait Backend: Send + Sync {
    /// What the backend can do.
    fn caps(&self) -> &Caps;

    /// Allocates an uninitialized (or zeroed) buffer.
    ///
    /// # Errors
    /// Out of memory or a device failure.
    fn alloc(&self, spec: &BufferSpec) -> Result<Buffer>;

    /// Returns a buffer to the backend.
    fn free(&self, buffer: Buffer);

    /// Copies host data to the device.
    ///
    /// # Errors
    /// Out of memory or a device failure.
    fn upload(&self, host: &HostArray) -> Result<Buffer>;

    /// Copies a buffer to the host.
    ///
    /// # Errors
    /// A device failure, or a buffer from another backend.
    fn download(&self, buffer: &Buffer) -> Result<HostArray>;

    /// Runs `kernel` on `inputs` and returns buffers matching `outputs`.
    ///
    /// # Errors
    /// Unsupported kernel or dtype, a failing user kernel, or a device failure.
    fn launch(
        &self,
        kernel: &Kernel,
        inputs: &[&Buffer],
        outputs: &[BufferSpec],
    ) -> Result<Vec<Buffer>>;

    /// Waits until submitted work has finished.
    ///
    /// # Errors
    /// A device failure.
    fn sync(&self) -> Result<()>;

    /// Memory totals.
    fn memory_info(&self) -> MemoryInfo;
}
