//! After every switch: ask through the router, as a client would, and check that the
//! intended release is the one answering, and answering well.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::{BACKEND_HEADER, PIN_HEADER, Staged};

/// What verification saw.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Verification {
    pub url: String,
    pub requests: u32,
    pub elapsed_ms: u64,
}

/// One answer through the router: its status, the backend that gave it, the start of its body.
struct Answer {
    status: u16,
    backend: String,
    excerpt: String,
}

/// What a check of a staged backend found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Staging {
    /// It answered well, `requests` times in a row, through the router.
    Answers { requests: u32 },
    /// The router answered from another backend: its config has no rule for
    /// [`PIN_HEADER`] (a host router set up without it). The switch checks it instead.
    NotPinned,
}

/// Asks through the router, as a new client would, which release answers. Made when a
/// command starts, so that building its HTTP client (which reads the trust store for an
/// `https://` router URL) never happens at the moment of a switch.
pub struct Verifier {
    base_url: String,
    client: reqwest::Client,
}

impl Verifier {
    pub fn new(base_url: &str) -> Result<Self, String> {
        Ok(Self {
            base_url: base_url.trim_end_matches('/').to_string(),
            client: client(crate::http::client_builder(base_url))?,
        })
    }

    /// Asks through `url` from now on when it answers: the router's own address, which a
    /// request reaches without the published port's proxy (docker-proxy, a process that
    /// every client connection from this machine also crosses, so the tool's checks at a
    /// switch would compete with them there). Any HTTP answer within a second will do: it
    /// is the same listener. Returns whether it did.
    pub async fn prefer(&mut self, url: &str, path: &str) -> bool {
        let url = url.trim_end_matches('/');
        // A container's address is never reached through an HTTP proxy.
        let Ok(direct) = client(crate::http::plain_client_builder().no_proxy()) else {
            return false;
        };
        let probe = direct
            .get(format!("{url}{path}"))
            .timeout(Duration::from_secs(1))
            .send()
            .await;
        match probe {
            Ok(_) => {
                tracing::debug!(
                    "verifying through the router at {url}, its address on the service network \
                     (clients use {})",
                    self.base_url
                );
                self.base_url = url.to_string();
                self.client = direct;
                true
            }
            Err(e) => {
                tracing::debug!(
                    "the router's network address {url} does not answer from here ({e}); \
                     verifying through {}",
                    self.base_url
                );
                false
            }
        }
    }

    /// Before a switch: asks through the router for the staged backend alone, `consecutive`
    /// times, each on a new connection (the router keeps its connections to the backend for
    /// the clients that follow). A 5xx from it fails; connection errors are retried until
    /// `deadline`.
    pub async fn check_staged(
        &self,
        path: &str,
        staged: &Staged,
        consecutive: u32,
        deadline: Duration,
    ) -> Result<Staging, String> {
        let url = format!("{}{path}", self.base_url);
        let start = Instant::now();
        let want = staged.addr.to_string();
        let mut streak = 0u32;
        loop {
            let last = match self.ask(&url, Some(&staged.pin)).await {
                Ok(answer) => {
                    if answer.backend != want {
                        return Ok(Staging::NotPinned);
                    }
                    if answer.status >= 500 {
                        return Err(format!(
                            "the new release answers wrong through the router (checked before \
                             any client was sent to it): GET {url} answered {}: {}",
                            answer.status, answer.excerpt
                        ));
                    }
                    streak += 1;
                    if streak >= consecutive.max(1) {
                        return Ok(Staging::Answers { requests: streak });
                    }
                    continue;
                }
                Err(e) => format!("GET {url} failed: {e}"),
            };
            streak = 0;
            if start.elapsed() > deadline {
                return Err(format!(
                    "the router did not reach the new release within {deadline:?}; last: {last}"
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// One GET on a new connection, pinned to a slot or not.
    async fn ask(&self, url: &str, pin: Option<&str>) -> reqwest::Result<Answer> {
        let mut request = self.client.get(url);
        if let Some(pin) = pin {
            request = request.header(PIN_HEADER, pin);
        }
        let resp = request.send().await?;
        let status = resp.status().as_u16();
        let backend = resp
            .headers()
            .get(BACKEND_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let body = resp.text().await.unwrap_or_default();
        Ok(Answer {
            status,
            backend,
            excerpt: body.chars().take(200).collect(),
        })
    }

    /// Passes when `needed` answers in a row (and at least one from every expected backend)
    /// came from one of `expected` with a status below 500. A 5xx from an expected backend
    /// fails at once: the new release answers wrong. Answers from other backends are retried
    /// until `deadline` (nginx needs a moment to start its new workers).
    pub async fn verify(
        &self,
        path: &str,
        expected: &[SocketAddr],
        needed: u32,
        deadline: Duration,
    ) -> Result<Verification, String> {
        let url = format!("{}{path}", self.base_url);
        let start = Instant::now();
        let want: HashSet<String> = expected.iter().map(|a| a.to_string()).collect();
        let needed = needed.max(expected.len() as u32);
        let mut streak = 0u32;
        let mut seen = HashSet::new();
        let mut sent = 0u32;
        let mut last;
        loop {
            sent += 1;
            match self.ask(&url, None).await {
                Ok(Answer {
                    status,
                    backend,
                    excerpt,
                }) => {
                    last =
                        format!("GET {url} answered {status} from backend `{backend}`: {excerpt}");
                    if want.contains(&backend) {
                        if status >= 500 {
                            return Err(format!(
                                "the new release answers wrong through the router: {last}"
                            ));
                        }
                        streak += 1;
                        seen.insert(backend);
                        if streak >= needed && seen.len() == want.len() {
                            return Ok(Verification {
                                url,
                                requests: sent,
                                elapsed_ms: start.elapsed().as_millis() as u64,
                            });
                        }
                        continue;
                    }
                    if backend.is_empty() {
                        last.push_str(&format!(
                            " (no {BACKEND_HEADER} header: does the router config add it?)"
                        ));
                    }
                    streak = 0;
                }
                Err(e) => {
                    streak = 0;
                    last = format!("GET {url} failed: {e}");
                }
            }
            if start.elapsed() > deadline {
                return Err(format!(
                    "the router did not send requests to the new release within {deadline:?}; last: {last}"
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The verification client, from `builder`. A new connection for every request, as a new
/// client makes: a reused one would prove only that the process which accepted it routes
/// right, while an nginx worker of the previous configuration may still be accepting new
/// connections.
fn client(builder: reqwest::ClientBuilder) -> Result<reqwest::Client, String> {
    builder
        .timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .build()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))
}
