//! How long a server's TLS certificate stays valid, read from its `notAfter`.

use std::fmt;

/// When a certificate expires, and how far away that is.
#[derive(Debug, Clone, PartialEq)]
pub struct Expiry {
    pub not_after: chrono::DateTime<chrono::Utc>,
    /// Negative once it has expired.
    pub days_left: f64,
}

impl fmt::Display for Expiry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let when = self.not_after.format("%Y-%m-%d %H:%M UTC");
        if self.days_left < 0.0 {
            write!(
                f,
                "a certificate that expired {:.1} days ago, at {when}",
                -self.days_left
            )
        } else {
            write!(
                f,
                "a certificate that expires in {:.1} days, at {when}",
                self.days_left
            )
        }
    }
}

/// The expiry of the DER certificate `der`, as of now.
pub fn expiry(der: &[u8]) -> Result<Expiry, String> {
    expiry_at(der, chrono::Utc::now())
}

fn expiry_at(der: &[u8], now: chrono::DateTime<chrono::Utc>) -> Result<Expiry, String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| format!("a certificate that cannot be read ({e})"))?;
    let seconds = cert.validity().not_after.timestamp();
    let not_after = chrono::DateTime::from_timestamp(seconds, 0)
        .ok_or_else(|| format!("a certificate with an impossible notAfter ({seconds})"))?;
    let days_left = (not_after - now).num_seconds() as f64 / 86_400.0;
    Ok(Expiry {
        not_after,
        days_left,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_not_a_certificate() {
        let e = expiry(b"not DER").unwrap_err();
        assert!(e.starts_with("a certificate that cannot be read"), "{e}");
    }

    #[test]
    fn expiry_reads_as_days_from_now() {
        let e = Expiry {
            not_after: chrono::DateTime::from_timestamp(86_400 * 3, 0).unwrap(),
            days_left: 2.5,
        };
        assert_eq!(
            e.to_string(),
            "a certificate that expires in 2.5 days, at 1970-01-04 00:00 UTC"
        );
    }
}
