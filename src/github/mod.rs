//! GitHub's REST API, through octocrab, the way a long-running poller must use it: every
//! GET is conditional (a `304 Not Modified` costs no rate limit), transient failures are
//! retried with backoff, and the rate-limit headers decide how long to wait.
//! <https://docs.github.com/rest/using-the-rest-api/best-practices-for-using-the-rest-api>

mod context;
pub mod deployments;
mod pacing;

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use http::{HeaderMap, HeaderValue, Method, StatusCode};
use octocrab::Octocrab;
use serde_json::Value;

pub use context::RunContext;
pub use pacing::{Limits, jittered};

use crate::error::{Error, chain};
use crate::signals::Cancel;

/// The documented API version this client speaks.
const API_VERSION: &str = "2022-11-28";

/// Attempts for one request when the network or GitHub fails (5xx, connection errors,
/// secondary rate limits).
const ATTEMPTS: u32 = 5;

/// A reply GitHub gave: any status the caller has to tell apart (404, 409, 422…).
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
    /// The `rel="next"` page, when the reply is one page of a list.
    pub next: Option<String>,
    /// False when GitHub answered `304 Not Modified` and the body is the cached one.
    pub changed: bool,
}

impl Reply {
    pub fn ok(&self) -> bool {
        self.status.is_success()
    }

    /// GitHub's `message` for an error reply.
    pub fn message(&self) -> String {
        self.body
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or_else(|| self.status.canonical_reason().unwrap_or("error"))
            .to_string()
    }
}

/// A cached GET: its validator and the body it validates.
struct Cached {
    etag: String,
    body: Value,
    next: Option<String>,
}

pub struct GitHub {
    crab: Octocrab,
    base: String,
    cache: Mutex<HashMap<String, Cached>>,
    limits: Mutex<Limits>,
    counted: AtomicU64,
    not_modified: AtomicU64,
    cancel: Cancel,
}

impl GitHub {
    /// A client for `GITHUB_API_URL` (default `https://api.github.com`) with the token in
    /// the environment variable `token_env`. The token is masked in the job's log.
    pub fn from_env(token_env: &str, cancel: Cancel) -> Result<Self, Error> {
        let token = std::env::var(token_env)
            .ok()
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| {
                Error::Usage(format!(
                    "the GitHub token variable `{token_env}` is not set: pass \
                     `${{{{ github.token }}}}` (or a token with the permissions the step needs) \
                     in `{token_env}`"
                ))
            })?;
        crate::ci::add_mask(&token);
        let base = std::env::var("GITHUB_API_URL")
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| "https://api.github.com".into());
        Self::new(&base, token.trim(), cancel)
    }

    pub fn new(base: &str, token: &str, cancel: Cancel) -> Result<Self, Error> {
        let base = base.trim_end_matches('/').to_string();
        let crab = Octocrab::builder()
            .base_uri(base.as_str())
            .map_err(|e| Error::Usage(format!("GITHUB_API_URL {base:?}: {}", chain(&e))))?
            .personal_token(token.to_string())
            .add_header(http::header::ACCEPT, "application/vnd.github+json".into())
            .add_header(
                http::HeaderName::from_static("x-github-api-version"),
                API_VERSION.into(),
            )
            .set_connect_timeout(Some(Duration::from_secs(10)))
            .set_read_timeout(Some(Duration::from_secs(30)))
            .build()
            .map_err(|e| Error::GitHub(format!("cannot set up the API client: {}", chain(&e))))?;
        Ok(Self {
            crab,
            base,
            cache: Mutex::new(HashMap::new()),
            limits: Mutex::new(Limits::default()),
            counted: AtomicU64::new(0),
            not_modified: AtomicU64::new(0),
            cancel,
        })
    }

    /// Requests so far that cost rate limit (everything but `304 Not Modified`).
    pub fn counted_calls(&self) -> u64 {
        self.counted.load(Ordering::Relaxed)
    }

    /// Conditional requests GitHub answered with `304 Not Modified`.
    pub fn free_calls(&self) -> u64 {
        self.not_modified.load(Ordering::Relaxed)
    }

    /// The rate limit as the last reply stated it.
    pub fn limits(&self) -> Limits {
        *self.limits.lock().expect("limits lock")
    }

    /// How long a poller should wait before its next look: `every`, with jitter, stretched
    /// when the remaining rate limit would not last until it resets.
    pub fn poll_delay(&self, every: Duration) -> Duration {
        self.limits().poll_delay(every)
    }

    /// A conditional GET of `path` (relative to the API, or an absolute URL from a `Link`
    /// header): when nothing changed, GitHub answers 304 and the cached body is returned.
    pub async fn get(&self, path: &str) -> Result<Reply, Error> {
        self.request(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Result<Reply, Error> {
        self.request(Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Result<Reply, Error> {
        self.request(Method::PATCH, path, Some(body)).await
    }

    /// Every item of a paginated list, following `Link: rel="next"` to the last page.
    pub async fn get_all(&self, path: &str) -> Result<Vec<Value>, Error> {
        let mut items = Vec::new();
        let mut next = Some(path.to_string());
        // A bound no real list reaches (100 per page), against a server that loops.
        for _ in 0..1000 {
            let Some(page) = next.take() else {
                return Ok(items);
            };
            let reply = self.get(&page).await?;
            if !reply.ok() {
                return Err(Error::GitHub(format!(
                    "GET {}: {} {}",
                    strip_query(&page),
                    reply.status.as_u16(),
                    reply.message()
                )));
            }
            match reply.body {
                Value::Array(page_items) => items.extend(page_items),
                other => {
                    return Err(Error::GitHub(format!(
                        "GET {}: expected a list, got {}",
                        strip_query(&page),
                        kind_of(&other)
                    )));
                }
            }
            next = reply.next;
        }
        Err(Error::GitHub(format!(
            "GET {}: more than 1000 pages",
            strip_query(path)
        )))
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}/{}", self.base, path.trim_start_matches('/'))
        }
    }

    async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Reply, Error> {
        let url = self.url(path);
        let what = format!("{method} {}", strip_query(path));
        let mut attempt = 0;
        loop {
            attempt += 1;
            let outcome = self.once(&method, &url, body).await;
            let wait = match outcome {
                Ok(Sent::Reply(reply)) => return Ok(reply),
                Ok(Sent::Unauthorized(message)) => {
                    return Err(Error::GitHub(format!(
                        "{what}: GitHub rejected the token (401 {message}): check that it is \
                         set and not expired"
                    )));
                }
                Ok(Sent::RateLimited { wait, message }) => {
                    // The primary limit resets within the hour; wait only when that is near.
                    if wait > Duration::from_secs(15 * 60) {
                        return Err(Error::GitHub(format!(
                            "{what}: {message}; the rate limit resets in {}",
                            humantime::format_duration(round_secs(wait))
                        )));
                    }
                    tracing::warn!(
                        "{what}: {message}; waiting {} as GitHub asks",
                        humantime::format_duration(round_secs(wait))
                    );
                    wait
                }
                Ok(Sent::Transient(message)) | Err(message) => {
                    if attempt >= ATTEMPTS {
                        return Err(Error::GitHub(format!(
                            "{what}: {message} (after {ATTEMPTS} attempts)"
                        )));
                    }
                    let wait = jittered(Duration::from_millis(500) * 2u32.pow(attempt - 1));
                    tracing::warn!(
                        "{what}: {message}; retrying in {} ({attempt}/{ATTEMPTS})",
                        humantime::format_duration(round_millis(wait))
                    );
                    wait
                }
            };
            if attempt >= ATTEMPTS + 2 {
                return Err(Error::GitHub(format!("{what}: still rate limited")));
            }
            self.cancel.sleep(wait).await?;
        }
    }

    /// One request, sorted into what the caller does next.
    async fn once(&self, method: &Method, url: &str, body: Option<&Value>) -> Result<Sent, String> {
        let cached_etag = (*method == Method::GET)
            .then(|| {
                let cache = self.cache.lock().expect("cache lock");
                cache.get(url).map(|c| c.etag.clone())
            })
            .flatten();
        let response = match *method {
            Method::GET => {
                let mut headers = HeaderMap::new();
                if let Some(etag) = &cached_etag
                    && let Ok(value) = HeaderValue::from_str(etag)
                {
                    headers.insert(http::header::IF_NONE_MATCH, value);
                }
                self.crab._get_with_headers(url, Some(headers)).await
            }
            Method::POST => self.crab._post(url, body).await,
            Method::PATCH => self.crab._patch(url, body).await,
            Method::DELETE => self.crab._delete(url, body).await,
            _ => unreachable!("the client sends GET, POST, PATCH and DELETE only"),
        }
        .map_err(|e| chain(&e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let limits = Limits::from_headers(&headers);
        if let Some(limits) = limits {
            *self.limits.lock().expect("limits lock") = limits;
        }
        let text = self
            .crab
            .body_to_string(response)
            .await
            .map_err(|e| chain(&e))?;
        if status == StatusCode::NOT_MODIFIED {
            self.not_modified.fetch_add(1, Ordering::Relaxed);
            let cache = self.cache.lock().expect("cache lock");
            if let Some(cached) = cache.get(url) {
                return Ok(Sent::Reply(Reply {
                    status: StatusCode::OK,
                    body: cached.body.clone(),
                    next: cached.next.clone(),
                    changed: false,
                }));
            }
            return Err("304 Not Modified for a request that was not conditional".into());
        }
        self.counted.fetch_add(1, Ordering::Relaxed);
        let body: Value = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        let message = body
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if status == StatusCode::UNAUTHORIZED {
            return Ok(Sent::Unauthorized(message));
        }
        if let Some(wait) = pacing::rate_limit_wait(status, &headers, &message, limits) {
            return Ok(Sent::RateLimited { wait, message });
        }
        if status.is_server_error() {
            return Ok(Sent::Transient(format!("{} {message}", status.as_u16())));
        }
        let next = pacing::next_link(&headers);
        if status == StatusCode::OK
            && *method == Method::GET
            && let Some(etag) = headers
                .get(http::header::ETAG)
                .and_then(|v| v.to_str().ok())
        {
            self.cache.lock().expect("cache lock").insert(
                url.to_string(),
                Cached {
                    etag: etag.to_string(),
                    body: body.clone(),
                    next: next.clone(),
                },
            );
        }
        Ok(Sent::Reply(Reply {
            status,
            body,
            next,
            changed: true,
        }))
    }
}

enum Sent {
    Reply(Reply),
    Unauthorized(String),
    RateLimited { wait: Duration, message: String },
    Transient(String),
}

fn strip_query(path: &str) -> &str {
    path.split('?').next().unwrap_or(path)
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn round_secs(d: Duration) -> Duration {
    Duration::from_secs(d.as_secs().max(1))
}

fn round_millis(d: Duration) -> Duration {
    Duration::from_millis(d.as_millis() as u64)
}

/// `owner/name` split in two.
pub fn split_repository(repo: &str) -> Option<(&str, &str)> {
    repo.split_once('/')
        .filter(|(o, n)| !o.is_empty() && !n.is_empty() && !n.contains('/'))
}
