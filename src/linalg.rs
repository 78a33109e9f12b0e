//! Matrix products: `matmul` (2-D and batched, NumPy semantics) and `tensordot`.

use crate::array::Array;
use crate::elementwise::{Operand, result_dtype};
use tilework_core::chunks::broadcast_grid;
use tilework_core::op::Op;
use tilework_core::shape::{Shape, broadcast_shapes, normalize_axis};
use tilework_core::{ChunkGrid, Chunks, DType, Error, Result};

impl Array {
    /// Matrix product with NumPy's `matmul` rules: 1-D operands are promoted to matrices and the
    /// added axis removed afterwards; leading axes broadcast as a batch.
    ///
    /// # Errors
    /// 0-d operands, inner dimensions that differ, batch shapes that do not broadcast, or bool.
    ///
    /// # Examples
    /// ```
    /// use tilework::prelude::*;
    /// let ctx = Context::new()?;
    /// let a = ctx.eye(3, 3, 0, DType::F64, 2)?;
    /// let b = ctx.arange(0.0, 6.0, 1.0, DType::F64, 4)?.reshape(&[3, 2])?;
    /// assert_eq!(a.matmul(&b)?.to_ndarray::<f64>()?, b.to_ndarray::<f64>()?);
    /// # Ok::<(), tilework::Error>(())
    /// ```
    pub fn matmul(&self, other: &Array) -> Result<Array> {
        for a in [self, other] {
            if let Some(e) = a.error() {
                return Err(e);
            }
            if a.ndim() == 0 {
                return Err(Error::invalid(
                    "matmul",
                    "operands must have at least one dimension",
                ));
            }
        }
        let dtype = result_dtype(&[
            &Operand::Array(self.clone()),
            &Operand::Array(other.clone()),
        ]);
        if dtype == DType::Bool {
            return Err(Error::DTypeUnsupported {
                op: "matmul",
                dtype,
                device: None,
            });
        }
        let a = if self.ndim() == 1 {
            self.expand_dims(0)?
        } else {
            self.clone()
        }
        .astype(dtype)?;
        let b = if other.ndim() == 1 {
            other.expand_dims(-1)?
        } else {
            other.clone()
        }
        .astype(dtype)?;
        let (an, bn) = (a.ndim(), b.ndim());
        let (m, k, k2, n) = (
            a.shape()[an - 2],
            a.shape()[an - 1],
            b.shape()[bn - 2],
            b.shape()[bn - 1],
        );
        if k != k2 {
            return Err(Error::ShapeMismatch {
                op: "matmul",
                lhs: Shape::from_slice(self.shape()),
                rhs: Shape::from_slice(other.shape()),
            });
        }
        let batch = broadcast_shapes("matmul", &a.shape()[..an - 2], &b.shape()[..bn - 2])
            .map_err(|_| Error::ShapeMismatch {
                op: "matmul",
                lhs: Shape::from_slice(self.shape()),
                rhs: Shape::from_slice(other.shape()),
            })?;
        // Align: b's k axis takes a's k chunks; batch axes that both span take a's chunks.
        let nb = batch.len();
        let mut b_sizes = b.chunks();
        b_sizes[bn - 2] = a.grid().axis_sizes(an - 1)?;
        for (d, sizes) in b_sizes.iter_mut().enumerate().take(bn - 2) {
            let out_axis = d + nb - (bn - 2);
            let a_axis = out_axis as isize - (nb as isize - (an as isize - 2));
            if a_axis >= 0 && a.shape()[a_axis as usize] == b.shape()[d] {
                *sizes = a.grid().axis_sizes(a_axis as usize)?;
            }
        }
        let b = if b_sizes == b.chunks() {
            b
        } else {
            b.rechunk(Chunks::Explicit(b_sizes))?
        };
        let batch_grid = {
            let ga = ChunkGrid::from_axis_sizes(&a.shape()[..an - 2], &a.chunks()[..an - 2])?;
            let gb = ChunkGrid::from_axis_sizes(&b.shape()[..bn - 2], &b.chunks()[..bn - 2])?;
            broadcast_grid(&[&ga, &gb], &batch)?
        };
        let mut shape = batch.to_vec();
        shape.extend([m, n]);
        let mut sizes = batch_grid.sizes();
        sizes.push(a.grid().axis_sizes(an - 2)?);
        sizes.push(b.grid().axis_sizes(bn - 1)?);
        tilework_core::shape::checked_nbytes("matmul", &shape, dtype.size())?;
        let grid = ChunkGrid::from_axis_sizes(&shape, &sizes)?;
        let mut out = Array::new(
            &self.ctx,
            Op::Matmul,
            vec![a.node.clone(), b.node.clone()],
            dtype,
            grid,
        );
        if other.ndim() == 1 {
            out = out.squeeze(Some(&[-1]))?;
        }
        if self.ndim() == 1 {
            out = out.squeeze(Some(&[-(if other.ndim() == 1 { 1 } else { 2 })]))?;
        }
        Ok(out)
    }

    /// Sums products over `self`'s `axes_a` and `other`'s `axes_b` (`np.tensordot`): the result's
    /// axes are `self`'s remaining axes followed by `other`'s.
    ///
    /// # Errors
    /// Axis lists of different lengths, bad or repeated axes, or contracted lengths that differ.
    pub fn tensordot(&self, other: &Array, axes_a: &[isize], axes_b: &[isize]) -> Result<Array> {
        if axes_a.len() != axes_b.len() {
            return Err(Error::invalid(
                "tensordot",
                "axes lists must have the same length",
            ));
        }
        let ca = tilework_core::shape::normalize_axes("tensordot", axes_a, self.ndim())?;
        let cb = tilework_core::shape::normalize_axes("tensordot", axes_b, other.ndim())?;
        // Keep the user's pairing order (normalize_axes sorts).
        let pa: Vec<usize> = axes_a
            .iter()
            .map(|&x| normalize_axis("tensordot", x, self.ndim()))
            .collect::<Result<_>>()?;
        let pb: Vec<usize> = axes_b
            .iter()
            .map(|&x| normalize_axis("tensordot", x, other.ndim()))
            .collect::<Result<_>>()?;
        debug_assert_eq!((ca.len(), cb.len()), (pa.len(), pb.len()));
        for (&x, &y) in pa.iter().zip(&pb) {
            if self.shape()[x] != other.shape()[y] {
                return Err(Error::ShapeMismatch {
                    op: "tensordot",
                    lhs: Shape::from_slice(self.shape()),
                    rhs: Shape::from_slice(other.shape()),
                });
            }
        }
        let free_a: Vec<usize> = (0..self.ndim()).filter(|x| !pa.contains(x)).collect();
        let free_b: Vec<usize> = (0..other.ndim()).filter(|x| !pb.contains(x)).collect();
        let perm_a: Vec<isize> = free_a.iter().chain(&pa).map(|&x| x as isize).collect();
        let perm_b: Vec<isize> = pb.iter().chain(&free_b).map(|&x| x as isize).collect();
        let m: usize = free_a.iter().map(|&x| self.shape()[x]).product();
        let k: usize = pa.iter().map(|&x| self.shape()[x]).product();
        let n: usize = free_b.iter().map(|&x| other.shape()[x]).product();
        let a2 = self.permute(&perm_a)?.reshape(&[m as isize, k as isize])?;
        let b2 = other.permute(&perm_b)?.reshape(&[k as isize, n as isize])?;
        let out_shape: Vec<isize> = free_a
            .iter()
            .map(|&x| self.shape()[x] as isize)
            .chain(free_b.iter().map(|&x| other.shape()[x] as isize))
            .collect();
        a2.matmul(&b2)?.reshape(&out_shape)
    }
}
