//! Arrays written by zarr-python read back bit for bit, whole and in sub-regions.

use super::super::ZarrReader;
use super::{assert_region_eq, fixture, formula, region, regions_to_check};
use tilework_core::{ChunkReader, DType, HostArray, Result, Scalar};

/// Opens fixture `name`, checks its metadata, and compares every region of
/// [`regions_to_check`] with `expected`.
fn check_fixture(name: &str, expected: &HostArray, chunk_shape: &[usize]) -> Result<ZarrReader> {
    let reader = ZarrReader::open(fixture(name))?;
    assert_eq!(reader.dtype(), expected.dtype(), "{name}");
    assert_eq!(reader.shape(), expected.shape().as_slice(), "{name}");
    assert_eq!(reader.chunk_shape(), chunk_shape, "{name}");
    assert!(reader.describe().starts_with("zarr array "), "{name}");
    assert!(reader.describe().ends_with(name), "{name}");
    for region in regions_to_check(reader.shape(), chunk_shape) {
        let what = format!("{name} {region:?}");
        assert_region_eq(&reader.read(&region)?, expected, &region, &what);
    }
    Ok(reader)
}

#[test]
fn every_dtype_with_ragged_edge_chunks() -> Result<()> {
    for dtype in DType::ALL {
        let name = format!("dtype_{dtype}.zarr");
        let reader = check_fixture(&name, &formula(dtype, &[10, 7]), &[4, 3])?;
        assert_eq!(reader.fill_value(), Scalar::zero(dtype), "{name}");
        assert!(reader.missing_chunks()?.is_empty(), "{name}");
    }
    Ok(())
}

#[test]
fn every_codec() -> Result<()> {
    for codec in ["none", "zstd", "blosc_lz4_shuffle", "blosc_zstd", "gzip"] {
        let name = format!("codec_{codec}.zarr");
        check_fixture(&name, &formula(DType::F32, &[10, 7]), &[4, 3])?;
    }
    check_fixture(
        "codec_blosc_lz4_shuffle_int64.zarr",
        &formula(DType::I64, &[10, 7]),
        &[4, 3],
    )?;
    Ok(())
}

#[test]
fn one_and_three_dimensions() -> Result<()> {
    check_fixture("one_d.zarr", &formula(DType::I64, &[25]), &[10])?;
    check_fixture("three_d.zarr", &formula(DType::F64, &[5, 6, 7]), &[2, 4, 3])?;
    Ok(())
}

#[test]
fn v2_style_chunk_keys_in_a_v3_array() -> Result<()> {
    let reader = check_fixture(
        "key_encoding_v2.zarr",
        &formula(DType::I32, &[10, 7]),
        &[4, 3],
    )?;
    assert!(reader.missing_chunks()?.is_empty());
    Ok(())
}

/// `expected` with the elements outside the stored chunks replaced by `fill`.
fn with_only_chunks(
    full: &HostArray,
    chunk_shape: &[usize],
    stored: &[[usize; 2]],
    fill: Scalar,
) -> HostArray {
    let shape = full.shape();
    let mut values = Vec::new();
    for row in 0..shape[0] {
        for col in 0..shape[1] {
            let chunk = [row / chunk_shape[0], col / chunk_shape[1]];
            values.push(if stored.contains(&chunk) {
                full.get(&[row, col]).expect("in bounds")
            } else {
                fill
            });
        }
    }
    let values: Vec<f64> = values.iter().map(Scalar::to_f64).collect();
    HostArray::from_vec(values, &shape)
        .expect("sizes match")
        .cast(full.dtype())
}

#[test]
fn missing_chunks_read_as_a_non_zero_fill_value() -> Result<()> {
    let stored = [[0, 0], [1, 1], [2, 2]];
    let expected = with_only_chunks(
        &formula(DType::F32, &[10, 7]),
        &[4, 3],
        &stored,
        Scalar::F32(-2.5),
    );
    let reader = check_fixture("fill_partial.zarr", &expected, &[4, 3])?;
    assert_eq!(reader.fill_value(), Scalar::F32(-2.5));
    let missing = reader.missing_chunks()?;
    assert_eq!(
        missing,
        vec![
            vec![0, 1],
            vec![0, 2],
            vec![1, 0],
            vec![1, 2],
            vec![2, 0],
            vec![2, 1]
        ]
    );
    // A region made only of missing chunks decodes nothing and is all fill.
    let all_fill = reader.read(&region(&[0, 3], &[4, 4]))?;
    assert!(all_fill.typed::<f32>()?.iter().all(|&v| v == -2.5));
    Ok(())
}

#[test]
fn zarr_v2_arrays() -> Result<()> {
    let reader = check_fixture("v2_float32.zarr", &formula(DType::F32, &[10, 7]), &[4, 3])?;
    assert!(reader.missing_chunks()?.is_empty());

    let expected = with_only_chunks(
        &formula(DType::I32, &[10, 7]),
        &[4, 3],
        &[[0, 0]],
        Scalar::I32(7),
    );
    let reader = check_fixture("v2_fill_partial.zarr", &expected, &[4, 3])?;
    assert_eq!(reader.fill_value(), Scalar::I32(7));
    assert_eq!(reader.missing_chunks()?.len(), 8);
    assert!(!reader.missing_chunks()?.contains(&vec![0, 0]));
    Ok(())
}

#[test]
fn readers_are_shared_between_threads() -> Result<()> {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<ZarrReader>();
    let reader = ZarrReader::open(fixture("three_d.zarr"))?;
    let expected = formula(DType::F64, &[5, 6, 7]);
    let regions = regions_to_check(&[5, 6, 7], &[2, 4, 3]);
    std::thread::scope(|scope| {
        for part in regions.chunks(3) {
            let (reader, expected) = (&reader, &expected);
            scope.spawn(move || {
                for region in part {
                    let read = reader.read(region).expect("read");
                    assert_region_eq(&read, expected, region, "threaded read");
                }
            });
        }
    });
    Ok(())
}
