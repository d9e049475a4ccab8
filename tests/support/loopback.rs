//! The HTTP/1.1 server under the in-process fakes (GitHub, Grafana): a current-thread tokio
//! runtime on its own thread, serving a listener the fake bound on loopback, until stopped.
//! Each fake supplies only what it does with a request.

use std::convert::Infallible;
use std::sync::Arc;
use std::thread::JoinHandle;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::http::request::Parts;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

/// Answers one request: its head and its whole body.
pub type Handler = dyn Fn(Parts, Vec<u8>) -> hyper::Response<Full<Bytes>> + Send + Sync;

/// The server thread; [`LoopbackServer::stop`] ends it.
pub struct LoopbackServer {
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl LoopbackServer {
    /// Serves `listener` on a thread called `name`, answering with `handle`.
    pub fn start(name: &str, listener: std::net::TcpListener, handle: Arc<Handler>) -> Self {
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let (tx, mut rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("tokio runtime for a fake server");
                runtime.block_on(async move {
                    let listener =
                        tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                    loop {
                        tokio::select! {
                            _ = &mut rx => break,
                            accepted = listener.accept() => {
                                let Ok((stream, _)) = accepted else { continue };
                                let handle = handle.clone();
                                tokio::spawn(async move {
                                    let service = service_fn(move |request| {
                                        let handle = handle.clone();
                                        async move { serve(&*handle, request).await }
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
            .expect("spawn a fake server thread");
        LoopbackServer {
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }

    pub fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve(
    handle: &Handler,
    request: hyper::Request<hyper::body::Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes().to_vec(),
        Err(_) => Vec::new(),
    };
    Ok(handle(parts, body))
}
