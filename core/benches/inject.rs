//! Injection throughput: 50 generated packages (about 500 MB of payload) into a fresh image,
//! against `cp -r` of the same package folders in the same run (BENCHMARKS.md, "Inject").
//!
//! A plain `harness = false` main: each sample is seconds long, so divan's statistics add
//! nothing. `INFUSE_BENCH_MB` sets the total payload (default 500), `INFUSE_BENCH_ROUNDS` the
//! rounds (default 3), `INFUSE_BENCH_INBOX` the inbox package folders the image gets (default
//! 650: several hundred, as a real Windows 10/11). Each round times, in alternating order: `infuse inject` as the library
//! runs it (read the packages, open the image, plan, journaled commit with its fsyncs) and
//! `cp -r` of the package folders, then `cp -r` followed by `sync -f` (cp with the durability
//! the commit gives). The page cache is warm for every contender (the payload was just written),
//! and nothing is left dirty when a contender starts (`sync -f` before each, untimed). The
//! inject's time is split into phases by the commit's step hook.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use infuse::image::Image;
use infuse::image::build::{ImageBuilder, Release};
use infuse::stage::commit::{self, ImageLock, Step};
use infuse::stage::inject::{InjectOptions, PackageSource, plan_injection};

const PACKAGES: usize = 50;
const FILES_PER_PACKAGE: usize = 4;

#[allow(clippy::print_stdout, reason = "a benchmark reports on stdout")]
fn main() {
    let total_mb: usize = env_or("INFUSE_BENCH_MB", 500);
    let rounds: usize = env_or("INFUSE_BENCH_ROUNDS", 3);
    let tmp = tempfile::tempdir_in(
        std::env::var_os("INFUSE_BENCH_DIR").unwrap_or_else(|| std::env::temp_dir().into()),
    )
    .expect("temp dir");
    let pkgs = tmp.path().join("packages");
    let per_file = total_mb * (1 << 20) / (PACKAGES * FILES_PER_PACKAGE);
    let payload = generate(&pkgs, per_file);
    println!(
        "payload: {PACKAGES} packages x {FILES_PER_PACKAGE} files x {} KiB = {:.1} MiB",
        per_file >> 10,
        payload as f64 / f64::from(1 << 20)
    );
    let mut inject = Vec::new();
    let mut phases: Vec<Phases> = Vec::new();
    let mut cp = Vec::new();
    let mut cp_sync = Vec::new();
    for round in 0..rounds {
        let mut order = [0, 1, 2];
        order.rotate_left(round % 3);
        for which in order {
            let dir = tmp.path().join(format!("r{round}-{which}"));
            match which {
                0 => {
                    let (took, p) = time_inject(&pkgs, &dir, payload);
                    inject.push(took);
                    phases.push(p);
                }
                1 => cp.push(time_cp(&pkgs, &dir, false)),
                _ => cp_sync.push(time_cp(&pkgs, &dir, true)),
            }
            std::fs::remove_dir_all(&dir).expect("clean up");
        }
    }
    for (k, name) in Phases::NAMES.iter().enumerate() {
        let mut v: Vec<Duration> = phases.iter().map(|p| p.0[k]).collect();
        println!(
            "  inject phase {name:<40} median {:.3} s  {:?}",
            median(&mut v).as_secs_f64(),
            secs(&v)
        );
    }
    let (i, c, cs) = (median(&mut inject), median(&mut cp), median(&mut cp_sync));
    println!(
        "inject (plan + journaled commit): median {:.2} s  {:?}",
        i.as_secs_f64(),
        secs(&inject)
    );
    println!(
        "cp -r:                            median {:.2} s  {:?}",
        c.as_secs_f64(),
        secs(&cp)
    );
    println!(
        "cp -r && sync -f:                 median {:.2} s  {:?}",
        cs.as_secs_f64(),
        secs(&cp_sync)
    );
    println!(
        "ratio inject / cp -r = {:.2}x; inject / (cp -r && sync) = {:.2}x",
        i.as_secs_f64() / c.as_secs_f64(),
        i.as_secs_f64() / cs.as_secs_f64()
    );
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Writes the packages: an INF (a demand-start driver naming its four files) and the files, of
/// pseudo-random bytes (nothing a file system could compress or share).
fn generate(root: &Path, per_file: usize) -> u64 {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut buf = vec![0u8; per_file];
    let mut total = 0;
    for p in 0..PACKAGES {
        let dir = root.join(format!("pkg{p:02}"));
        std::fs::create_dir_all(&dir).expect("package dir");
        let names: Vec<String> = (0..FILES_PER_PACKAGE)
            .map(|f| format!("bench{p:02}_{f}.bin"))
            .collect();
        std::fs::write(dir.join(format!("bench{p:02}.inf")), inf(p, &names)).expect("inf");
        for n in &names {
            for chunk in buf.chunks_mut(8) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let b = state.to_le_bytes();
                chunk.copy_from_slice(&b[..chunk.len()]);
            }
            std::fs::write(dir.join(n), &buf).expect("payload");
            total += buf.len() as u64;
        }
    }
    total
}

fn inf(p: usize, files: &[String]) -> String {
    let disks: String = files.iter().map(|f| format!("{f} = 1\n")).collect();
    let copies: String = files.iter().map(|f| format!("{f}\n")).collect();
    format!(
        "[Version]\nSignature=\"$WINDOWS NT$\"\nClass=Net\nClassGuid={{4D36E972-E325-11CE-BFC1-08002BE10318}}\n\
         Provider=Bench\nDriverVer=01/01/2025,1.0.0.{p}\n\n[SourceDisksNames]\n1 = disk\n\n\
         [SourceDisksFiles]\n{disks}\n[DestinationDirs]\nDefaultDestDir = 12\n\n\
         [Manufacturer]\nBench = Models,NTamd64\n\n[Models.NTamd64]\n\
         \"Bench device {p}\" = inst, PCI\\VEN_BE{p:02}&DEV_0001\n\n[inst]\nCopyFiles = files\n\n\
         [files]\n{copies}\n[inst.Services]\nAddService = bench{p:02}, 2, svc\n\n\
         [svc]\nServiceType = 1\nStartType = 3\nErrorControl = 1\nServiceBinary = %12%\\{}\n",
        files[0]
    )
}

/// The phases of one inject, in the order they run (see `Phases::NAMES`).
#[derive(Default, Clone)]
struct Phases([Duration; 8]);

impl Phases {
    const NAMES: [&str; 8] = [
        "plan (read packages, open image, plan)",
        "compute hives (edit, serialise)",
        "stage (copies, writeback started)",
        "barrier before the journal",
        "journal (write, fsync, publish)",
        "renames into the image",
        "barrier after the renames",
        "clean up",
    ];

    /// The phase a commit step starts.
    fn of(step: &Step) -> usize {
        match step {
            Step::ComputeHive(_) => 1,
            Step::Stage { .. } => 2,
            Step::SyncStaging => 3,
            Step::WriteJournal | Step::PublishJournal => 4,
            Step::Apply { .. } => 5,
            Step::SyncDirs => 6,
            Step::RemoveStaging | Step::RemoveJournal => 7,
        }
    }
}

fn time_inject(pkgs: &Path, dir: &Path, payload: u64) -> (Duration, Phases) {
    let root = dir.join("image");
    ImageBuilder::new(Release::Win11)
        .build(&root)
        .expect("build image");
    inbox_sized(&root);
    let mut folders: Vec<PathBuf> = std::fs::read_dir(pkgs)
        .expect("packages")
        .map(|e| e.expect("entry").path())
        .collect();
    folders.sort();
    settle(dir);
    let start = Instant::now();
    let lock = ImageLock::acquire(&root).expect("lock");
    commit::recover(&lock, &mut |_| Ok(())).expect("recover");
    let mut sources = Vec::new();
    for f in &folders {
        sources.extend(PackageSource::from_path(f).expect("package"));
    }
    let image = Image::open(&root).expect("open image");
    let plan = plan_injection(&image, &sources, &InjectOptions::default()).expect("plan");
    drop(image);
    // The hook sees every step: it timestamps the phase boundaries.
    let mut phases = Phases::default();
    let mut current = 0usize;
    let mut since = Instant::now();
    phases.0[0] = since - start;
    let report = commit::commit(&lock, &plan.plan, &mut |step| {
        let p = Phases::of(step);
        if p != current {
            let now = Instant::now();
            phases.0[current] += now - since;
            (current, since) = (p, now);
        }
        Ok(())
    })
    .expect("commit");
    drop(lock);
    let took = start.elapsed();
    phases.0[current] += Instant::now() - since;
    assert!(
        report.bytes_written >= payload,
        "wrote {} bytes, payload is {payload}",
        report.bytes_written
    );
    if report.files_cloned > 0 {
        println!(
            "  (reflinked {} of {} files)",
            report.files_cloned, report.files_written
        );
    }
    (took, phases)
}

/// Gives the built image as many inbox package folders and INFs as a real one: an installed
/// Windows 11 has about 650 folders in `FileRepository` and as many INFs in `Windows\INF`
/// (`INFUSE_BENCH_INBOX`, default 650), each with a small INF, so that looking names up in
/// those folders costs what it costs on a real image. Untimed.
fn inbox_sized(root: &Path) {
    let n: usize = env_or("INFUSE_BENCH_INBOX", 650);
    let repo = root.join("Windows/System32/DriverStore/FileRepository");
    let infs = root.join("Windows/INF");
    for i in 0..n {
        let name = format!("inbox{i:03}.inf");
        let folder = repo.join(format!("{name}_amd64_{:016x}", i * 0x9E37_79B9));
        std::fs::create_dir_all(&folder).expect("inbox folder");
        std::fs::write(folder.join(&name), b"[Version]\n").expect("inbox inf");
        std::fs::write(infs.join(&name), b"[Version]\n").expect("inbox inf");
    }
}

fn time_cp(pkgs: &Path, dir: &Path, sync: bool) -> Duration {
    std::fs::create_dir_all(dir).expect("dir");
    let dest = dir.join("copy");
    settle(dir);
    let start = Instant::now();
    let ok = Command::new("cp")
        .arg("-r")
        .arg(pkgs)
        .arg(&dest)
        .status()
        .expect("run cp")
        .success();
    assert!(ok, "cp -r failed");
    if sync {
        let ok = Command::new("sync")
            .arg("-f")
            .arg(&dest)
            .status()
            .expect("run sync")
            .success();
        assert!(ok, "sync -f failed");
    }
    start.elapsed()
}

/// Writes back whatever earlier work left dirty on the file system (the generated payload, the
/// image just built, the previous round's removals), so that no contender's sync pays for it.
fn settle(dir: &Path) {
    let ok = Command::new("sync")
        .arg("-f")
        .arg(dir)
        .status()
        .expect("run sync")
        .success();
    assert!(ok, "sync -f failed");
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn secs(v: &[Duration]) -> Vec<String> {
    v.iter()
        .map(|d| format!("{:.2}", d.as_secs_f64()))
        .collect()
}
