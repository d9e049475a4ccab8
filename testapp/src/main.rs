//! `testapp`: the HTTP service that deploy-action's integration tests deploy.
//!
//! std only. Behaviour is chosen at run time by environment variables (the
//! test images bake defaults in with `ENV`):
//!
//! | variable              | default   | meaning                                             |
//! |-----------------------|-----------|-----------------------------------------------------|
//! | `APP_VERSION`         | `dev`     | reported by `/`, `/version` and `X-App-Version`      |
//! | `APP_PORT`            | `8080`    | TCP port, bound on 0.0.0.0                          |
//! | `APP_MODE`            | `healthy` | see [`Mode`]                                        |
//! | `APP_START_DELAY`     | `3s`      | `slow-start` only: wait this long before listening  |
//! | `APP_SHUTDOWN_GRACE`  | `1s`      | on SIGTERM, how long in-flight requests may finish  |
//!
//! Routes: `GET /` → `hello from <version>\n`, `GET /health` → `ok`,
//! `GET /version` → `<version>`, `GET /sleep?ms=N` → waits N ms (≤ 10 s) then
//! `slept N ms\n` (an in-flight request for drain tests). `HEAD` works on all.
//!
//! `testapp health` probes `127.0.0.1:$APP_PORT/health` and exits 0 on 200,
//! else 1: it is the exec-form Docker HEALTHCHECK (a scratch image has no shell).

use std::env;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// Largest request head (request line + headers) accepted.
const MAX_HEAD: usize = 16 * 1024;
/// Largest request body accepted (it is read and discarded).
const MAX_BODY: usize = 1024 * 1024;
/// Most connections served at once; more get 503 and are closed.
const MAX_CONNECTIONS: usize = 2048;
/// How often blocked reads wake up to look at the shutdown flag.
const POLL: Duration = Duration::from_millis(50);
/// An idle keep-alive connection is closed after this long.
const IDLE_TIMEOUT: Duration = Duration::from_secs(75);
/// A started request must arrive completely within this long.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Cap for `/sleep?ms=`.
const MAX_SLEEP_MS: u64 = 10_000;

/// What the app does wrong, on purpose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Everything answers as it should.
    Healthy,
    /// `/health` always answers 503; `/` still answers 200.
    NeverHealthy,
    /// Listens only after `APP_START_DELAY`.
    SlowStart,
    /// Logs a few lines to stderr and exits with code 3 at once.
    Crash,
    /// `/health` answers 200, every other path 500: healthy to a direct
    /// probe, wrong through the router.
    Error500,
}

impl Mode {
    fn parse(s: &str) -> Option<Mode> {
        Some(match s {
            "healthy" => Mode::Healthy,
            "never-healthy" => Mode::NeverHealthy,
            "slow-start" => Mode::SlowStart,
            "crash" => Mode::Crash,
            "error500" => Mode::Error500,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Mode::Healthy => "healthy",
            Mode::NeverHealthy => "never-healthy",
            Mode::SlowStart => "slow-start",
            Mode::Crash => "crash",
            Mode::Error500 => "error500",
        }
    }
}

struct Config {
    version: String,
    port: u16,
    mode: Mode,
    start_delay: Duration,
    shutdown_grace: Duration,
}

impl Config {
    fn from_env() -> Result<Config, String> {
        let version = env_or("APP_VERSION", "dev");
        let port = env_or("APP_PORT", "8080");
        let port = port
            .parse::<u16>()
            .map_err(|_| format!("APP_PORT: not a port number: {port:?}"))?;
        let mode = env_or("APP_MODE", "healthy");
        let mode = Mode::parse(&mode).ok_or_else(|| {
            format!(
                "APP_MODE: unknown mode {mode:?} \
                 (expected healthy, never-healthy, slow-start, crash or error500)"
            )
        })?;
        let start_delay = env_duration("APP_START_DELAY", "3s")?;
        let shutdown_grace = env_duration("APP_SHUTDOWN_GRACE", "1s")?;
        Ok(Config {
            version,
            port,
            mode,
            start_delay,
            shutdown_grace,
        })
    }
}

fn env_or(name: &str, default: &str) -> String {
    match env::var(name) {
        Ok(v) if !v.is_empty() => v,
        _ => default.to_string(),
    }
}

fn env_duration(name: &str, default: &str) -> Result<Duration, String> {
    let raw = env_or(name, default);
    parse_duration(&raw).ok_or_else(|| format!("{name}: not a duration: {raw:?} (try 3s or 500ms)"))
}

/// `500ms`, `3s`, `1m` or a bare number of seconds.
fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().ok()?;
    let ms = match unit.trim() {
        "ms" => n,
        "" | "s" => n.checked_mul(1_000)?,
        "m" => n.checked_mul(60_000)?,
        _ => return None,
    };
    Some(Duration::from_millis(ms))
}

/// SIGTERM/SIGINT handling with no crates: `signal(2)` comes from the C
/// library that std already links. The handler only sets a flag (an atomic
/// store is async-signal-safe); the rest of the program polls it.
mod shutdown {
    use std::sync::atomic::{AtomicBool, Ordering};

    static REQUESTED: AtomicBool = AtomicBool::new(false);

    const SIGINT: i32 = 2;
    const SIGTERM: i32 = 15;
    const SIG_ERR: usize = usize::MAX;

    unsafe extern "C" {
        fn signal(signum: i32, handler: usize) -> usize;
    }

    extern "C" fn on_signal(_signum: i32) {
        REQUESTED.store(true, Ordering::SeqCst);
    }

    pub fn install() -> Result<(), String> {
        let handler = on_signal as extern "C" fn(i32) as usize;
        for sig in [SIGTERM, SIGINT] {
            // SAFETY: the handler is a plain `extern "C" fn` that only touches an atomic.
            if unsafe { signal(sig, handler) } == SIG_ERR {
                return Err(format!("cannot install a handler for signal {sig}"));
            }
        }
        Ok(())
    }

    pub fn requested() -> bool {
        REQUESTED.load(Ordering::SeqCst)
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None => serve(),
        Some("health") => health_probe(),
        Some("--version" | "version") => {
            println!("{}", env_or("APP_VERSION", "dev"));
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("testapp: unknown argument {other:?}; usage: testapp [health|version]");
            ExitCode::from(2)
        }
    }
}

/// `testapp health`: GET http://127.0.0.1:$APP_PORT/health within 2 s.
fn health_probe() -> ExitCode {
    let port = env_or("APP_PORT", "8080");
    let Ok(port) = port.parse::<u16>() else {
        println!("unhealthy: APP_PORT is not a port number: {port:?}");
        return ExitCode::FAILURE;
    };
    match probe(port, Duration::from_secs(2)) {
        Ok(200) => {
            println!("healthy: GET /health answered 200");
            ExitCode::SUCCESS
        }
        Ok(status) => {
            println!("unhealthy: GET /health answered {status}");
            ExitCode::FAILURE
        }
        Err(e) => {
            println!("unhealthy: GET /health failed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn probe(port: u16, timeout: Duration) -> io::Result<u16> {
    let deadline = Instant::now() + timeout;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect_timeout(&addr, timeout)?;
    let left = |d: Instant| {
        d.saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1))
    };
    s.set_write_timeout(Some(left(deadline)))?;
    s.write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: testapp-health\r\nConnection: close\r\n\r\n")?;
    let mut head = Vec::new();
    let mut buf = [0u8; 512];
    while !head.contains(&b'\n') && head.len() < 4096 {
        s.set_read_timeout(Some(left(deadline)))?;
        let n = s.read(&mut buf)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    // "HTTP/1.1 200 OK"
    let line = String::from_utf8_lossy(&head);
    line.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no HTTP status line"))
}

fn serve() -> ExitCode {
    if let Err(e) = shutdown::install() {
        eprintln!("testapp: {e}");
        return ExitCode::from(3);
    }
    let cfg = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("testapp: bad configuration: {e}");
            return ExitCode::from(2);
        }
    };

    println!("testapp starting: pid {}", std::process::id());
    println!(
        "config: version={} mode={} port={}",
        cfg.version,
        cfg.mode.name(),
        cfg.port
    );

    match cfg.mode {
        Mode::Crash => {
            eprintln!("loading configuration for version {}", cfg.version);
            eprintln!("connecting to the (imaginary) database");
            eprintln!("fatal: simulated crash (APP_MODE=crash)");
            return ExitCode::from(3);
        }
        Mode::SlowStart => {
            println!("slow start: waiting {:?} before listening", cfg.start_delay);
            let until = Instant::now() + cfg.start_delay;
            while Instant::now() < until {
                if shutdown::requested() {
                    println!("signal received during slow start; exiting");
                    return ExitCode::SUCCESS;
                }
                thread::sleep(POLL.min(until.saturating_duration_since(Instant::now())));
            }
        }
        _ => {}
    }

    let listener = match TcpListener::bind(SocketAddr::from(([0, 0, 0, 0], cfg.port))) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("testapp: cannot listen on :{}: {e}", cfg.port);
            return ExitCode::from(3);
        }
    };
    println!("routes: GET / /health /version /sleep?ms=N");
    println!(
        "listening on :{} version {} mode {}",
        cfg.port,
        cfg.version,
        cfg.mode.name()
    );

    // A blocking accept() is restarted after a signal (SA_RESTART), so a
    // watcher connects to the listener once shutdown is requested to wake it.
    let port = cfg.port;
    thread::spawn(move || {
        while !shutdown::requested() {
            thread::sleep(Duration::from_millis(20));
        }
        let _ = TcpStream::connect_timeout(
            &SocketAddr::from(([127, 0, 0, 1], port)),
            Duration::from_secs(1),
        );
    });

    let cfg = Arc::new(cfg);
    let active = Arc::new(AtomicUsize::new(0));
    loop {
        let (stream, _peer) = match listener.accept() {
            Ok(c) => c,
            Err(e) => {
                if shutdown::requested() {
                    break;
                }
                // EMFILE and friends: back off instead of spinning.
                eprintln!("accept failed: {e}");
                thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        if shutdown::requested() {
            break;
        }
        if active.load(Ordering::SeqCst) >= MAX_CONNECTIONS {
            let mut stream = stream;
            let _ = stream.write_all(&build(
                &cfg.version,
                503,
                "too many connections\n",
                Some("close"),
                false,
            ));
            continue;
        }
        let guard = ConnGuard::new(&active);
        let cfg = Arc::clone(&cfg);
        let spawned = thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || {
                let _guard = guard;
                serve_connection(stream, &cfg);
            });
        if let Err(e) = spawned {
            eprintln!("cannot spawn a connection thread: {e}");
        }
    }

    drop(listener);
    let started = Instant::now();
    println!(
        "shutdown requested: stopped accepting, {} connection(s) open, grace {:?}",
        active.load(Ordering::SeqCst),
        cfg.shutdown_grace
    );
    while active.load(Ordering::SeqCst) > 0 && started.elapsed() < cfg.shutdown_grace {
        thread::sleep(Duration::from_millis(10));
    }
    let left = active.load(Ordering::SeqCst);
    if left > 0 {
        println!("shutdown: grace period over, dropping {left} connection(s)");
    }
    println!("bye (version {})", cfg.version);
    let _ = io::stdout().flush();
    // Other threads may still be blocked; exit the process regardless.
    std::process::exit(0);
}

/// Counts a connection as open until dropped.
struct ConnGuard(Arc<AtomicUsize>);

impl ConnGuard {
    fn new(count: &Arc<AtomicUsize>) -> ConnGuard {
        count.fetch_add(1, Ordering::SeqCst);
        ConnGuard(Arc::clone(count))
    }
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A parsed request head.
struct Request {
    method: String,
    target: String,
    keep_alive: bool,
    http10: bool,
    content_length: usize,
}

/// Why a request could not be served; each maps to a final response.
struct Reject(u16, &'static str);

enum ReadOutcome {
    /// The connection ended (EOF, error, idle timeout or shutdown while idle).
    Closed,
    /// Bytes `..len` of the buffer hold a complete head.
    Head(usize),
    /// Answer with this status and close.
    Reject(Reject),
}

fn serve_connection(mut stream: TcpStream, cfg: &Config) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(POLL));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(10)));
    // Bytes received but not yet consumed (pipelined requests stay here).
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    loop {
        let head_len = match read_head(&mut stream, &mut buf) {
            ReadOutcome::Closed => return,
            ReadOutcome::Head(n) => n,
            ReadOutcome::Reject(Reject(status, msg)) => {
                finish(
                    &mut stream,
                    &build(&cfg.version, status, msg, Some("close"), false),
                );
                return;
            }
        };
        let req = match parse_head(&buf[..head_len]) {
            Ok(r) => r,
            Err(Reject(status, msg)) => {
                finish(
                    &mut stream,
                    &build(&cfg.version, status, msg, Some("close"), false),
                );
                return;
            }
        };
        buf.drain(..head_len);
        if let Err(Reject(status, msg)) = discard_body(&mut stream, &mut buf, req.content_length) {
            finish(
                &mut stream,
                &build(&cfg.version, status, msg, Some("close"), false),
            );
            return;
        }

        let (status, body) = route(cfg, &req);
        // Once shutdown is requested, each response closes its connection.
        let keep_alive = req.keep_alive && !shutdown::requested();
        let connection = match (keep_alive, req.http10) {
            (false, _) => Some("close"),
            (true, true) => Some("keep-alive"),
            (true, false) => None,
        };
        let resp = build(
            &cfg.version,
            status,
            &body,
            connection,
            req.method == "HEAD",
        );
        if stream.write_all(&resp).is_err() {
            return;
        }
        if !keep_alive {
            finish(&mut stream, &[]);
            return;
        }
    }
}

/// Reads until `buf` holds a complete request head.
fn read_head(stream: &mut TcpStream, buf: &mut Vec<u8>) -> ReadOutcome {
    let idle_since = Instant::now();
    let mut first_byte: Option<Instant> = if buf.is_empty() {
        None
    } else {
        Some(Instant::now())
    };
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(n) = head_end(buf) {
            return ReadOutcome::Head(n);
        }
        if buf.len() > MAX_HEAD {
            return ReadOutcome::Reject(Reject(431, "request header fields too large\n"));
        }
        match stream.read(&mut chunk) {
            Ok(0) => return ReadOutcome::Closed,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                first_byte.get_or_insert_with(Instant::now);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                match first_byte {
                    // Idle between requests: close on shutdown or after the idle timeout.
                    None if shutdown::requested() || idle_since.elapsed() > IDLE_TIMEOUT => {
                        return ReadOutcome::Closed;
                    }
                    Some(t) if t.elapsed() > REQUEST_TIMEOUT => {
                        return ReadOutcome::Reject(Reject(408, "request timeout\n"));
                    }
                    _ => {}
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return ReadOutcome::Closed,
        }
    }
}

/// Length of the head including its blank line, accepting CRLF or bare LF.
fn head_end(buf: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i < buf.len() {
        if buf[i] == b'\n' {
            if buf.get(i + 1) == Some(&b'\n') {
                return Some(i + 2);
            }
            if buf.get(i + 1) == Some(&b'\r') && buf.get(i + 2) == Some(&b'\n') {
                return Some(i + 3);
            }
        }
        i += 1;
    }
    None
}

fn parse_head(head: &[u8]) -> Result<Request, Reject> {
    let text = std::str::from_utf8(head).map_err(|_| Reject(400, "request head is not UTF-8\n"))?;
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let request_line = lines.next().unwrap_or("");
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Reject(400, "malformed request line\n"));
    };
    if method.is_empty()
        || !method.bytes().all(|b| b.is_ascii_uppercase())
        || !target.starts_with('/')
    {
        return Err(Reject(400, "malformed request line\n"));
    }
    let http10 = match version {
        "HTTP/1.1" => false,
        "HTTP/1.0" => true,
        _ => return Err(Reject(505, "HTTP version not supported\n")),
    };

    let mut content_length: Option<usize> = None;
    let mut conn_close = false;
    let mut conn_keep_alive = false;
    for line in lines {
        if line.is_empty() {
            break;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(Reject(400, "malformed header line\n"));
        };
        if name.is_empty() || name.ends_with([' ', '\t']) {
            return Err(Reject(400, "malformed header name\n"));
        }
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            let n: usize = value
                .parse()
                .map_err(|_| Reject(400, "bad Content-Length\n"))?;
            if content_length.is_some_and(|old| old != n) {
                return Err(Reject(400, "conflicting Content-Length headers\n"));
            }
            content_length = Some(n);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(Reject(501, "Transfer-Encoding is not supported\n"));
        } else if name.eq_ignore_ascii_case("connection") {
            for token in value.split(',').map(str::trim) {
                conn_close |= token.eq_ignore_ascii_case("close");
                conn_keep_alive |= token.eq_ignore_ascii_case("keep-alive");
            }
        }
    }
    let content_length = content_length.unwrap_or(0);
    if content_length > MAX_BODY {
        return Err(Reject(413, "request body too large\n"));
    }
    let keep_alive = if http10 {
        conn_keep_alive && !conn_close
    } else {
        !conn_close
    };
    Ok(Request {
        method: method.to_string(),
        target: target.to_string(),
        keep_alive,
        http10,
        content_length,
    })
}

/// Consumes `len` body bytes (already in `buf` or still on the wire).
fn discard_body(stream: &mut TcpStream, buf: &mut Vec<u8>, len: usize) -> Result<(), Reject> {
    let from_buf = len.min(buf.len());
    buf.drain(..from_buf);
    let mut left = len - from_buf;
    let started = Instant::now();
    let mut chunk = [0u8; 4096];
    while left > 0 {
        let want = left.min(chunk.len());
        match stream.read(&mut chunk[..want]) {
            Ok(0) => return Err(Reject(400, "body ended early\n")),
            Ok(n) => left -= n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                if started.elapsed() > REQUEST_TIMEOUT {
                    return Err(Reject(408, "request timeout\n"));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Err(Reject(400, "body could not be read\n")),
        }
    }
    Ok(())
}

fn route(cfg: &Config, req: &Request) -> (u16, String) {
    if req.method != "GET" && req.method != "HEAD" {
        return (405, "method not allowed\n".to_string());
    }
    let (path, query) = req.target.split_once('?').unwrap_or((&req.target, ""));
    if cfg.mode == Mode::Error500 && path != "/health" {
        return (500, format!("internal error from {}\n", cfg.version));
    }
    match path {
        "/" => (200, format!("hello from {}\n", cfg.version)),
        "/health" if cfg.mode == Mode::NeverHealthy => (503, "unhealthy".to_string()),
        "/health" => (200, "ok".to_string()),
        "/version" => (200, cfg.version.clone()),
        "/sleep" => {
            let ms = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("ms="))
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(1_000)
                .min(MAX_SLEEP_MS);
            thread::sleep(Duration::from_millis(ms));
            (200, format!("slept {ms} ms\n"))
        }
        _ => (404, "not found\n".to_string()),
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Content Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

/// A complete response; `connection` is the `Connection` header, if any.
fn build(
    version: &str,
    status: u16,
    body: &str,
    connection: Option<&str>,
    head_only: bool,
) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nX-App-Version: {version}\r\n",
        reason(status),
        body.len()
    );
    if let Some(c) = connection {
        out.push_str("Connection: ");
        out.push_str(c);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    if !head_only {
        out.push_str(body);
    }
    out.into_bytes()
}

/// Sends `last` (if any), then closes politely so the peer reads it all.
fn finish(stream: &mut TcpStream, last: &[u8]) {
    if !last.is_empty() {
        let _ = stream.write_all(last);
    }
    let _ = stream.shutdown(Shutdown::Write);
    // Drain briefly so unread input does not turn the close into a RST.
    let _ = stream.set_read_timeout(Some(Duration::from_millis(100)));
    let mut sink = [0u8; 1024];
    for _ in 0..16 {
        match stream.read(&mut sink) {
            Ok(n) if n > 0 => continue,
            _ => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("3s"), Some(Duration::from_secs(3)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_duration("1m"), Some(Duration::from_secs(60)));
        assert_eq!(parse_duration("x"), None);
        assert_eq!(parse_duration("3h"), None);
        assert_eq!(parse_duration("99999999999999999999s"), None);
    }

    #[test]
    fn heads() {
        assert_eq!(head_end(b"GET / HTTP/1.1\r\n\r\nrest"), Some(18));
        assert_eq!(head_end(b"GET / HTTP/1.1\n\n"), Some(16));
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nHost: x\r\n"), None);
        let r = parse_head(b"GET /x HTTP/1.1\r\nConnection: close\r\n\r\n")
            .ok()
            .unwrap();
        assert!(!r.keep_alive);
        let r = parse_head(b"GET /x HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
            .ok()
            .unwrap();
        assert!(r.keep_alive && r.http10);
        assert!(parse_head(b"GET /x HTTP/2\r\n\r\n").is_err());
        assert!(parse_head(b"\xff\r\n\r\n").is_err());
        assert!(parse_head(b"GET /x HTTP/1.1\r\nContent-Length: -1\r\n\r\n").is_err());
        assert!(parse_head(b"GET /x HTTP/1.1\r\nbad\r\n\r\n").is_err());
    }
}
