//! End-to-end tests of `infuse matching`.
