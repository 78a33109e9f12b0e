//! Reads sources on the grid a rechunk asks for, instead of gathering the new chunks from the
//! old ones: generated data (fills, ranges, random numbers) and host data are the same for any
//! chunking, and a memory-mapped file reads any region at the cost of its size. A gather would
//! hold every old chunk a new one touches, which under a tight budget may not fit.

use super::rebuild;
use crate::op::{Node, Op, SourceOp};
use std::sync::Arc;

/// Rewrites `rechunk(source)` into the source on the rechunk's grid, for every source but
/// persisted chunks (stored as they were computed) and stores that read whole stored chunks.
pub fn regrid_sources(roots: &[Arc<Node>]) -> Vec<Arc<Node>> {
    rebuild(roots, |node, inputs| {
        let (Op::Rechunk, [input]) = (&node.op, inputs) else {
            return None;
        };
        let Op::Source(source) = &input.op else {
            return None;
        };
        let regridable = match source {
            SourceOp::Persisted(_) => false,
            SourceOp::Store(reader) => reader.reads_any_region(),
            _ => true,
        };
        regridable.then(|| Node::new(input.op.clone(), Vec::new(), node.meta.clone()))
    })
}
