//! Hostile inputs for the INF parser: the small files in `tests/hostile/` (README.md says what
//! each attacks) and the big ones generated here rather than committed. The parser must return
//! (never panic), keep its limits, and say what it did.

use std::path::Path;

use infuse_driver_store::inf::{self, Inf, MAX_FIELD_LEN, OpenError, TextEncoding};

const HDR: &str = "[Version]\r\nSignature=\"$Windows NT$\"\r\n";

fn hostile(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/hostile")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn longest_field(inf: &Inf) -> usize {
    inf.sections
        .iter()
        .flat_map(|s| s.lines())
        .flat_map(|l| l.key().into_iter().chain(l.fields()))
        .map(|f| f.encode_utf16().count())
        .max()
        .unwrap_or(0)
}

#[test]
fn every_hostile_file_parses() {
    // Every file in the folder, including those other tests add: no panic, limits kept, and
    // the README names the file.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hostile");
    let readme = std::fs::read_to_string(dir.join("README.md")).expect("hostile/README.md");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("tests/hostile") {
        let path = entry.expect("dir entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        if name == "README.md" || path.is_dir() {
            continue;
        }
        assert!(
            readme.contains(&format!("`{name}`")),
            "hostile/README.md has no line for {name}"
        );
        let parsed = inf::parse(&std::fs::read(&path).expect("read hostile file"));
        assert!(longest_field(&parsed) <= MAX_FIELD_LEN, "{name}");
        seen += 1;
    }
    assert!(seen >= 6, "the hostile folder lost files ({seen})");
}

#[test]
fn truncated_utf16() {
    let parsed = inf::parse(&hostile("truncated-utf16.inf"));
    assert_eq!(parsed.encoding, TextEncoding::Utf16LeBom);
    // The last (half) code unit is dropped: the LF is lost, the line survives.
    assert_eq!(parsed.value("Strings", "k"), Some("value"));
    assert!(
        parsed
            .diagnostics
            .iter()
            .any(|d| d.message.contains("odd number of bytes"))
    );
}

#[test]
fn lone_cr_soup() {
    // CRs inside LF lines are blanks (inf-behaviour.md C30); `\` then CR LF continues the line.
    let parsed = inf::parse(&hostile("lone-cr-soup.inf"));
    assert_eq!(parsed.open_error, None);
    let t = parsed.section("T").expect("[T]");
    assert_eq!(t.lines().len(), 40);
    // A continuation joins with nothing in between (C6): `b` + `c`.
    assert!(
        t.lines()
            .iter()
            .all(|l| l.key() == Some("a") && l.fields() == ["bc"]),
        "{:?}",
        t.lines()[0]
    );
}

#[test]
fn nul_soup() {
    // Windows' RtlIsTextUnicode takes NUL-rich 8-bit text for UTF-16 unless a code unit
    // contradicts it; here NUL CR packs into the byte-reversed CR 0x0D00, so it is ANSI with
    // every NUL a blank (inf-behaviour.md C39), also inside brackets (A22).
    let parsed = inf::parse(&hostile("nul-soup.inf"));
    assert_eq!(parsed.encoding, TextEncoding::Ansi);
    assert_eq!(parsed.open_error, None);
    let t = parsed
        .section(" T ")
        .expect("[⟨NUL⟩T⟨NUL⟩] is named \" T \"");
    assert_eq!(t.lines().len(), 3);
    assert_eq!(t.lines()[0].key(), Some("k"));
    assert_eq!(t.lines()[0].fields(), [" v ", ""]);
}

#[test]
fn unterminated_everything() {
    let parsed = inf::parse(&hostile("unterminated.inf"));
    // The quote runs to the end of its line, backslash and all (C25, C26).
    assert_eq!(parsed.value("T", "a"), Some("never closed, ; \\"));
    // `[Strings` has no `]`: Windows refuses the file; we read on, naming the section by the
    // rest of the line, so the lines after it are not lost.
    assert_eq!(
        parsed.open_error,
        Some(OpenError::BadSectionNameLine { line: 5 })
    );
    assert_eq!(parsed.value("Strings", "b"), Some("%never closed"));
    // The final `[` at end of file is a second unterminated name.
    assert!(
        parsed
            .diagnostics
            .iter()
            .filter(|d| d.message.contains("ERROR_BAD_SECTION_NAME_LINE"))
            .count()
            == 2
    );
}

#[test]
fn percent_storm() {
    // Single pass (C49): `%a%` → `%b%` is not expanded again; `%%` → `%`.
    let parsed = inf::parse(&hostile("percent-storm.inf"));
    let t = parsed.section("T").expect("[T]");
    assert_eq!(t.lines().len(), 50);
    // `%%%a%%%%b%%%%%%c%%%` pairs left to right: %% %a% %% %b% %% %% %c% %% (C50), and each
    // token is replaced by the raw value of its string.
    assert!(
        t.lines()
            .iter()
            .all(|l| l.key().is_none() && l.fields() == ["%%b%%%a%%%%%%"]),
        "{:?}",
        t.lines()[0]
    );
    assert_eq!(parsed.value("Strings", "a"), Some("%a%"));
}

#[test]
fn backslash_storm() {
    // 200 lines that end in continuations and comments fold into one logical line with the
    // final `k=v`: every backslash before a line end or a comment is a continuation (C9, C10).
    let parsed = inf::parse(&hostile("backslash-storm.inf"));
    let t = parsed.section("T").expect("[T]");
    assert_eq!(t.lines().len(), 1);
    assert_eq!(t.lines()[0].key(), Some("k"));
    assert_eq!(
        t.lines()[0].number(),
        4,
        "the logical line starts where the first piece is"
    );
}

#[test]
fn gigantic_line() {
    // 32 MiB on one line: one field, truncated to the Windows limit, once reported.
    let mut text = format!("{HDR}[T]\r\nk=");
    text.push_str(&"x".repeat(32 << 20));
    text.push_str(",tail\r\n");
    let parsed = inf::parse(text.as_bytes());
    let line = &parsed.section("T").expect("[T]").lines()[0];
    assert_eq!(line.fields().get(0).map(str::len), Some(MAX_FIELD_LEN));
    assert_eq!(line.fields().get(1), Some("tail"));
    assert_eq!(
        parsed
            .diagnostics
            .iter()
            .filter(|d| d.message.contains("truncated"))
            .count(),
        1
    );
}

#[test]
fn gigantic_section_name() {
    // 1 MiB between brackets: Windows refuses names over 255 characters (A16).
    let text = format!("{HDR}[{}]\r\nk=v\r\n", "s".repeat(1 << 20));
    let parsed = inf::parse(text.as_bytes());
    assert_eq!(
        parsed.open_error,
        Some(OpenError::SectionNameTooLong { line: 3 })
    );
    assert_eq!(parsed.sections.len(), 2);
}

#[test]
fn a_million_sections() {
    let mut text = String::from(HDR);
    for i in 0..1_000_000 {
        text.push_str(&format!("[s{i}]\nk=v{i}\n"));
    }
    let parsed = inf::parse(text.as_bytes());
    assert_eq!(parsed.sections.len(), 1_000_001);
    assert_eq!(parsed.sections[1_000_000].lines()[0].fields(), ["v999999"]);
    assert_eq!(parsed.sections[1_000_000].number(), 2_000_001);
}

#[test]
fn a_million_headers_of_one_section() {
    // Duplicate headers merge at the first position (C43), however many there are.
    let mut text = String::from(HDR);
    for i in 0..1_000_000 {
        text.push_str(if i % 2 == 0 {
            "[S]\r\nk=v\r\n"
        } else {
            "[s]\r\n"
        });
    }
    let parsed = inf::parse(text.as_bytes());
    assert_eq!(parsed.sections.len(), 2);
    assert_eq!(parsed.sections[1].lines().len(), 500_000);
}

#[test]
fn deeply_continued_line() {
    // 200,000 physical lines joined by `\`: one logical line, its key cut at the field limit.
    let mut text = format!("{HDR}[T]\r\n");
    for _ in 0..200_000 {
        text.push_str("ab \\\r\n");
    }
    text.push_str("=v\r\nnext=1\r\n");
    let parsed = inf::parse(text.as_bytes());
    let t = parsed.section("T").expect("[T]");
    assert_eq!(t.lines().len(), 2);
    assert_eq!(t.lines()[0].key().map(str::len), Some(MAX_FIELD_LEN));
    assert_eq!(
        t.lines()[1].number(),
        200_000 + 5,
        "line numbers keep counting through continuations"
    );
}

#[test]
fn a_million_fields_and_nuls() {
    let mut text = format!("{HDR}[T]\r\nk=");
    text.push_str(&",".repeat(1_000_000));
    text.push_str("\r\n");
    let parsed = inf::parse(text.as_bytes());
    assert_eq!(
        parsed.section("T").expect("[T]").lines()[0].fields().len(),
        1_000_001
    );

    // 8 MiB of NUL: all blanks, no section, nothing else.
    let parsed = inf::parse(&vec![0u8; 8 << 20]);
    assert!(parsed.sections.is_empty());
    assert_eq!(parsed.open_error, Some(OpenError::WrongInfStyle));
}

#[test]
fn brackets_and_quotes_without_end() {
    // 4 MiB of `[`: one unterminated header; 4 MiB of `"`: empty-string pairs in one field.
    let parsed = inf::parse(format!("{HDR}{}", "[".repeat(4 << 20)).as_bytes());
    assert_eq!(
        parsed.open_error,
        Some(OpenError::BadSectionNameLine { line: 3 })
    );
    let parsed = inf::parse(format!("{HDR}[T]\nk={}\n", "\"".repeat(4 << 20)).as_bytes());
    assert_eq!(parsed.value("T", "k").map(str::len), Some(MAX_FIELD_LEN));
}

#[test]
fn lone_cr_only_file_of_a_million_lines() {
    let mut text = String::from("[Version]\rSignature=$Chicago$\r[T]\r");
    text.push_str(&"k=v\r".repeat(1_000_000));
    let parsed = inf::parse(text.as_bytes());
    assert_eq!(parsed.section("T").expect("[T]").lines().len(), 1_000_000);
}
