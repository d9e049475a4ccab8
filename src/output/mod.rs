//! What the user sees: phases, progress, failures, and the final report in the chosen form
//! (human text, one JSON document, GitHub Actions outputs and step summary).

mod table;

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

pub use table::{aligned, markdown_releases, markdown_table, text_releases};

use crate::ci;
use crate::deploy::Failure;

#[derive(Clone)]
pub struct Ui {
    pub json: bool,
    actions: bool,
    interactive: bool,
    failure: Arc<Mutex<Option<Failure>>>,
}

impl Ui {
    pub fn detect(json: bool) -> Self {
        Self {
            json,
            actions: ci::is_actions(),
            // Progress bars only for a person at a terminal, never in CI logs.
            interactive: !json
                && std::io::stderr().is_terminal()
                && std::env::var_os("CI").is_none(),
            failure: Arc::default(),
        }
    }

    pub fn actions(&self) -> bool {
        self.actions
    }

    /// A person watches a terminal: progress bars and spinners are welcome.
    pub fn interactive(&self) -> bool {
        self.interactive
    }

    /// A phase of a step: a `::group::` under Actions, a log line elsewhere.
    pub fn phase(&self, title: &str) -> Phase {
        if self.actions && !self.json {
            ci::group(title);
        } else {
            tracing::info!("{title}");
        }
        Phase {
            grouped: self.actions && !self.json,
        }
    }

    /// A spinner for a wait, on a terminal only.
    pub fn spinner(&self, message: String) -> Spinner {
        if !self.interactive {
            return Spinner(None);
        }
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_message(message);
        bar.enable_steady_tick(Duration::from_millis(100));
        Spinner(Some(bar))
    }

    /// Step outputs for later steps of the job (`$GITHUB_OUTPUT`), under Actions only.
    pub fn outputs(&self, outputs: &[(&str, String)]) {
        if self.actions
            && let Err(e) = ci::set_outputs(outputs)
        {
            tracing::warn!("cannot write step outputs: {e}");
        }
    }

    /// Values a later step of the same action reads back (`$GITHUB_STATE`), under Actions only.
    pub fn save_state(&self, values: &[(&str, String)]) {
        if self.actions
            && let Err(e) = ci::save_state(values)
        {
            tracing::warn!("cannot write the step state: {e}");
        }
    }

    /// Shows why a release was refused (and keeps it for the JSON document).
    pub fn failure(&self, failure: &Failure) {
        if let Ok(mut slot) = self.failure.lock() {
            *slot = Some(failure.clone());
        }
        if self.actions {
            ci::error(&failure.to_string(), None);
        } else if !self.json {
            eprintln!("{failure}");
        }
    }

    pub fn take_failure(&self) -> Option<Failure> {
        self.failure.lock().ok().and_then(|mut f| f.take())
    }
}

pub struct Phase {
    grouped: bool,
}

impl Drop for Phase {
    fn drop(&mut self) {
        if self.grouped {
            ci::end_group();
        }
    }
}

pub struct Spinner(Option<ProgressBar>);

impl Spinner {
    pub fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.finish();
    }
}
