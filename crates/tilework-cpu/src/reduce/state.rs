//! Partial reduction states as buffers (see the component list on `tilework_core::Kernel`), and
//! the `Combine` and `Finalize` stages that work on them.

use super::folds::{
    AnyAll, Arg, ArgSlot, Extreme, Fold, Moments, MomentsFold, ProdF, ProdI, SumF, SumI,
};
use crate::num::{Elem, cast_host, slice_of, standard, to_host, unsupported};
use tilework_core::shape::numel;
use tilework_core::{DType, Error, HostArray, ReduceOp, Result, with_dtype};

/// A slot type that is stored as one buffer per component.
pub(crate) trait State: Copy + Send + Sync + Sized {
    /// The slots as buffers of `shape`.
    fn encode(slots: &[Self], shape: &[usize]) -> Result<Vec<HostArray>>;
    /// Slots from buffers (`COMPONENTS` of them, of one shape).
    fn decode(bufs: &[&HostArray]) -> Result<Vec<Self>>;
}

fn component<T: Elem>(bufs: &[&HostArray], i: usize) -> Result<Vec<T>> {
    let b = bufs
        .get(i)
        .ok_or_else(|| Error::Device(format!("reduce: state component {i} missing")))?;
    Ok(slice_of::<T>(&standard(b))?.to_vec())
}

impl<T: Elem> State for T {
    fn encode(slots: &[Self], shape: &[usize]) -> Result<Vec<HostArray>> {
        Ok(vec![to_host(slots.to_vec(), shape)?])
    }
    fn decode(bufs: &[&HostArray]) -> Result<Vec<Self>> {
        component(bufs, 0)
    }
}

impl State for Moments {
    fn encode(slots: &[Self], shape: &[usize]) -> Result<Vec<HostArray>> {
        let field = |f: fn(&Moments) -> f64| to_host(slots.iter().map(f).collect(), shape);
        Ok(vec![field(|m| m.n)?, field(|m| m.mean)?, field(|m| m.m2)?])
    }
    fn decode(bufs: &[&HostArray]) -> Result<Vec<Self>> {
        let (n, mean, m2) = (
            component::<f64>(bufs, 0)?,
            component::<f64>(bufs, 1)?,
            component::<f64>(bufs, 2)?,
        );
        if n.len() != mean.len() || n.len() != m2.len() {
            return Err(Error::Device(
                "reduce: moment components differ in size".into(),
            ));
        }
        Ok((0..n.len())
            .map(|i| Moments {
                n: n[i],
                mean: mean[i],
                m2: m2[i],
            })
            .collect())
    }
}

impl<T: Elem> State for ArgSlot<T> {
    fn encode(slots: &[Self], shape: &[usize]) -> Result<Vec<HostArray>> {
        Ok(vec![
            to_host(slots.iter().map(|s| s.value).collect(), shape)?,
            to_host(slots.iter().map(|s| s.index).collect(), shape)?,
        ])
    }
    fn decode(bufs: &[&HostArray]) -> Result<Vec<Self>> {
        let (value, index) = (component::<T>(bufs, 0)?, component::<i64>(bufs, 1)?);
        if value.len() != index.len() {
            return Err(Error::Device(
                "reduce: arg components differ in size".into(),
            ));
        }
        Ok(value
            .into_iter()
            .zip(index)
            .map(|(value, index)| ArgSlot { value, index })
            .collect())
    }
}

/// Buffers per state of `op`.
pub(crate) fn components(op: ReduceOp) -> usize {
    match op {
        ReduceOp::Mean | ReduceOp::Var { .. } | ReduceOp::Std { .. } => 3,
        ReduceOp::ArgMin | ReduceOp::ArgMax => 2,
        _ => 1,
    }
}

/// Merges states in order with `fold`.
fn merge_states<T, F>(fold: &F, states: &[&[&HostArray]]) -> Result<Vec<HostArray>>
where
    F: Fold<T>,
    F::Slot: State,
{
    let shape = states[0][0].shape();
    let mut acc = F::Slot::decode(states[0])?;
    for state in &states[1..] {
        if state.iter().any(|b| b.shape() != shape) {
            return Err(Error::Device(format!(
                "reduce combine: states of shapes {:?} and {:?}",
                shape.as_slice(),
                state[0].shape().as_slice()
            )));
        }
        for (a, b) in acc.iter_mut().zip(F::Slot::decode(state)?) {
            *a = fold.merge(*a, b);
        }
    }
    F::Slot::encode(&acc, &shape)
}

/// `Combine`: merges `k` states (`k * components` buffers) in input order.
pub(crate) fn combine(op: ReduceOp, inputs: &[&HostArray]) -> Result<Vec<HostArray>> {
    let c = components(op);
    if inputs.is_empty() || !inputs.len().is_multiple_of(c) {
        return Err(Error::Device(format!(
            "reduce combine: {} buffers is not a whole number of {c}-component states",
            inputs.len()
        )));
    }
    let states: Vec<&[&HostArray]> = inputs.chunks_exact(c).collect();
    let dtype = inputs[0].dtype();
    let wrong = || unsupported(op.name(), dtype);
    match op {
        ReduceOp::Sum => match dtype {
            DType::F64 => merge_states::<f64, _>(&SumF, &states),
            DType::I64 => merge_states::<i64, _>(&SumI, &states),
            _ => Err(wrong()),
        },
        ReduceOp::Prod => match dtype {
            DType::F64 => merge_states::<f64, _>(&ProdF, &states),
            DType::I64 => merge_states::<i64, _>(&ProdI, &states),
            _ => Err(wrong()),
        },
        ReduceOp::Min => with_dtype!(dtype, T => merge_states::<T, _>(&Extreme::<false>, &states)),
        ReduceOp::Max => with_dtype!(dtype, T => merge_states::<T, _>(&Extreme::<true>, &states)),
        ReduceOp::Any => merge_states::<bool, _>(&AnyAll::<false>, &states),
        ReduceOp::All => merge_states::<bool, _>(&AnyAll::<true>, &states),
        ReduceOp::Mean | ReduceOp::Var { .. } | ReduceOp::Std { .. } => {
            merge_states::<f64, _>(&MomentsFold { m2: true }, &states)
        }
        ReduceOp::ArgMin => with_dtype!(dtype, T => merge_states::<T, _>(&Arg::<false>, &states)),
        ReduceOp::ArgMax => with_dtype!(dtype, T => merge_states::<T, _>(&Arg::<true>, &states)),
    }
}

/// `Finalize`: one state to the result of `out_dtype` and `out_shape`.
pub(crate) fn finalize(
    op: ReduceOp,
    inputs: &[&HostArray],
    out_dtype: DType,
    out_shape: &[usize],
) -> Result<HostArray> {
    let c = components(op);
    if inputs.len() != c || inputs.iter().any(|b| b.len() != numel(out_shape)) {
        return Err(Error::Device(format!(
            "reduce finalize: {} buffers of {:?} for a {c}-component state of {out_shape:?}",
            inputs.len(),
            inputs.iter().map(|b| b.len()).collect::<Vec<_>>()
        )));
    }
    let values = match op {
        ReduceOp::Mean | ReduceOp::Var { .. } | ReduceOp::Std { .. } => {
            let stats = Moments::decode(inputs)?;
            to_host(
                stats
                    .iter()
                    .map(|m| moment_value(op, m))
                    .collect::<Vec<f64>>(),
                out_shape,
            )?
        }
        ReduceOp::ArgMin | ReduceOp::ArgMax => inputs[1].reshaped(out_shape)?,
        _ => inputs[0].reshaped(out_shape)?,
    };
    cast_host(&values, out_dtype)
}

/// Mean, variance or standard deviation from the moments, as NumPy: the mean of no elements is
/// NaN, and the variance divides by `max(n - ddof, 0)`, so `ddof >= n` gives inf for spread
/// data and NaN (0/0) for constant or no data.
fn moment_value(op: ReduceOp, m: &Moments) -> f64 {
    let var = |ddof: u32| m.m2 / (m.n - f64::from(ddof)).max(0.0);
    match op {
        ReduceOp::Var { ddof } => var(ddof),
        ReduceOp::Std { ddof } => var(ddof).sqrt(),
        _ if m.n > 0.0 => m.mean,
        _ => f64::NAN,
    }
}
