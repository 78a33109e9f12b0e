//! Decoding a stored chunk through the array's codec chain, layer by layer as `zarrs` does it,
//! with one check `zarrs` lacks: the frame headers of a zstd layer must not declare more bytes
//! than that layer decodes to.
//!
//! `zarrs` decodes zstd with `zstd::bulk::decompress(data, ZSTD_decompressBound(data))`, which
//! allocates the bound before decoding anything: the content sizes the frame headers declare.
//! One flipped bit in a header can declare 2^62 bytes, and that allocation aborts the process
//! (or, past `isize::MAX`, panics). The bound is recomputed here, as zstd computes it, and a
//! chunk whose frames declare more than the layer can hold is refused before zstd sees it.

use super::MAX_CHUNK_BYTES;
use std::borrow::Cow;
use std::num::NonZeroU64;
use zarrs::array::codec::ZstdCodec;
use zarrs::array::{
    ArrayBytes, ArrayBytesRaw, ArrayToBytesCodecTraits, BytesRepresentation, CodecChain,
    CodecOptions, DataType, FillValue,
};

/// Decodes the stored bytes `encoded` of a chunk of `shape` (see the module docs). The error is
/// a message for the caller to attach the chunk to.
pub(crate) fn decode_chunk(
    chain: &CodecChain,
    encoded: Vec<u8>,
    shape: &[NonZeroU64],
    data_type: &DataType,
    fill_value: &FillValue,
    options: &CodecOptions,
) -> Result<ArrayBytes<'static>, String> {
    let text = |err: zarrs::array::CodecError| err.to_string();
    // What each bytes-to-bytes codec decodes to, innermost first.
    let (mut inner_shape, mut inner_type, mut inner_fill) =
        (shape.to_vec(), data_type.clone(), fill_value.clone());
    for codec in chain.array_to_array_codecs() {
        (inner_shape, inner_type, inner_fill) = codec
            .encoded_representation(&inner_shape, &inner_type, &inner_fill)
            .map_err(text)?;
    }
    let mut decoded_as = vec![
        chain
            .array_to_bytes_codec()
            .encoded_representation(&inner_shape, &inner_type, &inner_fill)
            .map_err(text)?,
    ];
    for codec in chain.bytes_to_bytes_codecs() {
        let outer = codec.encoded_representation(&decoded_as[decoded_as.len() - 1]);
        decoded_as.push(outer);
    }
    let mut bytes: ArrayBytesRaw<'static> = Cow::Owned(encoded);
    for (codec, decoded) in chain.bytes_to_bytes_codecs().iter().zip(&decoded_as).rev() {
        if codec.as_any().is::<ZstdCodec>() {
            check_zstd_frames(&bytes, decoded)?;
        }
        bytes = codec.decode(bytes, decoded, options).map_err(text)?;
    }
    let rest = CodecChain::new(
        chain.array_to_array_codecs().to_vec(),
        chain.array_to_bytes_codec().clone(),
        Vec::new(),
    );
    rest.decode(bytes, shape, data_type, fill_value, options)
        .map(ArrayBytes::into_owned)
        .map_err(text)
}

/// Refuses zstd data whose frames declare more than `decoded` can hold: exactly its size when
/// every frame states its content size, else (a frame's bound is then its block count times
/// its largest block, which real data can exceed) the larger of that size and
/// [`MAX_CHUNK_BYTES`].
fn check_zstd_frames(data: &[u8], decoded: &BytesRepresentation) -> Result<(), String> {
    let Some(declared) = zstd_bound(data) else {
        // Not well-formed frames: zstd finds no bound either, and then decodes by streaming,
        // allocating only as output appears (and fails on the first bad frame).
        return Ok(());
    };
    let expected = decoded.size();
    let limit = match (expected, declared.every_size_known) {
        (Some(size), true) => size,
        (Some(size), false) => size.max(MAX_CHUNK_BYTES),
        (None, _) => MAX_CHUNK_BYTES,
    };
    if declared.bound <= limit {
        return Ok(());
    }
    let what = match expected {
        Some(size) => format!("its zstd layer decodes to {size} bytes"),
        None => format!("a chunk decodes to at most {MAX_CHUNK_BYTES} bytes"),
    };
    Err(format!(
        "its zstd frame headers declare up to {} decoded bytes, but {what} (the chunk or the \
         array's metadata is corrupt)",
        declared.bound
    ))
}

/// What zstd frame headers declare, as `ZSTD_decompressBound` (zstd 1.5) adds it up.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Declared {
    /// The most bytes the frames decode to, by their headers.
    pub(super) bound: u64,
    /// Every frame states its content size (else its bound is blocks times block size).
    pub(super) every_size_known: bool,
}

const MAGIC: u32 = 0xFD2F_B528;
const SKIPPABLE_MASK: u32 = 0xFFFF_FFF0;
const SKIPPABLE_MAGIC: u32 = 0x184D_2A50;
/// Frames of zstd before 1.0 (v0.1, whose magic is stored big-endian, then v0.2 to v0.7).
const LEGACY_MAGIC_V01: u32 = 0x1EB5_2FFD;
const LEGACY_MAGICS: std::ops::RangeInclusive<u32> = 0xFD2F_B522..=0xFD2F_B527;
const BLOCK_SIZE_MAX: u64 = 1 << 17;
const BLOCK_HEADER: usize = 3;
const WINDOW_LOG_MIN: u32 = 10;
const WINDOW_LOG_MAX: u32 = if usize::BITS == 32 { 30 } else { 31 };
/// `ZSTD_CONTENTSIZE_UNKNOWN`: a content size field holding it states no size.
const SIZE_UNKNOWN: u64 = u64::MAX;

fn le(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .rev()
        .fold(0, |acc, &byte| (acc << 8) | u64::from(byte))
}

/// The bound of the frames in `data`, or `None` when they are not well-formed (`zstd` then
/// finds no bound either).
pub(super) fn zstd_bound(data: &[u8]) -> Option<Declared> {
    let mut declared = Declared {
        bound: 0,
        every_size_known: true,
    };
    let mut rest = data;
    while !rest.is_empty() {
        let magic = le(rest.get(..4)?) as u32;
        let (len, bound, size_known) = if magic == MAGIC {
            frame(rest)?
        } else if rest.len() >= 8 && magic & SKIPPABLE_MASK == SKIPPABLE_MAGIC {
            let len = 8usize.checked_add(usize::try_from(le(&rest[4..8])).ok()?)?;
            (len, 0, true)
        } else if magic == LEGACY_MAGIC_V01 || LEGACY_MAGICS.contains(&magic) {
            // A legacy frame's bound is its block count times 128 KiB, and every block takes at
            // least its 3-byte header: this bounds the rest of the data, whatever it holds.
            let blocks = (rest.len() / BLOCK_HEADER) as u64;
            (rest.len(), blocks.saturating_mul(BLOCK_SIZE_MAX), false)
        } else {
            return None;
        };
        declared.bound = declared.bound.saturating_add(bound);
        declared.every_size_known &= size_known;
        rest = rest.get(len..)?;
    }
    Some(declared)
}

/// The length of the zstd frame at the start of `data`, its bound, and whether its header
/// states its content size (else the bound is its block count times its largest block).
fn frame(data: &[u8]) -> Option<(usize, u64, bool)> {
    let descriptor = *data.get(4)?;
    if descriptor & 0x08 != 0 {
        return None;
    }
    let single_segment = descriptor & 0x20 != 0;
    let mut at = 5;
    let mut window = 0u64;
    if !single_segment {
        let byte = *data.get(at)?;
        at += 1;
        let log = u32::from(byte >> 3) + WINDOW_LOG_MIN;
        if log > WINDOW_LOG_MAX {
            return None;
        }
        window = 1 << log;
        window += (window >> 3) * u64::from(byte & 7);
    }
    at += [0, 1, 2, 4][usize::from(descriptor & 3)];
    let size_len = match descriptor >> 6 {
        0 => usize::from(single_segment),
        1 => 2,
        2 => 4,
        _ => 8,
    };
    let field = data.get(at..at + size_len)?;
    at += size_len;
    let content_size = match size_len {
        0 => SIZE_UNKNOWN,
        2 => le(field) + 256,
        _ => le(field),
    };
    if single_segment {
        window = content_size;
    }
    let mut blocks = 0u64;
    loop {
        let header = le(data.get(at..at + BLOCK_HEADER)?);
        let stored = match (header >> 1) & 3 {
            1 => 1,
            3 => return None,
            _ => usize::try_from(header >> 3).ok()?,
        };
        at = at.checked_add(BLOCK_HEADER + stored)?;
        if at > data.len() {
            return None;
        }
        blocks += 1;
        if header & 1 != 0 {
            break;
        }
    }
    if descriptor & 0x04 != 0 {
        at += 4;
        if at > data.len() {
            return None;
        }
    }
    if content_size == SIZE_UNKNOWN {
        Some((at, blocks.saturating_mul(window.min(BLOCK_SIZE_MAX)), false))
    } else {
        Some((at, content_size, true))
    }
}
