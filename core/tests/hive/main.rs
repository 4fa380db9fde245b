//! Tests of the hive engine through its public API, checked where it matters with independent
//! raw-byte parsing written here (not the engine's own structures).

use std::collections::BTreeMap;

use infuse::hive::{
    CommitStep, Decoded, Hive, HiveError, Value, ValueType, multi_sz, regfile, utf16z,
};

mod dirty;
mod hostile;
mod reg;

fn u32_at(b: &[u8], pos: usize) -> u32 {
    u32::from_le_bytes(b[pos..pos + 4].try_into().unwrap())
}

/// File offset of the data of the cell at bins offset `off`.
fn cell(off: u32) -> usize {
    4096 + off as usize + 4
}

/// Windows' lh hash computed independently: upper-case each UTF-16 unit, h = 37h + c.
fn windows_hash(name: &str) -> u32 {
    name.encode_utf16().fold(0u32, |h, u| {
        let up = char::from_u32(u32::from(u))
            .map(|c| {
                let mut it = c.to_uppercase();
                match (it.next(), it.next()) {
                    (Some(x), None) if (x as u32) < 0x10000 => x as u32,
                    _ => u32::from(u),
                }
            })
            .unwrap_or(u32::from(u));
        h.wrapping_mul(37).wrapping_add(up)
    })
}

/// Every (child nk offset, stored hash) of a key's subkey list, read from raw bytes.
fn raw_subkey_entries(file: &[u8], nk: u32) -> Vec<(u32, u32)> {
    let list = u32_at(file, cell(nk) + 28);
    let count = u32_at(file, cell(nk) + 20);
    if count == 0 {
        return Vec::new();
    }
    let mut leaves = vec![list];
    if &file[cell(list)..cell(list) + 2] == b"ri" {
        let n =
            u16::from_le_bytes(file[cell(list) + 2..cell(list) + 4].try_into().unwrap()) as usize;
        leaves = (0..n)
            .map(|i| u32_at(file, cell(list) + 4 + 4 * i))
            .collect();
    }
    let mut out = Vec::new();
    for l in leaves {
        assert_eq!(
            &file[cell(l)..cell(l) + 2],
            b"lh",
            "format 1.5 hives get hash leaves"
        );
        let n = u16::from_le_bytes(file[cell(l) + 2..cell(l) + 4].try_into().unwrap()) as usize;
        for i in 0..n {
            out.push((
                u32_at(file, cell(l) + 4 + 8 * i),
                u32_at(file, cell(l) + 8 + 8 * i),
            ));
        }
    }
    out
}

fn sample_values() -> Vec<Value> {
    vec![
        Value {
            name: String::new(),
            kind: ValueType::SZ,
            data: utf16z("the default value"),
        },
        Value::string("Sz", "text with ünïcödé ™ and \"quotes\""),
        Value {
            name: "Expand".into(),
            kind: ValueType::EXPAND_SZ,
            data: utf16z(r"%SystemRoot%\System32\drivers\x.sys"),
        },
        Value {
            name: "Bin".into(),
            kind: ValueType::BINARY,
            data: vec![0, 1, 2, 3, 4, 5, 6, 7, 8],
        },
        Value::dword("Dword", 0xDEAD_BEEF),
        Value {
            name: "BigEndian".into(),
            kind: ValueType::DWORD_BIG_ENDIAN,
            data: vec![0, 0, 0, 1],
        },
        Value {
            name: "Link".into(),
            kind: ValueType::LINK,
            data: "\\Registry\\Machine\\System\\ControlSet001"
                .encode_utf16()
                .flat_map(u16::to_le_bytes)
                .collect(),
        },
        Value {
            name: "Multi".into(),
            kind: ValueType::MULTI_SZ,
            data: multi_sz(&["one", "two", "three"]),
        },
        Value {
            name: "Qword".into(),
            kind: ValueType::QWORD,
            data: 0x0123_4567_89AB_CDEFu64.to_le_bytes().to_vec(),
        },
        Value {
            name: "None".into(),
            kind: ValueType::NONE,
            data: vec![],
        },
        Value {
            name: "Empty".into(),
            kind: ValueType::BINARY,
            data: vec![],
        },
        Value {
            name: "Three".into(),
            kind: ValueType::BINARY,
            data: vec![1, 2, 3],
        },
        Value {
            name: "DevProp".into(),
            kind: ValueType(0xFFFF_0012),
            data: utf16z("property"),
        },
        Value {
            name: "Big".into(),
            kind: ValueType::BINARY,
            data: (0..20_000u32).map(|i| (i * 7 % 251) as u8).collect(),
        },
        Value {
            name: "Huge".into(),
            kind: ValueType::MULTI_SZ,
            data: (0..100_001u32).map(|i| (i % 253) as u8).collect(),
        },
        Value {
            name: "Exactly16344".into(),
            kind: ValueType::BINARY,
            data: vec![0xAB; 16_344],
        },
        Value {
            name: "Just over".into(),
            kind: ValueType::BINARY,
            data: vec![0xCD; 16_345],
        },
        Value {
            name: "名前".into(),
            kind: ValueType::SZ,
            data: utf16z("値"),
        },
    ]
}

#[test]
fn a_new_hive_has_a_named_root_a_shared_descriptor_and_a_clean_base_block() {
    let h = Hive::new_empty("BCD00000000").unwrap();
    let b = h.base_block();
    assert_eq!(
        (b.primary_seq, b.secondary_seq, b.major, b.minor),
        (1, 1, 1, 5)
    );
    assert!(b.checksum_ok && !b.is_dirty());
    let root = h.root().unwrap();
    assert_eq!(root.name(), "BCD00000000");
    assert_eq!(root.flags() & 0x4, 0x4, "KEY_HIVE_ENTRY");
    let (sd, refs) = root.security().unwrap();
    assert_eq!(refs, 1);
    assert_eq!(sd[0], 1, "self-relative descriptor revision 1");
    assert!(matches!(
        Hive::new_empty(""),
        Err(HiveError::InvalidEdit { .. })
    ));
}

#[test]
fn every_value_type_reads_back_exactly_including_big_data() {
    let h = Hive::new_empty("ROOT").unwrap();
    let mut e = h.edit().unwrap();
    for v in sample_values() {
        e.set_value(r"A\B\C", &v.name, v.kind, v.data.clone())
            .unwrap();
    }
    let out = e.apply().unwrap();
    let got: BTreeMap<String, Value> = out
        .key(r"a\b\c")
        .unwrap()
        .values()
        .unwrap()
        .into_iter()
        .map(|v| (v.name.clone(), v))
        .collect();
    let want: BTreeMap<String, Value> = sample_values()
        .into_iter()
        .map(|v| (v.name.clone(), v))
        .collect();
    assert_eq!(got, want);
    let k = out.key(r"A\B\C").unwrap();
    assert_eq!(
        k.value("dword").unwrap().unwrap().decode(),
        Decoded::Dword(0xDEAD_BEEF)
    );
    assert_eq!(
        k.value("MULTI").unwrap().unwrap().decode(),
        Decoded::MultiString(vec!["one".into(), "two".into(), "three".into()])
    );
    assert_eq!(
        k.value("qword").unwrap().unwrap().decode(),
        Decoded::Qword(0x0123_4567_89AB_CDEF)
    );
    assert_eq!(
        k.value("").unwrap().unwrap().decode(),
        Decoded::String("the default value".into())
    );
}

#[test]
fn big_data_is_stored_in_db_segments_of_16344_bytes() {
    let h = Hive::new_empty("ROOT").unwrap();
    let mut e = h.edit().unwrap();
    e.set_value("K", "Big", ValueType::BINARY, vec![9u8; 40_000])
        .unwrap();
    e.set_value("K", "Small", ValueType::BINARY, vec![9u8; 16_344])
        .unwrap();
    let out = e.apply().unwrap();
    let f = out.as_bytes();
    let k = out.key("K").unwrap();
    let vlist = u32_at(f, cell(k.offset()) + 40);
    let mut seen = BTreeMap::new();
    for i in 0..2 {
        let vk = u32_at(f, cell(vlist) + 4 * i);
        let data = u32_at(f, cell(vk) + 8);
        let size = u32_at(f, cell(vk) + 4);
        seen.insert(size, f[cell(data)..cell(data) + 2].to_vec());
        if size == 40_000 {
            // libyal REGF "big data": "db", segment count, segment list.
            let segs = u16::from_le_bytes(f[cell(data) + 2..cell(data) + 4].try_into().unwrap());
            assert_eq!(segs, 3, "40,000 bytes = 16,344 + 16,344 + 7,312");
        }
    }
    assert_eq!(seen[&40_000], b"db");
    assert_ne!(seen[&16_344], b"db", "16,344 bytes still fit one cell");
}

#[test]
fn subkey_lists_are_sorted_as_windows_sorts_with_correct_lh_hashes() {
    let h = Hive::new_empty("ROOT").unwrap();
    let mut e = h.edit().unwrap();
    let mut names: Vec<String> = (0..1300)
        .map(|i| format!("key{:04}", (i * 7919) % 1300))
        .collect();
    names.extend(
        [
            "Zeta", "alpha", "ALPHA2", "_under", "äbc", "Ñame", "weird™", "日本", "a b", "A[B]",
        ]
        .map(String::from),
    );
    for n in &names {
        e.create_key(&format!("P\\{n}")).unwrap();
    }
    let out = e.apply().unwrap();
    let f = out.as_bytes();
    let p = out.key("P").unwrap();
    let entries = raw_subkey_entries(f, p.offset());
    assert_eq!(entries.len(), names.len());
    assert_eq!(
        &f[cell(u32_at(f, cell(p.offset()) + 28))..][..2],
        b"ri",
        "over 512 entries split under an index root"
    );
    let stored: Vec<String> = p
        .subkeys()
        .unwrap()
        .iter()
        .map(|k| k.name().to_string())
        .collect();
    for ((off, hash), name) in entries.iter().zip(&stored) {
        assert_eq!(*hash, windows_hash(name), "hash of {name}");
        assert_ne!(out.root().unwrap().offset(), *off);
    }
    let keys: Vec<Vec<u16>> = stored
        .iter()
        .map(|n| {
            n.encode_utf16()
                .map(|u| windows_hash(&String::from_utf16_lossy(&[u])) as u16)
                .collect()
        })
        .collect();
    assert!(
        keys.windows(2).all(|w| w[0] < w[1]),
        "strictly increasing upper-cased UTF-16 order"
    );
    // Lookups are case-insensitive.
    assert_eq!(out.key("p\\ALPHA").unwrap().name(), "alpha");
    assert_eq!(out.key("P\\ÄBC").unwrap().name(), "äbc");
}

#[test]
fn new_keys_share_the_parent_descriptor_and_deletes_release_it() {
    let h = Hive::new_empty("ROOT").unwrap();
    let mut e = h.edit().unwrap();
    for p in [r"A\B\C", r"A\D", "E"] {
        e.create_key(p).unwrap();
    }
    let out = e.apply().unwrap();
    let root = out.root().unwrap();
    for p in [r"A\B\C", r"A\D", "E", "A"] {
        assert_eq!(
            out.key(p).unwrap().security_offset(),
            root.security_offset()
        );
    }
    assert_eq!(root.security().unwrap().1, 6, "root + 5 keys");
    let mut e = out.edit().unwrap();
    assert!(e.delete_key("A").unwrap());
    assert!(!e.delete_key("A").unwrap(), "already gone in this session");
    assert!(!e.delete_key("nope").unwrap());
    assert!(matches!(
        e.delete_key(""),
        Err(HiveError::InvalidEdit { .. })
    ));
    let out2 = e.apply().unwrap();
    assert_eq!(out2.root().unwrap().security().unwrap().1, 2, "root + E");
    assert!(matches!(
        out2.key(r"A\B"),
        Err(HiveError::KeyNotFound { .. })
    ));
}

#[test]
fn delete_then_recreate_in_one_session_gives_a_fresh_key() {
    let h = Hive::new_empty("ROOT").unwrap();
    let mut e = h.edit().unwrap();
    e.set_value(r"K\Sub", "v", ValueType::DWORD, 1u32.to_le_bytes())
        .unwrap();
    let h1 = e.apply().unwrap();
    let mut e = h1.edit().unwrap();
    assert!(e.delete_key("k").unwrap());
    e.create_key("K").unwrap();
    e.set_value("K", "new", ValueType::DWORD, 2u32.to_le_bytes())
        .unwrap();
    let h2 = e.apply().unwrap();
    let k = h2.key("K").unwrap();
    assert!(k.subkeys().unwrap().is_empty());
    assert_eq!(k.values().unwrap(), vec![Value::dword("new", 2)]);
}

#[test]
fn setting_an_existing_value_keeps_its_name_case_and_order() {
    let h = Hive::new_empty("ROOT").unwrap();
    let mut e = h.edit().unwrap();
    e.set_value("K", "First", ValueType::DWORD, 1u32.to_le_bytes())
        .unwrap();
    e.set_value("K", "Second", ValueType::DWORD, 2u32.to_le_bytes())
        .unwrap();
    let h1 = e.apply().unwrap();
    let mut e = h1.edit().unwrap();
    e.set_value("K", "FIRST", ValueType::SZ, utf16z("x"))
        .unwrap();
    assert!(e.delete_value("K", "second").unwrap());
    assert!(!e.delete_value("K", "never").unwrap());
    e.set_value("K", "SECOND", ValueType::DWORD, 3u32.to_le_bytes())
        .unwrap();
    let h2 = e.apply().unwrap();
    let got = h2.key("K").unwrap().values().unwrap();
    assert_eq!(
        got,
        vec![Value::string("First", "x"), Value::dword("SECOND", 3)]
    );
}

#[test]
fn edits_change_nothing_until_commit_and_commit_bumps_sequence_and_checksum() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("SYSTEM");
    let h = Hive::new_empty("SYSTEM").unwrap();
    h.edit().unwrap().commit(&path).unwrap();
    let before = std::fs::read(&path).unwrap();
    let h = Hive::open(&path).unwrap();
    let mut e = h.edit().unwrap();
    e.set_value(
        r"ControlSet001\Services\x",
        "Start",
        ValueType::DWORD,
        0u32.to_le_bytes(),
    )
    .unwrap();
    e.delete_key("nothing").unwrap();
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "no write before commit"
    );
    assert_eq!(
        h.as_bytes(),
        &before[..],
        "the hive in memory is unchanged too"
    );
    let root_before = h.root().unwrap().timestamp();
    let t0 = infuse::hive::filetime_now();
    let written = e.commit(&path).unwrap();
    // Timestamps: the new keys, the parent whose subkey list changed, and the base block.
    let t1 = infuse::hive::filetime_now();
    let svc = written
        .key(r"ControlSet001\Services\x")
        .unwrap()
        .timestamp();
    assert!(
        t0 <= svc && svc <= t1,
        "new key stamped with the commit time"
    );
    assert!(written.root().unwrap().timestamp() >= root_before.max(t0));
    let base_ts = written.base_block().timestamp;
    assert!(t0 <= base_ts && base_ts <= t1);
    let after = std::fs::read(&path).unwrap();
    assert_eq!(written.as_bytes(), &after[..]);
    let b = Hive::open(&path).unwrap().base_block().to_owned();
    assert_eq!(
        (b.primary_seq, b.secondary_seq),
        (3, 3),
        "new hive 1, first commit 2, this one 3"
    );
    assert!(b.checksum_ok);
    assert_eq!(b.bins_size as usize + 4096, after.len());
    assert!(after.len().is_multiple_of(4096));
    let only: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        only,
        vec![std::ffi::OsString::from("SYSTEM")],
        "no temporary file left behind"
    );
}

#[test]
fn a_commit_that_fails_at_any_step_leaves_the_old_or_the_new_hive() {
    let steps = [
        CommitStep::CreateTemp,
        CommitStep::Write,
        CommitStep::Sync,
        CommitStep::Rename,
        CommitStep::SyncDir,
    ];
    for fail_at in steps {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("H");
        let h = Hive::new_empty("ROOT").unwrap();
        let mut e = h.edit().unwrap();
        e.set_value("Old", "v", ValueType::DWORD, 1u32.to_le_bytes())
            .unwrap();
        e.commit(&path).unwrap();
        let old = std::fs::read(&path).unwrap();
        let h = Hive::open(&path).unwrap();
        let mut e = h.edit().unwrap();
        e.set_value("New", "big", ValueType::BINARY, vec![1u8; 50_000])
            .unwrap();
        let new = e.apply().unwrap();
        let mut e = h.edit().unwrap();
        e.set_value("New", "big", ValueType::BINARY, vec![1u8; 50_000])
            .unwrap();
        let r = e.commit_with(&path, &mut |s| {
            if s == fail_at {
                Err(std::io::Error::other(format!("injected at {s:?}")))
            } else {
                Ok(())
            }
        });
        assert!(r.is_err(), "{fail_at:?}");
        let now = std::fs::read(&path).unwrap();
        let reread = Hive::open(&path).unwrap();
        if fail_at == CommitStep::SyncDir {
            assert_eq!(
                reread
                    .key("New")
                    .unwrap()
                    .value("big")
                    .unwrap()
                    .unwrap()
                    .data
                    .len(),
                50_000
            );
            assert_eq!(now.len(), new.as_bytes().len());
        } else {
            assert_eq!(now, old, "failing at {fail_at:?} must leave the old hive");
        }
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            names.len(),
            1,
            "temporary file removed after failing at {fail_at:?}: {names:?}"
        );
    }
}

#[test]
fn repeated_commits_reuse_the_free_tail_of_the_last_bin() {
    let mut h = Hive::new_empty("ROOT").unwrap();
    let start = h.as_bytes().len();
    for i in 0..20 {
        let mut e = h.edit().unwrap();
        e.set_value(
            "K",
            &format!("v{i}"),
            ValueType::DWORD,
            (i as u32).to_le_bytes(),
        )
        .unwrap();
        h = e.apply().unwrap();
    }
    assert_eq!(
        h.as_bytes().len(),
        start,
        "20 small commits fit the free tail of the first bin"
    );
    assert_eq!(h.key("K").unwrap().values().unwrap().len(), 20);
}

#[test]
fn export_and_import_round_trip_every_value() {
    let h = Hive::new_empty("ROOT").unwrap();
    let mut e = h.edit().unwrap();
    for v in sample_values() {
        e.set_value(r"Svc\Params", &v.name, v.kind, v.data.clone())
            .unwrap();
    }
    e.create_key(r"Svc\Empty key").unwrap();
    let h1 = e.apply().unwrap();
    let text = regfile::export(&h1, "", r"HKEY_LOCAL_MACHINE\SYSTEM").unwrap();
    let ops = regfile::parse(&text, None, std::path::Path::new("x.reg")).unwrap();
    let h2 = Hive::new_empty("ROOT").unwrap();
    let mut e = h2.edit().unwrap();
    regfile::apply(&mut e, &ops).unwrap();
    let h2 = e.apply().unwrap();
    assert_eq!(
        regfile::export(&h2, "", r"HKEY_LOCAL_MACHINE\SYSTEM").unwrap(),
        text
    );
}

#[test]
fn typed_setters_store_what_windows_stores() {
    let h = Hive::new_empty("SYSTEM").unwrap();
    let mut e = h.edit().unwrap();
    let svc = r"ControlSet001\Services\viostor";
    e.set_dword(svc, "Start", 0).unwrap();
    e.set_qword(svc, "FileSize", 0x129ae).unwrap();
    e.set_string(svc, "Group", "SCSI miniport").unwrap();
    e.set_expand_string(svc, "ImagePath", r"System32\drivers\viostor.sys")
        .unwrap();
    e.set_multi_string(svc, "Owners", &["oem7.inf"]).unwrap();
    e.set_binary(svc, "Blob", vec![1u8, 0xff, 0, 0]).unwrap();
    let out = e.apply().unwrap();
    let k = out.key(svc).unwrap();
    let get = |n: &str| k.value(n).unwrap().unwrap();
    assert_eq!(get("Start"), Value::dword("Start", 0));
    assert_eq!(get("FileSize").kind, ValueType::QWORD);
    assert_eq!(get("FileSize").decode(), Decoded::Qword(0x129ae));
    assert_eq!(get("Group").data, utf16z("SCSI miniport"));
    assert_eq!(get("ImagePath").kind, ValueType::EXPAND_SZ);
    assert_eq!(get("Owners").data, multi_sz(&["oem7.inf"]));
    assert_eq!(
        get("Owners").data.len(),
        2 * 9 + 2,
        "oem7.inf NUL, then the closing NUL"
    );
    assert_eq!(
        get("Blob"),
        Value {
            name: "Blob".into(),
            kind: ValueType::BINARY,
            data: vec![1, 0xff, 0, 0]
        }
    );
}
