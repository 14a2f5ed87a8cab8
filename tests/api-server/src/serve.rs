//! The accept loop of both ports: HTTP/1.1 connections served by hyper, each with a kill
//! switch that a handler can pull and a subscription to a "close idle connections" signal.
//!
//! Both exist for the `"drop"` refresh failure. Pulling the kill switch drops the connection
//! with the request unanswered, so the browser's `fetch` rejects with a network error; that is
//! cleaner than panicking in the handler, and a panic would print a backtrace on every drop.
//! But Chromium silently re-sends a request that died unanswered on a *reused* keep-alive
//! connection, POSTs included, which would hide the drop. So while a drop is armed the main
//! port closes its idle connections and answers `Connection: close` (see `app.rs`): the
//! dropped request then travels on a fresh connection and the browser really sees the failure.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};
use tower::ServiceExt;

/// The connection a request arrived on, found in the request's extensions.
#[derive(Debug, Clone)]
pub struct ConnHandle {
    kill: Arc<Notify>,
}

impl ConnHandle {
    /// Closes the connection at once, leaving the request in progress unanswered.
    pub fn kill(&self) {
        // notify_one keeps a permit when the connection task is not waiting yet.
        self.kill.notify_one();
    }
}

/// Sends "close your idle keep-alive connections" to the connections of one port.
#[derive(Debug)]
pub struct Connections {
    close_idle: watch::Sender<u64>,
}

impl Default for Connections {
    fn default() -> Self {
        Self {
            close_idle: watch::channel(0).0,
        }
    }
}

impl Connections {
    /// Asks every open connection to close once its current request (if any) is answered.
    pub fn close_idle(&self) {
        // send_modify, unlike send, works while no connection is subscribed.
        self.close_idle.send_modify(|generation| {
            *generation = generation.wrapping_add(1);
        });
    }

    /// A receiver for [`serve`].
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.close_idle.subscribe()
    }
}

/// Serves `router` on every connection `listener` accepts, forever.
pub async fn serve(listener: TcpListener, router: Router, close_idle: watch::Receiver<u64>) {
    loop {
        match listener.accept().await {
            Ok((stream, _peer)) => {
                let mut close_idle = close_idle.clone();
                // Only signals sent after this connection opened concern it.
                close_idle.borrow_and_update();
                tokio::spawn(serve_connection(stream, router.clone(), close_idle));
            }
            Err(e) => {
                // Out of file descriptors and the like: pause rather than spin.
                eprintln!("api-server: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

async fn serve_connection(stream: TcpStream, router: Router, mut close_idle: watch::Receiver<u64>) {
    // Small JSON answers: do not let Nagle hold them back.
    let _ = stream.set_nodelay(true);
    let kill = Arc::new(Notify::new());
    let handle = ConnHandle { kill: kill.clone() };
    let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
        req.extensions_mut().insert(handle.clone());
        router.clone().oneshot(req)
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let mut watching = true;
    loop {
        tokio::select! {
            // An error here is the client's doing (reset, malformed request): nothing to report.
            _ = conn.as_mut() => return,
            // Returning drops the connection: the socket closes with the request unanswered.
            () = kill.notified() => return,
            changed = close_idle.changed(), if watching => match changed {
                Ok(()) => conn.as_mut().graceful_shutdown(),
                // The sender is gone (a port without the signal): stop listening for it.
                Err(_) => watching = false,
            },
        }
    }
}
