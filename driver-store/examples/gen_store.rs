//! Writes a synthetic driver-package tree for store benchmarks: `PACKAGES` folders, each with one
//! INF of `ENTRIES` Models lines (a hardware ID with SUBSYS/REV and a compatible ID each), a
//! payload `.sys`, a catalog and a utility DLL shared by every package (deduplicated by the store).
//!
//! `cargo run --release -p infuse-driver-store --example gen_store -- OUT [PACKAGES] [ENTRIES]`
//! (defaults 2000 × 300 = 1,200,000 IDs). Deterministic: the same arguments give the same bytes.
//! Prints the number of IDs and one ID of the last package (for a query benchmark) on stdout.

use std::fmt::Write as _;
use std::path::PathBuf;

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) as u32
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(
        args.next()
            .ok_or("usage: gen_store OUT [PACKAGES] [ENTRIES]")?,
    );
    let packages: usize = args.next().map_or(Ok(2000), |s| s.parse())?;
    let entries: usize = args.next().map_or(Ok(300), |s| s.parse())?;
    let mut rng = Lcg(0x1AF4_1004);
    let mut ids = 0usize;
    let mut sample = String::new();
    for p in 0..packages {
        let dir = out.join(format!("pkg{p:05}"));
        std::fs::create_dir_all(dir.join("amd64"))?;
        let mut inf = String::with_capacity(entries * 120 + 2048);
        let date = format!("{:02}/{:02}/{}", 1 + p % 12, 1 + p % 28, 2015 + p % 10);
        write!(
            inf,
            "[Version]\r\nSignature=\"$WINDOWS NT$\"\r\nClass=Net\r\n\
             ClassGuid={{4d36e972-e325-11ce-bfc1-08002be10318}}\r\nProvider=%Mfg%\r\n\
             DriverVer={date},{}.{}.0.0\r\nCatalogFile=synth{p}.cat\r\n\r\n\
             [SourceDisksNames]\r\n1=%Disk%,,,\\amd64\r\n[SourceDisksFiles]\r\nsynth{p}.sys=1\r\nshared.dll=1\r\n\
             [DestinationDirs]\r\nDefaultDestDir=13\r\n\r\n\
             [Manufacturer]\r\n%Mfg%=Synth,NTamd64,NTamd64.10.0...19041\r\n\r\n[Synth.NTamd64]\r\n",
            1 + p % 30,
            p % 100
        )?;
        for e in 0..entries {
            let (ven, dev) = (rng.next() & 0xFFFF, rng.next() & 0xFFFF);
            let (subsys, rev) = (rng.next(), rng.next() & 0xFF);
            let bus = match e % 10 {
                0 => format!("USB\\VID_{ven:04X}&PID_{dev:04X}&REV_{rev:04X}"),
                1 => format!("HDAUDIO\\FUNC_01&VEN_{ven:04X}&DEV_{dev:04X}&SUBSYS_{subsys:08X}"),
                _ => format!("PCI\\VEN_{ven:04X}&DEV_{dev:04X}&SUBSYS_{subsys:08X}&REV_{rev:02X}"),
            };
            let compat = match e % 10 {
                0 => format!("USB\\VID_{ven:04X}&PID_{dev:04X}"),
                1 => format!("HDAUDIO\\FUNC_01&VEN_{ven:04X}&DEV_{dev:04X}"),
                _ => format!("PCI\\VEN_{ven:04X}&DEV_{dev:04X}"),
            };
            write!(inf, "%Desc%=Synth_Inst,{bus},{compat}\r\n")?;
            ids += 2;
            sample = bus;
        }
        write!(
            inf,
            "\r\n[Synth.NTamd64.10.0...19041]\r\n%Desc%=Synth_Inst,{sample}\r\n\r\n\
             [Synth_Inst.NT]\r\nFeatureScore=0x{:02X}\r\nCopyFiles=Synth_Files\r\n\
             [Synth_Files]\r\nsynth{p}.sys\r\nshared.dll\r\n\
             [Synth_Inst.NT.Services]\r\nAddService=synth{p},2,Synth_Svc\r\n\
             [Synth_Svc]\r\nServiceType=1\r\nStartType=3\r\nErrorControl=1\r\nServiceBinary=%13%\\synth{p}.sys\r\n\r\n\
             [Strings]\r\nMfg=\"Synthetic Devices {p}\"\r\nDisk=\"Synthetic disk\"\r\nDesc=\"Synthetic device\"\r\n",
            p % 256
        )?;
        std::fs::write(dir.join(format!("synth{p}.inf")), inf)?;
        std::fs::write(dir.join(format!("synth{p}.cat")), format!("catalog {p}\n"))?;
        std::fs::write(
            dir.join(format!("amd64/synth{p}.sys")),
            format!("driver {p}\n").repeat(64),
        )?;
        std::fs::write(
            dir.join("amd64/shared.dll"),
            b"shared utility library\n".repeat(256),
        )?;
    }
    println!("{ids} IDs in {packages} packages; sample ID: {sample}");
    Ok(())
}
