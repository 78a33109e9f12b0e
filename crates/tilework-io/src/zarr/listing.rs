//! Which chunks of a Zarr array are stored, found from one listing of the store.
//!
//! Everything here costs time in proportion to the keys present (plus the missing chunks asked
//! for), never to the size of the chunk grid: a grid of 2^40 chunks of which ten were written is
//! listed as fast as an array of ten chunks.

use super::destination::array_prefix;
use crate::io_error;
use std::collections::HashSet;
use tilework_core::Result;
use zarrs::array::Array;
use zarrs::storage::ReadableListableStorageTraits;

/// The grid indices of the chunks that have a stored value, from one listing of the array's
/// prefix. Keys that are not chunk keys of this array (metadata, temporaries, stray files) are
/// ignored: an index counts only when the array's own key encoding gives back the same key.
pub(crate) fn stored_chunks(
    array: &Array<dyn ReadableListableStorageTraits>,
    location: &str,
) -> Result<HashSet<Vec<u64>>> {
    let prefix = array_prefix(array.path().as_str(), location)?;
    let keys = array
        .storage()
        .list_prefix(&prefix)
        .map_err(|err| io_error(location, format!("cannot list chunks: {err}")))?;
    let grid = array.chunk_grid_shape();
    let mut stored = HashSet::new();
    for key in keys {
        let Some(rest) = key.as_str().strip_prefix(prefix.as_str()) else {
            continue;
        };
        if let Some(index) = parse_chunk_index(rest, grid)
            && array.chunk_key(&index) == key
        {
            stored.insert(index);
        }
    }
    Ok(stored)
}

/// Reads a chunk index out of a key relative to the array (`c/1/2`, `c.1.2`, `1.2`, `1/2`, or
/// `c` / `0` for a 0-d array). A candidate only: the caller confirms it against the encoding.
fn parse_chunk_index(relative_key: &str, grid: &[u64]) -> Option<Vec<u64>> {
    let digits = relative_key
        .strip_prefix("c/")
        .or_else(|| relative_key.strip_prefix("c."))
        .unwrap_or(relative_key);
    if grid.is_empty() {
        return Some(Vec::new());
    }
    let index: Vec<u64> = digits
        .split(['/', '.'])
        .map(|part| part.parse::<u64>().ok())
        .collect::<Option<_>>()?;
    let fits = index.len() == grid.len() && index.iter().zip(grid).all(|(i, n)| i < n);
    fits.then_some(index)
}

/// The number of chunks in `grid`, saturating at `u128::MAX` (a grid that large is refused long
/// before; saturating keeps this total).
pub(crate) fn grid_chunk_count(grid: &[u64]) -> u128 {
    grid.iter()
        .try_fold(1u128, |count, &len| count.checked_mul(u128::from(len)))
        .unwrap_or(u128::MAX)
}

/// The first `limit` grid indices (C order) not in `stored`. Walks the grid only until `limit`
/// missing chunks are found, so it visits at most `stored.len() + limit` indices.
pub(crate) fn first_missing(
    grid: &[u64],
    stored: &HashSet<Vec<u64>>,
    limit: usize,
) -> Vec<Vec<u64>> {
    let mut missing = Vec::new();
    if limit == 0 || grid.contains(&0) {
        return missing;
    }
    let mut index = vec![0u64; grid.len()];
    loop {
        if !stored.contains(&index) {
            missing.push(index.clone());
            if missing.len() == limit {
                return missing;
            }
        }
        // Advance like an odometer, last axis fastest (C order).
        let mut axis = grid.len();
        loop {
            if axis == 0 {
                return missing;
            }
            axis -= 1;
            index[axis] += 1;
            if index[axis] < grid[axis] {
                break;
            }
            index[axis] = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_walk_stops_after_the_missing_chunks_asked_for() {
        let grid = [1u64 << 30, 1 << 30];
        let stored: HashSet<Vec<u64>> = (0..5).map(|j| vec![0, j]).collect();
        let missing = first_missing(&grid, &stored, 3);
        assert_eq!(missing, vec![vec![0, 5], vec![0, 6], vec![0, 7]]);
        assert_eq!(grid_chunk_count(&grid), 1u128 << 60);
    }

    #[test]
    fn a_full_grid_and_a_0d_grid_have_nothing_missing() {
        let stored: HashSet<Vec<u64>> = (0..2)
            .flat_map(|i| (0..3).map(move |j| vec![i, j]))
            .collect();
        assert!(first_missing(&[2, 3], &stored, usize::MAX).is_empty());
        let zero_d: HashSet<Vec<u64>> = [Vec::new()].into_iter().collect();
        assert!(first_missing(&[], &zero_d, 10).is_empty());
        assert_eq!(
            first_missing(&[], &HashSet::new(), 10),
            vec![Vec::<u64>::new()]
        );
    }

    #[test]
    fn chunk_keys_of_every_encoding_parse() {
        assert_eq!(parse_chunk_index("c/1/2", &[3, 3]), Some(vec![1, 2]));
        assert_eq!(parse_chunk_index("1.2", &[3, 3]), Some(vec![1, 2]));
        assert_eq!(parse_chunk_index("c/1/9", &[3, 3]), None);
        assert_eq!(parse_chunk_index("zarr.json", &[3, 3]), None);
        assert_eq!(parse_chunk_index("c", &[]), Some(vec![]));
    }
}
