//! Fuzz target: `inf::parse` on arbitrary bytes never panics, and what it returns keeps the
//! limits Windows keeps (fields and names within their lengths, line numbers within the file).
#![no_main]

use infuse_driver_store::inf::{self, MAX_FIELD_LEN, MAX_STRING_LEN, ParseOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let parsed = inf::parse(data);
    let limit = MAX_FIELD_LEN.max(MAX_STRING_LEN);
    let physical_lines = u32::try_from(data.len())
        .unwrap_or(u32::MAX)
        .saturating_add(1);
    for section in &parsed.sections {
        assert!(section.number() >= 1 && section.number() <= physical_lines);
        for line in section.lines() {
            assert!(line.number() >= 1 && line.number() <= physical_lines);
            assert!(!line.fields().is_empty(), "a line always has a field");
            for f in line.key().into_iter().chain(line.fields()) {
                assert!(f.encode_utf16().count() <= limit, "field over the limit");
            }
        }
    }
    // Lookups by each name find a section (the first of that name, case-insensitively); the
    // first 64 are enough (lookups are linear, and fuzz inputs can hold thousands).
    for section in parsed.sections.iter().take(64) {
        assert!(parsed.section(section.name()).is_some());
    }
    // The other option paths: no DIRIDs, another language, UTF-8 as the ANSI code page. The
    // sections do not depend on them, only the field texts do.
    let opts = ParseOptions {
        language: Some(0x0407),
        ansi: encoding_rs::UTF_8,
        expand_dirids: false,
        ..ParseOptions::default()
    };
    let other = inf::parse_with(data, &opts);
    if parsed.encoding != inf::TextEncoding::Ansi {
        assert_eq!(other.sections.len(), parsed.sections.len());
    }
});
