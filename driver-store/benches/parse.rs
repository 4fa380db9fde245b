//! INF parse throughput against the raw speed of the machine on the same bytes.
//!
//! `cargo bench -p infuse-driver-store --bench parse` reads the shared corpus (`INFUSE_CORPUS`,
//! else `../shared/corpus/inf`), keeps every file in memory, and times, best of several rounds
//! of on-CPU time (so other processes on the shared cores count as little as possible):
//! - a plain byte scan (count `\n`, sum the bytes) over all buffers: the floor of any parser;
//! - `inf::parse` over the same buffers (decode, tokenize, substitute, build the sections);
//! - cloning the parsed `Inf`s (then dropping them): what building the output costs beyond the
//!   lexer. Lines share their file's text, so this is the section and line vectors plus one
//!   reference count per line (until 2026-11-25 it was one `String` per key and field, ~25–40 %
//!   of the parse).
//!
//! It prints MB/s for each, the ratio parse / scan and the clone's share of the parse time, for
//! all files and per encoding. Without the corpus it says so and measures a generated corpus.
//!
//! `INFUSE_PARSE_DIGEST=1` prints instead one hash of the whole parse (`Debug` of `Inf`) per
//! file and language (0409, 0407, none): diff the output of two builds to check that a speed-up
//! changed nothing. `INFUSE_PARSE_PROFILE=N` only parses the corpus N times, for
//! `perf record` or `valgrind --tool=callgrind` (instruction counts do not depend on the load).

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use infuse_driver_store::inf::{self, TextEncoding};

/// Same allocator as the `infuse` binary (`core/src/main.rs`): the bench stands in for the
/// product's use of the library, so it measures with the allocator the product ships.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ROUNDS: usize = 5;
/// Shortest measured stretch of one job (repeated as often as needed).
const SAMPLE: Duration = Duration::from_millis(300);

fn main() {
    let (label, files) = load();
    if std::env::var_os("INFUSE_PARSE_DIGEST").is_some() {
        use std::hash::{Hash, Hasher};
        for f in &files {
            for lang in [Some(0x0409), Some(0x0407), None] {
                let opts = inf::ParseOptions {
                    language: lang,
                    ..Default::default()
                };
                let mut h = std::hash::DefaultHasher::new();
                format!("{:?}", inf::parse_with(f, &opts)).hash(&mut h);
                println!("{:016x}", h.finish());
            }
        }
        return;
    }
    if let Some(passes) = std::env::var_os("INFUSE_PARSE_PROFILE") {
        let passes = passes.to_str().and_then(|p| p.parse().ok()).unwrap_or(10);
        for _ in 0..passes {
            for f in &files {
                black_box(inf::parse(black_box(f)));
            }
        }
        return;
    }
    let all: Vec<&[u8]> = files.iter().map(Vec::as_slice).collect();
    let utf16: Vec<&[u8]> = all
        .iter()
        .copied()
        .filter(|b| inf::parse(b).encoding != TextEncoding::Ansi)
        .collect();
    let ansi: Vec<&[u8]> = all
        .iter()
        .copied()
        .filter(|b| inf::parse(b).encoding == TextEncoding::Ansi)
        .collect();
    println!("corpus: {label}");
    println!("timing: best of {ROUNDS} rounds, {}", Clock::kind());
    println!(
        "{:<12} {:>6} {:>7} {:>10} {:>11} {:>7} {:>12} {:>11}",
        "set", "files", "MB", "scan MB/s", "parse MB/s", "ratio", "output MB/s", "output share"
    );
    for (name, set) in [("all", &all), ("ANSI/UTF-8", &ansi), ("UTF-16", &utf16)] {
        if set.is_empty() {
            continue;
        }
        let bytes: usize = set.iter().map(|b| b.len()).sum();
        let parsed: Vec<inf::Inf> = set.iter().map(|b| inf::parse(b)).collect();
        // Rounds alternate the jobs, so all see the same machine load.
        let [scan, parse, output] = best_of([
            &mut || {
                let mut lines = 0usize;
                let mut sum = 0u64;
                for b in set.iter() {
                    lines += b.iter().filter(|&&c| c == b'\n').count();
                    sum = sum.wrapping_add(b.iter().map(|&c| u64::from(c)).sum::<u64>());
                }
                black_box((lines, sum));
            },
            &mut || {
                for b in set.iter() {
                    black_box(inf::parse(black_box(b)));
                }
            },
            // Allocating, filling and freeing the same `Inf` values: a vector per section, a
            // name per section, a reference count per line.
            &mut || {
                for inf in &parsed {
                    black_box(black_box(inf).clone());
                }
            },
        ]);
        let mb = bytes as f64 / 1e6;
        let scan_rate = mb / scan.as_secs_f64();
        let parse_rate = mb / parse.as_secs_f64();
        println!(
            "{:<12} {:>6} {:>7.2} {:>10.0} {:>11.1} {:>6.1}x {:>12.1} {:>11.0}%",
            name,
            set.len(),
            mb,
            scan_rate,
            parse_rate,
            scan_rate / parse_rate,
            mb / output.as_secs_f64(),
            100.0 * output.as_secs_f64() / parse.as_secs_f64(),
        );
        if name == "all" {
            let lines: usize = parsed
                .iter()
                .flat_map(|i| &i.sections)
                .map(|s| s.lines().len())
                .sum();
            let strings: usize = parsed
                .iter()
                .flat_map(|i| &i.sections)
                .flat_map(|s| s.lines())
                .map(|l| {
                    usize::from(l.key().is_some_and(|k| !k.is_empty()))
                        + l.fields().filter(|f| !f.is_empty()).count()
                })
                .sum();
            println!(
                "  ({lines} lines and {strings} non-empty keys and fields, in one text per file)"
            );
        }
    }
}

/// Best time per run of each job over [`ROUNDS`] alternating rounds (after one warm-up each).
/// Each round repeats a job for at least [`SAMPLE`] and divides.
fn best_of<const N: usize>(mut jobs: [&mut dyn FnMut(); N]) -> [Duration; N] {
    for job in jobs.iter_mut() {
        job();
    }
    let mut best = [Duration::MAX; N];
    for _ in 0..ROUNDS {
        for (job, best) in jobs.iter_mut().zip(best.iter_mut()) {
            let clock = Clock::start();
            let mut runs = 0u32;
            let spent = loop {
                job();
                runs += 1;
                let spent = clock.elapsed();
                if spent >= SAMPLE {
                    break spent;
                }
            };
            *best = (*best).min(spent / runs);
        }
    }
    best
}

/// The time this thread spent on a CPU (Linux `/proc/thread-self/schedstat`, scheduler-tick
/// granularity, hence the long samples), so that other processes on the shared cores do not
/// count; wall time where that file is missing.
struct Clock {
    wall: Instant,
    cpu: Option<u64>,
}

impl Clock {
    fn start() -> Self {
        Clock {
            wall: Instant::now(),
            cpu: on_cpu_ns(),
        }
    }

    fn elapsed(&self) -> Duration {
        match (self.cpu, on_cpu_ns()) {
            (Some(a), Some(b)) => Duration::from_nanos(b.saturating_sub(a)),
            _ => self.wall.elapsed(),
        }
    }

    fn kind() -> &'static str {
        if on_cpu_ns().is_some() {
            "on-CPU time of the bench thread (/proc/thread-self/schedstat)"
        } else {
            "wall time"
        }
    }
}

fn on_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn load() -> (String, Vec<Vec<u8>>) {
    let dir = std::env::var_os("INFUSE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/inf"));
    let mut files = Vec::new();
    let mut stack = vec![dir.clone()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("inf"))
                && let Ok(bytes) = std::fs::read(&path)
            {
                files.push(bytes);
            }
        }
    }
    if !files.is_empty() {
        return (format!("{} ({} files)", dir.display(), files.len()), files);
    }
    eprintln!(
        "shared INF corpus not present at {}: measuring a generated corpus",
        dir.display()
    );
    (String::from("generated"), generated())
}

/// 200 synthetic driver INFs, half ANSI and half UTF-16LE, shaped like real ones.
fn generated() -> Vec<Vec<u8>> {
    (0..200)
        .map(|n| {
            let mut t = String::from(
                "; generated\r\n[Version]\r\nSignature=\"$Windows NT$\"\r\nClass=Net\r\nProvider=%Mfg%\r\nDriverVer=01/01/2024,1.0.0.0\r\n[Manufacturer]\r\n%Mfg%=Models,NTamd64.10.0...16299\r\n[Models.NTamd64.10.0...16299]\r\n",
            );
            for i in 0..300 {
                t.push_str(&format!(
                    "%Desc{i}% = Install_{i}, PCI\\VEN_8086&DEV_{i:04X}&SUBSYS_0000{n:04X}, PCI\\VEN_8086&DEV_{i:04X}\r\n"
                ));
            }
            t.push_str("[Strings]\r\nMfg=\"Contoso\"\r\n");
            for i in 0..300 {
                t.push_str(&format!("Desc{i}=\"Contoso Ethernet Adapter {i}\"\r\n"));
            }
            if n % 2 == 0 {
                t.into_bytes()
            } else {
                let mut b = vec![0xFF, 0xFE];
                b.extend(t.encode_utf16().flat_map(u16::to_le_bytes));
                b
            }
        })
        .collect()
}
