//! The offline answerer: a follow-up question about a reading, answered from the reading
//! itself. Used by the `chat` job when no AI model is configured.
//!
//! - [`topics`]: the question → what it asks about. Case-, punctuation- and word-based
//!   matching against small keyword tables (English names, Hindi/Sanskrit names and their
//!   common transliterations, Devanagari, and topic words such as "love" or "career").
//! - [`compose`]: the topics → a short answer built only from the reading's own
//!   measurements and text.
//!
//! # What an answer contains
//!
//! Lines give their measured facts (found or not, length relative to the palm, curvature,
//! depth, breaks, marks, confidence) and then the reading's own paragraph; a line the photo
//! did not show is said plainly to be not clearly visible. Mounts say that prominence was
//! not assessed from a flat photo and give the mount's text. A reading whose photo failed
//! the quality gate gets its quality advice instead of an interpretation. Every answer
//! ends with the reading's disclaimer.
//!
//! # Follow-ups
//!
//! A question that names no topic but refers back ("and what about its breaks?", "tell
//! me more about that") takes the topics of the latest earlier user turn in `history`
//! that had any. `history` holds the turns before `question` (if its last turn repeats
//! `question` as a user turn, that turn is skipped).
//!
//! # Safety
//!
//! Questions about lifespan, death, illness or the body, accidents or misfortune (and the
//! timing of any of these) get a gentle refusal and nothing else: palmistry here is for
//! reflection, and where it helps the refusal explains what the Jeevan rekha actually
//! means in the tradition (vitality and energy, not the length of life). Such answers
//! have `topics == [Topic::Safety]` and `covered == false`: the reading does not, and
//! cannot, cover them. "Health line" (an old name for the Budh rekha) is answered as the
//! Mercury line, with a note that nothing about the body is read from it.
//!
//! # Coverage
//!
//! `covered` is true when at least one topic was answered from the reading (including
//! "this line was not clearly visible" and "the photo could not be read": the reading
//! covers the topic, and says why it cannot show it). A question that maps to no topic,
//! or only to something the reading does not trace (the marriage lines, the bracelets,
//! …), gets `covered == false` and the list of what can be discussed.
//!
//! Deterministic: the same reading, question and history always give the same answer.

mod compose;
mod topics;

#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize, Serializer};

use crate::features::LineId;
use crate::reading::Reading;

/// Who said a turn of the conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    User,
    Assistant,
}

/// One earlier turn of the conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Turn {
    pub role: Role,
    pub content: String,
}

impl Turn {
    pub fn user(content: impl Into<String>) -> Self {
        Self {
            role: Role::User,
            content: content.into(),
        }
    }

    pub fn assistant(content: impl Into<String>) -> Self {
        Self {
            role: Role::Assistant,
            content: content.into(),
        }
    }
}

/// What an answer is about. Serialised as its [`code`](Topic::code) (`heart_line`,
/// `mount_venus`, `safety`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    /// One principal line.
    Line(LineId),
    /// All the lines at a glance.
    Lines,
    /// Hand shape, element and temperament.
    Shape,
    /// Finger proportions.
    Fingers,
    /// One mount, by its id in the reading (`jupiter`, `venus`, `mars_inner`, …).
    Mount(&'static str),
    /// All the mounts.
    Mounts,
    /// The photo's quality, and why something was not read.
    Quality,
    /// The reading's summary.
    Summary,
    /// The reading's strengths.
    Strengths,
    /// The reading's suggestions.
    Guidance,
    /// Which hand to read, left or right, and which this reading has.
    WhichHand,
    /// A question about lifespan, illness, death, accidents or misfortune: refused.
    Safety,
}

impl Topic {
    /// A stable snake_case code: `heart_line`, `lines`, `shape`, `fingers`,
    /// `mount_venus`, `mounts`, `quality`, `summary`, `strengths`, `guidance`,
    /// `which_hand`, `safety`.
    pub fn code(&self) -> String {
        match self {
            Topic::Line(id) => format!("{}_line", id.code()),
            Topic::Lines => "lines".to_string(),
            Topic::Shape => "shape".to_string(),
            Topic::Fingers => "fingers".to_string(),
            Topic::Mount(id) => format!("mount_{id}"),
            Topic::Mounts => "mounts".to_string(),
            Topic::Quality => "quality".to_string(),
            Topic::Summary => "summary".to_string(),
            Topic::Strengths => "strengths".to_string(),
            Topic::Guidance => "guidance".to_string(),
            Topic::WhichHand => "which_hand".to_string(),
            Topic::Safety => "safety".to_string(),
        }
    }
}

impl Serialize for Topic {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.code())
    }
}

/// An answer to one question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Answer {
    /// A short paragraph or a few, ending with the reading's disclaimer.
    pub text: String,
    /// What was answered, in the order the answer takes them (empty when nothing was).
    pub topics: Vec<Topic>,
    /// Whether the reading covered the question (see the module docs).
    pub covered: bool,
}

/// Answers `question` about `reading`, given the conversation so far (`history`, the
/// turns before `question`). Deterministic.
pub fn answer(reading: &Reading, question: &str, history: &[Turn]) -> Answer {
    let query = topics::resolve(question, history);
    compose::compose(reading, &query)
}
