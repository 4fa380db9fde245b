//! `Image::open` on images laid out by [`super::build`].

use infuse_driver_store::inf::model::Arch;

use super::build::{ImageBuilder, Release};
use super::*;
use crate::hive::Hive;

fn built(release: Release, b: impl FnOnce(ImageBuilder) -> ImageBuilder) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    b(ImageBuilder::new(release))
        .build(dir.path())
        .expect("builds");
    dir
}

#[test]
fn reads_a_windows_11_image() {
    let dir = built(Release::Win11, |b| b.sample_inbox());
    let img = Image::open(dir.path()).expect("opens");
    let i = img.info();
    assert_eq!(
        (i.version.major, i.version.minor, i.version.build),
        (10, 0, Some(22631))
    );
    assert_eq!(i.arch, Arch::Amd64);
    assert!(matches!(
        i.arch_source,
        ArchSource::Kernel {
            machine: 0x8664,
            ..
        }
    ));
    assert_eq!(i.current_control_set, "ControlSet001");
    assert_eq!(i.driver_database, DriverDbLayout::DriversHive);
    assert!(i.system_has_driver_database);
    assert_eq!(i.product_type.number, 1);
    assert_eq!(i.edition_id.as_deref(), Some("Professional"));
    assert_eq!(img.target(), Target::new(10, 0, 22631, Arch::Amd64));
    assert!(i.notes.is_empty(), "{:?}", i.notes);
}

#[test]
fn windows_and_hives_are_found_whatever_their_case() {
    let dir = built(Release::Win10, |b| b);
    let root = dir.path();
    std::fs::rename(root.join("Windows"), root.join("WINDOWS")).expect("rename");
    std::fs::rename(root.join("WINDOWS/System32"), root.join("WINDOWS/system32")).expect("rename");
    std::fs::rename(
        root.join("WINDOWS/system32/config/SOFTWARE"),
        root.join("WINDOWS/system32/config/software"),
    )
    .expect("rename");
    let img = Image::open(root).expect("opens");
    assert_eq!(
        img.info().software_hive,
        root.join("WINDOWS/system32/config/software")
    );
    assert_eq!(img.info().version.build, Some(19045));
}

#[test]
fn layouts_by_release() {
    // §1.4: Windows 7 has no DriverDatabase, 8.1 has it in SYSTEM, 10+ in the DRIVERS hive.
    for (release, layout, major, minor) in [
        (Release::Win7, DriverDbLayout::Legacy, 6, 1),
        (Release::Win81, DriverDbLayout::SystemHive, 6, 3),
        (Release::Server2022, DriverDbLayout::DriversHive, 10, 0),
    ] {
        let dir = built(release, |b| b);
        let img = Image::open(dir.path()).expect("opens");
        assert_eq!(img.info().driver_database, layout, "{release:?}");
        assert_eq!(
            (img.info().version.major, img.info().version.minor),
            (major, minor)
        );
    }
    let dir = built(Release::Server2022, |b| b);
    let t = Image::open(dir.path()).expect("opens").target();
    // §1.6: ServerNT → VER_NT_SERVER (3).
    assert_eq!((t.product_type, t.build), (3, 20348));
}

#[test]
fn architecture_from_the_hive_when_there_is_no_kernel() {
    let dir = built(Release::Win10, |b| b.arch(Arch::Arm64).kernel(false));
    let img = Image::open(dir.path()).expect("opens");
    assert_eq!(img.info().arch, Arch::Arm64);
    assert_eq!(
        img.info().arch_source,
        ArchSource::Hive {
            value: "ARM64".into()
        }
    );
    let dir = built(Release::Win10, |b| b.arch(Arch::X86).env_arch(false));
    assert_eq!(
        Image::open(dir.path()).expect("opens").info().arch,
        Arch::X86
    );
    let dir = built(Release::Win10, |b| b.kernel(false).env_arch(false));
    let err = Image::open(dir.path()).expect_err("no arch").to_string();
    assert!(
        err.contains("ntoskrnl.exe is missing") && err.contains("PROCESSOR_ARCHITECTURE"),
        "{err}"
    );
}

#[test]
fn a_kernel_that_is_not_pe_is_an_error_naming_it() {
    let dir = built(Release::Win10, |b| b);
    std::fs::write(
        dir.path().join("Windows/System32/ntoskrnl.exe"),
        b"not a PE",
    )
    .expect("write");
    let err = Image::open(dir.path()).expect_err("bad kernel").to_string();
    assert!(err.contains("ntoskrnl.exe: not a PE file"), "{err}");
}

#[test]
fn missing_pieces_are_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = Image::open(dir.path()).expect_err("no Windows").to_string();
    assert!(err.contains("no `Windows` folder"), "{err}");
    let dir = built(Release::Win10, |b| b);
    std::fs::remove_file(dir.path().join("Windows/System32/config/SYSTEM")).expect("rm");
    let err = Image::open(dir.path()).expect_err("no SYSTEM").to_string();
    assert!(err.contains("SYSTEM hive is missing"), "{err}");
}

#[test]
fn control_set_and_version_fallbacks() {
    let dir = built(Release::Win10, |b| b);
    let config = dir.path().join("Windows/System32/config");
    // Select\Current = 2 names ControlSet002, which does not exist.
    let sys = Hive::open(config.join("SYSTEM")).expect("open");
    let mut e = sys.edit().expect("edit");
    e.set_dword("Select", "Current", 2).expect("set");
    e.commit(config.join("SYSTEM")).expect("commit");
    let err = Image::open(dir.path())
        .expect_err("no ControlSet002")
        .to_string();
    assert!(
        err.contains("no `ControlSet002` key") && err.contains("SYSTEM"),
        "{err}"
    );
    // Windows 7 style SOFTWARE: CurrentVersion "6.1", no build (the phony win7-32 hive).
    let sw = Hive::new_empty("ROOT").expect("new");
    let mut e = sw.edit().expect("edit");
    e.set_string(CURRENT_VERSION_KEY, "CurrentVersion", "6.1")
        .expect("set");
    e.commit(config.join("SOFTWARE")).expect("commit");
    let sys = Hive::open(config.join("SYSTEM")).expect("open");
    let mut e = sys.edit().expect("edit");
    e.set_dword("Select", "Current", 1).expect("set");
    e.delete_key(r"ControlSet001\Control\ProductOptions")
        .expect("delete");
    e.commit(config.join("SYSTEM")).expect("commit");
    let img = Image::open(dir.path()).expect("opens");
    assert_eq!(
        img.info().version,
        WindowsVersion {
            major: 6,
            minor: 1,
            build: None,
            ubr: None
        }
    );
    assert_eq!(img.info().notes.len(), 2, "{:?}", img.info().notes);
    assert_eq!(img.target().build, 0);
}
