//! `.npz` archives written by `np.savez` and `np.savez_compressed`, and broken ones.

use super::*;
use crate::npy::read_npz;
use proptest::prelude::*;
use tilework_core::Error;

/// The members `make_npy_fixtures.py` puts in both archives, in order.
fn expected_members() -> Vec<(&'static str, HostArray)> {
    vec![
        ("grid", expected(DType::F64, &[6, 4])),
        ("flags", expected(DType::Bool, &[7])),
        ("cube_f", expected(DType::I32, &[3, 4, 2])),
        ("scalar", expected(DType::F32, &[])),
        ("empty", expected(DType::U8, &[0, 3])),
    ]
}

#[test]
fn savez_and_savez_compressed_read_bit_identically() {
    for name in ["arrays.npz", "arrays_compressed.npz"] {
        let arrays = read_npz(fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let expected = expected_members();
        assert_eq!(arrays.len(), expected.len(), "{name}");
        for ((got_name, got), (want_name, want)) in arrays.iter().zip(&expected) {
            assert_eq!(got_name, want_name, "{name}");
            assert_identical(got, want, &format!("{name}: {want_name}"));
        }
    }
}

fn npz_error(path: &Path) -> String {
    match read_npz(path) {
        Err(Error::Io {
            path: named,
            message,
        }) => {
            assert_eq!(named, path.display().to_string());
            message
        }
        other => panic!("{}: expected an I/O error, got {other:?}", path.display()),
    }
}

#[test]
fn broken_archives_are_errors() {
    let dir = TempDir::new("npz");
    assert!(npz_error(&dir.join("absent.npz")).contains("cannot open"));
    assert!(npz_error(&fixture("f8_c.npy")).contains("not a zip archive"));

    let stored = std::fs::read(fixture("arrays.npz")).expect("fixture exists");
    let path = dir.join("broken.npz");
    std::fs::write(&path, &stored[..stored.len() - 30]).expect("writable");
    assert!(npz_error(&path).contains("not a zip archive"));

    // Flip one byte of the first member's data: the CRC check must catch it.
    let mut corrupt = stored.clone();
    let at = corrupt
        .windows(6)
        .position(|w| w == b"\x93NUMPY")
        .expect("a stored member")
        + 200;
    corrupt[at] ^= 0x55;
    std::fs::write(&path, &corrupt).expect("writable");
    let message = npz_error(&path);
    assert!(
        message.contains("member grid.npy") && message.contains("CRC mismatch"),
        "{message}"
    );

    let mut compressed = std::fs::read(fixture("arrays_compressed.npz")).expect("fixture exists");
    compressed[60] ^= 0xff;
    std::fs::write(&path, &compressed).expect("writable");
    assert!(npz_error(&path).contains("member grid.npy"));
}

/// Byte offset of central-directory entry `index` of `archive`, walked from the end record.
fn central_entry(archive: &[u8], index: usize) -> usize {
    let u16_at = |at: usize| usize::from(u16::from_le_bytes([archive[at], archive[at + 1]]));
    let u32_at =
        |at: usize| u32::from_le_bytes(archive[at..at + 4].try_into().expect("4 bytes")) as usize;
    let end = archive.len() - 22;
    assert_eq!(
        &archive[end..end + 4],
        b"PK\x05\x06",
        "an end record without comment"
    );
    let mut at = u32_at(end + 16);
    for _ in 0..index {
        assert_eq!(&archive[at..at + 4], b"PK\x01\x02");
        at += 46 + u16_at(at + 28) + u16_at(at + 30) + u16_at(at + 32);
    }
    assert_eq!(&archive[at..at + 4], b"PK\x01\x02");
    at
}

/// Byte offset of the local header that central-directory entry `entry` points to.
fn local_header(archive: &[u8], entry: usize) -> usize {
    u32::from_le_bytes(archive[entry + 42..entry + 46].try_into().expect("4 bytes")) as usize
}

/// The message of `read_npz` on a copy of fixture `name` changed by `edit`.
fn edited_error(name: &str, edit: impl FnOnce(&mut Vec<u8>)) -> String {
    let mut bytes = std::fs::read(fixture(name)).expect("fixture exists");
    edit(&mut bytes);
    let dir = TempDir::new("npz-edit");
    let path = dir.join("edited.npz");
    std::fs::write(&path, &bytes).expect("writable");
    npz_error(&path)
}

#[test]
fn encrypted_members_are_errors() {
    for name in ["arrays.npz", "arrays_compressed.npz"] {
        let message = edited_error(name, |bytes| {
            let entry = central_entry(bytes, 1);
            let local = local_header(bytes, entry);
            bytes[entry + 8] |= 1;
            bytes[local + 6] |= 1;
        });
        assert!(
            message.starts_with("member flags.npy: is encrypted"),
            "{name}: {message}"
        );
    }
}

#[test]
fn unsupported_compression_methods_are_errors() {
    for name in ["arrays.npz", "arrays_compressed.npz"] {
        // Method 12 is bzip2, which NumPy never writes.
        let message = edited_error(name, |bytes| {
            let entry = central_entry(bytes, 1);
            let local = local_header(bytes, entry);
            bytes[entry + 10..entry + 12].copy_from_slice(&12u16.to_le_bytes());
            bytes[local + 8..local + 10].copy_from_slice(&12u16.to_le_bytes());
        });
        assert!(
            message.starts_with("member flags.npy: uses compression method Bzip2"),
            "{name}: {message}"
        );
    }
}

#[test]
fn size_mismatches_are_errors() {
    // grid.npy inflates to 320 bytes; record other sizes for it in the central directory.
    let with_size = |size: u32| {
        move |bytes: &mut Vec<u8>| {
            let entry = central_entry(bytes, 0);
            bytes[entry + 24..entry + 28].copy_from_slice(&size.to_le_bytes());
        }
    };
    for name in ["arrays.npz", "arrays_compressed.npz"] {
        let message = edited_error(name, with_size(319));
        assert!(
            message.starts_with("member grid.npy: ") && message.contains("larger than"),
            "{name}: {message}"
        );
        let message = edited_error(name, with_size(321));
        assert!(
            message.starts_with("member grid.npy: holds 320 bytes but the directory says 321"),
            "{name}: {message}"
        );
        // A huge recorded size neither allocates it nor is believed.
        let message = edited_error(name, with_size(0xffff_fff0));
        assert!(
            message.starts_with("member grid.npy: holds 320 bytes but the directory says"),
            "{name}: {message}"
        );
    }
}

#[test]
fn duplicate_member_names_are_errors() {
    // Rename empty.npy to flags.npy (the same length) in the central directory.
    let message = edited_error("arrays.npz", |bytes| {
        let entry = central_entry(bytes, 4);
        assert_eq!(&bytes[entry + 46..entry + 55], b"empty.npy");
        bytes[entry + 46..entry + 55].copy_from_slice(b"flags.npy");
    });
    assert!(
        message.contains("two members of the same name"),
        "{message}"
    );
}

#[test]
fn non_npy_members_are_errors() {
    let message = npz_error(&fixture("bad_member.npz"));
    assert!(
        message.starts_with("member notes.txt: not a .npy file"),
        "{message}"
    );
}

#[test]
fn zip64_end_of_directory_records_are_followed() {
    // Rewrite the plain end record into its ZIP64 form, as writers do past 65535 members or
    // 4 GiB: a ZIP64 record and locator, and saturated fields in the plain record.
    let plain = std::fs::read(fixture("arrays.npz")).expect("fixture exists");
    let end = plain.len() - 22;
    let field = |at: usize, len: usize| -> u64 {
        plain[end + at..end + at + len]
            .iter()
            .rev()
            .fold(0, |acc, &b| (acc << 8) | u64::from(b))
    };
    let (count, directory_len, directory) = (field(10, 2), field(12, 4), field(16, 4));
    let mut bytes = plain[..end].to_vec();
    bytes.extend_from_slice(&0x0606_4b50u32.to_le_bytes());
    bytes.extend_from_slice(&44u64.to_le_bytes());
    bytes.extend_from_slice(&[45, 0, 45, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    for value in [count, count, directory_len, directory] {
        bytes.extend_from_slice(&value.to_le_bytes());
    }
    bytes.extend_from_slice(&0x0706_4b50u32.to_le_bytes());
    bytes.extend_from_slice(&0u32.to_le_bytes());
    bytes.extend_from_slice(&(end as u64).to_le_bytes());
    bytes.extend_from_slice(&1u32.to_le_bytes());
    let mut record = plain[end..].to_vec();
    record[8..12].copy_from_slice(&[0xff; 4]);
    record[16..20].copy_from_slice(&[0xff; 4]);
    bytes.extend_from_slice(&record);

    let dir = TempDir::new("zip64");
    let path = dir.join("zip64.npz");
    std::fs::write(&path, &bytes).expect("writable");
    let arrays = read_npz(&path).expect("ZIP64 archive reads");
    let names: Vec<&str> = arrays.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["grid", "flags", "cube_f", "scalar", "empty"]);
    assert_identical(&arrays[0].1, &expected(DType::F64, &[6, 4]), "grid");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn mutated_archives_never_panic(
        compressed in any::<bool>(),
        mutations in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let name = if compressed { "arrays_compressed.npz" } else { "arrays.npz" };
        let mut bytes = std::fs::read(fixture(name)).expect("fixture exists");
        for (at, value) in mutations {
            let index = at.index(bytes.len());
            bytes[index] = value;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        let dir = TempDir::new("npz-fuzz");
        let path = dir.join("fuzz.npz");
        std::fs::write(&path, &bytes).expect("writable");
        let _ = read_npz(&path);
    }
}
