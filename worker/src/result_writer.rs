//! Group commit of job results.
//!
//! Every job's result goes through one writer task that takes whatever rows are
//! waiting (up to [`MAX_BATCH`]) and stores them in a single transaction. Under load
//! this turns hundreds of commits (each an fsync on SQLite, and a lock hand-off between
//! connections) into one; when idle a batch is a single row, so latency is unchanged.
//! Each caller still gets its own answer: inserted, or already there.
//!
//! A batch that gets no answer within [`BATCH_TIMEOUT`] (a lock held elsewhere, a
//! database that stopped answering) is answered "unavailable" so its callers retry
//! (keeping their messages alive), and the writer moves on to the next batch: one hung
//! transaction cannot stall every completion behind it. PostgreSQL's
//! `statement_timeout` ends such a statement on the server side first.

use hast_common::db::models::JobResult;
use hast_common::db::{Database, DbError};
use tokio::sync::{mpsc, oneshot};

/// Most rows in one transaction.
pub const MAX_BATCH: usize = 512;
/// Longest wait for one batch's transaction.
pub const BATCH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

type Reply = oneshot::Sender<Result<bool, DbError>>;

/// A handle on the writer task. Cheap to clone.
#[derive(Clone, Debug)]
pub struct ResultWriter {
    tx: mpsc::Sender<(JobResult, Reply)>,
}

impl ResultWriter {
    /// Starts the writer task; it ends when every handle is dropped.
    pub fn start(db: Database) -> Self {
        let (tx, rx) = mpsc::channel(MAX_BATCH * 4);
        tokio::spawn(run(db, rx));
        Self { tx }
    }

    /// Stores `row` (in the next batch); true if inserted, false if the job id had a
    /// row already.
    pub async fn record(&self, row: JobResult) -> Result<bool, DbError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send((row, reply))
            .await
            .map_err(|_| DbError::Unavailable("the result writer has stopped".into()))?;
        answer
            .await
            .map_err(|_| DbError::Unavailable("the result writer has stopped".into()))?
    }
}

async fn run(db: Database, mut rx: mpsc::Receiver<(JobResult, Reply)>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (rows, replies): (Vec<JobResult>, Vec<Reply>) = batch.drain(..).unzip();
        let written = tokio::time::timeout(BATCH_TIMEOUT, db.record_job_results(&rows))
            .await
            .unwrap_or_else(|_| {
                Err(DbError::Unavailable(format!(
                    "no answer from the database within {BATCH_TIMEOUT:?}"
                )))
            });
        match written {
            Ok(inserted) => {
                for (reply, inserted) in replies.into_iter().zip(inserted) {
                    let _ = reply.send(Ok(inserted));
                }
            }
            Err(DbError::Unavailable(message)) => {
                for reply in replies {
                    let _ = reply.send(Err(DbError::Unavailable(message.clone())));
                }
            }
            Err(_) => {
                // One bad row (say, a foreign key to a deleted owner) fails the whole
                // transaction: store the rows one by one so each caller gets its own answer
                // and a rejected row cannot make its neighbours retry forever.
                for (row, reply) in rows.iter().zip(replies) {
                    let _ = reply.send(db.record_job_result(row).await);
                }
            }
        }
        metrics::histogram!("hast_result_batch_rows").record(rows.len() as f64);
    }
}
