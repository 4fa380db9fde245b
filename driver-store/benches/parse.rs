//! INF parse throughput against the raw speed of the machine on the same bytes.
//!
//! `cargo bench -p infuse-driver-store --bench parse` reads the shared corpus (`INFUSE_CORPUS`,
//! else `../shared/corpus/inf`), keeps every file in memory, and times, best of several rounds:
//! - a plain byte scan (count `\n`, sum the bytes) over all buffers: the floor of any parser;
//! - `inf::parse` over the same buffers (decode, tokenize, substitute, build the sections).
//!
//! It prints MB/s for both and the ratio, for all files and per encoding. Without the corpus it
//! says so and measures a generated corpus instead.
//!
//! `INFUSE_PARSE_DIGEST=1` prints instead one hash of the whole parse (`Debug` of `Inf`) per
//! file and language (0409, 0407, none): diff the output of two builds to check that a speed-up
//! changed nothing.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use infuse_driver_store::inf::{self, TextEncoding};

const ROUNDS: usize = 7;

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
    println!(
        "{:<22} {:>6} {:>9} {:>12} {:>12} {:>7}",
        "set", "files", "MB", "scan MB/s", "parse MB/s", "ratio"
    );
    for (name, set) in [("all", &all), ("ANSI/UTF-8", &ansi), ("UTF-16", &utf16)] {
        if set.is_empty() {
            continue;
        }
        let bytes: usize = set.iter().map(|b| b.len()).sum();
        // Rounds alternate scan and parse, so both see the same machine load.
        let (scan, parse) = best_pair(
            || {
                let mut lines = 0usize;
                let mut sum = 0u64;
                for b in set.iter() {
                    lines += b.iter().filter(|&&c| c == b'\n').count();
                    sum = sum.wrapping_add(b.iter().map(|&c| u64::from(c)).sum::<u64>());
                }
                black_box((lines, sum));
            },
            || {
                for b in set.iter() {
                    black_box(inf::parse(black_box(b)));
                }
            },
        );
        let mb = bytes as f64 / 1e6;
        let scan_rate = mb / scan.as_secs_f64();
        let parse_rate = mb / parse.as_secs_f64();
        println!(
            "{:<22} {:>6} {:>9.2} {:>12.0} {:>12.1} {:>6.1}x",
            name,
            set.len(),
            mb,
            scan_rate,
            parse_rate,
            scan_rate / parse_rate
        );
    }
}

/// Best time of each of two jobs over [`ROUNDS`] alternating rounds (after one warm-up each).
fn best_pair(mut a: impl FnMut(), mut b: impl FnMut()) -> (Duration, Duration) {
    a();
    b();
    let time = |f: &mut dyn FnMut()| {
        let t = Instant::now();
        f();
        t.elapsed()
    };
    let (mut best_a, mut best_b) = (Duration::MAX, Duration::MAX);
    for _ in 0..ROUNDS {
        best_a = best_a.min(time(&mut a));
        best_b = best_b.min(time(&mut b));
    }
    (best_a, best_b)
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
