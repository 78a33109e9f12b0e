//! The host-side layout of a partial reduction: which input element each (output element,
//! reduced element) pair reads, how many invocations share an output, and whether the
//! reduction runs in two passes.
//!
//! Axes of length 1 drop out and neighbouring axes that are both reduced or both kept merge
//! into groups when their strides chain for every input (and, for argmin/argmax, for the
//! global index multipliers), so the shader's index loops run over as few groups as the data
//! allows: usually one kept and one reduced group, whatever the axes were.

use crate::dispatch::Params;
use tilework_core::shape::c_strides;
use tilework_core::{Error, Result, Shape};

/// Invocations the first pass should have (about 2048 workgroups of 256: enough to fill a
/// large GPU); reductions with fewer outputs than that split into two passes.
const TARGET_INVOCATIONS: usize = 1 << 19;
/// Fewest elements per invocation worth a split of its own.
const MIN_PER_LANE: usize = 16;

/// NumPy broadcast strides (elements) of an input of `in_shape` read as `out_shape`.
pub(super) fn broadcast_strides(in_shape: &[usize], out_shape: &[usize]) -> Result<Vec<usize>> {
    let bad = || Error::ShapeMismatch {
        op: "reduce",
        lhs: Shape::from_slice(in_shape),
        rhs: Shape::from_slice(out_shape),
    };
    if in_shape.len() > out_shape.len() {
        return Err(bad());
    }
    let lead = out_shape.len() - in_shape.len();
    let mut strides = vec![0; out_shape.len()];
    for (a, (&n, s)) in in_shape.iter().zip(c_strides(in_shape)).enumerate() {
        if n == out_shape[lead + a] && n != 1 {
            strides[lead + a] = s;
        } else if n != 1 {
            return Err(bad());
        }
    }
    Ok(strides)
}

/// One run of merged axes: length, reduced or kept, and one stride per stride set.
#[derive(Clone, Debug, PartialEq)]
struct Group {
    len: usize,
    reduced: bool,
    strides: Vec<u64>,
}

/// Merges axes into groups (see the module docs). `sets[s][a]` is stride set `s` on axis `a`.
fn groups(shape: &[usize], reduced: &[bool], sets: &[Vec<u64>]) -> Vec<Group> {
    let mut out: Vec<Group> = Vec::new();
    for (a, &n) in shape.iter().enumerate() {
        if n == 1 {
            continue;
        }
        let strides: Vec<u64> = sets.iter().map(|s| s[a]).collect();
        if let Some(last) = out.last_mut() {
            let chains = last.reduced == reduced[a]
                && last
                    .strides
                    .iter()
                    .zip(&strides)
                    .all(|(&p, &s)| Some(p) == s.checked_mul(n as u64));
            if chains {
                last.len *= n;
                last.strides = strides;
                continue;
            }
        }
        out.push(Group {
            len: n,
            reduced: reduced[a],
            strides,
        });
    }
    out
}

/// Where argmin/argmax indices come from: the chunk's place in the whole input.
pub(super) struct Globals<'a> {
    pub(super) chunk_start: &'a [usize],
    pub(super) global_shape: &'a [usize],
}

/// The layout of one partial reduction.
#[derive(Debug)]
pub(super) struct Plan {
    /// Output elements.
    pub(super) n_out: usize,
    /// Elements reduced into each.
    pub(super) count: usize,
    /// Invocations per work item (a power of two dividing the workgroup).
    pub(super) lanes: u32,
    /// Work items per output element (2 or more: a second pass merges them).
    pub(super) splits: usize,
    /// The kernel's params (see `shaders/reduce.wgsl`).
    pub(super) params: Params,
}

/// Plans reducing `axes` of a chunk of `shape` whose producer reads `inputs` (shapes that
/// broadcast to `shape`). `max_items` bounds the work items of a two-pass reduction.
///
/// # Errors
/// `Device` for unsorted or out-of-range axes, a chunk outside `globals`, or index arithmetic
/// that overflows; `ShapeMismatch` for an input that does not broadcast.
pub(super) fn plan(
    shape: &[usize],
    axes: &[usize],
    inputs: &[&[usize]],
    globals: Option<Globals<'_>>,
    workgroup: u32,
    max_items: usize,
) -> Result<Plan> {
    let rank = shape.len();
    let sorted = axes.windows(2).all(|w| w[0] < w[1]);
    if !sorted || axes.last().is_some_and(|&a| a >= rank) {
        return Err(Error::Device(format!(
            "wgpu reduce: axes {axes:?} must be sorted, distinct and below rank {rank}"
        )));
    }
    let reduced: Vec<bool> = (0..rank).map(|a| axes.contains(&a)).collect();
    let mut sets: Vec<Vec<u64>> = inputs
        .iter()
        .map(|s| {
            Ok(broadcast_strides(s, shape)?
                .into_iter()
                .map(|v| v as u64)
                .collect())
        })
        .collect::<Result<_>>()?;
    let offset = match &globals {
        Some(g) => {
            let (muls, offset) = index_map(shape, &reduced, g)?;
            sets.push(muls);
            offset
        }
        None => 0,
    };
    let groups = groups(shape, &reduced, &sets);
    let product = |r: bool| -> usize {
        (0..rank)
            .filter(|&a| reduced[a] == r)
            .map(|a| shape[a])
            .product()
    };
    let (n_out, count) = (product(false), product(true));
    let max_lanes = 1u32 << workgroup.max(1).trailing_zeros();
    let inner_kept = groups.last().is_some_and(|g| !g.reduced);
    let lanes = if count <= 1 || (inner_kept && n_out >= 2 * workgroup as usize) {
        1
    } else {
        (count.div_ceil(4).next_power_of_two() as u64).min(u64::from(max_lanes)) as u32
    };
    let mut splits = 1;
    let invocations = n_out.saturating_mul(lanes as usize);
    if n_out > 0 && invocations < TARGET_INVOCATIONS {
        let by_size = count / (lanes as usize * MIN_PER_LANE);
        let by_room = max_items / n_out;
        splits = (TARGET_INVOCATIONS / invocations)
            .min(by_size)
            .min(by_room)
            .max(1);
    }
    let per = count.div_ceil(splits).max(1);
    splits = count.div_ceil(per).max(1);

    let n_inputs = inputs.len();
    let (kept, red): (Vec<&Group>, Vec<&Group>) = groups.iter().partition(|g| !g.reduced);
    let mut params = Params::new();
    params
        .len(n_out * splits, "reduce work items")?
        .u32(lanes)
        .len(splits, "reduce splits")?
        .len(per, "reduce split size")?
        .len(count, "reduced elements")?
        .len(kept.len(), "kept groups")?
        .len(red.len(), "reduced groups")?
        .u64(offset);
    for g in kept {
        params.len(g.len, "axis length")?;
        for &s in &g.strides[..n_inputs] {
            params.len(s as usize, "input stride")?;
        }
    }
    for g in red {
        params.len(g.len, "axis length")?;
        for &s in &g.strides[..n_inputs] {
            params.len(s as usize, "input stride")?;
        }
        params.u64(g.strides.get(n_inputs).copied().unwrap_or(0));
    }
    Ok(Plan {
        n_out,
        count,
        lanes,
        splits,
        params,
    })
}

/// Per-axis multipliers of the flat index over the reduced axes of the global shape, and the
/// chunk's offset in it (what the CPU's `IndexMap` computes).
fn index_map(shape: &[usize], reduced: &[bool], g: &Globals<'_>) -> Result<(Vec<u64>, u64)> {
    let rank = shape.len();
    let fits = g.chunk_start.len() == rank
        && g.global_shape.len() == rank
        && (0..rank).all(|a| {
            g.chunk_start[a]
                .checked_add(shape[a])
                .is_some_and(|e| e <= g.global_shape[a])
        });
    if !fits {
        return Err(Error::Device(format!(
            "wgpu reduce: chunk {shape:?} at {:?} does not fit global shape {:?}",
            g.chunk_start, g.global_shape
        )));
    }
    let overflow = || Error::Device("wgpu reduce: global index overflows 64 bits".into());
    let mut muls = vec![0u64; rank];
    let mut acc = 1u64;
    for a in (0..rank).rev().filter(|&a| reduced[a]) {
        muls[a] = acc;
        acc = acc
            .checked_mul(g.global_shape[a] as u64)
            .ok_or_else(overflow)?;
    }
    let mut offset = 0u64;
    for (&start, &mul) in g.chunk_start.iter().zip(&muls) {
        offset = (start as u64)
            .checked_mul(mul)
            .and_then(|v| v.checked_add(offset))
            .ok_or_else(overflow)?;
    }
    Ok((muls, offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reduced_and_kept_runs_merge_when_strides_chain() {
        // (2, 3, 4) reducing axes 1 and 2 of a dense input: one kept and one reduced group.
        let s = vec![12u64, 4, 1];
        let g = groups(&[2, 3, 4], &[false, true, true], &[s]);
        assert_eq!(g.len(), 2);
        assert_eq!((g[1].len, g[1].reduced, g[1].strides[0]), (12, true, 1));
        // Axes 0 and 2: three groups, the middle one kept.
        let g = groups(&[2, 3, 4], &[true, false, true], &[vec![12, 4, 1]]);
        assert_eq!(g.iter().map(|g| g.len).collect::<Vec<_>>(), vec![2, 3, 4]);
        // A broadcast input breaks the chain between its axes.
        let g = groups(&[2, 3], &[true, true], &[vec![3, 1], vec![0, 1]]);
        assert_eq!(g.len(), 2);
        // Length-1 axes vanish.
        assert!(groups(&[1, 1], &[true, false], &[vec![1, 1]]).is_empty());
    }

    #[test]
    fn index_multipliers_follow_the_global_reduced_axes() {
        // Chunk (2, 3, 4) at (4, 0, 8) of (10, 3, 16), reducing axes 0 and 2.
        let g = Globals {
            chunk_start: &[4, 0, 8],
            global_shape: &[10, 3, 16],
        };
        let (muls, offset) = index_map(&[2, 3, 4], &[true, false, true], &g).unwrap();
        assert_eq!(muls, vec![16, 0, 1]);
        assert_eq!(offset, 4 * 16 + 8);
        let bad = Globals {
            chunk_start: &[9, 0, 0],
            global_shape: &[10, 3, 16],
        };
        assert!(index_map(&[2, 3, 4], &[true, false, true], &bad).is_err());
    }

    #[test]
    fn large_reductions_split_and_small_ones_do_not() {
        let n = (1usize << 24) + 5;
        let p = plan(&[n], &[0], &[&[n]], None, 256, 1 << 20).unwrap();
        assert_eq!((p.n_out, p.lanes), (1, 256));
        assert!(p.splits > 1 && p.splits <= TARGET_INVOCATIONS / 256);
        let p = plan(&[3, 5], &[1], &[&[3, 5]], None, 256, 1 << 20).unwrap();
        assert_eq!((p.lanes, p.splits), (2, 1));
        // Many outputs over a kept inner axis: one invocation per output.
        let p = plan(&[7, 4096], &[0], &[&[4096]], None, 256, 1 << 20).unwrap();
        assert_eq!((p.lanes, p.splits, p.count), (1, 1, 7));
        // ... split when the kept outputs are too few to fill the device.
        let p = plan(&[33, 700], &[0], &[&[33, 700]], None, 256, 1 << 20).unwrap();
        assert_eq!((p.lanes, p.splits), (1, 2));
        let p = plan(&[9000, 2], &[0], &[&[9000, 2]], None, 256, 1 << 20).unwrap();
        assert_eq!((p.lanes, p.splits), (256, 2));
        // No room for scratch states: one pass.
        let p = plan(&[1 << 20], &[0], &[&[1 << 20]], None, 256, 1).unwrap();
        assert_eq!(p.splits, 1);
        assert!(plan(&[3, 5], &[1, 0], &[&[3, 5]], None, 256, 1).is_err());
        assert!(plan(&[3, 5], &[2], &[&[3, 5]], None, 256, 1).is_err());
        assert!(plan(&[3, 5], &[1], &[&[4]], None, 256, 1).is_err());
    }
}
