//! Exit codes: the same for every command.

/// Success.
pub const OK: u8 = 0;
/// A gate or check said no: failed deploy (old release kept serving), failed check, denial.
pub const REFUSED: u8 = 1;
/// Bad input: usage, config, report.
pub const BAD_INPUT: u8 = 2;
/// The environment failed: Docker, the router, GitHub or Grafana unreachable after retries.
pub const ENVIRONMENT: u8 = 3;
/// Timed out waiting (lock, approval).
pub const TIMED_OUT: u8 = 4;
