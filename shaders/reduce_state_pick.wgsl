// Reduce state of `min`, `max`, `any` and `all` (bool is u32 0 or 1, so any is max and all is
// min): the extreme so far, in the value's storage-friendly type. `rd_field` (value to field),
// `rd_isnan` and `rd_keep` (`a <= b` for min, `a >= b` for max; 64-bit for i64) are generated.
struct State {
    v: {{ field }},
}

fn st_empty() -> State {
    return State({{ identity }});
}

// NumPy's rule, `a` kept when at least as extreme or NaN: a NaN on either side wins.
fn st_pick(a: {{ field }}, b: {{ field }}) -> {{ field }} {
    return select(b, a, rd_keep(a, b) || rd_isnan(a));
}

fn st_fold(s: State, v: {{ value }}, gi: vec2<u32>) -> State {
    return State(st_pick(s.v, rd_field(v)));
}

fn st_merge(a: State, b: State) -> State {
    return State(st_pick(a.v, b.v));
}
