//! Running a command inside a container (the router's runtime API client, reloads).

use std::pin::Pin;

use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use futures_util::{Stream, StreamExt};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::Engine;
use crate::error::Result;

#[derive(Debug)]
pub struct ExecOutput {
    pub exit_code: i64,
    pub output: String,
}

/// A process started in a container with its stdin and output attached and left open, for a
/// client that answers many requests over one process (the router's runtime API).
pub struct ExecStream {
    pub output:
        Pin<Box<dyn Stream<Item = std::result::Result<LogOutput, bollard::errors::Error>> + Send>>,
    pub input: Pin<Box<dyn AsyncWrite + Send>>,
}

impl Engine {
    /// Starts `cmd` in a running container and hands back its attached stdin and output.
    /// The process ends when its stdin closes, which dropping the stream does.
    pub async fn exec_attached(&self, id: &str, cmd: &[&str]) -> Result<ExecStream> {
        match self.start_exec(id, cmd, true).await?.1 {
            StartExecResults::Attached { output, input } => Ok(ExecStream { output, input }),
            StartExecResults::Detached => Err(crate::error::Error::router(format!(
                "the engine started `{}` in {id} detached",
                cmd.join(" ")
            ))),
        }
    }

    /// Creates and starts an exec of `cmd`, with its output (and stdin if asked) attached.
    /// Returns the exec's id and the attached streams.
    async fn start_exec(
        &self,
        id: &str,
        cmd: &[&str],
        stdin: bool,
    ) -> Result<(String, StartExecResults)> {
        let created = self
            .api()
            .create_exec(
                id,
                CreateExecOptions {
                    cmd: Some(cmd.iter().map(|s| s.to_string()).collect()),
                    attach_stdin: Some(stdin),
                    attach_stdout: Some(true),
                    attach_stderr: Some(true),
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| self.fail(format_args!("exec {} in {id}", cmd.join(" ")), e))?;
        let started = self
            .api()
            .start_exec(&created.id, Some(StartExecOptions::default()))
            .await
            .map_err(|e| self.fail(format_args!("start exec {} in {id}", cmd.join(" ")), e))?;
        Ok((created.id, started))
    }

    /// Runs `cmd` in a running container, feeding `stdin` if given, and collects its output.
    pub async fn exec(&self, id: &str, cmd: &[&str], stdin: Option<&[u8]>) -> Result<ExecOutput> {
        let (exec_id, started) = self.start_exec(id, cmd, stdin.is_some()).await?;
        let mut output = String::new();
        if let StartExecResults::Attached {
            output: mut stream,
            mut input,
        } = started
        {
            if let Some(data) = stdin {
                input
                    .write_all(data)
                    .await
                    .map_err(|e| crate::error::Error::router(format!("exec stdin: {e}")))?;
                let _ = input.shutdown().await;
            }
            while let Some(chunk) = stream.next().await {
                match chunk {
                    Ok(c) => output.push_str(&String::from_utf8_lossy(&c.into_bytes())),
                    Err(e) => return Err(self.fail("read exec output", e)),
                }
            }
        }
        // The output can end before the engine has recorded the exit (a busy host): ask
        // again until it has, for a bounded time.
        let mut wait = std::time::Duration::from_millis(5);
        for _ in 0..12 {
            let inspect = self
                .api()
                .inspect_exec(&exec_id)
                .await
                .map_err(|e| self.fail("inspect exec", e))?;
            if let (Some(false), Some(code)) = (inspect.running, inspect.exit_code) {
                return Ok(ExecOutput {
                    exit_code: code,
                    output,
                });
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(std::time::Duration::from_millis(500));
        }
        Ok(ExecOutput {
            exit_code: -1,
            output,
        })
    }
}
