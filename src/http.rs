//! HTTP clients for the tool's own requests: health probes to a release, and verification
//! through the router.

/// A client builder for requests to `url`. Certificates are checked against the system trust
/// store only when `url` is `https://`: for plain HTTP the store is not read. Reading it means
/// opening and parsing some 300 files under /etc/ssl/certs, milliseconds of CPU that the
/// router's clients feel on a small host when it happens at the moment of a switch.
pub fn client_builder(url: &str) -> reqwest::ClientBuilder {
    let https = url
        .get(..8)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"));
    if https {
        reqwest::Client::builder()
    } else {
        plain_client_builder()
    }
}

/// A client builder for plain `http://` requests only: it reads no trust store.
pub fn plain_client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder().tls_certs_only([])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes this thread has read through read(2) and friends so far.
    fn bytes_read_by_this_thread() -> u64 {
        let io = std::fs::read_to_string("/proc/thread-self/io").unwrap();
        io.lines()
            .find_map(|l| l.strip_prefix("rchar: "))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }

    fn bytes_read_building(url: &str) -> u64 {
        // As main() does before any client is built.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let before = bytes_read_by_this_thread();
        client_builder(url).build().unwrap();
        bytes_read_by_this_thread() - before
    }

    #[test]
    fn a_plain_http_client_reads_no_trust_store() {
        let plain = bytes_read_building("http://127.0.0.1:8000/");
        assert!(
            plain < 4096,
            "read {plain} bytes building a plain HTTP client"
        );
        // The measurement sees a trust store being read, where the machine has one.
        if std::path::Path::new("/etc/ssl/certs/ca-certificates.crt").exists() {
            let tls = bytes_read_building("HTTPS://app.example.com/");
            assert!(
                tls > 64 * 1024,
                "read only {tls} bytes building an https client"
            );
        }
    }
}
