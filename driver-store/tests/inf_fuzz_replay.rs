//! Replays the fuzz seeds and any crash the fuzzer found (`tests/fuzz_regressions/`) on stable
//! Rust, with the checks of the `parse` fuzz target (`driver-store/fuzz/fuzz_targets/parse.rs`).

use std::path::Path;

use infuse_driver_store::inf::{self, MAX_FIELD_LEN, MAX_STRING_LEN, ParseOptions, TextEncoding};

fn check(name: &str, data: &[u8]) {
    let parsed = inf::parse(data);
    let limit = MAX_FIELD_LEN.max(MAX_STRING_LEN);
    let physical_lines = u32::try_from(data.len())
        .unwrap_or(u32::MAX)
        .saturating_add(1);
    for section in &parsed.sections {
        assert!((1..=physical_lines).contains(&section.number()), "{name}");
        for line in section.lines() {
            assert!((1..=physical_lines).contains(&line.number()), "{name}");
            assert!(
                !line.fields().is_empty(),
                "{name}: a line always has a field"
            );
            for f in line.key().into_iter().chain(line.fields()) {
                assert!(
                    f.encode_utf16().count() <= limit,
                    "{name}: field over the limit"
                );
            }
        }
        assert!(
            parsed.section(section.name()).is_some(),
            "{name}: [{}]",
            section.name()
        );
    }
    let opts = ParseOptions {
        language: Some(0x0407),
        ansi: encoding_rs::UTF_8,
        expand_dirids: false,
        ..ParseOptions::default()
    };
    let other = inf::parse_with(data, &opts);
    if parsed.encoding != TextEncoding::Ansi {
        assert_eq!(other.sections.len(), parsed.sections.len(), "{name}");
    }
}

#[test]
fn fuzz_seeds_and_regressions_replay() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("tests/fuzz_regressions") {
        let path = entry.expect("dir entry").path();
        if path.extension().is_some_and(|e| e == "md") {
            continue;
        }
        let data = std::fs::read(&path).expect("read seed");
        check(&path.display().to_string(), &data);
        n += 1;
    }
    assert!(n >= 6, "seeds missing from {}", dir.display());
}

#[test]
fn seeds_reach_what_they_are_named_for() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions");
    let read = |n: &str| std::fs::read(dir.join(n)).expect("seed");
    assert_eq!(
        inf::parse(&read("seed-utf16-bomless.inf")).encoding,
        TextEncoding::Utf16Le
    );
    assert_eq!(
        inf::parse(&read("seed-utf16be.inf")).encoding,
        TextEncoding::Utf16BeBom
    );
    let parsed = inf::parse(&read("seed-percent.inf"));
    // `%a%%%b%` pairs left to right (C50): %a% → raw `%b%`, %% → %, `b` literal, and the
    // last `%` opens a token that never closes (kept, C48). %1% stays (no source dir); %-1% is
    // DIRID_ABSOLUTE, empty; %01% is DIRID 1 again.
    let line = &parsed.section("T").expect("[T]").lines()[0];
    assert_eq!(line.key(), Some("%b%%b%"));
    assert_eq!(line.fields(), ["%1%\\x", "C:\\\\y", "z", "%01%"]);
    let parsed = inf::parse(&read("seed-ctrlz-nul.inf"));
    assert_eq!(parsed.value("T ", "a"), Some("b c"));
    assert!(parsed.section("x").is_none(), "Ctrl-Z ended the file");
}
