//! SIGINT and SIGTERM become a cancellation that every wait in a step listens to, so the step
//! can put things back (the previous release keeps serving) before the process exits.
//! GitHub cancels a job with SIGINT, then SIGTERM 7.5 s later, then SIGKILL.

use std::sync::{Arc, OnceLock};

use tokio_util::sync::CancellationToken;

use crate::error::Error;

#[derive(Clone, Default)]
pub struct Cancel {
    token: CancellationToken,
    signal: Arc<OnceLock<&'static str>>,
}

impl Cancel {
    /// Listens for SIGINT and SIGTERM for the rest of the process.
    pub fn on_signals() -> Self {
        let cancel = Cancel::default();
        let c = cancel.clone();
        tokio::spawn(async move {
            use tokio::signal::unix::{SignalKind, signal};
            let (Ok(mut int), Ok(mut term)) = (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
            ) else {
                return;
            };
            let name = tokio::select! {
                _ = int.recv() => "SIGINT",
                _ = term.recv() => "SIGTERM",
            };
            tracing::warn!("{name} received: aborting the step and restoring the previous release");
            c.signal.get_or_init(|| name);
            c.token.cancel();
        });
        cancel
    }

    /// A cancellation that fires with this one, and that [`Cancel::abort`] can also fire
    /// alone, for a reason that is not a signal (a lost lock lease).
    pub fn child(&self) -> Cancel {
        Cancel {
            token: self.token.child_token(),
            // The first cause wins, whichever of the two fires.
            signal: self.signal.clone(),
        }
    }

    /// Cancels this one (and its children) for `why`, which [`Cancel::error`] names.
    pub fn abort(&self, why: &'static str) {
        self.signal.get_or_init(|| why);
        self.token.cancel();
    }

    pub fn is_cancelled(&self) -> bool {
        self.token.is_cancelled()
    }

    pub fn error(&self) -> Error {
        Error::Cancelled(self.signal.get().copied().unwrap_or("a signal"))
    }

    /// Resolves when a signal arrives.
    pub async fn cancelled(&self) {
        self.token.cancelled().await
    }

    /// The signal that arrived, if one did.
    pub fn signal(&self) -> Option<&'static str> {
        self.signal.get().copied()
    }

    /// Fails with [`Error::Cancelled`] if a signal has arrived.
    pub fn check(&self) -> Result<(), Error> {
        if self.is_cancelled() {
            Err(self.error())
        } else {
            Ok(())
        }
    }

    /// Awaits `work`, or gives it up with [`Error::Cancelled`] when a signal arrives first.
    pub async fn or_cancel<T>(
        &self,
        work: impl std::future::Future<Output = T>,
    ) -> Result<T, Error> {
        tokio::select! {
            value = work => Ok(value),
            _ = self.token.cancelled() => Err(self.error()),
        }
    }

    /// Sleeps, or returns early with [`Error::Cancelled`].
    pub async fn sleep(&self, d: std::time::Duration) -> Result<(), Error> {
        self.or_cancel(tokio::time::sleep(d)).await
    }
}
