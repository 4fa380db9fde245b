//! Shared helpers of the INF parser tests: a compact text rendering of a parse, and the twin
//! runner that feeds every fixture as LF, CR LF, UTF-16LE with BOM and UTF-8 with BOM.
#![allow(dead_code, unreachable_pub, reason = "each test binary uses a subset")]

use infuse_driver_store::inf::{self, Inf, ParseOptions};

/// `[Version]⟨CR⟩⟨LF⟩Signature="$CHICAGO$"⟨CR⟩⟨LF⟩`, the header of the Wine test files.
pub const STD: &str = "[Version]\r\nSignature=\"$CHICAGO$\"\r\n";

/// The `[Strings]` block the Wine key/field cases append (inf-behaviour.md notation ⟨STRINGS⟩).
pub fn strings_block() -> String {
    format!(
        "[Strings]\nfoo=aaa\nbar=bbb\nloop=%loop2%\nloop2=%loop%\nper%%cent=abcd\nper=1\ncent=2\n22=foo\nbig={}\nmydrive=\"C:\\\"\nverybig={}\n",
        "a".repeat(400),
        "a".repeat(1200)
    )
}

/// One string, quoted; control characters as `⟨XX⟩`; runs of 16 or more of one character as
/// `"a"×400` (the notation of inf-behaviour.md).
pub fn show(s: &str) -> String {
    let mut chars = s.chars();
    if let Some(first) = chars.next() {
        let n = s.chars().count();
        if n >= 16 && chars.all(|c| c == first) {
            return format!("\"{first}\"×{n}");
        }
    }
    let mut out = String::from("\"");
    for c in s.chars() {
        if c.is_control() {
            out.push_str(&format!("⟨{:02X}⟩", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out.push('"');
    out
}

/// One line: `"key" = "f1", "f2"`, or `null = …` for a line without `=`.
pub fn render_line(line: &inf::Line) -> String {
    let key = line.key().map_or_else(|| "null".to_owned(), show);
    let fields: Vec<String> = line.fields().map(show).collect();
    format!("{key} = {}", fields.join(", "))
}

/// One section's lines, one per text line.
pub fn render_section(inf: &Inf, name: &str) -> String {
    match inf.section(name) {
        Some(s) => s
            .lines()
            .iter()
            .map(render_line)
            .collect::<Vec<_>>()
            .join("\n"),
        None => format!("<no section {name}>"),
    }
}

/// The whole file: `[name]` then its lines.
pub fn render(inf: &Inf) -> String {
    let mut out = Vec::new();
    for s in &inf.sections {
        out.push(format!("[{}]", show(s.name())));
        out.extend(s.lines().iter().map(render_line));
    }
    out.join("\n")
}

/// The four forms every fixture runs as (STYLE.md): LF, CR LF, UTF-16LE with BOM, UTF-8 with
/// BOM. The input is 8-bit text (read as Windows-1252, as the Wine tests write their files).
pub fn twins(input: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    let (text, _, _) = encoding_rs::WINDOWS_1252.decode(input);
    let lf = text.replace("\r\n", "\n");
    let crlf = lf.replace('\n', "\r\n");
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    let mut utf8 = vec![0xEF, 0xBB, 0xBF];
    utf8.extend_from_slice(text.as_bytes());
    let (lf_bytes, _, _) = encoding_rs::WINDOWS_1252.encode(&lf);
    let (crlf_bytes, _, _) = encoding_rs::WINDOWS_1252.encode(&crlf);
    let mut forms = vec![("as written", input.to_vec())];
    // A NUL in a BOM-less 8-bit file lets RtlIsTextUnicode take it for UTF-16 unless a packed
    // CR LF code unit says otherwise (ecosystem.md §7), so changing the line ends of such a
    // file changes its encoding, as on Windows (pinned in inf_encoding.rs). Those fixtures run
    // in the BOM forms only.
    if !input.contains(&0) {
        forms.push(("LF", lf_bytes.into_owned()));
        forms.push(("CRLF", crlf_bytes.into_owned()));
    }
    forms.push(("UTF-16LE+BOM", utf16));
    forms.push(("UTF-8+BOM", utf8));
    forms
}

/// Parses `input` in every twin form with `opts`, asserts they all give the same rendering
/// (`view`) and the same open result, and returns the parse of the input as written.
pub fn parse_twins(
    case: &str,
    input: &[u8],
    opts: &ParseOptions,
    view: impl Fn(&Inf) -> String,
) -> Inf {
    let mut first: Option<(String, Option<inf::OpenError>)> = None;
    let mut original = None;
    for (form, bytes) in twins(input) {
        let parsed = inf::parse_with(&bytes, opts);
        let seen = (view(&parsed), parsed.open_error);
        match &first {
            None => first = Some(seen),
            Some(expected) => assert_eq!(
                &seen, expected,
                "{case}: the {form} twin parses differently from the file as written"
            ),
        }
        original.get_or_insert(parsed);
    }
    original.expect("twins() always yields the input itself")
}
