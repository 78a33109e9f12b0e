//! Bad input gives an `Error::Io` naming the array (and the chunk), never a panic.

use super::super::{Codec, ZarrReader, ZarrWriteOptions, ZarrWriter};
use super::{TempDir, copy_fixture, fixture, region};
use std::sync::Arc;
use tilework_core::{ChunkReader, ChunkWriter, DType, Error, HostArray, Result};
use zarrs::storage::store::MemoryStore;

/// Asserts that `result` is an `Error::Io` whose path ends with `path_end` and whose message
/// contains every one of `needles`.
fn assert_io_error<T: std::fmt::Debug>(result: Result<T>, path_end: &str, needles: &[&str]) {
    match result {
        Err(Error::Io { path, message }) => {
            assert!(path.ends_with(path_end), "path {path} (message {message})");
            for needle in needles {
                assert!(message.contains(needle), "{message:?} lacks {needle:?}");
            }
        }
        other => panic!("expected an Io error about {path_end}, got {other:?}"),
    }
}

fn open_with_metadata(dir: &TempDir, name: &str, metadata: &str) -> Result<ZarrReader> {
    let path = dir.join(name);
    std::fs::create_dir_all(&path).expect("mkdir");
    std::fs::write(path.join("zarr.json"), metadata).expect("write zarr.json");
    ZarrReader::open(&path)
}

#[test]
fn missing_path_and_non_arrays() {
    let dir = TempDir::new("non-arrays");
    assert_io_error(ZarrReader::open(dir.join("nope.zarr")), "nope.zarr", &[]);
    let file = dir.join("file.zarr");
    std::fs::write(&file, b"not a directory").expect("write");
    assert_io_error(ZarrReader::open(&file), "file.zarr", &["not a directory"]);
    let empty = dir.join("empty.zarr");
    std::fs::create_dir(&empty).expect("mkdir");
    assert_io_error(
        ZarrReader::open(&empty),
        "empty.zarr",
        &["not a Zarr array"],
    );
}

#[test]
fn corrupt_metadata() {
    let dir = TempDir::new("metadata");
    assert_io_error(
        open_with_metadata(&dir, "a.zarr", "{ not json"),
        "a.zarr",
        &["zarr.json"],
    );
    assert_io_error(
        open_with_metadata(&dir, "b.zarr", ""),
        "b.zarr",
        &["zarr.json"],
    );
    // Valid JSON, wrong fields: no shape; a string shape; a group.
    let no_shape = r#"{"zarr_format": 3, "node_type": "array", "data_type": "float32"}"#;
    assert_io_error(open_with_metadata(&dir, "c.zarr", no_shape), "c.zarr", &[]);
    let metadata = std::fs::read_to_string(fixture("dtype_float32.zarr/zarr.json")).expect("read");
    let string_shape = metadata.replacen(
        "\"shape\": [\n    10,\n    7\n  ]",
        "\"shape\": \"10x7\"",
        1,
    );
    assert_ne!(string_shape, metadata, "the fixture's shape was found");
    assert_io_error(
        open_with_metadata(&dir, "d.zarr", &string_shape),
        "d.zarr",
        &[],
    );
    let group = r#"{"zarr_format": 3, "node_type": "group", "attributes": {}}"#;
    assert_io_error(open_with_metadata(&dir, "e.zarr", group), "e.zarr", &[]);
    let chunk_mismatch = metadata.replacen(
        "\"chunk_shape\": [\n        4,\n        3\n      ]",
        "\"chunk_shape\": [4]",
        1,
    );
    assert_ne!(
        chunk_mismatch, metadata,
        "the fixture's chunk shape was found"
    );
    assert_io_error(
        open_with_metadata(&dir, "f.zarr", &chunk_mismatch),
        "f.zarr",
        &[],
    );
}

#[test]
fn unsupported_dtypes() {
    let supported = "(tilework reads bool, uint8, int32, int64, uint32, float16, float32, float64)";
    let path = fixture("unsupported_complex64.zarr");
    let location = path.display().to_string();
    let expected = format!("unsupported dtype 'complex64' in {location} {supported}");
    assert_io_error(
        ZarrReader::open(&path),
        "unsupported_complex64.zarr",
        &[&expected],
    );

    let dir = TempDir::new("dtypes");
    let metadata = std::fs::read_to_string(fixture("dtype_int32.zarr/zarr.json")).expect("read");
    for (dtype, fill) in [
        ("int16", "0"),
        ("uint64", "0"),
        ("float8_e4m3", "0"),
        ("string", "\"\""),
    ] {
        let changed = metadata
            .replace("\"int32\"", &format!("\"{dtype}\""))
            .replace("\"fill_value\": 0", &format!("\"fill_value\": {fill}"));
        let name = format!("{dtype}.zarr");
        let wanted = format!("unsupported dtype '{dtype}'");
        assert_io_error(
            open_with_metadata(&dir, &name, &changed),
            &name,
            &[&wanted, supported],
        );
    }
    let unknown = metadata.replace("\"int32\"", "\"quaternion256\"");
    assert_io_error(
        open_with_metadata(&dir, "unknown.zarr", &unknown),
        "unknown.zarr",
        &["unsupported dtype in", "quaternion256", supported],
    );
}

#[test]
fn irregular_chunk_grids_are_refused() {
    let dir = TempDir::new("grid");
    let metadata = std::fs::read_to_string(fixture("dtype_int32.zarr/zarr.json")).expect("read");
    let grid = metadata
        .find("\"chunk_grid\"")
        .zip(metadata.find("\"chunk_key_encoding\""))
        .expect("the fixture has a chunk grid");
    let rectilinear = r#""chunk_grid": {"name": "rectilinear", "configuration": {"kind": "inline", "chunk_shapes": [[4, 4, 2], [3, 3, 1]]}},
  "#;
    let changed = format!(
        "{}{rectilinear}{}",
        &metadata[..grid.0],
        &metadata[grid.1..]
    );
    assert_io_error(
        open_with_metadata(&dir, "g.zarr", &changed),
        "g.zarr",
        &["chunk grid 'rectilinear' is not supported"],
    );
}

/// Replaces chunk `key` of fixture `name` (copied into `dir`) with `bytes`, and checks that
/// reading the chunk whole, in part, and as part of a larger region fails naming the chunk.
fn check_damaged_chunk(
    dir: &TempDir,
    name: &str,
    key: &str,
    index: &[usize],
    damage: impl Fn(Vec<u8>) -> Vec<u8>,
) {
    let path = copy_fixture(name, dir);
    let chunk_path = path.join(key);
    let original = std::fs::read(&chunk_path).expect("read chunk");
    std::fs::write(&chunk_path, damage(original)).expect("write chunk");
    let reader = ZarrReader::open(&path).expect("metadata is intact");
    let shape = reader.shape().to_vec();
    let start: Vec<usize> = index
        .iter()
        .zip(reader.chunk_shape())
        .map(|(i, c)| i * c)
        .collect();
    let chunk_size: Vec<usize> = (0..shape.len())
        .map(|axis| reader.chunk_shape()[axis].min(shape[axis] - start[axis]))
        .collect();
    let ones = vec![1; shape.len()];
    let whole_chunk = region(&start, &chunk_size);
    let one_element = region(&start, &ones);
    let everything = region(&vec![0; shape.len()], &shape);
    for region in [whole_chunk, one_element, everything] {
        assert_io_error(reader.read(&region), name, &[&format!("{index:?}"), key]);
    }
    // The other chunks still read.
    let elsewhere: Vec<usize> = if start.iter().all(|&s| s == 0) {
        shape.iter().map(|&s| s - 1).collect()
    } else {
        vec![0; shape.len()]
    };
    assert!(reader.read(&region(&elsewhere, &ones)).is_ok());
}

#[test]
fn garbage_chunks() {
    let dir = TempDir::new("garbage");
    let garbage = |bytes: Vec<u8>| bytes.iter().map(|b| b ^ 0x5a).collect();
    for name in [
        "codec_zstd.zarr",
        "codec_gzip.zarr",
        "codec_blosc_lz4_shuffle.zarr",
        "codec_blosc_zstd.zarr",
    ] {
        check_damaged_chunk(&dir, name, "c/1/0", &[1, 0], garbage);
    }
    check_damaged_chunk(&dir, "v2_float32.zarr", "1.0", &[1, 0], garbage);
    // A bool chunk holding a byte that is neither 0 nor 1.
    let path = dir.join("bool.zarr");
    let writer = ZarrWriter::create(
        &path,
        DType::Bool,
        &[4],
        &[2],
        &ZarrWriteOptions {
            codec: Codec::None,
            ..Default::default()
        },
    )
    .expect("create");
    drop(writer);
    std::fs::create_dir_all(path.join("c")).expect("mkdir");
    std::fs::write(path.join("c/1"), [1u8, 2]).expect("write");
    let reader = ZarrReader::open(&path).expect("open");
    assert_io_error(
        reader.read(&region(&[0], &[4])),
        "bool.zarr",
        &["[1]", "c/1"],
    );
}

#[test]
fn truncated_chunks() {
    let dir = TempDir::new("truncated");
    let half = |bytes: Vec<u8>| bytes[..bytes.len() / 2].to_vec();
    for name in [
        "codec_zstd.zarr",
        "codec_gzip.zarr",
        "codec_blosc_lz4_shuffle.zarr",
        "codec_none.zarr",
    ] {
        check_damaged_chunk(&dir, name, "c/1/2", &[1, 2], half);
    }
    let empty = |_: Vec<u8>| Vec::new();
    check_damaged_chunk(&dir, "codec_zstd.zarr", "c/0/0", &[0, 0], empty);
}

#[test]
fn chunks_whose_size_disagrees_with_the_metadata() {
    let dir = TempDir::new("size");
    // Raw `bytes` chunks: 4 bytes short, and 4 bytes too many.
    check_damaged_chunk(&dir, "codec_none.zarr", "c/0/1", &[0, 1], |bytes| {
        bytes[..bytes.len() - 4].to_vec()
    });
    check_damaged_chunk(&dir, "codec_none.zarr", "c/1/1", &[1, 1], |mut bytes| {
        bytes.extend_from_slice(&[0; 4]);
        bytes
    });
    // A well-formed zstd frame of the wrong length.
    check_damaged_chunk(&dir, "codec_zstd.zarr", "c/0/0", &[0, 0], |_| {
        zstd_frame(&[7; 10])
    });
}

/// A zstd frame holding `bytes`, taken from a chunk of our own writer.
fn zstd_frame(bytes: &[u8]) -> Vec<u8> {
    let dir = TempDir::new("frame");
    let path = dir.join("u8.zarr");
    let writer = ZarrWriter::create(
        &path,
        DType::U8,
        &[bytes.len()],
        &[bytes.len()],
        &ZarrWriteOptions::default(),
    )
    .expect("create");
    let data = HostArray::from_vec(bytes.to_vec(), &[bytes.len()]).expect("data");
    writer
        .write(&region(&[0], &[bytes.len()]), &data)
        .expect("write");
    std::fs::read(path.join("c/0")).expect("read chunk")
}

#[test]
fn regions_outside_the_array() -> Result<()> {
    let reader = ZarrReader::open(fixture("dtype_float32.zarr"))?;
    for bad in [
        region(&[0, 0], &[11, 7]),
        region(&[10, 0], &[1, 1]),
        region(&[0], &[1]),
        region(&[0, 0, 0], &[1, 1, 1]),
        region(&[usize::MAX, 0], &[2, 1]),
    ] {
        let err = reader.read(&bad).expect_err("out of bounds");
        assert!(err.to_string().contains("dtype_float32.zarr"), "{err}");
    }
    Ok(())
}

#[test]
fn sizes_too_large_for_memory_are_refused_not_allocated() -> Result<()> {
    let dir = TempDir::new("huge");
    let metadata = std::fs::read_to_string(fixture("dtype_float32.zarr/zarr.json")).expect("read");
    let fixture_shape = "\"shape\": [\n    10,\n    7\n  ]";
    assert!(metadata.contains(fixture_shape));
    let huge_shape = metadata.replacen(fixture_shape, "\"shape\": [4611686018427387904, 7]", 1);
    let reader = open_with_metadata(&dir, "huge.zarr", &huge_shape)?;
    let everything = region(&[0, 0], &[1 << 62, 7]);
    assert!(reader.read(&everything).is_err());
    assert_eq!(reader.read(&region(&[0, 0], &[2, 2]))?.len(), 4);

    let chunk = "\"chunk_shape\": [\n        4,\n        3\n      ]";
    assert!(metadata.contains(chunk));
    let huge_chunk = huge_shape.replacen(chunk, "\"chunk_shape\": [4611686018427387904, 3]", 1);
    assert_io_error(
        open_with_metadata(&dir, "huge_chunk.zarr", &huge_chunk),
        "huge_chunk.zarr",
        &["too large"],
    );

    let store = Arc::new(MemoryStore::new());
    let huge = usize::MAX / 4;
    let err = ZarrWriter::create_in_store(
        store,
        "/",
        DType::F64,
        &[huge, huge],
        &[huge, 2],
        &ZarrWriteOptions::default(),
    )
    .expect_err("chunk too large");
    assert!(err.to_string().contains("too large"), "{err}");
    Ok(())
}
