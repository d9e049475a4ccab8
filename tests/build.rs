//! `build`: images from a context on the real engine (`FROM scratch`, nothing pulled), their
//! tags and labels, what `.dockerignore` lets through (compared with `docker build` itself),
//! the skip of an unchanged context, and pushes to a real registry (Debian's
//! docker-registry on loopback) with and without htpasswd auth.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::support::registry::Registry;
use crate::support::{Run, bin, free_port, require_docker};

/// The commit every test builds "from" (as `GITHUB_SHA`).
const SHA: &str = "0123456789abcdef0123456789abcdef01234567";
const SHA_TAG: &str = "sha-0123456";

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Removing a `FROM scratch` image while the classic builder looks for a cached step fails
/// that build: moby's `getLocalCachedImage` reads every image without a parent, and one gone
/// meanwhile is "unable to find image". So builds here hold this lock shared and removals
/// hold it alone; and the images the other topics build (once, at the start of the run) are
/// built before any test here starts.
static IMAGES: RwLock<()> = RwLock::new(());

fn building() -> std::sync::RwLockReadGuard<'static, ()> {
    IMAGES.read().unwrap_or_else(|e| e.into_inner())
}

fn removing() -> std::sync::RwLockWriteGuard<'static, ()> {
    IMAGES.write().unwrap_or_else(|e| e.into_inner())
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/build")
}

/// A build context in a temporary directory with a repository of its own. Every image it
/// makes carries `deploy-action.test=1` and its `deploy-action.test-id`, and is removed when
/// it drops.
struct Context {
    dir: tempfile::TempDir,
    id: String,
    /// `DOCKER_CONFIG`: empty unless a test writes a config.json, so the host's logins
    /// never leak in.
    docker_config: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Context {
    fn empty() -> Self {
        require_docker();
        crate::support::images::ensure();
        Context {
            dir: tempfile::tempdir().unwrap(),
            id: format!(
                "t{}-{}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::SeqCst)
            ),
            docker_config: tempfile::tempdir().unwrap(),
            env: Vec::new(),
        }
    }

    /// A copy of `tests/fixtures/build/<name>/`.
    fn fixture(name: &str) -> Self {
        let ctx = Self::empty();
        copy_dir(&fixtures().join(name), ctx.path());
        ctx
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, rel: &str, content: &str) -> &Self {
        let path = self.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
        self
    }

    fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// The repository on the engine only.
    fn repo(&self) -> String {
        format!("deploy-action-build-test/{}", self.id)
    }

    /// The repository in `registry`, and its path there.
    fn repo_in(&self, registry: &Registry) -> (String, String) {
        let path = format!("team/{}", self.id);
        (format!("{}/{path}", registry.host()), path)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(bin());
        c.current_dir(self.path()).args(args);
        for (key, _) in std::env::vars() {
            if key.starts_with("DEPLOY_ACTION_") || key.starts_with("GITHUB_") {
                c.env_remove(key);
            }
        }
        c.env("CI", "true")
            .env("DOCKER_CONFIG", self.docker_config.path())
            .env("GITHUB_SHA", SHA)
            .env("GITHUB_SERVER_URL", "https://github.com")
            .env("GITHUB_REPOSITORY", "org/shop");
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    /// `build ARGS`, with this context's test labels.
    fn build(&self, args: &[&str]) -> Run {
        let id_label = format!("deploy-action.test-id={}", self.id);
        let mut all = vec!["build"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--label", "deploy-action.test=1", "--label", &id_label]);
        let _building = building();
        run(self.command(&all))
    }

    /// `--json build ARGS`, successful, as its JSON document.
    fn build_json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let run = self.build(&all);
        run.success();
        run.json()
    }

    /// What `docker build` (the classic builder, as the engine runs ours) sends into an image
    /// built from `Dockerfile` `COPY . /ctx/`: the files under `/ctx`.
    fn docker_build_files(&self) -> Vec<String> {
        let tag = format!("{}:docker-build", self.repo());
        let building = building();
        let out = Command::new("docker")
            .args(["build", "-q", "--label", "deploy-action.test=1", "--label"])
            .arg(format!("deploy-action.test-id={}", self.id))
            .args(["-t", &tag])
            .arg(self.path())
            .env("DOCKER_BUILDKIT", "0")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "docker build: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        drop(building);
        files_under(&tag, "ctx/")
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        // Only this test's images: never by the shared `deploy-action.test` label alone.
        let mut ids = docker_lines(&[
            "images",
            "-a",
            "-q",
            "--filter",
            &format!("label=deploy-action.test-id={}", self.id),
        ]);
        ids.extend(
            docker_lines(&["images", "--format", "{{.ID}} {{.Repository}}"])
                .into_iter()
                .filter(|l| l.ends_with(&format!("/{}", self.id)))
                .filter_map(|l| l.split_whitespace().next().map(str::to_string)),
        );
        ids.sort();
        ids.dedup();
        if !ids.is_empty() {
            let _removing = removing();
            let _ = Command::new("docker")
                .args(["rmi", "-f"])
                .args(&ids)
                .output();
        }
    }
}

fn run(mut c: Command) -> Run {
    let o = c.output().unwrap();
    Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn docker_lines(args: &[&str]) -> Vec<String> {
    let out = Command::new("docker").args(args).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .filter(|l| !l.is_empty())
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// `docker image inspect`, or `None` when the engine does not have the image.
fn inspect(reference: &str) -> Option<serde_json::Value> {
    let out = Command::new("docker")
        .args(["image", "inspect", reference])
        .output()
        .unwrap();
    out.status
        .success()
        .then(|| serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()[0].clone())
}

fn labels(reference: &str) -> BTreeMap<String, String> {
    let image = inspect(reference).unwrap_or_else(|| panic!("no image {reference}"));
    serde_json::from_value(image["Config"]["Labels"].clone()).unwrap()
}

fn image_id(reference: &str) -> String {
    inspect(reference).unwrap_or_else(|| panic!("no image {reference}"))["Id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The files of an image (read through a created, never started, container) under `prefix`,
/// sorted, with the prefix removed.
fn files_under(reference: &str, prefix: &str) -> Vec<String> {
    let name = format!(
        "deploy-action-build-test-{}",
        COUNTER.fetch_add(1, Ordering::SeqCst)
    );
    let created = Command::new("docker")
        .args(["create", "--name", &name, reference, "none"])
        .output()
        .unwrap();
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let export = Command::new("docker")
        .args(["export", &name])
        .output()
        .unwrap();
    let _ = Command::new("docker").args(["rm", "-f", &name]).output();
    let mut archive = tar::Archive::new(export.stdout.as_slice());
    let mut files: Vec<String> = archive
        .entries()
        .unwrap()
        .filter_map(|e| {
            let e = e.unwrap();
            let path = e.path().unwrap().to_string_lossy().into_owned();
            let rest = path.strip_prefix(prefix)?.to_string();
            // What the engine adds to every container is no part of the image.
            let runtime = rest == ".dockerenv"
                || [
                    "dev/",
                    "etc/hostname",
                    "etc/hosts",
                    "etc/resolv.conf",
                    "etc/mtab",
                ]
                .iter()
                .any(|p| rest.starts_with(p));
            (e.header().entry_type().is_file() && !rest.is_empty() && !runtime).then_some(rest)
        })
        .collect();
    files.sort();
    files
}

/// A file's content inside an image.
fn file_in(reference: &str, path: &str) -> String {
    let name = format!(
        "deploy-action-build-test-{}",
        COUNTER.fetch_add(1, Ordering::SeqCst)
    );
    let created = Command::new("docker")
        .args(["create", "--name", &name, reference, "none"])
        .output()
        .unwrap();
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let text = crate::support::container_file(&name, path);
    let _ = Command::new("docker").args(["rm", "-f", &name]).output();
    text
}

fn strings(value: &serde_json::Value) -> Vec<String> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

/// `name<<delimiter` blocks of a `$GITHUB_OUTPUT` file.
fn read_outputs(path: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let (name, delimiter) = line.split_once("<<").unwrap();
        let mut value = Vec::new();
        for l in lines.by_ref() {
            if l == delimiter {
                break;
            }
            value.push(l);
        }
        out.insert(name.to_string(), value.join("\n"));
    }
    out
}

// ---------------------------------------------------------------- tags, labels, outputs

#[test]
fn a_version_gives_semver_tags_and_a_sha_tag_on_an_image_with_oci_labels() {
    let ctx = Context::fixture("hello");
    let repo = ctx.repo();
    let doc = ctx.build_json(&["--image", &repo, "--version", "v1.2.3"]);
    let expected: Vec<String> = ["1.2.3", "1.2", "1", SHA_TAG]
        .iter()
        .map(|t| format!("{repo}:{t}"))
        .collect();
    assert_eq!(strings(&doc["tags"]), expected);
    assert_eq!(doc["image"], format!("{repo}:1.2.3"));
    assert_eq!(doc["unchanged"], false);
    let id = doc["image_id"].as_str().unwrap();
    assert_eq!(
        doc["digest"], id,
        "without a push the digest is the image id"
    );
    for tag in &expected {
        assert_eq!(image_id(tag), id, "{tag}");
    }
    let l = labels(&expected[0]);
    assert_eq!(
        l["org.opencontainers.image.source"],
        "https://github.com/org/shop"
    );
    assert_eq!(l["org.opencontainers.image.revision"], SHA);
    assert_eq!(l["org.opencontainers.image.version"], "1.2.3");
    assert_eq!(l["org.opencontainers.image.title"], ctx.id);
    assert!(l["org.opencontainers.image.created"].ends_with('Z'));
    assert_eq!(
        l["deploy-action.context-digest"],
        doc["context_digest"].as_str().unwrap()
    );
    assert_eq!(files_under(&expected[0], ""), ["hello.txt"]);
}

#[test]
fn a_pre_release_gets_only_its_own_tag_and_never_latest() {
    let ctx = Context::fixture("hello");
    let repo = ctx.repo();
    let doc = ctx.build_json(&["--image", &repo, "--version", "v1.3.0-rc.1", "--latest"]);
    assert_eq!(
        strings(&doc["tags"]),
        [format!("{repo}:1.3.0-rc.1"), format!("{repo}:{SHA_TAG}")]
    );
    assert!(inspect(&format!("{repo}:latest")).is_none());
}

#[test]
fn under_actions_a_tag_build_takes_its_version_from_the_tag() {
    let ctx = Context::fixture("hello")
        .env("GITHUB_REF_TYPE", "tag")
        .env("GITHUB_REF_NAME", "v4.5.6");
    let repo = ctx.repo();
    let doc = ctx.build_json(&["--image", &repo]);
    assert_eq!(doc["image"], format!("{repo}:4.5.6"));
}

#[test]
fn the_build_table_sets_the_defaults_flags_override_it_and_its_paths_are_relative_to_the_config() {
    let ctx = Context::empty();
    copy_dir(&fixtures().join("multistage"), &{
        let app = ctx.path().join("app");
        std::fs::create_dir_all(&app).unwrap();
        app
    });
    let repo = ctx.repo();
    ctx.write(
        "deploy.toml",
        &format!(
            "service = \"shop\"\n\n[build]\nimage = \"{repo}\"\ncontext = \"app\"\ntarget = \"app\"\n\
             latest = true\n\n[build.args]\nGREETING_FILE = \"hello.txt\"\n"
        ),
    );
    // Run from elsewhere: the context is found next to the config file.
    let config = ctx.path().join("deploy.toml");
    let mut c = ctx.command(&[
        "--json",
        "--config",
        config.to_str().unwrap(),
        "build",
        "--version",
        "v2.0.0",
        "--build-arg",
        "GREETING_FILE=b.txt",
        "--label",
        "deploy-action.test=1",
        "--label",
        &format!("deploy-action.test-id={}", ctx.id),
    ]);
    c.current_dir(std::env::temp_dir());
    let run = {
        let _building = building();
        run(c)
    };
    run.success();
    let doc = run.json();
    assert!(strings(&doc["tags"]).contains(&format!("{repo}:latest")));
    let image = format!("{repo}:2.0.0");
    // The `app` stage, with the flag's build arg over the table's.
    assert_eq!(files_under(&image, ""), ["greeting.txt", "hello.txt"]);
    assert_eq!(file_in(&image, "/greeting.txt"), "bonjour\n");
    // The labels land on the target stage.
    assert_eq!(labels(&image)["org.opencontainers.image.version"], "2.0.0");
}

#[test]
fn under_actions_the_build_log_is_grouped_and_the_outputs_are_written() {
    let ctx = Context::fixture("hello");
    let outputs = ctx.path().join("outputs.txt");
    let summary = ctx.path().join("summary.md");
    let ctx = ctx
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", outputs.to_str().unwrap())
        .env("GITHUB_STEP_SUMMARY", summary.to_str().unwrap());
    let repo = ctx.repo();
    let run = ctx.build(&["--image", &repo, "--version", "v3.1.4"]);
    run.success();
    let group = run.stdout.find("::group::build").expect(&run.stdout);
    let step = run
        .stdout
        .find("Step 2/3 : COPY hello.txt /")
        .expect(&run.stdout);
    let end = run.stdout.find("::endgroup::").expect(&run.stdout);
    assert!(group < step && step < end, "{}", run.stdout);
    let out = read_outputs(&outputs);
    assert_eq!(out["image"], format!("{repo}:3.1.4"));
    assert_eq!(out["unchanged"], "false");
    assert_eq!(out["digest"], image_id(&out["image"]));
    assert_eq!(
        out["tags"].lines().collect::<Vec<_>>(),
        [
            format!("{repo}:3.1.4"),
            format!("{repo}:3.1"),
            format!("{repo}:3"),
            format!("{repo}:{SHA_TAG}")
        ]
    );
    assert!(
        std::fs::read_to_string(&summary)
            .unwrap()
            .contains(&out["digest"])
    );
}

// ---------------------------------------------------------------- the context digest

#[test]
fn an_unchanged_context_is_not_rebuilt_and_only_gets_the_new_tags() {
    let ctx = Context::fixture("hello");
    let repo = ctx.repo();
    let first = ctx.build_json(&["--image", &repo, "--version", "v1.0.0"]);
    let again = ctx.build(&["--json", "--image", &repo, "--version", "v1.0.1"]);
    again.success();
    let doc = again.json();
    assert_eq!(doc["unchanged"], true);
    assert_eq!(doc["source"], "local");
    assert_eq!(doc["image_id"], first["image_id"]);
    assert!(
        !again.stderr.contains("Step 1/"),
        "built again:\n{}",
        again.stderr
    );
    assert_eq!(
        image_id(&format!("{repo}:1.0.1")),
        first["image_id"].as_str().unwrap()
    );
    assert_eq!(
        image_id(&format!("{repo}:1.0.0")),
        first["image_id"].as_str().unwrap()
    );
}

#[test]
fn a_change_in_an_ignored_file_does_not_rebuild() {
    let ctx = Context::fixture("hello");
    let repo = ctx.repo();
    let first = ctx.build_json(&["--image", &repo, "--version", "v1.0.0"]);
    ctx.write("debug.log", "a different log\n");
    ctx.write("more.log", "a new log\n");
    let doc = ctx.build_json(&["--image", &repo, "--version", "v1.0.1"]);
    assert_eq!(doc["unchanged"], true);
    assert_eq!(doc["context_digest"], first["context_digest"]);
}

#[test]
fn a_changed_byte_in_an_included_file_rebuilds() {
    let ctx = Context::fixture("hello");
    let repo = ctx.repo();
    let first = ctx.build_json(&["--image", &repo, "--version", "v1.0.0"]);
    // Same length, one byte different.
    ctx.write("hello.txt", "hello from the build fixturE\n");
    let doc = ctx.build_json(&["--image", &repo, "--version", "v1.0.1"]);
    assert_eq!(doc["unchanged"], false);
    assert_ne!(doc["context_digest"], first["context_digest"]);
    assert_ne!(doc["image_id"], first["image_id"]);
    assert_eq!(
        file_in(&format!("{repo}:1.0.1"), "/hello.txt"),
        "hello from the build fixturE\n"
    );
}

#[test]
fn a_different_build_arg_rebuilds() {
    let ctx = Context::fixture("multistage");
    let repo = ctx.repo();
    let first = ctx.build_json(&["--image", &repo, "--version", "v1.0.0", "--target", "app"]);
    let doc = ctx.build_json(&[
        "--image",
        &repo,
        "--version",
        "v1.0.1",
        "--target",
        "app",
        "--build-arg",
        "GREETING_FILE=b.txt",
    ]);
    assert_eq!(doc["unchanged"], false);
    assert_ne!(doc["context_digest"], first["context_digest"]);
}

// ---------------------------------------------------------------- .dockerignore

/// Builds a context laid out by `tests/fixtures/build/ignore/<case>.files` with `ignore` as
/// its `.dockerignore`, with this tool and with `docker build`, and compares what reached
/// the image.
fn sends_what_docker_build_sends(case: &str, ignore: &str) {
    let ctx = Context::empty();
    let list = std::fs::read_to_string(fixtures().join(format!("ignore/{case}.files"))).unwrap();
    for file in list.lines().filter(|l| !l.is_empty()) {
        ctx.write(file, &format!("{file}\n"));
    }
    ctx.write(".dockerignore", ignore);
    ctx.write("Dockerfile", "FROM scratch\nCOPY . /ctx/\n");
    let repo = ctx.repo();
    ctx.build_json(&["--image", &repo, "--version", "v1.0.0"]);
    let ours = files_under(&format!("{repo}:1.0.0"), "ctx/");
    assert_eq!(
        ours,
        ctx.docker_build_files(),
        "{case}: ours, then docker build's"
    );
}

fn ignore_fixture(case: &str) -> String {
    std::fs::read_to_string(fixtures().join(format!("ignore/{case}.dockerignore"))).unwrap()
}

#[test]
fn dockerignore_an_exception_reincludes_a_file_inside_an_excluded_directory() {
    let case = "exception-inside-excluded-dir";
    sends_what_docker_build_sends(case, &ignore_fixture(case));
}

#[test]
fn dockerignore_double_star_matches_any_depth_and_a_later_exception_wins() {
    let case = "double-star";
    sends_what_docker_build_sends(case, &ignore_fixture(case));
}

#[test]
fn dockerignore_the_last_matching_line_decides() {
    let case = "exception-order";
    sends_what_docker_build_sends(case, &ignore_fixture(case));
}

#[test]
fn dockerignore_spaces_dot_prefixes_and_slashes_are_normalised() {
    let case = "spaces-and-slashes";
    sends_what_docker_build_sends(case, &ignore_fixture(case));
}

#[test]
fn dockerignore_a_wildcard_exception_does_not_reach_into_an_excluded_directory() {
    let case = "wildcard-exception";
    sends_what_docker_build_sends(case, &ignore_fixture(case));
}

#[test]
fn dockerignore_of_the_example_service_sends_only_its_release_binary() {
    let ignore = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/hello/.dockerignore"),
    )
    .unwrap();
    sends_what_docker_build_sends("example-hello", &ignore);
}

// ---------------------------------------------------------------- failures

#[test]
fn a_failing_step_exits_1_with_the_step_and_its_last_output_lines() {
    let ctx = Context::fixture("hello");
    ctx.write("Dockerfile", "FROM scratch\nCOPY missing.txt /\n");
    let run = ctx.build(&["--image", &ctx.repo(), "--version", "v1.0.0"]);
    run.code(1);
    assert!(
        run.stderr
            .contains("the build failed at step 2/3 `COPY missing.txt /`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("  | Step 1/3 : FROM scratch"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("missing.txt"), "{}", run.stderr);
}

#[test]
fn a_failing_step_under_actions_is_an_annotation_on_its_dockerfile_line() {
    let ctx = Context::fixture("hello").env("GITHUB_ACTIONS", "true");
    ctx.write(
        "Dockerfile",
        "FROM scratch\n\n# the file is not there\nCOPY missing.txt /\n",
    );
    let run = ctx.build(&["--image", &ctx.repo(), "--version", "v1.0.0"]);
    run.code(1);
    assert!(
        run.stdout
            .contains("::error file=Dockerfile,line=4,col=1::the build failed at step 2/3"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_missing_dockerfile_an_unknown_stage_or_an_unparsable_dockerfile_exits_2() {
    let ctx = Context::fixture("hello");
    let repo = ctx.repo();
    let run = ctx.build(&["--image", &repo, "--version", "v1", "--file", "Nope"]);
    run.code(2);
    assert!(
        run.stderr.contains("Dockerfile Nope: no such file"),
        "{}",
        run.stderr
    );

    let run = ctx.build(&["--image", &repo, "--version", "v1", "--target", "nope"]);
    run.code(2);
    assert!(run.stderr.contains("nope"), "{}", run.stderr);

    ctx.write("Dockerfile.bad", "FROM scratch\nFROB hello.txt\n");
    let run = ctx.build(&[
        "--image",
        &repo,
        "--version",
        "v1",
        "--file",
        "Dockerfile.bad",
    ]);
    run.code(2);
    assert!(run.stderr.contains("unknown instruction"), "{}", run.stderr);
}

#[test]
fn bad_flags_exit_2_before_the_engine_is_asked() {
    let ctx = Context::fixture("hello").env("DOCKER_HOST", "tcp://127.0.0.1:1");
    let repo = ctx.repo();
    let cases: [(&[&str], &str); 4] = [
        (&["--image", "shop:1.0", "--version", "v1"], "has a tag"),
        (&["--version", "v1"], "no image name"),
        (
            &["--image", &repo, "--version", "feature/x"],
            "--version `feature/x`",
        ),
        (
            &["--image", &repo, "--build-arg", "NOVALUE"],
            "expected KEY=VALUE",
        ),
    ];
    for (args, message) in cases {
        let run = ctx.build(args);
        run.code(2);
        assert!(run.stderr.contains(message), "{args:?}: {}", run.stderr);
    }
    let bad = ctx.write(".dockerignore", "ok\n!\n");
    let run = bad.build(&["--image", &repo, "--version", "v1"]);
    run.code(2);
    assert!(run.stderr.contains(".dockerignore:2:"), "{}", run.stderr);
}

#[test]
fn empty_variables_are_unset_inputs_and_leave_the_defaults() {
    let mut ctx = Context::fixture("hello");
    for flag in [
        "VERSION",
        "CONTEXT",
        "FILE",
        "BUILD_ARG",
        "TARGET",
        "PLATFORM",
        "LABEL",
        "PUSH",
        "LATEST",
    ] {
        ctx = ctx.env(&format!("DEPLOY_ACTION_{flag}"), "");
    }
    let repo = ctx.repo();
    let doc = ctx.build_json(&["--image", &repo]);
    assert_eq!(strings(&doc["tags"]), [format!("{repo}:{SHA_TAG}")]);
    assert_eq!(doc["pushed"], false);
}

#[test]
fn an_unreachable_engine_exits_3() {
    let ctx =
        Context::fixture("hello").env("DOCKER_HOST", &format!("tcp://127.0.0.1:{}", free_port()));
    let run = ctx.build(&["--image", &ctx.repo(), "--version", "v1.0.0"]);
    run.code(3);
    assert!(run.stderr.contains("unreachable"), "{}", run.stderr);
}

// ---------------------------------------------------------------- registry

#[test]
fn push_sends_every_tag_to_a_registry_without_auth_and_the_digest_is_the_registrys() {
    let registry = Registry::open();
    let ctx = Context::fixture("hello");
    let (repo, path) = ctx.repo_in(&registry);
    let doc = ctx.build_json(&["--image", &repo, "--version", "v1.2.3", "--push"]);
    assert_eq!(doc["pushed"], true);
    let tags = registry.tags(&path);
    for tag in ["1", "1.2", "1.2.3", SHA_TAG] {
        assert!(tags.contains(&tag.to_string()), "{tag} not in {tags:?}");
    }
    assert!(tags.iter().any(|t| t.starts_with("ctx-")), "{tags:?}");
    assert_eq!(
        doc["digest"].as_str(),
        registry.manifest_digest(&path, "1.2.3").as_deref()
    );
    // The ctx- tag is for the registry only.
    assert!(
        labels(&format!("{repo}:1.2.3")).contains_key("deploy-action.context-digest")
            && !docker_lines(&["images", "--format", "{{.Tag}}", &repo])
                .iter()
                .any(|t| t.starts_with("ctx-"))
    );
}

#[test]
fn a_fresh_engine_pulls_the_image_of_an_unchanged_context_from_the_registry() {
    let registry = Registry::open();
    let ctx = Context::fixture("hello");
    let (repo, path) = ctx.repo_in(&registry);
    let first = ctx.build_json(&["--image", &repo, "--version", "v1.0.0", "--push"]);
    // As on a new runner: the engine has nothing of this context.
    let ids = docker_lines(&["images", "-q", &repo]);
    let removing = removing();
    let _ = Command::new("docker")
        .args(["rmi", "-f"])
        .args(&ids)
        .output();
    drop(removing);
    assert!(inspect(&format!("{repo}:1.0.0")).is_none());

    let again = ctx.build(&["--json", "--image", &repo, "--version", "v1.0.1", "--push"]);
    again.success();
    let doc = again.json();
    assert_eq!(doc["unchanged"], true);
    assert_eq!(doc["source"], "registry");
    assert!(
        !again.stderr.contains("Step 1/"),
        "built again:\n{}",
        again.stderr
    );
    assert_eq!(doc["image_id"], first["image_id"]);
    assert!(registry.tags(&path).contains(&"1.0.1".to_string()));
}

#[test]
fn push_uses_the_environment_credentials_and_masks_the_password() {
    let registry = Registry::with_login("ci", "pa55-word");
    let ctx = Context::fixture("hello")
        .env("DEPLOY_ACTION_REGISTRY_USER", "ci")
        .env("DEPLOY_ACTION_REGISTRY_PASSWORD", "pa55-word")
        .env("GITHUB_ACTIONS", "true");
    let (repo, path) = ctx.repo_in(&registry);
    let run = ctx.build(&["--image", &repo, "--version", "v1.0.0", "--push"]);
    run.success();
    assert!(
        run.stdout.contains("::add-mask::pa55-word"),
        "{}",
        run.stdout
    );
    assert!(registry.tags(&path).contains(&"1.0.0".to_string()));
}

#[test]
fn push_uses_the_docker_config_auths_entry() {
    use base64::Engine as _;
    let registry = Registry::with_login("ci", "from-config");
    let ctx = Context::fixture("hello");
    let auth = base64::engine::general_purpose::STANDARD.encode("ci:from-config");
    std::fs::write(
        ctx.docker_config.path().join("config.json"),
        format!(
            "{{\"auths\": {{\"http://{}\": {{\"auth\": \"{auth}\"}}}}}}",
            registry.host()
        ),
    )
    .unwrap();
    let (repo, path) = ctx.repo_in(&registry);
    ctx.build_json(&["--image", &repo, "--version", "v1.0.0", "--push"]);
    assert!(registry.tags(&path).contains(&"1.0.0".to_string()));
}

#[test]
fn push_uses_the_credential_helper_named_for_the_registry() {
    use std::os::unix::fs::PermissionsExt;
    let registry = Registry::with_login("helper-user", "helper-secret");
    let helpers = tempfile::tempdir().unwrap();
    let script = helpers.path().join("docker-credential-deploy-action-test");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nread server\n[ \"$1\" = get ] && [ \"$server\" = \"{}\" ] || \
             {{ echo 'credentials not found in native keychain'; exit 1; }}\n\
             printf '{{\"ServerURL\":\"%s\",\"Username\":\"helper-user\",\"Secret\":\"helper-secret\"}}' \"$server\"\n",
            registry.host()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path_env = format!(
        "{}:{}",
        helpers.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let ctx = Context::fixture("hello").env("PATH", &path_env);
    std::fs::write(
        ctx.docker_config.path().join("config.json"),
        format!(
            "{{\"credHelpers\": {{\"{}\": \"deploy-action-test\"}}}}",
            registry.host()
        ),
    )
    .unwrap();
    let (repo, path) = ctx.repo_in(&registry);
    ctx.build_json(&["--image", &repo, "--version", "v1.0.0", "--push"]);
    assert!(registry.tags(&path).contains(&"1.0.0".to_string()));
}

#[test]
fn a_push_the_registry_refuses_exits_3_and_says_which_credentials_were_used() {
    let registry = Registry::with_login("ci", "right");
    let ctx = Context::fixture("hello");
    let (repo, path) = ctx.repo_in(&registry);
    let run = ctx.build(&["--image", &repo, "--version", "v1.0.0", "--push"]);
    run.code(3);
    assert!(
        run.stderr.contains("the push used no credentials"),
        "{}",
        run.stderr
    );
    assert!(registry.tags(&path).is_empty());

    let wrong = ctx
        .env("DEPLOY_ACTION_REGISTRY_USER", "ci")
        .env("DEPLOY_ACTION_REGISTRY_PASSWORD", "wr0ng-pass");
    let run = wrong.build(&["--image", &repo, "--version", "v1.0.0", "--push"]);
    run.code(3);
    assert!(
        run.stderr
            .contains("DEPLOY_ACTION_REGISTRY_USER/DEPLOY_ACTION_REGISTRY_PASSWORD"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("wr0ng-pass"),
        "the password leaked: {}",
        run.stderr
    );
}
