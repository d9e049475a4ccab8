//! A web service on loopback for smoke tests: plain HTTP or HTTPS with a certificate from a
//! test CA, answering each request as the test's handler says (status, headers, body, and
//! a delay before answering). It records every request it gets.

use std::collections::HashMap;
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A request the service got.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Lower-case names.
    pub headers: HashMap<String, String>,
    pub body: String,
    /// 1 for the service's first request.
    pub number: usize,
    /// Since the service started.
    pub at: Duration,
}

/// How the service answers one request.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub delay: Duration,
}

impl Reply {
    pub fn status(status: u16) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: String::new(),
            delay: Duration::ZERO,
        }
    }

    pub fn ok(body: &str) -> Self {
        Self::status(200).body(body)
    }

    pub fn json(value: serde_json::Value) -> Self {
        Self::status(200)
            .header("content-type", "application/json")
            .body(&value.to_string())
    }

    pub fn body(mut self, body: &str) -> Self {
        self.body = body.to_string();
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Answers only after `delay`: a slow service.
    pub fn after(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

type Handler = Arc<dyn Fn(&Request) -> Reply + Send + Sync>;

/// The running service; it stops when dropped.
pub struct Web {
    url: String,
    requests: Arc<Mutex<Vec<Request>>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Web {
    /// A plain HTTP service on 127.0.0.1.
    pub fn http(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Web {
        Self::start(None, Arc::new(handler))
    }

    /// An HTTPS service on 127.0.0.1 with `ca`'s server certificate.
    pub fn https(ca: &TestCa, handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Web {
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![ca.server_der.clone(), ca.ca_der.clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ca.server_key.clone())),
        )
        .expect("server certificate");
        Self::start(
            Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))),
            Arc::new(handler),
        )
    }

    /// `http://127.0.0.1:PORT` or `https://…`, without a trailing slash.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    fn start(tls: Option<tokio_rustls::TlsAcceptor>, handler: Handler) -> Web {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener.set_nonblocking(true).expect("non-blocking");
        let port = listener.local_addr().unwrap().port();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let requests: Arc<Mutex<Vec<Request>>> = Arc::default();
        let (tx, mut rx) = tokio::sync::oneshot::channel::<()>();
        let recorded = requests.clone();
        let thread = std::thread::Builder::new()
            .name("smoke-web".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("runtime for the web service");
                runtime.block_on(async move {
                    let started = Instant::now();
                    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                    loop {
                        tokio::select! {
                            _ = &mut rx => break,
                            accepted = listener.accept() => {
                                let Ok((stream, _)) = accepted else { continue };
                                let (handler, recorded, tls) =
                                    (handler.clone(), recorded.clone(), tls.clone());
                                tokio::spawn(async move {
                                    let service = service_fn(move |request| {
                                        let (handler, recorded) = (handler.clone(), recorded.clone());
                                        async move { serve(request, handler, recorded, started).await }
                                    });
                                    match tls {
                                        None => {
                                            let _ = http1::Builder::new()
                                                .serve_connection(TokioIo::new(stream), service)
                                                .await;
                                        }
                                        Some(tls) => {
                                            // A client that refuses the certificate ends here.
                                            let Ok(stream) = tls.accept(stream).await else { return };
                                            let _ = http1::Builder::new()
                                                .serve_connection(TokioIo::new(stream), service)
                                                .await;
                                        }
                                    }
                                });
                            }
                        }
                    }
                    // Do not wait for slow answers still sleeping.
                });
                runtime.shutdown_timeout(Duration::from_millis(100));
            })
            .expect("spawn the web service");
        Web {
            url: format!("{scheme}://127.0.0.1:{port}"),
            requests,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }
}

impl Drop for Web {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve(
    request: hyper::Request<hyper::body::Incoming>,
    handler: Handler,
    recorded: Arc<Mutex<Vec<Request>>>,
    started: Instant,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| String::from_utf8_lossy(&b.to_bytes()).into_owned())
        .unwrap_or_default();
    let request = {
        let mut all = recorded.lock().unwrap();
        let request = Request {
            method: parts.method.to_string(),
            path: parts
                .uri
                .path_and_query()
                .map_or("/".into(), |p| p.to_string()),
            headers: parts
                .headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body,
            number: all.len() + 1,
            at: started.elapsed(),
        };
        all.push(request.clone());
        request
    };
    let reply = handler(&request);
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let mut response = hyper::Response::builder().status(reply.status);
    for (name, value) in &reply.headers {
        response = response.header(name, value);
    }
    Ok(response
        .body(Full::new(Bytes::from(reply.body)))
        .expect("a valid response"))
}

/// A test certificate authority and a server certificate it signed for 127.0.0.1 and
/// localhost, expiring half a day before `days` from now: always between `days - 1` and
/// `days` days away, whatever the time of day.
pub struct TestCa {
    pub ca_pem: String,
    ca_der: CertificateDer<'static>,
    server_der: CertificateDer<'static>,
    server_key: Vec<u8>,
}

impl TestCa {
    pub fn new(days: i64) -> TestCa {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "deploy-action test CA");
        ca_params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();

        let server_key = rcgen::KeyPair::generate().unwrap();
        let mut params =
            rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
                .unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "127.0.0.1");
        let until = chrono::Utc::now() + chrono::Duration::days(days) - chrono::Duration::hours(12);
        let since_midnight = chrono::Timelike::num_seconds_from_midnight(&until);
        params.not_after = rcgen::date_time_ymd(
            chrono::Datelike::year(&until),
            chrono::Datelike::month(&until) as u8,
            chrono::Datelike::day(&until) as u8,
        ) + std::time::Duration::from_secs(since_midnight.into());
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        let server = params.signed_by(&server_key, &ca).unwrap();
        TestCa {
            ca_pem: ca.pem(),
            ca_der: ca.der().clone(),
            server_der: server.der().clone(),
            server_key: server_key.serialize_der(),
        }
    }

    /// Writes the CA certificate as PEM into `dir`.
    pub fn write_ca(&self, dir: &Path) -> PathBuf {
        let path = dir.join("test-ca.pem");
        std::fs::write(&path, &self.ca_pem).unwrap();
        path
    }
}
