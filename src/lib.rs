//! # tilework
//!
//! Chunked, lazy, n-dimensional arrays with a NumPy/Dask-like API. Expressions build a graph;
//! `compute` optimizes it (fusing elementwise chains into reductions and stencils, pushing slices
//! toward sources, merging common subexpressions), plans it as chunk tasks and runs them through
//! a memory-aware executor: on CPU threads (rayon), and on a GPU through wgpu as WGSL compute
//! shaders where one is present and the work pays (`Device::Auto`, the default).
//!
//! The crates its API is built on are re-exported, so a user's crate needs only `tilework`:
//! [`ndarray`] (what `to_ndarray` returns and `map_blocks` closures take) and [`f16`].
//!
//! ```
//! use tilework::prelude::*;
//!
//! let ctx = Context::new()?;
//! let x = ctx.rng(7).uniform(&[1000, 1000], 0.0, 1.0, DType::F32, 250)?;
//! let y = (&x * 2.0 + 1.0).sin()?;            // lazy: nothing runs yet
//! let mean = y.mean()?.to_scalar()?.to_f64();  // one fused pass per chunk
//! assert!(mean > 0.0 && mean < 1.0);
//! let head = x.slice(&s![..2, ..;500])?.to_ndarray::<f32>()?;
//! assert_eq!(head.shape(), &[2, 2]);
//! # Ok::<(), tilework::Error>(())
//! ```
//!
//! Errors: methods return [`Result`]; operators (`&a + &b`) cannot, so a bad operator call gives
//! an array whose `compute` returns the error. Nothing on a library path panics on user input.
//!
//! DType promotion follows NumPy; the table is in [`tilework_core::dtype`].
#![warn(missing_docs)]

mod array;
mod blocks;
mod context;
mod creation;
mod devices;
mod elementwise;
mod layout;
mod linalg;
mod ops;
mod progress;
#[cfg(feature = "gpu")]
mod quiet;
mod reduce;
mod settings;
mod slicing;
mod storage;
mod wgsl;

pub use array::{Array, compute_all};
pub use blocks::map_blocks_dyn;
pub use context::{Context, ContextBuilder, Device, MAX_PREFETCH, MAX_THREADS, parse_bytes};
pub use creation::Rng;
pub use elementwise::Operand;
pub use layout::{concatenate, stack};
/// The n-dimensional arrays results come back as, and `map_blocks` closures take (`ndarray`).
pub use ndarray;
pub use slicing::{NEW_AXIS, SliceElem, SteppedRange};
pub use tilework_core::half::f16;
pub use tilework_core::{
    BinaryOp, BlockFn, Boundary, ChunkGrid, Chunks, DType, Error, HostArray, HostElement, PadMode,
    ReduceOp, Result, Scalar, ScanOp, UnaryOp,
};
pub use tilework_sched::{CancelToken, Report};
/// The GPU adapter wgpu would open (name, API, kind, features), without opening it.
#[cfg(feature = "gpu")]
pub use tilework_wgpu::{AdapterSummary, probe as gpu_adapter};
pub use wgsl::WgslKernel;

/// Storage formats: Zarr v3 and `.npy` readers and writers, and Zarr write options
/// ([`Context::from_zarr`], [`Array::to_zarr`], [`Context::from_npy`], [`Array::to_npy`]).
pub use tilework_io as io;
#[cfg(feature = "zarr")]
pub use tilework_io::zarr::{
    BloscCompressor, Codec, ZarrCompletion, ZarrReadMode, ZarrWriteOptions,
};

/// The names most programs need.
pub mod prelude {
    pub use crate::f16;
    pub use crate::s;
    pub use crate::{
        Array, Boundary, Chunks, Context, DType, Device, Error, HostArray, NEW_AXIS, PadMode,
        Result, Scalar, SliceElem, WgslKernel, compute_all, concatenate, stack,
    };
}

/// Compiles and runs the README's Rust examples as doctests, so the README cannot go stale.
#[doc = include_str!("../README.md")]
#[cfg(all(doctest, feature = "gpu", feature = "zarr"))]
pub struct ReadmeDoctests;
