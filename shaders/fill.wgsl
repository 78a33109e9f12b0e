// Fill: every element of the output equals one value.
//
// The output is written as raw 32-bit words, so one shader serves every dtype: the value's
// storage bits repeat with a period of one word (4-byte elements, or two native f16 elements
// per word) or two words (f64).
//
// params: [n_words, period, word0, word1]

@group(0) @binding(0) var<storage, read> params: array<u32>;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;

@compute @workgroup_size({{ workgroup }})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * {{ workgroup }}u;
    if (i >= params[0]) {
        return;
    }
    out[i] = params[2u + i % params[1]];
}
