//! The actions are generated from the CLI, and held to it: `action.yml` and
//! `actions/<command>/action.yml` must be exactly what the CLI's flags and
//! `src/outputs.rs` make of them, and, read back as YAML, every input must reach a real
//! flag through its `DEPLOY_ACTION_*` variable and every flag must have its input.
//!
//! After changing a flag or an output: `UPDATE_ACTIONS=1 cargo test --test integration
//! action_map` rewrites the files; review and commit them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use deploy_action::cli::Cli;
use serde_yaml_ng::Value;

/// Flags no action input carries, and why.
const NOT_INPUTS: &[(&str, &str, &str)] = &[
    (
        "lock",
        "hold",
        "runs a command under the lock: in a workflow the steps between acquire and release are that command, or `run` holds the lock itself",
    ),
    ("lock", "command", "the command `--hold` runs (positional)"),
    (
        "scan",
        "report",
        "the positional REPORT; the `report` input sets `--report`",
    ),
];

/// The inputs every action has besides its command's flags, and the variable each sets.
const COMMON: &[(&str, &str, &str)] = &[
    (
        "config",
        "DEPLOY_ACTION_CONFIG",
        "Path to the service's config file. Default: deploy.toml",
    ),
    (
        "github-token",
        "GITHUB_TOKEN",
        "Token for GitHub's API (deploy lock, approval, deployment records). Default: the job's token",
    ),
];

const HEADER: &str = "# Generated from the CLI by `UPDATE_ACTIONS=1 cargo test --test integration action_map`:\n# edit the flags in src/ or the outputs in src/outputs.rs, not this file.\n";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[derive(Debug, Clone, PartialEq)]
struct Input {
    name: String,
    env: String,
    description: String,
    required: bool,
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The flags of `cmd` (and of its sub-actions, merged by name) as inputs.
fn flag_inputs(cmd: &clap::Command) -> Vec<Input> {
    let mut by_name: BTreeMap<String, Input> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut commands = vec![cmd.clone()];
    commands.extend(cmd.get_subcommands().cloned());
    let has_actions = cmd.has_subcommands();
    for c in &commands {
        for arg in c.get_arguments() {
            let id = arg.get_id().as_str();
            if id == "help" || arg.is_global_set() {
                continue;
            }
            let Some(long) = arg.get_long() else {
                continue;
            };
            let Some(env) = arg.get_env() else {
                continue;
            };
            let name = long.to_string();
            let input = Input {
                name: name.clone(),
                env: env.to_string_lossy().into_owned(),
                description: one_line(&arg.get_help().map(|h| h.to_string()).unwrap_or_default()),
                // With sub-actions a flag one of them requires is optional for the others.
                required: arg.is_required_set() && !has_actions,
            };
            match by_name.get(&name) {
                Some(seen) => assert_eq!(
                    seen.env,
                    input.env,
                    "`--{name}` sets different variables in `{}`'s sub-actions",
                    cmd.get_name()
                ),
                None => {
                    order.push(name.clone());
                    by_name.insert(name, input);
                }
            }
        }
    }
    order
        .into_iter()
        .map(|n| by_name.remove(&n).unwrap())
        .collect()
}

/// Every flag of `cmd` with no env variable and no documented reason: none may exist.
fn unmapped(cmd: &clap::Command) -> Vec<String> {
    let mut commands = vec![cmd.clone()];
    commands.extend(cmd.get_subcommands().cloned());
    let mut missing = Vec::new();
    for c in &commands {
        for arg in c.get_arguments() {
            let id = arg.get_id().as_str();
            if id == "help" || arg.is_global_set() || arg.get_env().is_some() {
                continue;
            }
            let excused = NOT_INPUTS
                .iter()
                .any(|(command, flag, _)| *command == cmd.get_name() && *flag == id);
            if !excused {
                missing.push(format!("{} {}: `{id}`", cmd.get_name(), c.get_name()));
            }
        }
    }
    missing
}

fn quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

fn about(cmd: &clap::Command) -> String {
    one_line(&cmd.get_about().map(|a| a.to_string()).unwrap_or_default())
}

fn install_step(path: &str) -> String {
    format!(
        "    - name: Install deploy-action\n      shell: bash\n      env:\n        DEPLOY_ACTION_REF: ${{{{ github.action_ref }}}}\n        DEPLOY_ACTION_REPOSITORY: ${{{{ github.action_repository }}}}\n      run: '\"$GITHUB_ACTION_PATH/{path}\"'\n"
    )
}

fn outputs_yaml(outputs: &[(&str, &str)]) -> String {
    if outputs.is_empty() {
        return String::new();
    }
    let mut out = String::from("outputs:\n");
    for (name, description) in outputs {
        out.push_str(&format!(
            "  {name}:\n    description: {}\n    value: ${{{{ steps.run.outputs.{name} }}}}\n",
            quoted(description)
        ));
    }
    out
}

fn common_inputs() -> String {
    let mut out = String::new();
    for (name, _, description) in COMMON {
        out.push_str(&format!(
            "  {name}:\n    description: {}\n    required: false\n",
            quoted(description)
        ));
        if *name == "github-token" {
            out.push_str("    default: ${{ github.token }}\n");
        }
    }
    out
}

/// `actions/<command>/action.yml`.
fn command_action(cmd: &clap::Command) -> String {
    let name = cmd.get_name();
    let inputs = flag_inputs(cmd);
    let mut yaml = format!(
        "{HEADER}name: deploy-action {name}\ndescription: {}\nauthor: deploy-action\nbranding:\n  icon: upload-cloud\n  color: blue\ninputs:\n",
        quoted(&about(cmd))
    );
    if cmd.has_subcommands() {
        let actions: Vec<&str> = cmd.get_subcommands().map(|c| c.get_name()).collect();
        yaml.push_str(&format!(
            "  action:\n    description: {}\n    required: true\n",
            quoted(&format!("Which: {}", actions.join(", ")))
        ));
    }
    for input in &inputs {
        yaml.push_str(&format!(
            "  {}:\n    description: {}\n    required: {}\n",
            input.name,
            quoted(&input.description),
            input.required
        ));
    }
    yaml.push_str(&common_inputs());
    yaml.push_str(&outputs_yaml(deploy_action::outputs::of(name)));
    yaml.push_str("runs:\n  using: composite\n  steps:\n");
    yaml.push_str(&install_step("../../dist/install.sh"));
    yaml.push_str(&format!(
        "    - name: deploy-action {name}\n      id: run\n      shell: bash\n      env:\n"
    ));
    let mut env: Vec<(String, String)> = COMMON
        .iter()
        .map(|(input, var, _)| (var.to_string(), input.to_string()))
        .collect();
    env.extend(inputs.iter().map(|i| (i.env.clone(), i.name.clone())));
    if cmd.has_subcommands() {
        env.push(("DEPLOY_ACTION_SUBCOMMAND".into(), "action".into()));
    }
    for (var, input) in env {
        yaml.push_str(&format!("        {var}: ${{{{ inputs.{input} }}}}\n"));
    }
    if cmd.has_subcommands() {
        yaml.push_str(&format!(
            "      run: deploy-action {name} \"$DEPLOY_ACTION_SUBCOMMAND\"\n"
        ));
    } else {
        yaml.push_str(&format!("      run: deploy-action {name}\n"));
    }
    yaml
}

fn commands() -> Vec<clap::Command> {
    Cli::command()
        .get_subcommands()
        .filter(|c| c.get_name() != "help")
        .cloned()
        .collect()
}

/// The root `action.yml`: any command, with `args`.
fn root_action() -> String {
    let names: Vec<String> = commands()
        .iter()
        .map(|c| c.get_name().to_string())
        .collect();
    let mut yaml = format!(
        "{HEADER}name: deploy-action\ndescription: {}\nauthor: deploy-action\nbranding:\n  icon: upload-cloud\n  color: blue\ninputs:\n",
        quoted(
            "Ship a containerised service safely: build, scan, lock, approve, deploy with zero downtime, smoke-test, annotate, roll back"
        )
    );
    yaml.push_str(&format!(
        "  command:\n    description: {}\n    required: true\n",
        quoted(&format!("The subcommand: {}", names.join(", ")))
    ));
    yaml.push_str(&format!(
        "  args:\n    description: {}\n    required: false\n",
        quoted(
            "More arguments for the command, split on whitespace (quotes are not interpreted; every flag can also be set through its DEPLOY_ACTION_* variable)"
        )
    ));
    yaml.push_str(&format!(
        "  version:\n    description: {}\n    required: false\n",
        quoted("The version to build, deploy or record (DEPLOY_ACTION_VERSION)")
    ));
    yaml.push_str(&common_inputs());
    let mut seen = BTreeSet::new();
    let mut all: Vec<(&str, &str)> = Vec::new();
    for (_, outputs) in deploy_action::outputs::OUTPUTS {
        for (name, description) in *outputs {
            if seen.insert(*name) {
                all.push((name, description));
            }
        }
    }
    yaml.push_str(&outputs_yaml(&all));
    yaml.push_str("runs:\n  using: composite\n  steps:\n");
    yaml.push_str(&install_step("dist/install.sh"));
    yaml.push_str(
        "    - name: deploy-action\n      id: run\n      shell: bash\n      env:\n        DEPLOY_ACTION_COMMAND: ${{ inputs.command }}\n        DEPLOY_ACTION_ARGS: ${{ inputs.args }}\n        DEPLOY_ACTION_VERSION: ${{ inputs.version }}\n        DEPLOY_ACTION_CONFIG: ${{ inputs.config }}\n        GITHUB_TOKEN: ${{ inputs.github-token }}\n      run: '\"$GITHUB_ACTION_PATH/dist/run.sh\"'\n",
    );
    yaml
}

/// Every generated file and its expected text.
fn generated() -> Vec<(PathBuf, String)> {
    let mut files = vec![(repo().join("action.yml"), root_action())];
    for cmd in commands() {
        files.push((
            repo()
                .join("actions")
                .join(cmd.get_name())
                .join("action.yml"),
            command_action(&cmd),
        ));
    }
    files
}

#[test]
fn the_actions_are_what_the_cli_makes_of_them() {
    let update = std::env::var_os("UPDATE_ACTIONS").is_some();
    let mut stale = Vec::new();
    for (path, text) in generated() {
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current != text {
            if update {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, &text).unwrap();
            } else {
                stale.push(path.display().to_string());
            }
        }
    }
    assert!(
        stale.is_empty(),
        "out of date with the CLI: {stale:?}\nrun `UPDATE_ACTIONS=1 cargo test --test integration action_map` and commit the result"
    );
    // No stray action folder for a command that does not exist.
    let names: BTreeSet<String> = commands()
        .iter()
        .map(|c| c.get_name().to_string())
        .collect();
    for entry in std::fs::read_dir(repo().join("actions")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(names.contains(&name), "actions/{name} has no command");
    }
}

#[test]
fn every_flag_has_a_variable_or_a_reason() {
    for cmd in commands() {
        assert_eq!(unmapped(&cmd), Vec::<String>::new());
    }
}

fn load(path: &Path) -> Value {
    serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn keys(map: &Value) -> BTreeSet<String> {
    map.as_mapping()
        .map(|m| m.keys().map(|k| k.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

/// The `env:` of the step that runs the binary.
fn run_env(action: &Value) -> BTreeMap<String, String> {
    let step = action["runs"]["steps"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|s| s["id"].as_str() == Some("run"))
        .expect("a step with id `run`");
    step["env"]
        .as_mapping()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().unwrap().to_string(),
                v.as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Read back as YAML, in both directions: each input ↔ a flag through its variable, each
/// output ↔ the catalog, and nothing pasted into `run:`.
#[test]
fn each_input_reaches_its_flag_and_each_flag_has_its_input() {
    for cmd in commands() {
        let name = cmd.get_name();
        let action = load(&repo().join("actions").join(name).join("action.yml"));
        assert_eq!(
            action["runs"]["using"].as_str(),
            Some("composite"),
            "{name}"
        );
        let inputs = keys(&action["inputs"]);
        let env = run_env(&action);

        // Flag → input, with the flag's own variable.
        let flags = flag_inputs(&cmd);
        for flag in &flags {
            assert!(
                inputs.contains(&flag.name),
                "{name}: no input for --{}",
                flag.name
            );
            assert_eq!(
                env.get(&flag.env).map(String::as_str),
                Some(format!("${{{{ inputs.{} }}}}", flag.name).as_str()),
                "{name}: input `{}` must set {}",
                flag.name,
                flag.env
            );
        }
        // Input → a flag, a common input, or the sub-action.
        for input in &inputs {
            let known = flags.iter().any(|f| &f.name == input)
                || COMMON.iter().any(|(c, _, _)| c == input)
                || (input == "action" && cmd.has_subcommands());
            assert!(known, "{name}: input `{input}` is no flag of `{name}`");
            assert!(
                env.values()
                    .any(|v| v == &format!("${{{{ inputs.{input} }}}}")),
                "{name}: input `{input}` reaches nothing"
            );
        }
        // Every variable the step sets is one the binary reads.
        for var in env.keys() {
            let read = flags.iter().any(|f| &f.env == var)
                || COMMON.iter().any(|(_, v, _)| v == var)
                || var == "DEPLOY_ACTION_SUBCOMMAND";
            assert!(read, "{name}: {var} is read by nothing");
        }
        // Outputs ↔ the catalog.
        let declared: BTreeSet<String> = deploy_action::outputs::of(name)
            .iter()
            .map(|(n, _)| n.to_string())
            .collect();
        assert_eq!(keys(&action["outputs"]), declared, "{name}: outputs");
        for step in action["runs"]["steps"].as_sequence().unwrap() {
            let script = step["run"].as_str().unwrap_or_default();
            assert!(
                !script.contains("${{"),
                "{name}: an expression in `run:`: {script}"
            );
        }
    }

    // The root action: its command list is the CLI's, in dist/run.sh too.
    let root = load(&repo().join("action.yml"));
    let names: Vec<String> = commands()
        .iter()
        .map(|c| c.get_name().to_string())
        .collect();
    let description = root["inputs"]["command"]["description"].as_str().unwrap();
    assert_eq!(description, format!("The subcommand: {}", names.join(", ")));
    let runner = std::fs::read_to_string(repo().join("dist/run.sh")).unwrap();
    let listed: Vec<&str> = runner
        .lines()
        .find_map(|l| l.strip_prefix("commands=\""))
        .and_then(|l| l.strip_suffix('"'))
        .expect("dist/run.sh lists the commands as commands=\"…\"")
        .split(' ')
        .collect();
    assert_eq!(listed, names);
    let all: BTreeSet<String> = deploy_action::outputs::OUTPUTS
        .iter()
        .flat_map(|(_, o)| o.iter().map(|(n, _)| n.to_string()))
        .collect();
    assert_eq!(keys(&root["outputs"]), all);
    for step in root["runs"]["steps"].as_sequence().unwrap() {
        assert!(!step["run"].as_str().unwrap_or_default().contains("${{"));
    }
}
