//! The `hast_session` cookie: HttpOnly, SameSite=Lax, Path=/, Secure unless
//! `COOKIE_SECURE=false` (the development default). It is a browser-session cookie
//! (no `Max-Age`): the server-side session's sliding TTL decides when it stops working.

use secrecy::{ExposeSecret, SecretString};
use warp::http::HeaderMap;

/// The cookie's name.
pub const NAME: &str = "hast_session";

/// `Set-Cookie` value that installs `token`.
pub fn set(token: &SecretString, secure: bool) -> String {
    format!(
        "{NAME}={}; HttpOnly; SameSite=Lax; Path=/{}",
        token.expose_secret(),
        if secure { "; Secure" } else { "" }
    )
}

/// `Set-Cookie` value that removes the cookie.
pub fn clear(secure: bool) -> String {
    format!(
        "{NAME}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The session cookie's value in the request, if any.
pub fn read(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(warp::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == NAME)
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
        assert_eq!(read(&headers).as_deref(), Some("tok.en"));
    }

    #[test]
    fn attributes() {
        let token = SecretString::from("t");
        assert_eq!(
            set(&token, false),
            "hast_session=t; HttpOnly; SameSite=Lax; Path=/"
        );
        assert!(set(&token, true).ends_with("; Secure"));
        assert!(clear(true).contains("Max-Age=0"));
    }
}
