//! The SetupAPI tokenizer: decoded text → sections of lines of raw (unsubstituted) tokens.
//!
//! It is the state machine of Wine's `dlls/setupapi/parser.c` (line start, section name, key,
//! value, backslash at end of line, quotes, leading blanks, trailing blanks, comment), re-written
//! over UTF-8 bytes: every character with a meaning is ASCII, so the lexer walks bytes and only
//! decodes a character to ask whether a non-ASCII one is a blank. Tokens are cut from the text by
//! byte range, so nothing is allocated per character.
//!
//! Where Wine stops at the first fatal error (an unterminated `[`, a section name over 255
//! characters), this lexer records what Windows would answer and carries on, so callers still see
//! the rest of the file.

use std::collections::HashMap;

use super::{Diagnostic, Line, OpenError, Section, fold_case};

/// Longest section name Windows accepts (`MAX_SECTION_NAME_LEN`, inf-behaviour.md A13/A16, H).
pub const MAX_SECTION_NAME_LEN: usize = 255;
/// Longest field, in UTF-16 code units: longer tokens are silently truncated. Wine and Windows
/// up to 2003 keep 511; Vista and later keep 4096 (inf-behaviour.md C52, D `pSetupGetField`).
pub const MAX_FIELD_LEN: usize = 4096;

/// What the lexer produces; substitution happens afterwards, once `[Strings]` is known.
pub(crate) struct Lexed {
    pub(crate) sections: Vec<Section>,
    pub(crate) diagnostics: Vec<Diagnostic>,
    pub(crate) open_error: Option<OpenError>,
    /// First line with text before any section (Windows refuses the file for it unless the file
    /// has a `[Strings]` section: inf-behaviour.md A18–A35).
    pub(crate) broken_line: Option<u32>,
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
    token: String,
    /// Length of `token` in UTF-16 code units.
    token_units: usize,
    token_truncated: bool,
    /// 1-based physical line of the cursor.
    line_pos: u32,
    /// Physical line where the current logical line began.
    line_start: u32,
    cur_section: Option<usize>,
    /// The line being built, if it has a field yet.
    line: Option<Line>,
    sections: Vec<Section>,
    index: HashMap<String, usize>,
    diagnostics: Vec<Diagnostic>,
    open_error: Option<OpenError>,
    broken_line: Option<u32>,
}

pub(crate) fn lex(text: &str) -> Lexed {
    let mut lx = Lexer {
        text,
        bytes: text.as_bytes(),
        state: State::LineStart,
        stack: [State::LineStart; 4],
        depth: 0,
        start: 0,
        token: String::with_capacity(256),
        token_units: 0,
        token_truncated: false,
        line_pos: 1,
        line_start: 1,
        cur_section: None,
        line: None,
        sections: Vec::new(),
        index: HashMap::new(),
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
#[inline(always)]
fn plain_run(b: &[u8], p: usize) -> usize {
    b.get(p..)
        .unwrap_or_default()
        .iter()
        .position(|&c| !PLAIN[usize::from(c)])
        .unwrap_or(b.len().saturating_sub(p))
}

#[cold]
fn unicode_space_len(t: &str, i: usize) -> usize {
    match t.get(i..).and_then(|s| s.chars().next()) {
        Some(c) if c.is_whitespace() => c.len_utf8(),
        _ => 0,
    }
}

impl Lexer<'_> {
    #[inline]
    fn is_eol(&self, p: usize) -> bool {
        p >= self.bytes.len() || self.bytes[p] == b'\n'
    }

    #[inline]
    fn is_eof(&self, p: usize) -> bool {
        p >= self.bytes.len()
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
    fn push_token(&mut self, pos: usize) {
        let piece = self.text.get(self.start..pos).unwrap_or_default();
        self.start = pos;
        if piece.is_empty() {
            return;
        }
        if self.token_units + piece.len() <= MAX_FIELD_LEN {
            // Fast path: bytes are an upper bound of UTF-16 units.
            self.token.push_str(piece);
            self.token_units += if piece.is_ascii() {
                piece.len()
            } else {
                piece.encode_utf16().count()
            };
            return;
        }
        for c in piece.chars() {
            let units = c.len_utf16();
            if self.token_units + units > MAX_FIELD_LEN {
                self.token_truncated = true;
                break;
            }
            self.token.push(c);
            self.token_units += units;
        }
    }

    fn take_token(&mut self) -> String {
        if self.token_truncated {
            self.diagnostics.push(Diagnostic {
                line: self.line_pos,
                message: format!(
                    "field longer than {MAX_FIELD_LEN} characters truncated, as windows does"
                ),
            });
        }
        self.token_units = 0;
        self.token_truncated = false;
        let token = self.token.as_str().to_owned();
        self.token.clear();
        token
    }

    /// Adds the current token to the current line, as its key or as its next field. (Only
    /// reached inside a section: LINE_START skips the text before the first one.)
    fn add_field(&mut self, is_key: bool) {
        let token = self.take_token();
        let line = self.line.get_or_insert_with(|| Line {
            key: None,
            fields: Vec::with_capacity(4),
            line: self.line_start,
        });
        if is_key {
            line.key = Some(token);
        } else {
            line.fields.push(token);
        }
    }

    fn close_line(&mut self) {
        if let Some(line) = self.line.take()
            && let Some(section) = self.cur_section.and_then(|i| self.sections.get_mut(i))
        {
            section.lines.push(line);
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

    fn add_section(&mut self, name: String) {
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
        let folded = fold_case(&name).into_owned();
        let idx = match self.index.get(&folded) {
            Some(&i) => i,
            None => {
                let i = self.sections.len();
                self.sections.push(Section {
                    name,
                    lines: Vec::new(),
                    line: self.line_pos,
                });
                self.index.insert(folded, i);
                i
            }
        };
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
                        return Some(p);
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
                let name = self.take_token_silently();
                self.add_section(name);
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
        let name = self.take_token_silently();
        let name = name.trim_end_matches([' ', '\t', '\r']).to_owned();
        self.add_section(name);
        self.state = State::LineStart;
        Some(p)
    }

    /// Takes the token without the truncation diagnostic (section names have their own limit).
    fn take_token_silently(&mut self) -> String {
        self.token_units = 0;
        self.token_truncated = false;
        std::mem::take(&mut self.token)
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
                    self.push_state(State::ValueName);
                    self.state = State::LeadingSpaces;
                    return Some(p + 1);
                }
                b';' => {
                    self.push_token(token_end);
                    self.add_field(false);
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
                    self.push_state(State::LineStart);
                    self.state = State::Comment;
                    return Some(p + 1);
                }
                b',' => {
                    self.push_token(token_end);
                    self.add_field(false);
                    self.start = p + 1;
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
            let skip = self.bytes[p..]
                .iter()
                .position(|&c| c == b'"' || c == b'\n')
                .unwrap_or(self.bytes.len() - p);
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
        let rest = self.bytes.get(pos..).unwrap_or_default();
        let p = pos + rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        self.pop_state();
        Some(p)
    }
}
