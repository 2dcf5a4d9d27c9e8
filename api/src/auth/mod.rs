//! Who is calling, and may they?
//!
//! - [`password`]: argon2id hashing and the password rules.
//! - [`sessions`]: session tokens in the `sessions` KV bucket (sliding TTL).
//! - [`csrf`]: the origin check on cookie-authenticated unsafe requests.
//! - [`identity`]: the warp filters routes use (`identity`, `require_user`,
//!   `require_account`).
//! - [`cookie`]: the session cookie (`__Host-hast_session`, `hast_session` over http).
//! - [`limits`]: abuse limits kept in the `rate_limits` KV bucket.
//! - [`throttle`]: sign-in throttling (backoff and hourly ceilings) on those limits.
//! - [`operator`]: who may read `/metrics` and the health check's details.

pub mod cookie;
pub mod csrf;
pub mod identity;
pub mod limits;
pub mod operator;
pub mod password;
pub mod sessions;
pub mod throttle;

pub use identity::{identity, require_account, require_user, Identity};
