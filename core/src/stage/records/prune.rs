//! The keys an injection created that its removal leaves empty.
//!
//! An injection writes its records below containers that a real image has (DriverDatabase's
//! `DeviceIds`, `DriverInfFiles`, `DriverPackages`, windows-driver-internals.md §1.5; the
//! `Services\EventLog\<log>` sources, §1.6; `Setup\PnpLockdownFiles`, §1.7) but that an image may
//! lack (a `SYSTEM\DriverDatabase` with no boot-critical mirror yet, §1.4; a SOFTWARE hive with
//! no PnpLockdownFiles), and creates every missing key on the way. The removal cannot ask the
//! injection which keys it created; it computes them from the image instead: after the removal's
//! own deletions, every key on the way from a deleted record up to its container's anchor that is
//! left with no value and no subkey is deleted too (topmost first). An empty key the image already
//! had on such a path is indistinguishable from one the injection created and goes as well;
//! Windows keeps no information in an empty key of these paths.
//!
//! The anchors are never deleted: `DriverDatabase` (the database itself, §1.4), `ControlSetNNN\
//! Services`, `ControlSetNNN\Control\CriticalDeviceDatabase` (the legacy layout's database,
//! §1.6) and, in SOFTWARE, only the hive's root. Keys elsewhere are never pruned.

use std::collections::{BTreeSet, HashMap, HashSet};

use super::DRIVER_DATABASE;
use crate::hive::{Hive, HiveError};
use crate::stage::plan::{HiveFile, HiveOp, RegOp};

/// Appends to `ops` the deletion of every key of `file` that `ops` leaves empty on the way from
/// a deleted record up to its anchor.
pub(super) fn prune(hive: &Hive, file: HiveFile, ops: &mut Vec<HiveOp>) -> crate::hive::Result<()> {
    let mut after = After {
        hive,
        deleted_keys: HashSet::new(),
        deleted_values: HashSet::new(),
        written: Vec::new(),
        memo: HashMap::new(),
    };
    let mut starts: Vec<String> = Vec::new();
    for op in ops.iter().filter(|o| o.hive == file) {
        match &op.op {
            RegOp::DeleteKey { key } => {
                after.deleted_keys.insert(upper(key));
                if let Some((parent, _)) = key.rsplit_once('\\') {
                    starts.push(parent.to_string());
                }
            }
            RegOp::DeleteValue { key, name } => {
                after
                    .deleted_values
                    .insert((upper(key), name.to_uppercase()));
                starts.push(key.clone());
            }
            RegOp::SetValue { key, .. } | RegOp::CreateKey { key } => {
                after.written.push(upper(key));
            }
        }
    }
    let mut tops: BTreeSet<(usize, String)> = BTreeSet::new();
    for start in starts {
        let parts: Vec<&str> = start.split('\\').collect();
        let Some(anchor) = anchor_len(&parts) else {
            continue;
        };
        let mut top = None;
        for len in (anchor + 1..=parts.len()).rev() {
            let path = parts[..len].join("\\");
            if !after.empty(&upper(&path))? {
                break;
            }
            top = Some(path);
        }
        if let Some(t) = top {
            tops.insert((t.matches('\\').count(), t));
        }
    }
    let mut chosen: Vec<String> = Vec::new();
    for (_, key) in tops {
        let u = upper(&key);
        let covered = chosen
            .iter()
            .chain(after.deleted_keys.iter())
            .any(|d| u == *d || u.starts_with(&format!("{d}\\")));
        if !covered {
            chosen.push(u);
            ops.push(HiveOp {
                hive: file,
                op: RegOp::DeleteKey { key },
            });
        }
    }
    Ok(())
}

/// How many leading components of `parts` form the anchor of the container it lies in, if it
/// lies in one.
fn anchor_len(parts: &[&str]) -> Option<usize> {
    let is = |i: usize, name: &str| parts.get(i).is_some_and(|p| p.eq_ignore_ascii_case(name));
    let control_set = parts
        .first()
        .is_some_and(|p| p.len() > 10 && p[..10].eq_ignore_ascii_case("ControlSet"));
    if is(0, DRIVER_DATABASE) {
        Some(1)
    } else if control_set && is(1, "Services") {
        Some(2)
    } else if control_set && is(1, "Control") && is(2, "CriticalDeviceDatabase") {
        Some(3)
    } else if is(0, "Microsoft") && is(1, "Windows") && is(2, "CurrentVersion") && is(3, "Setup") {
        // Up to the hive's root: a SOFTWARE hive that lacks `Microsoft\Windows` (virt-v2v's
        // phony guests) gets it from the injection.
        Some(0)
    } else {
        None
    }
}

/// The hive as it will be after the ops.
struct After<'h> {
    hive: &'h Hive,
    /// Upper-cased paths.
    deleted_keys: HashSet<String>,
    deleted_values: HashSet<(String, String)>,
    written: Vec<String>,
    memo: HashMap<String, bool>,
}

impl After<'_> {
    /// The key `path` (upper-cased) is gone or empty once the ops are applied.
    fn empty(&mut self, path: &str) -> crate::hive::Result<bool> {
        if let Some(&e) = self.memo.get(path) {
            return Ok(e);
        }
        let e = self.compute(path)?;
        self.memo.insert(path.to_string(), e);
        Ok(e)
    }

    fn compute(&mut self, path: &str) -> crate::hive::Result<bool> {
        let under = |d: &String| path == d || path.starts_with(&format!("{d}\\"));
        if self.deleted_keys.iter().any(under) {
            return Ok(true);
        }
        if self
            .written
            .iter()
            .any(|w| w == path || w.starts_with(&format!("{path}\\")))
        {
            return Ok(false);
        }
        let key = match self.hive.key(path) {
            Ok(k) => k,
            Err(HiveError::KeyNotFound { .. }) => return Ok(true),
            Err(e) => return Err(e),
        };
        for v in key.values()? {
            if !self
                .deleted_values
                .contains(&(path.to_string(), v.name.to_uppercase()))
            {
                return Ok(false);
            }
        }
        for c in key.subkeys()? {
            let child = format!("{path}\\{}", c.name().to_uppercase());
            if !self.empty(&child)? {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

fn upper(path: &str) -> String {
    path.to_uppercase()
}
