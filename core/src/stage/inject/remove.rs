//! Planning `infuse image remove-driver DIR oemN.inf`: the records the injection wrote
//! ([`records::removal_records`]), the package's FileRepository folder(s) and the published INF
//! (with its `.PNF`, which Windows makes next to it).

use std::path::Path;

use super::{FILE_REPOSITORY, INF_DIR, InjectError};
use crate::image::{DriverDbLayout, Image};
use crate::stage::plan::{FileOp, HiveFile, Plan};
use crate::stage::records::{self, RecordError};

/// The plan that removes the package published as `published` and everything its injection
/// wrote.
pub fn plan_removal(image: &Image, published: &str) -> Result<Plan, InjectError> {
    let info = image.info();
    let db_file = match info.driver_database {
        DriverDbLayout::DriversHive => HiveFile::Drivers,
        DriverDbLayout::SystemHive | DriverDbLayout::Legacy => HiveFile::System,
    };
    let rec_err = |source: RecordError| InjectError::records(published, source);
    let system = image
        .hive(HiveFile::System)
        .ok_or_else(|| InjectError::Io {
            path: info.system_hive.clone(),
            msg: "no SYSTEM hive".into(),
        })?;
    let db = match info.driver_database {
        DriverDbLayout::Legacy => None,
        _ => image.hive(db_file),
    };
    let recs = records::removal_records(
        db,
        db_file,
        system,
        image.hive(HiveFile::Software),
        published,
    )
    .map_err(rec_err)?;
    let mut plan = Plan {
        hives: recs.hives,
        files: recs.files,
        notes: recs.notes,
    };
    // The package folders: every package imported under this published name.
    let mut folders: Vec<String> = Vec::new();
    if let Some(ddb) = image.driver_database() {
        let derr = |e: crate::image::ddb::DdbError| InjectError::Io {
            path: e.path.clone(),
            msg: format!("key `{}`: {}", e.key, e.msg),
        };
        if let Some(inf) = ddb.inf_file(published).map_err(derr)? {
            for p in inf.packages.iter().chain(inf.active.iter()) {
                let owned = ddb
                    .package(p)
                    .map_err(derr)?
                    .and_then(|r| r.published)
                    .is_some_and(|o| o.eq_ignore_ascii_case(published));
                if owned && !folders.iter().any(|f| f.eq_ignore_ascii_case(p)) {
                    folders.push(p.clone());
                }
            }
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for f in &plan.files {
        let (FileOp::Remove { dest } | FileOp::Put { dest, .. }) = f;
        seen.insert(dest.to_lowercase());
    }
    for folder in &folders {
        let rel = format!("{FILE_REPOSITORY}/{folder}");
        let Ok(dir) = image.resolve(&rel) else {
            continue;
        };
        if !dir.is_dir() {
            plan.notes.push(format!("{rel} is already gone"));
            continue;
        }
        let mut files = Vec::new();
        list_files(&dir, &rel, &mut files)?;
        plan.notes.push(format!(
            "remove the package folder {rel} ({} files)",
            files.len()
        ));
        for dest in files {
            if seen.insert(dest.to_lowercase()) {
                plan.files.push(FileOp::Remove { dest });
            }
        }
    }
    let stem = published
        .get(..published.len().saturating_sub(4))
        .unwrap_or(published);
    for name in [published.to_string(), format!("{stem}.PNF")] {
        let rel = format!("{INF_DIR}/{name}");
        if image.resolve(&rel).is_ok_and(|p| p.is_file()) && seen.insert(rel.to_lowercase()) {
            plan.files.push(FileOp::Remove { dest: rel });
        }
    }
    Ok(plan)
}

/// Every file below `dir`, as image-relative paths under `rel`.
fn list_files(dir: &Path, rel: &str, out: &mut Vec<String>) -> Result<(), InjectError> {
    let io = |e: std::io::Error| InjectError::Io {
        path: dir.to_path_buf(),
        msg: e.to_string(),
    };
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(io)?
        .collect::<Result<_, _>>()
        .map_err(io)?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        let ty = e.file_type().map_err(io)?;
        let child = format!("{rel}/{name}");
        if ty.is_dir() {
            list_files(&e.path(), &child, out)?;
        } else {
            out.push(child);
        }
    }
    Ok(())
}
