// Reduce state of `argmin` and `argmax`: the best value and its flat index over the reduced
// axes of the global shape (i64 as vec2<u32> words; negative means no element yet). The first
// occurrence wins and NaN counts as the extreme, as on the CPU. `rd_field`, `rd_isnan` and
// `rd_beats` (`x < y` for argmin, `x > y` for argmax; 64-bit for i64) are generated; tw_ge64
// comes from index.wgsl.
struct State {
    v: {{ field }},
    i: vec2<u32>,
}

fn st_empty() -> State {
    return State({{ zero }}, vec2<u32>(0xffffffffu, 0xffffffffu));
}

fn st_none(s: State) -> bool {
    return (s.i.y >> 31u) == 1u;
}

// `x` strictly beats `y`: nothing beats a NaN, and a NaN beats everything else.
fn st_better(x: {{ field }}, y: {{ field }}) -> bool {
    if (rd_isnan(y)) {
        return false;
    }
    return rd_isnan(x) || rd_beats(x, y);
}

// Lanes visit their elements in increasing order, so a tie keeps the state's earlier element.
fn st_fold(s: State, v: {{ value }}, gi: vec2<u32>) -> State {
    let x = rd_field(v);
    if (st_none(s) || st_better(x, s.v)) {
        return State(x, gi);
    }
    return s;
}

fn st_merge(a: State, b: State) -> State {
    if (st_none(a)) {
        return b;
    }
    if (st_none(b) || st_better(a.v, b.v)) {
        return a;
    }
    if (st_better(b.v, a.v)) {
        return b;
    }
    // Equal values (or both NaN): the smaller index, whatever order the states came in.
    if (tw_ge64(b.i, a.i)) {
        return a;
    }
    return b;
}
