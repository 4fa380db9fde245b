//! Matching a 150-device machine against a store whose index holds 1,000,000 IDs.
//!
//! `cargo bench -p infuse --bench match` builds (once, then reuses) a synthetic store under
//! `<target>/bench-data/match-1m/`: 1,000 complete packages, each with a Manufacturer line
//! `NTamd64,NTamd64.10.0...19041` (so the decoration choice is exercised), 500 Models entries of
//! one hardware ID and one compatible ID each (1,000,000 distinct IDs), plus one generic package
//! matching every device's `PCI\VEN_v&CC_0200` compatible ID (every covered device has a loser to
//! rank). The machine: 150 PCI devices with Windows ladders — 100 hit a specific package
//! (HW ID #1), 30 only the generic one (compatible ID #3), 20 nothing.
//!
//! It times, best and median of many rounds, in one process:
//! - the limit: the bare index lookups of every device ID (what any matcher must do), with
//!   `Index::lookup` and with `Index::lookup_with` and one `LookupCursor` (what the matcher uses);
//! - `StoreMatcher::match_device` for all 150 devices, warm (index mapped, Manufacturer lines
//!   read once) — the target is < 1 ms;
//! - the first match of the machine in a fresh `StoreMatcher` (reads the hit packages'
//!   Manufacturer lines from the index).
//!
//! and writes `machine-150.toml` next to the store for the whole-process measurement:
//! `hyperfine -N 'infuse --version' 'infuse match --store S --profile P --os 10.0.22631 --arch amd64 --json'`.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use infuse::hwid::Device;
use infuse::hwid::ladder::{PciFunction, pci_ids};
use infuse::rank::store::StoreMatcher;
use infuse::rank::{SignatureRules, Target};
use infuse_driver_store::inf::model::Arch;
use infuse_driver_store::store::index::LookupCursor;
use infuse_driver_store::store::{Index, Store};

const PACKAGES: u32 = 1000;
const LINES: u32 = 500;
const ROUNDS: usize = 200;

/// Vendor/device of global line `g` (unique for every g < 500,000).
fn ven_dev(g: u32) -> (u16, u16) {
    (0x1000 + (g >> 16) as u16, (g & 0xFFFF) as u16)
}

fn bench_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("INFUSE_BENCH_DIR") {
        return PathBuf::from(d);
    }
    // target/release/deps/match-HASH → target/bench-data
    let exe = std::env::current_exe().unwrap_or_default();
    let target = exe
        .ancestors()
        .nth(3)
        .map_or_else(std::env::temp_dir, Path::to_path_buf);
    target.join("bench-data").join("match-1m")
}

fn write_packages(src: &Path) {
    for p in 0..PACKAGES {
        let dir = src.join(format!("p{p:04}"));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let mut inf = format!(
            "[Version]\r\nSignature=\"$WINDOWS NT$\"\r\nClass=Net\r\nClassGuid={{4d36e972-e325-11ce-bfc1-08002be10318}}\r\nProvider=%V%\r\nCatalogFile=p{p}.cat\r\nDriverVer=01/{:02}/2024,1.0.{p}.0\r\n\r\n[Manufacturer]\r\n%V%=M,NTamd64,NTamd64.10.0...19041\r\n\r\n[M.NTamd64]\r\n%D%=Inst,PCI\\VEN_FFFF&DEV_{p:04X}\r\n\r\n[M.NTamd64.10.0...19041]\r\n",
            1 + p % 28
        );
        for l in 0..LINES {
            let (v, d) = ven_dev(p * LINES + l);
            inf.push_str(&format!("%D%=Inst,PCI\\VEN_{v:04X}&DEV_{d:04X}&SUBSYS_00011AF4,PCI\\VEN_{v:04X}&DEV_{d:04X}&REV_7F\r\n"));
        }
        inf.push_str(
            "\r\n[Inst.NTamd64]\r\n\r\n[Strings]\r\nV=\"Synthetic\"\r\nD=\"Synthetic NIC\"\r\n",
        );
        std::fs::write(dir.join(format!("p{p}.inf")), inf).expect("write inf");
        std::fs::write(dir.join(format!("p{p}.cat")), b"catalog").expect("write cat");
    }
    let dir = src.join("generic");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let mut inf = "[Version]\r\nSignature=\"$WINDOWS NT$\"\r\nClass=Net\r\nClassGuid={4d36e972-e325-11ce-bfc1-08002be10318}\r\nProvider=%V%\r\nCatalogFile=g.cat\r\nDriverVer=01/01/2025,9.0.0.0\r\n\r\n[Manufacturer]\r\n%V%=G,NTamd64\r\n\r\n[G.NTamd64]\r\n".to_owned();
    for vendor in 0x1000..=0x1008u16 {
        inf.push_str(&format!("%D%=Inst,PCI\\VEN_{vendor:04X}&CC_0200\r\n"));
    }
    inf.push_str("\r\n[Inst.NTamd64]\r\n\r\n[Strings]\r\nV=\"Generic\"\r\nD=\"Generic NIC\"\r\n");
    std::fs::write(dir.join("generic.inf"), inf).expect("write inf");
    std::fs::write(dir.join("g.cat"), b"catalog").expect("write cat");
}

/// The store, built on first use.
fn store() -> PathBuf {
    let dir = bench_dir();
    let store = dir.join("store");
    if let Ok(index) = Index::open(&store)
        && index.id_count() >= u64::from(PACKAGES * LINES * 2)
    {
        return store;
    }
    let src = dir.join("src");
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!("building the synthetic store in {} (once)…", dir.display());
    let t = Instant::now();
    write_packages(&src);
    let s = Store::create(&store).expect("create store");
    let report = s.add(&[src], &mut |_| {}).expect("store add");
    eprintln!(
        "  {} packages, {} IDs, {} nodes in {:.1?}",
        report.packages,
        report.ids,
        report.nodes,
        t.elapsed()
    );
    store
}

/// The machine: 150 PCI devices.
fn machine() -> Vec<(Device, PciFunction)> {
    let mut out = Vec::new();
    for n in 0..150u32 {
        let (vendor, device) = match n {
            // A specific package line, spread over the packages.
            0..100 => ven_dev((n * 4_999) % (PACKAGES * LINES)),
            // A vendor no specific package names: only the generic CC_0200 driver.
            100..130 => (0x1008, 0xF000 + n as u16),
            // Nothing covers these.
            _ => (0x7000 + n as u16, 0x0001),
        };
        let f = PciFunction {
            vendor,
            device,
            subsys_vendor: 0x1AF4,
            subsys_device: 0x0001,
            class: 0x020000,
            revision: 0x01,
        };
        let (hw, compat) = pci_ids(&f);
        out.push((Device::new(format!("{}\\bench{n}", hw[0]), hw, compat), f));
    }
    out
}

fn write_profile(path: &Path, devices: &[(Device, PciFunction)]) {
    let mut t = String::from("name = \"benchmark machine, 150 PCI devices\"\n");
    for (_, f) in devices {
        t.push_str(&format!(
            "[[device]]\npci = {{ vendor = 0x{:04x}, device = 0x{:04x}, subsys_vendor = 0x{:04x}, subsys_device = 0x{:04x}, class = 0x{:06x}, revision = 0x{:02x} }}\n",
            f.vendor, f.device, f.subsys_vendor, f.subsys_device, f.class, f.revision
        ));
    }
    std::fs::write(path, t).expect("write profile");
}

fn stats(mut v: Vec<Duration>) -> (Duration, Duration) {
    v.sort();
    (v[0], v[v.len() / 2])
}

#[allow(clippy::print_stdout, reason = "a benchmark reports on stdout")]
fn main() {
    let store = store();
    let devices = machine();
    let profile = bench_dir().join("machine-150.toml");
    write_profile(&profile, &devices);
    let target = Target::new(10, 0, 22631, Arch::Amd64);
    let rules = SignatureRules::CatalogPresent;

    // Cold: a fresh matcher reads the hit packages' Manufacturer lines from the index.
    let t = Instant::now();
    let cold = StoreMatcher::open(&store).expect("open store");
    let mut covered = 0;
    for (d, _) in &devices {
        covered += usize::from(
            cold.match_device(d, &target, rules)
                .expect("match")
                .winner()
                .is_some(),
        );
    }
    let first = t.elapsed();
    assert_eq!(
        covered, 130,
        "100 specific + 30 generic devices are covered"
    );

    let m = StoreMatcher::open(&store).expect("open store");
    let ids: usize = devices
        .iter()
        .map(|(d, _)| d.hardware_ids.len() + d.compatible_ids.len())
        .sum();
    let mut floor = Vec::new();
    let mut floor_cursor = Vec::new();
    let mut warm = Vec::new();
    let mut cursor = LookupCursor::default();
    for round in 0..ROUNDS + 1 {
        let t = Instant::now();
        for (d, _) in &devices {
            for id in d.hardware_ids.iter().chain(&d.compatible_ids) {
                black_box(m.index().lookup(id).expect("lookup"));
            }
        }
        let f = t.elapsed();
        let t = Instant::now();
        for (d, _) in &devices {
            for id in d.hardware_ids.iter().chain(&d.compatible_ids) {
                black_box(m.index().lookup_with(id, &mut cursor).expect("lookup"));
            }
        }
        let fc = t.elapsed();
        let t = Instant::now();
        for (d, _) in &devices {
            black_box(m.match_device(d, &target, rules).expect("match"));
        }
        let w = t.elapsed();
        if round > 0 {
            floor.push(f);
            floor_cursor.push(fc);
            warm.push(w);
        }
    }
    let (fb, fm) = stats(floor);
    let (cb, cm) = stats(floor_cursor);
    let (wb, wm) = stats(warm);
    println!(
        "store: {} ({} IDs, {} packages)",
        store.display(),
        m.index().id_count(),
        m.index().package_count()
    );
    println!(
        "machine: {} devices, {ids} IDs; profile {}",
        devices.len(),
        profile.display()
    );
    println!("{:<44} {:>10} {:>10}", "", "best", "median");
    println!(
        "{:<44} {:>10.3?} {:>10.3?}",
        "limit: bare index lookups of every ID", fb, fm
    );
    println!(
        "{:<44} {:>10.3?} {:>10.3?}",
        "limit: same, through one LookupCursor", cb, cm
    );
    println!(
        "{:<44} {:>10.3?} {:>10.3?}",
        "match 150 devices, warm", wb, wm
    );
    println!(
        "{:<44} {:>10.3?}",
        "match 150 devices, first (fresh matcher)", first
    );
    println!(
        "ratio warm / limit (median): {:.2} (plain lookups), {:.2} (cursor lookups)",
        wm.as_secs_f64() / fm.as_secs_f64(),
        wm.as_secs_f64() / cm.as_secs_f64()
    );
}
