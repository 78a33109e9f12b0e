//! NumPy-style `Display` for [`HostArray`] and [`Scalar`]: `format!("{array}")` prints what
//! `str(np_array)` prints with NumPy's default print options, and `format!("{scalar}")` what
//! `str(np_scalar)` prints.
//!
//! The array rules are NumPy's `array2string` (`_formatArray`, `FloatingFormat`, `IntegerFormat`,
//! `BoolFormat`) with `threshold = 1000`, `edgeitems = 3`, `linewidth = 75`, `precision = 8` and
//! `floatmode = 'maxprec'`:
//!
//! * nested brackets, elements separated by one space and right-aligned to the widest shown
//!   element; rows on new lines under their opening bracket, `n - 1` newlines between the blocks of
//!   an axis with `n` axes below it; rows longer than 75 columns wrap as NumPy wraps them;
//! * a 0-d array prints its element as a scalar; an array with no elements prints `[]`;
//! * above 1000 elements every axis longer than 6 shows its first and last 3 entries around `...`,
//!   and the column width is taken from the shown entries only;
//! * bool prints ` True`/`False`, integers plainly;
//! * floats print the shortest digits that round-trip in their own dtype (so f32 `0.1` prints
//!   `0.1`; Dragon4's choice where two candidates tie), cut to at most 8 fractional digits, with
//!   a trailing `.` for integral values and space padding so that the points line up
//!   (`[0.5  1.   2.25]`). Scientific notation (`1.5e-05`; all elements get the same number of
//!   mantissa digits) is used when the largest non-zero magnitude reaches `1e8` (f64), `1e6`
//!   (f32) or `1e3` (f16), the smallest is below `1e-4`, or their ratio exceeds 1000; as in
//!   NumPy these tests run in the array's dtype. `nan`, `inf` and `-inf` are right-aligned.
//!
//! Scalars (and 0-d arrays) print like NumPy scalars: `True`, `3`, `0.1`, `1.0`, `nan`, `-inf`,
//! scientific (`1e+16`, `1.5e-05`) below `1e-4` and from `1e16` (f64), `1e6` (f32), `1e3` (f16).
//! The cutoffs are NumPy 2.3's and later; older NumPy 2 used `1e8` and `1e16` for every dtype.
//!
//! `{:.N}` sets NumPy's `precision` to `N` for an array of at least one dimension; other
//! formatter flags (width, fill, sign) are ignored.

use crate::dtype::{Element, Scalar};
use crate::host::HostArray;
use half::f16;
use ndarray::{ArcArray, IxDyn};
use std::fmt;

const THRESHOLD: usize = 1000;
const EDGE_ITEMS: usize = 3;
const LINE_WIDTH: usize = 75;
const PRECISION: usize = 8;

impl fmt::Display for HostArray {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let precision = f.precision().unwrap_or(PRECISION);
        crate::with_host_array!(self, a, _T => f.write_str(&array_str(a, precision)))
    }
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Scalar::Bool(v) => f.write_str(if v { "True" } else { "False" }),
            Scalar::U8(v) => write!(f, "{v}"),
            Scalar::I32(v) => write!(f, "{v}"),
            Scalar::I64(v) => write!(f, "{v}"),
            Scalar::U32(v) => write!(f, "{v}"),
            Scalar::F16(v) => f.write_str(&float_scalar_str(v)),
            Scalar::F32(v) => f.write_str(&float_scalar_str(v)),
            Scalar::F64(v) => f.write_str(&float_scalar_str(v)),
        }
    }
}

/// `str(array)` of one typed array.
fn array_str<T: PrintElement>(a: &ArcArray<T, IxDyn>, precision: usize) -> String {
    if a.ndim() == 0 {
        return a[IxDyn(&[])].into_scalar().to_string();
    }
    if a.is_empty() {
        return "[]".to_string();
    }
    // The entries each axis shows (NumPy's `_leading_trailing`), in order.
    let summarise = a.len() > THRESHOLD;
    let kept: Vec<Vec<usize>> = a
        .shape()
        .iter()
        .map(|&d| {
            if summarise && d > 2 * EDGE_ITEMS {
                (0..EDGE_ITEMS).chain(d - EDGE_ITEMS..d).collect()
            } else {
                (0..d).collect()
            }
        })
        .collect();
    let mut values = Vec::with_capacity(kept.iter().map(Vec::len).product());
    let mut pos = vec![0usize; kept.len()];
    let mut index = vec![0usize; kept.len()];
    'odometer: loop {
        for (i, (k, p)) in index.iter_mut().zip(kept.iter().zip(&pos)) {
            *i = k[*p];
        }
        values.push(a[IxDyn(&index)]);
        for axis in (0..pos.len()).rev() {
            pos[axis] += 1;
            if pos[axis] < kept[axis].len() {
                continue 'odometer;
            }
            pos[axis] = 0;
        }
        break;
    }
    let layout = Layout {
        shape: kept.iter().map(Vec::len).collect(),
        summarised: a
            .shape()
            .iter()
            .zip(&kept)
            .map(|(&d, k)| k.len() < d)
            .collect(),
        words: T::format_all(&values, precision),
    };
    layout.recurse(0, 0, " ", LINE_WIDTH)
}

/// The shown part of an array as formatted words in C order, and where `...` goes.
struct Layout {
    shape: Vec<usize>,
    summarised: Vec<bool>,
    words: Vec<String>,
}

impl Layout {
    /// NumPy's `_formatArray.recurser` for the block at `axis` whose first word is `offset`.
    fn recurse(&self, axis: usize, offset: usize, hanging: &str, width: usize) -> String {
        let axes_left = self.shape.len() - axis;
        let len = self.shape[axis];
        let summary = |i: usize| self.summarised[axis] && i == EDGE_ITEMS;
        let mut s = String::new();
        if axes_left == 1 {
            let elem_width = width.saturating_sub(1);
            let mut line = hanging.to_string();
            for i in 0..len {
                if summary(i) {
                    extend_line(&mut s, &mut line, "...", elem_width, hanging);
                    line.push(' ');
                }
                extend_line(
                    &mut s,
                    &mut line,
                    &self.words[offset + i],
                    elem_width,
                    hanging,
                );
                if i + 1 < len {
                    line.push(' ');
                }
            }
            s.push_str(&line);
        } else {
            let next_hanging = format!("{hanging} ");
            let stride: usize = self.shape[axis + 1..].iter().product();
            let line_sep = "\n".repeat(axes_left - 1);
            for i in 0..len {
                if summary(i) {
                    s.push_str(hanging);
                    s.push_str("...");
                    s.push_str(&line_sep);
                }
                s.push_str(hanging);
                let width = width.saturating_sub(1);
                s.push_str(&self.recurse(axis + 1, offset + i * stride, &next_hanging, width));
                if i + 1 < len {
                    s.push_str(&line_sep);
                }
            }
        }
        format!("[{}]", &s[hanging.len()..])
    }
}

/// NumPy's `_extendLine`: starts a new line when `word` would pass `width`, unless the line is
/// still empty.
fn extend_line(s: &mut String, line: &mut String, word: &str, width: usize, hanging: &str) {
    if line.len() + word.len() > width && line.len() > hanging.len() {
        s.push_str(line.trim_end());
        s.push('\n');
        *line = hanging.to_string();
    }
    line.push_str(word);
}

/// Formats every shown element of an array to one common width.
trait PrintElement: Element {
    fn format_all(values: &[Self], precision: usize) -> Vec<String>;
}

impl PrintElement for bool {
    fn format_all(values: &[Self], _: usize) -> Vec<String> {
        let word = |&v: &bool| if v { " True" } else { "False" }.to_string();
        values.iter().map(word).collect()
    }
}

macro_rules! print_int {
    ($($t:ty),*) => {$(
        impl PrintElement for $t {
            fn format_all(values: &[Self], _: usize) -> Vec<String> {
                let words: Vec<String> = values.iter().map(|v| v.to_string()).collect();
                let width = words.iter().map(String::len).max().unwrap_or(0);
                words.into_iter().map(|w| format!("{w:>width$}")).collect()
            }
        }
    )*};
}
print_int!(u8, i32, i64, u32);

macro_rules! print_float {
    ($($t:ty),*) => {$(
        impl PrintElement for $t {
            fn format_all(values: &[Self], precision: usize) -> Vec<String> {
                format_floats(values, precision)
            }
        }
    )*};
}
print_float!(f16, f32, f64);

/// A float dtype: its exact value, its rounding, and which decimal strings read back as it.
trait PrintFloat: Copy {
    /// Scalars at least this large print in scientific notation (NumPy 2.3's `max_positional`).
    const MAX_POSITIONAL: f64;
    /// Arrays whose largest magnitude reaches this print in scientific notation (NumPy 2.3:
    /// `10 ** min(8, finfo.precision)`).
    const EXP_CUTOFF: f64;
    fn to_f64(self) -> f64;
    /// Rounds `v` to this dtype (NumPy's thresholds and ratio are computed in the array's dtype).
    fn native(v: f64) -> f64;
    /// True when the decimal `s` parses to `self`.
    fn reads_back(self, s: &str) -> bool;
    /// A lower bound on the shortest digit count, minus one.
    fn fewest_digits(self) -> usize;
}

impl PrintFloat for f64 {
    const MAX_POSITIONAL: f64 = 1e16;
    const EXP_CUTOFF: f64 = 1e8;
    fn to_f64(self) -> f64 {
        self
    }
    fn native(v: f64) -> f64 {
        v
    }
    fn reads_back(self, s: &str) -> bool {
        s.parse() == Ok(self)
    }
    fn fewest_digits(self) -> usize {
        // Rust's `{:e}` is shortest too, but breaks exact ties upwards; Dragon4 picks even.
        Decimal::parse(&format!("{self:e}")).digits.len() - 1
    }
}

impl PrintFloat for f32 {
    const MAX_POSITIONAL: f64 = 1e6;
    const EXP_CUTOFF: f64 = 1e6;
    fn to_f64(self) -> f64 {
        self as f64
    }
    fn native(v: f64) -> f64 {
        v as f32 as f64
    }
    fn reads_back(self, s: &str) -> bool {
        s.parse() == Ok(self)
    }
    fn fewest_digits(self) -> usize {
        Decimal::parse(&format!("{self:e}")).digits.len() - 1
    }
}

impl PrintFloat for f16 {
    const MAX_POSITIONAL: f64 = 1e3;
    const EXP_CUTOFF: f64 = 1e3;
    fn to_f64(self) -> f64 {
        f16::to_f64(self)
    }
    fn native(v: f64) -> f64 {
        f16::from_f64(v).to_f64()
    }
    fn reads_back(self, s: &str) -> bool {
        s.parse().is_ok_and(|v: f64| f16::from_f64(v) == self)
    }
    fn fewest_digits(self) -> usize {
        0 // `half` prints through f32, so search from one digit up (5 always suffice)
    }
}

/// Dragon4's `p + 1` significant digits of `x`, and whether they identify `x` (read back).
///
/// Dragon4 rounds its last digit to nearest (ties to even) unless exactly one of the two
/// candidates around `x` lies in `x`'s rounding interval, which it then picks. The candidates
/// differ from the nearest only at a power of two, where the interval below is half as wide.
fn dragon4_digits<T: PrintFloat>(x: T, p: usize) -> (Decimal, bool) {
    let nearest = format!("{:.p$e}", x.to_f64());
    let d = Decimal::parse(&nearest);
    if x.reads_back(&nearest) {
        return (d, true);
    }
    let m: u64 = d.digits.parse().expect("`{:e}` mantissa digits");
    let scale = d.exp - p as i32;
    let sign = if d.negative { "-" } else { "" };
    let neighbour = [m - 1, m + 1]
        .map(|k| format!("{sign}{k}e{scale}"))
        .into_iter()
        .find(|s| x.reads_back(s));
    match neighbour {
        Some(s) => (Decimal::parse(&s), true),
        None => (d, false),
    }
}

/// Dragon4's shortest digits: the fewest that read back as `x` (finite).
fn shortest<T: PrintFloat>(x: T) -> Decimal {
    (x.fewest_digits()..17)
        .map(|p| dragon4_digits(x, p))
        .find(|(_, identifies)| *identifies)
        .map_or_else(|| dragon4_digits(x, 16).0, |(d, _)| d)
        .trimmed()
}

/// `±d.ddd × 10^exp` with `digits` = "dddd" (no leading zero unless the value is zero).
struct Decimal {
    negative: bool,
    digits: String,
    exp: i32,
}

impl Decimal {
    /// Parses Rust's `{:e}` / `{:.Ne}` output, or `-1234e-5` (digits without a point).
    fn parse(s: &str) -> Decimal {
        let (mantissa, exp) = s.split_once('e').expect("`{:e}` output has an exponent");
        let negative = mantissa.starts_with('-');
        let mantissa = mantissa.trim_start_matches('-');
        let exp: i32 = exp.parse().expect("`{:e}` exponent is an integer");
        match mantissa.split_once('.') {
            Some((int, frac)) => Decimal {
                negative,
                digits: format!("{int}{frac}"),
                exp,
            },
            None => {
                let exp = exp + mantissa.len() as i32 - 1;
                Decimal {
                    negative,
                    digits: mantissa.to_string(),
                    exp,
                }
            }
        }
    }

    fn trimmed(mut self) -> Decimal {
        let kept = self.digits.trim_end_matches('0').len().max(1);
        self.digits.truncate(kept);
        self
    }

    /// `(sign and leading digit, fractional digits)` of the scientific form.
    fn mantissa(&self) -> (String, &str) {
        let sign = if self.negative { "-" } else { "" };
        (format!("{sign}{}", &self.digits[..1]), &self.digits[1..])
    }

    /// Positional `(sign and integer part, fractional digits)`.
    fn positional(&self) -> (String, String) {
        let sign = if self.negative { "-" } else { "" };
        let d = &self.digits;
        if self.exp < 0 {
            let zeros = "0".repeat((-self.exp - 1) as usize);
            return (format!("{sign}0"), format!("{zeros}{d}"));
        }
        let int_len = self.exp as usize + 1;
        if d.len() <= int_len {
            (
                format!("{sign}{d}{}", "0".repeat(int_len - d.len())),
                String::new(),
            )
        } else {
            (format!("{sign}{}", &d[..int_len]), d[int_len..].to_string())
        }
    }
}

/// Dragon4 positional, `unique`, at most `precision` fractional digits, trailing zeros trimmed.
fn positional<T: PrintFloat>(x: T, precision: usize) -> (String, String) {
    let (int, frac) = shortest(x).positional();
    if frac.len() <= precision {
        return (int, frac);
    }
    let rounded = format!("{:.precision$}", x.to_f64());
    let (int, frac) = rounded.split_once('.').unwrap_or((&rounded, ""));
    (int.to_string(), frac.trim_end_matches('0').to_string())
}

/// Dragon4 scientific, `unique`, at most `precision` mantissa fractional digits, trimmed.
fn scientific<T: PrintFloat>(x: T, precision: usize) -> Decimal {
    let d = shortest(x);
    if d.digits.len() > precision + 1 {
        dragon4_digits(x, precision).0.trimmed()
    } else {
        d
    }
}

fn exp_str(exp: i32, digits: usize) -> String {
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{sign}{:0>digits$}", exp.unsigned_abs())
}

/// NumPy's `FloatingFormat` (`floatmode='maxprec'`, `sign='-'`) over the shown elements.
fn format_floats<T: PrintFloat>(values: &[T], precision: usize) -> Vec<String> {
    let as_f64: Vec<f64> = values.iter().map(|v| v.to_f64()).collect();
    let finite = || as_f64.iter().filter(|v| v.is_finite());
    let nonzero = finite().filter(|v| **v != 0.0).map(|v| v.abs());
    let (min, max) = nonzero.fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    let exp_format = max > 0.0
        && (max >= T::EXP_CUTOFF || min < T::native(1e-4) || T::native(max / min) > 1000.0);

    enum Part {
        Positional(String, String),
        Scientific(Decimal),
        NonFinite(f64),
    }
    let parts: Vec<Part> = values
        .iter()
        .zip(&as_f64)
        .map(|(&x, v)| match (v.is_finite(), exp_format) {
            (false, _) => Part::NonFinite(*v),
            (true, false) => {
                let (int, frac) = positional(x, precision);
                Part::Positional(int, frac)
            }
            (true, true) => Part::Scientific(scientific(x, precision)),
        })
        .collect();

    let (mut pad_left, mut pad_right, mut frac_digits, mut exp_digits) = (0, 0, 0, 0);
    for part in &parts {
        match part {
            Part::Positional(int, frac) => {
                pad_left = pad_left.max(int.len());
                pad_right = pad_right.max(frac.len());
            }
            Part::Scientific(d) => {
                let (int, frac) = d.mantissa();
                pad_left = pad_left.max(int.len());
                frac_digits = frac_digits.max(frac.len());
                exp_digits = exp_digits.max(d.exp.unsigned_abs().to_string().len().max(2));
            }
            Part::NonFinite(_) => {}
        }
    }
    if exp_format {
        pad_right = exp_digits + 2 + frac_digits;
    }
    if finite().count() < values.len() {
        let neg_inf = as_f64.contains(&f64::NEG_INFINITY) as usize;
        let offset = pad_right + 1;
        pad_left = pad_left.max((3 + neg_inf).saturating_sub(offset));
    }
    let width = pad_left + pad_right + 1;
    parts
        .into_iter()
        .zip(values)
        .map(|(part, v)| match part {
            Part::Positional(int, frac) => format!("{int:>pad_left$}.{frac:<pad_right$}"),
            Part::Scientific(_) => {
                // NumPy's second pass prints `min_digits = precision = frac_digits` digits.
                let d = dragon4_digits(*v, frac_digits).0;
                let ((int, frac), exp) = (d.mantissa(), exp_str(d.exp, exp_digits));
                format!("{int:>pad_left$}.{frac}e{exp}")
            }
            Part::NonFinite(v) => format!("{:>width$}", non_finite_str(v)),
        })
        .collect()
}

fn non_finite_str(v: f64) -> &'static str {
    match v {
        v if v.is_nan() => "nan",
        v if v > 0.0 => "inf",
        _ => "-inf",
    }
}

/// `str(np.floatXX(x))`: shortest round-trip digits, positional (`1.0`) for zero and
/// `1e-4 <= |x| < MAX_POSITIONAL`, otherwise scientific with trailing zeros and point dropped
/// (`1e-05`, `1.5e+20`).
fn float_scalar_str<T: PrintFloat>(x: T) -> String {
    let v = x.to_f64();
    if !v.is_finite() {
        return non_finite_str(v).to_string();
    }
    let d = shortest(x);
    if v == 0.0 || (1e-4..T::MAX_POSITIONAL).contains(&v.abs()) {
        let (int, frac) = d.positional();
        let frac = if frac.is_empty() { "0" } else { &frac };
        format!("{int}.{frac}")
    } else {
        let (int, frac) = d.mantissa();
        let point = if frac.is_empty() { "" } else { "." };
        format!("{int}{point}{frac}e{}", exp_str(d.exp, 2))
    }
}

#[cfg(test)]
mod tests {
    //! Every expected string is what NumPy 2.4 prints for the same array (`str(a)`).
    use super::*;
    use crate::host::HostElement;

    /// 25662.3125, exactly halfway between the 8-digit candidates 25662.312 and 25662.313.
    const TIE: f32 = 410_597.0 / 16.0;

    fn array<T: HostElement>(data: Vec<T>, shape: &[usize]) -> HostArray {
        HostArray::from_vec(data, shape).expect("shape fits")
    }

    fn arange(n: i64, shape: &[usize]) -> HostArray {
        array((0..n).collect(), shape)
    }

    fn floats(data: &[f64]) -> HostArray {
        array(data.to_vec(), &[data.len()])
    }

    fn f32s(data: &[f32]) -> HostArray {
        array(data.to_vec(), &[data.len()])
    }

    fn f16s(data: &[f64]) -> HostArray {
        array(
            data.iter().map(|&v| f16::from_f64(v)).collect(),
            &[data.len()],
        )
    }

    #[test]
    fn integers() {
        assert_eq!(arange(6, &[2, 3]).to_string(), "[[0 1 2]\n [3 4 5]]");
        let blocks = "[[[ 0  1  2  3]\n  [ 4  5  6  7]\n  [ 8  9 10 11]]\n\n \
                      [[12 13 14 15]\n  [16 17 18 19]\n  [20 21 22 23]]]";
        assert_eq!(arange(24, &[2, 3, 4]).to_string(), blocks);
        assert_eq!(
            array(vec![-5i32, 10, 300], &[3]).to_string(),
            "[ -5  10 300]"
        );
        assert_eq!(array(vec![0u8, 255, 7], &[3]).to_string(), "[  0 255   7]");
        let transposed = ArcArray::from_shape_vec(IxDyn(&[2, 3]), (0u32..6).collect())
            .expect("shape fits")
            .reversed_axes();
        let want = "[[0 3]\n [1 4]\n [2 5]]";
        assert_eq!(HostArray::U32(transposed).to_string(), want);
    }

    #[test]
    fn bools() {
        assert_eq!(array(vec![true, false], &[2]).to_string(), "[ True False]");
        let grid = array(vec![true, true, false, true], &[2, 2]);
        assert_eq!(grid.to_string(), "[[ True  True]\n [False  True]]");
    }

    #[test]
    fn zero_dimensional_and_empty() {
        assert_eq!(array(vec![5i64], &[]).to_string(), "5");
        assert_eq!(array(vec![1.0f64], &[]).to_string(), "1.0");
        assert_eq!(array(vec![0.1f32], &[]).to_string(), "0.1");
        assert_eq!(array(vec![true], &[]).to_string(), "True");
        assert_eq!(floats(&[]).to_string(), "[]");
        assert_eq!(
            HostArray::zeros(crate::DType::F64, &[2, 0]).to_string(),
            "[]"
        );
        assert_eq!(
            HostArray::zeros(crate::DType::I32, &[2, 0, 3]).to_string(),
            "[]"
        );
    }

    #[test]
    fn summarised() {
        let want = "[   0    1    2 ... 1997 1998 1999]";
        assert_eq!(arange(2000, &[2000]).to_string(), want);
        let want = "[[   0    1    2]\n [   3    4    5]\n [   6    7    8]\n ...\n \
                    [2991 2992 2993]\n [2994 2995 2996]\n [2997 2998 2999]]";
        assert_eq!(arange(3000, &[1000, 3]).to_string(), want);
        let cube = arange(7 * 7 * 21, &[7, 7, 21])
            .cast(crate::DType::I32)
            .to_string();
        let lines: Vec<&str> = cube.lines().collect();
        // Six blocks of six rows and a `...` line, a blank line between blocks and around `...`.
        assert_eq!(lines.len(), 6 * 7 + 5 + 2);
        assert_eq!(lines[0], "[[[   0    1    2 ...   18   19   20]");
        assert_eq!(lines[3], "  ...");
        assert_eq!(lines[6], "  [ 126  127  128 ...  144  145  146]]");
        assert_eq!(
            (lines[7], lines[23], lines[24], lines[25]),
            ("", "", " ...", "")
        );
        assert_eq!(lines[26], " [[ 588  589  590 ...  606  607  608]");
        assert_eq!(lines[48], "  [1008 1009 1010 ... 1026 1027 1028]]]");
    }

    #[test]
    fn floats_positional() {
        assert_eq!(floats(&[0.5, 1.0, 2.25]).to_string(), "[0.5  1.   2.25]");
        let want = "[[[ 0.   1.5  3.   4.5  6. ]\n  [ 7.5  9.  10.5 12.  13.5]\n  \
                    [15.  16.5 18.  19.5 21. ]]\n\n [[22.5 24.  25.5 27.  28.5]\n  \
                    [30.  31.5 33.  34.5 36. ]\n  [37.5 39.  40.5 42.  43.5]]]";
        let blocks = array((0..30).map(|v| v as f64 * 1.5).collect(), &[2, 3, 5]);
        assert_eq!(blocks.to_string(), want);
        assert_eq!(
            floats(&[1.23456789012, -2.0]).to_string(),
            "[ 1.23456789 -2.        ]"
        );
        assert_eq!(floats(&[-0.0, 0.0]).to_string(), "[-0.  0.]");
        assert_eq!(floats(&[2e6, 3e6]).to_string(), "[2000000. 3000000.]");
        assert_eq!(
            format!("{:.3}", floats(&[1.0 / 3.0, 2.0 / 3.0, 1.0])),
            "[0.333 0.667 1.   ]"
        );
    }

    #[test]
    fn floats_scientific_and_non_finite() {
        assert_eq!(floats(&[1e-5, 1.0]).to_string(), "[1.e-05 1.e+00]");
        let want = "[ 1.0e+20 -1.5e-20  0.0e+00      nan]";
        assert_eq!(floats(&[1e20, -1.5e-20, 0.0, f64::NAN]).to_string(), want);
        let want = "[ nan   1. -inf]";
        assert_eq!(
            floats(&[f64::NAN, 1.0, f64::NEG_INFINITY]).to_string(),
            want
        );
        assert_eq!(
            floats(&[f64::NEG_INFINITY, f64::NAN]).to_string(),
            "[-inf  nan]"
        );
    }

    #[test]
    fn rows_wrap_at_75_columns() {
        let want = "[ 0.  1.  2.  3.  4.  5.  6.  7.  8.  9. 10. 11. 12. 13. 14. 15. 16. 17.\n \
                    18. 19. 20. 21. 22. 23. 24. 25. 26. 27. 28. 29. 30. 31. 32. 33. 34. 35.\n \
                    36. 37. 38. 39. 40. 41. 42. 43. 44. 45. 46. 47. 48. 49. 50. 51. 52. 53.\n \
                    54. 55. 56. 57. 58. 59. 60. 61. 62. 63. 64. 65. 66. 67. 68. 69. 70. 71.\n \
                    72. 73. 74. 75. 76. 77. 78. 79. 80. 81. 82. 83. 84. 85. 86. 87. 88. 89.\n \
                    90. 91. 92. 93. 94. 95. 96. 97. 98. 99.]";
        let hundred: Vec<f64> = (0..100).map(f64::from).collect();
        assert_eq!(floats(&hundred).to_string(), want);
        let want = "[0.00000000e+00 1.42857143e-01 2.85714286e-01 ... 2.85285714e+02\n \
                    2.85428571e+02 2.85571429e+02]";
        let sevenths: Vec<f64> = (0..2000).map(|v| f64::from(v) / 7.0).collect();
        assert_eq!(floats(&sevenths).to_string(), want);
    }

    #[test]
    fn narrow_floats_use_their_own_digits() {
        assert_eq!(f32s(&[0.1, 0.2]).to_string(), "[0.1 0.2]");
        assert_eq!(f32s(&[2e6, 3e6]).to_string(), "[2.e+06 3.e+06]");
        // An exact tie between two shortest candidates goes to the even digit.
        assert_eq!(
            f32s(&[TIE, 1.0]).to_string(),
            "[2.5662312e+04 1.0000000e+00]"
        );
        assert_eq!(f16s(&[0.1, 0.2]).to_string(), "[0.1 0.2]");
        // Below a power of two the rounding interval is half as wide: 2^-6 prints 0.01563.
        assert_eq!(f16s(&[0.015625, 1e-5]).to_string(), "[1.563e-02 1.001e-05]");
        assert_eq!(f16s(&[1000.0, 1.0]).to_string(), "[1.e+03 1.e+00]");
    }

    #[test]
    fn scalars() {
        let cases: [(Scalar, &str); 18] = [
            (Scalar::Bool(true), "True"),
            (Scalar::I32(5), "5"),
            (Scalar::U8(200), "200"),
            (Scalar::F64(1.0), "1.0"),
            (Scalar::F32(0.1), "0.1"),
            (Scalar::F32(TIE), "25662.312"),
            (Scalar::F32(1e6), "1e+06"),
            (Scalar::F32(123456.5), "123456.5"),
            (Scalar::F64(1e16), "1e+16"),
            (Scalar::F64(1e15), "1000000000000000.0"),
            (Scalar::F64(1.5e-5), "1.5e-05"),
            (Scalar::F64(-0.0), "-0.0"),
            (Scalar::F64(f64::NAN), "nan"),
            (Scalar::F32(f32::NEG_INFINITY), "-inf"),
            (Scalar::F16(f16::from_f64(0.015625)), "0.01563"),
            (Scalar::F16(f16::from_f64(1000.0)), "1e+03"),
            (Scalar::F16(f16::from_f64(0.1)), "0.1"),
            (Scalar::F64(0.1 + 0.2), "0.30000000000000004"),
        ];
        for (scalar, want) in cases {
            assert_eq!(scalar.to_string(), want, "{scalar:?}");
        }
    }
}
