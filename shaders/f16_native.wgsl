// f16 with SHADER_F16: values compute in f32 and round through the native type.

fn tw_round_f16(v: f32) -> f32 {
    return f32(f16(v));
}
