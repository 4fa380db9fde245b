//! Image-relative paths: checked, then resolved case-insensitively against the real tree.
//!
//! An offline image is a Windows file system seen from a host that may compare names with case
//! (ext4) or without (NTFS, a Windows host). Windows names a file `Windows\INF\oem3.inf` whatever
//! its stored case, so every path infuse forms inside an image goes through [`resolve`]: existing
//! components are matched the way NTFS matches them (each UTF-16 unit upper-cased with the
//! simple, one-to-one Unicode mapping of its `$UpCase` table; characters outside the BMP are
//! compared as they are), components that do not exist yet are kept as written.
//!
//! Paths come from data (plans, INF destinations, hive values), so they are checked first
//! ([`check`]): `..`, `.`, absolute paths, drive letters, `:` streams, device names (CON, NUL,
//! COM1 …, with any extension), empty components, characters Windows refuses, and names ending
//! in a dot or blank (Windows strips those, so the name on disk would differ) are refused with a
//! typed [`PathError`]. **Invariant:** a resolved path never leaves the image root, also through
//! a symbolic link inside the image.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Why an image-relative path was refused or could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum PathError {
    #[error("image path is empty")]
    Empty,
    #[error("image path `{path}` is absolute; image paths are relative to the image root")]
    Absolute { path: String },
    #[error(
        "image path `{path}` names a drive (`{drive}`); image paths are relative to the image root"
    )]
    Drive { path: String, drive: String },
    #[error("image path `{path}` climbs out of its folder with `{component}`")]
    Parent { path: String, component: String },
    #[error("image path `{path}` has an empty component (`//` or a trailing `/`)")]
    EmptyComponent { path: String },
    #[error("image path `{path}` names an alternate data stream (`{component}`)")]
    Stream { path: String, component: String },
    #[error("image path `{path}` names the Windows device `{device}`")]
    Device { path: String, device: String },
    #[error(
        "image path `{path}`: `{component}` contains a character Windows does not allow in file names"
    )]
    BadCharacter { path: String, component: String },
    #[error(
        "image path `{path}`: `{component}` ends in a dot or blank, which Windows strips from file names"
    )]
    TrailingDotOrBlank { path: String, component: String },
    #[error(
        "image path `{path}`: {dir} holds several entries named `{component}` ignoring case ({names})\nhint: Windows cannot tell them apart; remove or rename all but one"
    )]
    Ambiguous {
        path: String,
        dir: PathBuf,
        component: String,
        names: String,
    },
    #[error(
        "image path `{path}` leads through the symbolic link {link} to {target}, outside the image {root}"
    )]
    Escapes {
        path: String,
        link: PathBuf,
        target: PathBuf,
        root: PathBuf,
    },
    #[error("image path `{path}`: cannot read {dir}")]
    Io {
        path: String,
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Check an image-relative, `/`-separated path and return its components.
pub fn check(path: &str) -> Result<Vec<&str>, PathError> {
    let owned = || path.to_owned();
    if path.is_empty() {
        return Err(PathError::Empty);
    }
    if path.starts_with(['/', '\\']) {
        return Err(PathError::Absolute { path: owned() });
    }
    let bytes = path.as_bytes();
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        return Err(PathError::Drive {
            path: owned(),
            drive: path[..2].to_owned(),
        });
    }
    let mut out = Vec::new();
    for comp in path.split('/') {
        check_component(path, comp)?;
        out.push(comp);
    }
    Ok(out)
}

fn check_component(path: &str, comp: &str) -> Result<(), PathError> {
    let err_comp = || comp.to_owned();
    if comp.is_empty() {
        return Err(PathError::EmptyComponent {
            path: path.to_owned(),
        });
    }
    if comp.chars().all(|c| c == '.') {
        return Err(PathError::Parent {
            path: path.to_owned(),
            component: err_comp(),
        });
    }
    if comp.contains(':') {
        return Err(PathError::Stream {
            path: path.to_owned(),
            component: err_comp(),
        });
    }
    // `\` is a separator to Windows: inside a `/`-separated component it would hide a second
    // component (or a `..`) from this check.
    if comp
        .chars()
        .any(|c| c < ' ' || matches!(c, '<' | '>' | '"' | '|' | '?' | '*' | '\\'))
    {
        return Err(PathError::BadCharacter {
            path: path.to_owned(),
            component: err_comp(),
        });
    }
    if comp.ends_with(['.', ' ']) {
        return Err(PathError::TrailingDotOrBlank {
            path: path.to_owned(),
            component: err_comp(),
        });
    }
    if let Some(device) = device_name(comp) {
        return Err(PathError::Device {
            path: path.to_owned(),
            device,
        });
    }
    Ok(())
}

/// The reserved device a file name stands for, if any: CON, PRN, AUX, NUL, CONIN$, CONOUT$,
/// COM1–9 and LPT1–9 (also with the superscript digits ¹²³ Windows accepts), with any extension
/// and blanks before it (`nul.txt`, `CON .log`).
fn device_name(comp: &str) -> Option<String> {
    let stem = comp.split('.').next().unwrap_or(comp).trim_end();
    let upper: String = stem.chars().map(simple_upper).collect();
    let fixed = matches!(
        upper.as_str(),
        "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$"
    );
    let numbered = (upper.starts_with("COM") || upper.starts_with("LPT")) && {
        let mut rest = upper[3..].chars();
        matches!(
            (rest.next(), rest.next()),
            (Some('1'..='9' | '¹' | '²' | '³'), None)
        )
    };
    (fixed || numbered).then_some(upper)
}

/// NTFS's upper-casing of one character: the simple (one-to-one) Unicode mapping for BMP
/// characters, identity for the rest (NTFS upper-cases UTF-16 units, and a surrogate maps to
/// itself).
pub fn simple_upper(c: char) -> char {
    if u32::from(c) > 0xFFFF {
        return c;
    }
    let mut up = c.to_uppercase();
    match (up.next(), up.next()) {
        (Some(u), None) if u32::from(u) <= 0xFFFF => u,
        // A multi-character full mapping (ß → SS) has no simple counterpart: NTFS keeps it.
        _ => c,
    }
}

/// Whether two names are the same file name to NTFS.
pub fn names_equal(a: &str, b: &str) -> bool {
    a.chars().map(simple_upper).eq(b.chars().map(simple_upper))
}

/// The key under which NTFS files a name: [`simple_upper`] of every character. Two names are
/// [`names_equal`] exactly when their keys are equal, so maps and sets of names use it.
pub fn fold(name: &str) -> String {
    name.chars().map(simple_upper).collect()
}

/// Resolve a checked image-relative path against the image root: each existing component is
/// replaced by its name on disk (matched case-insensitively, an exact match preferred), the
/// first missing one and everything after it are kept as written.
pub fn resolve(root: &Path, path: &str) -> Result<PathBuf, PathError> {
    let comps = check(path)?;
    let mut out = root.to_path_buf();
    let mut exists = true;
    let mut canonical_root: Option<PathBuf> = None;
    for comp in comps {
        if exists {
            match find_entry(&out, comp, path)? {
                Some(name) => {
                    out.push(name);
                    if out.is_symlink() {
                        check_link(root, &out, path, &mut canonical_root)?;
                    }
                    continue;
                }
                None => exists = false,
            }
        }
        out.push(comp);
    }
    Ok(out)
}

/// The entry of `dir` named `comp` ignoring case (an exact match preferred), or `None` when
/// there is none or `dir` is not a directory (the rest of the path is then kept as written and
/// the caller's file operation reports it).
fn find_entry(dir: &Path, comp: &str, path: &str) -> Result<Option<OsString>, PathError> {
    // An exact match wins anyway, so when the name exists as spelled the directory is not
    // listed: `System32` or `FileRepository` of a real image hold thousands of names, and
    // planning resolves paths through them once per package. (On a case-insensitive host the
    // stat also succeeds for another spelling, which then stays as the caller wrote it: the
    // same file there.)
    if std::fs::symlink_metadata(dir.join(comp)).is_ok() {
        return Ok(Some(OsString::from(comp)));
    }
    let mut entries = match matching_entries(dir, comp, path) {
        Ok(e) => e,
        Err(PathError::Io { source, .. })
            if matches!(
                source.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    if let Some(exact) = entries.iter().position(|n| n.to_str() == Some(comp)) {
        return Ok(Some(entries.swap_remove(exact)));
    }
    match entries.len() {
        0 => Ok(None),
        1 => Ok(entries.pop()),
        _ => {
            entries.sort();
            Err(PathError::Ambiguous {
                path: path.to_owned(),
                dir: dir.to_path_buf(),
                component: comp.to_owned(),
                names: entries
                    .iter()
                    .map(|n| n.to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
        }
    }
}

fn matching_entries(dir: &Path, comp: &str, path: &str) -> Result<Vec<OsString>, PathError> {
    let io = |source| PathError::Io {
        path: path.to_owned(),
        dir: dir.to_path_buf(),
        source,
    };
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let name = entry.map_err(io)?.file_name();
        // Names that are not UTF-8 cannot be spelled by an image path; they never match.
        if name.to_str().is_some_and(|n| names_equal(n, comp)) {
            out.push(name);
        }
    }
    Ok(out)
}

/// A symbolic link inside the image may point anywhere in it, never outside.
fn check_link(
    root: &Path,
    link: &Path,
    path: &str,
    canonical_root: &mut Option<PathBuf>,
) -> Result<(), PathError> {
    let io = |source| PathError::Io {
        path: path.to_owned(),
        dir: link.to_path_buf(),
        source,
    };
    if canonical_root.is_none() {
        *canonical_root = Some(std::fs::canonicalize(root).map_err(io)?);
    }
    let croot = canonical_root.as_deref().unwrap_or(root);
    let target = match std::fs::canonicalize(link) {
        Ok(t) => t,
        // A dangling link: where it points is still decided by its text.
        Err(_) => {
            let text = std::fs::read_link(link).map_err(io)?;
            let parent = link.parent().unwrap_or(root);
            lexical_join(&std::fs::canonicalize(parent).map_err(io)?, &text)
        }
    };
    if target.starts_with(croot) {
        Ok(())
    } else {
        Err(PathError::Escapes {
            path: path.to_owned(),
            link: link.to_path_buf(),
            target,
            root: root.to_path_buf(),
        })
    }
}

/// `base` joined with `rel` with `.`/`..` applied to the text (for dangling links).
fn lexical_join(base: &Path, rel: &Path) -> PathBuf {
    let mut out = if rel.is_absolute() {
        PathBuf::new()
    } else {
        base.to_path_buf()
    };
    for c in rel.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_paths_are_refused_with_their_kind() {
        let cases: &[(&str, &str)] = &[
            ("", "is empty"),
            ("/etc/passwd", "absolute"),
            ("\\Windows", "absolute"),
            ("C:/Windows", "names a drive (`C:`)"),
            ("c:", "names a drive"),
            ("Windows/../../etc", "climbs out"),
            ("..", "climbs out"),
            ("Windows/./INF", "climbs out"),
            ("Windows/...", "climbs out"),
            ("Windows//INF", "empty component"),
            ("Windows/INF/", "empty component"),
            ("Windows/INF/oem1.inf:evil", "alternate data stream"),
            ("Windows/CON", "device `CON`"),
            ("Windows/nul.txt", "device `NUL`"),
            ("Windows/Lpt1", "device `LPT1`"),
            ("Windows/com9.sys", "device `COM9`"),
            ("Windows/COM¹", "device `COM¹`"),
            ("Windows/con .log", "device `CON`"),
            ("Windows/conin$", "device `CONIN$`"),
            ("Windows/a\\..\\b", "character"),
            ("Windows/a|b", "character"),
            ("Windows/a\u{1}b", "character"),
            ("Windows/oem1.inf.", "ends in a dot"),
            ("Windows/oem1.inf ", "ends in a dot or blank"),
        ];
        for (input, expect) in cases {
            let err = check(input).expect_err(input).to_string();
            assert!(err.contains(expect), "{input:?}: {err}");
        }
        for ok in [
            "Windows",
            "Windows/System32/config/SYSTEM",
            "Windows/INF/oem0.inf",
            "Program Files/x",
            "Windows/COM10",
            "Windows/CONSOLE.dll",
            "Windows/.hidden",
            "Windows/LPT",
        ] {
            assert!(check(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn ntfs_upcase_is_simple_and_bmp_only() {
        assert!(names_equal("Windows", "WINDOWS"));
        assert!(names_equal("système32", "SYSTÈME32"));
        // ß has no simple upper-case mapping: NTFS keeps it, so it never equals "SS".
        assert!(!names_equal("straße", "STRASSE"));
        assert!(names_equal("straße", "STRAßE"));
        // Greek final sigma upper-cases to Σ like σ does.
        assert!(names_equal("ς", "σ"));
        // Outside the BMP nothing is folded (Deseret 𐐨 / 𐐀 differ on NTFS).
        assert!(!names_equal("\u{10428}", "\u{10400}"));
    }

    #[test]
    fn resolves_existing_components_case_insensitively() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        std::fs::create_dir_all(root.join("WINDOWS/system32/Config")).expect("mkdir");
        std::fs::write(root.join("WINDOWS/system32/Config/system"), b"x").expect("write");
        assert_eq!(
            resolve(root, "Windows/System32/config/SYSTEM").expect("resolves"),
            root.join("WINDOWS/system32/Config/system")
        );
        // Missing trailing components are kept as written.
        assert_eq!(
            resolve(root, "windows/INF/oem0.inf").expect("resolves"),
            root.join("WINDOWS/INF/oem0.inf")
        );
        // Below a file nothing exists: kept as written (the file operation reports it).
        assert_eq!(
            resolve(root, "Windows/System32/config/SYSTEM/x").expect("resolves"),
            root.join("WINDOWS/system32/Config/system/x")
        );
    }

    #[test]
    #[allow(clippy::print_stderr, reason = "a test says what it could not check")]
    fn two_names_differing_only_in_case_are_ambiguous_unless_one_is_exact() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        std::fs::create_dir_all(root.join("INF")).expect("mkdir");
        std::fs::create_dir_all(root.join("inf")).expect("mkdir");
        if std::fs::read_dir(root).expect("list").count() < 2 {
            eprintln!("case-insensitive host file system: ambiguity cannot arise here");
            return;
        }
        assert_eq!(resolve(root, "inf").expect("exact"), root.join("inf"));
        let err = resolve(root, "Inf/x").expect_err("ambiguous").to_string();
        assert!(err.contains("INF, inf"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn symbolic_links_may_not_leave_the_image() {
        let outside = tempfile::tempdir().expect("tempdir");
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        std::fs::create_dir_all(root.join("Users")).expect("mkdir");
        std::os::unix::fs::symlink(outside.path(), root.join("Evil")).expect("symlink");
        std::os::unix::fs::symlink("Users", root.join("Documents and Settings")).expect("symlink");
        std::os::unix::fs::symlink("../../nowhere", root.join("Dangling")).expect("symlink");
        let err = resolve(root, "evil/x").expect_err("escapes").to_string();
        assert!(err.contains("outside the image"), "{err}");
        assert!(resolve(root, "DOCUMENTS AND SETTINGS/x").is_ok());
        assert!(resolve(root, "dangling/x").is_err());
    }

    mod prop {
        use proptest::prelude::*;

        use super::super::*;

        fn component() -> impl Strategy<Value = String> {
            prop_oneof![
                Just("..".to_owned()),
                Just(".".to_owned()),
                Just(String::new()),
                Just("windows".to_owned()),
                Just("WINDOWS".to_owned()),
                Just("System32".to_owned()),
                Just("out".to_owned()),
                Just("C:".to_owned()),
                Just("nul".to_owned()),
                Just("a:b".to_owned()),
                Just("/".to_owned()),
                "[a-zA-Z0-9 ._$\\\\/:-]{1,8}",
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]
            /// Whatever the text, a resolved path is the root plus checked components, and its
            /// existing prefix canonicalizes inside the root (a symlink `out` points outside).
            #[test]
            fn resolved_paths_never_escape(parts in proptest::collection::vec(component(), 1..6)) {
                let dir = tempfile::tempdir().expect("tempdir");
                let root = dir.path();
                std::fs::create_dir_all(root.join("Windows/System32")).expect("mkdir");
                #[cfg(unix)]
                let outside = tempfile::tempdir().expect("tempdir");
                #[cfg(unix)]
                std::os::unix::fs::symlink(outside.path(), root.join("Windows/out")).expect("symlink");
                let text = parts.join("/");
                if let Ok(p) = resolve(root, &text) {
                    let rel = p.strip_prefix(root).expect("under the root");
                    for c in rel.components() {
                        prop_assert!(matches!(c, std::path::Component::Normal(_)), "{text:?} → {p:?}");
                    }
                    let croot = std::fs::canonicalize(root).expect("root");
                    let mut existing = p.as_path();
                    while !existing.exists() {
                        existing = existing.parent().expect("root exists");
                    }
                    let real = std::fs::canonicalize(existing).expect("canonical");
                    prop_assert!(real.starts_with(&croot), "{text:?} → {real:?}");
                }
            }
        }
    }
}
