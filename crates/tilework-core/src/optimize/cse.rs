//! Common-subexpression elimination: structurally equal nodes become one node.

use super::{rebuild, relink};
use crate::op::{Node, Op, SourceOp};
use std::collections::HashMap;
use std::sync::Arc;

/// A structural key of the node's operation and metadata. Ops that carry host data or user
/// closures are keyed by the address of that data, so only the very same data or closure merges.
fn op_key(node: &Node) -> String {
    let op = match &node.op {
        Op::Source(SourceOp::Host(data)) => format!("host@{:p}", Arc::as_ptr(data)),
        Op::Source(SourceOp::Persisted(data)) => format!("persisted@{:p}", Arc::as_ptr(data)),
        Op::Source(SourceOp::Store(reader)) => format!("store@{:p}", Arc::as_ptr(reader)),
        Op::MapBlocks(f) => format!("map_blocks@{:p}", Arc::as_ptr(&f.func)),
        Op::Overlap {
            depth,
            boundary,
            func,
            expr,
        } => format!(
            "overlap@{:p}{depth:?}{boundary:?}{expr:?}",
            Arc::as_ptr(&func.func)
        ),
        other => format!("{other:?}"),
    };
    format!("{op}|{:?}|{:?}", node.meta.dtype, node.meta.grid)
}

/// Merges nodes with the same operation, metadata and (already merged) inputs.
pub fn eliminate_common_subexpressions(roots: &[Arc<Node>]) -> Vec<Arc<Node>> {
    let mut seen: HashMap<(String, Vec<usize>), Arc<Node>> = HashMap::new();
    rebuild(roots, |node, inputs| {
        let key = (
            op_key(node),
            inputs.iter().map(|i| Arc::as_ptr(i) as usize).collect(),
        );
        if let Some(existing) = seen.get(&key) {
            return Some(existing.clone());
        }
        let rebuilt = relink(node, inputs);
        seen.insert(key, rebuilt.clone());
        Some(rebuilt)
    })
}
