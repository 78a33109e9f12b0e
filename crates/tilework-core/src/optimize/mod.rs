//! Graph rewrites, one pass per file. Each pass maps a graph to an equivalent one; the pipeline is
//! [`optimize`]: read sources on the grids rechunks ask for, drop no-ops, push views toward
//! sources, merge common subexpressions, then fuse.

mod cse;
mod fuse;
mod noop;
mod pushdown;
mod regrid;

pub use cse::eliminate_common_subexpressions;
pub use fuse::fuse;
pub use noop::drop_noops;
pub use pushdown::push_down_views;
pub use regrid::regrid_sources;

use crate::op::{Node, topo_order};
use std::collections::HashMap;
use std::sync::Arc;

/// Runs every pass in order and returns the rewritten roots (same order as given).
pub fn optimize(roots: &[Arc<Node>]) -> Vec<Arc<Node>> {
    let roots = regrid_sources(roots);
    let roots = drop_noops(&roots);
    let roots = push_down_views(&roots);
    let roots = eliminate_common_subexpressions(&roots);
    fuse(&roots)
}

/// Number of distinct nodes reachable from `roots`.
pub fn count_nodes(roots: &[Arc<Node>]) -> usize {
    topo_order(roots).len()
}

/// Rebuilds the graph bottom-up: `rewrite` sees each node with its already rewritten inputs and
/// returns the replacement (or `None` to keep the node, re-linked to the new inputs).
pub(crate) fn rebuild(
    roots: &[Arc<Node>],
    mut rewrite: impl FnMut(&Arc<Node>, &[Arc<Node>]) -> Option<Arc<Node>>,
) -> Vec<Arc<Node>> {
    let mut done: HashMap<*const Node, Arc<Node>> = HashMap::new();
    for node in topo_order(roots) {
        let inputs: Vec<Arc<Node>> = node
            .inputs
            .iter()
            .map(|i| {
                done.get(&Arc::as_ptr(i))
                    .cloned()
                    .expect("inputs are rebuilt first")
            })
            .collect();
        let replaced = rewrite(&node, &inputs).unwrap_or_else(|| relink(&node, &inputs));
        done.insert(Arc::as_ptr(&node), replaced);
    }
    roots
        .iter()
        .map(|r| done[&Arc::as_ptr(r)].clone())
        .collect()
}

/// `node` with `inputs` as its inputs: the node itself when they are unchanged, else a copy.
pub(crate) fn relink(node: &Arc<Node>, inputs: &[Arc<Node>]) -> Arc<Node> {
    if inputs
        .iter()
        .zip(&node.inputs)
        .all(|(a, b)| Arc::ptr_eq(a, b))
    {
        node.clone()
    } else {
        Node::new(node.op.clone(), inputs.to_vec(), node.meta.clone())
    }
}

/// How many times each node is used as an input (roots count once).
pub(crate) fn consumer_counts(roots: &[Arc<Node>]) -> HashMap<*const Node, usize> {
    let mut counts: HashMap<*const Node, usize> = HashMap::new();
    for node in topo_order(roots) {
        for input in &node.inputs {
            *counts.entry(Arc::as_ptr(input)).or_default() += 1;
        }
    }
    for root in roots {
        *counts.entry(Arc::as_ptr(root)).or_default() += 1;
    }
    counts
}
