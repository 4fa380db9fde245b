//! Hostile hives: each is a valid hive with one structure broken. The reader must give an error
//! naming an offset (never panic, loop or read out of bounds), and the writer must refuse
//! cleanly. The table is the README of this folder of inputs: what each attacks.

use infuse::hive::{Hive, HiveError, ValueType};

fn u32_at(b: &[u8], pos: usize) -> u32 {
    u32::from_le_bytes(b[pos..pos + 4].try_into().unwrap())
}
fn put(b: &mut [u8], pos: usize, v: u32) {
    b[pos..pos + 4].copy_from_slice(&v.to_le_bytes());
}
fn cell(off: u32) -> usize {
    4096 + off as usize + 4
}

/// A small hive: root → A (values v, big) → B; plus C.
fn base() -> (Vec<u8>, u32, u32, u32) {
    let h = Hive::new_empty("ROOT").unwrap();
    let mut e = h.edit().unwrap();
    e.set_value("A", "v", ValueType::BINARY, vec![1u8; 64])
        .unwrap();
    e.set_value("A", "big", ValueType::BINARY, vec![2u8; 20_000])
        .unwrap();
    e.create_key(r"A\B").unwrap();
    e.create_key("C").unwrap();
    let h = e.apply().unwrap();
    let (root, a, b) = (
        h.root().unwrap().offset(),
        h.key("A").unwrap().offset(),
        h.key(r"A\B").unwrap().offset(),
    );
    (h.as_bytes().to_vec(), root, a, b)
}

/// Read everything the way `infuse reg export` does.
fn read_all(bytes: Vec<u8>) -> Result<(), HiveError> {
    let h = Hive::from_bytes(bytes)?;
    h.walk(|_, k| {
        k.values()?;
        k.class_name()?;
        k.security()?;
        Ok(())
    })
}

#[test]
fn every_hostile_hive_gives_an_error_with_an_offset() {
    type Mutation = fn(&mut Vec<u8>, u32, u32, u32);
    let cases: Vec<(&str, Mutation)> = vec![
        ("root offset past the end", |f, _, _, _| {
            put(f, 36, 0x7FFF_FFF8)
        }),
        ("root offset not a cell boundary", |f, _, _, _| {
            let r = u32_at(f, 36);
            put(f, 36, r + 3)
        }),
        ("bins size larger than the file", |f, _, _, _| {
            put(f, 40, 0x1000_0000)
        }),
        ("subkey list offset past the end", |f, r, _, _| {
            put(f, cell(r) + 28, 0x00FF_FFF8)
        }),
        ("subkey count far larger than the list", |f, r, _, _| {
            let l = u32_at(f, cell(r) + 28);
            f[cell(l) + 2..cell(l) + 4].copy_from_slice(&0xFFFFu16.to_le_bytes());
        }),
        ("child points back to an ancestor (cycle)", |f, _, a, b| {
            let l = u32_at(f, cell(a) + 28);
            let _ = b;
            let root = u32_at(f, 36);
            put(f, cell(l) + 4, root);
        }),
        ("value list count larger than its cell", |f, _, a, _| {
            put(f, cell(a) + 36, 100_000)
        }),
        ("value name length past the cell", |f, _, a, _| {
            let vl = u32_at(f, cell(a) + 40);
            let vk = u32_at(f, cell(vl));
            f[cell(vk) + 2..cell(vk) + 4].copy_from_slice(&0xFFFFu16.to_le_bytes());
        }),
        ("value data size larger than its cell", |f, _, a, _| {
            let vl = u32_at(f, cell(a) + 40);
            let vk = u32_at(f, cell(vl));
            put(f, cell(vk) + 4, 16_000);
        }),
        ("inline data longer than 4 bytes", |f, _, a, _| {
            let vl = u32_at(f, cell(a) + 40);
            let vk = u32_at(f, cell(vl));
            put(f, cell(vk) + 4, 0x8000_0010);
        }),
        ("big data with too few segments", |f, _, a, _| {
            let vl = u32_at(f, cell(a) + 40);
            let vk = u32_at(f, cell(vl) + 4);
            let db = u32_at(f, cell(vk) + 8);
            f[cell(db) + 2..cell(db) + 4].copy_from_slice(&1u16.to_le_bytes());
        }),
        ("key node with a wrong signature", |f, _, _, b| {
            f[cell(b)..cell(b) + 2].copy_from_slice(b"zz")
        }),
        ("security offset pointing at a free cell", |f, _, a, _| {
            let sz = u32_at(f, 4096 + 32);
            let _ = sz;
            put(f, cell(a) + 44, 0x7FF0);
        }),
        ("cell with a positive (free) size", |f, _, _, b| {
            let s = i32::from_le_bytes(f[cell(b) - 4..cell(b)].try_into().unwrap());
            f[cell(b) - 4..cell(b)].copy_from_slice(&(-s).to_le_bytes());
        }),
        ("cell size running past the end", |f, _, _, b| {
            f[cell(b) - 4..cell(b)].copy_from_slice(&(-0x0100_0000i32).to_le_bytes());
        }),
    ];
    let (good, root, a, b) = base();
    read_all(good.clone()).unwrap();
    for (what, mutate) in cases {
        let mut f = good.clone();
        mutate(&mut f, root, a, b);
        let err = read_all(f.clone()).expect_err(what);
        assert!(
            matches!(err, HiveError::Corrupt { .. } | HiveError::NotAHive { .. }),
            "{what}: {err}"
        );
        // The writer refuses the same hive cleanly (or, when the damage is outside what the
        // edit touches, writes a hive that still reads).
        if let Ok(h) = Hive::from_bytes(f)
            && let Ok(mut e) = h.edit()
        {
            let _ = e.delete_key("A");
            let _ = e.set_value(r"A\B\New", "x", ValueType::DWORD, 1u32.to_le_bytes());
            // Either an error or a hive whose root still parses (apply re-reads what it wrote).
            if let Ok(out) = e.apply() {
                assert!(out.root().is_ok(), "{what}");
            }
        }
    }
}

#[test]
fn truncated_files_and_non_hives_are_refused() {
    let (good, ..) = base();
    for len in [0, 3, 511, 4095, 4096, 4100, good.len() - 1] {
        assert!(
            read_all(good[..len].to_vec()).is_err(),
            "truncated to {len}"
        );
    }
    let mut f = good.clone();
    f[0..4].copy_from_slice(b"REGF");
    assert!(matches!(
        Hive::from_bytes(f),
        Err(HiveError::NotAHive { .. })
    ));
}

#[test]
fn the_hostile_folder_gives_errors_with_offsets() {
    // core/tests/fixtures/hives/hostile/README.md says what each file attacks.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hives/hostile");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "md") {
            continue;
        }
        let err = read_all(std::fs::read(&p).unwrap()).expect_err(&p.display().to_string());
        assert!(
            matches!(err, HiveError::Corrupt { .. } | HiveError::NotAHive { .. }),
            "{}: {err}",
            p.display()
        );
        n += 1;
    }
    assert!(n >= 4, "hostile inputs missing from {}", dir.display());
}
