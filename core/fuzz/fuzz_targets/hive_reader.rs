//! Fuzz the hive reader (and the writer on whatever the reader accepts): any bytes must give
//! data or an error, never a panic, a hang or an out-of-bounds access.
#![no_main]

use infuse::hive::{Hive, ValueType, regfile};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(hive) = Hive::from_bytes(data.to_vec()) else {
        return;
    };
    let mut first_child = None;
    let _ = hive.walk(|path, key| {
        let _ = key.values().map(|vs| vs.iter().map(|v| v.decode()).count());
        let _ = key.class_name();
        let _ = key.security();
        if first_child.is_none() && !path.is_empty() {
            first_child = Some(path.to_string());
        }
        Ok(())
    });
    let _ = regfile::export(&hive, "", "HKEY_LOCAL_MACHINE\\FUZZ");
    // The writer must also fail cleanly on a corrupt hive.
    if let Ok(mut edit) = hive.edit() {
        let _ = edit.set_value("fuzz\\key", "v", ValueType::BINARY, vec![7u8; 20_000]);
        if let Some(p) = &first_child {
            let _ = edit.delete_key(p);
        }
        if let Ok(out) = edit.apply() {
            let _ = out.walk(|_, k| k.values().map(|_| ()));
        }
    }
});
