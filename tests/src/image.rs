//! Offline images whose hives an independent writer made: hivex's `hivexregedit --merge` of the
//! shared fixtures (`../shared/fixtures/hives`, virt-v2v's phony-guest `.reg` files) into
//! hivex's `minimal-hive`, plus small `.reg` files written here for what the phony guests lack
//! (ProductOptions, the environment's PROCESSOR_ARCHITECTURE, a DriverDatabase with one inbox
//! package registered as windows-driver-internals.md §1.5 describes).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use infuse::image::build::{PackageSpec, processor_architecture};
use infuse::image::ddb;
use infuse_driver_store::inf::model::Arch;

use crate::{oracle, shared_hives_dir};

/// Which phony guest's SOFTWARE hive to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// `win10-software.reg` (10.0.17763, Enterprise Evaluation), amd64, DRIVERS hive.
    Win10,
    /// `win11-software.reg`, amd64, DRIVERS hive.
    Win11,
    /// `win2k22-software.reg` (Server 2022, 20348), amd64, ServerNT, DRIVERS hive.
    Server2022,
    /// `win7-32-software.reg` (CurrentVersion 6.1, no build), x86, no DriverDatabase.
    Win7x86,
}

impl Flavour {
    fn software_reg(self) -> &'static str {
        match self {
            Flavour::Win10 => "win10-software.reg",
            Flavour::Win11 => "win11-software.reg",
            Flavour::Server2022 => "win2k22-software.reg",
            Flavour::Win7x86 => "win7-32-software.reg",
        }
    }

    pub fn arch(self) -> Arch {
        match self {
            Flavour::Win7x86 => Arch::X86,
            _ => Arch::Amd64,
        }
    }

    fn has_driver_database(self) -> bool {
        self != Flavour::Win7x86
    }
}

/// The inbox package the shared images register (hdaudio-like, compatible ID
/// `HDAUDIO\FUNC_01`).
pub fn shared_inbox_package() -> PackageSpec {
    PackageSpec::sample_inbox().remove(0)
}

/// Build an image under `dir` whose hives hivex wrote. `None` (said on stderr) when
/// `../shared` is absent.
pub fn shared_image(dir: &Path, flavour: Flavour) -> Option<PathBuf> {
    let Some(hives) = shared_hives_dir() else {
        eprintln!(
            "shared hive fixtures not present (../shared/fixtures/hives): hivex-built image ({flavour:?}) not made, its checks not run"
        );
        return None;
    };
    let root = dir.to_path_buf();
    let win = root.join("Windows");
    let config = win.join("System32/config");
    let repo = win.join("System32/DriverStore/FileRepository");
    for d in [
        &config,
        &repo,
        &win.join("INF"),
        &win.join("System32/drivers"),
    ] {
        std::fs::create_dir_all(d).expect("create image folders");
    }
    let arch = flavour.arch();
    let pkg = shared_inbox_package();
    let pkg_id = pkg.package_id(arch);

    // SYSTEM: the phony guest's Select/ControlSet001 + what it lacks.
    let mut sys = String::new();
    let cs = r"HKEY_LOCAL_MACHINE\SYSTEM\ControlSet001";
    let product = if flavour == Flavour::Server2022 {
        "ServerNT"
    } else {
        "WinNT"
    };
    writeln!(
        sys,
        "[{cs}\\Control\\ProductOptions]\n\"ProductType\"=str(1):\"{product}\"\n"
    )
    .ok();
    let env = match arch {
        Arch::X86 => "x86",
        _ => "AMD64",
    };
    writeln!(
        sys,
        "[{cs}\\Control\\Session Manager\\Environment]\n\"PROCESSOR_ARCHITECTURE\"=str(1):\"{env}\"\n"
    )
    .ok();
    if flavour.has_driver_database() {
        writeln!(
            sys,
            "[{cs}\\Control\\Class\\{}]\n\"Class\"=str(1):\"{}\"\n",
            pkg.class_guid, pkg.class
        )
        .ok();
        let svc = pkg.service.as_ref().expect("the sample has a service");
        writeln!(
            sys,
            "[{cs}\\Services\\{}]\n\"Type\"=dword:00000001\n\"Start\"=dword:{:08x}\n\"ErrorControl\"=dword:00000001\n\"ImagePath\"=hex(2):{}\n\"Owners\"=hex(7):{}\n",
            svc.name,
            svc.start,
            hex_list(&utf16z(&format!(r"System32\drivers\{}.sys", svc.name))),
            hex_list(&multi_sz(&[&pkg.published]))
        )
        .ok();
        writeln!(sys, "[HKEY_LOCAL_MACHINE\\SYSTEM\\DriverDatabase]\n").ok();
    } else {
        writeln!(sys, "[{cs}\\Control\\CriticalDeviceDatabase]\n").ok();
    }
    make_hive(
        &hives,
        &config.join("SYSTEM"),
        r"HKEY_LOCAL_MACHINE\SYSTEM",
        &[
            &hives.join("windows-system.reg"),
            &write_reg(dir, "system-extra.reg", &sys),
        ],
    );
    make_hive(
        &hives,
        &config.join("SOFTWARE"),
        r"HKEY_LOCAL_MACHINE\SOFTWARE",
        &[&hives.join(flavour.software_reg())],
    );
    if flavour.has_driver_database() {
        let text = drivers_reg(&pkg, &pkg_id, arch);
        make_hive(
            &hives,
            &config.join("DRIVERS"),
            r"HKEY_LOCAL_MACHINE\DRIVERS",
            &[&write_reg(dir, "drivers.reg", &text)],
        );
        let inf = pkg.inf_text(arch);
        std::fs::write(win.join("INF").join(&pkg.published), &inf).expect("write INF");
        std::fs::create_dir_all(repo.join(&pkg_id)).expect("mkdir");
        std::fs::write(repo.join(&pkg_id).join(&pkg.inf_name), &inf).expect("write INF");
        let svc = pkg.service.as_ref().expect("service");
        std::fs::write(
            win.join("System32/drivers")
                .join(format!("{}.sys", svc.name)),
            pkg.sys_bytes(),
        )
        .expect("write sys");
        std::fs::write(
            repo.join(&pkg_id).join(format!("{}.sys", svc.name)),
            pkg.sys_bytes(),
        )
        .expect("write sys");
    }
    Some(root)
}

/// The DRIVERS hive's DriverDatabase with `pkg` registered (§1.5), in hivexregedit's notation.
fn drivers_reg(pkg: &PackageSpec, pkg_id: &str, arch: Arch) -> String {
    let db = r"HKEY_LOCAL_MACHINE\DRIVERS\DriverDatabase";
    let mut s = String::new();
    // No oemN.inf yet: an empty bitmap.
    writeln!(s, "[{db}]\n\"OemInfMap\"=hex(3):00\n").ok();
    writeln!(s, "[{db}\\DriverInfFiles\\{}]", pkg.published).ok();
    writeln!(s, "@=hex(7):{}", hex_list(&multi_sz(&[pkg_id]))).ok();
    writeln!(s, "\"Active\"=str(1):\"{pkg_id}\"").ok();
    writeln!(
        s,
        "\"Configurations\"=hex(7):{}\n",
        hex_list(&multi_sz(&[&pkg.install_section]))
    )
    .ok();
    let pk = format!(r"{db}\DriverPackages\{pkg_id}");
    writeln!(s, "[{pk}]").ok();
    writeln!(s, "@=str(1):\"{}\"", pkg.published).ok();
    writeln!(s, "\"InfName\"=str(1):\"{}\"", pkg.inf_name).ok();
    writeln!(s, "\"Provider\"=str(1):\"{}\"", pkg.provider).ok();
    writeln!(s, "\"SignerScore\"=dword:{:08x}", pkg.signer_score).ok();
    // §1.5 Version layout written out field by field, independently of infuse's encoder.
    let mut version = vec![0x00, 0xff];
    version.extend_from_slice(&processor_architecture(arch).to_le_bytes());
    version.extend_from_slice(&[0; 4]);
    version.extend_from_slice(&ddb::guid_bytes(&pkg.class_guid).expect("guid"));
    let (y, m, d) = pkg.date;
    version.extend_from_slice(&ddb::VersionBlob::filetime_of(y, m, d).to_le_bytes());
    for part in pkg.version.iter().rev() {
        version.extend_from_slice(&part.to_le_bytes());
    }
    version.extend_from_slice(&[0; 8]);
    writeln!(s, "\"Version\"=hex(3):{}\n", hex_list(&version)).ok();
    let svc = pkg.service.as_ref().expect("service");
    writeln!(
        s,
        "[{pk}\\Configurations\\{}]\n\"ConfigFlags\"=dword:00000000\n\"Service\"=str(1):\"{}\"\n",
        pkg.install_section, svc.name
    )
    .ok();
    for (id, v) in pkg.device_ids() {
        writeln!(
            s,
            "[{db}\\DeviceIds\\{id}]\n\"{}\"=hex(3):{}\n",
            pkg.published,
            hex_list(&v)
        )
        .ok();
    }
    writeln!(
        s,
        "[{db}\\DeviceIds\\{}]\n\"{}\"=hex(0):\n",
        pkg.class_guid.to_ascii_lowercase(),
        pkg.published
    )
    .ok();
    s
}

fn write_reg(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write .reg");
    p
}

/// `cp minimal-hive HIVE; hivexregedit --merge HIVE --prefix PREFIX FILE...`
pub fn make_hive(hives: &Path, dest: &Path, prefix: &str, regs: &[&Path]) {
    std::fs::copy(hives.join("minimal-hive"), dest).expect("copy minimal-hive");
    for reg in regs {
        merge(dest, prefix, reg);
    }
}

/// `hivexregedit --merge HIVE --prefix PREFIX FILE`. hivexregedit does not create missing
/// parent keys, so a copy of the file with every parent listed first is merged.
pub fn merge(hive: &Path, prefix: &str, reg: &Path) {
    let text = std::fs::read_to_string(reg).expect("read .reg");
    // The copy is a temp file: never written next to shared fixtures or inside the image.
    let full = tempfile::Builder::new()
        .suffix(".reg")
        .tempfile()
        .expect("temp .reg");
    std::fs::write(full.path(), with_parents(prefix, &text)).expect("write .reg");
    let o = oracle("hivexregedit")
        .arg("--merge")
        .arg(hive)
        .arg("--prefix")
        .arg(prefix)
        .arg(full.path())
        .output()
        .expect("run hivexregedit");
    assert!(
        o.status.success(),
        "hivexregedit --merge {} {}: {}",
        hive.display(),
        reg.display(),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// `a1,b2,…` as .reg hex lists spell bytes.
pub fn hex_list(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// UTF-16LE with a terminating NUL.
pub fn utf16z(s: &str) -> Vec<u8> {
    s.encode_utf16()
        .chain([0])
        .flat_map(u16::to_le_bytes)
        .collect()
}

/// REG_MULTI_SZ data: each string NUL-terminated, then an empty one.
pub fn multi_sz(items: &[&str]) -> Vec<u8> {
    let mut out: Vec<u8> = items.iter().flat_map(|s| utf16z(s)).collect();
    out.extend_from_slice(&[0, 0]);
    out
}

/// The `.reg` text with a `[key]` section for every missing ancestor of each key (below
/// `prefix`), placed before its first descendant; deletions (`[-key]`) are left as they are.
pub fn with_parents(prefix: &str, text: &str) -> String {
    let mut seen = std::collections::HashSet::new();
    let mut out = String::new();
    for line in text.lines() {
        let t = line.trim();
        if let Some(key) = t.strip_prefix('[').and_then(|k| k.strip_suffix(']'))
            && !key.starts_with('-')
            && let Some(rest) = key.strip_prefix(prefix)
        {
            let mut path = prefix.to_owned();
            let parts: Vec<&str> = rest.split('\\').filter(|p| !p.is_empty()).collect();
            for (n, part) in parts.iter().enumerate() {
                path.push('\\');
                path.push_str(part);
                let new = seen.insert(path.to_ascii_lowercase());
                if new && n + 1 < parts.len() {
                    out.push_str(&format!("[{path}]\n\n"));
                }
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}
