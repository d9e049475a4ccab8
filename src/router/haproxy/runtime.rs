//! One long-lived session with HAProxy's runtime API, in interactive mode (`prompt`), reused
//! for every call a command makes. In container mode the session is a `socat` started once in
//! the router container through the Docker API, with its stdin and output attached; so a
//! switch writes a line to an open stream instead of starting a process in the container,
//! which on a small host costs the router's clients latency while it runs.

use std::path::Path;
use std::pin::Pin;
use std::time::{Duration, Instant};

use bollard::container::LogOutput;
use futures_util::{Stream, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::super::Place;
use crate::error::{Error, Result};

/// Where the admin socket is inside the router container.
pub const CONTAINER_SOCKET: &str = "/var/lib/haproxy/admin.sock";

/// HAProxy closes an idle CLI session after `stats timeout`: 30 s in the router container's
/// config, 10 s by default (a host router's config is the user's). A session idle for longer
/// than this is replaced before use; one closed earlier is replaced when a call fails.
fn max_idle(place: &Place) -> Duration {
    match place {
        Place::Container(_) => Duration::from_secs(25),
        Place::Host => Duration::from_secs(8),
    }
}

/// How long one call may take, from writing the commands to the last prompt.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

/// What ends each command's answer in interactive mode.
const PROMPT: &[u8] = b"\n> ";

#[derive(Default)]
pub struct Runtime {
    session: Option<Session>,
}

struct Session {
    output: Output,
    input: Pin<Box<dyn AsyncWrite + Send>>,
    /// What `socat` said on stderr (container mode), for the error message.
    stderr: String,
    used: Instant,
}

enum Output {
    Exec(
        Pin<Box<dyn Stream<Item = std::result::Result<LogOutput, bollard::errors::Error>> + Send>>,
    ),
    Unix(tokio::net::unix::OwnedReadHalf),
}

impl Runtime {
    /// Sends `commands` (one line, joined by `;`) and returns their answers as HAProxy gives
    /// them outside interactive mode: each one followed by an empty line.
    ///
    /// A session that fails is replaced and the call made once more: every command the tool
    /// sends sets an absolute value or reads one, so sending it twice changes nothing.
    pub async fn call(
        &mut self,
        place: &Place,
        socket: &Path,
        commands: &[String],
    ) -> Result<String> {
        let line = format!("{}\n", commands.join("; "));
        if self
            .session
            .as_ref()
            .is_some_and(|s| s.used.elapsed() > max_idle(place))
        {
            self.session = None;
        }
        let reused = self.session.is_some();
        if !reused {
            self.session = Some(Session::open(place, socket).await?);
        }
        let session = self.session.as_mut().expect("opened above");
        match session.exchange(&line, commands.len()).await {
            Ok(answer) => Ok(answer),
            Err(e) if reused => {
                tracing::debug!("haproxy runtime API session ended ({e}); opening a new one");
                self.session = None;
                let mut session = Session::open(place, socket).await?;
                let answer = session.exchange(&line, commands.len()).await;
                self.session = Some(session);
                answer.map_err(|e| self.failed(place, e))
            }
            Err(e) => {
                let error = self.failed(place, e);
                self.session = None;
                Err(error)
            }
        }
    }

    fn failed(&self, place: &Place, e: String) -> Error {
        let stderr = self.session.as_ref().map(Session::said).unwrap_or_default();
        match place {
            Place::Container(_) => Error::router(format!(
                "haproxy runtime API in the router container failed ({e}){stderr}"
            )),
            Place::Host => Error::router(format!("haproxy runtime API: {e}")),
        }
    }
}

impl Session {
    async fn open(place: &Place, socket: &Path) -> Result<Self> {
        let mut session = match place {
            Place::Container(c) => {
                let unix = format!("unix-connect:{CONTAINER_SOCKET}");
                let exec = c.exec_attached(&["socat", "-t5", "stdio", &unix]).await?;
                Session {
                    output: Output::Exec(exec.output),
                    input: exec.input,
                    stderr: String::new(),
                    used: Instant::now(),
                }
            }
            Place::Host => {
                let stream = tokio::net::UnixStream::connect(socket).await.map_err(|e| {
                    Error::router(format!(
                        "cannot reach the haproxy runtime API at {}: {e}. Set router.admin_socket \
                         to a `stats socket … level admin` of the running haproxy",
                        socket.display()
                    ))
                })?;
                let (read, write) = stream.into_split();
                Session {
                    output: Output::Unix(read),
                    input: Box::pin(write),
                    stderr: String::new(),
                    used: Instant::now(),
                }
            }
        };
        if let Err(e) = session.exchange("prompt\n", 1).await {
            let said = session.said();
            return Err(match place {
                Place::Container(_) => Error::router(format!(
                    "cannot open the haproxy runtime API in the router container ({e}){said}"
                )),
                Place::Host => Error::router(format!(
                    "haproxy runtime API at {} did not enter interactive mode: {e}",
                    socket.display()
                )),
            });
        }
        Ok(session)
    }

    /// What `socat` said on stderr, as `: …` to end an error message; empty if nothing.
    fn said(&self) -> String {
        let stderr = self.stderr.trim();
        if stderr.is_empty() {
            String::new()
        } else {
            format!(": {stderr}")
        }
    }

    /// Writes `line` and reads until `commands` prompts have come back.
    async fn exchange(
        &mut self,
        line: &str,
        commands: usize,
    ) -> std::result::Result<String, String> {
        self.input
            .write_all(line.as_bytes())
            .await
            .map_err(|e| format!("write: {e}"))?;
        self.input
            .flush()
            .await
            .map_err(|e| format!("write: {e}"))?;
        let deadline = Instant::now() + ANSWER_TIMEOUT;
        let mut answer = Vec::new();
        while !complete(&answer, commands) {
            let chunk = tokio::time::timeout_at(deadline.into(), self.next_chunk())
                .await
                .map_err(|_| format!("no answer within {ANSWER_TIMEOUT:?}"))??;
            match chunk {
                Some(bytes) => answer.extend_from_slice(&bytes),
                None => return Err("the session closed".into()),
            }
        }
        self.used = Instant::now();
        Ok(plain(&answer))
    }

    /// The next bytes of the answer; `None` at the end of the stream.
    async fn next_chunk(&mut self) -> std::result::Result<Option<Vec<u8>>, String> {
        match &mut self.output {
            Output::Unix(read) => {
                let mut buf = vec![0u8; 16 * 1024];
                let n = read
                    .read(&mut buf)
                    .await
                    .map_err(|e| format!("read: {e}"))?;
                buf.truncate(n);
                Ok((n > 0).then_some(buf))
            }
            Output::Exec(stream) => loop {
                match stream.next().await {
                    None => return Ok(None),
                    Some(Err(e)) => return Err(format!("read: {e}")),
                    Some(Ok(LogOutput::StdErr { message })) => {
                        self.stderr.push_str(&String::from_utf8_lossy(&message));
                    }
                    Some(Ok(LogOutput::StdOut { message } | LogOutput::Console { message })) => {
                        return Ok(Some(message.to_vec()));
                    }
                    Some(Ok(LogOutput::StdIn { .. })) => {}
                }
            },
        }
    }
}

/// True when `answer` holds the prompts of `commands` commands and nothing after the last.
fn complete(answer: &[u8], commands: usize) -> bool {
    answer.ends_with(PROMPT)
        && answer
            .windows(PROMPT.len())
            .filter(|w| *w == PROMPT)
            .count()
            >= commands
}

/// An interactive answer as HAProxy writes it outside interactive mode: the prompts go, the
/// empty line that ends each command's answer stays.
fn plain(answer: &[u8]) -> String {
    String::from_utf8_lossy(answer).replace("\n> ", "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    // As HAProxy 2.6 answers `set server …addr…; set server …state ready; show servers state app`
    // in interactive mode.
    const ANSWER: &[u8] = b"IP changed from '127.0.0.1' to '127.0.0.2' by 'stats socket command'\n\n> \n> 1\n# be_id be_name\n3 app 1 s1 127.0.0.2 2 4 1 1 0\n\n> ";

    #[test]
    fn an_answer_is_complete_after_one_prompt_per_command() {
        assert!(complete(ANSWER, 3));
        assert!(!complete(ANSWER, 4));
        assert!(!complete(&ANSWER[..ANSWER.len() - 1], 3));
        assert!(complete(b"\n> ", 1));
        assert!(!complete(b"", 1));
    }

    #[test]
    fn prompts_are_removed_and_empty_lines_kept() {
        let text = plain(ANSWER);
        assert!(text.starts_with("IP changed"));
        assert!(text.contains("\n\n\n1\n# be_id"));
        assert!(text.ends_with("0\n\n"));
        assert!(!text.contains("> "));
    }
}
