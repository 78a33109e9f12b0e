//! Parses and validates every shader the backend can build with naga, for a device with every
//! optional feature and for one with none. Needs no GPU.

use crate::device::Features;
use crate::kernels::all_shaders;

fn capabilities(f: &Features) -> naga::valid::Capabilities {
    use naga::valid::Capabilities as C;
    let mut caps = C::SUBGROUP;
    if f.f16_native {
        caps |= C::SHADER_FLOAT16;
    }
    if f.f64 {
        caps |= C::FLOAT64;
    }
    caps
}

fn validate_all(f: &Features) -> usize {
    let shaders = all_shaders(f).expect("every shader renders");
    let mut failures = Vec::new();
    for (name, source) in &shaders {
        let module = match naga::front::wgsl::parse_str(source) {
            Ok(m) => m,
            Err(e) => {
                failures.push(format!(
                    "{name}: parse: {}\n{source}",
                    e.emit_to_string(source)
                ));
                continue;
            }
        };
        let mut validator =
            naga::valid::Validator::new(naga::valid::ValidationFlags::all(), capabilities(f));
        if let Err(e) = validator.validate(&module) {
            failures.push(format!(
                "{name}: validate: {}\n{source}",
                e.emit_to_string(source)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} shaders failed:\n{}",
        failures.len(),
        shaders.len(),
        failures.join("\n\n")
    );
    shaders.len()
}

#[test]
fn every_shader_parses_and_validates() {
    let mut total = 0;
    for (f16_native, f64) in [(true, true), (false, false), (false, true), (true, false)] {
        let f = Features {
            f16_native,
            f64,
            workgroup: 256,
            name: "naga".into(),
        };
        let n = validate_all(&f);
        assert!(n > 100, "only {n} shaders for {f:?}");
        total += n;
    }
    assert!(total > 0, "found no shaders");
    eprintln!("naga validated {total} shaders");
}
