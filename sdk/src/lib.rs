//! infuse-sdk: write an infuse vendor plugin in Rust.
//!
//! A plugin is a WebAssembly component (`wasm32-wasip2`) that infuse runs sandboxed, once per
//! call, to let a hardware vendor veto or prefer driver candidates (`select`) and edit a driver
//! package before it is injected (`transform`). The contract is the WIT package
//! `infuse:plugin@0.1.0` in `sdk/wit/plugin.wit`; this crate wraps the bindings `wit-bindgen`
//! generates from it so that a plugin is a type implementing [`Plugin`] plus one
//! [`export_plugin!`] line:
//!
//! ```
//! use infuse_sdk::{Candidate, Context, Decision, Device, Hook, Plugin, Result, Target};
//!
//! struct BlockOld;
//!
//! impl Plugin for BlockOld {
//!     const NAME: &'static str = "block-old";
//!     const VERSION: &'static str = "0.1.0";
//!     const HOOKS: &'static [Hook] = &[Hook::Select];
//!     const PCI_VENDORS: &'static [u16] = &[0x8086];
//!
//!     fn select(_: &Context, _: &Device, _: &Target, candidates: &[Candidate]) -> Result<Vec<Decision>> {
//!         Ok(candidates
//!             .iter()
//!             .filter(|c| c.driver_version.starts_with("1."))
//!             .map(|c| Decision::reject(c, "1.x drivers hang on resume"))
//!             .collect())
//!     }
//! }
//!
//! infuse_sdk::export_plugin!(BlockOld);
//! ```
//!
//! Why it is shaped this way:
//! - The WIT types are used as they are generated (records are plain structs with public
//!   fields, variants are enums), re-exported at the crate root with constructors added
//!   ([`Decision::reject`], [`ReasonedEdit::drop_file`], …): one set of types, no conversions.
//! - The trait's functions take no `self`: every call runs in a fresh instance and no state
//!   survives between calls, so there is nothing to keep. Configuration (the `[config]` table
//!   of `plugin.toml`) and the host's services come through the [`Context`].
//! - The [`Context`] hides where files and logs go: inside the component they are the host
//!   imports, in the test kit (feature `testkit`) a directory on disk and a vector of lines.
//!   So the same plugin code runs natively in a vendor's `cargo test`.
//! - INF text is parsed with infuse's own parser ([`inf`], from `infuse-driver-store` without
//!   its IO), so a plugin sees an INF exactly as infuse and Windows' SetupAPI do.
//! - Features: `guest` (default) is all of the above; `manifest` is the `plugin.toml` reader
//!   alone, which the host builds without `guest`, so that infuse and the test kit read the file
//!   with one reader; `testkit` is both plus the native test kit.

#![warn(clippy::print_stdout, clippy::print_stderr)]

// The generated export macro names the SDK by its crate name, also from inside the SDK.
extern crate self as infuse_sdk;

#[cfg(feature = "guest")]
mod context;
#[cfg(feature = "guest")]
mod types;

#[cfg(feature = "manifest")]
pub mod manifest;
#[cfg(feature = "testkit")]
pub mod testkit;

#[cfg(feature = "guest")]
pub use context::{Context, Host};
#[cfg(feature = "guest")]
pub use types::{Error, Result};

/// INF parsing: infuse-driver-store's IO-free parser and semantic model.
pub use infuse_driver_store::inf;

/// The contract version this SDK implements (the WIT package version).
pub const API_VERSION: &str = "0.1.0";

/// The bindings generated from `wit/plugin.wit`. Plugins use the re-exports at the crate root;
/// this module is public for the [`export_plugin!`] macro.
#[cfg(feature = "guest")]
#[doc(hidden)]
#[allow(unreachable_pub, clippy::all, missing_docs)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "wit",
        world: "vendor-plugin",
        additional_derives: [PartialEq, serde::Serialize, serde::Deserialize],
        pub_export_macro: true,
        export_macro_name: "__export_vendor_plugin",
        default_bindings_module: "::infuse_sdk::bindings",
        runtime_path: "::infuse_sdk::__wit_bindgen_rt",
    });
}

#[cfg(feature = "guest")]
#[doc(hidden)]
pub use wit_bindgen::rt as __wit_bindgen_rt;

#[cfg(feature = "guest")]
pub use bindings::infuse::plugin::types::{
    Candidate, Decision, Device, Edit, HardwareIdAlias, Hook, LogLevel, PackageFile, PackageView,
    PluginInfo, RankAdjust, ReasonedEdit, RegistryData, RegistryValue, SectionLines, Target,
    Vendors, Verdict,
};

#[cfg(feature = "guest")]
/// A vendor plugin. Implement the constants and the hooks you list in [`Plugin::HOOKS`]; the
/// other functions have defaults that change nothing. Then export the type with
/// [`export_plugin!`].
pub trait Plugin {
    /// The plugin's name, equal to `name` in `plugin.toml` (lower-case letters, digits, `-`).
    const NAME: &'static str;
    /// The plugin's version, equal to `version` in `plugin.toml`.
    const VERSION: &'static str;
    /// The hooks the host calls, equal to `hooks` in `plugin.toml`.
    const HOOKS: &'static [Hook];
    /// PCI vendor IDs whose devices and packages are routed to the plugin (`VEN_xxxx`).
    const PCI_VENDORS: &'static [u16] = &[];
    /// USB vendor IDs (`VID_xxxx`).
    const USB_VENDORS: &'static [u16] = &[];
    /// INF `[Version] Provider` names (resolved, compared case-insensitively).
    const PROVIDERS: &'static [&'static str] = &[];

    /// Who the plugin is: by default built from the constants above.
    fn describe() -> PluginInfo {
        PluginInfo {
            name: Self::NAME.to_owned(),
            version: Self::VERSION.to_owned(),
            api_version: API_VERSION.to_owned(),
            vendors: Vendors {
                pci: Self::PCI_VENDORS.to_vec(),
                usb: Self::USB_VENDORS.to_vec(),
                providers: Self::PROVIDERS.iter().map(|p| (*p).to_owned()).collect(),
            },
            hooks: Self::HOOKS.to_vec(),
        }
    }

    /// Decide about the candidates for one device (all of them, best first). Return decisions
    /// only for the candidates you have an opinion about; the others are kept. By default:
    /// keep all.
    fn select(
        cx: &Context,
        device: &Device,
        target: &Target,
        candidates: &[Candidate],
    ) -> Result<Vec<Decision>> {
        let _ = (cx, device, target, candidates);
        Ok(Vec::new())
    }

    /// Edits to a package before it is injected. By default: none.
    fn transform(
        cx: &Context,
        package: &PackageView,
        target: &Target,
    ) -> Result<Vec<ReasonedEdit>> {
        let _ = (cx, package, target);
        Ok(Vec::new())
    }
}

#[cfg(feature = "guest")]
/// Export a [`Plugin`] as the component's implementation of the contract. Use it once, at the
/// crate root of a `cdylib` crate.
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        const _: () = {
            struct __InfusePluginExport;

            impl $crate::bindings::exports::infuse::plugin::plugin::Guest for __InfusePluginExport {
                fn describe() -> $crate::PluginInfo {
                    <$plugin as $crate::Plugin>::describe()
                }

                fn select(
                    config: ::std::string::String,
                    device: $crate::Device,
                    target: $crate::Target,
                    candidates: ::std::vec::Vec<$crate::Candidate>,
                ) -> ::std::result::Result<::std::vec::Vec<$crate::Decision>, ::std::string::String>
                {
                    $crate::__guest::select::<$plugin>(config, device, target, candidates)
                }

                fn transform(
                    config: ::std::string::String,
                    package: $crate::PackageView,
                    target: $crate::Target,
                ) -> ::std::result::Result<
                    ::std::vec::Vec<$crate::ReasonedEdit>,
                    ::std::string::String,
                > {
                    $crate::__guest::transform::<$plugin>(config, package, target)
                }
            }

            $crate::bindings::__export_vendor_plugin!(__InfusePluginExport with_types_in $crate::bindings);
        };
    };
}

#[cfg(feature = "guest")]
/// The glue between the generated exports and a [`Plugin`]: the component's host imports as
/// the [`Context`]'s [`Host`].
#[doc(hidden)]
pub mod __guest {
    use crate::bindings::infuse::plugin::host;
    use crate::{
        Candidate, Context, Decision, Device, Host, LogLevel, PackageView, Plugin, ReasonedEdit,
        Target,
    };

    /// The host imports of the component.
    struct Imports;

    impl Host for Imports {
        fn log(&self, level: LogLevel, message: &str) {
            host::log(level, message);
        }

        fn read_package_file(&self, path: &str) -> Result<Vec<u8>, String> {
            host::read_package_file(path)
        }
    }

    pub fn select<P: Plugin>(
        config: String,
        device: Device,
        target: Target,
        candidates: Vec<Candidate>,
    ) -> Result<Vec<Decision>, String> {
        let cx = Context::new(&config, &Imports);
        P::select(&cx, &device, &target, &candidates).map_err(crate::Error::into_message)
    }

    pub fn transform<P: Plugin>(
        config: String,
        package: PackageView,
        target: Target,
    ) -> Result<Vec<ReasonedEdit>, String> {
        let cx = Context::new(&config, &Imports);
        P::transform(&cx, &package, &target).map_err(crate::Error::into_message)
    }
}
