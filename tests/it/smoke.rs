use infuse_tests::infuse;

#[test]
fn binary_reports_its_version() {
    let out = infuse().arg("--version").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("infuse "));
}
