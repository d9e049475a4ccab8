//! HTTP plumbing shared by every endpoint: the server thread, request parsing, routing,
//! authentication, rate limits, conditional requests, pagination, fault injection and the
//! bookkeeping of calls and unknown routes.
//!
//! Behaviour follows:
//! - https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api
//!   (the `x-ratelimit-*` headers; 403 with `x-ratelimit-remaining: 0` past the primary
//!   limit; 403 with `retry-after` for a secondary limit)
//! - https://docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api#use-conditional-requests-if-appropriate
//!   (`etag` / `if-none-match`; a 304 does not count against the primary limit)
//! - https://docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api
//!   (`per_page` default 30, max 100; the `link` header with prev/next/last/first, omitted
//!   when everything fits on one page; `per_page` and the other parameters kept in links)
//! - https://docs.github.com/en/rest/using-the-rest-api/troubleshooting-the-rest-api
//!   (401 "Bad credentials"; 404 for what does not exist)

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use chrono::Utc;
use http_body_util::Full;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{Call, RateLimit, State, WINDOW_SECS, lock};

const RATE_LIMIT_DOCS: &str = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api";
const SECONDARY_DOCS: &str = "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits";

pub(super) type Server = crate::support::loopback::LoopbackServer;

/// Serves the fake's `state` on `listener`.
pub(super) fn start(state: Arc<Mutex<State>>, listener: std::net::TcpListener) -> Server {
    Server::start(
        "fake-github",
        listener,
        Arc::new(move |parts, body| {
            let req = Req::new(&parts, body);
            let resp = {
                let mut st = lock(&state);
                process(&mut st, &req)
            };
            resp.into_hyper()
        }),
    )
}

/// A request, parsed.
pub(super) struct Req {
    pub method: String,
    /// The raw path, without the query.
    pub path: String,
    /// The raw query, without `?`.
    pub raw_query: String,
    /// Decoded query parameters, in order.
    pub query: Vec<(String, String)>,
    /// By lower-cased name.
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl Req {
    fn new(parts: &hyper::http::request::Parts, body: Vec<u8>) -> Req {
        let path = parts.uri.path().to_string();
        let raw_query = parts.uri.query().unwrap_or("").to_string();
        let query = raw_query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (decode(k, true), decode(v, true))
            })
            .collect();
        let headers = parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        Req {
            method: parts.method.as_str().to_string(),
            path,
            raw_query,
            query,
            headers,
            body,
        }
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    /// The JSON body; an empty body is `{}`. Unparseable JSON gets GitHub's 400.
    pub fn json(&self, docs: &str) -> Result<Value, Resp> {
        if self.body.iter().all(|b| b.is_ascii_whitespace()) {
            return Ok(json!({}));
        }
        match serde_json::from_slice::<Value>(&self.body) {
            Ok(v) if v.is_object() => Ok(v),
            _ => Err(Resp::error(400, "Problems parsing JSON", docs)),
        }
    }

    /// `METHOD /path?query`, for the unknown-route report.
    fn describe(&self) -> String {
        if self.raw_query.is_empty() {
            format!("{} {}", self.method, self.path)
        } else {
            format!("{} {}?{}", self.method, self.path, self.raw_query)
        }
    }
}

/// A response before the common headers are added.
pub(super) struct Resp {
    pub status: u16,
    pub body: Option<Value>,
    pub headers: Vec<(String, String)>,
}

impl Resp {
    pub fn json(status: u16, body: Value) -> Resp {
        Resp {
            status,
            body: Some(body),
            headers: Vec::new(),
        }
    }

    pub fn ok(body: Value) -> Resp {
        Resp::json(200, body)
    }

    /// 201 with a `location` header, as GitHub answers creations.
    pub fn created(body: Value, location: String) -> Resp {
        Resp::json(201, body).header("location", location)
    }

    pub fn no_content() -> Resp {
        Resp {
            status: 204,
            body: None,
            headers: Vec::new(),
        }
    }

    /// GitHub's error body: `{"message", "documentation_url", "status"}`.
    pub fn error(status: u16, message: &str, docs: &str) -> Resp {
        Resp::json(
            status,
            json!({
                "message": message,
                "documentation_url": docs,
                "status": status.to_string(),
            }),
        )
    }

    pub fn not_found(docs: &str) -> Resp {
        Resp::error(404, "Not Found", docs)
    }

    pub fn unprocessable(message: &str, docs: &str) -> Resp {
        Resp::error(422, message, docs)
    }

    /// The 422 a missing required body parameter gets.
    pub fn missing(field: &str, docs: &str) -> Resp {
        Resp::unprocessable(
            &format!("Invalid request.\n\n\"{field}\" wasn't supplied."),
            docs,
        )
    }

    /// 422 "Validation Failed" with one `errors` entry.
    pub fn invalid_field(resource: &str, field: &str, docs: &str) -> Resp {
        Resp::json(
            422,
            json!({
                "message": "Validation Failed",
                "errors": [{"resource": resource, "code": "invalid", "field": field}],
                "documentation_url": docs,
                "status": "422",
            }),
        )
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Resp {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    fn into_hyper(self) -> hyper::Response<Full<Bytes>> {
        let body = match &self.body {
            Some(v) => Bytes::from(serde_json::to_vec(v).unwrap_or_default()),
            None => Bytes::new(),
        };
        let mut builder = hyper::Response::builder().status(self.status);
        if self.body.is_some() {
            builder = builder.header("content-type", "application/json; charset=utf-8");
        }
        for (k, v) in &self.headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        builder
            .body(Full::new(body))
            .unwrap_or_else(|_| hyper::Response::new(Full::new(Bytes::new())))
    }
}

type Run = Box<dyn FnOnce(&mut State, &Req) -> Resp + Send>;

/// A matched route: what to run, and whether it costs rate limit.
pub(super) struct Endpoint {
    run: Run,
    counts: bool,
}

impl Endpoint {
    pub fn new(run: impl FnOnce(&mut State, &Req) -> Resp + Send + 'static) -> Endpoint {
        Endpoint {
            run: Box::new(run),
            counts: true,
        }
    }

    /// An endpoint that does not count against (nor is blocked by) the primary limit.
    pub fn free(mut self) -> Endpoint {
        self.counts = false;
        self
    }
}

fn route(method: &str, segments: &[&str]) -> Option<Endpoint> {
    super::git::route(method, segments)
        .or_else(|| super::issues::route(method, segments))
        .or_else(|| super::teams::route(method, segments))
        .or_else(|| super::actions::route(method, segments))
        .or_else(|| super::deployments::route(method, segments))
        .or_else(|| super::rate_limit::route(method, segments))
}

/// The primary and secondary limits and the injected faults.
pub(super) struct Limits {
    pub limit: u64,
    pub used: u64,
    /// UTC epoch seconds.
    pub reset: i64,
    /// How many of the next requests get a secondary-rate-limit 403.
    pub secondary: u32,
    pub retry_after: u64,
    /// How many of the next requests to known routes fail with `fail_status`.
    pub fail: u32,
    pub fail_status: u16,
}

impl Limits {
    pub fn new(limit: u64, reset: i64) -> Limits {
        Limits {
            limit,
            used: 0,
            reset,
            secondary: 0,
            retry_after: 60,
            fail: 0,
            fail_status: 502,
        }
    }

    pub fn remaining(&self) -> u64 {
        self.limit.saturating_sub(self.used)
    }

    /// Starts a fresh window once the current one has passed.
    pub fn roll(&mut self, now: i64) {
        if now >= self.reset {
            self.used = 0;
            self.reset = now + WINDOW_SECS;
        }
    }

    pub fn view(&self) -> RateLimit {
        RateLimit {
            limit: self.limit,
            remaining: self.remaining(),
            used: self.used,
            reset: self.reset,
        }
    }
}

/// Answers one request against the state.
fn process(st: &mut State, req: &Req) -> Resp {
    st.requests += 1;
    let request_id = format!(
        "FA4E:{:04X}:{:06X}",
        std::process::id() & 0xffff,
        st.requests
    );
    st.limits.roll(Utc::now().timestamp());

    let segments: Vec<String> = req
        .path
        .trim_start_matches('/')
        .split('/')
        .map(|s| decode(s, false))
        .collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let authenticated = authenticated(st, req);

    let (mut resp, counted) = match route(&req.method, &segments) {
        // What GitHub answers for a path or method it does not have; recorded so the test
        // fails (see `FakeGitHub::assert_known`).
        None => {
            st.unknown.push(req.describe());
            let counted = authenticated && st.limits.remaining() > 0;
            (Resp::not_found("https://docs.github.com/rest"), counted)
        }
        Some(endpoint) => run(st, req, endpoint, authenticated, &request_id),
    };
    if counted {
        st.limits.used += 1;
    }

    let l = &st.limits;
    for (name, value) in [
        ("x-ratelimit-limit", l.limit.to_string()),
        ("x-ratelimit-remaining", l.remaining().to_string()),
        ("x-ratelimit-used", l.used.to_string()),
        ("x-ratelimit-reset", l.reset.to_string()),
        ("x-ratelimit-resource", "core".to_string()),
        ("x-github-request-id", request_id),
        ("x-github-media-type", "github.v3; format=json".to_string()),
        ("x-github-api-version-selected", "2022-11-28".to_string()),
        (
            "vary",
            "Accept, Authorization, Cookie, X-GitHub-OTP".to_string(),
        ),
    ] {
        resp.headers.push((name.to_string(), value));
    }
    if req.method == "GET" && matches!(resp.status, 200 | 304) {
        resp.headers.push((
            "cache-control".into(),
            "private, max-age=60, s-maxage=60".into(),
        ));
    }

    st.calls.push(Call {
        method: req.method.clone(),
        path: req.path.clone(),
        query: req.raw_query.clone(),
        status: resp.status,
        counted,
    });
    resp
}

/// Runs a known endpoint through faults, auth, limits and conditional-request handling.
/// Returns the response and whether it costs rate limit.
fn run(
    st: &mut State,
    req: &Req,
    endpoint: Endpoint,
    authenticated: bool,
    request_id: &str,
) -> (Resp, bool) {
    // Injected outage (`fail_next`): what a proxy in front of the API answers, before any
    // authentication or accounting.
    if st.limits.fail > 0 {
        st.limits.fail -= 1;
        let status = st.limits.fail_status;
        let reason = hyper::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("Server Error");
        return (Resp::json(status, json!({ "message": reason })), false);
    }
    // https://docs.github.com/en/rest/authentication/authenticating-to-the-rest-api
    // (`Authorization: Bearer <token>` or `token <token>`; anything else is "Bad credentials").
    if !authenticated {
        return (
            Resp::error(401, "Bad credentials", "https://docs.github.com/rest"),
            false,
        );
    }
    // https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api#exceeding-the-rate-limit
    // A secondary limit: 403, a message saying so, and `retry-after` in seconds.
    if st.limits.secondary > 0 {
        st.limits.secondary -= 1;
        let message = format!(
            "You have exceeded a secondary rate limit. Please wait a few minutes before you try \
             again. If you reach out to GitHub Support for help, please include the request ID \
             {request_id}."
        );
        let resp = Resp::error(403, &message, SECONDARY_DOCS)
            .header("retry-after", st.limits.retry_after.to_string());
        return (resp, false);
    }
    // Same page: past the primary limit, 403 with `x-ratelimit-remaining: 0` until
    // `x-ratelimit-reset`.
    if endpoint.counts && st.limits.remaining() == 0 {
        let message = format!(
            "API rate limit exceeded for installation ID 1. If you reach out to GitHub Support \
             for help, please include the request ID {request_id} and timestamp {} UTC.",
            Utc::now().format("%Y-%m-%d %H:%M:%S")
        );
        return (Resp::error(403, &message, RATE_LIMIT_DOCS), false);
    }

    let mut resp = (endpoint.run)(st, req);
    // https://docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api#use-conditional-requests-if-appropriate
    // A matching `if-none-match` gets 304, which does not count against the primary limit.
    if req.method == "GET" && resp.status == 200 {
        let tag = etag(req, &resp);
        if if_none_match(req.header("if-none-match"), &tag) {
            let not_modified = Resp {
                status: 304,
                body: None,
                headers: vec![("etag".into(), tag)],
            };
            return (not_modified, false);
        }
        resp.headers.push(("etag".into(), tag));
    }
    (resp, endpoint.counts)
}

fn authenticated(st: &State, req: &Req) -> bool {
    let Some(value) = req.header("authorization") else {
        return false;
    };
    let value = value.trim();
    let token = value
        .split_once(' ')
        .filter(|(scheme, _)| {
            scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token")
        })
        .map(|(_, t)| t.trim());
    token == Some(st.token.as_str())
}

/// A weak ETag over everything the representation depends on: the resource (path and
/// query), the negotiated media type and the body.
fn etag(req: &Req, resp: &Resp) -> String {
    let mut hash = Sha256::new();
    hash.update(req.path.as_bytes());
    hash.update(b"?");
    hash.update(req.raw_query.as_bytes());
    hash.update(b"\n");
    hash.update(req.header("accept").unwrap_or("").as_bytes());
    hash.update(b"\n");
    if let Some(body) = &resp.body {
        hash.update(serde_json::to_vec(body).unwrap_or_default());
    }
    format!("W/\"{}\"", hex::encode(hash.finalize()))
}

/// Weak comparison against an `If-None-Match` list (RFC 9110 §13.1.2).
fn if_none_match(header: Option<&str>, tag: &str) -> bool {
    let Some(header) = header else { return false };
    let opaque = |t: &str| t.trim().trim_start_matches("W/").to_string();
    header
        .split(',')
        .any(|t| t.trim() == "*" || opaque(t) == opaque(tag))
}

/// One page of `items` per the request's `page` / `per_page`, with GitHub's `link` header.
pub(super) fn paginate(base: &str, req: &Req, items: Vec<Value>) -> Resp {
    let number = |name: &str| {
        req.param(name)
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|n| *n > 0)
    };
    let per_page = number("per_page").unwrap_or(30).min(100);
    let page = number("page").unwrap_or(1);
    let total = items.len();
    let last = total.div_ceil(per_page).max(1);
    let slice: Vec<Value> = items
        .into_iter()
        .skip((page - 1).saturating_mul(per_page))
        .take(per_page)
        .collect();

    let url = |p: usize| {
        let mut query: Vec<String> = req
            .query
            .iter()
            .filter(|(k, _)| k != "page")
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect();
        query.push(format!("page={p}"));
        format!("{base}{}?{}", req.path, query.join("&"))
    };
    let mut links = Vec::new();
    if page > 1 {
        links.push(format!("<{}>; rel=\"prev\"", url(page - 1)));
    }
    if page < last {
        links.push(format!("<{}>; rel=\"next\"", url(page + 1)));
        links.push(format!("<{}>; rel=\"last\"", url(last)));
    }
    if page > 1 {
        links.push(format!("<{}>; rel=\"first\"", url(1)));
    }
    let resp = Resp::ok(Value::Array(slice));
    if links.is_empty() {
        resp
    } else {
        resp.header("link", links.join(", "))
    }
}

/// Percent-decoding; `+` is a space in a query.
pub(super) fn decode(s: &str, query: bool) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex_digit(bytes[i + 1]), hex_digit(bytes[i + 2]))
            {
                (Some(hi), Some(lo)) => {
                    out.push(hi * 16 + lo);
                    i += 3;
                }
                _ => {
                    out.push(b'%');
                    i += 1;
                }
            },
            b'+' if query => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_digit(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Percent-encodes all but RFC 3986's unreserved characters.
pub(super) fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
