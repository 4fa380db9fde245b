//! Bytes → text: the encoding choice SetupAPI makes, and the character-level rules that hold in
//! every state of the lexer (Ctrl-Z ends the file, NUL reads as a blank).

use std::borrow::Cow;

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
pub(crate) struct Decoded<'a> {
    pub(crate) text: Cow<'a, str>,
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
/// Text that must be converted is written into `scratch`, a buffer reused between parses; ASCII
/// and valid UTF-8 text is borrowed from `bytes`.
pub(crate) fn decode<'a>(
    bytes: &'a [u8],
    ansi: &'static Encoding,
    scratch: &'a mut String,
) -> Decoded<'a> {
    let (encoding, body, odd_utf16) = classify(bytes);
    let enc = match encoding {
        TextEncoding::Utf16LeBom | TextEncoding::Utf16Le => UTF_16LE,
        TextEncoding::Utf16BeBom => UTF_16BE,
        TextEncoding::Utf8Bom => UTF_8,
        TextEncoding::Ansi => ansi,
    };
    let (text, malformed) = decode_body(enc, body, scratch);
    let (text, cr_only) = normalize(text);
    Decoded {
        text,
        encoding,
        odd_utf16,
        malformed,
        cr_only,
    }
}

/// `enc.decode_without_bom_handling(body)`, but converting into `scratch` (kept at least as long
/// as any text it held, so it is filled only when it grows).
fn decode_body<'a>(
    enc: &'static Encoding,
    body: &'a [u8],
    scratch: &'a mut String,
) -> (Cow<'a, str>, bool) {
    let borrowable = if enc == UTF_8 {
        Encoding::utf8_valid_up_to(body) == body.len()
    } else {
        enc.is_ascii_compatible() && Encoding::ascii_valid_up_to(body) == body.len()
    };
    if let Some(text) = borrowable.then(|| std::str::from_utf8(body).ok()).flatten() {
        return (Cow::Borrowed(text), false);
    }
    let mut decoder = enc.new_decoder_without_bom_handling();
    let Some(max) = decoder.max_utf8_buffer_length(body.len()) else {
        return enc.decode_without_bom_handling(body);
    };
    if scratch.len() < max {
        scratch.extend(std::iter::repeat_n('\0', max - scratch.len()));
    }
    let (result, read, written, malformed) = decoder.decode_to_str(body, scratch, true);
    match scratch.get(..written) {
        Some(text) if result == encoding_rs::CoderResult::InputEmpty && read == body.len() => {
            (Cow::Borrowed(text), malformed)
        }
        // Cannot happen with the room reserved; decode the plain way if it ever does.
        _ => enc.decode_without_bom_handling(body),
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
fn normalize(text: Cow<'_, str>) -> (Cow<'_, str>, bool) {
    let mut text = text;
    if !has_nul_or_ctrl_z(text.as_bytes()) {
        let cr_only = !text.contains('\n') && text.contains('\r');
        if !cr_only {
            return (text, false);
        }
    }
    if let Some(end) = text.find('\x1A') {
        // inf-behaviour.md H and C37: Ctrl-Z (0x1A) is the end of the file.
        match &mut text {
            Cow::Borrowed(s) => *s = &s[..end],
            Cow::Owned(s) => s.truncate(end),
        }
    }
    if text.contains('\0') {
        // inf-behaviour.md C39–C42: a NUL reads as a blank (trimmed like one at a field's end).
        text = Cow::Owned(text.replace('\0', " "));
    }
    let cr_only = !text.contains('\n') && text.contains('\r');
    if cr_only {
        // Windows only ends lines at LF (C30: a stray CR is a blank). A file with no LF at all
        // but CRs is a classic-Mac file; reading it as one line would lose everything, so CR
        // ends the line there (our choice, reported as a diagnostic).
        text = Cow::Owned(text.replace('\r', "\n"));
    }
    (text, cr_only)
}

/// Whether `bytes` holds a NUL or a Ctrl-Z, eight bytes at a time.
fn has_nul_or_ctrl_z(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // Classic zero-byte test: a byte of `x` is zero iff its high bit survives here.
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS != 0;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        if has_zero(w) || has_zero(w ^ (ONES * 0x1A)) {
            return true;
        }
    }
    chunks.remainder().iter().any(|&b| b == 0 || b == 0x1A)
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
