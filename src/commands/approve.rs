//! `approve`: wait for a human decision before a release.

use clap::Args;
use serde_json::json;

use crate::approve::{Request, Settings, approve};
use crate::config::{ApprovalBackendKind, Config, Duration};
use crate::error::{Error, Result};
use crate::github::RunContext;
use crate::output::Ui;
use crate::signals::Cancel;

#[derive(Debug, Args)]
pub struct ApproveArgs {
    /// How to ask: `tty`, `github-issue` or `github-environment`. Default: `approval.backend`.
    #[arg(long, env = "DEPLOY_ACTION_APPROVAL_BACKEND", value_parser = backend)]
    pub backend: Option<ApprovalBackendKind>,

    /// The version to be deployed, shown to approvers.
    #[arg(long, env = "DEPLOY_ACTION_VERSION")]
    pub version: Option<String>,

    /// The image (with its digest) to be deployed, shown to approvers.
    #[arg(long, env = "DEPLOY_ACTION_IMAGE")]
    pub image: Option<String>,

    /// What serves now (a tag or commit): the request links the changes since.
    #[arg(long, env = "DEPLOY_ACTION_BASE", value_name = "REF")]
    pub base: Option<String>,

    /// A Markdown scan summary (`scan --summary`'s file) to show approvers.
    #[arg(long, env = "DEPLOY_ACTION_SCAN_SUMMARY", value_name = "FILE")]
    pub scan_summary: Option<std::path::PathBuf>,

    /// The longest wait for a decision; then the request is closed (exit 4). Default:
    /// `approval.timeout` (1h).
    #[arg(long, env = "DEPLOY_ACTION_APPROVAL_TIMEOUT", value_name = "DURATION")]
    pub timeout: Option<Duration>,

    /// How often to look for new comments. Default: `approval.poll` (15s).
    #[arg(long, env = "DEPLOY_ACTION_APPROVAL_POLL", value_name = "DURATION")]
    pub poll: Option<Duration>,

    /// Approvers (users and `org/team`), comma-separated. Default: `approval.approvers`.
    #[arg(long, env = "DEPLOY_ACTION_APPROVERS", value_delimiter = ',')]
    pub approvers: Vec<String>,

    /// Approvals needed. Default: `approval.min_approvals` (1).
    #[arg(long, env = "DEPLOY_ACTION_MIN_APPROVALS")]
    pub min_approvals: Option<u32>,

    /// `tty`: approve without asking, for scripts.
    #[arg(long, short = 'y', env = "DEPLOY_ACTION_YES")]
    pub yes: bool,
}

fn backend(value: &str) -> std::result::Result<ApprovalBackendKind, String> {
    match value.trim() {
        "tty" => Ok(ApprovalBackendKind::Tty),
        "github-issue" => Ok(ApprovalBackendKind::GithubIssue),
        "github-environment" => Ok(ApprovalBackendKind::GithubEnvironment),
        other => Err(format!(
            "`{other}` is not an approval backend: use `tty`, `github-issue` or `github-environment`"
        )),
    }
}

pub async fn run(config: Option<Config>, args: ApproveArgs, ui: Ui, cancel: Cancel) -> Result<()> {
    let config = config.ok_or_else(|| {
        Error::Usage(
            "`approve` needs a deploy.toml naming the service: pass `--config PATH`".into(),
        )
    })?;
    let scan_summary = match &args.scan_summary {
        Some(path) => Some(std::fs::read_to_string(path).map_err(|e| {
            Error::Usage(format!(
                "cannot read the scan summary {}: {e}",
                path.display()
            ))
        })?),
        None => None,
    };
    let (request, settings) = prepare(&config, args, scan_summary)?;
    let approval = {
        let _phase = ui.phase("Approval");
        approve(&request, &settings, &cancel).await?
    };
    report(&ui, &request, &approval);
    Ok(())
}

/// The request and the settings: `[approval]`, then the flags.
pub(crate) fn prepare(
    config: &Config,
    args: ApproveArgs,
    scan_summary: Option<String>,
) -> Result<(Request, Settings)> {
    let mut settings = config.approval.clone().unwrap_or_default();
    if let Some(b) = args.backend {
        settings.backend = b;
    }
    if !args.approvers.is_empty() {
        settings.approvers = args
            .approvers
            .iter()
            .map(|a| a.trim().to_string())
            .collect();
    }
    if let Some(n) = args.min_approvals {
        settings.min_approvals = n;
    }
    if let Some(p) = args.poll {
        settings.poll = p;
    }
    if settings.backend == ApprovalBackendKind::GithubIssue && settings.approvers.is_empty() {
        return Err(Error::Usage(
            "nobody can approve: set `approval.approvers` or pass `--approvers`".into(),
        ));
    }
    if settings.min_approvals == 0 {
        return Err(Error::Usage("`--min-approvals` must be at least 1".into()));
    }
    let request = Request {
        service: config.service.clone(),
        environment: config.environment.clone(),
        version: args.version,
        image: args.image,
        base: args.base,
        scan_summary,
        run: RunContext::from_env(),
    };
    let timeout = args.timeout.unwrap_or(settings.timeout).get();
    let settings = Settings {
        config: settings,
        timeout,
        yes: args.yes,
    };
    Ok((request, settings))
}

fn report(ui: &Ui, request: &Request, approval: &crate::approve::Approval) {
    let logins: Vec<&str> = approval
        .approvers
        .iter()
        .map(|a| a.login.as_str())
        .collect();
    ui.outputs(&[
        ("approvers", logins.join(",")),
        ("issue-url", approval.issue_url.clone().unwrap_or_default()),
    ]);
    if ui.actions() {
        let mut md = format!(
            "### Approval of {} {}\n\n| Approver | When | Comment |\n|---|---|---|\n",
            request.service,
            request.version.as_deref().unwrap_or("")
        );
        for a in &approval.approvers {
            md.push_str(&format!(
                "| @{} | {} | {} |\n",
                a.login,
                a.at,
                a.comment
                    .as_deref()
                    .unwrap_or("")
                    .replace('|', "\\|")
                    .replace('\n', " ")
            ));
        }
        if let Some(url) = &approval.issue_url {
            md.push_str(&format!("\nRequest: {url}\n"));
        }
        if let Err(e) = crate::ci::append_summary(&md) {
            tracing::warn!("cannot write the step summary: {e}");
        }
    }
    if ui.json {
        super::print_json(&json!({
            "ok": true,
            "approval": approval,
            "api_calls": approval.api_calls.map(|(c, f)| json!({"counted": c, "not_modified": f})),
        }));
    } else {
        println!("approved by {}", logins.join(", "));
    }
}
