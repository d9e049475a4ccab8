//! Runs checks concurrently, up to a limit, each with its own deadline: a run takes about
//! as long as its slowest check, not the sum of them.

use std::collections::BTreeMap;

use futures_util::StreamExt;

use super::check::{Check, CheckResult, ClientKind};
use crate::error::{Error, Result};
use crate::signals::Cancel;

/// Runs `checks`, at most `concurrency` at once; results come in the checks' order.
pub async fn run_all(
    checks: &[Check],
    concurrency: usize,
    cancel: &Cancel,
) -> Result<Vec<CheckResult>> {
    let mut clients = BTreeMap::new();
    for check in checks {
        if !clients.contains_key(&check.client) {
            clients.insert(check.client.clone(), client(&check.client)?);
        }
    }
    let clients = &clients;
    let results: Vec<Result<CheckResult>> = futures_util::stream::iter(checks)
        .map(|check| async move {
            let result = check.run(&clients[&check.client], cancel).await?;
            tracing::info!(
                "smoke check `{}`: {} after {} attempt{} in {} ms",
                result.name,
                if result.passed() { "passed" } else { "failed" },
                result.attempts,
                if result.attempts == 1 { "" } else { "s" },
                result.elapsed.as_millis()
            );
            Ok(result)
        })
        .buffered(concurrency.max(1))
        .collect()
        .await;
    results.into_iter().collect()
}

/// An HTTP client for checks of one kind: redirects followed or not, and a CA file trusted
/// besides the system's. It keeps the server's certificate for `tls_min_days`.
fn client(kind: &ClientKind) -> Result<reqwest::Client> {
    let redirects = if kind.follow_redirects {
        reqwest::redirect::Policy::limited(10)
    } else {
        reqwest::redirect::Policy::none()
    };
    let mut builder = reqwest::Client::builder()
        .user_agent(concat!(
            "deploy-action/",
            env!("CARGO_PKG_VERSION"),
            " smoke"
        ))
        .redirect(redirects)
        .tls_info(true);
    if let Some(path) = &kind.ca_file {
        let pem = std::fs::read(path).map_err(|e| {
            Error::Usage(format!(
                "smoke `ca_file` {}: cannot read: {e}",
                path.display()
            ))
        })?;
        let certificates = reqwest::Certificate::from_pem_bundle(&pem)
            .ok()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| {
                Error::Usage(format!(
                    "smoke `ca_file` {}: no PEM certificate in it (`-----BEGIN CERTIFICATE-----`)",
                    path.display()
                ))
            })?;
        builder = builder.tls_certs_merge(certificates);
    }
    builder
        .build()
        .map_err(|e| Error::Usage(format!("cannot build an HTTP client for smoke checks: {e}")))
}
