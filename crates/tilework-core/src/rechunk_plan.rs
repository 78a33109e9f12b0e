//! Multi-stage rechunk planning: when one step from the source chunks to the target chunks would
//! make a task hold more than the budget allows (turning row chunks into column chunks makes every
//! output chunk read the whole array), the rechunk goes through intermediate chunk shapes chosen
//! so that every step's largest task fits, as the rechunker algorithm of Pangeo does.
//!
//! Intermediate shapes interpolate geometrically between the source and target chunk shapes, per
//! axis: with `k` steps, step `j` uses `source^(1 - j/k) * target^(j/k)`. Each step then reads only
//! a bounded number of chunks of the one before. When that is not enough (chunks misaligned in
//! many dimensions), the intermediate shapes shrink by powers of two. The fewest steps win, then
//! the largest intermediate chunks (fewest tasks).

use crate::chunks::{ChunkGrid, MAX_CHUNKS};

/// The most steps a rechunk is split into; each step costs a full pass over the data.
pub const MAX_RECHUNK_STEPS: usize = 6;

/// Bytes the largest task of a one-step rechunk from `from` to `to` holds: the input chunks it
/// reads and the chunk it writes, for elements of `itemsize` bytes (saturating at `u64::MAX`).
///
/// Grids of different rank or shape give `u64::MAX` (no rechunk between them exists).
pub fn rechunk_task_bytes(from: &ChunkGrid, to: &ChunkGrid, itemsize: usize) -> u64 {
    if from.shape() != to.shape() {
        return u64::MAX;
    }
    let (mut read, mut written) = (1u128, 1u128);
    for axis in 0..from.ndim() {
        let (Ok(src), Ok(dst)) = (from.bounds(axis), to.bounds(axis)) else {
            return u64::MAX;
        };
        read *= widest_read(src, dst) as u128;
        written *= dst.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0) as u128;
    }
    let bytes = (read + written).saturating_mul(itemsize as u128);
    u64::try_from(bytes).unwrap_or(u64::MAX)
}

/// Along one axis, the widest span of source chunks that one target chunk touches.
fn widest_read(src: &[usize], dst: &[usize]) -> usize {
    let mut widest = 0;
    let mut first = 0; // first source chunk that can meet the current target chunk
    for w in dst.windows(2) {
        let (lo, hi) = (w[0], w[1]);
        if hi == lo {
            continue;
        }
        while src[first + 1] <= lo {
            first += 1;
        }
        let mut last = first;
        while src[last + 1] < hi {
            last += 1;
        }
        widest = widest.max(src[last + 1] - src[first]);
    }
    widest
}

/// The intermediate grids of a rechunk from `from` to `to` whose every step's largest task holds
/// at most `limit` bytes (see [`rechunk_task_bytes`]): empty when one step fits, `None` when no
/// plan of at most [`MAX_RECHUNK_STEPS`] steps does.
pub fn rechunk_stages(
    from: &ChunkGrid,
    to: &ChunkGrid,
    itemsize: usize,
    limit: u64,
) -> Option<Vec<ChunkGrid>> {
    if rechunk_task_bytes(from, to, itemsize) <= limit {
        return Some(Vec::new());
    }
    let shape = from.shape();
    let widest = |grid: &ChunkGrid| -> Vec<f64> {
        grid.sizes()
            .iter()
            .map(|s| s.iter().copied().max().unwrap_or(1).max(1) as f64)
            .collect()
    };
    let (source, target) = (widest(from), widest(to));
    // Shrinking past the point where every intermediate chunk is one element changes nothing.
    let largest = source.iter().chain(&target).fold(1.0f64, |m, &c| m.max(c));
    for steps in 2..=MAX_RECHUNK_STEPS {
        let mut shrink = 1.0;
        while shrink <= 2.0 * largest {
            if let Some(stages) = interpolated(shape, &source, &target, steps, shrink) {
                let mut chain = Vec::with_capacity(stages.len() + 2);
                chain.push(from);
                chain.extend(stages.iter());
                chain.push(to);
                let fits = chain
                    .windows(2)
                    .all(|w| rechunk_task_bytes(w[0], w[1], itemsize) <= limit);
                if fits {
                    return Some(stages);
                }
            }
            shrink *= 2.0;
        }
    }
    None
}

/// The `steps - 1` grids between chunk shapes `source` and `target`, each divided by `shrink`;
/// `None` when one of them would have more than [`MAX_CHUNKS`] chunks.
fn interpolated(
    shape: &[usize],
    source: &[f64],
    target: &[f64],
    steps: usize,
    shrink: f64,
) -> Option<Vec<ChunkGrid>> {
    let mut stages: Vec<ChunkGrid> = Vec::with_capacity(steps - 1);
    for j in 1..steps {
        let t = j as f64 / steps as f64;
        let chunk: Vec<usize> = source
            .iter()
            .zip(target)
            .zip(shape)
            .map(|((&s, &d), &n)| {
                let c = (s.ln() * (1.0 - t) + d.ln() * t).exp() / shrink;
                (c.round() as usize).clamp(1, n.max(1))
            })
            .collect();
        let count = chunk.iter().zip(shape).try_fold(1usize, |acc, (&c, &n)| {
            acc.checked_mul(n.div_ceil(c).max(1))
        })?;
        if count > MAX_CHUNKS {
            return None;
        }
        let grid = ChunkGrid::regular(shape, &chunk).ok()?;
        // Two equal neighbours are one step, counted by a smaller `steps` already.
        if stages.last() != Some(&grid) {
            stages.push(grid);
        }
    }
    Some(stages)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(shape: &[usize], chunk: &[usize]) -> ChunkGrid {
        ChunkGrid::regular(shape, chunk).expect("grid")
    }

    #[test]
    fn task_bytes_count_the_chunks_read_and_the_chunk_written() {
        let rows = grid(&[1024, 1024], &[1, 1024]);
        let columns = grid(&[1024, 1024], &[1024, 1]);
        // A column reads every row: the whole array, plus the column itself.
        assert_eq!(
            rechunk_task_bytes(&rows, &columns, 8),
            (1024 * 1024 + 1024) * 8
        );
        // Misaligned chunks of 3 read by chunks of 4 touch two chunks (6 elements) per axis.
        let threes = grid(&[12], &[3]);
        let fours = grid(&[12], &[4]);
        assert_eq!(rechunk_task_bytes(&threes, &fours, 1), 6 + 4);
        assert_eq!(rechunk_task_bytes(&threes, &grid(&[13], &[4]), 1), u64::MAX);
    }

    #[test]
    fn a_transpose_of_chunking_goes_through_squares() {
        let rows = grid(&[1024, 1024], &[1, 1024]);
        let columns = grid(&[1024, 1024], &[1024, 1]);
        let limit = 300 << 10;
        let stages = rechunk_stages(&rows, &columns, 8, limit).expect("a plan");
        assert!(!stages.is_empty());
        let mut chain = vec![&rows];
        chain.extend(stages.iter());
        chain.push(&columns);
        for w in chain.windows(2) {
            assert!(rechunk_task_bytes(w[0], w[1], 8) <= limit);
        }
    }

    #[test]
    fn one_step_that_fits_needs_no_stages_and_an_impossible_limit_none() {
        let a = grid(&[100, 100], &[10, 100]);
        let b = grid(&[100, 100], &[100, 10]);
        assert_eq!(rechunk_stages(&a, &b, 4, u64::MAX), Some(Vec::new()));
        // Not even one source chunk fits.
        assert_eq!(rechunk_stages(&a, &b, 4, 100), None);
    }
}
