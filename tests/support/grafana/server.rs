//! HTTP plumbing: the server thread, request parsing, authentication, fault injection,
//! routing and the record of calls.
//!
//! Behaviour follows:
//! - https://grafana.com/docs/grafana/latest/developers/http_api/authentication/
//!   (`Authorization: Bearer <service account token>`)
//! - Grafana's API-key authenticator (`pkg/services/authn/clients/api_key.go`): a token it
//!   does not know gets 401 `{"message":"Invalid API key","messageId":"api-key.invalid",
//!   "statusCode":401,…}`; no credentials at all get 401 `{"message":"Unauthorized"}`.
//! - https://grafana.com/docs/grafana/latest/administration/roles-and-permissions/access-control/
//!   (a role without the action gets 403 "You'll need additional permissions…")

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::Full;
use serde_json::{Value, json};

use super::{Call, Role, State, lock, message};

pub(super) type Server = crate::support::loopback::LoopbackServer;

/// Serves the fake's `state` on `listener`.
pub(super) fn start(state: Arc<Mutex<State>>, listener: std::net::TcpListener) -> Server {
    Server::start(
        "fake-grafana",
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
    pub path: String,
    pub raw_query: String,
    /// Decoded query parameters, in order (`tags` repeats).
    pub query: Vec<(String, String)>,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl Req {
    fn new(parts: &hyper::http::request::Parts, body: Vec<u8>) -> Req {
        let raw_query = parts.uri.query().unwrap_or("").to_string();
        let query = url::form_urlencoded::parse(raw_query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
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
            path: parts.uri.path().to_string(),
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

    pub fn params(&self, name: &str) -> Vec<String> {
        self.query
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    fn describe(&self) -> String {
        if self.raw_query.is_empty() {
            format!("{} {}", self.method, self.path)
        } else {
            format!("{} {}?{}", self.method, self.path, self.raw_query)
        }
    }
}

pub(super) struct Resp {
    pub status: u16,
    pub body: Value,
    pub headers: Vec<(String, String)>,
}

impl Resp {
    pub fn json(status: u16, body: Value) -> Resp {
        Resp {
            status,
            body,
            headers: Vec::new(),
        }
    }

    pub fn ok(body: Value) -> Resp {
        Resp::json(200, body)
    }

    /// Grafana's `response.Error(status, message, err)` as a production server renders it.
    pub fn error(status: u16, text: &str) -> Resp {
        Resp::json(status, message(text))
    }

    fn into_hyper(self) -> hyper::Response<Full<Bytes>> {
        let body = Bytes::from(serde_json::to_vec(&self.body).unwrap_or_default());
        let mut builder = hyper::Response::builder()
            .status(self.status)
            .header("content-type", "application/json")
            .header("cache-control", "no-store")
            .header("x-content-type-options", "nosniff");
        for (k, v) in &self.headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        builder
            .body(Full::new(body))
            .unwrap_or_else(|_| hyper::Response::new(Full::new(Bytes::new())))
    }
}

type Run = Box<dyn FnOnce(&mut State, &Req, Role) -> Resp + Send>;

/// A matched route.
pub(super) struct Endpoint {
    pub run: Run,
}

impl Endpoint {
    pub fn new(run: impl FnOnce(&mut State, &Req, Role) -> Resp + Send + 'static) -> Endpoint {
        Endpoint { run: Box::new(run) }
    }
}

fn route(method: &str, segments: &[&str]) -> Option<Endpoint> {
    super::annotations::route(method, segments)
}

fn process(st: &mut State, req: &Req) -> Resp {
    let segments: Vec<&str> = req.path.trim_start_matches('/').split('/').collect();
    let resp = match route(&req.method, &segments) {
        None => {
            st.unknown.push(req.describe());
            Resp::error(404, "Not found")
        }
        Some(endpoint) => run(st, req, endpoint),
    };
    st.calls.push(Call {
        method: req.method.clone(),
        path: req.path.clone(),
        query: req.raw_query.clone(),
        status: resp.status,
        authorization: req.header("authorization").map(str::to_string),
        body: String::from_utf8_lossy(&req.body).into_owned(),
    });
    resp
}

fn run(st: &mut State, req: &Req, endpoint: Endpoint) -> Resp {
    // Injected faults: an overloaded Grafana (or the proxy in front of it) before any work.
    if st.fail > 0 {
        st.fail -= 1;
        return match st.fail_status {
            429 => Resp::error(429, "Too many requests").with_header("retry-after", "1"),
            502 => Resp::error(502, "Bad Gateway"),
            503 => Resp::error(503, "Service Unavailable"),
            status => Resp::error(status, "Internal Server Error"),
        };
    }
    let role = match authenticate(st, req) {
        Ok(role) => role,
        Err(resp) => return resp,
    };
    (endpoint.run)(st, req, role)
}

impl Resp {
    pub fn with_header(mut self, name: &str, value: &str) -> Resp {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
}

fn authenticate(st: &State, req: &Req) -> Result<Role, Resp> {
    let Some(value) = req.header("authorization") else {
        return Err(Resp::error(401, "Unauthorized"));
    };
    let token = value
        .trim()
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim());
    match token {
        Some(t) if t == st.editor_token => Ok(Role::Editor),
        Some(t) if t == st.viewer_token => Ok(Role::Viewer),
        _ => Err(Resp::json(
            401,
            json!({
                "extra": null,
                "message": "Invalid API key",
                "messageId": "api-key.invalid",
                "statusCode": 401,
                "traceID": "",
            }),
        )),
    }
}

/// The 403 Grafana's access control answers when the role lacks `action`.
pub(super) fn forbidden(action: &str) -> Resp {
    Resp::json(
        403,
        json!({
            "accessErrorId": "ACE0000000001",
            "message": format!(
                "You'll need additional permissions to perform this action. Permissions needed: {action}"
            ),
            "title": "Access denied",
        }),
    )
}
