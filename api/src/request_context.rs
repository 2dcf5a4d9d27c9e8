//! Per-request context applied around the whole router, below hyper and above warp.
//!
//! For every request it takes the correlation id from a well-formed `X-Correlation-Id`
//! (or `X-Request-Id`) header or generates one, stores it (and the client address) in
//! the request's extensions for handlers, runs the request inside an `http_request`
//! span that carries `correlation_id` (so every log line of the request has it),
//! echoes it in the `X-Correlation-Id` response header, and writes one access-log line
//! with method, path, status and `latency_ms`.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use http::{HeaderMap, HeaderValue, Request, Response};
use tower_service::Service;
use tracing::Instrument;

/// Response and request header carrying the correlation id.
pub const CORRELATION_HEADER: &str = "x-correlation-id";
/// Accepted as the correlation id when `X-Correlation-Id` is absent.
pub const REQUEST_ID_HEADER: &str = "x-request-id";
const MAX_LEN: usize = 128;

/// The id that ties a request to the log lines and jobs it causes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorrelationId(String);

impl CorrelationId {
    /// A fresh id (UUIDv7).
    pub fn generate() -> Self {
        Self(uuid::Uuid::now_v7().to_string())
    }

    /// Accepts 1–128 characters of `[A-Za-z0-9._:-]`; anything else is ignored, so a
    /// client cannot inject text into our logs or headers.
    pub fn parse(raw: &str) -> Option<Self> {
        let ok = !raw.is_empty()
            && raw.len() <= MAX_LEN
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
        ok.then(|| Self(raw.to_owned()))
    }

    /// The id from the request headers, if one is present and well formed.
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        [CORRELATION_HEADER, REQUEST_ID_HEADER]
            .iter()
            .filter_map(|name| headers.get(*name)?.to_str().ok())
            .find_map(Self::parse)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CorrelationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The API's routes, as metric labels: `{id}` stands for any one path segment. Keep in
/// step with `routes/` (a test checks that every documented path has its template).
pub const ROUTE_TEMPLATES: &[&str] = &[
    "/",
    "/healthz",
    "/metrics",
    "/api/v1/health",
    "/api/v1/openapi.json",
    "/api/v1/auth/register",
    "/api/v1/auth/login",
    "/api/v1/auth/logout",
    "/api/v1/auth/session",
    "/api/v1/auth/me",
    "/api/v1/analyses",
    "/api/v1/analyses/{id}",
    "/api/v1/analyses/{id}/image",
    "/api/v1/analyses/{id}/overlay",
    "/api/v1/analyses/{id}/thumbnail",
    "/api/v1/analyses/{id}/conversations",
    "/api/v1/conversations/{id}",
    "/api/v1/conversations/{id}/messages",
    "/api/v1/jobs",
    "/api/v1/jobs/{id}",
    "/api/v1/jobs/{id}/events",
    "/assets/{id}",
    "/readings",
    "/readings/{id}",
    "/login",
    "/signup",
    "/account",
];

/// The label of a path whose route is not in [`ROUTE_TEMPLATES`].
pub const OTHER_ROUTE: &str = "(other)";

/// The route template `path` belongs to, or [`OTHER_ROUTE`]: metrics get one series per
/// route, whatever identifiers or junk a client puts in the path.
pub fn route_label(path: &str) -> &'static str {
    // Runs on every request: compared segment by segment, without allocating.
    let segments = || path.split('/').filter(|s| !s.is_empty());
    let count = segments().count();
    ROUTE_TEMPLATES
        .iter()
        .find(|template| {
            let parts = template.split('/').filter(|s| !s.is_empty());
            parts.clone().count() == count
                && parts
                    .zip(segments())
                    .all(|(part, segment)| part == "{id}" || part == segment)
        })
        .copied()
        .unwrap_or(OTHER_ROUTE)
}

/// The methods a route answers, for the `Allow` header of a 405 (RFC 9110 §15.5.6): from
/// the OpenAPI document, whose paths are the routes; `GET` for the page's own routes.
pub fn allowed_methods(path: &str) -> Option<&'static str> {
    static ALLOWED: std::sync::OnceLock<std::collections::HashMap<&'static str, String>> =
        std::sync::OnceLock::new();
    let allowed = ALLOWED.get_or_init(|| {
        let mut map = std::collections::HashMap::new();
        if let Ok(doc) = crate::routes::openapi::document() {
            for (path, item) in doc["paths"].as_object().into_iter().flatten() {
                let concrete: Vec<&str> = path
                    .split('/')
                    .map(|s| if s.starts_with('{') { "x" } else { s })
                    .collect();
                let methods: Vec<String> = ["get", "post", "put", "patch", "delete"]
                    .iter()
                    .filter(|m| item.get(**m).is_some())
                    .map(|m| m.to_ascii_uppercase())
                    .collect();
                map.insert(route_label(&concrete.join("/")), methods.join(", "));
            }
        }
        map
    });
    let route = route_label(path);
    if route == OTHER_ROUTE {
        return None;
    }
    Some(allowed.get(route).map_or("GET", String::as_str))
}

/// The method as a metric label: one of the standard methods, or `OTHER`.
pub fn method_label(method: &warp::http::Method) -> &'static str {
    use warp::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// The client's socket address, as seen by this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub Option<SocketAddr>);

/// Tower middleware implementing the module's behaviour.
#[derive(Debug, Clone)]
pub struct RequestContext<S> {
    inner: S,
    client: ClientAddr,
}

impl<S> RequestContext<S> {
    pub fn new(inner: S, client: Option<SocketAddr>) -> Self {
        Self {
            inner,
            client: ClientAddr(client),
        }
    }
}

impl<S, B, RB> Service<Request<B>> for RequestContext<S>
where
    S: Service<Request<B>, Response = Response<RB>, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response<RB>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let started = Instant::now();
        let correlation_id =
            CorrelationId::from_headers(request.headers()).unwrap_or_else(CorrelationId::generate);
        request.extensions_mut().insert(correlation_id.clone());
        request.extensions_mut().insert(self.client);
        let method = request.method().clone();
        let path = request.uri().path().to_owned();
        let span = tracing::info_span!(
            "http_request",
            correlation_id = %correlation_id,
            http.method = %method,
            http.path = %path,
        );
        // Take the service that was driven to readiness; leave a clone in its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(
            async move {
                let mut response = inner.call(request).await?;
                if let Ok(value) = HeaderValue::from_str(correlation_id.as_str()) {
                    response.headers_mut().insert(CORRELATION_HEADER, value);
                }
                let status = response.status().as_u16();
                // A response that carries a session token (the auth routes' JSON, any
                // Set-Cookie) must not be stored by a browser or proxy cache.
                if (path.starts_with("/api/v1/auth/")
                    || response
                        .headers()
                        .contains_key(warp::http::header::SET_COOKIE))
                    && !response
                        .headers()
                        .contains_key(warp::http::header::CACHE_CONTROL)
                {
                    response.headers_mut().insert(
                        warp::http::header::CACHE_CONTROL,
                        HeaderValue::from_static("no-store"),
                    );
                }
                if status == 405 && !response.headers().contains_key(warp::http::header::ALLOW) {
                    if let Some(allow) = allowed_methods(&path) {
                        response
                            .headers_mut()
                            .insert(warp::http::header::ALLOW, HeaderValue::from_static(allow));
                    }
                }
                let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
                tracing::info!(http.status = status, latency_ms, "{method} {path} {status}");
                metrics::histogram!(
                    "hast_http_request_duration_seconds",
                    "method" => method_label(&method),
                    "route" => if status == 404 { "(unmatched)" } else { route_label(&path) },
                    "status" => status.to_string(),
                )
                .record(latency_ms / 1000.0);
                Ok(response)
            }
            .instrument(span),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_labels_are_templates_whatever_the_path() {
        assert_eq!(route_label("/"), "/");
        assert_eq!(
            route_label("/api/v1/jobs/0192f0c4-7d1e-7cc3-8a35-2f3b9b0d6a11/events"),
            "/api/v1/jobs/{id}/events"
        );
        assert_eq!(
            route_label("/api/v1/jobs/x/events"),
            "/api/v1/jobs/{id}/events"
        );
        assert_eq!(route_label("/api/v1/health"), "/api/v1/health");
        assert_eq!(route_label("/api/v1/jobs/a/b/c"), OTHER_ROUTE);
        assert_eq!(route_label("/wp-admin/setup.php"), OTHER_ROUTE);
    }

    /// Every path of the OpenAPI document has its metric label (not `(other)`).
    #[test]
    fn every_documented_path_has_a_route_template() {
        let doc = crate::routes::openapi::document().expect("the OpenAPI document");
        let paths = doc["paths"].as_object().expect("paths");
        assert!(paths.len() > 10);
        for path in paths.keys() {
            let concrete: Vec<&str> = path
                .split('/')
                .map(|s| if s.starts_with('{') { "x" } else { s })
                .collect();
            assert_ne!(route_label(&concrete.join("/")), OTHER_ROUTE, "{path}");
        }
    }

    #[test]
    fn allow_lists_the_methods_of_the_route() {
        assert_eq!(allowed_methods("/api/v1/jobs"), Some("POST"));
        assert_eq!(allowed_methods("/api/v1/jobs/abc"), Some("GET, DELETE"));
        assert_eq!(allowed_methods("/readings/abc"), Some("GET"));
        assert_eq!(allowed_methods("/no/such/thing"), None);
    }

    #[test]
    fn unknown_methods_share_one_label() {
        let odd = warp::http::Method::from_bytes(b"BREW").unwrap();
        assert_eq!(method_label(&odd), "OTHER");
        assert_eq!(method_label(&warp::http::Method::DELETE), "DELETE");
    }

    #[test]
    fn correlation_ids_are_validated() {
        assert!(CorrelationId::parse("abc-123_x.y:z").is_some());
        assert!(CorrelationId::parse("").is_none());
        assert!(CorrelationId::parse("has space").is_none());
        assert!(CorrelationId::parse(&"a".repeat(129)).is_none());
    }
}
