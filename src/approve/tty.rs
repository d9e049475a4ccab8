//! The `tty` backend: a question on the terminal, or `--yes` for scripts.

use std::io::{BufRead, IsTerminal, Write};

use super::{Approval, Approver, Request, Settings, what};
use crate::error::Error;
use crate::signals::Cancel;

pub async fn ask(
    request: &Request,
    settings: &Settings,
    cancel: &Cancel,
) -> Result<Approval, Error> {
    let approved = |how: &str| Approval {
        backend: "tty",
        approvers: vec![Approver {
            login: request.run.actor.clone(),
            at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            comment: Some(how.to_string()),
        }],
        issue_url: None,
        api_calls: None,
    };
    if settings.yes {
        tracing::info!("approved with --yes: deploying {}", what(request));
        return Ok(approved("--yes"));
    }
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return Err(Error::Refused(format!(
            "no terminal to ask whether to deploy {}: pass `--yes` to approve from a script, \
             or use `approval.backend = \"github-issue\"` in CI",
            what(request)
        )));
    }
    let question = format!("Deploy {}? Type `yes` to approve: ", what(request));
    let answer = tokio::task::spawn_blocking(move || {
        let mut err = std::io::stderr();
        let _ = write!(err, "{question}");
        let _ = err.flush();
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map(|_| line)
    });
    let answer = tokio::select! {
        answer = answer => answer
            .map_err(|e| Error::Refused(format!("no answer: {e}")))?
            .map_err(|e| Error::Refused(format!("no answer: {e}")))?,
        _ = tokio::time::sleep(settings.timeout) => {
            return Err(Error::TimedOut(format!(
                "nobody answered within {}: not deploying {}",
                humantime::format_duration(settings.timeout),
                what(request)
            )));
        }
        _ = cancel.cancelled() => return Err(cancel.error()),
    };
    match answer.trim().to_lowercase().as_str() {
        "yes" | "y" => Ok(approved("answered yes on the terminal")),
        other => Err(Error::Refused(format!(
            "not approved (answered {other:?}): not deploying {}",
            what(request)
        ))),
    }
}
