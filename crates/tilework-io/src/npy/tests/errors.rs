//! Bad input to the reader: every case is an error that names the file, never a panic.

use super::*;
use crate::npy::NpyReader;
use tilework_core::{ChunkReader, Error};

/// The message of an [`Error::Io`] about `path`, failing the test for anything else.
fn io_message(result: tilework_core::Result<NpyReader>, path: &Path) -> String {
    match result {
        Err(Error::Io {
            path: named,
            message,
        }) => {
            assert_eq!(named, path.display().to_string());
            message
        }
        Err(other) => panic!("expected an I/O error, got {other:?}"),
        Ok(reader) => panic!("{} opened: {reader:?}", path.display()),
    }
}

fn open_fails(path: &Path) -> String {
    io_message(NpyReader::open(path), path)
}

/// Bytes of a `.npy` file with a hand-written header dict (version 1.0) and `data_len` bytes.
fn file_with_dict(dict: &str, data_len: usize) -> Vec<u8> {
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    let padded = format!("{dict:<118}\n");
    bytes.extend_from_slice(&(padded.len() as u16).to_le_bytes());
    bytes.extend_from_slice(padded.as_bytes());
    bytes.resize(bytes.len() + data_len, 0);
    bytes
}

#[test]
fn missing_path() {
    let dir = TempDir::new("missing");
    let path = dir.join("absent.npy");
    assert!(open_fails(&path).contains("cannot open"));
}

#[test]
fn directory_and_empty_file() {
    let dir = TempDir::new("not-a-file");
    assert!(open_fails(&dir.0).contains("not a regular file"));
    let empty = dir.join("empty.npy");
    std::fs::write(&empty, b"").expect("temp dir is writable");
    assert!(open_fails(&empty).contains("empty file"));
}

#[test]
fn wrong_magic() {
    assert!(open_fails(&fixture("bad_magic.npy")).contains("not a .npy file"));
}

#[test]
fn truncated_header() {
    let message = open_fails(&fixture("bad_truncated_header.npy"));
    assert!(message.contains("truncated header"), "{message}");
    let dir = TempDir::new("short-header");
    for length in [6, 7, 9] {
        let path = dir.join(&format!("short{length}.npy"));
        std::fs::write(&path, &b"\x93NUMPY\x01\x00\x76\x00"[..length]).expect("writable");
        assert!(open_fails(&path).contains("truncated header"));
    }
}

#[test]
fn truncated_data_names_expected_and_actual_bytes() {
    let message = open_fails(&fixture("bad_truncated_data.npy"));
    // 13 x 17 f8 = 1768 data bytes after a 128-byte header; the file lost its last 13 bytes.
    assert!(message.contains("truncated data"), "{message}");
    assert!(
        message.contains("1896") && message.contains("1883"),
        "{message}"
    );
}

#[test]
fn unsupported_dtypes_name_the_descr_and_the_supported_list() {
    let supported = "(tilework reads bool, u8, i32, i64, u32, f16, f32, f64)";
    for (name, descr) in [
        ("bad_c8.npy", "'<c8'"),
        ("bad_structured.npy", "[('a', '<i4')]"),
        ("bad_object.npy", "'|O'"),
        ("bad_u3.npy", "'<U3'"),
        ("bad_i2.npy", "'<i2'"),
    ] {
        let message = open_fails(&fixture(name));
        assert_eq!(
            message,
            format!("unsupported dtype {descr} {supported}"),
            "{name}"
        );
    }
}

#[test]
fn header_shape_disagreeing_with_file_size() {
    let dir = TempDir::new("shape-size");
    let good = std::fs::read(fixture("f4_c.npy")).expect("fixture exists");
    let at = good
        .windows(8)
        .position(|window| window == b"(13, 17)")
        .expect("the fixture's header holds its shape");
    for (shape, problem) in [
        ("(13, 16)", "trailing bytes"),
        ("(14, 17)", "truncated data"),
        ("(9, 999)", "truncated data"),
    ] {
        let mut bytes = good.clone();
        bytes[at..at + 8].copy_from_slice(shape.as_bytes());
        let path = dir.join("edited.npy");
        std::fs::write(&path, &bytes).expect("writable");
        let message = open_fails(&path);
        assert!(message.starts_with(problem), "{shape}: {message}");
        assert!(message.contains(&good.len().to_string()), "{message}");
    }
}

#[test]
fn garbage_header_dicts() {
    let dir = TempDir::new("garbage");
    let cases = [
        ("not a dict", "[1, 2]"),
        (
            "not a literal",
            "{'descr': <f4, 'fortran_order': False, 'shape': (2,), }",
        ),
        ("missing key", "{'descr': '<f4', 'shape': (2,), }"),
        (
            "extra key",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}",
        ),
        (
            "repeated key",
            "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}",
        ),
        (
            "order not bool",
            "{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}",
        ),
        (
            "negative size",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (-2,)}",
        ),
        (
            "shape list",
            "{'descr': '<f4', 'fortran_order': False, 'shape': [2]}",
        ),
        (
            "shape of strings",
            "{'descr': '<f4', 'fortran_order': False, 'shape': ('2',)}",
        ),
        (
            "unclosed string",
            "{'descr': '<f4, 'fortran_order': False, 'shape': (2,)}",
        ),
        (
            "huge size",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296)}",
        ),
        (
            "unclosed dict",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)",
        ),
        (
            "trailing junk",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} x",
        ),
        ("empty", ""),
    ];
    for (why, dict) in cases {
        let path = dir.join("garbage.npy");
        std::fs::write(&path, file_with_dict(dict, 8)).expect("writable");
        let message = open_fails(&path);
        assert!(
            message.contains("header") || message.contains("shape"),
            "{why}: {message}"
        );
    }
}

#[test]
fn unknown_format_version() {
    let dir = TempDir::new("version");
    let mut bytes = std::fs::read(fixture("u1_c.npy")).expect("fixture exists");
    bytes[6] = 4;
    let path = dir.join("v4.npy");
    std::fs::write(&path, &bytes).expect("writable");
    assert!(open_fails(&path).contains("unsupported .npy format version 4.0"));
}

#[test]
fn nonzero_bool_bytes_read_as_true() {
    let dir = TempDir::new("bool-bytes");
    let mut bytes = file_with_dict(
        "{'descr': '|b1', 'fortran_order': False, 'shape': (5,), }",
        0,
    );
    bytes.extend_from_slice(&[0, 1, 2, 128, 255]);
    let path = dir.join("bools.npy");
    std::fs::write(&path, &bytes).expect("writable");
    let reader = NpyReader::open(&path).expect("valid header");
    let read = reader.read(&region(&[0], &[5])).expect("in bounds");
    let expected =
        HostArray::from_vec(vec![false, true, true, true, true], &[5]).expect("5 values");
    assert_identical(&read, &expected, "bool bytes");
}

#[test]
fn read_regions_out_of_bounds_are_errors() {
    let reader = NpyReader::open(fixture("i4_c.npy")).expect("fixture opens");
    for (start, shape) in [
        (vec![0, 0], vec![14, 1]),
        (vec![13, 0], vec![1, 1]),
        (vec![0, 16], vec![1, 2]),
        (vec![usize::MAX, 0], vec![2, 1]),
        (vec![0], vec![1]),
        (vec![0, 0, 0], vec![1, 1, 1]),
        (vec![0, 0], vec![1]),
    ] {
        let result = reader.read(&region(&start, &shape));
        assert!(
            matches!(&result, Err(Error::BadIndex { detail, .. }) if detail.contains("i4_c.npy")),
            "{start:?}+{shape:?}: {result:?}"
        );
    }
}
