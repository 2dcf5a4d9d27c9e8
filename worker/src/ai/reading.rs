//! The analysis with a model (`ANALYZER=openai`): the offline engine measures first, then
//! the model gets the photo (downscaled to [`MODEL_IMAGE_SIDE`], re-encoded: no EXIF) and
//! the measurements and offline reading as JSON, and answers with the reading's prose in
//! [`prose_schema`] (strict structured output).
//!
//! Why a prose schema rather than the whole reading schema: the model may only write prose
//! (measured fields win), so asking it to copy polylines and numbers back would cost tokens
//! and invite contradictions; and `palm/reading.schema.json` uses `oneOf`, `prefixItems`,
//! `if`/`then` and a recursive `$ref`, which OpenAI's strict mode refuses. The prose schema
//! uses only what strict mode accepts (objects with every property required and no others,
//! strings, string enums, arrays); its enums come from the reading schema.
//!
//! The reply is validated against the prose schema, [`merge`]d into the measured reading,
//! and the result validated against `palm/reading.schema.json`; an invalid reply gets one
//! repair attempt (the validation errors are sent back). [`merge`] keeps every measured
//! field (quality, hand, the lines' geometry and presence, shape and finger numbers, the
//! disclaimer) and takes from the model the lines' `reading` texts (of the lines found), the
//! summary, strengths and guidance, and the mounts' prominence and reading (source `llm`).
//! An unusable photo never goes to the model.

use bytes::Bytes;
use hast_common::jobs::Kind;
use hast_openai::{AiError, ChatRequest, Message, Usage};
use hast_palm::reading::Source;
use hast_palm::{Features, Reading};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{usage_json, Ai};
use crate::jobs::{JobContext, JobError};

/// `palm/reading.schema.json`.
pub const READING_SCHEMA: &str = include_str!("../../../palm/reading.schema.json");
/// The longest side of the photo sent to the model.
pub const MODEL_IMAGE_SIDE: u32 = 1024;
/// Largest reply, in tokens.
const READING_MAX_TOKENS: u32 = 4000;
/// Validation errors sent back in a repair request.
const MAX_REPORTED_ERRORS: usize = 12;

/// The instructions of a reading request.
pub const READING_RULES: &str = "You are Hast, a palm reader in the Indian tradition (Hast \
Rekha Shastra). You get a photo of a palm, the measurements an image-analysis engine took \
from it, and the reading that engine wrote from rules. Write a richer reading of the same \
palm as JSON in the given schema: a `reading` for each line the engine found (not for lines \
it did not find), the mounts' prominence and reading as far as the photo shows them \
(`not_assessed` when it cannot), a summary, up to five strengths and a few points of \
guidance. The measurements are facts: do not contradict them. Never predict lifespan, \
death, illness, accidents or misfortune; this is for reflection and entertainment.";

/// Strengths and guidance items kept from the model (the reading schema's `maxItems`).
const MAX_LIST_ITEMS: usize = 5;

/// The prose the model writes (see [`prose_schema`]).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Prose {
    pub lines: Vec<LineProse>,
    pub mounts: Vec<MountProse>,
    pub summary: String,
    pub strengths: Vec<String>,
    pub guidance: Vec<String>,
}

/// A line's reading by the model.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct LineProse {
    pub id: String,
    pub reading: String,
}

/// A mount's prominence and reading by the model.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MountProse {
    pub id: String,
    pub prominence: String,
    pub reading: String,
}

/// The string enum at `pointer` in the reading schema.
fn schema_enum(reading_schema: &Value, pointer: &str) -> Result<Value, String> {
    reading_schema
        .pointer(pointer)
        .filter(|v| v.is_array())
        .cloned()
        .ok_or_else(|| format!("the reading schema has no enum at {pointer}"))
}

/// The request schema: the reading's prose only, in the subset of JSON Schema that
/// OpenAI's strict structured output accepts (see the module docs). Line and mount ids are
/// the reading schema's enums.
pub fn prose_schema(reading_schema: &Value) -> Result<Value, String> {
    let line_ids = schema_enum(reading_schema, "/$defs/line/properties/id/enum")?;
    let mount_ids = schema_enum(reading_schema, "/$defs/mount/properties/id/enum")?;
    let text = |description: &str| json!({"type": "string", "description": description});
    let list = |description: &str| json!({"type": "array", "description": description, "items": {"type": "string"}});
    Ok(json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["lines", "mounts", "summary", "strengths", "guidance"],
        "properties": {
            "lines": {
                "type": "array",
                "description": "A reading for each line the engine found.",
                "items": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["id", "reading"],
                    "properties": {
                        "id": {"type": "string", "enum": line_ids},
                        "reading": text("What the line traditionally signifies, from its measurements."),
                    },
                },
            },
            "mounts": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["id", "prominence", "reading"],
                    "properties": {
                        "id": {"type": "string", "enum": mount_ids},
                        "prominence": text("How raised the mount looks; not_assessed when the photo cannot show it."),
                        "reading": text("What the mount traditionally signifies."),
                    },
                },
            },
            "summary": text("A few sentences weaving the hand shape and the clearest lines."),
            "strengths": list("Up to five strengths drawn from the measured lines and shape."),
            "guidance": list("A few points of guidance, for reflection."),
        },
    }))
}

/// The request schema, and the validators of the reply and of the merged reading.
pub(crate) struct ReadingSchema {
    /// [`prose_schema`], sent with each request.
    pub json: Value,
    prose: jsonschema::Validator,
    reading: jsonschema::Validator,
}

fn errors_of(validator: &jsonschema::Validator, value: &Value) -> Vec<String> {
    validator
        .iter_errors(value)
        .take(MAX_REPORTED_ERRORS)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

impl ReadingSchema {
    pub(crate) fn load() -> Result<Self, String> {
        let reading_json: Value =
            serde_json::from_str(READING_SCHEMA).map_err(|e| e.to_string())?;
        let reading = jsonschema::draft202012::new(&reading_json).map_err(|e| e.to_string())?;
        let json = prose_schema(&reading_json)?;
        let prose = jsonschema::draft202012::new(&json).map_err(|e| e.to_string())?;
        Ok(Self {
            json,
            prose,
            reading,
        })
    }

    /// The reply merged into `measured`, or what is wrong with it (against the prose
    /// schema, or, once merged, against the reading schema).
    pub(crate) fn check(&self, content: &str, measured: &Reading) -> Result<Reading, Vec<String>> {
        let value: Value =
            serde_json::from_str(content.trim()).map_err(|e| vec![format!("not JSON: {e}")])?;
        let errors = errors_of(&self.prose, &value);
        if !errors.is_empty() {
            return Err(errors);
        }
        let prose: Prose = serde_json::from_value(value).map_err(|e| vec![e.to_string()])?;
        let merged = merge(measured.clone(), prose);
        let as_json = serde_json::to_value(&merged).map_err(|e| vec![e.to_string()])?;
        let errors = errors_of(&self.reading, &as_json);
        if errors.is_empty() {
            Ok(merged)
        } else {
            Err(errors)
        }
    }
}

/// The photo as the model sees it: at most [`MODEL_IMAGE_SIDE`] px, JPEG, no metadata.
pub fn model_jpeg(image: &image::RgbImage) -> Result<Bytes, String> {
    let (w, h) = image.dimensions();
    let scaled;
    let image = if w.max(h) > MODEL_IMAGE_SIDE {
        let scale = f64::from(MODEL_IMAGE_SIDE) / f64::from(w.max(h));
        let nw = ((f64::from(w) * scale).round() as u32).max(1);
        let nh = ((f64::from(h) * scale).round() as u32).max(1);
        scaled = image::imageops::resize(image, nw, nh, image::imageops::FilterType::Triangle);
        &scaled
    } else {
        image
    };
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
        .encode_image(image)
        .map_err(|e| e.to_string())?;
    Ok(Bytes::from(out))
}

/// What the model made of one photo.
#[derive(Debug)]
pub struct Refined {
    pub reading: Reading,
    /// `Some` when the offline reading stands, saying why.
    pub note: Option<String>,
    pub usage: Usage,
}

impl Ai {
    /// Rewrites the prose of `offline` with the model, giving up at `deadline` (see
    /// [`Ai::deadline`]). Errors only when the job should be retried (a transient failure
    /// before its last attempt).
    pub(crate) async fn refine(
        &self,
        ctx: &JobContext,
        features: &Features,
        offline: Reading,
        jpeg: Bytes,
        deadline: tokio::time::Instant,
    ) -> Result<Refined, JobError> {
        if !offline.quality.usable {
            return Ok(Refined {
                reading: offline,
                note: Some("photo not usable; not sent to the model".into()),
                usage: Usage::default(),
            });
        }
        let first = first_prompt(features, &offline, jpeg);
        let mut messages = vec![Message::system(READING_RULES), first];
        let mut usage = Usage::default();
        let mut problem = String::new();
        for attempt in 0..2 {
            match self.ask(&messages, &offline, deadline, &mut usage).await {
                Reply::Valid(reading) => {
                    return Ok(Refined {
                        reading: *reading,
                        note: None,
                        usage,
                    })
                }
                Reply::Repair {
                    problem: why,
                    follow_up,
                } => {
                    problem = why;
                    messages.extend(follow_up);
                }
                Reply::Failed(err) => {
                    if let Some(retry) = self.retry_later(ctx, &err) {
                        return Err(retry);
                    }
                    tracing::warn!(error.code = err.code(), error = %err, "the model failed; the offline reading stands");
                    return Ok(Refined {
                        reading: offline,
                        note: Some(format!("openai failed ({}); offline reading", err.code())),
                        usage,
                    });
                }
            }
            if attempt == 0 {
                tracing::info!(problem = %problem, "asking the model to repair its reply");
            }
        }
        tracing::warn!(problem = %problem, "the model's reply stayed invalid; the offline reading stands");
        Ok(Refined {
            reading: offline,
            note: Some("openai reply invalid; offline reading".into()),
            usage,
        })
    }

    /// One request for the reading's prose with `messages`, its tokens added to `usage`.
    async fn ask(
        &self,
        messages: &[Message],
        offline: &Reading,
        deadline: tokio::time::Instant,
        usage: &mut Usage,
    ) -> Reply {
        let request = ChatRequest::new()
            .messages(messages.to_vec())
            .json_schema("palm_reading_prose", self.schema.json.clone())
            .max_tokens(READING_MAX_TOKENS)
            .temperature(0.4);
        match self.complete(Kind::Analysis, &request, deadline).await {
            Ok(completion) => {
                *usage += completion.usage;
                match self.schema.check(&completion.content, offline) {
                    Ok(reading) => Reply::Valid(Box::new(reading)),
                    Err(errors) => Reply::Repair {
                        problem: format!("reply invalid: {}", errors.join("; ")),
                        follow_up: vec![
                            Message::assistant(completion.content),
                            Message::user(format!(
                                "Your reply does not match the schema. Errors:\n- {}\nReply \
                                 again with the corrected JSON document only.",
                                errors.join("\n- ")
                            )),
                        ],
                    },
                }
            }
            Err(AiError::InvalidReply {
                kind,
                detail,
                usage: spent,
                ..
            }) => {
                *usage += spent;
                Reply::Repair {
                    problem: format!("reply unusable ({kind}): {detail}"),
                    follow_up: vec![Message::user(format!(
                        "Your previous reply could not be used ({kind}). Reply with one JSON \
                         document matching the schema, nothing else."
                    ))],
                }
            }
            Err(err) => Reply::Failed(err),
        }
    }
}

/// What one request for the reading's prose came to.
enum Reply {
    /// A reading that passed the schema check.
    Valid(Box<Reading>),
    /// An unusable or invalid reply: why, and the messages that ask for a repair.
    Repair {
        problem: String,
        follow_up: Vec<Message>,
    },
    /// The request failed.
    Failed(AiError),
}

/// The first user message: the measurements and the offline reading (JSON, without the
/// second hand's reading) with the photo.
fn first_prompt(features: &Features, offline: &Reading, jpeg: Bytes) -> Message {
    let mut for_model = short_floats(offline);
    if let Value::Object(map) = &mut for_model {
        map.remove("second_hand");
    }
    let context = serde_json::json!({
        "measurements": short_floats(features),
        "offline_reading": for_model,
    });
    Message::user_with_images(
        format!(
            "Measurements and the rule-based reading (JSON):\n{}",
            serde_json::to_string(&context).unwrap_or_default()
        ),
        [jpeg],
    )
}

/// `value` as JSON with its `f32`s written as they are stored (`0.69`, not the widened
/// `0.6899999976158142`): shorter for the model, and equal to the stored reading.
fn short_floats(value: &impl serde::Serialize) -> Value {
    serde_json::to_string(value)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or(Value::Null)
}

/// The measured reading with the model's prose. Measured fields always win; empty texts
/// are ignored, lists are cut to [`MAX_LIST_ITEMS`].
pub fn merge(measured: Reading, model: Prose) -> Reading {
    let mut out = measured;
    out.engine = "openai".into();
    // A line the photo did not show keeps its "not interpreted" text: no invented lines.
    for line in out.lines.iter_mut().filter(|l| l.present) {
        if let Some(theirs) = model.lines.iter().find(|l| l.id == line.id) {
            if !theirs.reading.trim().is_empty() {
                line.reading = theirs.reading.trim().to_owned();
            }
        }
    }
    for mount in &mut out.mounts {
        if let Some(theirs) = model.mounts.iter().find(|m| m.id == mount.id) {
            let prominence = theirs.prominence.trim();
            if !theirs.reading.trim().is_empty() && !prominence.is_empty() {
                mount.reading = theirs.reading.trim().to_owned();
                mount.prominence = prominence.to_owned();
                mount.source = if prominence == "not_assessed" {
                    Source::NotAssessed
                } else {
                    Source::Llm
                };
            }
        }
    }
    if !model.summary.trim().is_empty() {
        out.summary = model.summary.trim().to_owned();
    }
    let items = |list: Vec<String>| -> Vec<String> {
        list.into_iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .take(MAX_LIST_ITEMS)
            .collect()
    };
    let strengths = items(model.strengths);
    if !strengths.is_empty() {
        out.strengths = strengths;
    }
    let guidance = items(model.guidance);
    if !guidance.is_empty() {
        out.guidance = guidance;
    }
    out
}

/// The usage as result JSON (`null` when nothing was spent).
pub(crate) fn usage_value(usage: Usage) -> Value {
    if usage == Usage::default() {
        Value::Null
    } else {
        usage_json(usage)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn offline() -> Reading {
        // A blank photo: an unusable reading, but a complete one (every line and mount).
        let engine = hast_palm::Engine::with_model(None);
        engine.read(&image::RgbImage::new(640, 480), None).1
    }

    fn prose_of(reading: &Reading) -> Value {
        json!({
            "lines": reading.lines.iter().map(|l| json!({"id": l.id, "reading": format!("model {}", l.id)})).collect::<Vec<_>>(),
            "mounts": reading.mounts.iter().map(|m| json!({"id": m.id, "prominence": "high", "reading": "model mount"})).collect::<Vec<_>>(),
            "summary": "model summary",
            "strengths": ["a", "b", "c", "d", "e", "f", " "],
            "guidance": ["reflect"],
        })
    }

    #[test]
    fn a_prose_reply_is_checked_merged_and_checked_again() {
        let schema = ReadingSchema::load().unwrap();
        // The merged reading is checked against the reading schema too: an unusable
        // photo's reading may not list strengths.
        let unusable = offline();
        let errors = schema
            .check(&prose_of(&unusable).to_string(), &unusable)
            .unwrap_err();
        assert!(errors[0].starts_with("/strengths"), "{errors:?}");
        let mut offline = unusable;
        offline.quality.usable = true;
        let merged = schema
            .check(&prose_of(&offline).to_string(), &offline)
            .unwrap();
        assert_eq!(merged.engine, "openai");
        assert_eq!(merged.summary, "model summary");
        assert_eq!(merged.strengths.len(), MAX_LIST_ITEMS);
        // Whatever the model adds beyond the prose is refused, not ignored.
        let mut extra = prose_of(&offline);
        extra["quality"] = json!({"usable": true});
        assert!(!schema
            .check(&extra.to_string(), &offline)
            .unwrap_err()
            .is_empty());
        let mut bad_id = prose_of(&offline);
        bad_id["lines"][0]["id"] = json!("marriage");
        assert!(schema.check(&bad_id.to_string(), &offline).is_err());
        assert!(schema.check(r#"{"summary": 3}"#, &offline).is_err());
        assert!(schema.check("not json", &offline).unwrap_err()[0].starts_with("not JSON"));
    }

    /// Every object closed and fully required, and none of the keywords OpenAI's strict
    /// mode refuses (the reading schema itself uses several).
    #[test]
    fn the_request_schema_fits_strict_structured_output() {
        fn walk(value: &Value, path: &str) {
            match value {
                Value::Object(map) => {
                    for banned in [
                        "oneOf",
                        "allOf",
                        "not",
                        "if",
                        "then",
                        "else",
                        "prefixItems",
                        "$ref",
                        "minLength",
                        "maxItems",
                        "minItems",
                        "pattern",
                        "const",
                    ] {
                        assert!(!map.contains_key(banned), "{path}: {banned}");
                    }
                    if map.get("type") == Some(&json!("object")) {
                        assert_eq!(
                            map.get("additionalProperties"),
                            Some(&json!(false)),
                            "{path}"
                        );
                        let mut properties: Vec<&String> =
                            map["properties"].as_object().unwrap().keys().collect();
                        let mut required: Vec<&str> = map["required"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|v| v.as_str().unwrap())
                            .collect();
                        properties.sort();
                        required.sort_unstable();
                        assert_eq!(
                            properties.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
                            required,
                            "{path}"
                        );
                    }
                    for (k, v) in map {
                        walk(v, &format!("{path}/{k}"));
                    }
                }
                Value::Array(items) => items.iter().for_each(|v| walk(v, path)),
                _ => {}
            }
        }
        walk(&ReadingSchema::load().unwrap().json, "");
    }

    #[test]
    fn measured_fields_win_and_only_prose_is_taken() {
        let measured = offline();
        let prose: Prose = serde_json::from_value(prose_of(&measured)).unwrap();
        let merged = merge(measured.clone(), prose);
        assert_eq!(merged.engine, "openai");
        assert_eq!(merged.quality, measured.quality);
        assert_eq!(merged.summary, "model summary");
        for (line, original) in merged.lines.iter().zip(&measured.lines) {
            assert_eq!(line.present, original.present);
            assert_eq!(line.length, original.length);
            assert_eq!(line.polyline, original.polyline);
            if original.present {
                assert_eq!(line.reading, format!("model {}", line.id));
            } else {
                assert_eq!(
                    line.reading, original.reading,
                    "no prose for an absent line"
                );
            }
        }
        assert!(merged
            .mounts
            .iter()
            .all(|m| m.source == Source::Llm && m.prominence == "high"));
        assert_eq!(merged.disclaimer, measured.disclaimer);
    }

    #[test]
    fn the_model_photo_is_a_small_jpeg() {
        let image = image::RgbImage::new(1600, 1200);
        let jpeg = model_jpeg(&image).unwrap();
        let decoded = image::load_from_memory(&jpeg).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (1024, 768));
    }
}
