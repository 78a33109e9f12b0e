//! The `.npy` header: the magic string, the format version, and the Python dict that gives the
//! dtype, the memory order and the shape.
//!
//! Layout (NumPy's `numpy.lib.format`): `\x93NUMPY`, one byte major and one byte minor version,
//! the header length (u16 little-endian in 1.0, u32 in 2.0 and 3.0), then the dict padded with
//! spaces and a newline so the data starts at a multiple of 64 bytes.

use super::literal::{self, Node, Value};
use tilework_core::DType;

pub(crate) const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// NumPy aligns the start of the data to this many bytes so the data can be mapped and used
/// in place with any element type.
const DATA_ALIGN: usize = 64;

const SUPPORTED: &str = "tilework reads bool, u8, i32, i64, u32, f16, f32, f64";

/// Longest excerpt of a bad header quoted in an error; the rest adds nothing for the reader.
const MAX_QUOTE: usize = 80;

/// What a `.npy` header says about the data that follows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) dtype: DType,
    pub(crate) big_endian: bool,
    pub(crate) fortran_order: bool,
    pub(crate) shape: Vec<usize>,
    /// Byte offset of the first element in the file.
    pub(crate) data_offset: usize,
    /// Bytes of element data the shape and dtype call for.
    pub(crate) data_len: usize,
}

/// Parses the header at the start of `file` (the whole file, or at least its header). The error
/// is a message for the caller to attach the path to.
pub(crate) fn parse(file: &[u8]) -> Result<Header, String> {
    if file.len() < MAGIC.len() || &file[..MAGIC.len()] != MAGIC {
        return Err("not a .npy file (it does not start with the magic string \\x93NUMPY)".into());
    }
    let (major, minor) = match file.get(6..8) {
        Some(&[major, minor]) => (major, minor),
        _ => return Err(truncated_header(8, file.len())),
    };
    let length_bytes = match (major, minor) {
        (1, 0) => 2,
        (2, 0) | (3, 0) => 4,
        _ => {
            return Err(format!(
                "unsupported .npy format version {major}.{minor} (tilework reads 1.0, 2.0 and 3.0)"
            ));
        }
    };
    let dict_start = 8 + length_bytes;
    let length_field = file
        .get(8..dict_start)
        .ok_or_else(|| truncated_header(dict_start, file.len()))?;
    let dict_len = length_field
        .iter()
        .rev()
        .fold(0usize, |acc, &byte| (acc << 8) | usize::from(byte));
    let data_offset = dict_start.checked_add(dict_len).ok_or_else(|| {
        format!("truncated header: a {dict_len}-byte header does not fit in memory")
    })?;
    let dict_bytes = file
        .get(dict_start..data_offset)
        .ok_or_else(|| truncated_header(data_offset, file.len()))?;
    // Versions 1.0 and 2.0 store the dict in Latin-1; 3.0 added UTF-8 for field names.
    let dict_text: String = if major == 3 {
        std::str::from_utf8(dict_bytes)
            .map_err(|e| format!("header of a version 3.0 file is not UTF-8: {e}"))?
            .to_owned()
    } else {
        dict_bytes.iter().map(|&byte| char::from(byte)).collect()
    };
    interpret(&dict_text, data_offset)
}

/// Checks that a file (or archive member) of `actual` bytes holds exactly the header and the
/// data it describes; trailing bytes are refused too, since they mean the header is wrong.
pub(crate) fn check_length(header: &Header, actual: usize) -> Result<(), String> {
    let expected = header.data_offset as u128 + header.data_len as u128;
    if actual as u128 == expected {
        return Ok(());
    }
    let problem = if (actual as u128) < expected {
        "truncated data"
    } else {
        "trailing bytes"
    };
    Err(format!(
        "{problem}: a {} array of shape {:?} needs {expected} bytes ({} header + {} data) but the file has {actual}",
        header.dtype, header.shape, header.data_offset, header.data_len
    ))
}

fn truncated_header(needed: usize, actual: usize) -> String {
    format!("truncated header: the header needs {needed} bytes but the file has only {actual}")
}

fn quote(text: &str) -> String {
    match text.char_indices().nth(MAX_QUOTE) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_owned(),
    }
}

/// Checks the dict and turns it into a [`Header`].
fn interpret(dict_text: &str, data_offset: usize) -> Result<Header, String> {
    let bad_dict = |why: String| format!("bad .npy header {}: {why}", quote(dict_text.trim_end()));
    let root = literal::parse(dict_text).map_err(bad_dict)?;
    let Value::Dict(entries) = root.value else {
        return Err(bad_dict("it is not a dict".into()));
    };
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    for (key, value) in entries {
        let slot = match &key.value {
            Value::Str(name) if name == "descr" => &mut descr,
            Value::Str(name) if name == "fortran_order" => &mut fortran,
            Value::Str(name) if name == "shape" => &mut shape,
            _ => {
                let key_text = quote(&dict_text[key.span]);
                return Err(bad_dict(format!("unexpected key {key_text}")));
            }
        };
        if slot.replace(value).is_some() {
            return Err(bad_dict(format!(
                "key {} appears twice",
                quote(&dict_text[key.span])
            )));
        }
    }
    let missing = |key: &str| bad_dict(format!("the key '{key}' is missing"));
    let descr = descr.ok_or_else(|| missing("descr"))?;
    let fortran = fortran.ok_or_else(|| missing("fortran_order"))?;
    let shape = shape.ok_or_else(|| missing("shape"))?;

    let (dtype, big_endian) = match &descr.value {
        Value::Str(text) => parse_descr(text),
        _ => None,
    }
    .ok_or_else(|| {
        format!(
            "unsupported dtype {} ({SUPPORTED})",
            quote(&dict_text[descr.span])
        )
    })?;
    let Value::Bool(fortran_order) = fortran.value else {
        let text = quote(&dict_text[fortran.span]);
        return Err(bad_dict(format!(
            "'fortran_order' is {text}, not True or False"
        )));
    };
    let shape = parse_shape(&shape, dict_text).map_err(bad_dict)?;
    // Refused like NumPy and ndarray: more than `isize::MAX` bytes, or (for an empty shape
    // such as `(0, 2**63)`) non-zero sizes whose product is that large.
    let data_len = tilework_core::shape::size::nbytes(&shape, dtype.size()).ok_or_else(|| {
        format!("shape {shape:?} of {dtype} has more bytes than can be addressed")
    })?;
    Ok(Header {
        dtype,
        big_endian,
        fortran_order,
        shape,
        data_offset,
        data_len,
    })
}

fn parse_shape(node: &Node, dict_text: &str) -> Result<Vec<usize>, String> {
    let not_a_shape = || {
        format!(
            "'shape' is {}, not a tuple of sizes",
            quote(&dict_text[node.span.clone()])
        )
    };
    let Value::Tuple(items) = &node.value else {
        return Err(not_a_shape());
    };
    items
        .iter()
        .map(|item| match item.value {
            Value::Int(len) => usize::try_from(len).map_err(|_| not_a_shape()),
            _ => Err(not_a_shape()),
        })
        .collect()
}

/// The dtype and byte order (true for big-endian) of a NumPy type string such as `<f4`, or
/// `None` when tilework has no such dtype.
fn parse_descr(descr: &str) -> Option<(DType, bool)> {
    let native_big = cfg!(target_endian = "big");
    let (order, code) = match descr.as_bytes().first()? {
        b'<' => (Some(false), &descr[1..]),
        b'>' => (Some(true), &descr[1..]),
        // `=` and a missing prefix both mean "the writer's native order"; NumPy itself resolves
        // them against the reading machine, so do the same.
        b'=' => (Some(native_big), &descr[1..]),
        b'|' => (None, &descr[1..]),
        _ => (Some(native_big), descr),
    };
    let dtype = match code {
        "b1" => DType::Bool,
        "u1" => DType::U8,
        "i4" => DType::I32,
        "i8" => DType::I64,
        "u4" => DType::U32,
        "f2" => DType::F16,
        "f4" => DType::F32,
        "f8" => DType::F64,
        _ => return None,
    };
    match (order, dtype.size()) {
        // Byte order is meaningless for single bytes, so any prefix is fine.
        (_, 1) => Some((dtype, false)),
        (Some(big_endian), _) => Some((dtype, big_endian)),
        // `|` ("not applicable") on a multi-byte type leaves the byte order unknown.
        (None, _) => None,
    }
}

/// The little-endian type string tilework writes for `dtype`.
fn descr_of(dtype: DType) -> &'static str {
    match dtype {
        DType::Bool => "|b1",
        DType::U8 => "|u1",
        DType::I32 => "<i4",
        DType::I64 => "<i8",
        DType::U32 => "<u4",
        DType::F16 => "<f2",
        DType::F32 => "<f4",
        DType::F64 => "<f8",
    }
}

/// A complete header (magic to newline) for a C-order little-endian array, as NumPy writes it:
/// version 1.0 unless the dict does not fit a u16 length, then 2.0. Fails only for a shape
/// with so many axes that even version 2.0 cannot hold it.
pub(crate) fn encode(dtype: DType, shape: &[usize]) -> Result<Vec<u8>, String> {
    let shape_text = match shape {
        [len] => format!("({len},)"),
        _ => {
            let lens: Vec<String> = shape.iter().map(usize::to_string).collect();
            format!("({})", lens.join(", "))
        }
    };
    let dict = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': {shape_text}, }}",
        descr_of(dtype)
    );
    // The dict is padded so the data starts at a multiple of DATA_ALIGN; returns its padded
    // length for a header whose length field has `length_bytes` bytes.
    let padded_dict_len = |length_bytes: usize| {
        let prefix = MAGIC.len() + 2 + length_bytes;
        (prefix + dict.len() + 1).div_ceil(DATA_ALIGN) * DATA_ALIGN - prefix
    };
    let mut out = Vec::new();
    out.extend_from_slice(MAGIC);
    let dict_len = match u16::try_from(padded_dict_len(2)) {
        Ok(len16) => {
            out.extend_from_slice(&[1, 0]);
            out.extend_from_slice(&len16.to_le_bytes());
            usize::from(len16)
        }
        Err(_) => {
            let dict_len = padded_dict_len(4);
            let len32 = u32::try_from(dict_len).map_err(|_| {
                format!("a shape of {} axes does not fit a .npy header", shape.len())
            })?;
            out.extend_from_slice(&[2, 0]);
            out.extend_from_slice(&len32.to_le_bytes());
            dict_len
        }
    };
    let dict_end = out.len() + dict_len - 1;
    out.extend_from_slice(dict.as_bytes());
    out.resize(dict_end, b' ');
    out.push(b'\n');
    Ok(out)
}
