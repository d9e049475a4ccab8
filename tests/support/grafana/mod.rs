//! A faithful, stateful, in-process fake of Grafana's annotations HTTP API.
//!
//! [`FakeGrafana::start`] binds `127.0.0.1:0` and serves HTTP/1.1 from its own thread, like
//! the fake GitHub next door, so synchronous tests point the binary at it through
//! `[grafana] url`. All state sits behind one mutex.
//!
//! What it models, each in its own file:
//! - `server.rs`: HTTP plumbing, service-account token authentication (401 for a bad
//!   token, 403 for a Viewer's), fault injection (5xx, 429 with `Retry-After`), and the
//!   record of calls and unknown routes.
//! - `annotations.rs`: annotations: create, get, patch, find by tags and dashboard.
//!
//! A request to a route the fake does not know answers 404 like Grafana, but is also
//! recorded, and dropping the fake panics listing them.

mod annotations;
mod server;

use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;

/// One annotation as the fake holds it, for assertions.
#[derive(Debug, Clone, PartialEq)]
pub struct AnnotationView {
    pub id: u64,
    /// The dashboard's uid when the annotation belongs to a known dashboard.
    pub dashboard_uid: Option<String>,
    pub panel_id: u64,
    pub time: i64,
    pub time_end: i64,
    pub text: String,
    pub tags: Vec<String>,
}

/// One request the fake answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub method: String,
    pub path: String,
    /// The raw query string, without `?`.
    pub query: String,
    pub status: u16,
    /// The `Authorization` header as sent, so tests can check no token leaked elsewhere.
    pub authorization: Option<String>,
    pub body: String,
}

/// The fake server. Dropping it stops the server and panics if it received requests for
/// routes it does not know (unless the thread is already panicking).
pub struct FakeGrafana {
    state: Arc<Mutex<State>>,
    server: Option<server::Server>,
    base: String,
}

impl FakeGrafana {
    pub fn start() -> FakeGrafana {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local address").port();
        let base = format!("http://127.0.0.1:{port}");
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        // Grafana's service-account tokens start `glsa_`.
        let editor = format!("glsa_fakeEditor{nanos:x}_{:x}", std::process::id());
        let viewer = format!("glsa_fakeViewer{nanos:x}_{:x}", std::process::id());
        let state = Arc::new(Mutex::new(State::new(editor, viewer)));
        let server = server::start(state.clone(), listener);
        FakeGrafana {
            state,
            server: Some(server),
            base,
        }
    }

    /// The base URL for `[grafana] url`, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> &str {
        &self.base
    }

    /// A token of a service account with the Editor role: it may write annotations.
    pub fn token(&self) -> String {
        self.lock().editor_token.clone()
    }

    /// A token of a service account with the Viewer role: reads work, writes get 403.
    pub fn viewer_token(&self) -> String {
        self.lock().viewer_token.clone()
    }

    /// Creates a dashboard with this uid (annotations may then belong to it).
    pub fn add_dashboard(&self, uid: &str) {
        let mut st = self.lock();
        let id = st.dashboards.len() as u64 + 1;
        st.dashboards.push((id, uid.to_string()));
    }

    /// Every annotation, by id.
    pub fn annotations(&self) -> Vec<AnnotationView> {
        self.lock().annotations.views()
    }

    /// The next `n` requests fail with `status` (a 5xx as a proxy or Grafana answers it;
    /// 429 with `Retry-After: 1`).
    pub fn fail_next(&self, n: u32, status: u16) {
        let mut st = self.lock();
        st.fail = n;
        st.fail_status = status;
    }

    /// Every request answered so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// The requests (`METHOD /path?query`) that matched no route the fake knows.
    pub fn unknown_requests(&self) -> Vec<String> {
        self.lock().unknown.clone()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }
}

impl Drop for FakeGrafana {
    fn drop(&mut self) {
        if let Some(mut server) = self.server.take() {
            server.stop();
        }
        if !std::thread::panicking() {
            let unknown = self.unknown_requests();
            assert!(
                unknown.is_empty(),
                "fake Grafana got requests it does not know: {}",
                unknown.join(", ")
            );
        }
    }
}

/// Everything the fake knows.
struct State {
    editor_token: String,
    viewer_token: String,
    /// `(id, uid)` of each dashboard.
    dashboards: Vec<(u64, String)>,
    annotations: annotations::Annotations,
    fail: u32,
    fail_status: u16,
    calls: Vec<Call>,
    unknown: Vec<String>,
}

impl State {
    fn new(editor_token: String, viewer_token: String) -> Self {
        State {
            editor_token,
            viewer_token,
            dashboards: Vec::new(),
            annotations: annotations::Annotations::default(),
            fail: 0,
            fail_status: 503,
            calls: Vec::new(),
            unknown: Vec::new(),
        }
    }
}

/// Who a request authenticated as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Editor,
    Viewer,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// Grafana's error body for a plain `response.Error`: `{"message": …}`.
fn message(text: &str) -> Value {
    serde_json::json!({ "message": text })
}
