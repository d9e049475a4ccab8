//! `build`: make the image from the context, tag it from the version and the commit, push it
//! if asked. Flags override `[build]`; without `deploy.toml`, `--image` is required.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::build::reference::ImageName;
use crate::build::{self, BuildPlan, Built, Source};
use crate::cli::BuildArgs;
use crate::config::{BuildConfig, Config};
use crate::docker::{Engine, EngineHost};
use crate::error::{Error, Result};
use crate::output::Ui;
use crate::signals::Cancel;

pub async fn run(config: Option<Config>, args: BuildArgs, ui: Ui, cancel: Cancel) -> Result<()> {
    let built = execute(config.as_ref(), args, &ui, &cancel).await?;
    report(&built, &ui);
    Ok(())
}

/// Plans, prepares and builds (or reuses) the image; prints nothing of its own.
pub(crate) async fn execute(
    config: Option<&Config>,
    args: BuildArgs,
    ui: &Ui,
    cancel: &Cancel,
) -> Result<Built> {
    let plan = plan(config, args)?;
    let prepared = tokio::task::spawn_blocking(move || build::prepare(plan))
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))?;
    let host = EngineHost::resolve(config.and_then(|c| c.target.host.as_deref()));
    let engine = Engine::connect(host).await?;
    build::run(&engine, &prepared, ui, cancel).await
}

/// Merges flags over `[build]` and resolves paths.
fn plan(config: Option<&Config>, args: BuildArgs) -> Result<BuildPlan> {
    let defaults = BuildConfig::default();
    let section = config.and_then(|c| c.build.as_ref()).unwrap_or(&defaults);
    // `[build]` paths are relative to the config file; without one there are none.
    let base = config.and(args.config_dir.clone()).unwrap_or_default();

    // An empty variable (an unset Actions input) is no value.
    let text = |s: &Option<String>| s.clone().filter(|s| !s.trim().is_empty());
    let path = |p: &Option<PathBuf>| p.clone().filter(|p| !p.as_os_str().is_empty());
    let image = text(&args.image)
        .or_else(|| section.image.clone())
        .or_else(|| config.map(|c| c.service.clone()))
        .ok_or_else(|| {
            Error::Usage(
                "no image name: pass --image (or DEPLOY_ACTION_IMAGE), or set [build] image in \
                 deploy.toml"
                    .into(),
            )
        })?;
    let image = ImageName::parse(&image).map_err(Error::Usage)?;

    let context = match path(&args.context) {
        Some(dir) => dir,
        None => join(&base, Path::new(&section.context)),
    };
    let dockerfile = match path(&args.file) {
        Some(file) => file,
        None => join(&context, Path::new(&section.dockerfile)),
    };

    let mut build_args = section.args.clone();
    build_args.extend(pairs("--build-arg", &args.build_args)?);
    let mut labels = section.labels.clone();
    labels.extend(pairs("--label", &args.labels)?);

    let version = text(&args.version).or_else(|| {
        let env = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
        (env("GITHUB_REF_TYPE").as_deref() == Some("tag"))
            .then(|| env("GITHUB_REF_NAME"))
            .flatten()
    });

    Ok(BuildPlan {
        image,
        context,
        dockerfile,
        args: build_args,
        target: text(&args.target)
            .or_else(|| section.target.clone())
            .filter(|t| !t.is_empty()),
        platform: text(&args.platform)
            .or_else(|| section.platform.clone())
            .filter(|p| !p.is_empty()),
        labels,
        version,
        push: args.push.and_then(|s| s.0).unwrap_or(section.push),
        latest: args.latest.and_then(|s| s.0).unwrap_or(section.latest),
    })
}

fn join(base: &Path, path: &Path) -> PathBuf {
    if base.as_os_str().is_empty() || path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    }
}

/// `KEY=VALUE` items of a repeatable flag; blank items (a trailing newline) are skipped.
fn pairs(flag: &str, items: &[String]) -> Result<BTreeMap<String, String>> {
    items
        .iter()
        .map(|item| item.trim_end_matches('\r'))
        .filter(|item| !item.trim().is_empty())
        .map(|item| match item.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
            _ => Err(Error::Usage(format!("{flag} `{item}`: expected KEY=VALUE"))),
        })
        .collect()
}

fn report(built: &Built, ui: &Ui) {
    if ui.actions() {
        let outputs = [
            ("image", built.image.clone()),
            ("digest", built.digest.clone()),
            ("tags", built.tags.join("\n")),
            ("unchanged", built.unchanged.to_string()),
        ];
        if let Err(e) = crate::ci::set_outputs(&outputs) {
            tracing::warn!("cannot write step outputs: {e}");
        }
        let md = format!(
            "### Image `{}`\n\n| | |\n|---|---|\n| digest | `{}` |\n| tags | {} |\n| unchanged | {} |\n| context | {} files, {} |\n",
            built.image,
            built.digest,
            built
                .tags
                .iter()
                .map(|t| format!("`{t}`"))
                .collect::<Vec<_>>()
                .join("<br>"),
            built.unchanged,
            built.context_entries,
            indicatif::HumanBytes(built.context_bytes),
        );
        if let Err(e) = crate::ci::append_summary(&md) {
            tracing::warn!("cannot write the step summary: {e}");
        }
    }
    if ui.json {
        super::print_json(&json!(built));
        return;
    }
    let how = match built.source {
        Source::Built => "built",
        Source::Local => "unchanged (an image of this context is on the engine)",
        Source::Registry => "unchanged (pulled the image of this context from the registry)",
    };
    println!("{}: {how}", built.image);
    println!("digest {}", built.digest);
    for tag in &built.tags {
        println!("  {tag}{}", if built.pushed { " (pushed)" } else { "" });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_args_and_labels_are_key_value_pairs() {
        let p = pairs("--build-arg", &["A=1".into(), "B=x=y".into(), "".into()]).unwrap();
        assert_eq!(p["A"], "1");
        assert_eq!(p["B"], "x=y");
        assert!(pairs("--label", &["novalue".into()]).is_err());
        assert!(pairs("--label", &["=v".into()]).is_err());
    }
}
