//! Images: build from a streamed context, find by label, inspect, tag, push, pull, untag.

use std::collections::{BTreeMap, HashMap};

use bollard::auth::DockerCredentials;
use bollard::query_parameters::{
    BuildImageOptions, CreateImageOptions, ListImagesOptions, PushImageOptions, RemoveImageOptions,
    TagImageOptions,
};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};

use super::{Engine, is_not_found};
use crate::error::{Error, Result};

/// What the classic builder is asked to build. The context itself is streamed separately.
#[derive(Debug, Clone, Default)]
pub struct ImageBuild {
    /// The Dockerfile's path inside the context tar.
    pub dockerfile: String,
    pub args: BTreeMap<String, String>,
    pub target: Option<String>,
    pub platform: Option<String>,
    pub labels: BTreeMap<String, String>,
}

/// One event of a running build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildEvent {
    /// Builder output, as the engine sent it (may hold several lines, or part of one).
    Log(String),
    /// The id (`sha256:…`) of the image the build produced.
    Built(String),
}

/// Why a build stopped.
#[derive(Debug)]
pub enum BuildFailure {
    /// A step ran and failed; the engine's message.
    Step(String),
    /// The engine refused the request before building: a Dockerfile it cannot parse, an
    /// unknown target stage, a platform it cannot build for.
    Rejected(String),
    /// The engine could not be reached or broke off.
    Engine(Error),
}

/// Credentials for one registry, as the engine takes them for a push or pull.
#[derive(Clone, Default)]
pub struct RegistryAuth {
    /// The registry, as credentials are keyed (`registry.example.com:5000`,
    /// `https://index.docker.io/v1/` for Docker Hub).
    pub server: String,
    pub username: String,
    pub password: String,
    /// An OAuth identity token (what `docker login` stores for some registries) instead of
    /// a password.
    pub identity_token: Option<String>,
}

impl std::fmt::Debug for RegistryAuth {
    // Never print a secret, not even in debug logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryAuth")
            .field("server", &self.server)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl RegistryAuth {
    fn docker(&self) -> DockerCredentials {
        DockerCredentials {
            username: Some(self.username.clone()).filter(|u| !u.is_empty()),
            password: Some(self.password.clone()).filter(|p| !p.is_empty()),
            serveraddress: Some(self.server.clone()),
            identitytoken: self.identity_token.clone(),
            ..Default::default()
        }
    }
}

/// What inspecting an image tells the build step.
#[derive(Debug, Clone)]
pub struct ImageDetails {
    pub id: String,
    pub labels: HashMap<String, String>,
    pub repo_tags: Vec<String>,
    /// `repository@sha256:…` for each registry the image was pushed to or pulled from.
    pub repo_digests: Vec<String>,
    /// Layers in the image's root filesystem (what a push uploads).
    pub layers: usize,
}

/// One event of a push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushEvent {
    /// A layer is now in the registry (pushed, already there, or mounted).
    LayerDone,
    /// Bytes of the layer being uploaded.
    Uploading { current: u64, total: u64 },
    /// The manifest digest the registry stored the tag under.
    Digest(String),
}

impl Engine {
    /// Builds with the classic builder from a tar stream of the context.
    pub fn build_image(
        &self,
        spec: &ImageBuild,
        context: impl Stream<Item = std::io::Result<Bytes>> + Send + 'static,
    ) -> impl Stream<Item = std::result::Result<BuildEvent, BuildFailure>> + '_ {
        let options = BuildImageOptions {
            dockerfile: spec.dockerfile.clone(),
            buildargs: (!spec.args.is_empty())
                .then(|| spec.args.clone().into_iter().collect::<HashMap<_, _>>()),
            labels: (!spec.labels.is_empty())
                .then(|| spec.labels.clone().into_iter().collect::<HashMap<_, _>>()),
            target: spec.target.clone().unwrap_or_default(),
            platform: spec.platform.clone().unwrap_or_default(),
            rm: true,
            // Intermediate containers of a failed step are removed too.
            forcerm: true,
            ..Default::default()
        };
        self.api()
            .build_image(options, None, Some(bollard::body_try_stream(context)))
            .map(move |item| match item {
                Ok(info) => {
                    if let Some(id) = info.aux.and_then(|a| a.id) {
                        return Ok(BuildEvent::Built(id));
                    }
                    Ok(BuildEvent::Log(
                        info.stream.or(info.status).unwrap_or_default(),
                    ))
                }
                Err(bollard::errors::Error::DockerStreamError { error }) => {
                    Err(BuildFailure::Step(error))
                }
                Err(bollard::errors::Error::DockerResponseServerError {
                    status_code,
                    message,
                }) if (400..500).contains(&status_code) => Err(BuildFailure::Rejected(message)),
                Err(e) => Err(BuildFailure::Engine(self.fail("build", e))),
            })
    }

    /// Ids of the images carrying `key=value`, newest first.
    pub async fn images_labelled(&self, key: &str, value: &str) -> Result<Vec<String>> {
        let options = ListImagesOptions {
            filters: Some(HashMap::from([(
                "label".to_string(),
                vec![format!("{key}={value}")],
            )])),
            ..Default::default()
        };
        let mut images = self
            .api()
            .list_images(Some(options))
            .await
            .map_err(|e| self.fail(format_args!("list images labelled {key}={value}"), e))?;
        images.sort_by_key(|i| std::cmp::Reverse(i.created));
        Ok(images.into_iter().map(|i| i.id).collect())
    }

    /// Inspects an image by id or reference; `None` when the engine does not have it.
    pub async fn image(&self, reference: &str) -> Result<Option<ImageDetails>> {
        match self.api().inspect_image(reference).await {
            Ok(i) => Ok(Some(ImageDetails {
                id: i.id.unwrap_or_default(),
                labels: i.config.and_then(|c| c.labels).unwrap_or_default(),
                repo_tags: i.repo_tags.unwrap_or_default(),
                repo_digests: i.repo_digests.unwrap_or_default(),
                layers: i.root_fs.and_then(|r| r.layers).map_or(0, |l| l.len()),
            })),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(self.fail(format_args!("inspect image {reference}"), e)),
        }
    }

    /// Tags `image` (an id or reference) as `repository:tag`, moving the tag if it exists.
    pub async fn tag_image(&self, image: &str, repository: &str, tag: &str) -> Result<()> {
        let options = TagImageOptions {
            repo: Some(repository.to_string()),
            tag: Some(tag.to_string()),
        };
        self.api()
            .tag_image(image, Some(options))
            .await
            .map_err(|e| self.fail(format_args!("tag {image} as {repository}:{tag}"), e))
    }

    /// Removes an image reference. A tag is only untagged while other tags name the image;
    /// `force` removes the image whatever names it. Already gone is fine.
    pub async fn remove_image(&self, reference: &str, force: bool) -> Result<()> {
        let options = RemoveImageOptions {
            force,
            noprune: false,
            ..Default::default()
        };
        match self
            .api()
            .remove_image(reference, Some(options), None)
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(self.fail(format_args!("remove image {reference}"), e)),
        }
    }

    /// Pushes `repository:tag` to its registry.
    pub fn push_image<'a>(
        &'a self,
        repository: &'a str,
        tag: &'a str,
        auth: Option<&RegistryAuth>,
    ) -> impl Stream<Item = Result<PushEvent>> + 'a {
        let options = PushImageOptions {
            tag: Some(tag.to_string()),
            ..Default::default()
        };
        self.api()
            .push_image(repository, Some(options), auth.map(RegistryAuth::docker))
            .filter_map(move |item| async move {
                match item {
                    Ok(info) => push_event(
                        info.status.as_deref().unwrap_or_default(),
                        info.progress_detail
                            .map(|p| (p.current.unwrap_or(0), p.total.unwrap_or(0))),
                    )
                    .map(Ok),
                    Err(e) => Some(Err(self.fail(format_args!("push {repository}:{tag}"), e))),
                }
            })
    }

    /// Pulls `repository` at `reference` (a tag, or `sha256:…`) into the engine.
    pub async fn pull_image(
        &self,
        repository: &str,
        reference: &str,
        auth: Option<&RegistryAuth>,
    ) -> Result<()> {
        let (from_image, tag) = if reference.starts_with("sha256:") {
            (format!("{repository}@{reference}"), None)
        } else {
            (repository.to_string(), Some(reference.to_string()))
        };
        let options = CreateImageOptions {
            from_image: Some(from_image.clone()),
            tag,
            ..Default::default()
        };
        let mut stream =
            self.api()
                .create_image(Some(options), None, auth.map(RegistryAuth::docker));
        while let Some(item) = stream.next().await {
            item.map_err(|e| self.fail(format_args!("pull {from_image}"), e))?;
        }
        Ok(())
    }
}

/// Reads one status line of a push: `Pushed`, `Layer already exists`, `Mounted from x`,
/// `Pushing` with byte counts, and the final `tag: digest: sha256:… size: N`.
fn push_event(status: &str, progress: Option<(i64, i64)>) -> Option<PushEvent> {
    if let Some(rest) = status.split("digest: ").nth(1) {
        let digest = rest.split_whitespace().next()?;
        return Some(PushEvent::Digest(digest.to_string()));
    }
    match status {
        "Pushed" | "Layer already exists" => Some(PushEvent::LayerDone),
        s if s.starts_with("Mounted from") => Some(PushEvent::LayerDone),
        "Pushing" => progress.map(|(current, total)| PushEvent::Uploading {
            current: current.max(0) as u64,
            total: total.max(0) as u64,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_status_lines_become_events() {
        assert_eq!(
            push_event("1.2.3: digest: sha256:abc size: 528", None),
            Some(PushEvent::Digest("sha256:abc".into()))
        );
        assert_eq!(push_event("Pushed", None), Some(PushEvent::LayerDone));
        assert_eq!(
            push_event("Mounted from team/other", None),
            Some(PushEvent::LayerDone)
        );
        assert_eq!(
            push_event("Pushing", Some((10, 100))),
            Some(PushEvent::Uploading {
                current: 10,
                total: 100
            })
        );
        assert_eq!(push_event("Preparing", None), None);
    }

    #[test]
    fn credentials_never_show_in_debug_output() {
        let auth = RegistryAuth {
            server: "r:5000".into(),
            username: "ci".into(),
            password: "hunter2".into(),
            identity_token: Some("tok".into()),
        };
        let shown = format!("{auth:?}");
        assert!(!shown.contains("hunter2") && !shown.contains("tok\""));
    }
}
