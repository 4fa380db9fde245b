//! The plugins the end-to-end tests load: `plugins/` (its own cargo workspace) built for
//! `wasm32-wasip2` once per test run and laid out the way `infuse --plugins DIR` reads them.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Instant;

use infuse_sdk::manifest::Manifest;
use sha2::{Digest, Sha256};

/// The guest target every plugin is built for.
pub const TARGET: &str = "wasm32-wasip2";

/// The directory of built plugins, one folder per plugin named by its `plugin.toml` name
/// (`hwid-alias/`, `hostile-loop-forever/`, …), each holding its `plugin.toml` with `sha256`
/// filled in and the component it names. Built once per test run with
/// `cargo build --release --target wasm32-wasip2` into `<target dir>/plugins`.
pub fn built_plugins() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let target_dir = test_target_dir().join("plugins");
        build(&target_dir);
        lay_out(
            &target_dir.join(TARGET).join("release"),
            &target_dir.join("dist"),
        )
    })
}

/// One built plugin's folder, e.g. `built_plugin("hostile-panic")`.
pub fn built_plugin(name: &str) -> PathBuf {
    let dir = built_plugins().join(name);
    assert!(
        dir.is_dir(),
        "no built plugin named {name} in {}",
        built_plugins().display()
    );
    dir
}

/// The plugin sources: every folder under `plugins/` holding a `plugin.toml`.
pub fn plugin_sources() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![plugins_workspace()];
    while let Some(dir) = stack.pop() {
        if dir.join("plugin.toml").is_file() {
            out.push(dir.clone());
        }
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries.flatten() {
            let path = entry.path();
            let skip = path
                .file_name()
                .is_some_and(|n| n == "target" || n == "src");
            if path.is_dir() && !skip {
                stack.push(path);
            }
        }
    }
    out.sort();
    out
}

/// `plugins/` in the repository.
pub fn plugins_workspace() -> PathBuf {
    crate::repo_root().join("plugins")
}

/// Panics with the fix when the wasm target's standard library is not installed.
pub fn require_wasm_target() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .unwrap_or_else(|e| panic!("run {rustc} --print sysroot: {e}"));
    let sysroot = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let lib = Path::new(&sysroot).join("lib/rustlib").join(TARGET);
    assert!(
        lib.is_dir(),
        "the Rust target {TARGET} is not installed (no {})\nhint: run `rustup target add {TARGET}` (`bash .ci/setup` does it)",
        lib.display()
    );
}

/// The target dir of this test run: `target/<profile>/deps/it-HASH` → `target`.
pub fn test_target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    exe.parent()
        .and_then(Path::parent)
        .and_then(Path::parent)
        .expect("test executable lives in target/<profile>/deps")
        .to_path_buf()
}

fn build(target_dir: &Path) {
    require_wasm_target();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let started = Instant::now();
    let status = Command::new(&cargo)
        .args(["build", "-q", "--release", "--target", TARGET])
        .current_dir(plugins_workspace())
        .env("CARGO_TARGET_DIR", target_dir)
        .status()
        .unwrap_or_else(|e| panic!("run {cargo} build in plugins/: {e}"));
    assert!(
        status.success(),
        "building plugins/ for {TARGET} failed (cargo build --release --target {TARGET} in {})\nhint: if the target is missing, run `rustup target add {TARGET}`",
        plugins_workspace().display()
    );
    eprintln!(
        "built plugins/ for {TARGET} in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// Copy each plugin's manifest (sha256 filled in) and component into `dist/<name>/`, replacing
/// whatever an earlier run left there.
fn lay_out(release: &Path, dist: &Path) -> PathBuf {
    let staging = dist.with_extension(format!("tmp{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    for source in plugin_sources() {
        let manifest_path = source.join("plugin.toml");
        let text = std::fs::read_to_string(&manifest_path)
            .unwrap_or_else(|e| panic!("{}: {e}", manifest_path.display()));
        let manifest =
            Manifest::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", manifest_path.display()));
        let wasm = release.join(&manifest.component);
        let bytes = std::fs::read(&wasm).unwrap_or_else(|e| {
            panic!(
                "{}: the component {} named by {} was not built: {e}",
                wasm.display(),
                manifest.component,
                manifest_path.display()
            )
        });
        let sha = hex::encode(Sha256::digest(&bytes));
        let filled = fill_sha256(&text, &sha).unwrap_or_else(|| {
            panic!(
                "{}: no `sha256 = \"\"` line to fill",
                manifest_path.display()
            )
        });
        let out = staging.join(&manifest.name);
        std::fs::create_dir_all(&out).unwrap_or_else(|e| panic!("{}: {e}", out.display()));
        std::fs::write(out.join("plugin.toml"), filled).expect("write plugin.toml");
        std::fs::write(out.join(&manifest.component), &bytes).expect("write the component");
    }
    let _ = std::fs::remove_dir_all(dist);
    std::fs::rename(&staging, dist)
        .unwrap_or_else(|e| panic!("rename {} to {}: {e}", staging.display(), dist.display()));
    dist.to_path_buf()
}

/// The manifest text with its `sha256 = ""` line set to `sha`.
pub fn fill_sha256(text: &str, sha: &str) -> Option<String> {
    let mut found = false;
    let lines: Vec<String> = text
        .lines()
        .map(|line| {
            if !found && line.trim_start().starts_with("sha256") && line.contains('=') {
                found = true;
                format!("sha256 = \"{sha}\"")
            } else {
                line.to_owned()
            }
        })
        .collect();
    found.then(|| lines.join("\n") + "\n")
}
