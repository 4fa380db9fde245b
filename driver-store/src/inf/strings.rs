//! `%strkey%` substitution: the string table (`[Strings]` and its localized variants) and the
//! directory IDs that a numeric token names.

use super::lexer::{TokenText, Tokens};
use super::{CaseKey, NameMap, ParseOptions, Section, eq_folded, name_map};

/// Longest substituted string, in UTF-16 code units. Windows 10 1709 and later cap at
/// `MAX_INF_STRING_LENGTH` (4096); older Windows and Wine at 4097 (inf-behaviour.md C55).
pub const MAX_STRING_LEN: usize = 4096;

/// The strings a `%key%` token can name, in lookup order: `[Strings.LLLL]` for the requested
/// language, then `[Strings.00LL]` (its primary language alone), then `[Strings]`. The first
/// section that defines a key wins, and inside a section the first line does (Wine's
/// `get_string_subst`); a key missing from the localized section falls back to `[Strings]`.
/// The sections are merged into one map in that order (first definition wins), so a lookup
/// hashes its key once.
pub(crate) struct StringTable<'t> {
    map: NameMap<CaseKey<'t>, &'t str>,
}

impl<'t> StringTable<'t> {
    /// The table of the lexed file: `sections` as the lexer returned them, their lines in
    /// `tokens` (raw, unsubstituted), their text in `text`.
    pub(crate) fn new(
        sections: &[Section],
        tokens: &'t Tokens,
        text: TokenText<'t>,
        opts: &ParseOptions,
    ) -> Self {
        let mut names = Vec::with_capacity(3);
        if let Some(lang) = opts.language {
            names.push(format!("strings.{lang:04x}"));
            let primary = lang & 0x03FF;
            if primary != lang {
                names.push(format!("strings.{primary:04x}"));
            }
        }
        names.push("strings".to_owned());
        let mut map = name_map();
        for i in names
            .iter()
            .filter_map(|n| sections.iter().position(|s| eq_folded(&s.name, n)))
        {
            add_table(i, tokens, text, &mut map);
        }
        StringTable { map }
    }

    fn get(&self, key: &str) -> Option<&'t str> {
        if self.map.is_empty() {
            return None;
        }
        self.map.get(&CaseKey::new(key)).copied()
    }
}

/// Adds the raw (unsubstituted) values of one strings section (index `section`) by
/// case-insensitive key to `map`, keeping the keys it already has. A line without `=` and with
/// a single field is its own key and value (Wine's `close_current_line`).
fn add_table<'t>(
    section: usize,
    tokens: &'t Tokens,
    text: TokenText<'t>,
    map: &mut NameMap<CaseKey<'t>, &'t str>,
) {
    for line in tokens.lines.iter().filter(|l| l.section == section) {
        let fields = tokens.fields_of(line);
        let key = match (&line.key, fields) {
            (Some(k), _) => k,
            (None, [only]) => only,
            (None, _) => continue,
        };
        let Some(value) = fields.first() else {
            continue;
        };
        map.entry(CaseKey::new(text.get(key.clone())))
            .or_insert_with(|| text.get(value.clone()));
    }
}

/// Applies one pass of substitution to `text` (inf-behaviour.md C44–C61, H): `%%` → `%`,
/// `%key%` → its string, `%N%` → the DIRID's path when no string has that name, anything else
/// kept verbatim with both `%`. Expansions are not rescanned. The result is appended to `into`;
/// returns false, appending nothing, when `text` has no `%` (nothing to do).
pub(crate) fn substitute_into(
    text: &str,
    table: &StringTable<'_>,
    opts: &ParseOptions,
    into: &mut String,
) -> bool {
    let Some(first) = text.find('%') else {
        return false;
    };
    let mut out = Output {
        text: into,
        units: 0,
    };
    out.push(&text[..first]);
    let mut rest = &text[first..];
    // `rest` always starts with an opening `%` here.
    loop {
        let Some(close) = rest[1..].find('%').map(|i| i + 1) else {
            // An unterminated token is copied as it is (C48).
            out.push(rest);
            break;
        };
        let name = &rest[1..close];
        let after = &rest[close + 1..];
        if name.is_empty() {
            out.push("%");
        } else if let Some(value) = table.get(name) {
            out.push(value);
        } else if let Some(path) = dirid_path(name, opts) {
            // C58: a DIRID's own trailing backslash goes when a backslash follows.
            let path = if after.starts_with('\\') {
                path.strip_suffix('\\').unwrap_or(path.as_str())
            } else {
                path.as_str()
            };
            out.push(path);
        } else {
            out.push(&rest[..=close]);
        }
        match after.find('%') {
            Some(next) => {
                out.push(&after[..next]);
                rest = &after[next..];
            }
            None => {
                out.push(after);
                break;
            }
        }
    }
    true
}

/// Output capped at [`MAX_STRING_LEN`] UTF-16 code units (counted from where it starts).
struct Output<'s> {
    text: &'s mut String,
    units: usize,
}

impl Output<'_> {
    fn push(&mut self, s: &str) {
        if self.units + s.len() <= MAX_STRING_LEN {
            self.text.push_str(s);
            self.units += if s.is_ascii() {
                s.len()
            } else {
                s.encode_utf16().count()
            };
            return;
        }
        for c in s.chars() {
            if self.units + c.len_utf16() > MAX_STRING_LEN {
                return;
            }
            self.text.push(c);
            self.units += c.len_utf16();
        }
    }
}

/// The path of a numeric `%N%` token: parsed like C's `strtol(…, 10)` over the whole token (so
/// `%01%` is DIRID 1), zero is not a DIRID. `None` when the number is no known DIRID or DIRIDs
/// are not expanded.
fn dirid_path(name: &str, opts: &ParseOptions) -> Option<String> {
    if !opts.expand_dirids {
        return None;
    }
    let trimmed = name.trim_start_matches([' ', '\t', '\n', '\r', '\x0B', '\x0C']);
    let (neg, digits) = match trimmed.as_bytes().first() {
        Some(b'-') => (true, &trimmed[1..]),
        Some(b'+') => (false, &trimmed[1..]),
        _ => (false, trimmed),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let magnitude: i64 = digits.parse().ok()?;
    let id = if neg { -magnitude } else { magnitude };
    if id == 0 {
        return None;
    }
    dirid(id, opts)
}

/// Where Windows puts each system DIRID on a standard installation (`C:\Windows`).
fn dirid(id: i64, opts: &ParseOptions) -> Option<String> {
    let win = opts.windows_dir.as_str();
    let drive = win.get(..2).unwrap_or("C:");
    let path = match id {
        // DIRID_ABSOLUTE (-1) and its 16-bit form: an absolute path follows, nothing to insert.
        -1 | 65535 => String::new(),
        1 => return opts.source_dir.clone(),
        10 | 25 => win.to_owned(),
        11 => format!("{win}\\System32"),
        12 => format!("{win}\\System32\\drivers"),
        // Windows 10+: the package's own folder in the driver store
        // (FileRepository\<inf>_<arch>_<hash>), known only once it is installed.
        13 => return opts.package_dir.clone(),
        17 => format!("{win}\\INF"),
        18 => format!("{win}\\Help"),
        20 => format!("{win}\\Fonts"),
        21 => format!("{win}\\System32\\viewers"),
        23 => format!("{win}\\System32\\spool\\drivers\\color"),
        // C56: the system drive's root keeps its backslash.
        24 | 30 | 54 => format!("{drive}\\"),
        50 => format!("{win}\\system"),
        51 => format!("{win}\\System32\\spool"),
        52 => format!("{win}\\System32\\spool\\drivers"),
        53 => format!("{drive}\\Users\\Default"),
        55 => format!("{win}\\System32\\spool\\prtprocs\\x64"),
        16419 => format!("{drive}\\ProgramData"),
        16420 => win.to_owned(),
        16421 => format!("{win}\\System32"),
        16422 => format!("{drive}\\Program Files"),
        16425 => format!("{win}\\SysWOW64"),
        16426 => format!("{drive}\\Program Files (x86)"),
        16427 => format!("{drive}\\Program Files\\Common Files"),
        16428 => format!("{drive}\\Program Files (x86)\\Common Files"),
        _ => return None,
    };
    Some(path)
}
