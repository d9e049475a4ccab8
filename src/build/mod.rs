//! The `build` step: turn a context into a tagged (and maybe pushed) image, and skip the
//! build when an image of the same context already exists.
//!
//! [`prepare`] does everything that needs no engine (walk the context, digest it, work out
//! the tags and labels, find credentials), so bad input fails before anything is sent.
//! [`run`] then finds or builds the image, tags it and pushes it.
//!
//! **Skipping unchanged builds.** Every image carries its context digest as the
//! [`labels::CONTEXT_DIGEST`] label. An image with the same digest on the engine (listed by
//! label) is reused. With `push`, each push also writes the tag `ctx-<first 32 hex of the
//! digest>`; a fresh runner that finds that tag in the registry pulls it (checking the
//! label) instead of building. Either way the image only gets the new tags, and the
//! outputs say `unchanged`. The labels keep the values of the build that made the image.

pub mod auth;
pub mod context;
pub mod dockerfile;
pub mod dockerignore;
pub mod git;
pub mod labels;
pub mod progress;
pub mod reference;
pub mod registry;
pub mod tags;

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::pin::pin;
use std::sync::Arc;

use futures_util::StreamExt;
use serde::Serialize;

use crate::docker::{BuildEvent, BuildFailure, Engine, ImageBuild, PushEvent};
use crate::error::{Error, Result};
use crate::output::Ui;
use crate::signals::Cancel;
use context::{Context, ContextError};
use labels::Provenance;
use progress::Bar;
use reference::ImageName;

/// Hex characters of the context digest in the `ctx-` registry tag.
const CTX_TAG_HEX: usize = 32;
/// Lines of builder output kept for the message of a failed step.
const LAST_LINES: usize = 12;
/// Builds tried when the engine loses a cached layer to a concurrent removal.
const BUILD_ATTEMPTS: u32 = 3;

/// What to build, with flags and `[build]` merged and paths resolved.
#[derive(Debug, Clone)]
pub struct BuildPlan {
    pub image: ImageName,
    pub context: PathBuf,
    pub dockerfile: PathBuf,
    pub args: BTreeMap<String, String>,
    pub target: Option<String>,
    pub platform: Option<String>,
    /// The user's extra labels.
    pub labels: BTreeMap<String, String>,
    pub version: Option<String>,
    pub push: bool,
    pub latest: bool,
}

/// A plan with its context walked and digested, its tags and labels decided.
pub struct Prepared {
    pub plan: BuildPlan,
    pub context: Arc<Context>,
    pub context_digest: String,
    /// Tag names, most specific first.
    pub tags: Vec<String>,
    /// Every label the image gets.
    pub labels: BTreeMap<String, String>,
    /// The labels passed to the engine as options: none when they are in the Dockerfile the
    /// engine reads (see [`dockerfile::with_labels`]).
    pub engine_labels: BTreeMap<String, String>,
    pub auth: Option<auth::Found>,
}

/// How the image came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// Built now.
    Built,
    /// Already on the engine with the same context digest.
    Local,
    /// Pulled from the registry's `ctx-` tag.
    Registry,
}

/// The outcome, as reported in outputs and `--json`.
#[derive(Debug, Clone, Serialize)]
pub struct Built {
    /// The most specific reference (`registry/app:1.2.3`).
    pub image: String,
    /// The registry's manifest digest when pushed, else the image id.
    pub digest: String,
    pub image_id: String,
    /// Every reference the image was tagged with, most specific first.
    pub tags: Vec<String>,
    pub unchanged: bool,
    pub source: Source,
    pub context_digest: String,
    pub pushed: bool,
    /// Files, directories and symlinks in the context.
    pub context_entries: usize,
    pub context_bytes: u64,
}

/// Walks and digests the context, decides tags and labels, finds credentials. No engine.
pub fn prepare(plan: BuildPlan) -> Result<Prepared> {
    let mut context = Context::scan(&plan.context, &plan.dockerfile).map_err(context_error)?;
    let mut inputs = vec![("dockerfile".to_string(), context.dockerfile().to_string())];
    inputs.extend(
        plan.args
            .iter()
            .map(|(k, v)| ("arg".into(), format!("{k}={v}"))),
    );
    inputs.extend(plan.target.iter().map(|t| ("target".into(), t.clone())));
    inputs.extend(plan.platform.iter().map(|p| ("platform".into(), p.clone())));
    inputs.extend(
        plan.labels
            .iter()
            .map(|(k, v)| ("label".into(), format!("{k}={v}"))),
    );
    let context_digest = context.digest(&inputs).map_err(context_error)?;

    let provenance = git::provenance(context.root());
    let tags = tag_names(&plan, &provenance)?;
    let version_label = match &plan.version {
        Some(v) => tags::version_label(v),
        None => tags[0].clone(),
    };
    let labels = labels::image_labels(
        &provenance,
        &version_label,
        plan.image.title(),
        chrono::Utc::now(),
        &plan.labels,
        &context_digest,
    );
    let rewritten = std::str::from_utf8(context.dockerfile_text())
        .ok()
        .and_then(|text| dockerfile::with_labels(text, plan.target.as_deref(), &labels));
    let engine_labels = match rewritten {
        Some(text) => {
            context.use_dockerfile(text.into_bytes());
            BTreeMap::new()
        }
        None => labels.clone(),
    };
    let auth = if plan.push {
        auth::lookup(plan.image.registry())?
    } else {
        None
    };
    Ok(Prepared {
        plan,
        context: Arc::new(context),
        context_digest,
        tags,
        labels,
        engine_labels,
        auth,
    })
}

fn context_error(e: ContextError) -> Error {
    let help = match &e {
        ContextError::NoContext(_) => {
            "\n  help: choose the directory with --context or [build] context"
        }
        ContextError::NoDockerfile(_) => {
            "\n  help: choose the file with --file (relative to the current directory) or \
             [build] dockerfile (relative to the context)"
        }
        ContextError::Read { .. } => {
            "\n  help: exclude it in .dockerignore if the build does not need it"
        }
        ContextError::Ignore { .. } => "",
    };
    Error::Usage(format!("{e}{help}"))
}

/// Tag names: the version's, then `sha-<short>`.
fn tag_names(plan: &BuildPlan, provenance: &Provenance) -> Result<Vec<String>> {
    let mut names = match &plan.version {
        Some(v) => tags::version_tags(v, plan.latest).map_err(Error::Usage)?,
        None => Vec::new(),
    };
    match &provenance.revision {
        Some(sha) => names.push(tags::sha_tag(sha)),
        None if names.is_empty() => {
            return Err(Error::Usage(
                "nothing to tag the image with: pass --version, or build inside a git checkout \
                 (or with GITHUB_SHA set) for the sha- tag"
                    .into(),
            ));
        }
        None => {
            tracing::warn!("no git commit found (not a checkout, GITHUB_SHA unset): no sha- tag")
        }
    }
    Ok(names)
}

/// Finds or builds the image, tags it, and pushes it when asked.
pub async fn run(engine: &Engine, prepared: &Prepared, ui: &Ui, cancel: &Cancel) -> Result<Built> {
    let plan = &prepared.plan;
    let digest = &prepared.context_digest;
    let ctx_tag = format!(
        "ctx-{}",
        &digest.trim_start_matches("sha256:")[..CTX_TAG_HEX]
    );

    let (image_id, source) = match find_existing(engine, prepared, &ctx_tag).await? {
        Some(found) => found,
        None => (
            build_image(engine, prepared, ui, cancel).await?,
            Source::Built,
        ),
    };
    if source != Source::Built {
        tracing::info!("context {digest} unchanged: image {image_id} gets the new tags");
    }

    let repository = plan.image.repository();
    for tag in &prepared.tags {
        engine.tag_image(&image_id, &repository, tag).await?;
    }
    let mut pushed_digest = None;
    if plan.push {
        engine.tag_image(&image_id, &repository, &ctx_tag).await?;
        let result = push(engine, prepared, &ctx_tag, ui, cancel).await;
        // The ctx- tag is for the registry; locally the label does its job.
        engine
            .remove_image(&plan.image.tagged(&ctx_tag), false)
            .await?;
        pushed_digest = Some(result?);
    }
    let context_entries = prepared.context.paths().len();
    Ok(Built {
        image: plan.image.tagged(&prepared.tags[0]),
        digest: pushed_digest.clone().unwrap_or_else(|| image_id.clone()),
        image_id,
        tags: prepared.tags.iter().map(|t| plan.image.tagged(t)).collect(),
        unchanged: source != Source::Built,
        source,
        context_digest: digest.clone(),
        pushed: pushed_digest.is_some(),
        context_entries,
        context_bytes: prepared.context.content_bytes(),
    })
}

/// An image of the same context: on the engine, or (when pushing) in the registry.
async fn find_existing(
    engine: &Engine,
    prepared: &Prepared,
    ctx_tag: &str,
) -> Result<Option<(String, Source)>> {
    let digest = &prepared.context_digest;
    if let Some(id) = engine
        .images_labelled(labels::CONTEXT_DIGEST, digest)
        .await?
        .into_iter()
        .next()
    {
        return Ok(Some((id, Source::Local)));
    }
    if !prepared.plan.push {
        return Ok(None);
    }
    let image = &prepared.plan.image;
    let auth = prepared.auth.as_ref().map(|f| f.auth.clone());
    let registry = registry::Registry::new(image, auth.clone());
    match registry.manifest_digest(ctx_tag).await {
        Ok(Some(_)) => {}
        Ok(None) => return Ok(None),
        Err(e) => {
            // Only an optimisation: building is always right.
            tracing::warn!("cannot ask the registry for an unchanged image ({e}); building");
            return Ok(None);
        }
    }
    let repository = image.repository();
    if let Err(e) = engine.pull_image(&repository, ctx_tag, auth.as_ref()).await {
        tracing::warn!("{e}; building instead");
        return Ok(None);
    }
    let pulled = engine.image(&image.tagged(ctx_tag)).await?;
    match pulled {
        Some(i) if i.labels.get(labels::CONTEXT_DIGEST) == Some(digest) => {
            Ok(Some((i.id, Source::Registry)))
        }
        _ => {
            tracing::warn!(
                "{}:{ctx_tag} is not an image of context {digest}; building",
                image
            );
            engine.remove_image(&image.tagged(ctx_tag), false).await?;
            Ok(None)
        }
    }
}

/// Streams the context to the engine and follows the build; returns the image id.
async fn build_image(
    engine: &Engine,
    prepared: &Prepared,
    ui: &Ui,
    cancel: &Cancel,
) -> Result<String> {
    let plan = &prepared.plan;
    let _phase = ui.phase(&format!("build {}", plan.image.tagged(&prepared.tags[0])));
    let spec = ImageBuild {
        dockerfile: prepared.context.dockerfile().to_string(),
        args: plan.args.clone(),
        target: plan.target.clone(),
        platform: plan.platform.clone(),
        labels: prepared.engine_labels.clone(),
    };
    let mut attempt = 1;
    loop {
        match build_once(engine, prepared, &spec, ui, cancel).await? {
            Attempt::Built(id) => return Ok(id),
            Attempt::LostCachedLayer(message) if attempt < BUILD_ATTEMPTS => {
                // The classic builder looks at every image for a cached step; one removed
                // meanwhile (another build's cleanup, a prune) fails the lookup. Not ours.
                tracing::warn!("{message} (removed during the build); building again");
                attempt += 1;
            }
            Attempt::LostCachedLayer(message) => {
                return Err(Error::Docker {
                    host: engine.host().uri.clone(),
                    message: format!(
                        "{message}: images were removed while the engine looked for cached                          steps, {BUILD_ATTEMPTS} times in a row"
                    ),
                });
            }
        }
    }
}

/// How one build attempt ended, short of an error.
enum Attempt {
    Built(String),
    /// The engine's cache lookup lost an image removed meanwhile (moby's
    /// `getLocalCachedImage`: `unable to find image "sha256:…"`): worth another go.
    LostCachedLayer(String),
}

async fn build_once(
    engine: &Engine,
    prepared: &Prepared,
    spec: &ImageBuild,
    ui: &Ui,
    cancel: &Cancel,
) -> Result<Attempt> {
    let bar = Arc::new(Bar::upload(ui, prepared.context.tar_size()));
    let counting = bar.clone();
    let body = prepared.context.clone().into_stream().map(move |chunk| {
        if let Ok(bytes) = &chunk {
            counting.advance(bytes.len() as u64);
        }
        chunk
    });
    let mut events = pin!(engine.build_image(spec, body));
    let mut log = BuildLog::new(ui);
    let mut image_id = None;
    loop {
        let next = cancel.or_cancel(events.next()).await?;
        match next {
            None => break,
            Some(Ok(BuildEvent::Log(text))) => {
                bar.finish();
                log.push(&text);
            }
            Some(Ok(BuildEvent::Built(id))) => image_id = Some(id),
            Some(Err(BuildFailure::Step(message))) => {
                bar.finish();
                log.flush();
                if message.starts_with("unable to find image") {
                    return Ok(Attempt::LostCachedLayer(message));
                }
                return Err(log.failed(&message, prepared));
            }
            Some(Err(BuildFailure::Rejected(message))) => {
                return Err(Error::Usage(format!(
                    "the engine refused the build: {message}"
                )));
            }
            Some(Err(BuildFailure::Engine(e))) => return Err(e),
        }
    }
    log.flush();
    image_id
        .or_else(|| log.built_id())
        .map(Attempt::Built)
        .ok_or_else(|| Error::Docker {
            host: engine.host().uri.clone(),
            message: "the build ended without naming the image it built".into(),
        })
}

/// Pushes every tag, then the `ctx-` tag; returns the manifest digest.
async fn push(
    engine: &Engine,
    prepared: &Prepared,
    ctx_tag: &str,
    ui: &Ui,
    cancel: &Cancel,
) -> Result<String> {
    let plan = &prepared.plan;
    let repository = plan.image.repository();
    let _phase = ui.phase(&format!("push {repository}"));
    let auth = prepared.auth.as_ref().map(|f| &f.auth);
    match &prepared.auth {
        Some(found) => tracing::info!(
            "pushing to {} with credentials from {}",
            plan.image.registry(),
            found.from
        ),
        None => tracing::info!("pushing to {} without credentials", plan.image.registry()),
    }
    let layers = engine
        .image(&plan.image.tagged(&prepared.tags[0]))
        .await?
        .map_or(0, |i| i.layers as u64);
    let mut digest = None;
    for tag in prepared.tags.iter().map(String::as_str).chain([ctx_tag]) {
        let reference = plan.image.tagged(tag);
        let bar = Bar::push(ui, layers, &reference);
        let mut events = pin!(engine.push_image(&repository, tag, auth));
        loop {
            let next = cancel.or_cancel(events.next()).await?;
            match next {
                None => break,
                Some(Ok(PushEvent::LayerDone)) => bar.advance(1),
                Some(Ok(PushEvent::Uploading { current, total })) => bar.note(format!(
                    "pushing {reference} ({}/{})",
                    indicatif::HumanBytes(current),
                    indicatif::HumanBytes(total)
                )),
                Some(Ok(PushEvent::Digest(d))) => digest = Some(d),
                Some(Err(e)) => return Err(push_error(e, prepared)),
            }
        }
        bar.finish();
        if !ui.json && !ui.actions() {
            tracing::info!("pushed {reference}");
        } else if ui.actions() && !ui.json {
            println!("pushed {reference}");
        }
    }
    digest.ok_or_else(|| Error::Docker {
        host: engine.host().uri.clone(),
        message: format!("the push of {repository} ended without a manifest digest"),
    })
}

/// Says which credentials were used when the registry refused a push.
fn push_error(e: Error, prepared: &Prepared) -> Error {
    let Error::Docker { host, message } = e else {
        return e;
    };
    let lower = message.to_ascii_lowercase();
    let refused = [
        "unauthorized",
        "denied",
        "authentication",
        "auth credentials",
        "forbidden",
    ]
    .iter()
    .any(|w| lower.contains(w));
    if !refused {
        return Error::Docker { host, message };
    }
    let used = match &prepared.auth {
        Some(found) => format!("the credentials from {}", found.from),
        None => "no credentials".to_string(),
    };
    Error::Docker {
        host,
        message: format!(
            "{message}\n  help: the push used {used}; set {} and {}, or `docker login {}`",
            auth::USER_ENV,
            auth::PASSWORD_ENV,
            prepared.plan.image.registry()
        ),
    }
}

/// The builder's output: shown as it comes (in the `::group::` under Actions), with the
/// last lines and the current step kept for the message of a failed step.
struct BuildLog {
    partial: String,
    last: VecDeque<String>,
    step: Option<String>,
    to_stdout: bool,
    built: Option<String>,
    actions: bool,
}

impl BuildLog {
    fn new(ui: &Ui) -> Self {
        Self {
            partial: String::new(),
            last: VecDeque::with_capacity(LAST_LINES),
            step: None,
            to_stdout: ui.actions() && !ui.json,
            built: None,
            actions: ui.actions(),
        }
    }

    fn push(&mut self, text: &str) {
        self.partial.push_str(text);
        while let Some(end) = self.partial.find('\n') {
            let line: String = self.partial.drain(..=end).collect();
            self.line(line.trim_end_matches(['\n', '\r']));
        }
    }

    fn flush(&mut self) {
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.line(line.trim_end());
        }
    }

    fn line(&mut self, line: &str) {
        if line.starts_with("Step ") {
            self.step = Some(line.to_string());
        }
        if let Some(id) = line.strip_prefix("Successfully built ") {
            self.built = Some(id.trim().to_string());
        }
        if self.last.len() == LAST_LINES {
            self.last.pop_front();
        }
        self.last.push_back(line.to_string());
        if self.to_stdout {
            println!("{line}");
        } else {
            eprintln!("{line}");
        }
    }

    fn built_id(&self) -> Option<String> {
        self.built.clone()
    }

    /// The error for a failed build: the step, the engine's message and the last lines. A
    /// failure before the first step is the Dockerfile or the options (exit 2).
    fn failed(&self, message: &str, prepared: &Prepared) -> Error {
        let Some(step) = &self.step else {
            return Error::Usage(format!(
                "the engine could not start the build of {}: {message}",
                prepared.context.dockerfile()
            ));
        };
        // "Step 2/3 : COPY missing.txt /"
        let (counter, instruction) = step
            .trim_start_matches("Step ")
            .split_once(" : ")
            .unwrap_or((step.as_str(), ""));
        let mut text = format!(
            "the build failed at step {counter} `{instruction}`: {}\n  last output:",
            message.trim()
        );
        for line in &self.last {
            text.push_str("\n  | ");
            text.push_str(line);
        }
        if self.actions {
            let at = self.dockerfile_line(counter, instruction, prepared);
            crate::ci::error(&text, at.as_ref());
        }
        Error::Refused(text)
    }

    /// Where step `n/m` is in the Dockerfile, when the Dockerfile is in the checkout.
    fn dockerfile_line(
        &self,
        counter: &str,
        instruction: &str,
        prepared: &Prepared,
    ) -> Option<crate::ci::Location> {
        let n: usize = counter.split('/').next()?.parse().ok()?;
        let keyword = instruction.split_whitespace().next()?;
        let text = std::fs::read_to_string(&prepared.plan.dockerfile).ok()?;
        let line = dockerfile::step_line(&text, n, keyword)?;
        // Annotations name files relative to the checkout, where the job runs.
        let path = &prepared.plan.dockerfile;
        let cwd = std::env::current_dir().ok()?;
        let relative: PathBuf = path
            .strip_prefix(&cwd)
            .unwrap_or(path)
            .components()
            .filter(|c| !matches!(c, std::path::Component::CurDir))
            .collect();
        Some(crate::ci::Location {
            file: relative.display().to_string(),
            line,
            column: 1,
        })
    }
}
