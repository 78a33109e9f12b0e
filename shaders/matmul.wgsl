// Matmul: out (+)= a @ b for every output batch, one (a, b) pair per launch. Each 64-invocation
// workgroup computes a 64 x 64 output tile and each invocation 64 outputs of it: rows
// 4 tr..4 tr+3 and 32+4 tr..32+4 tr+3 times columns 4 tc..4 tc+3 and 32+4 tc..32+4 tc+3 (a 2 x 2
// grid of 4 x 4 blocks, so neighbouring invocations read neighbouring vectors). The depth is
// walked 16 at a time with both operand tiles staged in workgroup memory: per depth step an
// invocation reads 4 vectors and does 64 multiply-adds. Edges are guarded: operand elements
// past m, n or kk load as zero and outputs past m or n are not written.
//
// The tile grid is flat (batch-major, then tile rows, then tile columns) and may spill into a
// second grid dimension; a workgroup past the last tile returns before any barrier (the test is
// uniform: it reads only workgroup ids and read-only params).
//
// params: [tiles, m, n, kk, tiles_n, tiles_per_batch, accumulate, batches, then per output
//          batch: the element offset of its a matrix and of its b matrix]
{{ enables }}
@group(0) @binding(0) var<storage, read> params: array<u32>;
@group(0) @binding(1) var<storage, read> a: array<{{ elem }}>;
@group(0) @binding(2) var<storage, read> b: array<{{ elem }}>;
@group(0) @binding(3) var<storage, read_write> out: array<{{ out_elem }}>;

// ta[k * 16 + (r ^ k)] holds rows 4r..4r+3 of the A tile at depth k, tb[k * 16 + c] columns
// 4c..4c+3 of the B tile: one vector load per operand per depth step in the inner loop. The XOR
// spreads the 16 invocations that store one row group's 16 depths over different banks (they
// would all hit the same ones at a stride of 16 vectors); reads stay one distinct vector each.
var<workgroup> ta: array<vec4<{{ ty }}>, 256>;
var<workgroup> tb: array<vec4<{{ ty }}>, 256>;

{{ helpers }}

// Element (row, k) of the batch's a matrix at `base`, or zero past its edges.
fn load_a(base: u32, row: u32, k: u32) -> {{ ty }} {
    let kk = params[3];
    if (row < params[1] && k < kk) {
        let ia = base + row * kk + k;
        return {{ load_a }};
    }
    return {{ ty }}();
}

// Element (k, col) of the batch's b matrix at `base`, or zero past its edges.
fn load_b(base: u32, k: u32, col: u32) -> {{ ty }} {
    let n = params[2];
    if (k < params[3] && col < n) {
        let ib = base + k * n + col;
        return {{ load_b }};
    }
    return {{ ty }}();
}

// Writes one row of a thread's block (columns gc0..gc0+3), adding to what is there when
// accumulating.
fn put(row: u32, gc0: u32, base: u32, v: vec4<{{ ty }}>) {
    let m = params[1];
    let n = params[2];
    if (row >= m) {
        return;
    }
    for (var j = 0u; j < 4u; j++) {
        let col = gc0 + j;
        if (col < n) {
            let io = base + row * n + col;
            var x = v[j];
            if (params[6] != 0u) {
                x = {{ load_out }} + x;
            }
            out[io] = {{ store_out }};
        }
    }
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let tile = wid.x + wid.y * nwg.x;
    if (tile >= params[0]) {
        return;
    }
    let m = params[1];
    let n = params[2];
    let kk = params[3];
    let tiles_n = params[4];
    let per_batch = params[5];
    let batch = tile / per_batch;
    let t = tile % per_batch;
    let row0 = (t / tiles_n) * 64u;
    let col0 = (t % tiles_n) * 64u;
    let a_base = params[8u + 2u * batch];
    let b_base = params[9u + 2u * batch];
    let tr = lid >> 3u;
    let tc = lid & 7u;
    var c00 = vec4<{{ ty }}>();
    var c01 = vec4<{{ ty }}>();
    var c10 = vec4<{{ ty }}>();
    var c11 = vec4<{{ ty }}>();
    var c20 = vec4<{{ ty }}>();
    var c21 = vec4<{{ ty }}>();
    var c30 = vec4<{{ ty }}>();
    var c31 = vec4<{{ ty }}>();
    var c40 = vec4<{{ ty }}>();
    var c41 = vec4<{{ ty }}>();
    var c50 = vec4<{{ ty }}>();
    var c51 = vec4<{{ ty }}>();
    var c60 = vec4<{{ ty }}>();
    var c61 = vec4<{{ ty }}>();
    var c70 = vec4<{{ ty }}>();
    var c71 = vec4<{{ ty }}>();
    for (var k0 = 0u; k0 < kk; k0 += 16u) {
        // 256 four-vectors per operand tile, 4 per invocation; 16 neighbouring invocations
        // read 16 neighbouring depths of a's rows and 64 neighbouring columns of b's row.
        for (var r = 0u; r < 4u; r++) {
            let e = lid + r * 64u;
            let lo = e & 15u;
            let hi = e >> 4u;
            let ra = row0 + hi * 4u;
            let ka = k0 + lo;
            ta[lo * 16u + (hi ^ lo)] = vec4<{{ ty }}>(
                load_a(a_base, ra, ka),
                load_a(a_base, ra + 1u, ka),
                load_a(a_base, ra + 2u, ka),
                load_a(a_base, ra + 3u, ka),
            );
            let kb = k0 + hi;
            let cb = col0 + lo * 4u;
            tb[hi * 16u + lo] = vec4<{{ ty }}>(
                load_b(b_base, kb, cb),
                load_b(b_base, kb, cb + 1u),
                load_b(b_base, kb, cb + 2u),
                load_b(b_base, kb, cb + 3u),
            );
        }
        workgroupBarrier();
        for (var q = 0u; q < 16u; q++) {
            let a0 = ta[q * 16u + (tr ^ q)];
            let a1 = ta[q * 16u + ((8u + tr) ^ q)];
            let b0 = tb[q * 16u + tc];
            let b1 = tb[q * 16u + 8u + tc];
            c00 += a0.x * b0;
            c01 += a0.x * b1;
            c10 += a0.y * b0;
            c11 += a0.y * b1;
            c20 += a0.z * b0;
            c21 += a0.z * b1;
            c30 += a0.w * b0;
            c31 += a0.w * b1;
            c40 += a1.x * b0;
            c41 += a1.x * b1;
            c50 += a1.y * b0;
            c51 += a1.y * b1;
            c60 += a1.z * b0;
            c61 += a1.z * b1;
            c70 += a1.w * b0;
            c71 += a1.w * b1;
        }
        workgroupBarrier();
    }
    let base = batch * m * n;
    let r0 = row0 + tr * 4u;
    let r1 = row0 + 32u + tr * 4u;
    let q0 = col0 + tc * 4u;
    let q1 = col0 + 32u + tc * 4u;
    put(r0, q0, base, c00);
    put(r0, q1, base, c01);
    put(r0 + 1u, q0, base, c10);
    put(r0 + 1u, q1, base, c11);
    put(r0 + 2u, q0, base, c20);
    put(r0 + 2u, q1, base, c21);
    put(r0 + 3u, q0, base, c30);
    put(r0 + 3u, q1, base, c31);
    put(r1, q0, base, c40);
    put(r1, q1, base, c41);
    put(r1 + 1u, q0, base, c50);
    put(r1 + 1u, q1, base, c51);
    put(r1 + 2u, q0, base, c60);
    put(r1 + 2u, q1, base, c61);
    put(r1 + 3u, q0, base, c70);
    put(r1 + 3u, q1, base, c71);
}
