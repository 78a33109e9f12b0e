//! The corrupt-file corpus for Zarr: arrays of our own writer (several dtypes, ranks 0 to 3,
//! every codec it writes, fill values, one interrupted write), each with its `zarr.json`
//! truncated at many lengths, byte-flipped, and edited field by field (huge, zero, negative
//! and fractional sizes, mismatched ranks, unknown data types, codecs and encodings, bad fill
//! values, wrong format and node type, missing fields), and with every chunk file truncated,
//! byte-flipped, replaced by garbage, emptied, deleted and replaced by a directory.
//!
//! Every case opens the array in both read modes and reads it whole, chunk by chunk and element
//! by element, under the watchdog of [`crate::corpus`]: none may panic, hang or abort; an error
//! must name the array (and the chunk and its key, when a chunk is damaged); a damaged chunk
//! must never read.

use super::super::{
    BloscCompressor, Codec, ZarrReadMode, ZarrReader, ZarrWriteOptions, ZarrWriter,
};
use super::{TempDir, bits, formula, region};
use crate::corpus::{CaseResult, Corpus, Outcome, check_error, check_read_shape};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tilework_core::{ChunkReader, ChunkWriter, DType, HostArray, Region, Scalar};

mod edits;
use edits::metadata_edits;

/// What a case must end in, in the default and the strict read mode.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Must {
    /// Both modes read everything.
    Read,
    /// Both modes refuse something.
    Fail,
    /// The default mode reads everything (a missing chunk is the fill value), the strict one
    /// refuses.
    FailStrictly,
    /// Anything but a panic, a hang or an error that does not say where.
    Either,
}

/// What a metadata error names, besides the array.
const METADATA_WORDS: &[&str] = &[
    "zarr.json",
    "metadata",
    "Zarr",
    "dtype",
    "data type",
    "shape",
    "chunk",
    "fill",
    "codec",
];

/// Regions larger than this are not read (they would only cost memory), unless they are too
/// large for any address space, which a reader must refuse without trying to allocate.
const MAX_READ_BYTES: u128 = 16 << 20;
const UNADDRESSABLE_BYTES: u128 = 1 << 60;

/// Chunk grids with more chunks than this are read at their first and last chunk only.
const MAX_CHUNKS_READ: u128 = 64;

/// An array as our writer stored it: its files by relative path.
struct Base {
    name: String,
    files: Vec<(String, Vec<u8>)>,
    metadata: Value,
    expected: Option<HostArray>,
    /// Every stored chunk's key.
    chunks: Vec<String>,
    /// How the array as written must read (an interrupted write fails strictly).
    pristine: Must,
    zstd: bool,
}

struct Spec {
    dtype: DType,
    shape: &'static [usize],
    chunk_shape: &'static [usize],
    codec: Codec,
    fill_value: Option<Scalar>,
    /// Write every other row of chunks only, and never finish.
    interrupted: bool,
}

fn spec(
    dtype: DType,
    shape: &'static [usize],
    chunk_shape: &'static [usize],
    codec: Codec,
    fill_value: Option<Scalar>,
) -> Spec {
    Spec {
        dtype,
        shape,
        chunk_shape,
        codec,
        fill_value,
        interrupted: false,
    }
}

fn files_under(root: &Path, dir: &Path, files: &mut Vec<(String, Vec<u8>)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("list the array")
        .map(|entry| entry.expect("entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files_under(root, &path, files);
        } else {
            let key = path.strip_prefix(root).expect("under the root");
            let key = key.to_string_lossy().replace('\\', "/");
            files.push((key, std::fs::read(&path).expect("read a file")));
        }
    }
}

fn write_base(dir: &TempDir, index: usize, spec: &Spec) -> Base {
    let codec_name = format!("{:?}", spec.codec);
    let codec_name = codec_name
        .split([' ', '{'])
        .next()
        .unwrap_or("codec")
        .to_lowercase();
    let mut name = format!(
        "{} {:?} by {:?}, {codec_name}",
        spec.dtype, spec.shape, spec.chunk_shape
    );
    if let Some(fill) = spec.fill_value {
        name.push_str(&format!(", fill {fill:?}"));
    }
    let path = dir.join(&format!("base-{index}.zarr"));
    let options = ZarrWriteOptions {
        codec: spec.codec.clone(),
        fill_value: spec.fill_value,
        overwrite: false,
    };
    let writer = ZarrWriter::create(&path, spec.dtype, spec.shape, spec.chunk_shape, &options)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let zeros = vec![0; spec.shape.len()];
    let expected = if spec.interrupted {
        name.push_str(", interrupted");
        let rows = spec.chunk_shape[0];
        for row in (0..spec.shape[0]).step_by(2 * rows) {
            let mut start = zeros.clone();
            let mut extent = spec.shape.to_vec();
            start[0] = row;
            extent[0] = rows.min(spec.shape[0] - row);
            let values = formula(spec.dtype, &extent);
            writer
                .write(&region(&start, &extent), &values)
                .expect("write");
        }
        None
    } else {
        let values = formula(spec.dtype, spec.shape);
        writer
            .write(&region(&zeros, spec.shape), &values)
            .expect("write");
        writer.finish().expect("finish");
        Some(values)
    };
    let mut files = Vec::new();
    files_under(&path, &path, &mut files);
    let metadata_bytes = &files
        .iter()
        .find(|(key, _)| key == "zarr.json")
        .expect("zarr.json")
        .1;
    let metadata = serde_json::from_slice(metadata_bytes).expect("our zarr.json parses");
    let chunks = files
        .iter()
        .map(|(key, _)| key.clone())
        .filter(|key| key != "zarr.json")
        .collect();
    Base {
        name,
        files,
        metadata,
        expected,
        chunks,
        pristine: if spec.interrupted {
            Must::FailStrictly
        } else {
            Must::Read
        },
        zstd: matches!(spec.codec, Codec::Zstd { .. }),
    }
}

/// What a case does to its copy of the array before reading it.
type Damage = Box<dyn FnOnce(&Path) -> std::io::Result<()> + Send>;

fn replace_file(key: &str, bytes: Vec<u8>) -> Damage {
    let key = key.to_string();
    Box::new(move |root| std::fs::write(root.join(key), bytes))
}

/// The regions a case reads of an array of `shape`, `chunk_shape` and `itemsize`: the whole
/// array, every chunk (the first and the last of a huge grid) and the first and last element.
/// Regions too large to read but addressable are left out.
fn regions_of(shape: &[usize], chunk_shape: &[usize], itemsize: usize) -> Vec<Region> {
    let ndim = shape.len();
    let bytes = |extent: &[usize]| {
        extent.iter().fold(itemsize as u128, |acc, &len| {
            acc.saturating_mul(len as u128)
        })
    };
    let readable = |extent: &[usize]| {
        let size = bytes(extent);
        size <= MAX_READ_BYTES || size >= UNADDRESSABLE_BYTES
    };
    let mut regions = Vec::new();
    if readable(shape) {
        regions.push(region(&vec![0; ndim], shape));
    }
    if shape.contains(&0) {
        return regions;
    }
    let grid: Vec<usize> = (0..ndim)
        .map(|axis| shape[axis].div_ceil(chunk_shape[axis]))
        .collect();
    let count = grid
        .iter()
        .fold(1u128, |acc, &len| acc.saturating_mul(len as u128));
    let indices: Vec<Vec<usize>> = if count <= MAX_CHUNKS_READ {
        ndarray::indices(ndarray::IxDyn(&grid))
            .into_iter()
            .map(|index| (0..ndim).map(|axis| index[axis]).collect())
            .collect()
    } else {
        vec![vec![0; ndim], grid.iter().map(|len| len - 1).collect()]
    };
    for index in indices {
        let start: Vec<usize> = (0..ndim).map(|a| index[a] * chunk_shape[a]).collect();
        let extent: Vec<usize> = (0..ndim)
            .map(|a| chunk_shape[a].min(shape[a] - start[a]))
            .collect();
        if readable(&extent) {
            regions.push(region(&start, &extent));
        }
    }
    let last: Vec<usize> = shape.iter().map(|len| len - 1).collect();
    regions.push(region(&vec![0; ndim], &vec![1; ndim]));
    regions.push(region(&last, &vec![1; ndim]));
    regions
}

/// Opens `path` in `mode` and reads every region of [`regions_of`] and the missing-chunk
/// listing: `Ok(None)` when all of it worked (and matched `expected`), `Ok(Some(error))` when
/// something was refused with an error that says where, `Err` when a check failed.
fn read_in_mode(
    path: &Path,
    mode: ZarrReadMode,
    expected: Option<&HostArray>,
    chunk_key: Option<&str>,
) -> Result<Option<String>, String> {
    let location = path.display().to_string();
    let opened = ZarrReader::open(path).and_then(|reader| reader.with_mode(mode));
    let reader = match opened {
        Ok(reader) => reader,
        Err(err) => {
            check_error(&err, &location, &[], METADATA_WORDS)?;
            return Ok(Some(err.to_string()));
        }
    };
    // A damaged chunk is named with its key; any other refusal after opening names the chunk.
    let chunk_words: Vec<&str> = match chunk_key {
        Some(key) => vec!["chunk", key],
        None => vec!["chunk"],
    };
    if let Err(err) = reader.missing_chunk_count() {
        check_error(&err, &location, &[], &[])?;
        return Ok(Some(err.to_string()));
    }
    let (shape, dtype) = (reader.shape().to_vec(), reader.dtype());
    let mut refused = None;
    for part in regions_of(&shape, reader.chunk_shape(), dtype.size()) {
        match reader.read(&part) {
            Ok(read) => {
                check_read_shape(&part, &read, dtype)?;
                if let Some(expected) = expected
                    && bits(&read, None) != bits(expected, Some(&part))
                {
                    return Err(format!(
                        "region {:?}+{:?} read wrong values",
                        part.start, part.shape
                    ));
                }
            }
            Err(err) => {
                // Regions no memory could hold are refused for their size, before any chunk.
                let text = err.to_string();
                let too_large = text.contains("too large") || text.contains("cannot allocate");
                let words: &[&str] = if too_large { &[] } else { &chunk_words };
                check_error(&err, &location, words, &[])?;
                refused.get_or_insert(err.to_string());
            }
        }
    }
    Ok(refused)
}

/// One case: copies `base` to `path`, damages it, reads it in both modes, removes it, and
/// checks the outcome against `must`.
fn check(
    path: PathBuf,
    files: Arc<Vec<(String, Vec<u8>)>>,
    damage: Damage,
    must: Must,
    expected: Option<HostArray>,
    chunk_key: Option<String>,
) -> CaseResult {
    for (key, bytes) in files.iter() {
        let target = path.join(key);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("cannot copy the base: {e}"))?;
        }
        std::fs::write(&target, bytes).map_err(|e| format!("cannot copy the base: {e}"))?;
    }
    damage(&path).map_err(|e| format!("cannot damage the copy: {e}"))?;
    let key = chunk_key.as_deref();
    let default = read_in_mode(&path, ZarrReadMode::FillMissing, expected.as_ref(), key);
    let strict = read_in_mode(&path, ZarrReadMode::Strict, expected.as_ref(), key);
    let _ = std::fs::remove_dir_all(&path);
    let (default, strict) = (default?, strict?);
    let verdict = match must {
        Must::Read => default
            .iter()
            .chain(&strict)
            .next()
            .map(|err| format!("the array as written was refused: {err}")),
        Must::Fail if default.is_none() || strict.is_none() => {
            let mode = if default.is_none() {
                "default"
            } else {
                "strict"
            };
            Some(format!("read in the {mode} mode, but must be refused"))
        }
        Must::FailStrictly => match (&default, &strict) {
            (Some(err), _) => Some(format!("the default mode refused it: {err}")),
            (None, None) => Some("the strict mode read it, but must refuse it".into()),
            (None, Some(_)) => None,
        },
        _ => None,
    };
    match (verdict, default.or(strict)) {
        (Some(problem), _) => Err(problem),
        (None, None) => Ok(Outcome::Read),
        (None, Some(err)) => Ok(Outcome::Refused(err)),
    }
}

/// A zstd frame like `frame` whose header declares `size` content bytes in an 8-byte field
/// (keeping its blocks), or `None` when `frame` is not a plain zstd frame.
fn with_zstd_content_size(frame: &[u8], size: u64) -> Option<Vec<u8>> {
    if frame.get(..4)? != [0x28, 0xB5, 0x2F, 0xFD] {
        return None;
    }
    let descriptor = *frame.get(4)?;
    let single_segment = descriptor & 0x20 != 0;
    let dictionary_bytes = [0, 1, 2, 4][usize::from(descriptor & 3)];
    let size_bytes = match descriptor >> 6 {
        0 => usize::from(single_segment),
        1 => 2,
        2 => 4,
        _ => 8,
    };
    let header_len = 5 + usize::from(!single_segment) + dictionary_bytes + size_bytes;
    // 8-byte content size, a window descriptor (2 MiB), the old checksum and dictionary flags.
    let mut out = frame[..4].to_vec();
    out.push(0xC0 | (descriptor & 0x07));
    out.push(0x58);
    out.extend_from_slice(
        frame
            .get(5 + usize::from(!single_segment)..)?
            .get(..dictionary_bytes)?,
    );
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(frame.get(header_len..)?);
    Some(out)
}

/// Every damaged variant of `base`, run through `corpus`.
fn damage_all(corpus: &mut Corpus, dir: &TempDir, base: &Base) {
    let files = Arc::new(base.files.clone());
    let mut next = 0usize;
    let mut run = |corpus: &mut Corpus,
                   label: String,
                   damage: Damage,
                   must: Must,
                   key: Option<&str>,
                   expected: Option<HostArray>| {
        next += 1;
        let path = dir.join(&format!("case-{next}.zarr"));
        let (files, key) = (files.clone(), key.map(str::to_string));
        corpus.run(format!("{}: {label}", base.name), move || {
            check(path, files, damage, must, expected, key)
        });
    };
    run(
        corpus,
        "as written".into(),
        Box::new(|_| Ok(())),
        base.pristine,
        None,
        base.expected.clone(),
    );

    let metadata = &base
        .files
        .iter()
        .find(|(key, _)| key == "zarr.json")
        .expect("zarr.json")
        .1;
    let len = metadata.len();
    for cut in corpus.rng().positions(0..len, 64) {
        let truncated = metadata[..cut].to_vec();
        // Cutting only trailing whitespace leaves valid JSON.
        let must = if serde_json::from_slice::<Value>(&truncated).is_ok() {
            Must::Either
        } else {
            Must::Fail
        };
        run(
            corpus,
            format!("zarr.json truncated to {cut} of {len} bytes"),
            replace_file("zarr.json", truncated),
            must,
            None,
            None,
        );
    }
    for at in corpus.rng().positions(0..len, 100) {
        let bit = corpus.rng().bit();
        for (how, value) in [("flipped bit", metadata[at] ^ bit), ("set to 0xFF", 0xFF)] {
            let mut edited = metadata.clone();
            edited[at] = value;
            let label = format!(
                "zarr.json byte {at} {how} ({:#04x} -> {value:#04x})",
                metadata[at]
            );
            run(
                corpus,
                label,
                replace_file("zarr.json", edited),
                Must::Either,
                None,
                None,
            );
        }
    }
    for (label, edit, must) in metadata_edits() {
        let mut edited = base.metadata.clone();
        if edit(&mut edited).is_none() {
            continue;
        }
        let text = serde_json::to_vec_pretty(&edited).expect("serializes");
        run(
            corpus,
            format!("zarr.json with {label}"),
            replace_file("zarr.json", text),
            must,
            None,
            None,
        );
    }
    let text = String::from_utf8_lossy(metadata).into_owned();
    let deep = format!(
        "{{\"deep\": {}{}, {}",
        "[".repeat(100_000),
        "]".repeat(100_000),
        &text[1..]
    );
    run(
        corpus,
        "zarr.json nested 100,000 deep".into(),
        replace_file("zarr.json", deep.into_bytes()),
        Must::Fail,
        None,
        None,
    );
    let padded = format!("{text}{}", " ".repeat(1 << 20)).into_bytes();
    run(
        corpus,
        "zarr.json padded with 1 MiB of spaces".into(),
        replace_file("zarr.json", padded),
        Must::Either,
        None,
        None,
    );
    run(
        corpus,
        "zarr.json deleted".into(),
        Box::new(|root| std::fs::remove_file(root.join("zarr.json"))),
        Must::Fail,
        None,
        None,
    );
    run(
        corpus,
        "zarr.json a directory".into(),
        Box::new(|root| {
            std::fs::remove_file(root.join("zarr.json"))?;
            std::fs::create_dir(root.join("zarr.json"))
        }),
        Must::Fail,
        None,
        None,
    );

    for key in &base.chunks {
        let bytes = &base
            .files
            .iter()
            .find(|(k, _)| k == key)
            .expect("a chunk")
            .1;
        let n = bytes.len();
        let mut cuts = vec![
            0,
            1,
            n / 2,
            n.saturating_sub(1),
            1 + corpus.rng().below(n.saturating_sub(2)),
        ];
        cuts.sort_unstable();
        cuts.dedup();
        for cut in cuts.into_iter().filter(|&cut| cut < n) {
            let label = format!("chunk {key} truncated to {cut} of {n} bytes");
            run(
                corpus,
                label,
                replace_file(key, bytes[..cut].to_vec()),
                Must::Fail,
                Some(key),
                None,
            );
        }
        for at in corpus.rng().positions(0..n, 3) {
            let bit = corpus.rng().bit();
            for (how, value) in [("flipped bit", bytes[at] ^ bit), ("set to 0xFF", 0xFF)] {
                let mut edited = bytes.clone();
                edited[at] = value;
                let label = format!(
                    "chunk {key} byte {at} {how} ({:#04x} -> {value:#04x})",
                    bytes[at]
                );
                run(
                    corpus,
                    label,
                    replace_file(key, edited),
                    Must::Either,
                    Some(key),
                    None,
                );
            }
        }
        for (how, garbage) in [
            ("garbage of its length", corpus.rng().bytes(n)),
            ("longer garbage", corpus.rng().bytes(3 * n + 7)),
            ("zeros of its length", vec![0; n]),
        ] {
            run(
                corpus,
                format!("chunk {key} replaced by {how}"),
                replace_file(key, garbage),
                Must::Either,
                Some(key),
                None,
            );
        }
        let owned = key.clone();
        run(
            corpus,
            format!("chunk {key} deleted"),
            Box::new(move |root| std::fs::remove_file(root.join(owned))),
            Must::FailStrictly,
            Some(key),
            None,
        );
        let owned = key.clone();
        run(
            corpus,
            format!("chunk {key} a directory"),
            Box::new(move |root| {
                std::fs::remove_file(root.join(&owned))?;
                std::fs::create_dir(root.join(&owned))
            }),
            Must::Fail,
            Some(key),
            None,
        );
        if base.zstd {
            for size in [1u64 << 62, u64::MAX - 2, 1 << 40, n as u64 + 1] {
                if let Some(frame) = with_zstd_content_size(bytes, size) {
                    let label = format!("chunk {key} a zstd frame declaring {size} bytes");
                    run(
                        corpus,
                        label,
                        replace_file(key, frame),
                        Must::Fail,
                        Some(key),
                        None,
                    );
                }
            }
        }
    }
}

fn bases(dir: &TempDir) -> Vec<Base> {
    let lz4 = Codec::Blosc {
        compressor: BloscCompressor::Lz4,
        level: 5,
        shuffle: true,
    };
    let blosc_zstd = Codec::Blosc {
        compressor: BloscCompressor::Zstd,
        level: 3,
        shuffle: false,
    };
    let specs = [
        spec(DType::F32, &[10, 7], &[4, 3], Codec::None, None),
        spec(
            DType::I64,
            &[25],
            &[8],
            Codec::Zstd { level: 3 },
            Some(Scalar::I64(-1)),
        ),
        spec(DType::U8, &[5, 4, 3], &[2, 3, 2], lz4, None),
        spec(
            DType::Bool,
            &[6, 5],
            &[4, 4],
            Codec::Gzip { level: 5 },
            Some(Scalar::Bool(true)),
        ),
        spec(
            DType::F16,
            &[9, 9],
            &[5, 5],
            blosc_zstd,
            Some(Scalar::F64(1.5)),
        ),
        Spec {
            interrupted: true,
            ..spec(
                DType::U32,
                &[7, 6],
                &[3, 6],
                Codec::None,
                Some(Scalar::U32(7)),
            )
        },
        spec(
            DType::I32,
            &[12, 4],
            &[12, 4],
            Codec::Zstd { level: 1 },
            None,
        ),
        spec(DType::F64, &[], &[], Codec::Zstd { level: 3 }, None),
        spec(DType::F64, &[6, 6], &[1, 6], Codec::Gzip { level: 1 }, None),
    ];
    specs
        .iter()
        .enumerate()
        .map(|(index, spec)| write_base(dir, index, spec))
        .collect()
}

#[test]
fn corrupt_zarr_arrays_are_refused_by_name_never_panic_or_hang() {
    let mut corpus = Corpus::new("zarr");
    let dir = TempDir::new("corpus");
    for base in bases(&dir) {
        damage_all(&mut corpus, &dir, &base);
    }
    corpus.finish();
}

/// A finished int64 array `[16]` by `[8]` (zstd) of our writer in `dir`, holding `0..16`.
fn small_zstd_array(dir: &TempDir) -> PathBuf {
    let path = dir.join("small.zarr");
    let writer = ZarrWriter::create(&path, DType::I64, &[16], &[8], &ZarrWriteOptions::default())
        .expect("create");
    let values = HostArray::from_vec((0..16i64).collect(), &[16]).expect("16 values");
    writer.write(&region(&[0], &[16]), &values).expect("write");
    writer.finish().expect("finish");
    path
}

/// Regression (found by the corpus): zarrs allocates what a zstd frame header declares before
/// decoding, so a chunk whose header declared 2^40 or 2^62 bytes aborted the process
/// ("memory allocation of 4611686018427387904 bytes failed") and 2^63 panicked ("capacity
/// overflow"). Such a chunk is now an error naming it; the other chunk still reads.
#[test]
fn regression_zstd_frames_declaring_huge_sizes_are_refused_not_allocated() {
    for size in [1u64 << 40, 1 << 62, 1 << 63, 9] {
        let dir = TempDir::new("zstd-declared");
        let path = small_zstd_array(&dir);
        let chunk = path.join("c/0");
        let frame = std::fs::read(&chunk).expect("read the chunk");
        let forged = with_zstd_content_size(&frame, size).expect("our writer's frames are plain");
        std::fs::write(&chunk, forged).expect("write the chunk");
        let reader = ZarrReader::open(&path).expect("the metadata is intact");
        for part in [region(&[0], &[8]), region(&[0], &[16]), region(&[3], &[2])] {
            let err = reader.read(&part).expect_err("the chunk is corrupt");
            let text = err.to_string();
            assert!(
                text.contains("[0] (key 'c/0')") && text.contains("zstd"),
                "{size}: {text}"
            );
        }
        let other = reader.read(&region(&[8], &[8])).expect("chunk 1 is intact");
        assert_eq!(bits(&other, None), (8..16).collect::<Vec<u64>>());
    }
}

/// Regression (found by the corpus): a chunk shape of `[2^40, 3]` passed the open-time check
/// (it is addressable), and a read of a chunk never written then had zarrs allocate the whole
/// 13 TB chunk of fill values, which aborted the process. Chunks above `MAX_CHUNK_BYTES` are
/// refused at open, and a chunk never written is no longer allocated at all.
#[test]
fn regression_huge_chunk_shapes_are_refused_at_open() {
    let dir = TempDir::new("huge-chunks");
    let path = dir.join("a.zarr");
    std::fs::create_dir_all(&path).expect("mkdir");
    let metadata = |chunk_shape: &str| {
        format!(
            r#"{{"zarr_format": 3, "node_type": "array", "shape": [10, 7],
            "data_type": "float32", "chunk_grid": {{"name": "regular",
            "configuration": {{"chunk_shape": {chunk_shape}}}}},
            "chunk_key_encoding": {{"name": "default", "configuration": {{"separator": "/"}}}},
            "fill_value": 0.0, "codecs": [{{"name": "bytes", "configuration": {{"endian": "little"}}}}]}}"#
        )
    };
    for chunk_shape in ["[1099511627776, 3]", "[65536, 65536]", "[1073741825, 1]"] {
        std::fs::write(path.join("zarr.json"), metadata(chunk_shape)).expect("write");
        let err = ZarrReader::open(&path).expect_err("chunks past MAX_CHUNK_BYTES");
        let text = err.to_string();
        assert!(
            text.contains("a.zarr") && text.contains("too large"),
            "{text}"
        );
    }
    // Exactly MAX_CHUNK_BYTES opens, and its missing chunks read as the fill value without
    // being allocated whole.
    std::fs::write(path.join("zarr.json"), metadata("[1073741824, 1]")).expect("write");
    let reader = ZarrReader::open(&path).expect("a chunk of MAX_CHUNK_BYTES");
    let read = reader
        .read(&region(&[0, 0], &[10, 7]))
        .expect("fill values");
    assert_eq!(bits(&read, None), vec![0; 70]);
    let writer = ZarrWriter::prepare(
        dir.join("b.zarr"),
        DType::F32,
        &[10, 7],
        &[1 << 30, 2],
        &ZarrWriteOptions::default(),
    );
    let err = writer.expect_err("the writer refuses what the reader would");
    assert!(err.to_string().contains("too large"), "{err}");
}

/// Regression (found by the corpus): a region of 2^62 bytes is addressable, so the size check
/// let it through, and allocating it for the fill value aborted the process. The allocation
/// is fallible now: the read is an error naming the array.
#[test]
fn regression_regions_no_memory_can_hold_are_errors_not_aborts() {
    let dir = TempDir::new("huge-region");
    let path = small_zstd_array(&dir);
    let metadata_path = path.join("zarr.json");
    let mut metadata: Value =
        serde_json::from_slice(&std::fs::read(&metadata_path).expect("read")).expect("parse");
    metadata["shape"] = json!([1u64 << 59]);
    std::fs::write(&metadata_path, metadata.to_string()).expect("write");
    let reader = ZarrReader::open(&path).expect("a huge, sparse array opens");
    let err = reader
        .read(&region(&[0], &[1 << 59]))
        .expect_err("2^62 bytes fit no machine");
    let text = err.to_string();
    assert!(
        text.contains("small.zarr") && text.contains("cannot allocate"),
        "{text}"
    );
    let first = reader
        .read(&region(&[0], &[16]))
        .expect("the stored chunks read");
    assert_eq!(bits(&first, None), (0..16).collect::<Vec<u64>>());
}

#[test]
fn zstd_bounds_follow_the_frame_format() {
    use super::super::decode::zstd_bound;
    let bound = |data: &[u8]| zstd_bound(data).map(|d| (d.bound, d.every_size_known));
    // Our writer's frames state their content size.
    let dir = TempDir::new("zstd-bound");
    let path = small_zstd_array(&dir);
    let frame = std::fs::read(path.join("c/0")).expect("read the chunk");
    assert_eq!(bound(&frame), Some((64, true)));
    // Frames add up; a skippable frame adds nothing; anything cut short or foreign has no bound.
    let mut two = frame.clone();
    two.extend_from_slice(&[0x50, 0x2A, 0x4D, 0x18, 2, 0, 0, 0, 7, 7]);
    two.extend_from_slice(&frame);
    assert_eq!(bound(&two), Some((128, true)));
    assert_eq!(bound(&frame[..frame.len() - 1]), None);
    assert_eq!(bound(b"not zstd"), None);
    let forged = with_zstd_content_size(&frame, 1 << 62).expect("a plain frame");
    assert_eq!(bound(&forged), Some((1 << 62, true)));
}
