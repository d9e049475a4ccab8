//! Integration tests: one module per topic, one test binary.
