//! `Matmul`: `out = sum_k a_k @ b_k` with NumPy batch broadcasting, as the CPU backend
//! (`tilework-cpu/src/matmul.rs`) computes it.
//!
//! One launch per `(a, b)` pair, all in one compute pass: the first writes the output, later
//! ones add to it (the sum runs in pair order). Each launch covers every output batch; the
//! element offsets of each batch's `a` and `b` matrices are computed here (broadcasting is a
//! zero stride) and passed in the params. Pairs with an empty depth add nothing and are skipped,
//! unless every pair is empty: then the first one runs and writes zeros.
//!
//! Dtypes: f32, f64 (with SHADER_F64), i32, u32 and u8 (wrapping, exact like the CPU's integer
//! loop; u8 computes in u32 and keeps the low 8 bits, which is the same modulo 256), and f16,
//! which computes in f32 and rounds once at the end: with several pairs the sums go through an
//! f32 buffer and `matmul_round.wgsl` rounds them. Bool (the CPU has no bool matmul either)
//! and i64 are `DTypeUnsupported`.

use super::{Input, Launch, count};
use crate::device::Features;
use crate::dispatch::{Params, Step};
use crate::dtype::{Repr, compute_type, unsupported};
use crate::pipeline::Access;
use crate::shaders::Helpers;
use crate::template::render;
use tilework_core::shape::c_strides;
use tilework_core::{BufferSpec, DType, Error, Result};

const MATMUL: &str = include_str!("../../../../shaders/matmul.wgsl");
const ROUND: &str = include_str!("../../../../shaders/matmul_round.wgsl");

/// Output tile edge of `matmul.wgsl` (64 invocations, each an 8 x 8 block of the tile).
const TILE: usize = 64;

fn bad(detail: String) -> Error {
    Error::Device(format!("wgpu matmul: {detail}"))
}

/// What one pipeline computes: operands of `repr`, sums in the compute type, stored as
/// `repr` or (`f32_out`, for f16 with several pairs) as f32 sums.
#[derive(Copy, Clone, Debug)]
struct Variant {
    repr: Repr,
    f32_out: bool,
}

impl Variant {
    fn key(self) -> String {
        format!(
            "{} {} {}",
            self.repr.dtype,
            if self.repr.f16_native {
                "native"
            } else {
                "soft"
            },
            if self.f32_out { "f32 sums" } else { "direct" }
        )
    }
}

/// Helpers and `enable` line for loading and storing `repr`.
fn helpers(repr: Repr) -> Result<(String, &'static str)> {
    let mut h = Helpers::new();
    if repr.dtype == DType::F16 && !repr.f16_native {
        h.need_f16(false);
    }
    let f16_storage = repr.dtype == DType::F16 && repr.f16_native;
    Ok((h.render()?, h.enables(f16_storage)))
}

fn source(v: Variant) -> Result<String> {
    let repr = v.repr;
    let ty = compute_type(repr.dtype);
    let (load_out, store_out) = if v.f32_out {
        ("out[io]".to_string(), "x".to_string())
    } else if repr.dtype == DType::U8 {
        // Sums wrap in u32; the low 8 bits are the u8 result.
        (repr.load("out[io]"), "(x & 0xffu)".to_string())
    } else {
        (repr.load("out[io]"), repr.store("x"))
    };
    let (helpers, enables) = helpers(repr)?;
    render(
        "matmul.wgsl",
        MATMUL,
        &[
            ("enables", enables),
            ("elem", repr.storage()),
            ("out_elem", if v.f32_out { "f32" } else { repr.storage() }),
            ("ty", ty),
            ("helpers", &helpers),
            ("load_a", &repr.load("a[ia]")),
            ("load_b", &repr.load("b[ib]")),
            ("load_out", &load_out),
            ("store_out", &store_out),
        ],
    )
}

fn round_source(repr: Repr, f: &Features) -> Result<String> {
    let (helpers, enables) = helpers(repr)?;
    render(
        "matmul_round.wgsl",
        ROUND,
        &[
            ("enables", enables),
            ("out_elem", repr.storage()),
            ("helpers", &helpers),
            ("workgroup", &f.workgroup.to_string()),
            ("store", &repr.store("x")),
        ],
    )
}

/// The element offset of each output batch's matrix in an operand whose batch axes are
/// `batch` (right-aligned to `out_batch`, length-1 axes broadcast) and whose matrices hold
/// `matrix` elements each.
fn batch_offsets(batch: &[usize], out_batch: &[usize], matrix: usize) -> Result<Vec<usize>> {
    let mismatch = || {
        bad(format!(
            "operand batch {batch:?} does not broadcast to {out_batch:?}"
        ))
    };
    let lead = out_batch
        .len()
        .checked_sub(batch.len())
        .ok_or_else(mismatch)?;
    let own = c_strides(batch);
    let mut strides = vec![0usize; out_batch.len()];
    for (a, (&d, &s)) in batch.iter().zip(&own).enumerate() {
        if d == out_batch[lead + a] && d != 1 {
            strides[lead + a] = s * matrix;
        } else if d != 1 {
            return Err(mismatch());
        }
    }
    let total: usize = out_batch.iter().product();
    let mut offsets = Vec::with_capacity(total);
    // An odometer over the output batch index, C order.
    let mut index = vec![0usize; out_batch.len()];
    let mut offset = 0usize;
    for _ in 0..total {
        offsets.push(offset);
        for axis in (0..out_batch.len()).rev() {
            index[axis] += 1;
            offset += strides[axis];
            if index[axis] < out_batch[axis] {
                break;
            }
            offset -= strides[axis] * index[axis];
            index[axis] = 0;
        }
    }
    Ok(offsets)
}

/// The params, tile count and depth of one pair's launch, or an error when its shapes do not
/// make the output.
fn pair_params(
    a: &Input,
    b: &Input,
    out: &[usize],
    accumulate: bool,
) -> Result<(Params, u64, usize)> {
    let rank = out.len();
    let (m, n) = (out[rank - 2], out[rank - 1]);
    let (sa, sb) = (&a.shape, &b.shape);
    let (ra, rb) = (sa.len(), sb.len());
    if ra < 2 || rb < 2 || sa[ra - 2] != m || sb[rb - 1] != n || sa[ra - 1] != sb[rb - 2] {
        return Err(bad(format!(
            "{:?} @ {:?} does not give (.., {m}, {n})",
            sa.as_slice(),
            sb.as_slice()
        )));
    }
    let kk = sa[ra - 1];
    count(sa, "matmul operand")?;
    count(sb, "matmul operand")?;
    let out_batch = &out[..rank - 2];
    let a_off = batch_offsets(&sa[..ra - 2], out_batch, m * kk)?;
    let b_off = batch_offsets(&sb[..rb - 2], out_batch, kk * n)?;
    let (tiles_m, tiles_n) = (m.div_ceil(TILE), n.div_ceil(TILE));
    let per_batch = tiles_m * tiles_n;
    let tiles = per_batch
        .checked_mul(a_off.len())
        .ok_or_else(|| bad(format!("too many tiles for {out:?}")))?;
    let mut params = Params::new();
    params
        .len(tiles, "matmul tiles")?
        .len(m, "m")?
        .len(n, "n")?
        .len(kk, "depth")?
        .len(tiles_n, "column tiles")?
        .len(per_batch, "tiles per batch")?
        .u32(u32::from(accumulate))
        .len(a_off.len(), "batches")?;
    for (&ia, &ib) in a_off.iter().zip(&b_off) {
        params.len(ia, "a offset")?.len(ib, "b offset")?;
    }
    Ok((params, tiles as u64, kk))
}

/// `DTypeUnsupported` unless this device runs `matmul.wgsl` for `dtype`.
fn check_device(l: &Launch<'_>, dtype: DType) -> Result<Repr> {
    if matches!(dtype, DType::Bool | DType::I64) {
        return Err(unsupported("matmul", dtype, &l.features().name));
    }
    let repr = l.repr(dtype, "matmul")?;
    let compute_bytes = if dtype == DType::F64 { 8 } else { 4 };
    // Two tiles of 256 four-vectors in workgroup memory.
    let shared = 2 * 256 * 4 * compute_bytes;
    if l.gpu.limits.max_compute_workgroup_storage_size < shared {
        return Err(unsupported(
            "matmul (device limits)",
            dtype,
            &l.features().name,
        ));
    }
    Ok(repr)
}

/// Runs a `Matmul` kernel.
pub(crate) fn matmul(l: &Launch<'_>, inputs: &[Input], spec: &BufferSpec) -> Result<wgpu::Buffer> {
    let repr = check_device(l, spec.dtype)?;
    let rank = spec.shape.len();
    if rank < 2 || inputs.is_empty() || !inputs.len().is_multiple_of(2) {
        return Err(bad(format!(
            "{} inputs for an output of shape {:?}",
            inputs.len(),
            spec.shape.as_slice()
        )));
    }
    if let Some(i) = inputs.iter().find(|i| i.repr.dtype != spec.dtype) {
        return Err(Error::DTypeMismatch {
            expected: spec.dtype,
            actual: i.repr.dtype,
        });
    }
    let n_out = count(&spec.shape, "matmul output")?;
    // Validate every pair, then keep those that add something (at least the first).
    let mut launches = Vec::new();
    for ab in inputs.chunks_exact(2) {
        let (params, tiles, depth) =
            pair_params(&ab[0], &ab[1], &spec.shape, !launches.is_empty())?;
        if depth > 0 {
            launches.push((params, tiles, ab));
        }
    }
    if launches.is_empty() {
        // Every depth is 0: the first pair's launch writes the zeros.
        let ab = &inputs[..2];
        let (params, tiles, _) = pair_params(&ab[0], &ab[1], &spec.shape, false)?;
        launches.push((params, tiles, ab));
    }
    let f32_out = spec.dtype == DType::F16 && launches.len() > 1;
    let variant = Variant { repr, f32_out };
    let bindings = [Access::Read, Access::Read, Access::ReadWrite];
    let pipeline = l.pipeline("matmul", &variant.key(), &bindings, || source(variant))?;
    let round = if f32_out {
        let key = format!("round {}", variant.key());
        let bindings = [Access::Read, Access::ReadWrite];
        Some(l.pipeline("matmul", &key, &bindings, || {
            round_source(repr, l.features())
        })?)
    } else {
        None
    };
    let out = l.alloc(repr, n_out)?;
    let sums = if f32_out {
        Some(l.alloc(l.repr(DType::F32, "matmul")?, n_out)?)
    } else {
        None
    };
    let target = sums.as_ref().unwrap_or(&out);
    let mut steps: Vec<Step<'_>> = launches
        .into_iter()
        .map(|(params, tiles, ab)| Step {
            pipeline: &pipeline,
            buffers: vec![&ab[0].buffer, &ab[1].buffer, target],
            params,
            // The grid helper makes one workgroup per `workgroup` threads: one per tile, and
            // the shader's own workgroup size is free.
            threads: tiles * u64::from(l.features().workgroup),
        })
        .collect();
    if let (Some(round), Some(sums)) = (&round, &sums) {
        let mut params = Params::new();
        params.len(n_out, "matmul output")?;
        steps.push(Step {
            pipeline: round,
            buffers: vec![sums, &out],
            params,
            threads: n_out as u64,
        });
    }
    l.submit(&steps)?;
    Ok(out)
}

/// Every matmul shader for a device with `f`.
#[cfg(test)]
pub(crate) fn shaders(f: &Features) -> Result<Vec<(String, String)>> {
    let mut dtypes = vec![DType::F32, DType::F16, DType::I32, DType::U32, DType::U8];
    if f.f64 {
        dtypes.push(DType::F64);
    }
    let mut out = Vec::new();
    for dtype in dtypes {
        let repr = Repr::of(dtype, f, "matmul")?;
        for f32_out in [false, true] {
            if f32_out && dtype != DType::F16 {
                continue;
            }
            let v = Variant { repr, f32_out };
            out.push((format!("matmul {}", v.key()), source(v)?));
        }
        if dtype == DType::F16 {
            out.push((format!("matmul round {dtype}"), round_source(repr, f)?));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_offsets_broadcast_like_numpy() {
        // (2, 3) batches of 10-element matrices read from a (3,) batch operand.
        assert_eq!(
            batch_offsets(&[3], &[2, 3], 10).unwrap(),
            vec![0, 10, 20, 0, 10, 20]
        );
        assert_eq!(
            batch_offsets(&[2, 1], &[2, 3], 5).unwrap(),
            vec![0, 0, 0, 5, 5, 5]
        );
        assert_eq!(batch_offsets(&[], &[4], 7).unwrap(), vec![0; 4]);
        assert_eq!(batch_offsets(&[], &[], 7).unwrap(), vec![0]);
        assert!(batch_offsets(&[2], &[3], 1).is_err());
        assert!(batch_offsets(&[1, 2], &[2], 1).is_err());
    }
}
