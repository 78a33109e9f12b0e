//! Planning of sources, reductions (fixed fan-in trees), scans and matmul.

use crate::plan::{Planner, TaskKind, ValueRef, broadcast_index};
use std::sync::Arc;
use tilework_core::kernel::reduce_state_specs;
use tilework_core::op::{Node, Op, SourceOp};
use tilework_core::shape::Shape;
use tilework_core::{BufferSpec, ChunkGrid, Kernel, ReduceStage, Region, Result};

/// Fan-in of reduction trees. Fixed, so the combine order never depends on the thread count.
pub const REDUCE_FAN_IN: usize = 8;

/// The kernel producing `region` of a source node.
pub(crate) fn source_kernel(source: &SourceOp, node: &Node, region: &Region) -> Kernel {
    let global_shape = Shape::from_slice(node.meta.shape());
    match source {
        SourceOp::Fill(v) => Kernel::Fill {
            value: v.cast(node.meta.dtype),
        },
        SourceOp::Arange { start, step, last } => {
            let n = tilework_core::shape::numel(&global_shape) as u64;
            Kernel::Arange {
                start: *start,
                step: *step,
                last: last.map(|v| (n.saturating_sub(1), v)),
                chunk_start: region.start.clone(),
                global_shape,
            }
        }
        SourceOp::Eye { k } => Kernel::Eye {
            k: *k,
            chunk_start: region.start.clone(),
        },
        SourceOp::Random { seed, dist } => Kernel::Random {
            seed: *seed,
            dist: *dist,
            chunk_start: region.start.clone(),
            global_shape,
        },
        SourceOp::Host(data) => Kernel::HostSlice {
            data: data.clone(),
            region: region.clone(),
        },
        SourceOp::Store(reader) => Kernel::StoreRead {
            reader: reader.clone(),
            region: region.clone(),
        },
        SourceOp::Persisted(_) => {
            unreachable!("persisted chunks are literals, handled by the caller")
        }
    }
}

impl Planner {
    /// A reduction output chunk: partial per input chunk, fixed fan-in combine tree, finalize.
    pub(crate) fn reduce_chunk(
        &mut self,
        node: &Arc<Node>,
        index: &[usize],
        spec: BufferSpec,
    ) -> Result<ValueRef> {
        let Op::Reduce {
            op,
            axes,
            keepdims,
            expr,
        } = &node.op
        else {
            unreachable!("reduce_chunk is called for reduce nodes")
        };
        let in_shape: Shape = node.inputs.iter().try_fold(Shape::new(), |acc, n| {
            tilework_core::shape::broadcast_shapes("reduce", &acc, n.meta.shape())
        })?;
        let in_grid = {
            let grids: Vec<&ChunkGrid> = node.inputs.iter().map(|n| &n.meta.grid).collect();
            tilework_core::chunks::broadcast_grid(&grids, &in_shape)?
        };
        // The keepdims index of this output chunk in the input's chunk grid.
        let mut base: Shape = Shape::new();
        let mut it = index.iter();
        for axis in 0..in_shape.len() {
            if axes.contains(&axis) {
                base.push(0);
                if *keepdims {
                    it.next();
                }
            } else {
                base.push(*it.next().expect("output index has one entry per kept axis"));
            }
        }
        let in_dtype = match expr {
            Some(e) => e.dtype(),
            None => node.inputs[0].meta.dtype,
        };
        let grid_shape = in_grid.grid_shape();
        let reduced_counts: Vec<usize> = axes.iter().map(|&a| grid_shape[a]).collect();
        let group: usize = reduced_counts.iter().product();
        let mut states: Vec<Vec<ValueRef>> = Vec::with_capacity(group);
        for g in 0..group {
            let mut idx = base.clone();
            let mut rem = g;
            for (k, &a) in axes.iter().enumerate().rev() {
                idx[a] = rem % reduced_counts[k];
                rem /= reduced_counts[k];
            }
            let region = in_grid.region(&idx)?;
            let inputs = self.broadcast_inputs(&node.inputs, &in_shape, &idx)?;
            let mut state_shape = region.shape.clone();
            for &a in axes {
                state_shape[a] = 1;
            }
            let outputs = reduce_state_specs(*op, in_dtype, &state_shape);
            let kernel = Kernel::Reduce {
                op: *op,
                axes: axes.clone(),
                stage: ReduceStage::Partial {
                    expr: expr.clone(),
                    chunk_shape: region.shape.clone(),
                    chunk_start: region.start.clone(),
                    global_shape: in_shape.clone(),
                },
            };
            states.push(self.push(TaskKind::Launch(Box::new(kernel)), inputs, outputs));
        }
        while states.len() > 1 {
            let mut next = Vec::with_capacity(states.len().div_ceil(REDUCE_FAN_IN));
            for batch in states.chunks(REDUCE_FAN_IN) {
                if batch.len() == 1 {
                    next.push(batch[0].clone());
                    continue;
                }
                let specs: Vec<BufferSpec> = batch[0]
                    .iter()
                    .map(|v| self.tasks[v.task as usize].outputs[v.output as usize].clone())
                    .collect();
                let inputs = batch.iter().flatten().copied().collect();
                let kernel = Kernel::Reduce {
                    op: *op,
                    axes: axes.clone(),
                    stage: ReduceStage::Combine,
                };
                next.push(self.push(TaskKind::Launch(Box::new(kernel)), inputs, specs));
            }
            states = next;
        }
        let state = states
            .pop()
            .expect("a reduction group has at least one chunk");
        let kernel = Kernel::Reduce {
            op: *op,
            axes: axes.clone(),
            stage: ReduceStage::Finalize {
                out_dtype: spec.dtype,
                out_shape: spec.shape.clone(),
            },
        };
        Ok(self.launch(kernel, state, spec))
    }

    /// A scan output chunk: local scan, carried prefix from earlier chunks along the axis, apply.
    pub(crate) fn scan_chunk(&mut self, node: &Arc<Node>, index: &[usize]) -> Result<ValueRef> {
        let Op::Scan { op, axis } = node.op else {
            unreachable!("scan_chunk is called for scan nodes")
        };
        let grid = &node.meta.grid;
        let local = |planner: &mut Planner, k: usize| -> Result<(ValueRef, ValueRef)> {
            let mut idx = Shape::from_slice(index);
            idx[axis] = k;
            let linear = grid.ravel(&idx)?;
            if let (Some(s), Some(l)) = (
                planner.memo_get(node, linear, 1),
                planner.memo_get(node, linear, 2),
            ) {
                return Ok((s, l));
            }
            let input = planner.chunk(&node.inputs[0], &idx)?;
            let shape = grid.region(&idx)?.shape;
            let mut last_shape = shape.clone();
            last_shape[axis] = 1;
            let outs = planner.push(
                TaskKind::Launch(Box::new(Kernel::ScanLocal { op, axis })),
                vec![input],
                vec![
                    BufferSpec {
                        dtype: node.meta.dtype,
                        shape,
                    },
                    BufferSpec {
                        dtype: node.meta.dtype,
                        shape: last_shape,
                    },
                ],
            );
            planner.memo_put(node, linear, 1, outs[0]);
            planner.memo_put(node, linear, 2, outs[1]);
            Ok((outs[0], outs[1]))
        };
        let target = index[axis];
        let (scanned, _) = local(self, target)?;
        if target == 0 {
            return Ok(scanned);
        }
        // carry_k = carry_{k-1} (op) last_{k-1}, memoized as stage 3 of chunk k.
        let mut carry = local(self, 0)?.1;
        for k in 1..target {
            let mut idx = Shape::from_slice(index);
            idx[axis] = k + 1;
            let linear = grid.ravel(&idx)?;
            if let Some(c) = self.memo_get(node, linear, 3) {
                carry = c;
                continue;
            }
            let (_, last) = local(self, k)?;
            let spec = self.tasks[last.task as usize].outputs[last.output as usize].clone();
            carry = self.launch(Kernel::ScanCarry { op }, vec![carry, last], spec);
            self.memo_put(node, linear, 3, carry);
        }
        let spec = BufferSpec {
            dtype: node.meta.dtype,
            shape: grid.region(index)?.shape,
        };
        Ok(self.launch(Kernel::ScanApply { op, axis }, vec![scanned, carry], spec))
    }

    /// A matmul output chunk: all `k` chunk pairs accumulated in order by one kernel.
    pub(crate) fn matmul_chunk(
        &mut self,
        node: &Arc<Node>,
        index: &[usize],
        spec: BufferSpec,
    ) -> Result<ValueRef> {
        let (a, b) = (&node.inputs[0], &node.inputs[1]);
        let nd = index.len();
        let out_shape = node.meta.shape();
        let batch_out = &out_shape[..nd - 2];
        let nk = a.meta.grid.grid_shape()[a.meta.grid.ndim() - 1];
        let mut inputs = Vec::with_capacity(2 * nk);
        for k in 0..nk {
            let mut ai = broadcast_index(
                &a.meta.shape()[..a.meta.grid.ndim() - 2],
                batch_out,
                &index[..nd - 2],
            );
            ai.push(index[nd - 2]);
            ai.push(k);
            let mut bi = broadcast_index(
                &b.meta.shape()[..b.meta.grid.ndim() - 2],
                batch_out,
                &index[..nd - 2],
            );
            bi.push(k);
            bi.push(index[nd - 1]);
            inputs.push(self.chunk(a, &ai)?);
            inputs.push(self.chunk(b, &bi)?);
        }
        Ok(self.launch(Kernel::Matmul, inputs, spec))
    }
}
