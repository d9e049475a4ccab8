//! `[grafana]`: where `annotate` writes deploy annotations.

use serde::Deserialize;

use super::duration::Duration;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrafanaConfig {
    /// Grafana's base URL (`https://grafana.example.com`).
    pub url: String,
    /// The environment variable that holds a service-account token (never the token itself).
    #[serde(default = "default_token_env")]
    pub token_env: String,
    /// Put annotations on this dashboard; empty: organisation-wide, found by their tags.
    pub dashboard_uid: Option<String>,
    /// And on this panel of it.
    pub panel_id: Option<u64>,
    /// Tags added to the defaults (`deploy`, service, environment, version, short sha).
    #[serde(default)]
    pub tags: Vec<String>,
    /// One request's limit; failures are retried with backoff.
    #[serde(default = "default_timeout")]
    pub timeout: Duration,
}

fn default_token_env() -> String {
    "GRAFANA_TOKEN".into()
}

fn default_timeout() -> Duration {
    Duration::from_secs(10)
}
