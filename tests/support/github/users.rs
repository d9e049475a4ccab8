//! Users: ids for logins and the "simple user" object GitHub embeds wherever a person is
//! named (`user`, `assignees`, team members, reviewers).
//!
//! Shape from the `simple-user` schema shown with e.g.
//! https://docs.github.com/en/rest/teams/members#list-team-members

use std::collections::HashMap;

use serde_json::{Value, json};

use super::{BOT_LOGIN, HTML_BASE, node_id};

/// GitHub's real id of `github-actions[bot]`.
const BOT_ID: u64 = 41898282;

pub(super) struct Users {
    ids: HashMap<String, u64>,
    next: u64,
}

impl Users {
    pub fn new() -> Self {
        let mut ids = HashMap::new();
        ids.insert(BOT_LOGIN.to_string(), BOT_ID);
        Users { ids, next: 5000 }
    }

    /// The id of `login`, given one on first sight.
    pub fn id(&mut self, login: &str) -> u64 {
        if let Some(id) = self.ids.get(login) {
            return *id;
        }
        self.next += 1;
        self.ids.insert(login.to_string(), self.next);
        self.next
    }

    /// GitHub's `noreply` address for `login`, which commits made through the API carry.
    pub fn noreply_email(&mut self, login: &str) -> String {
        format!("{}+{login}@users.noreply.github.com", self.id(login))
    }

    /// The login behind a `noreply` address the fake handed out, if it is one.
    pub fn by_email(&self, email: &str) -> Option<String> {
        let local = email.strip_suffix("@users.noreply.github.com")?;
        let (id, login) = local.split_once('+')?;
        (self.ids.get(login)?.to_string() == id).then(|| login.to_string())
    }

    /// The simple-user object for `login`.
    pub fn json(&mut self, base: &str, login: &str) -> Value {
        let id = self.id(login);
        let bot = login.ends_with("[bot]");
        let path = login.replace('[', "%5B").replace(']', "%5D");
        let api = format!("{base}/users/{path}");
        let html = match login.strip_suffix("[bot]") {
            Some(app) => format!("{HTML_BASE}/apps/{app}"),
            None => format!("{HTML_BASE}/{login}"),
        };
        json!({
            "login": login,
            "id": id,
            "node_id": node_id(if bot { "BOT" } else { "U" }, &id.to_string()),
            "avatar_url": format!("https://avatars.githubusercontent.com/u/{id}?v=4"),
            "gravatar_id": "",
            "url": api,
            "html_url": html,
            "followers_url": format!("{api}/followers"),
            "following_url": format!("{api}/following{{/other_user}}"),
            "gists_url": format!("{api}/gists{{/gist_id}}"),
            "starred_url": format!("{api}/starred{{/owner}}{{/repo}}"),
            "subscriptions_url": format!("{api}/subscriptions"),
            "organizations_url": format!("{api}/orgs"),
            "repos_url": format!("{api}/repos"),
            "events_url": format!("{api}/events{{/privacy}}"),
            "received_events_url": format!("{api}/received_events"),
            "type": if bot { "Bot" } else { "User" },
            "user_view_type": "public",
            "site_admin": false,
        })
    }
}
