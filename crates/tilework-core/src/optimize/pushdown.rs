//! Pushes views (slices, indexing, transposes) toward the sources, so that work before a slice
//! runs only on the sliced elements.

use super::rebuild;
use crate::op::{Meta, Node, Op, SourceOp};
use std::sync::Arc;

/// Rewrites `view(view(x))` into one view, `view(elementwise(a, b))` into
/// `elementwise(view(a), view(b))` (when no input broadcasts), and `view(fill)` into a fill.
pub fn push_down_views(roots: &[Arc<Node>]) -> Vec<Arc<Node>> {
    rebuild(roots, |node, inputs| {
        let Op::View(outer) = &node.op else {
            return None;
        };
        push(outer, &inputs[0], &node.meta)
    })
}

fn push(outer: &crate::op::ViewMap, input: &Arc<Node>, meta: &Meta) -> Option<Arc<Node>> {
    match &input.op {
        Op::View(inner) => {
            let map = inner.then(outer);
            let base = &input.inputs[0];
            Some(
                push(&map, base, meta)
                    .unwrap_or_else(|| Node::new(Op::View(map), vec![base.clone()], meta.clone())),
            )
        }
        Op::Source(SourceOp::Fill(v)) => Some(Node::new(
            Op::Source(SourceOp::Fill(*v)),
            Vec::new(),
            meta.clone(),
        )),
        Op::Elementwise(expr) => {
            let full = input.meta.shape();
            if input.inputs.iter().any(|i| i.meta.shape() != full) {
                return None;
            }
            let views = input
                .inputs
                .iter()
                .map(|i| {
                    let m = Meta {
                        dtype: i.meta.dtype,
                        grid: meta.grid.clone(),
                    };
                    push(outer, i, &m)
                        .unwrap_or_else(|| Node::new(Op::View(outer.clone()), vec![i.clone()], m))
                })
                .collect();
            Some(Node::new(
                Op::Elementwise(expr.clone()),
                views,
                meta.clone(),
            ))
        }
        _ => None,
    }
}
