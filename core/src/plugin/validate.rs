//! Checking what a plugin returns before anything uses it: decisions name existing candidates
//! once, strings and counts are bounded, edits name sane sections, hardware IDs, package files
//! and registry keys. A plugin's output is data from an untrusted party (DESIGN.md invariants).

use std::path::PathBuf;
use std::sync::Arc;

use infuse_driver_store::inf::model::paths;

use super::{Decision, Edit, PluginError, PluginInfo, ReasonedEdit, RegistryData, Verdict};

/// The longest reason, message or name kept from a plugin.
pub const MAX_TEXT: usize = 1024;
/// Edits per `transform` call, and lines or IDs per edit.
pub const MAX_EDITS: usize = 1000;
pub const MAX_ITEMS: usize = 1000;
/// The longest INF line an edit may insert (the parser's own line limit is far above).
pub const MAX_LINE: usize = 4096;
/// Windows' MAX_DEVICE_ID_LEN.
pub const MAX_DEVICE_ID: usize = 200;
/// Registry: key name component, value name, string data, binary data.
pub const MAX_KEY_COMPONENT: usize = 255;
pub const MAX_REG_DATA: usize = 64 * 1024;

/// A package handed to `transform`: its metadata and files (read on demand).
#[derive(Debug, Clone)]
pub struct PackageInput {
    pub id: String,
    /// The INF's path in the package (`/`-separated).
    pub inf_path: String,
    pub provider: String,
    pub class: String,
    /// `yyyy-mm-dd` and `w.x.y.z`, empty when the INF has no DriverVer.
    pub driver_date: String,
    pub driver_version: String,
    pub files: Vec<InputFile>,
}

/// One file of a [`PackageInput`].
#[derive(Debug, Clone)]
pub struct InputFile {
    /// `/`-separated, relative to the package root.
    pub path: String,
    pub size: u64,
    pub source: FileSource,
}

/// Where a file's bytes are.
#[derive(Debug, Clone)]
pub enum FileSource {
    Bytes(Arc<[u8]>),
    Path(PathBuf),
}

impl InputFile {
    pub fn read(&self) -> std::io::Result<Vec<u8>> {
        match &self.source {
            FileSource::Bytes(b) => Ok(b.to_vec()),
            FileSource::Path(p) => fs_err::read(p),
        }
    }
}

impl PackageInput {
    /// The file at `path` (`/` or `\` separated, compared case-insensitively as Windows does).
    pub fn file(&self, path: &str) -> Option<&InputFile> {
        let want = normalize_path(path).ok()?;
        self.files
            .iter()
            .find(|f| normalize_path(&f.path).is_ok_and(|p| p.eq_ignore_ascii_case(&want)))
    }
}

/// A package path checked (no `..`, absolute, drive, stream or device names) and written with
/// `/` separators.
pub fn normalize_path(path: &str) -> Result<String, String> {
    if path.len() > 260 {
        return Err(format!("path of {} bytes is longer than 260", path.len()));
    }
    let trimmed = path.trim();
    if trimmed.starts_with(['\\', '/']) {
        return Err(format!("`{path}` is an absolute path"));
    }
    let comps = paths::relative_dir(trimmed).map_err(|e| e.to_string())?;
    if comps.is_empty() {
        return Err(format!("`{path}` names no file"));
    }
    Ok(comps.join("/"))
}

/// `s` cut to [`MAX_TEXT`] bytes at a character boundary.
pub fn clip(s: &str) -> String {
    if s.len() <= MAX_TEXT {
        return s.to_owned();
    }
    let mut cut = MAX_TEXT;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…", &s[..cut])
}

fn invalid(plugin: &str, call: &'static str, why: String) -> PluginError {
    PluginError::InvalidOutput {
        plugin: plugin.to_owned(),
        call,
        why,
    }
}

fn text(what: &str, s: &str) -> Result<(), String> {
    if s.len() > MAX_TEXT {
        return Err(format!(
            "{what} is {} bytes long (at most {MAX_TEXT})",
            s.len()
        ));
    }
    if s.chars().any(|c| c.is_control() && c != '\t') {
        return Err(format!("{what} contains control characters"));
    }
    Ok(())
}

/// `describe`'s answer: bounded names.
pub fn plugin_info(plugin: &str, info: PluginInfo) -> Result<PluginInfo, PluginError> {
    let check = || -> Result<(), String> {
        text("name", &info.name)?;
        text("version", &info.version)?;
        text("api-version", &info.api_version)?;
        if info.vendors.providers.len() > MAX_ITEMS {
            return Err("more than 1000 providers".to_owned());
        }
        for p in &info.vendors.providers {
            text("provider", p)?;
        }
        Ok(())
    };
    check().map_err(|why| invalid(plugin, "describe", why))?;
    Ok(info)
}

/// `select`'s answer: each decision names one of the `n` candidates, at most once.
pub fn decisions(
    plugin: &str,
    decisions: Vec<Decision>,
    n: usize,
) -> Result<Vec<Decision>, PluginError> {
    let err = |why: String| invalid(plugin, "select", why);
    if decisions.len() > n {
        return Err(err(format!(
            "{} decisions for {n} candidates",
            decisions.len()
        )));
    }
    let mut seen = vec![false; n];
    for d in &decisions {
        let i = d.candidate as usize;
        if i >= n {
            return Err(err(format!(
                "decision for candidate {i}, but there are {n} candidates (ids 0 to {})",
                n.saturating_sub(1)
            )));
        }
        if std::mem::replace(&mut seen[i], true) {
            return Err(err(format!("two decisions for candidate {i}")));
        }
        match &d.verdict {
            Verdict::Keep => {}
            Verdict::Reject { reason }
            | Verdict::Prefer { reason }
            | Verdict::Adjust { reason, .. } => {
                text("a reason", reason).map_err(&err)?;
                if reason.trim().is_empty() {
                    return Err(err(format!(
                        "the decision for candidate {i} gives no reason"
                    )));
                }
            }
        }
    }
    Ok(decisions)
}

fn section_name(s: &str) -> Result<(), String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("empty section name".to_owned());
    }
    if t.len() > infuse_driver_store::inf::MAX_SECTION_NAME_LEN {
        return Err(format!("section name `{}` is too long", clip(t)));
    }
    if t.contains(['[', ']', '\r', '\n', '\0', ';', '"', '%']) {
        return Err(format!(
            "section name `{}` contains `[`, `]`, `;`, `\"`, `%` or a line break",
            clip(t)
        ));
    }
    Ok(())
}

fn inf_line(l: &str) -> Result<(), String> {
    if l.len() > MAX_LINE {
        return Err(format!("a line of {} bytes (at most {MAX_LINE})", l.len()));
    }
    if l.contains(['\r', '\n', '\0', '\u{1a}']) {
        return Err(format!(
            "line `{}` contains a line break, NUL or Ctrl-Z",
            clip(l)
        ));
    }
    if l.trim_start().starts_with('[') {
        return Err(format!("line `{}` would open a new section", clip(l)));
    }
    if l.trim_end().ends_with('\\') {
        return Err(format!(
            "line `{}` ends with `\\` and would continue onto the next line",
            clip(l)
        ));
    }
    Ok(())
}

fn hardware_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > MAX_DEVICE_ID {
        return Err(format!(
            "hardware ID `{}` is empty or longer than {MAX_DEVICE_ID}",
            clip(id)
        ));
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_graphic() && !matches!(b, b',' | b';' | b'"' | b'%' | b'='))
    {
        return Err(format!(
            "hardware ID `{}` has a character outside printable ASCII or one of , ; \" % = or a blank",
            clip(id)
        ));
    }
    Ok(())
}

fn registry(v: &super::RegistryValue) -> Result<(), String> {
    if !v.subkey.is_empty() {
        if v.subkey.len() > 512 {
            return Err("registry subkey longer than 512".to_owned());
        }
        for comp in v.subkey.split('\\') {
            if comp.is_empty() || comp.len() > MAX_KEY_COMPONENT {
                return Err(format!(
                    "registry subkey `{}` has an empty or over-long component (no leading, trailing or doubled `\\`)",
                    clip(&v.subkey)
                ));
            }
            if comp == "." || comp == ".." || comp.chars().any(char::is_control) {
                return Err(format!(
                    "registry subkey `{}` has a `.`/`..` or control-character component",
                    clip(&v.subkey)
                ));
            }
        }
    }
    if v.name.len() > MAX_KEY_COMPONENT || v.name.chars().any(char::is_control) {
        return Err(format!(
            "registry value name `{}` is too long or has control characters",
            clip(&v.name)
        ));
    }
    let size = match &v.data {
        RegistryData::Dword(_) | RegistryData::Qword(_) => 0,
        RegistryData::String(s) | RegistryData::ExpandString(s) => s.len(),
        RegistryData::MultiString(l) => {
            if l.iter().any(|s| s.is_empty() || s.contains('\0')) {
                return Err("a multi-string entry is empty or contains NUL".to_owned());
            }
            l.iter().map(|s| s.len() + 1).sum()
        }
        RegistryData::Binary(b) => b.len(),
    };
    if size > MAX_REG_DATA {
        return Err(format!(
            "registry data of {size} bytes (at most {MAX_REG_DATA})"
        ));
    }
    Ok(())
}

/// `transform`'s answer against the package it was given.
pub fn edits(
    plugin: &str,
    edits: Vec<ReasonedEdit>,
    package: &PackageInput,
) -> Result<Vec<ReasonedEdit>, PluginError> {
    let err = |i: usize, why: String| invalid(plugin, "transform", format!("edit {i}: {why}"));
    if edits.len() > MAX_EDITS {
        return Err(invalid(
            plugin,
            "transform",
            format!("{} edits (at most {MAX_EDITS})", edits.len()),
        ));
    }
    for (i, e) in edits.iter().enumerate() {
        text("the reason", &e.reason).map_err(|w| err(i, w))?;
        if e.reason.trim().is_empty() {
            return Err(err(i, "no reason given".to_owned()));
        }
        let check = || -> Result<(), String> {
            match &e.edit {
                Edit::AddHardwareIds { like, ids } => {
                    hardware_id(like)?;
                    if ids.is_empty() || ids.len() > MAX_ITEMS {
                        return Err(format!("{} hardware IDs (1 to {MAX_ITEMS})", ids.len()));
                    }
                    ids.iter().try_for_each(|id| hardware_id(id))
                }
                Edit::InsertLines { section, lines } => {
                    section_name(section)?;
                    if lines.len() > MAX_ITEMS {
                        return Err(format!("{} lines (at most {MAX_ITEMS})", lines.len()));
                    }
                    lines.iter().try_for_each(|l| inf_line(l))
                }
                Edit::RemoveLines { section, keys } => {
                    section_name(section)?;
                    if keys.is_empty() || keys.len() > MAX_ITEMS {
                        return Err(format!("{} keys (1 to {MAX_ITEMS})", keys.len()));
                    }
                    keys.iter().try_for_each(|k| {
                        inf_line(k)?;
                        if k.trim().is_empty() || k.contains('=') {
                            return Err(format!("key `{}` is empty or contains `=`", clip(k)));
                        }
                        Ok(())
                    })
                }
                Edit::DropFile { path } => {
                    let norm = normalize_path(path)?;
                    if package.file(&norm).is_none() {
                        return Err(format!("`{norm}` is not a file of package {}", package.id));
                    }
                    if norm.eq_ignore_ascii_case(&normalize_path(&package.inf_path)?) {
                        return Err("the INF itself cannot be dropped".to_owned());
                    }
                    Ok(())
                }
                Edit::DropSection { section } => {
                    section_name(section)?;
                    let lower = section.trim().to_ascii_lowercase();
                    if matches!(
                        lower.as_str(),
                        "version"
                            | "manufacturer"
                            | "strings"
                            | "sourcedisksnames"
                            | "sourcedisksfiles"
                    ) || lower.starts_with("strings.")
                        || lower.starts_with("sourcedisks")
                    {
                        return Err(format!(
                            "[{}] is a structural section and cannot be dropped",
                            section.trim()
                        ));
                    }
                    Ok(())
                }
                Edit::AddRegistry { value } => registry(value),
            }
        };
        check().map_err(|w| {
            invalid(
                plugin,
                "transform",
                format!("edit {i} ({}): {w}", super::transform::edit_name(&e.edit)),
            )
        })?;
    }
    Ok(edits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::RegistryValue;

    fn pkg() -> PackageInput {
        let f = |p: &str| InputFile {
            path: p.to_owned(),
            size: 3,
            source: FileSource::Bytes(Arc::from(&b"abc"[..])),
        };
        PackageInput {
            id: "e1d-1".into(),
            inf_path: "e1d.inf".into(),
            provider: "Intel".into(),
            class: "Net".into(),
            driver_date: String::new(),
            driver_version: String::new(),
            files: vec![f("e1d.inf"), f("x64/e1d.sys"), f("util/panel.exe")],
        }
    }

    fn edit(e: Edit) -> Vec<ReasonedEdit> {
        vec![ReasonedEdit {
            edit: e,
            reason: "because".into(),
        }]
    }

    fn why(e: Edit) -> String {
        match edits("p", edit(e), &pkg()) {
            Err(PluginError::InvalidOutput { why, .. }) => why,
            other => panic!("expected InvalidOutput, got {other:?}"),
        }
    }

    #[test]
    fn drop_file_paths_are_contained() {
        // DESIGN.md invariants: `..`, absolute, drive, stream and device names are refused.
        for bad in [
            "../../etc/passwd",
            "/etc/passwd",
            "\\\\server\\share\\x",
            "C:\\Windows\\x.sys",
            "e1d.sys:stream",
            "x64/CON",
            "x64/nul.txt",
            "x64/../../x",
        ] {
            let w = why(Edit::DropFile { path: bad.into() });
            assert!(!w.contains("not a file of package"), "{bad}: {w}");
        }
        assert!(
            why(Edit::DropFile {
                path: "x64/other.sys".into()
            })
            .contains("not a file of package")
        );
        assert!(
            why(Edit::DropFile {
                path: "E1D.INF".into()
            })
            .contains("INF itself")
        );
        // Case-insensitive and either separator, as Windows compares file names.
        assert!(
            edits(
                "p",
                edit(Edit::DropFile {
                    path: "UTIL\\Panel.exe".into()
                }),
                &pkg()
            )
            .is_ok()
        );
    }

    #[test]
    fn lines_ids_and_keys_are_bounded() {
        let ins = |l: &str| Edit::InsertLines {
            section: "e1d.NTamd64".into(),
            lines: vec![l.into()],
        };
        assert!(why(ins("a=b\r\n[Evil]")).contains("line break"));
        assert!(why(ins("[Evil]")).contains("new section"));
        assert!(why(ins("x = y \\")).contains("continue"));
        assert!(why(ins(&"x".repeat(MAX_LINE + 1))).contains("at most"));
        assert!(
            why(Edit::AddHardwareIds {
                like: "PCI\\VEN_8086".into(),
                ids: vec!["PCI\\VEN_8086, evil".into()]
            })
            .contains("hardware ID")
        );
        assert!(
            why(Edit::DropSection {
                section: "Version".into()
            })
            .contains("structural")
        );
        assert!(
            why(Edit::InsertLines {
                section: "a]b".into(),
                lines: vec![]
            })
            .contains("section name")
        );
        let reg = |subkey: &str| Edit::AddRegistry {
            value: RegistryValue {
                subkey: subkey.into(),
                name: "Foo".into(),
                data: RegistryData::Dword(1),
            },
        };
        assert!(why(reg("\\Machine")).contains("subkey"));
        assert!(why(reg("a\\..\\b")).contains("subkey"));
        assert!(edits("p", edit(reg("Parameters\\Tuning")), &pkg()).is_ok());
    }

    #[test]
    fn decisions_name_each_candidate_once() {
        let d = |c: u32, v: Verdict| Decision {
            candidate: c,
            verdict: v,
        };
        let keep = || Verdict::Keep;
        let rej = || Verdict::Reject {
            reason: "old".into(),
        };
        assert!(decisions("p", vec![d(0, keep()), d(1, rej())], 2).is_ok());
        let e = decisions("p", vec![d(2, keep())], 2).unwrap_err();
        assert!(e.to_string().contains("candidate 2"), "{e}");
        let e = decisions("p", vec![d(1, keep()), d(1, rej())], 2).unwrap_err();
        assert!(e.to_string().contains("two decisions"), "{e}");
        let e = decisions("p", vec![d(0, Verdict::Prefer { reason: " ".into() })], 2).unwrap_err();
        assert!(e.to_string().contains("no reason"), "{e}");
        let e = decisions(
            "p",
            vec![d(
                0,
                Verdict::Reject {
                    reason: "x".repeat(MAX_TEXT + 1),
                },
            )],
            1,
        )
        .unwrap_err();
        assert_eq!(e.kind(), "invalid_output");
    }
}
