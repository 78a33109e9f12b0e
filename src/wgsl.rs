//! User kernels in WGSL: `map_blocks` and `map_overlap` bodies the GPU runs as compute shaders.

use crate::array::Array;
use crate::blocks::{map_blocks_dyn, typed_block_fn};
use ndarray::{ArrayD, ArrayViewD};
use std::sync::Arc;
use tilework_core::op::{BlockFn, Boundary, WgslBody};
use tilework_core::{DType, Error, HostArray, HostElement, Result};

/// A user kernel written in WGSL, run by the GPU once per output element, optionally with a
/// Rust closure computing the same blocks on the CPU.
///
/// The body is the inside of a WGSL function returning the output element (in the compute type
/// of the output dtype: `f32` for f32 and f16, `i32`, `u32` for u32 and u8, `bool`, `f64`). It
/// may call:
/// - `in0(d0, d1, ..)`, `in1(..)`, ...: input 0, 1, ... at the current element shifted by
///   `(d0, d1, ..)` (one `i32` per axis). For `map_overlap` the shift may reach `depth` elements
///   past the chunk, where the neighbours' data (or the boundary) is; positions past the edge of
///   what a kernel reads are clamped to it.
/// - `coord(axis: u32) -> u32`: the element's global index along `axis`;
///   `size(axis: u32) -> u32`: the whole array's length along `axis`.
///
/// Functions of the body's own go in [`helpers`](WgslKernel::helpers). Names starting `tw_` are
/// reserved. A body that does not compile makes `compute` return [`Error::UserKernel`] with the
/// shader compiler's message.
///
/// ```
/// use tilework::prelude::*;
/// let ctx = Context::new()?;
/// let x = ctx.arange(0.0, 8.0, 1.0, DType::F32, 4)?;
/// // Difference with the right neighbour; the CPU closure is used when no GPU runs it.
/// let diff = WgslKernel::new("diff", "return in0(1) - in0(0);")
///     .with_cpu(|b: ndarray::ArrayViewD<f32>| {
///         let n = b.len();
///         ndarray::Array1::from_shape_fn(n - 2, |i| b[[i + 2]] - b[[i + 1]]).into_dyn()
///     });
/// let y = x.map_overlap_wgsl(&[1], Boundary::Constant(Scalar::F32(7.0)), &diff)?;
/// assert_eq!(y.to_ndarray::<f32>()?.as_slice().unwrap(), &[1., 1., 1., 1., 1., 1., 1., 0.]);
/// # Ok::<(), tilework::Error>(())
/// ```
#[derive(Clone)]
pub struct WgslKernel {
    name: String,
    wgsl: Arc<WgslBody>,
    /// The CPU version: its input and output dtypes, and the closure.
    cpu: Option<(DType, DType, BlockFn)>,
}

impl std::fmt::Debug for WgslKernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WgslKernel")
            .field("name", &self.name)
            .field("body", &self.wgsl.body)
            .field("cpu", &self.cpu.as_ref().map(|(t, u, _)| (t, u)))
            .finish()
    }
}

impl WgslKernel {
    /// A kernel named `name` (shown in plans and errors) with WGSL `body`.
    pub fn new(name: &str, body: &str) -> WgslKernel {
        WgslKernel {
            name: name.to_string(),
            wgsl: Arc::new(WgslBody {
                body: body.to_string(),
                helpers: String::new(),
            }),
            cpu: None,
        }
    }

    /// Adds WGSL declarations (functions, constants) the body calls.
    pub fn helpers(mut self, wgsl: &str) -> WgslKernel {
        Arc::make_mut(&mut self.wgsl).helpers = wgsl.to_string();
        self
    }

    /// Adds the CPU version, used where no GPU runs the kernel (no adapter, `Device::Cpu`, or a
    /// dtype the GPU lacks). It gets each block as the closures of `map_blocks`/`map_overlap` do
    /// (for `map_blocks` with several inputs, the first one).
    pub fn with_cpu<T, U, F>(mut self, f: F) -> WgslKernel
    where
        T: HostElement,
        U: HostElement,
        F: Fn(ArrayViewD<'_, T>) -> ArrayD<U> + Send + Sync + 'static,
    {
        self.cpu = Some((T::DTYPE, U::DTYPE, typed_block_fn(&self.name, f)));
        self
    }

    /// The kernel as a [`BlockFn`] for [`map_blocks_dyn`] (several inputs): the WGSL body, and
    /// the CPU closure or one that says a GPU is needed.
    pub fn to_block_fn(&self) -> BlockFn {
        let func = match &self.cpu {
            Some((_, _, cpu)) => cpu.func.clone(),
            None => {
                let name = self.name.clone();
                Arc::new(move |_: &[HostArray]| {
                    Err(Error::UserKernel(format!(
                        "{name} has only a WGSL body and no GPU ran it (no adapter, \
                         Device::Cpu, or a dtype the GPU lacks: i64, f64 without SHADER_F64); \
                         add a CPU version with WgslKernel::with_cpu"
                    )))
                })
            }
        };
        BlockFn {
            name: self.name.clone(),
            func,
            wgsl: Some(self.wgsl.clone()),
        }
    }

    /// Refuses a kernel that cannot run anywhere in `ctx`, or whose CPU version has other
    /// dtypes than the call.
    fn check(
        &self,
        op: &'static str,
        array: &Array,
        in_dtype: DType,
        out_dtype: DType,
    ) -> Result<()> {
        if let Some(e) = array.error() {
            return Err(e);
        }
        match &self.cpu {
            Some((t, u, _)) if (*t, *u) != (in_dtype, out_dtype) => Err(Error::invalid(
                op,
                format!(
                    "the CPU version of {} maps {t} to {u}, the call {in_dtype} to {out_dtype}",
                    self.name
                ),
            )),
            None if array.ctx.gpu().is_none() => Err(Error::invalid(
                op,
                format!(
                    "{} has only a WGSL body and this context has no GPU (device {:?}); \
                     add a CPU version with WgslKernel::with_cpu",
                    self.name,
                    array.ctx.device()
                ),
            )),
            _ => Ok(()),
        }
    }
}

impl Array {
    /// Applies a WGSL kernel to every chunk (see [`WgslKernel`]); the result has this array's
    /// shape and chunks and dtype `out_dtype`. `in0(0, ..)` is the element itself.
    ///
    /// # Errors
    /// A WGSL-only kernel in a context without a GPU, or a CPU version of other dtypes.
    pub fn map_blocks_wgsl(&self, kernel: &WgslKernel, out_dtype: DType) -> Result<Array> {
        kernel.check("map_blocks_wgsl", self, self.dtype(), out_dtype)?;
        map_blocks_dyn(&[self], out_dtype, kernel.to_block_fn())
    }

    /// Applies a WGSL stencil to every chunk extended by `depth[axis]` neighbouring elements on
    /// each side (with `boundary` beyond the array's edges), as [`Array::map_overlap`] does
    /// with a closure; `in0(d0, ..)` reads the extended block. The result keeps this array's
    /// dtype.
    ///
    /// # Errors
    /// As [`Array::map_overlap`], and a WGSL-only kernel in a context without a GPU.
    pub fn map_overlap_wgsl(
        &self,
        depth: &[usize],
        boundary: Boundary,
        kernel: &WgslKernel,
    ) -> Result<Array> {
        kernel.check("map_overlap_wgsl", self, self.dtype(), self.dtype())?;
        self.overlap_with(depth, boundary, kernel.to_block_fn())
    }
}
