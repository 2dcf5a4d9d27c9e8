//! Running a finished job again, by id, for operators (`hast-api jobs retry`). The run
//! is a new job linked to the original (`replay_of`), built from the original's job
//! message, which must still be stored somewhere:
//!
//! | state of the job | what happens |
//! |---|---|
//! | `queued`, `retrying`, `running` | refused: it has not finished (cancel it first) |
//! | `failed` | replayed from its dead letter (removed as by `dlq replay`) |
//! | `cancelled` | from its dead letter if it has one, else from its message if that still waits in `JOBS` (cancelled before a worker took it) |
//! | `completed` | refused unless forced; then as `failed` (a job that completed after all may still have a dead letter) |
//!
//! Without a stored message the retry is refused ([`RetryError::NoMessage`]): the
//! payload is kept nowhere else. Retrying twice submits once (the new job's
//! idempotency key is derived from the original and where its message was found).

use async_nats::jetstream;

use super::dlq::{self, DlqError, Replay};
use super::envelope::{CORRELATION_HEADER, MSG_ID_HEADER};
use super::listing::{ListError, QueueCursor, MAX_QUEUE_SCAN};
use super::{JobEnvelope, JobState, NewJob, StatusError, SubmitError, Submitted, Submitter};

/// Why a job was not retried.
#[derive(Debug, thiserror::Error)]
pub enum RetryError {
    #[error("no job {0}")]
    NotFound(String),
    #[error("job {id} is {state}: only a finished job can be retried (cancel it first)")]
    Unfinished { id: String, state: &'static str },
    #[error("job {0} completed; pass --force to run it again")]
    Completed(String),
    #[error(
        "job {id} ({state}) cannot be retried: its message is no longer stored (no dead \
         letter in JOBS_DLQ, not queued in JOBS)"
    )]
    NoMessage { id: String, state: &'static str },
    #[error(transparent)]
    Status(StatusError),
    #[error(transparent)]
    DeadLetters(#[from] DlqError),
    #[error(transparent)]
    Queue(#[from] ListError),
    #[error(transparent)]
    Submit(#[from] SubmitError),
}

/// A retried job: the new job and where the original's message came from.
#[derive(Debug, Clone)]
pub struct Retried {
    pub submitted: Submitted,
    /// The dead letter it was replayed from (now removed), if it was.
    pub dead_letter: Option<u64>,
}

/// Runs job `id` again as a new job (see the module documentation); `force` allows a
/// completed job.
pub async fn retry(
    js: &jetstream::Context,
    submitter: &Submitter,
    id: &str,
    force: bool,
) -> Result<Retried, RetryError> {
    let status = match submitter.statuses().get(id).await {
        Ok((status, _)) => status,
        Err(StatusError::NotFound) => return Err(RetryError::NotFound(id.to_owned())),
        Err(e) => return Err(RetryError::Status(e)),
    };
    let state = status.status;
    match state {
        JobState::Queued | JobState::Retrying | JobState::Running => {
            return Err(RetryError::Unfinished {
                id: id.to_owned(),
                state: state.as_str(),
            })
        }
        JobState::Completed if !force => return Err(RetryError::Completed(id.to_owned())),
        JobState::Completed | JobState::Failed | JobState::Cancelled => {}
    }
    if let Some(letter) = dlq::of_job(js, &status.kind, id).await? {
        let mode = if force {
            Replay::Force
        } else {
            Replay::UnlessCompleted
        };
        let submitted = dlq::replay(js, submitter, letter.sequence, mode, false).await?;
        return Ok(Retried {
            submitted,
            dead_letter: Some(letter.sequence),
        });
    }
    if state == JobState::Cancelled {
        let mut queue = QueueCursor::open(js, Some(&status.kind)).await?;
        while queue.read() < MAX_QUEUE_SCAN {
            let Some(message) = queue.next().await? else {
                break;
            };
            let header = |name: &str| message.headers.get(name).map(|v| v.as_str().to_owned());
            if header(MSG_ID_HEADER).as_deref() != Some(id) {
                continue;
            }
            let Ok(envelope) = serde_json::from_slice::<JobEnvelope>(&message.payload) else {
                break;
            };
            let submitted = submitter
                .submit(NewJob {
                    kind: envelope.kind,
                    payload: envelope.payload,
                    owner_id: envelope.owner_id,
                    correlation_id: header(CORRELATION_HEADER),
                    idempotency_key: Some(format!("retry:{id}")),
                    replay_of: Some(envelope.id),
                })
                .await?;
            return Ok(Retried {
                submitted,
                dead_letter: None,
            });
        }
    }
    Err(RetryError::NoMessage {
        id: id.to_owned(),
        state: state.as_str(),
    })
}
