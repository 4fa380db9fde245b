//! wasmtime: the engine, loading (hash, cache, import allowlist, describe), and one sandboxed
//! store per call.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, ResourceLimiter,
    Store, Trap,
};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use super::cache::{self, CacheDir};
use super::manifest::Manifest;
use super::validate::{self, PackageInput};
use super::{
    Decision, Edit, Hook, PluginError, PluginInfo, ReasonedEdit, RegistryData, RegistryValue,
    Vendors, Verdict,
};

mod wit {
    wasmtime::component::bindgen!({
        path: "../sdk/wit",
        world: "vendor-plugin",
    });
}

use wit::infuse::plugin::types as wt;

/// How often the ticker thread advances the engine's epoch.
const TICK: Duration = Duration::from_millis(10);
/// Bytes of plugin stdout/stderr kept per call; what is written beyond it is refused.
const OUTPUT_CAPACITY: usize = 64 * 1024;
/// Bytes of that output an error report shows.
const TAIL_BYTES: usize = 2048;
/// Log lines a plugin may write per call, and their length.
const MAX_LOG_LINES: u32 = 1000;
const MAX_LOG_LINE: usize = 4096;
/// Bytes a plugin may read through `read-package-file` per call.
const MAX_READ_BYTES: u64 = 256 << 20;

/// Component instances the pool holds at once. Calls on one host run one at a time (each call's
/// store is dropped before it returns), so a handful leaves room for concurrent callers.
const POOL_INSTANCES: u32 = 8;
/// Per component instance, as [`Limiter`] allows.
const MAX_CORE_INSTANCES: u32 = 16;
const MAX_MEMORIES: u32 = 4;
const MAX_TABLES: u32 = 16;
const MAX_TABLE_ELEMENTS: usize = 100_000;
/// Bytes of a released memory slot reset in place (only its dirty pages, found with Linux's
/// `PAGEMAP_SCAN`, kernel 6.7 and later) instead of dropped with `madvise` and faulted in again
/// on the next call: covers a Rust guest's 1 MiB stack, data and a small heap. Without
/// `PAGEMAP_SCAN` wasmtime would `memset` all of it on every release, so then none is kept.
const KEEP_RESIDENT: usize = 4 << 20;

/// The interfaces a plugin may import (name before `@`, then the accepted version prefix).
/// Everything a wasip2 Rust guest links for stdio, exit, environment, clocks and random; nothing
/// that reaches a file, a socket or the network.
const ALLOWED_IMPORTS: &[(&str, &str)] = &[
    ("infuse:plugin/host", "0.1."),
    ("infuse:plugin/types", "0.1."),
    ("wasi:io/error", "0.2."),
    ("wasi:io/poll", "0.2."),
    ("wasi:io/streams", "0.2."),
    ("wasi:cli/environment", "0.2."),
    ("wasi:cli/exit", "0.2."),
    ("wasi:cli/stdin", "0.2."),
    ("wasi:cli/stdout", "0.2."),
    ("wasi:cli/stderr", "0.2."),
    ("wasi:cli/terminal-input", "0.2."),
    ("wasi:cli/terminal-output", "0.2."),
    ("wasi:cli/terminal-stdin", "0.2."),
    ("wasi:cli/terminal-stdout", "0.2."),
    ("wasi:cli/terminal-stderr", "0.2."),
    ("wasi:clocks/monotonic-clock", "0.2."),
    ("wasi:clocks/wall-clock", "0.2."),
    ("wasi:random/random", "0.2."),
    ("wasi:random/insecure", "0.2."),
    ("wasi:random/insecure-seed", "0.2."),
];

/// Whether an import name (`wasi:io/streams@0.2.6`) is on the allowlist.
pub(crate) fn import_allowed(name: &str) -> bool {
    let (iface, version) = name.split_once('@').unwrap_or((name, ""));
    ALLOWED_IMPORTS
        .iter()
        .any(|(i, v)| *i == iface && version.starts_with(v))
}

/// The engine, the linker every plugin is instantiated with, and the compiled-component cache.
pub struct PluginHost {
    engine: Engine,
    linker: Linker<State>,
    cache: CacheDir,
    engine_hash: String,
}

/// A loaded plugin: checked manifest, `describe()` answer, and a pre-instantiated component.
pub struct Plugin {
    pub manifest: Manifest,
    pub info: PluginInfo,
    /// The component was compiled by this load (not found in the cache).
    pub compiled: bool,
    /// The component's imports, all on the allowlist.
    pub imports: Vec<String>,
    engine: Engine,
    pre: wit::VendorPluginPre<State>,
    name: Arc<str>,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("name", &self.name)
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl PluginHost {
    /// A host with its engine (fuel, epochs) and ticker thread.
    pub fn new(cache: CacheDir) -> Result<PluginHost, PluginError> {
        let mut config = Config::new();
        config.consume_fuel(true);
        config.epoch_interruption(true);
        config.max_wasm_stack(1 << 20);
        // Each call still gets a fresh store and instance; the pool only keeps their memory and
        // table slots mapped between calls (reset on release) instead of an mmap, page faults
        // and munmap per call, which were most of a small `select` call's cost (BENCHMARKS.md).
        // The pool's memory slots are as large as the largest cap a manifest may ask for, so
        // `Limiter` (the manifest's cap) is always what refuses a growth.
        let mut pool = PoolingAllocationConfig::new();
        pool.total_component_instances(POOL_INSTANCES)
            .max_core_instances_per_component(MAX_CORE_INSTANCES)
            .max_memories_per_component(MAX_MEMORIES)
            .max_tables_per_component(MAX_TABLES)
            .total_core_instances(POOL_INSTANCES * MAX_CORE_INSTANCES)
            .total_memories(POOL_INSTANCES * MAX_MEMORIES)
            .total_tables(POOL_INSTANCES * MAX_TABLES)
            .table_elements(MAX_TABLE_ELEMENTS)
            .max_memory_size(super::manifest::MAX_MEMORY_BYTES as usize)
            .pagemap_scan(Enabled::Auto);
        if PoolingAllocationConfig::is_pagemap_scan_available() {
            pool.linear_memory_keep_resident(KEEP_RESIDENT)
                .table_keep_resident(MAX_TABLE_ELEMENTS * 8);
        }
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&config).map_err(|e| engine_error("", e))?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(|e| engine_error("", e))?;
        wit::VendorPlugin::add_to_linker::<State, HasSelf<State>>(&mut linker, |s| s)
            .map_err(|e| engine_error("", e))?;
        let engine_hash = {
            let mut h = ShaHasher(Sha256::new());
            std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut h);
            hex::encode(&h.0.finalize()[..12])
        };
        start_ticker(&engine);
        Ok(PluginHost {
            engine,
            linker,
            cache,
            engine_hash,
        })
    }

    /// Loads the plugin in `dir`: manifest, hash, compile or cache, import allowlist, describe.
    pub fn load(&self, dir: &Path) -> Result<Plugin, PluginError> {
        let manifest = Manifest::load(dir)?;
        let name: Arc<str> = Arc::from(manifest.name.as_str());
        let bytes = fs_err::read(&manifest.component).map_err(|source| PluginError::Io {
            path: manifest.component.clone(),
            source,
        })?;
        let sha = hex::encode(Sha256::digest(&bytes));
        if manifest.sha256.is_empty() {
            return Err(PluginError::Manifest {
                path: manifest.path.clone(),
                why: format!(
                    "sha256: missing; the host runs only the component its manifest names by hash\nhint: {} hashes to {sha}: set `sha256 = \"{sha}\"` if that is the component you mean to ship",
                    manifest.component.display()
                ),
            });
        }
        if sha != manifest.sha256 {
            return Err(PluginError::Manifest {
                path: manifest.path.clone(),
                why: format!(
                    "sha256: plugin.toml says {}, but {} hashes to {sha}",
                    manifest.sha256,
                    manifest.component.display()
                ),
            });
        }
        let (component, compiled) = self.component(&name, &sha, &bytes)?;
        // Deny by default, before anything is instantiated.
        let ty = component.component_type();
        let mut imports = Vec::new();
        for (import, _) in ty.imports(&self.engine) {
            if !import_allowed(import) {
                return Err(PluginError::RefusedImport {
                    plugin: name.to_string(),
                    name: import.to_owned(),
                });
            }
            imports.push(import.to_owned());
        }
        let exports: Vec<String> = ty
            .exports(&self.engine)
            .map(|(n, _)| n.to_owned())
            .collect();
        if !exports
            .iter()
            .any(|e| e.starts_with("infuse:plugin/plugin@0.1."))
        {
            return Err(PluginError::Contract {
                plugin: name.to_string(),
                why: format!(
                    "it exports {exports:?}, not infuse:plugin/plugin@0.1.x\nhint: build it for wasm32-wasip2 with the infuse-sdk (world vendor-plugin)"
                ),
            });
        }
        let pre = self
            .linker
            .instantiate_pre(&component)
            .and_then(wit::VendorPluginPre::new)
            .map_err(|e| PluginError::Contract {
                plugin: name.to_string(),
                why: format!("{e:#}"),
            })?;
        let mut plugin = Plugin {
            info: PluginInfo {
                name: String::new(),
                version: String::new(),
                api_version: String::new(),
                vendors: Vendors::default(),
                hooks: Vec::new(),
            },
            manifest,
            compiled,
            imports,
            engine: self.engine.clone(),
            pre,
            name,
        };
        let info = plugin.describe()?;
        plugin
            .manifest
            .check_describe(&info)
            .map_err(|why| PluginError::Manifest {
                path: plugin.manifest.path.clone(),
                why: format!("describe() disagrees with the manifest: {why}"),
            })?;
        plugin.info = info;
        Ok(plugin)
    }

    /// The compiled component, from the cache when a trusted entry exists.
    fn component(
        &self,
        name: &str,
        sha: &str,
        bytes: &[u8],
    ) -> Result<(Component, bool), PluginError> {
        let entry = self.cache.entry(sha, &self.engine_hash);
        if let Some(path) = &entry {
            let dir = path.parent().unwrap_or(Path::new("."));
            if cache::trusted(dir, path) {
                // SAFETY: the entry sits in a directory owned by this user and writable by no
                // one else, under a name only `write_entry` below produces, from
                // `precompile_component` output (module docs of `cache`). wasmtime refuses
                // entries of another version or configuration.
                match unsafe { Component::deserialize_file(&self.engine, path) } {
                    Ok(c) => return Ok((c, false)),
                    Err(e) => tracing::warn!(
                        "plugin cache entry {} unusable, recompiling: {e}",
                        path.display()
                    ),
                }
            }
        }
        let started = Instant::now();
        let compiled =
            self.engine
                .precompile_component(bytes)
                .map_err(|e| PluginError::Contract {
                    plugin: name.to_owned(),
                    why: format!("not a valid component: {e:#}"),
                })?;
        tracing::debug!(plugin = name, "compiled in {:?}", started.elapsed());
        if let Some(path) = &entry
            && let Err(e) = cache::write_entry(path, &compiled)
        {
            tracing::warn!(
                "cannot cache the compiled plugin at {}: {e}",
                path.display()
            );
        }
        // SAFETY: `compiled` is `precompile_component` output made just above by this engine.
        let component = unsafe { Component::deserialize(&self.engine, &compiled) }
            .map_err(|e| engine_error(name, e))?;
        Ok((component, true))
    }
}

impl Plugin {
    /// The plugin's name (as in its manifest).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the plugin implements `hook`.
    pub fn has(&self, hook: Hook) -> bool {
        self.manifest.hooks.contains(&hook)
    }

    /// Calls `describe`.
    pub fn describe(&self) -> Result<PluginInfo, PluginError> {
        let info = self.call("describe", None, |p, store| {
            p.infuse_plugin_plugin().call_describe(store)
        })?;
        validate::plugin_info(&self.name, from_wit_info(info))
    }

    /// Calls `select` with the device, the target and every candidate (ids are positions in
    /// `candidates`); the decisions are validated.
    pub fn select(
        &self,
        device: &crate::hwid::Device,
        target: &crate::rank::Target,
        candidates: &[crate::rank::Candidate],
    ) -> Result<Vec<Decision>, PluginError> {
        let device = to_wit_device(device);
        let target = to_wit_target(target);
        let cands: Vec<wt::Candidate> = candidates
            .iter()
            .enumerate()
            .map(|(i, c)| to_wit_candidate(i, c))
            .collect();
        let out = self.call("select", None, |p, store| {
            p.infuse_plugin_plugin().call_select(
                store,
                &self.manifest.config_json,
                &device,
                &target,
                &cands,
            )
        })?;
        let out = out.map_err(|message| PluginError::Failed {
            plugin: self.name.to_string(),
            call: "select",
            message: validate::clip(&message),
        })?;
        let decisions = out.into_iter().map(from_wit_decision).collect();
        validate::decisions(&self.name, decisions, candidates.len())
    }

    /// Calls `transform` for `package`; the edits are validated against it.
    pub fn transform(
        &self,
        package: &PackageInput,
        target: &crate::rank::Target,
    ) -> Result<Vec<ReasonedEdit>, PluginError> {
        let view = wt::PackageView {
            id: package.id.clone(),
            inf_path: package.inf_path.clone(),
            provider: package.provider.clone(),
            class: package.class.clone(),
            driver_date: package.driver_date.clone(),
            driver_version: package.driver_version.clone(),
            files: package
                .files
                .iter()
                .map(|f| wt::PackageFile {
                    path: f.path.clone(),
                    size: f.size,
                })
                .collect(),
        };
        let target = to_wit_target(target);
        let out = self.call("transform", Some(package), |p, store| {
            p.infuse_plugin_plugin().call_transform(
                store,
                &self.manifest.config_json,
                &view,
                &target,
            )
        })?;
        let out = out.map_err(|message| PluginError::Failed {
            plugin: self.name.to_string(),
            call: "transform",
            message: validate::clip(&message),
        })?;
        let edits = out.into_iter().map(from_wit_edit).collect();
        validate::edits(&self.name, edits, package)
    }

    /// One call in a fresh store with every limit set; wasmtime errors become typed errors.
    fn call<R>(
        &self,
        call: &'static str,
        package: Option<&PackageInput>,
        f: impl FnOnce(&wit::VendorPlugin, &mut Store<State>) -> wasmtime::Result<R>,
    ) -> Result<R, PluginError> {
        let limits = self.manifest.limits;
        let output = MemoryOutputPipe::new(OUTPUT_CAPACITY);
        let wasi = WasiCtxBuilder::new()
            .stdout(output.clone())
            .stderr(output.clone())
            .build();
        let state = State {
            wasi,
            table: ResourceTable::new(),
            limiter: Limiter {
                memory_cap: limits.memory_bytes,
                memory_hit: false,
            },
            plugin: self.name.clone(),
            package: package.cloned(),
            read_bytes: 0,
            log_lines: 0,
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limiter);
        let ticks = limits.deadline_ms.div_ceil(TICK.as_millis() as u64).max(1);
        let result = store
            .set_fuel(limits.fuel)
            .map(|()| {
                store.set_epoch_deadline(ticks);
                store.epoch_deadline_trap();
            })
            .and_then(|()| self.pre.instantiate(&mut store))
            .and_then(|instance| f(&instance, &mut store));
        let fuel_used = limits.fuel - store.get_fuel().unwrap_or(0);
        tracing::debug!(plugin = &*self.name, call, fuel_used, "plugin call");
        result.map_err(|e| {
            let name = self.name.to_string();
            if store.data().limiter.memory_hit {
                return PluginError::Memory {
                    plugin: name,
                    call,
                    limit_bytes: limits.memory_bytes,
                };
            }
            match e.downcast_ref::<Trap>() {
                Some(Trap::OutOfFuel) => PluginError::OutOfFuel {
                    plugin: name,
                    call,
                    budget: limits.fuel,
                },
                Some(Trap::Interrupt) => PluginError::Deadline {
                    plugin: name,
                    call,
                    timeout_ms: limits.deadline_ms,
                },
                trap => PluginError::Trap {
                    plugin: name,
                    call,
                    message: match trap {
                        Some(t) => t.to_string(),
                        None => first_line(&e.root_cause().to_string()),
                    },
                    stderr_tail: tail(&output.contents()),
                },
            }
        })
    }
}

fn first_line(s: &str) -> String {
    validate::clip(s.lines().next().unwrap_or(""))
}

/// The last [`TAIL_BYTES`] of a plugin's output, from a line start when possible.
fn tail(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    if text.len() <= TAIL_BYTES {
        return text.into_owned();
    }
    let mut start = text.len() - TAIL_BYTES;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    let cut = &text[start..];
    match cut.find('\n') {
        Some(nl) if nl + 1 < cut.len() => format!("…{}", &cut[nl + 1..]),
        _ => format!("…{cut}"),
    }
}

fn engine_error(plugin: &str, e: wasmtime::Error) -> PluginError {
    PluginError::Engine {
        plugin: plugin.to_owned(),
        why: format!("{e:#}"),
    }
}

/// Advances the engine's epoch every [`TICK`] for as long as the engine lives.
fn start_ticker(engine: &Engine) {
    let weak = engine.weak();
    let spawned = std::thread::Builder::new()
        .name("infuse-plugin-epoch".into())
        .spawn(move || {
            loop {
                std::thread::sleep(TICK);
                match weak.upgrade() {
                    Some(e) => e.increment_epoch(),
                    None => break,
                }
            }
        });
    if let Err(e) = spawned {
        // Fuel still bounds every call; only the wall-clock deadline is lost.
        tracing::warn!("cannot start the plugin deadline ticker: {e}");
    }
}

/// Feeds `Hash` output into sha256 (a stable digest of the engine's compatibility hash).
struct ShaHasher(Sha256);

impl std::hash::Hasher for ShaHasher {
    fn finish(&self) -> u64 {
        0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

/// The per-call store state.
struct State {
    wasi: WasiCtx,
    table: ResourceTable,
    limiter: Limiter,
    plugin: Arc<str>,
    package: Option<PackageInput>,
    read_bytes: u64,
    log_lines: u32,
}

/// Memory cap that remembers it refused a growth (so the error says "memory", not the trap the
/// guest's allocator turns it into).
struct Limiter {
    memory_cap: u64,
    memory_hit: bool,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired as u64 > self.memory_cap {
            self.memory_hit = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }

    fn instances(&self) -> usize {
        16
    }

    fn tables(&self) -> usize {
        16
    }

    fn memories(&self) -> usize {
        4
    }
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl wt::Host for State {}

impl wit::infuse::plugin::host::Host for State {
    fn log(&mut self, level: wt::LogLevel, message: String) {
        self.log_lines += 1;
        if self.log_lines > MAX_LOG_LINES {
            if self.log_lines == MAX_LOG_LINES + 1 {
                tracing::warn!(
                    plugin = &*self.plugin,
                    "log limit reached, dropping the rest"
                );
            }
            return;
        }
        let mut message = message;
        if message.len() > MAX_LOG_LINE {
            let mut cut = MAX_LOG_LINE;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
        }
        let plugin = &*self.plugin;
        match level {
            wt::LogLevel::Trace => tracing::trace!(plugin, "{message}"),
            wt::LogLevel::Debug => tracing::debug!(plugin, "{message}"),
            wt::LogLevel::Info => tracing::info!(plugin, "{message}"),
            wt::LogLevel::Warn => tracing::warn!(plugin, "{message}"),
            wt::LogLevel::Error => tracing::error!(plugin, "{message}"),
        }
    }

    fn read_package_file(&mut self, path: String) -> Result<Vec<u8>, String> {
        let Some(pkg) = &self.package else {
            return Err("read-package-file is only available during transform".to_owned());
        };
        let Some(file) = pkg.file(&path) else {
            return Err(format!("`{path}` is not a file of package {}", pkg.id));
        };
        if self.read_bytes + file.size > MAX_READ_BYTES {
            return Err(format!(
                "reading `{path}` would pass the {MAX_READ_BYTES}-byte read budget of one call"
            ));
        }
        let bytes = file.read().map_err(|e| format!("`{path}`: {e}"))?;
        self.read_bytes += bytes.len() as u64;
        Ok(bytes)
    }
}

fn to_wit_target(t: &crate::rank::Target) -> wt::Target {
    wt::Target {
        major: t.major,
        minor: t.minor,
        build: t.build,
        arch: t.arch.as_str().to_ascii_lowercase(),
        product_type: u8::try_from(t.product_type).unwrap_or(u8::MAX),
        suite_mask: t.suite_mask,
    }
}

fn to_wit_device(d: &crate::hwid::Device) -> wt::Device {
    wt::Device {
        instance_id: d.instance_id.clone(),
        bus: d.bus.as_str().to_ascii_uppercase(),
        hardware_ids: d.hardware_ids.clone(),
        compatible_ids: d.compatible_ids.clone(),
        description: d.description.clone(),
    }
}

fn to_wit_candidate(i: usize, c: &crate::rank::Candidate) -> wt::Candidate {
    let n = &c.node;
    let (date, version) = match n.driver_ver {
        // The WIT's `yyyy-mm-dd` and `w.x.y.z`, written directly (this runs per candidate).
        Some(d) => {
            let [a, b, c, v] = d.version;
            (
                format!("{:04}-{:02}-{:02}", d.year, d.month, d.day),
                format!("{a}.{b}.{c}.{v}"),
            )
        }
        None => (String::new(), String::new()),
    };
    wt::Candidate {
        id: u32::try_from(i).unwrap_or(u32::MAX),
        package: n.package.clone(),
        inf_name: n.inf.clone(),
        provider: n.provider.clone().unwrap_or_default(),
        description: n.description.clone(),
        matched_id: c.matched_id.clone(),
        rank: c.rank.value(),
        driver_date: date,
        driver_version: version,
        install_section: c.install().to_owned(),
    }
}

fn from_wit_info(i: wt::PluginInfo) -> PluginInfo {
    PluginInfo {
        name: i.name,
        version: i.version,
        api_version: i.api_version,
        vendors: Vendors {
            pci: i.vendors.pci,
            usb: i.vendors.usb,
            providers: i.vendors.providers,
        },
        hooks: i
            .hooks
            .into_iter()
            .map(|h| match h {
                wt::Hook::Select => Hook::Select,
                wt::Hook::Transform => Hook::Transform,
            })
            .collect(),
    }
}

fn from_wit_decision(d: wt::Decision) -> Decision {
    Decision {
        candidate: d.candidate,
        verdict: match d.verdict {
            wt::Verdict::Keep => Verdict::Keep,
            wt::Verdict::Reject(reason) => Verdict::Reject { reason },
            wt::Verdict::Prefer(reason) => Verdict::Prefer { reason },
            wt::Verdict::Adjust(a) => Verdict::Adjust {
                delta: a.delta,
                reason: a.reason,
            },
        },
    }
}

fn from_wit_edit(e: wt::ReasonedEdit) -> ReasonedEdit {
    let edit = match e.edit {
        wt::Edit::AddHardwareIds(a) => Edit::AddHardwareIds {
            like: a.like,
            ids: a.ids,
        },
        wt::Edit::InsertLines(s) => Edit::InsertLines {
            section: s.section,
            lines: s.lines,
        },
        wt::Edit::RemoveLines(s) => Edit::RemoveLines {
            section: s.section,
            keys: s.lines,
        },
        wt::Edit::DropFile(path) => Edit::DropFile { path },
        wt::Edit::DropSection(section) => Edit::DropSection { section },
        wt::Edit::AddRegistry(v) => Edit::AddRegistry {
            value: RegistryValue {
                subkey: v.subkey,
                name: v.name,
                data: match v.data {
                    wt::RegistryData::Dword(x) => RegistryData::Dword(x),
                    wt::RegistryData::Qword(x) => RegistryData::Qword(x),
                    wt::RegistryData::String(s) => RegistryData::String(s),
                    wt::RegistryData::ExpandString(s) => RegistryData::ExpandString(s),
                    wt::RegistryData::MultiString(v) => RegistryData::MultiString(v),
                    wt::RegistryData::Binary(b) => RegistryData::Binary(b),
                },
            },
        },
    };
    ReasonedEdit {
        edit,
        reason: e.reason,
    }
}
