//! The one error type of tilework-core, shared by every layer above it.

use crate::dtype::DType;
use crate::shape::Shape;

/// Result alias used across tilework.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while building or computing an array.
///
/// Graph-building errors (shapes, axes, dtypes, chunkings) are reported before any data moves;
/// execution errors (budgets, user kernels, devices) come out of `compute`.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// Two operands cannot be broadcast together or otherwise disagree in shape.
    #[error("{op}: shapes {lhs:?} and {rhs:?} are not compatible")]
    ShapeMismatch {
        /// The operation that was attempted.
        op: &'static str,
        /// Shape of the left operand.
        lhs: Shape,
        /// Shape of the right operand.
        rhs: Shape,
    },
    /// An axis is out of range for the array's rank, or repeated.
    #[error("{op}: axis {axis} is out of range (or repeated) for an array of rank {ndim}")]
    BadAxis {
        /// The operation that was attempted.
        op: &'static str,
        /// The axis as the user gave it.
        axis: isize,
        /// Rank of the array.
        ndim: usize,
    },
    /// A dtype cannot be used by an operation.
    #[error("{op}: dtype {dtype} is not supported{}", device.as_ref().map(|d| format!(" on {d}")).unwrap_or_default())]
    DTypeUnsupported {
        /// The operation that was attempted.
        op: &'static str,
        /// The offending dtype.
        dtype: DType,
        /// The device, when the limit is the device's.
        device: Option<String>,
    },
    /// Typed access asked for a different dtype than the array has.
    #[error("dtype mismatch: the array holds {actual}, but {expected} was requested")]
    DTypeMismatch {
        /// The dtype that was requested.
        expected: DType,
        /// The dtype the data has.
        actual: DType,
    },
    /// A slice or index is out of range or has a zero step.
    #[error("{op}: {detail}")]
    BadIndex {
        /// The operation that was attempted.
        op: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// A chunking does not fit the shape (zero chunk size, sizes not summing to the axis length...).
    #[error("bad chunks for shape {shape:?}: {detail}")]
    BadChunks {
        /// The array's shape.
        shape: Shape,
        /// What was wrong.
        detail: String,
    },
    /// Any other invalid argument.
    #[error("{op}: {detail}")]
    InvalidArgument {
        /// The operation that was attempted.
        op: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// A task needs more memory than the budget allows.
    #[error("out of memory: {what} needs {needed} bytes but the budget is {budget} bytes")]
    OutOfMemory {
        /// What needed the memory.
        what: String,
        /// Bytes needed.
        needed: u64,
        /// The budget in bytes.
        budget: u64,
    },
    /// A user kernel (map_blocks / map_overlap closure) failed or returned the wrong shape.
    #[error("user kernel failed: {0}")]
    UserKernel(String),
    /// A backend or device failed.
    #[error("device error: {0}")]
    Device(String),
    /// The computation was cancelled through the context's cancel token.
    #[error("cancelled: {0}")]
    Cancelled(String),
    /// Reading or writing a file failed.
    #[error("I/O error on {path}: {message}")]
    Io {
        /// The path involved.
        path: String,
        /// The underlying error, rendered.
        message: String,
    },
}

impl Error {
    /// Shorthand for [`Error::InvalidArgument`].
    pub fn invalid(op: &'static str, detail: impl Into<String>) -> Self {
        Error::InvalidArgument {
            op,
            detail: detail.into(),
        }
    }

    /// Shorthand for [`Error::BadIndex`].
    pub fn bad_index(op: &'static str, detail: impl Into<String>) -> Self {
        Error::BadIndex {
            op,
            detail: detail.into(),
        }
    }
}
