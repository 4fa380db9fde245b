//! End-to-end tests of `infuse inf dump` through the real binary, and the shared corpus.

use std::path::{Path, PathBuf};

use infuse_driver_store::inf::{self, OpenError};
use infuse_tests::{corpus_dir, infuse};
use serde_json::{Value, json};

const SAMPLE: &str = "; a comment before everything\r\n[Version]\r\nSignature=\"$Windows NT$\"\r\nProvider=%Mfg%\r\n\r\n[Models.NTamd64]\r\n%Desc%=Install,PCI\\VEN_1AF4&DEV_1004 , \"a, b\"\r\nlone line\r\n[version]\r\nClass=SCSIAdapter\r\n[Strings]\r\nMfg=\"Red Hat, Inc.\"\r\nDesc=\"VirtIO SCSI\"\r\n[Strings.0407]\r\nDesc=\"VirtIO-SCSI-Controller\"\r\n";

fn write_sample(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write fixture");
    path
}

#[test]
fn dump_json_has_the_documented_schema() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write_sample(dir.path(), "sample.inf", SAMPLE.as_bytes());
    let out = infuse()
        .args(["inf", "dump", "--json"])
        .arg(&path)
        .output()
        .expect("run infuse");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Value = serde_json::from_slice(&out.stdout).expect("stdout is json");
    // Sections in file order, the duplicate [version] merged into [Version] at its position,
    // keys after substitution, `null` for a line without `=`.
    let expected = json!({"sections": [
        {"name": "Version", "lines": [
            {"key": "Signature", "fields": ["$Windows NT$"]},
            {"key": "Provider", "fields": ["Red Hat, Inc."]},
            {"key": "Class", "fields": ["SCSIAdapter"]}
        ]},
        {"name": "Models.NTamd64", "lines": [
            {"key": "VirtIO SCSI", "fields": ["Install", "PCI\\VEN_1AF4&DEV_1004", "a, b"]},
            {"key": null, "fields": ["lone line"]}
        ]},
        {"name": "Strings", "lines": [
            {"key": "Mfg", "fields": ["Red Hat, Inc."]},
            {"key": "Desc", "fields": ["VirtIO SCSI"]}
        ]},
        {"name": "Strings.0407", "lines": [
            {"key": "Desc", "fields": ["VirtIO-SCSI-Controller"]}
        ]}
    ]});
    assert_eq!(got, expected);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn dump_lang_picks_the_localized_strings() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write_sample(dir.path(), "sample.inf", SAMPLE.as_bytes());
    let out = infuse()
        .args(["inf", "dump", "--json", "--lang", "0407"])
        .arg(&path)
        .output()
        .expect("run infuse");
    assert!(out.status.success());
    let got: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        got["sections"][1]["lines"][0]["key"],
        "VirtIO-SCSI-Controller"
    );
    // A key missing from [Strings.0407] falls back to [Strings].
    assert_eq!(got["sections"][0]["lines"][1]["fields"][0], "Red Hat, Inc.");

    let out = infuse()
        .args(["inf", "dump", "--lang", "german"])
        .arg(&path)
        .output()
        .expect("run infuse");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not a language id") && err.contains("hint:"),
        "{err}"
    );
}

#[test]
fn dump_ansi_code_page_is_selectable() {
    // A BOM-less 8-bit file is read in the ANSI code page (ecosystem.md §7); --ansi picks it.
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write_sample(
        dir.path(),
        "cp.inf",
        b"[Version]\r\nSignature=$Chicago$\r\n[T]\r\nk=\xC6\xC8\r\n",
    );
    let field = |label: &str| {
        let out = infuse()
            .args(["inf", "dump", "--json", "--ansi", label])
            .arg(&path)
            .output()
            .expect("run infuse");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).expect("json");
        v["sections"][1]["lines"][0]["fields"][0].clone()
    };
    assert_eq!(field("windows-1252"), "\u{c6}\u{c8}");
    assert_eq!(field("windows-1251"), "\u{416}\u{418}");
    let out = infuse()
        .args(["inf", "dump", "--ansi", "klingon"])
        .arg(&path)
        .output()
        .expect("run infuse");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an encoding label"));
}

#[test]
fn dump_reports_diagnostics_as_path_line_message() {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = "[Version]\nSignature=$Chicago$\n[Broken\nk=v\n";
    let path = write_sample(dir.path(), "broken.inf", text.as_bytes());
    let out = infuse()
        .args(["inf", "dump"])
        .arg(&path)
        .output()
        .expect("run infuse");
    assert!(out.status.success(), "the dump itself succeeds");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "{}:3: section name without closing `]`",
            path.display()
        )),
        "{err}"
    );
    // The human view shows sections, line numbers, keys and fields.
    let view = String::from_utf8_lossy(&out.stdout);
    assert!(
        view.contains("[Broken]") && view.contains("4: \"k\" = \"v\""),
        "{view}"
    );
}

#[test]
fn dump_of_a_missing_file_names_it() {
    let out = infuse()
        .args(["inf", "dump", "/nonexistent/dir/x.inf"])
        .output()
        .expect("run infuse");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/dir/x.inf"), "{err}");
}

#[test]
fn dump_reads_utf16_like_ansi() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(SAMPLE.encode_utf16().flat_map(u16::to_le_bytes));
    let a = write_sample(dir.path(), "utf16.inf", &utf16);
    let b = write_sample(dir.path(), "ansi.inf", SAMPLE.as_bytes());
    let dump = |p: &Path| {
        let out = infuse()
            .args(["inf", "dump", "--json"])
            .arg(p)
            .output()
            .expect("run infuse");
        assert!(out.status.success());
        out.stdout
    };
    assert_eq!(dump(&a), dump(&b));
}

fn corpus_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read corpus dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("inf"))
            {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn corpus_parses_and_opens_like_windows() {
    let Some(dir) = corpus_dir() else {
        return;
    };
    let files = corpus_files(&dir);
    eprintln!("parsing {} corpus INF files", files.len());
    assert!(!files.is_empty(), "corpus at {} has no .inf", dir.display());
    let mut legacy = Vec::new();
    for path in &files {
        let bytes = std::fs::read(path).expect("read corpus file");
        let parsed = inf::parse(&bytes);
        match parsed.open_error {
            None => {}
            // NT 3.x oemsetup.inf scripts and autorun.inf files carry no Win4 signature.
            Some(OpenError::WrongInfStyle) => legacy.push(path.clone()),
            Some(e) => panic!(
                "{}: windows opens every shipped driver INF, we say {e}",
                path.display()
            ),
        }
        // Every section name and key Windows can look up, we find.
        for s in &parsed.sections {
            assert!(
                parsed.section(s.name()).is_some(),
                "{}: [{}]",
                path.display(),
                s.name()
            );
        }
    }
    eprintln!(
        "{} corpus files are not Win4 INFs: {legacy:?}",
        legacy.len()
    );
    assert!(legacy.len() * 100 < files.len(), "too many files refused");
}

#[test]
fn corpus_dump_through_the_binary() {
    let Some(dir) = corpus_dir() else {
        return;
    };
    // A sample of every 25th file (all encodings are in it): the binary's json is the library's
    // parse, in the documented schema.
    let files = corpus_files(&dir);
    let mut checked = 0;
    for path in files.iter().step_by(25) {
        let out = infuse()
            .args(["inf", "dump", "--json"])
            .arg(path)
            .output()
            .expect("run infuse");
        assert!(out.status.success(), "{}", path.display());
        let got: Value = serde_json::from_slice(&out.stdout).expect("json");
        let opts = inf::ParseOptions {
            source_dir: path
                .canonicalize()
                .ok()
                .and_then(|p| p.parent().map(|d| d.display().to_string())),
            ..inf::ParseOptions::default()
        };
        let parsed = inf::parse_with(&std::fs::read(path).expect("read"), &opts);
        assert_eq!(
            got,
            serde_json::to_value(&parsed).expect("to json"),
            "{}",
            path.display()
        );
        let sections = got["sections"].as_array().expect("sections array");
        for s in sections {
            let obj = s.as_object().expect("section object");
            assert_eq!(
                obj.len(),
                2,
                "{}: section has only name and lines",
                path.display()
            );
            for l in s["lines"].as_array().expect("lines") {
                let line = l.as_object().expect("line object");
                assert_eq!(line.len(), 2);
                assert!(line["key"].is_null() || line["key"].is_string());
                assert!(
                    line["fields"]
                        .as_array()
                        .is_some_and(|f| f.iter().all(Value::is_string))
                );
            }
        }
        checked += 1;
    }
    eprintln!("dumped {checked} corpus files through the binary");
}
