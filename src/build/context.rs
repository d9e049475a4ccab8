//! The build context: the files that pass `.dockerignore` (walked the way `docker build`
//! walks them), their digest, and the tar streamed to the engine.
//!
//! The tar is what `docker build` sends: entries in walk order, owner `0:0`, the files'
//! own modes and modification times, and the Dockerfile and `.dockerignore` always in.
//! The Dockerfile the engine reads may differ from the user's (one from outside the context,
//! or one with the labels added): it is sent as [`GENERATED_DOCKERFILE`] and named in the
//! tar's `.dockerignore`, so the engine drops it from the context after reading it, as
//! `docker build` does with a Dockerfile from outside the context.

use std::fs::{self, File, Metadata};
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::Stream;
use sha2::{Digest, Sha256};

use super::dockerignore::{DockerIgnore, IgnoreError};

/// The name the Dockerfile the engine reads gets inside the tar, when it is not the user's.
pub const GENERATED_DOCKERFILE: &str = ".dockerfile.deploy-action";
/// Bumped whenever what the digest covers changes, so old images are not mistaken for new.
const DIGEST_VERSION: &str = "deploy-action context digest v1";
/// Size of the chunks streamed to the engine.
const CHUNK: usize = 256 * 1024;

/// A context that cannot be sent.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    #[error("build context {0}: no such directory")]
    NoContext(PathBuf),
    #[error("Dockerfile {0}: no such file")]
    NoDockerfile(PathBuf),
    #[error("{path}:{}: {}", .error.line, .error.message)]
    Ignore { path: PathBuf, error: IgnoreError },
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
}

fn read_error(path: &Path) -> impl FnOnce(io::Error) -> ContextError + '_ {
    move |source| ContextError::Read {
        path: path.to_path_buf(),
        source,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Dir,
    File,
    Symlink(PathBuf),
}

/// One file, directory or symlink that goes into the tar.
#[derive(Debug, Clone)]
struct Entry {
    /// Relative to the context root, `/`-separated (lossy for names that are not UTF-8).
    name: String,
    /// On disk.
    path: PathBuf,
    kind: Kind,
    mode: u32,
    size: u64,
    mtime: u64,
}

/// The walked context, ready to be digested and sent.
#[derive(Debug)]
pub struct Context {
    root: PathBuf,
    /// In walk order: what `docker build` sends, in the order it sends it.
    entries: Vec<Entry>,
    /// The Dockerfile's path inside the context; `None` when it lives outside.
    dockerfile_inside: Option<String>,
    /// The Dockerfile's contents.
    dockerfile_text: Vec<u8>,
    /// What is sent as [`GENERATED_DOCKERFILE`]: the Dockerfile from outside the context, or
    /// the one with labels added.
    generated: Option<Vec<u8>>,
    /// The `.dockerignore` excludes the user's Dockerfile. The engine drops the Dockerfile it
    /// reads from the context when the `.dockerignore` excludes it; when it reads the
    /// generated one, the user's is left out of the tar instead, to the same effect.
    dockerfile_excluded: bool,
}

impl Context {
    /// Walks `root`, honouring its `.dockerignore`. `dockerfile` may be inside the context
    /// or outside it.
    pub fn scan(root: &Path, dockerfile: &Path) -> Result<Self, ContextError> {
        let root = fs::canonicalize(root)
            .ok()
            .filter(|r| r.is_dir())
            .ok_or_else(|| ContextError::NoContext(root.to_path_buf()))?;
        if !dockerfile.is_file() {
            return Err(ContextError::NoDockerfile(dockerfile.to_path_buf()));
        }
        // The Dockerfile's own name is kept (a symlinked Dockerfile stays a symlink).
        let dockerfile_abs = dockerfile
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| Path::new(".").canonicalize(), fs::canonicalize)
            .map_err(read_error(dockerfile))?
            .join(dockerfile.file_name().unwrap_or_default());
        let inside = dockerfile_abs
            .strip_prefix(&root)
            .ok()
            .map(|rel| rel.to_string_lossy().into_owned());

        let ignore_path = root.join(".dockerignore");
        let mut ignore = match fs::read(&ignore_path) {
            Ok(bytes) => {
                DockerIgnore::parse(&String::from_utf8_lossy(&bytes)).map_err(|error| {
                    ContextError::Ignore {
                        path: ignore_path.clone(),
                        error,
                    }
                })?
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => DockerIgnore::default(),
            Err(e) => return Err(read_error(&ignore_path)(e)),
        };
        let dockerfile_excluded = inside.as_ref().is_some_and(|rel| ignore.excludes(rel));
        ignore.keep(".dockerignore");
        if let Some(rel) = &inside {
            ignore.keep(rel);
        }

        let mut entries = Vec::new();
        walk(&root, "", &ignore, &mut entries)?;

        let dockerfile_text = fs::read(dockerfile).map_err(read_error(dockerfile))?;
        Ok(Self {
            root,
            entries,
            generated: inside.is_none().then(|| dockerfile_text.clone()),
            dockerfile_inside: inside,
            dockerfile_text,
            dockerfile_excluded,
        })
    }

    /// The user's Dockerfile.
    pub fn dockerfile_text(&self) -> &[u8] {
        &self.dockerfile_text
    }

    /// Has the engine read `text` as the Dockerfile instead of the user's file.
    pub fn use_dockerfile(&mut self, text: Vec<u8>) {
        self.generated = Some(text);
    }

    /// The context directory, with symlinks resolved.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The path of the Dockerfile the engine reads, inside the tar.
    pub fn dockerfile(&self) -> &str {
        match (&self.generated, &self.dockerfile_inside) {
            (None, Some(inside)) => inside,
            _ => GENERATED_DOCKERFILE,
        }
    }

    /// Paths of the context's entries that are sent, relative to the root, in the order they
    /// are sent (without the generated Dockerfile).
    pub fn paths(&self) -> Vec<&str> {
        self.sent().map(|e| e.name.as_str()).collect()
    }

    /// The entries that go into the tar: all but a user's Dockerfile that the `.dockerignore`
    /// excludes, when the engine reads a generated one.
    fn sent(&self) -> impl Iterator<Item = &Entry> {
        let skip = self
            .dockerfile_inside
            .as_deref()
            .filter(|_| self.dockerfile_excluded && self.generated.is_some());
        self.entries
            .iter()
            .filter(move |e| Some(e.name.as_str()) != skip)
    }

    /// Bytes of file content in the context.
    pub fn content_bytes(&self) -> u64 {
        self.entries.iter().map(|e| e.size).sum()
    }

    /// About how many bytes the tar has: headers, content and padding.
    pub fn tar_size(&self) -> u64 {
        let padded = |n: u64| n.div_ceil(512) * 512;
        let headers = (self.entries.len() as u64 + 2) * 512;
        self.entries.iter().map(|e| padded(e.size)).sum::<u64>()
            + self
                .generated
                .as_ref()
                .map_or(0, |d| 1024 + padded(d.len() as u64))
            + headers
            + 1024
    }

    /// The context digest: sha256 over every entry sent (path, type, mode, and for a file
    /// its content, for a symlink its target), sorted by path, then `inputs`, the other
    /// things that change what the build makes (Dockerfile path, args, target, …).
    /// Modification times and owners are left out: a fresh checkout digests the same.
    pub fn digest(&self, inputs: &[(String, String)]) -> Result<String, ContextError> {
        let mut order: Vec<&Entry> = self.entries.iter().collect();
        order.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
        let files: Vec<&Entry> = order
            .iter()
            .copied()
            .filter(|e| e.kind == Kind::File)
            .collect();
        // In the same order as the files in `order`.
        let mut hashes = hash_files(&files)?.into_iter();

        let mut h = Sha256::new();
        h.update(DIGEST_VERSION);
        h.update(b"\n");
        for e in order {
            let line = match &e.kind {
                Kind::Dir => format!("dir\0{}\0{:o}\n", e.name, e.mode),
                Kind::File => format!(
                    "file\0{}\0{:o}\0{}\0{}\n",
                    e.name,
                    e.mode,
                    e.size,
                    hashes.next().unwrap_or_default()
                ),
                Kind::Symlink(target) => {
                    format!("link\0{}\0{}\n", e.name, target.to_string_lossy())
                }
            };
            h.update(line.as_bytes());
        }
        if self.dockerfile_inside.is_none() {
            let d = &self.dockerfile_text;
            h.update(format!("dockerfile\0{}\0", d.len()));
            h.update(hex::encode(Sha256::digest(d)));
            h.update(b"\n");
        }
        for (key, value) in inputs {
            h.update(format!("input\0{key}\0{value}\n"));
        }
        Ok(format!("sha256:{}", hex::encode(h.finalize())))
    }

    /// Writes the tar of the context into `out`.
    pub fn write_tar<W: Write>(&self, out: W) -> io::Result<W> {
        let mut tar = tar::Builder::new(out);
        let mut ignore_sent = false;
        for e in self.sent() {
            let mut header = tar::Header::new_gnu();
            header.set_mode(e.mode);
            header.set_uid(0);
            header.set_gid(0);
            header.set_mtime(e.mtime);
            match &e.kind {
                Kind::Dir => {
                    header.set_entry_type(tar::EntryType::Directory);
                    header.set_size(0);
                    tar.append_data(&mut header, format!("{}/", e.name), io::empty())?;
                }
                Kind::File if e.name == ".dockerignore" && self.generated.is_some() => {
                    let mut text = fs::read(&e.path)?;
                    text.extend_from_slice(format!("\n{GENERATED_DOCKERFILE}\n").as_bytes());
                    header.set_entry_type(tar::EntryType::Regular);
                    header.set_size(text.len() as u64);
                    tar.append_data(&mut header, ".dockerignore", text.as_slice())?;
                    ignore_sent = true;
                }
                Kind::File => {
                    header.set_entry_type(tar::EntryType::Regular);
                    header.set_size(e.size);
                    let file = File::open(&e.path)?;
                    let exact = ExactSize {
                        inner: file.take(e.size),
                        left: e.size,
                        path: &e.path,
                    };
                    tar.append_data(&mut header, rel_path(&self.root, &e.path), exact)?;
                }
                Kind::Symlink(target) => {
                    header.set_entry_type(tar::EntryType::Symlink);
                    header.set_size(0);
                    tar.append_link(&mut header, rel_path(&self.root, &e.path), target)?;
                }
            }
        }
        if let Some(d) = &self.generated {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |t| t.as_secs());
            if !ignore_sent {
                let text = format!("{GENERATED_DOCKERFILE}\n");
                let mut header = generated_header(text.len(), now);
                tar.append_data(&mut header, ".dockerignore", text.as_bytes())?;
            }
            let mut header = generated_header(d.len(), now);
            tar.append_data(&mut header, GENERATED_DOCKERFILE, d.as_slice())?;
        }
        tar.into_inner()
    }

    /// Streams the tar in chunks, written by a blocking task so the walk's file reads never
    /// stall the runtime. An I/O error ends the stream with that error.
    pub fn into_stream(self: Arc<Self>) -> impl Stream<Item = io::Result<Bytes>> + Send {
        let (tx, rx) = tokio::sync::mpsc::channel::<io::Result<Bytes>>(8);
        tokio::task::spawn_blocking(move || {
            let writer = ChunkWriter {
                buf: Vec::with_capacity(CHUNK),
                tx: tx.clone(),
            };
            let result = self.write_tar(writer).and_then(|mut w| w.flush());
            if let Err(e) = result
                && e.kind() != io::ErrorKind::BrokenPipe
            {
                let _ = tx.blocking_send(Err(e));
            }
        });
        futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        })
    }
}

fn generated_header(size: usize, mtime: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_mode(0o600);
    header.set_uid(0);
    header.set_gid(0);
    header.set_size(size as u64);
    header.set_mtime(mtime);
    header
}

fn rel_path(root: &Path, path: &Path) -> PathBuf {
    path.strip_prefix(root).unwrap_or(path).to_path_buf()
}

/// Walks `dir` in name order (as Go's `filepath.Walk` does), keeping what passes `ignore`.
fn walk(
    dir: &Path,
    prefix: &str,
    ignore: &DockerIgnore,
    out: &mut Vec<Entry>,
) -> Result<(), ContextError> {
    let mut children: Vec<fs::DirEntry> = fs::read_dir(dir)
        .map_err(read_error(dir))?
        .collect::<io::Result<_>>()
        .map_err(read_error(dir))?;
    children.sort_by_key(|c| c.file_name());
    for child in children {
        let name = format!("{prefix}{}", child.file_name().to_string_lossy());
        let path = child.path();
        let meta = fs::symlink_metadata(&path).map_err(read_error(&path))?;
        let is_dir = meta.is_dir();
        if !ignore.is_empty() && ignore.excludes(&name) {
            // An excluded directory is still walked when an exception may re-include
            // something below it; the directory itself is not sent.
            if is_dir && ignore.may_reinclude_under(&name) {
                walk(&path, &format!("{name}/"), ignore, out)?;
            }
            continue;
        }
        let Some(kind) = kind_of(&path, &meta)? else {
            tracing::debug!("not sending {name}: not a file, directory or symlink");
            continue;
        };
        out.push(Entry {
            name: name.clone(),
            path: path.clone(),
            kind,
            mode: meta.permissions().mode() & 0o7777,
            size: if meta.is_file() { meta.len() } else { 0 },
            mtime: meta.mtime().max(0) as u64,
        });
        if is_dir {
            walk(&path, &format!("{name}/"), ignore, out)?;
        }
    }
    Ok(())
}

fn kind_of(path: &Path, meta: &Metadata) -> Result<Option<Kind>, ContextError> {
    let t = meta.file_type();
    Ok(if t.is_dir() {
        Some(Kind::Dir)
    } else if t.is_file() {
        Some(Kind::File)
    } else if t.is_symlink() {
        Some(Kind::Symlink(
            fs::read_link(path).map_err(read_error(path))?,
        ))
    } else {
        None
    })
}

/// Hashes the files' contents, on every core: a large context is read at disk speed.
fn hash_files(files: &[&Entry]) -> Result<Vec<String>, ContextError> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(files.len().max(1));
    let chunk = files.len().div_ceil(workers).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = files
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    let mut buf = vec![0u8; 256 * 1024];
                    part.iter()
                        .map(|e| hash_file(&e.path, &mut buf).map_err(read_error(&e.path)))
                        .collect::<Result<Vec<_>, _>>()
                })
            })
            .collect();
        let mut all = Vec::with_capacity(files.len());
        for h in handles {
            all.extend(h.join().expect("a hashing thread panicked")?);
        }
        Ok(all)
    })
}

fn hash_file(path: &Path, buf: &mut [u8]) -> io::Result<String> {
    let mut file = File::open(path)?;
    let mut h = Sha256::new();
    loop {
        let n = file.read(buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// A file's content that must be exactly as long as the tar header says.
struct ExactSize<'a> {
    inner: io::Take<File>,
    left: u64,
    path: &'a Path,
}

impl Read for ExactSize<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && self.left > 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{} shrank while it was being sent", self.path.display()),
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// Sends what the tar writer writes as chunks over a channel.
struct ChunkWriter {
    buf: Vec<u8>,
    tx: tokio::sync::mpsc::Sender<io::Result<Bytes>>,
}

impl ChunkWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        self.tx
            .blocking_send(Ok(Bytes::from(chunk)))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the engine stopped reading"))
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = CHUNK - self.buf.len();
        let n = data.len().min(room);
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == CHUNK {
            self.send()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, rel: &str, content: &str) {
        let path = dir.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
    }

    fn context(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (rel, content) in files {
            write(dir.path(), rel, content);
        }
        dir
    }

    fn scan(dir: &Path) -> Context {
        Context::scan(dir, &dir.join("Dockerfile")).unwrap()
    }

    #[test]
    fn the_walk_sends_what_docker_sends_in_the_same_order() {
        let dir = context(&[
            ("Dockerfile", "FROM scratch\n"),
            (".dockerignore", "*\n!target/release/app\n!src\n"),
            ("src/main.rs", ""),
            ("target/release/app", "bin"),
            ("target/release/deps/x", ""),
            ("target/debug/app", ""),
            ("notes.txt", ""),
        ]);
        assert_eq!(
            scan(dir.path()).paths(),
            [
                ".dockerignore",
                "Dockerfile",
                "src",
                "src/main.rs",
                "target/release/app"
            ]
        );
    }

    #[test]
    fn an_excluded_dockerfile_is_left_out_when_the_engine_reads_a_generated_one() {
        let dir = context(&[("Dockerfile", "FROM scratch\n"), (".dockerignore", "*\n")]);
        let mut ctx = scan(dir.path());
        let before = ctx.digest(&[]).unwrap();
        assert_eq!(ctx.paths(), [".dockerignore", "Dockerfile"]);
        ctx.use_dockerfile(b"FROM scratch\nLABEL a=b\n".to_vec());
        assert_eq!(ctx.paths(), [".dockerignore"]);
        assert_eq!(
            ctx.digest(&[]).unwrap(),
            before,
            "the digest still covers it"
        );
    }

    #[test]
    fn the_tar_holds_every_entry_owned_by_root_with_its_mode() {
        let dir = context(&[("Dockerfile", "FROM scratch\n"), ("bin/run", "#!/bin/sh\n")]);
        fs::set_permissions(
            dir.path().join("bin/run"),
            fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        std::os::unix::fs::symlink("run", dir.path().join("bin/link")).unwrap();
        let tar = scan(dir.path()).write_tar(Vec::new()).unwrap();
        let mut archive = tar::Archive::new(tar.as_slice());
        let seen: Vec<(String, u32, u64)> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let h = e.header();
                (
                    e.path().unwrap().to_string_lossy().into_owned(),
                    h.mode().unwrap(),
                    h.uid().unwrap(),
                )
            })
            .collect();
        assert_eq!(seen[0].0, "Dockerfile");
        assert_eq!(seen[1].0, "bin/");
        assert!(seen.contains(&("bin/run".into(), 0o755, 0)));
        assert!(seen.iter().any(|(p, _, _)| p == "bin/link"));
    }

    #[test]
    fn the_digest_changes_with_an_included_byte_but_not_an_ignored_one() {
        let dir = context(&[
            ("Dockerfile", "FROM scratch\nCOPY . /\n"),
            (".dockerignore", "*.log\n"),
            ("app.txt", "one"),
            ("debug.log", "a"),
        ]);
        let first = scan(dir.path()).digest(&[]).unwrap();
        write(dir.path(), "debug.log", "b");
        assert_eq!(scan(dir.path()).digest(&[]).unwrap(), first);
        write(dir.path(), "app.txt", "onf");
        assert_ne!(scan(dir.path()).digest(&[]).unwrap(), first);
    }

    #[test]
    fn the_digest_covers_modes_and_the_other_inputs() {
        let dir = context(&[("Dockerfile", "FROM scratch\n"), ("a", "x")]);
        let base = scan(dir.path()).digest(&[]).unwrap();
        let with_arg = scan(dir.path())
            .digest(&[("arg".into(), "A=1".into())])
            .unwrap();
        assert_ne!(base, with_arg);
        fs::set_permissions(dir.path().join("a"), fs::Permissions::from_mode(0o700)).unwrap();
        assert_ne!(scan(dir.path()).digest(&[]).unwrap(), base);
    }

    fn tar_files(ctx: &Context) -> Vec<(String, String)> {
        let tar = ctx.write_tar(Vec::new()).unwrap();
        let mut archive = tar::Archive::new(tar.as_slice());
        archive
            .entries()
            .unwrap()
            .map(|e| {
                let mut e = e.unwrap();
                let path = e.path().unwrap().to_string_lossy().into_owned();
                let mut text = String::new();
                e.read_to_string(&mut text).unwrap();
                (path, text)
            })
            .collect()
    }

    #[test]
    fn a_dockerfile_outside_the_context_is_sent_under_the_generated_name_and_ignored() {
        let outside = context(&[("Dockerfile.prod", "FROM scratch\n")]);
        let dir = context(&[("a", "x")]);
        let ctx = Context::scan(dir.path(), &outside.path().join("Dockerfile.prod")).unwrap();
        assert_eq!(ctx.dockerfile(), GENERATED_DOCKERFILE);
        assert_eq!(
            tar_files(&ctx),
            [
                ("a".to_string(), "x".to_string()),
                (".dockerignore".into(), format!("{GENERATED_DOCKERFILE}\n")),
                (GENERATED_DOCKERFILE.into(), "FROM scratch\n".into()),
            ]
        );
    }

    #[test]
    fn a_generated_dockerfile_is_named_in_the_existing_dockerignore() {
        let dir = context(&[("Dockerfile", "FROM scratch\n"), (".dockerignore", "*.log")]);
        let mut ctx = scan(dir.path());
        ctx.use_dockerfile(b"FROM scratch\nLABEL a=b\n".to_vec());
        assert_eq!(ctx.dockerfile(), GENERATED_DOCKERFILE);
        let files = tar_files(&ctx);
        assert_eq!(
            files[0],
            (
                ".dockerignore".into(),
                format!("*.log\n{GENERATED_DOCKERFILE}\n")
            )
        );
        assert_eq!(files[1], ("Dockerfile".into(), "FROM scratch\n".into()));
        assert_eq!(files.len(), 3);
    }

    #[test]
    fn a_missing_dockerfile_or_context_is_named() {
        let dir = context(&[("a", "x")]);
        let e = Context::scan(dir.path(), &dir.path().join("Dockerfile")).unwrap_err();
        assert!(matches!(e, ContextError::NoDockerfile(_)), "{e}");
        let e = Context::scan(&dir.path().join("nope"), &dir.path().join("a")).unwrap_err();
        assert!(matches!(e, ContextError::NoContext(_)), "{e}");
    }
}
