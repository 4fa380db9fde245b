//! Helpers shared by the end-to-end tests: the built binary, oracle detection, the shared corpus.
