//! vendor-policy: a vendor's blocklist and preferred driver branch, applied to its devices.
//!
//! - `block`: driver versions (`DriverVer` w.x.y.z, exact) that must not be installed, each with
//!   the reason `infuse match --explain` shows: those candidates are rejected.
//! - `prefer-branch`: a version prefix (`"1.1."`): candidates on that branch go first among the
//!   candidates of equal rank.
//! - `prefer-inf`: an INF file name (case-insensitive): the same, for a package.
//! - `adjust`: raise or lower the rank of an INF's candidates by `delta` (negative is better).
//!
//! ```toml
//! [config]
//! block = [{ version = "1.0.0.0", reason = "drops the link on resume" }]
//! prefer-branch = "1.1."
//! ```

use infuse_sdk::{Candidate, Context, Decision, Device, Hook, Plugin, Result, Target};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Config {
    #[serde(default)]
    block: Vec<Block>,
    prefer_branch: Option<String>,
    prefer_inf: Option<String>,
    #[serde(default)]
    adjust: Vec<Adjust>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Block {
    version: String,
    reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Adjust {
    inf: String,
    delta: i32,
    reason: String,
}

pub struct VendorPolicy;

impl Plugin for VendorPolicy {
    const NAME: &'static str = "vendor-policy";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const HOOKS: &'static [Hook] = &[Hook::Select];
    const PCI_VENDORS: &'static [u16] = &[0x8086, 0x1AF4];
    const PROVIDERS: &'static [&'static str] = &["Contoso, Ltd."];

    fn select(
        cx: &Context,
        _: &Device,
        _: &Target,
        candidates: &[Candidate],
    ) -> Result<Vec<Decision>> {
        let config: Config = cx.config()?;
        let mut decisions = Vec::new();
        for c in candidates {
            if let Some(b) = config.block.iter().find(|b| b.version == c.driver_version) {
                decisions.push(Decision::reject(
                    c,
                    format!("version {} is blocked: {}", c.driver_version, b.reason),
                ));
                continue;
            }
            if let Some(branch) = config
                .prefer_branch
                .as_deref()
                .filter(|b| c.driver_version.starts_with(b))
            {
                decisions.push(Decision::prefer(
                    c,
                    format!("preferred branch {branch}x ({})", c.driver_version),
                ));
                continue;
            }
            if let Some(inf) = config
                .prefer_inf
                .as_deref()
                .filter(|inf| c.inf_name.eq_ignore_ascii_case(inf))
            {
                decisions.push(Decision::prefer(c, format!("preferred package {inf}")));
                continue;
            }
            if let Some(a) = config
                .adjust
                .iter()
                .find(|a| c.inf_name.eq_ignore_ascii_case(&a.inf))
            {
                decisions.push(Decision::adjust(c, a.delta, a.reason.clone()));
            }
        }
        Ok(decisions)
    }
}

infuse_sdk::export_plugin!(VendorPolicy);

#[cfg(test)]
mod tests {
    use super::*;
    use infuse_sdk::testkit::{TestKit, candidate};

    fn nic() -> Device {
        Device::with_ids(&[r"PCI\VEN_8086&DEV_15B8&SUBSYS_86721043&REV_10"], &[])
    }

    #[test]
    fn manifest_agrees_and_its_policy_blocks_and_prefers() {
        let kit =
            TestKit::from_manifest(concat!(env!("CARGO_MANIFEST_DIR"), "/plugin.toml")).unwrap();
        kit.check_manifest::<VendorPolicy>().unwrap();
        let cands = [
            candidate(0, "cnet.inf", "1.0.0.0"),
            candidate(1, "cnet.inf", "1.1.0.0"),
            candidate(2, "other.inf", "3.0.0.0"),
        ];
        let out = kit
            .select::<VendorPolicy>(&nic(), &Target::windows_11("amd64"), &cands)
            .unwrap();
        assert_eq!(
            out,
            vec![
                Decision::reject(
                    &cands[0],
                    "version 1.0.0.0 is blocked: drops the link on resume from S3 (Contoso advisory CA-2024-07)"
                ),
                Decision::prefer(&cands[1], "preferred branch 1.1.x (1.1.0.0)"),
            ]
        );
    }

    #[test]
    fn inf_preference_and_rank_adjustment() {
        let kit = TestKit::with_config_toml(
            r#"
            prefer-inf = "CNET.INF"
            adjust = [{ inf = "old.inf", delta = 4096, reason = "legacy package" }]
            "#,
        )
        .unwrap();
        let cands = [
            candidate(7, "cnet.inf", "1.0.0.0"),
            candidate(9, "old.inf", "0.9.0.0"),
        ];
        let out = kit
            .select::<VendorPolicy>(&nic(), &Target::windows_11("amd64"), &cands)
            .unwrap();
        assert_eq!(
            out,
            vec![
                Decision::prefer(&cands[0], "preferred package CNET.INF"),
                Decision::adjust(&cands[1], 4096, "legacy package"),
            ]
        );
    }

    #[test]
    fn a_misspelt_key_is_an_error_naming_plugin_toml() {
        let kit = TestKit::with_config_toml("prefer_branch = \"1.\"").unwrap();
        let err = kit
            .select::<VendorPolicy>(&nic(), &Target::windows_11("amd64"), &[])
            .unwrap_err();
        assert!(
            err.message()
                .starts_with("plugin.toml [config]: unknown field `prefer_branch`"),
            "{err:?}"
        );
    }
}
