//! End-to-end tests of `infuse store`.
