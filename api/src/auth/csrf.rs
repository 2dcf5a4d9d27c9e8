//! Cross-site request forgery defence for cookie-authenticated requests.
//!
//! A POST/PUT/PATCH/DELETE that authenticates with the session cookie is accepted only
//! when its `Origin` (or, without one, its `Referer`) is the server's own origin (the
//! request's `Host`, over http or https) or one of `CORS_ALLOWED_ORIGINS`. Requests
//! authenticated with `Authorization: Bearer` are exempt: a browser never attaches that
//! header on its own. SameSite=Lax on the cookie is the second layer.

use warp::http::{header, HeaderMap, Method};

/// Whether `method` changes state.
pub fn is_unsafe(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Whether the request comes from an origin allowed to use the cookie.
pub fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    let claimed = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| {
            headers
                .get(header::REFERER)
                .and_then(|v| v.to_str().ok())
                .and_then(origin_of_url)
        });
    let Some(claimed) = claimed else {
        return false;
    };
    let claimed = claimed.trim_end_matches('/').to_ascii_lowercase();
    if claimed == "null" {
        return false;
    }
    if allowed.iter().any(|a| a.eq_ignore_ascii_case(&claimed)) {
        return true;
    }
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let host = host.to_ascii_lowercase();
    claimed == format!("http://{host}") || claimed == format!("https://{host}")
}

/// Whether a request *without* a session comes from another site: `Sec-Fetch-Site:
/// cross-site`, or an `Origin` (or `Referer`) that is not allowed. A request that names
/// no origin at all (a script, curl) is not. Used where an anonymous request would set
/// a session cookie (a guest's upload), so a foreign page cannot replace its visitor's
/// session with a new guest's.
pub fn cross_site_anonymous(headers: &HeaderMap, allowed: &[String]) -> bool {
    let fetch_site = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase);
    if fetch_site.as_deref() == Some("cross-site") {
        return true;
    }
    let names_an_origin =
        headers.contains_key(header::ORIGIN) || headers.contains_key(header::REFERER);
    names_an_origin && !origin_allowed(headers, allowed)
}

/// `scheme://host[:port]` of an absolute URL.
fn origin_of_url(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    if authority.is_empty() {
        return None;
    }
    Some(format!("{scheme}://{authority}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                warp::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn own_origin_allowed_list_and_referer() {
        let allowed = vec!["https://app.example".to_owned()];
        let own = headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:8080"),
        ]);
        assert!(origin_allowed(&own, &allowed));
        let listed = headers(&[("host", "api"), ("origin", "https://app.example")]);
        assert!(origin_allowed(&listed, &allowed));
        let referer = headers(&[("host", "h:1"), ("referer", "http://h:1/page?x=1")]);
        assert!(origin_allowed(&referer, &allowed));
        let foreign = headers(&[("host", "h:1"), ("origin", "https://evil.example")]);
        assert!(!origin_allowed(&foreign, &allowed));
        let none = headers(&[("host", "h:1")]);
        assert!(!origin_allowed(&none, &allowed));
        let null = headers(&[("host", "h:1"), ("origin", "null")]);
        assert!(!origin_allowed(&null, &allowed));
        let other_port = headers(&[("host", "h:1"), ("origin", "http://h:2")]);
        assert!(!origin_allowed(&other_port, &allowed));
    }

    #[test]
    fn anonymous_requests_from_other_sites() {
        let allowed = vec![];
        assert!(!cross_site_anonymous(
            &headers(&[("host", "h:1")]),
            &allowed
        ));
        let own = headers(&[("host", "h:1"), ("origin", "http://h:1")]);
        assert!(!cross_site_anonymous(&own, &allowed));
        let foreign = headers(&[("host", "h:1"), ("origin", "https://evil.example")]);
        assert!(cross_site_anonymous(&foreign, &allowed));
        let null = headers(&[("host", "h:1"), ("origin", "null")]);
        assert!(cross_site_anonymous(&null, &allowed));
        let fetch = headers(&[("host", "h:1"), ("sec-fetch-site", "cross-site")]);
        assert!(cross_site_anonymous(&fetch, &allowed));
    }
}
