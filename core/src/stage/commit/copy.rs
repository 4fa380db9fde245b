//! Writing staged files fast and making them durable with one barrier.
//!
//! A commit stages hundreds of payload files before its journal, and everything the journal
//! names must be on disk before the journal is written. Two costs dominate (BENCHMARKS.md,
//! "Inject"): the copies and the durability. This file holds both:
//!
//! - [`copy`]: a reflink (`FICLONE`, Linux) when source and staging share a file system that
//!   supports it (btrfs, XFS: no data is written at all), else the kernel's in-place copy
//!   (`copy_file_range` through [`std::io::copy`]), else a plain buffered copy. When the plan
//!   gives a sha256, the source is read once, hashed and written in the same pass (never copied,
//!   then read back). After each copy, writeback of the new file is started
//!   (`sync_file_range(SYNC_FILE_RANGE_WRITE)`, a hint that does not wait), so that the disk
//!   writes while the next file is copied instead of all at the barrier.
//! - [`barrier`]: makes every file and directory entry written so far durable: one `syncfs(2)`
//!   of the image's file system on Linux instead of an fsync per file (each fsync is a journal
//!   commit and a cache flush of the device). Where `syncfs` does not exist (other systems), the
//!   caller fsyncs each file and directory itself.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

/// How a file was copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    /// Shared extents (`FICLONE`): no data written.
    Reflink,
    /// [`std::io::copy`]: the kernel's `copy_file_range` on Linux (falling back to `sendfile` or
    /// a read/write loop where the kernel refuses), a read/write loop elsewhere.
    Kernel,
    /// Read into a buffer and written, hashing on the way.
    Buffered,
}

/// What [`copy`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Copied {
    pub(crate) bytes: u64,
    /// Lower-case hex sha256 of the bytes, when asked for.
    pub(crate) sha256: Option<String>,
    pub(crate) method: Method,
}

/// An IO error and the file it happened on.
#[derive(Debug)]
pub(crate) struct CopyError {
    pub(crate) path: std::path::PathBuf,
    pub(crate) source: io::Error,
}

fn on(path: &Path) -> impl FnOnce(io::Error) -> CopyError + '_ {
    move |source| CopyError {
        path: path.to_path_buf(),
        source,
    }
}

/// Copies `src` to the new file `dst` (created or truncated), with `src`'s permissions; with
/// `hash`, returns the sha256 of the bytes read (one read of the source).
pub(crate) fn copy(src: &Path, dst: &Path, hash: bool) -> Result<Copied, CopyError> {
    let mut from = File::open(src).map_err(on(src))?;
    let meta = from.metadata().map_err(on(src))?;
    let mut to = File::create(dst).map_err(on(dst))?;
    let copied = if hash {
        buffered(&mut from, src, &mut to, dst)?
    } else if reflink(&from, &to) {
        Copied {
            bytes: meta.len(),
            sha256: None,
            method: Method::Reflink,
        }
    } else {
        let bytes = io::copy(&mut from, &mut to).map_err(|e| CopyError {
            path: src.to_path_buf(),
            source: io::Error::new(e.kind(), format!("copy to {}: {e}", dst.display())),
        })?;
        Copied {
            bytes,
            sha256: None,
            method: Method::Kernel,
        }
    };
    if copied.method != Method::Reflink {
        start_writeback(&to);
    }
    to.set_permissions(meta.permissions()).map_err(on(dst))?;
    Ok(copied)
}

/// Reads `from` in 1 MiB blocks, hashes each block and writes it to `to`.
fn buffered(from: &mut File, src: &Path, to: &mut File, dst: &Path) -> Result<Copied, CopyError> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(on(src)(e)),
        };
        h.update(&buf[..n]);
        to.write_all(&buf[..n]).map_err(on(dst))?;
        bytes += n as u64;
    }
    Ok(Copied {
        bytes,
        sha256: Some(hex::encode(h.finalize())),
        method: Method::Buffered,
    })
}

/// Shares `from`'s extents with the empty `to` (`FICLONE`); false when the file system (or the
/// pair of file systems) cannot, and the caller copies.
#[cfg(target_os = "linux")]
fn reflink(from: &File, to: &File) -> bool {
    use std::os::fd::AsRawFd;
    // SAFETY: both descriptors are open files owned by the caller for the whole call; FICLONE
    // reads no memory of ours (its argument is the source descriptor).
    unsafe { libc::ioctl(to.as_raw_fd(), libc::FICLONE, from.as_raw_fd()) == 0 }
}

#[cfg(not(target_os = "linux"))]
fn reflink(_from: &File, _to: &File) -> bool {
    false
}

/// Starts writeback of `file`'s dirty pages without waiting for it (a hint; the barrier is what
/// makes them durable, so a failure here is ignored).
#[cfg(target_os = "linux")]
fn start_writeback(file: &File) {
    use std::os::fd::AsRawFd;
    // SAFETY: `file` is an open descriptor for the duration of the call; no memory is passed.
    let _ = unsafe { libc::sync_file_range(file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE) };
}

#[cfg(not(target_os = "linux"))]
fn start_writeback(_file: &File) {}

/// Makes everything written so far on the file system holding `dir` durable, data, inodes and
/// directory entries (renames included): `syncfs(2)`. Returns `false` where the system has no
/// such call: the caller must then fsync each file and directory it wrote.
#[cfg(target_os = "linux")]
pub(crate) fn barrier(dir: &Path) -> Result<bool, CopyError> {
    use std::os::fd::AsRawFd;
    let d = File::open(dir).map_err(on(dir))?;
    // SAFETY: `d` is an open descriptor for the duration of the call; no memory is passed.
    if unsafe { libc::syncfs(d.as_raw_fd()) } == 0 {
        return Ok(true);
    }
    let e = io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::ENOSYS) {
        // A kernel without syncfs (before 2.6.39) or a sandbox that filters it.
        return Ok(false);
    }
    Err(CopyError {
        path: dir.to_path_buf(),
        source: io::Error::new(e.kind(), format!("syncfs: {e}")),
    })
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn barrier(_dir: &Path) -> Result<bool, CopyError> {
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pseudo-random bytes (no file system can compress or deduplicate them).
    fn noise(len: usize) -> Vec<u8> {
        let mut s = 0x2545_F491_4F6C_DD1Du64;
        (0..len)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                s as u8
            })
            .collect()
    }

    fn sha(b: &[u8]) -> String {
        hex::encode(Sha256::digest(b))
    }

    /// Every path gives the source's bytes, its length and (buffered) its sha256; sizes around
    /// the 1 MiB block of the buffered copy and the empty file.
    #[test]
    fn every_method_copies_the_bytes_exactly() {
        let tmp = tempfile::tempdir().unwrap();
        for len in [
            0usize,
            1,
            4095,
            (1 << 20) - 1,
            1 << 20,
            (1 << 20) + 7,
            3 << 20,
        ] {
            let data = noise(len);
            let src = tmp.path().join(format!("src{len}"));
            std::fs::write(&src, &data).unwrap();
            for hash in [false, true] {
                let dst = tmp.path().join(format!("dst{len}-{hash}"));
                // An existing longer file is truncated.
                std::fs::write(&dst, vec![7u8; len + 100]).unwrap();
                let c = copy(&src, &dst, hash).unwrap();
                assert_eq!(c.bytes, len as u64, "{len} {hash}");
                assert!(std::fs::read(&dst).unwrap() == data, "{len} {hash}");
                if hash {
                    assert_eq!(c.method, Method::Buffered);
                    assert_eq!(c.sha256.as_deref(), Some(sha(&data).as_str()));
                } else {
                    assert_ne!(c.method, Method::Buffered);
                    assert_eq!(c.sha256, None);
                }
            }
        }
    }

    /// The copy keeps the source's permissions, as `std::fs::copy` (used before) did.
    #[cfg(unix)]
    #[test]
    fn permissions_are_kept() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("src");
        std::fs::write(&src, b"x").unwrap();
        std::fs::set_permissions(&src, std::fs::Permissions::from_mode(0o640)).unwrap();
        for hash in [false, true] {
            let dst = tmp.path().join(format!("dst{hash}"));
            copy(&src, &dst, hash).unwrap();
            let mode = std::fs::metadata(&dst).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o640);
        }
    }

    /// Errors name the file they happened on.
    #[test]
    fn a_missing_source_or_destination_folder_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("absent");
        let e = copy(&src, &tmp.path().join("dst"), false).unwrap_err();
        assert_eq!(e.path, src);
        std::fs::write(&src, b"x").unwrap();
        let dst = tmp.path().join("no/such/dir/dst");
        let e = copy(&src, &dst, true).unwrap_err();
        assert_eq!(e.path, dst);
    }

    /// On Linux the barrier is `syncfs` and succeeds on a writable file system; elsewhere it
    /// reports that the caller must sync each file.
    #[test]
    fn the_barrier_is_syncfs_on_linux() {
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(barrier(tmp.path()).unwrap(), cfg!(target_os = "linux"));
        if cfg!(target_os = "linux") {
            let e = barrier(&tmp.path().join("absent")).unwrap_err();
            assert_eq!(e.path, tmp.path().join("absent"));
        }
    }
}
