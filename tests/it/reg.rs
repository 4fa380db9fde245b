//! End-to-end tests of `infuse reg`.
