//! `.reg` files (Windows Registry Editor Version 5.00): export a key tree, parse and merge one.
//!
//! Export writes what regedit writes: `[HKEY_…\path]` sections, `"name"="string"` for REG_SZ
//! whose data is a clean NUL-terminated string, `dword:xxxxxxxx` for 4-byte REG_DWORD, `hex:` for
//! REG_BINARY and `hex(N):` for every other type (N in hex, so types outside the documented
//! range survive), long hex lines wrapped with `\` as regedit wraps them.
//! Import also reads hivexregedit's `str(N):"…"` notation and `[-key]` / `"name"=-` deletions;
//! files may be UTF-8 (with or without BOM) or UTF-16LE with BOM, as regedit writes them.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::edit::Edit;
use super::error::{HiveError, Result};
use super::reader::{Hive, Key};
use super::value::{Value, ValueType, utf16z};

/// One operation of a `.reg` file, with the key path relative to the hive root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegOp {
    /// `[path]`: create the key.
    CreateKey {
        /// Key path relative to the hive root.
        path: String,
    },
    /// `[-path]`: delete the key and its subtree.
    DeleteKey {
        /// Key path relative to the hive root.
        path: String,
    },
    /// `"name"=data`: set a value.
    SetValue {
        /// Key path relative to the hive root.
        path: String,
        /// The value.
        value: Value,
    },
    /// `"name"=-`: delete a value.
    DeleteValue {
        /// Key path relative to the hive root.
        path: String,
        /// Value name.
        name: String,
    },
}

/// Export the subtree at `key_path` as `.reg` text, with key paths written under `prefix`
/// (e.g. `HKEY_LOCAL_MACHINE\SYSTEM`).
pub fn export(hive: &Hive, key_path: &str, prefix: &str) -> Result<String> {
    let start = hive.key(key_path)?;
    let mut out = String::from("Windows Registry Editor Version 5.00\r\n\r\n");
    let base: String = super::reader::split_path(key_path)
        .collect::<Vec<_>>()
        .join("\\");
    let mut stack = vec![(start, base, 0usize)];
    let mut seen = std::collections::HashSet::new();
    while let Some((k, path, depth)) = stack.pop() {
        if depth > super::reader::MAX_DEPTH {
            return Err(HiveError::corrupt(k.offset(), "keys nested too deep"));
        }
        if !seen.insert(k.offset()) {
            return Err(HiveError::corrupt(
                k.offset(),
                "key reached twice (a cycle in the key tree)",
            ));
        }
        export_key(&mut out, &k, &join(prefix, &path))?;
        let subs = k.subkeys()?;
        for c in subs.into_iter().rev() {
            let p = if path.is_empty() {
                c.name().to_string()
            } else {
                format!("{path}\\{}", c.name())
            };
            stack.push((c, p, depth + 1));
        }
    }
    Ok(out)
}

fn join(prefix: &str, path: &str) -> String {
    match (prefix.is_empty(), path.is_empty()) {
        (true, _) => format!("\\{path}"),
        (false, true) => prefix.to_string(),
        (false, false) => format!("{prefix}\\{path}"),
    }
}

fn export_key(out: &mut String, k: &Key<'_>, full: &str) -> Result<()> {
    let _ = write!(out, "[{full}]\r\n");
    for v in k.values()? {
        let name = if v.name.is_empty() {
            "@".to_string()
        } else {
            format!("\"{}\"", escape(&v.name))
        };
        let _ = write!(out, "{}\r\n", format_value(&name, &v));
    }
    out.push_str("\r\n");
    Ok(())
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// The `name=data` line (wrapped) for a value.
pub fn format_value(name: &str, v: &Value) -> String {
    if v.kind == ValueType::SZ
        && let Some(s) = clean_sz(&v.data)
    {
        return format!("{name}=\"{}\"", escape(&s));
    }
    if v.kind == ValueType::DWORD && v.data.len() == 4 {
        let d = u32::from_le_bytes([v.data[0], v.data[1], v.data[2], v.data[3]]);
        return format!("{name}=dword:{d:08x}");
    }
    let head = if v.kind == ValueType::BINARY {
        format!("{name}=hex:")
    } else {
        format!("{name}=hex({:x}):", v.kind.0)
    };
    let mut line = head;
    let mut col = line.len();
    for (i, b) in v.data.iter().enumerate() {
        let piece = if i + 1 < v.data.len() {
            format!("{b:02x},")
        } else {
            format!("{b:02x}")
        };
        if col + piece.len() > 79 && i + 1 < v.data.len() {
            line.push_str("\\\r\n  ");
            col = 2;
        }
        col += piece.len();
        line.push_str(&piece);
    }
    line
}

/// The string of REG_SZ data when it is exactly one NUL-terminated string without other NULs
/// or characters a `.reg` line cannot hold.
fn clean_sz(data: &[u8]) -> Option<String> {
    if data.len() < 2 || !data.len().is_multiple_of(2) {
        return None;
    }
    let units: Vec<u16> = data
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    let (last, body) = units.split_last()?;
    if *last != 0 || body.contains(&0) {
        return None;
    }
    let s = String::from_utf16(body).ok()?;
    (!s.contains(['\r', '\n'])).then_some(s)
}

/// Decode `.reg` file bytes (UTF-16LE with BOM, or UTF-8 with or without BOM).
pub fn decode_text(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16_lossy(&units)
    } else {
        let b = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
        String::from_utf8_lossy(b).into_owned()
    }
}

/// Parse `.reg` text into operations. Key paths must start with `prefix` (compared
/// case-insensitively), or with `\` for hive-relative paths; `prefix` `None` detects it from the
/// first key (`HKEY_LOCAL_MACHINE\X`, `HKEY_USERS\X`, or the root name alone).
pub fn parse(text: &str, prefix: Option<&str>, file: &Path) -> Result<Vec<RegOp>> {
    let err = |line: usize, msg: String| HiveError::RegSyntax {
        path: file.to_path_buf(),
        line,
        msg,
    };
    let mut ops = Vec::new();
    let mut prefix: Option<String> = prefix.map(|p| p.trim_end_matches('\\').to_string());
    let mut current: Option<String> = None;
    let mut lines = text.lines().enumerate().peekable();
    let mut first = true;
    while let Some((i, raw)) = lines.next() {
        let lno = i + 1;
        let mut line = raw.trim_end_matches('\r').to_string();
        if first {
            first = false;
            let t = line.trim();
            if t == "Windows Registry Editor Version 5.00" || t == "REGEDIT4" {
                continue;
            }
        }
        // Continuation lines end with a backslash (outside a quoted string in practice: hex data).
        while line.trim_end().ends_with('\\') && is_hex_line(&line) {
            let t = line.trim_end();
            line = t[..t.len() - 1].to_string();
            match lines.next() {
                Some((_, next)) => line.push_str(next.trim_end_matches('\r').trim_start()),
                None => break,
            }
        }
        let t = line.trim_start();
        if t.is_empty() || t.starts_with(';') {
            continue;
        }
        if let Some(rest) = t.strip_prefix('[') {
            let inner = rest
                .trim_end()
                .strip_suffix(']')
                .ok_or_else(|| err(lno, "a key line must end with `]`".into()))?;
            let (delete, full) = match inner.strip_prefix('-') {
                Some(f) => (true, f),
                None => (false, inner),
            };
            let path = strip_prefix(full, &mut prefix).ok_or_else(|| {
                err(lno, format!(
                    "key {full:?} is not under the prefix {:?}\nhint: pass --prefix with the part of the key paths that names the hive (e.g. 'HKEY_LOCAL_MACHINE\\SYSTEM')",
                    prefix.clone().unwrap_or_default()
                ))
            })?;
            if delete {
                ops.push(RegOp::DeleteKey { path });
                current = None;
            } else {
                ops.push(RegOp::CreateKey { path: path.clone() });
                current = Some(path);
            }
            continue;
        }
        let (name, rest) = parse_name(t)
            .ok_or_else(|| err(lno, "expected `\"name\"=…`, `@=…` or `[key]`".into()))?;
        let path = current.clone().ok_or_else(|| {
            err(
                lno,
                "a value line before any [key] line (or after a [-key] line)".into(),
            )
        })?;
        let rest = rest.trim();
        if rest == "-" {
            ops.push(RegOp::DeleteValue { path, name });
            continue;
        }
        let (kind, data) = parse_data(rest).map_err(|m| err(lno, m))?;
        ops.push(RegOp::SetValue {
            path,
            value: Value { name, kind, data },
        });
    }
    Ok(ops)
}

fn is_hex_line(line: &str) -> bool {
    parse_name(line.trim_start()).is_some_and(|(_, rest)| {
        let r = rest.trim_start();
        r.starts_with("hex")
    }) || line
        .trim_start()
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_hexdigit())
}

fn strip_prefix(full: &str, prefix: &mut Option<String>) -> Option<String> {
    if let Some(rel) = full.strip_prefix('\\') {
        return Some(rel.trim_end_matches('\\').to_string());
    }
    let parts: Vec<&str> = full.split('\\').filter(|p| !p.is_empty()).collect();
    if prefix.is_none() {
        let root = parts.first()?.to_ascii_uppercase();
        let n = if ["HKEY_LOCAL_MACHINE", "HKLM", "HKEY_USERS", "HKU"].contains(&root.as_str()) {
            2
        } else {
            1
        };
        *prefix = Some(parts.get(..n)?.join("\\"));
    }
    let p: Vec<String> = prefix
        .as_ref()?
        .split('\\')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if parts.len() < p.len()
        || parts
            .iter()
            .zip(&p)
            .any(|(a, b)| !a.eq_ignore_ascii_case(b))
    {
        return None;
    }
    Some(parts[p.len()..].join("\\"))
}

/// Split `"name"=rest` or `@=rest`.
fn parse_name(t: &str) -> Option<(String, &str)> {
    if let Some(rest) = t.strip_prefix('@') {
        return Some((String::new(), rest.trim_start().strip_prefix('=')?));
    }
    let (name, after) = parse_quoted(t)?;
    Some((name, after.trim_start().strip_prefix('=')?))
}

/// Parse a `"…"` string with `\\` and `\"` escapes; returns the string and what follows it.
fn parse_quoted(t: &str) -> Option<(String, &str)> {
    let body = t.strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, n)) => out.push(n),
                None => return None,
            },
            '"' => return Some((out, &body[i + 1..])),
            c => out.push(c),
        }
    }
    None
}

fn parse_data(rest: &str) -> std::result::Result<(ValueType, Vec<u8>), String> {
    if rest.starts_with('"') {
        let (s, after) = parse_quoted(rest).ok_or("unterminated string")?;
        if !after.trim().is_empty() {
            return Err(format!("unexpected text after the string: {after:?}"));
        }
        return Ok((ValueType::SZ, utf16z(&s)));
    }
    if let Some(h) = rest.strip_prefix("dword:") {
        let d = u32::from_str_radix(h.trim(), 16).map_err(|_| format!("bad dword {h:?}"))?;
        return Ok((ValueType::DWORD, d.to_le_bytes().to_vec()));
    }
    if let Some(h) = rest.strip_prefix("hex:") {
        return Ok((ValueType::BINARY, parse_hex(h)?));
    }
    for (tag, is_str) in [("hex(", false), ("str(", true)] {
        if let Some(r) = rest.strip_prefix(tag) {
            let (n, data) = r
                .split_once("):")
                .ok_or("expected `):` after the type number")?;
            let kind =
                u32::from_str_radix(n.trim(), 16).map_err(|_| format!("bad type number {n:?}"))?;
            let bytes = if is_str {
                let (s, _) = parse_quoted(data.trim()).ok_or("expected a quoted string")?;
                utf16z(&s)
            } else {
                parse_hex(data)?
            };
            return Ok((ValueType(kind), bytes));
        }
    }
    Err(format!("unknown value data {rest:?}"))
}

fn parse_hex(h: &str) -> std::result::Result<Vec<u8>, String> {
    h.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|b| u8::from_str_radix(b, 16).map_err(|_| format!("bad hex byte {b:?}")))
        .collect()
}

/// Apply parsed operations to an edit session.
pub fn apply(edit: &mut Edit<'_>, ops: &[RegOp]) -> Result<()> {
    for op in ops {
        match op {
            RegOp::CreateKey { path } => edit.create_key(path)?,
            RegOp::DeleteKey { path } => {
                edit.delete_key(path)?;
            }
            RegOp::SetValue { path, value } => {
                edit.set_value(path, &value.name, value.kind, value.data.clone())?
            }
            RegOp::DeleteValue { path, name } => {
                if edit.key_exists(path)? {
                    edit.delete_value(path, name)?;
                }
            }
        }
    }
    Ok(())
}

/// Read and parse a `.reg` file.
pub fn read(path: &Path, prefix: Option<&str>) -> Result<Vec<RegOp>> {
    let bytes = fs_err::read(path)?;
    parse(&decode_text(&bytes), prefix, path)
}

/// Placeholder path for text that did not come from a file.
pub fn memory_path() -> PathBuf {
    PathBuf::from("<memory>")
}
