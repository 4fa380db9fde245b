//! INF files as Windows' SetupAPI reads them.
//!
//! The lexical layer turns bytes into [`Inf`]: sections (duplicates merged at the first
//! position) of lines, each with an optional key and its fields after string substitution and
//! quote removal, exactly as `SetupGetStringField` returns them. It never fails: problems become
//! [`Diagnostic`]s with a line number.

use serde::Serialize;

/// A parsed INF file: sections in file order, plus what the parser noticed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Inf {
    pub sections: Vec<Section>,
    #[serde(skip)]
    pub diagnostics: Vec<Diagnostic>,
}

/// One section; `name` as written in the file (lookups are case-insensitive).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Section {
    pub name: String,
    pub lines: Vec<Line>,
}

/// One logical line (continuations joined).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Line {
    /// Text left of `=` after substitution, `None` when the line has no `=`.
    pub key: Option<String>,
    /// Values after substitution and quote removal; a line without `=` has its whole text as field 1.
    pub fields: Vec<String>,
    /// 1-based physical line number where the logical line starts.
    #[serde(skip)]
    pub line: u32,
}

/// Something the parser noticed; never fatal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// 1-based line number, 0 when it concerns the whole file.
    pub line: u32,
    pub message: String,
}

pub mod model;
