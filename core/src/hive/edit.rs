//! The edit session: edits are recorded as a tree of pending changes over the hive and applied
//! to a copy of it only when the session is committed, so nothing reaches the disk (or even the
//! in-memory hive) before [`Edit::commit`].

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::Path;

use super::alloc::Writer;
use super::base::{self, BASE_BLOCK, filetime_now};
use super::cell::NIL;
use super::error::{HiveError, Result};
use super::file;
use super::key::{self, KEY_COMP_NAME, KEY_HIVE_ENTRY, KEY_NO_DELETE, NK_FIXED, Nk};
use super::name::{self, upcase_key};
use super::reader::{Hive, MAX_DEPTH, split_path};
use super::security::{self, Sk};
use super::value::{BIG_DATA_SEGMENT, VALUE_COMP_NAME, Value, ValueType, Vk, read_value_list};

/// Longest key name Windows accepts (in UTF-16 code units).
pub const MAX_KEY_NAME: usize = 255;
/// Longest value name Windows accepts (in UTF-16 code units).
pub const MAX_VALUE_NAME: usize = 16_383;
/// Entries per subkey leaf list before the list is split under an `ri` index root.
const LEAF_MAX: usize = 512;

/// A pending set of edits to a [`Hive`]. Paths are `\`-separated and relative to the root key;
/// names compare case-insensitively as in Windows.
#[derive(Debug)]
pub struct Edit<'h> {
    hive: &'h Hive,
    root: PKey,
}

#[derive(Debug)]
struct PKey {
    /// The existing key node this stands for; `None` for a key created in this session.
    base: Option<u32>,
    name: String,
    children: BTreeMap<Vec<u16>, PKey>,
    /// Existing subkeys removed in this session (a child of the same name may be re-created).
    deleted: BTreeSet<Vec<u16>>,
    /// Value edits in order: (comparison key, new value or deletion, deleted earlier in this
    /// session so the new name's case wins).
    values: Vec<(Vec<u16>, Option<Value>, bool)>,
    value_index: BTreeMap<Vec<u16>, usize>,
}

impl PKey {
    fn new(base: Option<u32>, name: String) -> PKey {
        PKey {
            base,
            name,
            children: BTreeMap::new(),
            deleted: BTreeSet::new(),
            values: Vec::new(),
            value_index: BTreeMap::new(),
        }
    }

    fn record_value(&mut self, key: Vec<u16>, mut v: Option<Value>) {
        match self.value_index.get(&key) {
            Some(&i) => {
                // Setting an existing value keeps the case of its name, as RegSetValueEx does.
                let entry = &mut self.values[i];
                match (&entry.1, &mut v) {
                    (Some(old), Some(new)) => new.name.clone_from(&old.name),
                    (None, Some(_)) => entry.2 = true,
                    _ => {}
                }
                entry.1 = v;
            }
            None => {
                self.value_index.insert(key.clone(), self.values.len());
                self.values.push((key, v, false));
            }
        }
    }
}

fn check_key_name(path: &str, part: &str) -> Result<()> {
    let units = part.encode_utf16().count();
    if units == 0 || units > MAX_KEY_NAME {
        return Err(HiveError::InvalidEdit {
            path: path.into(),
            msg: format!("key name {part:?} must have 1 to {MAX_KEY_NAME} characters"),
        });
    }
    Ok(())
}

impl<'h> Edit<'h> {
    pub(crate) fn new(hive: &'h Hive) -> Edit<'h> {
        Edit {
            hive,
            root: PKey::new(Some(hive.base.root), String::new()),
        }
    }

    fn node(&mut self, path: &str, create: bool) -> Result<Option<&mut PKey>> {
        let bins = self.hive.bins();
        let mut cur = &mut self.root;
        for part in split_path(path) {
            let k = upcase_key(part);
            if !cur.children.contains_key(&k) {
                let existing = match cur.base {
                    Some(b) if !cur.deleted.contains(&k) => {
                        key::find(&bins, &Nk::read(&bins, b)?, part)?
                    }
                    _ => None,
                };
                let child = match existing {
                    Some(off) => PKey::new(Some(off), Nk::read_name(&bins, off)?),
                    None if create => {
                        check_key_name(path, part)?;
                        PKey::new(None, part.to_string())
                    }
                    None => return Ok(None),
                };
                cur.children.insert(k.clone(), child);
            }
            let Some(next) = cur.children.get_mut(&k) else {
                return Ok(None);
            };
            cur = next;
        }
        Ok(Some(cur))
    }

    /// Whether a key exists, counting this session's edits.
    pub fn key_exists(&mut self, path: &str) -> Result<bool> {
        Ok(self.node(path, false)?.is_some())
    }

    /// Create a key and any missing parents (like `reg add`). Existing keys are left as they are.
    pub fn create_key(&mut self, path: &str) -> Result<()> {
        if split_path(path).count() > MAX_DEPTH {
            return Err(HiveError::InvalidEdit {
                path: path.into(),
                msg: format!("deeper than {MAX_DEPTH} keys"),
            });
        }
        self.node(path, true)?;
        Ok(())
    }

    /// Set a value (creating the key path if needed). `name` empty sets the default value.
    pub fn set_value(
        &mut self,
        path: &str,
        name: &str,
        kind: ValueType,
        data: impl Into<Vec<u8>>,
    ) -> Result<()> {
        let data = data.into();
        if name.encode_utf16().count() > MAX_VALUE_NAME {
            return Err(HiveError::InvalidEdit {
                path: path.into(),
                msg: format!("value name longer than {MAX_VALUE_NAME} characters"),
            });
        }
        if data.len() > BIG_DATA_SEGMENT * 0xFFFF || data.len() > 0x7FFF_FFFF {
            return Err(HiveError::InvalidEdit {
                path: path.into(),
                msg: format!("value {name:?} data of {} bytes is too large", data.len()),
            });
        }
        self.create_key(path)?;
        let node = self
            .node(path, true)?
            .ok_or_else(|| HiveError::KeyNotFound { path: path.into() })?;
        node.record_value(
            upcase_key(name),
            Some(Value {
                name: name.to_string(),
                kind,
                data,
            }),
        );
        Ok(())
    }

    /// Set a REG_DWORD.
    pub fn set_dword(&mut self, path: &str, name: &str, v: u32) -> Result<()> {
        self.set_value(path, name, ValueType::DWORD, v.to_le_bytes())
    }

    /// Set a REG_QWORD.
    pub fn set_qword(&mut self, path: &str, name: &str, v: u64) -> Result<()> {
        self.set_value(path, name, ValueType::QWORD, v.to_le_bytes())
    }

    /// Set a REG_SZ (stored as UTF-16LE with its terminating NUL).
    pub fn set_string(&mut self, path: &str, name: &str, s: &str) -> Result<()> {
        self.set_value(path, name, ValueType::SZ, super::value::utf16z(s))
    }

    /// Set a REG_EXPAND_SZ.
    pub fn set_expand_string(&mut self, path: &str, name: &str, s: &str) -> Result<()> {
        self.set_value(path, name, ValueType::EXPAND_SZ, super::value::utf16z(s))
    }

    /// Set a REG_MULTI_SZ.
    pub fn set_multi_string<S: AsRef<str>>(
        &mut self,
        path: &str,
        name: &str,
        items: &[S],
    ) -> Result<()> {
        self.set_value(
            path,
            name,
            ValueType::MULTI_SZ,
            super::value::multi_sz(items),
        )
    }

    /// Set a REG_BINARY.
    pub fn set_binary(&mut self, path: &str, name: &str, data: impl Into<Vec<u8>>) -> Result<()> {
        self.set_value(path, name, ValueType::BINARY, data)
    }

    /// Delete a value; `Ok(false)` when the key has no such value.
    pub fn delete_value(&mut self, path: &str, name: &str) -> Result<bool> {
        let bins = self.hive.bins();
        let minor = self.hive.base.minor;
        let node = self
            .node(path, false)?
            .ok_or_else(|| HiveError::KeyNotFound { path: path.into() })?;
        let k = upcase_key(name);
        let exists = match node.value_index.get(&k) {
            Some(&i) => node.values[i].1.is_some(),
            None => match node.base {
                Some(b) => {
                    let nk = Nk::read(&bins, b)?;
                    let mut found = false;
                    for off in read_value_list(&bins, nk.values, nk.value_count)? {
                        if upcase_key(&Vk::read(&bins, off)?.name) == k {
                            found = true;
                            break;
                        }
                    }
                    let _ = minor;
                    found
                }
                None => false,
            },
        };
        if exists {
            node.record_value(k, None);
        }
        Ok(exists)
    }

    /// Delete a key with its whole subtree; `Ok(false)` when there is no such key. The root
    /// cannot be deleted.
    pub fn delete_key(&mut self, path: &str) -> Result<bool> {
        let parts: Vec<&str> = split_path(path).collect();
        let Some((last, parents)) = parts.split_last() else {
            return Err(HiveError::InvalidEdit {
                path: path.into(),
                msg: "the root key cannot be deleted".into(),
            });
        };
        let bins = self.hive.bins();
        let Some(parent) = self.node(&parents.join("\\"), false)? else {
            return Ok(false);
        };
        let k = upcase_key(last);
        let existed_in_base = match parent.base {
            Some(b) if !parent.deleted.contains(&k) => {
                key::find(&bins, &Nk::read(&bins, b)?, last)?.is_some()
            }
            _ => false,
        };
        let pending = parent.children.remove(&k);
        if existed_in_base {
            parent.deleted.insert(k);
        }
        Ok(existed_in_base || pending.is_some())
    }

    /// Apply the edits to a copy of the hive and return it (nothing is written to disk).
    pub fn apply(self) -> Result<Hive> {
        let now = filetime_now();
        let mut w = Writer::new(self.hive.file.clone(), now);
        let minor = self.hive.base.minor;
        let mut ctx = Ctx {
            w: &mut w,
            minor,
            now,
        };
        ctx.apply(&self.root, self.hive.base.root, None)?;
        let seq = self
            .hive
            .base
            .primary_seq
            .max(self.hive.base.secondary_seq)
            .wrapping_add(1);
        let bins_size = (w.file.len() - BASE_BLOCK) as u32;
        base::stamp(&mut w.file, seq, now, bins_size);
        let mut out = Hive::parse(w.file)?;
        out.path = self.hive.path.clone();
        Ok(out)
    }

    /// Apply the edits and write the hive to `path` atomically: a new file is written next to it,
    /// flushed, and renamed over it, so a crash leaves either the old or the new hive. Returns the
    /// hive as written.
    pub fn commit(self, path: impl AsRef<Path>) -> Result<Hive> {
        self.commit_with(path, &mut |_| Ok(()))
    }

    /// [`Edit::commit`] with a hook called before each step of the write; an error from the hook
    /// aborts the commit at that step (tests use it to inject faults).
    pub fn commit_with(
        self,
        path: impl AsRef<Path>,
        hook: &mut dyn FnMut(file::Step) -> std::io::Result<()>,
    ) -> Result<Hive> {
        let path = path.as_ref();
        let mut hive = self.apply()?;
        file::write_atomic(path, &hive.file, hook)?;
        hive.path = Some(path.to_path_buf());
        Ok(hive)
    }
}

struct Ctx<'w> {
    w: &'w mut Writer,
    minor: u32,
    now: u64,
}

impl Ctx<'_> {
    /// Apply the pending changes of `pk` to the key node at `off`.
    fn apply(&mut self, pk: &PKey, off: u32, _parent: Option<u32>) -> Result<()> {
        let bins = self.w.bins();
        let nk = Nk::read(&bins, off)?;
        let structural = !pk.deleted.is_empty() || pk.children.values().any(|c| c.base.is_none());
        // 1. Read the old subkey list before anything is freed.
        let mut kept: Vec<(Vec<u16>, u32, String)> = Vec::new();
        let mut doomed = Vec::new();
        if structural && nk.subkey_count > 0 && nk.subkeys != NIL {
            let mut entries = Vec::new();
            key::read_list(&bins, nk.subkeys, &mut entries)?;
            for e in entries {
                let n = Nk::read_name(&bins, e.off)?;
                let k = upcase_key(&n);
                if pk.deleted.contains(&k) {
                    doomed.push(e.off);
                } else {
                    kept.push((k, e.off, n));
                }
            }
        }
        // 2. Free deleted subtrees.
        for d in doomed {
            self.free_subtree(d)?;
        }
        // 3. Children: existing ones in place, new ones allocated (they share our sk).
        for (k, child) in &pk.children {
            match child.base {
                Some(coff) => self.apply(child, coff, Some(off))?,
                None => {
                    let coff = self.new_key(&child.name, off, nk.security)?;
                    self.apply(child, coff, Some(off))?;
                    kept.push((k.clone(), coff, child.name.clone()));
                }
            }
        }
        let mut touched = false;
        // 4. The subkey list.
        if structural {
            kept.sort_by(|a, b| a.0.cmp(&b.0));
            let old_cells = if nk.subkey_count > 0 && nk.subkeys != NIL {
                key::list_cells(&self.w.bins(), nk.subkeys)?
            } else {
                Vec::new()
            };
            let list = self.write_subkey_list(&kept)?;
            for c in old_cells {
                self.w.free(c)?;
            }
            let max_name = kept
                .iter()
                .map(|(_, _, n)| name::utf16_bytes(n))
                .max()
                .unwrap_or(0);
            let bins = self.w.bins();
            let old52 = bins.cell(off)?.u32(52, "nk largest subkey name")?;
            self.w.set_u32(off, 20, kept.len() as u32)?;
            self.w.set_u32(off, 28, list)?;
            self.w
                .set_u32(off, 52, (old52 & 0xFFFF_0000) | (max_name & 0xFFFF))?;
            touched = true;
        }
        // 5. Values.
        if !pk.values.is_empty() {
            self.apply_values(pk, off)?;
            touched = true;
        }
        if touched {
            self.w.set_u64(off, 4, self.now)?;
        }
        Ok(())
    }

    fn new_key(&mut self, name_: &str, parent: u32, sk: u32) -> Result<u32> {
        let b = nk_record(name_, 0, self.now, parent, sk);
        let off = self.w.put(&b)?;
        // The new key shares its parent's security descriptor: one more reference.
        let refs = Sk::read(&self.w.bins(), sk)?.refs;
        self.w.set_u32(sk, 12, refs.saturating_add(1))?;
        Ok(off)
    }

    fn write_subkey_list(&mut self, kept: &[(Vec<u16>, u32, String)]) -> Result<u32> {
        if kept.is_empty() {
            return Ok(NIL);
        }
        let leaves: Vec<u32> = kept
            .chunks(LEAF_MAX)
            .map(|chunk| {
                let mut b = Vec::with_capacity(4 + chunk.len() * 8);
                // Format 1.5+ (Windows XP and later) uses hash leaves; older ones fast leaves.
                let lh = self.minor >= 5;
                b.extend_from_slice(if lh { b"lh" } else { b"lf" });
                b.extend_from_slice(&(chunk.len() as u16).to_le_bytes());
                for (_, off, n) in chunk {
                    b.extend_from_slice(&off.to_le_bytes());
                    let tag = if lh { name::lh_hash(n) } else { lf_hint(n) };
                    b.extend_from_slice(&tag.to_le_bytes());
                }
                self.w.put(&b)
            })
            .collect::<Result<_>>()?;
        if let [one] = leaves[..] {
            return Ok(one);
        }
        let mut b = Vec::with_capacity(4 + leaves.len() * 4);
        b.extend_from_slice(b"ri");
        b.extend_from_slice(&(leaves.len() as u16).to_le_bytes());
        for l in &leaves {
            b.extend_from_slice(&l.to_le_bytes());
        }
        self.w.put(&b)
    }

    fn apply_values(&mut self, pk: &PKey, off: u32) -> Result<()> {
        let bins = self.w.bins();
        let nk = Nk::read(&bins, off)?;
        let old = read_value_list(&bins, nk.values, nk.value_count)?;
        let mut list: Vec<u32> = Vec::with_capacity(old.len() + pk.values.len());
        let mut handled: HashSet<&[u16]> = HashSet::new();
        let (mut max_name, mut max_data) = (0u32, 0u32);
        for voff in old {
            let bins = self.w.bins();
            let vk = Vk::read(&bins, voff)?;
            let k = upcase_key(&vk.name);
            match pk.value_index.get(&k) {
                Some(&i) => {
                    handled.insert(&pk.values[i].0);
                    let cells = vk.data_cells(&bins, self.minor)?;
                    self.w.free(voff)?;
                    for c in cells {
                        self.w.free(c)?;
                    }
                    if let Some(v) = &pk.values[i].1 {
                        // Keep the stored name's case (RegSetValueEx on an existing value).
                        let vname = if pk.values[i].2 {
                            v.name.clone()
                        } else {
                            vk.name.clone()
                        };
                        let v = Value {
                            name: vname,
                            kind: v.kind,
                            data: v.data.clone(),
                        };
                        list.push(self.new_value(&v)?);
                        max_name = max_name.max(name::utf16_bytes(&v.name));
                        max_data = max_data.max(v.data.len() as u32);
                    }
                }
                None => {
                    list.push(voff);
                    max_name = max_name.max(name::utf16_bytes(&vk.name));
                    max_data = max_data.max(vk.len() as u32);
                }
            }
        }
        for (k, v, _) in &pk.values {
            if handled.contains(k.as_slice()) {
                continue;
            }
            if let Some(v) = v {
                list.push(self.new_value(v)?);
                max_name = max_name.max(name::utf16_bytes(&v.name));
                max_data = max_data.max(v.data.len() as u32);
            }
        }
        let new_list = if list.is_empty() {
            NIL
        } else {
            let b: Vec<u8> = list.iter().flat_map(|o| o.to_le_bytes()).collect();
            self.w.put(&b)?
        };
        if nk.value_count > 0 && nk.values != NIL {
            self.w.free(nk.values)?;
        }
        self.w.set_u32(off, 36, list.len() as u32)?;
        self.w.set_u32(off, 40, new_list)?;
        self.w.set_u32(off, 60, max_name)?;
        self.w.set_u32(off, 64, max_data)?;
        Ok(())
    }

    fn new_value(&mut self, v: &Value) -> Result<u32> {
        let len = v.data.len();
        let (size, data_off) = if len <= 4 {
            // Up to 4 bytes live in the offset field itself (CM_KEY_VALUE_SPECIAL_SIZE).
            let mut a = [0u8; 4];
            a[..len].copy_from_slice(&v.data);
            (len as u32 | 0x8000_0000, u32::from_le_bytes(a))
        } else if len > BIG_DATA_SEGMENT && self.minor >= 4 {
            // Every segment cell keeps at least 4 spare bytes: a 16,344-byte segment fills a
            // 16,352-byte cell that way, and hivex reads each segment as its cell size minus 8
            // (checked in tests/it/reg.rs: odd-sized big data lost its last bytes otherwise).
            let segs: Vec<u32> = v
                .data
                .chunks(BIG_DATA_SEGMENT)
                .map(|c| self.w.put_with_slack(c, 4))
                .collect::<Result<_>>()?;
            let list: Vec<u8> = segs.iter().flat_map(|o| o.to_le_bytes()).collect();
            let list_off = self.w.put(&list)?;
            let mut db = Vec::with_capacity(8);
            db.extend_from_slice(b"db");
            db.extend_from_slice(&(segs.len() as u16).to_le_bytes());
            db.extend_from_slice(&list_off.to_le_bytes());
            (len as u32, self.w.put(&db)?)
        } else {
            (len as u32, self.w.put(&v.data)?)
        };
        let (raw, comp) = name::encode(&v.name);
        let mut b = vec![0u8; 20 + raw.len()];
        b[0..2].copy_from_slice(b"vk");
        b[2..4].copy_from_slice(&(raw.len() as u16).to_le_bytes());
        b[4..8].copy_from_slice(&size.to_le_bytes());
        b[8..12].copy_from_slice(&data_off.to_le_bytes());
        b[12..16].copy_from_slice(&v.kind.0.to_le_bytes());
        b[16..18].copy_from_slice(
            &(if comp && !raw.is_empty() {
                VALUE_COMP_NAME
            } else {
                0
            })
            .to_le_bytes(),
        );
        b[20..].copy_from_slice(&raw);
        self.w.put(&b)
    }

    /// Free a key with everything below it, releasing its `sk` references.
    fn free_subtree(&mut self, off: u32) -> Result<()> {
        let mut stack = vec![(off, 0usize)];
        let mut seen = HashSet::new();
        while let Some((o, depth)) = stack.pop() {
            if depth > MAX_DEPTH || !seen.insert(o) {
                return Err(HiveError::corrupt(
                    o,
                    "cycle or excessive depth in the key tree",
                ));
            }
            let bins = self.w.bins();
            let nk = Nk::read(&bins, o)?;
            let mut cells = Vec::new();
            if nk.subkey_count > 0 && nk.subkeys != NIL {
                let mut entries = Vec::new();
                key::read_list(&bins, nk.subkeys, &mut entries)?;
                stack.extend(entries.iter().map(|e| (e.off, depth + 1)));
                cells.extend(key::list_cells(&bins, nk.subkeys)?);
            }
            let values = read_value_list(&bins, nk.values, nk.value_count)?;
            for v in &values {
                cells.extend(Vk::read(&bins, *v)?.data_cells(&bins, self.minor)?);
            }
            cells.extend(values);
            if nk.value_count > 0 && nk.values != NIL {
                cells.push(nk.values);
            }
            if nk.class != NIL && nk.class_len > 0 {
                cells.push(nk.class);
            }
            for c in cells {
                self.w.free(c)?;
            }
            self.release_sk(nk.security)?;
            self.w.free(o)?;
        }
        Ok(())
    }

    fn release_sk(&mut self, sk_off: u32) -> Result<()> {
        let sk = Sk::read(&self.w.bins(), sk_off)?;
        if sk.refs > 1 {
            return self.w.set_u32(sk_off, 12, sk.refs - 1);
        }
        // Last reference: unlink from the ring and free it.
        if sk.flink != sk_off && sk.blink != sk_off {
            self.w.set_u32(sk.blink, 4, sk.flink)?;
            self.w.set_u32(sk.flink, 8, sk.blink)?;
        }
        self.w.free(sk_off)
    }
}

/// The `lf` hint: the first four characters of the name (one byte each, zero-padded).
fn lf_hint(n: &str) -> u32 {
    let mut a = [0u8; 4];
    for (i, u) in n.encode_utf16().take(4).enumerate() {
        a[i] = u as u8;
    }
    u32::from_le_bytes(a)
}

/// A hive with only a root key (and its security record), format 1.5.
pub(crate) fn new_empty(root_name: &str) -> Result<Hive> {
    check_key_name("\\", root_name)?;
    let now = filetime_now();
    let mut w = Writer::new(base::fresh(0, 0, now, root_name), now);
    let sd = security::default_descriptor();
    let mut skb = vec![0u8; 20 + sd.len()];
    skb[0..2].copy_from_slice(b"sk");
    skb[12..16].copy_from_slice(&1u32.to_le_bytes());
    skb[16..20].copy_from_slice(&(sd.len() as u32).to_le_bytes());
    skb[20..].copy_from_slice(&sd);
    let sk = w.put(&skb)?;
    w.set_u32(sk, 4, sk)?;
    w.set_u32(sk, 8, sk)?;
    let b = nk_record(root_name, KEY_HIVE_ENTRY | KEY_NO_DELETE, now, NIL, sk);
    let root = w.put(&b)?;
    let bins_size = (w.file.len() - BASE_BLOCK) as u32;
    w.file[36..40].copy_from_slice(&root.to_le_bytes());
    base::stamp(&mut w.file, 1, now, bins_size);
    Hive::parse(w.file)
}

/// A new key node with no subkeys, values or class: flags (plus the compressed-name flag when the
/// name fits in Latin-1), timestamp, parent, security cell and name at their `nk` offsets.
fn nk_record(name_: &str, flags: u16, now: u64, parent: u32, sk: u32) -> Vec<u8> {
    let (raw, comp) = name::encode(name_);
    let flags = flags | if comp { KEY_COMP_NAME } else { 0 };
    let mut b = vec![0u8; NK_FIXED + raw.len()];
    b[0..2].copy_from_slice(b"nk");
    b[2..4].copy_from_slice(&flags.to_le_bytes());
    b[4..12].copy_from_slice(&now.to_le_bytes());
    b[16..20].copy_from_slice(&parent.to_le_bytes());
    b[28..32].copy_from_slice(&NIL.to_le_bytes()); // subkey list
    b[32..36].copy_from_slice(&NIL.to_le_bytes()); // volatile subkey list
    b[40..44].copy_from_slice(&NIL.to_le_bytes()); // value list
    b[44..48].copy_from_slice(&sk.to_le_bytes());
    b[48..52].copy_from_slice(&NIL.to_le_bytes()); // class name
    b[72..74].copy_from_slice(&(raw.len() as u16).to_le_bytes());
    b[NK_FIXED..].copy_from_slice(&raw);
    b
}
