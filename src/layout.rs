//! Layout operations: reshape, transpose, squeeze, expand_dims, broadcast_to, concatenate,
//! stack, pad and rechunk.

use crate::array::Array;
use crate::elementwise::{Operand, result_dtype};
use tilework_core::op::{AxisMap, Op, PadMode, ViewMap};
use tilework_core::rechunk_plan::{rechunk_stages, rechunk_task_bytes};
use tilework_core::shape::{Shape, checked_nbytes, checked_sum, normalize_axis, size};
use tilework_core::{ChunkGrid, Chunks, Error, Result};

impl Array {
    fn view(&self, in_axes: Vec<AxisMap>, grid: ChunkGrid) -> Array {
        Array::new(
            &self.ctx,
            Op::View(ViewMap { in_axes }),
            vec![self.node.clone()],
            self.dtype(),
            grid,
        )
    }

    /// C-order reshape; one entry may be `-1` (inferred).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when the element count differs or more than one `-1` is given.
    pub fn reshape(&self, shape: &[isize]) -> Result<Array> {
        if let Some(e) = self.error() {
            return Err(e);
        }
        // Checked: a product that wraps could otherwise match the element count.
        let known = size::product(shape.iter().filter(|&&d| d >= 0).map(|&d| d as usize))
            .ok_or_else(|| {
                Error::invalid(
                    "reshape",
                    format!("target shape {shape:?} has more elements than can be addressed"),
                )
            })?;
        let inferred = shape.iter().filter(|&&d| d < 0).count();
        if inferred > 1 || shape.iter().any(|&d| d < -1) {
            return Err(Error::invalid(
                "reshape",
                format!("bad target shape {shape:?}"),
            ));
        }
        let target: Shape = shape
            .iter()
            .map(|&d| {
                if d >= 0 {
                    Ok(d as usize)
                } else if known > 0 && self.len().is_multiple_of(known) {
                    Ok(self.len() / known)
                } else {
                    Err(())
                }
            })
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| {
                Error::invalid(
                    "reshape",
                    format!("cannot reshape {:?} into {shape:?}", self.shape()),
                )
            })?;
        if size::product(target.iter().copied()) != Some(self.len()) {
            return Err(Error::invalid(
                "reshape",
                format!(
                    "cannot reshape array of size {} into shape {target:?}",
                    self.len()
                ),
            ));
        }
        if target.as_slice() == self.shape() {
            return Ok(self.clone());
        }
        let elems = self.grid().max_chunk_elems().max(1);
        let grid = ChunkGrid::with_target_elems(&target, elems)?;
        Ok(Array::new(
            &self.ctx,
            Op::Reshape,
            vec![self.node.clone()],
            self.dtype(),
            grid,
        ))
    }

    /// Permutes axes: output axis `i` is input axis `axes[i]` (`np.transpose(x, axes)`).
    ///
    /// # Errors
    /// [`Error::BadAxis`] unless `axes` is a permutation of the axes.
    pub fn permute(&self, axes: &[isize]) -> Result<Array> {
        let ndim = self.ndim();
        if axes.len() != ndim {
            return Err(Error::invalid(
                "transpose",
                format!("axes {axes:?} do not match rank {ndim}"),
            ));
        }
        let perm = axes
            .iter()
            .map(|&a| normalize_axis("transpose", a, ndim))
            .collect::<Result<Vec<_>>>()?;
        let mut in_axes = vec![AxisMap::Fixed(0); ndim];
        let mut seen = vec![false; ndim];
        for (out_axis, &a) in perm.iter().enumerate() {
            if std::mem::replace(&mut seen[a], true) {
                return Err(Error::BadAxis {
                    op: "transpose",
                    axis: a as isize,
                    ndim,
                });
            }
            in_axes[a] = AxisMap::Affine {
                out_axis,
                start: 0,
                step: 1,
            };
        }
        let shape: Vec<usize> = perm.iter().map(|&a| self.shape()[a]).collect();
        let sizes = perm
            .iter()
            .map(|&a| self.grid().axis_sizes(a))
            .collect::<Result<Vec<_>>>()?;
        Ok(self.view(in_axes, ChunkGrid::from_axis_sizes(&shape, &sizes)?))
    }

    /// Reverses the axes (`x.T`).
    ///
    /// # Errors
    /// Never for a valid array.
    pub fn t(&self) -> Result<Array> {
        let axes: Vec<isize> = (0..self.ndim() as isize).rev().collect();
        self.permute(&axes)
    }

    /// Swaps two axes.
    ///
    /// # Errors
    /// [`Error::BadAxis`].
    pub fn swapaxes(&self, a: isize, b: isize) -> Result<Array> {
        let (a, b) = (
            normalize_axis("swapaxes", a, self.ndim())?,
            normalize_axis("swapaxes", b, self.ndim())?,
        );
        let mut axes: Vec<isize> = (0..self.ndim() as isize).collect();
        axes.swap(a, b);
        self.permute(&axes)
    }

    /// Removes length-1 axes: the given ones, or all when `axes` is `None`.
    ///
    /// # Errors
    /// [`Error::BadAxis`], or an axis whose length is not 1.
    pub fn squeeze(&self, axes: Option<&[isize]>) -> Result<Array> {
        let ndim = self.ndim();
        let drop: Vec<usize> = match axes {
            Some(a) => {
                let axes = tilework_core::shape::normalize_axes("squeeze", a, ndim)?;
                if let Some(&bad) = axes.iter().find(|&&a| self.shape()[a] != 1) {
                    return Err(Error::invalid(
                        "squeeze",
                        format!("axis {bad} has length {}, not 1", self.shape()[bad]),
                    ));
                }
                axes
            }
            None => (0..ndim).filter(|&a| self.shape()[a] == 1).collect(),
        };
        let mut in_axes = Vec::with_capacity(ndim);
        let (mut shape, mut sizes) = (Vec::new(), Vec::new());
        for a in 0..ndim {
            if drop.contains(&a) {
                in_axes.push(AxisMap::Fixed(0));
            } else {
                in_axes.push(AxisMap::Affine {
                    out_axis: shape.len(),
                    start: 0,
                    step: 1,
                });
                shape.push(self.shape()[a]);
                sizes.push(self.grid().axis_sizes(a)?);
            }
        }
        Ok(self.view(in_axes, ChunkGrid::from_axis_sizes(&shape, &sizes)?))
    }

    /// Inserts a length-1 axis at position `axis` of the result.
    ///
    /// # Errors
    /// [`Error::BadAxis`] when `axis` is outside `-(ndim+1)..=ndim`.
    pub fn expand_dims(&self, axis: isize) -> Result<Array> {
        let ndim = self.ndim();
        let at = normalize_axis("expand_dims", axis, ndim + 1)?;
        let in_axes = (0..ndim)
            .map(|a| AxisMap::Affine {
                out_axis: if a < at { a } else { a + 1 },
                start: 0,
                step: 1,
            })
            .collect();
        let mut shape = self.shape().to_vec();
        let mut sizes = self.chunks();
        shape.insert(at, 1);
        sizes.insert(at, vec![1]);
        Ok(self.view(in_axes, ChunkGrid::from_axis_sizes(&shape, &sizes)?))
    }

    /// Broadcasts to `shape` (NumPy rules; the result is a view, nothing is copied until computed).
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] when the array cannot broadcast to `shape`;
    /// [`Error::InvalidArgument`] when `shape` is past the addressable size.
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<Array> {
        checked_nbytes("broadcast_to", shape, self.dtype().size())?;
        let mismatch = || Error::ShapeMismatch {
            op: "broadcast_to",
            lhs: Shape::from_slice(self.shape()),
            rhs: Shape::from_slice(shape),
        };
        if shape.len() < self.ndim() {
            return Err(mismatch());
        }
        let off = shape.len() - self.ndim();
        let mut in_axes = Vec::with_capacity(self.ndim());
        let mut sizes: Vec<Vec<usize>> = shape[..off].iter().map(|&n| vec![n]).collect();
        for (a, &n) in self.shape().iter().enumerate() {
            let target = shape[a + off];
            if n == target {
                in_axes.push(AxisMap::Affine {
                    out_axis: a + off,
                    start: 0,
                    step: 1,
                });
                sizes.push(self.grid().axis_sizes(a)?);
            } else if n == 1 {
                in_axes.push(AxisMap::Affine {
                    out_axis: a + off,
                    start: 0,
                    step: 0,
                });
                sizes.push(vec![target]);
            } else {
                return Err(mismatch());
            }
        }
        Ok(self.view(in_axes, ChunkGrid::from_axis_sizes(shape, &sizes)?))
    }

    /// Re-splits the array into new chunks.
    ///
    /// When one step would make a task hold more than half the host budget (row chunks into
    /// column chunks: every column reads every row), the rechunk goes through intermediate chunk
    /// shapes chosen so that each step's tasks fit in a quarter of it (or half, if a quarter
    /// cannot be reached), as the rechunker algorithm does. [`Array::explain`] shows the steps.
    ///
    /// # Errors
    /// Bad chunks.
    pub fn rechunk(&self, chunks: impl Into<Chunks>) -> Result<Array> {
        let grid = ChunkGrid::new(self.shape(), &chunks.into(), self.dtype())?;
        if &grid == self.grid() {
            return Ok(self.clone());
        }
        let itemsize = self.dtype().size();
        let budget = self.ctx.inner.host_memory;
        let stages = if rechunk_task_bytes(self.grid(), &grid, itemsize) > budget / 2 {
            // No plan that fits leaves the one step, which the budget check refuses by name.
            rechunk_stages(self.grid(), &grid, itemsize, budget / 4)
                .or_else(|| rechunk_stages(self.grid(), &grid, itemsize, budget / 2))
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        let mut node = self.node.clone();
        for step in stages.into_iter().chain([grid]) {
            node = Array::new(&self.ctx, Op::Rechunk, vec![node], self.dtype(), step).node;
        }
        Ok(Array::from_node(&self.ctx, node))
    }

    /// Pads each axis by `(before, after)` elements (`np.pad`).
    ///
    /// # Errors
    /// A width list that does not match the rank; `reflect` wider than `n - 1`, `symmetric`/`wrap`
    /// wider than `n`, or `edge` on an empty axis; a padded shape past the addressable size.
    pub fn pad(&self, widths: &[(usize, usize)], mode: PadMode) -> Result<Array> {
        if widths.len() != self.ndim() {
            return Err(Error::invalid(
                "pad",
                format!(
                    "{} widths for an array of rank {}",
                    widths.len(),
                    self.ndim()
                ),
            ));
        }
        for (axis, (&(b, a), &n)) in widths.iter().zip(self.shape()).enumerate() {
            let max = match mode {
                PadMode::Constant(_) => usize::MAX,
                PadMode::Reflect => n.saturating_sub(1),
                PadMode::Edge if n > 0 => usize::MAX,
                PadMode::Edge => 0,
                PadMode::Symmetric | PadMode::Wrap => n,
            };
            if b.max(a) > max {
                return Err(Error::invalid(
                    "pad",
                    format!(
                        "{mode:?} padding of {} on axis {axis} of length {n} is not supported",
                        b.max(a)
                    ),
                ));
            }
        }
        let mut shape = Vec::new();
        let mut sizes = Vec::new();
        for (axis, &(b, a)) in widths.iter().enumerate() {
            let mut s: Vec<usize> = [b].into_iter().filter(|&w| w > 0).collect();
            s.extend(self.grid().axis_sizes(axis)?.into_iter().filter(|&c| c > 0));
            if a > 0 {
                s.push(a);
            }
            let total = checked_sum("pad", "padded length", [b, self.shape()[axis], a])?;
            if s.is_empty() {
                s.push(0);
            }
            shape.push(total);
            sizes.push(s);
        }
        checked_nbytes("pad", &shape, self.dtype().size())?;
        let grid = ChunkGrid::from_axis_sizes(&shape, &sizes)?;
        let op = Op::Pad {
            widths: widths.to_vec(),
            mode,
        };
        Ok(Array::new(
            &self.ctx,
            op,
            vec![self.node.clone()],
            self.dtype(),
            grid,
        ))
    }
}

/// Joins arrays along an existing axis (`np.concatenate`); dtypes promote.
///
/// # Errors
/// No arrays, ranks or non-axis lengths that differ, or a bad axis.
///
/// # Examples
/// ```
/// use tilework::prelude::*;
/// let ctx = Context::new()?;
/// let a = ctx.zeros(&[2, 3], DType::I32, 2)?;
/// let b = ctx.ones(&[1, 3], DType::F32, 1)?;
/// let c = concatenate(&[&a, &b], 0)?; // int32 and float32 promote to float64
/// assert_eq!((c.shape(), c.dtype()), (&[3usize, 3][..], DType::F64));
/// # Ok::<(), tilework::Error>(())
/// ```
pub fn concatenate(arrays: &[&Array], axis: isize) -> Result<Array> {
    let first = arrays
        .first()
        .ok_or_else(|| Error::invalid("concatenate", "needs at least one array"))?;
    let ndim = first.ndim();
    let axis = normalize_axis("concatenate", axis, ndim)?;
    for a in arrays {
        if let Some(e) = a.error() {
            return Err(e);
        }
        let same =
            a.ndim() == ndim && (0..ndim).all(|d| d == axis || a.shape()[d] == first.shape()[d]);
        if !same {
            return Err(Error::ShapeMismatch {
                op: "concatenate",
                lhs: Shape::from_slice(first.shape()),
                rhs: Shape::from_slice(a.shape()),
            });
        }
    }
    let operands: Vec<Operand> = arrays
        .iter()
        .map(|a| Operand::Array((*a).clone()))
        .collect();
    let dtype = result_dtype(&operands.iter().collect::<Vec<_>>());
    // Align the other axes' chunks by aligning each array against the first, with the concat axis
    // collapsed to length 1 so it never constrains.
    let cast: Vec<Array> = arrays
        .iter()
        .map(|a| a.astype(dtype))
        .collect::<Result<_>>()?;
    let mut nodes = Vec::with_capacity(cast.len());
    let mut axis_sizes = Vec::new();
    for a in &cast {
        let mut sizes = a.chunks();
        for d in (0..ndim).filter(|&d| d != axis) {
            sizes[d] = cast[0].grid().axis_sizes(d)?;
        }
        let aligned = if sizes == a.chunks() {
            a.clone()
        } else {
            a.rechunk(Chunks::Explicit(sizes))?
        };
        axis_sizes.extend(
            aligned
                .grid()
                .axis_sizes(axis)?
                .into_iter()
                .filter(|&c| c > 0),
        );
        nodes.push(aligned.node.clone());
    }
    let mut shape = first.shape().to_vec();
    shape[axis] = checked_sum(
        "concatenate",
        "joined lengths",
        arrays.iter().map(|a| a.shape()[axis]),
    )?;
    checked_nbytes("concatenate", &shape, dtype.size())?;
    if axis_sizes.is_empty() {
        axis_sizes.push(0);
    }
    let mut sizes = cast[0].chunks();
    sizes[axis] = axis_sizes;
    let grid = ChunkGrid::from_axis_sizes(&shape, &sizes)?;
    Ok(Array::new(
        &first.ctx,
        Op::Concat { axis },
        nodes,
        dtype,
        grid,
    ))
}

/// Joins arrays along a new axis (`np.stack`).
///
/// # Errors
/// No arrays, shapes that differ, or a bad axis.
pub fn stack(arrays: &[&Array], axis: isize) -> Result<Array> {
    let first = arrays
        .first()
        .ok_or_else(|| Error::invalid("stack", "needs at least one array"))?;
    if let Some(bad) = arrays.iter().find(|a| a.shape() != first.shape()) {
        return Err(Error::ShapeMismatch {
            op: "stack",
            lhs: Shape::from_slice(first.shape()),
            rhs: Shape::from_slice(bad.shape()),
        });
    }
    let expanded: Vec<Array> = arrays
        .iter()
        .map(|a| a.expand_dims(axis))
        .collect::<Result<_>>()?;
    let refs: Vec<&Array> = expanded.iter().collect();
    let axis = normalize_axis("stack", axis, first.ndim() + 1)? as isize;
    concatenate(&refs, axis)
}
