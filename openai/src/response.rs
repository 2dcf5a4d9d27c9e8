//! What a completion returns ([`Completion`], [`Usage`], [`FinishReason`]) and the wire types
//! of a chat-completion reply. Every field but `choices` is optional on the wire: local servers
//! omit `usage`, `model` or `finish_reason`, and send `null` where OpenAI sends a value.

use std::ops::{Add, AddAssign};

use serde::{Deserialize, Serialize};

use crate::error::{sanitize, InvalidReplyKind};

/// Token counts, as the server reported them (0 where it did not).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Tokens in the request.
    pub prompt_tokens: u64,
    /// Tokens generated.
    pub completion_tokens: u64,
    /// Their sum (as reported, or computed when the server left it out).
    pub total_tokens: u64,
}

impl Add for Usage {
    type Output = Usage;

    fn add(self, other: Usage) -> Usage {
        Usage {
            prompt_tokens: self.prompt_tokens.saturating_add(other.prompt_tokens),
            completion_tokens: self
                .completion_tokens
                .saturating_add(other.completion_tokens),
            total_tokens: self.total_tokens.saturating_add(other.total_tokens),
        }
    }
}

impl AddAssign for Usage {
    fn add_assign(&mut self, other: Usage) {
        *self = *self + other;
    }
}

/// Why generation stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FinishReason {
    /// A natural stop or a stop sequence.
    Stop,
    /// The token limit (a [`Completion`] never has it: it is an invalid reply).
    Length,
    /// The provider's content filter (likewise an invalid reply).
    ContentFilter,
    /// The model called a tool.
    ToolCalls,
    /// Anything else, verbatim.
    Other(String),
}

impl FinishReason {
    /// Parses the wire value.
    pub fn parse(value: &str) -> Self {
        match value {
            "stop" => Self::Stop,
            "length" => Self::Length,
            "content_filter" => Self::ContentFilter,
            "tool_calls" => Self::ToolCalls,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The wire value.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Stop => "stop",
            Self::Length => "length",
            Self::ContentFilter => "content_filter",
            Self::ToolCalls => "tool_calls",
            Self::Other(other) => other,
        }
    }
}

/// A successful completion.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    /// The assistant's text (for a JSON-schema request, the JSON document; validate it).
    pub content: String,
    /// Why generation stopped; `None` when the server did not say.
    pub finish_reason: Option<FinishReason>,
    /// The model that answered (as reported, else the one requested).
    pub model: String,
    /// Tokens spent, summed over all attempts that reported usage.
    pub usage: Usage,
    /// HTTP attempts made, this one included.
    pub attempts: u32,
}

/// A parsed chat-completion body.
#[derive(Debug, Deserialize)]
pub(crate) struct WireCompletion {
    #[serde(default)]
    model: Option<String>,
    choices: Vec<WireChoice>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Debug, Deserialize)]
struct WireChoice {
    #[serde(default)]
    message: Option<WireMessage>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireMessage {
    #[serde(default)]
    content: Option<WireContent>,
    #[serde(default)]
    refusal: Option<String>,
}

/// Content is a string; a few servers send an array of text parts instead.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum WireContent {
    Text(String),
    Parts(Vec<WireContentPart>),
}

#[derive(Debug, Deserialize)]
struct WireContentPart {
    #[serde(default)]
    text: Option<String>,
}

/// Usage, any of it possibly missing or `null`. Error bodies are read for it too.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct WireUsage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    completion_tokens: Option<u64>,
    #[serde(default)]
    total_tokens: Option<u64>,
}

impl WireUsage {
    fn usage(&self) -> Usage {
        let prompt_tokens = self.prompt_tokens.unwrap_or(0);
        let completion_tokens = self.completion_tokens.unwrap_or(0);
        Usage {
            prompt_tokens,
            completion_tokens,
            total_tokens: self
                .total_tokens
                .unwrap_or(prompt_tokens.saturating_add(completion_tokens)),
        }
    }
}

/// The `usage` of any JSON body that has one (best effort, for error bodies).
pub(crate) fn usage_of(body: &[u8]) -> Option<Usage> {
    #[derive(Deserialize)]
    struct WithUsage {
        #[serde(default)]
        usage: Option<WireUsage>,
    }
    serde_json::from_slice::<WithUsage>(body)
        .ok()?
        .usage
        .map(|u| u.usage())
}

/// A usable reply, before attempts and summed usage are added.
#[derive(Debug)]
pub(crate) struct Reply {
    pub content: String,
    pub finish_reason: Option<FinishReason>,
    pub model: Option<String>,
}

/// Why a 200 body is unusable.
#[derive(Debug)]
pub(crate) struct Unusable {
    pub kind: InvalidReplyKind,
    pub detail: String,
}

impl WireCompletion {
    /// Parses a 200 body.
    pub(crate) fn parse(body: &[u8], key: Option<&str>) -> Result<Self, Unusable> {
        serde_json::from_slice(body).map_err(|e| {
            let excerpt = sanitize(&String::from_utf8_lossy(body), key);
            Unusable {
                kind: InvalidReplyKind::Malformed,
                detail: format!("{e}; body: {excerpt}"),
            }
        })
    }

    /// The usage the body reported.
    pub(crate) fn usage(&self) -> Option<Usage> {
        self.usage.as_ref().map(WireUsage::usage)
    }

    /// The first choice, if it is usable: no refusal, not truncated or filtered, some content.
    pub(crate) fn into_reply(self, key: Option<&str>) -> Result<Reply, Unusable> {
        let unusable = |kind, detail: &str| Unusable {
            kind,
            detail: sanitize(detail, key),
        };
        let Some(choice) = self.choices.into_iter().next() else {
            return Err(unusable(
                InvalidReplyKind::Malformed,
                "the reply has no choices",
            ));
        };
        let finish_reason = choice.finish_reason.as_deref().map(FinishReason::parse);
        let message = choice.message.unwrap_or(WireMessage {
            content: None,
            refusal: None,
        });
        if let Some(refusal) = message.refusal.filter(|r| !r.trim().is_empty()) {
            return Err(unusable(InvalidReplyKind::Refusal, &refusal));
        }
        match finish_reason {
            Some(FinishReason::Length) => {
                return Err(unusable(
                    InvalidReplyKind::Truncated,
                    "the reply was cut at the token limit",
                ))
            }
            Some(FinishReason::ContentFilter) => {
                return Err(unusable(
                    InvalidReplyKind::ContentFilter,
                    "the provider's content filter stopped the reply",
                ))
            }
            _ => {}
        }
        let content = match message.content {
            Some(WireContent::Text(text)) => text,
            Some(WireContent::Parts(parts)) => parts.into_iter().filter_map(|p| p.text).collect(),
            None => String::new(),
        };
        if content.trim().is_empty() {
            return Err(unusable(
                InvalidReplyKind::Empty,
                "the reply has no content",
            ));
        }
        Ok(Reply {
            content,
            finish_reason,
            model: self.model.filter(|m| !m.is_empty()),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn reply(body: &str) -> Result<Reply, Unusable> {
        WireCompletion::parse(body.as_bytes(), None)?.into_reply(None)
    }

    #[test]
    fn a_minimal_local_server_reply_is_accepted() {
        let reply = reply(r#"{"choices":[{"message":{"content":"hi"}}]}"#).unwrap();
        assert_eq!(reply.content, "hi");
        assert_eq!(reply.finish_reason, None);
        assert_eq!(reply.model, None);
    }

    #[test]
    fn usage_tolerates_missing_and_null_fields() {
        let parsed = WireCompletion::parse(
            br#"{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":null}}"#,
            None,
        )
        .unwrap();
        assert_eq!(
            parsed.usage(),
            Some(Usage {
                prompt_tokens: 3,
                completion_tokens: 0,
                total_tokens: 3
            })
        );
        let parsed = WireCompletion::parse(br#"{"choices":[],"usage":null}"#, None).unwrap();
        assert_eq!(parsed.usage(), None);
    }

    #[test]
    fn content_parts_are_joined() {
        let body = r#"{"choices":[{"message":{"content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},"finish_reason":"stop"}]}"#;
        let reply = reply(body).unwrap();
        assert_eq!(reply.content, "ab");
        assert_eq!(reply.finish_reason, Some(FinishReason::Stop));
    }

    #[test]
    fn unusable_replies_are_classified() {
        let cases = [
            ("not json", InvalidReplyKind::Malformed),
            ("{}", InvalidReplyKind::Malformed),
            (r#"{"choices":[]}"#, InvalidReplyKind::Malformed),
            (
                r#"{"choices":[{"message":{"content":null,"refusal":"I can't"}}]}"#,
                InvalidReplyKind::Refusal,
            ),
            (
                r#"{"choices":[{"message":{"content":null}}]}"#,
                InvalidReplyKind::Empty,
            ),
            (r#"{"choices":[{}]}"#, InvalidReplyKind::Empty),
            (
                r#"{"choices":[{"message":{"content":"{\"a\":"},"finish_reason":"length"}]}"#,
                InvalidReplyKind::Truncated,
            ),
            (
                r#"{"choices":[{"message":{"content":"x"},"finish_reason":"content_filter"}]}"#,
                InvalidReplyKind::ContentFilter,
            ),
        ];
        for (body, kind) in cases {
            assert_eq!(reply(body).unwrap_err().kind, kind, "{body}");
        }
    }

    #[test]
    fn usage_is_read_from_any_body() {
        assert_eq!(
            usage_of(br#"{"error":{},"usage":{"prompt_tokens":1,"completion_tokens":2}}"#),
            Some(Usage {
                prompt_tokens: 1,
                completion_tokens: 2,
                total_tokens: 3
            })
        );
        assert_eq!(usage_of(b"oops"), None);
    }
}
