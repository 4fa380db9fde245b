//! End-to-end tests of `infuse scan`.
