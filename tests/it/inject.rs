//! End-to-end tests of `infuse inject` and `infuse image remove-driver` through the real binary,
//! read back with hivex (hivexregedit, hivexget) and reglookup.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use infuse::image::build::{ImageBuilder, Release};
use infuse::stage::commit::{self, ImageLock, Recovery};
use infuse_tests::image::{Flavour, hex_list, merge, multi_sz, shared_image, utf16z};
use infuse_tests::run::{copy_dir, hivexget, json, ok, raw, s};
use infuse_tests::{corpus_dir, infuse, oracle};
use serde_json::Value;

/// Our own boot-critical storage package (written for these tests): a boot-start associated
/// service, so it is reflected (windows-driver-internals.md §1.2).
const STOR_INF: &str = r#"[Version]
Signature="$WINDOWS NT$"
Class=SCSIAdapter
ClassGuid={4D36E97B-E325-11CE-BFC1-08002BE10318}
Provider=%Vendor%
DriverVer=03/01/2025,1.2.3.4
CatalogFile=txnstor.cat
PnpLockdown=1

[SourceDisksNames]
1 = %Disk%,,,""

[SourceDisksFiles]
txnstor.sys = 1,,

[DestinationDirs]
DefaultDestDir = 12

[Manufacturer]
%Vendor% = Models,NTamd64

[Models.NTamd64]
%Dev.Desc% = txnstor_inst, PCI\VEN_1234&DEV_5678&SUBSYS_00011234, PCI\VEN_1234&DEV_5678

[txnstor_inst]
CopyFiles = txnstor_files

[txnstor_files]
txnstor.sys,,,2

[txnstor_inst.Services]
AddService = txnstor, 0x00000002, txnstor_svc

[txnstor_svc]
ServiceType = 1
StartType = 0
ErrorControl = 1
ServiceBinary = %12%\txnstor.sys
LoadOrderGroup = SCSI miniport
AddReg = txnstor_params

[txnstor_params]
HKR, "Parameters", "BusType", 0x00010001, 0x0000000A

[Strings]
Vendor = "Infuse Test"
Disk = "Infuse test disk"
Dev.Desc = "Infuse transactional test controller"
"#;

/// A non-boot package (network class, demand start): staged only.
const NET_INF: &str = r#"[Version]
Signature="$WINDOWS NT$"
Class=Net
ClassGuid={4D36E972-E325-11CE-BFC1-08002BE10318}
Provider=%Vendor%
DriverVer=04/02/2025,2.0.0.1
CatalogFile=txnnet.cat

[SourceDisksNames]
1 = %Disk%,,,""

[SourceDisksFiles]
txnnet.sys = 1,,
txnnet.dll = 1,sub

[DestinationDirs]
DefaultDestDir = 12

[Manufacturer]
%Vendor% = Models,NTamd64

[Models.NTamd64]
%Dev.Desc% = txnnet_inst, PCI\VEN_1234&DEV_9ABC

[txnnet_inst]
CopyFiles = txnnet_files
Characteristics = 0x84
BusType = 5

[txnnet_files]
txnnet.sys
txnnet.dll

[txnnet_inst.Services]
AddService = txnnet, 0x00000002, txnnet_svc

[txnnet_svc]
ServiceType = 1
StartType = 3
ErrorControl = 1
ServiceBinary = %12%\txnnet.sys

[Strings]
Vendor = "Infuse Test"
Disk = "Infuse test disk"
Dev.Desc = "Infuse transactional test NIC"
"#;

/// A package folder: the INF plus a small payload for every file it names.
fn package(dir: &Path, inf_name: &str, inf: &str, payloads: &[&str]) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(inf_name), inf).unwrap();
    for p in payloads {
        let path = dir.join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, format!("payload of {p}\n").repeat(100)).unwrap();
    }
    dir.to_path_buf()
}

fn stor(dir: &Path) -> PathBuf {
    package(
        &dir.join("stor"),
        "txnstor.inf",
        STOR_INF,
        &["txnstor.sys", "txnstor.cat"],
    )
}

fn net(dir: &Path) -> PathBuf {
    package(
        &dir.join("net"),
        "txnnet.inf",
        NET_INF,
        &["txnnet.sys", "sub/txnnet.dll", "txnnet.cat"],
    )
}

/// A Windows 10 image laid out by infuse's builder, with sample inbox packages registered, and
/// the records every real Windows 10 has for its inbox boot driver, merged in by hivex: its
/// `PnpLockdownFiles` entry (windows-driver-internals.md §1.7) and its `SYSTEM\DriverDatabase`
/// mirror (§1.4).
fn win10(dir: &Path) -> PathBuf {
    let root = dir.join("image");
    ImageBuilder::new(Release::Win10)
        .sample_inbox()
        .build(&root)
        .expect("build the test image");
    let reg = dir.join("lockdown.reg");
    let owners = hex_list(&multi_sz(&["stornvme.inf"]));
    let source = hex_list(&utf16z(r"%SystemRoot%\System32\drivers\stornvme.sys"));
    std::fs::write(
        &reg,
        format!(
            "Windows Registry Editor Version 5.00\n\n{}\
             [\\Microsoft\\Windows\\CurrentVersion\\Setup\\PnpLockdownFiles\\%SystemRoot%/System32/drivers/stornvme.sys]\n\
             \"Class\"=dword:00000004\n\"Owners\"=hex(7):{owners}\n\"Source\"=hex(2):{source}\n",
            // hivexregedit --merge creates a key only under an existing parent.
            [
                r"Microsoft",
                r"Microsoft\Windows",
                r"Microsoft\Windows\CurrentVersion",
                r"Microsoft\Windows\CurrentVersion\Setup",
                r"Microsoft\Windows\CurrentVersion\Setup\PnpLockdownFiles",
            ]
            .iter()
            .map(|k| format!("[\\{k}]\n\n"))
            .collect::<String>()
        ),
    )
    .unwrap();
    merge(&config(&root, "SOFTWARE"), "", &reg);
    // Windows 10 mirrors its boot-critical inbox packages in SYSTEM\DriverDatabase (§1.4):
    // the containers are never empty on a real image.
    let sys = dir.join("system-ddb.reg");
    std::fs::write(
        &sys,
        format!(
            "Windows Registry Editor Version 5.00\n\n\
             [\\DriverDatabase]\n\n[\\DriverDatabase\\DeviceIds]\n\n\
             [\\DriverDatabase\\DeviceIds\\PCI]\n\n[\\DriverDatabase\\DeviceIds\\PCI\\CC_010802]\n\
             \"stornvme.inf\"=hex(3):02,ff,00,00\n\n\
             [\\DriverDatabase\\DriverInfFiles]\n\n[\\DriverDatabase\\DriverInfFiles\\stornvme.inf]\n\
             @=hex(7):{pkgs}\n\"Active\"=hex(1):{pkg}\n\n\
             [\\DriverDatabase\\DriverPackages]\n\n[\\DriverDatabase\\DriverPackages\\stornvme.inf_amd64_7f5533420f8a5843]\n\
             @=hex(1):{inf}\n\"InfName\"=hex(1):{inf}\n\"Provider\"=hex(1):{prov}\n\
             \"SignerScore\"=dword:0d000003\n\"Version\"=hex(3):{version}\n",
            pkg = hex_list(&utf16z("stornvme.inf_amd64_7f5533420f8a5843")),
            prov = hex_list(&utf16z("Microsoft")),
            // The Version blob the builder writes for its stornvme.inf in DRIVERS (§1.5).
            version = "00,ff,09,00,00,00,00,00,7b,e9,36,4d,25,e3,ce,11,bf,c1,08,00,2b,e1,03,18,\
                       00,80,8c,a3,c5,94,c6,01,ca,09,5d,58,00,00,0a,00,00,00,00,00,00,00,00,00",
            pkgs = hex_list(&multi_sz(&["stornvme.inf_amd64_7f5533420f8a5843"])),
            inf = hex_list(&utf16z("stornvme.inf")),
        ),
    )
    .unwrap();
    merge(&config(&root, "SYSTEM"), "", &sys);
    root
}

const HIVES: [&str; 3] = ["SYSTEM", "SOFTWARE", "DRIVERS"];

/// A hive's logical content as hivex exports it. `UpdateDate` and `ImportDate` are FILETIMEs of
/// the run that wrote them (§1.5), so two runs differ there and nowhere else: masked.
fn hive_export(path: &Path) -> String {
    export_masked(path, &["UpdateDate", "ImportDate"], false)
}

/// `hivexregedit --export` of the whole hive; values named in `mask` show `<masked>` (or are
/// dropped with `drop`), continuation lines included.
fn export_masked(path: &Path, mask: &[&str], drop: bool) -> String {
    let out = oracle("hivexregedit")
        .args(["--export", s(path), "\\"])
        .output()
        .expect("run hivexregedit");
    assert!(
        out.status.success(),
        "hivexregedit --export {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut masked = String::new();
    let mut skipping = false;
    for line in text.lines() {
        if skipping {
            skipping = line.ends_with('\\');
            continue;
        }
        if let Some(name) = mask.iter().find(|m| line.starts_with(&format!("\"{m}\"="))) {
            if !drop {
                masked.push_str(&format!("\"{name}\"=<masked>\n"));
            }
            skipping = line.ends_with('\\');
            continue;
        }
        masked.push_str(line);
        masked.push('\n');
    }
    masked
}

/// Everything observable in the image: files by content (hives by their hivex export),
/// directories, and nothing of infuse's own transaction files.
fn state(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            if p.is_dir() {
                out.insert(rel + "/", String::new());
                stack.push(p);
            } else if HIVES
                .iter()
                .any(|h| rel == format!("Windows/System32/config/{h}"))
            {
                out.insert(rel, hive_export(&p));
            } else {
                let bytes = std::fs::read(&p).unwrap();
                out.insert(rel, format!("{bytes:?}"));
            }
        }
    }
    out
}

fn inject(image: &Path, packages: &[&Path], extra: &[&str]) -> Output {
    let mut cmd = infuse();
    cmd.args(["inject", "--image", s(image)]);
    for p in packages {
        cmd.args(["--package", s(p)]);
    }
    cmd.args(extra);
    cmd.output().expect("run infuse inject")
}

fn config(image: &Path, hive: &str) -> PathBuf {
    image.join("Windows/System32/config").join(hive)
}

/// DESIGN.md invariant: "a crash or kill at any point leaves the image as it was before or as
/// it is after". The real binary is aborted (SIGABRT, no cleanup) before every step of its
/// commit in turn; the next open recovers; the image then equals the before or the after state
/// of an uninterrupted run (hives compared through hivex), and the next `infuse inject`
/// finishes the job.
#[test]
fn a_kill_at_every_commit_step_leaves_the_image_before_or_after() {
    let tmp = tempfile::tempdir().unwrap();
    // A boot-critical package: its commit touches SYSTEM, SOFTWARE and DRIVERS, the package
    // folder and the reflected System32/drivers copy.
    let stor = stor(tmp.path());
    let pristine = win10(tmp.path());
    let before = state(&pristine);

    let reference = tmp.path().join("reference");
    copy_dir(&pristine, &reference);
    ok(&inject(&reference, &[&stor], &[]));
    let after = state(&reference);
    assert_ne!(before, after);

    let mut saw = (0, 0);
    let mut k = 1;
    loop {
        let img = tmp.path().join(format!("k{k}"));
        copy_dir(&pristine, &img);
        let out_faulted = infuse()
            .env("INFUSE_FAULT_AT", k.to_string())
            .args(["inject", "--image", s(&img), "--package", s(&stor)])
            .output()
            .unwrap();
        if out_faulted.status.success() {
            // Fewer steps than k: every step has been faulted.
            assert_eq!(state(&img), after, "no fault at {k}");
            break;
        }
        let stderr = String::from_utf8_lossy(&out_faulted.stderr);
        assert!(stderr.contains(&format!("INFUSE_FAULT_AT={k}")), "{stderr}");
        let committed = img.join(commit::TXN_DIR).join("journal").exists();
        let lock = ImageLock::acquire(&img).unwrap();
        let rec = commit::recover(&lock, &mut |_| Ok(())).unwrap();
        drop(lock);
        let now = state(&img);
        if committed {
            assert_eq!(rec, Recovery::Finished, "step {k}");
            assert!(
                now == after,
                "step {k}: after recovery the image is not the after state"
            );
            saw.1 += 1;
        } else {
            assert!(
                now == before,
                "step {k}: after rollback the image is not the before state"
            );
            saw.0 += 1;
        }
        // The image is consistent for infuse's verifier, and the next inject finishes the job.
        ok(&infuse()
            .args(["image", "verify", s(&img)])
            .output()
            .unwrap());
        ok(&inject(&img, &[&stor], &[]));
        assert!(
            state(&img) == after,
            "step {k}: the next inject did not finish the job"
        );
        std::fs::remove_dir_all(&img).unwrap();
        k += 1;
        assert!(k < 200, "the commit never ran to completion");
    }
    assert!(saw.0 >= 3 && saw.1 >= 3, "before/after counts {saw:?}");
}

/// Interrupted runs are detected and finished by the next `infuse inject` itself.
#[test]
fn the_next_inject_finishes_an_interrupted_one() {
    let tmp = tempfile::tempdir().unwrap();
    let stor = stor(tmp.path());
    let img = win10(tmp.path());
    // Find the commit point: the run whose fault leaves a journal.
    let pristine = tmp.path().join("pristine");
    copy_dir(&img, &pristine);
    for k in 1..100 {
        std::fs::remove_dir_all(&img).unwrap();
        copy_dir(&pristine, &img);
        let out = infuse()
            .env("INFUSE_FAULT_AT", k.to_string())
            .args(["inject", "--image", s(&img), "--package", s(&stor)])
            .output()
            .unwrap();
        assert!(!out.status.success(), "no journal step found before {k}");
        if img.join(commit::TXN_DIR).join("journal").exists() {
            break;
        }
    }
    // --plan refuses to plan on a half-committed image.
    let plan = inject(&img, &[&stor], &["--plan"]);
    assert!(!plan.status.success());
    assert!(String::from_utf8_lossy(&plan.stderr).contains("interrupted"));
    let v = json(&inject(&img, &[&stor], &["--json"]));
    assert_eq!(v["recovery"], "finished");
    assert_eq!(v["decisions"][0]["action"], "already-present", "{v}");
    assert!(!img.join(commit::TXN_DIR).exists());
    assert!(!img.join(commit::LOCK_FILE).exists());
}

/// Injecting the same package again changes nothing: an empty plan, the image byte-identical.
#[test]
fn a_second_inject_of_the_same_package_is_an_empty_plan() {
    let tmp = tempfile::tempdir().unwrap();
    let stor = stor(tmp.path());
    let img = win10(tmp.path());
    let first = json(&inject(&img, &[&stor], &["--json"]));
    assert_eq!(first["decisions"][0]["action"], "inject");
    // Published names start at oem0 and take the lowest free number (§1.3; the sample image
    // publishes none).
    let published = first["decisions"][0]["published"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(published.starts_with("oem"), "{published}");
    let bytes = raw(&img);
    let second = json(&inject(&img, &[&stor], &["--json"]));
    assert_eq!(second["decisions"][0]["action"], "already-present");
    assert_eq!(second["plan"]["files"], Value::Array(vec![]));
    assert_eq!(second["plan"]["hives"], Value::Array(vec![]));
    assert!(raw(&img) == bytes, "the image changed on a second inject");
    let text = ok(&inject(&img, &[&stor], &[])).stdout.clone();
    assert!(String::from_utf8_lossy(&text).contains("already present"));
}

/// A newer version of the same package (same INF name and provider) keeps the published name
/// and becomes `Active`; `DriverInfFiles\<inf>` (default) lists every package imported under the
/// name (windows-driver-internals.md §1.5).
#[test]
fn a_newer_version_replaces_the_active_record() {
    let tmp = tempfile::tempdir().unwrap();
    let v1 = stor(tmp.path());
    let v2 = package(
        &tmp.path().join("stor2"),
        "txnstor.inf",
        &STOR_INF.replace("1.2.3.4", "1.2.3.5"),
        &["txnstor.sys", "txnstor.cat"],
    );
    let img = win10(tmp.path());
    let a = json(&inject(&img, &[&v1], &["--json"]));
    let b = json(&inject(&img, &[&v2], &["--json"]));
    assert_eq!(b["decisions"][0]["action"], "update");
    let published = a["decisions"][0]["published"].as_str().unwrap();
    assert_eq!(b["decisions"][0]["published"], published);
    let repo_a = a["decisions"][0]["repository"].as_str().unwrap();
    let repo_b = b["decisions"][0]["repository"].as_str().unwrap();
    assert_ne!(repo_a, repo_b);
    let drivers = config(&img, "DRIVERS");
    let key = format!("\\DriverDatabase\\DriverInfFiles\\{published}");
    assert_eq!(hivexget(&drivers, &key, "Active"), repo_b);
    let all = hivexget(&drivers, &key, "");
    assert!(all.contains(repo_a) && all.contains(repo_b), "{all}");
    assert_eq!(
        std::fs::read_to_string(img.join("Windows/INF").join(published)).unwrap(),
        STOR_INF.replace("1.2.3.4", "1.2.3.5")
    );
}

/// Inject then remove-driver returns the image to its original bytes for the hives' logical
/// content (the whole hivexregedit export) and the files (issue 5 "must show"): a boot-critical
/// and a staged package into infuse's Windows 10 image, injected together.
#[test]
fn inject_then_remove_driver_restores_the_image() {
    let tmp = tempfile::tempdir().unwrap();
    let stor = stor(tmp.path());
    let net = net(tmp.path());
    let img = win10(tmp.path());
    round_trip(&img, &[&[&stor, &net]]);
}

/// The same on infuse's Windows 11 image (its PnpLockdownFiles and SYSTEM\DriverDatabase as a
/// real image has them, §1.4, §1.7) and on an image whose hives hivex wrote from the shared
/// fixtures (its SYSTEM\DriverDatabase is empty and SOFTWARE has no PnpLockdownFiles, so the
/// injection creates those containers and the removal must delete them): two packages injected
/// one after the other, then removed in the opposite order.
#[test]
fn two_injections_removed_in_the_opposite_order_restore_the_image() {
    let tmp = tempfile::tempdir().unwrap();
    let stor = stor(tmp.path());
    let net = net(tmp.path());
    let win11 = tmp.path().join("win11");
    ImageBuilder::new(Release::Win11)
        .sample_inbox()
        .build(&win11)
        .expect("build the Windows 11 image");
    let mut images = vec![win11];
    images.extend(shared_image(&tmp.path().join("hivex"), Flavour::Win10));
    for img in &images {
        round_trip(img, &[&[&stor], &[&net]]);
        round_trip(img, &[&[&net], &[&stor]]);
    }
}

/// The real vioscsi (boot-critical: service, PnpLockdownFiles, SYSTEM mirror) from the corpus,
/// with dummy payloads, round-trips on infuse's and on hivex's image.
#[test]
fn corpus_vioscsi_round_trips() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(pkgs) = corpus_packages(tmp.path()) else {
        return;
    };
    let mut images = vec![win10(tmp.path())];
    images.extend(shared_image(&tmp.path().join("hivex"), Flavour::Win10));
    for img in &images {
        round_trip(img, &[&[&pkgs[0]]]);
    }
}

/// Injects each group of packages in its own run, removes every published package in the
/// opposite order, and asserts the image equals what it was: files by content, hives by their
/// whole hivex export with only `UpdateDate` left out (removal.rs: the removal is a change of
/// the database, §1.5 "FILETIME of last change", and stamps it).
fn round_trip(img: &Path, groups: &[&[&Path]]) {
    let before = exact_state(img);
    let mut published = Vec::new();
    for g in groups {
        let v = json(&inject(img, g, &["--json"]));
        for d in v["decisions"].as_array().unwrap() {
            published.push(d["published"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(
        published.len(),
        groups.iter().map(|g| g.len()).sum::<usize>()
    );
    assert_ne!(exact_state(img), before);
    for p in published.iter().rev() {
        ok(&infuse()
            .args(["image", "remove-driver", s(img), p])
            .output()
            .unwrap());
    }
    let now = exact_state(img);
    for (k, v) in &before {
        let got = now.get(k).map(String::as_str).unwrap_or("<missing>");
        assert!(
            got == v,
            "{}: {k} differs after injecting and removing {published:?}:\n{}",
            img.display(),
            first_diff(v, got)
        );
    }
    assert_eq!(
        now.len(),
        before.len(),
        "{:?}",
        now.keys()
            .filter(|k| !before.contains_key(*k))
            .collect::<Vec<_>>()
    );
}

/// Files by content, hives by their whole `hivexregedit --export` without `UpdateDate`.
fn exact_state(root: &Path) -> BTreeMap<String, String> {
    let mut st = state(root);
    for h in HIVES {
        let path = config(root, h);
        if path.is_file() {
            let text = export_masked(&path, &["UpdateDate"], true);
            st.insert(format!("Windows/System32/config/{h}"), text);
        }
    }
    st
}

/// The first lines where two texts differ, for failure messages.
fn first_diff(a: &str, b: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let i = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    format!(
        "before:\n  {}\nnow:\n  {}",
        a[i..a.len().min(i + 6)].join("\n  "),
        b[i..b.len().min(i + 6)].join("\n  ")
    )
}

/// A hostile package variant and the line it must be refused at.
fn hostile_case(tmp: &Path, name: &str, from: &str, to: &str) -> (PathBuf, u32) {
    assert!(STOR_INF.contains(from), "{from}");
    let text = STOR_INF.replacen(from, to, 1);
    let line = text
        .lines()
        .position(|l| l.contains(to.lines().next().unwrap()))
        .unwrap() as u32
        + 1;
    let dir = package(
        &tmp.join(name),
        "txnstor.inf",
        &text,
        &["txnstor.sys", "txnstor.cat"],
    );
    (dir, line)
}

/// DESIGN.md: "Paths from data are never trusted". Path traversal in SourceDisksFiles, a
/// SourceDisksNames folder outside the package, a service binary outside the image: refused with
/// the INF's name and line, and the image is byte-identical afterwards.
#[test]
fn hostile_packages_are_refused_and_the_image_is_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let img = win10(tmp.path());
    let bytes = raw(&img);
    for (name, from, to, why) in [
        (
            "traversal",
            "txnstor.sys = 1,,",
            r"txnstor.sys = 1,..\..",
            "..",
        ),
        (
            "outside",
            r#"1 = %Disk%,,,"""#,
            r"1 = %Disk%,,,..\other",
            "..",
        ),
        (
            "dirid",
            r"ServiceBinary = %12%\txnstor.sys",
            r"ServiceBinary = %10%\..\..\evil.sys",
            "evil.sys",
        ),
        (
            "absolute",
            r"ServiceBinary = %12%\txnstor.sys",
            r"ServiceBinary = C:\evil.sys",
            "evil.sys",
        ),
    ] {
        let (dir, line) = hostile_case(tmp.path(), name, from, to);
        let out = inject(&img, &[&dir], &[]);
        assert!(!out.status.success(), "{name}: accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("txnstor.inf:{line}:")),
            "{name}: the error does not name txnstor.inf:{line}: {err}"
        );
        assert!(err.contains(why), "{name}: {err}");
        assert!(raw(&img) == bytes, "{name}: the image changed");
    }
}

/// A second infuse on the same image is refused while the first holds the lock.
#[test]
fn a_locked_image_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let stor = stor(tmp.path());
    let img = win10(tmp.path());
    let lock = ImageLock::acquire(&img).unwrap();
    let out = inject(&img, &[&stor], &[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("another infuse"));
    drop(lock);
    ok(&inject(&img, &[&stor], &[]));
}

/// The boot-critical package's records, read back with hivex and reglookup: the service from
/// AddService + its AddReg (§1.6), the DeviceIds 4-byte values (§1.5), the reflected binary.
#[test]
fn records_read_back_with_hivex_and_reglookup() {
    let tmp = tempfile::tempdir().unwrap();
    let stor = stor(tmp.path());
    let img = win10(tmp.path());
    let v = json(&inject(&img, &[&stor], &["--json"]));
    let published = v["decisions"][0]["published"].as_str().unwrap();
    let repo = v["decisions"][0]["repository"].as_str().unwrap();
    let system = config(&img, "SYSTEM");
    let svc = "\\ControlSet001\\Services\\txnstor";
    assert_eq!(hivexget(&system, svc, "Start"), "0");
    assert_eq!(hivexget(&system, svc, "Type"), "1");
    assert_eq!(hivexget(&system, svc, "Group"), "SCSI miniport");
    assert_eq!(
        hivexget(&system, svc, "ImagePath"),
        "System32\\drivers\\txnstor.sys"
    );
    assert_eq!(
        hivexget(&system, &format!("{svc}\\Parameters"), "BusType"),
        "10"
    );
    // §1.5: hardware ID → flag 1, feature score FF; first compatible ID → flag 2.
    let out = oracle("reglookup")
        .args([
            "-H",
            "-p",
            "/DriverDatabase/DeviceIds/PCI",
            s(&config(&img, "DRIVERS")),
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = |id: &str| {
        text.lines()
            .find(|l| l.contains(id) && l.contains(published))
            .unwrap_or_else(|| panic!("{id} not in reglookup output:\n{text}"))
            .to_string()
    };
    assert!(
        line("VEN_1234&DEV_5678&SUBSYS_00011234/").contains("BINARY,%01%FF%00%00"),
        "{text}"
    );
    assert!(
        line("VEN_1234&DEV_5678/").contains("BINARY,%02%FF%00%00"),
        "{text}"
    );
    let files = img
        .join("Windows/System32/DriverStore/FileRepository")
        .join(repo);
    assert_eq!(
        std::fs::read(files.join("txnstor.sys")).unwrap(),
        std::fs::read(stor.join("txnstor.sys")).unwrap()
    );
    assert_eq!(
        std::fs::read(img.join("Windows/System32/drivers/txnstor.sys")).unwrap(),
        std::fs::read(stor.join("txnstor.sys")).unwrap()
    );
    assert_eq!(
        std::fs::read_to_string(img.join("Windows/INF").join(published)).unwrap(),
        STOR_INF
    );
}

/// `--plan` writes nothing and `--firstboot` names its step.
#[test]
fn plan_writes_nothing_and_firstboot_adds_setupcomplete() {
    let tmp = tempfile::tempdir().unwrap();
    let net = net(tmp.path());
    let img = win10(tmp.path());
    let bytes = raw(&img);
    let out = ok(&inject(&img, &[&net], &["--plan", "--firstboot"]))
        .stdout
        .clone();
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("SetupComplete.cmd"), "{text}");
    assert!(text.contains("nothing written"), "{text}");
    assert!(raw(&img) == bytes);
    let v = json(&inject(&img, &[&net], &["--json", "--firstboot"]));
    let repo = v["decisions"][0]["repository"].as_str().unwrap();
    let script =
        std::fs::read_to_string(img.join("Windows/Setup/Scripts/SetupComplete.cmd")).unwrap();
    assert!(
        script.contains(&format!(
            "pnputil /add-driver \"%SystemRoot%\\System32\\DriverStore\\FileRepository\\{repo}\\txnnet.inf\" /install\r\n"
        )),
        "{script}"
    );
}

/// The real vioscsi (boot-critical) and netkvm INFs of the shared corpus, with dummy payloads
/// named by the INFs, inject and produce the §1.5 records and the reflected service.
#[test]
fn corpus_vioscsi_and_netkvm_inject() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(pkgs) = corpus_packages(tmp.path()) else {
        return;
    };
    // Into infuse's own image and into one whose hives hivex wrote from the shared fixtures.
    let mut images = vec![win10(tmp.path())];
    images.extend(shared_image(
        &tmp.path().join("hivex-image"),
        Flavour::Win10,
    ));
    for img in &images {
        corpus_records(img, &pkgs);
    }
}

fn corpus_records(img: &Path, pkgs: &[PathBuf]) {
    let v = json(&inject(img, &[&pkgs[0], &pkgs[1]], &["--json"]));
    let d = &v["decisions"];
    assert_eq!(d[0]["boot_critical"], true, "{v}");
    assert_eq!(d[1]["boot_critical"], false, "{v}");
    let drivers = config(img, "DRIVERS");
    let system = config(img, "SYSTEM");
    let scsi_pub = d[0]["published"].as_str().unwrap();
    let scsi_repo = d[0]["repository"].as_str().unwrap();
    assert!(scsi_repo.starts_with("vioscsi.inf_amd64_"), "{scsi_repo}");
    assert_eq!(
        hivexget(
            &drivers,
            &format!("\\DriverDatabase\\DriverInfFiles\\{scsi_pub}"),
            "Active"
        ),
        scsi_repo
    );
    // vioscsi.inf's Models line names PCI\VEN_1AF4&DEV_1004&SUBSYS_00081AF4&REV_00 first:
    // flag 1 (hardware ID), feature score FF (§1.5).
    let out = oracle("reglookup")
        .args(["-H", "-p", "/DriverDatabase/DeviceIds/PCI", s(&drivers)])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines()
            .any(|l| l.contains("VEN_1AF4&DEV_1004&SUBSYS_00081AF4&REV_00/")
                && l.contains(scsi_pub)
                && l.contains("BINARY,%01%FF%00%00")),
        "{text}"
    );
    // vioscsi.inf: StartType = 0 (SERVICE_BOOT_START), ServiceBinary %12%\vioscsi.sys.
    let svc = "\\ControlSet001\\Services\\vioscsi";
    assert_eq!(hivexget(&system, svc, "Start"), "0");
    assert_eq!(
        hivexget(&system, svc, "ImagePath"),
        "System32\\drivers\\vioscsi.sys"
    );
    assert!(img.join("Windows/System32/drivers/vioscsi.sys").is_file());
    // netkvm is staged only: no service key is written for it offline (§1.1: not
    // boot-critical → staged; PnP installs it at first start).
    let out = oracle("hivexget")
        .args([s(&system), "\\ControlSet001\\Services\\netkvm", "Start"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "netkvm's service was reflected");
    let net_repo = d[1]["repository"].as_str().unwrap();
    assert!(
        img.join("Windows/System32/DriverStore/FileRepository")
            .join(net_repo)
            .join("netkvm.inf")
            .is_file()
    );
}

/// windows-driver-internals.md §3.2: equal rank → the newer DriverVer date wins. The image's
/// e1d68x64.inf (2019-03-14) for `PCI\VEN_8086&DEV_15B8` beats an otherwise equal store
/// package dated 2018 (§3.2a: drivers already in the image rank with the store's): the store
/// package is reported, not injected, unless `--force`.
#[test]
fn a_store_driver_that_loses_to_the_image_is_reported_unless_forced() {
    let tmp = tempfile::tempdir().unwrap();
    let old = STOR_INF
        .replace("03/01/2025", "01/01/2018")
        .replace(
            r"PCI\VEN_1234&DEV_5678&SUBSYS_00011234, PCI\VEN_1234&DEV_5678",
            r"PCI\VEN_8086&DEV_15B8",
        )
        .replace("Class=SCSIAdapter", "Class=Net")
        .replace(
            "{4D36E97B-E325-11CE-BFC1-08002BE10318}",
            "{4D36E972-E325-11CE-BFC1-08002BE10318}",
        )
        .replace("StartType = 0", "StartType = 3");
    let pkg = package(
        &tmp.path().join("olde1d"),
        "txnstor.inf",
        &old,
        &["txnstor.sys", "txnstor.cat"],
    );
    let store = tmp.path().join("store");
    ok(&infuse()
        .args(["store", "add", s(&store), s(&pkg)])
        .output()
        .unwrap());
    let profile = tmp.path().join("machine.toml");
    std::fs::write(
        &profile,
        "[[device]]\ninstance_id = 'PCI\\VEN_8086&DEV_15B8\\3&11583659&0&C8'\nhardware_ids = ['PCI\\VEN_8086&DEV_15B8']\n",
    )
    .unwrap();
    let img = win10(tmp.path());
    let bytes = raw(&img);
    let args = ["--store", s(&store), "--profile", s(&profile), "--json"];
    let v = json(&inject(&img, &[], &args));
    assert_eq!(v["decisions"], Value::Array(vec![]), "{v}");
    let reason = v["skipped"][0]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("e1d68x64.inf"), "{v}");
    assert!(raw(&img) == bytes, "the image changed");
    let mut forced = args.to_vec();
    forced.push("--force");
    let v = json(&inject(&img, &[], &forced));
    assert_eq!(v["decisions"][0]["action"], "inject", "{v}");
    assert_eq!(v["decisions"][0]["inf"], "txnstor.inf", "{v}");
}

/// vioscsi and netkvm from the shared corpus as package folders under `tmp`, with a dummy
/// payload for every file their INFs name. `None` (said on stderr) without the corpus.
fn corpus_packages(tmp: &Path) -> Option<Vec<PathBuf>> {
    let Some(corpus) = corpus_dir() else {
        eprintln!("corpus absent: test not run");
        return None;
    };
    let dir = corpus.join("OSDeploy__WinPEDriverPack");
    let find = |needle: &str| {
        std::fs::read_dir(&dir)
            .ok()
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.to_string_lossy().contains(needle))
    };
    let (Some(vioscsi), Some(netkvm)) = (find("__vioscsi.inf"), find("__netkvm.inf")) else {
        eprintln!("vioscsi/netkvm not in the corpus: test not run");
        return None;
    };
    let mut pkgs = Vec::new();
    for (src, name) in [(vioscsi, "vioscsi.inf"), (netkvm, "netkvm.inf")] {
        let pkg = tmp.join(name.trim_end_matches(".inf"));
        std::fs::create_dir_all(&pkg).unwrap();
        std::fs::copy(&src, pkg.join(name)).unwrap();
        // Dummy payloads for every file the INF names (the model lists them as missing).
        let mut cache = infuse_driver_store::store::package::DirCache::default();
        let p = infuse_driver_store::store::package::Package::load(&pkg.join(name), &mut cache)
            .unwrap();
        for f in &p.files {
            if f.found.is_none() {
                let path = pkg.join(&f.path);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, format!("dummy {}", f.path)).unwrap();
            }
        }
        let cat = p
            .model
            .version
            .catalog_for(infuse_driver_store::inf::model::Arch::Amd64);
        if let Some(cat) = cat {
            std::fs::write(pkg.join(&cat.name), b"dummy catalog").unwrap();
        }
        pkgs.push(pkg);
    }
    Some(pkgs)
}

/// A package whose AddService names an inbox service, or whose reflected file is an inbox file
/// (PnpLockdownFiles owner `stornvme.inf`, §1.7), would take over something the image's own
/// driver owns; a removal could not give it back (it would delete the inbox `stornvme` service or
/// `stornvme.sys`). Refused with the key named, and the image is byte-identical.
#[test]
fn taking_over_an_inbox_service_or_file_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let img = win10(tmp.path());
    let bytes = raw(&img);
    for (name, text, what) in [
        (
            "service",
            STOR_INF.replacen("AddService = txnstor,", "AddService = stornvme,", 1),
            r"Services\stornvme",
        ),
        (
            "file",
            STOR_INF.replace("txnstor.sys", "stornvme.sys"),
            "PnpLockdownFiles",
        ),
    ] {
        let dir = package(
            &tmp.path().join(name),
            "txnstor.inf",
            &text,
            &["txnstor.sys", "stornvme.sys", "txnstor.cat"],
        );
        let out = inject(&img, &[&dir], &[]);
        assert!(!out.status.success(), "{name}: accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("txnstor.inf") && err.contains(what) && err.contains("stornvme.inf"),
            "{name}: the error does not name the INF, the key and its owner: {err}"
        );
        assert!(raw(&img) == bytes, "{name}: the image changed");
    }
}

/// Two third-party packages that install the same service and boot file share them, as Windows
/// does: both names in the service's and the PnpLockdownFiles entry's `Owners` (§1.6, §1.7);
/// removing one leaves the service and the file to the other; removing both restores the image.
#[test]
fn packages_sharing_a_service_share_its_owners() {
    let tmp = tempfile::tempdir().unwrap();
    let a = stor(tmp.path());
    let b = package(
        &tmp.path().join("stor2"),
        "txnstor2.inf",
        &STOR_INF
            .replace("txnstor.cat", "txnstor2.cat")
            .replace("1.2.3.4", "1.2.3.5")
            .replace("DEV_5678&SUBSYS_00011234", "DEV_5679&SUBSYS_00011234"),
        &["txnstor.sys", "txnstor2.cat"],
    );
    let img = win10(tmp.path());
    round_trip(&img, &[&[&a], &[&b]]);

    let pa = json(&inject(&img, &[&a], &["--json"]))["decisions"][0]["published"]
        .as_str()
        .unwrap()
        .to_string();
    let pb = json(&inject(&img, &[&b], &["--json"]))["decisions"][0]["published"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(pa, pb);
    let system = config(&img, "SYSTEM");
    let software = config(&img, "SOFTWARE");
    let svc = "\\ControlSet001\\Services\\txnstor";
    let lock = "\\Microsoft\\Windows\\CurrentVersion\\Setup\\PnpLockdownFiles\\%SystemRoot%/System32/drivers/txnstor.sys";
    let both = format!("{pa}\n{pb}");
    assert_eq!(hivexget(&system, svc, "Owners"), both);
    assert_eq!(hivexget(&software, lock, "Owners"), both);
    ok(&infuse()
        .args(["image", "remove-driver", s(&img), &pa])
        .output()
        .unwrap());
    assert_eq!(hivexget(&system, svc, "Owners"), pb);
    assert_eq!(hivexget(&software, lock, "Owners"), pb);
    assert!(img.join("Windows/System32/drivers/txnstor.sys").is_file());
    let v = json(
        &infuse()
            .args(["image", "verify", s(&img), "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(v["findings"].as_array().map(Vec::len), Some(0), "{v}");
}
