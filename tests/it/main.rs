//! End-to-end tests, one binary with a module per area.
