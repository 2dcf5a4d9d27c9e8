//! Two hands compared, line by line: what the tradition reads in the difference between
//! the hand one was born with and the hand one has shaped.
//!
//! A line differs when it is found on one hand only, or when its length or depth differ by
//! more than the margins below, or one hand's line is broken and the other's is not. The
//! margins are set by hand (a tenth of the ranges the readings describe), not fitted to
//! any photographs.

use crate::features::LineId;
use crate::reading::{HandComparison, LineComparison, LineReading, Reading};
use crate::HandSide;

/// Length (as a share of the palm's length) that counts as a difference.
pub const LENGTH_MARGIN: f32 = 0.08;
/// Depth (crease contrast, 0–1) that counts as a difference.
pub const DEPTH_MARGIN: f32 = 0.12;

const TRADITION: &str = "The tradition reads the hand you use less as what you were born with, and the hand you use most as what you have made of it.";

fn hand_name(r: &Reading, fallback: &'static str) -> String {
    match r.hand.side {
        Some(HandSide::Left) => "your left hand".to_string(),
        Some(HandSide::Right) => "your right hand".to_string(),
        None => fallback.to_string(),
    }
}

fn find(r: &Reading, id: LineId) -> Option<&LineReading> {
    r.lines.iter().find(|l| l.id == id.code() && l.present)
}

fn breaks(l: &LineReading) -> u32 {
    l.continuity.as_ref().map_or(0, |c| c.breaks)
}

/// What differs in one line between `a` (on hand `a_name`) and `b`.
fn line_difference(a: &LineReading, b: &LineReading, a_name: &str, b_name: &str) -> Vec<String> {
    let mut out = Vec::new();
    if let (Some(x), Some(y)) = (a.length, b.length) {
        if (x - y).abs() > LENGTH_MARGIN {
            out.push(format!("longer on {}", if x > y { a_name } else { b_name }));
        }
    }
    if let (Some(x), Some(y)) = (a.depth, b.depth) {
        if (x - y).abs() > DEPTH_MARGIN {
            out.push(format!("deeper on {}", if x > y { a_name } else { b_name }));
        }
    }
    match (breaks(a), breaks(b)) {
        (0, n) if n > 0 => out.push(format!("unbroken on {a_name}, broken on {b_name}")),
        (n, 0) if n > 0 => out.push(format!("unbroken on {b_name}, broken on {a_name}")),
        _ => {}
    }
    out
}

/// The comparison of two readings, or `None` when either photo was unusable.
pub fn compare_hands(first: &Reading, second: &Reading) -> Option<HandComparison> {
    if !first.quality.usable || !second.quality.usable {
        return None;
    }
    let (a_name, b_name) = (
        hand_name(first, "your first photo"),
        hand_name(second, "your second photo"),
    );
    let mut lines = Vec::new();
    for id in LineId::ALL {
        let (a, b) = (find(first, id), find(second, id));
        let (differs, reading) = match (a, b) {
            (None, None) => continue,
            (Some(_), None) => (true, format!("found on {a_name} only")),
            (None, Some(_)) => (true, format!("found on {b_name} only")),
            (Some(a), Some(b)) => {
                let parts = line_difference(a, b, &a_name, &b_name);
                if parts.is_empty() {
                    (false, "much the same on both hands".to_string())
                } else {
                    (true, super::join_and(&parts))
                }
            }
        };
        let mut reading = reading;
        if let Some(first) = reading.get_mut(..1) {
            first.make_ascii_uppercase();
        }
        lines.push(LineComparison {
            id: id.code().to_string(),
            english: id.english().to_string(),
            hindi: id.hindi().to_string(),
            differs,
            reading: format!("{reading}."),
        });
    }
    let differing: Vec<String> = lines
        .iter()
        .filter(|l| l.differs)
        .map(|l| l.hindi.clone())
        .collect();
    let summary = if differing.is_empty() {
        format!("{TRADITION} Your lines are much the same on both hands: what you were born with and what you have made of it agree.")
    } else {
        format!(
            "{TRADITION} Your hands differ in the {}: there, the hand you use most shows how you have grown beyond your starting point.",
            super::join_and(&differing)
        )
    };
    Some(HandComparison { summary, lines })
}
