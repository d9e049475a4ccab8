//! `GET /rate_limit`.

use chrono::Utc;
use serde_json::{Value, json};

use super::State;
use super::server::{Endpoint, Resp};

pub(super) fn route(method: &str, segments: &[&str]) -> Option<Endpoint> {
    match (method, segments) {
        ("GET", ["rate_limit"]) => Some(Endpoint::new(|st, _| rate_limit(st)).free()),
        _ => None,
    }
}

// https://docs.github.com/en/rest/rate-limit/rate-limit#get-rate-limit-status-for-the-authenticated-user
// 200 with `resources` (core plus the other buckets, untouched here) and `rate` (the core
// bucket again). Calling it does not count against the primary limit and works when that
// is exhausted ("Rate limits for the REST API", "Checking the status of your rate limit").
fn rate_limit(st: &mut State) -> Resp {
    let l = &st.limits;
    let core =
        json!({"limit": l.limit, "used": l.used, "remaining": l.remaining(), "reset": l.reset});
    let now = Utc::now().timestamp();
    let untouched = |limit: u64, window: i64| -> Value {
        json!({"limit": limit, "used": 0, "remaining": limit, "reset": now + window})
    };
    Resp::ok(json!({
        "resources": {
            "core": core,
            "search": untouched(30, 60),
            "code_search": untouched(10, 60),
            "graphql": untouched(l.limit, 3600),
            "integration_manifest": untouched(5000, 3600),
            "source_import": untouched(100, 60),
            "code_scanning_upload": untouched(l.limit, 3600),
            "actions_runner_registration": untouched(10000, 3600),
            "scim": untouched(15000, 3600),
            "dependency_snapshots": untouched(100, 60),
            "audit_log": untouched(1750, 3600),
        },
        "rate": core,
    }))
}
