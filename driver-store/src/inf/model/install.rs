//! DDInstall sections resolved per architecture: FeatureScore, DriverVer override, Include/Needs,
//! AddService with its service-install section, and the files CopyFiles brings in.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::Sections;
use super::decoration::{Arch, parse_number};
use super::paths;
use super::version::{DriverVer, read_driver_ver};
use crate::inf::{Diagnostic, Line, Section};

/// A DDInstall section as Windows resolves it for one architecture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DdInstall {
    /// The install-section name the Models entry gives.
    pub base: String,
    pub arch: Arch,
    /// The section actually used (`scsi_inst.NTamd64`), as written in the file; `None` when no
    /// candidate exists.
    pub section: Option<String>,
    /// `FeatureScore` (honoured only in the DDInstall section itself, §3.1).
    pub feature_score: Option<u8>,
    /// A DDInstall-level `DriverVer`, which overrides `[Version]`'s (§3.2).
    pub driver_ver: Option<DriverVer>,
    pub includes: Vec<String>,
    pub needs: Vec<String>,
    pub services: Vec<Service>,
    pub files: Vec<FileCopy>,
}

/// One `AddService=name,flags,install-section[,...]` with its service-install section read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    pub name: String,
    pub flags: u32,
    pub install_section: Option<String>,
    pub service_type: Option<u32>,
    pub start_type: Option<u32>,
    pub error_control: Option<u32>,
    pub binary: Option<String>,
    pub load_order_group: Option<String>,
    /// Section names listed by `AddReg=` lines of the service-install section.
    pub add_reg: Vec<String>,
    pub line: u32,
}

/// SPSVCINST_ASSOCSERVICE: the service is the device's function driver.
pub const SPSVCINST_ASSOCSERVICE: u32 = 0x2;
/// SERVICE_BOOT_START.
pub const SERVICE_BOOT_START: u32 = 0;

impl Service {
    /// A boot-start function driver: the evidence-backed boot-critical test of
    /// windows-driver-internals.md §1.2 (associated service with StartType 0).
    pub fn is_boot_start(&self) -> bool {
        self.flags & SPSVCINST_ASSOCSERVICE != 0 && self.start_type == Some(SERVICE_BOOT_START)
    }
}

/// One file the package copies: where it comes from inside the package and where it goes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FileCopy {
    /// Name at the destination.
    pub name: String,
    /// Name inside the package (CopyFiles may rename).
    pub source_name: String,
    /// Folder inside the package: SourceDisksNames path + SourceDisksFiles subdir.
    pub source_dir: Vec<String>,
    /// DestinationDirs DIRID (`12` = `System32\drivers`); `None` when the INF gives none.
    pub dest_dirid: Option<u32>,
    pub dest_subdir: Vec<String>,
    /// The file-list section (or `@file` directive's section) and line.
    pub section: String,
    pub line: u32,
}

impl FileCopy {
    /// `sub/dir/name` inside the package, `/`-separated.
    pub fn source_path(&self) -> String {
        let mut parts = self.source_dir.clone();
        parts.push(self.source_name.clone());
        parts.join("/")
    }
}

/// The candidate section names for `base` on `arch`, best first: `.NT<arch>`, `.NT`, undecorated
/// (inf-behaviour.md §E; windows-driver-internals.md §3.3). Wrong-architecture variants are never
/// candidates.
pub fn candidates(base: &str, arch: Arch) -> [String; 3] {
    [
        format!("{base}.NT{}", arch.as_str()),
        format!("{base}.NT"),
        base.to_string(),
    ]
}

pub(super) fn resolve<'a>(sections: &Sections<'a>, base: &str, arch: Arch) -> Option<&'a Section> {
    candidates(base, arch)
        .iter()
        .find_map(|name| sections.get(name))
}

pub(super) fn read_install(
    sections: &Sections<'_>,
    base: &str,
    arch: Arch,
    diags: &mut Vec<Diagnostic>,
) -> DdInstall {
    let mut out = DdInstall {
        base: base.to_string(),
        arch,
        section: None,
        feature_score: None,
        driver_ver: None,
        includes: Vec::new(),
        needs: Vec::new(),
        services: Vec::new(),
        files: Vec::new(),
    };
    let Some(section) = resolve(sections, base, arch) else {
        return out;
    };
    out.section = Some(section.name().to_owned());
    for line in section.lines() {
        match key_lower(line).as_deref() {
            Some("featurescore") => {
                out.feature_score = line
                    .fields()
                    .first()
                    .and_then(parse_number)
                    .and_then(|n| u8::try_from(n).ok());
                if out.feature_score.is_none() {
                    diags.push(Diagnostic {
                        line: line.number(),
                        message: format!(
                            "[{}] FeatureScore must be a number from 0x00 to 0xFF",
                            section.name()
                        ),
                    });
                }
            }
            Some("driverver") => out.driver_ver = read_driver_ver(line, diags),
            Some("include") => out.includes.extend(nonempty(line.fields())),
            _ => {}
        }
    }
    // The section itself, then the sections it Needs that this INF defines (the others live in
    // the Included system INFs, which are not part of the package).
    let mut visited = HashSet::new();
    let mut order = Vec::new();
    collect_needs(
        sections,
        section,
        &mut visited,
        &mut order,
        &mut out.needs,
        diags,
    );
    let services_of = |name: &str| sections.get(&format!("{name}.Services"));
    let coinstallers_of = |name: &str| sections.get(&format!("{name}.CoInstallers"));
    for s in &order {
        read_copy_files(sections, s, arch, &mut out.files, diags);
        if let Some(co) = coinstallers_of(s.name()) {
            read_copy_files(sections, co, arch, &mut out.files, diags);
        }
        if let Some(svc) = services_of(s.name()) {
            read_services(sections, svc, &mut out.services, diags);
        }
    }
    out
}

fn collect_needs<'a>(
    sections: &Sections<'a>,
    section: &'a Section,
    visited: &mut HashSet<String>,
    order: &mut Vec<&'a Section>,
    needs: &mut Vec<String>,
    diags: &mut Vec<Diagnostic>,
) {
    if !visited.insert(section.name().to_lowercase()) {
        return;
    }
    order.push(section);
    for line in section.lines() {
        if key_lower(line).as_deref() != Some("needs") {
            continue;
        }
        for name in nonempty(line.fields()) {
            if !needs.iter().any(|n| n.eq_ignore_ascii_case(&name)) {
                needs.push(name.clone());
            }
            let Some(target) = sections.get(&name) else {
                continue;
            };
            if visited.contains(&target.name().to_lowercase()) {
                diags.push(Diagnostic {
                    line: line.number(),
                    message: format!(
                        "[{}] Needs `{name}` again: Needs cycle ignored",
                        section.name()
                    ),
                });
                continue;
            }
            collect_needs(sections, target, visited, order, needs, diags);
        }
    }
}

fn read_services(
    sections: &Sections<'_>,
    section: &Section,
    out: &mut Vec<Service>,
    diags: &mut Vec<Diagnostic>,
) {
    for line in section.lines() {
        if key_lower(line).as_deref() != Some("addservice") {
            continue;
        }
        let field = |i: usize| {
            line.fields()
                .get(i)
                .map(|f| f.trim())
                .filter(|f| !f.is_empty())
        };
        let name = field(0).unwrap_or_default().to_string();
        let flags = field(1).and_then(parse_number).unwrap_or(0);
        let install_section = field(2).map(str::to_string);
        let mut svc = Service {
            name,
            flags,
            install_section: install_section.clone(),
            service_type: None,
            start_type: None,
            error_control: None,
            binary: None,
            load_order_group: None,
            add_reg: Vec::new(),
            line: line.number(),
        };
        match install_section.as_deref().map(|n| (n, sections.get(n))) {
            Some((_, Some(inst))) => {
                for l in inst.lines() {
                    let first = l.fields().first().map(|f| f.trim().to_string());
                    match key_lower(l).as_deref() {
                        Some("servicetype") => {
                            svc.service_type = first.as_deref().and_then(parse_number)
                        }
                        Some("starttype") => {
                            svc.start_type = first.as_deref().and_then(parse_number)
                        }
                        Some("errorcontrol") => {
                            svc.error_control = first.as_deref().and_then(parse_number)
                        }
                        Some("servicebinary") => svc.binary = first,
                        Some("loadordergroup") => svc.load_order_group = first,
                        Some("addreg") => svc.add_reg.extend(nonempty(l.fields())),
                        _ => {}
                    }
                }
                // inf-behaviour.md §G: a service-install section lacking any of these four is
                // ERROR_BAD_SERVICE_INSTALLSECT.
                let missing: Vec<&str> = [
                    ("ServiceBinary", svc.binary.is_none()),
                    ("ServiceType", svc.service_type.is_none()),
                    ("StartType", svc.start_type.is_none()),
                    ("ErrorControl", svc.error_control.is_none()),
                ]
                .into_iter()
                .filter_map(|(k, m)| m.then_some(k))
                .collect();
                if !missing.is_empty() {
                    diags.push(Diagnostic {
                        line: line.number(),
                        message: format!(
                            "service `{}`: [{}] lacks {}",
                            svc.name,
                            inst.name(),
                            missing.join(", ")
                        ),
                    });
                }
            }
            Some((n, None)) => diags.push(Diagnostic {
                line: line.number(),
                message: format!("service `{}`: install section [{n}] not found", svc.name),
            }),
            // `AddService=,2`: the null service (inf-behaviour.md §G).
            None => {}
        }
        out.push(svc);
    }
}

fn read_copy_files(
    sections: &Sections<'_>,
    section: &Section,
    arch: Arch,
    out: &mut Vec<FileCopy>,
    diags: &mut Vec<Diagnostic>,
) {
    for line in section.lines() {
        if key_lower(line).as_deref() != Some("copyfiles") {
            continue;
        }
        for entry in nonempty(line.fields()) {
            if let Some(single) = entry.strip_prefix('@') {
                // `CopyFiles=@file.sys`: one file to DefaultDestDir.
                let dest = destination(sections, None, line.number(), diags);
                push_file(
                    sections,
                    arch,
                    single,
                    None,
                    section.name(),
                    line.number(),
                    &dest,
                    out,
                    diags,
                );
                continue;
            }
            let Some(list) = sections.get(&entry) else {
                diags.push(Diagnostic {
                    line: line.number(),
                    message: format!(
                        "[{}] CopyFiles names missing section [{entry}]",
                        section.name()
                    ),
                });
                continue;
            };
            let dest = destination(sections, Some(list.name()), line.number(), diags);
            for fl in list.lines() {
                let mut names = Vec::new();
                if let Some(k) = fl.key() {
                    names.push(k);
                }
                names.extend(fl.fields());
                let Some(dest_name) = names.first().map(|s| s.trim()).filter(|s| !s.is_empty())
                else {
                    continue;
                };
                let source = names.get(1).map(|s| s.trim()).filter(|s| !s.is_empty());
                push_file(
                    sections,
                    arch,
                    dest_name,
                    source,
                    list.name(),
                    fl.number(),
                    &dest,
                    out,
                    diags,
                );
            }
        }
    }
}

struct Dest {
    dirid: Option<u32>,
    subdir: Vec<String>,
}

fn destination(
    sections: &Sections<'_>,
    list: Option<&str>,
    line_no: u32,
    diags: &mut Vec<Diagnostic>,
) -> Dest {
    let dirs = sections.get("DestinationDirs");
    let find = |key: &str| {
        dirs.and_then(|d| {
            d.lines()
                .iter()
                .find(|l| l.key().is_some_and(|k| k.trim().eq_ignore_ascii_case(key)))
        })
    };
    let line = list.and_then(find).or_else(|| find("DefaultDestDir"));
    let Some(line) = line else {
        return Dest {
            dirid: None,
            subdir: Vec::new(),
        };
    };
    let dirid = line.fields().first().and_then(parse_number);
    let subdir = match line.fields().get(1).map(paths::relative_dir) {
        Some(Ok(parts)) => parts,
        Some(Err(e)) => {
            diags.push(Diagnostic {
                line: line.number(),
                message: format!("[DestinationDirs] subdirectory refused: {e}"),
            });
            Vec::new()
        }
        None => Vec::new(),
    };
    if dirid.is_none() {
        diags.push(Diagnostic {
            line: line_no.max(line.number()),
            message: "[DestinationDirs] entry has no numeric DIRID".into(),
        });
    }
    Dest { dirid, subdir }
}

#[allow(
    clippy::too_many_arguments,
    reason = "one private call site shape, reads as data"
)]
fn push_file(
    sections: &Sections<'_>,
    arch: Arch,
    dest_name: &str,
    source_name: Option<&str>,
    section: &str,
    line_no: u32,
    dest: &Dest,
    out: &mut Vec<FileCopy>,
    diags: &mut Vec<Diagnostic>,
) {
    let refuse = |diags: &mut Vec<Diagnostic>, e: paths::PathError| {
        diags.push(Diagnostic {
            line: line_no,
            message: format!("[{section}] file refused: {e}"),
        })
    };
    let name = match paths::file_name(dest_name) {
        Ok(n) => n,
        Err(e) => return refuse(diags, e),
    };
    let source_name = match paths::file_name(source_name.unwrap_or(dest_name)) {
        Ok(n) => n,
        Err(e) => return refuse(diags, e),
    };
    let source_dir = match source_location(sections, arch, &source_name) {
        Ok(Some(dir)) => dir,
        Ok(None) => {
            diags.push(Diagnostic {
                line: line_no,
                message: format!("`{source_name}` is not listed in [SourceDisksFiles]"),
            });
            Vec::new()
        }
        Err((l, e)) => {
            diags.push(Diagnostic {
                line: l,
                message: format!("source of `{source_name}` refused: {e}"),
            });
            return;
        }
    };
    let copy = FileCopy {
        name,
        source_name,
        source_dir,
        dest_dirid: dest.dirid,
        dest_subdir: dest.subdir.clone(),
        section: section.to_string(),
        line: line_no,
    };
    if !out.contains(&copy) {
        out.push(copy);
    }
}

/// Finds `name` in `[SourceDisksFiles.<arch>]` then `[SourceDisksFiles]`, and its disk in
/// `[SourceDisksNames.<arch>]` then `[SourceDisksNames]`; returns the folder inside the package.
fn source_location(
    sections: &Sections<'_>,
    arch: Arch,
    name: &str,
) -> Result<Option<Vec<String>>, (u32, paths::PathError)> {
    let lookup = |base: &str, key: &str, numeric: bool| -> Option<&Line> {
        [format!("{base}.{}", arch.as_str()), base.to_string()]
            .iter()
            .filter_map(|s| sections.get(s))
            .find_map(|s| {
                s.lines().iter().find(|l| {
                    let k = l.key().map(str::trim).unwrap_or_default();
                    k.eq_ignore_ascii_case(key)
                        || (numeric
                            && parse_number(k).is_some()
                            && parse_number(k) == parse_number(key))
                })
            })
    };
    let Some(file) = lookup("SourceDisksFiles", name, false) else {
        return Ok(None);
    };
    let disk = file.fields().first().map(|s| s.trim()).unwrap_or_default();
    let mut dir = Vec::new();
    if let Some(disk_line) = lookup("SourceDisksNames", disk, true)
        && let Some(path) = disk_line.fields().get(3)
    {
        dir = paths::relative_dir(path).map_err(|e| (disk_line.number(), e))?;
    }
    if let Some(sub) = file.fields().get(1) {
        dir.extend(paths::relative_dir(sub).map_err(|e| (file.number(), e))?);
    }
    Ok(Some(dir))
}

fn key_lower(line: &Line) -> Option<String> {
    line.key().map(|k| k.trim().to_ascii_lowercase())
}

fn nonempty(fields: crate::inf::Fields<'_>) -> impl Iterator<Item = String> + '_ {
    fields
        .map(|f| f.trim())
        .filter(|f| !f.is_empty())
        .map(str::to_string)
}
