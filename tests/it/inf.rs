//! End-to-end tests of `infuse inf`.
