//! The writer: ragged regions from several threads, commit and drop, bad regions and bad
//! destinations.

use super::*;
use crate::npy::{NpyReader, NpyWriter};
use tilework_core::{ChunkReader, ChunkWriter, Error};

/// Ragged blocks covering `shape`: axis `a` is cut at `cuts[a]`.
fn blocks(shape: &[usize], cuts: &[&[usize]]) -> Vec<Region> {
    let mut regions = vec![region(&[], &[])];
    for (axis, &len) in shape.iter().enumerate() {
        let mut bounds = vec![0];
        bounds.extend(cuts[axis].iter().copied().filter(|&c| c > 0 && c < len));
        bounds.push(len);
        let mut next = Vec::new();
        for done in &regions {
            for pair in bounds.windows(2) {
                let mut start = done.start.to_vec();
                let mut extent = done.shape.to_vec();
                start.push(pair[0]);
                extent.push(pair[1] - pair[0]);
                next.push(region(&start, &extent));
            }
        }
        regions = next;
    }
    regions
}

/// Writes `whole` through a writer in `regions`, spread over three threads, and commits.
fn write_in_threads(path: &Path, whole: &HostArray, regions: &[Region]) {
    let writer = NpyWriter::create(path, whole.dtype(), &whole.shape()).expect("create");
    std::thread::scope(|scope| {
        for lane in 0..3 {
            let writer = &writer;
            scope.spawn(move || {
                for part in regions.iter().skip(lane).step_by(3) {
                    writer.write(part, &sub(whole, part)).expect("write region");
                }
            });
        }
    });
    writer.commit().expect("commit");
}

#[test]
fn every_dtype_round_trips_through_threads_and_ragged_regions() {
    let dir = TempDir::new("roundtrip");
    let shape = [37, 23, 5];
    let regions = blocks(&shape, &[&[10, 11, 26], &[7], &[2]]);
    assert_eq!(regions.len(), 16);
    for dtype in DType::ALL {
        let path = dir.join(&format!("{dtype}.npy"));
        let whole = expected(dtype, &shape);
        write_in_threads(&path, &whole, &regions);
        let bytes = std::fs::read(&path).expect("committed file exists");
        let data_offset = bytes.len() - whole.nbytes();
        assert_eq!(data_offset % 64, 0, "{dtype}: data is aligned like NumPy's");
        let reader = NpyReader::open(&path).expect("reopen");
        assert!(!reader.is_fortran_order() && !reader.is_big_endian());
        assert_identical(
            &reader.read(&region(&[0, 0, 0], &shape)).expect("read"),
            &whole,
            dtype.name(),
        );
        for part in interesting_regions(&shape) {
            assert_identical(
                &reader.read(&part).expect("read"),
                &sub(&whole, &part),
                dtype.name(),
            );
        }
    }
    assert_eq!(
        dir.entries().len(),
        DType::ALL.len(),
        "no temporary files remain"
    );
}

#[test]
fn zero_d_and_empty_arrays_round_trip() {
    let dir = TempDir::new("small");
    for (name, dtype, shape) in [
        ("scalar.npy", DType::F64, vec![]),
        ("empty.npy", DType::I32, vec![4, 0, 3]),
    ] {
        let path = dir.join(name);
        let whole = expected(dtype, &shape);
        let whole_region = region(&vec![0; shape.len()], &shape);
        write_in_threads(&path, &whole, std::slice::from_ref(&whole_region));
        let read = NpyReader::open(&path)
            .expect("reopen")
            .read(&whole_region)
            .expect("read");
        assert_identical(&read, &whole, name);
    }
}

#[test]
fn data_in_any_layout_is_written_in_c_order() {
    let dir = TempDir::new("layout");
    let path = dir.join("t.npy");
    let whole = expected(DType::I64, &[6, 4]);
    let transposed = with_host_array!(&whole, a, T => T::wrap(a.t().to_owned().into_shared()));
    // `a.t().to_owned()` keeps the Fortran strides, which the writer must walk correctly.
    let writer = NpyWriter::create(&path, DType::I64, &[4, 6]).expect("create");
    writer
        .write(&region(&[0, 0], &[4, 6]), &transposed)
        .expect("write");
    writer.commit().expect("commit");
    let read = NpyReader::open(&path)
        .expect("reopen")
        .read(&region(&[0, 0], &[4, 6]))
        .expect("read");
    assert_identical(&read, &transposed, "transposed");
}

#[test]
fn nothing_appears_before_commit_and_drop_cleans_up() {
    let dir = TempDir::new("commit");
    let path = dir.join("out.npy");
    let writer = NpyWriter::create(&path, DType::U8, &[10]).expect("create");
    assert_eq!(writer.describe(), format!("npy file {}", path.display()));
    assert!(!path.exists());
    let names = dir.entries();
    assert_eq!(names.len(), 1);
    assert!(names[0].starts_with(".out.npy.tilework-tmp-"), "{names:?}");
    drop(writer);
    assert!(dir.entries().is_empty(), "drop removes the temporary file");

    std::fs::write(&path, b"old contents").expect("writable");
    let writer = NpyWriter::create(&path, DType::U8, &[10]).expect("create");
    writer
        .write(&region(&[2], &[3]), &expected(DType::U8, &[3]))
        .expect("write");
    assert_eq!(std::fs::read(&path).expect("old file"), b"old contents");
    writer.commit().expect("commit replaces the old file");
    let read = NpyReader::open(&path)
        .expect("reopen")
        .read(&region(&[0], &[10]))
        .expect("read");
    // Unwritten elements of the sparse file read as zeros.
    let expected_values = [0u8, 0, 0, 37, 74, 0, 0, 0, 0, 0];
    assert_identical(
        &read,
        &HostArray::from_vec(expected_values.to_vec(), &[10]).expect("10"),
        "sparse",
    );
    assert_eq!(dir.entries(), ["out.npy"]);
}

#[test]
fn bad_writes_are_errors() {
    let dir = TempDir::new("bad-writes");
    let writer = NpyWriter::create(dir.join("w.npy"), DType::F32, &[4, 5]).expect("create");
    let out_of_bounds = [
        region(&[0, 0], &[5, 1]),
        region(&[3, 4], &[1, 2]),
        region(&[usize::MAX, 0], &[2, 1]),
        region(&[0], &[1]),
    ];
    for part in &out_of_bounds {
        let data = HostArray::zeros(DType::F32, &part.shape);
        let result = writer.write(part, &data);
        assert!(
            matches!(&result, Err(Error::BadIndex { detail, .. }) if detail.contains("w.npy")),
            "{result:?}"
        );
    }
    let part = region(&[1, 1], &[2, 2]);
    let wrong_dtype = writer.write(&part, &HostArray::zeros(DType::F64, &[2, 2]));
    assert!(
        matches!(&wrong_dtype, Err(Error::InvalidArgument { detail, .. }) if detail.contains("float64"))
    );
    let wrong_shape = writer.write(&part, &HostArray::zeros(DType::F32, &[2, 3]));
    assert!(
        matches!(&wrong_shape, Err(Error::InvalidArgument { detail, .. }) if detail.contains("[2, 3]"))
    );
}

fn create_fails(path: &Path) -> String {
    match NpyWriter::create(path, DType::F32, &[3]) {
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
fn bad_destinations_are_io_errors() {
    let dir = TempDir::new("bad-dest");
    assert!(create_fails(&dir.join("missing/sub/x.npy")).contains("cannot create temporary file"));
    assert!(create_fails(Path::new("/")).contains("no file name"));
    // /proc refuses new files even for root, so this is a read-only destination everywhere.
    assert!(create_fails(Path::new("/proc/tilework-test.npy")).contains("cannot create"));
    let too_large = NpyWriter::create(dir.join("huge.npy"), DType::F64, &[usize::MAX, 2]);
    assert!(matches!(too_large, Err(Error::Io { .. })));
    assert!(dir.entries().is_empty());
}

#[test]
fn read_only_directory_is_an_io_error() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("read-only");
    let locked = dir.join("locked");
    std::fs::create_dir(&locked).expect("writable");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o555)).expect("chmod");
    // Root ignores directory permissions; only check where they apply.
    let probe = locked.join("probe");
    let permissions_apply = std::fs::write(&probe, b"").is_err();
    if permissions_apply {
        assert!(create_fails(&locked.join("x.npy")).contains("ermission denied"));
    }
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).expect("chmod back");
}

/// Reads a large file from page cache and prints the rate. Run with
/// `cargo test -p tilework-io --lib npy::tests::roundtrip::read_speed -- --ignored --nocapture`.
#[test]
#[ignore = "a benchmark, not a check"]
fn read_speed() {
    let dir = TempDir::new("speed");
    let path = dir.join("big.npy");
    let shape = [8192, 8192];
    let writer = NpyWriter::create(&path, DType::F32, &shape).expect("create");
    for row in (0..shape[0]).step_by(512) {
        let data = HostArray::full(DType::F32, &[512, shape[1]], Scalar::F32(row as f32));
        writer
            .write(&region(&[row, 0], &[512, shape[1]]), &data)
            .expect("write");
    }
    writer.commit().expect("commit");
    let reader = NpyReader::open(&path).expect("open");
    for (label, part) in [
        ("whole 256 MiB", region(&[0, 0], &shape)),
        ("256 MiB again", region(&[0, 0], &shape)),
        ("left half", region(&[0, 0], &[8192, 4096])),
        ("block 2048^2", region(&[1024, 1024], &[2048, 2048])),
    ] {
        let started = std::time::Instant::now();
        let read = reader.read(&part).expect("read");
        let seconds = started.elapsed().as_secs_f64();
        println!("{label}: {:.2} GB/s", read.nbytes() as f64 / seconds / 1e9);
    }
    // The same bytes declared Fortran-ordered: reads now transpose.
    let mut bytes = std::fs::read(&path).expect("committed");
    let at = bytes
        .windows(5)
        .position(|w| w == b"False")
        .expect("C-order header");
    bytes[at..at + 5].copy_from_slice(b"True ");
    std::fs::write(&path, &bytes).expect("rewrite");
    drop(bytes);
    let reader = NpyReader::open(&path).expect("open");
    for (label, part) in [
        ("fortran whole 256 MiB", region(&[0, 0], &shape)),
        ("fortran block 2048^2", region(&[1024, 1024], &[2048, 2048])),
    ] {
        let started = std::time::Instant::now();
        let read = reader.read(&part).expect("read");
        let seconds = started.elapsed().as_secs_f64();
        println!("{label}: {:.2} GB/s", read.nbytes() as f64 / seconds / 1e9);
    }
}

#[test]
fn a_new_write_removes_temporaries_that_killed_writers_left() {
    let dir = TempDir::new("stale");
    let path = dir.join("out.npy");
    // pid 0 is never a user process, so its temporary is stale; ours may be a live write.
    let stale = dir.join(".out.npy.tilework-tmp-0-7");
    let live = dir.join(&format!(".out.npy.tilework-tmp-{}-999", std::process::id()));
    let other = dir.join(".other.npy.tilework-tmp-0-1");
    for file in [&stale, &live, &other] {
        std::fs::write(file, b"half a file").expect("writable");
    }
    let writer = NpyWriter::create(&path, DType::U8, &[4]).expect("create");
    writer
        .write(&region(&[0], &[4]), &expected(DType::U8, &[4]))
        .expect("write");
    writer.commit().expect("commit");
    assert!(!stale.exists(), "a dead writer's temporary is removed");
    assert!(live.exists(), "a live process's temporary is kept");
    assert!(other.exists(), "another file's temporaries are not touched");
}
