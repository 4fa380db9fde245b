//! Fuzz the `.reg` parser: any text gives operations or an error with a line number.
#![no_main]

use infuse::hive::regfile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = regfile::decode_text(data);
    let _ = regfile::parse(&text, None, std::path::Path::new("fuzz.reg"));
});
