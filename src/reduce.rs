//! Reductions over any set of axes, and cumulative scans.

use crate::array::Array;
use tilework_core::op::{Op, ReduceOp, ScanOp};
use tilework_core::shape::{normalize_axes, normalize_axis};
use tilework_core::{ChunkGrid, DType, Error, Result};

impl Array {
    /// Reduces `axes` (all axes when `None`) with `op`, keeping them as length-1 axes if `keepdims`.
    ///
    /// # Errors
    /// [`Error::BadAxis`] for an axis out of range or repeated; min/max/argmin/argmax of an empty
    /// selection (no identity), as NumPy.
    ///
    /// # Examples
    /// ```
    /// use tilework::prelude::*;
    /// let ctx = Context::new()?;
    /// let x = ctx.ones(&[4, 3], DType::F32, 2)?;
    /// let cols = x.sum_axes(&[0], false)?; // shape [3]
    /// assert_eq!(cols.to_ndarray::<f32>()?.into_raw_vec_and_offset().0, vec![4.0; 3]);
    /// let kept = x.mean_axes(&[-1], true)?; // shape [4, 1]
    /// assert_eq!(kept.shape(), &[4, 1]);
    /// # Ok::<(), tilework::Error>(())
    /// ```
    pub fn reduce(&self, op: ReduceOp, axes: Option<&[isize]>, keepdims: bool) -> Result<Array> {
        if let Some(e) = self.error() {
            return Err(e);
        }
        let name = op.name();
        let ndim = self.ndim();
        let axes: Vec<usize> = match axes {
            Some(a) => normalize_axes(name, a, ndim)?,
            None => (0..ndim).collect(),
        };
        let reduced: usize = axes.iter().map(|&a| self.shape()[a]).product();
        if reduced == 0
            && matches!(
                op,
                ReduceOp::Min | ReduceOp::Max | ReduceOp::ArgMin | ReduceOp::ArgMax
            )
        {
            return Err(Error::invalid(
                name,
                format!(
                    "zero-size reduction of shape {:?} has no identity",
                    self.shape()
                ),
            ));
        }
        // any/all read booleans; the cast fuses into the reduction.
        let input = match op {
            ReduceOp::Any | ReduceOp::All => self.astype(DType::Bool)?,
            _ => self.clone(),
        };
        let mut sizes = Vec::new();
        for (axis, s) in self.chunks().into_iter().enumerate() {
            if !axes.contains(&axis) {
                sizes.push(s);
            } else if keepdims {
                sizes.push(vec![1]);
            }
        }
        let shape: Vec<usize> = sizes.iter().map(|s| s.iter().sum()).collect();
        let grid = ChunkGrid::from_axis_sizes(&shape, &sizes)?;
        let dtype = op.out_dtype(input.dtype());
        let node_op = Op::Reduce {
            op,
            axes,
            keepdims,
            expr: None,
        };
        Ok(Array::new(
            &self.ctx,
            node_op,
            vec![input.node.clone()],
            dtype,
            grid,
        ))
    }

    /// Cumulative `op` along `axis`.
    ///
    /// # Errors
    /// [`Error::BadAxis`].
    pub fn scan(&self, op: ScanOp, axis: isize) -> Result<Array> {
        if let Some(e) = self.error() {
            return Err(e);
        }
        let name = match op {
            ScanOp::CumSum => "cumsum",
            ScanOp::CumProd => "cumprod",
        };
        let axis = normalize_axis(name, axis, self.ndim())?;
        let dtype = op.out_dtype(self.dtype());
        let input = self.astype(dtype)?;
        Ok(Array::new(
            &self.ctx,
            Op::Scan { op, axis },
            vec![input.node.clone()],
            dtype,
            self.grid().clone(),
        ))
    }

    /// Cumulative sum along `axis` (integers and bool accumulate in i64).
    ///
    /// # Errors
    /// [`Error::BadAxis`].
    pub fn cumsum(&self, axis: isize) -> Result<Array> {
        self.scan(ScanOp::CumSum, axis)
    }

    /// Cumulative product along `axis`.
    ///
    /// # Errors
    /// [`Error::BadAxis`].
    pub fn cumprod(&self, axis: isize) -> Result<Array> {
        self.scan(ScanOp::CumProd, axis)
    }

    /// Variance over all elements with `ddof` delta degrees of freedom.
    ///
    /// # Errors
    /// Never for a valid array.
    pub fn var(&self, ddof: u32) -> Result<Array> {
        self.reduce(ReduceOp::Var { ddof }, None, false)
    }

    /// Standard deviation over all elements with `ddof`.
    ///
    /// # Errors
    /// Never for a valid array.
    pub fn std(&self, ddof: u32) -> Result<Array> {
        self.reduce(ReduceOp::Std { ddof }, None, false)
    }

    /// Variance over `axes`.
    ///
    /// # Errors
    /// [`Error::BadAxis`].
    pub fn var_axes(&self, axes: &[isize], ddof: u32, keepdims: bool) -> Result<Array> {
        self.reduce(ReduceOp::Var { ddof }, Some(axes), keepdims)
    }

    /// Standard deviation over `axes`.
    ///
    /// # Errors
    /// [`Error::BadAxis`].
    pub fn std_axes(&self, axes: &[isize], ddof: u32, keepdims: bool) -> Result<Array> {
        self.reduce(ReduceOp::Std { ddof }, Some(axes), keepdims)
    }

    /// Index of the minimum of the flattened array (first occurrence; NaN wins).
    ///
    /// # Errors
    /// An empty array.
    pub fn argmin(&self) -> Result<Array> {
        self.reduce(ReduceOp::ArgMin, None, false)
    }

    /// Index of the maximum of the flattened array (first occurrence; NaN wins).
    ///
    /// # Errors
    /// An empty array.
    pub fn argmax(&self) -> Result<Array> {
        self.reduce(ReduceOp::ArgMax, None, false)
    }

    /// Indices of the minima along `axis`.
    ///
    /// # Errors
    /// [`Error::BadAxis`] or an empty axis.
    pub fn argmin_axis(&self, axis: isize) -> Result<Array> {
        self.reduce(ReduceOp::ArgMin, Some(&[axis]), false)
    }

    /// Indices of the maxima along `axis`.
    ///
    /// # Errors
    /// [`Error::BadAxis`] or an empty axis.
    pub fn argmax_axis(&self, axis: isize) -> Result<Array> {
        self.reduce(ReduceOp::ArgMax, Some(&[axis]), false)
    }
}

/// `name()` over all axes and `name_axes(axes, keepdims)` for each simple reduction (a flat table).
macro_rules! reductions {
    ($($name:ident, $name_axes:ident => $op:ident),* $(,)?) => {
        impl Array {$(
            #[doc = concat!("NumPy's `", stringify!($name), "` over all elements.\n\n# Errors\nmin/max of an empty array.")]
            pub fn $name(&self) -> Result<Array> {
                self.reduce(ReduceOp::$op, None, false)
            }

            #[doc = concat!("NumPy's `", stringify!($name), "` over `axes` (negative axes count from the end).\n\n# Errors\n[`Error::BadAxis`], or min/max of an empty selection.")]
            pub fn $name_axes(&self, axes: &[isize], keepdims: bool) -> Result<Array> {
                self.reduce(ReduceOp::$op, Some(axes), keepdims)
            }
        )*}
    };
}
reductions!(
    sum, sum_axes => Sum, prod, prod_axes => Prod, mean, mean_axes => Mean, min, min_axes => Min,
    max, max_axes => Max, any, any_axes => Any, all, all_axes => All,
);
