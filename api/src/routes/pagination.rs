//! `?limit=&offset=` of the list endpoints, and the RFC 3339 times of their items.

use serde::Deserialize;
use warp::{Filter, Rejection};

use crate::error::ApiError;

/// Items per page when `limit` is not given.
pub const DEFAULT_PAGE: i64 = 20;
/// The largest `limit`.
pub const MAX_PAGE: i64 = 100;

/// The largest `offset` (as the OpenAPI document says): far beyond any list, and far from
/// `i64::MAX`, so `offset + limit` cannot overflow.
pub const MAX_OFFSET: i64 = 1_000_000_000;

/// A checked page: `limit` in 1..=[`MAX_PAGE`], `offset` ≥ 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub limit: i64,
    pub offset: i64,
}

impl Page {
    /// The `next_offset` of a page that fetched `limit + 1` rows and got `fetched`.
    pub fn next_offset(&self, fetched: usize) -> Option<i64> {
        (fetched as i64 > self.limit).then_some(self.offset + self.limit)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPage {
    limit: Option<i64>,
    offset: Option<i64>,
}

/// The page of a list request. A malformed or unknown parameter, or one out of range, is
/// 400 `invalid_query` (answered here: left to warp, an invalid query on a path that also
/// has a POST route came out as 405).
pub fn page_query() -> impl Filter<Extract = (Page,), Error = Rejection> + Clone {
    warp::query::<RawPage>()
        .or_else(|rejection: Rejection| async move {
            let message = rejection
                .find::<warp::reject::InvalidQuery>()
                .map_or_else(|| "invalid query string".to_owned(), ToString::to_string);
            Err::<(RawPage,), _>(warp::reject::custom(ApiError::bad_request(
                "invalid_query",
                message,
            )))
        })
        .and_then(|raw: RawPage| async move {
            let page = Page {
                limit: raw.limit.unwrap_or(DEFAULT_PAGE),
                offset: raw.offset.unwrap_or(0),
            };
            if (1..=MAX_PAGE).contains(&page.limit) && (0..=MAX_OFFSET).contains(&page.offset) {
                Ok(page)
            } else {
                Err(warp::reject::custom(ApiError::bad_request(
                    "invalid_query",
                    format!("limit must be 1 to {MAX_PAGE} and offset 0 to {MAX_OFFSET}"),
                )))
            }
        })
}

/// A stored UTC time as RFC 3339 with milliseconds.
pub fn rfc3339(t: chrono::NaiveDateTime) -> String {
    t.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
