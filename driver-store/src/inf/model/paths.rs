//! Checks for paths and file names that come from INF data. Paths from data are never trusted
//! (DESIGN.md invariants): `..`, absolute paths, drive letters, alternate streams and device
//! names are refused before anything touches a file system.

/// Marker in every diagnostic about a refused path (see `Model::refused_paths`).
pub const REFUSED: &str = " refused: ";

/// Why a path from data was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("`{0}` climbs out of its folder with `..`")]
    ParentDir(String),
    #[error("`{0}` is an absolute or UNC path")]
    Absolute(String),
    #[error("`{0}` names a drive or an alternate data stream (`:`)")]
    Colon(String),
    #[error("`{0}` names the Windows device `{1}`")]
    DeviceName(String, String),
    #[error("`{0}` contains a character Windows does not allow in file names")]
    BadCharacter(String),
    #[error("file name `{0}` contains a folder separator")]
    Separator(String),
    #[error("file name is empty")]
    Empty,
}

/// Checks a relative folder (`SourceDisksNames` path, `SourceDisksFiles` subdir,
/// `DestinationDirs` subdir) and returns its components. One leading `\` is accepted: INF paths
/// are relative to the root of the distribution media (a `\x64` disk path means the `x64` folder
/// of the package). `.` components are dropped.
pub fn relative_dir(path: &str) -> Result<Vec<String>, PathError> {
    let trimmed = path.trim();
    if trimmed.starts_with("\\\\") || trimmed.starts_with("//") {
        return Err(PathError::Absolute(path.to_string()));
    }
    let body = trimmed
        .strip_prefix('\\')
        .or_else(|| trimmed.strip_prefix('/'))
        .unwrap_or(trimmed);
    let mut out = Vec::new();
    for comp in body.split(['\\', '/']) {
        let comp = comp.trim();
        if comp.is_empty() || comp == "." {
            continue;
        }
        check_component(path, comp)?;
        out.push(comp.to_string());
    }
    Ok(out)
}

/// Checks a bare file name (a CopyFiles entry, a SourceDisksFiles key, a catalog name).
pub fn file_name(name: &str) -> Result<String, PathError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(PathError::Empty);
    }
    if name.contains(['\\', '/']) {
        if name.starts_with(['\\', '/']) {
            return Err(PathError::Absolute(name.to_string()));
        }
        if name.split(['\\', '/']).any(|c| c.trim() == "..") {
            return Err(PathError::ParentDir(name.to_string()));
        }
        return Err(PathError::Separator(name.to_string()));
    }
    check_component(name, name)?;
    Ok(name.to_string())
}

fn check_component(whole: &str, comp: &str) -> Result<(), PathError> {
    if comp == ".." || comp.trim_end_matches(['.', ' ']).is_empty() {
        return Err(PathError::ParentDir(whole.to_string()));
    }
    if comp.contains(':') {
        return Err(PathError::Colon(whole.to_string()));
    }
    if comp
        .chars()
        .any(|c| c < ' ' || matches!(c, '<' | '>' | '"' | '|' | '?' | '*'))
    {
        return Err(PathError::BadCharacter(whole.to_string()));
    }
    // Windows reserves these names with any extension (`NUL.txt`) and trailing blanks/dots.
    let stem = comp
        .split('.')
        .next()
        .unwrap_or(comp)
        .trim_end()
        .to_ascii_uppercase();
    let reserved = matches!(
        stem.as_str(),
        "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$"
    ) || ((stem.starts_with("COM") || stem.starts_with("LPT"))
        && stem.len() == 4
        && stem.as_bytes()[3].is_ascii_digit());
    if reserved {
        return Err(PathError::DeviceName(whole.to_string(), stem));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_dirs() {
        let ok: &[(&str, &[&str])] = &[
            ("", &[]),
            ("\\", &[]),
            (".", &[]),
            ("\\x64", &["x64"]),
            ("amd64\\sub", &["amd64", "sub"]),
            ("a/b", &["a", "b"]),
            (".\\Drivers\\", &["Drivers"]),
            ("Program Files", &["Program Files"]),
        ];
        for &(input, expect) in ok {
            assert_eq!(relative_dir(input).expect(input), expect, "{input}");
        }
        let bad: &[(&str, &str)] = &[
            ("..", "`..`"),
            ("a\\..\\..\\b", "`..`"),
            ("\\\\server\\share", "absolute"),
            ("C:\\Windows", "drive"),
            ("c:", "drive"),
            ("dir:stream", "stream"),
            ("NUL", "device `NUL`"),
            ("sub\\con.txt", "device `CON`"),
            ("LPT1", "device `LPT1`"),
            ("com9.sys", "device `COM9`"),
            ("a|b", "character"),
            ("...", "`..`"),
        ];
        for &(input, expect) in bad {
            let err = relative_dir(input).expect_err(input).to_string();
            assert!(err.contains(expect), "{input}: {err}");
        }
    }

    #[test]
    fn file_names() {
        assert_eq!(file_name(" vioscsi.sys "), Ok("vioscsi.sys".to_string()));
        assert_eq!(file_name("COMPUTER.dll"), Ok("COMPUTER.dll".to_string()));
        assert_eq!(file_name("com10.sys"), Ok("com10.sys".to_string()));
        let bad: &[(&str, &str)] = &[
            ("", "empty"),
            ("..\\evil.sys", "`..`"),
            ("\\evil.sys", "absolute"),
            ("sub\\x.sys", "separator"),
            ("x.sys:ads", "stream"),
            ("aux.sys", "device `AUX`"),
        ];
        for &(input, expect) in bad {
            let err = file_name(input).expect_err(input).to_string();
            assert!(err.contains(expect), "{input}: {err}");
        }
    }
}
