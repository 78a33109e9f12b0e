//! The completion record, the two read modes, stale temporaries and listing huge grids.

use super::super::{ZarrCompletion, ZarrReadMode, ZarrReader, ZarrWriteOptions, ZarrWriter};
use super::{TempDir, region};
use tilework_core::{ChunkReader, ChunkWriter, DType, HostArray, Result, Scalar};

fn ones(shape: &[usize]) -> HostArray {
    HostArray::full(DType::F32, shape, Scalar::F32(1.0))
}

#[test]
fn prepare_writes_nothing_and_finish_records_completion() -> Result<()> {
    let dir = TempDir::new("completion");
    let path = dir.join("a.zarr");
    let options = ZarrWriteOptions::default();
    let writer = ZarrWriter::prepare(&path, DType::F32, &[4, 4], &[2, 2], &options)?;
    assert!(!path.exists(), "prepare creates nothing");
    drop(writer);
    assert!(
        !path.exists(),
        "a writer dropped before begin leaves nothing"
    );

    let writer = ZarrWriter::prepare(&path, DType::F32, &[4, 4], &[2, 2], &options)?;
    writer.begin()?;
    assert_eq!(
        ZarrReader::open(&path)?.completion(),
        ZarrCompletion::Incomplete
    );
    writer.write(&region(&[0, 0], &[4, 4]), &ones(&[4, 4]))?;
    assert_eq!(
        ZarrReader::open(&path)?.completion(),
        ZarrCompletion::Incomplete,
        "every chunk written is not yet a finished write"
    );
    writer.finish()?;
    let reader = ZarrReader::open(&path)?;
    assert_eq!(reader.completion(), ZarrCompletion::Complete);
    assert_eq!(
        reader.with_mode(ZarrReadMode::Strict)?.mode(),
        ZarrReadMode::Strict
    );
    Ok(())
}

#[test]
fn a_strict_read_fails_on_a_missing_chunk_and_on_an_unfinished_write() -> Result<()> {
    let dir = TempDir::new("strict");
    let path = dir.join("a.zarr");
    let writer = ZarrWriter::create(
        &path,
        DType::F32,
        &[4, 4],
        &[2, 2],
        &ZarrWriteOptions::default(),
    )?;
    writer.write(&region(&[0, 0], &[2, 2]), &ones(&[2, 2]))?;

    let err = ZarrReader::open(&path)?
        .with_mode(ZarrReadMode::Strict)
        .expect_err("the write did not finish");
    assert!(err.to_string().contains("did not finish"), "{err}");

    // The default mode reads what is there, filling the rest (Zarr's rule).
    let filled = ZarrReader::open(&path)?.read(&region(&[0, 0], &[4, 4]))?;
    assert_eq!(filled.typed::<f32>()?.sum(), 4.0);

    // Marked complete although a chunk is missing (a store edited by hand): strict reads of the
    // written chunk work and the missing one is named.
    writer.finish()?;
    let strict = ZarrReader::open(&path)?.with_mode(ZarrReadMode::Strict)?;
    assert_eq!(
        strict
            .read(&region(&[0, 0], &[2, 2]))?
            .typed::<f32>()?
            .sum(),
        4.0
    );
    let err = strict
        .read(&region(&[0, 0], &[4, 4]))
        .expect_err("chunk [0, 1] was never written");
    let message = err.to_string();
    assert!(
        message.contains("[0, 1]") && message.contains("missing"),
        "{message}"
    );
    Ok(())
}

#[test]
fn arrays_written_elsewhere_have_no_completion_record() -> Result<()> {
    let reader = ZarrReader::open(super::fixture("codec_zstd.zarr"))?;
    assert_eq!(reader.completion(), ZarrCompletion::Unknown);
    reader.with_mode(ZarrReadMode::Strict)?;
    Ok(())
}

#[test]
fn missing_chunks_of_a_huge_grid_are_listed_without_walking_it() -> Result<()> {
    let dir = TempDir::new("huge");
    let path = dir.join("huge.zarr");
    std::fs::create_dir_all(&path).expect("mkdir");
    let metadata = r#"{"zarr_format":3,"node_type":"array","shape":[1099511627776,1048576],
        "data_type":"uint8","chunk_grid":{"name":"regular","configuration":{"chunk_shape":[1,1]}},
        "chunk_key_encoding":{"name":"default","configuration":{"separator":"/"}},
        "fill_value":0,"codecs":[{"name":"bytes"}]}"#;
    std::fs::write(path.join("zarr.json"), metadata).expect("write");
    std::fs::create_dir_all(path.join("c/0")).expect("mkdir");
    std::fs::write(path.join("c/0/0"), [5u8]).expect("write");
    let reader = ZarrReader::open(&path)?;
    assert_eq!(reader.missing_chunk_count()?, (1u128 << 60) - 1);
    assert_eq!(
        reader.first_missing_chunks(3)?,
        vec![vec![0, 1], vec![0, 2], vec![0, 3]]
    );
    let err = reader.missing_chunks().expect_err("too many to list");
    assert!(err.to_string().contains("first_missing_chunks"), "{err}");
    Ok(())
}

#[test]
fn a_new_write_clears_temporaries_that_killed_writers_left() -> Result<()> {
    let dir = TempDir::new("stale");
    let path = dir.join("a.zarr");
    // A writer killed before its metadata landed leaves only hidden temporaries.
    std::fs::create_dir_all(path.join("c/0")).expect("mkdir");
    let stale_metadata = path.join(".zarr.json.tilework-partial-1-1");
    let stale_chunk = path.join("c/0/.0.tilework-partial-1-2");
    std::fs::write(&stale_metadata, b"{").expect("write");
    std::fs::write(&stale_chunk, b"half a chunk").expect("write");
    let writer = ZarrWriter::create(
        &path,
        DType::F32,
        &[2, 2],
        &[2, 2],
        &ZarrWriteOptions::default(),
    )?;
    assert!(!stale_metadata.exists() && !stale_chunk.exists());
    writer.write(&region(&[0, 0], &[2, 2]), &ones(&[2, 2]))?;
    writer.finish()?;
    assert!(ZarrReader::open(&path)?.missing_chunks()?.is_empty());
    Ok(())
}
