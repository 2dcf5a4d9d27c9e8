//! Payload definitions of the job kinds (the handlers live in the worker).

pub mod analysis;
pub mod chat;
pub mod echo;
pub mod health;
pub mod thumbnail;

use serde_json::Value;

/// Accepts any JSON object.
pub fn object_payload(payload: &Value) -> Result<(), String> {
    if payload.is_object() {
        Ok(())
    } else {
        Err("the payload must be a JSON object".into())
    }
}
