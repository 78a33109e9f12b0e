//! The documents a new user reads first: every relative link and repository path they name exists,
//! and every Rust snippet in the README compiles in a user's crate, which depends on `tilework`
//! alone (the README's snippets also run as doctests, but doctests see this package's own
//! dependencies, so a snippet naming `ndarray::` directly would pass there and fail for a user).

use std::path::{Path, PathBuf};

/// The documents checked, relative to the repository root.
const DOCUMENTS: &[&str] = &[
    "README.md",
    "benches/README.md",
    "benches/peers/baselines.md",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(document: &str) -> String {
    std::fs::read_to_string(root().join(document))
        .unwrap_or_else(|e| panic!("cannot read {document}: {e}"))
}

/// Targets of Markdown links `[text](target)` and images `![alt](target)`.
fn link_targets(text: &str) -> Vec<String> {
    let mut targets = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("](") {
        rest = &rest[at + 2..];
        if let Some(end) = rest.find(')') {
            targets.push(rest[..end].trim().to_string());
        }
    }
    targets
}

/// Inline code spans that look like a path inside the repository: `dir/file.ext` or `dir/`.
fn code_paths(text: &str) -> Vec<String> {
    let mut paths = Vec::new();
    for (i, span) in text.split('`').enumerate() {
        // Odd pieces are inside backticks (fenced blocks split into pieces too; their contents
        // hold no single-backtick spans that look like paths).
        let path_like = |s: &str| {
            s.contains('/')
                && !s.starts_with(['/', '~', '.', '$'])
                && !s.contains("://")
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "/_-.".contains(c))
                && (s.ends_with('/') || s.rsplit('/').next().is_some_and(|f| f.contains('.')))
        };
        if i % 2 == 1 && path_like(span) {
            paths.push(span.to_string());
        }
    }
    paths
}

fn is_external(target: &str) -> bool {
    target.starts_with("http://")
        || target.starts_with("https://")
        || target.starts_with("mailto:")
        || target.starts_with('#')
}

#[test]
fn every_relative_link_and_path_the_documents_name_exists() {
    let mut missing = Vec::new();
    for document in DOCUMENTS {
        let text = read(document);
        let base = Path::new(document).parent().unwrap_or(Path::new(""));
        for target in link_targets(&text) {
            if is_external(&target) {
                continue;
            }
            let file = target.split('#').next().unwrap_or_default();
            if !root().join(base).join(file).exists() {
                missing.push(format!("{document}: link ({target})"));
            }
        }
        for path in code_paths(&text) {
            // Paths in code spans are written from the repository root or the document's folder;
            // `target/` holds what builds and examples write.
            let exists = root().join(&path).exists() || root().join(base).join(&path).exists();
            if !exists && !path.starts_with("target/") {
                missing.push(format!("{document}: path `{path}`"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "missing targets:\n{}",
        missing.join("\n")
    );
}

/// The crates this package depends on, which a user's crate does not have.
fn dependency_crates() -> Vec<String> {
    let manifest = read("Cargo.toml");
    let section = manifest
        .split("\n[dependencies]\n")
        .nth(1)
        .and_then(|s| s.split("\n[").next())
        .expect("Cargo.toml has a [dependencies] section");
    section
        .lines()
        .filter_map(|line| line.split(['.', '=', ' ']).next())
        .filter(|name| !name.is_empty() && !name.starts_with('#'))
        .map(|name| name.replace('-', "_"))
        .collect()
}

/// The Rust code blocks of a Markdown text.
fn rust_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match (&mut current, line.trim_start()) {
            (None, fence) if fence.starts_with("```rust") => current = Some(String::new()),
            (Some(_), "```") => blocks.extend(current.take()),
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

#[test]
fn readme_snippets_name_no_crate_a_user_lacks() {
    let crates = dependency_crates();
    assert!(crates.iter().any(|c| c == "ndarray"), "{crates:?}");
    let blocks = rust_blocks(&read("README.md"));
    assert!(blocks.len() >= 3, "{} Rust snippets", blocks.len());
    let mut found = Vec::new();
    for (b, block) in blocks.iter().enumerate() {
        for (l, line) in block.lines().enumerate() {
            for name in crates.iter().filter(|c| !c.starts_with("tilework")) {
                let path = format!("{name}::");
                // A use of the crate by its own name, not through `tilework::`.
                let bare = line.match_indices(&path).any(|(at, _)| {
                    let before = &line[..at];
                    !before.ends_with("tilework::")
                        && !before.ends_with(|c: char| c.is_alphanumeric() || c == '_')
                });
                if bare {
                    found.push(format!("snippet {} line {}: {}", b + 1, l + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "snippets name crates a user's crate does not have (write `tilework::ndarray::...`):\n{}",
        found.join("\n")
    );
}
