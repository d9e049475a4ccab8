//! Annotations as Grafana's API shapes them: what `POST` takes, what `GET` returns, and
//! the filters `GET /api/annotations` understands.

use serde::{Deserialize, Serialize};

/// One annotation as `GET /api/annotations` and `GET /api/annotations/:id` return it.
/// A region has `timeEnd` after `time`; a point has them equal.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Annotation {
    pub id: u64,
    #[serde(default, rename = "dashboardUID")]
    pub dashboard_uid: Option<String>,
    #[serde(default)]
    pub panel_id: Option<u64>,
    /// Epoch milliseconds.
    pub time: i64,
    #[serde(default)]
    pub time_end: i64,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub tags: Vec<String>,
}

/// The body of `POST /api/annotations`. Without `dashboardUID` the annotation belongs to
/// the organisation and dashboards find it by its tags.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewAnnotation {
    #[serde(rename = "dashboardUID", skip_serializing_if = "Option::is_none")]
    pub dashboard_uid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub panel_id: Option<u64>,
    /// Epoch milliseconds.
    pub time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_end: Option<i64>,
    pub tags: Vec<String>,
    pub text: String,
}

/// Filters of `GET /api/annotations`: every tag must match.
#[derive(Debug, Clone, Default)]
pub struct Find {
    pub tags: Vec<String>,
    pub dashboard_uid: Option<String>,
    pub panel_id: Option<u64>,
    pub limit: u32,
}

impl Find {
    pub(super) fn query(&self) -> Vec<(&'static str, String)> {
        let mut query: Vec<(&'static str, String)> =
            self.tags.iter().map(|t| ("tags", t.clone())).collect();
        if let Some(uid) = &self.dashboard_uid {
            query.push(("dashboardUID", uid.clone()));
        }
        if let Some(panel) = self.panel_id {
            query.push(("panelId", panel.to_string()));
        }
        query.push(("type", "annotation".into()));
        query.push(("limit", self.limit.max(1).to_string()));
        query
    }
}

/// Now, in the epoch milliseconds Grafana's `time` fields take.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
