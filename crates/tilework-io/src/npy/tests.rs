//! Tests of the `.npy` reader and writer, against fixtures written by NumPy
//! (`tests/data/make_npy_fixtures.py`) and against themselves.

mod corpus;
mod errors;
mod fixtures;
mod fuzz;
mod header_syntax;
mod npz;
mod roundtrip;

use half::f16;
use ndarray::Slice;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use tilework_core::{
    DType, Element, HostArray, HostElement, Region, Scalar, Shape, with_dtype, with_host_array,
};

/// A fixture under `tests/data/npy/`.
fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/npy")
        .join(name)
}

fn region(start: &[usize], shape: &[usize]) -> Region {
    Region {
        start: Shape::from_slice(start),
        shape: Shape::from_slice(shape),
    }
}

/// A fresh directory under the system temp dir, removed with its contents on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(label: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let unique = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "tilework-npy-{}-{unique}-{label}",
            std::process::id()
        ));
        std::fs::create_dir_all(&path).expect("the temp dir is writable");
        TempDir(path)
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    fn entries(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.0)
            .expect("the temp dir exists")
            .map(|entry| {
                entry
                    .expect("listing works")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        names
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Element `index` (C-order flat index of the logical array) of the fixtures; mirrors
/// `values()` in `tests/data/make_npy_fixtures.py`.
fn expected_scalar(dtype: DType, index: usize) -> Scalar {
    let i = index as i64;
    let base = i * 7 % 23 - 11;
    let x = base as f64 * 0.25 + (i % 5) as f64 / 3.0;
    match dtype {
        DType::Bool => Scalar::Bool((i * 7 % 23) % 3 == 0),
        DType::U8 => Scalar::U8((i * 37 % 256) as u8),
        DType::I32 => Scalar::I32((base * 1_000_003 - i) as i32),
        DType::I64 => Scalar::I64(base * 1_000_000_000_000 + i),
        DType::U32 => Scalar::U32((i as u64 * 2_654_435_761 % (1 << 32)) as u32),
        DType::F16 => Scalar::F16(f16::from_f32(x as f32)),
        DType::F32 => Scalar::F32(x as f32),
        DType::F64 => Scalar::F64(x),
    }
}

/// The whole fixture array of `dtype` and `shape`, in C order.
fn expected(dtype: DType, shape: &[usize]) -> HostArray {
    let count: usize = shape.iter().product();
    with_dtype!(dtype, T => {
        let values: Vec<T> = (0..count).map(|i| T::from_scalar(expected_scalar(dtype, i))).collect();
        HostArray::from_vec(values, shape).expect("the count matches the shape")
    })
}

/// `region` of `array`.
fn sub(array: &HostArray, region: &Region) -> HostArray {
    with_host_array!(array, a, T => {
        let part = a.slice_each_axis(|axis| {
            let range = region.range(axis.axis.index());
            Slice::from(range)
        });
        T::wrap(part.to_owned().into_shared())
    })
}

/// The bit pattern of every element, in logical C order.
fn bits(array: &HostArray) -> Vec<u64> {
    with_host_array!(array, a, _T => a.iter().map(|v| scalar_bits(v.into_scalar())).collect())
}

fn scalar_bits(value: Scalar) -> u64 {
    match value {
        Scalar::Bool(v) => u64::from(v),
        Scalar::U8(v) => u64::from(v),
        Scalar::I32(v) => u64::from(v as u32),
        Scalar::I64(v) => v as u64,
        Scalar::U32(v) => u64::from(v),
        Scalar::F16(v) => u64::from(v.to_bits()),
        Scalar::F32(v) => u64::from(v.to_bits()),
        Scalar::F64(v) => v.to_bits(),
    }
}

/// Asserts equal dtype, shape and bits, and that `actual` is laid out in C order.
fn assert_identical(actual: &HostArray, expected: &HostArray, context: &str) {
    assert_eq!(actual.dtype(), expected.dtype(), "{context}: dtype");
    assert_eq!(actual.shape(), expected.shape(), "{context}: shape");
    assert_eq!(bits(actual), bits(expected), "{context}: values");
    let standard = with_host_array!(actual, a, _T => a.is_standard_layout());
    assert!(standard, "{context}: result is not in C order");
}

/// Regions that exercise every kind of run: the whole array, a tiling with ragged edges, an
/// interior block, full trailing axes, a single element and an empty region.
fn interesting_regions(shape: &[usize]) -> Vec<Region> {
    let mut regions = vec![region(&vec![0; shape.len()], shape)];
    if shape.is_empty() || shape.contains(&0) {
        return regions;
    }
    let tile: Vec<usize> = (0..shape.len())
        .map(|axis| [4, 5, 2, 3][axis % 4])
        .collect();
    let counts: Vec<usize> = shape
        .iter()
        .zip(&tile)
        .map(|(len, t)| len.div_ceil(*t))
        .collect();
    let tiles: usize = counts.iter().product();
    for flat in 0..tiles {
        let (mut start, mut extent, mut rest) = (vec![], vec![], flat);
        for axis in (0..shape.len()).rev() {
            let index = rest % counts[axis];
            rest /= counts[axis];
            start.insert(0, index * tile[axis]);
            extent.insert(0, tile[axis].min(shape[axis] - index * tile[axis]));
        }
        regions.push(region(&start, &extent));
    }
    let start: Vec<usize> = shape.iter().map(|len| len / 5).collect();
    let extent: Vec<usize> = shape
        .iter()
        .map(|len| (len - len / 4 - len / 5).max(1))
        .collect();
    regions.push(region(&start, &extent));
    if shape[0] >= 3 {
        let mut start = vec![0; shape.len()];
        let mut extent = shape.to_vec();
        start[0] = 1;
        extent[0] = shape[0] - 2;
        regions.push(region(&start, &extent));
    }
    let last: Vec<usize> = shape.iter().map(|len| len - 1).collect();
    regions.push(region(&last, &vec![1; shape.len()]));
    let mut empty = shape.to_vec();
    empty[shape.len() - 1] = 0;
    regions.push(region(&vec![0; shape.len()], &empty));
    regions
}
