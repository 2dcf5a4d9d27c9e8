//! The reading JSON against `palm/reading.schema.json`.

use serde_json::Value;

use super::test_support as ts;
use super::RuleInterpreter;
use crate::features::Features;
use crate::Interpret;

const SCHEMA: &str = include_str!("../../reading.schema.json");

fn schema() -> Value {
    serde_json::from_str(SCHEMA).expect("the schema is JSON")
}

fn validator() -> jsonschema::Validator {
    jsonschema::draft202012::new(&schema()).expect("the schema compiles")
}

fn reading_json(f: &Features) -> Value {
    serde_json::to_value(RuleInterpreter.interpret(f)).expect("serialises")
}

fn assert_valid(v: &jsonschema::Validator, instance: &Value) {
    let errors: Vec<String> = v
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}\n{instance:#}");
}

#[test]
fn schema_is_valid_draft_2020_12() {
    let schema = schema();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    if let Err(e) = jsonschema::draft202012::meta::validate(&schema) {
        panic!("not a valid 2020-12 schema: {e}");
    }
}

#[test]
fn usable_reading_validates_against_schema() {
    let v = validator();
    let json = reading_json(&ts::sample());
    assert_eq!(json["quality"]["usable"], true);
    assert!(
        json["lines"]
            .as_array()
            .expect("lines")
            .iter()
            .filter(|l| l["present"] == true)
            .count()
            >= 4
    );
    assert_valid(&v, &json);
}

#[test]
fn unusable_reading_validates_against_schema() {
    let v = validator();
    let json = reading_json(&ts::unusable());
    assert_eq!(json["quality"]["usable"], false);
    assert_valid(&v, &json);
}

#[test]
fn every_generated_reading_validates_against_schema() {
    let v = validator();
    for f in super::tests::feature_grid().iter().step_by(7) {
        assert_valid(&v, &reading_json(f));
    }
    // Odd measurements are dropped rather than serialised as null numbers or NaN.
    let mut odd = ts::sample();
    odd.lines[2].length = f32::NAN;
    odd.lines[2].depth = 7.0;
    odd.lines[2].confidence = -1.0;
    odd.quality.brightness = f32::INFINITY;
    odd.detection.confidence = f32::NAN;
    assert_valid(&v, &reading_json(&odd));
}

/// Renames `key` to `to` in the object at `pointer`.
fn rename(json: &Value, pointer: &str, key: &str, to: &str) -> Value {
    let mut json = json.clone();
    let object = json
        .pointer_mut(pointer)
        .and_then(Value::as_object_mut)
        .expect("object");
    let value = object.remove(key).expect("key");
    object.insert(to.to_string(), value);
    json
}

fn set(json: &Value, pointer: &str, value: Value) -> Value {
    let mut json = json.clone();
    *json.pointer_mut(pointer).expect("pointer") = value;
    json
}

#[test]
fn schema_rejects_renamed_fields_and_wrong_values() {
    let v = validator();
    for json in [reading_json(&ts::sample()), reading_json(&ts::unusable())] {
        assert_valid(&v, &json);
        let broken = [
            ("top-level field", rename(&json, "", "summary", "summry")),
            (
                "hand field",
                rename(&json, "/hand", "side_source", "sideSource"),
            ),
            (
                "quality field",
                rename(&json, "/quality", "issues", "issue"),
            ),
            ("line field", rename(&json, "/lines/2", "reading", "text")),
            (
                "mount field",
                rename(&json, "/mounts/0", "prominence", "level"),
            ),
            (
                "source spelling",
                set(&json, "/lines/4/source", "notAssessed".into()),
            ),
            ("line order", {
                let mut j = json.clone();
                if let Some(lines) = j["lines"].as_array_mut() {
                    lines.swap(0, 1);
                }
                j
            }),
            ("missing line", {
                let mut j = json.clone();
                if let Some(lines) = j["lines"].as_array_mut() {
                    lines.pop();
                }
                j
            }),
            ("mount id", set(&json, "/mounts/9/id", "neptune".into())),
            ("version", set(&json, "/version", 2.into())),
            (
                "polyline out of range",
                set(&json, "/lines/2/polyline", serde_json::json!([[1.5, 0.2]])),
            ),
            (
                "absent line with a path",
                set(&json, "/lines/5/polyline", serde_json::json!([[0.5, 0.2]])),
            ),
        ];
        for (what, instance) in broken {
            assert!(!v.is_valid(&instance), "{what} still validates");
        }
    }
    // The shape's element spelling, on the usable reading.
    let json = reading_json(&ts::sample());
    assert!(!v.is_valid(&set(&json, "/shape/element", "Water".into())));
    assert!(!v.is_valid(&rename(&json, "/shape", "palm_ratio", "palmRatio")));
    // An unusable photo must not carry a shape.
    let unusable = reading_json(&ts::unusable());
    assert!(!v.is_valid(&set(&unusable, "/shape", json["shape"].clone())));
}

#[test]
fn second_hand_reading_validates_and_is_checked_too() {
    let v = validator();
    let mut left = RuleInterpreter.interpret(&ts::sample());
    let mut right = RuleInterpreter.interpret(&ts::unusable());
    right.hand.side = Some(crate::HandSide::Left);
    left.second_hand = Some(Box::new(right.clone()));
    let json = serde_json::to_value(&left).expect("serialises");
    assert!(json.get("second_hand").is_some());
    assert_valid(&v, &json);
    // Without a second hand the field is absent, not null.
    assert!(reading_json(&ts::sample()).get("second_hand").is_none());
    // The nested reading is held to the same schema, and does not nest further.
    assert!(!v.is_valid(&rename(&json, "/second_hand", "summary", "summry")));
    right.second_hand = Some(Box::new(right.clone()));
    left.second_hand = Some(Box::new(right));
    assert!(!v.is_valid(&serde_json::to_value(&left).expect("serialises")));
}

#[test]
fn a_comparison_of_two_hands_validates_and_is_checked_too() {
    let v = validator();
    let mut right = RuleInterpreter.interpret(&ts::sample());
    let mut left = right.clone();
    left.hand.side = Some(crate::HandSide::Left);
    right.comparison = super::compare::compare_hands(&right, &left);
    right.second_hand = Some(Box::new(left));
    let json = serde_json::to_value(&right).expect("serialises");
    assert!(json.get("comparison").is_some());
    assert_valid(&v, &json);
    assert!(!v.is_valid(&rename(&json, "/comparison", "summary", "summry")));
    assert!(!v.is_valid(&set(
        &json,
        "/comparison/lines/0/id",
        serde_json::json!("elbow")
    )));
    // One hand: no comparison field at all.
    assert!(reading_json(&ts::sample()).get("comparison").is_none());
}
