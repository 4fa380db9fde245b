//! Helpers shared by the end-to-end tests: the built `infuse` binary, the shared corpus and the
//! independent oracle tools.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The real `infuse` binary, built once per test run by the same cargo that runs the tests.
pub fn infuse() -> Command {
    Command::new(infuse_path())
}

/// Path of the built `infuse` binary.
pub fn infuse_path() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        // target/<profile>/deps/it-HASH → target/<profile>/infuse
        let exe = std::env::current_exe().expect("test executable path");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("test executable lives in target/<profile>/deps");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = Command::new(cargo);
        build.args(["build", "-q", "-p", "infuse", "--bin", "infuse"]);
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            build.arg("--release");
        }
        let target_dir = profile_dir.parent().expect("target dir");
        build.env("CARGO_TARGET_DIR", target_dir);
        build.current_dir(env!("CARGO_MANIFEST_DIR"));
        let status = build
            .status()
            .expect("run cargo build for the infuse binary");
        assert!(status.success(), "cargo build -p infuse failed");
        let bin = profile_dir.join(format!("infuse{}", std::env::consts::EXE_SUFFIX));
        assert!(bin.is_file(), "{} was not built", bin.display());
        bin
    })
}

/// The shared INF corpus (`INFUSE_CORPUS`, else `../shared/corpus/inf` next to the repository),
/// when present. Tests that use it say so on stderr.
pub fn corpus_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("INFUSE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("../shared/corpus/inf"));
    if dir.is_dir() {
        eprintln!("using the shared INF corpus at {}", dir.display());
        Some(dir)
    } else {
        eprintln!(
            "shared INF corpus not present at {}: corpus checks not run",
            dir.display()
        );
        None
    }
}

/// The shared hive fixtures (`../shared/fixtures/hives`), when present.
pub fn shared_hives_dir() -> Option<PathBuf> {
    let dir = repo_root().join("../shared/fixtures/hives");
    dir.is_dir().then_some(dir)
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the repository root")
        .to_path_buf()
}

/// An oracle program the tests check our output against. Missing oracles fail the test with a
/// hint instead of skipping it: `.ci/setup` installs them all.
pub fn oracle(program: &str) -> Command {
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|p| p.join(program).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "oracle `{program}` is not installed\nhint: run `bash .ci/setup` (installs hivex, reglookup, libregf, chntpw, wimtools, cabextract)"
    );
    Command::new(program)
}
pub mod image;
pub mod plugins;
pub mod run;
