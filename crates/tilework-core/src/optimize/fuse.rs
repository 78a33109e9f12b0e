//! Fusion: chains of elementwise ops become one expression, and elementwise producers fold into the
//! reductions and stencils that consume them, so each chunk is read once and no chunk-sized
//! temporary exists per op.

use super::{consumer_counts, rebuild, relink};
use crate::expr::Expr;
use crate::op::{Node, Op};
use std::collections::HashMap;
use std::sync::Arc;

/// Fuses elementwise producers (used by exactly one consumer) into elementwise consumers of the
/// same shape, into reductions, and into `map_overlap` stencils whose inputs do not broadcast.
pub fn fuse(roots: &[Arc<Node>]) -> Vec<Arc<Node>> {
    let consumers = consumer_counts(roots);
    // Keyed by the original node: rebuilt producers have new addresses, so remember counts by the
    // rebuilt pointer as we go.
    let mut uses: HashMap<*const Node, usize> = HashMap::new();
    rebuild(roots, |node, inputs| {
        let single = |uses: &HashMap<*const Node, usize>, n: &Arc<Node>| {
            uses.get(&Arc::as_ptr(n)) == Some(&1)
        };
        let out = match &node.op {
            Op::Elementwise(expr) => fuse_elementwise(node, expr, inputs, &uses),
            Op::Reduce {
                op,
                axes,
                keepdims,
                expr: None,
            } if single(&uses, &inputs[0]) => match &inputs[0].op {
                Op::Elementwise(producer) => Some(Node::new(
                    Op::Reduce {
                        op: *op,
                        axes: axes.clone(),
                        keepdims: *keepdims,
                        expr: Some(producer.clone()),
                    },
                    inputs[0].inputs.clone(),
                    node.meta.clone(),
                )),
                _ => None,
            },
            Op::Overlap {
                depth,
                boundary,
                func,
                expr: None,
            } if single(&uses, &inputs[0]) => match &inputs[0].op {
                Op::Elementwise(producer)
                    if inputs[0]
                        .inputs
                        .iter()
                        .all(|i| i.meta.grid == inputs[0].meta.grid) =>
                {
                    Some(Node::new(
                        Op::Overlap {
                            depth: depth.clone(),
                            boundary: *boundary,
                            func: func.clone(),
                            expr: Some(producer.clone()),
                        },
                        inputs[0].inputs.clone(),
                        node.meta.clone(),
                    ))
                }
                _ => None,
            },
            _ => None,
        };
        let result = out.unwrap_or_else(|| relink(node, inputs));
        uses.insert(
            Arc::as_ptr(&result),
            consumers.get(&Arc::as_ptr(node)).copied().unwrap_or(0),
        );
        Some(result)
    })
}

/// Inlines every single-use, same-shape elementwise input of an elementwise node.
fn fuse_elementwise(
    node: &Arc<Node>,
    expr: &Expr,
    inputs: &[Arc<Node>],
    uses: &HashMap<*const Node, usize>,
) -> Option<Arc<Node>> {
    let fusible = |i: &Arc<Node>| {
        matches!(i.op, Op::Elementwise(_))
            && uses.get(&Arc::as_ptr(i)) == Some(&1)
            && i.meta.grid == node.meta.grid
    };
    if !inputs.iter().any(fusible) {
        return None;
    }
    // New inputs: the leaves of every fused producer and the unfused inputs, deduplicated.
    let mut leaves: Vec<Arc<Node>> = Vec::new();
    let leaf_index = |n: &Arc<Node>, leaves: &mut Vec<Arc<Node>>| {
        leaves
            .iter()
            .position(|l| Arc::ptr_eq(l, n))
            .unwrap_or_else(|| {
                leaves.push(n.clone());
                leaves.len() - 1
            })
    };
    enum Source {
        Leaf(usize),
        Fused(Expr, Vec<usize>),
    }
    let sources: Vec<Source> = inputs
        .iter()
        .map(|i| match &i.op {
            Op::Elementwise(inner) if fusible(i) => Source::Fused(
                inner.clone(),
                i.inputs
                    .iter()
                    .map(|l| leaf_index(l, &mut leaves))
                    .collect(),
            ),
            _ => Source::Leaf(leaf_index(i, &mut leaves)),
        })
        .collect();
    let mut fused = Expr::builder(leaves.len());
    let leaf_nodes: Vec<usize> = leaves
        .iter()
        .enumerate()
        .map(|(k, l)| fused.push(crate::expr::ExprNode::Input(k), l.meta.dtype))
        .collect();
    let input_positions: Vec<usize> = sources
        .iter()
        .map(|s| match s {
            Source::Leaf(k) => leaf_nodes[*k],
            Source::Fused(inner, map) => {
                let mapped: Vec<usize> = map.iter().map(|&k| leaf_nodes[k]).collect();
                fused.splice(inner, &mapped)
            }
        })
        .collect();
    fused.splice(expr, &input_positions);
    Some(Node::new(Op::Elementwise(fused), leaves, node.meta.clone()))
}
