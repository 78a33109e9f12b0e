// Reduce state of `mean`, `var` and `std`: count, mean and sum of squared deviations in f64.
// Values fold in with Welford's update; states merge with Chan et al.'s formula, written as the
// CPU backend writes it. `rd_f64` (value to f64) is generated.
struct State {
    n: f64,
    mean: f64,
    m2: f64,
}

fn st_empty() -> State {
    return State(f64(0), f64(0), f64(0));
}

fn st_fold(s: State, v: {{ value }}, gi: vec2<u32>) -> State {
    let x = rd_f64(v);
    let n = s.n + f64(1);
    let d = x - s.mean;
    let mean = s.mean + d / n;
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
    return State(n, a.mean + delta * f, a.m2 + b.m2 + delta * delta * (a.n * f));
}
