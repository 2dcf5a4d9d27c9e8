//! The session cookie: HttpOnly, SameSite=Lax, Path=/. With `COOKIE_SECURE` (the
//! default outside development) it is also `Secure` and named `__Host-hast_session`:
//! browsers accept that name only from an https page, with `Secure`, `Path=/` and no
//! `Domain`, so no subdomain or plain-http page can plant or overwrite it. Over plain
//! http (development) the `__Host-` prefix cannot be used, so it is `hast_session`.
//! It is a browser-session cookie (no `Max-Age`): the server-side session's sliding TTL
//! decides when it stops working.

use secrecy::{ExposeSecret, SecretString};
use warp::http::HeaderMap;

/// The cookie's name over plain http (development).
pub const PLAIN_NAME: &str = "hast_session";
/// The cookie's name when it is `Secure`.
pub const SECURE_NAME: &str = "__Host-hast_session";

/// The cookie's name in this mode.
pub fn name(secure: bool) -> &'static str {
    if secure {
        SECURE_NAME
    } else {
        PLAIN_NAME
    }
}

/// `Set-Cookie` value that installs `token`.
pub fn set(token: &SecretString, secure: bool) -> String {
    format!(
        "{}={}; HttpOnly; SameSite=Lax; Path=/{}",
        name(secure),
        token.expose_secret(),
        if secure { "; Secure" } else { "" }
    )
}

/// `Set-Cookie` value that removes the cookie.
pub fn clear(secure: bool) -> String {
    format!(
        "{}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0{}",
        name(secure),
        if secure { "; Secure" } else { "" }
    )
}

/// The session cookie's value in the request, if any (only the name of this mode).
pub fn read(headers: &HeaderMap, secure: bool) -> Option<String> {
    let wanted = name(secure);
    headers
        .get_all(warp::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == wanted)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_cookie_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            warp::http::header::COOKIE,
            "a=1; hast_session=tok.en; b=2".parse().unwrap(),
        );
        assert_eq!(read(&headers, false).as_deref(), Some("tok.en"));
        assert_eq!(read(&headers, true), None, "a secure server wants __Host-");
        headers.insert(
            warp::http::header::COOKIE,
            "__Host-hast_session=s.ec; hast_session=x".parse().unwrap(),
        );
        assert_eq!(read(&headers, true).as_deref(), Some("s.ec"));
    }

    #[test]
    fn attributes() {
        let token = SecretString::from("t");
        assert_eq!(
            set(&token, false),
            "hast_session=t; HttpOnly; SameSite=Lax; Path=/"
        );
        assert_eq!(
            set(&token, true),
            "__Host-hast_session=t; HttpOnly; SameSite=Lax; Path=/; Secure"
        );
        assert!(clear(true).contains("Max-Age=0"));
    }
}
