//! Every good fixture NumPy wrote, read whole and in many regions, compared bit for bit.

use super::*;
use crate::npy::NpyReader;
use tilework_core::ChunkReader;

struct Fixture {
    name: &'static str,
    dtype: DType,
    shape: &'static [usize],
    fortran: bool,
    big_endian: bool,
}

const fn fixture_of(
    name: &'static str,
    dtype: DType,
    shape: &'static [usize],
    fortran: bool,
    big_endian: bool,
) -> Fixture {
    Fixture {
        name,
        dtype,
        shape,
        fortran,
        big_endian,
    }
}

const GRID: &[usize] = &[13, 17];
const BE: &[usize] = &[9, 11];

/// Every good file `make_npy_fixtures.py` writes (apart from `f2_ties.npy`, tested below).
const FIXTURES: &[Fixture] = &[
    fixture_of("b1_c.npy", DType::Bool, GRID, false, false),
    fixture_of("b1_f.npy", DType::Bool, GRID, true, false),
    fixture_of("u1_c.npy", DType::U8, GRID, false, false),
    fixture_of("u1_f.npy", DType::U8, GRID, true, false),
    fixture_of("i4_c.npy", DType::I32, GRID, false, false),
    fixture_of("i4_f.npy", DType::I32, GRID, true, false),
    fixture_of("i8_c.npy", DType::I64, GRID, false, false),
    fixture_of("i8_f.npy", DType::I64, GRID, true, false),
    fixture_of("u4_c.npy", DType::U32, GRID, false, false),
    fixture_of("u4_f.npy", DType::U32, GRID, true, false),
    fixture_of("f2_c.npy", DType::F16, GRID, false, false),
    fixture_of("f2_f.npy", DType::F16, GRID, true, false),
    fixture_of("f4_c.npy", DType::F32, GRID, false, false),
    fixture_of("f4_f.npy", DType::F32, GRID, true, false),
    fixture_of("f8_c.npy", DType::F64, GRID, false, false),
    fixture_of("f8_f.npy", DType::F64, GRID, true, false),
    fixture_of("i4_be.npy", DType::I32, BE, false, true),
    fixture_of("i8_be.npy", DType::I64, BE, false, true),
    fixture_of("u4_be.npy", DType::U32, BE, false, true),
    fixture_of("f2_be.npy", DType::F16, BE, false, true),
    fixture_of("f4_be.npy", DType::F32, BE, false, true),
    fixture_of("f8_be.npy", DType::F64, BE, false, true),
    fixture_of("f8_be_f.npy", DType::F64, BE, true, true),
    fixture_of("f4_3d_c.npy", DType::F32, &[5, 7, 3], false, false),
    fixture_of("i4_3d_f.npy", DType::I32, &[5, 7, 3], true, false),
    fixture_of("u1_4d_f.npy", DType::U8, &[3, 4, 5, 2], true, false),
    fixture_of("i8_1d.npy", DType::I64, &[5], false, false),
    fixture_of("f8_0d.npy", DType::F64, &[], false, false),
    fixture_of("f4_empty.npy", DType::F32, &[0, 5], false, false),
    fixture_of("b1_empty.npy", DType::Bool, &[3, 0, 2], false, false),
    fixture_of("f4_v2.npy", DType::F32, &[6, 4], false, false),
    fixture_of("i4_v3_f.npy", DType::I32, &[6, 4], true, false),
];

#[test]
fn every_fixture_reads_bit_identically_whole_and_by_region() {
    for fixture in FIXTURES {
        let reader = NpyReader::open(super::fixture(fixture.name))
            .unwrap_or_else(|e| panic!("{}: {e}", fixture.name));
        assert_eq!(reader.dtype(), fixture.dtype, "{}", fixture.name);
        assert_eq!(reader.shape(), fixture.shape, "{}", fixture.name);
        assert_eq!(
            reader.is_fortran_order(),
            fixture.fortran,
            "{}",
            fixture.name
        );
        assert_eq!(
            reader.is_big_endian(),
            fixture.big_endian,
            "{}",
            fixture.name
        );
        let whole = expected(fixture.dtype, fixture.shape);
        for part in interesting_regions(fixture.shape) {
            let context = format!("{} region {:?}+{:?}", fixture.name, part.start, part.shape);
            let read = reader
                .read(&part)
                .unwrap_or_else(|e| panic!("{context}: {e}"));
            assert_identical(&read, &sub(&whole, &part), &context);
        }
    }
}

#[test]
fn fortran_regions_crossing_columns() {
    let reader = NpyReader::open(super::fixture("f8_f.npy")).expect("fixture opens");
    let whole = expected(DType::F64, GRID);
    for (start, shape) in [
        ([2, 3], [9, 11]),
        ([0, 16], [13, 1]),
        ([12, 0], [1, 17]),
        ([5, 5], [1, 1]),
        ([3, 1], [10, 16]),
    ] {
        let part = region(&start, &shape);
        let read = reader.read(&part).expect("region in bounds");
        assert_identical(&read, &sub(&whole, &part), &format!("{start:?}+{shape:?}"));
    }
}

#[test]
fn f16_ties_round_half_to_even_as_numpy_does() {
    let reader = NpyReader::open(super::fixture("f2_ties.npy")).expect("fixture opens");
    let read = reader.read(&region(&[0], &[16])).expect("whole array");
    let values: Vec<f16> = (0..16u8)
        .map(|k| f16::from_f32(1.0 + f32::from(k) / 2048.0))
        .collect();
    let expected = HostArray::from_vec(values, &[16]).expect("16 values");
    assert_identical(&read, &expected, "f2_ties.npy");
    // 1 + 1/2048 lies halfway between 1 and 1 + 1/1024 and must round to the even 1.
    assert_eq!(read.get(&[1]), Some(Scalar::F16(f16::ONE)));
}

#[test]
fn describe_names_the_file() {
    let path = super::fixture("u1_c.npy");
    let reader = NpyReader::open(&path).expect("fixture opens");
    assert_eq!(reader.describe(), format!("npy file {}", path.display()));
    assert_eq!(reader.path(), path);
}

#[test]
fn reader_is_send_and_sync() {
    fn check<T: Send + Sync + std::fmt::Debug>() {}
    check::<NpyReader>();
    check::<crate::npy::NpyWriter>();
}

#[test]
fn misaligned_data_reads_the_same() {
    // Other writers need not pad like NumPy: one more header byte leaves every element
    // misaligned in the mapping, which must only change the speed of the Fortran path.
    let dir = TempDir::new("misaligned");
    for name in ["f8_f.npy", "f8_c.npy", "i4_3d_f.npy"] {
        let good = std::fs::read(super::fixture(name)).expect("fixture exists");
        let header_len = usize::from(u16::from_le_bytes([good[8], good[9]]));
        let mut bytes = good[..10 + header_len].to_vec();
        bytes.insert(10 + header_len - 1, b' ');
        bytes[8..10].copy_from_slice(&(header_len as u16 + 1).to_le_bytes());
        bytes.extend_from_slice(&good[10 + header_len..]);
        let path = dir.join(name);
        std::fs::write(&path, &bytes).expect("writable");
        let reader = NpyReader::open(&path).expect("valid file");
        let whole = expected(reader.dtype(), reader.shape());
        for part in interesting_regions(reader.shape()) {
            let read = reader.read(&part).expect("in bounds");
            assert_identical(&read, &sub(&whole, &part), name);
        }
    }
}
