//! Organisation teams and their members.

use serde_json::Value;

use super::server::{Endpoint, Req, Resp, paginate};
use super::{State, team_key};

const DOCS_MEMBERS: &str = "https://docs.github.com/rest/teams/members#list-team-members";

pub(super) fn route(method: &str, segments: &[&str]) -> Option<Endpoint> {
    match (method, segments) {
        ("GET", ["orgs", org, "teams", slug, "members"]) => {
            let key = team_key(org, slug);
            Some(Endpoint::new(move |st, req| list_members(st, req, &key)))
        }
        _ => None,
    }
}

// https://docs.github.com/en/rest/teams/members#list-team-members
// 200 with a page of simple-user objects (`per_page` / `page`, `link` header); `role` is
// accepted and ignored (every member is listed). A team that does not exist gets 404, as
// api.github.com answers (the docs list only 200).
fn list_members(st: &mut State, req: &Req, key: &str) -> Resp {
    let State {
        base, teams, users, ..
    } = st;
    let Some(members) = teams.get(key) else {
        return Resp::not_found(DOCS_MEMBERS);
    };
    let items: Vec<Value> = members.iter().map(|m| users.json(base, m)).collect();
    paginate(base, req, items)
}
