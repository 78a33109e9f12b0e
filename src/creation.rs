//! Array creation: constants, ranges, identity, host data and counter-based random numbers.

use crate::array::{Array, host_to_array};
use crate::context::Context;
use ndarray::ArrayD;
use std::sync::atomic::{AtomicU64, Ordering};
use tilework_core::op::{Distribution, Op, SourceOp};
use tilework_core::{ChunkGrid, Chunks, DType, Error, HostArray, HostElement, Result, Scalar};

fn source(
    ctx: &Context,
    op: SourceOp,
    shape: &[usize],
    dtype: DType,
    chunks: Chunks,
) -> Result<Array> {
    let grid = ChunkGrid::new(shape, &chunks, dtype)?;
    Ok(Array::new(ctx, Op::Source(op), Vec::new(), dtype, grid))
}

impl Context {
    /// An array of `shape` filled with `value` (cast to `dtype`).
    ///
    /// # Errors
    /// Bad chunks (e.g. a chunk size of 0).
    pub fn full(
        &self,
        shape: &[usize],
        value: impl Into<Scalar>,
        dtype: DType,
        chunks: impl Into<Chunks>,
    ) -> Result<Array> {
        let value = value.into().cast(dtype);
        source(self, SourceOp::Fill(value), shape, dtype, chunks.into())
    }

    /// Zeros.
    ///
    /// # Errors
    /// Bad chunks.
    pub fn zeros(&self, shape: &[usize], dtype: DType, chunks: impl Into<Chunks>) -> Result<Array> {
        self.full(shape, Scalar::zero(dtype), dtype, chunks)
    }

    /// Ones.
    ///
    /// # Errors
    /// Bad chunks.
    pub fn ones(&self, shape: &[usize], dtype: DType, chunks: impl Into<Chunks>) -> Result<Array> {
        self.full(shape, Scalar::one(dtype), dtype, chunks)
    }

    /// Same as [`Context::zeros`]: tilework never hands out uninitialized memory.
    ///
    /// # Errors
    /// Bad chunks.
    pub fn empty(&self, shape: &[usize], dtype: DType, chunks: impl Into<Chunks>) -> Result<Array> {
        self.zeros(shape, dtype, chunks)
    }

    /// `start, start + step, ...` up to (not including) `stop`, as NumPy's `arange`.
    ///
    /// # Errors
    /// A zero or non-finite step, or bad chunks.
    pub fn arange(
        &self,
        start: f64,
        stop: f64,
        step: f64,
        dtype: DType,
        chunks: impl Into<Chunks>,
    ) -> Result<Array> {
        if step == 0.0 || !step.is_finite() || !start.is_finite() || !stop.is_finite() {
            return Err(Error::invalid(
                "arange",
                format!("bad range {start}..{stop} step {step}"),
            ));
        }
        let n = ((stop - start) / step).ceil().max(0.0) as usize;
        let op = SourceOp::Arange {
            start,
            step,
            last: None,
        };
        source(self, op, &[n], dtype, chunks.into())
    }

    /// `num` evenly spaced values from `start` to `stop` (inclusive when `endpoint`), as NumPy.
    ///
    /// # Errors
    /// Bad chunks.
    pub fn linspace(
        &self,
        start: f64,
        stop: f64,
        num: usize,
        endpoint: bool,
        dtype: DType,
        chunks: impl Into<Chunks>,
    ) -> Result<Array> {
        let div = if endpoint { num.saturating_sub(1) } else { num };
        let step = if div > 0 {
            (stop - start) / div as f64
        } else {
            0.0
        };
        let last = (endpoint && num > 1).then_some(stop);
        source(
            self,
            SourceOp::Arange { start, step, last },
            &[num],
            dtype,
            chunks.into(),
        )
    }

    /// A 2-D array with ones on the k-th diagonal.
    ///
    /// # Errors
    /// Bad chunks.
    pub fn eye(
        &self,
        rows: usize,
        cols: usize,
        k: i64,
        dtype: DType,
        chunks: impl Into<Chunks>,
    ) -> Result<Array> {
        source(
            self,
            SourceOp::Eye { k },
            &[rows, cols],
            dtype,
            chunks.into(),
        )
    }

    /// Wraps an `ndarray` (copied once into shared storage) as a chunked array.
    ///
    /// # Errors
    /// Bad chunks.
    pub fn from_ndarray<T: HostElement>(
        &self,
        array: ArrayD<T>,
        chunks: impl Into<Chunks>,
    ) -> Result<Array> {
        let host = HostArray::from_array(array.as_standard_layout().into_owned());
        self.from_host(host, chunks)
    }

    /// Wraps a dynamically typed host array as a chunked array.
    ///
    /// # Errors
    /// Bad chunks.
    pub fn from_host(&self, host: HostArray, chunks: impl Into<Chunks>) -> Result<Array> {
        let grid = ChunkGrid::new(&host.shape(), &chunks.into(), host.dtype())?;
        Ok(host_to_array(self, host, grid))
    }

    /// Builds an array from a flat vector in C order.
    ///
    /// # Errors
    /// A length that does not match the shape, or bad chunks.
    pub fn from_vec<T: HostElement>(
        &self,
        data: Vec<T>,
        shape: &[usize],
        chunks: impl Into<Chunks>,
    ) -> Result<Array> {
        self.from_host(HostArray::from_vec(data, shape)?, chunks)
    }

    /// A random generator whose draws depend only on `seed` and the order of calls.
    pub fn rng(&self, seed: u64) -> Rng {
        Rng {
            ctx: self.clone(),
            seed,
            draws: AtomicU64::new(0),
        }
    }
}

impl Array {
    /// An array of the same shape, dtype and chunks filled with `value`.
    ///
    /// # Errors
    /// Never for a valid array; kept fallible like the other constructors.
    pub fn full_like(&self, value: impl Into<Scalar>) -> Result<Array> {
        let dtype = self.dtype();
        Ok(Array::new(
            &self.ctx,
            Op::Source(SourceOp::Fill(value.into().cast(dtype))),
            Vec::new(),
            dtype,
            self.grid().clone(),
        ))
    }

    /// Zeros like `self`.
    ///
    /// # Errors
    /// As [`Array::full_like`].
    pub fn zeros_like(&self) -> Result<Array> {
        self.full_like(Scalar::zero(self.dtype()))
    }

    /// Ones like `self`.
    ///
    /// # Errors
    /// As [`Array::full_like`].
    pub fn ones_like(&self) -> Result<Array> {
        self.full_like(Scalar::one(self.dtype()))
    }

    /// Same as [`Array::zeros_like`].
    ///
    /// # Errors
    /// As [`Array::full_like`].
    pub fn empty_like(&self) -> Result<Array> {
        self.zeros_like()
    }
}

/// Counter-based random arrays (Philox 4x32-10): the same seed gives the same values for any
/// chunking, thread count or device. Each draw uses a seed derived from the generator's seed and
/// the draw's number, so a program that draws in the same order gets the same arrays.
///
/// # Examples
/// ```
/// use tilework::prelude::*;
/// let ctx = Context::new()?;
/// let a = ctx.rng(7).normal(&[1000], 0.0, 1.0, DType::F64, 64)?;
/// let b = ctx.rng(7).normal(&[1000], 0.0, 1.0, DType::F64, 1000)?;
/// assert_eq!(a.to_ndarray::<f64>()?, b.to_ndarray::<f64>()?); // chunking does not matter
/// # Ok::<(), tilework::Error>(())
/// ```
#[derive(Debug)]
pub struct Rng {
    ctx: Context,
    seed: u64,
    draws: AtomicU64,
}

impl Rng {
    fn next_seed(&self) -> u64 {
        let n = self.draws.fetch_add(1, Ordering::Relaxed);
        // SplitMix64 finalizer: distinct, well-mixed keys for consecutive draws.
        let mut z = self
            .seed
            .wrapping_add(n.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn draw(
        &self,
        shape: &[usize],
        dist: Distribution,
        dtype: DType,
        chunks: Chunks,
    ) -> Result<Array> {
        let seed = self.next_seed();
        source(
            &self.ctx,
            SourceOp::Random { seed, dist },
            shape,
            dtype,
            chunks,
        )
    }

    /// Uniform floats on `[low, high)` (all `low` when `low == high`, as NumPy).
    ///
    /// # Errors
    /// A non-float dtype, `low > high`, a bound or a range `high - low` that is not finite in
    /// `dtype` (NumPy's "Range exceeds valid bounds"), or bad chunks.
    pub fn uniform(
        &self,
        shape: &[usize],
        low: f64,
        high: f64,
        dtype: DType,
        chunks: impl Into<Chunks>,
    ) -> Result<Array> {
        if !dtype.is_float() {
            return Err(Error::DTypeUnsupported {
                op: "uniform",
                dtype,
                device: None,
            });
        }
        finite_in("uniform", dtype, [("low", low), ("high", high)])?;
        // The range in the type the formula computes it in (f32 for f16, see the CPU source).
        let span_type = if dtype == DType::F64 {
            dtype
        } else {
            DType::F32
        };
        if low > high {
            return Err(Error::invalid(
                "uniform",
                format!("high - low < 0 (low {low}, high {high})"),
            ));
        }
        finite_in("uniform", span_type, [("high - low =", high - low)])?;
        self.draw(
            shape,
            Distribution::Uniform { low, high },
            dtype,
            chunks.into(),
        )
    }

    /// Normal floats with `mean` and standard deviation `std`.
    ///
    /// # Errors
    /// A non-float dtype, a `mean` or `std` that is not finite in `dtype`, a negative `std`, or
    /// bad chunks.
    pub fn normal(
        &self,
        shape: &[usize],
        mean: f64,
        std: f64,
        dtype: DType,
        chunks: impl Into<Chunks>,
    ) -> Result<Array> {
        if !dtype.is_float() {
            return Err(Error::DTypeUnsupported {
                op: "normal",
                dtype,
                device: None,
            });
        }
        finite_in("normal", dtype, [("mean", mean), ("std", std)])?;
        if std < 0.0 {
            return Err(Error::invalid("normal", format!("std {std} must be >= 0")));
        }
        self.draw(
            shape,
            Distribution::Normal { mean, std },
            dtype,
            chunks.into(),
        )
    }

    /// Integers uniform on `[low, high)`.
    ///
    /// # Errors
    /// A non-integer dtype, `low >= high`, a bound outside `dtype` (`low` below its minimum, or
    /// `high` above its maximum + 1: `high` is exclusive), or bad chunks.
    pub fn integers(
        &self,
        shape: &[usize],
        low: i64,
        high: i64,
        dtype: DType,
        chunks: impl Into<Chunks>,
    ) -> Result<Array> {
        if !dtype.is_integer() {
            return Err(Error::DTypeUnsupported {
                op: "integers",
                dtype,
                device: None,
            });
        }
        if low >= high {
            return Err(Error::invalid(
                "integers",
                format!("low {low} must be below high {high}"),
            ));
        }
        let (min, max) = integer_range(dtype);
        if i128::from(low) < min {
            return Err(Error::invalid(
                "integers",
                format!("low {low} is out of bounds for {dtype} (its minimum is {min})"),
            ));
        }
        if i128::from(high) > max + 1 {
            return Err(Error::invalid(
                "integers",
                format!(
                    "high {high} is out of bounds for {dtype} (at most {}: high is exclusive)",
                    max + 1
                ),
            ));
        }
        self.draw(
            shape,
            Distribution::Integers { low, high },
            dtype,
            chunks.into(),
        )
    }
}

/// `Ok` when every named value is finite once rounded to `dtype` (NumPy raises for infinite
/// bounds; a finite f64 beyond f32's range would draw infinities in f32).
fn finite_in<const N: usize>(
    op: &'static str,
    dtype: DType,
    values: [(&str, f64); N],
) -> Result<()> {
    for (name, v) in values {
        if !Scalar::F64(v).cast(dtype).to_f64().is_finite() {
            return Err(Error::invalid(
                op,
                format!("{name} {v:?} is not a finite {dtype} value"),
            ));
        }
    }
    Ok(())
}

/// The smallest and largest values of an integer dtype.
fn integer_range(dtype: DType) -> (i128, i128) {
    match dtype {
        DType::U8 => (0, u8::MAX.into()),
        DType::U32 => (0, u32::MAX.into()),
        DType::I32 => (i32::MIN.into(), i32::MAX.into()),
        // I64 (the callers have checked that `dtype` is an integer type).
        _ => (i64::MIN.into(), i64::MAX.into()),
    }
}
