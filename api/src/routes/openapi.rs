//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 description of this API.
//!
//! The document is `api/openapi.json`, written by hand beside the routes (warp has no
//! route introspection, and the handlers answer `json!` values rather than typed
//! structs, so a generator would need a second, doc-only copy of every shape anyway).
//! The palm reading's JSON Schema, `palm/reading.schema.json`, stays the single source
//! of truth: it is embedded at compile time and inserted at load time as
//! `components.schemas.Reading`, which the analysis schemas `$ref`. Both files are
//! combined once, on first use, and served as the same bytes afterwards.
//! `tests/tests/http.rs` checks the document against the running API.

use std::sync::LazyLock;

use bytes::Bytes;
use serde_json::Value;
use warp::http::{header, HeaderValue};
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::error::ApiError;

/// The hand-maintained document, without the reading schema.
const DOCUMENT: &str = include_str!("../../openapi.json");
/// The palm reading's JSON Schema (draft 2020-12), the one source of truth.
pub const READING_SCHEMA: &str = include_str!("../../../palm/reading.schema.json");
/// Where the reading schema lives inside the document (a JSON pointer).
pub const READING_POINTER: &str = "/components/schemas/Reading";

/// Why the document could not be built (a build mistake: the unit tests catch it).
#[derive(Debug, thiserror::Error)]
pub enum OpenApiError {
    #[error("api/openapi.json is not valid JSON: {0}")]
    Document(serde_json::Error),
    #[error("palm/reading.schema.json is not valid JSON: {0}")]
    ReadingSchema(serde_json::Error),
    #[error("api/openapi.json has no components.schemas object")]
    NoSchemas,
    #[error("api/openapi.json defines components.schemas.Reading itself; it must come from palm/reading.schema.json")]
    ReadingDefinedByHand,
}

/// The document, serialised once.
static SERVED: LazyLock<Result<Bytes, String>> = LazyLock::new(|| {
    document()
        .map_err(|e| e.to_string())
        .and_then(|doc| serde_json::to_vec(&doc).map_err(|e| e.to_string()))
        .map(Bytes::from)
});

/// `GET /api/v1/openapi.json`, public.
pub fn routes() -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone {
    warp::path!("api" / "v1" / "openapi.json")
        .and(warp::get())
        .map(serve)
}

fn serve() -> Response {
    match &*SERVED {
        Ok(bytes) => {
            let mut response = Response::new(bytes.clone().into());
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            response
        }
        Err(e) => ApiError::internal("openapi document", e).into_response(),
    }
}

/// The complete document: `api/openapi.json` with the reading schema inserted as
/// `components.schemas.Reading` and `info.version` set to this crate's version.
pub fn document() -> Result<Value, OpenApiError> {
    combine(DOCUMENT, READING_SCHEMA)
}

fn combine(document: &str, reading_schema_text: &str) -> Result<Value, OpenApiError> {
    let mut doc: Value = serde_json::from_str(document).map_err(OpenApiError::Document)?;
    let reading = reading_schema(reading_schema_text)?;
    if let Some(info) = doc.get_mut("info").and_then(Value::as_object_mut) {
        info.insert("version".into(), env!("CARGO_PKG_VERSION").into());
    }
    let schemas = doc
        .get_mut("components")
        .and_then(|c| c.get_mut("schemas"))
        .and_then(Value::as_object_mut)
        .ok_or(OpenApiError::NoSchemas)?;
    if schemas.contains_key("Reading") {
        return Err(OpenApiError::ReadingDefinedByHand);
    }
    schemas.insert("Reading".into(), reading);
    Ok(doc)
}

/// The reading's JSON Schema, adjusted to live at [`READING_POINTER`] inside the
/// OpenAPI document.
///
/// The file is a standalone draft 2020-12 schema resource: `$id` makes it the base of
/// its own `$ref`s (`#/$defs/…`, and `#` for `second_hand`). Embedded as a component,
/// those refs would have to be resolved against that `$id`, which most OpenAPI tools
/// ignore, resolving them against the document root instead, where they dangle. So at
/// load time `$id` and `$schema` are removed (`$schema` may only appear on a resource
/// root, and OpenAPI 3.1 schemas default to its 2020-12-based dialect anyway), and
/// every document-local `$ref` is rewritten to an absolute pointer into this document
/// (`#/$defs/hand` → `#/components/schemas/Reading/$defs/hand`). Nothing else changes.
pub fn reading_schema(raw: &str) -> Result<Value, OpenApiError> {
    let mut schema: Value = serde_json::from_str(raw).map_err(OpenApiError::ReadingSchema)?;
    let id = schema.as_object_mut().and_then(|root| {
        root.remove("$schema");
        root.remove("$id")
    });
    let id = id.as_ref().and_then(Value::as_str).unwrap_or_default();
    rewrite_refs(&mut schema, id);
    Ok(schema)
}

/// Points every `$ref` to this resource (`#…`, or `<$id>#…`) at [`READING_POINTER`].
fn rewrite_refs(value: &mut Value, id: &str) {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                match child {
                    Value::String(target) if key == "$ref" => {
                        let local = target
                            .strip_prefix(id)
                            .filter(|_| !id.is_empty())
                            .unwrap_or(target)
                            .strip_prefix('#');
                        if let Some(fragment) = local {
                            *target = format!("#{READING_POINTER}{fragment}");
                        }
                    }
                    other => rewrite_refs(other, id),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rewrite_refs(v, id)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// Every `$ref` in `value`, with the JSON pointer of where it sits.
    fn refs(value: &Value, at: String, out: &mut Vec<(String, String)>) {
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    match child {
                        Value::String(target) if key == "$ref" => {
                            out.push((at.clone(), target.clone()));
                        }
                        _ => refs(child, format!("{at}/{key}"), out),
                    }
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    refs(child, format!("{at}/{i}"), out);
                }
            }
            _ => {}
        }
    }

    /// `#/a/b~1c` → `/a/b~1c`, or `None` for anything not document-local.
    fn local_pointer(target: &str) -> Option<&str> {
        target.strip_prefix('#')
    }

    #[test]
    fn the_document_builds_as_openapi_3_1_with_the_reading_schema() {
        let doc = document().expect("the document builds");
        let version = doc["openapi"].as_str().expect("openapi");
        assert!(version.starts_with("3.1."), "{version}");
        assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
        let reading = doc.pointer(READING_POINTER).expect("Reading");
        assert!(reading.get("$id").is_none() && reading.get("$schema").is_none());
        assert!(reading["$defs"]["quality"].is_object());
        assert_eq!(
            reading["properties"]["hand"]["$ref"],
            "#/components/schemas/Reading/$defs/hand"
        );
        assert!(SERVED.is_ok(), "{:?}", SERVED.as_ref().err());
    }

    #[test]
    fn every_ref_resolves_and_the_analyses_use_the_reading() {
        let doc = document().expect("the document builds");
        let mut found = Vec::new();
        refs(&doc, String::new(), &mut found);
        assert!(!found.is_empty());
        for (at, target) in &found {
            let pointer = local_pointer(target)
                .unwrap_or_else(|| panic!("{at}: {target} is not document-local"));
            assert!(
                doc.pointer(pointer).is_some(),
                "{at}: $ref {target} does not resolve"
            );
        }
        let users: BTreeSet<&str> = found
            .iter()
            .filter(|(_, t)| t == "#/components/schemas/Reading")
            .map(|(at, _)| at.as_str())
            .collect();
        assert!(
            users.contains("/components/schemas/Analysis/properties/reading/oneOf/1"),
            "{users:?}"
        );
    }

    #[test]
    fn the_reading_schema_only_loses_its_id_and_schema_and_gets_absolute_refs() {
        let original: Value = serde_json::from_str(READING_SCHEMA).expect("reading schema");
        let embedded = reading_schema(READING_SCHEMA).expect("embeds");
        // Undo the rewrite and compare with the file minus the two stripped keys.
        let text = serde_json::to_string(&embedded)
            .expect("serialises")
            .replace(&format!("\"#{READING_POINTER}"), "\"#");
        let restored: Value = serde_json::from_str(&text).expect("parses");
        let mut expected = original;
        if let Some(root) = expected.as_object_mut() {
            root.remove("$id");
            root.remove("$schema");
        }
        assert_eq!(restored, expected);
    }

    #[test]
    fn refs_by_id_and_foreign_refs_are_handled() {
        let schema = reading_schema(
            r##"{"$id":"urn:x","$schema":"s","a":{"$ref":"urn:x#/$defs/b"},
                "b":{"$ref":"#"},"c":{"$ref":"https://example.com/other.json"}}"##,
        )
        .expect("embeds");
        assert_eq!(schema["a"]["$ref"], "#/components/schemas/Reading/$defs/b");
        assert_eq!(schema["b"]["$ref"], "#/components/schemas/Reading");
        assert_eq!(schema["c"]["$ref"], "https://example.com/other.json");
        assert!(schema.get("$id").is_none() && schema.get("$schema").is_none());
    }

    #[test]
    fn a_hand_written_reading_component_is_refused() {
        let doc = r#"{"openapi":"3.1.0","components":{"schemas":{"Reading":{}}}}"#;
        assert!(matches!(
            combine(doc, READING_SCHEMA),
            Err(OpenApiError::ReadingDefinedByHand)
        ));
        assert!(matches!(
            combine(r#"{"openapi":"3.1.0"}"#, READING_SCHEMA),
            Err(OpenApiError::NoSchemas)
        ));
    }

    /// The endpoint table of docs/api.md (hast-api rows) and the document list the same
    /// operations, so a route documented in one place is documented in the other.
    #[test]
    fn the_api_guide_endpoint_table_matches_the_document() {
        let guide_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/api.md");
        let guide = std::fs::read_to_string(guide_path).expect("docs/api.md");
        let section = guide
            .split("## HTTP endpoints")
            .nth(1)
            .and_then(|s| s.split("\n## ").next())
            .expect("the HTTP endpoints section");
        let mut in_guide = BTreeSet::new();
        for row in section.lines().filter(|l| l.starts_with("| `")) {
            let cell = row.split('|').nth(1).unwrap_or_default();
            if cell.contains("hast-worker") {
                continue;
            }
            let endpoint = cell.split('`').nth(1).unwrap_or_default();
            if let Some((method, path)) = endpoint.split_once(' ') {
                in_guide.insert((method.to_lowercase(), path.to_owned()));
            }
        }
        let doc = document().expect("the document builds");
        let mut in_document = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for method in ["get", "put", "post", "delete", "patch", "head", "options"] {
                if item.get(method).is_some() {
                    in_document.insert((method.to_owned(), path.clone()));
                }
            }
        }
        assert!(in_document.len() >= 20, "{in_document:?}");
        assert_eq!(in_guide, in_document);
    }
}
