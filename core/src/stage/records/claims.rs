//! What a package's records would take over from the image: service keys (`Services\<svc>`,
//! §1.6) and PnpLockdownFiles entries (§1.7) that already exist, and reflected files already on
//! disk.
//!
//! [`install_records`](super::install_records) writes `Owners = [oemN.inf]`, which is right for a
//! key it creates. For a key the image already has, that would silently drop the other owners,
//! and a later removal would delete the key (and the file its `ImagePath` names) outright: an
//! inbox `storahci` service or `System32\drivers\storahci.sys` would be gone. So:
//! - a key owned only by third-party packages (`oemN.inf`) is shared, as Windows shares it: the
//!   owners are merged and a removal takes back only this package's name;
//! - a key owned by an inbox INF, or with no `Owners` at all (not installed from a package), is
//!   refused — infuse could not undo taking it over;
//! - a reflected file that exists and is neither this package's own (an update) nor covered by a
//!   shared PnpLockdownFiles entry is refused for the same reason.

use std::collections::{BTreeSet, HashMap};

use super::removal::{multi_value, opt_key};
use super::{PNP_LOCKDOWN_FILES, PackageRecords, RecordError, oem_number};
use crate::hive::{Hive, multi_sz};
use crate::stage::plan::{FileOp, HiveFile, RegOp};

/// The image a package's records are checked against.
pub struct ImageState<'a> {
    pub system: &'a Hive,
    pub software: Option<&'a Hive>,
    /// The image path (`Windows/System32/drivers/x.sys`) exists.
    pub exists: &'a dyn Fn(&str) -> bool,
    /// Files a removal of this published name would delete (an update owns them already).
    pub own_files: &'a BTreeSet<String>,
}

/// Owners written by the packages planned before this one, by (hive, lower-case key).
pub type PlannedOwners = HashMap<(HiveFile, String), Vec<String>>;

/// Merge or refuse every `Owners` value `recs` writes over an existing key, and refuse reflected
/// files that would replace one the image has. `planned` carries the owners written earlier in
/// the same plan and is updated with this package's.
pub fn claim_existing(
    recs: &mut PackageRecords,
    inf_name: &str,
    published: &str,
    image: &ImageState<'_>,
    planned: &mut PlannedOwners,
) -> Result<(), RecordError> {
    let mut shared_files: BTreeSet<String> = BTreeSet::new();
    for op in &mut recs.hives {
        let RegOp::SetValue {
            key, name, data, ..
        } = &mut op.op
        else {
            continue;
        };
        if !name.eq_ignore_ascii_case("Owners") {
            continue;
        }
        let hive = match op.hive {
            HiveFile::System => Some(image.system),
            HiveFile::Software => image.software,
            _ => continue,
        };
        let id = (op.hive, key.to_ascii_lowercase());
        let existing = match planned.get(&id) {
            Some(owners) => Some(owners.clone()),
            None => match hive {
                Some(h) => match opt_key(h, key).map_err(|source| RecordError::Hive {
                    hive: op.hive.image_path().into(),
                    source,
                })? {
                    Some(k) => {
                        Some(
                            multi_value(&k, "Owners").map_err(|source| RecordError::Hive {
                                hive: op.hive.image_path().into(),
                                source,
                            })?,
                        )
                    }
                    None => None,
                },
                None => None,
            },
        };
        let mut owners = vec![published.to_string()];
        if let Some(existing) = existing {
            let foreign: Vec<&String> = existing
                .iter()
                .filter(|o| oem_number(o).is_none())
                .collect();
            if existing.is_empty() || !foreign.is_empty() {
                let whose = if existing.is_empty() {
                    "has no Owners: it was not installed from a driver package".to_string()
                } else {
                    format!(
                        "belongs to {}",
                        foreign
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                };
                return Err(RecordError::TakesOver {
                    inf: inf_name.to_string(),
                    message: format!(
                        "would take over `{}\\{key}`, which the image already has and which {whose}; \
                         removing the package later could not give it back, so it is not injected",
                        op.hive.image_path()
                    ),
                });
            }
            owners = existing;
            if !owners.iter().any(|o| o.eq_ignore_ascii_case(published)) {
                owners.push(published.to_string());
            }
            *data = multi_sz(&owners.iter().map(String::as_str).collect::<Vec<_>>());
            if op.hive == HiveFile::Software
                && let Some(rel) = lockdown_file(key)
            {
                shared_files.insert(rel.to_ascii_lowercase());
            }
        }
        planned.insert(id, owners);
    }
    for f in &recs.files {
        let FileOp::Put { dest, .. } = f else {
            continue;
        };
        let lower = dest.to_ascii_lowercase();
        if !(image.exists)(dest)
            || shared_files.contains(&lower)
            || image.own_files.iter().any(|o| o.eq_ignore_ascii_case(dest))
        {
            continue;
        }
        return Err(RecordError::TakesOver {
            inf: inf_name.to_string(),
            message: format!(
                "would replace `{dest}`, which the image already has and no third-party package \
                 owns (no shared PnpLockdownFiles entry); removing the package later would delete \
                 it, so it is not injected"
            ),
        });
    }
    Ok(())
}

/// `Windows/System32/drivers/x.sys` of a `PnpLockdownFiles\%SystemRoot%/...` key.
fn lockdown_file(key: &str) -> Option<String> {
    let rest = key.strip_prefix(PNP_LOCKDOWN_FILES)?.strip_prefix('\\')?;
    let rel = rest
        .get(..13)
        .filter(|p| p.eq_ignore_ascii_case("%SystemRoot%/"))?;
    Some(format!("Windows/{}", &rest[rel.len()..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockdown_keys_name_their_image_file() {
        assert_eq!(
            lockdown_file(&format!(
                "{PNP_LOCKDOWN_FILES}\\%SystemRoot%/System32/drivers/vioscsi.sys"
            ))
            .as_deref(),
            Some("Windows/System32/drivers/vioscsi.sys")
        );
        assert_eq!(lockdown_file(r"ControlSet001\Services\x"), None);
    }
}
