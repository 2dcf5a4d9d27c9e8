//! [`ChatRequest`]: the messages and options of one completion, and their wire form.
//!
//! A message whose parts are all text is sent with a plain string `content` (what every
//! server accepts). A message with an image is sent as an array of parts, the image as an
//! `image_url` part holding a `data:image/jpeg;base64,...` URL.

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use serde::Serialize;

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Instructions.
    System,
    /// The user.
    User,
    /// The model.
    Assistant,
}

impl Role {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::System => "system",
            Self::User => "user",
            Self::Assistant => "assistant",
        }
    }
}

/// One part of a message's content.
#[derive(Clone, PartialEq, Eq)]
pub enum Part {
    /// Text.
    Text(String),
    /// A JPEG image, sent inline as a base64 data URL.
    Jpeg(Bytes),
}

impl fmt::Debug for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text(text) => f.debug_tuple("Text").field(text).finish(),
            Self::Jpeg(bytes) => write!(f, "Jpeg({} bytes)", bytes.len()),
        }
    }
}

/// A message of the conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Who wrote it.
    pub role: Role,
    /// Its content, in order.
    pub parts: Vec<Part>,
}

impl Message {
    /// A text message.
    pub fn new(role: Role, text: impl Into<String>) -> Self {
        Self {
            role,
            parts: vec![Part::Text(text.into())],
        }
    }

    /// A system message.
    pub fn system(text: impl Into<String>) -> Self {
        Self::new(Role::System, text)
    }

    /// A user message.
    pub fn user(text: impl Into<String>) -> Self {
        Self::new(Role::User, text)
    }

    /// An assistant message.
    pub fn assistant(text: impl Into<String>) -> Self {
        Self::new(Role::Assistant, text)
    }

    /// A user message with text followed by JPEG images.
    pub fn user_with_images(
        text: impl Into<String>,
        jpegs: impl IntoIterator<Item = Bytes>,
    ) -> Self {
        let mut parts = vec![Part::Text(text.into())];
        parts.extend(jpegs.into_iter().map(Part::Jpeg));
        Self {
            role: Role::User,
            parts,
        }
    }

    /// The text parts, concatenated.
    pub fn text(&self) -> String {
        self.parts
            .iter()
            .filter_map(|p| match p {
                Part::Text(text) => Some(text.as_str()),
                Part::Jpeg(_) => None,
            })
            .collect()
    }

    fn wire(&self) -> WireMessage<'_> {
        let has_image = self.parts.iter().any(|p| matches!(p, Part::Jpeg(_)));
        let content = if has_image {
            WireContent::Parts(
                self.parts
                    .iter()
                    .map(|part| match part {
                        Part::Text(text) => WirePart::Text { text },
                        Part::Jpeg(jpeg) => WirePart::ImageUrl {
                            image_url: WireImageUrl {
                                url: jpeg_data_url(jpeg),
                            },
                        },
                    })
                    .collect(),
            )
        } else {
            WireContent::Text(self.text())
        };
        WireMessage {
            role: self.role.as_str(),
            content,
        }
    }
}

/// The `data:` URL of a JPEG.
pub fn jpeg_data_url(jpeg: &[u8]) -> String {
    let mut url = String::from("data:image/jpeg;base64,");
    base64::engine::general_purpose::STANDARD.encode_string(jpeg, &mut url);
    url
}

/// The shape the reply must have.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum ResponseFormat {
    /// Free text (no `response_format` is sent).
    #[default]
    Text,
    /// A JSON document matching `schema`, requested in strict mode:
    /// `{"type":"json_schema","json_schema":{"name","schema","strict":true}}`.
    JsonSchema {
        /// The schema's name (`[a-zA-Z0-9_-]`, at most 64 characters for OpenAI).
        name: String,
        /// A JSON Schema.
        schema: serde_json::Value,
    },
}

/// One chat completion to ask for. Build it with the chained methods.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChatRequest {
    messages: Vec<Message>,
    response_format: ResponseFormat,
    max_tokens: Option<u32>,
    temperature: Option<f64>,
    model: Option<String>,
    timeout: Option<Duration>,
}

impl ChatRequest {
    /// An empty request.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a message.
    pub fn message(mut self, message: Message) -> Self {
        self.messages.push(message);
        self
    }

    /// Appends messages.
    pub fn messages(mut self, messages: impl IntoIterator<Item = Message>) -> Self {
        self.messages.extend(messages);
        self
    }

    /// Appends a system message.
    pub fn system(self, text: impl Into<String>) -> Self {
        self.message(Message::system(text))
    }

    /// Appends a user message.
    pub fn user(self, text: impl Into<String>) -> Self {
        self.message(Message::user(text))
    }

    /// Appends a user message with text followed by JPEG images.
    pub fn user_with_images(
        self,
        text: impl Into<String>,
        jpegs: impl IntoIterator<Item = Bytes>,
    ) -> Self {
        self.message(Message::user_with_images(text, jpegs))
    }

    /// Appends an assistant message.
    pub fn assistant(self, text: impl Into<String>) -> Self {
        self.message(Message::assistant(text))
    }

    /// Sets the response format.
    pub fn response_format(mut self, format: ResponseFormat) -> Self {
        self.response_format = format;
        self
    }

    /// Asks for a JSON document matching `schema` (strict structured output).
    pub fn json_schema(self, name: impl Into<String>, schema: serde_json::Value) -> Self {
        self.response_format(ResponseFormat::JsonSchema {
            name: name.into(),
            schema,
        })
    }

    /// Limits the reply's length (sent as `max_tokens`).
    pub fn max_tokens(mut self, max_tokens: u32) -> Self {
        self.max_tokens = Some(max_tokens);
        self
    }

    /// Sets the sampling temperature.
    pub fn temperature(mut self, temperature: f64) -> Self {
        self.temperature = Some(temperature);
        self
    }

    /// Uses this model instead of the configured one.
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }

    /// Uses this per-attempt timeout instead of the configured one.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The messages, in order.
    pub fn messages_ref(&self) -> &[Message] {
        &self.messages
    }

    /// The per-attempt timeout override.
    pub(crate) fn timeout_override(&self) -> Option<Duration> {
        self.timeout
    }

    /// The model this request asks for, given the configured default.
    pub(crate) fn model_or<'a>(&'a self, default: &'a str) -> &'a str {
        self.model.as_deref().unwrap_or(default)
    }

    /// The JSON body.
    pub(crate) fn to_body(&self, default_model: &str) -> Result<Vec<u8>, serde_json::Error> {
        let response_format = match &self.response_format {
            ResponseFormat::Text => None,
            ResponseFormat::JsonSchema { name, schema } => Some(WireResponseFormat::JsonSchema {
                json_schema: WireJsonSchema {
                    name,
                    schema,
                    strict: true,
                },
            }),
        };
        serde_json::to_vec(&WireRequest {
            model: self.model_or(default_model),
            messages: self.messages.iter().map(Message::wire).collect(),
            response_format,
            max_tokens: self.max_tokens,
            temperature: self.temperature,
            stream: false,
        })
    }
}

#[derive(Serialize)]
struct WireRequest<'a> {
    model: &'a str,
    messages: Vec<WireMessage<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_format: Option<WireResponseFormat<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    stream: bool,
}

#[derive(Serialize)]
struct WireMessage<'a> {
    role: &'static str,
    content: WireContent<'a>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum WireContent<'a> {
    Text(String),
    Parts(Vec<WirePart<'a>>),
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WirePart<'a> {
    Text { text: &'a str },
    ImageUrl { image_url: WireImageUrl },
}

#[derive(Serialize)]
struct WireImageUrl {
    url: String,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireResponseFormat<'a> {
    JsonSchema { json_schema: WireJsonSchema<'a> },
}

#[derive(Serialize)]
struct WireJsonSchema<'a> {
    name: &'a str,
    schema: &'a serde_json::Value,
    strict: bool,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    fn body(request: &ChatRequest) -> serde_json::Value {
        serde_json::from_slice(&request.to_body("default-model").unwrap()).unwrap()
    }

    #[test]
    fn a_text_request_has_string_contents_and_no_response_format() {
        let request = ChatRequest::new()
            .system("be brief")
            .user("hello")
            .assistant("hi")
            .user("again");
        assert_eq!(
            body(&request),
            json!({
                "model": "default-model",
                "messages": [
                    {"role": "system", "content": "be brief"},
                    {"role": "user", "content": "hello"},
                    {"role": "assistant", "content": "hi"},
                    {"role": "user", "content": "again"},
                ],
                "stream": false,
            })
        );
    }

    #[test]
    fn a_structured_request_with_an_image() {
        let schema = json!({"type": "object", "properties": {}, "additionalProperties": false});
        let request = ChatRequest::new()
            .user_with_images("read this palm", [Bytes::from_static(&[0xff, 0xd8, 0xff])])
            .json_schema("reading", schema.clone())
            .max_tokens(500)
            .temperature(0.25)
            .model("vision-model");
        assert_eq!(
            body(&request),
            json!({
                "model": "vision-model",
                "messages": [{"role": "user", "content": [
                    {"type": "text", "text": "read this palm"},
                    {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/"}},
                ]}],
                "response_format": {"type": "json_schema", "json_schema": {
                    "name": "reading", "schema": schema, "strict": true,
                }},
                "max_tokens": 500,
                "temperature": 0.25,
                "stream": false,
            })
        );
    }

    #[test]
    fn debug_does_not_dump_images() {
        let message = Message::user_with_images("x", [Bytes::from(vec![7u8; 4096])]);
        let debug = format!("{message:?}");
        assert!(debug.contains("Jpeg(4096 bytes)"), "{debug}");
        assert!(debug.len() < 200, "{debug}");
    }
}
