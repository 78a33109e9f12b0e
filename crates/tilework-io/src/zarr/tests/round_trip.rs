//! Arrays written by [`ZarrWriter`] (from several threads) read back bit for bit, by
//! [`ZarrReader`] and by zarr-python.

use super::super::{BloscCompressor, Codec, ZarrReader, ZarrWriteOptions, ZarrWriter};
use super::{TempDir, assert_region_eq, formula, region, regions_to_check};
use std::path::Path;
use tilework_core::{ChunkReader, ChunkWriter, DType, HostArray, Region, Result, Scalar};

fn codecs() -> Vec<Codec> {
    vec![
        Codec::None,
        Codec::Zstd { level: 3 },
        Codec::Blosc {
            compressor: BloscCompressor::Lz4,
            level: 5,
            shuffle: true,
        },
        Codec::Blosc {
            compressor: BloscCompressor::Zstd,
            level: 3,
            shuffle: false,
        },
        Codec::Gzip { level: 5 },
    ]
}

/// The name zarr.json gives each codec.
fn codec_name(codec: &Codec) -> &'static str {
    match codec {
        Codec::None => "bytes",
        Codec::Zstd { .. } => "zstd",
        Codec::Blosc { .. } => "blosc",
        Codec::Gzip { .. } => "gzip",
    }
}

/// `expected` cut into the chunks of `chunk_shape` (some merged into multi-chunk regions, as the
/// executor may hand them over) and written from three threads at once.
fn write_from_threads(writer: &ZarrWriter, expected: &HostArray, chunk_shape: &[usize]) {
    let shape = expected.shape();
    // Blocks of 2 chunks along axis 0 (the last block may be one ragged chunk).
    let block = 2 * chunk_shape[0];
    let mut regions: Vec<Region> = Vec::new();
    for row in (0..shape[0]).step_by(block) {
        for col in (0..shape[1]).step_by(chunk_shape[1]) {
            regions.push(region(
                &[row, col],
                &[
                    block.min(shape[0] - row),
                    chunk_shape[1].min(shape[1] - col),
                ],
            ));
        }
    }
    std::thread::scope(|scope| {
        for thread in 0..3 {
            let regions = &regions;
            scope.spawn(move || {
                for region in regions.iter().skip(thread).step_by(3) {
                    let piece = expected_piece(expected, region);
                    writer.write(region, &piece).expect("write a chunk");
                }
            });
        }
    });
}

/// `region` of `full` as its own array.
fn expected_piece(full: &HostArray, region: &Region) -> HostArray {
    let values: Vec<f64> = (0..region.numel())
        .map(|flat| {
            let col = flat % region.shape[1];
            let row = flat / region.shape[1];
            full.get(&[region.start[0] + row, region.start[1] + col])
                .expect("in bounds")
                .to_f64()
        })
        .collect();
    HostArray::from_vec(values, &region.shape)
        .expect("sizes match")
        .cast(full.dtype())
}

fn options(codec: Codec) -> ZarrWriteOptions {
    ZarrWriteOptions {
        codec,
        ..ZarrWriteOptions::default()
    }
}

fn write_array(path: &Path, dtype: DType, codec: &Codec) -> Result<HostArray> {
    let expected = formula(dtype, &[10, 7]);
    let writer = ZarrWriter::create(path, dtype, &[10, 7], &[4, 3], &options(codec.clone()))?;
    write_from_threads(&writer, &expected, &[4, 3]);
    Ok(expected)
}

#[test]
fn every_codec_and_dtype_round_trips() -> Result<()> {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<ZarrWriter>();
    let dir = TempDir::new("round-trip");
    for (i, codec) in codecs().iter().enumerate() {
        for dtype in DType::ALL {
            let path = dir.join(&format!("c{i}_{dtype}.zarr"));
            let expected = write_array(&path, dtype, codec)?;
            let metadata = std::fs::read_to_string(path.join("zarr.json")).expect("zarr.json");
            assert!(
                metadata.contains(codec_name(codec)),
                "{codec:?}: {metadata}"
            );
            let reader = ZarrReader::open(&path)?;
            assert_eq!(reader.dtype(), dtype);
            assert!(reader.missing_chunks()?.is_empty(), "{codec:?} {dtype}");
            for region in regions_to_check(&[10, 7], &[4, 3]) {
                let what = format!("{codec:?} {dtype} {region:?}");
                assert_region_eq(&reader.read(&region)?, &expected, &region, &what);
            }
        }
    }
    Ok(())
}

#[test]
fn default_options_are_zstd_zero_fill_no_overwrite() {
    let options = ZarrWriteOptions::default();
    assert_eq!(options.codec, Codec::Zstd { level: 3 });
    assert_eq!(options.fill_value, None);
    assert!(!options.overwrite);
}

#[test]
fn metadata_comes_first_and_missing_chunks_are_listed() -> Result<()> {
    let dir = TempDir::new("partial");
    let path = dir.join("partial.zarr");
    let options = ZarrWriteOptions {
        fill_value: Some(Scalar::F64(9.0)),
        ..ZarrWriteOptions::default()
    };
    let writer = ZarrWriter::create(&path, DType::I32, &[10, 7], &[4, 3], &options)?;
    assert!(writer.describe().ends_with("partial.zarr"));
    let reader = ZarrReader::open(&path)?;
    assert_eq!(reader.missing_chunks()?.len(), 9, "only metadata so far");
    assert_eq!(reader.fill_value(), Scalar::I32(9));

    // A chunk that equals the fill value is stored all the same, so it is not "missing".
    let nines = HostArray::full(DType::I32, &[4, 3], Scalar::I32(9));
    writer.write(&region(&[0, 0], &[4, 3]), &nines)?;
    let edge = HostArray::full(DType::I32, &[2, 1], Scalar::I32(-4));
    writer.write(&region(&[8, 6], &[2, 1]), &edge)?;
    let missing = reader.missing_chunks()?;
    assert_eq!(missing.len(), 7);
    assert!(!missing.contains(&vec![0, 0]) && !missing.contains(&vec![2, 2]));

    let whole = reader.read(&region(&[0, 0], &[10, 7]))?;
    let whole = whole.typed::<i32>()?;
    assert_eq!(whole[[9, 6]], -4);
    assert_eq!(whole[[5, 5]], 9, "missing chunk reads as the fill value");
    Ok(())
}

#[test]
fn existing_arrays_need_overwrite() -> Result<()> {
    let dir = TempDir::new("overwrite");
    let path = dir.join("a.zarr");
    write_array(&path, DType::F32, &Codec::None)?;

    let err = ZarrWriter::create(&path, DType::F32, &[10, 7], &[4, 3], &options(Codec::None))
        .expect_err("exists");
    let message = err.to_string();
    assert!(
        message.contains("a.zarr") && message.contains("already exists"),
        "{message}"
    );
    assert!(
        ZarrReader::open(&path)?.missing_chunks()?.is_empty(),
        "old array untouched"
    );

    // With overwrite, the old chunks are gone and the new metadata is in place.
    let options = ZarrWriteOptions {
        overwrite: true,
        ..ZarrWriteOptions::default()
    };
    ZarrWriter::create(&path, DType::U8, &[3, 3, 3], &[2, 2, 2], &options)?;
    let reader = ZarrReader::open(&path)?;
    assert_eq!(reader.dtype(), DType::U8);
    assert_eq!(reader.shape(), &[3, 3, 3]);
    assert_eq!(reader.missing_chunks()?.len(), 8);
    assert!(!path.join("c/0/0").exists(), "old 2-D chunks removed");
    Ok(())
}

#[test]
fn other_data_is_never_replaced() {
    let dir = TempDir::new("not-zarr");
    let path = dir.join("photos");
    std::fs::create_dir(&path).expect("mkdir");
    std::fs::write(path.join("holiday.jpg"), b"precious").expect("write");
    let options = ZarrWriteOptions {
        overwrite: true,
        ..ZarrWriteOptions::default()
    };
    let err = ZarrWriter::create(&path, DType::F32, &[4], &[2], &options).expect_err("refused");
    assert!(err.to_string().contains("photos"), "{err}");
    assert!(path.join("holiday.jpg").exists());

    let group = dir.join("group.zarr");
    std::fs::create_dir_all(group.join("child")).expect("mkdir");
    let group_json = r#"{"zarr_format": 3, "node_type": "group", "attributes": {}}"#;
    std::fs::write(group.join("zarr.json"), group_json).expect("write");
    let err = ZarrWriter::create(&group, DType::F32, &[4], &[2], &options).expect_err("a group");
    assert!(err.to_string().contains("a Zarr group"), "{err}");
    assert!(group.join("child").exists());
    std::fs::write(group.join("zarr.json"), b"{ garbage").expect("write");
    let err = ZarrWriter::create(&group, DType::F32, &[4], &[2], &options).expect_err("corrupt");
    assert!(err.to_string().contains("cannot be read"), "{err}");

    let file = dir.join("file.zarr");
    std::fs::write(&file, b"x").expect("write");
    let err = ZarrWriter::create(&file, DType::F32, &[4], &[2], &options).expect_err("a file");
    assert!(err.to_string().contains("file.zarr"), "{err}");
}

#[test]
fn writes_must_be_whole_chunks_of_the_right_dtype_and_shape() -> Result<()> {
    let dir = TempDir::new("bad-writes");
    let writer = ZarrWriter::create(
        dir.join("a.zarr"),
        DType::F32,
        &[10, 7],
        &[4, 3],
        &ZarrWriteOptions::default(),
    )?;
    let data = HostArray::zeros(DType::F32, &[4, 3]);
    for bad in [
        region(&[1, 0], &[4, 3]),    // not on a chunk border
        region(&[0, 0], &[4, 2]),    // part of a chunk
        region(&[8, 6], &[4, 3]),    // beyond the end
        region(&[0, 0, 0], &[4, 3]), // wrong rank
    ] {
        let err = writer.write(&bad, &data).expect_err("bad region");
        assert!(err.to_string().contains("a.zarr"), "{err}");
    }
    let wrong_dtype = HostArray::zeros(DType::F64, &[4, 3]);
    assert!(
        writer
            .write(&region(&[0, 0], &[4, 3]), &wrong_dtype)
            .is_err()
    );
    let wrong_shape = HostArray::zeros(DType::F32, &[3, 4]);
    assert!(
        writer
            .write(&region(&[0, 0], &[4, 3]), &wrong_shape)
            .is_err()
    );
    Ok(())
}

#[test]
fn bad_create_arguments() {
    let dir = TempDir::new("bad-create");
    let defaults = ZarrWriteOptions::default();
    let path = dir.join("a.zarr");
    assert!(ZarrWriter::create(&path, DType::F32, &[10, 7], &[4], &defaults).is_err());
    assert!(ZarrWriter::create(&path, DType::F32, &[10, 7], &[4, 0], &defaults).is_err());
    let blosc = ZarrWriteOptions {
        codec: Codec::Blosc {
            compressor: BloscCompressor::Lz4,
            level: 10,
            shuffle: false,
        },
        ..ZarrWriteOptions::default()
    };
    assert!(ZarrWriter::create(&path, DType::F32, &[10, 7], &[4, 3], &blosc).is_err());
    for codec in [Codec::Gzip { level: 10 }, Codec::Zstd { level: 23 }] {
        let err = ZarrWriter::create(&path, DType::F32, &[10, 7], &[4, 3], &options(codec))
            .expect_err("level out of range");
        assert!(err.to_string().contains("level"), "{err}");
    }
    assert!(!path.exists(), "nothing written for bad arguments");
}

/// The Python with zarr-python: `TILEWORK_PYTHON`, else the repository's `.venv`.
fn python() -> Option<std::path::PathBuf> {
    let python = std::env::var_os("TILEWORK_PYTHON").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python"),
        Into::into,
    );
    let works = std::process::Command::new(&python)
        .args(["-c", "import zarr, numpy"])
        .output()
        .is_ok_and(|out| out.status.success());
    works.then_some(python)
}

#[test]
fn zarr_python_reads_what_we_write() -> Result<()> {
    let Some(python) = python() else {
        eprintln!("skipped: no Python with zarr-python (set TILEWORK_PYTHON or create .venv)");
        return Ok(());
    };
    let dir = TempDir::new("to-python");
    for (i, codec) in codecs().iter().enumerate() {
        for dtype in DType::ALL {
            write_array(&dir.join(&format!("c{i}_{dtype}.zarr")), dtype, codec)?;
        }
    }
    let script = r#"
import sys, pathlib, numpy as np, zarr
sys.dont_write_bytecode = True  # no __pycache__ in tests/data
sys.path.insert(0, sys.argv[1])
from make_zarr_fixtures import values
for path in sorted(pathlib.Path(sys.argv[2]).glob("*.zarr")):
    array = zarr.open_array(str(path), mode="r")
    want = values((10, 7), array.dtype)
    got = array[...]
    assert got.dtype == want.dtype, (path, got.dtype)
    assert got.tobytes() == want.tobytes(), path
print("checked", len(list(pathlib.Path(sys.argv[2]).glob("*.zarr"))))
"#;
    let fixtures_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data");
    let out = std::process::Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(fixtures_dir)
        .arg(dir.path())
        .output()
        .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("checked 40"), "{stdout}");
    Ok(())
}
