//! Request extractors shared by routes.

use bytes::{Buf, BufMut, BytesMut};
use futures::TryStreamExt;
use serde::de::DeserializeOwned;
use warp::http::{header, HeaderMap, StatusCode};
use warp::{Filter, Rejection};

use crate::error::ApiError;
use crate::state::AppState;

/// Largest JSON body any route accepts.
pub const MAX_JSON_BYTES: u64 = 64 * 1024;

/// Hands a clone of the state to a handler.
pub fn with_state(
    state: AppState,
) -> impl Filter<Extract = (AppState,), Error = std::convert::Infallible> + Clone {
    warp::any().map(move || state.clone())
}

/// A JSON body of at most `limit` bytes, parsed as `T`.
///
/// 415 when `Content-Type` is missing or not JSON; 413 when the declared or actual
/// length exceeds `limit` (chunked bodies are counted as they arrive); 400
/// `invalid_json` with the parser's message when the body does not parse as `T`.
pub fn json_body<T: DeserializeOwned + Send>(
    limit: u64,
) -> impl Filter<Extract = (T,), Error = Rejection> + Clone {
    warp::header::headers_cloned()
        .and(warp::body::stream())
        .and_then(move |headers: HeaderMap, body| async move {
            check_content_type(&headers)?;
            let bytes = read_declared(&headers, body, limit).await?;
            parse_json(&bytes)
        })
}

/// Like [`json_body`], but an empty body (no `Content-Length`, or 0) is `None`.
pub fn optional_json_body<T: DeserializeOwned + Send>(
    limit: u64,
) -> impl Filter<Extract = (Option<T>,), Error = Rejection> + Clone {
    warp::header::headers_cloned()
        .and(warp::body::stream())
        .and_then(move |headers: HeaderMap, body| async move {
            let bytes = read_declared(&headers, body, limit).await?;
            if bytes.is_empty() {
                return Ok(None);
            }
            check_content_type(&headers)?;
            parse_json(&bytes).map(Some)
        })
}

/// The body, refused as 413 when its declared length or what arrives exceeds `limit`.
async fn read_declared<S, B>(
    headers: &HeaderMap,
    body: S,
    limit: u64,
) -> Result<BytesMut, Rejection>
where
    S: futures::Stream<Item = Result<B, warp::Error>> + Send,
    B: Buf + Send,
{
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(warp::reject::custom(too_large(limit)));
    }
    read_limited(body, limit).await
}

/// `bytes` as `T`, or 400 `invalid_json` with the parser's message.
fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Rejection> {
    serde_json::from_slice::<T>(bytes).map_err(|e| {
        warp::reject::custom(ApiError::bad_request(
            "invalid_json",
            format!("the body is not valid JSON for this route: {e}"),
        ))
    })
}

/// A JSON route needs `Content-Type: application/json` (or `+json`): a missing type is
/// refused too, so a cross-site HTML form (which cannot send a JSON type without a
/// CORS preflight) never reaches a JSON route.
fn check_content_type(headers: &HeaderMap) -> Result<(), Rejection> {
    let mime = headers
        .get(header::CONTENT_TYPE)
        .map(|value| value.to_str().unwrap_or_default())
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if mime == "application/json" || mime.ends_with("+json") {
        Ok(())
    } else {
        Err(warp::reject::custom(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "this route accepts application/json",
        )))
    }
}

fn too_large(limit: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("the body exceeds {limit} bytes"),
    )
}

async fn read_limited<S, B>(body: S, limit: u64) -> Result<BytesMut, Rejection>
where
    S: futures::Stream<Item = Result<B, warp::Error>> + Send,
    B: Buf + Send,
{
    let mut body = std::pin::pin!(body);
    let mut out = BytesMut::new();
    while let Some(chunk) = body.try_next().await.map_err(|e| {
        warp::reject::custom(ApiError::bad_request(
            "invalid_body",
            format!("could not read the body: {e}"),
        ))
    })? {
        if (out.len() + chunk.remaining()) as u64 > limit {
            return Err(warp::reject::custom(too_large(limit)));
        }
        out.put(chunk);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::handle_rejection;
    use serde::Deserialize;
    use warp::Reply;

    #[derive(Deserialize)]
    struct Payload {
        name: String,
    }

    fn route(
    ) -> impl Filter<Extract = (warp::reply::Response,), Error = std::convert::Infallible> + Clone
    {
        warp::post()
            .and(json_body::<Payload>(32))
            .map(|p: Payload| p.name.into_response())
            .recover(handle_rejection)
            .unify()
    }

    async fn error_code(res: &warp::http::Response<bytes::Bytes>) -> String {
        let v: serde_json::Value = serde_json::from_slice(res.body()).expect("JSON envelope");
        v["error"]["code"].as_str().expect("code").to_owned()
    }

    #[tokio::test]
    async fn a_valid_body_is_parsed() {
        let res = warp::test::request()
            .method("POST")
            .header("content-type", "application/json")
            .body(r#"{"name":"palm"}"#)
            .reply(&route())
            .await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.body().as_ref(), b"palm");
    }

    #[tokio::test]
    async fn malformed_json_is_400_with_the_envelope() {
        let res = warp::test::request()
            .method("POST")
            .header("content-type", "application/json")
            .body(r#"{"name": "#)
            .reply(&route())
            .await;
        assert_eq!(res.status(), 400);
        assert_eq!(error_code(&res).await, "invalid_json");
    }

    #[tokio::test]
    async fn a_wrong_content_type_is_415() {
        let res = warp::test::request()
            .method("POST")
            .header("content-type", "text/plain")
            .body(r#"{"name":"palm"}"#)
            .reply(&route())
            .await;
        assert_eq!(res.status(), 415);
        assert_eq!(error_code(&res).await, "unsupported_media_type");
    }

    #[tokio::test]
    async fn a_missing_content_type_is_415() {
        let res = warp::test::request()
            .method("POST")
            .body(r#"{"name":"palm"}"#)
            .reply(&route())
            .await;
        assert_eq!(res.status(), 415);
        assert_eq!(error_code(&res).await, "unsupported_media_type");
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_413() {
        let res = warp::test::request()
            .method("POST")
            .header("content-type", "application/json")
            .body(format!(r#"{{"name":"{}"}}"#, "x".repeat(100)))
            .reply(&route())
            .await;
        assert_eq!(res.status(), 413);
        assert_eq!(error_code(&res).await, "payload_too_large");
    }
}
