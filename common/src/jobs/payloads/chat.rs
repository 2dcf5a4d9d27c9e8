//! `chat`: answer the newest user message of a conversation about a reading. Submitted by
//! `POST /api/v1/conversations/{id}/messages`, never by clients directly. The worker
//! stores the answer as an `assistant` message carrying the job id (at most one per job).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::jobs::{Concurrency, Job};

/// The job's payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatPayload {
    pub conversation_id: String,
    /// The user message to answer (already stored).
    pub message_id: String,
}

impl Job for ChatPayload {
    const KIND: &'static str = "chat";
    const TIMEOUT: Duration = Duration::from_secs(120);
    const CONCURRENCY: Concurrency = Concurrency::Fixed(64);

    fn validate(&self) -> Result<(), String> {
        if self.conversation_id.is_empty() || self.message_id.is_empty() {
            return Err("conversation_id and message_id must not be empty".into());
        }
        Ok(())
    }
}
