//! The assertions of a check, and how each judges an answer: status, body text or regular
//! expression, JSON pointer, header, latency, and how long the TLS certificate stays valid.
//! Each failure says what was expected and what came.

use std::time::Duration;

use regex::Regex;
use serde_json::Value;

use super::cert;
use crate::config::{SmokeCheck, StatusSet};

/// One answer to a request, as the assertions see it.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
    /// From sending the request to the last byte of the body.
    pub latency: Duration,
    /// The server's certificate (DER), for an answer over TLS.
    pub certificate: Option<Vec<u8>>,
}

/// What a check expects of an answer.
#[derive(Debug, Clone)]
pub enum Assertion {
    Status(StatusSet),
    HeaderEquals { name: String, value: String },
    HeaderMatches { name: String, regex: Regex },
    BodyContains(String),
    BodyMatches(Regex),
    JsonEquals { pointer: String, value: Value },
    JsonExists { pointer: String, exists: bool },
    MaxLatency(Duration),
    TlsMinDays(u32),
}

/// An assertion the answer did not meet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Which assertion: `status`, `header content-type`, `json /status`, …
    pub assertion: String,
    pub expected: String,
    pub actual: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: expected {}, got {}",
            self.assertion, self.expected, self.actual
        )
    }
}

impl Assertion {
    /// The assertions of `check`, in the order they are judged: the status first (a 503
    /// says more than any body test), the latency and the certificate last.
    /// Patterns were checked when the file loaded; an error here is still reported.
    pub fn all_of(check: &SmokeCheck) -> Result<Vec<Assertion>, String> {
        let regex =
            |p: &str| Regex::new(p).map_err(|e| format!("invalid regular expression {p:?}: {e}"));
        let mut all = vec![Assertion::Status(check.status.clone())];
        for h in &check.header {
            if let Some(value) = &h.equals {
                all.push(Assertion::HeaderEquals {
                    name: h.name.clone(),
                    value: value.clone(),
                });
            }
            if let Some(pattern) = &h.matches {
                all.push(Assertion::HeaderMatches {
                    name: h.name.clone(),
                    regex: regex(pattern)?,
                });
            }
        }
        if let Some(text) = &check.body_contains {
            all.push(Assertion::BodyContains(text.clone()));
        }
        if let Some(pattern) = &check.body_matches {
            all.push(Assertion::BodyMatches(regex(pattern)?));
        }
        for j in &check.json {
            if let Some(value) = &j.equals {
                all.push(Assertion::JsonEquals {
                    pointer: j.pointer.clone(),
                    value: value.clone(),
                });
            }
            if let Some(exists) = j.exists {
                all.push(Assertion::JsonExists {
                    pointer: j.pointer.clone(),
                    exists,
                });
            }
        }
        if let Some(max) = check.max_latency {
            all.push(Assertion::MaxLatency(max.get()));
        }
        if let Some(days) = check.tls_min_days {
            all.push(Assertion::TlsMinDays(days));
        }
        Ok(all)
    }

    /// Its name in reports.
    pub fn label(&self) -> String {
        match self {
            Assertion::Status(_) => "status".into(),
            Assertion::HeaderEquals { name, .. } | Assertion::HeaderMatches { name, .. } => {
                format!("header {}", name.to_ascii_lowercase())
            }
            Assertion::BodyContains(_) => "body_contains".into(),
            Assertion::BodyMatches(_) => "body_matches".into(),
            Assertion::JsonEquals { pointer, .. } | Assertion::JsonExists { pointer, .. } => {
                format!("json {pointer}")
            }
            Assertion::MaxLatency(_) => "max_latency".into(),
            Assertion::TlsMinDays(_) => "tls_min_days".into(),
        }
    }

    pub fn judge(&self, answer: &Answer) -> Result<(), Failure> {
        let fail = |expected: String, actual: String| {
            Err(Failure {
                assertion: self.label(),
                expected,
                actual,
            })
        };
        match self {
            Assertion::Status(set) if set.accepts(answer.status) => Ok(()),
            Assertion::Status(set) => fail(format!("status {set}"), answer.status.to_string()),
            Assertion::HeaderEquals { name, value } => match header_values(answer, name) {
                values if values.iter().any(|v| v == value) => Ok(()),
                values => fail(format!("{value:?}"), describe_header(name, &values)),
            },
            Assertion::HeaderMatches { name, regex } => match header_values(answer, name) {
                values if values.iter().any(|v| regex.is_match(v)) => Ok(()),
                values => fail(
                    format!("a value matching /{}/", regex.as_str()),
                    describe_header(name, &values),
                ),
            },
            Assertion::BodyContains(text) => {
                if String::from_utf8_lossy(&answer.body).contains(text.as_str()) {
                    Ok(())
                } else {
                    fail(
                        format!("a body containing {text:?}"),
                        body_size(answer, "without it"),
                    )
                }
            }
            Assertion::BodyMatches(regex) => {
                if regex.is_match(&String::from_utf8_lossy(&answer.body)) {
                    Ok(())
                } else {
                    fail(
                        format!("a body matching /{}/", regex.as_str()),
                        body_size(answer, "with no match"),
                    )
                }
            }
            Assertion::JsonEquals { pointer, value } => match json_at(answer, pointer) {
                Err(e) => fail(format!("{} at {pointer}", compact(value)), e),
                Ok(Some(found)) if json_equal(&found, value) => Ok(()),
                Ok(Some(found)) => fail(compact(value), compact(&found)),
                Ok(None) => fail(compact(value), format!("nothing at {pointer}")),
            },
            Assertion::JsonExists { pointer, exists } => match (json_at(answer, pointer), exists) {
                (Err(e), _) => fail("a JSON body".into(), e),
                (Ok(Some(_)), true) | (Ok(None), false) => Ok(()),
                (Ok(Some(found)), false) => fail(format!("nothing at {pointer}"), compact(&found)),
                (Ok(None), true) => fail(format!("a value at {pointer}"), "nothing there".into()),
            },
            Assertion::MaxLatency(max) if answer.latency <= *max => Ok(()),
            Assertion::MaxLatency(max) => fail(
                format!("an answer within {}", millis(*max)),
                millis(answer.latency),
            ),
            Assertion::TlsMinDays(days) => {
                let expected = format!("a certificate valid for at least {days} days");
                match answer.certificate.as_deref().map(cert::expiry) {
                    None => fail(expected, "no TLS certificate (plain HTTP)".into()),
                    Some(Err(e)) => fail(expected, e),
                    Some(Ok(expiry)) if expiry.days_left >= f64::from(*days) => Ok(()),
                    Some(Ok(expiry)) => fail(expected, expiry.to_string()),
                }
            }
        }
    }
}

/// The first assertion `answer` fails, if any.
pub fn first_failure(assertions: &[Assertion], answer: &Answer) -> Option<Failure> {
    assertions.iter().find_map(|a| a.judge(answer).err())
}

fn header_values(answer: &Answer, name: &str) -> Vec<String> {
    answer
        .headers
        .get_all(name)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect()
}

fn describe_header(name: &str, values: &[String]) -> String {
    match values {
        [] => format!("no {} header", name.to_ascii_lowercase()),
        [one] => format!("{one:?}"),
        many => format!("{many:?}"),
    }
}

fn body_size(answer: &Answer, outcome: &str) -> String {
    match answer.body.len() {
        0 => "an empty body".into(),
        n => format!("a body of {n} bytes {outcome}"),
    }
}

/// The value at `pointer` in the body, or why the body is not JSON.
fn json_at(answer: &Answer, pointer: &str) -> Result<Option<Value>, String> {
    let doc: Value = serde_json::from_slice(&answer.body)
        .map_err(|e| format!("a body that is not JSON ({e})"))?;
    Ok(doc.pointer(pointer).cloned())
}

/// JSON equality where numbers compare by value: `1` equals `1.0`.
fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => x == y,
            _ => x == y,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_equal(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

/// A JSON value on one line, cut short when long.
fn compact(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 120 {
        format!("{}…", text.chars().take(120).collect::<String>())
    } else {
        text
    }
}

pub fn millis(d: Duration) -> String {
    format!("{} ms", d.as_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> Answer {
        let mut headers = http::HeaderMap::new();
        headers.insert("content-type", "application/json".parse().unwrap());
        Answer {
            status,
            headers,
            body: body.as_bytes().to_vec(),
            latency: Duration::from_millis(20),
            certificate: None,
        }
    }

    #[test]
    fn json_numbers_compare_by_value() {
        let a = answer(200, r#"{"n": 1.0, "list": [1, "x"]}"#);
        let equals = |pointer: &str, value: Value| {
            Assertion::JsonEquals {
                pointer: pointer.into(),
                value,
            }
            .judge(&a)
        };
        assert!(equals("/n", serde_json::json!(1)).is_ok());
        assert!(equals("/list", serde_json::json!([1.0, "x"])).is_ok());
        let failure = equals("/n", serde_json::json!(2)).unwrap_err();
        assert_eq!(
            (failure.expected.as_str(), failure.actual.as_str()),
            ("2", "1.0")
        );
    }

    #[test]
    fn failures_say_what_was_expected_and_what_came() {
        let a = answer(503, "down");
        let f = Assertion::Status(StatusSet(vec![(200, 299)]))
            .judge(&a)
            .unwrap_err();
        assert_eq!(f.to_string(), "status: expected status 200-299, got 503");
        let f = Assertion::HeaderEquals {
            name: "X-Version".into(),
            value: "2".into(),
        }
        .judge(&a)
        .unwrap_err();
        assert_eq!(f.actual, "no x-version header");
        let f = Assertion::MaxLatency(Duration::from_millis(5))
            .judge(&a)
            .unwrap_err();
        assert_eq!(
            (f.expected.as_str(), f.actual.as_str()),
            ("an answer within 5 ms", "20 ms")
        );
        let f = Assertion::TlsMinDays(1).judge(&a).unwrap_err();
        assert!(f.actual.contains("plain HTTP"), "{f}");
        assert!(
            Assertion::JsonExists {
                pointer: "/x".into(),
                exists: true
            }
            .judge(&a)
            .is_err()
        );
    }
}
