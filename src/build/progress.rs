//! Progress of the context upload and the push: indicatif bars for a person at a terminal,
//! nothing in CI logs or with `--json`.

use indicatif::{ProgressBar, ProgressStyle};

use crate::output::Ui;

/// A bar, or nothing when no one is watching.
pub struct Bar(Option<ProgressBar>);

impl Bar {
    /// Bytes of the context sent to the engine.
    pub fn upload(ui: &Ui, total: u64) -> Self {
        Self::new(
            ui,
            total,
            "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
            "sending context",
        )
    }

    /// Layers of `reference` in the registry.
    pub fn push(ui: &Ui, layers: u64, reference: &str) -> Self {
        Self::new(
            ui,
            layers,
            "{msg} [{bar:30}] {pos}/{len} layers",
            &format!("pushing {reference}"),
        )
    }

    fn new(ui: &Ui, total: u64, template: &str, message: &str) -> Self {
        if !ui.interactive() {
            return Self(None);
        }
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template(template)
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_message(message.to_string());
        Self(Some(bar))
    }

    pub fn advance(&self, by: u64) {
        if let Some(b) = &self.0 {
            b.inc(by);
        }
    }

    /// Says what is in flight (the bytes of the layer being pushed).
    pub fn note(&self, message: String) {
        if let Some(b) = &self.0 {
            b.set_message(message);
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.finish();
    }
}
