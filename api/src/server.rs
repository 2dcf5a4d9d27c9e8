//! The HTTP server loop: hyper connections serving the warp router wrapped in
//! [`RequestContext`] and CORS, with graceful shutdown.
//!
//! warp's own `serve` cannot put per-request context *around* the router, which is
//! what correlation ids and the access log need, so this is warp's graceful runner
//! with a tower stack in front.

use std::future::Future;
use std::time::Duration;

use hast_common::config::HttpLimits;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceBuilder;
use tower_http::cors::{AllowOrigin, CorsLayer};
use warp::http::{header, HeaderName, HeaderValue, Method};
use warp::{Filter, Reply};

use crate::request_context::{RequestContext, CORRELATION_HEADER};

/// How long open connections (for example event streams) may take to finish after
/// shutdown was requested.
const CONNECTION_DRAIN: Duration = Duration::from_secs(10);

/// Builds the CORS policy from `CORS_ALLOWED_ORIGINS`. Origins not in the list get no
/// CORS headers, so browsers keep their same-origin protection.
pub fn cors_layer(origins: &[String]) -> CorsLayer {
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_credentials(true)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            HeaderName::from_static(CORRELATION_HEADER),
            HeaderName::from_static("idempotency-key"),
        ])
        .expose_headers([
            HeaderName::from_static(CORRELATION_HEADER),
            header::RETRY_AFTER,
        ])
        .max_age(Duration::from_secs(600))
}

/// The body a connection beyond `HTTP_MAX_CONNECTIONS` gets before it is closed.
const BUSY_BODY: &str =
    r#"{"error":{"code":"server_busy","message":"too many open connections; try again shortly"}}"#;

/// Answers a connection over the cap with 503 and [`BUSY_BODY`] (without reading its
/// request) and closes it; bounded, so a client that does not read cannot hold the task.
async fn refuse_busy(mut stream: TcpStream) {
    metrics::counter!("hast_http_connections_refused_total").increment(1);
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         retry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{BUSY_BODY}",
        BUSY_BODY.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let _ = stream.write_all(response.as_bytes()).await;
        let _ = stream.shutdown().await;
    })
    .await;
}

/// Serves `routes` on `listener` until `shutdown` resolves, then stops accepting and
/// waits (bounded) for open connections to finish. At most `limits.max_connections` are
/// served at once, and a client has `limits.header_timeout` to send a request's headers.
pub async fn serve<F, R>(
    listener: TcpListener,
    routes: F,
    cors: CorsLayer,
    limits: &HttpLimits,
    shutdown: impl Future<Output = ()> + Send,
) where
    F: Filter<Extract = (R,), Error = std::convert::Infallible> + Clone + Send + Sync + 'static,
    R: Reply,
{
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    builder.http2().timer(TokioTimer::new());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(err) => {
                    // Typically EMFILE: back off briefly instead of spinning.
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tokio::spawn(refuse_busy(stream));
            continue;
        };
        let service = ServiceBuilder::new()
            .layer_fn(|inner| RequestContext::new(inner, Some(remote)))
            .layer(cors.clone())
            .service(warp::service(routes.clone()));
        let service = TowerToHyperService::new(service);
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(error = %err, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    tracing::info!("HTTP server stopped accepting; draining connections");
    if tokio::time::timeout(CONNECTION_DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            drain_s = CONNECTION_DRAIN.as_secs(),
            "connections still open after the drain period; closing them"
        );
    }
}
