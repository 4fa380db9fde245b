//! Builds the example plugins `infuse demo` runs (`plugins/vendor-policy`, `plugins/trim`) for
//! `wasm32-wasip2` and embeds them, so the demo needs nothing outside the binary.
//!
//! The plugins are their own cargo workspace (`plugins/`); this runs a nested
//! `cargo build --release --target wasm32-wasip2` into `OUT_DIR`. When that is impossible (the
//! target is not installed: `rustup target add wasm32-wasip2`, which `.ci/setup` runs), the
//! build still succeeds, with a warning, and `infuse demo` reports that its plugin step cannot
//! run and exits non-zero.

use std::path::{Path, PathBuf};
use std::process::Command;

const PLUGINS: &[(&str, &str)] = &[("vendor-policy", "vendor_policy"), ("trim", "trim")];

fn main() {
    let manifest_dir =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let root = manifest_dir
        .parent()
        .expect("core/ lives in the repository")
        .to_path_buf();
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it"));
    println!("cargo::rustc-check-cfg=cfg(demo_plugins)");
    for watched in [
        "plugins/Cargo.toml",
        "plugins/Cargo.lock",
        "sdk",
        "driver-store/src",
        "driver-store/Cargo.toml",
    ] {
        println!("cargo::rerun-if-changed={}", root.join(watched).display());
    }
    for (name, _) in PLUGINS {
        println!(
            "cargo::rerun-if-changed={}",
            root.join("plugins").join(name).display()
        );
    }
    println!("cargo::rerun-if-env-changed=INFUSE_SKIP_DEMO_PLUGINS");
    if std::env::var_os("INFUSE_SKIP_DEMO_PLUGINS").is_some() {
        return skip(&out, "INFUSE_SKIP_DEMO_PLUGINS is set");
    }
    match build(&root, &out) {
        Ok(()) => println!("cargo::rustc-cfg=demo_plugins"),
        Err(why) => skip(&out, &why),
    }
}

fn build(root: &Path, out: &Path) -> Result<(), String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let target_dir = out.join("plugins-target");
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root.join("plugins"))
        .args([
            "build",
            "--release",
            "--quiet",
            "--target",
            "wasm32-wasip2",
            "--locked",
        ])
        .env("CARGO_TARGET_DIR", &target_dir)
        // The outer build's flags are for the host target, not the guest.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("RUSTC_WORKSPACE_WRAPPER");
    for (name, _) in PLUGINS {
        cmd.args(["-p", name]);
    }
    let output = cmd.output().map_err(|e| format!("cannot run cargo: {e}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(6).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(format!(
            "cargo build of the plugins failed: {}",
            tail.join(" | ")
        ));
    }
    for (name, file) in PLUGINS {
        let wasm = target_dir
            .join("wasm32-wasip2/release")
            .join(format!("{file}.wasm"));
        let dest = out.join(format!("{file}.wasm"));
        std::fs::copy(&wasm, &dest).map_err(|e| format!("{}: {e}", wasm.display()))?;
        let manifest = root.join("plugins").join(name).join("plugin.toml");
        std::fs::copy(&manifest, out.join(format!("{file}.plugin.toml")))
            .map_err(|e| format!("{}: {e}", manifest.display()))?;
    }
    Ok(())
}

fn skip(out: &Path, why: &str) {
    println!("cargo::warning=infuse demo will not run its example plugins: {why}");
    let _ = std::fs::write(out.join("demo-plugins-missing.txt"), why);
}
