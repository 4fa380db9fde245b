//! INF files as Windows' SetupAPI reads them.
//!
//! The lexical layer turns bytes into [`Inf`]: sections (duplicates merged at the first
//! position) of lines, each with an optional key and its fields after string substitution and
//! quote removal, exactly as `SetupGetStringField` returns them. It never fails: problems become
//! [`Diagnostic`]s with a line number, and what `SetupOpenInfFile` would have refused is kept in
//! [`Inf::open_error`].
//!
//! It runs in three steps, one file each:
//! - `decode`: bytes → text (UTF-16LE/BE, UTF-8, ANSI; Ctrl-Z ends the file, NUL is a blank);
//! - `lexer`: text → sections of lines of raw tokens (Wine's `parser.c` state machine);
//! - `strings`: one pass of `%strkey%` / `%%` / `%DIRID%` substitution over keys and fields, with
//!   the string table chosen by [`ParseOptions::language`].
//!
//! The facts it implements are in `reference/inf-behaviour.md` (sections A–H); the tests cite
//! them case by case. Nothing here does IO, so it builds for `wasm32-wasip2`.

use std::borrow::Cow;
use std::sync::Arc;

use encoding_rs::Encoding;
use serde::Serialize;
use serde::ser::{SerializeSeq, SerializeStruct};

mod decode;
mod lexer;
mod strings;

pub use decode::TextEncoding;
pub use lexer::{MAX_FIELD_LEN, MAX_SECTION_NAME_LEN};
pub use strings::MAX_STRING_LEN;

/// A parsed INF file: sections in file order, plus what the parser noticed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Inf {
    pub sections: Vec<Section>,
    #[serde(skip)]
    pub diagnostics: Vec<Diagnostic>,
    /// What `SetupOpenInfFile(INF_STYLE_WIN4)` would fail with, if anything (the first error;
    /// the parse carries on past it and every problem is also a [`Diagnostic`]).
    #[serde(skip)]
    pub open_error: Option<OpenError>,
    /// How the bytes were decoded.
    #[serde(skip)]
    pub encoding: TextEncoding,
}

/// One section; `name` as written in the file (lookups are case-insensitive).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Section {
    pub name: String,
    pub lines: Vec<Line>,
    /// 1-based line of the first header of this section.
    #[serde(skip)]
    pub line: u32,
}

/// One logical line (continuations joined): its key ([`Line::key`]), its values
/// ([`Line::fields`]) and where it starts ([`Line::number`]).
///
/// The text of every line of a file lives in one buffer the lines share, so a parse allocates a
/// few times per file and per section instead of once per key and field.
#[derive(Clone, Default)]
pub struct Line {
    text: Arc<LineText>,
    /// The line's spans in `text.spans`: the key's first when `has_key`, then the values.
    spans: std::ops::Range<usize>,
    has_key: bool,
    /// 1-based physical line number where the logical line starts.
    line: u32,
}

/// The substituted keys and values of a file's lines, back to back, and their byte ranges.
#[derive(Default)]
struct LineText {
    text: String,
    spans: Vec<Span>,
}

/// Byte range of one key or value in [`LineText::text`].
#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
}

impl LineText {
    #[inline]
    fn get(&self, span: &Span) -> &str {
        self.text.get(span.start..span.end).unwrap_or_default()
    }
}

/// Something the parser noticed; never fatal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// 1-based line number, 0 when it concerns the whole file.
    pub line: u32,
    pub message: String,
}

/// Why `SetupOpenInfFile(INF_STYLE_WIN4)` would refuse the file (inf-behaviour.md A).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// No `[Version]` section with a `Signature` of `$Chicago$`, `$Windows NT$` or `$Windows 95$`.
    #[error(
        "no [Version] signature $Chicago$, $Windows NT$ or $Windows 95$: windows refuses this file (ERROR_WRONG_INF_STYLE)"
    )]
    WrongInfStyle,
    /// A `[` without its `]` on the same line.
    #[error(
        "section name without closing `]`: windows refuses this file (ERROR_BAD_SECTION_NAME_LINE)"
    )]
    BadSectionNameLine { line: u32 },
    /// A section name over [`MAX_SECTION_NAME_LEN`] characters.
    #[error(
        "section name longer than 255 characters: windows refuses this file (ERROR_SECTION_NAME_TOO_LONG)"
    )]
    SectionNameTooLong { line: u32 },
    /// Text before the first section in a file without a `[Strings]` section.
    #[error(
        "text before the first section: windows refuses this file (ERROR_EXPECTED_SECTION_NAME)\nhint: comment it out with `;`"
    )]
    ExpectedSectionName { line: u32 },
}

impl OpenError {
    /// The line Windows reports with the error (0 for the whole file).
    pub fn line(&self) -> u32 {
        match *self {
            OpenError::WrongInfStyle => 0,
            OpenError::BadSectionNameLine { line }
            | OpenError::SectionNameTooLong { line }
            | OpenError::ExpectedSectionName { line } => line,
        }
    }
}

/// Choices a caller can make about how the file is read.
#[derive(Debug, Clone)]
pub struct ParseOptions {
    /// Language whose `[Strings.LLLL]` section is preferred (e.g. `0x0409`); then
    /// `[Strings.00LL]` (primary language only), then `[Strings]`. `None`: only `[Strings]`.
    pub language: Option<u16>,
    /// Code page of files without a byte-order mark that are not UTF-16 (Windows uses the
    /// system's ANSI code page; `encoding_rs::UTF_8` models a system set to code page 65001).
    pub ansi: &'static Encoding,
    /// Expand `%N%` directory IDs (`%12%` → `C:\Windows\System32\drivers`) as
    /// `SetupGetStringField` does. When false they stay as written (`%12%`), which is what a
    /// caller that resolves DIRIDs itself wants.
    pub expand_dirids: bool,
    /// The Windows directory DIRIDs expand under.
    pub windows_dir: String,
    /// The INF's own directory (DIRID 1, `%01%`); unexpanded when `None`.
    pub source_dir: Option<String>,
    /// The package's driver-store folder (DIRID 13, Windows 10 and later:
    /// `…\DriverStore\FileRepository\<inf>_<arch>_<hash>`); unexpanded when `None`.
    pub package_dir: Option<String>,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            language: Some(0x0409),
            ansi: encoding_rs::WINDOWS_1252,
            expand_dirids: true,
            windows_dir: "C:\\Windows".to_owned(),
            source_dir: None,
            package_dir: None,
        }
    }
}

/// Parses an INF file with the default options (US English strings, Windows-1252, DIRIDs
/// expanded under `C:\Windows`). Never fails and never panics.
pub fn parse(bytes: &[u8]) -> Inf {
    parse_with(bytes, &ParseOptions::default())
}

/// Parses an INF file. Never fails and never panics.
pub fn parse_with(bytes: &[u8], opts: &ParseOptions) -> Inf {
    let mut scratch = SCRATCH.try_with(|s| s.take()).unwrap_or_default();
    let decoded = decode::decode(bytes, opts.ansi);
    let mut diagnostics = Vec::new();
    if decoded.odd_utf16 {
        diagnostics.push(Diagnostic {
            line: 0,
            message: "utf-16 file with an odd number of bytes: its last byte is ignored".into(),
        });
    }
    if decoded.malformed {
        diagnostics.push(Diagnostic {
            line: 0,
            message: format!(
                "bytes that are not valid {} were replaced by U+FFFD",
                match decoded.encoding {
                    TextEncoding::Utf16LeBom | TextEncoding::Utf16Le => "utf-16le",
                    TextEncoding::Utf16BeBom => "utf-16be",
                    TextEncoding::Utf8Bom => "utf-8",
                    TextEncoding::Ansi => opts.ansi.name(),
                }
            ),
        });
    }
    if decoded.encoding == TextEncoding::Utf16Le {
        diagnostics.push(Diagnostic {
            line: 0,
            message: "no byte-order mark: read as utf-16le because RtlIsTextUnicode says so, as windows does".into(),
        });
    }
    if decoded.cr_only {
        diagnostics.push(Diagnostic {
            line: 0,
            message: "lines end with CR only: read CR as the line end (windows reads such a file as one line)".into(),
        });
    }
    let lexed = lexer::lex(&decoded.text, &mut scratch.tokens);
    let encoding = decoded.encoding;
    diagnostics.extend(lexed.diagnostics);
    let mut sections = lexed.sections;
    let open_error = lexed.open_error;
    let has_strings = sections
        .iter()
        .any(|s| s.name.eq_ignore_ascii_case("strings"));
    // Text before the first section (inf-behaviour.md A18–A35) is an error only in a file
    // without a [Strings] section; either way the lines are skipped and reported.
    let expected_section = match lexed.broken_line {
        Some(line) if has_strings => {
            diagnostics.push(Diagnostic {
                line,
                message: "text before the first section ignored (windows tolerates it because the file has a [Strings] section)".into(),
            });
            None
        }
        Some(line) => {
            let e = OpenError::ExpectedSectionName { line };
            diagnostics.push(Diagnostic {
                line,
                message: e.to_string(),
            });
            Some(e)
        }
        None => None,
    };

    build_lines(&mut sections, decoded.text, &scratch.tokens, opts);
    if scratch.tokens.extra.capacity() <= SCRATCH_KEEP_BYTES
        && scratch.tokens.fields.capacity() <= SCRATCH_KEEP_ITEMS
        && scratch.tokens.lines.capacity() <= SCRATCH_KEEP_ITEMS
    {
        // Ignoring the error: during thread teardown the buffers are simply dropped.
        let _ = SCRATCH.try_with(|s| s.replace(scratch));
    }

    let mut inf = Inf {
        sections,
        diagnostics,
        open_error,
        encoding,
    };
    // Which error Windows reports first: the tokenizer's (it stops there), then a missing
    // signature (A1: a file of garbage without [Version] is ERROR_WRONG_INF_STYLE, not
    // ERROR_EXPECTED_SECTION_NAME), then text before the first section (A18).
    if !inf.has_signature() {
        inf.diagnostics.push(Diagnostic {
            line: 0,
            message: OpenError::WrongInfStyle.to_string(),
        });
        inf.open_error.get_or_insert(OpenError::WrongInfStyle);
    }
    if let Some(e) = expected_section {
        inf.open_error.get_or_insert(e);
    }
    inf
}

thread_local! {
    /// Buffers reused by the next parse on this thread.
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::default();
}

/// The lexer's tokens of the last parse, kept for their buffers.
#[derive(Default)]
struct Scratch {
    tokens: lexer::Tokens,
}

/// Largest scratch buffers kept between parses (a hostile file should not pin its memory).
const SCRATCH_KEEP_BYTES: usize = 16 << 20;
const SCRATCH_KEEP_ITEMS: usize = 1 << 20;

/// Fills the sections' lines from the lexed tokens: one pass of substitution over each key and
/// field (inf-behaviour.md C44–C61). The lexed `text`, with the tokens' extra text appended,
/// becomes the lines' shared text as it is; a token with a `%` gets its substituted text
/// appended to it instead.
fn build_lines(
    sections: &mut [Section],
    mut text: String,
    tokens: &lexer::Tokens,
    opts: &ParseOptions,
) {
    let mut counts = vec![0usize; sections.len()];
    for line in &tokens.lines {
        if let Some(c) = counts.get_mut(line.section) {
            *c += 1;
        }
    }
    for (section, count) in sections.iter_mut().zip(counts) {
        section.lines = Vec::with_capacity(count);
    }
    let mut spans = Vec::with_capacity(tokens.fields.len() + tokens.lines.len());
    // Substituted texts, appended to the arena once the string table no longer borrows it,
    // and the spans that point into them.
    let mut substituted = String::new();
    let mut moved = Vec::new();
    {
        let view = tokens.view(&text);
        let table = strings::StringTable::new(sections, tokens, view, opts);
        let base = text.len();
        let mut in_text = Percents::new(&text);
        let mut in_extra = Percents::new(&tokens.extra);
        let mut span = |range: &std::ops::Range<usize>| {
            let start = substituted.len();
            let percent = if range.start < base {
                in_text.any_in(range)
            } else {
                in_extra.any_in(&(range.start - base..range.end.saturating_sub(base)))
            };
            if percent
                && strings::substitute_into(view.get(range.clone()), &table, opts, &mut substituted)
            {
                moved.push(spans.len());
                spans.push(Span {
                    start,
                    end: substituted.len(),
                });
            } else {
                spans.push(Span {
                    start: range.start,
                    end: range.end,
                });
            }
        };
        for raw in &tokens.lines {
            if raw.section >= sections.len() {
                continue;
            }
            if let Some(key) = &raw.key {
                span(key);
            }
            for field in tokens.fields_of(raw) {
                span(field);
            }
        }
    }
    text.reserve_exact(tokens.extra.len() + substituted.len());
    text.push_str(&tokens.extra);
    let base = text.len();
    text.push_str(&substituted);
    for i in moved {
        if let Some(s) = spans.get_mut(i) {
            s.start += base;
            s.end += base;
        }
    }
    let text = Arc::new(LineText { text, spans });
    let mut next = 0;
    for raw in &tokens.lines {
        let Some(section) = sections.get_mut(raw.section) else {
            continue;
        };
        let has_key = raw.key.is_some();
        let end = next + usize::from(has_key) + raw.fields.len();
        section.lines.push(Line {
            text: Arc::clone(&text),
            spans: next..end,
            has_key,
            line: raw.line,
        });
        next = end;
    }
}

/// Answers "does this token hold a `%`" for tokens of one buffer asked about in order, with one
/// `memchr` pass over the whole buffer instead of a scan per token.
struct Percents<'t> {
    arena: &'t str,
    /// The first `%` at or after `searched`, or the arena's length.
    next: usize,
    searched: usize,
}

impl<'t> Percents<'t> {
    fn new(arena: &'t str) -> Self {
        Percents {
            arena,
            next: memchr::memchr(b'%', arena.as_bytes()).unwrap_or(arena.len()),
            searched: 0,
        }
    }

    fn any_in(&mut self, range: &std::ops::Range<usize>) -> bool {
        if range.start < self.searched {
            // Out of order (never, as the lexer writes tokens in order): plain scan.
            let text = self.arena.get(range.clone()).unwrap_or_default();
            return text.contains('%');
        }
        if self.next < range.start {
            let rest = self.arena.as_bytes().get(range.start..).unwrap_or_default();
            self.next = range.start + memchr::memchr(b'%', rest).unwrap_or(rest.len());
            self.searched = range.start;
        }
        self.next < range.end
    }
}

impl Inf {
    /// The section named `name`, compared case-insensitively (inf-behaviour.md B2, H).
    pub fn section(&self, name: &str) -> Option<&Section> {
        let folded = fold_case(name);
        self.sections.iter().find(|s| eq_folded(&s.name, &folded))
    }

    /// Sections whose name starts with `prefix`, compared case-insensitively, in file order
    /// (e.g. `"Strings."` for the localized string tables, `"Models."` for decorations).
    pub fn sections_with_prefix<'a>(&'a self, prefix: &str) -> impl Iterator<Item = &'a Section> {
        let prefix = fold_case(prefix).into_owned();
        self.sections.iter().filter(move |s| {
            s.name
                .get(..prefix.len())
                .is_some_and(|head| eq_folded(head, &prefix))
        })
    }

    /// Field 1 of the first line keyed `key` in `section` (both case-insensitive), like
    /// `SetupFindFirstLine` + `SetupGetStringField(…, 1)`.
    pub fn value(&self, section: &str, key: &str) -> Option<&str> {
        self.section(section)?.find(key)?.field(1)
    }

    /// Whether `[Version]` has a `Signature` Windows accepts (inf-behaviour.md A0–A9, H).
    pub fn has_signature(&self) -> bool {
        self.section("Version")
            .and_then(|s| s.find("Signature"))
            .and_then(|l| l.field(1))
            .is_some_and(|sig| {
                ["$chicago$", "$windows nt$", "$windows 95$"]
                    .iter()
                    .any(|ok| sig.eq_ignore_ascii_case(ok))
            })
    }
}

impl Section {
    /// The name as written in the file (the first header's spelling when the section is
    /// repeated; lookups are case-insensitive).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The lines in file order (a repeated section's lines follow its first header's).
    pub fn lines(&self) -> &[Line] {
        &self.lines
    }

    /// 1-based physical line of the first header of this section.
    pub fn number(&self) -> u32 {
        self.line
    }

    /// The first line keyed `key` (case-insensitive), like `SetupFindFirstLine`. A line without
    /// `=` that has a single field is keyed by that field (inf-behaviour.md C2).
    pub fn find(&self, key: &str) -> Option<&Line> {
        self.find_all(key).next()
    }

    /// Every line keyed `key` (case-insensitive), in order.
    pub fn find_all<'a>(&'a self, key: &str) -> impl Iterator<Item = &'a Line> {
        let folded = fold_case(key).into_owned();
        self.lines
            .iter()
            .filter(move |l| l.field(0).is_some_and(|k| eq_folded(k, &folded)))
    }
}

impl Line {
    /// The text left of `=` after substitution, `None` when the line has no `=`.
    pub fn key(&self) -> Option<&str> {
        if !self.has_key {
            return None;
        }
        let span = self.text.spans.get(self.spans.start)?;
        Some(self.text.get(span))
    }

    /// The values after substitution and quote removal, 0-based (`fields().get(0)` is
    /// [`Line::field`]`(1)`); a line without `=` has its whole text as its one value. Never
    /// empty: a line has at least one value.
    pub fn fields(&self) -> Fields<'_> {
        let first = self.spans.start + usize::from(self.has_key);
        Fields {
            text: &self.text,
            spans: self
                .text
                .spans
                .get(first..self.spans.end)
                .unwrap_or_default()
                .iter(),
        }
    }

    /// 1-based physical line number where the logical line starts.
    pub fn number(&self) -> u32 {
        self.line
    }

    /// Field `n` as `SetupGetStringField` numbers them: 0 is the key (for a line without `=`
    /// that has exactly one field, that field: inf-behaviour.md C2), 1.. are the values.
    pub fn field(&self, n: usize) -> Option<&str> {
        match n {
            0 => match self.key() {
                Some(k) => Some(k),
                None => {
                    let fields = self.fields();
                    if fields.len() == 1 {
                        fields.first()
                    } else {
                        None
                    }
                }
            },
            n => self.fields().get(n - 1),
        }
    }

    /// The values from field `n` on (1-based), e.g. a models line's compatible IDs.
    pub fn fields_from(&self, n: usize) -> Fields<'_> {
        let mut fields = self.fields();
        if n > 1 {
            fields.nth(n - 2);
        }
        fields
    }

    /// `SetupGetIntField`: decimal, `0x` hex or leading-`0` octal (C `strtol` base 0) over the
    /// whole field; an empty field reads as 0; anything else is `None` (inf-behaviour.md D).
    pub fn int_field(&self, n: usize) -> Option<i32> {
        let text = self.field(n)?;
        if text.is_empty() {
            return Some(0);
        }
        let t = text.trim_start_matches([' ', '\t']);
        let (neg, t) = match t.as_bytes().first() {
            Some(b'-') => (true, &t[1..]),
            Some(b'+') => (false, &t[1..]),
            _ => (false, t),
        };
        let (radix, digits) = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X"))
        {
            (16, h)
        } else if t.len() > 1 && t.starts_with('0') {
            (8, &t[1..])
        } else {
            (10, t)
        };
        if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
            return None;
        }
        let magnitude = i64::from_str_radix(digits, radix).unwrap_or(i64::MAX);
        let value = if neg { -magnitude } else { magnitude };
        // strtol saturates at LONG_MIN/LONG_MAX (32-bit on Windows).
        Some(value.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32)
    }

    /// `SetupGetBinaryField`: every field from `n` on read as one hex byte (optional `0x`, any
    /// case, leading zeros allowed); `None` when one is not hex or does not fit a byte
    /// (inf-behaviour.md D).
    pub fn binary_field(&self, n: usize) -> Option<Vec<u8>> {
        if n == 0 {
            return None;
        }
        self.fields_from(n)
            .map(|f| {
                let digits = f
                    .strip_prefix("0x")
                    .or_else(|| f.strip_prefix("0X"))
                    .unwrap_or(f);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return None;
                }
                let v = u32::from_str_radix(digits, 16).unwrap_or(u32::MAX);
                u8::try_from(v).ok()
            })
            .collect()
    }

    /// `SetupGetLineText`: the fields joined with `,`.
    pub fn text(&self) -> String {
        let mut text = String::new();
        for (i, f) in self.fields().enumerate() {
            if i > 0 {
                text.push(',');
            }
            text.push_str(f);
        }
        text
    }
}

/// The values of a [`Line`], in order, as `&str` (see [`Line::fields`]).
#[derive(Clone)]
pub struct Fields<'a> {
    text: &'a LineText,
    spans: std::slice::Iter<'a, Span>,
}

impl<'a> Fields<'a> {
    /// Value `i` (0-based) of those not yet iterated.
    pub fn get(&self, i: usize) -> Option<&'a str> {
        let text = self.text;
        self.spans.as_slice().get(i).map(|s| text.get(s))
    }

    /// The first value not yet iterated.
    pub fn first(&self) -> Option<&'a str> {
        self.get(0)
    }

    /// How many values are left.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether every value has been iterated.
    pub fn is_empty(&self) -> bool {
        self.spans.len() == 0
    }

    /// The values not yet iterated, as a new iterator (what `.iter()` on the slice of values
    /// this type replaces gave).
    pub fn iter(&self) -> Fields<'a> {
        self.clone()
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = &'a str;

    #[inline]
    fn next(&mut self) -> Option<&'a str> {
        let text = self.text;
        self.spans.next().map(|s| text.get(s))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.spans.size_hint()
    }

    fn nth(&mut self, n: usize) -> Option<&'a str> {
        let text = self.text;
        self.spans.nth(n).map(|s| text.get(s))
    }
}

impl ExactSizeIterator for Fields<'_> {}

impl DoubleEndedIterator for Fields<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let text = self.text;
        self.spans.next_back().map(|s| text.get(s))
    }
}

impl std::iter::FusedIterator for Fields<'_> {}

impl std::fmt::Debug for Fields<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.clone()).finish()
    }
}

impl<S: AsRef<str>> PartialEq<[S]> for Fields<'_> {
    fn eq(&self, other: &[S]) -> bool {
        self.len() == other.len() && self.clone().zip(other).all(|(a, b)| a == b.as_ref())
    }
}

impl<S: AsRef<str>, const N: usize> PartialEq<[S; N]> for Fields<'_> {
    fn eq(&self, other: &[S; N]) -> bool {
        *self == other[..]
    }
}

impl<S: AsRef<str>> PartialEq<&[S]> for Fields<'_> {
    fn eq(&self, other: &&[S]) -> bool {
        *self == **other
    }
}

impl<S: AsRef<str>> PartialEq<Vec<S>> for Fields<'_> {
    fn eq(&self, other: &Vec<S>) -> bool {
        *self == other[..]
    }
}

/// As `Debug` derived on `{ key: Option<String>, fields: Vec<String>, line: u32 }` prints it
/// (the parse bench's digest hashes this text).
impl std::fmt::Debug for Line {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Line")
            .field("key", &self.key())
            .field("fields", &self.fields())
            .field("line", &self.line)
            .finish()
    }
}

/// `{"key": <string or null>, "fields": [<string>, ...]}`: the `inf dump --json` schema.
impl Serialize for Line {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct Values<'a>(Fields<'a>);
        impl Serialize for Values<'_> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
                for f in self.0.clone() {
                    seq.serialize_element(f)?;
                }
                seq.end()
            }
        }
        let mut line = serializer.serialize_struct("Line", 2)?;
        line.serialize_field("key", &self.key())?;
        line.serialize_field("fields", &Values(self.fields()))?;
        line.end()
    }
}

/// Case folding for section and key names (Windows compares them case-insensitively).
pub(crate) fn fold_case(s: &str) -> Cow<'_, str> {
    if s.is_ascii() {
        if s.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(s.to_ascii_lowercase())
        } else {
            Cow::Borrowed(s)
        }
    } else {
        Cow::Owned(s.to_lowercase())
    }
}

/// A name compared and hashed the way [`fold_case`] compares names, without allocating for ASCII
/// (the common case): an ASCII name is kept as written and hashed and compared ignoring ASCII
/// case; any other is folded once. Folded text has no ASCII capitals, so comparing it ignoring
/// ASCII case is comparing folded forms.
#[derive(Debug, Clone)]
pub(crate) struct CaseKey<'a>(Cow<'a, str>);

impl<'a> CaseKey<'a> {
    pub(crate) fn new(s: &'a str) -> Self {
        if s.is_ascii() {
            CaseKey(Cow::Borrowed(s))
        } else {
            CaseKey(Cow::Owned(s.to_lowercase()))
        }
    }

    pub(crate) fn into_owned(self) -> CaseKey<'static> {
        CaseKey(Cow::Owned(self.0.into_owned()))
    }
}

impl PartialEq for CaseKey<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }
}

impl Eq for CaseKey<'_> {}

impl std::hash::Hash for CaseKey<'_> {
    /// The bytes with ASCII capitals lowered, eight at a time (equal keys are equal after
    /// that, so their hashes are), in one `write` per 64 bytes.
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let mut buf = [0u8; 64];
        for chunk in self.0.as_bytes().chunks(buf.len()) {
            let lower = &mut buf[..chunk.len()];
            let mut words = chunk.chunks_exact(8);
            let mut i = 0;
            for word in &mut words {
                let w = u64::from_le_bytes(word.try_into().unwrap_or([0; 8]));
                if let Some(out) = lower.get_mut(i..i + 8) {
                    out.copy_from_slice(&ascii_lower(w).to_le_bytes());
                }
                i += 8;
            }
            if let Some(out) = lower.get_mut(i..) {
                out.copy_from_slice(words.remainder());
                out.make_ascii_lowercase();
            }
            state.write(lower);
        }
        state.write_u8(0xFF);
    }
}

/// `w`'s eight bytes with ASCII capitals made small (other bytes, non-ASCII ones included,
/// unchanged), without a branch.
#[inline(always)]
fn ascii_lower(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Per byte, on the low seven bits (no carry crosses bytes): the high bit of `ge_a` is set
    // when the byte is >= 'A', that of `gt_z` when it is > 'Z'.
    let low = w & !HIGH;
    let ge_a = low + ONES * u64::from(0x80 - b'A');
    let gt_z = low + ONES * u64::from(0x80 - b'Z' - 1);
    let upper = (ge_a ^ gt_z) & !w & HIGH;
    w | (upper >> 2)
}

/// The hash of the per-file tables keyed by names from the file (the lexer's section index, the
/// string table): foldhash, keyed per table.
///
/// These names are untrusted (a hostile INF may hold a million sections), so the hash must be
/// keyed: with a key the file's author cannot know, they cannot pick names that collide, and a
/// file is written before it is parsed, so there is no oracle to learn the key from. SipHash
/// (std's default) paid ~7 % of the parse for a stronger guarantee (collision resistance against
/// an attacker who sees hash-dependent timings) that a one-shot, per-file table does not need.
/// The shared part of the key comes once per process from the operating system's random source
/// (through std's `RandomState`), not from foldhash's address-space fallback; the per-table part
/// from std's per-thread counter, so two tables never share a key.
pub(crate) type NameMap<K, V> =
    std::collections::HashMap<K, V, foldhash::fast::SeedableRandomState>;

/// An empty [`NameMap`] with a fresh key.
pub(crate) fn name_map<K, V>() -> NameMap<K, V> {
    use std::hash::BuildHasher;
    static SHARED: std::sync::OnceLock<foldhash::SharedSeed> = std::sync::OnceLock::new();
    let shared = SHARED.get_or_init(|| {
        foldhash::SharedSeed::from_u64(std::hash::RandomState::new().hash_one(0x1F_u64))
    });
    let per_table = std::hash::RandomState::new().hash_one(0x2F_u64);
    NameMap::with_hasher(foldhash::fast::SeedableRandomState::with_seed(
        per_table, shared,
    ))
}

#[cfg(test)]
#[test]
fn ascii_lower_lowers_ascii_capitals_only() {
    for b in 0..=255u8 {
        for at in 0..8 {
            let mut bytes = [b'a'; 8];
            bytes[at] = b;
            let mut want = bytes;
            want.make_ascii_lowercase();
            assert_eq!(
                ascii_lower(u64::from_le_bytes(bytes)).to_le_bytes(),
                want,
                "{b:#x} at {at}"
            );
        }
    }
}

/// `a` equals the already folded `folded`, case-insensitively.
fn eq_folded(a: &str, folded: &str) -> bool {
    if a.is_ascii() {
        a.eq_ignore_ascii_case(folded)
    } else {
        a.to_lowercase() == folded
    }
}

pub mod model;

#[cfg(test)]
mod tests;
