//! Security records (`sk`): a doubly linked ring of shared security descriptors with reference
//! counts.
//!
//! Layout: `0 "sk"  2 reserved  4 flink  8 blink  12 reference count  16 descriptor size
//! 20 descriptor (self-relative SECURITY_DESCRIPTOR)`.

use super::cell::Bins;
use super::error::Result;

/// The parsed fields of an `sk` record.
#[derive(Debug, Clone)]
pub(crate) struct Sk {
    pub(crate) flink: u32,
    pub(crate) blink: u32,
    pub(crate) refs: u32,
    pub(crate) descriptor: Vec<u8>,
}

impl Sk {
    pub(crate) fn read(bins: &Bins<'_>, off: u32) -> Result<Sk> {
        let r = bins.cell(off)?;
        r.expect_sig(b"sk", "a security record")?;
        let len = r.u32(16, "sk descriptor size")? as usize;
        Ok(Sk {
            flink: r.u32(4, "sk flink")?,
            blink: r.u32(8, "sk blink")?,
            refs: r.u32(12, "sk reference count")?,
            descriptor: r.bytes(20, len, "sk descriptor")?.to_vec(),
        })
    }
}

/// The descriptor of a new hive's root, as a self-relative SECURITY_DESCRIPTOR:
/// owner BUILTIN\Administrators, group SYSTEM, DACL: SYSTEM and Administrators full control,
/// Everyone read, all inherited by subkeys (CONTAINER_INHERIT_ACE).
pub(crate) fn default_descriptor() -> Vec<u8> {
    const SYSTEM: [u8; 12] = [1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0];
    const ADMINS: [u8; 16] = [1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 0x20, 2, 0, 0];
    const EVERYONE: [u8; 12] = [1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0];
    fn ace(mask: u32, sid: &[u8]) -> Vec<u8> {
        let size = (8 + sid.len()) as u16;
        let mut a = vec![0u8, 0x02];
        a.extend_from_slice(&size.to_le_bytes());
        a.extend_from_slice(&mask.to_le_bytes());
        a.extend_from_slice(sid);
        a
    }
    let aces = [
        ace(0x000F_003F, &SYSTEM),
        ace(0x000F_003F, &ADMINS),
        ace(0x0002_0019, &EVERYONE),
    ];
    let acl_size = 8 + aces.iter().map(Vec::len).sum::<usize>();
    let owner = 20u32;
    let group = owner + ADMINS.len() as u32;
    let dacl = group + SYSTEM.len() as u32;
    let mut sd = vec![1u8, 0];
    sd.extend_from_slice(&0x8004u16.to_le_bytes()); // SE_SELF_RELATIVE | SE_DACL_PRESENT
    sd.extend_from_slice(&owner.to_le_bytes());
    sd.extend_from_slice(&group.to_le_bytes());
    sd.extend_from_slice(&0u32.to_le_bytes());
    sd.extend_from_slice(&dacl.to_le_bytes());
    sd.extend_from_slice(&ADMINS);
    sd.extend_from_slice(&SYSTEM);
    sd.extend_from_slice(&[2, 0]);
    sd.extend_from_slice(&(acl_size as u16).to_le_bytes());
    sd.extend_from_slice(&(aces.len() as u16).to_le_bytes());
    sd.extend_from_slice(&[0, 0]);
    for a in &aces {
        sd.extend_from_slice(a);
    }
    sd
}
