//! The `file` backend: the state is `<dir>/<name>.json`, replaced atomically (write a
//! temporary file, then rename it over the old one), and only while holding an exclusive OS
//! lock on `<dir>/<name>.lock`. Readers need no lock: a rename is atomic, so they see the
//! old state or the new one, never half of one. Safe across processes on one machine, on
//! any local file system; the OS lock dies with its process, so a killed holder never
//! leaves the file locked (its lease still has to run out).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::LockState;
use super::backend::{Marker, Seen};
use crate::config::LockConfig;
use crate::error::Error;

pub struct FileBackend {
    state: PathBuf,
    guard: PathBuf,
}

/// The file's content: the state and its generation, which each swap increments.
#[derive(Serialize, Deserialize)]
struct OnDisk {
    generation: u64,
    #[serde(flatten)]
    state: LockState,
}

impl FileBackend {
    /// The lock files for `name`; a relative `dir` is relative to the working directory.
    pub fn open(lock: &LockConfig, name: &str) -> Result<Self, Error> {
        let dir = match &lock.dir {
            Some(dir) if !dir.trim().is_empty() => PathBuf::from(dir),
            _ => std::env::temp_dir().join("deploy-action-locks"),
        };
        std::fs::create_dir_all(&dir).map_err(|e| {
            Error::Lock(format!(
                "cannot create the lock directory {}: {e}",
                dir.display()
            ))
        })?;
        Ok(Self {
            state: dir.join(format!("{name}.json")),
            guard: dir.join(format!("{name}.lock")),
        })
    }

    pub fn location(&self) -> String {
        self.state.display().to_string()
    }

    pub async fn observe(&self) -> Result<Seen, Error> {
        let path = self.state.clone();
        blocking(move || read(&path)).await
    }

    pub async fn swap(&self, seen: &Seen, next: &LockState) -> Result<bool, Error> {
        let Marker::Generation(expected) = seen.marker else {
            return Err(Error::Lock(
                "a file lock was read by another backend".into(),
            ));
        };
        let (state, guard, next) = (self.state.clone(), self.guard.clone(), next.clone());
        blocking(move || {
            let lock = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&guard)
                .map_err(|e| io_error("open", &guard, e))?;
            lock.lock().map_err(|e| io_error("lock", &guard, e))?;
            let current = read(&state)?;
            if current.marker != Marker::Generation(expected) {
                return Ok(false);
            }
            write(
                &state,
                &OnDisk {
                    generation: expected + 1,
                    state: next,
                },
            )?;
            // Dropping `lock` unlocks it, after the rename.
            drop(lock);
            Ok(true)
        })
        .await
    }
}

fn read(path: &Path) -> Result<Seen, Error> {
    match std::fs::read(path) {
        Ok(bytes) => {
            let disk: OnDisk = serde_json::from_slice(&bytes).map_err(|e| {
                Error::Lock(format!(
                    "{} is not a lock file this version can read ({e}); remove it if no \
                     deploy is running",
                    path.display()
                ))
            })?;
            Ok(Seen {
                state: disk.state,
                marker: Marker::Generation(disk.generation),
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Seen {
            state: LockState::default(),
            marker: Marker::Generation(0),
        }),
        Err(e) => Err(io_error("read", path, e)),
    }
}

fn write(path: &Path, disk: &OnDisk) -> Result<(), Error> {
    let tmp = path.with_extension(format!("json.{}.tmp", std::process::id()));
    let bytes = serde_json::to_vec_pretty(disk).expect("the lock state serialises");
    let result = (|| {
        let mut file = File::create(&tmp)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io_error("write", path, e)
    })
}

fn io_error(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::Lock(format!("cannot {what} {}: {e}", path.display()))
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::Lock(format!("lock file task failed: {e}")))?
}
