//! The journaled commit: applies a whole [`Plan`] to an image directory so that a kill at any
//! point leaves the image as it was before or as it is after (DESIGN.md, invariants).
//!
//! # Protocol
//! 1. **Lock** the image: `<image>/.infuse.lock`, an OS lock (released by the kernel when the
//!    process dies, so a kill never leaves a stale lock). A second infuse on the same image gets
//!    [`CommitError::Locked`]. Whoever holds the lock first runs [`recover`].
//! 2. **Compute** every new hive in memory: [`Hive::open`] (replays `.LOG1`/`.LOG2` of a dirty
//!    hive; a dirty hive without logs is refused by [`Hive::edit`]), then the plan's
//!    [`HiveOp`]s through an [`Edit`](crate::hive::Edit), then [`Edit::apply`](crate::hive::Edit::apply).
//!    Every destination path is resolved case-insensitively against the image and checked
//!    (no `..`, drive, stream, device name, symlink) before anything is written.
//! 3. **Stage**: every new file (package files, `oemN.inf`, the new hives) is written to
//!    `<image>/.infuse-txn/staging/<n>`, on the image's own file system so that the final step is
//!    a rename. Copies ([`copy`](self::copy)) are reflinks where the file system shares extents,
//!    else the kernel's copy (`copy_file_range`), else (and whenever the plan gives a sha256,
//!    which is computed while copying) a buffered copy; each is checked against the plan's size
//!    and its writeback is started at once. Then **one barrier** makes them all durable:
//!    `syncfs(2)` of the image's file system on Linux, an fsync per staged file and of the
//!    staging folder elsewhere.
//! 4. **Journal**: the list of renames (`staging/<n>` → destination) and removals, as JSON
//!    followed by its sha256, is written to `journal.tmp`, fsynced and renamed to `journal`; the
//!    directory is fsynced. **This rename is the commit point.** Before it, the image itself has
//!    not been touched.
//! 5. **Apply**: the renames and removals in journal order (removals prune directories left
//!    empty below `DriverStore/FileRepository`), then a barrier for the renames: `syncfs` on
//!    Linux, an fsync of every directory touched elsewhere (they must be durable before the
//!    journal is removed).
//! 6. **Clean up**: remove the (now empty) staging directory, then the journal, then
//!    `.infuse-txn`.
//!
//! [`recover`] (run under the lock before any plan is made): no `.infuse-txn` → nothing to do;
//! a `journal` with a valid checksum → redo step 5 and 6 (idempotent: a rename whose staged file
//! is gone has been done, a removal of a missing file has been done); no journal → remove
//! `.infuse-txn` (a roll back when staged files were left; the image was never touched). A journal with a bad checksum
//! cannot come from this protocol (it is published by rename after fsync) and is reported, not
//! guessed at.
//!
//! A plan may not name one destination twice (a removal and a put of the same file would make
//! redo remove the new file): [`commit`] refuses such a plan.
//!
//! Tests inject faults with a hook called before every [`Step`]; the binary reads
//! `INFUSE_FAULT_AT=<n>` ([`env_fault_hook`]) and aborts the process at the n-th step, so the
//! tests can kill the real binary at every step.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::plan::{FileOp, FileSource, HiveFile, HiveOp, Plan, RegOp};
use crate::hive::{Hive, HiveError, ValueType};
use crate::image::path::fold;

mod copy;

/// The lock file at the image root (removed again when the lock is released).
pub const LOCK_FILE: &str = ".infuse.lock";
/// The transaction directory at the image root: `staging/`, `journal.tmp`, `journal`.
pub const TXN_DIR: &str = ".infuse-txn";
const JOURNAL: &str = "journal";
const JOURNAL_TMP: &str = "journal.tmp";
const STAGING: &str = "staging";
/// Removals prune empty directories up to (not including) this one.
const PRUNE_ROOT: &str = "Windows/System32/DriverStore/FileRepository";

/// One step of a commit or a recovery, in order. A fault hook sees each before it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Read a hive and apply the plan's edits to it in memory.
    ComputeHive(HiveFile),
    /// Write staged file `n` (destination `dest`).
    Stage { n: usize, dest: String },
    /// Make every staged file durable (`syncfs`, or an fsync per file).
    SyncStaging,
    /// Write and fsync `journal.tmp`.
    WriteJournal,
    /// Rename `journal.tmp` to `journal` and fsync the directory: the commit point.
    PublishJournal,
    /// Perform journal entry `n` (a rename into the image or a removal).
    Apply { n: usize, dest: String },
    /// Make the renames durable (`syncfs`, or an fsync of every directory touched).
    SyncDirs,
    /// Remove the (emptied) staging directory.
    RemoveStaging,
    /// Remove the journal: the transaction is complete.
    RemoveJournal,
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::ComputeHive(h) => write!(f, "compute hive {}", h.image_path()),
            Step::Stage { n, dest } => write!(f, "stage file {n} ({dest})"),
            Step::SyncStaging => f.write_str("sync staged files"),
            Step::WriteJournal => f.write_str("write the journal"),
            Step::PublishJournal => f.write_str("publish the journal (commit point)"),
            Step::Apply { n, dest } => write!(f, "apply journal entry {n} ({dest})"),
            Step::SyncDirs => f.write_str("sync directories"),
            Step::RemoveJournal => f.write_str("remove the journal"),
            Step::RemoveStaging => f.write_str("remove the staging directory"),
        }
    }
}

/// A fault hook: called before every step; an error aborts the commit at that step.
pub type Hook<'a> = &'a mut dyn FnMut(&Step) -> io::Result<()>;

/// Why a commit or recovery failed.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    #[error(
        "{path}: another infuse is changing this image\nhint: wait for it to finish; the lock is released when that process ends"
    )]
    Locked { path: PathBuf },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path}: {source}")]
    Hive { path: PathBuf, source: HiveError },
    #[error("refused image path `{dest}`: {reason}")]
    BadPath { dest: String, reason: String },
    #[error("the plan names `{dest}` more than once")]
    Duplicate { dest: String },
    #[error("{path}: copied {got} bytes from {source_path}, the plan expects {expected}")]
    Size {
        path: PathBuf,
        source_path: PathBuf,
        expected: u64,
        got: u64,
    },
    #[error("{path}: sha256 {got}, the plan expects {expected}")]
    Hash {
        path: PathBuf,
        expected: String,
        got: String,
    },
    #[error(
        "{path}: damaged journal ({msg})\nhint: the image may be half-changed; restore it from a copy"
    )]
    Journal { path: PathBuf, msg: String },
    #[error(
        "{path}: journal entry {n} cannot be redone: the staged file is gone and `{dest}` does not exist"
    )]
    Redo {
        path: PathBuf,
        n: usize,
        dest: String,
    },
    #[error("stopped before step `{step}`: {source}")]
    Fault { step: String, source: io::Error },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> CommitError + '_ {
    move |source| CommitError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The image's lock; held while recovering, planning and committing.
#[derive(Debug)]
pub struct ImageLock {
    root: PathBuf,
    path: PathBuf,
    file: Option<std::fs::File>,
}

impl ImageLock {
    /// Takes the lock of the image at `root`, or fails at once with [`CommitError::Locked`].
    pub fn acquire(root: &Path) -> Result<ImageLock, CommitError> {
        let path = root.join(LOCK_FILE);
        loop {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
                .map_err(io_err(&path))?;
            match file.try_lock() {
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(CommitError::Locked { path });
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(io_err(&path)(e)),
            }
            // The holder removes the file before it unlocks: if the file we locked is no longer
            // the one at the path, a previous holder released it meanwhile; take the new one.
            if same_file(&file, &path) {
                return Ok(ImageLock {
                    root: root.to_path_buf(),
                    path,
                    file: Some(file),
                });
            }
        }
    }

    /// The image root this lock covers.
    pub fn root(&self) -> &Path {
        &self.root
    }
}

#[cfg(unix)]
fn same_file(file: &std::fs::File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.ino() == b.ino() && a.dev() == b.dev(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_file: &std::fs::File, path: &Path) -> bool {
    // Windows does not let a file that is open without FILE_SHARE_DELETE be removed.
    path.exists()
}

impl Drop for ImageLock {
    fn drop(&mut self) {
        // Remove while still holding the lock (see `acquire`), then unlock by closing.
        let _ = std::fs::remove_file(&self.path);
        drop(self.file.take());
    }
}

/// What [`recover`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Recovery {
    /// No interrupted transaction.
    Clean,
    /// A committed transaction was finished.
    Finished,
    /// An uncommitted transaction's staged files were removed; the image was never touched.
    RolledBack,
}

/// What a commit did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CommitReport {
    pub files_written: usize,
    pub bytes_written: u64,
    /// Of `files_written`, those staged as a reflink of their source (no data copied).
    pub files_cloned: usize,
    pub files_removed: usize,
    /// The hives rewritten (image-relative paths as found).
    pub hives: Vec<String>,
}

/// A journal entry. Paths are image-relative, `/`-separated, spelled as on disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
enum Entry {
    Rename { staged: String, dest: String },
    Remove { dest: String },
}

impl Entry {
    fn dest(&self) -> &str {
        match self {
            Entry::Rename { dest, .. } | Entry::Remove { dest } => dest,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Journal {
    version: u32,
    entries: Vec<Entry>,
}

/// A hook that aborts the process at the step numbered by `INFUSE_FAULT_AT` (1-based, counted
/// over every hook call of the process), for the kill tests. Without the variable it does
/// nothing.
pub fn env_fault_hook() -> impl FnMut(&Step) -> io::Result<()> {
    let at: Option<u64> = std::env::var("INFUSE_FAULT_AT")
        .ok()
        .and_then(|v| v.trim().parse().ok());
    let mut count = 0u64;
    move |step| {
        count += 1;
        if at == Some(count) {
            let _ = writeln!(
                io::stderr(),
                "INFUSE_FAULT_AT={count}: aborting before step `{step}`"
            );
            std::process::abort();
        }
        Ok(())
    }
}

fn run_hook(hook: Hook<'_>, step: Step) -> Result<(), CommitError> {
    hook(&step).map_err(|source| CommitError::Fault {
        step: step.to_string(),
        source,
    })
}

/// Finishes or rolls back an interrupted transaction of the locked image.
pub fn recover(lock: &ImageLock, hook: Hook<'_>) -> Result<Recovery, CommitError> {
    let root = lock.root();
    let txn = root.join(TXN_DIR);
    if !txn.exists() {
        return Ok(Recovery::Clean);
    }
    let journal_path = txn.join(JOURNAL);
    if journal_path.exists() {
        let journal = read_journal(&journal_path)?;
        apply_entries(root, &journal.entries, hook)?;
        finish(root, hook)?;
        return Ok(Recovery::Finished);
    }
    // No journal: either the commit point was never reached (staged files or `journal.tmp`
    // left: roll back), or a finished transaction was stopped while removing its empty folder.
    let leftovers = std::fs::read_dir(&txn)
        .map_err(io_err(&txn))?
        .next()
        .is_some();
    run_hook(hook, Step::RemoveStaging)?;
    remove_dir_all_missing_ok(&txn)?;
    sync_dir(root)?;
    Ok(if leftovers {
        Recovery::RolledBack
    } else {
        Recovery::Clean
    })
}

/// Commits `plan` to the locked image (run [`recover`] first). An empty plan writes nothing.
pub fn commit(lock: &ImageLock, plan: &Plan, hook: Hook<'_>) -> Result<CommitReport, CommitError> {
    let root = lock.root();
    let mut report = CommitReport::default();
    if plan.is_empty() {
        return Ok(report);
    }
    // Resolve and check every destination first: nothing is written for a refused plan.
    let mut seen = BTreeSet::new();
    let mut resolver = Resolver::new(root);
    let mut files = Vec::with_capacity(plan.files.len());
    for op in &plan.files {
        let (dest, resolved) = match op {
            FileOp::Put { dest, .. } | FileOp::Remove { dest } => (dest, resolver.resolve(dest)?),
        };
        if !seen.insert(fold(&resolved)) {
            return Err(CommitError::Duplicate { dest: dest.clone() });
        }
        files.push((op, resolved));
    }
    // A file of the plan cannot also be a folder of another of its files: the renames would fail
    // after the commit point (keys are folded, so `X` and `x/y` conflict too).
    let puts: BTreeSet<String> = files
        .iter()
        .filter(|(op, _)| matches!(op, FileOp::Put { .. }))
        .map(|(_, resolved)| fold(resolved))
        .collect();
    for key in &puts {
        let below = format!("{key}/");
        if puts
            .range(below.clone()..)
            .next()
            .is_some_and(|k| k.starts_with(&below))
        {
            return Err(CommitError::BadPath {
                dest: key.clone(),
                reason: "the plan puts a file there and files below it as if it were a folder"
                    .into(),
            });
        }
    }
    // The new hives, in memory.
    let mut by_hive: BTreeMap<HiveFile, Vec<&HiveOp>> = BTreeMap::new();
    for op in &plan.hives {
        by_hive.entry(op.hive).or_default().push(op);
    }
    let mut hives = Vec::new();
    for (hive, ops) in by_hive {
        run_hook(hook, Step::ComputeHive(hive))?;
        let rel = resolver.resolve(hive.image_path())?;
        if !seen.insert(fold(&rel)) {
            return Err(CommitError::Duplicate { dest: rel });
        }
        let path = root.join(&rel);
        let bytes = edit_hive(&path, &ops)?;
        hives.push((rel, path, bytes));
    }

    // Stage.
    let txn = root.join(TXN_DIR);
    let staging = txn.join(STAGING);
    fs_err::create_dir_all(&staging).map_err(io_err(&staging))?;
    let mut entries = Vec::new();
    let mut staged = Vec::new();
    let mut jobs = Vec::new();
    let mut n = 0usize;
    for (op, resolved) in &files {
        match op {
            FileOp::Put {
                source,
                size,
                sha256,
                ..
            } => {
                let name = n.to_string();
                let path = staging.join(&name);
                report.files_written += 1;
                report.bytes_written += size;
                jobs.push(StageJob {
                    n,
                    dest: resolved,
                    path: path.clone(),
                    source,
                    size: *size,
                    sha256: sha256.as_deref(),
                });
                staged.push(path);
                entries.push(Entry::Rename {
                    staged: name,
                    dest: resolved.clone(),
                });
                n += 1;
            }
            FileOp::Remove { .. } => {
                report.files_removed += 1;
                entries.push(Entry::Remove {
                    dest: resolved.clone(),
                });
            }
        }
    }
    report.files_cloned = stage_files(&jobs, hook)?;
    for (rel, path, bytes) in &hives {
        run_hook(
            hook,
            Step::Stage {
                n,
                dest: rel.clone(),
            },
        )?;
        let name = n.to_string();
        let spath = staging.join(&name);
        fs_err::write(&spath, bytes).map_err(io_err(&spath))?;
        if let Ok(meta) = std::fs::metadata(path) {
            // Keep the hive's permissions.
            std::fs::set_permissions(&spath, meta.permissions()).map_err(io_err(&spath))?;
        }
        staged.push(spath);
        entries.push(Entry::Rename {
            staged: name,
            dest: rel.clone(),
        });
        report.hives.push(rel.clone());
        n += 1;
    }
    run_hook(hook, Step::SyncStaging)?;
    sync_staged(&staging, &staged)?;

    // Journal: the commit point is its rename.
    run_hook(hook, Step::WriteJournal)?;
    let tmp = txn.join(JOURNAL_TMP);
    write_journal(
        &tmp,
        &Journal {
            version: 1,
            entries: entries.clone(),
        },
    )?;
    run_hook(hook, Step::PublishJournal)?;
    let journal = txn.join(JOURNAL);
    fs_err::rename(&tmp, &journal).map_err(io_err(&journal))?;
    sync_dir(&txn)?;

    apply_entries(root, &entries, hook)?;
    finish(root, hook)?;
    Ok(report)
}

/// Applies the plan's registry edits to the hive at `path`; returns the new hive's bytes.
fn edit_hive(path: &Path, ops: &[&HiveOp]) -> Result<Vec<u8>, CommitError> {
    let herr = |source| CommitError::Hive {
        path: path.to_path_buf(),
        source,
    };
    let hive = Hive::open(path).map_err(herr)?;
    let mut edit = hive.edit().map_err(herr)?;
    for op in ops {
        match &op.op {
            RegOp::CreateKey { key } => edit.create_key(key),
            RegOp::SetValue {
                key,
                name,
                kind,
                data,
            } => edit.set_value(key, name, ValueType(*kind), data.clone()),
            RegOp::DeleteValue { key, name } => edit.delete_value(key, name).map(|_| ()),
            RegOp::DeleteKey { key } => edit.delete_key(key).map(|_| ()),
        }
        .map_err(herr)?;
    }
    let new = edit.apply().map_err(herr)?;
    Ok(new.as_bytes().to_vec())
}

/// One file to stage: journal entry `n`, written to `path` (in the staging folder) from `source`.
struct StageJob<'p> {
    n: usize,
    dest: &'p str,
    path: PathBuf,
    source: &'p FileSource,
    size: u64,
    sha256: Option<&'p str>,
}

/// Stages `jobs` on up to four threads (one per core): with the device fast enough to keep up,
/// copying through the page cache is CPU work, and one thread leaves the other cores idle
/// (BENCHMARKS.md, "Inject"). The hook still sees every [`Step::Stage`] in order, on this
/// thread, just before its job is handed out (a bounded queue keeps the hand-out close to the
/// copies), so a fault at step n leaves at most the jobs before n staged, as sequential staging
/// did. After an error no job numbered after it is started, the ones before it still run, and
/// the error of the lowest-numbered failed job is returned, as sequential staging would.
/// Returns how many were reflinks.
fn stage_files(jobs: &[StageJob<'_>], hook: Hook<'_>) -> Result<usize, CommitError> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex, mpsc};

    let workers = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .clamp(1, 4)
        .min(jobs.len());
    if workers <= 1 {
        return stage_sequentially(jobs, hook);
    }
    let (tx, rx) = mpsc::sync_channel::<&StageJob<'_>>(workers);
    // Each worker owns a share of the receiver: when every worker has ended (even by a panic)
    // the receiver is dropped and `send` fails instead of blocking on a full queue.
    let rx = Arc::new(Mutex::new(rx));
    // The lowest job number that failed so far (`usize::MAX`: none).
    let failed = AtomicUsize::new(usize::MAX);
    let cloned = AtomicUsize::new(0);
    let errors: Mutex<Vec<(usize, CommitError)>> = Mutex::new(Vec::new());
    let ran = std::thread::scope(|s| {
        let mut spawned = 0;
        for _ in 0..workers {
            let rx = Arc::clone(&rx);
            let (failed, cloned, errors) = (&failed, &cloned, &errors);
            let worker = std::thread::Builder::new().spawn_scoped(s, move || {
                loop {
                    // The lock is held only to take the next job, never while copying.
                    let next = rx.lock().map_or(None, |r| r.recv().ok());
                    let Some(job) = next else { break };
                    // After a failure, jobs after it are drained, not started (so the sender
                    // never blocks on a queue nobody empties); jobs before it still run, so
                    // the error reported is the lowest-numbered one, as on one thread.
                    if job.n > failed.load(Ordering::Relaxed) {
                        continue;
                    }
                    match stage_file(&job.path, job.source, job.size, job.sha256) {
                        Ok(copy::Method::Reflink) => {
                            cloned.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(_) => {}
                        Err(e) => {
                            failed.fetch_min(job.n, Ordering::Relaxed);
                            if let Ok(mut v) = errors.lock() {
                                v.push((job.n, e));
                            }
                        }
                    }
                }
            });
            // A thread the system refuses is one worker fewer, not an error.
            spawned += usize::from(worker.is_ok());
        }
        drop(rx);
        if spawned == 0 {
            return false;
        }
        for job in jobs {
            if failed.load(Ordering::Relaxed) != usize::MAX {
                break;
            }
            let step = Step::Stage {
                n: job.n,
                dest: job.dest.to_string(),
            };
            if let Err(e) = run_hook(hook, step) {
                failed.fetch_min(job.n, Ordering::Relaxed);
                if let Ok(mut v) = errors.lock() {
                    v.push((job.n, e));
                }
                break;
            }
            if tx.send(job).is_err() {
                break;
            }
        }
        drop(tx);
        true
    });
    if !ran {
        return stage_sequentially(jobs, hook);
    }
    let mut errors = errors.into_inner().unwrap_or_default();
    errors.sort_by_key(|(n, _)| *n);
    match errors.into_iter().next() {
        Some((_, e)) => Err(e),
        None => Ok(cloned.into_inner()),
    }
}

/// [`stage_files`] on the calling thread.
fn stage_sequentially(jobs: &[StageJob<'_>], hook: Hook<'_>) -> Result<usize, CommitError> {
    let mut cloned = 0;
    for job in jobs {
        run_hook(
            hook,
            Step::Stage {
                n: job.n,
                dest: job.dest.to_string(),
            },
        )?;
        if stage_file(&job.path, job.source, job.size, job.sha256)? == copy::Method::Reflink {
            cloned += 1;
        }
    }
    Ok(cloned)
}

fn stage_file(
    path: &Path,
    source: &FileSource,
    size: u64,
    sha256: Option<&str>,
) -> Result<copy::Method, CommitError> {
    let (got, sum, method) = match source {
        FileSource::Path { path: src } => {
            let c = copy::copy(src, path, sha256.is_some()).map_err(copy_err)?;
            (c.bytes, c.sha256, c.method)
        }
        FileSource::Bytes { bytes } => {
            fs_err::write(path, bytes).map_err(io_err(path))?;
            let sum = sha256.map(|_| hex::encode(Sha256::digest(bytes)));
            (bytes.len() as u64, sum, copy::Method::Buffered)
        }
    };
    if got != size {
        return Err(CommitError::Size {
            path: path.to_path_buf(),
            source_path: match source {
                FileSource::Path { path } => path.clone(),
                FileSource::Bytes { .. } => PathBuf::from("<plan bytes>"),
            },
            expected: size,
            got,
        });
    }
    if let (Some(expected), Some(got)) = (sha256, sum)
        && !got.eq_ignore_ascii_case(expected)
    {
        return Err(CommitError::Hash {
            path: path.to_path_buf(),
            expected: expected.to_string(),
            got,
        });
    }
    Ok(method)
}

fn copy_err(e: copy::CopyError) -> CommitError {
    CommitError::Io {
        path: e.path,
        source: e.source,
    }
}

/// The barrier before the journal: every staged file, its data and its directory entry, is
/// durable. One `syncfs` where the system has it, else an fsync per file and of the folder.
fn sync_staged(staging: &Path, staged: &[PathBuf]) -> Result<(), CommitError> {
    if !copy::barrier(staging).map_err(copy_err)? {
        for path in staged {
            sync_file(path)?;
        }
        sync_dir(staging)?;
    }
    Ok(())
}

fn write_journal(path: &Path, journal: &Journal) -> Result<(), CommitError> {
    let mut body = serde_json::to_vec(journal).map_err(|e| CommitError::Journal {
        path: path.to_path_buf(),
        msg: e.to_string(),
    })?;
    let sum = hex::encode(Sha256::digest(&body));
    body.push(b'\n');
    body.extend_from_slice(sum.as_bytes());
    body.push(b'\n');
    let mut f = fs_err::File::create(path).map_err(io_err(path))?;
    f.write_all(&body).map_err(io_err(path))?;
    f.sync_all().map_err(io_err(path))?;
    Ok(())
}

fn read_journal(path: &Path) -> Result<Journal, CommitError> {
    let bad = |msg: &str| CommitError::Journal {
        path: path.to_path_buf(),
        msg: msg.to_string(),
    };
    let text = fs_err::read(path).map_err(io_err(path))?;
    let text = std::str::from_utf8(&text).map_err(|_| bad("not UTF-8"))?;
    let mut lines = text.lines();
    let (Some(body), Some(sum), None) = (lines.next(), lines.next(), lines.next()) else {
        return Err(bad("expected a JSON line and a checksum line"));
    };
    if hex::encode(Sha256::digest(body.as_bytes())) != sum {
        return Err(bad("checksum mismatch"));
    }
    let journal: Journal =
        serde_json::from_str(body).map_err(|e| bad(&format!("unreadable: {e}")))?;
    if journal.version != 1 {
        return Err(bad(&format!("unknown version {}", journal.version)));
    }
    // Entries came from `resolve`, but check them again: the file is data.
    for e in &journal.entries {
        check_rel(e.dest())?;
        if let Entry::Rename { staged, .. } = e
            && (staged.is_empty() || !staged.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(bad(&format!("staged name `{staged}`")));
        }
    }
    Ok(journal)
}

/// Performs the journal's entries; idempotent, so recovery can run it again.
fn apply_entries(root: &Path, entries: &[Entry], hook: Hook<'_>) -> Result<(), CommitError> {
    let staging = root.join(TXN_DIR).join(STAGING);
    let mut dirs: BTreeSet<PathBuf> = BTreeSet::new();
    for (n, e) in entries.iter().enumerate() {
        run_hook(
            hook,
            Step::Apply {
                n,
                dest: e.dest().to_string(),
            },
        )?;
        let dest = root.join(e.dest());
        match e {
            Entry::Rename { staged, .. } => {
                let src = staging.join(staged);
                if src.exists() {
                    if let Some(parent) = dest.parent() {
                        create_dirs(root, parent, &mut dirs)?;
                    }
                    fs_err::rename(&src, &dest).map_err(io_err(&dest))?;
                } else if !dest.exists() {
                    return Err(CommitError::Redo {
                        path: root.join(TXN_DIR).join(JOURNAL),
                        n,
                        dest: e.dest().to_string(),
                    });
                }
            }
            Entry::Remove { .. } => {
                match std::fs::remove_file(&dest) {
                    Ok(()) => {}
                    Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                    Err(err) => return Err(io_err(&dest)(err)),
                }
                prune(root, &dest, &mut dirs)?;
            }
        }
        if let Some(parent) = dest.parent() {
            dirs.insert(parent.to_path_buf());
        }
    }
    run_hook(hook, Step::SyncDirs)?;
    if !copy::barrier(root).map_err(copy_err)? {
        for d in &dirs {
            if d.is_dir() {
                sync_dir(d)?;
            }
        }
    }
    Ok(())
}

/// Cleans up a finished transaction: the staging directory first (every staged file has been
/// renamed away), then the journal, so that a journal present always means "redo".
fn finish(root: &Path, hook: Hook<'_>) -> Result<(), CommitError> {
    let txn = root.join(TXN_DIR);
    run_hook(hook, Step::RemoveStaging)?;
    remove_dir_all_missing_ok(&txn.join(STAGING))?;
    run_hook(hook, Step::RemoveJournal)?;
    let journal = txn.join(JOURNAL);
    match std::fs::remove_file(&journal) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err(&journal)(e)),
    }
    remove_dir_all_missing_ok(&txn)?;
    sync_dir(root)?;
    Ok(())
}

/// Creates `dir` and its missing parents below `root`, remembering the parents to fsync.
fn create_dirs(root: &Path, dir: &Path, synced: &mut BTreeSet<PathBuf>) -> Result<(), CommitError> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut missing = Vec::new();
    let mut cur = dir;
    while !cur.is_dir() && cur != root {
        missing.push(cur.to_path_buf());
        match cur.parent() {
            Some(p) => cur = p,
            None => break,
        }
    }
    for d in missing.iter().rev() {
        match std::fs::create_dir(d) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io_err(d)(e)),
        }
        if let Some(p) = d.parent() {
            synced.insert(p.to_path_buf());
        }
    }
    Ok(())
}

/// Removes the directories left empty by a removal, up to `DriverStore/FileRepository`.
fn prune(root: &Path, removed: &Path, synced: &mut BTreeSet<PathBuf>) -> Result<(), CommitError> {
    let stop = root.join(PRUNE_ROOT);
    let Some(mut dir) = removed.parent().map(Path::to_path_buf) else {
        return Ok(());
    };
    // Only below FileRepository (compared case-insensitively, as the tree may spell it).
    let lower = |p: &Path| fold(&p.to_string_lossy());
    let stop_l = lower(&stop);
    if !lower(&dir).starts_with(&(stop_l.clone() + "/")) {
        return Ok(());
    }
    while lower(&dir) != stop_l && lower(&dir).starts_with(&stop_l) {
        match std::fs::remove_dir(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            // Not empty (or anything else): stop pruning here.
            Err(_) => break,
        }
        let Some(p) = dir.parent() else { break };
        synced.insert(p.to_path_buf());
        dir = p.to_path_buf();
    }
    Ok(())
}

fn sync_file(path: &Path) -> Result<(), CommitError> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(io_err(path))
}

fn sync_dir(dir: &Path) -> Result<(), CommitError> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir)
            .and_then(|f| f.sync_all())
            .map_err(io_err(dir))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

fn remove_dir_all_missing_ok(dir: &Path) -> Result<(), CommitError> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err(dir)(e)),
    }
}

/// Checks an image-relative path from data with the image's one path rule
/// ([`crate::image::path::check`]: no `..`, absolute path, drive, stream, device name, character
/// Windows forbids, or trailing dot or blank, which Windows would strip), and refuses infuse's
/// own transaction files.
fn check_rel(rel: &str) -> Result<Vec<&str>, CommitError> {
    let bad = |reason: String| CommitError::BadPath {
        dest: rel.to_string(),
        reason,
    };
    let out = crate::image::path::check(rel).map_err(|e| bad(e.to_string()))?;
    if out.first().is_some_and(|c| {
        crate::image::path::names_equal(c, TXN_DIR) || crate::image::path::names_equal(c, LOCK_FILE)
    }) {
        return Err(bad("infuse's own transaction files".into()));
    }
    Ok(out)
}

/// Resolves an image-relative path case-insensitively against the tree (Windows compares file
/// names case-insensitively): existing components take their on-disk spelling, missing ones
/// keep the plan's. Refuses paths from data that could leave the image and symlinks on the way.
pub fn resolve(root: &Path, rel: &str) -> Result<String, CommitError> {
    Resolver::new(root).resolve(rel)
}

/// [`resolve`] for many paths of one plan: each directory on the way is looked up once, not once
/// per file under it, and a directory listed to find a name case-insensitively is listed once.
/// A plan staging 250 files into 50 new repository folders otherwise stats every component of
/// every path and lists `FileRepository` (hundreds of folders in a real image) once per file.
/// Only valid while the tree does not change: a commit resolves everything before it writes.
struct Resolver<'r> {
    root: &'r Path,
    /// Folded image-relative prefix ([`fold`], NTFS's comparison) → its on-disk spelling, and
    /// whether it exists.
    prefixes: HashMap<String, (String, bool)>,
    /// Directory (on-disk spelling) → its entries by folded name.
    listings: HashMap<String, HashMap<String, Vec<String>>>,
}

impl<'r> Resolver<'r> {
    fn new(root: &'r Path) -> Self {
        Resolver {
            root,
            prefixes: HashMap::new(),
            listings: HashMap::new(),
        }
    }

    fn resolve(&mut self, rel: &str) -> Result<String, CommitError> {
        let comps = check_rel(rel)?;
        let mut key = String::with_capacity(rel.len());
        let mut out = String::with_capacity(rel.len());
        let mut exists = true;
        for comp in comps {
            if !key.is_empty() {
                key.push('/');
            }
            key.push_str(&fold(comp));
            if let Some((known, known_exists)) = self.prefixes.get(&key) {
                out.clone_from(known);
                exists = *known_exists;
                continue;
            }
            let parent = out.clone();
            let mut name = comp.to_string();
            if exists {
                let dir = self.root.join(&parent);
                if std::fs::symlink_metadata(dir.join(comp)).is_err() {
                    match self.find_ci(&parent, &dir, comp, rel)? {
                        Some(found) => name = found,
                        None => exists = false,
                    }
                }
                if exists {
                    let path = dir.join(&name);
                    let meta = std::fs::symlink_metadata(&path).map_err(io_err(&dir))?;
                    if meta.file_type().is_symlink() {
                        return Err(CommitError::BadPath {
                            dest: rel.to_string(),
                            reason: format!("`{}` is a symbolic link", path.display()),
                        });
                    }
                }
            }
            if !out.is_empty() {
                out.push('/');
            }
            out.push_str(&name);
            self.prefixes.insert(key.clone(), (out.clone(), exists));
        }
        Ok(out)
    }

    /// The on-disk spelling of `name` in `dir` (`parent`, image-relative), compared as NTFS
    /// does ([`fold`]); `None` when nothing matches. Called when no entry has the exact
    /// spelling: several entries equal to it ignoring case are refused, as `image::path`
    /// refuses them (Windows could not tell them apart).
    fn find_ci(
        &mut self,
        parent: &str,
        dir: &Path,
        name: &str,
        rel: &str,
    ) -> Result<Option<String>, CommitError> {
        if !self.listings.contains_key(parent) {
            let mut names: HashMap<String, Vec<String>> = HashMap::new();
            for n in find_ci_list(dir)? {
                names.entry(fold(&n)).or_default().push(n);
            }
            self.listings.insert(parent.to_string(), names);
        }
        match self.listings.get(parent).and_then(|m| m.get(&fold(name))) {
            None => Ok(None),
            Some(found) if found.len() == 1 => Ok(found.first().cloned()),
            Some(found) => {
                let mut found = found.clone();
                found.sort();
                Err(CommitError::BadPath {
                    dest: rel.to_string(),
                    reason: format!(
                        "{} holds several entries named `{name}` ignoring case ({}); Windows cannot tell them apart",
                        dir.display(),
                        found.join(", ")
                    ),
                })
            }
        }
    }
}

/// The names in `dir`, in directory order (none when it does not exist).
fn find_ci_list(dir: &Path) -> Result<Vec<String>, CommitError> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err(dir)(e)),
    };
    let mut out = Vec::new();
    for e in rd {
        let e = e.map_err(io_err(dir))?;
        out.push(e.file_name().to_string_lossy().into_owned());
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
