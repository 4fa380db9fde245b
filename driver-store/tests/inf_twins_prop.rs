//! Property: the parse of INF-like text does not depend on its line ends (LF or CR LF) or on its
//! encoding (UTF-16LE or UTF-8, both with a BOM). Random lines are built from the characters
//! that mean something to the lexer, so every state and transition gets exercised.

mod support;

use infuse_driver_store::inf;
use proptest::prelude::*;
use support::render;

fn utf16le_bom(text: &str) -> Vec<u8> {
    let mut out = vec![0xFF, 0xFE];
    out.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    out
}

fn utf8_bom(text: &str) -> Vec<u8> {
    let mut out = vec![0xEF, 0xBB, 0xBF];
    out.extend_from_slice(text.as_bytes());
    out
}

/// One physical line of INF-ish text (no CR, NUL or Ctrl-Z: those have rules of their own).
fn line() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("["),
        Just("]"),
        Just("="),
        Just(","),
        Just(";"),
        Just("\""),
        Just("\"\""),
        Just("\\"),
        Just("%"),
        Just("%s%"),
        Just("%24%"),
        Just(" "),
        Just("\t"),
        Just("\u{3000}"),
        Just("é"),
        Just("key"),
        Just("Strings"),
        Just("v"),
    ];
    proptest::collection::vec(piece, 0..12).prop_map(|p| p.concat())
}

fn file() -> impl Strategy<Value = String> {
    proptest::collection::vec(line(), 0..16).prop_map(|lines| {
        let mut text = String::from("[Version]\nSignature=$Chicago$\n[Strings]\ns=\"x,y\"\n[T]\n");
        for l in lines {
            text.push_str(&l);
            text.push('\n');
        }
        text
    })
}

proptest! {
    #[test]
    fn line_ends_and_encodings_do_not_change_the_parse(text in file()) {
        let crlf = text.replace('\n', "\r\n");
        let reference = inf::parse(&utf16le_bom(&text));
        let expected = (render(&reference), reference.open_error);
        for (form, bytes) in [
            ("UTF-8+BOM LF", utf8_bom(&text)),
            ("UTF-16LE+BOM CRLF", utf16le_bom(&crlf)),
            ("UTF-8+BOM CRLF", utf8_bom(&crlf)),
        ] {
            let parsed = inf::parse(&bytes);
            prop_assert_eq!(&(render(&parsed), parsed.open_error), &expected, "{}", form);
        }
    }
}
