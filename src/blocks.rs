//! User kernels: `map_blocks` over aligned chunks and `map_overlap` stencils with halos.

use crate::array::Array;
use crate::elementwise::align;
use ndarray::{ArrayD, ArrayViewD};
use std::sync::Arc;
use tilework_core::op::{BlockFn, Boundary, Op};
use tilework_core::shape::{checked_nbytes, checked_sum};
use tilework_core::{DType, Error, HostArray, HostElement, Result};

pub(crate) fn typed_block_fn<T, U, F>(name: &str, f: F) -> BlockFn
where
    T: HostElement,
    U: HostElement,
    F: Fn(ArrayViewD<'_, T>) -> ArrayD<U> + Send + Sync + 'static,
{
    BlockFn {
        name: name.to_string(),
        func: Arc::new(move |blocks: &[HostArray]| {
            let input = blocks
                .first()
                .ok_or_else(|| Error::UserKernel("block function called without a block".into()))?
                .typed::<T>()?;
            Ok(HostArray::from_array(f(input.view())))
        }),
        wgsl: None,
    }
}

impl Array {
    /// Applies `f` to every chunk (as an `ndarray` view); `f` must return a block of the same
    /// shape, of element type `U`. Runs on CPU threads.
    ///
    /// # Errors
    /// [`Error::DTypeMismatch`] when `T` is not the array's dtype (checked now); a block of the
    /// wrong shape is reported by `compute`.
    ///
    /// ```
    /// use tilework::prelude::*;
    /// let ctx = Context::new()?;
    /// let x = ctx.arange(0.0, 10.0, 1.0, DType::F64, 4)?;
    /// let y = x.map_blocks("square", |b: ndarray::ArrayViewD<f64>| b.mapv(|v| v * v))?;
    /// assert_eq!(y.sum()?.to_scalar()?.to_f64(), 285.0);
    /// # Ok::<(), tilework::Error>(())
    /// ```
    pub fn map_blocks<T, U, F>(&self, name: &str, f: F) -> Result<Array>
    where
        T: HostElement,
        U: HostElement,
        F: Fn(ArrayViewD<'_, T>) -> ArrayD<U> + Send + Sync + 'static,
    {
        if T::DTYPE != self.dtype() {
            return Err(Error::DTypeMismatch {
                expected: T::DTYPE,
                actual: self.dtype(),
            });
        }
        let func = typed_block_fn(name, f);
        map_blocks_dyn(&[self], U::DTYPE, func)
    }

    /// Applies a stencil `f` to every chunk extended by `depth[axis]` elements of its neighbours
    /// on each side (with `boundary` beyond the array's edges) and keeps the chunk's part of the
    /// result (Dask's `map_overlap` with `trim=True`). `f` returns either a block of the shape it
    /// was given (tilework trims the halo) or a block of the chunk's own shape, i.e. only the
    /// interior (already trimmed: the faster choice, it saves a full-block copy).
    ///
    /// # Errors
    /// A dtype mismatch, a `depth` list that does not match the rank, a depth larger than its
    /// axis (except with [`Boundary::None`], where it means the whole axis), or a halo'd block
    /// past the addressable size. A block larger than the host budget is refused by `compute`
    /// before anything is allocated.
    pub fn map_overlap<T, F>(
        &self,
        name: &str,
        depth: &[usize],
        boundary: Boundary,
        f: F,
    ) -> Result<Array>
    where
        T: HostElement,
        F: Fn(ArrayViewD<'_, T>) -> ArrayD<T> + Send + Sync + 'static,
    {
        if let Some(e) = self.error() {
            return Err(e);
        }
        if T::DTYPE != self.dtype() {
            return Err(Error::DTypeMismatch {
                expected: T::DTYPE,
                actual: self.dtype(),
            });
        }
        let func = typed_block_fn(name, f);
        self.overlap_with(depth, boundary, func)
    }

    /// Checks `depth` and `boundary` for `map_overlap` and adds the stencil node.
    pub(crate) fn overlap_with(
        &self,
        depth: &[usize],
        boundary: Boundary,
        func: BlockFn,
    ) -> Result<Array> {
        if let Some(e) = self.error() {
            return Err(e);
        }
        if depth.len() != self.ndim() {
            return Err(Error::invalid(
                "map_overlap",
                format!(
                    "{} depths for an array of rank {}",
                    depth.len(),
                    self.ndim()
                ),
            ));
        }
        // An empty array has no block to extend: any depth gives the empty result.
        if !self.is_empty()
            && !matches!(boundary, Boundary::None)
            && let Some((axis, (&d, &n))) = depth
                .iter()
                .zip(self.shape())
                .enumerate()
                .find(|(_, (d, n))| *d > *n)
        {
            return Err(Error::invalid(
                "map_overlap",
                format!("depth {d} exceeds length {n} of axis {axis}"),
            ));
        }
        // Without a boundary nothing is read past the edges: a deeper halo is the whole axis.
        let depth: Vec<usize> = match boundary {
            Boundary::None => depth
                .iter()
                .zip(self.shape())
                .map(|(&d, &n)| d.min(n))
                .collect(),
            _ => depth.to_vec(),
        };
        // The largest halo'd block must be addressable; the executor checks it against the budget.
        let block = depth
            .iter()
            .zip(self.chunks())
            .map(|(&d, sizes)| {
                let chunk = sizes.into_iter().max().unwrap_or(0);
                checked_sum("map_overlap", "halo'd block length", [d, chunk, d])
            })
            .collect::<Result<Vec<_>>>()?;
        checked_nbytes("map_overlap", &block, self.dtype().size())?;
        let boundary = match boundary {
            Boundary::Constant(v) => Boundary::Constant(v.cast(self.dtype())),
            other => other,
        };
        let op = Op::Overlap {
            depth,
            boundary,
            func,
            expr: None,
        };
        Ok(Array::new(
            &self.ctx,
            op,
            vec![self.node.clone()],
            self.dtype(),
            self.grid().clone(),
        ))
    }
}

/// Applies `func` to aligned chunks of several arrays (broadcast like an elementwise op); the
/// result has the broadcast shape and chunks, and dtype `out_dtype`.
///
/// # Errors
/// Shapes that do not broadcast; blocks of the wrong shape or dtype are reported by `compute`.
pub fn map_blocks_dyn(arrays: &[&Array], out_dtype: DType, func: BlockFn) -> Result<Array> {
    let first = arrays
        .first()
        .ok_or_else(|| Error::invalid("map_blocks", "needs at least one array"))?;
    for a in arrays {
        if let Some(e) = a.error() {
            return Err(e);
        }
    }
    let (nodes, _shape, grid) = align("map_blocks", arrays)?;
    checked_nbytes("map_blocks", grid.shape(), out_dtype.size())?;
    Ok(Array::new(
        &first.ctx,
        Op::MapBlocks(func),
        nodes,
        out_dtype,
        grid,
    ))
}
