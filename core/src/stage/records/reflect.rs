//! Reflection of a boot-critical package (windows-driver-internals.md §1.1: "the files are copied
//! into the image according to what's specified in the .inf file"): the service keys (§1.6),
//! event-log sources, the legacy CriticalDeviceDatabase (§1.6), PnpLockdownFiles (§1.7) and the
//! DIRID 10/11/12 file copies (§1.3).

use infuse_driver_store::inf::model::addreg::ServiceRegistry;
use infuse_driver_store::inf::model::{Service, install_registry, paths};

use super::ddb::write_hkr;
use super::{DbLayout, Ops, PackageInstall, PackageRecords, RecordError, Selected, join_key};
use crate::stage::plan::{FileOp, FileSource, HiveFile};

/// `Microsoft\Windows\CurrentVersion\Setup\PnpLockdownFiles` in the SOFTWARE hive (§1.7).
pub const PNP_LOCKDOWN_FILES: &str = r"Microsoft\Windows\CurrentVersion\Setup\PnpLockdownFiles";
/// `Class` of a PnpLockdownFiles entry as captured ([DB]: 4, §1.7).
pub const LOCKDOWN_CLASS: u32 = 4;
/// First build that runs drivers from the driver store (DIRID 13): Windows 10 1709 (§1.3).
pub const DIRID13_MIN_BUILD: u32 = 16299;

/// `ControlSet%03d`.
pub fn control_set_key(n: u32) -> String {
    format!("ControlSet{n:03}")
}

pub(super) fn reflect(
    input: &PackageInstall<'_>,
    sel: &Selected<'_>,
    out: &mut PackageRecords,
) -> Result<(), RecordError> {
    let cs = control_set_key(input.control_set);
    let mut services: Vec<(&Service, ServiceRegistry)> = Vec::new();
    for install in &sel.installs {
        let mut diags = Vec::new();
        let registry = install_registry(input.inf, install, &mut diags);
        for (svc, reg) in install.services.iter().zip(registry.services) {
            if svc.name.is_empty()
                || services
                    .iter()
                    .any(|(s, _)| s.name.eq_ignore_ascii_case(&svc.name))
            {
                continue;
            }
            services.push((svc, reg));
        }
    }

    let mut system = Vec::new();
    let mut ops = Ops {
        hive: HiveFile::System,
        out: &mut system,
    };
    for (svc, reg) in &services {
        write_service(input, &cs, svc, reg, &mut ops, &mut out.notes)?;
    }
    if input.layout == DbLayout::Legacy {
        write_cddb(input, sel, &cs, &mut ops);
    }
    out.hives.extend(system);

    // Files to DIRID 10/11/12 are copied into place; DIRID 13 files run from the repository.
    let lockdown = input.model.version.pnp_lockdown && input.layout != DbLayout::Legacy;
    let mut software = Vec::new();
    let mut sw = Ops {
        hive: HiveFile::Software,
        out: &mut software,
    };
    let mut done = std::collections::HashSet::new();
    for install in &sel.installs {
        for f in &install.files {
            let base = match f.dest_dirid {
                Some(10) => "",
                Some(11) => "System32",
                Some(12) => "System32/drivers",
                Some(13) => continue,
                other => {
                    out.notes.push(format!(
                        "{}:{}: `{}` goes to DIRID {}: not reflected offline, PnP copies it at first start",
                        input.inf_name,
                        f.line,
                        f.name,
                        other.map_or("(none)".to_string(), |d| d.to_string())
                    ));
                    continue;
                }
            };
            let mut rel: Vec<&str> = Vec::new();
            if !base.is_empty() {
                rel.push(base);
            }
            rel.extend(f.dest_subdir.iter().map(String::as_str));
            rel.push(&f.name);
            let rel = rel.join("/");
            if !done.insert(rel.to_lowercase()) {
                continue;
            }
            let source_path = f.source_path();
            let Some(file) = input
                .files
                .iter()
                .find(|p| p.path.eq_ignore_ascii_case(&source_path))
            else {
                return Err(RecordError::Refused {
                    inf: input.inf_name.clone(),
                    line: f.line,
                    message: format!("`{source_path}` is not a file of the package"),
                });
            };
            out.files.push(FileOp::Put {
                dest: format!("Windows/{rel}"),
                source: FileSource::Path {
                    path: file.source.clone(),
                },
                size: file.size,
                sha256: None,
            });
            if lockdown {
                let key = join_key(&[PNP_LOCKDOWN_FILES, &format!("%SystemRoot%/{rel}")]);
                sw.dword(&key, "Class", LOCKDOWN_CLASS);
                sw.multi(&key, "Owners", &[&input.published]);
                let src = format!(
                    r"%SystemRoot%\System32\DriverStore\FileRepository\{}\{}",
                    input.repository,
                    source_path.replace('/', "\\")
                );
                sw.expand_sz(&key, "Source", &src);
            }
        }
    }
    out.hives.extend(software);
    Ok(())
}

fn write_service(
    input: &PackageInstall<'_>,
    cs: &str,
    svc: &Service,
    reg: &ServiceRegistry,
    ops: &mut Ops<'_>,
    notes: &mut Vec<String>,
) -> Result<(), RecordError> {
    let refuse = |message: String| RecordError::Refused {
        inf: input.inf_name.clone(),
        line: svc.line,
        message,
    };
    let (Some(kind), Some(start), Some(error), Some(binary)) = (
        svc.service_type,
        svc.start_type,
        svc.error_control,
        svc.binary.as_deref(),
    ) else {
        // inf-behaviour.md §G: Windows refuses the install (ERROR_BAD_SERVICE_INSTALLSECT).
        return Err(refuse(format!(
            "service `{}`: the service-install section needs ServiceBinary, ServiceType, \
             StartType and ErrorControl",
            svc.name
        )));
    };
    let image_path = image_path(input, kind, binary)
        .map_err(|m| refuse(format!("service `{}`: {m}", svc.name)))?;
    let key = join_key(&[cs, "Services", &svc.name]);
    ops.dword(&key, "Type", kind);
    ops.dword(&key, "Start", start);
    ops.dword(&key, "ErrorControl", error);
    ops.expand_sz(&key, "ImagePath", &image_path);
    if let Some(g) = &svc.load_order_group {
        ops.sz(&key, "Group", g);
    }
    if let Some(d) = &reg.display_name {
        ops.sz(&key, "DisplayName", d);
    }
    if let Some(d) = &reg.description {
        ops.sz(&key, "Description", d);
    }
    // Dependencies: `+group` entries are load-order groups (AddService directive).
    let groups: Vec<&str> = reg
        .dependencies
        .iter()
        .filter_map(|d| d.strip_prefix('+'))
        .collect();
    let services: Vec<&str> = reg
        .dependencies
        .iter()
        .filter(|d| !d.starts_with('+'))
        .map(String::as_str)
        .collect();
    if !services.is_empty() {
        ops.multi(&key, "DependOnService", &services);
    }
    if !groups.is_empty() {
        ops.multi(&key, "DependOnGroup", &groups);
    }
    ops.multi(&key, "Owners", &[&input.published]);
    notes.extend(write_hkr(ops, &key, &reg.add_reg));
    if let Some(ev) = &reg.event_log {
        let ekey = join_key(&[cs, "Services", "EventLog", &ev.log_type, &ev.source]);
        ops.key(&ekey);
        notes.extend(write_hkr(ops, &ekey, &ev.add_reg));
    }
    Ok(())
}

/// `ImagePath` of a service binary: DIRID 12 → `System32\drivers\x.sys` (relative to
/// SystemRoot, as real Windows writes it, §1.6); 11 → `System32\…`; 10 → `…`; 13 → inside the
/// package's FileRepository folder. Win32 services get `%SystemRoot%\…`. Anything else is outside
/// the image and refused.
fn image_path(input: &PackageInstall<'_>, kind: u32, binary: &str) -> Result<String, String> {
    let text = binary.trim();
    let (path, args) = match text.find([' ', '\t']) {
        Some(i) => (&text[..i], text[i..].trim()),
        None => (text, ""),
    };
    let lower = path.to_ascii_lowercase();
    let repo = format!(r"System32\DriverStore\FileRepository\{}", input.repository);
    let bases: [(&str, &str); 7] = [
        ("%10%", ""),
        ("%11%", "System32"),
        ("%12%", r"System32\drivers"),
        ("%13%", &repo),
        (r"c:\windows\system32\drivers", r"System32\drivers"),
        (r"c:\windows\system32", "System32"),
        (r"c:\windows", ""),
    ];
    let Some((prefix, base)) = bases.iter().find(|(p, _)| {
        lower.starts_with(p) && matches!(lower.as_bytes().get(p.len()), Some(b'\\' | b'/'))
    }) else {
        return Err(format!(
            "binary `{path}` is outside the image (only %10%, %11%, %12% and %13% paths are installed offline)"
        ));
    };
    if *prefix == "%13%"
        && (input.target.major, input.target.minor, input.target.build) < (10, 0, DIRID13_MIN_BUILD)
    {
        return Err(format!(
            "binary `{path}` runs from the driver store (DIRID 13), which needs Windows 10 1709 or later"
        ));
    }
    let rest = &path[prefix.len() + 1..];
    let parts = paths::relative_dir(rest).map_err(|e| format!("binary `{path}` refused: {e}"))?;
    if parts.is_empty() {
        return Err(format!("binary `{path}` names no file"));
    }
    let mut rel = join_key(&[base, &parts.join("\\")]);
    if kind & 0x30 != 0 {
        // SERVICE_WIN32_OWN_PROCESS / SHARE_PROCESS: a full path.
        rel = format!(r"%SystemRoot%\{rel}");
    }
    if !args.is_empty() {
        rel = format!("{rel} {args}");
    }
    Ok(rel)
}

/// Legacy images: `Control\CriticalDeviceDatabase\<id with \ as #>` {Service, ClassGUID} for every
/// ID of the boot-critical entries (§1.6).
fn write_cddb(input: &PackageInstall<'_>, sel: &Selected<'_>, cs: &str, ops: &mut Ops<'_>) {
    let guid = input
        .model
        .version
        .class_guid
        .as_deref()
        .unwrap_or_default()
        .trim()
        .to_ascii_uppercase();
    for (entry, install) in &sel.entries {
        let Some(install) = install else { continue };
        if !input.model.boot_critical(Some(install)).any() {
            continue;
        }
        let Some(service) = install
            .services
            .iter()
            .find(|s| s.flags & 0x2 != 0 && !s.name.is_empty())
        else {
            continue;
        };
        let ids = std::iter::once(&entry.hardware_id)
            .chain(&entry.compatible_ids)
            .filter(|id| !id.is_empty());
        for id in ids {
            let key = join_key(&[
                cs,
                "Control",
                "CriticalDeviceDatabase",
                &id.replace('\\', "#"),
            ]);
            ops.sz(&key, "Service", &service.name);
            ops.sz(&key, "ClassGUID", &guid);
        }
    }
}
