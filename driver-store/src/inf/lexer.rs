//! The SetupAPI tokenizer: decoded text → sections of lines of raw (unsubstituted) tokens.
//!
//! It is the state machine of Wine's `dlls/setupapi/parser.c` (line start, section name, key,
//! value, backslash at end of line, quotes, leading blanks, trailing blanks, comment), re-written
//! over UTF-8 bytes: every character with a meaning is ASCII, so the lexer walks bytes and only
//! decodes a character to ask whether a non-ASCII one is a blank. A token is a byte range: of the
//! text itself when it is one piece of it (almost every token), else of [`Tokens::extra`], where
//! the pieces of a joined token (a quote inside it, a continuation, a truncation) are copied;
//! lines are records of ranges. Lexing copies and allocates nothing per token or per line.
//! `mod.rs` appends the extra text and the substituted values to the text, which becomes the
//! text the file's `Line`s share, so the ranges hold as they are.
//!
//! Plain text is skipped eight bytes at a time ([`plain_run`]), and the blanks after a key or
//! value, the blanks after `=` and `,`, and a comment after a value are skipped in the key and
//! value states themselves when going through the blank and comment states would give the same
//! tokens (most lines), so a typical line costs one turn of the state loop instead of ten.
//!
//! Where Wine stops at the first fatal error (an unterminated `[`, a section name over 255
//! characters), this lexer records what Windows would answer and carries on, so callers still see
//! the rest of the file.

use std::ops::Range;

use super::{CaseKey, Diagnostic, NameMap, OpenError, Section, name_map};

/// Longest section name Windows accepts (`MAX_SECTION_NAME_LEN`, inf-behaviour.md A13/A16, H).
pub const MAX_SECTION_NAME_LEN: usize = 255;
/// Longest field, in UTF-16 code units: longer tokens are silently truncated. Wine and Windows
/// up to 2003 keep 511; Vista and later keep 4096 (inf-behaviour.md C52, D `pSetupGetField`).
pub const MAX_FIELD_LEN: usize = 4096;

/// What the lexer produces besides the [`Tokens`]; substitution happens afterwards, once
/// `[Strings]` is known.
pub(crate) struct Lexed {
    /// Sections in file order with their names; their `lines` are still empty (the lines are in
    /// [`Tokens::lines`]).
    pub(crate) sections: Vec<Section>,
    pub(crate) diagnostics: Vec<Diagnostic>,
    pub(crate) open_error: Option<OpenError>,
    /// First line with text before any section (Windows refuses the file for it unless the file
    /// has a `[Strings]` section: inf-behaviour.md A18–A35).
    pub(crate) broken_line: Option<u32>,
}

/// Where the tokens of a file are, and the lines as ranges of them. Kept between parses (per
/// thread) so its buffers are reused.
///
/// A token's range is in one space: below the lexed text's length it is a range of the text,
/// from there on a range of `extra` (shifted by the text's length), which is what the ranges
/// mean once `extra` is appended to the text. [`Tokens::view`] resolves them before that.
#[derive(Default)]
pub(crate) struct Tokens {
    /// Text of the tokens that are not one piece of the lexed text (raw: before substitution,
    /// quotes already removed).
    pub(crate) extra: String,
    /// Every field of every line, in order: byte ranges into `arena`.
    pub(crate) fields: Vec<Range<usize>>,
    /// Logical lines in file order.
    pub(crate) lines: Vec<RawLine>,
}

/// One logical line of a section, before substitution.
pub(crate) struct RawLine {
    /// Index into [`Lexed::sections`].
    pub(crate) section: usize,
    /// Byte range of the key in [`Tokens::arena`].
    pub(crate) key: Option<Range<usize>>,
    /// Range of indices into [`Tokens::fields`].
    pub(crate) fields: Range<usize>,
    /// 1-based physical line where the logical line starts.
    pub(crate) line: u32,
}

/// The tokens' text: the lexed text followed by [`Tokens::extra`].
#[derive(Clone, Copy)]
pub(crate) struct TokenText<'a> {
    pub(crate) text: &'a str,
    pub(crate) extra: &'a str,
}

impl<'a> TokenText<'a> {
    /// The text of a token.
    #[inline]
    pub(crate) fn get(&self, range: Range<usize>) -> &'a str {
        let base = self.text.len();
        if range.start < base {
            self.text.get(range).unwrap_or_default()
        } else {
            self.extra
                .get(range.start - base..range.end.saturating_sub(base))
                .unwrap_or_default()
        }
    }
}

impl Tokens {
    /// The tokens' text, `text` being what was lexed.
    pub(crate) fn view<'a>(&'a self, text: &'a str) -> TokenText<'a> {
        TokenText {
            text,
            extra: &self.extra,
        }
    }

    /// The raw fields of a line.
    #[inline]
    pub(crate) fn fields_of(&self, line: &RawLine) -> &[Range<usize>] {
        self.fields.get(line.fields.clone()).unwrap_or_default()
    }

    fn clear(&mut self) {
        self.extra.clear();
        self.fields.clear();
        self.lines.clear();
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    LineStart,
    SectionName,
    KeyName,
    ValueName,
    EolBackslash,
    Quotes,
    LeadingSpaces,
    TrailingSpaces,
    Comment,
}

struct Lexer<'t> {
    text: &'t str,
    bytes: &'t [u8],
    state: State,
    stack: [State; 4],
    depth: usize,
    /// Start of the part of the current token not yet pushed.
    start: usize,
    out: &'t mut Tokens,
    /// The current token while it is one piece of the text.
    direct: Option<Range<usize>>,
    /// Where the current token starts in `out.extra` (when it is not `direct`).
    token_start: usize,
    /// Length of the current token in UTF-16 code units, counted only once the token is long
    /// enough to be near [`MAX_FIELD_LEN`] (its byte length bounds it until then).
    token_units: Option<usize>,
    token_truncated: bool,
    /// 1-based physical line of the cursor.
    line_pos: u32,
    /// Physical line where the current logical line began.
    line_start: u32,
    /// `line_start` of the line being built.
    line_open_at: u32,
    cur_section: Option<usize>,
    /// The line being built, if it has a field yet: its key and where its fields start.
    line: Option<(Option<Range<usize>>, usize)>,
    sections: Vec<Section>,
    /// Section names (borrowed from the text when the name is one piece of it) → index.
    index: NameMap<CaseKey<'t>, usize>,
    diagnostics: Vec<Diagnostic>,
    open_error: Option<OpenError>,
    broken_line: Option<u32>,
}

/// Lexes `text` into `out` (cleared first) and returns the sections and what was noticed.
pub(crate) fn lex(text: &str, out: &mut Tokens) -> Lexed {
    out.clear();
    let mut lx = Lexer {
        text,
        bytes: text.as_bytes(),
        state: State::LineStart,
        stack: [State::LineStart; 4],
        depth: 0,
        start: 0,
        out,
        direct: None,
        token_start: 0,
        token_units: None,
        token_truncated: false,
        line_pos: 1,
        line_start: 1,
        line_open_at: 1,
        cur_section: None,
        line: None,
        sections: Vec::new(),
        index: name_map(),
        diagnostics: Vec::new(),
        open_error: None,
        broken_line: None,
    };
    let mut pos = Some(0);
    while let Some(p) = pos {
        pos = match lx.state {
            State::LineStart => lx.line_start_state(p),
            State::SectionName => lx.section_name_state(p),
            State::KeyName => lx.key_name_state(p),
            State::ValueName => lx.value_name_state(p),
            State::EolBackslash => lx.eol_backslash_state(p),
            State::Quotes => lx.quotes_state(p),
            State::LeadingSpaces => lx.leading_spaces_state(p),
            State::TrailingSpaces => lx.trailing_spaces_state(p),
            State::Comment => lx.comment_state(p),
        };
    }
    lx.close_line();
    Lexed {
        sections: lx.sections,
        diagnostics: lx.diagnostics,
        open_error: lx.open_error,
        broken_line: lx.broken_line,
    }
}

/// Byte length of the blank (`iswspace`) character at `i`, 0 when it is not a blank.
#[inline(always)]
fn space_len(t: &str, i: usize) -> usize {
    match t.as_bytes()[i] {
        b' ' | b'\t' | b'\n' | b'\r' | 0x0B | 0x0C => 1,
        // Only these lead bytes start a non-ASCII White_Space character (U+0085, U+00A0,
        // U+1680, U+2000–U+205F, U+3000).
        0xC2 | 0xE1 | 0xE2 | 0xE3 => unicode_space_len(t, i),
        _ => 0,
    }
}

/// Bytes that are ordinary token text in a key or a value: not `, = ; " \` or a line end,
/// not a blank, and not the lead byte of a possible Unicode blank.
static PLAIN: [bool; 256] = {
    let mut t = [true; 256];
    let special = b",=;\"\\\n \t\r\x0B\x0C\xC2\xE1\xE2\xE3";
    let mut i = 0;
    while i < special.len() {
        t[special[i] as usize] = false;
        i += 1;
    }
    t
};

/// Length of the run of [`PLAIN`] bytes at `p`.
///
/// Eight bytes at a time while it can: [`maybe_special`] finds the first byte that may end the
/// run, the table decides for that byte, and a plain one (a control character, a non-blank
/// non-ASCII byte) lets the scan go on past it.
#[inline(always)]
fn plain_run(b: &[u8], p: usize) -> usize {
    let rest = b.get(p..).unwrap_or_default();
    let mut i = 0;
    while let Some(chunk) = rest.get(i..i + 8) {
        let word = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
        let mask = maybe_special(word);
        if mask == 0 {
            i += 8;
            continue;
        }
        // Little-endian: the lowest set bit is the first candidate byte.
        let j = i + (mask.trailing_zeros() / 8) as usize;
        if rest.get(j).is_none_or(|&c| !PLAIN[usize::from(c)]) {
            return j;
        }
        i = j + 1;
    }
    i + rest
        .get(i..)
        .unwrap_or_default()
        .iter()
        .position(|&c| !PLAIN[usize::from(c)])
        .unwrap_or(rest.len().saturating_sub(i))
}

/// A mask with the high bit set in (at least) the lowest byte of `word` that is a control
/// character or blank (`<= 0x20`), one of `" , ; = \`, or non-ASCII: a superset of the bytes
/// [`PLAIN`] refuses. Bits above the lowest set one may be false alarms (borrows of the
/// subtractions), so only the lowest is used.
#[inline(always)]
fn maybe_special(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    #[inline(always)]
    fn zero_byte(x: u64) -> u64 {
        x.wrapping_sub(ONES) & !x & HIGH
    }
    let below_0x21 = word.wrapping_sub(ONES * 0x21) & !word & HIGH;
    below_0x21
        | (word & HIGH)
        | zero_byte(word ^ (ONES * u64::from(b'"')))
        | zero_byte(word ^ (ONES * u64::from(b',')))
        | zero_byte(word ^ (ONES * u64::from(b';')))
        | zero_byte(word ^ (ONES * u64::from(b'=')))
        | zero_byte(word ^ (ONES * u64::from(b'\\')))
}

#[cold]
fn unicode_space_len(t: &str, i: usize) -> usize {
    match t.get(i..).and_then(|s| s.chars().next()) {
        Some(c) if c.is_whitespace() => c.len_utf8(),
        _ => 0,
    }
}

impl<'t> Lexer<'t> {
    #[inline]
    fn is_eol(&self, p: usize) -> bool {
        p >= self.bytes.len() || self.bytes[p] == b'\n'
    }

    #[inline]
    fn is_eof(&self, p: usize) -> bool {
        p >= self.bytes.len()
    }

    /// Whether the backslash at `p` (in a key or a value) is literal and can stay in the current
    /// text run: the byte after it is no line end, backslash, `;` or blank, so
    /// `EOL_BACKSLASH` would append it and return to this state. Only taken while the
    /// token cannot be truncated and the state stack has room, where going through
    /// `EOL_BACKSLASH` gives exactly the same token.
    #[inline(always)]
    fn literal_backslash(&self, p: usize) -> bool {
        self.depth < self.stack.len()
            && self.token_units.is_none()
            && self
                .bytes
                .get(p + 1)
                .is_some_and(|&c| c != b'\\' && c != b'\n' && c != b';')
            && space_len(self.text, p + 1) == 0
            && self.token_len() + (p + 1).saturating_sub(self.start) <= MAX_FIELD_LEN
    }

    /// The end of the blanks at `p` when they sit inside a key or a value: spaces and tabs
    /// followed by a [`PLAIN`] byte on the same line, where `TRAILING_SPACES` would return to
    /// this state and the token would go on with them. Same conditions as
    /// [`Self::literal_backslash`] for the token to come out identical.
    #[inline(always)]
    fn inner_blanks_end(&self, p: usize) -> Option<usize> {
        let rest = self.bytes.get(p..).unwrap_or_default();
        let q = p + rest
            .iter()
            .position(|&c| c != b' ' && c != b'\t')
            .unwrap_or(rest.len());
        let inside = q > p
            && self.bytes.get(q).is_some_and(|&c| PLAIN[usize::from(c)])
            && self.depth < self.stack.len()
            && self.token_units.is_none()
            && self.token_len() + (q + 1).saturating_sub(self.start) <= MAX_FIELD_LEN;
        inside.then_some(q)
    }

    /// Where `LEADING_SPACES` or `TRAILING_SPACES` entered at `p` would stop and return to the
    /// state that pushed it, when they would do nothing else: ASCII blanks up to a byte that is
    /// no blank and no backslash (or the line end), and room on the state stack for the push
    /// that the pop undoes. The key and value states then skip the blanks themselves instead of
    /// making two state transitions for them.
    #[inline(always)]
    fn blanks_end(&self, p: usize) -> Option<usize> {
        let rest = self.bytes.get(p..).unwrap_or_default();
        let q = p + rest
            .iter()
            .position(|&c| !matches!(c, b' ' | b'\t' | b'\r' | 0x0B | 0x0C))
            .unwrap_or(rest.len());
        let stops = self.is_eol(q) || (self.bytes[q] != b'\\' && space_len(self.text, q) == 0);
        (stops && self.depth < self.stack.len()).then_some(q)
    }

    /// The end of the comment starting at `p` (after its `;`): its line end, or the end of the
    /// text.
    #[inline(always)]
    fn comment_end(&self, p: usize) -> usize {
        let rest = self.bytes.get(p..).unwrap_or_default();
        p + memchr::memchr(b'\n', rest).unwrap_or(rest.len())
    }

    /// Bytes in the current token so far.
    #[inline(always)]
    fn token_len(&self) -> usize {
        match &self.direct {
            Some(d) => d.len(),
            None => self.out.extra.len().saturating_sub(self.token_start),
        }
    }

    fn push_state(&mut self, s: State) {
        if let Some(slot) = self.stack.get_mut(self.depth) {
            *slot = s;
            self.depth += 1;
        }
    }

    fn pop_state(&mut self) {
        if self.depth > 0 {
            self.depth -= 1;
            self.state = self.stack[self.depth];
        } else {
            self.state = State::LineStart;
        }
    }

    /// Appends the text from the token start up to `pos` to the current token (capped at
    /// [`MAX_FIELD_LEN`]) and moves the token start to `pos`.
    #[inline]
    fn push_token(&mut self, pos: usize) {
        let start = self.start;
        self.start = pos;
        let text = self.text;
        let piece = text.get(start..pos).unwrap_or_default();
        if piece.is_empty() {
            return;
        }
        if self.direct.is_none()
            && self.token_units.is_none()
            && self.out.extra.len() == self.token_start
            && piece.len() <= MAX_FIELD_LEN
        {
            // The token's first piece: it stays where it is in the text (bytes are an upper
            // bound of UTF-16 units, so nothing can be cut).
            self.direct = Some(start..pos);
            return;
        }
        self.join_piece(piece);
    }

    /// Appends `piece` to the current token in `extra` (copying the token there first if it
    /// was still a piece of the text), capped at [`MAX_FIELD_LEN`].
    #[cold]
    fn join_piece(&mut self, piece: &str) {
        if let Some(d) = self.direct.take() {
            let text = self.text;
            self.out.extra.push_str(text.get(d).unwrap_or_default());
        }
        let token_bytes = self.out.extra.len().saturating_sub(self.token_start);
        if self.token_units.is_none() && token_bytes + piece.len() <= MAX_FIELD_LEN {
            // Bytes are an upper bound of UTF-16 units, so nothing can be cut.
            self.out.extra.push_str(piece);
            return;
        }
        let mut units = match self.token_units {
            Some(u) => u,
            None => self
                .out
                .extra
                .get(self.token_start..)
                .unwrap_or_default()
                .encode_utf16()
                .count(),
        };
        for c in piece.chars() {
            let n = c.len_utf16();
            if units + n > MAX_FIELD_LEN {
                self.token_truncated = true;
                break;
            }
            self.out.extra.push(c);
            units += n;
        }
        self.token_units = Some(units);
    }

    /// Ends the current token and returns its range in the arena.
    fn take_token(&mut self) -> Range<usize> {
        if self.token_truncated {
            self.diagnostics.push(Diagnostic {
                line: self.line_pos,
                message: format!(
                    "field longer than {MAX_FIELD_LEN} characters truncated, as windows does"
                ),
            });
        }
        self.token_units = None;
        self.token_truncated = false;
        let base = self.text.len();
        let range = match self.direct.take() {
            Some(d) => d,
            None => base + self.token_start..base + self.out.extra.len(),
        };
        self.token_start = self.out.extra.len();
        range
    }

    /// Adds the current token to the current line, as its key or as its next field. (Only
    /// reached inside a section: LINE_START skips the text before the first one.)
    fn add_field(&mut self, is_key: bool) {
        let token = self.take_token();
        if self.line.is_none() {
            self.line = Some((None, self.out.fields.len()));
            self.line_open_at = self.line_start;
        }
        if is_key {
            if let Some((key, _)) = &mut self.line {
                *key = Some(token);
            }
        } else {
            self.out.fields.push(token);
        }
    }

    fn close_line(&mut self) {
        let Some((key, first_field)) = self.line.take() else {
            return;
        };
        match self.cur_section {
            Some(section) => self.out.lines.push(RawLine {
                section,
                key,
                fields: first_field..self.out.fields.len(),
                line: self.line_open_at,
            }),
            None => self.out.fields.truncate(first_field),
        }
    }

    fn fatal(&mut self, error: OpenError) {
        self.diagnostics.push(Diagnostic {
            line: error.line(),
            message: error.to_string(),
        });
        if self.open_error.is_none() {
            self.open_error = Some(error);
        }
    }

    /// Opens section `name`, which is a piece of the text when `borrowed` is given (then the
    /// index keeps a reference instead of a copy of it).
    fn add_section(&mut self, name: &str, borrowed: Option<&'t str>) {
        let units = if name.is_ascii() {
            name.len()
        } else {
            name.encode_utf16().count()
        };
        if units > MAX_SECTION_NAME_LEN {
            self.fatal(OpenError::SectionNameTooLong {
                line: self.line_pos,
            });
        }
        // One hash per header: a repeated section (rare) costs an unused key instead.
        let next = self.sections.len();
        let key = match borrowed {
            Some(b) => CaseKey::new(b),
            None => CaseKey::new(name).into_owned(),
        };
        let idx = *self.index.entry(key).or_insert(next);
        if idx == next {
            self.sections.push(Section {
                name: name.to_owned(),
                lines: Vec::new(),
                line: self.line_pos,
            });
        }
        self.cur_section = Some(idx);
    }

    fn line_start_state(&mut self, pos: usize) -> Option<usize> {
        let mut p = pos;
        while !self.is_eof(p) {
            match self.bytes[p] {
                b'\n' => {
                    self.line_pos += 1;
                    self.close_line();
                    p += 1;
                }
                b';' if self.depth < self.stack.len() => {
                    // COMMENT would skip to the line end and return here.
                    p = self.comment_end(p + 1);
                }
                b';' => {
                    self.push_state(State::LineStart);
                    self.state = State::Comment;
                    return Some(p + 1);
                }
                b'[' => {
                    self.close_line();
                    self.start = p + 1;
                    self.state = State::SectionName;
                    return Some(p + 1);
                }
                _ => {
                    let w = space_len(self.text, p);
                    if w > 0 {
                        p += w;
                        continue;
                    }
                    if self.cur_section.is_some() {
                        self.close_line();
                        self.start = p;
                        self.line_start = self.line_pos;
                        self.state = State::KeyName;
                        // What the next turn of the state loop would do (KEY_NAME never
                        // returns here directly, so the calls do not nest deeper).
                        return self.key_name_state(p);
                    }
                    // inf-behaviour.md A18–A35: text before the first section is skipped one
                    // character at a time (a later `[` on the same line still opens a section).
                    if self.broken_line.is_none() {
                        self.broken_line = Some(self.line_pos);
                    }
                    p += 1;
                }
            }
        }
        self.close_line();
        None
    }

    fn section_name_state(&mut self, pos: usize) -> Option<usize> {
        let mut p = pos;
        while !self.is_eol(p) {
            if self.bytes[p] == b']' {
                // inf-behaviour.md B13–B22: the name runs to the first `]`, everything inside is
                // literal; the rest of the line is ignored (B8, B9).
                self.push_token(p);
                self.section_from_token(|name| name);
                self.push_state(State::LineStart);
                self.state = State::Comment;
                return Some(p + 1);
            }
            p += 1;
        }
        // inf-behaviour.md A14, A15: an unterminated section name. Windows refuses the file;
        // we keep what is there as the section name so the rest of the file stays readable.
        self.fatal(OpenError::BadSectionNameLine {
            line: self.line_pos,
        });
        self.push_token(p);
        self.section_from_token(|name| name.trim_end_matches([' ', '\t', '\r']));
        self.state = State::LineStart;
        Some(p)
    }

    /// Opens the section named by the current token (as `trim`, which may only cut the end of
    /// it, leaves it), without the field
    /// truncation diagnostic (section names have their own limit); the token is dropped.
    fn section_from_token(&mut self, trim: impl Fn(&str) -> &str) {
        self.token_units = None;
        self.token_truncated = false;
        if let Some(d) = self.direct.take() {
            let text: &'t str = self.text;
            // `trim` only trims the end, so the name is the first bytes of the token.
            let len = trim(text.get(d.clone()).unwrap_or_default()).len();
            let name = text.get(d.start..d.start + len).unwrap_or_default();
            self.add_section(name, Some(name));
            return;
        }
        let extra = std::mem::take(&mut self.out.extra);
        let name = trim(extra.get(self.token_start..).unwrap_or_default());
        self.add_section(name, None);
        self.out.extra = extra;
        self.out.extra.truncate(self.token_start);
    }

    fn key_name_state(&mut self, pos: usize) -> Option<usize> {
        let mut token_end = self.start;
        let mut p = pos;
        while !self.is_eol(p) {
            let run = plain_run(self.bytes, p);
            if run > 0 {
                p += run;
                token_end = p;
                continue;
            }
            match self.bytes[p] {
                b',' => break,
                b'=' => {
                    self.push_token(token_end);
                    self.add_field(true);
                    self.start = p + 1;
                    if let Some(q) = self.blanks_end(p + 1) {
                        // LEADING_SPACES would skip to `q` and return to VALUE_NAME.
                        self.start = q;
                        self.state = State::ValueName;
                        return self.value_name_state(q);
                    }
                    self.push_state(State::ValueName);
                    self.state = State::LeadingSpaces;
                    return Some(p + 1);
                }
                b';' => {
                    self.push_token(token_end);
                    self.add_field(false);
                    if self.depth < self.stack.len() {
                        // COMMENT would skip to the line end and return to LINE_START.
                        self.state = State::LineStart;
                        return Some(self.comment_end(p + 1));
                    }
                    self.push_state(State::LineStart);
                    self.state = State::Comment;
                    return Some(p + 1);
                }
                b'"' => {
                    self.push_token(p);
                    self.start = p + 1;
                    self.push_state(State::KeyName);
                    self.state = State::Quotes;
                    return Some(p + 1);
                }
                b'\\' if self.literal_backslash(p) => {
                    p += 1;
                    token_end = p;
                }
                b'\\' => {
                    self.push_token(p);
                    self.start = p;
                    self.push_state(State::KeyName);
                    self.state = State::EolBackslash;
                    return Some(p);
                }
                _ => {
                    if space_len(self.text, p) == 0 {
                        p += 1;
                        token_end = p;
                    } else if let Some(q) = self.inner_blanks_end(p) {
                        // Left pending: the text after them extends `token_end` past them.
                        p = q;
                    } else if let Some(q) = self.blanks_end(p) {
                        // TRAILING_SPACES would skip to `q` and return here, the token
                        // continuing from `p` (the blanks join it only if more text follows).
                        self.push_token(p);
                        token_end = p;
                        p = q;
                    } else {
                        self.push_token(p);
                        self.push_state(State::KeyName);
                        self.state = State::TrailingSpaces;
                        return Some(p);
                    }
                }
            }
        }
        // inf-behaviour.md C3, C4, C34: a `,` (or the end of the line) before any `=` means the
        // line has no key; what was read becomes the first field.
        self.push_token(token_end);
        self.state = State::ValueName;
        Some(p)
    }

    fn value_name_state(&mut self, pos: usize) -> Option<usize> {
        let mut token_end = self.start;
        let mut p = pos;
        while !self.is_eol(p) {
            let run = plain_run(self.bytes, p);
            if run > 0 {
                p += run;
                token_end = p;
                continue;
            }
            match self.bytes[p] {
                b';' => {
                    self.push_token(token_end);
                    self.add_field(false);
                    if self.depth < self.stack.len() {
                        // COMMENT would skip to the line end and return to LINE_START.
                        self.state = State::LineStart;
                        return Some(self.comment_end(p + 1));
                    }
                    self.push_state(State::LineStart);
                    self.state = State::Comment;
                    return Some(p + 1);
                }
                b',' => {
                    self.push_token(token_end);
                    self.add_field(false);
                    self.start = p + 1;
                    if let Some(q) = self.blanks_end(p + 1) {
                        // LEADING_SPACES would skip to `q` and return here.
                        self.start = q;
                        token_end = q;
                        p = q;
                        continue;
                    }
                    self.push_state(State::ValueName);
                    self.state = State::LeadingSpaces;
                    return Some(p + 1);
                }
                b'"' => {
                    self.push_token(p);
                    self.start = p + 1;
                    self.push_state(State::ValueName);
                    self.state = State::Quotes;
                    return Some(p + 1);
                }
                b'\\' if self.literal_backslash(p) => {
                    p += 1;
                    token_end = p;
                }
                b'\\' => {
                    self.push_token(p);
                    self.start = p;
                    self.push_state(State::ValueName);
                    self.state = State::EolBackslash;
                    return Some(p);
                }
                _ => {
                    if space_len(self.text, p) == 0 {
                        p += 1;
                        token_end = p;
                    } else if let Some(q) = self.inner_blanks_end(p) {
                        // Left pending: the text after them extends `token_end` past them.
                        p = q;
                    } else if let Some(q) = self.blanks_end(p) {
                        // TRAILING_SPACES would skip to `q` and return here, the token
                        // continuing from `p` (the blanks join it only if more text follows).
                        self.push_token(p);
                        token_end = p;
                        p = q;
                    } else {
                        self.push_token(p);
                        self.push_state(State::ValueName);
                        self.state = State::TrailingSpaces;
                        return Some(p);
                    }
                }
            }
        }
        self.push_token(token_end);
        self.add_field(false);
        self.state = State::LineStart;
        Some(p)
    }

    /// A backslash: a continuation when only blanks, more backslashes or a comment follow it on
    /// the line (inf-behaviour.md C6–C17), literal otherwise.
    fn eol_backslash_state(&mut self, pos: usize) -> Option<usize> {
        let mut p = pos;
        while !self.is_eof(p) {
            match self.bytes[p] {
                b'\n' => {
                    self.line_pos += 1;
                    self.start = p + 1;
                    self.state = State::LeadingSpaces;
                    return Some(p + 1);
                }
                b'\\' => p += 1,
                b';' => {
                    self.push_state(State::EolBackslash);
                    self.state = State::Comment;
                    return Some(p + 1);
                }
                _ => {
                    let w = space_len(self.text, p);
                    if w > 0 {
                        p += w;
                        continue;
                    }
                    self.push_token(p);
                    self.pop_state();
                    return Some(p);
                }
            }
        }
        self.start = p;
        self.pop_state();
        Some(p)
    }

    /// Inside `"…"`: `""` is a literal quote, everything else is literal up to the closing quote
    /// or the end of the line (inf-behaviour.md C18–C26).
    fn quotes_state(&mut self, pos: usize) -> Option<usize> {
        let mut p = pos;
        while !self.is_eol(p) {
            let rest = self.bytes.get(p..).unwrap_or_default();
            let skip = memchr::memchr2(b'"', b'\n', rest).unwrap_or(rest.len());
            p += skip;
            if self.is_eol(p) {
                break;
            }
            if self.bytes[p] == b'"' {
                if self.bytes.get(p + 1) == Some(&b'"') {
                    self.push_token(p + 1);
                    self.start = p + 2;
                    p += 2;
                    continue;
                }
                self.push_token(p);
                self.start = p + 1;
                self.pop_state();
                return Some(p + 1);
            }
            p += 1;
        }
        // An unterminated quote runs to the end of the line (C25, C26). The CR of a CR LF line
        // end is not part of it: we read CR LF and LF files alike (Wine would keep the CR).
        let end = if p > self.start && self.bytes.get(p - 1) == Some(&b'\r') {
            p - 1
        } else {
            p
        };
        self.push_token(end);
        self.start = p;
        self.pop_state();
        Some(p)
    }

    fn leading_spaces_state(&mut self, pos: usize) -> Option<usize> {
        let mut p = pos;
        while !self.is_eol(p) {
            if self.bytes[p] == b'\\' {
                self.start = p;
                self.state = State::EolBackslash;
                return Some(p);
            }
            let w = space_len(self.text, p);
            if w == 0 {
                break;
            }
            p += w;
        }
        self.start = p;
        self.pop_state();
        Some(p)
    }

    fn trailing_spaces_state(&mut self, pos: usize) -> Option<usize> {
        let mut p = pos;
        while !self.is_eol(p) {
            if self.bytes[p] == b'\\' {
                self.state = State::EolBackslash;
                return Some(p);
            }
            let w = space_len(self.text, p);
            if w == 0 {
                break;
            }
            p += w;
        }
        self.pop_state();
        Some(p)
    }

    fn comment_state(&mut self, pos: usize) -> Option<usize> {
        let p = self.comment_end(pos);
        self.pop_state();
        Some(p)
    }
}

#[cfg(test)]
mod tests {
    use super::{PLAIN, plain_run};

    fn naive(b: &[u8], p: usize) -> usize {
        b[p..]
            .iter()
            .position(|&c| !PLAIN[usize::from(c)])
            .unwrap_or(b.len() - p)
    }

    #[test]
    fn plain_run_stops_where_the_byte_table_does() {
        // Every byte value at every offset of a word and across a word boundary, after runs of
        // every length, with plain text or the end of the buffer after it.
        for c in 0..=255u8 {
            for before in 0..20 {
                for after in [0, 1, 9] {
                    let mut b = vec![b'a'; before];
                    b.push(c);
                    b.extend(std::iter::repeat_n(b'z', after));
                    for p in 0..=before.min(3) {
                        assert_eq!(
                            plain_run(&b, p),
                            naive(&b, p),
                            "{c:#x} {before} {after} {p}"
                        );
                    }
                }
            }
        }
        // Mixed specials, non-ASCII text and control characters.
        let text =
            "Ab\x01c\u{e9}d\u{3000}e,\u{a0}f\x7f\u{2003}g=h;i\"j k\tl\r\nm\u{2028}n".as_bytes();
        for p in 0..text.len() {
            assert_eq!(plain_run(text, p), naive(text, p), "at {p}");
        }
        assert_eq!(plain_run(b"abc", 7), 0);
    }
}
