//! Small helpers the end-to-end tests share: running the binary and reading its output, the
//! files of a tree, and `hivexget` as the independent reader of hive values.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;

use crate::oracle;

/// A test's temp path as `&str` (temp dirs are UTF-8 here).
pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

/// Asserts that a command succeeded, with its exit status, stdout and stderr in the message.
pub fn ok(out: &Output) -> &Output {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The JSON a successful command printed on stdout.
pub fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&ok(out).stdout).expect("json on stdout")
}

/// Every file under `root` with its bytes, and every folder as `rel/` (byte-identical
/// comparisons of a whole tree, empty folders included).
pub fn raw(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read dir") {
            let p = e.expect("dir entry").path();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            if p.is_dir() {
                out.insert(rel + "/", Vec::new());
                stack.push(p);
            } else {
                out.insert(rel, std::fs::read(&p).expect("read file"));
            }
        }
    }
    out
}

/// Copies the tree `from` into `to`.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read dir") {
        let e = e.expect("dir entry");
        let dest = to.join(e.file_name());
        if e.file_type().expect("file type").is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), &dest).expect("copy");
        }
    }
}

/// `hivexget HIVE KEY VALUE` (hivex, the independent reader): the value as hivexget prints it.
pub fn hivexget(hive: &Path, key: &str, value: &str) -> String {
    let out = oracle("hivexget")
        .args([s(hive), key, value])
        .output()
        .expect("run hivexget");
    assert!(
        out.status.success(),
        "hivexget {} {key} {value}: {}",
        hive.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim_end().to_string()
}
