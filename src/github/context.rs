//! What GitHub Actions tells a step about its run, through the environment.
//! <https://docs.github.com/actions/reference/variables-reference#default-environment-variables>

/// The run a step belongs to; every field is empty outside Actions.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RunContext {
    pub server_url: Option<String>,
    pub repository: Option<String>,
    pub run_id: Option<String>,
    pub run_attempt: Option<String>,
    pub job: Option<String>,
    pub workflow: Option<String>,
    /// `GITHUB_ACTOR`, or the local user.
    pub actor: String,
    pub sha: Option<String>,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl RunContext {
    pub fn from_env() -> Self {
        Self {
            server_url: var("GITHUB_SERVER_URL"),
            repository: var("GITHUB_REPOSITORY"),
            run_id: var("GITHUB_RUN_ID"),
            run_attempt: var("GITHUB_RUN_ATTEMPT"),
            job: var("GITHUB_JOB"),
            workflow: var("GITHUB_WORKFLOW"),
            actor: Self::actor(),
            sha: var("GITHUB_SHA"),
        }
    }

    /// Who started this: `GITHUB_ACTOR`, or the local user.
    pub fn actor() -> String {
        var("GITHUB_ACTOR")
            .or_else(|| whoami::username().ok())
            .unwrap_or_else(|| "unknown".into())
    }

    /// The run's page, under Actions.
    pub fn run_url(&self) -> Option<String> {
        Some(format!(
            "{}/{}/actions/runs/{}",
            self.server_url.as_deref()?,
            self.repository.as_deref()?,
            self.run_id.as_deref()?
        ))
    }

    /// The page comparing `base` with this run's commit.
    pub fn compare_url(&self, base: &str) -> Option<String> {
        Some(format!(
            "{}/{}/compare/{base}...{}",
            self.server_url.as_deref()?,
            self.repository.as_deref()?,
            self.sha.as_deref()?
        ))
    }
}
