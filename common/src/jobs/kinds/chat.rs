//! `chat`: answer the newest user message of a conversation about a reading. Submitted by
//! `POST /api/v1/conversations/{id}/messages`, never by clients directly. The worker
//! stores the answer as an `assistant` message carrying the job id (at most one per job).

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const KIND: &str = "chat";

/// The job's payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatPayload {
    pub conversation_id: String,
    /// The user message to answer (already stored).
    pub message_id: String,
}

/// Accepts a well-formed [`ChatPayload`].
pub fn validate(payload: &Value) -> Result<(), String> {
    let parsed: ChatPayload =
        serde_json::from_value(payload.clone()).map_err(|e| format!("invalid payload: {e}"))?;
    if parsed.conversation_id.is_empty() || parsed.message_id.is_empty() {
        return Err("conversation_id and message_id must not be empty".into());
    }
    Ok(())
}
