//! Every fact of `reference/inf-behaviour.md` sections A–H that concerns reading an INF file,
//! as data: `(case, input, expected)` rows run by one helper per table. Each row cites its case
//! (A14 = section A, row 14). Every input also runs as LF, CR LF, UTF-16LE with BOM and UTF-8
//! with BOM (`support::parse_twins`), which must all agree.
//!
//! The semantic halves of E (decorated section choice), F (driver lists) and G (service
//! installation) belong to the model (`inf::model`); here they are checked down to what the
//! lexer owes the model: the sections, keys and fields those facts are computed from.

mod support;

use infuse_driver_store::inf::{self, OpenError, ParseOptions};
use support::{STD, parse_twins, render, render_section, strings_block};

/// What `SetupOpenInfFile` answers: `Ok` or the error with its line.
#[derive(Debug, PartialEq)]
enum Open {
    Ok,
    WrongInfStyle,
    BadSectionNameLine(u32),
    SectionNameTooLong(u32),
    ExpectedSectionName(u32),
}

fn open_of(e: Option<OpenError>) -> Open {
    match e {
        None => Open::Ok,
        Some(OpenError::WrongInfStyle) => Open::WrongInfStyle,
        Some(OpenError::BadSectionNameLine { line }) => Open::BadSectionNameLine(line),
        Some(OpenError::SectionNameTooLong { line }) => Open::SectionNameTooLong(line),
        Some(OpenError::ExpectedSectionName { line }) => Open::ExpectedSectionName(line),
    }
}

fn check_open(case: &str, input: &[u8], expected: Open) {
    let parsed = parse_twins(case, input, &ParseOptions::default(), render);
    assert_eq!(open_of(parsed.open_error), expected, "{case}: {input:?}");
}

#[test]
fn a_whole_file_validity() {
    let std = STD;
    let a255 = "a".repeat(255);
    let a256 = "a".repeat(256);
    let cases: Vec<(&str, String, Open)> = vec![
        ("A0", "\r\n".into(), Open::WrongInfStyle),
        // A1: Windows answers ERROR_WRONG_INF_STYLE here (Wine differs).
        ("A1", "abcd\r\n".into(), Open::WrongInfStyle),
        ("A2", "[Version]\r\n".into(), Open::WrongInfStyle),
        ("A3", "[Version]\nSignature=".into(), Open::WrongInfStyle),
        ("A4", "[Version]\nSignature=foo".into(), Open::WrongInfStyle),
        ("A5", "[version]\nsignature=$chicago$".into(), Open::Ok),
        ("A6", "[VERSION]\nSIGNATURE=$CHICAGO$".into(), Open::Ok),
        ("A7", "[Version]\nSignature=$chicago$,abcd".into(), Open::Ok),
        (
            "A8",
            "[Version]\nabc=def\nSignature=$chicago$".into(),
            Open::Ok,
        ),
        (
            "A9",
            "[Version]\nabc=def\n[Version]\nSignature=$chicago$".into(),
            Open::Ok,
        ),
        ("A10", std.into(), Open::Ok),
        ("A11", format!("{std}[]\r\n"), Open::Ok),
        ("A12", format!("{std}]\r\n"), Open::Ok),
        ("A13", format!("{std}[{a255}]\r\n"), Open::Ok),
        ("A14", format!("{std}[ab\r\n"), Open::BadSectionNameLine(3)),
        (
            "A15",
            format!("{std}\n\n[ab\x1A]\n"),
            Open::BadSectionNameLine(5),
        ),
        (
            "A16",
            format!("{std}[{a256}]\r\n"),
            Open::SectionNameTooLong(3),
        ),
        ("A17", format!("[abc]\n{std}"), Open::Ok),
        ("A18", format!("abc\r\n{std}"), Open::ExpectedSectionName(1)),
        (
            "A19",
            format!(";\n;\nabc\r\n{std}"),
            Open::ExpectedSectionName(3),
        ),
        (
            "A20",
            format!(";\n;\nab\nab\n{std}"),
            Open::ExpectedSectionName(3),
        ),
        ("A21", format!(";aa\n;bb\n{std}"), Open::Ok),
        ("A22", format!("{std} [TestSection\0]\n"), Open::Ok),
        ("A23", format!("{std} [Test\0Section]\n"), Open::Ok),
        (
            "A24",
            format!("garbage1\ngarbage2\n[abc]\n{std}"),
            Open::ExpectedSectionName(1),
        ),
        // A25–A35: text before the first section is tolerated when [Strings] exists anywhere.
        (
            "A25",
            format!("garbage1\ngarbage2\n[Strings]\n{std}"),
            Open::Ok,
        ),
        (
            "A26",
            format!(";comment\ngarbage1\ngarbage2\n[abc]\n{std}"),
            Open::ExpectedSectionName(2),
        ),
        (
            "A27",
            format!(";comment\ngarbage1\ngarbage2\n[Strings]\n{std}"),
            Open::Ok,
        ),
        (
            "A28",
            format!(" \t\ngarbage1\ngarbage2\n[abc]\n{std}"),
            Open::ExpectedSectionName(2),
        ),
        (
            "A29",
            format!(" \t\ngarbage1\ngarbage2\n[Strings]\n{std}"),
            Open::Ok,
        ),
        (
            "A30",
            format!("garbage1\ngarbage2\n{std}[abc]\n"),
            Open::ExpectedSectionName(1),
        ),
        (
            "A31",
            format!("garbage1\ngarbage2\n{std}[Strings]\n"),
            Open::Ok,
        ),
        (
            "A32",
            format!(";comment\ngarbage1\ngarbage2\n{std}[abc]\n"),
            Open::ExpectedSectionName(2),
        ),
        (
            "A33",
            format!(";comment\ngarbage1\ngarbage2\n{std}[Strings]\n"),
            Open::Ok,
        ),
        (
            "A34",
            format!(" \t\ngarbage1\ngarbage2\n{std}[abc]\n"),
            Open::ExpectedSectionName(2),
        ),
        (
            "A35",
            format!(" \t\ngarbage1\ngarbage2\n{std}[Strings]\n"),
            Open::Ok,
        ),
    ];
    for (case, input, expected) in cases {
        check_open(case, input.as_bytes(), expected);
    }
}

#[test]
fn a_refused_files_still_parse_the_rest() {
    // A14: Windows stops at the unterminated header; we report it and keep reading.
    let parsed = inf::parse(format!("{STD}[ab\r\nx=1\r\n[c]\r\ny=2\r\n").as_bytes());
    assert_eq!(
        parsed.open_error,
        Some(OpenError::BadSectionNameLine { line: 3 })
    );
    assert_eq!(render_section(&parsed, "c"), r#""y" = "2""#);
    assert!(
        parsed
            .diagnostics
            .iter()
            .any(|d| d.line == 3 && d.message.contains("ERROR_BAD_SECTION_NAME_LINE")),
        "{:?}",
        parsed.diagnostics
    );
    // A18: the skipped text is reported at its line.
    let parsed = inf::parse(format!(";\nabc=1\n{STD}").as_bytes());
    assert!(
        parsed.diagnostics.iter().any(|d| d.line == 2),
        "{:?}",
        parsed.diagnostics
    );
    assert_eq!(
        parsed.sections.len(),
        1,
        "the text before [Version] is not a section"
    );
}

/// `(case, file text after ⟨STD⟩, name looked up, found?, every section name in file order)`.
#[test]
fn b_section_names() {
    let cases: &[(&str, &str, &str, bool, &[&str])] = &[
        (
            "B0",
            "[TestSection]",
            "TestSection",
            true,
            &["Version", "TestSection"],
        ),
        (
            "B1",
            "[TestSection]\n",
            "TestSection",
            true,
            &["Version", "TestSection"],
        ),
        (
            "B2",
            "[TESTSECTION]\r\n",
            "TestSection",
            true,
            &["Version", "TESTSECTION"],
        ),
        (
            "B3",
            "[TestSection]\n[abc]",
            "testsection",
            true,
            &["Version", "TestSection", "abc"],
        ),
        ("B4", ";[TestSection]\n", "TestSection", false, &["Version"]),
        (
            "B5",
            "[TestSection]\n",
            "Bad name",
            false,
            &["Version", "TestSection"],
        ),
        (
            "B6",
            "[TestSection]   \r\n",
            "TestSection",
            true,
            &["Version", "TestSection"],
        ),
        (
            "B7",
            "   [TestSection]\r\n",
            "TestSection",
            true,
            &["Version", "TestSection"],
        ),
        (
            "B8",
            "   [TestSection]   dummy\r\n",
            "TestSection",
            true,
            &["Version", "TestSection"],
        ),
        (
            "B9",
            "   [TestSection]   [foo]\r\n",
            "foo",
            false,
            &["Version", "TestSection"],
        ),
        (
            "B10",
            " [  Test Section  ] dummy\r\n",
            "  Test Section  ",
            true,
            &["Version", "  Test Section  "],
        ),
        (
            "B11",
            "[TestSection] \x1A\ndummy",
            "TestSection",
            true,
            &["Version", "TestSection"],
        ),
        (
            "B12",
            "[TestSection] \n\x1Adummy",
            "TestSection",
            true,
            &["Version", "TestSection"],
        ),
        (
            "B13",
            "[Test[Section]\r\n",
            "Test[Section",
            true,
            &["Version", "Test[Section"],
        ),
        (
            "B14",
            "[Test[S]ection]\r\n",
            "Test[S",
            true,
            &["Version", "Test[S"],
        ),
        (
            "B15",
            "[Test[[[Section]\r\n",
            "Test[[[Section",
            true,
            &["Version", "Test[[[Section"],
        ),
        ("B16", "[]\r\n", "", true, &["Version", ""]),
        ("B17", "[[[]\n", "[[", true, &["Version", "[["]),
        (
            "B18",
            "[Test\"Section]\r\n",
            "Test\"Section",
            true,
            &["Version", "Test\"Section"],
        ),
        (
            "B19",
            "[Test\\Section]\r\n",
            "Test\\Section",
            true,
            &["Version", "Test\\Section"],
        ),
        (
            "B20",
            "[Test\\ Section]\r\n",
            "Test\\ Section",
            true,
            &["Version", "Test\\ Section"],
        ),
        (
            "B21",
            "[Test;Section]\r\n",
            "Test;Section",
            true,
            &["Version", "Test;Section"],
        ),
        // B22: CR, BS and TAB inside the brackets are kept; a bare CR does not end the line.
        (
            "B22",
            " [Test\r\x08\tSection] \n",
            "Test\r\x08\tSection",
            true,
            &["Version", "Test\r\x08\tSection"],
        ),
    ];
    for &(case, text, lookup, found, names) in cases {
        let input = format!("{STD}{text}");
        let parsed = parse_twins(case, input.as_bytes(), &ParseOptions::default(), render);
        assert_eq!(
            parsed.section(lookup).is_some(),
            found,
            "{case}: lookup {lookup:?}"
        );
        let got: Vec<&str> = parsed.sections.iter().map(|s| s.name()).collect();
        assert_eq!(got, names, "{case}");
        assert_eq!(parsed.open_error, None, "{case}");
    }
}

/// Runs a key/field case: `text` follows `⟨STD⟩[Test]⟨LF⟩`, with the ⟨STRINGS⟩ block appended
/// after it when `strings` is set; the [Test] section must render as `expected`.
fn check_line(case: &str, text: &str, strings: bool, expected: &str) {
    let mut input = format!("{STD}[Test]\n{text}");
    if strings {
        input.push('\n');
        input.push_str(&strings_block());
    }
    let view = |i: &inf::Inf| render_section(i, "Test");
    let parsed = parse_twins(case, input.as_bytes(), &ParseOptions::default(), view);
    assert_eq!(view(&parsed), expected, "{case}: {text:?}");
}

#[test]
fn c_keys_and_fields() {
    let big11 = "%big%".repeat(11);
    let big9 = "%big%".repeat(9);
    let cases: &[(&str, &str, bool, &str)] = &[
        ("C0", "ab=cd", false, r#""ab" = "cd""#),
        (
            "C1",
            "ab=cd,ef,gh,ij",
            false,
            r#""ab" = "cd", "ef", "gh", "ij""#,
        ),
        ("C2", "ab", false, r#"null = "ab""#),
        ("C3", "ab,cd", false, r#"null = "ab", "cd""#),
        ("C4", "ab,cd=ef", false, r#"null = "ab", "cd=ef""#),
        ("C5", "=abcd,ef", false, r#""" = "abcd", "ef""#),
        ("C6", "ba\\\ncd=ef", false, r#""bacd" = "ef""#),
        ("C7", "ab  \\  \ncd=ef", false, r#""abcd" = "ef""#),
        ("C8", "ab\\\ncd,ef", false, r#"null = "abcd", "ef""#),
        ("C9", "ab  \\ ;cc\ncd=ef", false, r#""abcd" = "ef""#),
        ("C10", "ab \\ \\ \ncd=ef", false, r#""abcd" = "ef""#),
        ("C11", "ba \\ dc=xx", false, r#""ba \ dc" = "xx""#),
        ("C12", "ba \\\\ \nc=d", false, r#""bac" = "d""#),
        ("C13", "a=b\\\\c", false, r#""a" = "b\\c""#),
        ("C14", "ab=cd \\ ", false, r#""ab" = "cd""#),
        ("C15", "ba=c \\ \n \\ \n a", false, r#""ba" = "ca""#),
        ("C16", "ba=c \\ \n \\ a", false, r#""ba" = "c\ a""#),
        ("C17", "  \\ a= \\ b", false, r#""\ a" = "\ b""#),
        ("C18", "Ab\"Cd\"=Ef", false, r#""AbCd" = "Ef""#),
        ("C19", "Ab\"Cd=Ef\"", false, r#"null = "AbCd=Ef""#),
        (
            "C20",
            "ab\"\"\"cd,ef=gh\"",
            false,
            r#"null = "ab"cd,ef=gh""#,
        ),
        ("C21", "ab\"\"cd=ef", false, r#""abcd" = "ef""#),
        ("C22", "ab\"\"cd=ef,gh", false, r#""abcd" = "ef", "gh""#),
        ("C23", "ab=cd\"\"ef", false, r#""ab" = "cdef""#),
        ("C24", "ab=cd\",\"ef", false, r#""ab" = "cd,ef""#),
        ("C25", "ab=cd\",ef", false, r#""ab" = "cd,ef""#),
        (
            "C26",
            "ab=cd\",ef\\\nab",
            false,
            "\"ab\" = \"cd,ef\\\"\nnull = \"ab\"",
        ),
        (
            "C27",
            "HKLM,A,B,'C',D",
            false,
            r#"null = "HKLM", "A", "B", "'C'", "D""#,
        ),
        ("C28", " a b = c , d \n", false, r#""a b" = "c", "d""#),
        ("C29", " a b = c ,\" d\" \n", false, r#""a b" = "c", " d""#),
        ("C30", " a b\r = c\r\n", false, r#""a b" = "c""#),
        (
            "C31",
            "a=b,,,c,,,d",
            false,
            r#""a" = "b", "", "", "c", "", "", "d""#,
        ),
        (
            "C32",
            "a=b,\"\",c,\" \",d",
            false,
            r#""a" = "b", "", "c", " ", "d""#,
        ),
        ("C33", "=,,b", false, r#""" = "", "", "b""#),
        ("C34", ",=,,b", false, r#"null = "", "=", "", "b""#),
        ("C35", "a=\n", false, r#""a" = """#),
        ("C36", "=", false, r#""" = """#),
        ("C37", "ab=c\x1Ad", false, r#""ab" = "c""#),
        ("C38", "ab\x1A=cd", false, r#"null = "ab""#),
        ("C39", "abcd=ef\0gh", false, r#""abcd" = "ef gh""#),
        (
            "C40",
            "foo=%bar%\n[Strings]\nbar=bbb\0\n",
            false,
            r#""foo" = "bbb""#,
        ),
        (
            "C41",
            "foo=%bar%\n[Strings]\nbar=bbb \0\n",
            false,
            r#""foo" = "bbb""#,
        ),
        (
            "C42",
            "foo=%bar%\n[Strings]\nbar=aaa\0bbb \0\n",
            false,
            r#""foo" = "aaa bbb""#,
        ),
        ("C44", "%foo%=%bar%", true, r#""aaa" = "bbb""#),
        ("C45", "%foo%xx=%bar%yy", true, r#""aaaxx" = "bbbyy""#),
        ("C46", "%% %foo%=%bar%", true, r#""% aaa" = "bbb""#),
        ("C47", "%f\"o\"o%=ccc", true, r#""aaa" = "ccc""#),
        ("C48", "abc=%bar;bla%", true, r#""abc" = "%bar""#),
        ("C49", "loop=%loop%", true, r#""loop" = "%loop2%""#),
        ("C50", "%per%%cent%=100", true, r#""12" = "100""#),
        ("C51", "a=%big%", true, r#""a" = "a"×400"#),
        // C52: Vista and later keep the whole 1200 characters (XP: 511).
        ("C52", "a=%verybig%", true, r#""a" = "a"×1200"#),
        ("C53", "a=%big%%big%%big%%big%", true, r#""a" = "a"×1600"#),
        ("C54", &format!("a={big9}"), true, r#""a" = "a"×3600"#),
        // C55: Windows 10 1709 and later cap at 4096 (older Windows and Wine: 4097).
        ("C55", &format!("a={big11}"), true, r#""a" = "a"×4096"#),
        ("C56", "ab=\"%24%\"", true, r#""ab" = "C:\""#),
        ("C57", "ab=\"%mydrive%\"", true, r#""ab" = "C:\""#),
        ("C58", "ab=\"%24%\\fred\"", true, r#""ab" = "C:\fred""#),
        (
            "C59",
            "ab=\"%mydrive%\\fred\"",
            true,
            r#""ab" = "C:\\fred""#,
        ),
        ("C60", "ab=\"%24%\\\\fred\"", false, r#""ab" = "C:\\fred""#),
        ("C61", "ab=C:\\\\FRED", false, r#""ab" = "C:\\FRED""#),
    ];
    for &(case, text, strings, expected) in cases {
        check_line(case, text, strings, expected);
    }
}

#[test]
fn c2_single_field_line_is_its_own_key() {
    // C2: field 0 of `ab` is `ab`, and FindFirstLine(key "ab") finds it; C3: `ab,cd` has no key.
    let parsed = inf::parse(format!("{STD}[Test]\nab\nx,y\n").as_bytes());
    let test = parsed.section("Test").expect("[Test]");
    let line = test.find("AB").expect("found by its only field");
    assert_eq!((line.field(0), line.field(1)), (Some("ab"), Some("ab")));
    assert_eq!(test.lines()[1].field(0), None);
    assert!(test.find("x").is_none());
}

#[test]
fn c19_quoted_equals_line_is_its_own_key() {
    // C19: `Ab"Cd=Ef"` is a single-field line whose key equals its value.
    let parsed = inf::parse(format!("{STD}[Test]\nAb\"Cd=Ef\"\n").as_bytes());
    let line = &parsed.section("Test").expect("[Test]").lines()[0];
    assert_eq!(
        (line.field(0), line.field(1)),
        (Some("AbCd=Ef"), Some("AbCd=Ef"))
    );
}

#[test]
fn c43_duplicate_sections_merge_at_the_first_position() {
    let input = format!("{STD}[Test]\n[Test2]\nab\n[Test]\nee=ff\n");
    let parsed = parse_twins("C43", input.as_bytes(), &ParseOptions::default(), render);
    assert_eq!(
        render(&parsed),
        "[\"Version\"]\n\"Signature\" = \"$CHICAGO$\"\n[\"Test\"]\n\"ee\" = \"ff\"\n[\"Test2\"]\nnull = \"ab\""
    );
}

#[test]
fn c44_keys_are_substituted_at_parse_time() {
    // C44: FindFirstLine by the raw `%foo%` fails; by `aaa` it succeeds.
    let input = format!("{STD}[Test]\n%foo%=%bar%\n{}", strings_block());
    let parsed = inf::parse(input.as_bytes());
    let test = parsed.section("Test").expect("[Test]");
    assert!(test.find("%foo%").is_none());
    assert_eq!(test.find("AAA").and_then(|l| l.field(1)), Some("bbb"));
}

#[test]
fn d_accessors() {
    // D SetupEnumInfSections: empty sections are sections too, in file order.
    let parsed =
        inf::parse(format!("{STD}[s1]\nfoo=bar\n[s2]\nbar=foo\n[s3]\n[strings]\na=b\n").as_bytes());
    let names: Vec<&str> = parsed.sections.iter().map(|s| s.name()).collect();
    assert_eq!(names, ["Version", "s1", "s2", "s3", "strings"]);

    // D pSetupGetField: an unknown token stays verbatim (quotes stripped); a 4097-character
    // field keeps 4096 (Vista and later); there is no field 4.
    let input = format!(
        "{STD}[Test]\nRTMQFE=\"%RTMGFE_NAME%\",SP1RTM,{}\n[Strings]\nRTMQFE_NAME = \"RTMQFE\"\n",
        "a".repeat(4097)
    );
    let parsed = parse_twins(
        "D pSetupGetField",
        input.as_bytes(),
        &ParseOptions::default(),
        render,
    );
    let line = &parsed.section("Test").expect("[Test]").lines()[0];
    assert_eq!(line.field(0), Some("RTMQFE"));
    assert_eq!(line.field(1), Some("%RTMGFE_NAME%"));
    assert_eq!(line.field(2), Some("SP1RTM"));
    assert_eq!(line.field(3).map(str::len), Some(4096));
    assert_eq!(line.field(4), None);
    assert!(
        parsed
            .diagnostics
            .iter()
            .any(|d| d.message.contains("truncated")),
        "{:?}",
        parsed.diagnostics
    );

    // D SetupGetIntField: `(line, index, value)`.
    let ints: &[(&str, usize, Option<i32>)] = &[
        ("Key=48", 1, Some(48)),
        ("Key=48", 0, None),
        ("123=48", 0, Some(123)),
        ("Key=0x4", 1, Some(4)),
        ("Key=Field1", 1, None),
        ("Key=Field1,34", 2, Some(34)),
        ("Key=Field1,,Field3", 2, Some(0)),
        ("Key=Field1,", 2, Some(0)),
    ];
    for &(text, n, expected) in ints {
        let parsed = inf::parse(format!("{STD}[Test]\n{text}\n").as_bytes());
        let line = &parsed.section("Test").expect("[Test]").lines()[0];
        assert_eq!(
            line.int_field(n),
            expected,
            "D SetupGetIntField {text:?} #{n}"
        );
    }

    // D SetupGetBinaryField: every field is hex, with or without 0x; 0x123 does not fit a byte.
    let parsed =
        inf::parse(format!("{STD}[Test]\nkey1=0,11,022,0xaA,0x0Ff\nkey2=123\n").as_bytes());
    let test = parsed.section("Test").expect("[Test]");
    assert_eq!(
        test.find("key1").and_then(|l| l.binary_field(2)),
        Some(vec![0x11, 0x22, 0xAA, 0xFF])
    );
    assert_eq!(test.find("key2").and_then(|l| l.binary_field(1)), None);

    // D SetupFindFirstLine / SetupGetLineCount / SetupGetLineByIndex.
    let parsed = inf::parse(
        format!("{STD}[Sectionname]\nKeyname1=Field1,Field2,Field3\n\nKeyname2=Field4,Field5\n")
            .as_bytes(),
    );
    assert!(parsed.section("Missing").is_none());
    assert!(parsed.value("Missing", "Keyname1").is_none());
    let section = parsed.section("sectionname").expect("[Sectionname]");
    assert!(section.find("Missing").is_none());
    assert_eq!(section.lines().len(), 2, "blank lines are not lines");
    assert!(section.lines().get(1).is_some() && section.lines().get(3).is_none());
    assert_eq!(parsed.value("SECTIONNAME", "keyname2"), Some("Field4"));
}

#[test]
fn e_decorated_sections_are_found_case_insensitively() {
    // E: the sections the decoration rules choose among; the choice itself is the model's.
    let input = format!(
        "{STD}[section1]\n[section2]\n[section2.nt]\n[section3]\n[section3.ntAMD64]\n[section4]\n[section4.nt]\n[section4.ntAMD64]\n[section5.nt]\n[section6.ntAMD64]\n[section7]\n[section7.ntARM64]\n[section8.ntARM64]\n[section9.ntAMD64]\n[section9.ntx86]\n[section10.ntx86]\n"
    );
    let parsed = parse_twins("E", input.as_bytes(), &ParseOptions::default(), render);
    for name in [
        "section2.NT",
        "SECTION3.NTAMD64",
        "section4.NTamd64",
        "Section10.NTX86",
    ] {
        assert!(parsed.section(name).is_some(), "E: {name}");
    }
    let section4: Vec<&str> = parsed
        .sections_with_prefix("SECTION4")
        .map(|s| s.name())
        .collect();
    assert_eq!(section4, ["section4", "section4.nt", "section4.ntAMD64"]);
    assert!(parsed.section("section8").is_none());
}

#[test]
fn f_manufacturer_and_models_lines() {
    // F: the lines the driver list is built from, field for field.
    let input = format!(
        "{STD}ClassGuid={{6a55b5a4-3f65-11db-b704-0011955c2bdb}}\n[Manufacturer]\nmfg1=mfg1_key,NTAMD64\nmfg3=mfg3_key,NTARM64\n[mfg1_key.ntAMD64]\ndesc0=,other_hardware_id,bogus_compat_id\ndesc1=install1,bogus_hardware_id\ndesc4=,wrong_hardware_id,bogus_compat_id\n[install1.ntAMD64]\n"
    );
    let parsed = parse_twins("F", input.as_bytes(), &ParseOptions::default(), render);
    assert_eq!(
        render(&parsed),
        [
            r#"["Version"]"#,
            r#""Signature" = "$CHICAGO$""#,
            r#""ClassGuid" = "{6a55b5a4-3f65-11db-b704-0011955c2bdb}""#,
            r#"["Manufacturer"]"#,
            r#""mfg1" = "mfg1_key", "NTAMD64""#,
            r#""mfg3" = "mfg3_key", "NTARM64""#,
            r#"["mfg1_key.ntAMD64"]"#,
            r#""desc0" = "", "other_hardware_id", "bogus_compat_id""#,
            r#""desc1" = "install1", "bogus_hardware_id""#,
            r#""desc4" = "", "wrong_hardware_id", "bogus_compat_id""#,
            r#"["install1.ntAMD64"]"#,
        ]
        .join("\n")
    );
    // F: an INF without Provider has no such line (the model reports an empty provider).
    assert!(parsed.value("Version", "Provider").is_none());
}

#[test]
fn g_service_and_file_lines() {
    let input = format!(
        "{STD}[Install.Services]\nAddService=Winetest,,Winetest.Service\nAddService=,2\n[Winetest.Service]\nServiceBinary=%12%\\winetest.sys <arg> service\nServiceType=1\nStartType=4\nErrorControl=1\n[DestinationDirs]\nWinetest.DriverFiles=12\n"
    );
    let parsed = parse_twins("G", input.as_bytes(), &ParseOptions::default(), render);
    assert_eq!(
        render_section(&parsed, "Install.Services"),
        "\"AddService\" = \"Winetest\", \"\", \"Winetest.Service\"\n\"AddService\" = \"\", \"2\""
    );
    // G: arguments after the binary path stay in the one field; %12% is the drivers directory.
    assert_eq!(
        parsed.value("Winetest.Service", "ServiceBinary"),
        Some(r"C:\Windows\System32\drivers\winetest.sys <arg> service")
    );
    assert_eq!(
        parsed
            .section("Winetest.Service")
            .and_then(|s| s.find("StartType"))
            .and_then(|l| l.int_field(1)),
        Some(4)
    );
    assert_eq!(
        parsed.value("DestinationDirs", "Winetest.DriverFiles"),
        Some("12")
    );
    // A caller that resolves DIRIDs itself can keep them as written.
    let opts = ParseOptions {
        expand_dirids: false,
        ..ParseOptions::default()
    };
    let kept = inf::parse_with(input.as_bytes(), &opts);
    assert_eq!(
        kept.value("Winetest.Service", "ServiceBinary"),
        Some(r"%12%\winetest.sys <arg> service")
    );
    // G SetupGetInfFileList: these signatures make a Windows INF.
    for sig in ["$Chicago$", "$CHICAGO$", "$WINDOWS NT$", "\"$Windows NT$\""] {
        let parsed = inf::parse(format!("[Version]\nSignature={sig}\n").as_bytes());
        assert_eq!(parsed.open_error, None, "G: {sig}");
    }
}

#[test]
fn h_limits_and_substitution_rules() {
    // H: $Windows 95$ is a signature too.
    assert_eq!(
        inf::parse(b"[Version]\nSignature=$windows 95$\n").open_error,
        None
    );
    // H MAX_FIELD_LEN: a longer token is silently truncated (Vista and later: 4096).
    let long = format!("{STD}[Test]\nk={}\n", "b".repeat(5000));
    check_line_in("H field limit", &long, r#""k" = "b"×4096"#);
    // H: a key longer than the limit is cut the same way.
    let long_key = format!("{STD}[Test]\n{}=v\n", "k".repeat(4500));
    check_line_in("H key limit", &long_key, r#""k"×4096 = "v""#);
    // H: [Strings] keys are looked up case-insensitively; the first definition wins.
    let input = format!("{STD}[Test]\na=%FOO%\n[Strings]\nfoo=first\nFOO=second\n");
    check_line_in("H lookup", &input, r#""a" = "first""#);
    // H: an unknown numeric token (no DIRID 7777) stays verbatim, and so does %0%.
    let input = format!("{STD}[Test]\na=%7777%,%0%,%x%\n");
    check_line_in("H unknown", &input, r#""a" = "%7777%", "%0%", "%x%""#);
    // H: a DIRID only drops its backslash before a backslash; DIRID 11 and 10.
    let input = format!("{STD}[Test]\na=%11%\\x.dll,%10%\n");
    check_line_in(
        "H dirid",
        &input,
        r#""a" = "C:\Windows\System32\x.dll", "C:\Windows""#,
    );
    // DIRID 13 is the package's driver-store folder (Windows 10+), unknown before install:
    // kept as written unless the caller names it.
    let input = format!("{STD}[Test]\na=%13%\\svc.exe\n");
    check_line_in("H dirid 13", &input, r#""a" = "%13%\svc.exe""#);
    let opts = ParseOptions {
        package_dir: Some(
            r"C:\Windows\System32\DriverStore\FileRepository\x.inf_amd64_0123".into(),
        ),
        ..ParseOptions::default()
    };
    assert_eq!(
        inf::parse_with(input.as_bytes(), &opts).value("Test", "a"),
        Some(r"C:\Windows\System32\DriverStore\FileRepository\x.inf_amd64_0123\svc.exe")
    );
    // H: a [Strings] value wins over a DIRID of the same number (C56 vs the 22=foo line).
    let input = format!("{STD}[Test]\na=%22%\n{}", strings_block());
    check_line_in("H string before dirid", &input, r#""a" = "foo""#);
}

fn check_line_in(case: &str, input: &str, expected: &str) {
    let view = |i: &inf::Inf| render_section(i, "Test");
    let parsed = parse_twins(case, input.as_bytes(), &ParseOptions::default(), view);
    assert_eq!(view(&parsed), expected, "{case}");
}

#[test]
fn localized_strings_follow_the_requested_language() {
    // Not in Wine's tests (ecosystem.md §7 "needed for drivers"). The order is the one the
    // SetupAPI documentation of the Strings section gives: the exact language id, then its
    // primary language alone, then the undecorated [Strings].
    let input = format!(
        "{STD}[Test]\nd=%desc%\nv=%vendor%\n[Strings]\ndesc=English\nvendor=Contoso\n[Strings.0407]\ndesc=Deutsch\n[Strings.0007]\ndesc=Deutsch allgemein\n[Strings.040C]\ndesc=Fran\u{e7}ais\nvendor=Contoso France\n"
    );
    let cases: &[(&str, Option<u16>, &str)] = &[
        (
            "en-US",
            Some(0x0409),
            "\"d\" = \"English\"\n\"v\" = \"Contoso\"",
        ),
        (
            "de-DE exact",
            Some(0x0407),
            "\"d\" = \"Deutsch\"\n\"v\" = \"Contoso\"",
        ),
        (
            "de-CH primary",
            Some(0x0807),
            "\"d\" = \"Deutsch allgemein\"\n\"v\" = \"Contoso\"",
        ),
        (
            "fr-FR",
            Some(0x040C),
            "\"d\" = \"Fran\u{e7}ais\"\n\"v\" = \"Contoso France\"",
        ),
        ("none", None, "\"d\" = \"English\"\n\"v\" = \"Contoso\""),
    ];
    // The fixture is an ANSI file, like the Wine ones: ç is one Windows-1252 byte.
    let (ansi, _, _) = encoding_rs::WINDOWS_1252.encode(&input);
    for &(case, language, expected) in cases {
        let opts = ParseOptions {
            language,
            ..ParseOptions::default()
        };
        let view = |i: &inf::Inf| render_section(i, "Test");
        let parsed = parse_twins(case, &ansi, &opts, view);
        assert_eq!(view(&parsed), expected, "{case}");
    }
}
