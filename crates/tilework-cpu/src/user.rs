//! User kernels: `MapBlocks` and the `Overlap` stencil pipeline (assemble the halo-extended block,
//! apply the fused producer, set constant boundaries, call the user function, trim).
//!
//! A user function that returns the wrong shape or panics yields [`Error::UserKernel`] naming the
//! function; an error it returns is passed through unchanged.

use crate::elementwise::elementwise;
use crate::gather::apply_piece;
use crate::num::{Elem, standard, to_host};
use crate::source::host_slice;
use std::panic::{AssertUnwindSafe, catch_unwind};
use tilework_core::shape::numel;
use tilework_core::{
    BlockFn, BufferSpec, Element, Error, HostArray, Kernel, Region, Result, Scalar, with_dtype,
    with_host_array,
};

/// Calls a user function, turning a panic into an error.
fn call(func: &BlockFn, what: &str, blocks: &[HostArray]) -> Result<HostArray> {
    match catch_unwind(AssertUnwindSafe(|| (func.func)(blocks))) {
        Ok(result) => result,
        Err(panic) => {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic payload".into());
            Err(Error::UserKernel(format!(
                "{what}({}): panicked: {msg}",
                func.name
            )))
        }
    }
}

/// Checks a user result against what the plan expects.
fn check(func: &BlockFn, what: &str, got: &HostArray, spec: &BufferSpec) -> Result<()> {
    if got.shape() != spec.shape || got.dtype() != spec.dtype {
        return Err(Error::UserKernel(format!(
            "{what}({}): returned {} of shape {:?}, expected {} of shape {:?}",
            func.name,
            got.dtype(),
            got.shape().as_slice(),
            spec.dtype,
            spec.shape.as_slice()
        )));
    }
    Ok(())
}

/// Runs a `MapBlocks` kernel: the user function on the input blocks.
pub(crate) fn map_blocks(
    func: &BlockFn,
    inputs: &[&HostArray],
    spec: &BufferSpec,
) -> Result<HostArray> {
    let blocks: Vec<HostArray> = inputs.iter().map(|h| (*h).clone()).collect();
    let out = call(func, "map_blocks", &blocks)?;
    check(func, "map_blocks", &out, spec)?;
    Ok(out)
}

fn bad(detail: String) -> Error {
    Error::Device(format!("overlap: {detail}"))
}

/// Runs an `Overlap` kernel.
pub(crate) fn overlap(
    kernel: &Kernel,
    inputs: &[&HostArray],
    spec: &BufferSpec,
) -> Result<HostArray> {
    let Kernel::Overlap {
        block_shape,
        pieces,
        slots,
        num_arrays,
        const_regions,
        expr,
        func,
        trim,
        ..
    } = kernel
    else {
        return Err(bad(format!("not an overlap kernel: {}", kernel.family())));
    };
    let (slots, num_arrays) = (*slots, *num_arrays);
    if slots == 0 || num_arrays == 0 || inputs.len() != slots * num_arrays {
        return Err(bad(format!(
            "{} inputs for {num_arrays} arrays x {slots} slots",
            inputs.len()
        )));
    }
    let mut blocks = inputs
        .chunks_exact(slots)
        .map(|group| assemble(group, pieces, block_shape))
        .collect::<Result<Vec<_>>>()?;
    let mut block = match expr {
        Some(e) => elementwise(e, &blocks.iter().collect::<Vec<_>>(), block_shape)?,
        None if num_arrays == 1 => blocks.remove(0),
        None => {
            return Err(bad(format!(
                "{num_arrays} arrays but no expression to combine them"
            )));
        }
    };
    for (region, value) in const_regions {
        set_region(&mut block, region, *value)?;
    }
    let result = call(func, "map_overlap", &[block])?;
    // A result of the chunk's own shape is already trimmed: stencils that compute only the
    // interior skip both the full-block output and the trimming copy.
    if result.shape() == spec.shape && result.dtype() == spec.dtype {
        return Ok(result);
    }
    let expected = BufferSpec {
        dtype: result.dtype(),
        shape: block_shape.clone(),
    };
    check(func, "map_overlap", &result, &expected)?;
    let out = host_slice(&result, trim)?;
    check(func, "map_overlap", &out, spec)?;
    Ok(out)
}

/// The extended block of one array from its slot buffers.
fn assemble(
    group: &[&HostArray],
    pieces: &[tilework_core::Piece],
    shape: &[usize],
) -> Result<HostArray> {
    let group: Vec<HostArray> = group.iter().map(|h| standard(h)).collect();
    with_dtype!(group[0].dtype(), T => {
        let mut out = vec![T::cast_from(false); numel(shape)];
        for piece in pieces {
            let src = group
                .get(piece.input)
                .ok_or_else(|| bad(format!("piece reads slot {} of {}", piece.input, group.len())))?;
            apply_piece(piece, src, shape, &mut out)?;
        }
        to_host(out, shape)
    })
}

/// Overwrites `region` of `block` with `value` (cast to the block's dtype).
fn set_region(block: &mut HostArray, region: &Region, value: Scalar) -> Result<()> {
    let shape = block.shape();
    let fits = region.start.len() == shape.len()
        && region.shape.len() == shape.len()
        && (0..shape.len()).all(|a| {
            region.start[a]
                .checked_add(region.shape[a])
                .is_some_and(|e| e <= shape[a])
        });
    if !fits {
        return Err(bad(format!(
            "constant region {region:?} outside block {:?}",
            shape.as_slice()
        )));
    }
    with_host_array!(block, a, T => {
        a.slice_each_axis_mut(|ax| ndarray::Slice::from(region.range(ax.axis.index())))
            .fill(T::from_scalar(value));
    });
    Ok(())
}

#[cfg(test)]
#[path = "user_tests.rs"]
mod tests;
