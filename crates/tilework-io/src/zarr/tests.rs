//! Tests of the Zarr reader and writer; shared helpers live here.
//!
//! The fixtures under `tests/data/zarr/` are written by zarr-python
//! (`tests/data/make_zarr_fixtures.py`); [`formula`] recomputes their values bit for bit.

mod bad_input;
mod corpus;
mod fixtures;
mod interrupted;
mod modes;
mod round_trip;
mod stores;

use half::f16;
use ndarray::{IxDyn, Slice};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use tilework_core::{DType, HostArray, Region, Shape, with_host_array};

/// The fixture directory `tests/data/zarr/<name>`.
fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/zarr")
        .join(name)
}

/// The values of `make_zarr_fixtures.py`'s `values(shape, dtype)`.
fn formula(dtype: DType, shape: &[usize]) -> HostArray {
    let n: usize = shape.iter().product();
    let base = |i: usize| (i * 7 % 23) as i64 - 11;
    let float = |i: usize| base(i) as f64 * 0.25 + i as f64 / 7.0;
    let built = match dtype {
        DType::Bool => HostArray::from_vec((0..n).map(|i| i % 3 == 0).collect(), shape),
        DType::U8 => HostArray::from_vec((0..n).map(|i| base(i) as u8).collect(), shape),
        DType::I32 => HostArray::from_vec(
            (0..n)
                .map(|i| (base(i) * 100_000 + i as i64) as i32)
                .collect(),
            shape,
        ),
        DType::I64 => HostArray::from_vec(
            (0..n).map(|i| base(i) * 3_000_000_000 + i as i64).collect(),
            shape,
        ),
        DType::U32 => {
            HostArray::from_vec((0..n).map(|i| (base(i) * 1_000) as u32).collect(), shape)
        }
        DType::F16 => HostArray::from_vec((0..n).map(|i| f16::from_f64(float(i))).collect(), shape),
        DType::F32 => HostArray::from_vec((0..n).map(|i| float(i) as f32).collect(), shape),
        DType::F64 => HostArray::from_vec((0..n).map(float).collect(), shape),
    };
    built.expect("the formula fills its shape")
}

/// An element's bit pattern, so floats compare bit for bit.
trait Bits: Copy {
    fn bits(self) -> u64;
}

macro_rules! bits_as {
    ($($t:ty => |$v:ident| $e:expr),* $(,)?) => {$(
        impl Bits for $t {
            fn bits(self) -> u64 {
                let $v = self;
                $e
            }
        }
    )*};
}
bits_as!(
    bool => |v| u64::from(v),
    u8 => |v| u64::from(v),
    i32 => |v| u64::from(v as u32),
    i64 => |v| v as u64,
    u32 => |v| u64::from(v),
    f16 => |v| u64::from(v.to_bits()),
    f32 => |v| u64::from(v.to_bits()),
    f64 => |v| v.to_bits(),
);

/// The bit patterns (C order) of `region` of `array`, or of the whole array.
fn bits(array: &HostArray, region: Option<&Region>) -> Vec<u64> {
    with_host_array!(array, a, _T => {
        let view = a.slice_each_axis(|axis| match region {
            Some(region) => Slice::from(region.range(axis.axis.index())),
            None => Slice::from(..),
        });
        view.iter().map(|v| v.bits()).collect()
    })
}

/// Asserts that `actual` is exactly `region` of `full`: same dtype, shape and bits.
fn assert_region_eq(actual: &HostArray, full: &HostArray, region: &Region, what: &str) {
    assert_eq!(actual.dtype(), full.dtype(), "{what}: dtype");
    assert_eq!(actual.shape(), region.shape, "{what}: shape");
    assert_eq!(
        bits(actual, None),
        bits(full, Some(region)),
        "{what}: values"
    );
}

fn region(start: &[usize], shape: &[usize]) -> Region {
    Region {
        start: Shape::from_slice(start),
        shape: Shape::from_slice(shape),
    }
}

/// Regions that exercise a reader of `shape` chunked by `chunk_shape`: the whole array, every
/// chunk, blocks crossing chunk borders, single elements at the corners, and an empty region.
fn regions_to_check(shape: &[usize], chunk_shape: &[usize]) -> Vec<Region> {
    let ndim = shape.len();
    let mut regions = vec![region(&vec![0; ndim], shape)];
    let grid: Vec<usize> = (0..ndim)
        .map(|a| shape[a].div_ceil(chunk_shape[a]))
        .collect();
    for index in ndarray::indices(IxDyn(&grid)) {
        let start: Vec<usize> = (0..ndim).map(|a| index[a] * chunk_shape[a]).collect();
        let size: Vec<usize> = (0..ndim)
            .map(|a| chunk_shape[a].min(shape[a] - start[a]))
            .collect();
        regions.push(region(&start, &size));
    }
    let crossing_start: Vec<usize> = shape.iter().map(|&s| (s / 4).min(1)).collect();
    let crossing_size: Vec<usize> = (0..ndim)
        .map(|a| shape[a] - crossing_start[a] - usize::from(shape[a] > 2))
        .collect();
    regions.push(region(&crossing_start, &crossing_size));
    let middle: Vec<usize> = (0..ndim)
        .map(|a| chunk_shape[a].min(shape[a]) - 1)
        .collect();
    let middle_size: Vec<usize> = (0..ndim).map(|a| (shape[a] - middle[a]).min(2)).collect();
    regions.push(region(&middle, &middle_size));
    regions.push(region(&vec![0; ndim], &vec![1; ndim]));
    let last: Vec<usize> = shape.iter().map(|&s| s - 1).collect();
    regions.push(region(&last, &vec![1; ndim]));
    let mut empty = vec![1; ndim];
    empty[0] = 0;
    regions.push(region(&vec![0; ndim], &empty));
    regions
}

/// A fresh directory under the system temp dir, removed (made writable first) when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("tilework-zarr-{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create a temp dir");
        TempDir(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&self.0, std::fs::Permissions::from_mode(0o755));
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Copies fixture `name` into `dir` (to damage it there) and returns the copy's path.
fn copy_fixture(name: &str, dir: &TempDir) -> PathBuf {
    fn copy_tree(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).expect("mkdir");
        for entry in std::fs::read_dir(from).expect("read fixture dir") {
            let entry = entry.expect("dir entry");
            let target = to.join(entry.file_name());
            if entry.path().is_dir() {
                copy_tree(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), &target).expect("copy fixture file");
            }
        }
    }
    let target = dir.join(name);
    copy_tree(&fixture(name), &target);
    target
}
