//! How a chunk's C-order element stream maps onto reduction slots, and the driver that walks it.
//!
//! Adjacent axes that are both reduced or both kept merge into groups (length-1 axes drop out),
//! so the stream is a sequence of *rows* of the innermost group. When that group is reduced, a
//! row (or its part inside one evaluation block) is a contiguous run folded into one slot; when it
//! is kept, a row updates a contiguous row of slots. Both are tight loops over slices.
//!
//! Parallelism is a fixed split along the outermost group that depends only on the shape, never
//! on the thread count: a kept outer group gives disjoint slot ranges; a reduced one gives
//! partial slot arrays merged in piece order. Results are therefore bit-identical for any pool.

use super::folds::Fold;
use crate::elementwise::eval::{BLOCK, Evaluator};
use crate::num::Elem;
use rayon::prelude::*;
use std::ops::Range;
use tilework_core::{Error, Result, Shape};

/// Chunks with fewer elements than this per piece are not split further.
const PIECE_ELEMS: usize = 1 << 18;
/// Upper bound on the pieces of one chunk.
const MAX_PIECES: usize = 64;

/// The grouped iteration space of one partial reduction.
pub(crate) struct Layout {
    /// `(length, reduced)` per merged group, outermost first; never empty.
    groups: Vec<(usize, bool)>,
    /// Slot stride of each group (0 for reduced groups).
    kstrides: Vec<usize>,
    /// Elements in the chunk.
    pub(crate) numel: usize,
    /// Output slots (product of kept lengths).
    pub(crate) out_numel: usize,
    /// Elements reduced into each slot (product of reduced lengths).
    pub(crate) count: usize,
}

impl Layout {
    /// The layout of reducing `axes` (sorted, in range) of a chunk of `shape`.
    pub(crate) fn new(shape: &[usize], axes: &[usize]) -> Layout {
        let mut groups: Vec<(usize, bool)> = Vec::new();
        let (mut out_numel, mut count) = (1usize, 1usize);
        for (a, &n) in shape.iter().enumerate() {
            let reduced = axes.contains(&a);
            if reduced {
                count *= n
            } else {
                out_numel *= n
            }
            if n == 1 {
                continue;
            }
            match groups.last_mut() {
                Some((len, r)) if *r == reduced => *len *= n,
                _ => groups.push((n, reduced)),
            }
        }
        if groups.is_empty() {
            groups.push((1, false));
        }
        let mut kstrides = vec![0; groups.len()];
        let mut acc = 1;
        for (g, &(len, reduced)) in groups.iter().enumerate().rev() {
            if !reduced {
                kstrides[g] = acc;
                acc *= len;
            }
        }
        Layout {
            groups,
            kstrides,
            numel: out_numel * count,
            out_numel,
            count,
        }
    }

    fn inner(&self) -> (usize, bool) {
        self.groups[self.groups.len() - 1]
    }
}

/// Position of the stream in its row and slot.
struct Cursor<'l> {
    layout: &'l Layout,
    /// Index along each outer group (all groups but the innermost).
    index: Vec<usize>,
    /// Offset inside the current row.
    off: usize,
    /// Slot of the row's first element.
    slot: usize,
}

impl<'l> Cursor<'l> {
    fn new(layout: &'l Layout, flat: usize) -> Self {
        let (inner, _) = layout.inner();
        let outer = layout.groups.len() - 1;
        let mut index = vec![0; outer];
        let mut row = flat / inner;
        let mut slot = 0;
        for g in (0..outer).rev() {
            index[g] = row % layout.groups[g].0;
            row /= layout.groups[g].0;
            slot += index[g] * layout.kstrides[g];
        }
        Cursor {
            layout,
            index,
            off: flat % inner,
            slot,
        }
    }

    fn advance(&mut self, n: usize) {
        self.off += n;
        if self.off < self.layout.inner().0 {
            return;
        }
        self.off = 0;
        for g in (0..self.index.len()).rev() {
            let (len, _) = self.layout.groups[g];
            self.index[g] += 1;
            self.slot += self.layout.kstrides[g];
            if self.index[g] < len {
                return;
            }
            self.index[g] = 0;
            self.slot -= self.layout.kstrides[g] * len;
        }
    }
}

/// Maps a chunk's flat element position to its C-order index over the reduced axes of the
/// global shape (what argmin/argmax report).
pub(crate) struct IndexMap {
    shape: Shape,
    mul: Vec<i64>,
    offset: i64,
}

impl IndexMap {
    /// The map for a chunk of `shape` at `chunk_start` in `global`, reducing `axes`.
    ///
    /// # Errors
    /// [`Error::Device`] when the chunk position does not match the shape's rank or range.
    pub(crate) fn new(
        shape: &[usize],
        axes: &[usize],
        chunk_start: &[usize],
        global: &[usize],
    ) -> Result<Self> {
        let ok = chunk_start.len() == shape.len()
            && global.len() == shape.len()
            && (0..shape.len()).all(|a| {
                chunk_start[a]
                    .checked_add(shape[a])
                    .is_some_and(|e| e <= global[a])
            });
        if !ok {
            return Err(Error::Device(format!(
                "reduce: chunk {shape:?} at {chunk_start:?} does not fit global shape {global:?}"
            )));
        }
        let mut mul = vec![0i64; shape.len()];
        let mut acc = 1i64;
        for &a in axes.iter().rev() {
            mul[a] = acc;
            acc = acc.saturating_mul(global[a] as i64);
        }
        let offset = (0..shape.len())
            .map(|a| chunk_start[a] as i64 * mul[a])
            .sum();
        Ok(IndexMap {
            shape: Shape::from_slice(shape),
            mul,
            offset,
        })
    }

    /// A map that is never asked (for folds without indices).
    pub(crate) fn unused() -> Self {
        IndexMap {
            shape: Shape::new(),
            mul: Vec::new(),
            offset: 0,
        }
    }

    /// The reduced-space index of the element at chunk flat position `pos`.
    pub(crate) fn index(&self, mut pos: usize) -> i64 {
        let mut index = self.offset;
        for a in (0..self.shape.len()).rev() {
            index += (pos % self.shape[a]) as i64 * self.mul[a];
            pos /= self.shape[a];
        }
        index
    }
}

/// Reduces the whole chunk to one slot per output element.
pub(crate) fn drive<T: Elem, F: Fold<T>>(
    fold: &F,
    ev: &Evaluator<'_>,
    layout: &Layout,
    imap: &IndexMap,
) -> Result<Vec<F::Slot>> {
    let mut slots = vec![fold.empty(); layout.out_numel];
    if layout.numel == 0 {
        return Ok(slots);
    }
    let (g0, reduced0) = layout.groups[0];
    // Split units: the outermost group's indices, or single elements when it is the only group.
    let (units, unit_elems, unit_slots) = if layout.groups.len() == 1 {
        (layout.numel, 1, usize::from(!reduced0))
    } else {
        (g0, layout.numel / g0, layout.kstrides[0])
    };
    let pieces = (layout.numel / PIECE_ELEMS).clamp(1, MAX_PIECES).min(units);
    let bound = |p: usize| p * units / pieces;
    if pieces == 1 {
        run_piece(fold, ev, layout, imap, 0..layout.numel, &mut slots, 0)?;
    } else if !reduced0 {
        let mut parts = Vec::with_capacity(pieces);
        let mut rest = slots.as_mut_slice();
        for p in 0..pieces {
            let (u0, u1) = (bound(p), bound(p + 1));
            let (head, tail) = rest.split_at_mut((u1 - u0) * unit_slots);
            parts.push((u0 * unit_elems..u1 * unit_elems, head, u0 * unit_slots));
            rest = tail;
        }
        parts.into_par_iter().try_for_each(|(range, part, base)| {
            run_piece(fold, ev, layout, imap, range, part, base)
        })?;
    } else {
        let partials = (0..pieces)
            .into_par_iter()
            .map(|p| {
                let mut part = vec![fold.empty(); layout.out_numel];
                let range = bound(p) * unit_elems..bound(p + 1) * unit_elems;
                run_piece(fold, ev, layout, imap, range, &mut part, 0)?;
                Ok(part)
            })
            .collect::<Result<Vec<_>>>()?;
        for part in partials {
            for (a, b) in slots.iter_mut().zip(part) {
                *a = fold.merge(*a, b);
            }
        }
    }
    Ok(slots)
}

/// Folds the elements `range` of the chunk into `slots` (the slots from `slot_base` on).
fn run_piece<T: Elem, F: Fold<T>>(
    fold: &F,
    ev: &Evaluator<'_>,
    layout: &Layout,
    imap: &IndexMap,
    range: Range<usize>,
    slots: &mut [F::Slot],
    slot_base: usize,
) -> Result<()> {
    let (inner, inner_reduced) = layout.inner();
    let mut scratch = ev.scratch();
    let mut cursor = Cursor::new(layout, range.start);
    let mut start = range.start;
    while start < range.end {
        let len = BLOCK.min(range.end - start);
        let col = ev.eval(&mut scratch, start, len)?;
        let vals = T::col_ref(col)
            .ok_or_else(|| Error::Device("reduce: expression dtype mismatch".into()))?;
        let mut i = 0;
        while i < len {
            let seg = (inner - cursor.off).min(len - i);
            let v = &vals[i..i + seg];
            let pos = start + i;
            if inner_reduced {
                let slot = cursor.slot - slot_base;
                let r = fold.run(v, &|k| imap.index(pos + k));
                slots[slot] = fold.merge(slots[slot], r);
            } else {
                let index = if F::NEEDS_INDEX { imap.index(pos) } else { 0 };
                let first = cursor.slot + cursor.off - slot_base;
                fold.update(&mut slots[first..first + seg], v, index);
            }
            cursor.advance(seg);
            i += seg;
        }
        start += len;
    }
    Ok(())
}
