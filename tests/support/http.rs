//! A minimal HTTP/1.1 GET over loopback, enough to ask the router who answers.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: String,
    /// The `X-Deploy-Backend` header the router adds.
    pub backend: String,
}

/// GET `path` from `127.0.0.1:port`; a connection failure gives status 0.
pub fn get(port: u16, path: &str) -> Answer {
    let failed = |e: String| Answer {
        status: 0,
        body: e,
        backend: String::new(),
    };
    let mut stream = match TcpStream::connect(("127.0.0.1", port)) {
        Ok(s) => s,
        Err(e) => return failed(e.to_string()),
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    if let Err(e) = stream.write_all(request.as_bytes()) {
        return failed(e.to_string());
    }
    let mut raw = Vec::new();
    if let Err(e) = stream.read_to_end(&mut raw)
        && raw.is_empty()
    {
        return failed(e.to_string());
    }
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let backend = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("x-deploy-backend")
                .then(|| v.trim().to_string())
        })
        .unwrap_or_default();
    Answer {
        status,
        body: body.to_string(),
        backend,
    }
}
