//! Reaches for the filesystem and the network, so its component imports `wasi:filesystem` (with
//! `preopens`) and `wasi:sockets`: the host must refuse it before instantiating it, since neither
//! is on the allowlist. (If it ever ran, it would list `/` and connect to a local port.)

use std::io::Write;

use infuse_sdk::{
    Candidate, Context, Decision, Device, Hook, PackageView, Plugin, ReasonedEdit, Result, Target,
};

pub struct UndeclaredImport;

impl Plugin for UndeclaredImport {
    const NAME: &'static str = "hostile-undeclared-import";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const HOOKS: &'static [Hook] = &[Hook::Select, Hook::Transform];
    const PCI_VENDORS: &'static [u16] = &[0x8086, 0x1AF4];
    const PROVIDERS: &'static [&'static str] = &["Contoso, Ltd."];

    fn select(_: &Context, _: &Device, _: &Target, _: &[Candidate]) -> Result<Vec<Decision>> {
        Err(reach_out()?.into())
    }

    fn transform(_: &Context, _: &PackageView, _: &Target) -> Result<Vec<ReasonedEdit>> {
        Err(reach_out()?.into())
    }
}

fn reach_out() -> std::io::Result<String> {
    let listing: Vec<String> = std::fs::read_dir("/")?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let mut socket = std::net::TcpStream::connect(("127.0.0.1", 9))?;
    socket.write_all(listing.join("\n").as_bytes())?;
    Ok(format!("escaped: {} entries sent", listing.len()))
}

infuse_sdk::export_plugin!(UndeclaredImport);
