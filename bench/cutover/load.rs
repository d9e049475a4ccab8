//! Open-loop, constant-rate HTTP/1.1 keep-alive load for bench/cutover/run.sh (std only).
//!
//!   rustc -O --edition 2021 bench/cutover/load.rs -o load
//!   load --port 18180 --rate 1000 --connections 8 --duration 60 --out requests.csv
//!
//! It opens `--connections` keep-alive connections to 127.0.0.1:PORT (loopback only) and
//! sends `GET /` at `--rate` requests per second in total, spread evenly over the
//! connections: request k of connection c is due at
//!     start + (k * connections + c) / rate
//! whatever happened to the requests before it. One thread per connection, one request at
//! a time on each (no pipelining): when the previous answer comes late, the next request is
//! sent as soon as it arrives, and its latency still counts from the time it was DUE. So a
//! stall of the server shows as the large latencies the clients of a real service would
//! have seen, not as fewer requests (the correction for coordinated omission, as in wrk2).
//!
//! Every failure is counted and followed by a new connection for the next request: a
//! connect, write or read error (a connection closed before the whole answer arrived is a
//! read error), no whole answer within `--timeout-ms` of the send (timeout), a status that
//! is not 2xx/3xx. Failed requests are left out of the latency percentiles, as wrk does;
//! they are counted apart.
//!
//! Bounded: no request is due after `--duration` seconds, none is sent later than the
//! timeout after that, and the last ones in flight end within the timeout, so it exits by
//! duration + 2 x timeout. SIGINT or SIGTERM ends it early and cleanly (the records are
//! still written). Requests that were due before the end (or the signal) but never sent,
//! because the answers before them on their connection were still pending, are counted as
//! `unsent_at_stop`, never silently dropped.
//!
//! Clock. Every time it records is CLOCK_MONOTONIC in nanoseconds, read with
//! clock_gettime(2), the clock Python's time.monotonic() reads on Linux (and the one
//! std::time::Instant uses, which cannot be turned into a number). So bench.py compares
//! these records directly with the times at which it started and ended each deploy-action
//! command, in another process, without any offset to estimate. std gives no way to read
//! that clock as a number, hence the two-line declaration of the C library's function
//! (which std links on Linux anyway) below; `signal(2)` is declared the same way.
//!
//! Output, `--out FILE`: one CSV line per request, ordered by due time:
//!     due_ns,lag_us,latency_us,conn,outcome
//! `due_ns` the time it was due (CLOCK_MONOTONIC ns); `lag_us` how late it was sent after
//! that (waiting for the previous answer on its connection, a reconnect, or the load's own
//! thread waking late); `latency_us` from due to the end of the answer (or to the failure);
//! `conn` the connection's index; `outcome` `v1`, `v2`, ... for a 2xx `hello from <version>`
//! answer, `ok` for another 2xx/3xx answer, `status:<code>` or
//! `error:connect|write|read|timeout|parse` for a failure. Lines starting with `#` are
//! comments. On stdout, one line `LOAD_JSON {...}`: requests, failed, errors by kind,
//! unsent_at_stop, achieved rate, latency percentiles in ms (nearest rank, successful
//! requests only) and the p99 of `lag_us`.

use std::io::{self, BufWriter, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::sync::atomic::Ordering;
use std::thread;
use std::time::Duration;

#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
compile_error!("load.rs reads CLOCK_MONOTONIC with the 64-bit Linux `struct timespec` layout");

/// The two C library functions std does not expose.
mod sys {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

    #[repr(C)]
    struct Timespec {
        tv_sec: i64,
        tv_nsec: i64,
    }

    extern "C" {
        fn clock_gettime(clock: i32, tp: *mut Timespec) -> i32;
        fn signal(signum: i32, handler: usize) -> usize;
    }

    const CLOCK_MONOTONIC: i32 = 1;
    const SIGINT: i32 = 2;
    const SIGTERM: i32 = 15;
    const SIG_ERR: usize = usize::MAX;

    /// Set by SIGINT/SIGTERM.
    pub static STOP: AtomicBool = AtomicBool::new(false);
    /// When the first of those signals came (CLOCK_MONOTONIC ns).
    pub static STOP_AT: AtomicU64 = AtomicU64::new(0);

    fn try_mono_ns() -> Option<u64> {
        let mut ts = Timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
        let rc = unsafe { clock_gettime(CLOCK_MONOTONIC, &mut ts) };
        (rc == 0).then(|| ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64)
    }

    /// CLOCK_MONOTONIC, in nanoseconds.
    pub fn mono_ns() -> u64 {
        try_mono_ns().expect("clock_gettime(CLOCK_MONOTONIC) failed")
    }

    extern "C" fn on_signal(_signum: i32) {
        // Atomic stores and clock_gettime(2) are async-signal-safe; the threads poll the flag.
        if let Some(now) = try_mono_ns() {
            let _ = STOP_AT.compare_exchange(0, now, Ordering::SeqCst, Ordering::SeqCst);
        }
        STOP.store(true, Ordering::SeqCst);
    }

    /// SIGINT and SIGTERM set STOP instead of killing the process. glibc's signal(2)
    /// installs the handler with SA_RESTART, so blocked socket calls carry on.
    pub fn stop_on_signals() -> Result<(), String> {
        let handler = on_signal as extern "C" fn(i32) as usize;
        for sig in [SIGINT, SIGTERM] {
            // SAFETY: the handler only stores to an atomic.
            if unsafe { signal(sig, handler) } == SIG_ERR {
                return Err(format!("cannot handle signal {sig}"));
            }
        }
        Ok(())
    }
}

use sys::{mono_ns, STOP, STOP_AT};

const USAGE: &str = "usage: load --port N --duration SECONDS --out FILE \
[--rate REQ_PER_S (1000)] [--connections N (8)] [--timeout-ms MS (2000)] [--path / ]";

/// Largest response head accepted.
const MAX_HEAD: usize = 64 * 1024;
/// Largest response body accepted.
const MAX_BODY: usize = 16 * 1024 * 1024;
/// Longest single sleep, so that a signal is noticed quickly even at low rates.
const MAX_NAP: Duration = Duration::from_millis(20);

struct Config {
    port: u16,
    path: String,
    rate: f64,
    connections: usize,
    duration_ns: u64,
    timeout: Duration,
    out: String,
}

fn parse_args() -> Result<Config, String> {
    let mut port = None;
    let mut duration = None;
    let mut out = None;
    let mut rate = 1000.0;
    let mut connections = 8usize;
    let mut timeout_ms = 2000u64;
    let mut path = "/".to_string();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "-h" || flag == "--help" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let bad = || format!("{flag}: cannot read `{value}`");
        match flag.as_str() {
            "--port" => port = Some(value.parse::<u16>().map_err(|_| bad())?),
            "--duration" => duration = Some(value.parse::<f64>().map_err(|_| bad())?),
            "--out" => out = Some(value.clone()),
            "--rate" => rate = value.parse::<f64>().map_err(|_| bad())?,
            "--connections" => connections = value.parse::<usize>().map_err(|_| bad())?,
            "--timeout-ms" => timeout_ms = value.parse::<u64>().map_err(|_| bad())?,
            "--path" => path = value.clone(),
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    let port = port.ok_or("--port is required")?;
    let duration = duration.ok_or("--duration is required")?;
    let out = out.ok_or("--out is required")?;
    if port == 0 {
        return Err("--port must be 1-65535".into());
    }
    if !(rate > 0.0 && rate <= 100_000.0) {
        return Err("--rate must be in (0, 100000]".into());
    }
    if !(1..=256).contains(&connections) {
        return Err("--connections must be 1-256".into());
    }
    if !(duration > 0.0 && duration <= 10_800.0) {
        return Err("--duration must be in (0, 10800] seconds".into());
    }
    if !(1..=60_000).contains(&timeout_ms) {
        return Err("--timeout-ms must be 1-60000".into());
    }
    if !path.starts_with('/') || path.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err("--path must start with / and contain no spaces or control characters".into());
    }
    Ok(Config {
        port,
        path,
        rate,
        connections,
        duration_ns: (duration * 1e9) as u64,
        timeout: Duration::from_millis(timeout_ms),
        out,
    })
}

/// One request's record. `outcome` indexes the worker's table of outcome names.
struct Rec {
    due_ns: u64,
    lag_us: u32,
    latency_us: u32,
    conn: u16,
    outcome: u16,
}

struct WorkerResult {
    recs: Vec<Rec>,
    outcomes: Vec<String>,
    unsent_at_stop: u64,
}

enum Fail {
    Connect,
    Write,
    Read,
    Timeout,
    Parse,
}

impl Fail {
    fn name(&self) -> &'static str {
        match self {
            Fail::Connect => "error:connect",
            Fail::Write => "error:write",
            Fail::Read => "error:read",
            Fail::Timeout => "error:timeout",
            Fail::Parse => "error:parse",
        }
    }
}

struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

/// Reads more bytes into `buf`, waiting at most until `deadline`. Ok(0) is end of stream.
fn fill(c: &mut Conn, deadline: u64) -> Result<usize, Fail> {
    let mut chunk = [0u8; 8192];
    loop {
        let now = mono_ns();
        if now >= deadline {
            return Err(Fail::Timeout);
        }
        let left = Duration::from_nanos(deadline - now).max(Duration::from_micros(100));
        c.stream.set_read_timeout(Some(left)).map_err(|_| Fail::Read)?;
        match c.stream.read(&mut chunk) {
            Ok(n) => {
                c.buf.extend_from_slice(&chunk[..n]);
                return Ok(n);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                return Err(Fail::Timeout)
            }
            Err(_) => return Err(Fail::Read),
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The end of a complete chunked body starting at `b[0]`, and its first bytes (enough for
/// the version tag); None while incomplete.
fn chunked_end(b: &[u8]) -> Result<Option<(usize, Vec<u8>)>, Fail> {
    let mut i = 0;
    let mut first = Vec::new();
    loop {
        let Some(eol) = find(&b[i..], b"\r\n") else { return Ok(None) };
        let line = std::str::from_utf8(&b[i..i + eol]).map_err(|_| Fail::Parse)?;
        let size_text = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| Fail::Parse)?;
        if size > MAX_BODY {
            return Err(Fail::Parse);
        }
        i += eol + 2;
        if size == 0 {
            // Optional trailers, then an empty line.
            if b.len() >= i + 2 && &b[i..i + 2] == b"\r\n" {
                return Ok(Some((i + 2, first)));
            }
            return Ok(find(&b[i..], b"\r\n\r\n").map(|e| (i + e + 4, first)));
        }
        if b.len() < i + size + 2 {
            return Ok(None);
        }
        if first.len() < 64 {
            first.extend_from_slice(&b[i..i + size.min(64)]);
        }
        i += size + 2;
    }
}

/// Reads one whole response. Returns the status, the body's first bytes and whether the
/// connection may be reused.
fn read_response(c: &mut Conn, deadline: u64) -> Result<(u16, Vec<u8>, bool), Fail> {
    let head_end = loop {
        if let Some(p) = find(&c.buf, b"\r\n\r\n") {
            break p + 4;
        }
        if c.buf.len() > MAX_HEAD {
            return Err(Fail::Parse);
        }
        if fill(c, deadline)? == 0 {
            return Err(Fail::Read);
        }
    };
    let head = std::str::from_utf8(&c.buf[..head_end]).map_err(|_| Fail::Parse)?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let mut parts = status_line.split(' ');
    let version = parts.next().unwrap_or("");
    if !version.starts_with("HTTP/1.") {
        return Err(Fail::Parse);
    }
    let status: u16 = parts.next().and_then(|s| s.parse().ok()).ok_or(Fail::Parse)?;
    let mut keep_alive = version == "HTTP/1.1";
    let mut length: Option<usize> = None;
    let mut chunked = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else { continue };
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim().to_ascii_lowercase());
        match name.as_str() {
            "content-length" => length = Some(value.parse().map_err(|_| Fail::Parse)?),
            "transfer-encoding" => chunked = value.contains("chunked"),
            "connection" if value.contains("close") => keep_alive = false,
            "connection" if value.contains("keep-alive") => keep_alive = true,
            _ => {}
        }
    }
    let no_body = status < 200 || status == 204 || status == 304;
    let (end, first) = if no_body {
        (head_end, Vec::new())
    } else if chunked {
        loop {
            if let Some((e, first)) = chunked_end(&c.buf[head_end..])? {
                break (head_end + e, first);
            }
            if c.buf.len() - head_end > MAX_BODY || fill(c, deadline)? == 0 {
                return Err(Fail::Read);
            }
        }
    } else if let Some(n) = length {
        if n > MAX_BODY {
            return Err(Fail::Parse);
        }
        while c.buf.len() < head_end + n {
            if fill(c, deadline)? == 0 {
                return Err(Fail::Read);
            }
        }
        (head_end + n, c.buf[head_end..head_end + n.min(64)].to_vec())
    } else {
        // No length: the body ends with the connection.
        keep_alive = false;
        while fill(c, deadline)? != 0 {
            if c.buf.len() - head_end > MAX_BODY {
                return Err(Fail::Parse);
            }
        }
        let n = c.buf.len() - head_end;
        (c.buf.len(), c.buf[head_end..head_end + n.min(64)].to_vec())
    };
    c.buf.drain(..end);
    Ok((status, first, keep_alive))
}

/// The outcome name of a successful answer: the version of `hello from <version>`, else `ok`.
fn answer_tag(status: u16, first: &[u8]) -> String {
    const HELLO: &[u8] = b"hello from ";
    if (200..300).contains(&status) && first.starts_with(HELLO) {
        let tag: String = first[HELLO.len()..]
            .iter()
            .take_while(|b| !b.is_ascii_whitespace())
            .take(40)
            .map(|&b| if b.is_ascii_alphanumeric() || b"._-+".contains(&b) { b as char } else { '_' })
            .collect();
        if !tag.is_empty() {
            return tag;
        }
    }
    "ok".into()
}

fn intern(table: &mut Vec<String>, name: &str) -> u16 {
    if let Some(i) = table.iter().position(|t| t == name) {
        return i as u16;
    }
    table.push(name.to_string());
    (table.len() - 1) as u16
}

/// Sleeps until `t` (CLOCK_MONOTONIC ns) or a stop signal, whichever comes first.
fn sleep_until(t: u64) {
    loop {
        let now = mono_ns();
        if now >= t || STOP.load(Ordering::Relaxed) {
            return;
        }
        thread::sleep(Duration::from_nanos(t - now).min(MAX_NAP));
    }
}

fn worker(index: usize, cfg: &Config, start: u64, end: u64) -> WorkerResult {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, cfg.port));
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nUser-Agent: deploy-action-bench-load\r\n\r\n",
        cfg.path, cfg.port
    );
    let period = cfg.connections as f64 * 1e9 / cfg.rate;
    let offset = index as f64 * 1e9 / cfg.rate;
    let due = |k: u64| start + (offset + k as f64 * period) as u64;
    let timeout_ns = cfg.timeout.as_nanos() as u64;
    let expected = ((end - start) as f64 / period) as usize + 2;
    let mut recs = Vec::with_capacity(expected.min(10_000_000));
    let mut outcomes = Vec::new();
    let mut unsent_at_stop = 0;
    let mut conn: Option<Conn> = None;
    // Nothing is sent after `hard_end`, even when requests are still due: a server that
    // stalled leaves a backlog, and the load must end in bounded time all the same.
    let hard_end = end + timeout_ns;
    let mut k = 0u64;
    loop {
        let due_ns = due(k);
        if due_ns >= end {
            break;
        }
        let signalled = STOP.load(Ordering::Relaxed);
        if signalled || mono_ns() >= hard_end {
            // What was due before the signal (or the end) and is still unsent.
            let cut = match STOP_AT.load(Ordering::SeqCst) {
                _ if !signalled => end,
                0 => mono_ns().min(end),
                at => at.min(end),
            };
            while due(k) < cut {
                unsent_at_stop += 1;
                k += 1;
            }
            break;
        }
        sleep_until(due_ns);
        if STOP.load(Ordering::Relaxed) {
            continue; // counted above
        }
        let mut sent = mono_ns();
        let result: Result<(u16, Vec<u8>, bool), Fail> = (|| {
            if conn.is_none() {
                let s = TcpStream::connect_timeout(&addr, cfg.timeout).map_err(|_| Fail::Connect)?;
                s.set_nodelay(true).map_err(|_| Fail::Connect)?;
                s.set_write_timeout(Some(cfg.timeout)).map_err(|_| Fail::Connect)?;
                conn = Some(Conn { stream: s, buf: Vec::with_capacity(1024) });
                sent = mono_ns();
            }
            let c = conn.as_mut().expect("connected above");
            c.buf.clear();
            c.stream.write_all(request.as_bytes()).map_err(|_| Fail::Write)?;
            read_response(c, sent + timeout_ns)
        })();
        let done = mono_ns();
        let name = match result {
            Ok((status, first, keep_alive)) => {
                if !keep_alive {
                    conn = None;
                }
                if (200..400).contains(&status) {
                    answer_tag(status, &first)
                } else {
                    format!("status:{status}")
                }
            }
            Err(f) => {
                conn = None;
                f.name().to_string()
            }
        };
        recs.push(Rec {
            due_ns,
            lag_us: (sent.saturating_sub(due_ns) / 1000).min(u32::MAX as u64) as u32,
            latency_us: (done.saturating_sub(due_ns) / 1000).min(u32::MAX as u64) as u32,
            conn: index as u16,
            outcome: intern(&mut outcomes, &name),
        });
        k += 1;
    }
    WorkerResult { recs, outcomes, unsent_at_stop }
}

fn is_failure(name: &str) -> bool {
    name.starts_with("error:") || name.starts_with("status:")
}

/// Nearest-rank percentile of sorted values.
fn pct(sorted: &[u32], p: f64) -> Option<u32> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

fn ms(x: Option<u32>) -> String {
    x.map_or("null".into(), |us| format!("{:.3}", us as f64 / 1000.0))
}

fn main() {
    let cfg = match parse_args() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("load: {e}\n{USAGE}");
            std::process::exit(2);
        }
    };
    if let Err(e) = sys::stop_on_signals() {
        eprintln!("load: {e}");
        std::process::exit(1);
    }
    // Open the output first: a bad path fails before any load is sent.
    let file = match std::fs::File::create(&cfg.out) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("load: cannot write {}: {e}", cfg.out);
            std::process::exit(1);
        }
    };
    // A little time for the threads to start before the first request is due.
    let start = mono_ns() + 50_000_000;
    let end = start + cfg.duration_ns;
    let results: Vec<WorkerResult> = thread::scope(|s| {
        let handles: Vec<_> = (0..cfg.connections)
            .map(|i| {
                let cfg = &cfg;
                s.spawn(move || worker(i, cfg, start, end))
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("a load thread panicked")).collect()
    });
    let finished = mono_ns();

    // Merge, with one table of outcome names.
    let mut names: Vec<String> = Vec::new();
    let mut all: Vec<Rec> = Vec::new();
    let mut unsent = 0;
    for r in results {
        unsent += r.unsent_at_stop;
        let map: Vec<u16> = r.outcomes.iter().map(|n| intern(&mut names, n)).collect();
        all.extend(r.recs.into_iter().map(|mut x| {
            x.outcome = map[x.outcome as usize];
            x
        }));
    }
    all.sort_by_key(|r| r.due_ns);

    let mut w = BufWriter::new(file);
    let written = (|| -> io::Result<()> {
        writeln!(
            w,
            "# bench/cutover/load.rs clock=CLOCK_MONOTONIC start_ns={start} end_ns={end} rate={} connections={} timeout_ms={} port={} unsent_at_stop={unsent}",
            cfg.rate,
            cfg.connections,
            cfg.timeout.as_millis(),
            cfg.port
        )?;
        writeln!(w, "due_ns,lag_us,latency_us,conn,outcome")?;
        for r in &all {
            writeln!(w, "{},{},{},{},{}", r.due_ns, r.lag_us, r.latency_us, r.conn, names[r.outcome as usize])?;
        }
        w.flush()
    })();
    if let Err(e) = written {
        eprintln!("load: cannot write {}: {e}", cfg.out);
        std::process::exit(1);
    }

    let mut ok_lat: Vec<u32> = Vec::with_capacity(all.len());
    let mut lags: Vec<u32> = Vec::with_capacity(all.len());
    let mut counts = vec![0u64; names.len()];
    for r in &all {
        counts[r.outcome as usize] += 1;
        lags.push(r.lag_us);
        if !is_failure(&names[r.outcome as usize]) {
            ok_lat.push(r.latency_us);
        }
    }
    ok_lat.sort_unstable();
    lags.sort_unstable();
    let failed: u64 = names.iter().zip(&counts).filter(|(n, _)| is_failure(n)).map(|(_, c)| c).sum();
    let outcome_json: Vec<String> =
        names.iter().zip(&counts).map(|(n, c)| format!("\"{n}\":{c}")).collect();
    // Over the time the load was meant to run: to the end, or to the signal.
    let span_s = (finished.min(end).saturating_sub(start)) as f64 / 1e9;
    println!(
        "LOAD_JSON {{\"clock\":\"CLOCK_MONOTONIC\",\"start_ns\":{start},\"end_ns\":{end},\"finished_ns\":{finished},\
\"rate\":{},\"connections\":{},\"requests\":{},\"failed\":{failed},\"unsent_at_stop\":{unsent},\
\"achieved_rate\":{:.1},\"outcomes\":{{{}}},\"p50_ms\":{},\"p90_ms\":{},\"p99_ms\":{},\"p999_ms\":{},\
\"max_ms\":{},\"lag_p99_ms\":{}}}",
        cfg.rate,
        cfg.connections,
        all.len(),
        if span_s > 0.0 { all.len() as f64 / span_s } else { 0.0 },
        outcome_json.join(","),
        ms(pct(&ok_lat, 50.0)),
        ms(pct(&ok_lat, 90.0)),
        ms(pct(&ok_lat, 99.0)),
        ms(pct(&ok_lat, 99.9)),
        ms(ok_lat.last().copied()),
        ms(pct(&lags, 99.0)),
    );
}
