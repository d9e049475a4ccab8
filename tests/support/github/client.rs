//! A tiny blocking HTTP/1.1 client over `std::net`, for the tests of the fake itself
//! (the crate's reqwest has no blocking feature). One connection per request.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::Value;

/// A response.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    /// Names lower-cased, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    /// The first header called `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A numeric header, panicking when it is missing or not a number.
    pub fn number(&self, name: &str) -> i64 {
        self.header(name)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("header {name} missing or not a number: {self:?}"))
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.body))
    }

    /// The URL of the `link` header's `rel` (`next`, `prev`, `first`, `last`).
    pub fn link(&self, rel: &str) -> Option<String> {
        let wanted = format!("rel=\"{rel}\"");
        self.header("link")?.split(',').find_map(|part| {
            let (url, params) = part.split_once(';')?;
            params.split(';').any(|p| p.trim() == wanted).then(|| {
                url.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string()
            })
        })
    }

    /// Asserts the status, showing the whole reply when it differs.
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(self.status, status, "unexpected reply: {self:#?}");
        self
    }
}

/// Requests against one base URL with one `Authorization` header (or none).
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    authorization: Option<String>,
}

impl Client {
    /// Sends `Authorization: Bearer <token>`.
    pub fn new(base: &str, token: &str) -> Client {
        Client::with_authorization(base, Some(&format!("Bearer {token}")))
    }

    /// Sends this `Authorization` header value, or none.
    pub fn with_authorization(base: &str, authorization: Option<&str>) -> Client {
        Client {
            base: base.trim_end_matches('/').to_string(),
            authorization: authorization.map(str::to_string),
        }
    }

    pub fn get(&self, path: &str) -> Reply {
        self.send("GET", path, &[], None)
    }

    pub fn post(&self, path: &str, body: &Value) -> Reply {
        self.send("POST", path, &[], Some(body))
    }

    pub fn patch(&self, path: &str, body: &Value) -> Reply {
        self.send("PATCH", path, &[], Some(body))
    }

    pub fn delete(&self, path: &str) -> Reply {
        self.send("DELETE", path, &[], None)
    }

    /// `target` is a path on the base URL or an absolute `http://` URL (a `link`).
    pub fn send(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Reply {
        let url = if target.starts_with("http://") {
            target.to_string()
        } else {
            format!("{}{target}", self.base)
        };
        let rest = url
            .strip_prefix("http://")
            .unwrap_or_else(|| panic!("only http:// URLs: {url}"));
        let (host, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };

        let payload = body.map(|b| serde_json::to_vec(b).expect("JSON body"));
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: fake-github-tests\r\n\
             Accept: application/vnd.github+json\r\nX-GitHub-Api-Version: 2022-11-28\r\n\
             Connection: close\r\n"
        );
        if let Some(auth) = &self.authorization {
            request.push_str(&format!("Authorization: {auth}\r\n"));
        }
        for (k, v) in headers {
            request.push_str(&format!("{k}: {v}\r\n"));
        }
        match &payload {
            Some(p) => request.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                p.len()
            )),
            None if matches!(method, "POST" | "PATCH" | "PUT") => {
                request.push_str("Content-Length: 0\r\n\r\n")
            }
            None => request.push_str("\r\n"),
        }

        let mut stream =
            TcpStream::connect(host).unwrap_or_else(|e| panic!("connect to {host}: {e}"));
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("read timeout");
        stream.write_all(request.as_bytes()).expect("send request");
        if let Some(p) = &payload {
            stream.write_all(p).expect("send body");
        }
        let mut raw = Vec::new();
        stream
            .read_to_end(&mut raw)
            .unwrap_or_else(|e| panic!("read reply to {method} {url}: {e}"));
        parse(&raw).unwrap_or_else(|| {
            panic!(
                "malformed reply to {method} {url}: {:?}",
                String::from_utf8_lossy(&raw)
            )
        })
    }
}

fn parse(raw: &[u8]) -> Option<Reply> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            Some((k.trim().to_ascii_lowercase(), v.trim().to_string()))
        })
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    if chunked {
        body = dechunk(&body)?;
    }
    Some(Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}
