// Roofline, compute: eight independent chains of f32 four-vector FMAs per invocation (32 FMAs,
// 64 flops per iteration), enough to hide FMA latency. `x = x * m + c` converges to
// c / (1 - m), so values stay finite and normal for any length. m and c come from params, so
// the compiler cannot fold the loop; each invocation stores its sum so that it is not dead.
//
// params: [threads, iterations, bits of m, bits of c]

@group(0) @binding(0) var<storage, read> params: array<u32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;

@compute @workgroup_size({{ workgroup }})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * {{ workgroup }}u;
    if (i >= params[0]) {
        return;
    }
    let m = vec4<f32>(bitcast<f32>(params[2]));
    let c = vec4<f32>(bitcast<f32>(params[3]));
    let s = f32(i & 255u) * 1e-3;
    var x0 = vec4<f32>(s, s + 0.01, s + 0.02, s + 0.03);
    var x1 = x0 + 0.1;
    var x2 = x0 + 0.2;
    var x3 = x0 + 0.3;
    var x4 = x0 + 0.4;
    var x5 = x0 + 0.5;
    var x6 = x0 + 0.6;
    var x7 = x0 + 0.7;
    for (var k = 0u; k < params[1]; k++) {
        x0 = fma(x0, m, c);
        x1 = fma(x1, m, c);
        x2 = fma(x2, m, c);
        x3 = fma(x3, m, c);
        x4 = fma(x4, m, c);
        x5 = fma(x5, m, c);
        x6 = fma(x6, m, c);
        x7 = fma(x7, m, c);
    }
    out[i] = dot((x0 + x1) + (x2 + x3) + (x4 + x5) + (x6 + x7), vec4<f32>(1.0));
}
