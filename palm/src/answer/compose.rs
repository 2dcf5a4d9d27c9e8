//! The topics of a question → an answer, from the reading's own measurements and text.
//!
//! House rules, as for readings (the tests scan every answer): warm, plain English with
//! the Hindi names; nothing about lifespan, illness, death, accidents or a fixed fate;
//! no promises about the future; nothing the reading does not say. Every answer ends with
//! the reading's disclaimer.

use super::topics::{Aspect, Concern, Hand, Query, Unmeasured};
use super::{Answer, Topic};
use crate::features::LineId;
use crate::interpret::bands::{self, Attribute, Band};
use crate::interpret::{join_and, mounts, rules, DISCLAIMER};
use crate::reading::{LineReading, MountReading, Reading};
use crate::HandSide;

/// At most this many topics are answered at once; the rest are named.
pub const MAX_TOPICS: usize = 3;

/// Opening of every refusal.
const REFUSAL_OPENING: &str = "I can't answer that, and no honest palm reading can: palmistry here is offered for reflection, not for foretelling.";
const REFUSAL_LIFESPAN: &str =
    "Nothing in your palm measures how much time anyone has, or when it ends.";
const REFUSAL_BODY: &str = "Your reading makes no judgement about your body or how well you are; if something about how you feel worries you, a doctor is the right person to ask.";
const REFUSAL_MISFORTUNE: &str = "Nor can it foresee mishaps or hard times: the tradition reads the lines as tendencies that shift with your choices, never as a course set in stone.";
/// What the Jeevan rekha really means.
const LIFE_LINE_NOTE: &str = "The Jeevan rekha (life line) is often misunderstood: despite its name, the tradition reads it as vitality, enthusiasm and the way you spend your energy, not the length of life.";
const HEART_LINE_NOTE: &str = "Your Hriday rekha (heart line) speaks of feeling, warmth and relationships in the tradition, not of the physical heart.";
/// For the Budh rekha asked for by its old Western name. It does not repeat that name:
/// answers use none of the words the reading's safety rules keep out.
const MERCURY_LINE_NOTE: &str = "Some books link the Budh rekha (Mercury line) with the body, but here it is read only for communication, commerce and practical good sense, never for anything about your physical wellbeing.";
const REFUSAL_CLOSING: &str = "If you like, ask me about what your reading does describe: your lines, such as the Jeevan rekha and what it shows of your energy, your hand shape and temperament, or the mounts.";
/// For "when" questions.
const TIMING_NOTE: &str = "Palmistry here describes tendencies rather than dates, so your reading gives no timings; here is what it does say.";
/// When a second hand was asked for and there is none.
const ONE_HAND: &str =
    "Only one hand was read for this reading, so this answer is about that hand.";
/// Opening of an answer the reading does not cover.
const NOT_COVERED: &str = "Your reading does not cover that, so I can't answer it from your palm.";

/// The answer to `query` about `reading`.
pub(crate) fn compose(reading: &Reading, query: &Query) -> Answer {
    let disclaimer = if reading.disclaimer.trim().is_empty() {
        DISCLAIMER
    } else {
        reading.disclaimer.as_str()
    };
    let asked = query.topics();

    if !query.concerns.is_empty() {
        return finish(
            vec![refusal(query, &asked)],
            vec![Topic::Safety],
            false,
            disclaimer,
        );
    }

    let mut paragraphs: Vec<String> = query.unmeasured.iter().map(|u| unmeasured(*u)).collect();
    if asked.is_empty() {
        paragraphs.push(not_covered(reading, query.unmeasured.is_empty()));
        return finish(paragraphs, Vec::new(), false, disclaimer);
    }

    let shown: Vec<Topic> = asked.iter().copied().take(MAX_TOPICS).collect();
    let rest: Vec<Topic> = asked.iter().copied().skip(MAX_TOPICS).collect();
    if query.timing {
        paragraphs.push(TIMING_NOTE.to_string());
    }
    if query.health_line {
        paragraphs.push(MERCURY_LINE_NOTE.to_string());
    }
    let (targets, note) = targets(reading, query.hand);
    paragraphs.extend(note);
    // Several topics or hands: each line briefly, so the answer stays short.
    let brief = shown.len() > 1 || targets.len() > 1;
    let mut answered: Vec<Topic> = Vec::new();
    for (label, r) in targets {
        let mut own = sections(r, &shown, &query.aspects, brief, &mut answered);
        if let (Some(label), Some(first)) = (label, own.first_mut()) {
            *first = format!("{label} {first}");
        }
        paragraphs.extend(own);
    }
    if !rest.is_empty() {
        let names: Vec<String> = rest.iter().map(topic_name).collect();
        paragraphs.push(format!(
            "You also asked about {}; ask about {} on its own and I can say more.",
            join_and(&names),
            if names.len() == 1 { "it" } else { "each" }
        ));
    }
    finish(paragraphs, answered, true, disclaimer)
}

/// The paragraphs, then the disclaimer.
fn finish(
    mut paragraphs: Vec<String>,
    topics: Vec<Topic>,
    covered: bool,
    disclaimer: &str,
) -> Answer {
    paragraphs.retain(|p| !p.trim().is_empty());
    paragraphs.push(disclaimer.to_string());
    Answer {
        text: paragraphs.join("\n\n"),
        topics,
        covered,
    }
}

/// The readings to answer from, each with a label when it needs one, and a note when the
/// hand asked for is not there.
fn targets(reading: &Reading, hand: Hand) -> (Vec<(Option<String>, &Reading)>, Option<String>) {
    let second = reading.second_hand.as_deref();
    match (hand, second) {
        (Hand::Unspecified, _) => (vec![(None, reading)], None),
        (Hand::Other, Some(s)) => (vec![(Some(hand_label(s, "other")), s)], None),
        (Hand::Both, Some(s)) => (
            vec![
                (Some(hand_label(reading, "first")), reading),
                (Some(hand_label(s, "other")), s),
            ],
            None,
        ),
        (Hand::Other | Hand::Both, None) => (vec![(None, reading)], Some(ONE_HAND.to_string())),
        (Hand::Side(side), _) => {
            if reading.hand.side == Some(side) {
                (vec![(None, reading)], None)
            } else if let Some(s) = second.filter(|s| s.hand.side == Some(side)) {
                (vec![(Some(hand_label(s, "other")), s)], None)
            } else if let Some(read) = reading.hand.side {
                let note = format!(
                    "Only your {} hand was read for this reading, so this answer is about that hand.",
                    side_name(read)
                );
                (vec![(None, reading)], Some(note))
            } else {
                let note = "The reading does not record which hand the photo shows, so this answer is about the hand that was read.".to_string();
                (vec![(None, reading)], Some(note))
            }
        }
    }
}

fn side_name(side: HandSide) -> &'static str {
    match side {
        HandSide::Left => "left",
        HandSide::Right => "right",
    }
}

fn hand_label(r: &Reading, fallback: &'static str) -> String {
    let name = r.hand.side.map_or(fallback, side_name);
    format!("From your {name} hand:")
}

/// Whether a topic needs a photo that passed the quality gate.
fn needs_photo(topic: Topic) -> bool {
    matches!(
        topic,
        Topic::Line(_)
            | Topic::Lines
            | Topic::Shape
            | Topic::Fingers
            | Topic::Summary
            | Topic::Strengths
    )
}

/// The sections for `topics` from one reading; answered topics are added to `answered`.
fn sections(
    r: &Reading,
    topics: &[Topic],
    aspects: &[Aspect],
    brief: bool,
    answered: &mut Vec<Topic>,
) -> Vec<String> {
    let unusable = !r.quality.usable;
    let blocked: Vec<Topic> = topics
        .iter()
        .copied()
        .filter(|t| unusable && needs_photo(*t))
        .collect();
    let mut out: Vec<String> = Vec::new();
    if !blocked.is_empty() {
        out.push(unusable_paragraph(r, &blocked));
        blocked.iter().for_each(|t| push_new(answered, *t));
        push_new(answered, Topic::Quality);
    }
    for topic in topics.iter().copied().filter(|t| !blocked.contains(t)) {
        out.extend(section(r, topic, aspects, brief));
        push_new(answered, topic);
    }
    out
}

fn push_new<T: PartialEq>(list: &mut Vec<T>, item: T) {
    if !list.contains(&item) {
        list.push(item);
    }
}

fn section(r: &Reading, topic: Topic, aspects: &[Aspect], brief: bool) -> Vec<String> {
    match topic {
        Topic::Line(id) => line_section(r, id, aspects, brief),
        Topic::Lines => vec![lines_overview(r, aspects)],
        Topic::Shape => vec![shape(r)],
        Topic::Fingers => vec![fingers(r)],
        Topic::Mount(id) => vec![mount(r, id)],
        Topic::Mounts => vec![mounts_overview(r)],
        Topic::Quality => vec![quality(r)],
        Topic::Summary => vec![summary(r)],
        Topic::Strengths => vec![strengths(r)],
        Topic::Guidance => vec![guidance(r)],
        Topic::WhichHand => vec![which_hand(r)],
        Topic::Safety => Vec::new(),
    }
}

// ───────────────────────────── names ─────────────────────────────

/// "Hriday rekha (Heart line)".
fn line_name(id: LineId) -> String {
    format!("{} ({})", id.hindi(), id.english())
}

fn mount_name(id: &str) -> String {
    mounts::MOUNTS.iter().find(|m| m.id == id).map_or_else(
        || id.replace('_', " "),
        |m| format!("{} ({})", m.hindi, plain(m.english)),
    )
}

/// A name without its parenthesis: "Inner Mount of Mars (lower Mars)" → "Inner Mount of
/// Mars", so it can stand in one.
fn plain(name: &str) -> &str {
    name.split(" (").next().unwrap_or(name).trim()
}

fn topic_name(topic: &Topic) -> String {
    match topic {
        Topic::Line(id) => format!("your {}", line_name(*id)),
        Topic::Lines => "your lines".to_string(),
        Topic::Shape => "your hand shape".to_string(),
        Topic::Fingers => "your fingers".to_string(),
        Topic::Mount(id) => mount_name(id),
        Topic::Mounts => "the mounts".to_string(),
        Topic::Quality => "the photo".to_string(),
        Topic::Summary => "the overall reading".to_string(),
        Topic::Strengths => "your strengths".to_string(),
        Topic::Guidance => "the suggestions".to_string(),
        Topic::WhichHand => "which hand to read".to_string(),
        Topic::Safety => "that".to_string(),
    }
}

fn percent(x: f32) -> i64 {
    (f64::from(x) * 100.0).round() as i64
}

// ───────────────────────────── lines ─────────────────────────────

fn line_of(r: &Reading, id: LineId) -> Option<&LineReading> {
    r.lines.iter().find(|l| l.id == id.code())
}

/// One line: its facts, then its reading (in `brief`, the first paragraph after the
/// introduction, and a pointer to the rest).
fn line_section(r: &Reading, id: LineId, aspects: &[Aspect], brief: bool) -> Vec<String> {
    let Some(line) = line_of(r, id) else {
        return vec![format!(
            "Your reading has no entry for the {}, so it says nothing about it.",
            line_name(id)
        )];
    };
    if !line.present {
        let mut out = not_visible(id);
        if brief {
            out.truncate(1);
        }
        return out;
    }
    if aspects.is_empty() {
        return whole_line(line, id, brief);
    }
    line_aspects(line, id, aspects)
}

/// A traced line asked about as a whole: all its facts, then its reading (in `brief`,
/// see [`first_paragraph`]).
fn whole_line(line: &LineReading, id: LineId, brief: bool) -> Vec<String> {
    let name = line_name(id);
    let mut facts = vec![format!("Your {name} was traced in this photo.")];
    facts.extend(length_fact(line, id));
    facts.extend(shape_fact(line, id));
    facts.extend(continuity_fact(line));
    facts.extend(marks_fact(line, false));
    facts.extend(confidence_fact(line, false));
    let mut out = vec![facts.join(" ")];
    if brief {
        out.extend(first_paragraph(line, id));
    } else if !line.reading.trim().is_empty() {
        out.push(format!(
            "Here is what your reading says about it.\n\n{}",
            line.reading.trim()
        ));
    }
    out
}

/// The first paragraph of a line's reading after the introduction, with a pointer to
/// the rest when there is more; `None` when the reading has nothing beyond the
/// introduction.
fn first_paragraph(line: &LineReading, id: LineId) -> Option<String> {
    let paragraphs: Vec<&str> = line
        .reading
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty() && *p != rules::intro(id))
        .collect();
    let first = paragraphs.first()?;
    let more = if paragraphs.len() > 1 {
        format!(
            " Ask about the {} on its own for the rest of its reading.",
            id.hindi()
        )
    } else {
        String::new()
    };
    Some(format!("{first}{more}"))
}

/// A traced line asked about for some `aspects`: their facts, then what the reading says
/// about them (the whole reading when it says nothing in particular).
fn line_aspects(line: &LineReading, id: LineId, aspects: &[Aspect]) -> Vec<String> {
    let name = line_name(id);
    let mut facts = vec![format!("About your {name}:")];
    let mut texts: Vec<String> = Vec::new();
    for aspect in aspects {
        match aspect {
            Aspect::Length => {
                facts.extend(length_fact(line, id).or_else(|| {
                    Some("Its length could not be measured in this photo.".to_string())
                }))
            }
            Aspect::Curvature => facts.extend(curvature_fact(line, id)),
            Aspect::Depth => facts.extend(depth_fact(line)),
            Aspect::Breaks => facts.extend(continuity_fact(line)),
            Aspect::Marks => facts.extend(marks_fact(line, true)),
            Aspect::Confidence => facts.extend(confidence_fact(line, true)),
        }
        for text in aspect_texts(line, id, *aspect) {
            if !texts.contains(&text) {
                texts.push(text);
            }
        }
    }
    if texts.is_empty() && !line.reading.trim().is_empty() {
        texts.push(line.reading.trim().to_string());
    }
    // Its length is the part of the Jeevan rekha most often misread.
    if id == LineId::Life
        && aspects.contains(&Aspect::Length)
        && !texts.iter().any(|t| t.contains("not the length of life"))
    {
        texts.push(LIFE_LINE_NOTE.to_string());
    }
    let mut out = vec![facts.join(" ")];
    out.extend(texts);
    out
}

/// A line the photo did not show: said plainly, with what the line means in general.
fn not_visible(id: LineId) -> Vec<String> {
    let often_faint = match id {
        LineId::Fate | LineId::Sun | LineId::Mercury => {
            " Many hands show this line only faintly or not at all."
        }
        LineId::Heart | LineId::Head | LineId::Life => "",
    };
    vec![
        format!(
            "Your {} was not clearly visible in this photo, so your reading does not interpret it.{often_faint} A sharper photo in bright, even light may show it.",
            line_name(id)
        ),
        format!(
            "In general, the tradition says this of the line: {}",
            rules::intro(id)
        ),
    ]
}

fn length_word(id: LineId, length: f32) -> Option<&'static str> {
    bands::length_band(id, length).map(|b| match b {
        Band::Short => "short",
        Band::Long => "long",
        _ => "medium",
    })
}

fn length_fact(line: &LineReading, id: LineId) -> Option<String> {
    let length = line.length?;
    let band = length_word(id, length)
        .map(|w| format!(", which counts as {w} for this line"))
        .unwrap_or_default();
    Some(format!(
        "It measures about {}% of the length of your palm{band}.",
        percent(length)
    ))
}

fn curvature_phrase(line: &LineReading, id: LineId) -> Option<String> {
    let c = line.curvature?;
    let band = bands::curvature_band(id, c)?;
    Some(format!("{} (curvature {c:.2})", band.label()))
}

fn depth_phrase(line: &LineReading) -> Option<String> {
    let d = line.depth?;
    let band = bands::depth_band(d)?;
    Some(format!(
        "{} (depth {d:.2} on a scale of 0 to 1)",
        band.label()
    ))
}

/// Curvature and depth together.
fn shape_fact(line: &LineReading, id: LineId) -> Option<String> {
    match (curvature_phrase(line, id), depth_phrase(line)) {
        (Some(c), Some(d)) => Some(format!("It is {c} and {d}.")),
        (Some(one), None) | (None, Some(one)) => Some(format!("It is {one}.")),
        (None, None) => None,
    }
}

fn curvature_fact(line: &LineReading, id: LineId) -> Option<String> {
    Some(curvature_phrase(line, id).map_or_else(
        || "Its curve could not be measured in this photo.".to_string(),
        |c| format!("It is {c}."),
    ))
}

fn depth_fact(line: &LineReading) -> Option<String> {
    Some(depth_phrase(line).map_or_else(
        || "Its depth could not be measured in this photo.".to_string(),
        |d| format!("It is {d}."),
    ))
}

fn continuity_fact(line: &LineReading) -> Option<String> {
    let c = line.continuity.as_ref()?;
    Some(match c.breaks {
        0 => "It runs unbroken, with no breaks.".to_string(),
        1 => format!("It shows 1 break, so it reads as {}.", c.description),
        n => format!("It shows {n} breaks, so it reads as {}.", c.description),
    })
}

fn mark_phrase(mark: &str) -> String {
    if let Some(other) = mark.strip_prefix("fused_with_") {
        let other = LineId::ALL
            .iter()
            .find(|id| id.code() == other)
            .map_or_else(|| other.replace('_', " "), |id| id.hindi().to_string());
        return format!("a merging with the {other}");
    }
    match mark {
        "fork" => "a fork".to_string(),
        "island" => "an island".to_string(),
        other => other.replace('_', " "),
    }
}

fn marks_fact(line: &LineReading, asked: bool) -> Option<String> {
    if line.marks.is_empty() {
        return asked.then(|| "No forks, islands or other marks were noted on it.".to_string());
    }
    let marks: Vec<String> = line.marks.iter().map(|m| mark_phrase(m)).collect();
    Some(format!("Marks noted on it: {}.", join_and(&marks)))
}

fn confidence_fact(line: &LineReading, asked: bool) -> Option<String> {
    let pct = percent(line.confidence);
    let low = line.confidence < bands::LOW_CONFIDENCE;
    match (asked, low) {
        (_, true) => Some(format!(
            "Its trace is uncertain ({pct}% confidence), so hold what it says lightly."
        )),
        (true, false) => Some(format!("It was traced with {pct}% confidence.")),
        (false, false) => None,
    }
}

/// The paragraphs of the line's own reading that speak of one aspect.
fn aspect_texts(line: &LineReading, id: LineId, aspect: Aspect) -> Vec<String> {
    let attributes: &[Attribute] = match aspect {
        Aspect::Length => &[Attribute::Length],
        Aspect::Curvature => &[Attribute::Curvature],
        Aspect::Depth => &[Attribute::Depth],
        Aspect::Breaks => &[Attribute::Breaks],
        Aspect::Marks => &[Attribute::Forks, Attribute::Islands],
        Aspect::Confidence => &[],
    };
    let mut candidates: Vec<String> = Band::ALL
        .iter()
        .filter(|b| attributes.contains(&b.attribute()))
        .filter_map(|b| rules::rule_for(id, *b))
        .map(|r| r.text.to_string())
        .collect();
    match aspect {
        Aspect::Marks => {
            candidates.push(rules::FUSED_HEAD_HEART.to_string());
            candidates.extend(LineId::ALL.iter().map(|o| rules::fused_other(id, *o)));
        }
        Aspect::Confidence => candidates.push(rules::low_confidence(id)),
        _ => {}
    }
    candidates
        .into_iter()
        .filter(|t| line.reading.contains(t.as_str()))
        .collect()
}

/// A few words on one line for the overview.
fn line_brief(line: &LineReading, id: LineId, aspects: &[Aspect]) -> String {
    if !line.present {
        return "not clearly visible in this photo".to_string();
    }
    let wanted: &[Aspect] = if aspects.is_empty() {
        &[Aspect::Length, Aspect::Depth, Aspect::Breaks]
    } else {
        aspects
    };
    let mut parts: Vec<String> = Vec::new();
    for aspect in wanted {
        match aspect {
            Aspect::Length => parts.extend(line.length.map(|l| {
                let word = length_word(id, l).map_or(String::new(), |w| format!(", {w}"));
                format!("about {}% of the palm's length{word}", percent(l))
            })),
            Aspect::Curvature => parts.extend(
                line.curvature
                    .and_then(|c| bands::curvature_band(id, c))
                    .map(|b| b.label().to_string()),
            ),
            Aspect::Depth => parts.extend(
                line.depth
                    .and_then(bands::depth_band)
                    .map(|b| b.label().to_string()),
            ),
            Aspect::Breaks => parts.extend(line.continuity.as_ref().map(|c| match c.breaks {
                0 => "unbroken".to_string(),
                1 => "with 1 break".to_string(),
                n => format!("with {n} breaks"),
            })),
            Aspect::Marks => parts.push(if line.marks.is_empty() {
                "no marks noted".to_string()
            } else {
                join_and(
                    &line
                        .marks
                        .iter()
                        .map(|m| mark_phrase(m))
                        .collect::<Vec<_>>(),
                )
            }),
            Aspect::Confidence => parts.push(format!(
                "traced with {}% confidence",
                percent(line.confidence)
            )),
        }
    }
    if parts.is_empty() {
        "traced in this photo".to_string()
    } else {
        format!("traced, {}", parts.join("; "))
    }
}

fn lines_overview(r: &Reading, aspects: &[Aspect]) -> String {
    let briefs: Vec<String> = LineId::ALL
        .iter()
        .filter_map(|id| line_of(r, *id).map(|l| (id, l)))
        .map(|(id, l)| format!("your {} is {}", line_name(*id), line_brief(l, *id, aspects)))
        .collect();
    if briefs.is_empty() {
        return "Your reading lists no lines.".to_string();
    }
    format!(
        "Here are your lines at a glance: {}. Ask about any line by name, for example the Hriday rekha, for its full reading.",
        briefs.join("; ")
    )
}

// ───────────────────────────── the rest ─────────────────────────────

fn unusable_paragraph(r: &Reading, blocked: &[Topic]) -> String {
    let names: Vec<String> = blocked.iter().map(topic_name).collect();
    let mut s = vec![format!(
        "This photo could not be read, so {} could not be interpreted.",
        join_and(&names)
    )];
    if r.quality.advice.is_empty() {
        s.push(rules::UNUSABLE_NO_ISSUE.to_string());
    } else {
        s.extend(r.quality.advice.iter().cloned());
    }
    if !r.guidance.is_empty() {
        s.push(format!("For a new photo: {}", r.guidance.join(" ")));
    }
    s.push(rules::UNUSABLE_CLOSING.to_string());
    s.join(" ")
}

fn quality(r: &Reading) -> String {
    let q = &r.quality;
    if !q.usable {
        let mut s = vec![
            "Your photo could not be read, which is why no interpretation was made.".to_string(),
        ];
        if q.advice.is_empty() {
            s.push(rules::UNUSABLE_NO_ISSUE.to_string());
        } else {
            s.extend(q.advice.iter().cloned());
        }
        if !r.guidance.is_empty() {
            s.push(format!("For a new photo: {}", r.guidance.join(" ")));
        }
        return s.join(" ");
    }
    let mut s = vec![format!(
        "Your photo passed the quality check (brightness about {}%, with the hand filling about {}% of the frame), so it could be read.",
        percent(q.brightness),
        percent(q.hand_fraction)
    )];
    s.extend(q.advice.iter().cloned());
    let missing: Vec<String> = r
        .lines
        .iter()
        .filter(|l| !l.present)
        .map(|l| format!("the {}", l.hindi))
        .collect();
    if missing.is_empty() {
        s.push("Every principal line was traced.".to_string());
    } else {
        s.push(format!(
            "{} could not be seen clearly in it; a sharper photo in bright, even light may show {}.",
            capitalise(&join_and(&missing)),
            if missing.len() == 1 { "it" } else { "them" }
        ));
    }
    if r.shape.is_none() {
        s.push("The shape of your hand could not be measured in it.".to_string());
    }
    s.join(" ")
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn shape(r: &Reading) -> String {
    let Some(s) = &r.shape else {
        return "The shape of your hand could not be measured in this photo, so your reading does not describe your temperament from it.".to_string();
    };
    let fingers = s
        .finger_ratio
        .map(|f| {
            format!(
                ", and your middle finger about {}% of the palm's length",
                percent(f)
            )
        })
        .unwrap_or_default();
    let article = match s.name.chars().next() {
        Some('A' | 'E' | 'I' | 'O' | 'U') => "an",
        _ => "a",
    };
    format!(
        "Your hand was measured as {article} {}: the palm is about {:.2} times as long as it is wide{fingers}. {}",
        s.name, s.palm_ratio, s.reading
    )
}

fn fingers(r: &Reading) -> String {
    match &r.fingers {
        Some(f) => {
            let ratio = f
                .index_to_ring
                .map(|x| {
                    format!(
                        "Your index finger measures about {x:.2} times the length of your ring finger. "
                    )
                })
                .unwrap_or_default();
            format!("{ratio}{}", f.reading)
        }
        None => "Your finger proportions could not be measured in this photo (they need the whole hand, fingers included, clearly in view), so your reading says nothing about them.".to_string(),
    }
}

fn mount(r: &Reading, id: &str) -> String {
    let Some(m) = r.mounts.iter().find(|m| m.id == id) else {
        return format!(
            "Your reading does not describe {}, so it says nothing about it.",
            mount_name(id)
        );
    };
    mount_text(m)
}

fn mount_text(m: &MountReading) -> String {
    if m.prominence == mounts::NOT_ASSESSED {
        let text = m
            .reading
            .trim()
            .strip_suffix(mounts::FLAT_PHOTO)
            .unwrap_or(m.reading.trim())
            .trim();
        format!(
            "The prominence of {} ({}) was not assessed: a flat photo cannot show how raised or full a mount is, so here is what it signifies in the tradition. {text}",
            m.hindi,
            plain(&m.english)
        )
    } else {
        format!(
            "{} Its prominence was assessed as {}.",
            m.reading.trim(),
            m.prominence.replace('_', " ")
        )
    }
}

fn mounts_overview(r: &Reading) -> String {
    if r.mounts.is_empty() {
        return "Your reading describes no mounts.".to_string();
    }
    let names: Vec<String> = r
        .mounts
        .iter()
        .map(|m| format!("{} ({})", m.hindi, plain(&m.english)))
        .collect();
    let assessment = if r
        .mounts
        .iter()
        .all(|m| m.prominence == mounts::NOT_ASSESSED)
    {
        "Their prominence was not assessed, because a flat photo cannot show how raised or full a mount is; each is described by what it signifies in the tradition.".to_string()
    } else {
        let each: Vec<String> = r
            .mounts
            .iter()
            .map(|m| format!("{}: {}", m.hindi, m.prominence.replace('_', " ")))
            .collect();
        format!("Their prominence: {}.", each.join("; "))
    };
    format!(
        "Your reading describes the mounts (parvat) of the palm: {}. {assessment} Ask about any one by name, for example Shukra parvat, to hear what it signifies.",
        join_and(&names)
    )
}

fn summary(r: &Reading) -> String {
    let mut s = r.summary.trim().to_string();
    if !r.strengths.is_empty() {
        s.push_str(&format!(
            " Among the strengths it notes: {}.",
            r.strengths.join("; ")
        ));
    }
    s
}

fn strengths(r: &Reading) -> String {
    if r.strengths.is_empty() {
        return "Your reading lists no particular strengths from this photo.".to_string();
    }
    format!(
        "Your reading notes these strengths: {}.",
        r.strengths.join("; ")
    )
}

/// Which hand the tradition reads, and which this reading has.
fn which_hand(r: &Reading) -> String {
    const TRADITION: &str = "Hast Rekha Shastra reads both hands. The hand you use less is said to show what you were born with, and the hand you use most what you have made of it; an older custom read a man's right hand and a woman's left, but readers today start from your dominant hand and compare it with the other.";
    let this = if r.second_hand.is_some() {
        "This reading has both of your hands, so you can ask what differs between them.".to_string()
    } else if let Some(side) = r.hand.side {
        format!(
            "This reading is of your {} hand; to compare, upload a photo of each hand together.",
            side_name(side)
        )
    } else {
        "This reading does not record which hand the photo shows; to compare, upload a photo of each hand together.".to_string()
    };
    format!("{TRADITION} {this}")
}

fn guidance(r: &Reading) -> String {
    if r.guidance.is_empty() {
        return "Your reading offers no particular suggestions.".to_string();
    }
    format!(
        "Your reading offers these suggestions for reflection. {}",
        r.guidance.join(" ")
    )
}

// ───────────────────────────── refusals and gaps ─────────────────────────────

fn refusal(query: &Query, asked: &[Topic]) -> String {
    let mut s = vec![REFUSAL_OPENING];
    for concern in &query.concerns {
        s.push(match concern {
            Concern::Lifespan => REFUSAL_LIFESPAN,
            Concern::Body => REFUSAL_BODY,
            Concern::Misfortune => REFUSAL_MISFORTUNE,
        });
    }
    let mut notes: Vec<&str> = Vec::new();
    if query.concerns.contains(&Concern::Lifespan) || asked.contains(&Topic::Line(LineId::Life)) {
        notes.push(LIFE_LINE_NOTE);
    }
    if asked.contains(&Topic::Line(LineId::Heart)) {
        notes.push(HEART_LINE_NOTE);
    }
    if query.health_line || asked.contains(&Topic::Line(LineId::Mercury)) {
        notes.push(MERCURY_LINE_NOTE);
    }
    notes.push(REFUSAL_CLOSING);
    format!("{}\n\n{}", s.join(" "), notes.join(" "))
}

fn unmeasured(u: Unmeasured) -> String {
    let (name, pointer) = match u {
        Unmeasured::Marriage => (
            "the small marriage lines (Vivah rekha) at the edge of the palm",
            " For love and relationships, your Hriday rekha (heart line) is the line to ask about.",
        ),
        Unmeasured::Children => (
            "the lines some palmists associate with children (Santan rekha)",
            "",
        ),
        Unmeasured::Travel => (
            "travel lines (Yatra rekha)",
            " In the tradition a love of travel is linked with Chandra parvat, the Mount of the Moon, which you can ask about.",
        ),
        Unmeasured::Bracelets => ("the bracelets (Manibandh) at the wrist", ""),
        Unmeasured::Girdle => ("the Girdle of Venus (Shukra mudrika)", ""),
        Unmeasured::Intuition => ("the line of intuition", ""),
        Unmeasured::Solomon => ("Guru mudrika, the ring of Solomon", ""),
    };
    format!("Your reading does not trace {name}, so it says nothing about them.{pointer}")
}

fn not_covered(r: &Reading, say_not_covered: bool) -> String {
    let lines: Vec<String> = if r.lines.is_empty() {
        LineId::ALL.iter().map(|id| line_name(*id)).collect()
    } else {
        r.lines
            .iter()
            .map(|l| format!("{} ({})", l.hindi, l.english))
            .collect()
    };
    let list = format!(
        "I can talk about your lines: the {}; your hand shape and temperament; your fingers; the mounts (parvat), such as Guru parvat or Shukra parvat; the quality of your photo; and the overall summary, strengths and suggestions of your reading.",
        join_and(&lines)
    );
    if say_not_covered {
        format!("{NOT_COVERED} {list}")
    } else {
        list
    }
}
