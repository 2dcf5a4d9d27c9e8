//! [`Gate`]: the hook through which a fleet-wide limiter admits each HTTP attempt.
//!
//! [`Client::complete`](crate::Client::complete) awaits [`Gate::admit`] before every attempt
//! (retries included) and holds the [`GatePermit`] until that attempt's reply has been read or
//! it has failed; the permit is dropped before any backoff sleep. The gate decides how long to
//! wait; a refusal ends the completion with that error, without a retry.

use std::future::Future;
use std::pin::Pin;

use crate::error::AiError;

/// Held for the duration of one attempt; dropping it releases whatever the gate reserved.
pub type GatePermit = Box<dyn Send>;

/// The future [`Gate::admit`] returns.
pub type AdmitFuture<'a> = Pin<Box<dyn Future<Output = Result<GatePermit, AiError>> + Send + 'a>>;

/// Admits HTTP attempts, e.g. a limiter shared by every worker.
pub trait Gate: Send + Sync {
    /// Waits until one more attempt may start. An error (see [`AiError::gate`]) ends the
    /// completion.
    fn admit(&self) -> AdmitFuture<'_>;
}
