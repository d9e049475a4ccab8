//! `hello`: the example service that deploy-action deploys.
//!
//! - `GET /` answers `hello from <APP_VERSION>`.
//! - `GET /health` answers `ok`.
//! - `hello health` probes `/health` and exits 0 when it answers 200: the
//!   HEALTHCHECK of a `FROM scratch` image, which has no shell and no curl.
//!
//! Connections are kept alive, and SIGTERM (`docker stop`) lets in-flight
//! requests finish before the process exits. Only the standard library.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::time::{Duration, Instant};
use std::{env, process, thread};

static STOPPING: AtomicBool = AtomicBool::new(false);
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

fn main() {
    let version = env::var("APP_VERSION").unwrap_or_else(|_| "dev".to_string());
    let port: u16 = env::var("APP_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080);

    if env::args().nth(1).as_deref() == Some("health") {
        process::exit(if healthy(port) { 0 } else { 1 });
    }

    on_sigterm();
    let listener = TcpListener::bind(("0.0.0.0", port)).unwrap_or_else(|e| {
        eprintln!("hello: cannot listen on :{port}: {e}");
        process::exit(1);
    });
    println!("hello {version} listening on :{port}");

    let version: &'static str = version.leak();
    thread::spawn(move || {
        for stream in listener.incoming() {
            if STOPPING.load(SeqCst) {
                break; // stop accepting
            }
            if let Ok(stream) = stream {
                thread::spawn(move || serve(stream, version));
            }
        }
    });

    // Wait for SIGTERM, then give in-flight requests up to 5 s to finish.
    while !STOPPING.load(SeqCst) {
        thread::sleep(Duration::from_millis(50));
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while IN_FLIGHT.load(SeqCst) > 0 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
    println!("hello {version} stopped");
}

/// Serves one keep-alive connection until the client closes it, sends
/// something we do not understand, or stays idle for a minute.
fn serve(stream: TcpStream, version: &str) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(60)));
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);

    while let Some(request) = read_request(&mut reader) {
        IN_FLIGHT.fetch_add(1, SeqCst);
        let (status, body) = match request.path.as_str() {
            "/" => ("200 OK", format!("hello from {version}\n")),
            "/health" => ("200 OK", "ok\n".to_string()),
            _ => ("404 Not Found", "not found\n".to_string()),
        };
        // After SIGTERM, close each connection after its current request.
        let close = request.close || STOPPING.load(SeqCst);
        let response = format!(
            "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
             X-App-Version: {version}\r\nConnection: {}\r\n\r\n{body}",
            body.len(),
            if close { "close" } else { "keep-alive" },
        );
        let sent = writer.write_all(response.as_bytes()).is_ok();
        IN_FLIGHT.fetch_sub(1, SeqCst);
        if close || !sent {
            return;
        }
    }
}

struct Request {
    path: String,
    close: bool,
}

/// Reads one request (head bounded in size, body skipped). `None` ends the
/// connection: closed, timed out or malformed.
fn read_request(r: &mut impl BufRead) -> Option<Request> {
    let line = read_line(r)?;
    let mut parts = line.split(' ');
    let (_method, target, protocol) = (parts.next()?, parts.next()?, parts.next()?);
    let mut close = protocol == "HTTP/1.0";
    let mut body_len: u64 = 0;
    for _ in 0..100 {
        let line = read_line(r)?;
        if line.is_empty() {
            if body_len > 1 << 20 {
                return None;
            }
            io::copy(&mut r.take(body_len), &mut io::sink()).ok()?;
            let path = target.split('?').next()?.to_string();
            return Some(Request { path, close });
        }
        let (name, value) = line.split_once(':')?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            body_len = value.parse().ok()?;
        } else if name.eq_ignore_ascii_case("connection") {
            if value.eq_ignore_ascii_case("close") {
                close = true;
            } else if value.eq_ignore_ascii_case("keep-alive") {
                close = false;
            }
        }
    }
    None // too many headers
}

/// One line of at most 8 KiB, without its line ending.
fn read_line(r: &mut impl BufRead) -> Option<String> {
    let mut line = String::new();
    r.take(8192).read_line(&mut line).ok()?;
    line.ends_with('\n').then(|| line.trim_end().to_string())
}

/// `hello health`: does GET /health on this container answer 200 within 2 s?
fn healthy(port: u16) -> bool {
    let probe = || -> io::Result<bool> {
        let timeout = Duration::from_secs(2);
        let mut s = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), timeout)?;
        s.set_read_timeout(Some(timeout))?;
        s.set_write_timeout(Some(timeout))?;
        s.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")?;
        let mut status = String::new();
        BufReader::new(s).take(256).read_line(&mut status)?;
        Ok(status.split(' ').nth(1) == Some("200"))
    };
    probe().unwrap_or(false)
}

/// Sets STOPPING on SIGTERM and SIGINT. A container's PID 1 gets no default
/// signal handling, so without this `docker stop` waits 10 s and then kills.
/// `signal` comes from the C library that std already links; the handler only
/// stores to an atomic, which is safe inside a signal handler.
fn on_sigterm() {
    const SIGINT: i32 = 2;
    const SIGTERM: i32 = 15;
    unsafe extern "C" {
        fn signal(signum: i32, handler: extern "C" fn(i32)) -> usize;
    }
    extern "C" fn handler(_signum: i32) {
        STOPPING.store(true, SeqCst);
    }
    // SAFETY: `handler` is async-signal-safe.
    unsafe {
        signal(SIGTERM, handler);
        signal(SIGINT, handler);
    }
}
