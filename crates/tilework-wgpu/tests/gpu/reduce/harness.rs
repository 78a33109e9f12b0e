//! Shared plumbing of the reduce and scan tests: kernels, state specs, per-component
//! comparisons and the run-on-both-backends check.

use crate::common::*;
use tilework_core::kernel::reduce_state_specs;
use tilework_core::{
    Backend, BinaryOp, Buffer, BufferSpec, DType, Element, Error, Expr, ExprNode, HostArray,
    Kernel, ReduceOp, ReduceStage, Shape, UnaryOp,
};
use tilework_cpu::CpuBackend;
use tilework_wgpu::WgpuBackend;

pub(crate) const OPS: [ReduceOp; 11] = [
    ReduceOp::Sum,
    ReduceOp::Prod,
    ReduceOp::Min,
    ReduceOp::Max,
    ReduceOp::Mean,
    ReduceOp::Var { ddof: 0 },
    ReduceOp::Std { ddof: 1 },
    ReduceOp::ArgMin,
    ReduceOp::ArgMax,
    ReduceOp::Any,
    ReduceOp::All,
];

pub(crate) fn partial_kernel(
    op: ReduceOp,
    axes: &[usize],
    expr: Option<Expr>,
    shape: &[usize],
) -> Kernel {
    located(op, axes, expr, shape, &vec![0; shape.len()], shape)
}

pub(crate) fn located(
    op: ReduceOp,
    axes: &[usize],
    expr: Option<Expr>,
    shape: &[usize],
    start: &[usize],
    global: &[usize],
) -> Kernel {
    Kernel::Reduce {
        op,
        axes: axes.to_vec(),
        stage: ReduceStage::Partial {
            expr,
            chunk_shape: Shape::from_slice(shape),
            chunk_start: Shape::from_slice(start),
            global_shape: Shape::from_slice(global),
        },
    }
}

pub(crate) fn keep(shape: &[usize], axes: &[usize]) -> Vec<usize> {
    let mut k = shape.to_vec();
    for &a in axes {
        k[a] = 1;
    }
    k
}

pub(crate) fn states(op: ReduceOp, dtype: DType, shape: &[usize]) -> Vec<BufferSpec> {
    reduce_state_specs(op, dtype, shape)
}

/// How one component is compared.
#[derive(Clone, Debug)]
pub(crate) enum Cmp {
    /// Bits (any NaN matches any NaN).
    Exact,
    /// Values (+0 equals -0).
    Value,
    /// `|gpu - cpu| <= rtol * scale[i]`, non-finite values equal.
    Scaled(f64, Vec<f64>),
    /// `|gpu - cpu| <= rtol * |cpu|`.
    Rel(f64),
    /// Not part of the contract.
    Skip,
}

pub(crate) fn f64s(h: &HostArray) -> Vec<f64> {
    tilework_core::with_host_array!(h, a, _T => a.iter().map(|v| v.into_scalar().to_f64()).collect())
}

pub(crate) fn compare(g: &HostArray, c: &HostArray, cmp: &Cmp, what: &str) {
    let scale = match cmp {
        Cmp::Skip => return,
        Cmp::Exact => {
            assert_close(g, c, Tol::Exact, what);
            return;
        }
        Cmp::Value => None,
        Cmp::Scaled(rtol, s) => Some((*rtol, Some(s))),
        Cmp::Rel(rtol) => Some((*rtol, None)),
    };
    assert_eq!((g.dtype(), g.shape()), (c.dtype(), c.shape()), "{what}");
    let (gv, cv) = (f64s(g), f64s(c));
    for (i, (&x, &y)) in gv.iter().zip(&cv).enumerate() {
        let ok = match scale {
            _ if x.is_nan() || y.is_nan() => x.is_nan() && y.is_nan(),
            None => x == y,
            _ if !x.is_finite() || !y.is_finite() => x == y,
            Some((rtol, Some(s))) => (x - y).abs() <= rtol * s[i],
            Some((rtol, None)) => (x - y).abs() <= rtol * y.abs(),
        };
        assert!(ok, "{what}[{i}]: gpu {x:e}, cpu {y:e} ({cmp:?})");
    }
}

/// What one GPU launch did.
#[derive(Debug, PartialEq)]
pub(crate) enum Outcome {
    Ran,
    /// `DTypeUnsupported`, allowed where a buffer's dtype is one the device lacks.
    Declined,
    /// The CPU rejects it too, and the GPU with an error of the same kind (or declined).
    BothReject,
}

fn lacks(gpu: &WgpuBackend, dtypes: impl IntoIterator<Item = DType>) -> bool {
    dtypes.into_iter().any(|d| !gpu.caps().dtypes.contains(&d))
}

/// Runs `kernel` on both backends and compares output `j` with `cmps[j]`.
pub(crate) fn check(
    gpu: &WgpuBackend,
    kernel: &Kernel,
    inputs: &[HostArray],
    outputs: &[BufferSpec],
    cmps: &[Cmp],
    what: &str,
) -> Outcome {
    // Uploaded inputs of a declined launch would stay allocated (run_both returns early).
    let dtypes = inputs.iter().map(HostArray::dtype);
    let preupload = !lacks(gpu, dtypes.chain(outputs.iter().map(|s| s.dtype)));
    match run_both(gpu, kernel, inputs, outputs, preupload) {
        Ok((g, c)) => {
            assert_eq!(
                (g.len(), c.len(), cmps.len()),
                (c.len(), outputs.len(), outputs.len())
            );
            for (j, cmp) in cmps.iter().enumerate() {
                compare(&g[j], &c[j], cmp, &format!("{what} #{j}"));
            }
            Outcome::Ran
        }
        Err(Error::DTypeUnsupported { .. }) => {
            let dtypes = inputs.iter().map(HostArray::dtype);
            let cpu_rejects = cpu_run(kernel, inputs, outputs).is_err();
            assert!(
                cpu_rejects || lacks(gpu, dtypes.chain(outputs.iter().map(|s| s.dtype))),
                "{what}: declined on {}",
                gpu.adapter()
            );
            if cpu_rejects {
                Outcome::BothReject
            } else {
                Outcome::Declined
            }
        }
        Err(e) => {
            // run_both runs the CPU first: the error is the CPU's, or the GPU's after the CPU ran.
            let cpu = cpu_run(kernel, inputs, outputs);
            let Err(ce) = cpu else {
                panic!("{what}: gpu failed: {e}")
            };
            let host: Vec<Buffer> = inputs.iter().cloned().map(Buffer::Host).collect();
            let refs: Vec<&Buffer> = host.iter().collect();
            let ge = gpu.launch(kernel, &refs, outputs).expect_err(what);
            assert!(
                std::mem::discriminant(&ge) == std::mem::discriminant(&ce)
                    || matches!(ge, Error::DTypeUnsupported { .. }),
                "{what}: cpu {ce}, gpu {ge}"
            );
            Outcome::BothReject
        }
    }
}

pub(crate) fn cpu_run(
    kernel: &Kernel,
    inputs: &[HostArray],
    outputs: &[BufferSpec],
) -> tilework_core::Result<Vec<HostArray>> {
    let cpu = CpuBackend::new();
    let host: Vec<Buffer> = inputs.iter().cloned().map(Buffer::Host).collect();
    let refs: Vec<&Buffer> = host.iter().collect();
    let out = cpu.launch(kernel, &refs, outputs)?;
    out.iter().map(|b| cpu.download(b)).collect()
}

/// Per-output CPU sums of `f(value)` in f64, where `value` is `expr` (or input 0): the scale of
/// float tolerances. `square` picks `x * x`, otherwise `|x|`.
pub(crate) fn scale(
    expr: Option<&Expr>,
    inputs: &[HostArray],
    shape: &[usize],
    axes: &[usize],
    square: bool,
) -> Vec<f64> {
    let mut e = match expr {
        Some(e) => e.clone(),
        None => Expr::input(0, inputs[0].dtype(), 1),
    };
    let root = e.nodes().len() - 1;
    let v = if e.dtype() == DType::F64 {
        root
    } else {
        e.push(ExprNode::Cast(root), DType::F64)
    };
    if square {
        e.push(ExprNode::Binary(BinaryOp::Mul, v, v), DType::F64);
    } else {
        e.push(ExprNode::Unary(UnaryOp::Abs, v), DType::F64);
    }
    let k = partial_kernel(ReduceOp::Sum, axes, Some(e), shape);
    let out = states(ReduceOp::Sum, DType::F64, &keep(shape, axes));
    let s = cpu_run(&k, inputs, &out).expect("scale");
    f64s(&s[0])
}

/// How each state component of `op` is compared, for values of `dtype`.
pub(crate) fn state_cmps(
    op: ReduceOp,
    dtype: DType,
    expr: Option<&Expr>,
    inputs: &[HostArray],
    (shape, axes): (&[usize], &[usize]),
) -> Vec<Cmp> {
    let float = dtype.is_float();
    let count: usize = axes.iter().map(|&a| shape[a]).product();
    match op {
        ReduceOp::Sum if float => vec![Cmp::Scaled(1e-12, scale(expr, inputs, shape, axes, false))],
        ReduceOp::Prod if float => vec![Cmp::Rel(1e-11)],
        ReduceOp::Min | ReduceOp::Max => vec![Cmp::Value],
        ReduceOp::Mean | ReduceOp::Var { .. } | ReduceOp::Std { .. } => {
            let n = count.max(1) as f64;
            let abs = scale(expr, inputs, shape, axes, false);
            let mean: Vec<f64> = abs.iter().map(|s| s / n).collect();
            let m2 = if matches!(op, ReduceOp::Mean) {
                Cmp::Skip
            } else {
                Cmp::Scaled(1e-11, scale(expr, inputs, shape, axes, true))
            };
            vec![Cmp::Exact, Cmp::Scaled(1e-12, mean), m2]
        }
        ReduceOp::ArgMin | ReduceOp::ArgMax => vec![Cmp::Exact, Cmp::Exact],
        _ => vec![Cmp::Exact],
    }
}

/// Input domain for `op` on `dtype`.
pub(crate) fn domain(op: ReduceOp, dtype: DType) -> Domain {
    match (op, dtype.is_float()) {
        (ReduceOp::Prod, true) => Domain::Range(0.6, 1.6),
        (ReduceOp::Prod, false) => Domain::WithSpecials(-4.0, 5.0),
        (ReduceOp::Mean | ReduceOp::Var { .. } | ReduceOp::Std { .. }, true) => {
            Domain::Range(-100.0, 300.0)
        }
        // Small ranges make ties common for the arg reductions.
        (ReduceOp::ArgMin | ReduceOp::ArgMax, _) => Domain::WithSpecials(-4.0, 4.0),
        (_, true) => Domain::WithSpecials(-1000.0, 1000.0),
        (_, false) => Domain::WithSpecials(-50.0, 300.0),
    }
}

/// `x` with about one element in 50 set to NaN.
pub(crate) fn with_nan(x: HostArray, rng: &mut Rng) -> HostArray {
    let v: Vec<f64> = f64s(&x)
        .into_iter()
        .map(|v| {
            if rng.next().is_multiple_of(50) {
                f64::NAN
            } else {
                v
            }
        })
        .collect();
    let shape = x.shape();
    let y = HostArray::from_vec(v, &shape).expect("sizes match");
    cpu_cast(&y, x.dtype())
}

pub(crate) fn cpu_cast(x: &HostArray, dtype: DType) -> HostArray {
    let mut e = Expr::builder(1);
    let i = e.push(ExprNode::Input(0), x.dtype());
    e.push(ExprNode::Cast(i), dtype);
    let k = Kernel::Elementwise { expr: e };
    let out = [spec(dtype, &x.shape())];
    cpu_run(&k, std::slice::from_ref(x), &out)
        .expect("cast")
        .remove(0)
}
