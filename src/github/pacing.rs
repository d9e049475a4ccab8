//! How long to wait: GitHub's rate-limit headers, `retry-after`, and jitter so that many
//! pollers do not ask in step.
//! <https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api>

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, StatusCode};

/// The primary rate limit as a reply stated it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Limits {
    pub limit: u64,
    pub remaining: u64,
    /// When the window resets, in seconds since the epoch.
    pub reset: u64,
}

impl Limits {
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        let number = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        Some(Self {
            limit: number("x-ratelimit-limit")?,
            remaining: number("x-ratelimit-remaining")?,
            reset: number("x-ratelimit-reset")?,
        })
    }

    fn until_reset(&self) -> Duration {
        Duration::from_secs(self.reset.saturating_sub(now_secs()))
    }

    /// `every` with jitter. A look that finds nothing new is a 304 and costs nothing, so
    /// only a nearly spent limit slows polling: with less than a tenth left, the calls left
    /// are spread over the time until the reset, keeping the last few for everything else.
    pub fn poll_delay(&self, every: Duration) -> Duration {
        let mut wait = every;
        if self.limit > 0 && self.remaining <= self.limit / 10 {
            let spare = self.remaining.saturating_sub(self.limit / 50);
            let left = self.until_reset() + Duration::from_secs(1);
            wait = if spare == 0 {
                left
            } else {
                every.max(left / spare as u32)
            };
        }
        jittered(wait)
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// `d` ± 20 %, so that pollers started together drift apart.
pub fn jittered(d: Duration) -> Duration {
    d.mul_f64(rand::random_range(0.8..1.2))
}

/// How long GitHub asks us to wait, when a reply is a rate-limit refusal: `retry-after`
/// first, then an exhausted primary limit until its reset, then a secondary limit without
/// `retry-after` (the docs say: at least a minute).
pub fn rate_limit_wait(
    status: StatusCode,
    headers: &HeaderMap,
    message: &str,
    limits: Option<Limits>,
) -> Option<Duration> {
    if status != StatusCode::FORBIDDEN && status != StatusCode::TOO_MANY_REQUESTS {
        return None;
    }
    if let Some(secs) = headers
        .get(http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
    {
        return Some(Duration::from_secs(secs.max(1)));
    }
    if let Some(limits) = limits
        && limits.remaining == 0
    {
        return Some(limits.until_reset() + Duration::from_secs(1));
    }
    let message = message.to_ascii_lowercase();
    if message.contains("secondary rate limit") || message.contains("abuse") {
        return Some(Duration::from_secs(60));
    }
    (status == StatusCode::TOO_MANY_REQUESTS).then(|| Duration::from_secs(60))
}

/// The `rel="next"` URL of a `Link` header.
pub fn next_link(headers: &HeaderMap) -> Option<String> {
    let link = headers.get(http::header::LINK)?.to_str().ok()?;
    link.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|p| p.trim().replace(' ', "") == "rel=\"next\"")
            .then(|| {
                url.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string()
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn the_next_page_comes_from_the_link_header() {
        let h = headers(&[(
            "link",
            "<https://api.github.com/x?page=2>; rel=\"next\", <https://api.github.com/x?page=5>; rel=\"last\"",
        )]);
        assert_eq!(
            next_link(&h).as_deref(),
            Some("https://api.github.com/x?page=2")
        );
        let last = headers(&[("link", "<https://api.github.com/x?page=1>; rel=\"prev\"")]);
        assert_eq!(next_link(&last), None);
    }

    #[test]
    fn retry_after_wins_then_the_reset_then_a_minute() {
        let soon = now_secs() + 30;
        let exhausted = Limits {
            limit: 1000,
            remaining: 0,
            reset: soon,
        };
        let h = headers(&[("retry-after", "7")]);
        assert_eq!(
            rate_limit_wait(StatusCode::FORBIDDEN, &h, "", Some(exhausted)),
            Some(Duration::from_secs(7))
        );
        let wait = rate_limit_wait(
            StatusCode::FORBIDDEN,
            &HeaderMap::new(),
            "",
            Some(exhausted),
        )
        .unwrap();
        assert!(wait > Duration::from_secs(25) && wait <= Duration::from_secs(32));
        let fine = Limits {
            remaining: 10,
            ..exhausted
        };
        assert_eq!(
            rate_limit_wait(
                StatusCode::FORBIDDEN,
                &HeaderMap::new(),
                "You have exceeded a secondary rate limit",
                Some(fine)
            ),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            rate_limit_wait(
                StatusCode::FORBIDDEN,
                &HeaderMap::new(),
                "Resource not accessible",
                Some(fine)
            ),
            None
        );
    }

    #[test]
    fn polling_slows_down_only_when_the_limit_is_nearly_spent() {
        let every = Duration::from_secs(10);
        let plenty = Limits {
            limit: 1000,
            remaining: 900,
            reset: now_secs() + 3600,
        };
        let d = plenty.poll_delay(every);
        assert!(d >= Duration::from_secs(8) && d <= Duration::from_secs(12));
        // 80 calls left for an hour, 20 kept back: one look every minute at most.
        let scarce = Limits {
            remaining: 80,
            ..plenty
        };
        assert!(scarce.poll_delay(every) >= Duration::from_secs(45));
        let spent = Limits {
            remaining: 10,
            ..plenty
        };
        assert!(spent.poll_delay(every) >= Duration::from_secs(2800));
    }
}
