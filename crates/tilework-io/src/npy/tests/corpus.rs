//! The corrupt-file corpus for `.npy`: valid files (from [`NpyWriter`] and framed by hand:
//! format versions 1.0 to 3.0, Fortran order, big-endian, 0-d, empty axes, an unsupported
//! dtype), each truncated at every header length and a sample of data lengths, with every
//! header byte and a sample of data bytes flipped and set to 0xFF, and with its header dict's
//! fields, length field and version replaced.
//!
//! Every case runs under the watchdog of [`crate::corpus`]: none may panic, hang or abort; an
//! error must name the file and say what is wrong; a truncated file (or one with trailing bytes)
//! must never read.

use super::fuzz::framed;
use super::*;
use crate::corpus::{CaseResult, Corpus, Outcome, check_error, check_read_shape};
use crate::npy::{NpyReader, NpyWriter, header};
use tilework_core::{ChunkReader, ChunkWriter};

/// What a case must end in.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Must {
    Read,
    Fail,
    Either,
}

/// What a `.npy` error names: at least one of these besides the path.
const ERROR_WORDS: &[&str] = &[
    "header", "npy", "dtype", "data", "shape", "bytes", "version", "file",
];

/// A valid (or, for `<c8`, valid but unsupported) file to corrupt.
struct Base {
    name: String,
    version: u8,
    /// The header dict's fields, as they appear in it.
    descr: &'static str,
    fortran: bool,
    shape_text: String,
    bytes: Vec<u8>,
    data_offset: usize,
    /// What the reader must return for the file as it is (files of our own writer).
    expected: Option<HostArray>,
}

fn shape_text(shape: &[usize]) -> String {
    match shape {
        [len] => format!("({len},)"),
        _ => {
            let lens: Vec<String> = shape.iter().map(usize::to_string).collect();
            format!("({})", lens.join(", "))
        }
    }
}

fn descr_of(dtype: DType) -> &'static str {
    match dtype {
        DType::Bool => "'|b1'",
        DType::U8 => "'|u1'",
        DType::I32 => "'<i4'",
        DType::I64 => "'<i8'",
        DType::U32 => "'<u4'",
        DType::F16 => "'<f2'",
        DType::F32 => "'<f4'",
        DType::F64 => "'<f8'",
    }
}

fn dict(descr: &str, fortran: &str, shape: &str) -> String {
    format!("{{'descr': {descr}, 'fortran_order': {fortran}, 'shape': {shape}, }}")
}

fn python_bool(value: bool) -> &'static str {
    if value { "True" } else { "False" }
}

/// `dict` padded with spaces and a newline so the data starts at a multiple of 64 bytes, as
/// NumPy writes it, framed as format `version`.
fn aligned_header(version: u8, dict: &str) -> Vec<u8> {
    let prefix = if version == 1 { 10 } else { 12 };
    let padded = (prefix + dict.len() + 1).div_ceil(64) * 64 - prefix;
    let text = format!("{dict:<width$}\n", width = padded - 1);
    framed(version, text.as_bytes())
}

/// A file of our own writer holding [`expected`]'s values.
fn written(dir: &TempDir, dtype: DType, shape: &[usize]) -> Base {
    let name = format!("writer {dtype} {shape:?}");
    let path = dir.join("written.npy");
    let values = expected(dtype, shape);
    let writer = NpyWriter::create(&path, dtype, shape).expect("create");
    writer
        .write(&region(&vec![0; shape.len()], shape), &values)
        .expect("write");
    writer.commit().expect("commit");
    let bytes = std::fs::read(&path).expect("read back");
    let data_offset = header::parse(&bytes).expect("our header").data_offset;
    Base {
        name,
        version: bytes[6],
        descr: descr_of(dtype),
        fortran: false,
        shape_text: shape_text(shape),
        bytes,
        data_offset,
        expected: Some(values),
    }
}

/// A file framed by hand, with seeded data bytes (0 and 1 for booleans).
fn framed_by_hand(
    corpus: &mut Corpus,
    version: u8,
    descr: &'static str,
    fortran: bool,
    shape: &[usize],
) -> Base {
    let itemsize: usize = descr[descr.len() - 2..descr.len() - 1]
        .parse()
        .expect("the descr ends in its size");
    let text = shape_text(shape);
    let mut bytes = aligned_header(version, &dict(descr, python_bool(fortran), &text));
    let data_offset = bytes.len();
    let mut data = corpus
        .rng()
        .bytes(shape.iter().product::<usize>() * itemsize);
    if descr.contains("b1") {
        data.iter_mut().for_each(|byte| *byte &= 1);
    }
    bytes.extend_from_slice(&data);
    Base {
        name: format!("v{version} {descr} fortran={fortran} {text}"),
        version,
        descr,
        fortran,
        shape_text: text,
        bytes,
        data_offset,
        expected: None,
    }
}

/// Opens `path` and reads every region of [`interesting_regions`] (the whole array, a tiling, an interior block
/// and single elements): `Ok(None)` when everything read
/// (and matched `expected`), `Ok(Some(error))` when it was refused, `Err` when a check failed.
fn open_and_read(path: &Path, expected: Option<&HostArray>) -> Result<Option<String>, String> {
    let location = path.display().to_string();
    let refused = |err: &tilework_core::Error| {
        check_error(err, &location, &[], ERROR_WORDS).map(|()| Some(err.to_string()))
    };
    let reader = match NpyReader::open(path) {
        Ok(reader) => reader,
        Err(err) => return refused(&err),
    };
    let file_len = std::fs::metadata(path).map_or(0, |meta| meta.len());
    let needed = reader.shape().iter().product::<usize>() * reader.dtype().size();
    if (needed as u64) > file_len {
        return Err(format!(
            "opened a {file_len}-byte file whose shape {:?} needs {needed} data bytes",
            reader.shape()
        ));
    }
    for part in interesting_regions(reader.shape()) {
        let read = match reader.read(&part) {
            Ok(read) => read,
            Err(err) => return refused(&err),
        };
        check_read_shape(&part, &read, reader.dtype())?;
        if let Some(expected) = expected
            && bits(&read) != bits(&sub(expected, &part))
        {
            return Err(format!(
                "region {:?}+{:?} read wrong values",
                part.start, part.shape
            ));
        }
    }
    Ok(None)
}

/// One case: writes `bytes` to `path`, reads it, removes it, and checks the outcome.
fn check(path: PathBuf, bytes: Vec<u8>, must: Must, expected: Option<HostArray>) -> CaseResult {
    std::fs::write(&path, &bytes).map_err(|e| format!("cannot write the case: {e}"))?;
    let result = open_and_read(&path, expected.as_ref());
    let _ = std::fs::remove_file(&path);
    match (result?, must) {
        (None, Must::Fail) => Err(format!(
            "a {}-byte file read, but must be refused",
            bytes.len()
        )),
        (Some(err), Must::Read) => Err(format!("a valid file was refused: {err}")),
        (None, _) => Ok(Outcome::Read),
        (Some(err), _) => Ok(Outcome::Refused(err)),
    }
}

/// Header dicts that replace a base's: its own fields, one of them swapped for something
/// wrong (or, where marked [`Must::Either`], for something else that is valid).
fn dict_replacements(base: &Base) -> Vec<(String, String, Must)> {
    let (d, f, s) = (
        base.descr,
        python_bool(base.fortran),
        base.shape_text.as_str(),
    );
    let mut cases: Vec<(String, String, Must)> = Vec::new();
    let mut add = |label: &str, text: String, must: Must| cases.push((label.into(), text, must));
    for (label, shape) in [
        ("u64::MAX rows", "(18446744073709551615, 3)"),
        ("2^64 rows", "(18446744073709551616, 3)"),
        ("isize::MAX elements", "(9223372036854775807,)"),
        (
            "a product that overflows",
            "(4294967296, 4294967296, 4294967296)",
        ),
        ("a byte count that overflows", "(4611686018427387904, 2)"),
        ("zero then u64::MAX", "(0, 18446744073709551615)"),
        ("u64::MAX then zero", "(18446744073709551615, 0)"),
        (
            "zero then two isize::MAX",
            "(0, 9223372036854775807, 9223372036854775807)",
        ),
        ("2^62 then zero", "(4611686018427387904, 0, 4)"),
        ("a negative size", "(-1, 3)"),
        ("a negative 1-d size", "(-1,)"),
        ("a negative second size", "(3, -4)"),
        (
            "an integer past i128",
            "(999999999999999999999999999999999999999999,)",
        ),
        ("a float", "(2.5, 3)"),
        ("a string", "('3', 4)"),
        ("a list", "[4, 3]"),
        ("a bool", "(True, 3)"),
        ("None", "None"),
        ("an unclosed tuple", "(4, 3"),
        ("no comma", "(4 3)"),
        ("a nested tuple", "((4, 3),)"),
        ("a dict", "{}"),
    ] {
        add(&format!("shape {label}"), dict(d, f, shape), Must::Fail);
    }
    let deep = format!("{}{}", "(".repeat(500), ")".repeat(500));
    add("shape nested 500 deep", dict(d, f, &deep), Must::Fail);
    add(
        "shape of 40 ones",
        dict(d, f, &format!("({})", "1, ".repeat(40))),
        Must::Either,
    );
    add("shape (-0,)", dict(d, f, "(-0,)"), Must::Either);
    for descr in [
        "'<c8'",
        "'<f16'",
        "'|O'",
        "'<U3'",
        "'|f4'",
        "''",
        "5",
        "None",
        "'<f4 '",
        "'<'",
        "[('a', '<f4')]",
        "'\u{e9}f4'",
    ] {
        add(&format!("descr {descr}"), dict(descr, f, s), Must::Fail);
    }
    let swapped = match d.as_bytes()[1] {
        b'<' => d.replacen('<', ">", 1),
        b'>' => d.replacen('>', "<", 1),
        _ => d.to_string(),
    };
    add(
        "descr in the other byte order",
        dict(&swapped, f, s),
        Must::Either,
    );
    for fortran in ["0", "'False'", "None", "true"] {
        add(
            &format!("fortran_order {fortran}"),
            dict(d, fortran, s),
            Must::Fail,
        );
    }
    add(
        "the other order",
        dict(d, python_bool(!base.fortran), s),
        Must::Either,
    );
    let descr = format!("'descr': {d}");
    let order = format!("'fortran_order': {f}");
    let shape = format!("'shape': {s}");
    for (label, text) in [
        ("descr missing", format!("{{{order}, {shape}}}")),
        ("fortran_order missing", format!("{{{descr}, {shape}}}")),
        ("shape missing", format!("{{{descr}, {order}}}")),
        (
            "descr twice",
            format!("{{{descr}, {descr}, {order}, {shape}}}"),
        ),
        (
            "fortran_order twice",
            format!("{{{descr}, {order}, {order}, {shape}}}"),
        ),
        (
            "shape twice",
            format!("{{{descr}, {order}, {shape}, 'shape': (1,)}}"),
        ),
        (
            "an extra key",
            format!("{{{descr}, {order}, {shape}, 'extra': 1}}"),
        ),
        (
            "an unquoted key",
            format!("{{descr: {d}, {order}, {shape}}}"),
        ),
        ("a list instead of a dict", format!("[{d}, {f}, {s}]")),
        ("nothing", String::new()),
        ("an unclosed dict", format!("{{{descr}, {order}, {shape}")),
        ("trailing junk", format!("{{{descr}, {order}, {shape}}} x")),
    ] {
        add(label, text, Must::Fail);
    }
    cases
}

/// The base with its header's length field, or its version, replaced.
fn frame_edits(base: &Base) -> Vec<(String, Vec<u8>, Must)> {
    let bytes = &base.bytes;
    let wide = base.version != 1;
    let dict_len = base.data_offset - if wide { 12 } else { 10 };
    let with_length = |length: u64| {
        let mut edited = bytes.clone();
        if wide {
            edited[8..12].copy_from_slice(&(length as u32).to_le_bytes());
        } else {
            edited[8..10].copy_from_slice(&(length as u16).to_le_bytes());
        }
        edited
    };
    let max = if wide {
        u64::from(u32::MAX)
    } else {
        u64::from(u16::MAX)
    };
    let mut cases = vec![
        ("header length 0".to_string(), with_length(0), Must::Fail),
        ("header length 1".into(), with_length(1), Must::Fail),
        (
            "header length one short".into(),
            with_length(dict_len as u64 - 1),
            Must::Fail,
        ),
        (
            "header length one long".into(),
            with_length(dict_len as u64 + 1),
            Must::Fail,
        ),
        (
            "header length past the file".into(),
            with_length(bytes.len() as u64 + 1),
            Must::Fail,
        ),
        (
            "header length at its maximum".into(),
            with_length(max),
            Must::Fail,
        ),
    ];
    for (major, minor) in [
        (0, 0),
        (1, 1),
        (2, 1),
        (4, 0),
        (255, 255),
        (1, 0),
        (2, 0),
        (3, 0),
    ] {
        let mut edited = bytes.clone();
        edited[6] = major;
        edited[7] = minor;
        // 2.0 and 3.0 frame alike, and an ASCII header reads the same as Latin-1 and UTF-8.
        let same_frame = (major == 2 || major == 3) && wide && minor == 0;
        let must = if same_frame || (major, minor) == (base.version, 0) {
            Must::Either
        } else {
            Must::Fail
        };
        cases.push((format!("version {major}.{minor}"), edited, must));
    }
    for extra in [1, 64] {
        let mut edited = bytes.clone();
        edited.resize(bytes.len() + extra, 0);
        cases.push((format!("{extra} trailing bytes"), edited, Must::Fail));
    }
    cases
}

/// Every corrupted variant of `base`, run through `corpus`.
fn corrupt(corpus: &mut Corpus, dir: &TempDir, base: &Base) {
    let mut next = 0usize;
    let mut case_path = || {
        next += 1;
        dir.join(&format!("case-{next}.npy"))
    };
    let (bytes, header_len, total) = (&base.bytes, base.data_offset, base.bytes.len());
    let pristine = if base.descr.contains("c8") {
        Must::Fail
    } else {
        Must::Read
    };
    let (path, copy, expected) = (case_path(), bytes.clone(), base.expected.clone());
    corpus.run(format!("{}: as written", base.name), move || {
        check(path, copy, pristine, expected)
    });

    let data_lengths = corpus.rng().positions(header_len..total, 12);
    for len in (0..header_len).chain(data_lengths) {
        let (path, cut) = (case_path(), bytes[..len].to_vec());
        corpus.run(
            format!("{}: truncated to {len} of {total} bytes", base.name),
            move || check(path, cut, Must::Fail, None),
        );
    }

    let data_positions = corpus.rng().positions(header_len..total, 8);
    for at in (0..header_len).chain(data_positions) {
        let bit = corpus.rng().bit();
        for (how, value) in [("flipped bit", bytes[at] ^ bit), ("set to 0xFF", 0xFF)] {
            if value == bytes[at] {
                continue;
            }
            let (path, mut edited) = (case_path(), bytes.clone());
            edited[at] = value;
            let name = format!(
                "{}: byte {at} {how} ({:#04x} -> {value:#04x})",
                base.name, bytes[at]
            );
            corpus.run(name, move || check(path, edited, Must::Either, None));
        }
    }

    let data = &bytes[header_len..];
    for (label, text, must) in dict_replacements(base) {
        let (path, mut edited) = (case_path(), aligned_header(base.version, &text));
        edited.extend_from_slice(data);
        corpus.run(
            format!("{}: header with {label}: {text}", base.name),
            move || check(path, edited, must, None),
        );
    }

    for (label, edited, must) in frame_edits(base) {
        let path = case_path();
        corpus.run(format!("{}: {label}", base.name), move || {
            check(path, edited, must, None)
        });
    }
}

#[test]
fn corrupt_npy_files_are_refused_by_name_never_panic_or_hang() {
    let mut corpus = Corpus::new("npy");
    let dir = TempDir::new("corpus");
    let mut bases: Vec<Base> = [
        (DType::F32, &[5, 7][..]),
        (DType::I64, &[4, 3]),
        (DType::Bool, &[3, 5]),
        (DType::U8, &[0, 4]),
        (DType::F64, &[]),
        (DType::F16, &[2, 3, 2]),
        (DType::I32, &[1]),
        (DType::U32, &[6]),
    ]
    .into_iter()
    .map(|(dtype, shape)| written(&dir, dtype, shape))
    .collect();
    for (version, descr, fortran, shape) in [
        (2, "'<f4'", true, &[4, 3][..]),
        (3, "'>i8'", false, &[3, 2]),
        (1, "'>f8'", true, &[3, 4]),
        (2, "'|b1'", true, &[2, 3]),
        (3, "'<c8'", false, &[2, 2]),
        (1, "'f8'", false, &[2]),
        (3, "'|u1'", false, &[]),
        (1, "'>f2'", false, &[0, 3]),
    ] {
        bases.push(framed_by_hand(&mut corpus, version, descr, fortran, shape));
    }
    for base in &bases {
        corrupt(&mut corpus, &dir, base);
    }
    corpus.finish();
}

/// Regression (found by the corpus): an empty shape whose non-zero sizes overflow, such as
/// `(0, 18446744073709551615)`, opened (it holds no bytes), and reading it panicked in ndarray
/// ("ShapeError/Overflow: arithmetic overflow"). It is refused at open, as NumPy refuses it,
/// and the writer refuses to create one.
#[test]
fn regression_empty_shapes_whose_sizes_overflow_are_refused() {
    let dir = TempDir::new("empty-overflow");
    let path = dir.join("empty.npy");
    for shape in [
        "(0, 18446744073709551615)",
        "(18446744073709551615, 0)",
        "(0, 9223372036854775807, 9223372036854775807)",
        "(4611686018427387904, 0, 4)",
    ] {
        std::fs::write(&path, aligned_header(1, &dict("'|u1'", "False", shape))).expect("write");
        let err = NpyReader::open(&path).expect_err(shape);
        let text = err.to_string();
        assert!(
            text.contains("empty.npy") && text.contains("more bytes than can be addressed"),
            "{shape}: {text}"
        );
    }
    let refused = NpyWriter::create(dir.join("w.npy"), DType::U8, &[0, usize::MAX]);
    assert!(matches!(refused, Err(tilework_core::Error::Io { .. })));
    // An empty shape whose sizes fit still opens and reads.
    let shape = "(0, 4611686018427387904)";
    std::fs::write(&path, aligned_header(1, &dict("'|u1'", "False", shape))).expect("write");
    let reader = NpyReader::open(&path).expect("an empty, addressable shape");
    let read = reader
        .read(&region(&[0, 0], &[0, 1 << 62]))
        .expect("an empty read");
    assert_eq!(read.shape().as_slice(), &[0, 1 << 62]);
}
