//! Dirty hives: detection, replay of new-format logs built here per the documented format
//! (msuhanov "Windows registry file format specification", "New format" and "Dirty state of a
//! hive"), and refusal to write without them.

use infuse::hive::testing::build_log;
use infuse::hive::{Hive, HiveError, Value, ValueType};

/// (clean hive H0 bytes, the same hive after edits H1, dirty pages of H1 relative to H0)
/// Dirty pages: (offset in the hive bins, bytes).
type Pages = Vec<(u32, Vec<u8>)>;

fn two_versions() -> (Vec<u8>, Hive, Pages) {
    let h = Hive::new_empty("SYSTEM").unwrap();
    let mut e = h.edit().unwrap();
    e.set_value(
        r"ControlSet001\Services\Old",
        "Start",
        ValueType::DWORD,
        3u32.to_le_bytes(),
    )
    .unwrap();
    let h0 = e.apply().unwrap();
    let mut e = h0.edit().unwrap();
    e.set_value(
        r"ControlSet001\Services\viostor",
        "Start",
        ValueType::DWORD,
        0u32.to_le_bytes(),
    )
    .unwrap();
    e.set_value(
        r"ControlSet001\Services\viostor",
        "Big",
        ValueType::BINARY,
        vec![5u8; 30_000],
    )
    .unwrap();
    e.delete_key(r"ControlSet001\Services\Old").unwrap();
    let h1 = e.apply().unwrap();
    let (a, b) = (&h0.as_bytes()[4096..], &h1.as_bytes()[4096..]);
    let mut pages = Vec::new();
    for (i, page) in b.chunks(4096).enumerate() {
        if a.get(i * 4096..i * 4096 + 4096) != Some(page) {
            pages.push(((i * 4096) as u32, page.to_vec()));
        }
    }
    assert!(!pages.is_empty());
    (h0.as_bytes().to_vec(), h1, pages)
}

/// Make a clean hive dirty the way an interrupted Windows write leaves it: primary sequence
/// number incremented, secondary not (spec: "Base block", sequence number fields).
fn make_dirty(mut file: Vec<u8>) -> (Vec<u8>, u32) {
    let p = u32::from_le_bytes(file[4..8].try_into().unwrap()) + 1;
    file[4..8].copy_from_slice(&p.to_le_bytes());
    let mut c = 0u32;
    for i in 0..127 {
        c ^= u32::from_le_bytes(file[i * 4..i * 4 + 4].try_into().unwrap());
    }
    file[508..512].copy_from_slice(&c.to_le_bytes());
    (file, p)
}

fn content(h: &Hive) -> Vec<(String, Vec<Value>)> {
    let mut out = Vec::new();
    h.walk(|p, k| {
        out.push((p.to_string(), k.values()?));
        Ok(())
    })
    .unwrap();
    out
}

#[test]
fn a_dirty_hive_without_logs_reads_but_refuses_to_write_and_says_what_to_do() {
    let (h0, _, _) = two_versions();
    let (dirty, _) = make_dirty(h0);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("SYSTEM");
    std::fs::write(&path, &dirty).unwrap();
    let h = Hive::open(&path).unwrap();
    assert!(h.base_block().is_dirty());
    assert!(
        h.key(r"ControlSet001\Services\Old").is_ok(),
        "still readable"
    );
    let err = h.edit().unwrap_err();
    assert!(matches!(err, HiveError::Dirty { .. }));
    let msg = err.to_string();
    assert!(
        msg.contains("is dirty") && msg.contains("SYSTEM.LOG1") && msg.contains("hint:"),
        "{msg}"
    );
}

#[test]
fn a_wrong_checksum_is_dirty_too() {
    let (mut h0, _, _) = two_versions();
    h0[508] ^= 0xFF;
    let h = Hive::from_bytes(h0).unwrap();
    assert!(h.base_block().is_dirty());
    assert!(h.edit().is_err());
}

#[test]
fn new_format_logs_are_replayed_and_the_hive_becomes_writable() {
    let (h0, h1, pages) = two_versions();
    let (dirty, seq) = make_dirty(h0);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("SYSTEM");
    std::fs::write(&path, &dirty).unwrap();
    let bins = (h1.as_bytes().len() - 4096) as u32;
    // Split the dirty pages over two entries, the second one in .LOG2 (lower-case name: NTFS
    // names compare case-insensitively).
    let (first, second) = pages.split_at(pages.len() / 2);
    std::fs::write(
        dir.path().join("SYSTEM.LOG1"),
        build_log(&dirty, &[(seq, bins, first.to_vec())]),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("system.log2"),
        build_log(&dirty, &[(seq + 1, bins, second.to_vec())]),
    )
    .unwrap();
    let h = Hive::open(&path).unwrap();
    assert_eq!(h.replayed_logs().len(), 2);
    assert!(!h.base_block().is_dirty());
    assert_eq!(
        h.base_block().primary_seq,
        seq + 1,
        "the last entry's sequence number"
    );
    assert_eq!(content(&h), content(&h1));
    let mut e = h.edit().unwrap();
    e.set_value("After", "x", ValueType::DWORD, 1u32.to_le_bytes())
        .unwrap();
    let written = e.commit(&path).unwrap();
    assert!(!Hive::open(&path).unwrap().base_block().is_dirty());
    assert!(written.key(r"ControlSet001\Services\viostor").is_ok());
}

#[test]
fn replay_stops_at_an_entry_with_a_bad_hash() {
    let (h0, _, pages) = two_versions();
    let (dirty, seq) = make_dirty(h0);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("SOFTWARE");
    std::fs::write(&path, &dirty).unwrap();
    let bins = (dirty.len() - 4096 + 65536) as u32;
    let mut log = build_log(&dirty, &[(seq, bins, pages.clone())]);
    let last = log.len() - 1;
    log[last] ^= 1; // the page data no longer matches hash-1
    std::fs::write(dir.path().join("SOFTWARE.LOG1"), log).unwrap();
    let h = Hive::open(&path).unwrap();
    assert!(h.base_block().is_dirty(), "nothing applied");
    assert!(h.key(r"ControlSet001\Services\Old").is_ok(), "old content");
    let msg = h.edit().unwrap_err().to_string();
    assert!(msg.contains("no entry"), "{msg}");
}

#[test]
fn entries_older_than_the_hive_are_ignored() {
    let (h0, _, pages) = two_versions();
    let (dirty, seq) = make_dirty(h0);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("DRIVERS");
    std::fs::write(&path, &dirty).unwrap();
    let bins = (dirty.len() - 4096) as u32;
    // Spec note 5: only entries with a sequence number >= the primary sequence number apply.
    let old_pages: Vec<_> = pages.into_iter().filter(|(o, _)| *o < bins).collect();
    std::fs::write(
        dir.path().join("DRIVERS.LOG1"),
        build_log(&dirty, &[(seq - 1, bins, old_pages)]),
    )
    .unwrap();
    let h = Hive::open(&path).unwrap();
    assert!(h.base_block().is_dirty());
    assert!(h.edit().is_err());
}
