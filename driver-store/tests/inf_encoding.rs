//! How bytes become text: every encoding a real INF comes in, and every line end.
//! The rules are those of ecosystem.md §7 ("Encoding") and inf-behaviour.md H.

mod support;

use infuse_driver_store::inf::{self, ParseOptions, TextEncoding};
use support::{render, render_section};

const SAMPLE: &str = "[Version]\r\nSignature=\"$Windows NT$\"\r\nProvider=%Mfg%\r\n\r\n[Manufacturer]\r\n%Mfg%=Models,NTamd64\r\n\r\n[Models.NTamd64]\r\n%Desc% = Install, PCI\\VEN_1AF4&DEV_1004 ; comment\r\n\r\n[Strings]\r\nMfg=\"Contoso \u{c9}lectronique\"\r\nDesc=\"Contr\u{f4}leur \u{2122}\"\r\n";

fn utf16le(text: &str, bom: bool) -> Vec<u8> {
    let mut out = if bom { vec![0xFF, 0xFE] } else { Vec::new() };
    out.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    out
}

fn utf16be_bom(text: &str) -> Vec<u8> {
    let mut out = vec![0xFE, 0xFF];
    out.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
    out
}

fn expected() -> String {
    [
        r#"["Version"]"#,
        r#""Signature" = "$Windows NT$""#,
        r#""Provider" = "Contoso Électronique""#,
        r#"["Manufacturer"]"#,
        r#""Contoso Électronique" = "Models", "NTamd64""#,
        r#"["Models.NTamd64"]"#,
        r#""Contrôleur ™" = "Install", "PCI\VEN_1AF4&DEV_1004""#,
        r#"["Strings"]"#,
        r#""Mfg" = "Contoso Électronique""#,
        r#""Desc" = "Contrôleur ™""#,
    ]
    .join("\n")
}

#[test]
fn every_encoding_gives_the_same_file() {
    let (ansi, _, unmappable) = encoding_rs::WINDOWS_1252.encode(SAMPLE);
    assert!(!unmappable, "the sample fits Windows-1252");
    let mut utf8_bom = vec![0xEF, 0xBB, 0xBF];
    utf8_bom.extend_from_slice(SAMPLE.as_bytes());
    let lf = SAMPLE.replace("\r\n", "\n");
    let cr = SAMPLE.replace("\r\n", "\r");
    let (ansi_lf, _, _) = encoding_rs::WINDOWS_1252.encode(&lf);
    let (ansi_cr, _, _) = encoding_rs::WINDOWS_1252.encode(&cr);
    let forms: Vec<(&str, Vec<u8>, TextEncoding)> = vec![
        (
            "UTF-16LE with BOM",
            utf16le(SAMPLE, true),
            TextEncoding::Utf16LeBom,
        ),
        // RtlIsTextUnicode recognises BOM-less UTF-16LE text (ecosystem.md §7).
        (
            "UTF-16LE without BOM",
            utf16le(SAMPLE, false),
            TextEncoding::Utf16Le,
        ),
        (
            "UTF-16LE without BOM, LF",
            utf16le(&lf, false),
            TextEncoding::Utf16Le,
        ),
        (
            "UTF-16BE with BOM",
            utf16be_bom(SAMPLE),
            TextEncoding::Utf16BeBom,
        ),
        ("UTF-8 with BOM", utf8_bom, TextEncoding::Utf8Bom),
        ("ANSI CRLF", ansi.into_owned(), TextEncoding::Ansi),
        ("ANSI LF", ansi_lf.into_owned(), TextEncoding::Ansi),
        ("ANSI lone CR", ansi_cr.into_owned(), TextEncoding::Ansi),
        (
            "UTF-16LE with BOM, lone CR",
            utf16le(&cr, true),
            TextEncoding::Utf16LeBom,
        ),
    ];
    for (form, bytes, encoding) in forms {
        let parsed = inf::parse(&bytes);
        assert_eq!(parsed.encoding, encoding, "{form}");
        assert_eq!(render(&parsed), expected(), "{form}");
        assert_eq!(parsed.open_error, None, "{form}");
        let models = &parsed.section("models.ntamd64").expect("models").lines()[0];
        assert_eq!(
            models.number(),
            9,
            "{form}: line numbers count physical lines"
        );
    }
}

#[test]
fn bomless_utf8_follows_the_ansi_code_page() {
    // Without a BOM, Windows reads 8-bit files in the ANSI code page: UTF-8 bytes become
    // Windows-1252 characters, unless the system code page is UTF-8 (65001).
    let bytes = SAMPLE.as_bytes();
    let parsed = inf::parse(bytes);
    assert_eq!(parsed.encoding, TextEncoding::Ansi);
    assert_eq!(
        parsed.value("Strings", "Mfg"),
        Some("Contoso Ã‰lectronique")
    );
    let opts = ParseOptions {
        ansi: encoding_rs::UTF_8,
        ..ParseOptions::default()
    };
    let parsed = inf::parse_with(bytes, &opts);
    assert_eq!(render(&parsed), expected());
}

#[test]
fn lone_cr_is_a_line_end_only_in_a_file_without_lf() {
    // C30: in a file with LF line ends a CR is a blank: trimmed at the ends of a token, kept
    // as it is inside one (like a tab).
    let parsed = inf::parse(b"[Version]\nSignature=$Chicago$\n[T]\na\r=\rb\rc\n");
    assert_eq!(render_section(&parsed, "T"), r#""a" = "b⟨0D⟩c""#);
    // A classic-Mac file (CR only) reads line by line, and says so.
    let parsed = inf::parse(b"[Version]\rSignature=$Chicago$\r[T]\ra=b\rc=d\r");
    assert_eq!(render_section(&parsed, "T"), "\"a\" = \"b\"\n\"c\" = \"d\"");
    assert_eq!(parsed.section("T").map(|s| s.lines()[1].number()), Some(5));
    assert!(
        parsed
            .diagnostics
            .iter()
            .any(|d| d.message.contains("CR only")),
        "{:?}",
        parsed.diagnostics
    );
}

#[test]
fn odd_length_utf16_keeps_what_it_can_and_says_so() {
    let mut bytes = utf16le(SAMPLE, true);
    bytes.push(b'x');
    let parsed = inf::parse(&bytes);
    assert_eq!(render(&parsed), expected());
    assert!(
        parsed
            .diagnostics
            .iter()
            .any(|d| d.line == 0 && d.message.contains("odd number of bytes")),
        "{:?}",
        parsed.diagnostics
    );
    // Cut in the middle of the last character.
    let bytes = utf16le(SAMPLE, true);
    let parsed = inf::parse(&bytes[..bytes.len() - 3]);
    assert_eq!(parsed.value("Strings", "Mfg"), Some("Contoso Électronique"));
}

#[test]
fn nul_in_a_bomless_lf_file_makes_it_utf16_like_windows() {
    // RtlIsTextUnicode (ecosystem.md §7): NUL bytes are UTF-16 evidence unless a code unit is
    // illegal (here: no packed CR LF, since the file has LF line ends).
    let parsed = inf::parse(b"[Version]\nSignature=$Chicago$\n[T]\nab=c\0d\n");
    assert_eq!(parsed.encoding, TextEncoding::Utf16Le);
    // With CR LF at an odd offset the packed 0x0A0D unit rules UTF-16 out: ANSI, NUL = blank
    // (inf-behaviour.md C39).
    let parsed = inf::parse(b"[Version]\r\nSignature=$Chicago$\r\n[T]\r\nab=c\0d\r\n");
    assert_eq!(parsed.encoding, TextEncoding::Ansi);
    assert_eq!(render_section(&parsed, "T"), r#""ab" = "c d""#);
}

#[test]
fn bomless_8bit_text_can_look_like_utf16_as_on_windows() {
    // RtlIsTextUnicode's statistics (ecosystem.md §7) misfire on some ASCII text, the way
    // Notepad once did: an odd-length first line followed by short LF lines puts the varied
    // bytes in the low halves of the code units. Windows then reads the file as UTF-16, and so
    // do we, saying so. A CR LF at an odd offset (packed 0x0A0D, an illegal unit) prevents it.
    let mut text = String::from("[Version]\r\nSignature=\"$Windows NT$\"\r\n");
    text.push_str(&"[S]\nk=v\n".repeat(64));
    let parsed = inf::parse(text.as_bytes());
    assert_eq!(parsed.encoding, TextEncoding::Utf16Le);
    assert!(
        parsed
            .diagnostics
            .iter()
            .any(|d| d.message.contains("RtlIsTextUnicode"))
    );
    let crlf = text.replace('\n', "\r\n").replace("\r\r", "\r");
    assert_eq!(inf::parse(crlf.as_bytes()).encoding, TextEncoding::Ansi);
}

#[test]
fn unicode_blanks_are_trimmed_like_spaces() {
    // SetupAPI trims with iswspace, which knows U+3000 and U+00A0.
    let text = "[Version]\r\nSignature=$Chicago$\r\n[T]\r\n\u{3000}key\u{a0}=\u{3000}value\u{2003}x\u{3000}\r\n";
    let parsed = inf::parse(&utf16le(text, true));
    assert_eq!(render_section(&parsed, "T"), "\"key\" = \"value\u{2003}x\"");
}

#[test]
fn characters_outside_the_bmp_and_broken_surrogates_survive() {
    let text = "[Version]\r\nSignature=$Chicago$\r\n[T]\r\nk=\u{1F600}\r\n";
    let parsed = inf::parse(&utf16le(text, true));
    assert_eq!(parsed.value("T", "k"), Some("\u{1F600}"));
    // An unpaired surrogate becomes U+FFFD and is reported.
    let mut bytes = utf16le("[Version]\r\nSignature=$Chicago$\r\n[T]\r\nk=", true);
    bytes.extend_from_slice(&[0x00, 0xD8, b'x', 0x00]);
    let parsed = inf::parse(&bytes);
    assert_eq!(parsed.value("T", "k"), Some("\u{FFFD}x"));
    assert!(
        parsed
            .diagnostics
            .iter()
            .any(|d| d.message.contains("U+FFFD"))
    );
}

#[test]
fn tiny_and_empty_files() {
    for bytes in [
        &b""[..],
        b"\xFF",
        b"\xFF\xFE",
        b"\xFE\xFF\x00",
        b"\xEF\xBB",
        b"\xEF\xBB\xBF",
        b"\x1A",
        b"\0",
    ] {
        let parsed = inf::parse(bytes);
        assert!(parsed.sections.is_empty(), "{bytes:?}");
        assert!(parsed.open_error.is_some(), "{bytes:?}: no [Version]");
    }
}
