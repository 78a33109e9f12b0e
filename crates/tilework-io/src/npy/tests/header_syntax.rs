//! The header dict in the spellings NumPy and other writers produce, and the header tilework
//! writes.

use crate::npy::header::{self, Header};
use tilework_core::DType;

/// Parses a version 1.0 header around `dict` followed by `data_len` zero bytes.
fn parse_dict(dict: &str) -> Result<Header, String> {
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    bytes.extend_from_slice(dict.as_bytes());
    header::parse(&bytes)
}

fn parsed(dict: &str) -> Header {
    parse_dict(dict).unwrap_or_else(|e| panic!("{dict}: {e}"))
}

#[test]
fn key_order_spacing_and_commas_do_not_matter() {
    for dict in [
        "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }",
        "{'shape':(3,4),'fortran_order':False,'descr':'<f4'}\n",
        "{ \"fortran_order\" : False ,\n 'descr' : \"<f4\" , 'shape' : ( 3 , 4 ) }      \n",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (3L, 4L), }",
    ] {
        let header = parsed(dict);
        assert_eq!(
            (header.dtype, header.big_endian, header.fortran_order),
            (DType::F32, false, false)
        );
        assert_eq!(header.shape, [3, 4], "{dict}");
        assert_eq!(header.data_len, 48);
        assert_eq!(header.data_offset, 10 + dict.len());
    }
}

#[test]
fn shapes_of_every_rank() {
    let shape_of = |text: &str| {
        parsed(&format!(
            "{{'descr': '<i8', 'fortran_order': True, 'shape': {text}}}"
        ))
        .shape
    };
    assert_eq!(shape_of("()"), Vec::<usize>::new());
    assert_eq!(shape_of("(5,)"), [5]);
    assert_eq!(shape_of("(0, 7)"), [0, 7]);
    assert_eq!(shape_of("(1, 2, 3, 4, 5, 6)"), [1, 2, 3, 4, 5, 6]);
    // `(5)` is the integer 5 in Python, not a tuple, and NumPy rejects it too.
    assert!(parse_dict("{'descr': '<i8', 'fortran_order': True, 'shape': (5)}").is_err());
}

#[test]
fn descr_spellings() {
    let native_big = cfg!(target_endian = "big");
    for (descr, dtype, big_endian) in [
        ("|b1", DType::Bool, false),
        ("<b1", DType::Bool, false),
        ("|u1", DType::U8, false),
        (">u1", DType::U8, false),
        ("<i4", DType::I32, false),
        (">i4", DType::I32, true),
        ("<i8", DType::I64, false),
        (">i8", DType::I64, true),
        ("<u4", DType::U32, false),
        (">u4", DType::U32, true),
        ("<f2", DType::F16, false),
        (">f2", DType::F16, true),
        (">f4", DType::F32, true),
        ("<f8", DType::F64, false),
        ("=f8", DType::F64, native_big),
        ("f8", DType::F64, native_big),
    ] {
        let header = parsed(&format!(
            "{{'descr': '{descr}', 'fortran_order': False, 'shape': (2,)}}"
        ));
        assert_eq!(
            (header.dtype, header.big_endian),
            (dtype, big_endian),
            "{descr}"
        );
    }
    for descr in ["|f8", "<c8", "<i2", "<U3", "|O", "<f16", "", "<", "b"] {
        let message = parse_dict(&format!(
            "{{'descr': '{descr}', 'fortran_order': False, 'shape': (2,)}}"
        ))
        .expect_err(descr);
        assert!(
            message.starts_with(&format!("unsupported dtype '{descr}'")),
            "{message}"
        );
    }
}

#[test]
fn written_headers_are_aligned_and_parse_back() {
    for dtype in DType::ALL {
        for shape in [
            vec![],
            vec![0],
            vec![7],
            vec![5, 7, 3],
            vec![usize::MAX / 64, 1],
        ] {
            let bytes = header::encode(dtype, &shape).expect("a small shape encodes");
            assert_eq!(bytes.len() % 64, 0, "{dtype} {shape:?}");
            assert_eq!(&bytes[6..8], &[1, 0]);
            assert_eq!(bytes.last(), Some(&b'\n'));
            let header = header::parse(&bytes).unwrap_or_else(|e| panic!("{dtype} {shape:?}: {e}"));
            assert_eq!(
                (header.dtype, header.shape, header.fortran_order),
                (dtype, shape, false)
            );
            assert_eq!(header.data_offset, bytes.len());
        }
    }
}

#[test]
fn very_long_headers_use_version_two() {
    let shape = vec![1; 30_000];
    let bytes = header::encode(DType::F32, &shape).expect("30000 axes fit version 2.0");
    assert_eq!(&bytes[6..8], &[2, 0]);
    assert_eq!(bytes.len() % 64, 0);
    let header = header::parse(&bytes).expect("version 2.0 parses");
    assert_eq!(header.shape.len(), 30_000);
    assert_eq!(header.data_offset, bytes.len());
}
