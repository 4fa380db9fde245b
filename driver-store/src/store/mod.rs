//! Packages, the content-addressed store and its memory-mapped index.
