//! Applying validated `transform` edits to a package: INF text edits, dropped files, registry
//! values written into the INF as `.HW` AddReg lines. The result is a new package: new INF bytes, the remaining files,
//! and a mark that its catalog no longer covers it (it must be re-signed; until then Windows
//! ranks it unsigned, windows-driver-internals.md §3.1).
//!
//! Edits work on the INF's physical lines, located through the real parser (the same line
//! numbers `infuse inf` reports), and are applied one at a time, re-parsing in between. The
//! edited INF must parse without any diagnostic the original did not have, and must still open
//! the way SetupAPI would; otherwise the whole transform is refused and the package stays as
//! it was.

use std::sync::Arc;

use infuse_driver_store::inf::model::Model;
use infuse_driver_store::inf::{self, Inf};
use infuse_driver_store::store::package::parse_options;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::validate::{FileSource, InputFile, PackageInput, normalize_path};
use super::{Edit, PluginError, ReasonedEdit, RegistryData, RegistryValue};

/// A package after plugin edits.
#[derive(Debug, Clone, Serialize)]
pub struct TransformedPackage {
    /// `<source id>+<sha256 prefix of the new INF>`: a new package, never the source's id.
    pub id: String,
    pub source_id: String,
    pub inf_path: String,
    #[serde(skip)]
    pub inf_bytes: Vec<u8>,
    /// The files of the new package (the INF among them, with the new bytes).
    #[serde(skip)]
    pub files: Vec<InputFile>,
    /// The `add-registry` values, each written into the edited INF as an AddReg line of the
    /// DDInstall `.HW` sections (HKR = the device's key), where the DriverDatabase records
    /// and Windows' install take them from.
    pub registry: Vec<RegistryValue>,
    /// Every edit applied, with the plugin and its reason.
    pub applied: Vec<AppliedEdit>,
    /// The INF or the file set changed: the package's catalog no longer covers it, so it must
    /// be re-signed and ranks as unsigned until it is.
    pub needs_resigning: bool,
}

/// One applied edit, for `--plan` and `--json`.
#[derive(Debug, Clone, Serialize)]
pub struct AppliedEdit {
    pub plugin: String,
    #[serde(flatten)]
    pub edit: ReasonedEdit,
    /// What it did: `added 1 models line after e1d.inf:57`, `removed 3 lines`, …
    pub effect: String,
}

/// Applies the edits of each plugin (in order) to `package`, whose INF bytes are `inf_bytes`.
/// Returns `None` when there is nothing to apply.
pub fn transform_package(
    package: &PackageInput,
    inf_bytes: &[u8],
    edits: &[(String, Vec<ReasonedEdit>)],
) -> Result<Option<TransformedPackage>, PluginError> {
    if edits.iter().all(|(_, e)| e.is_empty()) {
        return Ok(None);
    }
    let original = inf::parse_with(inf_bytes, &parse_options());
    let mut text = InfText::decode(inf_bytes);
    let mut files: Vec<InputFile> = package.files.clone();
    let mut registry = Vec::new();
    let mut applied = Vec::new();
    let mut changed = false;
    for (plugin, list) in edits {
        for (i, e) in list.iter().enumerate() {
            let fail = |why: String| PluginError::InvalidOutput {
                plugin: plugin.clone(),
                call: "transform",
                why: format!("edit {i} ({}): {why}", edit_name(&e.edit)),
            };
            let effect = match &e.edit {
                Edit::AddRegistry { value } => {
                    let effect = text.add_registry(plugin, value).map_err(&fail)?;
                    registry.push(value.clone());
                    changed = true;
                    effect
                }
                Edit::DropFile { path } => {
                    let norm = normalize_path(path).map_err(&fail)?;
                    let before = files.len();
                    files.retain(|f| {
                        normalize_path(&f.path).map_or(true, |p| !p.eq_ignore_ascii_case(&norm))
                    });
                    if files.len() == before {
                        return Err(fail(format!("`{norm}` is not a file of the package")));
                    }
                    let lines = text.drop_file(&norm);
                    changed = true;
                    format!("removed `{norm}` and {lines} INF line(s) naming it")
                }
                edit => {
                    let effect = text.apply(edit).map_err(&fail)?;
                    changed = true;
                    effect
                }
            };
            applied.push(AppliedEdit {
                plugin: plugin.clone(),
                edit: e.clone(),
                effect,
            });
        }
    }
    let new_bytes = text.encode().map_err(|why| PluginError::InvalidOutput {
        plugin: plugin_names(edits),
        call: "transform",
        why,
    })?;
    check_reparse(&original, &new_bytes).map_err(|why| PluginError::InvalidOutput {
        plugin: plugin_names(edits),
        call: "transform",
        why: format!("the edited {} {why}", package.inf_path),
    })?;
    let inf_norm = normalize_path(&package.inf_path).unwrap_or_else(|_| package.inf_path.clone());
    let shared: Arc<[u8]> = Arc::from(new_bytes.as_slice());
    for f in &mut files {
        if normalize_path(&f.path).is_ok_and(|p| p.eq_ignore_ascii_case(&inf_norm)) {
            f.size = shared.len() as u64;
            f.source = FileSource::Bytes(shared.clone());
        }
    }
    let digest = hex::encode(&Sha256::digest(&new_bytes)[..6]);
    Ok(Some(TransformedPackage {
        id: format!("{}+{digest}", package.id),
        source_id: package.id.clone(),
        inf_path: package.inf_path.clone(),
        inf_bytes: new_bytes,
        files,
        registry,
        applied,
        needs_resigning: changed,
    }))
}

fn plugin_names(edits: &[(String, Vec<ReasonedEdit>)]) -> String {
    edits
        .iter()
        .filter(|(_, e)| !e.is_empty())
        .map(|(p, _)| p.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The contract's name of an edit (`drop-file`, `add-registry`, …), for error messages.
pub(crate) fn edit_name(e: &Edit) -> &'static str {
    match e {
        Edit::AddHardwareIds { .. } => "add-hardware-ids",
        Edit::InsertLines { .. } => "insert-lines",
        Edit::RemoveLines { .. } => "remove-lines",
        Edit::DropFile { .. } => "drop-file",
        Edit::DropSection { .. } => "drop-section",
        Edit::AddRegistry { .. } => "add-registry",
    }
}

/// The edited INF opens as the original did and has no diagnostic the original lacked
/// (compared by message, since line numbers move).
fn check_reparse(original: &Inf, new_bytes: &[u8]) -> Result<(), String> {
    let edited = inf::parse_with(new_bytes, &parse_options());
    if let (None, Some(e)) = (&original.open_error, &edited.open_error) {
        return Err(format!("would no longer open: {e}"));
    }
    let old_model = Model::new(original);
    let new_model = Model::new(&edited);
    let known: Vec<&str> = original
        .diagnostics
        .iter()
        .chain(&old_model.diagnostics)
        .map(|d| d.message.as_str())
        .collect();
    let fresh: Vec<String> = edited
        .diagnostics
        .iter()
        .chain(&new_model.diagnostics)
        .filter(|d| !known.contains(&d.message.as_str()))
        .map(|d| format!("line {}: {}", d.line, d.message))
        .collect();
    if fresh.is_empty() {
        Ok(())
    } else {
        Err(format!("has new problems: {}", fresh.join("; ")))
    }
}

/// `FLG_ADDREG_TYPE_*` (learn.microsoft.com, "INF AddReg directive"); QWORD is
/// `FLG_ADDREG_BINVALUETYPE` with `REG_QWORD` (11) in the high word and the 8 bytes as hex.
const FLG_TYPE_SZ: u32 = 0x0000_0000;
const FLG_TYPE_MULTI_SZ: u32 = 0x0001_0000;
const FLG_TYPE_EXPAND_SZ: u32 = 0x0002_0000;
const FLG_TYPE_BINARY: u32 = 0x0000_0001;
const FLG_TYPE_DWORD: u32 = 0x0001_0001;
const FLG_TYPE_QWORD: u32 = 0x000B_0001;

/// One add-registry-section line for `v` under HKR. Text fields are quoted, with `"` doubled
/// and `%` doubled (inf-behaviour.md: `""` inside a quoted run is a literal quote, `%%` is a
/// literal `%`; quotes keep commas, `;` and blanks literal), so a value cannot add fields,
/// comments or string substitutions.
fn addreg_line(v: &RegistryValue) -> String {
    fn q(s: &str) -> String {
        format!("\"{}\"", s.replace('"', "\"\"").replace('%', "%%"))
    }
    fn hex(b: &[u8]) -> String {
        b.iter()
            .map(|x| format!("{x:02x}"))
            .collect::<Vec<_>>()
            .join(",")
    }
    let subkey = if v.subkey.is_empty() {
        String::new()
    } else {
        q(&v.subkey)
    };
    let name = if v.name.is_empty() {
        String::new()
    } else {
        q(&v.name)
    };
    let (flags, data) = match &v.data {
        RegistryData::Dword(n) => (FLG_TYPE_DWORD, format!("{n:#010x}")),
        RegistryData::Qword(n) => (FLG_TYPE_QWORD, hex(&n.to_le_bytes())),
        RegistryData::String(s) => (FLG_TYPE_SZ, q(s)),
        RegistryData::ExpandString(s) => (FLG_TYPE_EXPAND_SZ, q(s)),
        RegistryData::MultiString(l) => (
            FLG_TYPE_MULTI_SZ,
            l.iter().map(|s| q(s)).collect::<Vec<_>>().join(","),
        ),
        RegistryData::Binary(b) => (FLG_TYPE_BINARY, hex(b)),
    };
    format!("HKR,{subkey},{name},{flags:#010x},{data}")
}

/// How the INF was encoded, so the edited one is written the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Utf16Le,
    Utf8Bom,
    /// ANSI, read as Windows-1252 (which round-trips every byte it maps).
    Ansi,
}

/// An INF as physical lines (line breaks removed), edited in place.
struct InfText {
    lines: Vec<String>,
    eol: &'static str,
    encoding: Encoding,
}

/// Directives whose fields name sections (inf-behaviour.md; the `Include`/`Needs` pair names
/// other INFs' sections and is left alone, as the WIT documents).
const SECTION_LIST_KEYS: &[&str] = &[
    "copyfiles",
    "addreg",
    "delreg",
    "renfiles",
    "delfiles",
    "bitreg",
    "updateinis",
    "updateinifields",
    "ini2reg",
    "addproperty",
    "delproperty",
    "addpowersetting",
];

impl InfText {
    fn decode(bytes: &[u8]) -> InfText {
        let (encoding, text) = if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
            let (t, _) = encoding_rs::UTF_16LE.decode_without_bom_handling(rest);
            (Encoding::Utf16Le, t.into_owned())
        } else if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
            (
                Encoding::Utf8Bom,
                String::from_utf8_lossy(rest).into_owned(),
            )
        } else {
            let (t, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes);
            (Encoding::Ansi, t.into_owned())
        };
        let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
        let lines = text
            .split('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l).to_owned())
            .collect();
        InfText {
            lines,
            eol,
            encoding,
        }
    }

    fn encode(&self) -> Result<Vec<u8>, String> {
        let text = self.lines.join(self.eol);
        Ok(match self.encoding {
            Encoding::Utf16Le => {
                let mut out = vec![0xFF, 0xFE];
                for u in text.encode_utf16() {
                    out.extend_from_slice(&u.to_le_bytes());
                }
                out
            }
            Encoding::Utf8Bom => {
                let mut out = vec![0xEF, 0xBB, 0xBF];
                out.extend_from_slice(text.as_bytes());
                out
            }
            Encoding::Ansi => {
                let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(&text);
                if unmappable {
                    return Err(
                        "an edit adds characters the INF's ANSI encoding cannot hold".to_owned(),
                    );
                }
                bytes.into_owned()
            }
        })
    }

    fn parse(&self) -> Inf {
        // Encoding is irrelevant to line numbers: parse the text as UTF-8 with a BOM.
        let mut bytes = vec![0xEF, 0xBB, 0xBF];
        bytes.extend_from_slice(self.lines.join(self.eol).as_bytes());
        inf::parse_with(&bytes, &parse_options())
    }

    /// The section a header line opens (`[name]`), if it is one.
    fn header(line: &str) -> Option<&str> {
        let t = line.trim_start();
        let rest = t.strip_prefix('[')?;
        Some(rest[..rest.find(']')?].trim())
    }

    /// Physical line ranges (start of body, end exclusive) of every occurrence of `section`.
    fn bodies(&self, section: &str) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut open: Option<usize> = None;
        for (i, l) in self.lines.iter().enumerate() {
            if let Some(name) = Self::header(l) {
                if let Some(s) = open.take() {
                    out.push((s, i));
                }
                if name.eq_ignore_ascii_case(section) {
                    open = Some(i + 1);
                }
            }
        }
        if let Some(s) = open {
            out.push((s, self.lines.len()));
        }
        out
    }

    /// The key of a raw line (left of `=`, unquoted, trimmed), if it has one.
    fn raw_key(line: &str) -> Option<String> {
        let code = line.split(';').next().unwrap_or("");
        let (k, _) = code.split_once('=')?;
        Some(k.trim().trim_matches('"').to_owned())
    }

    fn apply(&mut self, e: &Edit) -> Result<String, String> {
        match e {
            Edit::AddHardwareIds { like, ids } => self.add_hardware_ids(like, ids),
            Edit::InsertLines { section, lines } => Ok(self.insert_lines(section, lines)),
            Edit::RemoveLines { section, keys } => self.remove_lines(section, keys),
            Edit::DropSection { section } => self.drop_section(section),
            Edit::DropFile { .. } | Edit::AddRegistry { .. } => Ok(String::new()),
        }
    }

    /// An `add-registry` value as INF text: one line `HKR,<subkey>,<name>,<FLG_ADDREG_TYPE_*>,
    /// <data>` in the AddReg section `<plugin>.AddReg` (created on first use), which every
    /// DDInstall's `.HW` section names in an `AddReg` directive (the `.HW` section created when
    /// absent). HKR of a `.HW` AddReg is the device's hardware key, the key the contract
    /// promises; the DriverDatabase records (`Configurations\<install>\Device`) and Windows'
    /// own install both read it from there.
    fn add_registry(&mut self, plugin: &str, v: &RegistryValue) -> Result<String, String> {
        let inf = self.parse();
        let model = Model::new(&inf);
        let mut installs: Vec<String> = Vec::new();
        for n in model.nodes() {
            if let Some(sec) = n.install.and_then(|i| i.section.clone())
                && !installs.iter().any(|s| s.eq_ignore_ascii_case(&sec))
            {
                installs.push(sec);
            }
        }
        if installs.is_empty() {
            return Err(
                "the package has no DDInstall section to attach a registry value to".into(),
            );
        }
        let section = format!("{plugin}.AddReg");
        let line = addreg_line(v);
        self.insert_lines(&section, std::slice::from_ref(&line));
        let mut hw = Vec::new();
        for install in &installs {
            let hw_section = format!("{install}.HW");
            let names = self.section_names("AddReg", &hw_section);
            if !names.iter().any(|n| n.eq_ignore_ascii_case(&section)) {
                self.insert_lines(&hw_section, &[format!("AddReg = {section}")]);
            }
            hw.push(format!("[{hw_section}]"));
        }
        Ok(format!(
            "`{line}` in [{section}], named by {}",
            hw.join(", ")
        ))
    }

    /// The section names listed by the `key` directives of `section` (every occurrence).
    fn section_names(&self, key: &str, section: &str) -> Vec<String> {
        let mut out = Vec::new();
        for (start, end) in self.bodies(section) {
            for l in &self.lines[start..end] {
                if Self::raw_key(l).is_some_and(|k| k.eq_ignore_ascii_case(key)) {
                    let code = l.split(';').next().unwrap_or("");
                    if let Some((_, v)) = code.split_once('=') {
                        out.extend(v.split(',').map(|x| x.trim().trim_matches('"').to_owned()));
                    }
                }
            }
        }
        out
    }

    fn add_hardware_ids(&mut self, like: &str, ids: &[String]) -> Result<String, String> {
        let inf = self.parse();
        let model = Model::new(&inf);
        let mut targets: Vec<usize> = model
            .nodes()
            .filter(|n| n.entry.hardware_id.eq_ignore_ascii_case(like))
            .map(|n| n.entry.line as usize)
            .collect();
        targets.sort_unstable();
        targets.dedup();
        if targets.is_empty() {
            return Err(format!("no models line has the hardware ID `{like}`"));
        }
        let like_lower = like.to_ascii_lowercase();
        // Bottom-up so earlier line numbers stay valid.
        for &line in targets.iter().rev() {
            let idx = line - 1;
            let raw = self
                .lines
                .get(idx)
                .ok_or_else(|| format!("models line {line} is past the end"))?
                .clone();
            if raw.trim_end().ends_with('\\') {
                return Err(format!(
                    "models line {line} continues onto the next line; not edited"
                ));
            }
            let eq = raw
                .find('=')
                .ok_or_else(|| format!("models line {line} has no `=`"))?;
            let at = raw[eq..]
                .to_ascii_lowercase()
                .find(&like_lower)
                .map(|p| eq + p)
                .ok_or_else(|| format!("models line {line} does not spell `{like}` literally"))?;
            let copies: Vec<String> = ids
                .iter()
                .map(|id| format!("{}{id}{}", &raw[..at], &raw[at + like.len()..]))
                .collect();
            self.lines.splice(idx + 1..idx + 1, copies);
        }
        Ok(format!(
            "added {} models line(s) after line(s) {}",
            targets.len() * ids.len(),
            targets
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }

    fn insert_lines(&mut self, section: &str, lines: &[String]) -> String {
        let section = section.trim();
        match self.bodies(section).last() {
            Some(&(start, end)) => {
                // After the section's last non-blank line.
                let mut at = end;
                while at > start && self.lines[at - 1].trim().is_empty() {
                    at -= 1;
                }
                self.lines.splice(at..at, lines.iter().cloned());
                format!("inserted {} line(s) into [{section}]", lines.len())
            }
            None => {
                while self.lines.last().is_some_and(|l| l.trim().is_empty()) {
                    self.lines.pop();
                }
                self.lines.push(String::new());
                self.lines.push(format!("[{section}]"));
                self.lines.extend(lines.iter().cloned());
                self.lines.push(String::new());
                format!("created [{section}] with {} line(s)", lines.len())
            }
        }
    }

    fn remove_lines(&mut self, section: &str, keys: &[String]) -> Result<String, String> {
        let section = section.trim();
        let bodies = self.bodies(section);
        if bodies.is_empty() {
            return Err(format!("there is no [{section}] section"));
        }
        let mut drop = Vec::new();
        for (start, end) in bodies {
            for i in start..end {
                let hit = Self::raw_key(&self.lines[i])
                    .is_some_and(|k| keys.iter().any(|want| want.trim().eq_ignore_ascii_case(&k)));
                if hit {
                    drop.push(i);
                }
            }
        }
        let n = drop.len();
        self.remove(&drop);
        Ok(format!("removed {n} line(s) from [{section}]"))
    }

    /// Removes physical lines (and the continuation lines that follow each).
    fn remove(&mut self, idx: &[usize]) {
        let mut all: Vec<usize> = Vec::new();
        for &i in idx {
            let mut j = i;
            all.push(j);
            while self.lines[j].trim_end().ends_with('\\') && j + 1 < self.lines.len() {
                j += 1;
                all.push(j);
            }
        }
        all.sort_unstable();
        all.dedup();
        for i in all.into_iter().rev() {
            self.lines.remove(i);
        }
    }

    fn drop_section(&mut self, section: &str) -> Result<String, String> {
        let section = section.trim();
        let inf = self.parse();
        let model = Model::new(&inf);
        for n in model.nodes() {
            if n.models.section.eq_ignore_ascii_case(section) {
                return Err(format!("[{section}] is a Models section"));
            }
            if n.entry
                .install_section
                .as_deref()
                .is_some_and(|s| s.eq_ignore_ascii_case(section))
            {
                return Err(format!(
                    "[{section}] is the install section of models line {}",
                    n.entry.line
                ));
            }
        }
        let bodies = self.bodies(section);
        if bodies.is_empty() {
            return Err(format!("there is no [{section}] section"));
        }
        // References first (they sit in other sections), then the section itself.
        let mut rewritten = 0;
        let mut emptied = Vec::new();
        for i in 0..self.lines.len() {
            let line = &self.lines[i];
            let Some(key) = Self::raw_key(line) else {
                continue;
            };
            if !SECTION_LIST_KEYS.contains(&key.to_ascii_lowercase().as_str()) {
                continue;
            }
            let (left, right) = line.split_once('=').unwrap_or((line, ""));
            let (values, comment) = match right.find(';') {
                Some(c) => (&right[..c], &right[c..]),
                None => (right, ""),
            };
            let parts: Vec<&str> = values.split(',').map(str::trim).collect();
            let kept: Vec<&str> = parts
                .iter()
                .copied()
                .filter(|p| !p.trim_matches('"').eq_ignore_ascii_case(section))
                .collect();
            if kept.len() == parts.len() {
                continue;
            }
            rewritten += 1;
            if kept.iter().all(|p| p.is_empty()) {
                emptied.push(i);
            } else {
                self.lines[i] = format!("{}= {}{comment}", left, kept.join(","));
            }
        }
        self.remove(&emptied);
        let bodies = self.bodies(section);
        let mut gone = 0;
        for &(start, end) in bodies.iter().rev() {
            gone += end - start + 1;
            self.lines.drain(start - 1..end);
        }
        Ok(format!(
            "removed [{section}] ({gone} line(s)) and {rewritten} directive(s) naming it"
        ))
    }

    /// Removes every INF line that names `path` as a package file: its `SourceDisksFiles`
    /// entries and the file-list lines (or `@file` directives) that copy it.
    fn drop_file(&mut self, path: &str) -> usize {
        let inf = self.parse();
        let model = Model::new(&inf);
        let name = path.rsplit('/').next().unwrap_or(path);
        let mut drop: Vec<usize> = Vec::new();
        let mut at_refs: Vec<usize> = Vec::new();
        for f in model.files() {
            if !f.source_path().eq_ignore_ascii_case(path) {
                continue;
            }
            let idx = f.line as usize - 1;
            match self.lines.get(idx) {
                Some(l) if l.contains('@') && Self::raw_key(l).is_some() => at_refs.push(idx),
                Some(_) => drop.push(idx),
                None => {}
            }
        }
        for s in inf.sections.iter().filter(|s| {
            s.name()
                .to_ascii_lowercase()
                .starts_with("sourcedisksfiles")
        }) {
            for (start, end) in self.bodies(s.name()) {
                for i in start..end {
                    if Self::raw_key(&self.lines[i]).is_some_and(|k| k.eq_ignore_ascii_case(name)) {
                        drop.push(i);
                    }
                }
            }
        }
        // `CopyFiles = @x.sys, other` keeps the other entries.
        for i in at_refs {
            let line = self.lines[i].clone();
            let (left, right) = line.split_once('=').unwrap_or((&line, ""));
            let parts: Vec<&str> = right.split(',').map(str::trim).collect();
            let kept: Vec<&str> = parts
                .iter()
                .copied()
                .filter(|p| !p.trim_start_matches('@').eq_ignore_ascii_case(name))
                .collect();
            if kept.is_empty() {
                drop.push(i);
            } else {
                self.lines[i] = format!("{}= {}", left, kept.join(","));
            }
        }
        drop.sort_unstable();
        drop.dedup();
        let n = drop.len();
        self.remove(&drop);
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::RegistryData;

    const INF: &str = "[Version]\r\nSignature=\"$Windows NT$\"\r\nClass=Net\r\nClassGuid={4d36e972-e325-11ce-bfc1-08002be10318}\r\nProvider=%Contoso%\r\nCatalogFile=cnet.cat\r\nDriverVer=01/02/2024,2.0.0.0\r\n\r\n[Manufacturer]\r\n%Contoso%=Contoso,NTamd64\r\n\r\n[Contoso.NTamd64]\r\n%Dev.Desc%=Install, PCI\\VEN_8086&DEV_15B8&SUBSYS_86721043\r\n\r\n[Install.NTamd64]\r\nCopyFiles=Drv.Copy, Panel.Copy\r\nAddReg=Panel.Reg\r\n\r\n[Drv.Copy]\r\ncnet.sys\r\n\r\n[Panel.Copy]\r\npanel.exe\r\n\r\n[Panel.Reg]\r\nHKR,,Panel,,1\r\n\r\n[DestinationDirs]\r\nDefaultDestDir=12\r\n\r\n[SourceDisksNames]\r\n1=%Disk%\r\n\r\n[SourceDisksFiles]\r\ncnet.sys=1\r\npanel.exe=1\r\n\r\n[Strings]\r\nContoso=\"Contoso, Ltd.\"\r\nDev.Desc=\"Contoso Net\"\r\nDisk=\"Disk 1\"\r\n";

    fn pkg() -> PackageInput {
        let f = |p: &str, b: &[u8]| InputFile {
            path: p.to_owned(),
            size: b.len() as u64,
            source: FileSource::Bytes(Arc::from(b)),
        };
        PackageInput {
            id: "cnet-1".into(),
            inf_path: "cnet.inf".into(),
            provider: "Contoso, Ltd.".into(),
            class: "Net".into(),
            driver_date: "2024-01-02".into(),
            driver_version: "2.0.0.0".into(),
            files: vec![
                f("cnet.inf", INF.as_bytes()),
                f("cnet.sys", b"sys"),
                f("panel.exe", b"exe"),
                f("cnet.cat", b"cat"),
            ],
        }
    }

    fn run(edits: Vec<Edit>) -> Result<TransformedPackage, PluginError> {
        let list = edits
            .into_iter()
            .map(|edit| ReasonedEdit {
                edit,
                reason: "test".into(),
            })
            .collect();
        transform_package(&pkg(), INF.as_bytes(), &[("p".to_owned(), list)])
            .map(|t| t.expect("edits were given"))
    }

    fn text(t: &TransformedPackage) -> String {
        String::from_utf8(t.inf_bytes.clone()).unwrap()
    }

    #[test]
    fn add_hardware_ids_duplicates_the_models_line() {
        let t = run(vec![Edit::AddHardwareIds {
            like: "pci\\ven_8086&dev_15b8&subsys_86721043".into(),
            ids: vec!["PCI\\VEN_8086&DEV_15B8&SUBSYS_87001043".into()],
        }])
        .unwrap();
        let edited = inf::parse_with(&t.inf_bytes, &parse_options());
        let model = Model::new(&edited);
        let ids: Vec<(String, Option<String>)> = model
            .nodes()
            .map(|n| (n.entry.hardware_id.clone(), n.entry.install_section.clone()))
            .collect();
        assert_eq!(
            ids,
            vec![
                (
                    "PCI\\VEN_8086&DEV_15B8&SUBSYS_86721043".to_owned(),
                    Some("Install".to_owned())
                ),
                (
                    "PCI\\VEN_8086&DEV_15B8&SUBSYS_87001043".to_owned(),
                    Some("Install".to_owned())
                ),
            ]
        );
        assert!(t.needs_resigning);
        assert!(t.id.starts_with("cnet-1+"));
        // CRLF kept, nothing else changed.
        assert_eq!(text(&t).lines().count(), INF.lines().count() + 1);
        assert!(text(&t).contains("SUBSYS_87001043\r\n"));
        let unknown = run(vec![Edit::AddHardwareIds {
            like: "PCI\\VEN_8086&DEV_0000".into(),
            ids: vec!["PCI\\X".into()],
        }])
        .unwrap_err();
        assert!(unknown.to_string().contains("no models line"), "{unknown}");
    }

    #[test]
    fn drop_section_removes_every_reference() {
        let t = run(vec![
            Edit::DropSection {
                section: "Panel.Copy".into(),
            },
            Edit::DropSection {
                section: "panel.reg".into(),
            },
            Edit::DropFile {
                path: "panel.exe".into(),
            },
        ])
        .unwrap();
        let s = text(&t);
        assert!(!s.to_ascii_lowercase().contains("panel"), "{s}");
        assert!(s.contains("CopyFiles= Drv.Copy\r\n"), "{s}");
        assert!(!s.contains("AddReg"), "{s}");
        assert_eq!(
            t.files.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(),
            ["cnet.inf", "cnet.sys", "cnet.cat"]
        );
        // The new INF is in the file list with its new bytes.
        assert_eq!(t.files[0].read().unwrap(), t.inf_bytes);
        // The install section of a node or a Models section cannot go.
        let e = run(vec![Edit::DropSection {
            section: "Install".into(),
        }]);
        assert!(e.is_err());
        let e = run(vec![Edit::DropSection {
            section: "Contoso.NTamd64".into(),
        }])
        .unwrap_err();
        assert!(e.to_string().contains("Models section"), "{e}");
    }

    #[test]
    fn insert_and_remove_lines() {
        let t = run(vec![
            Edit::InsertLines {
                section: "Install.NTamd64".into(),
                lines: vec!["Characteristics=0x84".into()],
            },
            Edit::RemoveLines {
                section: "install.ntamd64".into(),
                keys: vec!["AddReg".into()],
            },
            Edit::InsertLines {
                section: "Install.NTamd64.HW".into(),
                lines: vec!["AddReg=Panel.Reg".into()],
            },
        ])
        .unwrap();
        let s = text(&t);
        assert!(
            s.contains("CopyFiles=Drv.Copy, Panel.Copy\r\nCharacteristics=0x84\r\n\r\n[Drv.Copy]"),
            "{s}"
        );
        assert!(
            s.ends_with("[Install.NTamd64.HW]\r\nAddReg=Panel.Reg\r\n"),
            "{s}"
        );
        let e = run(vec![Edit::RemoveLines {
            section: "Nowhere".into(),
            keys: vec!["x".into()],
        }])
        .unwrap_err();
        assert!(e.to_string().contains("no [Nowhere]"), "{e}");
    }

    #[test]
    fn an_edit_that_breaks_the_inf_is_refused() {
        // A service whose install section does not exist is a new model diagnostic.
        let e = run(vec![Edit::InsertLines {
            section: "Install.NTamd64.Services".into(),
            lines: vec!["AddService=cnet,2,Svc".into()],
        }])
        .unwrap_err();
        assert!(e.to_string().contains("[Svc] not found"), "{e}");
        // Removing [Version]'s Signature makes the INF unopenable.
        let e = run(vec![Edit::RemoveLines {
            section: "Version".into(),
            keys: vec!["Signature".into()],
        }])
        .unwrap_err();
        assert!(e.to_string().contains("would no longer open"), "{e}");
    }

    /// Each `add-registry` type written as an AddReg line of the `.HW` section reads back, through
    /// the INF model's AddReg reader, as the value the plugin asked for (the reader follows
    /// SetupAPI: FLG_ADDREG_TYPE_* in field 4, data from field 5; quotes, `""` and `%%` as
    /// inf-behaviour.md rows 20, 24 and 46 say).
    #[test]
    fn add_registry_becomes_a_hw_addreg_that_reads_back() {
        use infuse_driver_store::inf::model::{RegAction, RegData, RegRoot, install_registry};
        let values = [
            ("", "Slim", RegistryData::Dword(0x2a), RegData::Dword(0x2a)),
            (
                "Parameters\\Tuning",
                "Big",
                RegistryData::Qword(0x0102_0304_0506_0708),
                RegData::Binary {
                    kind: 11,
                    bytes: 0x0102_0304_0506_0708u64.to_le_bytes().to_vec(),
                },
            ),
            (
                "Parameters",
                "Note",
                RegistryData::String("a \"quoted\", 100% ; not a comment".into()),
                RegData::String {
                    kind: 1,
                    text: "a \"quoted\", 100% ; not a comment".into(),
                },
            ),
            (
                "",
                "Path",
                RegistryData::ExpandString("%SystemRoot%\\x".into()),
                RegData::String {
                    kind: 2,
                    text: "%SystemRoot%\\x".into(),
                },
            ),
            (
                "",
                "List",
                RegistryData::MultiString(vec!["one".into(), "two, three".into()]),
                RegData::MultiString(vec!["one".into(), "two, three".into()]),
            ),
            (
                "",
                "Blob",
                RegistryData::Binary(vec![0, 0xff, 0x10]),
                RegData::Binary {
                    kind: 3,
                    bytes: vec![0, 0xff, 0x10],
                },
            ),
        ];
        let t = run(values
            .iter()
            .map(|(subkey, name, data, _)| Edit::AddRegistry {
                value: RegistryValue {
                    subkey: (*subkey).into(),
                    name: (*name).into(),
                    data: data.clone(),
                },
            })
            .collect())
        .unwrap();
        assert!(
            t.needs_resigning,
            "the INF changed: its catalog no longer covers it"
        );
        assert_eq!(t.registry.len(), values.len());
        let edited = inf::parse_with(&t.inf_bytes, &parse_options());
        let model = Model::new(&edited);
        let node = model.nodes().next().expect("a node");
        let mut diags = Vec::new();
        let reg = install_registry(&edited, node.install.expect("install"), &mut diags);
        assert!(diags.is_empty(), "{diags:?}");
        let got: Vec<(String, String, RegData)> = reg
            .hw
            .iter()
            .map(|e| {
                assert_eq!(e.root, RegRoot::Hkr);
                match &e.action {
                    RegAction::Set(d) => (e.subkey.clone(), e.value_name.clone(), d.clone()),
                    other => panic!("{other:?}"),
                }
            })
            .collect();
        let want: Vec<(String, String, RegData)> = values
            .iter()
            .map(|(s, n, _, d)| ((*s).to_owned(), (*n).to_owned(), d.clone()))
            .collect();
        assert_eq!(got, want, "{}", text(&t));
        // The .HW section was created and names the plugin's section once.
        assert_eq!(
            text(&t).matches("AddReg = p.AddReg").count(),
            1,
            "{}",
            text(&t)
        );
        // The DDInstall's own AddReg (the driver key) is untouched.
        assert_eq!(reg.driver.len(), 1);

        let mut utf16 = vec![0xFF, 0xFE];
        for u in INF.encode_utf16() {
            utf16.extend_from_slice(&u.to_le_bytes());
        }
        let list = vec![ReasonedEdit {
            edit: Edit::AddHardwareIds {
                like: "PCI\\VEN_8086&DEV_15B8&SUBSYS_86721043".into(),
                ids: vec!["PCI\\VEN_8086&DEV_15B8&SUBSYS_87001043".into()],
            },
            reason: "new SKU".into(),
        }];
        let t = transform_package(&pkg(), &utf16, &[("p".into(), list)])
            .unwrap()
            .unwrap();
        assert_eq!(&t.inf_bytes[..2], &[0xFF, 0xFE]);
        let reparsed = inf::parse_with(&t.inf_bytes, &parse_options());
        assert_eq!(Model::new(&reparsed).nodes().count(), 2);
    }
}
