//! `annotate point | start | finish`: mark a deploy in Grafana (a point, or a region that
//! `start` opens and `finish` closes with its outcome) and record it in GitHub's
//! deployments (`start` creates one, in progress; `finish` sets success or failure).
//!
//! A deploy must not fail for want of a note: by default every Grafana or GitHub failure
//! is a warning and the command exits 0. `--required` makes it exit 3 instead.

use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Value, json};

use crate::config::{Config, GrafanaConfig};
use crate::docker::EngineHost;
use crate::error::{Error, Result};
use crate::github::deployments::{Deployments, NewDeployment, Status};
use crate::github::{GitHub, RunContext};
use crate::grafana::{Annotation, Find, Grafana, NewAnnotation, now_ms};
use crate::output::Ui;
use crate::signals::Cancel;

/// The tag an open region carries until `finish` replaces it with the outcome.
const IN_PROGRESS: &str = "in-progress";

/// The variable that holds the token for GitHub deployment records (the job's own token
/// has `deployments: write`).
const GITHUB_TOKEN_ENV: &str = "GITHUB_TOKEN";

#[derive(Debug, Args)]
pub struct AnnotateArgs {
    #[command(subcommand)]
    pub action: AnnotateAction,
}

#[derive(Debug, Subcommand)]
pub enum AnnotateAction {
    /// Write one annotation at this moment, with `--text`.
    Point(PointArgs),
    /// Open a region annotation for a deploy (outputs `id`) and, when `GITHUB_TOKEN` is
    /// set, create a GitHub deployment in progress (outputs `deployment-id`).
    Start(StartArgs),
    /// Close the region (its end is now) with the outcome tag, and set the GitHub
    /// deployment's status; a success marks earlier deployments of the environment inactive.
    Finish(FinishArgs),
}

/// What every action takes.
#[derive(Debug, Clone, Args)]
pub struct Common {
    /// The version deployed: a tag of the annotation, and in its text.
    #[arg(long, env = "DEPLOY_ACTION_VERSION")]
    pub version: Option<String>,

    /// What served before (a tag or commit): the text links the changes since.
    #[arg(long, env = "DEPLOY_ACTION_BASE", value_name = "REF")]
    pub base: Option<String>,

    /// An extra tag; repeat it, or give one per line in the variable.
    #[arg(
        long = "tag",
        env = "DEPLOY_ACTION_TAG",
        value_name = "TAG",
        value_delimiter = '\n'
    )]
    pub tags: Vec<String>,

    /// Exit 3 when Grafana or GitHub cannot be written (after retries), instead of warning.
    #[arg(long, env = "DEPLOY_ACTION_REQUIRED")]
    pub required: bool,
}

#[derive(Debug, Args)]
pub struct PointArgs {
    #[command(flatten)]
    pub common: Common,

    /// What happened.
    #[arg(long, env = "DEPLOY_ACTION_TEXT")]
    pub text: String,
}

#[derive(Debug, Args)]
pub struct StartArgs {
    #[command(flatten)]
    pub common: Common,

    /// Text to put first. Default: "Deploying <service> <version> to <environment>".
    #[arg(long, env = "DEPLOY_ACTION_TEXT")]
    pub text: Option<String>,

    /// The image deployed (`registry/name:tag` or `name@sha256:…`), for the deployment's payload.
    #[arg(long, env = "DEPLOY_ACTION_IMAGE")]
    pub image: Option<String>,

    /// The image digest (`sha256:…`, `build`'s `digest` output), for the deployment's
    /// payload. Default: the digest in `--image`, if it has one.
    #[arg(long, env = "DEPLOY_ACTION_DIGEST")]
    pub digest: Option<String>,

    /// The commit, branch or tag deployed. Default: `GITHUB_SHA`.
    #[arg(long = "ref", env = "DEPLOY_ACTION_REF", value_name = "REF")]
    pub git_ref: Option<String>,
}

#[derive(Debug, Args)]
pub struct FinishArgs {
    #[command(flatten)]
    pub common: Common,

    /// The annotation `start` opened (its `id` output). Default: the newest open deploy
    /// region of this service and environment, found by its tags.
    #[arg(long, env = "DEPLOY_ACTION_ID")]
    pub id: Option<String>,

    /// The GitHub deployment `start` created (its `deployment-id` output).
    #[arg(long, env = "DEPLOY_ACTION_DEPLOYMENT_ID")]
    pub deployment_id: Option<String>,

    /// How the deploy ended.
    #[arg(long, env = "DEPLOY_ACTION_OUTCOME", value_enum)]
    pub outcome: Outcome,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Outcome {
    Success,
    Failure,
    RolledBack,
}

impl Outcome {
    /// The tag the region gets.
    pub fn tag(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::RolledBack => "rolled-back",
        }
    }

    /// The GitHub deployment state: a rolled-back release failed.
    fn github_state(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure | Outcome::RolledBack => "failure",
        }
    }
}

pub async fn run(config: Config, args: AnnotateArgs, ui: Ui, cancel: Cancel) -> Result<()> {
    let mut report = Report::default();
    let required = match &args.action {
        AnnotateAction::Point(a) => a.common.required,
        AnnotateAction::Start(a) => a.common.required,
        AnnotateAction::Finish(a) => a.common.required,
    };
    match args.action {
        AnnotateAction::Point(a) => point(&config, a, &mut report).await,
        AnnotateAction::Start(a) => start(&config, a, &mut report, &cancel).await,
        AnnotateAction::Finish(a) => finish(&config, a, &mut report, &cancel).await,
    }
    report.finish(&ui, required)
}

/// What an action did, and what it could not do.
#[derive(Default)]
pub(crate) struct Report {
    pub annotation: Option<Annotation>,
    pub deployment: Option<(u64, String)>,
    pub inactive: Vec<u64>,
    pub failures: Vec<Error>,
    /// Outputs for later steps, in order.
    pub outputs: Vec<(&'static str, String)>,
}

impl Report {
    fn failed(&mut self, e: Error) {
        self.failures.push(e);
    }

    fn finish(self, ui: &Ui, required: bool) -> Result<()> {
        let mut failures = self.failures.into_iter();
        // Under `--required` the first failure is the command's error (printed once, by
        // the caller); every other one is still shown.
        let fatal = if required { failures.next() } else { None };
        let warnings: Vec<String> = failures.map(|e| e.to_string()).collect();
        for w in &warnings {
            tracing::warn!("{w} (not required: going on)");
            if ui.actions() {
                crate::ci::warning(w);
            }
        }
        // What was written is output even when something else failed.
        ui.outputs(&self.outputs);
        if let Some(e) = fatal {
            return Err(e);
        }
        if ui.json {
            super::print_json(&json!({
                "ok": true,
                "annotation": self.annotation,
                "deployment": self.deployment.as_ref().map(|(id, state)| json!({
                    "id": id, "state": state, "marked_inactive": self.inactive,
                })),
                "warnings": warnings,
            }));
        } else {
            for (name, value) in &self.outputs {
                println!("{name}={value}");
            }
        }
        Ok(())
    }
}

/// The facts every annotation and record states.
struct Deploy<'a> {
    config: &'a Config,
    run: RunContext,
    version: Option<String>,
    base: Option<String>,
    extra_tags: Vec<String>,
}

impl<'a> Deploy<'a> {
    fn new(config: &'a Config, common: &Common) -> Self {
        Self {
            config,
            run: RunContext::from_env(),
            version: nonempty(common.version.as_deref()),
            base: nonempty(common.base.as_deref()),
            extra_tags: common.tags.clone(),
        }
    }

    fn short_sha(&self) -> Option<String> {
        self.run.sha.as_deref().map(|s| s.chars().take(7).collect())
    }

    /// `deploy`, the service, the environment, the version, the short sha, then
    /// `grafana.tags` and `--tag`s: each once, in that order.
    fn tags(&self, grafana: &GrafanaConfig) -> Vec<String> {
        let mut tags: Vec<String> = Vec::new();
        let candidates = [
            Some("deploy".to_string()),
            Some(self.config.service.clone()),
            Some(self.config.environment.clone()),
            self.version.clone(),
            self.short_sha(),
        ]
        .into_iter()
        .flatten()
        .chain(grafana.tags.iter().cloned())
        .chain(self.extra_tags.iter().cloned());
        for tag in candidates {
            let tag = tag.trim().to_string();
            if !tag.is_empty() && !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        tags
    }

    /// `first`, then who, and links to the run and to the changes since `--base`.
    fn text(&self, first: &str) -> String {
        let mut text = format!("{first} (by {})", self.run.actor);
        let mut links = Vec::new();
        if let Some(url) = self.run.run_url() {
            let id = self.run.run_id.as_deref().unwrap_or("run");
            links.push(format!("<a href=\"{url}\">run {id}</a>"));
        }
        if let Some(base) = &self.base
            && let Some(url) = self.run.compare_url(base)
        {
            let to = self.short_sha().unwrap_or_default();
            links.push(format!("<a href=\"{url}\">changes {base}…{to}</a>"));
        }
        if !links.is_empty() {
            text.push('\n');
            text.push_str(&links.join(" · "));
        }
        text
    }

    fn headline(&self, verb: &str) -> String {
        match &self.version {
            Some(v) => format!(
                "{verb} {} {v} to {}",
                self.config.service, self.config.environment
            ),
            None => format!(
                "{verb} {} to {}",
                self.config.service, self.config.environment
            ),
        }
    }

    /// Where users reach the environment: `deploy.environment_url`, else the router's URL.
    fn environment_url(&self) -> String {
        self.config
            .deploy
            .environment_url
            .clone()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| {
                let host = EngineHost::resolve(self.config.target.host.as_deref());
                crate::router::url_for(self.config, &host)
            })
    }
}

fn nonempty(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

/// `[grafana]` and a client for it; `None` (with the reason logged) when there is none.
fn grafana(config: &Config, report: &mut Report) -> Option<(Grafana, GrafanaConfig)> {
    let Some(settings) = config.grafana.clone() else {
        tracing::info!("no [grafana] in the config: no Grafana annotation");
        return None;
    };
    match Grafana::connect(&settings) {
        Ok(client) => Some((client, settings)),
        Err(e) => {
            report.failed(e);
            None
        }
    }
}

async fn point(config: &Config, args: PointArgs, report: &mut Report) {
    let deploy = Deploy::new(config, &args.common);
    let Some((grafana, settings)) = grafana(config, report) else {
        return;
    };
    let annotation = NewAnnotation {
        dashboard_uid: settings.dashboard_uid.clone(),
        panel_id: settings.panel_id,
        time: now_ms(),
        time_end: None,
        tags: deploy.tags(&settings),
        text: deploy.text(args.text.trim()),
    };
    match grafana.create(&annotation).await {
        Ok(id) => {
            tracing::info!("Grafana annotation {id} written");
            report.outputs.push(("id", id.to_string()));
            report.annotation = Some(written(id, annotation));
        }
        Err(e) => report.failed(e),
    }
}

fn written(id: u64, a: NewAnnotation) -> Annotation {
    Annotation {
        id,
        dashboard_uid: a.dashboard_uid,
        panel_id: a.panel_id,
        time: a.time,
        time_end: a.time_end.unwrap_or(a.time),
        text: a.text,
        tags: a.tags,
    }
}

pub(crate) async fn start(config: &Config, args: StartArgs, report: &mut Report, cancel: &Cancel) {
    let deploy = Deploy::new(config, &args.common);
    if let Some((grafana, settings)) = grafana(config, report) {
        let mut tags = deploy.tags(&settings);
        tags.push(IN_PROGRESS.into());
        let first = nonempty(args.text.as_deref()).unwrap_or_else(|| deploy.headline("Deploying"));
        let annotation = NewAnnotation {
            dashboard_uid: settings.dashboard_uid.clone(),
            panel_id: settings.panel_id,
            time: now_ms(),
            time_end: None,
            tags,
            text: deploy.text(&first),
        };
        match grafana.create(&annotation).await {
            Ok(id) => {
                tracing::info!("Grafana region {id} opened");
                report.outputs.push(("id", id.to_string()));
                report.annotation = Some(written(id, annotation));
            }
            Err(e) => report.failed(e),
        }
    }
    let Some((github, repo)) = github(report, cancel) else {
        return;
    };
    let Some(git_ref) = nonempty(args.git_ref.as_deref()).or_else(|| deploy.run.sha.clone()) else {
        report.failed(Error::Usage(
            "no commit to record a GitHub deployment of: pass `--ref`, or run under Actions \
             (GITHUB_SHA)"
                .into(),
        ));
        return;
    };
    let image = nonempty(args.image.as_deref());
    let digest = nonempty(args.digest.as_deref()).or_else(|| {
        image
            .as_deref()
            .and_then(|i| i.split_once('@'))
            .map(|(_, d)| d.to_string())
    });
    let environment_url = deploy.environment_url();
    let new = NewDeployment {
        git_ref,
        environment: config.environment.clone(),
        description: deploy.headline("Deploy"),
        payload: json!({
            "service": config.service,
            "version": deploy.version,
            "image": image,
            "image_digest": digest,
        }),
        production_environment: config.deploy.is_production(&config.environment),
        transient_environment: config.deploy.transient_environment,
    };
    let records = Deployments::new(&github, &repo);
    let id = match records.create(&new).await {
        Ok(id) => id,
        Err(e) => {
            report.failed(e);
            return;
        }
    };
    report.outputs.push(("deployment-id", id.to_string()));
    let status = Status {
        state: "in_progress".into(),
        description: deploy.headline("Deploying"),
        log_url: deploy.run.run_url(),
        environment_url: Some(environment_url),
    };
    match records.set_status(id, &status).await {
        Ok(()) => {
            tracing::info!(
                "GitHub deployment {id} of {} in progress",
                config.environment
            );
            report.deployment = Some((id, status.state));
        }
        Err(e) => report.failed(e),
    }
}

/// A client for GitHub deployment records and the repository; `None` when `GITHUB_TOKEN`
/// is not set (records are optional) or the repository is unknown.
fn github(report: &mut Report, cancel: &Cancel) -> Option<(GitHub, String)> {
    if std::env::var(GITHUB_TOKEN_ENV)
        .ok()
        .is_none_or(|t| t.trim().is_empty())
    {
        tracing::info!("{GITHUB_TOKEN_ENV} is not set: no GitHub deployment record");
        return None;
    }
    let Some(repo) = nonempty(std::env::var("GITHUB_REPOSITORY").ok().as_deref()) else {
        report.failed(Error::Usage(
            "GITHUB_REPOSITORY is not set: which repository records the deployment? \
             (`owner/name`)"
                .into(),
        ));
        return None;
    };
    match GitHub::from_env(GITHUB_TOKEN_ENV, cancel.clone()) {
        Ok(github) => Some((github, repo)),
        Err(e) => {
            report.failed(e);
            None
        }
    }
}

fn parse_id(value: Option<&str>, flag: &str) -> Result<Option<u64>> {
    match nonempty(value) {
        None => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| {
            Error::Usage(format!(
                "`{flag}` must be a number (the id `start` output), found {v:?}"
            ))
        }),
    }
}

pub(crate) async fn finish(
    config: &Config,
    args: FinishArgs,
    report: &mut Report,
    cancel: &Cancel,
) {
    let deploy = Deploy::new(config, &args.common);
    let outcome = args.outcome;
    if let Some((grafana, settings)) = grafana(config, report) {
        match parse_id(args.id.as_deref(), "--id") {
            Ok(id) => match close_region(&grafana, &settings, &deploy, id, outcome).await {
                Ok(annotation) => {
                    tracing::info!("Grafana region {} closed: {}", annotation.id, outcome.tag());
                    report.outputs.push(("id", annotation.id.to_string()));
                    report.annotation = Some(annotation);
                }
                Err(e) => report.failed(e),
            },
            Err(e) => report.failed(e),
        }
    }
    let id = match parse_id(args.deployment_id.as_deref(), "--deployment-id") {
        Ok(Some(id)) => id,
        Ok(None) => {
            tracing::info!("no --deployment-id: no GitHub deployment status to set");
            return;
        }
        Err(e) => {
            report.failed(e);
            return;
        }
    };
    let Some((github, repo)) = github(report, cancel) else {
        return;
    };
    let records = Deployments::new(&github, &repo);
    let status = Status {
        state: outcome.github_state().into(),
        description: match outcome {
            Outcome::Success => deploy.headline("Deployed"),
            Outcome::Failure => deploy.headline("Failed to deploy"),
            Outcome::RolledBack => deploy.headline("Rolled back a deploy of"),
        },
        log_url: deploy.run.run_url(),
        environment_url: Some(deploy.environment_url()),
    };
    if let Err(e) = records.set_status(id, &status).await {
        report.failed(e);
        return;
    }
    tracing::info!("GitHub deployment {id}: {}", status.state);
    report.deployment = Some((id, status.state.clone()));
    report.outputs.push(("deployment-id", id.to_string()));
    if outcome == Outcome::Success {
        match records
            .deactivate_earlier(id, &config.environment, deploy.run.run_url())
            .await
        {
            Ok(marked) => {
                if !marked.is_empty() {
                    tracing::info!("earlier deployments marked inactive: {marked:?}");
                }
                report.inactive = marked;
            }
            Err(e) => report.failed(e),
        }
    }
}

/// Ends region `id` (or the newest open deploy region of this service and environment)
/// now, replacing its `in-progress` tag with the outcome.
async fn close_region(
    grafana: &Grafana,
    settings: &GrafanaConfig,
    deploy: &Deploy<'_>,
    id: Option<u64>,
    outcome: Outcome,
) -> Result<Annotation> {
    let id = match id {
        Some(id) => id,
        None => {
            let mut tags = vec![
                "deploy".to_string(),
                deploy.config.service.clone(),
                deploy.config.environment.clone(),
                IN_PROGRESS.to_string(),
            ];
            tags.extend(deploy.version.clone());
            let found = grafana
                .find(&Find {
                    tags,
                    dashboard_uid: settings.dashboard_uid.clone(),
                    panel_id: settings.panel_id,
                    limit: 10,
                })
                .await?;
            found.into_iter().map(|a| a.id).max().ok_or_else(|| {
                Error::Grafana(format!(
                    "no open deploy region of {} in {} to finish: pass `--id` (the `id` \
                     output of `annotate start`)",
                    deploy.config.service, deploy.config.environment
                ))
            })?
        }
    };
    let mut annotation = grafana.get(id).await?;
    annotation.tags.retain(|t| t != IN_PROGRESS);
    if !annotation.tags.iter().any(|t| t == outcome.tag()) {
        annotation.tags.push(outcome.tag().to_string());
    }
    annotation.time_end = now_ms().max(annotation.time);
    annotation.text = format!("{}\nOutcome: {}", annotation.text, outcome.tag());
    let fields: Value = json!({
        "timeEnd": annotation.time_end,
        "tags": annotation.tags,
        "text": annotation.text,
    });
    grafana.patch(id, &fields).await?;
    Ok(annotation)
}
