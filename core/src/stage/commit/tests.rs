use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use super::*;
use crate::hive::Hive;
use crate::stage::plan::{FileOp, FileSource, HiveFile, HiveOp, Plan, RegOp};

/// Everything observable in an image directory: each file's bytes (hives as their logical
/// content, so that timestamps and cell layout do not count) and each directory.
fn snapshot(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
        if p.is_dir() {
            out.insert(rel.clone(), "<dir>".into());
            walk(root, &p, out);
        } else if rel.ends_with("config/SYSTEM") || rel.ends_with("config/DRIVERS") {
            out.insert(rel, hive_text(&p));
        } else {
            out.insert(rel, hex::encode(std::fs::read(&p).unwrap()));
        }
    }
}

fn hive_text(path: &Path) -> String {
    let hive = Hive::open(path).unwrap();
    let mut s = String::new();
    hive.walk(|p, k| {
        s.push_str(&format!("[{p}]\n"));
        for v in k.values()? {
            s.push_str(&format!("{}={}:{}\n", v.name, v.kind, hex::encode(&v.data)));
        }
        Ok(())
    })
    .unwrap();
    s
}

/// A small image: two hives, an INF folder, an old package folder to remove.
fn image() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let config = root.join("Windows/System32/config");
    std::fs::create_dir_all(&config).unwrap();
    for (name, root_name) in [("SYSTEM", "ROOT"), ("DRIVERS", "DriverDatabaseRoot")] {
        let hive = Hive::new_empty(root_name).unwrap();
        let mut e = hive.edit().unwrap();
        e.set_dword(r"ControlSet001\Services\old", "Start", 3)
            .unwrap();
        let hive = e.apply().unwrap();
        std::fs::write(config.join(name), hive.as_bytes()).unwrap();
    }
    // Spelled differently from the plan: resolution is case-insensitive.
    std::fs::create_dir_all(root.join("Windows/inf")).unwrap();
    std::fs::write(root.join("Windows/inf/oem0.inf"), b"old inf").unwrap();
    let repo = root.join("Windows/System32/DriverStore/FileRepository/old.inf_amd64_00");
    std::fs::create_dir_all(repo.join("sub")).unwrap();
    std::fs::write(repo.join("old.inf"), b"old inf").unwrap();
    std::fs::write(repo.join("sub/old.sys"), b"old sys").unwrap();
    dir
}

fn plan(src: &Path) -> Plan {
    std::fs::write(src, b"payload bytes").unwrap();
    let sz = |s: &str| {
        let mut v: Vec<u8> = s.encode_utf16().flat_map(u16::to_le_bytes).collect();
        v.extend([0, 0]);
        v
    };
    Plan {
        files: vec![
            FileOp::Put {
                dest: "Windows/System32/DriverStore/FileRepository/new.inf_amd64_11/new.sys".into(),
                source: FileSource::Path {
                    path: src.to_path_buf(),
                },
                size: 13,
                sha256: None,
            },
            FileOp::Put {
                dest: "Windows/INF/oem1.inf".into(),
                source: FileSource::Bytes {
                    bytes: b"new inf".to_vec(),
                },
                size: 7,
                sha256: Some(hex::encode(Sha256::digest(b"new inf"))),
            },
            FileOp::Remove {
                dest: "Windows/System32/DriverStore/FileRepository/old.inf_amd64_00/old.inf".into(),
            },
            FileOp::Remove {
                dest: "Windows/System32/DriverStore/FileRepository/old.inf_amd64_00/sub/old.sys"
                    .into(),
            },
            FileOp::Remove {
                dest: "Windows/INF/oem0.inf".into(),
            },
        ],
        hives: vec![
            HiveOp {
                hive: HiveFile::System,
                op: RegOp::SetValue {
                    key: r"ControlSet001\Services\new".into(),
                    name: "ImagePath".into(),
                    kind: 2,
                    data: sz(r"System32\drivers\new.sys"),
                },
            },
            HiveOp {
                hive: HiveFile::System,
                op: RegOp::DeleteKey {
                    key: r"ControlSet001\Services\old".into(),
                },
            },
            HiveOp {
                hive: HiveFile::Drivers,
                op: RegOp::CreateKey {
                    key: r"DriverDatabase\DriverInfFiles\oem1.inf".into(),
                },
            },
        ],
        notes: vec![],
    }
}

/// The next run rolls an uncommitted transaction back and the image is as `before`.
fn assert_rolled_back(root: &Path, before: &BTreeMap<String, String>) {
    let lock = ImageLock::acquire(root).unwrap();
    assert_eq!(
        recover(&lock, &mut no_hook()).unwrap(),
        Recovery::RolledBack
    );
    drop(lock);
    assert_eq!(&snapshot(root), before);
}

/// A plan putting the three bytes `abc` (copied from a file in `tmp`) at each of `dests`.
fn abc_plan(tmp: &Path, dests: &[&str]) -> Plan {
    let src = tmp.join("src");
    std::fs::write(&src, b"abc").unwrap();
    Plan {
        files: dests
            .iter()
            .map(|d| FileOp::Put {
                dest: (*d).into(),
                source: FileSource::Path { path: src.clone() },
                size: 3,
                sha256: None,
            })
            .collect(),
        ..Plan::default()
    }
}

fn no_hook() -> impl FnMut(&Step) -> io::Result<()> {
    |_| Ok(())
}

fn run(root: &Path, plan: &Plan, hook: Hook<'_>) -> Result<CommitReport, CommitError> {
    let lock = ImageLock::acquire(root)?;
    recover(&lock, hook)?;
    commit(&lock, plan, hook)
}

/// The state after a clean commit, and how many hook calls it makes.
fn after_state(p: &Plan) -> (BTreeMap<String, String>, usize) {
    let img = image();
    let mut steps = 0usize;
    let mut count = |_: &Step| {
        steps += 1;
        Ok(())
    };
    run(img.path(), p, &mut count).unwrap();
    (snapshot(img.path()), steps)
}

#[test]
fn commit_applies_files_and_hives_and_leaves_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let p = plan(&tmp.path().join("src.sys"));
    let img = image();
    let before = snapshot(img.path());
    let report = run(img.path(), &p, &mut no_hook()).unwrap();
    assert_eq!(report.files_written, 2);
    assert_eq!(report.files_removed, 3);
    assert_eq!(report.bytes_written, 20);
    let after = snapshot(img.path());
    assert_ne!(before, after);
    let root = img.path();
    assert_eq!(
        std::fs::read(root.join("Windows/inf/oem1.inf")).unwrap(),
        b"new inf",
        "the existing `inf` folder is reused, not a second `INF` created"
    );
    assert!(!root.join("Windows/INF").exists());
    assert!(!root.join("Windows/inf/oem0.inf").exists());
    // The emptied package folder is pruned, FileRepository itself stays.
    let repo = root.join("Windows/System32/DriverStore/FileRepository");
    assert!(!repo.join("old.inf_amd64_00").exists());
    assert!(repo.join("new.inf_amd64_11/new.sys").is_file());
    assert!(!root.join(TXN_DIR).exists());
    assert!(!root.join(LOCK_FILE).exists());
    let system = Hive::open(root.join("Windows/System32/config/SYSTEM")).unwrap();
    assert!(system.key(r"ControlSet001\Services\old").is_err());
    let v = system
        .key(r"ControlSet001\Services\NEW")
        .unwrap()
        .value("imagepath")
        .unwrap()
        .unwrap();
    assert_eq!(v.kind, ValueType::EXPAND_SZ);
    let drivers = Hive::open(root.join("Windows/System32/config/DRIVERS")).unwrap();
    drivers
        .key(r"DriverDatabase\DriverInfFiles\oem1.inf")
        .unwrap();
}

/// DESIGN.md: "a crash or kill at any point leaves the image as it was before or as it is
/// after". A fault before each step, then recovery, gives exactly one of the two states: the
/// before state up to the journal's publication, the after state from then on.
#[test]
fn a_fault_at_every_step_then_recovery_gives_before_or_after() {
    let tmp = tempfile::tempdir().unwrap();
    let p = plan(&tmp.path().join("src.sys"));
    let (after, steps) = after_state(&p);
    assert!(steps > 10, "{steps} steps");
    let mut saw_before = 0;
    let mut saw_after = 0;
    for k in 1..=steps {
        let img = image();
        let before = snapshot(img.path());
        let mut count = 0usize;
        let mut past_commit_point = false;
        let mut fault = |s: &Step| {
            count += 1;
            if count == k {
                return Err(io::Error::other("injected fault"));
            }
            if *s == Step::PublishJournal {
                past_commit_point = true;
            }
            Ok(())
        };
        let err = run(img.path(), &p, &mut fault).unwrap_err();
        assert!(matches!(err, CommitError::Fault { .. }), "step {k}: {err}");
        let lock = ImageLock::acquire(img.path()).unwrap();
        let rec = recover(&lock, &mut no_hook()).unwrap();
        drop(lock);
        let now = snapshot(img.path());
        if past_commit_point {
            // Stopped before the journal was removed: redone; after: only cleaned up.
            assert!(
                matches!(rec, Recovery::Finished | Recovery::Clean),
                "step {k}: {rec:?}"
            );
            assert_eq!(now, after, "step {k}: after recovery");
            saw_after += 1;
        } else {
            assert_eq!(now, before, "step {k}: after rollback");
            saw_before += 1;
        }
        // Recovery is idempotent: a second run finds nothing to do.
        let lock = ImageLock::acquire(img.path()).unwrap();
        assert_eq!(recover(&lock, &mut no_hook()).unwrap(), Recovery::Clean);
    }
    assert!(saw_before > 3 && saw_after > 3, "{saw_before} {saw_after}");
}

/// A fault during recovery itself (a second kill) is recovered by the next run.
#[test]
fn a_fault_during_redo_is_finished_by_the_next_recovery() {
    let tmp = tempfile::tempdir().unwrap();
    let p = plan(&tmp.path().join("src.sys"));
    let (after, _) = after_state(&p);
    for k in 1..8 {
        let img = image();
        let mut fault = |s: &Step| match s {
            Step::Apply { n: 2, .. } => Err(io::Error::other("killed mid-apply")),
            _ => Ok(()),
        };
        run(img.path(), &p, &mut fault).unwrap_err();
        let mut count = 0;
        let mut fault2 = |_: &Step| {
            count += 1;
            if count == k {
                Err(io::Error::other("killed mid-recovery"))
            } else {
                Ok(())
            }
        };
        let lock = ImageLock::acquire(img.path()).unwrap();
        let _ = recover(&lock, &mut fault2);
        drop(lock);
        let lock = ImageLock::acquire(img.path()).unwrap();
        recover(&lock, &mut no_hook()).unwrap();
        drop(lock);
        assert_eq!(
            snapshot(img.path()),
            after,
            "second fault at recovery step {k}"
        );
    }
}

#[test]
fn a_second_infuse_on_the_same_image_is_refused() {
    let img = image();
    let lock = ImageLock::acquire(img.path()).unwrap();
    let err = ImageLock::acquire(img.path()).unwrap_err();
    assert!(matches!(err, CommitError::Locked { .. }), "{err}");
    assert!(err.to_string().contains("another infuse"), "{err}");
    drop(lock);
    ImageLock::acquire(img.path()).unwrap();
}

fn refused(dest: &str) -> String {
    refused_in(&image(), dest)
}

fn refused_in(img: &tempfile::TempDir, dest: &str) -> String {
    let before = snapshot(img.path());
    let p = Plan {
        files: vec![FileOp::Put {
            dest: dest.into(),
            source: FileSource::Bytes { bytes: vec![1] },
            size: 1,
            sha256: None,
        }],
        ..Plan::default()
    };
    let err = run(img.path(), &p, &mut no_hook()).unwrap_err().to_string();
    assert_eq!(snapshot(img.path()), before, "{dest}");
    err
}

/// DESIGN.md: "Paths from data are never trusted": `..`, absolute paths, drives, streams and
/// device names are refused before anything is written.
#[test]
fn hostile_destinations_are_refused_and_nothing_is_written() {
    for (dest, why) in [
        ("Windows/../../evil.sys", "`..`"),
        ("/etc/passwd", "absolute"),
        // Windows strips a trailing dot: `x.inf.` would land as `x.inf`.
        ("Windows/INF/x.inf.", "ends in a dot"),
        ("Windows/INF/COM\u{b9}.inf", "device"),
        ("Windows/INF/a\\..\\..\\x", "character"),
        ("Windows/C:/x.sys", ":"),
        ("Windows/INF/x.inf:stream", ":"),
        ("Windows/INF/nul.inf", "device"),
        (".infuse-txn/journal", "transaction"),
    ] {
        let err = refused(dest);
        assert!(err.contains("refused image path"), "{dest}: {err}");
        assert!(err.contains(why), "{dest}: {err}");
    }
}

#[cfg(unix)]
#[test]
fn a_symlink_inside_the_image_is_not_followed() {
    let img = image();
    let outside = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), img.path().join("Windows/Temp")).unwrap();
    let err = refused_in(&img, "Windows/Temp/x.sys");
    assert!(err.contains("symbolic link"), "{err}");
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
}

#[test]
fn a_plan_naming_a_file_twice_is_refused() {
    let img = image();
    let p = Plan {
        files: vec![
            FileOp::Remove {
                dest: "Windows/INF/oem0.inf".into(),
            },
            FileOp::Put {
                dest: "windows/inf/OEM0.INF".into(),
                source: FileSource::Bytes { bytes: vec![1] },
                size: 1,
                sha256: None,
            },
        ],
        ..Plan::default()
    };
    let err = run(img.path(), &p, &mut no_hook()).unwrap_err();
    assert!(matches!(err, CommitError::Duplicate { .. }), "{err}");
}

#[test]
fn a_short_copy_or_wrong_hash_is_refused_before_the_commit_point() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src.sys");
    std::fs::write(&src, b"12345").unwrap();
    for (size, sha, want) in [
        (6, None, "copied 5 bytes"),
        (5, Some("00".repeat(32)), "sha256"),
    ] {
        let img = image();
        let before = snapshot(img.path());
        let p = Plan {
            files: vec![FileOp::Put {
                dest: "Windows/x.sys".into(),
                source: FileSource::Path { path: src.clone() },
                size,
                sha256: sha,
            }],
            ..Plan::default()
        };
        let err = run(img.path(), &p, &mut no_hook()).unwrap_err().to_string();
        assert!(err.contains(want), "{err}");
        assert_rolled_back(img.path(), &before);
    }
}

/// A planned sha256 is checked for a file copied from a path (hashed while it is copied, not
/// read back) and for bytes from the plan; a right one commits, a wrong one is refused before
/// the commit point.
#[test]
fn a_planned_sha256_is_checked_for_copied_files_and_plan_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 + i / 9) as u8).collect();
    let src = tmp.path().join("big.sys");
    std::fs::write(&src, &data).unwrap();
    let good = hex::encode(Sha256::digest(&data));
    let mut bad = good.clone();
    bad.replace_range(..1, if good.starts_with('0') { "1" } else { "0" });
    let put = |source: FileSource, sha: &str| Plan {
        files: vec![FileOp::Put {
            dest: "Windows/x.sys".into(),
            source,
            size: data.len() as u64,
            sha256: Some(sha.to_string()),
        }],
        ..Plan::default()
    };
    let from_path = || FileSource::Path { path: src.clone() };
    let from_bytes = || FileSource::Bytes {
        bytes: data.clone(),
    };
    for source in [from_path(), from_bytes()] {
        let img = image();
        let before = snapshot(img.path());
        let err = run(img.path(), &put(source.clone(), &bad), &mut no_hook())
            .unwrap_err()
            .to_string();
        assert!(err.contains(&format!("the plan expects {bad}")), "{err}");
        let lock = ImageLock::acquire(img.path()).unwrap();
        recover(&lock, &mut no_hook()).unwrap();
        drop(lock);
        assert_eq!(snapshot(img.path()), before);

        let report = run(
            img.path(),
            &put(source, &good.to_uppercase()),
            &mut no_hook(),
        )
        .unwrap();
        assert_eq!(report.bytes_written, data.len() as u64);
        assert!(std::fs::read(img.path().join("Windows/x.sys")).unwrap() == data);
    }
}

#[test]
fn a_damaged_journal_is_reported_not_guessed_at() {
    let tmp = tempfile::tempdir().unwrap();
    let p = plan(&tmp.path().join("src.sys"));
    let img = image();
    let mut fault = |s: &Step| match s {
        Step::Apply { .. } => Err(io::Error::other("stop")),
        _ => Ok(()),
    };
    run(img.path(), &p, &mut fault).unwrap_err();
    let journal: PathBuf = img.path().join(TXN_DIR).join(JOURNAL);
    let mut bytes = std::fs::read(&journal).unwrap();
    bytes[10] ^= 1;
    std::fs::write(&journal, &bytes).unwrap();
    let lock = ImageLock::acquire(img.path()).unwrap();
    let err = recover(&lock, &mut no_hook()).unwrap_err().to_string();
    assert!(err.contains("damaged journal"), "{err}");
    assert!(err.contains("checksum"), "{err}");
}

#[test]
fn a_dirty_hive_without_logs_is_refused() {
    let img = image();
    let path = img.path().join("Windows/System32/config/SYSTEM");
    let mut bytes = std::fs::read(&path).unwrap();
    // Primary sequence number (offset 4) ahead of the secondary (offset 8): dirty.
    let seq = u32::from_le_bytes(bytes[4..8].try_into().unwrap());
    bytes[4..8].copy_from_slice(&(seq + 1).to_le_bytes());
    let c = crate::hive::base::checksum(&bytes);
    bytes[508..512].copy_from_slice(&c.to_le_bytes());
    std::fs::write(&path, &bytes).unwrap();
    let before = snapshot_files(img.path());
    let p = Plan {
        hives: vec![HiveOp {
            hive: HiveFile::System,
            op: RegOp::CreateKey { key: "X".into() },
        }],
        ..Plan::default()
    };
    let err = run(img.path(), &p, &mut no_hook()).unwrap_err().to_string();
    assert!(err.contains("config/SYSTEM"), "{err}");
    assert_eq!(snapshot_files(img.path()), before);
}

/// Raw bytes of every file (for hives that cannot be opened for editing).
fn snapshot_files(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// Staging runs on several threads (one per core, up to four), yet: every file arrives whole;
/// the hook sees the `Stage` steps in plan order; a hook fault at step n leaves no file of a
/// later step staged; and of several failing files the lowest-numbered one's error is the one
/// reported, whatever the order the threads hit them in.
#[test]
fn parallel_staging_keeps_order_errors_and_faults_deterministic() {
    let tmp = tempfile::tempdir().unwrap();
    let files: Vec<(String, Vec<u8>)> = (0..40)
        .map(|i| {
            // File 7 is large, so that a later, small file fails before it (below).
            let len = if i == 7 { 16 << 20 } else { i * 997 + 3 };
            let bytes: Vec<u8> = (0..len).map(|b| (b * 31 + i) as u8).collect();
            let src = tmp.path().join(format!("src{i}"));
            std::fs::write(&src, &bytes).unwrap();
            (src.display().to_string(), bytes)
        })
        .collect();
    let put = |i: usize, size: u64| FileOp::Put {
        dest: format!("Windows/System32/DriverStore/FileRepository/p.inf_amd64_1/f{i:02}.bin"),
        source: FileSource::Path {
            path: files[i].0.clone().into(),
        },
        size,
        sha256: None,
    };
    let p = Plan {
        files: (0..40).map(|i| put(i, files[i].1.len() as u64)).collect(),
        ..Plan::default()
    };

    // All staged, in order, each file whole.
    let img = image();
    let mut seen = Vec::new();
    let mut record = |s: &Step| {
        if let Step::Stage { n, .. } = s {
            seen.push(*n);
        }
        Ok(())
    };
    let report = run(img.path(), &p, &mut record).unwrap();
    assert_eq!(report.files_written, 40);
    assert_eq!(seen, (0..40).collect::<Vec<_>>());
    for (i, (_, bytes)) in files.iter().enumerate() {
        let got = std::fs::read(img.path().join(format!(
            "Windows/System32/DriverStore/FileRepository/p.inf_amd64_1/f{i:02}.bin"
        )))
        .unwrap();
        assert!(got == *bytes, "file {i} differs");
    }

    // A fault before step 25: nothing of step 25 or later was staged.
    let img = image();
    let mut fault = |s: &Step| match s {
        Step::Stage { n: 25, .. } => Err(io::Error::other("fault")),
        _ => Ok(()),
    };
    let err = run(img.path(), &p, &mut fault).unwrap_err();
    assert!(matches!(err, CommitError::Fault { .. }), "{err}");
    let staging = img.path().join(TXN_DIR).join(STAGING);
    let staged: BTreeSet<usize> = std::fs::read_dir(&staging)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().parse().unwrap())
        .collect();
    assert!(staged.iter().all(|n| *n < 25), "{staged:?}");

    // Files 7, 8 and 33 have the wrong planned size: file 7's error is reported, although the
    // thread copying the small file 8 finds its error while file 7 is still being copied.
    let mut bad = p.clone();
    for i in [7, 8, 33] {
        bad.files[i] = put(i, files[i].1.len() as u64 + 1);
    }
    for _ in 0..5 {
        let img = image();
        let before = snapshot(img.path());
        let err = run(img.path(), &bad, &mut no_hook()).unwrap_err();
        match &err {
            CommitError::Size { source_path, .. } => {
                assert_eq!(source_path.display().to_string(), files[7].0, "{err}");
            }
            other => panic!("{other}"),
        }
        assert_rolled_back(img.path(), &before);
    }
}

/// Windows compares names case-insensitively, so two plan entries naming one new folder in two
/// spellings put their files in one folder (the first spelling), and paths through existing
/// folders take the on-disk spelling however the plan spells them; each directory is resolved
/// once for the whole plan.
#[test]
fn one_new_folder_spelled_two_ways_is_one_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let p = abc_plan(
        tmp.path(),
        &[
            "windows/system32/driverstore/filerepository/New.inf_amd64_2/a.sys",
            "WINDOWS/SYSTEM32/DRIVERSTORE/FILEREPOSITORY/NEW.INF_AMD64_2/b.sys",
        ],
    );
    let img = image();
    run(img.path(), &p, &mut no_hook()).unwrap();
    let repo = img
        .path()
        .join("Windows/System32/DriverStore/FileRepository");
    let mut names: Vec<String> = std::fs::read_dir(&repo)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["New.inf_amd64_2", "old.inf_amd64_00"]);
    for f in ["a.sys", "b.sys"] {
        assert_eq!(
            std::fs::read(repo.join("New.inf_amd64_2").join(f)).unwrap(),
            b"abc"
        );
    }
}

/// Names compare as NTFS compares them (`image::path::fold`, the same rule the plan used), not
/// by Unicode lower-casing: `ſ` (U+017F) is `s` to NTFS, the Kelvin sign (U+212A) is not `k`.
/// Two entries equal ignoring case, neither spelled as the plan spells it, are refused (Windows
/// could not tell them apart); and a plan may not put a file where it also puts files below it.
#[test]
fn names_fold_as_ntfs_and_conflicts_are_refused_before_writing() {
    let tmp = tempfile::tempdir().unwrap();
    let plan_of = |dests: &[&str]| abc_plan(tmp.path(), dests);

    // `ſystem32` is System32 to NTFS; `\u{212A}dir` is not `kdir`.
    let img = image();
    std::fs::create_dir_all(img.path().join("Windows/kdir")).unwrap();
    run(
        img.path(),
        &plan_of(&["Windows/\u{17F}ystem32/a.sys", "Windows/\u{212A}dir/b.sys"]),
        &mut no_hook(),
    )
    .unwrap();
    assert_eq!(
        std::fs::read(img.path().join("Windows/System32/a.sys")).unwrap(),
        b"abc"
    );
    assert!(img.path().join("Windows/\u{212A}dir/b.sys").is_file());
    assert!(!img.path().join("Windows/kdir/b.sys").exists());

    // `Inf` when the tree has both `INF` and `inf` (the image has `inf`): refused, nothing
    // written.
    let img = image();
    std::fs::create_dir_all(img.path().join("Windows/INF")).unwrap();
    let before = snapshot(img.path());
    let err = run(img.path(), &plan_of(&["Windows/Inf/x.inf"]), &mut no_hook())
        .unwrap_err()
        .to_string();
    assert!(err.contains("several entries named `Inf`"), "{err}");
    assert!(err.contains("INF, inf"), "{err}");
    assert_eq!(snapshot(img.path()), before);

    // A file and files below it under the same (folded) name.
    let img = image();
    let before = snapshot(img.path());
    let err = run(
        img.path(),
        &plan_of(&["Windows/Setup/X", "Windows/Setup/x/y.sys"]),
        &mut no_hook(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("files below it"), "{err}");
    assert_eq!(snapshot(img.path()), before);
}
