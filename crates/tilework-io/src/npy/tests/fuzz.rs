//! Random and mutated headers: parsing and reading give `Ok` or `Err`, never a panic.

use super::*;
use crate::npy::{NpyReader, header};
use proptest::prelude::*;
use tilework_core::ChunkReader;

/// Pieces of real header syntax, so random sequences reach deep into the parser.
const TOKENS: &[&str] = &[
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ",",
    ":",
    " ",
    "\n",
    "'",
    "\"",
    "\\",
    "'descr'",
    "'shape'",
    "'fortran_order'",
    "'<f4'",
    "'>i8'",
    "'|b1'",
    "'<c8'",
    "True",
    "False",
    "None",
    "0",
    "1",
    "7",
    "-1",
    "99999999999999999999",
    "L",
    "\u{e9}",
    "\u{ff}",
];

fn token_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TOKENS), 0..40).prop_map(|tokens| tokens.concat())
}

/// A `.npy` file of format `version` whose header dict is `dict` (no padding), with no data.
pub(super) fn framed(version: u8, dict: &[u8]) -> Vec<u8> {
    let mut bytes = header::MAGIC.to_vec();
    bytes.extend_from_slice(&[version, 0]);
    if version == 1 {
        bytes.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    } else {
        bytes.extend_from_slice(&(dict.len() as u32).to_le_bytes());
    }
    bytes.extend_from_slice(dict);
    bytes
}

/// Opens `bytes` as a file and, when it opens, reads all of it and a corner region.
fn open_and_read(bytes: &[u8]) {
    let dir = TempDir::new("fuzz");
    let path = dir.join("fuzz.npy");
    std::fs::write(&path, bytes).expect("writable");
    if let Ok(reader) = NpyReader::open(&path) {
        let shape = reader.shape().to_vec();
        let _ = reader.read(&region(&vec![0; shape.len()], &shape));
        let corner: Vec<usize> = shape.iter().map(|&len| len.min(2)).collect();
        let _ = reader.read(&region(&vec![0; shape.len()], &corner));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = header::parse(&bytes);
        let mut with_magic = header::MAGIC.to_vec();
        with_magic.extend_from_slice(&bytes);
        let _ = header::parse(&with_magic);
    }

    #[test]
    fn token_soup_headers_never_panic(version in 1u8..=3, dict in token_soup()) {
        let _ = header::parse(&framed(version, dict.as_bytes()));
    }

    #[test]
    fn mutated_files_never_panic(
        dtype in prop::sample::select(DType::ALL.to_vec()),
        shape in prop::collection::vec(0usize..4, 0..4),
        mutations in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let count: usize = shape.iter().product();
        let mut bytes = header::encode(dtype, &shape).expect("a small shape encodes");
        bytes.resize(bytes.len() + count * dtype.size(), 0x5a);
        let header_len = bytes.len() - count * dtype.size();
        for (at, value) in mutations {
            bytes[at.index(header_len)] = value;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        let _ = header::parse(&bytes);
        open_and_read(&bytes);
    }

    #[test]
    fn shape_and_order_edits_never_panic(
        fortran in any::<bool>(),
        descr in prop::sample::select(vec!["<f4", ">f8", "|b1", "<i2", "|u1", ">f2"]),
        shape in prop::collection::vec(0usize..6, 0..5),
        extra in 0usize..24,
    ) {
        let order = if fortran { "True" } else { "False" };
        let dims: Vec<String> = shape.iter().map(|len| format!("{len},")).collect();
        let dict = format!("{{'descr': '{descr}', 'fortran_order': {order}, 'shape': ({}), }}\n", dims.concat());
        let mut bytes = framed(1, dict.as_bytes());
        bytes.resize(bytes.len() + shape.iter().product::<usize>() * 2 + extra, 1);
        open_and_read(&bytes);
    }
}
