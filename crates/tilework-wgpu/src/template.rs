//! `{{ name }}` substitution for the WGSL templates in `shaders/`: nothing else (no loops, no
//! conditionals), so a template reads as plain WGSL.

use tilework_core::{Error, Result};

/// Replaces every `{{ name }}` (spaces inside the braces optional) in `template` with its value
/// from `vars`.
///
/// # Errors
/// [`Error::Device`] naming `file` for a placeholder missing from `vars`, an unclosed `{{`, a
/// malformed name, or a value that itself contains `{{` (a leftover placeholder).
pub(crate) fn render(file: &str, template: &str, vars: &[(&str, &str)]) -> Result<String> {
    let bad = |detail: String| Error::Device(format!("wgpu: template {file}: {detail}"));
    let mut out = String::with_capacity(template.len() + 256);
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let close = after.find("}}").ok_or_else(|| {
            bad(format!(
                "unclosed '{{{{' at byte {}",
                template.len() - rest.len() + open
            ))
        })?;
        let name = after[..close].trim();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(bad(format!(
                "malformed placeholder '{{{{{}}}}}'",
                &after[..close]
            )));
        }
        let value = vars
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| *v)
            .ok_or_else(|| bad(format!("no value for placeholder '{name}'")))?;
        if value.contains("{{") {
            return Err(bad(format!("value of '{name}' contains a placeholder")));
        }
        out.push_str(value);
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitutes_every_occurrence() {
        let t = "a {{x}} b {{ y }} c {{x}}";
        assert_eq!(
            render("t", t, &[("x", "1"), ("y", "2")]).unwrap(),
            "a 1 b 2 c 1"
        );
    }

    #[test]
    fn extra_values_are_fine_and_text_without_placeholders_is_unchanged() {
        assert_eq!(
            render("t", "plain { } }}", &[("x", "1")]).unwrap(),
            "plain { } }}"
        );
    }

    #[test]
    fn unknown_unclosed_malformed_and_leftover_placeholders_are_errors() {
        for (t, vars) in [
            ("{{ missing }}", vec![]),
            ("x {{ open", vec![("open", "1")]),
            ("{{ two words }}", vec![]),
            ("{{}}", vec![]),
            ("{{ a }}", vec![("a", "{{ b }}")]),
        ] {
            let e = render("t.wgsl", t, &vars).unwrap_err();
            assert!(e.to_string().contains("t.wgsl"), "{e}");
        }
    }
}
