//! trim: drop a package's optional utility components for slim images (Windows To Go, WinPE).
//!
//! - `co-installers` (default true): every `[<install>.CoInstallers]` section is dropped (the
//!   host removes the section and the directives naming it).
//! - `files`: file-name patterns (`*` and `?`, case-insensitive, matched against the file name
//!   without its folder): every package file that matches is dropped, and so is every file-list
//!   section named by a `CopyFiles` directive whose files all match (the utility's component).
//!
//! ```toml
//! [config]
//! files = ["*_util.dll", "*.cpl"]
//! ```

use infuse_sdk::inf::Inf;
use infuse_sdk::{Context, Hook, PackageView, Plugin, ReasonedEdit, Result, Target};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Config {
    #[serde(default = "yes")]
    co_installers: bool,
    #[serde(default)]
    files: Vec<String>,
}

fn yes() -> bool {
    true
}

pub struct Trim;

impl Plugin for Trim {
    const NAME: &'static str = "trim";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const HOOKS: &'static [Hook] = &[Hook::Transform];
    const PCI_VENDORS: &'static [u16] = &[0x8086, 0x1AF4];
    const PROVIDERS: &'static [&'static str] = &["Contoso, Ltd."];

    fn transform(cx: &Context, package: &PackageView, _: &Target) -> Result<Vec<ReasonedEdit>> {
        let config: Config = cx.config()?;
        let inf = cx.read_inf(package)?;
        let matches = |path: &str| {
            let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
            config.files.iter().any(|p| glob(p, name))
        };
        let mut edits = Vec::new();
        if config.co_installers {
            for s in &inf.sections {
                if s.name().to_ascii_lowercase().ends_with(".coinstallers") {
                    edits.push(ReasonedEdit::drop_section(
                        s.name(),
                        "co-installer: not needed offline",
                    ));
                }
            }
        }
        if !config.files.is_empty() {
            for section in copy_file_sections(&inf) {
                let Some(s) = inf.section(&section) else {
                    continue;
                };
                let files: Vec<&str> = s
                    .lines()
                    .iter()
                    .filter_map(|l| l.field(0).or(l.field(1)))
                    .collect();
                if !files.is_empty() && files.iter().all(|f| matches(f)) {
                    edits.push(ReasonedEdit::drop_section(
                        s.name(),
                        format!("utility files only: {}", files.join(", ")),
                    ));
                }
            }
            for f in package.files.iter().filter(|f| matches(&f.path)) {
                edits.push(ReasonedEdit::drop_file(f.path.clone(), "optional utility"));
            }
        }
        Ok(edits)
    }
}

infuse_sdk::export_plugin!(Trim);

/// The file-list sections named by `CopyFiles` directives (not `@file` entries), in INF order,
/// each once.
fn copy_file_sections(inf: &Inf) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in &inf.sections {
        for l in s.find_all("CopyFiles") {
            for name in l.fields() {
                let name = name.trim();
                if name.is_empty() || name.starts_with('@') {
                    continue;
                }
                if !out.iter().any(|o| o.eq_ignore_ascii_case(name)) {
                    out.push(name.to_owned());
                }
            }
        }
    }
    out
}

/// `*` (any run) and `?` (one character) glob, ASCII case-insensitive.
fn glob(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.to_ascii_lowercase().chars().collect();
    let n: Vec<char> = name.to_ascii_lowercase().chars().collect();
    let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use infuse_sdk::testkit::TestKit;

    fn fixture(name: &str) -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../driver-store/fixtures/packages")
            .join(name)
    }

    #[test]
    fn glob_matches_like_file_name_patterns() {
        assert!(glob("*_util.dll", "CONTOSO_UTIL.DLL"));
        assert!(glob("*.cpl", "a.cpl"));
        assert!(glob("c?et.sys", "cnet.sys"));
        assert!(!glob("*_util.dll", "contoso_util.dll.bak"));
        assert!(!glob("c?et.sys", "cet.sys"));
    }

    #[test]
    fn manifest_agrees_and_cnet_loses_its_utility() {
        let kit =
            TestKit::from_manifest(concat!(env!("CARGO_MANIFEST_DIR"), "/plugin.toml")).unwrap();
        kit.check_manifest::<Trim>().unwrap();
        let edits = kit
            .transform::<Trim>(fixture("cnet"), &Target::windows_11("amd64"))
            .unwrap();
        assert_eq!(
            edits,
            vec![
                ReasonedEdit::drop_section("cnet_util", "utility files only: contoso_util.dll"),
                ReasonedEdit::drop_file("common/contoso_util.dll", "optional utility"),
            ]
        );
    }

    #[test]
    fn a_shared_file_list_is_kept_and_co_installers_are_dropped() {
        // vstor copies contoso_util.dll in the same list as its driver: the list stays, the file goes.
        let dir = tempfile_dir();
        let inf = "[Version]\r\nSignature=\"$Windows NT$\"\r\nProvider=Contoso\r\n[inst.NT]\r\nCopyFiles=drv\r\n[inst.NT.CoInstallers]\r\nCopyFiles=coinst\r\n[drv]\r\nx.sys\r\nx_util.dll\r\n[coinst]\r\nx_coinst.dll\r\n";
        std::fs::write(dir.join("x.inf"), inf).unwrap();
        std::fs::write(dir.join("x_util.dll"), b"u").unwrap();
        let kit = TestKit::with_config_toml("files = ['*_UTIL.dll']").unwrap();
        let edits = kit
            .transform::<Trim>(&dir, &Target::windows_11("amd64"))
            .unwrap();
        assert_eq!(
            edits,
            vec![
                ReasonedEdit::drop_section(
                    "inst.NT.CoInstallers",
                    "co-installer: not needed offline"
                ),
                ReasonedEdit::drop_file("x_util.dll", "optional utility"),
            ]
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("trim-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
