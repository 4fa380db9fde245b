//! Hive engine against hivex, in the same run: read every key and value of a large (>100 MB)
//! hive, and apply 10,000 edits to it and commit. Results and ratios go to BENCHMARKS.md
//! ("Registry hives"). The large hive is generated once into the temp dir (not committed).
//!
//! Run: `cargo bench -p infuse --bench hive` (needs hivexml and hivexsh from libhivex-bin).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use infuse::hive::{Hive, ValueType, utf16z};

fn main() {
    divan::main();
}

const KEYS_TOP: usize = 100;
const KEYS_EACH: usize = 1000;

/// The large hive: 100 × 1000 keys with a DWORD, a string and a 1,000-byte binary each, plus
/// one 64 KiB big-data value per top key.
fn large_hive() -> &'static Path {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| {
        let p = std::env::temp_dir().join("infuse-bench-large-hive-v1");
        if p.is_file() {
            return p;
        }
        let h = Hive::new_empty("ROOT").expect("new hive");
        let mut e = h.edit().expect("edit");
        for t in 0..KEYS_TOP {
            e.set_value(
                &format!("Top{t:03}"),
                "blob",
                ValueType::BINARY,
                vec![t as u8; 65_536],
            )
            .expect("set");
            for k in 0..KEYS_EACH {
                let path = format!("Top{t:03}\\Key{k:04}");
                e.set_value(&path, "Start", ValueType::DWORD, (k as u32).to_le_bytes())
                    .expect("set");
                e.set_value(
                    &path,
                    "ImagePath",
                    ValueType::EXPAND_SZ,
                    utf16z(&format!("System32\\drivers\\d{t}_{k}.sys")),
                )
                .expect("set");
                e.set_value(
                    &path,
                    "Data",
                    ValueType::BINARY,
                    vec![(k % 251) as u8; 1000],
                )
                .expect("set");
            }
        }
        let tmp = p.with_extension("tmp");
        e.commit(&tmp).expect("commit");
        std::fs::rename(&tmp, &p).expect("rename");
        let size = std::fs::metadata(&p).expect("size").len();
        assert!(
            size > 100 << 20,
            "the large hive is {size} bytes, under 100 MB"
        );
        eprintln!("generated {} ({} MB)", p.display(), size >> 20);
        p
    })
}

#[divan::bench(sample_count = 5, sample_size = 1)]
fn read_all_infuse(b: divan::Bencher) {
    let p = large_hive();
    b.bench(|| {
        let h = Hive::open(p).expect("open");
        let (mut keys, mut bytes) = (0usize, 0usize);
        h.walk(|_, k| {
            keys += 1;
            bytes += k.values()?.iter().map(|v| v.data.len()).sum::<usize>();
            Ok(())
        })
        .expect("walk");
        divan::black_box((keys, bytes))
    });
}

#[divan::bench(sample_count = 5, sample_size = 1)]
fn read_all_hivexml(b: divan::Bencher) {
    let p = large_hive();
    b.bench(|| {
        let st = Command::new("hivexml")
            .arg(p)
            .stdout(Stdio::null())
            .status()
            .expect("hivexml");
        assert!(st.success());
    });
}

fn fresh_copy(tag: &str) -> PathBuf {
    let dst = std::env::temp_dir().join(format!("infuse-bench-edit-{tag}"));
    std::fs::copy(large_hive(), &dst).expect("copy");
    dst
}

const EDIT_KEYS: usize = 2500; // × (1 key + 3 values) = 10,000 edits

#[divan::bench(sample_count = 3, sample_size = 1)]
fn edit_10k_commit_infuse(b: divan::Bencher) {
    b.with_inputs(|| fresh_copy("infuse")).bench_values(|p| {
        let h = Hive::open(&p).expect("open");
        let mut e = h.edit().expect("edit");
        for i in 0..EDIT_KEYS {
            let k = format!("Bench\\K{i:05}");
            e.create_key(&k).expect("create");
            e.set_value(&k, "Start", ValueType::DWORD, 0u32.to_le_bytes())
                .expect("set");
            e.set_value(&k, "Type", ValueType::DWORD, 1u32.to_le_bytes())
                .expect("set");
            e.set_value(
                &k,
                "ImagePath",
                ValueType::SZ,
                utf16z("System32\\drivers\\x.sys"),
            )
            .expect("set");
        }
        e.commit(&p).expect("commit");
    });
}

#[divan::bench(sample_count = 3, sample_size = 1)]
fn edit_10k_commit_hivexsh(b: divan::Bencher) {
    let mut script = String::from("add Bench\ncd Bench\n");
    for i in 0..EDIT_KEYS {
        script.push_str(&format!(
            "add K{i:05}\ncd K{i:05}\nsetval 3\nStart\ndword:0x0\nType\ndword:0x1\nImagePath\nstring:System32\\drivers\\x.sys\ncd ..\n"
        ));
    }
    script.push_str("commit\n");
    b.with_inputs(|| fresh_copy("hivex")).bench_values(|p| {
        use std::io::Write;
        let mut c = Command::new("hivexsh")
            .arg("-w")
            .arg(&p)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("hivexsh");
        c.stdin
            .take()
            .expect("stdin")
            .write_all(script.as_bytes())
            .expect("script");
        assert!(c.wait().expect("wait").success());
    });
}
