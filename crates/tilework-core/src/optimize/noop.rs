//! Drops operations that do not change the data or its chunking.

use super::rebuild;
use crate::op::{Node, Op};
use std::sync::Arc;

/// Replaces identity views, same-grid rechunks, same-shape reshapes and zero-width pads by their
/// input. A node is only dropped when its input has exactly the same metadata (shape, chunks,
/// dtype), so the result's chunking never changes.
pub fn drop_noops(roots: &[Arc<Node>]) -> Vec<Arc<Node>> {
    rebuild(roots, |node, inputs| {
        let input = inputs.first()?;
        let noop = match &node.op {
            Op::View(map) => map.is_identity(input.meta.shape(), node.meta.shape()),
            Op::Rechunk | Op::Reshape => true,
            Op::Pad { widths, .. } => widths.iter().all(|&(b, a)| b == 0 && a == 0),
            Op::Concat { .. } => inputs.len() == 1,
            _ => false,
        };
        (noop && input.meta == node.meta).then(|| input.clone())
    })
}
