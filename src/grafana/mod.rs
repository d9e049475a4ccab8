//! Grafana's HTTP API, as far as deploy annotations need it: create one, read one, patch
//! one, and find them by tags. Every request has a timeout; a 5xx, a 429 or a connection
//! that fails is retried with backoff a bounded number of times.
//! <https://grafana.com/docs/grafana/latest/developers/http_api/annotations/>

mod annotation;

use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde_json::Value;

pub use annotation::{Annotation, Find, NewAnnotation, now_ms};

use crate::config::GrafanaConfig;
use crate::error::{Error, Result, chain};

/// Retries after the first attempt, so 5 attempts in all.
const RETRIES: usize = 4;

/// The longest `Retry-After` honoured: a deploy step does not wait minutes for a note.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(10);

pub struct Grafana {
    http: reqwest::Client,
    base: String,
    auth: HeaderValue,
    token_env: String,
}

/// Why one attempt failed, and whether another may succeed.
#[derive(Debug)]
struct Failure {
    message: String,
    retryable: bool,
    retry_after: Option<Duration>,
}

impl Grafana {
    /// A client for `[grafana]`, with the service-account token from `token_env`, which is
    /// masked in the job's log and never printed.
    pub fn connect(config: &GrafanaConfig) -> Result<Self> {
        let token = std::env::var(&config.token_env)
            .ok()
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                Error::Usage(format!(
                    "the Grafana token variable `{}` is not set: give it a service-account \
                     token with the `annotations:write` permission (or change \
                     `grafana.token_env`)",
                    config.token_env
                ))
            })?;
        crate::ci::add_mask(&token);
        let mut auth = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
            Error::Usage(format!(
                "the Grafana token in `{}` holds characters a header cannot carry",
                config.token_env
            ))
        })?;
        auth.set_sensitive(true);
        let timeout = config.timeout.get();
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .build()
            .map_err(|e| Error::Usage(format!("cannot build an HTTP client: {}", chain(&e))))?;
        Ok(Self {
            http,
            base: config.url.trim_end_matches('/').to_string(),
            auth,
            token_env: config.token_env.clone(),
        })
    }

    /// `POST /api/annotations`; returns the new annotation's id.
    pub async fn create(&self, annotation: &NewAnnotation) -> Result<u64> {
        let body = serde_json::to_value(annotation).unwrap_or_default();
        let reply = self
            .send(Method::POST, "/api/annotations", &[], Some(&body))
            .await?;
        reply.get("id").and_then(Value::as_u64).ok_or_else(|| {
            Error::Grafana(format!(
                "POST {}/api/annotations answered without an id: {reply}",
                self.base
            ))
        })
    }

    /// `GET /api/annotations/:id`.
    pub async fn get(&self, id: u64) -> Result<Annotation> {
        let path = format!("/api/annotations/{id}");
        let reply = self.send(Method::GET, &path, &[], None).await?;
        serde_json::from_value(reply).map_err(|e| {
            Error::Grafana(format!(
                "GET {}{path}: an unexpected answer: {e}",
                self.base
            ))
        })
    }

    /// `PATCH /api/annotations/:id` with the fields to change (`timeEnd`, `tags`, `text`).
    pub async fn patch(&self, id: u64, fields: &Value) -> Result<()> {
        let path = format!("/api/annotations/{id}");
        self.send(Method::PATCH, &path, &[], Some(fields))
            .await
            .map(|_| ())
    }

    /// `GET /api/annotations?tags=…`: newest first, as Grafana sorts them.
    pub async fn find(&self, find: &Find) -> Result<Vec<Annotation>> {
        let reply = self
            .send(Method::GET, "/api/annotations", &find.query(), None)
            .await?;
        serde_json::from_value(reply).map_err(|e| {
            Error::Grafana(format!(
                "GET {}/api/annotations: an unexpected answer: {e}",
                self.base
            ))
        })
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Value> {
        let mut url = reqwest::Url::parse(&format!("{}{path}", self.base)).map_err(|e| {
            Error::Usage(format!(
                "`grafana.url` {:?} does not make a URL: {e}",
                self.base
            ))
        })?;
        if !query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in query {
                pairs.append_pair(k, v);
            }
        }
        let what = format!("{method} {}{path}", self.base);
        let attempt = || self.once(method.clone(), url.clone(), body);
        attempt
            .retry(
                ExponentialBuilder::default()
                    .with_min_delay(Duration::from_millis(250))
                    .with_max_delay(Duration::from_secs(4))
                    .with_max_times(RETRIES)
                    .with_jitter(),
            )
            .when(|f: &Failure| f.retryable)
            .adjust(|f: &Failure, wait| {
                wait.map(|w| f.retry_after.map_or(w, |r| r.min(MAX_RETRY_AFTER)))
            })
            .notify(|f: &Failure, wait| {
                tracing::warn!(
                    "{what}: {}; retrying in {}",
                    f.message,
                    humantime::format_duration(Duration::from_millis(wait.as_millis() as u64))
                )
            })
            .await
            .map_err(|f| {
                Error::Grafana(if f.retryable {
                    format!("{what}: {} (after {} attempts)", f.message, RETRIES + 1)
                } else {
                    format!("{what}: {}", f.message)
                })
            })
    }

    async fn once(
        &self,
        method: Method,
        url: reqwest::Url,
        body: Option<&Value>,
    ) -> std::result::Result<Value, Failure> {
        let mut request = self
            .http
            .request(method, url)
            .header(AUTHORIZATION, self.auth.clone())
            .header(ACCEPT, "application/json");
        if let Some(body) = body {
            request = request
                .header(CONTENT_TYPE, "application/json")
                .body(serde_json::to_vec(body).unwrap_or_default());
        }
        let response = request.send().await.map_err(|e| Failure {
            message: describe(&e),
            retryable: true,
            retry_after: None,
        })?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let bytes = response.bytes().await.map_err(|e| Failure {
            message: describe(&e),
            retryable: true,
            retry_after: None,
        })?;
        let body: Value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).trim().to_string()));
        if status.is_success() {
            return Ok(body);
        }
        let said = message(&body, status);
        let (message, retryable) = match status {
            StatusCode::UNAUTHORIZED => (
                format!(
                    "Grafana rejected the token in `{}` (401 {said}): check that it is a \
                     current service-account token of this Grafana",
                    self.token_env
                ),
                false,
            ),
            StatusCode::FORBIDDEN => (
                format!(
                    "the token's service account may not do this (403 {said}): give it the \
                     Editor role or `annotations:write`"
                ),
                false,
            ),
            StatusCode::TOO_MANY_REQUESTS => (format!("429 {said}"), true),
            s if s.is_server_error() => (format!("{} {said}", s.as_u16()), true),
            s => (format!("{} {said}", s.as_u16()), false),
        };
        Err(Failure {
            message,
            retryable,
            retry_after,
        })
    }
}

/// Grafana's `message`, else the reason phrase.
fn message(body: &Value, status: StatusCode) -> String {
    match body {
        Value::Object(map) => map
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_string),
        Value::String(s) if !s.is_empty() => Some(s.chars().take(200).collect()),
        _ => None,
    }
    .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_string())
}

/// A transport failure with its causes (a refused connection, a timeout).
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        format!("no answer in time ({})", chain(e))
    } else {
        chain(e)
    }
}
