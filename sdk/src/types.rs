//! Constructors and small helpers on the generated contract types, and the plugin error type.

use crate::{
    Candidate, Decision, Device, Edit, HardwareIdAlias, Hook, PackageFile, PackageView, RankAdjust,
    ReasonedEdit, RegistryData, RegistryValue, SectionLines, Target, Verdict,
};

/// A plugin's error: the message the host shows for the failed device or package.
///
/// Anything that displays converts into it, so `?` works on parse and IO errors and
/// `Err("text".into())` on plain messages. (It does not implement `Display` itself, which is
/// what allows that blanket conversion; read it with [`Error::message`].)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(String);

/// The result of a plugin hook.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error with this message.
    pub fn msg(message: impl Into<String>) -> Self {
        Error(message.into())
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.0
    }

    /// The message, owned.
    pub fn into_message(self) -> String {
        self.0
    }
}

impl<E: std::fmt::Display> From<E> for Error {
    fn from(e: E) -> Self {
        Error(e.to_string())
    }
}

impl Decision {
    /// Keep `candidate` (the same as not mentioning it).
    pub fn keep(candidate: &Candidate) -> Self {
        Decision {
            candidate: candidate.id,
            verdict: Verdict::Keep,
        }
    }

    /// Remove `candidate`; `reason` is shown by `infuse match --explain`.
    pub fn reject(candidate: &Candidate, reason: impl Into<String>) -> Self {
        Decision {
            candidate: candidate.id,
            verdict: Verdict::Reject(reason.into()),
        }
    }

    /// Put `candidate` first among the candidates of equal rank.
    pub fn prefer(candidate: &Candidate, reason: impl Into<String>) -> Self {
        Decision {
            candidate: candidate.id,
            verdict: Verdict::Prefer(reason.into()),
        }
    }

    /// Add `delta` to `candidate`'s rank (negative is better).
    pub fn adjust(candidate: &Candidate, delta: i32, reason: impl Into<String>) -> Self {
        Decision {
            candidate: candidate.id,
            verdict: Verdict::Adjust(RankAdjust {
                delta,
                reason: reason.into(),
            }),
        }
    }
}

impl ReasonedEdit {
    /// An edit with its reason (shown by `infuse inject --plan`).
    pub fn new(edit: Edit, reason: impl Into<String>) -> Self {
        ReasonedEdit {
            edit,
            reason: reason.into(),
        }
    }

    /// For every models line whose hardware ID is `like`, add the same line for each of `ids`.
    pub fn add_hardware_ids(
        like: impl Into<String>,
        ids: impl IntoIterator<Item = impl Into<String>>,
        reason: impl Into<String>,
    ) -> Self {
        Self::new(
            Edit::AddHardwareIds(HardwareIdAlias {
                like: like.into(),
                ids: ids.into_iter().map(Into::into).collect(),
            }),
            reason,
        )
    }

    /// Append `lines` (INF text) to `section`.
    pub fn insert_lines(
        section: impl Into<String>,
        lines: impl IntoIterator<Item = impl Into<String>>,
        reason: impl Into<String>,
    ) -> Self {
        Self::new(
            Edit::InsertLines(SectionLines {
                section: section.into(),
                lines: lines.into_iter().map(Into::into).collect(),
            }),
            reason,
        )
    }

    /// Remove the lines of `section` keyed by any of `keys`.
    pub fn remove_lines(
        section: impl Into<String>,
        keys: impl IntoIterator<Item = impl Into<String>>,
        reason: impl Into<String>,
    ) -> Self {
        Self::new(
            Edit::RemoveLines(SectionLines {
                section: section.into(),
                lines: keys.into_iter().map(Into::into).collect(),
            }),
            reason,
        )
    }

    /// Remove a file from the package.
    pub fn drop_file(path: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::new(Edit::DropFile(path.into()), reason)
    }

    /// Remove an INF section and the directives that name it.
    pub fn drop_section(section: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::new(Edit::DropSection(section.into()), reason)
    }

    /// Set a registry value under the device's key at injection.
    pub fn add_registry(
        subkey: impl Into<String>,
        name: impl Into<String>,
        data: RegistryData,
        reason: impl Into<String>,
    ) -> Self {
        Self::new(
            Edit::AddRegistry(RegistryValue {
                subkey: subkey.into(),
                name: name.into(),
                data,
            }),
            reason,
        )
    }
}

impl Target {
    /// Windows 11 23H2 (10.0.22631) workstation on `arch`.
    pub fn windows_11(arch: &str) -> Self {
        Target {
            major: 10,
            minor: 0,
            build: 22631,
            arch: arch.to_owned(),
            product_type: 1,
            suite_mask: 0x100,
        }
    }
}

impl Device {
    /// A device with these hardware IDs (most specific first) and compatible IDs; the bus is
    /// the first hardware ID's enumerator and the instance ID is made up from it.
    pub fn with_ids(hardware_ids: &[&str], compatible_ids: &[&str]) -> Self {
        let first = hardware_ids.first().copied().unwrap_or_default();
        let bus = first.split('\\').next().unwrap_or_default().to_owned();
        Device {
            instance_id: format!("{first}\\0"),
            bus,
            hardware_ids: hardware_ids.iter().map(|s| (*s).to_owned()).collect(),
            compatible_ids: compatible_ids.iter().map(|s| (*s).to_owned()).collect(),
            description: None,
        }
    }

    /// The PCI vendor ID (`VEN_xxxx`) of the first hardware ID that has one.
    pub fn pci_vendor(&self) -> Option<u16> {
        self.hardware_ids
            .iter()
            .find_map(|id| id_field(id, "PCI\\", "VEN_"))
    }

    /// The USB vendor ID (`VID_xxxx`) of the first hardware ID that has one.
    pub fn usb_vendor(&self) -> Option<u16> {
        self.hardware_ids
            .iter()
            .find_map(|id| id_field(id, "USB\\", "VID_"))
    }
}

/// The 4 hex digits after `field` in an ID of the `bus` enumerator, compared case-insensitively.
fn id_field(id: &str, bus: &str, field: &str) -> Option<u16> {
    let upper = id.to_ascii_uppercase();
    let rest = upper.strip_prefix(bus)?;
    rest.split('&').find_map(|part| {
        let hex = part.strip_prefix(field)?.get(..4)?;
        u16::from_str_radix(hex, 16).ok()
    })
}

impl PackageView {
    /// The file at `path` (compared case-insensitively, as on Windows), if the package has it.
    pub fn file(&self, path: &str) -> Option<&PackageFile> {
        self.files
            .iter()
            .find(|f| f.path.eq_ignore_ascii_case(path))
    }
}

impl Hook {
    /// The hook's name in `plugin.toml` and in the WIT (`select`, `transform`).
    pub fn name(self) -> &'static str {
        match self {
            Hook::Select => "select",
            Hook::Transform => "transform",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendor_ids_are_read_from_the_bus_field_case_insensitively() {
        let d = Device::with_ids(
            &[
                "PCI\\ven_8086&DEV_15B8&SUBSYS_86721043",
                "PCI\\VEN_8086&DEV_15B8",
            ],
            &["PCI\\CC_020000"],
        );
        assert_eq!(d.bus, "PCI");
        assert_eq!(d.pci_vendor(), Some(0x8086));
        assert_eq!(d.usb_vendor(), None);
        let u = Device::with_ids(&["USB\\VID_046D&PID_0825&REV_0011"], &[]);
        assert_eq!(u.usb_vendor(), Some(0x046d));
        assert_eq!(u.pci_vendor(), None);
        // A field that is not 4 hex digits is no vendor ID.
        assert_eq!(Device::with_ids(&["PCI\\VEN_80G6"], &[]).pci_vendor(), None);
    }

    #[test]
    fn errors_convert_from_anything_that_displays() {
        fn parse(s: &str) -> Result<u32> {
            Ok(s.parse::<u32>()?)
        }
        assert_eq!(
            parse("x").unwrap_err().message(),
            "invalid digit found in string"
        );
        let e: Error = "plain".into();
        assert_eq!(e.into_message(), "plain");
    }
}
