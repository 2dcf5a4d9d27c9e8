//! The web page, embedded in the binary (see `api/build.rs` and `web/`).
//!
//! - `GET /`, `/readings`, `/readings/{id}`, `/login`, `/signup`, `/account`: the page
//!   (`index.html`, the single-page app's shell; the script draws the view for the path),
//!   `Cache-Control: no-cache`.
//! - `GET /assets/{name}`: the script and style sheet, content-hashed names, cached for a
//!   year (`immutable`); gzip when the client accepts it.
//!
//! Every answer carries a strict Content-Security-Policy (scripts and styles only from this
//! origin, no inline script; `frame-ancestors 'none'`), `Referrer-Policy`, and
//! `X-Content-Type-Options: nosniff`.

use bytes::Bytes;
use warp::http::header::{self, HeaderValue};
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::error::ApiError;
use crate::state::AppState;

/// One embedded file under `/assets/`.
#[derive(Debug)]
pub struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    pub plain: &'static [u8],
    pub gzip: &'static [u8],
}

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/web_assets.rs"));
}

/// Whether this binary was built with the web page (`web/dist` existed).
pub const BUILT: bool = embedded::BUILT;

/// The page's Content-Security-Policy: nothing inline, nothing from elsewhere.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' blob:; connect-src 'self'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// Whether `path` is one of the page's own (client-side) routes.
fn is_page(path: &str) -> bool {
    match path.trim_end_matches('/') {
        "" | "/readings" | "/login" | "/signup" | "/account" => true,
        other => other
            .strip_prefix("/readings/")
            .is_some_and(|id| !id.is_empty() && !id.contains('/')),
    }
}

/// The page and its assets.
pub fn routes(state: AppState) -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone {
    let index = Bytes::from(embedded::INDEX_HTML.replace(
        "%MAX_UPLOAD_BYTES%",
        &state.settings.api.max_upload_bytes.to_string(),
    ));
    let page = warp::path::full()
        .and_then(|path: warp::path::FullPath| async move {
            if is_page(path.as_str()) {
                Ok(())
            } else {
                Err(warp::reject::not_found())
            }
        })
        .untuple_one()
        .and(warp::get().or(warp::head()).unify())
        .map(move || page_response(index.clone()));
    let asset = warp::path!("assets" / String)
        .and(warp::get().or(warp::head()).unify())
        .and(warp::header::optional::<String>("accept-encoding"))
        .and_then(|name: String, encoding: Option<String>| async move {
            asset_response(&name, encoding.as_deref()).map_err(warp::reject::custom)
        });
    page.or(asset)
}

fn page_response(index: Bytes) -> Response {
    let mut response = Response::new(index.into());
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    with_security_headers(&mut response);
    response
}

fn asset_response(name: &str, accept_encoding: Option<&str>) -> Result<Response, ApiError> {
    let asset = embedded::ASSETS
        .iter()
        .find(|a| a.name == name)
        .ok_or_else(|| ApiError::not_found("no such asset"))?;
    let gzip = accept_encoding.is_some_and(accepts_gzip);
    let body: &'static [u8] = if gzip { asset.gzip } else { asset.plain };
    let mut response = Response::new(Bytes::from_static(body).into());
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if gzip {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    with_security_headers(&mut response);
    Ok(response)
}

/// Whether an `Accept-Encoding` value allows gzip (`gzip`, `gzip;q=0.5`, `*`; not `q=0`).
fn accepts_gzip(value: &str) -> bool {
    value.split(',').any(|part| {
        let mut pieces = part.trim().split(';');
        let coding = pieces.next().unwrap_or("").trim();
        let refused = pieces.any(|p| {
            p.trim()
                .strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f32>().ok())
                == Some(0.0)
        });
        (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
    })
}

fn with_security_headers(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

#[cfg(test)]
mod tests {
    use super::{accepts_gzip, is_page};

    #[test]
    fn the_page_answers_its_own_routes_only() {
        for path in [
            "/",
            "/readings",
            "/readings/",
            "/readings/abc",
            "/login",
            "/signup",
            "/account",
        ] {
            assert!(is_page(path), "{path}");
        }
        for path in [
            "/api/v1/health",
            "/readings/a/b",
            "/assets/x.js",
            "/favicon.ico",
            "/admin",
        ] {
            assert!(!is_page(path), "{path}");
        }
    }

    #[test]
    fn gzip_is_sent_only_when_accepted() {
        assert!(accepts_gzip("gzip, deflate, br"));
        assert!(accepts_gzip("br;q=1.0, gzip;q=0.8"));
        assert!(accepts_gzip("*"));
        assert!(!accepts_gzip("br"));
        assert!(!accepts_gzip("gzip;q=0"));
        assert!(!accepts_gzip("identity"));
    }
}
