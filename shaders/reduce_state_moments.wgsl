// Reduce state of `mean`, `var` and `std`: count, mean and sum of squared deviations in f64.
// Values fold in with Welford's update; states merge with Chan et al.'s formula, written as the
// CPU backend writes it. `rd_f64` (value to f64) is generated; `tw_isfinite_f64` comes from
// float_f64.wgsl.
struct State {
    n: f64,
    mean: f64,
    m2: f64,
}

fn st_empty() -> State {
    return State(f64(0), f64(0), f64(0));
}

// The CPU's `shifted_mean`: `mean + delta * f`, or the weighted sum where `delta` is not finite
// (an infinite mean would otherwise become inf - inf, where NumPy's sum / n keeps the infinity).
fn rd_shifted_mean(mean: f64, delta: f64, f: f64, goal: f64) -> f64 {
    if (tw_isfinite_f64(delta)) {
        return mean + delta * f;
    }
    return mean * (f64(1) - f) + goal * f;
}

fn st_fold(s: State, v: {{ value }}, gi: vec2<u32>) -> State {
    let x = rd_f64(v);
    let n = s.n + f64(1);
    let d = x - s.mean;
    var mean = s.mean + d / n;
    if (!tw_isfinite_f64(d)) {
        mean = rd_shifted_mean(s.mean, d, f64(1) / n, x);
    }
    return State(n, mean, s.m2 + d * (x - mean));
}

fn st_merge(a: State, b: State) -> State {
    if (a.n == f64(0)) {
        return b;
    }
    if (b.n == f64(0)) {
        return a;
    }
    let n = a.n + b.n;
    let delta = b.mean - a.mean;
    let f = b.n / n;
    return State(n, rd_shifted_mean(a.mean, delta, f, b.mean), a.m2 + b.m2 + delta * delta * (a.n * f));
}
