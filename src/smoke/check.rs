//! One check, ready to run: its request with placeholders filled in, its assertions, and
//! the loop that retries it with exponential backoff and jitter until it passes or its
//! deadline runs out, so a smoke run doubles as a wait until the service is ready.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use reqwest::Method;

use super::assert::{Answer, Assertion, Failure, first_failure};
use super::secret::Secrets;
use super::template::{TemplateError, expand};
use crate::config::SmokeCheck;
use crate::error::{Error, Result, chain};
use crate::signals::Cancel;

/// The first pause between attempts; each next one doubles, up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(100);
/// The longest pause between attempts, so a service that becomes ready is seen soon.
const MAX_PAUSE: Duration = Duration::from_secs(2);
/// Less time than this left before the deadline is not worth another attempt.
const LAST_CHANCE: Duration = Duration::from_millis(10);
/// The most body a check reads; assertions see this much.
const MAX_BODY: usize = 4 << 20;
/// How much of a body a failure shows.
const EXCERPT_CHARS: usize = 300;

/// How a check's client is built; checks that agree share one client.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientKind {
    pub follow_redirects: bool,
    pub ca_file: Option<PathBuf>,
}

/// A check ready to run.
#[derive(Debug, Clone)]
pub struct Check {
    pub name: String,
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    pub assertions: Vec<Assertion>,
    pub timeout: Duration,
    pub deadline: Duration,
    pub client: ClientKind,
    pub secrets: Secrets,
}

/// How a check ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    Passed,
    /// The service answered, but not as expected (JUnit `<failure>`).
    Failed {
        failure: Failure,
        excerpt: String,
    },
    /// No answer: refused, timed out, TLS refused (JUnit `<error>`).
    Error(String),
}

/// A check's result; every text in it went through the check's [`Secrets`].
#[derive(Debug, Clone)]
pub struct CheckResult {
    pub name: String,
    pub method: String,
    pub url: String,
    /// Request headers, secret values masked.
    pub headers: Vec<(String, String)>,
    pub attempts: u32,
    /// From the first attempt to the end of the last.
    pub elapsed: Duration,
    /// The last answer's latency.
    pub latency: Option<Duration>,
    pub status: Option<u16>,
    pub outcome: Outcome,
}

impl CheckResult {
    pub fn passed(&self) -> bool {
        matches!(self.outcome, Outcome::Passed)
    }
}

/// One attempt's result.
enum Attempt {
    Passed(Answer),
    Failed(Answer, Failure),
    Error(String),
}

impl Check {
    /// `config` with its placeholders filled in. `dir` is where a relative `ca_file` is.
    pub fn prepare(
        config: &SmokeCheck,
        base_url: Option<&str>,
        env: &dyn Fn(&str) -> Option<String>,
        dir: Option<&std::path::Path>,
    ) -> Result<Check> {
        let mut secrets = Secrets::default();
        let fill = |what: &str, text: &str, secrets: &mut Secrets| {
            let expanded =
                expand(text, base_url, env).map_err(|e| bad_template(config, what, &e))?;
            for value in &expanded.from_env {
                secrets.add(value);
            }
            Ok::<_, Error>(expanded.text)
        };
        let url = fill("url", &config.url, &mut secrets)?;
        let parsed = url::Url::parse(&url).map_err(|e| {
            Error::Usage(format!(
                "smoke check `{}`: `url` {:?} is not a URL once filled in: {e}",
                config.name,
                secrets.mask(&url)
            ))
        })?;
        if let Some(password) = parsed.password() {
            secrets.add(password);
        }
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Error::Usage(format!(
                "smoke check `{}`: `url` must be http:// or https://, found {:?}",
                config.name,
                secrets.mask(&url)
            )));
        }
        let mut headers = Vec::new();
        for (name, value) in &config.headers {
            let value = fill(&format!("headers.{name}"), value, &mut secrets)?;
            secrets.add_header(name, &value);
            headers.push((name.clone(), value));
        }
        let body = match &config.body {
            Some(body) => Some(fill("body", body, &mut secrets)?),
            None => None,
        };
        let method = Method::from_bytes(config.method.as_bytes()).map_err(|_| {
            Error::Usage(format!(
                "smoke check `{}`: {:?} is not an HTTP method",
                config.name, config.method
            ))
        })?;
        let assertions = Assertion::all_of(config)
            .map_err(|e| Error::Usage(format!("smoke check `{}`: {e}", config.name)))?;
        let ca_file = config.ca_file.as_deref().map(|f| match dir {
            Some(dir) => dir.join(f),
            None => PathBuf::from(f),
        });
        Ok(Check {
            name: config.name.clone(),
            method,
            url,
            headers,
            body,
            assertions,
            timeout: config.timeout.get(),
            deadline: config.deadline.get(),
            client: ClientKind {
                follow_redirects: config.follow_redirects,
                ca_file,
            },
            secrets,
        })
    }

    /// Tries until the check passes or its deadline passes; `Err` only when cancelled.
    pub async fn run(&self, client: &reqwest::Client, cancel: &Cancel) -> Result<CheckResult> {
        let start = Instant::now();
        let deadline = start + self.deadline;
        let mut pause = FIRST_PAUSE;
        let mut attempts = 0;
        // The last answer that failed: an attempt the deadline cut short says less.
        let mut last_answer: Option<Attempt> = None;
        let last = loop {
            attempts += 1;
            let limit = self
                .timeout
                .min(deadline.saturating_duration_since(Instant::now()));
            let attempt = cancel.or_cancel(self.attempt(client, limit)).await?;
            match &attempt {
                Attempt::Passed(_) => break attempt,
                Attempt::Failed(_, failure) => tracing::debug!(
                    "smoke check `{}`: attempt {attempts}: {}",
                    self.name,
                    self.secrets.mask(&failure.to_string())
                ),
                Attempt::Error(e) => tracing::debug!(
                    "smoke check `{}`: attempt {attempts}: {}",
                    self.name,
                    self.secrets.mask(e)
                ),
            }
            let attempt = match (attempt, last_answer.take()) {
                (Attempt::Error(_), Some(answer)) if limit < self.timeout => answer,
                (attempt, _) => attempt,
            };
            let left = deadline.saturating_duration_since(Instant::now());
            if left < LAST_CHANCE {
                break attempt;
            }
            cancel.sleep(jitter(pause).min(left)).await?;
            pause = (pause * 2).min(MAX_PAUSE);
            if deadline.saturating_duration_since(Instant::now()) < LAST_CHANCE {
                break attempt;
            }
            if matches!(attempt, Attempt::Failed(..)) {
                last_answer = Some(attempt);
            }
        };
        let elapsed = start.elapsed();
        let mask = |text: &str| self.secrets.mask(text);
        let (latency, status, outcome) = match last {
            Attempt::Passed(a) => (Some(a.latency), Some(a.status), Outcome::Passed),
            Attempt::Failed(a, failure) => (
                Some(a.latency),
                Some(a.status),
                Outcome::Failed {
                    failure: Failure {
                        assertion: failure.assertion,
                        expected: mask(&failure.expected),
                        actual: mask(&failure.actual),
                    },
                    excerpt: mask(&excerpt(&a.body)),
                },
            ),
            Attempt::Error(e) => (None, None, Outcome::Error(mask(&e))),
        };
        Ok(CheckResult {
            name: self.name.clone(),
            method: self.method.to_string(),
            url: mask(&self.url),
            headers: self
                .headers
                .iter()
                .map(|(name, value)| (name.clone(), mask(value)))
                .collect(),
            attempts,
            elapsed,
            latency,
            status,
            outcome,
        })
    }

    /// One request, cut off after `limit`, and the assertions on its answer.
    async fn attempt(&self, client: &reqwest::Client, limit: Duration) -> Attempt {
        let mut request = client
            .request(self.method.clone(), &self.url)
            .timeout(limit);
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        if let Some(body) = &self.body {
            request = request.body(body.clone());
        }
        let sent = Instant::now();
        let read = async {
            let mut response = request.send().await?;
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let certificate = response
                .extensions()
                .get::<reqwest::tls::TlsInfo>()
                .and_then(|tls| tls.peer_certificate())
                .map(<[u8]>::to_vec);
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await? {
                let room = MAX_BODY.saturating_sub(body.len());
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                if room <= chunk.len() {
                    break;
                }
            }
            Ok::<_, reqwest::Error>(Answer {
                status,
                headers,
                body,
                latency: sent.elapsed(),
                certificate,
            })
        };
        // reqwest's timeout covers the body too; this one also bounds a stalled DNS lookup.
        let answer = match tokio::time::timeout(limit + Duration::from_millis(50), read).await {
            Err(_) => return Attempt::Error(no_answer(limit)),
            Ok(Err(e)) if e.is_timeout() => return Attempt::Error(no_answer(limit)),
            Ok(Err(e)) => {
                return Attempt::Error(format!("{} {}: {}", self.method, self.url, chain(&e)));
            }
            Ok(Ok(answer)) => answer,
        };
        match first_failure(&self.assertions, &answer) {
            None => Attempt::Passed(answer),
            Some(failure) => Attempt::Failed(answer, failure),
        }
    }
}

fn no_answer(limit: Duration) -> String {
    format!("no answer within {} ms", limit.as_millis())
}

fn bad_template(config: &SmokeCheck, what: &str, e: &TemplateError) -> Error {
    Error::Usage(format!("smoke check `{}`: `{what}`: {e}", config.name))
}

/// A pause of between half and all of `pause`, so checks that failed together do not
/// all try again at the same moment.
fn jitter(pause: Duration) -> Duration {
    pause.mul_f64(0.5 + rand::random::<f64>() * 0.5)
}

/// The start of a body, on one line with runs of white space made one, for a failure report.
fn excerpt(body: &[u8]) -> String {
    let text: String = String::from_utf8_lossy(body)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out: String = flat.chars().take(EXCERPT_CHARS).collect();
    if flat.chars().count() > EXCERPT_CHARS {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_keeps_between_half_and_all_of_the_pause() {
        for _ in 0..100 {
            let j = jitter(Duration::from_millis(1000));
            assert!(
                j >= Duration::from_millis(500) && j <= Duration::from_millis(1000),
                "{j:?}"
            );
        }
    }

    #[test]
    fn an_excerpt_is_one_short_line() {
        assert_eq!(excerpt(b"a\nb\tc  \r\n  d"), "a b c d");
        let long = "x".repeat(1000);
        assert_eq!(excerpt(long.as_bytes()).chars().count(), EXCERPT_CHARS + 1);
    }

    #[test]
    fn preparing_fills_in_placeholders_and_learns_the_secrets() {
        let config: SmokeCheck = toml::from_str(
            "name = \"a\"\nurl = \"${BASE_URL}/x?k=${KEY}\"\nheaders = { Authorization = \"Bearer abc\" }\n",
        )
        .unwrap();
        let env = |name: &str| (name == "KEY").then(|| "k3y".to_string());
        let check = Check::prepare(&config, Some("http://h:1"), &env, None).unwrap();
        assert_eq!(check.url, "http://h:1/x?k=k3y");
        assert_eq!(check.secrets.mask("k3y Bearer abc"), "*** ***");
        let with_password: SmokeCheck =
            toml::from_str("name = \"b\"\nurl = \"https://ops:hunter22@h/\"\n").unwrap();
        let check = Check::prepare(&with_password, None, &env, None).unwrap();
        assert_eq!(check.secrets.mask(&check.url), "https://ops:***@h/");
        let none = |_: &str| None;
        let e = Check::prepare(&config, Some("http://h:1"), &none, None).unwrap_err();
        assert!(e.to_string().contains("KEY is not set"), "{e}");
    }
}
