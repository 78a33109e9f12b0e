// Reduce state of `sum` and `prod`: one accumulator, f64 for float values and i64 (as
// vec2<u32> words, wrapping) otherwise. `rd_widen` (value to accumulator) and `rd_combine`
// (+ or *) are generated.
struct State {
    acc: {{ acc }},
}

fn st_empty() -> State {
    return State({{ identity }});
}

fn st_fold(s: State, v: {{ value }}, gi: vec2<u32>) -> State {
    return State(rd_combine(s.acc, rd_widen(v)));
}

fn st_merge(a: State, b: State) -> State {
    return State(rd_combine(a.acc, b.acc));
}
