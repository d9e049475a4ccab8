//! Annotations: `POST /api/annotations`, `GET /api/annotations`,
//! `GET /api/annotations/:id` and `PATCH /api/annotations/:id`.
//!
//! Docs: https://grafana.com/docs/grafana/latest/developers/http_api/annotations/
//! Status codes and messages as Grafana's handlers answer them (`pkg/api/annotations.go`).

use serde_json::{Map, Value, json};

use super::server::{Endpoint, Req, Resp, forbidden};
use super::{AnnotationView, Role, State};

/// The service account the tokens belong to, as annotations name their author.
const LOGIN: &str = "sa-deploy-action";

struct Item {
    id: u64,
    dashboard_id: u64,
    dashboard_uid: Option<String>,
    panel_id: u64,
    time: i64,
    time_end: i64,
    text: String,
    tags: Vec<String>,
    data: Value,
    created: i64,
    updated: i64,
}

#[derive(Default)]
pub(super) struct Annotations {
    items: Vec<Item>,
}

impl Annotations {
    pub fn views(&self) -> Vec<AnnotationView> {
        self.items
            .iter()
            .map(|a| AnnotationView {
                id: a.id,
                dashboard_uid: a.dashboard_uid.clone(),
                panel_id: a.panel_id,
                time: a.time,
                time_end: a.time_end,
                text: a.text.clone(),
                tags: a.tags.clone(),
            })
            .collect()
    }
}

pub(super) fn route(method: &str, segments: &[&str]) -> Option<Endpoint> {
    let endpoint = match (method, segments) {
        ("POST", ["api", "annotations"]) => Endpoint::new(create),
        ("GET", ["api", "annotations"]) => Endpoint::new(find),
        ("GET", ["api", "annotations", id]) if *id != "tags" => {
            let id = id.to_string();
            Endpoint::new(move |st, _, _| get(st, &id))
        }
        ("PATCH", ["api", "annotations", id]) => {
            let id = id.to_string();
            Endpoint::new(move |st, req, role| patch(st, req, role, &id))
        }
        _ => return None,
    };
    Some(endpoint)
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The JSON body as Grafana's `web.Bind` reads it: an object, or 400 "bad request data".
fn body(req: &Req) -> Result<Map<String, Value>, Resp> {
    match serde_json::from_slice::<Value>(&req.body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(Resp::error(400, "bad request data")),
    }
}

/// An optional integer field; any other JSON type is a binding error.
fn int(map: &Map<String, Value>, key: &str) -> Result<i64, Resp> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(0),
        Some(Value::Number(n)) => n
            .as_i64()
            .ok_or_else(|| Resp::error(400, "bad request data")),
        Some(_) => Err(Resp::error(400, "bad request data")),
    }
}

/// An optional array of strings; `None` when absent or null.
fn tags(map: &Map<String, Value>) -> Result<Option<Vec<String>>, Resp> {
    match map.get("tags") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|t| t.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .map(Some)
            .ok_or_else(|| Resp::error(400, "bad request data")),
        Some(_) => Err(Resp::error(400, "bad request data")),
    }
}

fn string(map: &Map<String, Value>, key: &str) -> Result<String, Resp> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(Resp::error(400, "bad request data")),
    }
}

// https://grafana.com/docs/grafana/latest/developers/http_api/annotations/#create-annotation
// 200 `{"message":"Annotation added","id":N}`. `text` is required: without it 400 "Failed to
// save annotation". `time` defaults to now and `timeEnd` to `time` (a point); a region has
// `timeEnd` after `time`, and one ending before it starts cannot be saved (400). A
// `dashboardUID` that names no dashboard is ignored, and the annotation belongs to the
// organisation, as PostAnnotation does. Creating needs `annotations:create` (403 for a Viewer).
fn create(st: &mut State, req: &Req, role: Role) -> Resp {
    let map = match body(req) {
        Ok(m) => m,
        Err(e) => return e,
    };
    let parsed = (|| {
        Ok::<_, Resp>((
            string(&map, "dashboardUID")?,
            int(&map, "panelId")?,
            int(&map, "time")?,
            int(&map, "timeEnd")?,
            tags(&map)?.unwrap_or_default(),
            string(&map, "text")?,
        ))
    })();
    let (uid, panel_id, time, time_end, tags, text) = match parsed {
        Ok(p) => p,
        Err(e) => return e,
    };
    if role != Role::Editor {
        return forbidden("annotations:create");
    }
    if text.is_empty() {
        return Resp::error(400, "Failed to save annotation");
    }
    let time = if time == 0 { now_ms() } else { time };
    let time_end = if time_end == 0 { time } else { time_end };
    if time_end < time {
        return Resp::error(400, "Failed to save annotation");
    }
    let dashboard = st
        .dashboards
        .iter()
        .find(|(_, u)| !uid.is_empty() && *u == uid)
        .cloned();
    let id = st.annotations.items.len() as u64 + 1;
    let now = now_ms();
    st.annotations.items.push(Item {
        id,
        dashboard_id: dashboard.as_ref().map_or(0, |d| d.0),
        dashboard_uid: dashboard.map(|d| d.1),
        panel_id: panel_id.max(0) as u64,
        time,
        time_end,
        text,
        tags,
        data: map.get("data").cloned().unwrap_or_else(|| json!({})),
        created: now,
        updated: now,
    });
    Resp::ok(json!({ "message": "Annotation added", "id": id }))
}

/// The item DTO `GET` answers with.
fn dto(a: &Item) -> Value {
    json!({
        "id": a.id,
        "alertId": 0,
        "alertName": "",
        "dashboardId": a.dashboard_id,
        "dashboardUID": a.dashboard_uid,
        "panelId": a.panel_id,
        "userId": 2,
        "newState": "",
        "prevState": "",
        "created": a.created,
        "updated": a.updated,
        "time": a.time,
        "timeEnd": a.time_end,
        "text": a.text,
        "tags": a.tags,
        "login": LOGIN,
        "email": "",
        "avatarUrl": "",
        "data": a.data,
    })
}

fn parse_id(id: &str) -> Result<u64, Resp> {
    id.parse::<u64>()
        .map_err(|_| Resp::error(400, "annotationId is invalid"))
}

// GetAnnotationByID (`GET /api/annotations/:id`, swagger route getAnnotationByID in
// pkg/api/annotations.go): 200 with the item, 404 "Annotation not found", 400
// "annotationId is invalid" for an id that is not a number.
fn get(st: &mut State, id: &str) -> Resp {
    let id = match parse_id(id) {
        Ok(id) => id,
        Err(e) => return e,
    };
    match st.annotations.items.iter().find(|a| a.id == id) {
        Some(a) => Resp::ok(dto(a)),
        None => Resp::error(404, "Annotation not found"),
    }
}

// https://grafana.com/docs/grafana/latest/developers/http_api/annotations/#patch-annotation
// Updates `text` (when not empty), `tags` (when given), `time` and `timeEnd` (when above
// 0); 200 `{"message":"Annotation patched"}`. 404 "Annotation not found", 400 "bad request
// data" for a body that does not bind, 403 for a role without `annotations:write`.
fn patch(st: &mut State, req: &Req, role: Role, id: &str) -> Resp {
    let map = match body(req) {
        Ok(m) => m,
        Err(e) => return e,
    };
    let id = match parse_id(id) {
        Ok(id) => id,
        Err(e) => return e,
    };
    let parsed = (|| {
        Ok::<_, Resp>((
            string(&map, "text")?,
            tags(&map)?,
            int(&map, "time")?,
            int(&map, "timeEnd")?,
        ))
    })();
    let (text, tags, time, time_end) = match parsed {
        Ok(p) => p,
        Err(e) => return e,
    };
    let Some(item) = st.annotations.items.iter_mut().find(|a| a.id == id) else {
        return Resp::error(404, "Annotation not found");
    };
    if role != Role::Editor {
        return forbidden("annotations:write");
    }
    if let Some(tags) = tags {
        item.tags = tags;
    }
    if !text.is_empty() {
        item.text = text;
    }
    if time > 0 {
        item.time = time;
    }
    if time_end > 0 {
        item.time_end = time_end;
    }
    item.updated = now_ms();
    Resp::ok(json!({ "message": "Annotation patched" }))
}

// https://grafana.com/docs/grafana/latest/developers/http_api/annotations/#find-annotations
// Filters: `from`/`to` (epoch ms; an annotation matches when it overlaps), `dashboardUID`
// (one that names no dashboard is 400 "Invalid dashboard UID in annotation request"),
// `panelId`, `type` (`annotation` or `alert`), `tags` (repeated: all must match, or any
// with `matchAny=true`), `limit` (default 100). Newest first.
fn find(st: &mut State, req: &Req, _: Role) -> Resp {
    let number = |name: &str| req.param(name).and_then(|v| v.parse::<i64>().ok());
    let from = number("from").unwrap_or(0);
    let to = number("to").unwrap_or(i64::MAX);
    let limit = number("limit").filter(|l| *l > 0).unwrap_or(100) as usize;
    let panel = number("panelId").unwrap_or(0);
    let wanted = req.params("tags");
    let any = req.param("matchAny") == Some("true");
    let dashboard = match req.param("dashboardUID").filter(|u| !u.is_empty()) {
        Some(uid) => match st.dashboards.iter().find(|(_, u)| u == uid) {
            Some((id, _)) => Some(*id),
            None => return Resp::error(400, "Invalid dashboard UID in annotation request"),
        },
        None => None,
    };
    if req.param("type") == Some("alert") {
        return Resp::ok(json!([]));
    }
    let mut found: Vec<&Item> = st
        .annotations
        .items
        .iter()
        .filter(|a| a.time <= to && a.time_end >= from)
        .filter(|a| dashboard.is_none_or(|d| a.dashboard_id == d))
        .filter(|a| panel == 0 || a.panel_id as i64 == panel)
        .filter(|a| {
            let has = |t: &String| a.tags.contains(t);
            wanted.is_empty()
                || if any {
                    wanted.iter().any(has)
                } else {
                    wanted.iter().all(has)
                }
        })
        .collect();
    found.sort_by_key(|a| std::cmp::Reverse((a.time, a.time_end, a.id)));
    Resp::ok(Value::Array(
        found.into_iter().take(limit).map(dto).collect(),
    ))
}
