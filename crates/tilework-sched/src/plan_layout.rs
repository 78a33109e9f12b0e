//! Planning of layout ops (views, concat, pad, rechunk, reshape) and halo'd stencil blocks.
//!
//! All of them become [`Kernel::Gather`]-style pieces: per input axis a list of segments, each an
//! output range with an affine map into the input; the planner splits segments at input chunk
//! boundaries so that each piece reads exactly one input chunk, and only those chunks are planned.

use crate::plan::{Planner, ValueRef};
use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;
use tilework_core::op::{AxisMap, Boundary, Node, Op, PadMode};
use tilework_core::shape::{Shape, c_strides};
use tilework_core::{BufferSpec, ChunkGrid, Error, Kernel, Piece, Region, Result, Scalar};

/// One output range of an input axis and how it maps (global coordinates).
#[derive(Clone, Debug)]
struct Seg {
    /// Output range on the map's out axis; `None` for pinned axes or the full output range.
    range: Option<Range<usize>>,
    map: AxisMap,
}

impl Seg {
    fn whole(map: AxisMap) -> Seg {
        Seg { range: None, map }
    }
}

/// Pieces and the distinct input chunks they read.
#[derive(Default)]
struct PieceSet {
    pieces: Vec<Piece>,
    chunks: Vec<Shape>,
    slot_of: HashMap<Shape, usize>,
}

impl PieceSet {
    fn slot(&mut self, idx: Shape) -> usize {
        let next = self.chunks.len();
        *self.slot_of.entry(idx.clone()).or_insert_with(|| {
            self.chunks.push(idx);
            next
        })
    }

    /// Adds the pieces of one cell (one segment per input axis) over the output box `lo..hi`.
    fn add_cell(
        &mut self,
        grid: &ChunkGrid,
        cell: &[&Seg],
        lo: &[usize],
        hi: &[usize],
        out_origin: &[usize],
    ) {
        let mut lo: Shape = Shape::from_slice(lo);
        let mut hi: Shape = Shape::from_slice(hi);
        for seg in cell {
            if let (Some(r), AxisMap::Affine { out_axis, .. }) = (&seg.range, seg.map) {
                lo[out_axis] = lo[out_axis].max(r.start);
                hi[out_axis] = hi[out_axis].min(r.end);
            }
        }
        if lo.iter().zip(&hi).any(|(l, h)| l >= h) {
            return;
        }
        // Per input axis: (chunk index, output sub-range) splits.
        let splits: Vec<Vec<(usize, Range<usize>)>> = cell
            .iter()
            .enumerate()
            .map(|(axis, seg)| split_at_chunks(grid, axis, seg.map, &lo, &hi))
            .collect();
        let mut choice = vec![0usize; splits.len()];
        loop {
            let idx: Shape = choice
                .iter()
                .enumerate()
                .map(|(a, &c)| splits[a][c].0)
                .collect();
            let region = grid
                .region(&idx)
                .expect("split_at_chunks yields chunks of the grid");
            let mut p_lo = lo.clone();
            let mut p_hi = hi.clone();
            let mut in_axes = Vec::with_capacity(cell.len());
            for (axis, seg) in cell.iter().enumerate() {
                let range = &splits[axis][choice[axis]].1;
                in_axes.push(match seg.map {
                    AxisMap::Fixed(c) => AxisMap::Fixed(c - region.start[axis]),
                    AxisMap::Affine {
                        out_axis,
                        start,
                        step,
                    } => {
                        p_lo[out_axis] = range.start;
                        p_hi[out_axis] = range.end;
                        AxisMap::Affine {
                            out_axis,
                            start: start + step * range.start as isize
                                - region.start[axis] as isize,
                            step,
                        }
                    }
                });
            }
            let input = self.slot(idx);
            self.pieces.push(Piece {
                input,
                out_start: p_lo.iter().zip(out_origin).map(|(l, o)| l - o).collect(),
                out_shape: p_lo.iter().zip(&p_hi).map(|(l, h)| h - l).collect(),
                in_axes,
            });
            // Next combination (odometer over input axes).
            let mut axis = splits.len();
            loop {
                if axis == 0 {
                    return;
                }
                axis -= 1;
                choice[axis] += 1;
                if choice[axis] < splits[axis].len() {
                    break;
                }
                choice[axis] = 0;
            }
        }
    }

    /// Adds every cell of the segment lists (cartesian product) over the output box.
    fn add_segments(
        &mut self,
        grid: &ChunkGrid,
        segs: &[Vec<Seg>],
        lo: &[usize],
        hi: &[usize],
        origin: &[usize],
    ) {
        if segs.iter().any(|s| s.is_empty()) {
            return;
        }
        let mut choice = vec![0usize; segs.len()];
        loop {
            let cell: Vec<&Seg> = choice
                .iter()
                .enumerate()
                .map(|(a, &c)| &segs[a][c])
                .collect();
            self.add_cell(grid, &cell, lo, hi, origin);
            let mut axis = segs.len();
            loop {
                if axis == 0 {
                    return;
                }
                axis -= 1;
                choice[axis] += 1;
                if choice[axis] < segs[axis].len() {
                    break;
                }
                choice[axis] = 0;
            }
        }
    }
}

/// Splits the output range of one input axis where the mapped input index crosses chunk boundaries.
fn split_at_chunks(
    grid: &ChunkGrid,
    axis: usize,
    map: AxisMap,
    lo: &[usize],
    hi: &[usize],
) -> Vec<(usize, Range<usize>)> {
    let chunk_of = |x: isize| {
        grid.chunks_overlapping(axis, x as usize..x as usize + 1)
            .expect("view maps stay inside the input")
            .start
    };
    match map {
        AxisMap::Fixed(c) => vec![(chunk_of(c as isize), 0..1)],
        AxisMap::Affine {
            out_axis,
            start,
            step,
        } => {
            let (jl, jh) = (lo[out_axis] as isize, hi[out_axis] as isize);
            if step == 0 {
                return vec![(chunk_of(start), jl as usize..jh as usize)];
            }
            let bounds = grid.bounds(axis).expect("axis of the input grid");
            let mut out = Vec::new();
            let mut j = jl;
            while j < jh {
                let x = start + step * j;
                let c = chunk_of(x);
                let next = if step > 0 {
                    let end = bounds[c + 1] as isize;
                    (end - start + step - 1).div_euclid(step)
                } else {
                    let begin = bounds[c] as isize;
                    (start - begin).div_euclid(-step) + 1
                };
                let next = next.min(jh).max(j + 1);
                out.push((c, j as usize..next as usize));
                j = next;
            }
            out
        }
    }
}

fn identity_segs(ndim: usize) -> Vec<Vec<Seg>> {
    (0..ndim)
        .map(|a| {
            vec![Seg::whole(AxisMap::Affine {
                out_axis: a,
                start: 0,
                step: 1,
            })]
        })
        .collect()
}

/// Segments of one padded axis of input length `n` (output coordinates are global).
fn pad_segs(axis: usize, n: usize, before: usize, after: usize, mode: PadMode) -> Vec<Seg> {
    let (n, b) = (n as isize, before as isize);
    let seg = |range: Range<usize>, start: isize, step: isize| Seg {
        range: Some(range),
        map: AxisMap::Affine {
            out_axis: axis,
            start,
            step,
        },
    };
    let total = before + n as usize + after;
    let (inner, below, above) = (
        before..before + n as usize,
        0..before,
        before + n as usize..total,
    );
    let mut out = vec![seg(inner, -b, 1)];
    let edges = match mode {
        PadMode::Constant(_) => None,
        PadMode::Edge => Some(((0, 0), (n - 1, 0))),
        PadMode::Reflect => Some(((b, -1), (2 * n - 2 + b, -1))),
        PadMode::Symmetric => Some(((b - 1, -1), (2 * n - 1 + b, -1))),
        PadMode::Wrap => Some(((n - b, 1), (-(b + n), 1))),
    };
    if let Some(((s0, st0), (s1, st1))) = edges {
        if before > 0 {
            out.push(seg(below, s0, st0));
        }
        if after > 0 {
            out.push(seg(above, s1, st1));
        }
    }
    out
}

impl Planner {
    /// A chunk of a view, concat, pad or rechunk node.
    pub(crate) fn gather_chunk(
        &mut self,
        node: &Arc<Node>,
        region: &Region,
        spec: BufferSpec,
    ) -> Result<ValueRef> {
        let lo: Shape = region.start.clone();
        let hi: Shape = region
            .start
            .iter()
            .zip(&region.shape)
            .map(|(s, n)| s + n)
            .collect();
        let mut inputs = Vec::new();
        let mut pieces = Vec::new();
        let mut fill = None;
        let mut add =
            |planner: &mut Planner, input: &Arc<Node>, segs: Vec<Vec<Seg>>| -> Result<()> {
                let mut set = PieceSet::default();
                set.add_segments(&input.meta.grid, &segs, &lo, &hi, &region.start);
                let base = inputs.len();
                for idx in &set.chunks {
                    inputs.push(planner.chunk(input, idx)?);
                }
                pieces.extend(set.pieces.into_iter().map(|mut p| {
                    p.input += base;
                    p
                }));
                Ok(())
            };
        match &node.op {
            Op::View(map) => {
                let segs = map.in_axes.iter().map(|m| vec![Seg::whole(*m)]).collect();
                add(self, &node.inputs[0], segs)?;
            }
            Op::Rechunk => add(self, &node.inputs[0], identity_segs(region.start.len()))?,
            Op::Concat { axis } => {
                let mut offset = 0usize;
                for input in &node.inputs {
                    let n = input.meta.shape()[*axis];
                    let mut segs = identity_segs(region.start.len());
                    segs[*axis] = vec![Seg {
                        range: Some(offset..offset + n),
                        map: AxisMap::Affine {
                            out_axis: *axis,
                            start: -(offset as isize),
                            step: 1,
                        },
                    }];
                    add(self, input, segs)?;
                    offset += n;
                }
            }
            Op::Pad { widths, mode } => {
                let shape = node.inputs[0].meta.shape();
                let segs = widths
                    .iter()
                    .enumerate()
                    .map(|(a, &(b, e))| pad_segs(a, shape[a], b, e, *mode))
                    .collect();
                if let PadMode::Constant(v) = mode {
                    fill = Some(v.cast(node.meta.dtype));
                }
                add(self, &node.inputs[0], segs)?;
            }
            _ => unreachable!("gather_chunk is called for layout nodes"),
        }
        Ok(self.launch(Kernel::Gather { pieces, fill }, inputs, spec))
    }

    /// A chunk of a C-order reshape: every input chunk whose flat range meets the output block's.
    pub(crate) fn reshape_chunk(
        &mut self,
        node: &Arc<Node>,
        region: &Region,
        spec: BufferSpec,
    ) -> Result<ValueRef> {
        let input = &node.inputs[0];
        let in_grid = &input.meta.grid;
        let out_strides = c_strides(node.meta.shape());
        let in_strides = c_strides(input.meta.shape());
        let flat = |idx: &[usize], strides: &[usize]| {
            idx.iter().zip(strides).map(|(i, s)| i * s).sum::<usize>()
        };
        let mut inputs = Vec::new();
        let mut in_regions = Vec::new();
        if region.numel() > 0 {
            let last: Shape = region
                .start
                .iter()
                .zip(&region.shape)
                .map(|(s, n)| s + n - 1)
                .collect();
            let (first_flat, last_flat) =
                (flat(&region.start, &out_strides), flat(&last, &out_strides));
            for linear in 0..in_grid.num_chunks() {
                let idx = in_grid.unravel(linear)?;
                let r = in_grid.region(&idx)?;
                if r.numel() == 0 {
                    continue;
                }
                let r_last: Shape = r
                    .start
                    .iter()
                    .zip(&r.shape)
                    .map(|(s, n)| s + n - 1)
                    .collect();
                if flat(&r.start, &in_strides) <= last_flat
                    && flat(&r_last, &in_strides) >= first_flat
                {
                    inputs.push(self.chunk(input, &idx)?);
                    in_regions.push(r);
                }
            }
        }
        let kernel = Kernel::Reshape {
            in_shape: Shape::from_slice(input.meta.shape()),
            out_shape: Shape::from_slice(node.meta.shape()),
            out_region: region.clone(),
            in_regions,
        };
        Ok(self.launch(kernel, inputs, spec))
    }

    /// A chunk of a stencil: the halo'd block assembled from neighbours, boundary applied.
    pub(crate) fn overlap_chunk(
        &mut self,
        node: &Arc<Node>,
        region: &Region,
        spec: BufferSpec,
    ) -> Result<ValueRef> {
        let Op::Overlap {
            depth,
            boundary,
            func,
            expr,
        } = &node.op
        else {
            unreachable!("overlap_chunk is called for overlap nodes")
        };
        // An empty chunk has no block to extend and nothing to compute: the stencil is not called.
        if region.numel() == 0 {
            let value = Scalar::Bool(false).cast(spec.dtype);
            return Ok(self.launch(Kernel::Fill { value }, Vec::new(), spec));
        }
        let grid = &node.inputs[0].meta.grid;
        let shape = grid.shape();
        let ndim = shape.len();
        let mut segs: Vec<Vec<Seg>> = Vec::with_capacity(ndim);
        let mut const_segs: Vec<Vec<Range<usize>>> = Vec::with_capacity(ndim);
        let mut block_shape = Shape::new();
        let mut trim_start = Shape::new();
        for a in 0..ndim {
            let (n, d) = (shape[a] as isize, depth[a] as isize);
            let (lo, hi) = (
                region.start[a] as isize,
                (region.start[a] + region.shape[a]) as isize,
            );
            let (g0, g1) = match boundary {
                Boundary::None => ((lo - d).max(0), (hi + d).min(n)),
                _ => (lo - d, hi + d),
            };
            let len = (g1 - g0) as usize;
            block_shape.push(len);
            trim_start.push((lo - g0) as usize);
            let seg = |range: Range<isize>, start: isize, step: isize| Seg {
                range: Some(range.start as usize..range.end as usize),
                map: AxisMap::Affine {
                    out_axis: a,
                    start,
                    step,
                },
            };
            let inner = (-g0).max(0)..(n - g0).min(len as isize);
            let below = 0..(-g0).max(0);
            let above = (n - g0).max(0)..len as isize;
            let mut axis_segs = vec![seg(inner, g0, 1)];
            let mut axis_const = Vec::new();
            for (range, is_below) in [(below, true), (above, false)] {
                if range.is_empty() {
                    continue;
                }
                match boundary {
                    Boundary::Periodic => {
                        axis_segs.push(seg(range, if is_below { g0 + n } else { g0 - n }, 1))
                    }
                    Boundary::Reflect => axis_segs.push(seg(
                        range,
                        if is_below { -1 - g0 } else { 2 * n - 1 - g0 },
                        -1,
                    )),
                    Boundary::Constant(_) => {
                        axis_const.push(range.start as usize..range.end as usize)
                    }
                    Boundary::None => {}
                }
            }
            segs.push(axis_segs);
            const_segs.push(axis_const);
        }
        let zero: Shape = std::iter::repeat_n(0, ndim).collect();
        let mut set = PieceSet::default();
        set.add_segments(grid, &segs, &zero, &block_shape, &zero);
        let mut const_regions = Vec::new();
        if let Boundary::Constant(v) = boundary {
            let value: Scalar = v.cast(node.meta.dtype);
            // Every axis band outside the array, full extent on the other axes (overlaps are harmless).
            for (a, ranges) in const_segs.iter().enumerate() {
                for r in ranges {
                    let mut start = zero.clone();
                    let mut shape = block_shape.clone();
                    start[a] = r.start;
                    shape[a] = r.end - r.start;
                    const_regions.push((Region { start, shape }, value));
                }
            }
        }
        let arrays: Vec<Arc<Node>> = node.inputs.clone();
        let mut inputs = Vec::with_capacity(arrays.len() * set.chunks.len());
        for array in &arrays {
            for idx in &set.chunks {
                inputs.push(self.chunk(array, idx)?);
            }
        }
        let kernel = Kernel::Overlap {
            block_shape: block_shape.clone(),
            slots: set.chunks.len(),
            num_arrays: arrays.len(),
            pieces: set.pieces,
            const_regions,
            expr: expr.clone(),
            func: func.clone(),
            trim: Region {
                start: trim_start,
                shape: region.shape.clone(),
            },
            global_shape: Shape::from_slice(shape),
            chunk_start: region.start.clone(),
        };
        if block_shape.contains(&0) && region.numel() > 0 {
            return Err(Error::invalid(
                "map_overlap",
                "empty halo block for a non-empty chunk",
            ));
        }
        Ok(self.launch(kernel, inputs, spec))
    }
}
