//! A seeded fuzz campaign through the public API: random shapes, chunkings, slices, axes,
//! reshapes, broadcasts, concatenations, pads, stencils, rechunks, budgets and size strings.
//!
//! Every case must either give the result a plain ndarray computation gives, or an `Err` that
//! names the operation; none may panic, abort (sizes are checked before anything allocates) or
//! hang. `TILEWORK_FUZZ_SEED` and `TILEWORK_FUZZ_CASES` (default 10,000) choose the campaign; the
//! seed is printed so a failure can be replayed (`TILEWORK_FUZZ_VERBOSE=1` names every case as
//! it starts, for the one kind of failure that cannot be caught: an abort).
mod common;

use ndarray::{ArrayD, Axis, IxDyn};
use std::panic::{AssertUnwindSafe, catch_unwind};
use tilework::prelude::*;

/// SplitMix64: small, seedable, and the same on every machine.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    /// A length: mostly small, sometimes empty, rarely absurd.
    fn len(&mut self) -> usize {
        if self.chance(3) {
            self.pick(&[
                usize::MAX,
                usize::MAX - 1,
                1 << 40,
                1 << 62,
                isize::MAX as usize,
            ])
        } else {
            self.below(7) as usize
        }
    }

    /// A signed index or bound: mostly near the axis, sometimes extreme.
    fn index(&mut self) -> isize {
        if self.chance(8) {
            self.pick(&[
                isize::MAX,
                isize::MIN,
                isize::MIN + 1,
                isize::MAX - 1,
                1 << 40,
            ])
        } else {
            self.below(17) as isize - 8
        }
    }

    fn shape(&mut self, max_rank: u64) -> Vec<usize> {
        (0..self.below(max_rank + 1))
            .map(|_| self.below(6) as usize)
            .collect()
    }

    fn chunks(&mut self, shape: &[usize]) -> Chunks {
        match self.below(5) {
            0 => Chunks::Auto,
            1 => Chunks::Uniform(self.len()),
            2 => Chunks::Shape(shape.iter().map(|_| self.len()).collect()),
            3 => Chunks::Explicit(
                shape
                    .iter()
                    .map(|&n| {
                        let mut sizes = Vec::new();
                        let mut left = n;
                        while left > 0 {
                            let c = 1 + self.below(left as u64) as usize;
                            sizes.push(c);
                            left -= c;
                        }
                        if self.chance(10) {
                            sizes.push(self.pick(&[0, usize::MAX, 1]));
                        }
                        sizes
                    })
                    .collect(),
            ),
            _ => Chunks::Uniform(1 + self.below(3) as usize),
        }
    }
}

/// How one case ended, when it did not end well.
type Outcome = std::result::Result<(), String>;

/// An `Err` is fine when its message names one of `ops`.
fn named(err: &Error, ops: &[&str]) -> Outcome {
    let text = err.to_string();
    if ops.iter().any(|op| text.contains(op)) {
        Ok(())
    } else {
        Err(format!("error does not name any of {ops:?}: {text}"))
    }
}

fn equal(got: &ArrayD<f64>, want: &ArrayD<f64>) -> Outcome {
    if got.shape() == want.shape() && got.iter().zip(want).all(|(a, b)| a == b) {
        Ok(())
    } else {
        Err(format!("got {got:?}, want {want:?}"))
    }
}

/// `x` as `0, 1, 2, ...` in C order.
fn ramp(shape: &[usize]) -> ArrayD<f64> {
    let n: usize = shape.iter().product();
    ArrayD::from_shape_vec(IxDyn(shape), (0..n).map(|v| v as f64).collect()).expect("shape")
}

/// Checks a lazy result against `want` (`None`: the call must fail), naming `ops` on failure.
fn check(result: Result<Array>, want: Option<ArrayD<f64>>, ops: &[&str]) -> Outcome {
    match (result.and_then(|a| a.to_ndarray::<f64>()), want) {
        (Ok(got), Some(want)) => equal(&got, &want),
        (Ok(got), None) => Err(format!("accepted, gave {got:?}; expected an error")),
        (Err(e), Some(_)) => Err(format!("valid input refused: {e}")),
        (Err(e), None) => named(&e, ops),
    }
}

/// Python's `slice.indices` in wide integers: (first, step, count).
fn slice_indices(start: Option<isize>, end: Option<isize>, step: isize, n: usize) -> Vec<usize> {
    let (n, step) = (n as i128, step as i128);
    let norm = |v: isize| {
        let v = v as i128;
        if v < 0 { v + n } else { v }
    };
    let (lo, hi) = if step > 0 { (0, n) } else { (-1, n - 1) };
    let first = start.map_or(if step > 0 { 0 } else { n - 1 }, |s| norm(s).clamp(lo, hi));
    let last = end.map_or(if step > 0 { n } else { -1 }, |e| norm(e).clamp(lo, hi));
    let mut out = Vec::new();
    let mut i = first;
    while (step > 0 && i < last) || (step < 0 && i > last) {
        out.push(i as usize);
        i += step;
    }
    out
}

fn fuzz_slice(ctx: &Context, g: &mut Gen) -> Outcome {
    let shape = g.shape(3);
    let x = ramp(&shape);
    let a = ctx.from_ndarray(x.clone(), g.chunks(&shape));
    let Ok(a) = a else {
        return Ok(());
    };
    let mut spec = Vec::new();
    let mut want = Some(x);
    let mut axis = 0;
    for _ in 0..g.below(shape.len() as u64 + 2) {
        let Some(cur) = want.take() else { break };
        if g.chance(25) {
            let i = g.index();
            spec.push(SliceElem::Index(i));
            let n = cur.shape().get(axis).copied().unwrap_or(0) as i128;
            let at = if i < 0 { i as i128 + n } else { i as i128 };
            want = (axis < cur.ndim() && (0..n).contains(&at))
                .then(|| cur.index_axis(Axis(axis), at as usize).to_owned());
        } else {
            let start = g.chance(60).then(|| g.index());
            let end = g.chance(60).then(|| g.index());
            let step = if g.chance(70) { 1 } else { g.index() };
            spec.push(SliceElem::Range { start, end, step });
            want = (axis < cur.ndim() && step != 0).then(|| {
                let picks = slice_indices(start, end, step, cur.shape()[axis]);
                cur.select(Axis(axis), &picks)
            });
            axis += 1;
        }
    }
    check(a.slice(&spec), want, &["slice", "index"])
}

fn fuzz_reshape(ctx: &Context, g: &mut Gen) -> Outcome {
    let shape = g.shape(3);
    let x = ramp(&shape);
    let n = x.len();
    let Ok(a) = ctx.from_ndarray(x.clone(), g.chunks(&shape)) else {
        return Ok(());
    };
    let target: Vec<isize> = match g.below(4) {
        0 => vec![n as isize],
        1 => vec![-1, 1],
        2 => vec![17, 1085102592571150096],
        _ => (0..g.below(4)).map(|_| g.below(7) as isize - 1).collect(),
    };
    let known: Option<usize> = target
        .iter()
        .filter(|&&d| d >= 0)
        .try_fold(1usize, |acc, &d| acc.checked_mul(d as usize));
    let unknown = target.iter().filter(|&&d| d == -1).count();
    let bad = target.iter().any(|&d| d < -1) || unknown > 1;
    let resolved: Option<Vec<usize>> = match (known, bad, unknown) {
        (Some(k), false, 0) if k == n => Some(target.iter().map(|&d| d as usize).collect()),
        (Some(k), false, 1) if k > 0 && n.is_multiple_of(k) => Some(
            target
                .iter()
                .map(|&d| if d == -1 { n / k } else { d as usize })
                .collect(),
        ),
        _ => None,
    };
    let want = resolved.map(|s| {
        x.to_shape((IxDyn(&s), ndarray::Order::RowMajor))
            .expect("same count")
            .to_owned()
    });
    check(a.reshape(&target), want, &["reshape"])
}

fn fuzz_broadcast(ctx: &Context, g: &mut Gen) -> Outcome {
    let shape = g.shape(2);
    let x = ramp(&shape);
    let Ok(a) = ctx.from_ndarray(x.clone(), g.chunks(&shape)) else {
        return Ok(());
    };
    let mut target: Vec<usize> = (0..g.below(3)).map(|_| g.below(4) as usize).collect();
    target.extend(
        shape
            .iter()
            .map(|&n| if g.chance(20) { g.len() } else { n }),
    );
    // Only small valid results are compared; ndarray decides validity.
    let want = x
        .broadcast(IxDyn(&target))
        .filter(|b| b.len() <= 1 << 16)
        .map(|b| b.to_owned());
    // NumPy's rule beside ndarray's: the bytes of the non-empty axes must be addressable.
    let addressable = target
        .iter()
        .filter(|&&n| n != 0)
        .try_fold(8usize, |acc, &n| acc.checked_mul(n))
        .is_some_and(|b| b <= isize::MAX as usize);
    let valid = addressable && x.broadcast(IxDyn(&target)).is_some();
    match (a.broadcast_to(&target), want, valid) {
        (Ok(b), Some(want), _) => check(Ok(b), Some(want), &["broadcast_to"]),
        (Ok(_), None, true) => Ok(()),
        (Ok(b), None, false) => Err(format!("accepted broadcast to {:?}", b.shape())),
        (Err(e), _, false) => named(&e, &["broadcast_to"]),
        (Err(e), _, true) => Err(format!("valid broadcast refused: {e}")),
    }
}

fn fuzz_concat_and_pad(ctx: &Context, g: &mut Gen) -> Outcome {
    let shape = g.shape(3);
    let x = ramp(&shape);
    let Ok(a) = ctx.from_ndarray(x.clone(), g.chunks(&shape)) else {
        return Ok(());
    };
    if g.chance(50) {
        let axis = g.below(4) as isize - 1;
        let mut other_shape = shape.clone();
        if let Some(d) = other_shape.first_mut() {
            *d = g.below(4) as usize;
        }
        let y = ramp(&other_shape).mapv(|v| -v);
        let Ok(b) = ctx.from_ndarray(y.clone(), g.chunks(&other_shape)) else {
            return Ok(());
        };
        let norm = if axis < 0 {
            axis + shape.len() as isize
        } else {
            axis
        };
        let want = (0..shape.len() as isize)
            .contains(&norm)
            .then(|| ndarray::concatenate(Axis(norm as usize), &[x.view(), y.view()]).ok())
            .flatten();
        return check(concatenate(&[&a, &b], axis), want, &["concatenate"]);
    }
    let widths: Vec<(usize, usize)> = shape
        .iter()
        .map(|_| {
            let mut w = || {
                if g.chance(5) {
                    g.len()
                } else {
                    g.below(3) as usize
                }
            };
            (w(), w())
        })
        .collect();
    let small = widths.iter().all(|&(l, r)| l < 8 && r < 8);
    let want = small.then(|| {
        let out: Vec<usize> = shape
            .iter()
            .zip(&widths)
            .map(|(&n, &(l, r))| n + l + r)
            .collect();
        let mut out = ArrayD::from_elem(IxDyn(&out), 7.0);
        let inner: Vec<ndarray::SliceInfoElem> = widths
            .iter()
            .zip(&shape)
            .map(|(&(l, _), &n)| (l as isize..(l + n) as isize).into())
            .collect();
        out.slice_mut(inner.as_slice()).assign(&x);
        out
    });
    let padded = a.pad(&widths, PadMode::Constant(Scalar::F64(7.0)));
    match (padded, want) {
        // Huge widths may give a valid lazy array; it must not be computed here.
        (Ok(_), None) => Ok(()),
        (result, want) => check(result, want, &["pad"]),
    }
}

fn fuzz_overlap_and_rechunk(ctx: &Context, g: &mut Gen) -> Outcome {
    let shape = g.shape(2);
    let x = ramp(&shape);
    let Ok(a) = ctx.from_ndarray(x.clone(), g.chunks(&shape)) else {
        return Ok(());
    };
    if g.chance(50) {
        // A chunking is valid for rechunk exactly when it is valid for a new array.
        let chunks = g.chunks(&shape);
        let valid = ctx.from_ndarray(x.clone(), chunks.clone()).is_ok();
        return check(
            a.rechunk(chunks),
            valid.then_some(x),
            &["rechunk", "chunks"],
        );
    }
    let depth: Vec<usize> = shape
        .iter()
        .map(|_| {
            if g.chance(5) {
                g.len()
            } else {
                g.below(3) as usize
            }
        })
        .collect();
    let boundary = g.pick(&[
        Boundary::Periodic,
        Boundary::Reflect,
        Boundary::Constant(Scalar::F64(0.0)),
    ]);
    let trim = depth.clone();
    let result = a.map_overlap(
        "trim",
        &depth,
        boundary,
        move |b: ndarray::ArrayViewD<f64>| {
            let inner: Vec<ndarray::SliceInfoElem> = trim
                .iter()
                .zip(b.shape())
                .map(|(&d, &n)| {
                    (d.min(n) as isize..n.saturating_sub(d).max(d.min(n)) as isize).into()
                })
                .collect();
            b.slice(inner.as_slice()).to_owned()
        },
    );
    // A halo deeper than the array is refused or works; either way nothing is allocated blindly.
    let plausible = depth.iter().zip(&shape).all(|(&d, &n)| d <= n.max(1));
    match (result, plausible) {
        (Ok(r), true) => check(Ok(r), Some(x), &["map_overlap"]),
        (Ok(r), false) => match r.to_ndarray::<f64>() {
            Ok(got) => equal(&got, &x),
            Err(e) => named(&e, &["map_overlap", "overlap", "out of memory"]),
        },
        (Err(e), _) => named(&e, &["map_overlap", "overlap", "depth"]),
    }
}

fn fuzz_axes(ctx: &Context, g: &mut Gen) -> Outcome {
    let shape = g.shape(3);
    let x = ramp(&shape);
    let Ok(a) = ctx.from_ndarray(x.clone(), g.chunks(&shape)) else {
        return Ok(());
    };
    let ndim = shape.len() as isize;
    let axes: Vec<isize> = (0..g.below(3)).map(|_| g.below(9) as isize - 4).collect();
    let norm: Vec<isize> = axes
        .iter()
        .map(|&a| if a < 0 { a + ndim } else { a })
        .collect();
    let mut sorted = norm.clone();
    sorted.sort_unstable();
    sorted.dedup();
    let valid = sorted.len() == norm.len() && norm.iter().all(|&a| (0..ndim).contains(&a));
    if g.chance(50) {
        let want = valid.then(|| {
            let mut want = x.clone();
            for &axis in sorted.iter().rev() {
                want = want.sum_axis(Axis(axis as usize));
            }
            want
        });
        return check(a.sum_axes(&axes, false), want, &["sum", "axis"]);
    }
    let perm: Vec<isize> = (0..ndim).rev().collect();
    let given: Vec<isize> = if g.chance(30) { axes } else { perm };
    let perm: Vec<isize> = given
        .iter()
        .map(|&a| if a < 0 { a + ndim } else { a })
        .collect();
    let mut seen = perm.clone();
    seen.sort_unstable();
    let valid = seen == (0..ndim).collect::<Vec<_>>();
    let want = valid.then(|| {
        let p: Vec<usize> = perm.iter().map(|&a| a as usize).collect();
        x.clone()
            .permuted_axes(IxDyn(&p))
            .as_standard_layout()
            .to_owned()
    });
    check(a.permute(&given), want, &["transpose", "permute", "axis"])
}

/// Whether an accepted shape has few enough elements to compare whole.
fn small(shape: &[usize]) -> bool {
    shape.contains(&0)
        || shape
            .iter()
            .try_fold(1usize, |acc, &n| acc.checked_mul(n))
            .is_some_and(|n| n <= 1 << 12)
}

fn fuzz_creation(ctx: &Context, g: &mut Gen) -> Outcome {
    let shape: Vec<usize> = (0..g.below(4)).map(|_| g.len()).collect();
    let chunks = g.chunks(&shape);
    let dtype = g.pick(&[DType::Bool, DType::U8, DType::I32, DType::F32, DType::F64]);
    match ctx.full(&shape, 1.0, dtype, chunks) {
        Err(e) => named(&e, &["full", "chunks", "shape"]),
        Ok(a) if small(a.shape()) => {
            let want = ArrayD::from_elem(IxDyn(&shape), 1.0);
            check(a.astype(DType::F64), Some(want), &["full"])
        }
        // A valid huge array: its first element is computed from its first chunk alone.
        Ok(a) => {
            let corner = vec![
                SliceElem::Range {
                    start: None,
                    end: Some(1),
                    step: 1
                };
                shape.len()
            ];
            let ones = ArrayD::from_elem(IxDyn(&vec![1; shape.len()]), 1.0);
            match a.slice(&corner).and_then(|c| c.astype(DType::F64)) {
                Ok(c) => match c.to_ndarray::<f64>() {
                    Ok(got) => equal(&got, &ones),
                    Err(e) => named(&e, &["out of memory"]),
                },
                Err(e) => Err(format!("slicing a valid array failed: {e}")),
            }
        }
    }
}

fn fuzz_budget(tight: &[Context], g: &mut Gen) -> Outcome {
    let ctx = &tight[g.below(tight.len() as u64) as usize];
    let shape = vec![1 + g.below(40) as usize, 1 + g.below(40) as usize];
    let x = ramp(&shape);
    let Ok(a) = ctx.from_ndarray(x.clone(), g.chunks(&shape)) else {
        return Ok(());
    };
    let centered = a
        .mean_axes(&[0], true)
        .and_then(|m| a.try_sub(&m))
        .and_then(|c| c.abs()?.sum());
    let want = {
        let mean = x.mean_axis(Axis(0)).expect("rows").insert_axis(Axis(0));
        (&x - &mean).mapv(f64::abs).sum()
    };
    match centered.and_then(|s| s.to_scalar()) {
        Ok(v) if (v.to_f64() - want).abs() <= 1e-9 * (1.0 + want.abs()) => Ok(()),
        Ok(v) => Err(format!("got {}, want {want}", v.to_f64())),
        Err(e) => named(&e, &["out of memory", "budget"]),
    }
}

fn fuzz_parse(g: &mut Gen) -> Outcome {
    let numbers = [
        "0",
        "1",
        "0.5",
        "1.5",
        "-1",
        "nan",
        "inf",
        "",
        "1e30",
        "99999999999999999999999",
    ];
    let units = [
        "", "B", "KiB", "MiB", "GiB", "TiB", "kb", "XB", " MiB", "mib ",
    ];
    let text = format!("{}{}", g.pick(&numbers), g.pick(&units));
    match tilework::parse_bytes(&text) {
        Ok(_) => Ok(()),
        Err(e) => named(&e, &["parse_bytes"]),
    }
}

#[test]
fn random_public_api_calls_never_panic_and_match_ndarray() {
    let seed: u64 = std::env::var("TILEWORK_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x7117_5EED);
    let cases: u64 = std::env::var("TILEWORK_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    println!("fuzz seed {seed} ({cases} cases); replay with TILEWORK_FUZZ_SEED={seed}");
    let ctx = common::cpu();
    let tight: Vec<Context> = [4u64 << 10, 16 << 10, 1 << 20]
        .iter()
        .map(|&b| {
            Context::builder()
                .device(Device::Cpu)
                .threads(2)
                .host_memory(b)
                .build()
                .expect("a tight context")
        })
        .collect();
    // An abort cannot be caught: TILEWORK_FUZZ_VERBOSE=1 names each case before it runs.
    let verbose = std::env::var("TILEWORK_FUZZ_VERBOSE").as_deref() == Ok("1");
    let mut failures = Vec::new();
    for case in 0..cases {
        let mut g = Gen(seed ^ case.wrapping_mul(0xA24B_AED4_963E_E407));
        let family = g.below(9);
        let started = std::time::Instant::now();
        if verbose {
            eprintln!("case {case} (family {family})");
        }
        let outcome = catch_unwind(AssertUnwindSafe(|| match family {
            0 => fuzz_slice(&ctx, &mut g),
            1 => fuzz_reshape(&ctx, &mut g),
            2 => fuzz_broadcast(&ctx, &mut g),
            3 => fuzz_concat_and_pad(&ctx, &mut g),
            4 => fuzz_overlap_and_rechunk(&ctx, &mut g),
            5 => fuzz_axes(&ctx, &mut g),
            6 => fuzz_creation(&ctx, &mut g),
            7 => fuzz_budget(&tight, &mut g),
            _ => fuzz_parse(&mut g),
        }));
        if verbose {
            eprintln!("  took {:?}", started.elapsed());
        }
        let problem = match outcome {
            Ok(Ok(())) => continue,
            Ok(Err(why)) => why,
            Err(panic) => format!(
                "panicked: {}",
                panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default()
            ),
        };
        failures.push(format!("case {case} (family {family}): {problem}"));
    }
    let shown: Vec<&String> = failures.iter().take(25).collect();
    assert!(
        failures.is_empty(),
        "seed {seed}: {} of {cases} cases failed:\n{shown:#?}",
        failures.len()
    );
}
