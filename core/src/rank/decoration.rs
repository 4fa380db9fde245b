//! `[Manufacturer]` decoration selection, per Manufacturer line (windows-driver-internals.md §3.3).
//!
//! Windows chooses, for each Manufacturer line on its own (rule e), the one TargetOSVersion
//! decoration that applies to the target:
//! - the architecture must be the target's; a decoration without one (`NT`, `NT.6.1`) and the
//!   undecorated section mean x86 only (rule h);
//! - the OS version must not be above the target's (rule a); a build number is compared only when
//!   major.minor equal the target's — with a newer major.minor it is ignored, with an older one the
//!   decoration does not apply (rule c);
//! - a product type must equal the target's, and a suite mask's bits must all be in the target's
//!   (rule b);
//! - among those that apply, the highest OS version wins (then the higher build), and only then the
//!   more specific product type / suite mask / architecture: "a specific version beats product
//!   type/suite" (rule b); a remaining tie goes to the decoration listed first.
//!
//! If no listed decoration applies, the undecorated Models section is used on x86 (rules f, h).
//! The chosen section contributes the line's driver nodes; if it is empty (or missing) the line
//! contributes nothing — an empty Models section excludes that OS (rule g).

use std::fmt;

use infuse_driver_store::inf::model::{Arch, Decoration};
use serde::Serialize;

use super::target::Target;

/// One Manufacturer line as the selection sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineView {
    /// The Models base name (`VirtioScsi`).
    pub models_base: String,
    /// The decorations listed on the line, in order (unparsable ones are already dropped, rule d).
    pub decorations: Vec<Decoration>,
    /// The Models sections that exist for the line: decorated name and whether it has no entries.
    pub sections: Vec<(String, bool)>,
}

/// Why a decoration does not apply to the target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum NotApplicable {
    /// Built for another architecture.
    Arch {
        decoration_arch: Arch,
        target_arch: Arch,
    },
    /// Needs a newer major.minor.
    Version {
        major: u32,
        minor: u32,
    },
    /// Same major.minor, newer build.
    Build {
        build: u32,
    },
    ProductType {
        product_type: u32,
    },
    SuiteMask {
        suite_mask: u32,
    },
}

impl fmt::Display for NotApplicable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotApplicable::Arch {
                decoration_arch,
                target_arch,
            } => write!(f, "for {decoration_arch}, not {target_arch}"),
            NotApplicable::Version { major, minor } => {
                write!(f, "needs Windows {major}.{minor} or later")
            }
            NotApplicable::Build { build } => write!(f, "needs build {build} or later"),
            NotApplicable::ProductType { product_type } => {
                write!(f, "only for product type {product_type}")
            }
            NotApplicable::SuiteMask { suite_mask } => {
                write!(f, "only for suite mask 0x{suite_mask:X}")
            }
        }
    }
}

/// Whether `dec` (None = undecorated) applies to `target`.
pub fn applies(dec: Option<&Decoration>, target: &Target) -> Result<(), NotApplicable> {
    let arch = dec.map_or(Arch::X86, Decoration::effective_arch);
    if arch != target.arch {
        return Err(NotApplicable::Arch {
            decoration_arch: arch,
            target_arch: target.arch,
        });
    }
    let Some(d) = dec else { return Ok(()) };
    let version = (d.major.unwrap_or(0), d.minor.unwrap_or(0));
    let target_version = (target.major, target.minor);
    if version > target_version {
        return Err(NotApplicable::Version {
            major: version.0,
            minor: version.1,
        });
    }
    if let Some(build) = d.build
        && version == target_version
        && build > target.build
    {
        return Err(NotApplicable::Build { build });
    }
    if let Some(p) = d.product_type.filter(|p| *p != 0)
        && p != target.product_type
    {
        return Err(NotApplicable::ProductType { product_type: p });
    }
    if let Some(m) = d.suite_mask.filter(|m| *m != 0)
        && target.suite_mask & m != m
    {
        return Err(NotApplicable::SuiteMask { suite_mask: m });
    }
    Ok(())
}

/// How close an applicable decoration is to the target; higher is better (rule a, then b).
fn closeness(d: &Decoration, target: &Target) -> (u32, u32, u32, bool, bool, bool) {
    let (major, minor) = (d.major.unwrap_or(0), d.minor.unwrap_or(0));
    // A build counts only when major.minor equal the target's (rule c).
    let build = if (major, minor) == (target.major, target.minor) {
        d.build.unwrap_or(0)
    } else {
        0
    };
    (
        major,
        minor,
        build,
        d.product_type.is_some_and(|p| p != 0),
        d.suite_mask.is_some_and(|m| m != 0),
        d.arch.is_some(),
    )
}

/// The Models section a Manufacturer line contributes on the target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ModelsChoice {
    /// This section's entries are the line's driver nodes.
    Section { section: String },
    /// The applicable section has no entries: the line installs nothing on this OS (rule g).
    Empty { section: String },
    /// The applicable decoration names a section the INF does not have.
    Missing { section: String },
    /// No decoration applies and there is no undecorated fallback for this architecture.
    None,
}

impl ModelsChoice {
    /// The section name Windows uses, if any.
    pub fn section(&self) -> Option<&str> {
        match self {
            ModelsChoice::Section { section }
            | ModelsChoice::Empty { section }
            | ModelsChoice::Missing { section } => Some(section),
            ModelsChoice::None => None,
        }
    }
}

/// Choose the Models section of one Manufacturer line for `target`.
pub fn select_models(line: &LineView, target: &Target) -> ModelsChoice {
    let mut best: Option<&Decoration> = None;
    for d in &line.decorations {
        if applies(Some(d), target).is_err() {
            continue;
        }
        if best.is_none_or(|b| closeness(d, target) > closeness(b, target)) {
            best = Some(d);
        }
    }
    let name = match best {
        Some(d) => format!("{}.{}", line.models_base, d.raw),
        // Rules f and h: no decoration applies → the undecorated section, which is x86-only.
        None if target.arch == Arch::X86 => line.models_base.clone(),
        None => return ModelsChoice::None,
    };
    match line
        .sections
        .iter()
        .find(|(s, _)| s.eq_ignore_ascii_case(&name))
    {
        Some((s, false)) => ModelsChoice::Section { section: s.clone() },
        Some((s, true)) => ModelsChoice::Empty { section: s.clone() },
        None => ModelsChoice::Missing { section: name },
    }
}

/// Whether a resolved DDInstall section carries the `.NT` platform extension (`.NT` or
/// `.NT<arch>`), which the signature score of an unsigned package depends on (§3.1).
pub fn has_nt_extension(install_section: &str) -> bool {
    let lower = install_section.to_ascii_lowercase();
    lower.ends_with(".nt")
        || Arch::ALL
            .iter()
            .any(|a| lower.ends_with(&format!(".nt{}", a.as_str())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(base: &str, decorations: &[&str], sections: &[(&str, bool)]) -> LineView {
        LineView {
            models_base: base.to_owned(),
            decorations: decorations
                .iter()
                .map(|d| Decoration::parse(d).expect("valid decoration"))
                .collect(),
            sections: sections
                .iter()
                .map(|(s, e)| ((*s).to_owned(), *e))
                .collect(),
        }
    }

    fn target(os: &str, arch: &str) -> Target {
        Target::parse(os, arch, None, None).expect("target")
    }

    /// `(decorations on the line, sections (name, empty), target os, arch, expected)`:
    /// the decoration-selection table of windows-driver-internals.md §3.3.
    #[test]
    fn decoration_selection_table() {
        use ModelsChoice as C;
        let s = |n: &str| C::Section {
            section: n.to_owned(),
        };
        type Row<'a> = (
            &'a [&'a str],
            &'a [(&'a str, bool)],
            &'a str,
            &'a str,
            ModelsChoice,
        );
        let rows: &[Row] = &[
            // Architecture: each platform gets its own section (rule h).
            (
                &["NTamd64", "NTarm64", "NTx86"],
                &[
                    ("M.NTamd64", false),
                    ("M.NTarm64", false),
                    ("M.NTx86", false),
                ],
                "10.0.22631",
                "amd64",
                s("M.NTamd64"),
            ),
            (
                &["NTamd64", "NTarm64", "NTx86"],
                &[
                    ("M.NTamd64", false),
                    ("M.NTarm64", false),
                    ("M.NTx86", false),
                ],
                "10.0.22631",
                "arm64",
                s("M.NTarm64"),
            ),
            (
                &["NTamd64", "NTarm64", "NTx86"],
                &[
                    ("M.NTamd64", false),
                    ("M.NTarm64", false),
                    ("M.NTx86", false),
                ],
                "10.0.22631",
                "x86",
                s("M.NTx86"),
            ),
            // Only arm64 sections: nothing on amd64 (wrong-arch sections are ignored, inf-behaviour.md §F desc6).
            (
                &["NTarm64"],
                &[("M.NTarm64", false)],
                "10.0.22631",
                "amd64",
                C::None,
            ),
            // Undecorated line: x86 only (rule h).
            (&[], &[("M", false)], "10.0.22631", "x86", s("M")),
            (&[], &[("M", false)], "10.0.22631", "amd64", C::None),
            // Highest version not above the target (rule a).
            (
                &["NTamd64", "NTamd64.6.3", "NTamd64.10.0"],
                &[
                    ("M.NTamd64", false),
                    ("M.NTamd64.6.3", false),
                    ("M.NTamd64.10.0", false),
                ],
                "10.0.19045",
                "amd64",
                s("M.NTamd64.10.0"),
            ),
            (
                &["NTamd64", "NTamd64.6.3", "NTamd64.10.0"],
                &[
                    ("M.NTamd64", false),
                    ("M.NTamd64.6.3", false),
                    ("M.NTamd64.10.0", false),
                ],
                "6.3.9600",
                "amd64",
                s("M.NTamd64.6.3"),
            ),
            (
                &["NTamd64", "NTamd64.6.3", "NTamd64.10.0"],
                &[
                    ("M.NTamd64", false),
                    ("M.NTamd64.6.3", false),
                    ("M.NTamd64.10.0", false),
                ],
                "6.1.7601",
                "amd64",
                s("M.NTamd64"),
            ),
            // Build numbers, only when major.minor equal (rule c).
            (
                &["NTamd64.10.0", "NTamd64.10.0...22000"],
                &[("M.NTamd64.10.0", false), ("M.NTamd64.10.0...22000", false)],
                "10.0.22631",
                "amd64",
                s("M.NTamd64.10.0...22000"),
            ),
            (
                &["NTamd64.10.0", "NTamd64.10.0...22000"],
                &[("M.NTamd64.10.0", false), ("M.NTamd64.10.0...22000", false)],
                "10.0.19045",
                "amd64",
                s("M.NTamd64.10.0"),
            ),
            (
                &["NTamd64.6.3...9999"],
                &[("M.NTamd64.6.3...9999", false)],
                "10.0.19045",
                "amd64",
                s("M.NTamd64.6.3...9999"),
            ),
            (
                &["NTamd64.10.0...26100"],
                &[("M.NTamd64.10.0...26100", false)],
                "10.0.22631",
                "amd64",
                C::None,
            ),
            // Product type: 1 workstation, 3 server (rule b).
            (
                &["NTamd64.10.0", "NTamd64.10.0.3"],
                &[("M.NTamd64.10.0", false), ("M.NTamd64.10.0.3", false)],
                "10.0.22631",
                "amd64",
                s("M.NTamd64.10.0"),
            ),
            (
                &["NTamd64.10.0.1", "NTamd64.10.0.3"],
                &[("M.NTamd64.10.0.1", false), ("M.NTamd64.10.0.3", false)],
                "10.0.22631",
                "amd64",
                s("M.NTamd64.10.0.1"),
            ),
            // A specific version beats product type / suite: NT, NT.5, NT.5.5, NT....0x80 on XP → NT.5 (rule b).
            (
                &["NT", "NT.5", "NT.5.5", "NT....0x80"],
                &[
                    ("M.NT", false),
                    ("M.NT.5", false),
                    ("M.NT.5.5", false),
                    ("M.NT....0x80", false),
                ],
                "5.1.2600",
                "x86",
                s("M.NT.5"),
            ),
            // Suite mask: all bits must be present; 0x100 (SINGLEUSERTS) is the default target suite.
            (
                &["NTamd64", "NTamd64.10.0..0x100"],
                &[("M.NTamd64", false), ("M.NTamd64.10.0..0x100", false)],
                "10.0.22631",
                "amd64",
                s("M.NTamd64.10.0..0x100"),
            ),
            (
                &["NTamd64", "NTamd64.10.0..0x80"],
                &[("M.NTamd64", false), ("M.NTamd64.10.0..0x80", false)],
                "10.0.22631",
                "amd64",
                s("M.NTamd64"),
            ),
            // An empty Models section applicable to the OS excludes it (rule g): [M.NTx86.6.0] empty blocks ≥ 6.0 x86.
            (
                &["NTx86", "NTx86.6.0"],
                &[("M.NTx86", false), ("M.NTx86.6.0", true)],
                "10.0.19045",
                "x86",
                C::Empty {
                    section: "M.NTx86.6.0".into(),
                },
            ),
            (
                &["NTx86", "NTx86.6.0"],
                &[("M.NTx86", false), ("M.NTx86.6.0", true)],
                "5.1.2600",
                "x86",
                s("M.NTx86"),
            ),
            // The applicable decoration's section is absent: the line gives nothing.
            (
                &["NTamd64.10.0"],
                &[],
                "10.0.22631",
                "amd64",
                C::Missing {
                    section: "M.NTamd64.10.0".into(),
                },
            ),
            // Section names compare case-insensitively; the name is returned as the INF writes it.
            (
                &["ntAMD64"],
                &[("m.NTAMD64", false)],
                "10.0.22631",
                "amd64",
                s("m.NTAMD64"),
            ),
        ];
        for (i, (decs, sections, os, arch, expected)) in rows.iter().enumerate() {
            let got = select_models(&line("M", decs, sections), &target(os, arch));
            assert_eq!(&got, expected, "row {i}: {decs:?} on {os} {arch}");
        }
    }

    #[test]
    fn reactos_models_section_choice() {
        // inf-behaviour.md §I: `%TestMfg%=TestModels,NTx86,NTamd64,NT` with all four sections;
        // the documented rule gives TestModels.NTamd64 on x64 (and .NTx86 on x86: the
        // architecture-specific decoration is more specific than plain NT).
        let l = line(
            "TestModels",
            &["NTx86", "NTamd64", "NT"],
            &[
                ("TestModels.NTx86", false),
                ("TestModels.NTamd64", false),
                ("TestModels.NT", false),
                ("TestModels", false),
            ],
        );
        assert_eq!(
            select_models(&l, &target("10.0.22631", "amd64")).section(),
            Some("TestModels.NTamd64")
        );
        assert_eq!(
            select_models(&l, &target("10.0.19045", "x86")).section(),
            Some("TestModels.NTx86")
        );
    }

    #[test]
    fn not_applicable_reasons() {
        let t = target("10.0.19045", "amd64");
        let d = |s: &str| Decoration::parse(s).expect("valid");
        assert_eq!(
            applies(Some(&d("NTarm64")), &t),
            Err(NotApplicable::Arch {
                decoration_arch: Arch::Arm64,
                target_arch: Arch::Amd64
            })
        );
        assert_eq!(
            applies(Some(&d("NTamd64.10.0...22000")), &t),
            Err(NotApplicable::Build { build: 22000 })
        );
        assert_eq!(
            applies(Some(&d("NTamd64.11.0")), &t),
            Err(NotApplicable::Version {
                major: 11,
                minor: 0
            })
        );
        assert_eq!(
            applies(Some(&d("NTamd64.10.0.3")), &t),
            Err(NotApplicable::ProductType { product_type: 3 })
        );
        assert_eq!(
            applies(None, &t),
            Err(NotApplicable::Arch {
                decoration_arch: Arch::X86,
                target_arch: Arch::Amd64
            })
        );
        assert_eq!(
            applies(Some(&d("NTamd64.10.0...22000")), &t).map_err(|e| e.to_string()),
            Err("needs build 22000 or later".into())
        );
    }

    #[test]
    fn nt_extension() {
        assert!(has_nt_extension("scsi_inst.NTamd64"));
        assert!(has_nt_extension("BALLOON_Device.NT"));
        assert!(!has_nt_extension("install1"));
        assert!(!has_nt_extension("foo.ntfs"));
    }
}
