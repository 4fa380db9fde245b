//! Bytes → text: the encoding choice SetupAPI makes, and the character-level rules that hold in
//! every state of the lexer (Ctrl-Z ends the file, NUL reads as a blank).

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE};

/// How the bytes of an INF file were turned into text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TextEncoding {
    /// UTF-16LE announced by a `FF FE` byte-order mark.
    Utf16LeBom,
    /// UTF-16LE without a byte-order mark, recognised by the `RtlIsTextUnicode` statistics.
    Utf16Le,
    /// UTF-16BE announced by a `FE FF` byte-order mark.
    Utf16BeBom,
    /// UTF-8 announced by an `EF BB BF` byte-order mark.
    Utf8Bom,
    /// No mark and not UTF-16: the ANSI code page (Windows-1252 unless the caller picks another).
    #[default]
    Ansi,
}

/// Decoded text plus what the decoder noticed.
pub(crate) struct Decoded {
    /// The text, in a fresh buffer with room to spare: it becomes the text the parsed file's
    /// lines share, with the lexer's joined tokens and the substituted values appended.
    pub(crate) text: String,
    pub(crate) encoding: TextEncoding,
    /// Set when a UTF-16 file has an odd byte count (its last byte is dropped).
    pub(crate) odd_utf16: bool,
    /// Set when bytes could not be decoded and were replaced by U+FFFD.
    pub(crate) malformed: bool,
    /// Set when the file has lone CR line ends only (no LF at all) and CR was taken as the line end.
    pub(crate) cr_only: bool,
}

/// Decodes an INF file the way `SetupOpenInfFile` does: a UTF-16LE file (by BOM or by the
/// `RtlIsTextUnicode` heuristics) is read as UTF-16LE; a UTF-8 BOM selects UTF-8; everything else
/// is ANSI (`ansi`, Windows-1252 by default). UTF-16BE with a BOM is also accepted (Windows would
/// not; it is cheap and unambiguous). Then Ctrl-Z ends the text and NUL becomes a blank
/// (inf-behaviour.md C37–C42, H).
///
/// The text is written once, straight into the buffer the parsed lines will share: ASCII and
/// valid UTF-8 by one copy, anything else by the decoder (no intermediate buffer).
pub(crate) fn decode(bytes: &[u8], ansi: &'static Encoding) -> Decoded {
    let (encoding, body, odd_utf16) = classify(bytes);
    let enc = match encoding {
        TextEncoding::Utf16LeBom | TextEncoding::Utf16Le => UTF_16LE,
        TextEncoding::Utf16BeBom => UTF_16BE,
        TextEncoding::Utf8Bom => UTF_8,
        TextEncoding::Ansi => ansi,
    };
    let (text, malformed) = decode_body(enc, body);
    let (text, cr_only) = normalize(text);
    Decoded {
        text,
        encoding,
        odd_utf16,
        malformed,
        cr_only,
    }
}

/// Capacity for `len` bytes of text: a quarter more for the tokens the lexer has to join and
/// the values substitution writes, appended to the same buffer later (a guess; the buffer grows
/// if a file needs more).
fn room(len: usize) -> usize {
    len.saturating_add(len / 4).saturating_add(256)
}

/// `enc.decode_without_bom_handling(body)` into a fresh buffer with [`room`] to spare.
fn decode_body(enc: &'static Encoding, body: &[u8]) -> (String, bool) {
    let borrowable = if enc == UTF_8 {
        Encoding::utf8_valid_up_to(body) == body.len()
    } else {
        enc.is_ascii_compatible() && Encoding::ascii_valid_up_to(body) == body.len()
    };
    if let Some(text) = borrowable.then(|| std::str::from_utf8(body).ok()).flatten() {
        let mut owned = String::with_capacity(room(text.len()));
        owned.push_str(text);
        return (owned, false);
    }
    // Mostly ASCII text: a UTF-16 code unit becomes one byte, a code page byte one byte; the
    // decoder stops when the buffer is full and is given what it can need for the rest.
    let expected = if enc == UTF_16LE || enc == UTF_16BE {
        body.len() / 2
    } else {
        body.len()
    };
    let mut text = String::with_capacity(room(expected));
    let mut decoder = enc.new_decoder_without_bom_handling();
    let mut read = 0;
    let mut malformed = false;
    loop {
        let rest = body.get(read..).unwrap_or_default();
        let (result, n, replaced) = decoder.decode_to_string(rest, &mut text, true);
        read += n;
        malformed |= replaced;
        if result == encoding_rs::CoderResult::InputEmpty {
            return (text, malformed);
        }
        let rest = body.len().saturating_sub(read);
        match decoder.max_utf8_buffer_length(rest) {
            // At least a few bytes, so that a decoder holding back a pending character moves on.
            Some(need) => text.reserve(need.saturating_add(rest / 4).max(16)),
            None => {
                let (text, malformed) = enc.decode_without_bom_handling(body);
                return (text.into_owned(), malformed);
            }
        }
    }
}

/// Picks the encoding and returns the body without its byte-order mark (and without a dangling
/// odd byte for UTF-16).
fn classify(bytes: &[u8]) -> (TextEncoding, &[u8], bool) {
    fn utf16(enc: TextEncoding, body: &[u8]) -> (TextEncoding, &[u8], bool) {
        let odd = body.len() % 2 == 1;
        let even = body
            .get(..body.len() - usize::from(odd))
            .unwrap_or_default();
        (enc, even, odd)
    }
    match bytes {
        [0xFF, 0xFE, rest @ ..] => utf16(TextEncoding::Utf16LeBom, rest),
        [0xFE, 0xFF, rest @ ..] => utf16(TextEncoding::Utf16BeBom, rest),
        [0xEF, 0xBB, 0xBF, rest @ ..] => (TextEncoding::Utf8Bom, rest, false),
        _ => {
            let even = &bytes[..bytes.len() - bytes.len() % 2];
            if is_text_unicode(even) {
                utf16(TextEncoding::Utf16Le, bytes)
            } else {
                (TextEncoding::Ansi, bytes, false)
            }
        }
    }
}

/// Truncates at the first Ctrl-Z, turns NUL into a blank, and takes lone CR as the line end in a
/// file that has no LF at all. All three replace ASCII by ASCII, so the text stays valid UTF-8.
fn normalize(mut text: String) -> (String, bool) {
    let cr_only = |t: &str| {
        memchr::memchr(b'\n', t.as_bytes()).is_none()
            && memchr::memchr(b'\r', t.as_bytes()).is_some()
    };
    if !has_nul_or_ctrl_z(text.as_bytes()) && !cr_only(&text) {
        return (text, false);
    }
    if let Some(end) = memchr::memchr(0x1A, text.as_bytes()) {
        // inf-behaviour.md H and C37: Ctrl-Z (0x1A) is the end of the file.
        text.truncate(end);
    }
    if text.contains('\0') {
        // inf-behaviour.md C39–C42: a NUL reads as a blank (trimmed like one at a field's end).
        text = text.replace('\0', " ");
    }
    let cr_only = cr_only(&text);
    if cr_only {
        // Windows only ends lines at LF (C30: a stray CR is a blank). A file with no LF at all
        // but CRs is a classic-Mac file; reading it as one line would lose everything, so CR
        // ends the line there (our choice, reported as a diagnostic).
        text = text.replace('\r', "\n");
    }
    (text, cr_only)
}

/// Whether `bytes` holds a NUL or a Ctrl-Z (one vectorised pass).
fn has_nul_or_ctrl_z(bytes: &[u8]) -> bool {
    memchr::memchr2(0, 0x1A, bytes).is_some()
}

/// The statistics of `RtlIsTextUnicode` (all tests enabled), on at most the first 256 code units,
/// as SetupAPI applies them to a BOM-less file: a buffer that looks like UTF-16LE text (ASCII in
/// the low bytes, zero high bytes, or UTF-16 control characters) is UTF-16; anything with
/// reversed-byte evidence, illegal code units (NUL, U+FFFE, U+FFFF, a packed CR LF) or an odd
/// length is not.
pub(crate) fn is_text_unicode(bytes: &[u8]) -> bool {
    const ASCII16: u32 = 0x1;
    const STATISTICS: u32 = 0x2;
    const CONTROLS: u32 = 0x4;
    const SIGNATURE: u32 = 0x8;
    const REVERSE_ASCII16: u32 = 0x10;
    const REVERSE_STATISTICS: u32 = 0x20;
    const REVERSE_CONTROLS: u32 = 0x40;
    const REVERSE_SIGNATURE: u32 = 0x80;
    const ILLEGAL_CHARS: u32 = 0x100;
    const ODD_LENGTH: u32 = 0x200;
    const NULL_BYTES: u32 = 0x1000;
    const UNICODE_MASK: u32 = ASCII16 | STATISTICS | CONTROLS | SIGNATURE;
    const REVERSE_MASK: u32 =
        REVERSE_ASCII16 | REVERSE_STATISTICS | REVERSE_CONTROLS | REVERSE_SIGNATURE;
    const NOT_UNICODE_MASK: u32 = 0x0F00;
    const NOT_ASCII_MASK: u32 = 0xF000;

    if bytes.len() < 2 {
        return false;
    }
    let mut flags = 0u32;
    let mut len = bytes.len();
    if len % 2 == 1 {
        flags |= ODD_LENGTH;
    }
    if bytes[len - 1] == 0 {
        len -= 1;
    }
    let units: Vec<u16> = bytes[..len]
        .chunks_exact(2)
        .take(256)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    match units.first() {
        Some(0xFEFF) => flags |= SIGNATURE,
        Some(0xFFFE) => flags |= REVERSE_SIGNATURE,
        _ => {}
    }
    let (mut lo_diff, mut hi_diff) = (0u32, 0u32);
    let (mut last_lo, mut last_hi) = (0u8, 0u8);
    for &u in &units {
        let [lo, hi] = u.to_le_bytes();
        lo_diff += u32::from(lo.abs_diff(last_lo));
        hi_diff += u32::from(hi.abs_diff(last_hi));
        last_lo = lo;
        last_hi = hi;
        if matches!(u, 0xFFFE | 0x0000 | 0x0A0D | 0xFFFF) {
            flags |= ILLEGAL_CHARS;
        }
    }
    if lo_diff < 127 && hi_diff == 0 {
        flags |= ASCII16;
    }
    if hi_diff != 0 && lo_diff == 0 {
        flags |= REVERSE_ASCII16;
    }
    let weight = 3;
    if weight * lo_diff < hi_diff {
        flags |= REVERSE_STATISTICS;
    }
    if weight * hi_diff < lo_diff {
        flags |= STATISTICS;
    }
    if units.iter().any(|&u| u & 0xFF == 0 || u >> 8 == 0) {
        flags |= NULL_BYTES;
    }
    if units
        .iter()
        .any(|&u| matches!(u, 0x000D | 0x000A | 0x0009 | 0x0020 | 0x3000))
    {
        flags |= CONTROLS;
    }
    if units
        .iter()
        .any(|&u| matches!(u, 0x0D00 | 0x0A00 | 0x0900 | 0x2000))
    {
        flags |= REVERSE_CONTROLS;
    }
    if flags & (REVERSE_MASK | NOT_UNICODE_MASK) != 0 {
        return false;
    }
    if flags & NOT_ASCII_MASK != 0 {
        return true;
    }
    flags & UNICODE_MASK != 0
}
