//! A fake of GitHub's release downloads, for the installer (dist/install.sh): HTTPS only, with
//! a certificate from its own test CA, which the client trusts through `CURL_CA_BUNDLE`.
//!
//! Like github.com, `GET /OWNER/REPO/releases/download/TAG/NAME` answers `302 Found` to where
//! the asset's bytes are (here `/_assets/TAG/NAME` on the same server), so a client that does
//! not follow redirects fails here as it would there. Every other path is `404 Not Found`.
//! It counts every request, and a test can swap an asset's bytes (tamper with it).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

/// One request the server answered.
#[derive(Debug, Clone)]
pub struct Served {
    pub method: String,
    pub path: String,
    pub status: u16,
}

#[derive(Default)]
struct State {
    /// Asset name to bytes.
    assets: BTreeMap<String, Vec<u8>>,
    served: Vec<Served>,
}

/// One release of one repository, served on 127.0.0.1 until dropped.
pub struct ReleaseServer {
    url: String,
    repository: String,
    tag: String,
    ca_bundle: PathBuf,
    _dir: tempfile::TempDir,
    state: Arc<Mutex<State>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl ReleaseServer {
    /// Serves `assets` (`(name, bytes)`) as the assets of release `tag` of `repository`
    /// (`owner/name`).
    pub fn start(repository: &str, tag: &str, assets: &[(String, Vec<u8>)]) -> ReleaseServer {
        let state = State {
            assets: assets.iter().cloned().collect(),
            served: Vec::new(),
        };
        let dir = tempfile::tempdir().unwrap();
        let (ca_pem, tls) = tls_config();
        let ca_bundle = dir.path().join("release-server-ca.pem");
        std::fs::write(&ca_bundle, ca_pem).unwrap();

        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener.set_nonblocking(true).unwrap();
        let url = format!(
            "https://127.0.0.1:{}",
            listener.local_addr().unwrap().port()
        );
        let state = Arc::new(Mutex::new(state));
        let routes = Arc::new(Routes {
            download: format!("/{repository}/releases/download/{tag}/"),
            assets: format!("/_assets/{tag}/"),
            url: url.clone(),
            state: state.clone(),
        });
        let (tx, mut rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("release-server".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime for the release server");
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                    loop {
                        tokio::select! {
                            _ = &mut rx => break,
                            accepted = listener.accept() => {
                                let Ok((stream, _)) = accepted else { continue };
                                let (tls, routes) = (tls.clone(), routes.clone());
                                tokio::spawn(async move {
                                    // A client that refuses the certificate ends here.
                                    let Ok(stream) = tls.accept(stream).await else { return };
                                    let service = service_fn(move |request| {
                                        let routes = routes.clone();
                                        async move { Ok::<_, Infallible>(routes.answer(&request)) }
                                    });
                                    let _ = http1::Builder::new()
                                        .serve_connection(TokioIo::new(stream), service)
                                        .await;
                                });
                            }
                        }
                    }
                });
            })
            .expect("spawn the release server");
        ReleaseServer {
            url,
            repository: repository.into(),
            tag: tag.into(),
            ca_bundle,
            _dir: dir,
            state,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }

    /// `https://127.0.0.1:PORT`: the job's `GITHUB_SERVER_URL`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The test CA's certificate (PEM): the job's `CURL_CA_BUNDLE`.
    pub fn ca_bundle(&self) -> &Path {
        &self.ca_bundle
    }

    /// Where github.com would serve the asset `name` of this release.
    pub fn download_url(&self, name: &str) -> String {
        format!(
            "{}/{}/releases/download/{}/{name}",
            self.url, self.repository, self.tag
        )
    }

    /// The asset names, sorted.
    pub fn assets(&self) -> Vec<String> {
        self.state.lock().unwrap().assets.keys().cloned().collect()
    }

    /// The bytes served for `name`.
    pub fn asset(&self, name: &str) -> Vec<u8> {
        let state = self.state.lock().unwrap();
        match state.assets.get(name) {
            Some(bytes) => bytes.clone(),
            None => panic!("the release has no {name}: {:?}", state.assets.keys()),
        }
    }

    /// Serves `bytes` for `name` from now on (a tampered asset, a sha256.sum without a line).
    pub fn replace(&self, name: &str, bytes: Vec<u8>) {
        self.state
            .lock()
            .unwrap()
            .assets
            .insert(name.to_string(), bytes);
    }

    /// Every request so far, in arrival order.
    pub fn served(&self) -> Vec<Served> {
        self.state.lock().unwrap().served.clone()
    }

    /// How many times the bytes of `name` were sent.
    pub fn downloads(&self, name: &str) -> usize {
        let path = format!("/_assets/{}/{name}", self.tag);
        self.served()
            .iter()
            .filter(|s| s.path == path && s.status == 200)
            .count()
    }
}

impl Drop for ReleaseServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct Routes {
    /// `/OWNER/REPO/releases/download/TAG/`
    download: String,
    /// `/_assets/TAG/`
    assets: String,
    url: String,
    state: Arc<Mutex<State>>,
}

impl Routes {
    fn answer<B>(&self, request: &hyper::Request<B>) -> hyper::Response<Full<Bytes>> {
        let path = request.uri().path();
        let mut state = self.state.lock().unwrap();
        let known = |prefix: &str| {
            path.strip_prefix(prefix)
                .filter(|name| state.assets.contains_key(*name))
                .map(str::to_string)
        };
        let response = match (
            request.method() == hyper::Method::GET,
            known(&self.download),
        ) {
            (true, Some(name)) => hyper::Response::builder()
                .status(302)
                .header("location", format!("{}{}{name}", self.url, self.assets))
                .body(Full::new(Bytes::new())),
            _ => match (request.method() == hyper::Method::GET, known(&self.assets)) {
                (true, Some(name)) => {
                    let body = state.assets[&name].clone();
                    hyper::Response::builder()
                        .status(200)
                        .header("content-type", "application/octet-stream")
                        .header(
                            "content-disposition",
                            format!("attachment; filename={name}"),
                        )
                        .body(Full::new(Bytes::from(body)))
                }
                _ => hyper::Response::builder()
                    .status(404)
                    .header("content-type", "text/plain; charset=utf-8")
                    .body(Full::new(Bytes::from_static(b"Not Found"))),
            },
        }
        .expect("a valid response");
        state.served.push(Served {
            method: request.method().to_string(),
            path: path.to_string(),
            status: response.status().as_u16(),
        });
        response
    }
}

/// A CA of its own and a certificate it signed for 127.0.0.1: the CA's PEM and the server's
/// TLS config. (support::web's TestCa keeps its keys private to that module.)
fn tls_config() -> (String, tokio_rustls::TlsAcceptor) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(
        rcgen::DnType::CommonName,
        "deploy-action release server test CA",
    );
    ca_params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params =
        rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "127.0.0.1");
    let server = params.signed_by(&key, &ca).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_no_client_auth()
    .with_single_cert(
        vec![server.der().clone(), ca.der().clone()],
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    )
    .expect("server certificate");
    (ca.pem(), tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}
