//! Reading a KV entry so that "no such key" can be trusted.
//!
//! `kv::Store::entry` is a direct get, which any replica of the bucket answers, and a
//! follower may not yet have applied a write its leader acknowledged (a moment ago, or
//! for longer while the node catches up after a restart). A value read that way may be
//! older than the leader's, which compare-and-swap writes catch; but an absent key is
//! often acted on at once (a job dropped as deleted, a request refused as signed out, a
//! worker judged dead). [`entry`] therefore confirms an absent key with the leader.

use async_nats::jetstream::kv;
use async_nats::jetstream::stream::LastRawMessageErrorKind;

/// The header a KV entry's operation (`PUT`, `DEL`, `PURGE`) travels in.
const KV_OPERATION: &str = "KV-Operation";

/// Why a KV read failed.
#[derive(Debug, thiserror::Error)]
#[error("reading {key} from {bucket}: {reason}")]
pub struct KvReadError {
    bucket: String,
    key: String,
    reason: String,
}

/// The entry of `key` in `bucket` (a delete or purge marker included, as
/// `kv::Store::entry` returns it); `None` only when the bucket's leader has no entry
/// for it either.
pub async fn entry(bucket: &kv::Store, key: &str) -> Result<Option<kv::Entry>, KvReadError> {
    let failed = |reason: String| KvReadError {
        bucket: bucket.name.clone(),
        key: key.to_owned(),
        reason,
    };
    if let Some(entry) = bucket.entry(key).await.map_err(|e| failed(e.to_string()))? {
        return Ok(Some(entry));
    }
    let subject = format!("{}{}", bucket.prefix, key);
    let message = match bucket
        .stream
        .get_last_raw_message_by_subject(&subject)
        .await
    {
        Ok(message) => message,
        Err(e) if e.kind() == LastRawMessageErrorKind::NoMessageFound => return Ok(None),
        Err(e) => return Err(failed(e.to_string())),
    };
    let operation = match message.headers.get(KV_OPERATION).map(|v| v.as_str()) {
        Some("DEL") => kv::Operation::Delete,
        Some("PURGE") => kv::Operation::Purge,
        _ => kv::Operation::Put,
    };
    Ok(Some(kv::Entry {
        bucket: bucket.name.clone(),
        key: key.to_owned(),
        value: message.payload,
        revision: message.sequence,
        delta: 0,
        created: message.time,
        operation,
        seen_current: false,
    }))
}
