//! `.reg` parsing as data: input text → operations.

use std::path::Path;

use infuse::hive::regfile::{RegOp, parse};
use infuse::hive::{Value, ValueType, utf16z};

fn check(text: &str, prefix: Option<&str>, expect: Vec<RegOp>) {
    for t in [text.to_string(), text.replace('\n', "\r\n")] {
        assert_eq!(
            parse(&t, prefix, Path::new("t.reg")).unwrap(),
            expect,
            "{t}"
        );
    }
}

fn set(path: &str, name: &str, kind: ValueType, data: Vec<u8>) -> RegOp {
    RegOp::SetValue {
        path: path.into(),
        value: Value {
            name: name.into(),
            kind,
            data,
        },
    }
}

#[test]
fn regedit_syntax() {
    check(
        "Windows Registry Editor Version 5.00\n\n[HKEY_LOCAL_MACHINE\\SYSTEM\\Select]\n\"Current\"=dword:00000001\n@=\"def\"\n\"Q\\\"x\\\\\"=\"a\\\\b\"\n",
        None,
        vec![
            RegOp::CreateKey {
                path: "Select".into(),
            },
            set(
                "Select",
                "Current",
                ValueType::DWORD,
                1u32.to_le_bytes().to_vec(),
            ),
            set("Select", "", ValueType::SZ, utf16z("def")),
            set("Select", "Q\"x\\", ValueType::SZ, utf16z("a\\b")),
        ],
    );
    check(
        "REGEDIT4\n[HKEY_CURRENT_USER\\Software\\X]\n\"b\"=hex:01,02,\\\n  03\n\"m\"=hex(7):61,00,00,00,00,00\n\"p\"=hex(ffff0012):00\n\"q\"=hex(b):01,00,00,00,00,00,00,00\n\"d\"=-\n[-HKEY_CURRENT_USER\\Software\\X\\Old]\n",
        None,
        vec![
            RegOp::CreateKey {
                path: "Software\\X".into(),
            },
            set("Software\\X", "b", ValueType::BINARY, vec![1, 2, 3]),
            set(
                "Software\\X",
                "m",
                ValueType::MULTI_SZ,
                vec![0x61, 0, 0, 0, 0, 0],
            ),
            set("Software\\X", "p", ValueType(0xFFFF_0012), vec![0]),
            set(
                "Software\\X",
                "q",
                ValueType::QWORD,
                vec![1, 0, 0, 0, 0, 0, 0, 0],
            ),
            RegOp::DeleteValue {
                path: "Software\\X".into(),
                name: "d".into(),
            },
            RegOp::DeleteKey {
                path: "Software\\X\\Old".into(),
            },
        ],
    );
}

#[test]
fn hivex_notation_and_hive_relative_paths() {
    // hivexregedit(1): str(N):"…" is a NUL-terminated UTF-16LE string of type N; `[\…]` keys
    // are relative to the hive root.
    check(
        "[\\Tcpip\\Parameters]\n\"Hostname\"=str(2):\"%x%\"\n",
        Some("HKEY_LOCAL_MACHINE\\SYSTEM"),
        vec![
            RegOp::CreateKey {
                path: "Tcpip\\Parameters".into(),
            },
            set(
                "Tcpip\\Parameters",
                "Hostname",
                ValueType::EXPAND_SZ,
                utf16z("%x%"),
            ),
        ],
    );
}

#[test]
fn errors_name_the_line_and_hint_at_the_prefix() {
    let e = parse(
        "[HKEY_LOCAL_MACHINE\\SYSTEM\\A]\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\B]\n",
        None,
        Path::new("t.reg"),
    )
    .unwrap_err();
    let m = e.to_string();
    assert!(
        m.starts_with("t.reg:2:") && m.contains("hint: pass --prefix"),
        "{m}"
    );
    let e = parse("\"v\"=dword:1\n", None, Path::new("t.reg")).unwrap_err();
    assert!(e.to_string().starts_with("t.reg:1:"), "{e}");
    let e = parse("[HKLM\\X]\n\"v\"=dword:zz\n", None, Path::new("t.reg")).unwrap_err();
    assert!(e.to_string().contains("t.reg:2: bad dword"), "{e}");
}

#[test]
fn utf16_files_with_bom_decode() {
    let text = "Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\Ä]\r\n\"n\"=\"ü\"\r\n";
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    let ops = parse(
        &infuse::hive::regfile::decode_text(&bytes),
        None,
        Path::new("t.reg"),
    )
    .unwrap();
    assert_eq!(ops[1], set("Ä", "n", ValueType::SZ, utf16z("ü")));
}
