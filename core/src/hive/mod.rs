//! The registry hive (regf) engine: checked reader and transactional, append-only writer.
