//! The plugin SDK as a vendor meets it: `sdk/README.md`'s guide followed literally (its files and
//! its shell steps) builds a working component, `infuse plugin new`'s template is that guide, and
//! the plugins the other tests load are components with the imports they claim.

use std::process::Command;

use infuse_sdk::manifest::Manifest;
use infuse_tests::plugins::{
    built_plugins, plugin_sources, plugins_workspace, require_wasm_target, test_target_dir,
};
use infuse_tests::repo_root;
use sha2::{Digest, Sha256};

/// What a component may import (sdk/README.md, "Host imports"; DESIGN.md: no network, no
/// filesystem beyond what the host hands over).
const ALLOWED: &[&str] = &[
    "infuse:plugin/host@",
    // The shared types interface: every component imports it, since `plugin` uses its types.
    "infuse:plugin/types@",
    "wasi:io/",
    "wasi:cli/",
    "wasi:clocks/",
    "wasi:random/",
];

/// The contract's export, versioned (plugin.wit: an exported interface, not bare functions).
const EXPORT: &str = "infuse:plugin/plugin@0.1.0";

/// The placeholder the README's Cargo.toml uses for the SDK's path.
const SDK_PLACEHOLDER: &str = "/path/to/infuse/sdk";

#[test]
fn the_readme_guide_builds_and_tests_a_plugin_as_a_new_user_would() {
    require_wasm_target();
    let readme = std::fs::read_to_string(repo_root().join("sdk/README.md")).expect("sdk/README.md");
    let files = file_blocks(&readme);
    let names: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        names,
        ["Cargo.toml", "src/lib.rs", "plugin.toml"],
        "the guide's files"
    );

    // A crate outside the repository, made of the README's blocks and nothing else.
    let scratch = tempfile::tempdir().expect("temp dir");
    let krate = scratch.path().join("contoso-policy");
    let sdk = repo_root().join("sdk");
    for (path, body) in &files {
        let out = krate.join(path);
        std::fs::create_dir_all(out.parent().unwrap()).unwrap();
        std::fs::write(&out, body.replace(SDK_PLACEHOLDER, sdk.to_str().unwrap())).unwrap();
    }
    // The crate's own `target/` is where the guide looks for the component; it points into this
    // test run's target dir so repeated runs reuse the compiled dependencies.
    let target = test_target_dir().join("plugin-sdk-guide");
    std::fs::create_dir_all(&target).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(&target, krate.join("target")).unwrap();
    #[cfg(windows)]
    std::os::windows::fs::symlink_dir(&target, krate.join("target")).unwrap();

    // Steps 2-4 of the guide, run as written.
    let steps = shell_blocks(&readme);
    for needle in [
        "cargo test",
        "cargo build --release --target wasm32-wasip2",
        "mkdir -p dist",
    ] {
        let step = steps
            .iter()
            .find(|s| s.contains(needle))
            .unwrap_or_else(|| panic!("sdk/README.md has no shell step with `{needle}`"));
        let out = Command::new("sh")
            .args(["-e", "-c", step])
            .current_dir(&krate)
            .env("CARGO_TARGET_DIR", krate.join("target"))
            .output()
            .expect("run sh");
        let log = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "README step failed:\n{step}\n{log}");
        if needle == "cargo test" {
            // The guide's testkit test ran and passed (not a crate with zero tests).
            assert!(
                log.contains("test tests::blocked_versions_are_rejected ... ok"),
                "{log}"
            );
        }
    }

    // The plugin directory the guide laid out: manifest with the right hash, a component that
    // exports the contract and imports nothing beyond the allowlist.
    let dir = krate.join("dist/contoso-policy");
    let manifest = Manifest::load(&dir.join("plugin.toml")).unwrap();
    let wasm = std::fs::read(dir.join(&manifest.component)).unwrap();
    assert_eq!(manifest.sha256, hex::encode(Sha256::digest(&wasm)));
    let (imports, exports) = component_imports_exports(&wasm);
    assert!(exports.iter().any(|e| e == EXPORT), "{exports:?}");
    assert_eq!(beyond_allowlist(&imports), Vec::<String>::new());
}

#[test]
fn the_template_renders_to_the_readme_guide() {
    let readme = std::fs::read_to_string(repo_root().join("sdk/README.md")).expect("sdk/README.md");
    let files = file_blocks(&readme);
    for (path, template) in [
        ("Cargo.toml", "Cargo.toml.tmpl"),
        ("src/lib.rs", "lib.rs.tmpl"),
        ("plugin.toml", "plugin.toml.tmpl"),
    ] {
        let text =
            std::fs::read_to_string(repo_root().join("sdk/template").join(template)).unwrap();
        let rendered = text
            .replace("{{name}}", "contoso-policy")
            .replace("{{crate_name}}", "contoso_policy")
            .replace("{{type_name}}", "ContosoPolicy")
            .replace("{{sdk_path}}", SDK_PLACEHOLDER);
        assert!(
            !rendered.contains("{{"),
            "{template}: unknown placeholder left"
        );
        let block = &files
            .iter()
            .find(|(p, _)| p == path)
            .expect("README block")
            .1;
        assert_eq!(
            &rendered, block,
            "sdk/template/{template} differs from the README's {path}"
        );
    }
}

#[test]
fn every_plugin_is_built_into_a_directory_with_its_hash_filled_in() {
    let sources = plugin_sources();
    assert_eq!(sources.len(), 11, "{sources:?}");
    let root = built_plugins();
    let mut built: Vec<String> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    built.sort();
    let mut expected: Vec<String> = sources
        .iter()
        .map(|s| Manifest::load(&s.join("plugin.toml")).unwrap().name)
        .collect();
    expected.sort();
    assert_eq!(built, expected);
    for name in &built {
        let dir = root.join(name);
        let manifest = Manifest::load(&dir.join("plugin.toml")).unwrap();
        let wasm = std::fs::read(dir.join(&manifest.component)).unwrap();
        assert_eq!(
            manifest.sha256,
            hex::encode(Sha256::digest(&wasm)),
            "{name}"
        );
        // A component, not a core module: `\0asm`, version 0x0d, layer 1.
        assert_eq!(&wasm[..8], b"\0asm\x0d\x00\x01\x00", "{name}");
        // The laid-out manifest is the source's, with only the hash filled in.
        let source = sources
            .iter()
            .find(|s| Manifest::load(&s.join("plugin.toml")).unwrap().name == *name);
        let mut original = Manifest::load(&source.unwrap().join("plugin.toml")).unwrap();
        original.sha256 = manifest.sha256.clone();
        assert_eq!(original, manifest, "{name}");
    }
}

#[test]
fn only_the_undeclared_import_plugin_imports_beyond_the_allowlist() {
    for dir in std::fs::read_dir(built_plugins()).unwrap() {
        let dir = dir.unwrap().path();
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let manifest = Manifest::load(&dir.join("plugin.toml")).unwrap();
        let (imports, exports) =
            component_imports_exports(&std::fs::read(dir.join(&manifest.component)).unwrap());
        assert!(exports.iter().any(|e| e == EXPORT), "{name}: {exports:?}");
        let beyond = beyond_allowlist(&imports);
        if name == "hostile-undeclared-import" {
            for wanted in ["wasi:filesystem/preopens@", "wasi:sockets/tcp@"] {
                assert!(
                    beyond.iter().any(|i| i.starts_with(wanted)),
                    "{name} must import {wanted}*: {imports:?}"
                );
            }
        } else {
            assert_eq!(beyond, Vec::<String>::new(), "{name}");
        }
    }
}

#[test]
fn the_example_plugins_pass_their_own_test_kit_tests() {
    // The vendors' workflow on our own examples: native `cargo test` through the SDK's test kit
    // (plugins/.cargo/config.toml builds for wasm32-wasip2 by default, hence --target).
    let host = host_triple();
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["test", "-q", "--target", &host])
        .current_dir(plugins_workspace())
        .env("CARGO_TARGET_DIR", test_target_dir().join("plugins-native"))
        .output()
        .expect("run cargo test in plugins/");
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{log}");
    let passed: usize = log
        .lines()
        .filter_map(|l| l.strip_prefix("test result: ok. "))
        .filter_map(|l| l.split(' ').next()?.parse::<usize>().ok())
        .sum();
    // hwid-alias 2, vendor-policy 3, trim 3, path-traversal 1.
    assert_eq!(passed, 9, "{log}");
}

/// The README's code blocks whose info string names a file: ```` ```toml Cargo.toml ````.
fn file_blocks(readme: &str) -> Vec<(String, String)> {
    blocks(readme)
        .into_iter()
        .filter_map(|(info, body)| {
            let mut words = info.split_whitespace();
            let _lang = words.next()?;
            Some((words.next()?.to_owned(), body))
        })
        .collect()
}

/// The README's ```` ```sh ```` blocks.
fn shell_blocks(readme: &str) -> Vec<String> {
    blocks(readme)
        .into_iter()
        .filter(|(info, _)| info == "sh")
        .map(|(_, body)| body)
        .collect()
}

/// Fenced blocks: (info string, body with a final newline).
fn blocks(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut open: Option<(String, String)> = None;
    for line in text.lines() {
        match (&mut open, line.strip_prefix("```")) {
            (None, Some(info)) => open = Some((info.trim().to_owned(), String::new())),
            (Some(_), Some("")) => out.push(open.take().unwrap()),
            (Some((_, body)), _) => {
                body.push_str(line);
                body.push('\n');
            }
            (None, None) => {}
        }
    }
    out
}

/// The top-level imports and exports of a component (nested core modules and components are
/// skipped: only what the host must link counts).
fn component_imports_exports(bytes: &[u8]) -> (Vec<String>, Vec<String>) {
    use wasmparser::{Encoding, Parser, Payload};
    let (mut imports, mut exports) = (Vec::new(), Vec::new());
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.expect("a valid component") {
            Payload::Version { encoding, .. } => {
                assert!(
                    depth > 0 || encoding == Encoding::Component,
                    "not a component"
                );
                depth += 1;
            }
            Payload::End(_) => depth -= 1,
            Payload::ComponentImportSection(reader) if depth == 1 => {
                for import in reader {
                    imports.push(import.unwrap().name.name.to_owned());
                }
            }
            Payload::ComponentExportSection(reader) if depth == 1 => {
                for export in reader {
                    exports.push(export.unwrap().name.name.to_owned());
                }
            }
            _ => {}
        }
    }
    (imports, exports)
}

fn beyond_allowlist(imports: &[String]) -> Vec<String> {
    imports
        .iter()
        .filter(|i| !ALLOWED.iter().any(|a| i.starts_with(a)))
        .cloned()
        .collect()
}

fn host_triple() -> String {
    let out = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .arg("-vV")
        .output()
        .expect("rustc -vV");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("rustc -vV names the host")
        .to_owned()
}
