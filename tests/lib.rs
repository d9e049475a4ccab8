//! Integration tests: one binary, one module per topic. They drive the real binary against
//! the real Docker engine, real HAProxy and nginx routers, and the test app in tests/support.

mod support;

mod action_map;
mod actions;
mod annotate;
mod approve;
mod bench_lock;
mod bench_smoke;
mod build;
mod cli;
mod config;
mod crash;
mod deploy;
mod e2e;
mod engine;
mod github_fake;
mod install;
mod lock;
mod rollback;
mod routers;
mod run;
mod scan;
mod smoke;
