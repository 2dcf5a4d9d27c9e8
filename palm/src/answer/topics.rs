//! The question → what it asks about.
//!
//! The question is lower-cased and cut into words at anything that is not a letter or a
//! digit ("Hriday-rekha?" → `hriday rekha`). The keyword table (the name tables below and
//! the fixed phrases, data in `keywords.json`) is matched longest phrase first, each word
//! used by at most one phrase, so "heart attack" is a safety phrase before "heart" can be
//! the heart line, and "Surya parvat" is the Mount of the Sun before "surya" alone can be
//! the sun line. A word also matches its plural in -s.
//!
//! Kinds of keyword:
//! - strong topics (a line's name, "love", "career", a mount's name, …);
//! - weak topics, used only when nothing strong was asked ("palm", "lines", "mounts",
//!   "photo");
//! - planet names with both a line and a mount (Surya, Budh): a mount when the question
//!   also says "mount"/"parvat", otherwise the line;
//! - aspects of a line (length, curve, depth, breaks, marks, confidence);
//! - safety concerns (lifespan, the body, misfortune), refused by `compose`;
//! - minor lines the reading does not trace (marriage lines, bracelets, …);
//! - follow-up markers ("it", "that", "what about"), timing words ("when") and which hand.

use std::sync::OnceLock;

use super::{Role, Topic, Turn};
use crate::features::LineId;
use crate::HandSide;

/// What about a line was asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Aspect {
    Length,
    Curvature,
    Depth,
    Breaks,
    Marks,
    Confidence,
}

/// A question palmistry here never answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Concern {
    /// Lifespan, death, "how long will I live".
    Lifespan,
    /// Illness, health, the body.
    Body,
    /// Accidents, misfortune, curses.
    Misfortune,
}

/// A minor line or sign the reading does not trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unmeasured {
    Marriage,
    Children,
    Travel,
    Bracelets,
    Girdle,
    Intuition,
    Solomon,
}

/// Which hand the question is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hand {
    Unspecified,
    Other,
    Side(HandSide),
    Both,
}

/// A question, understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Query {
    /// Topics asked for by name or topic word, in the order asked.
    pub strong: Vec<Topic>,
    /// Topics implied by general words ("palm", "lines"), used when nothing is strong.
    pub weak: Vec<Topic>,
    pub aspects: Vec<Aspect>,
    pub concerns: Vec<Concern>,
    /// The Budh rekha was asked for as the "health line".
    pub health_line: bool,
    pub unmeasured: Vec<Unmeasured>,
    /// The question refers back ("it", "that", "what about").
    pub follow_up: bool,
    /// The question asks when ("when", "at what age").
    pub timing: bool,
    pub hand: Hand,
}

impl Query {
    /// The topics to answer: the strong ones, or else the weak ones (the summary only
    /// when it is the one weak topic).
    pub fn topics(&self) -> Vec<Topic> {
        if !self.strong.is_empty() {
            return self.strong.clone();
        }
        if self.weak.len() > 1 {
            return self
                .weak
                .iter()
                .copied()
                .filter(|t| *t != Topic::Summary)
                .collect();
        }
        self.weak.clone()
    }

    /// Whether it asks about anything at all (a topic, a concern or an untraced line).
    fn asks_something(&self) -> bool {
        !self.strong.is_empty()
            || !self.weak.is_empty()
            || !self.concerns.is_empty()
            || !self.unmeasured.is_empty()
    }
}

/// Understands `question`, resolving a follow-up against the earlier user turns.
pub(crate) fn resolve(question: &str, history: &[Turn]) -> Query {
    let mut query = detect(question);
    let refers_back = query.follow_up || !query.aspects.is_empty();
    if query.asks_something() || !refers_back {
        return query;
    }
    let mut earlier: Vec<&Turn> = history.iter().filter(|t| t.role == Role::User).collect();
    if earlier
        .last()
        .is_some_and(|t| t.content.trim() == question.trim())
    {
        earlier.pop();
    }
    for turn in earlier.iter().rev() {
        let before = detect(&turn.content);
        if before.asks_something() {
            query.strong = before.topics();
            query.concerns = before.concerns;
            query.health_line = before.health_line;
            query.unmeasured = before.unmeasured;
            if query.hand == Hand::Unspecified {
                query.hand = before.hand;
            }
            return query;
        }
    }
    // Aspects with nothing to attach them to: every line, for that aspect.
    if !query.aspects.is_empty() {
        query.weak.push(Topic::Lines);
    }
    query
}

/// The question's words: lower-case, split at anything but letters and digits (Devanagari
/// vowel signs stay inside their word).
pub(crate) fn words(text: &str) -> Vec<String> {
    let spaced: String = text
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || ('\u{0900}'..='\u{097F}').contains(&c) {
                c
            } else {
                ' '
            }
        })
        .collect();
    spaced.split_whitespace().map(str::to_string).collect()
}

/// A word of the question against a word of the table: equal, or its plural in -s.
fn same_word(word: &str, keyword: &str) -> bool {
    word == keyword || (word.len() > 3 && word.strip_suffix('s') == Some(keyword))
}

#[derive(Debug, Clone, Copy)]
enum Hit {
    Strong(&'static [Topic]),
    Weak(Topic),
    /// A name shared by a line and a mount.
    Planet(LineId, &'static str),
    Aspect(Aspect),
    Concern(Concern),
    HealthLine,
    Unmeasured(Unmeasured),
    /// "line", "rekha": context for a planet name, and a follow-up marker.
    LineWord,
    /// "mount", "parvat": context for a planet name, and all the mounts if nothing else.
    MountWord,
    FollowUp,
    Timing,
    Hand(Hand),
}

#[derive(Debug)]
struct Entry {
    words: Vec<String>,
    hit: Hit,
}

const HEART: &[Topic] = &[Topic::Line(LineId::Heart)];
const HEAD: &[Topic] = &[Topic::Line(LineId::Head)];
const LIFE: &[Topic] = &[Topic::Line(LineId::Life)];
const FATE: &[Topic] = &[Topic::Line(LineId::Fate)];
const SUN: &[Topic] = &[Topic::Line(LineId::Sun)];
const MERCURY: &[Topic] = &[Topic::Line(LineId::Mercury)];
const HEAD_HEART: &[Topic] = &[Topic::Line(LineId::Heart), Topic::Line(LineId::Head)];
const MONEY: &[Topic] = &[Topic::Line(LineId::Fate), Topic::Line(LineId::Mercury)];
const SHAPE: &[Topic] = &[Topic::Shape];
const FINGERS: &[Topic] = &[Topic::Fingers];
const QUALITY: &[Topic] = &[Topic::Quality];
const SUMMARY: &[Topic] = &[Topic::Summary];
const STRENGTHS: &[Topic] = &[Topic::Strengths];
const GUIDANCE: &[Topic] = &[Topic::Guidance];
const WHICH_HAND: &[Topic] = &[Topic::WhichHand];
const MARS: &[Topic] = &[Topic::Mount("mars_inner"), Topic::Mount("mars_outer")];

/// Names of each line: `(alone or qualified, only qualified, topics)`. A name of the
/// first list means the line on its own too ("hriday"); one of the second only as
/// "X line", "X rekha", "line of X" ("life line", "saturn line": the fate line's Western
/// name, while "saturn" alone is the mount).
type LineNames = (
    &'static [&'static str],
    &'static [&'static str],
    &'static [Topic],
);
const LINE_NAMES: &[LineNames] = &[
    (
        &[
            "heart",
            "hriday",
            "hridaya",
            "hruday",
            "hridey",
            "hirday",
            "हृदय",
        ],
        &[],
        HEART,
    ),
    (
        &[
            "head",
            "mastishk",
            "mastishka",
            "mastisk",
            "mastiska",
            "mastik",
            "मस्तिष्क",
        ],
        &[],
        HEAD,
    ),
    (
        &["jeevan", "jivan", "jiwan", "jeewan", "jivana", "जीवन"],
        &["life"],
        LIFE,
    ),
    (
        &["fate", "destiny", "bhagya", "bhagy", "भाग्य"],
        &["saturn", "shani"],
        FATE,
    ),
    (&["apollo", "success"], &[], SUN),
    (&["simian"], &[], HEAD_HEART),
];

/// Mount-only names: alone, or as "X mount", "X parvat", "mount of (the) X".
const MOUNT_NAMES: &[(&[&str], &[Topic])] = &[
    (
        &["jupiter", "guru", "brihaspati", "गुरु"],
        &[Topic::Mount("jupiter")],
    ),
    (&["saturn", "shani", "शनि"], &[Topic::Mount("saturn")]),
    (
        &["venus", "shukra", "shukr", "शुक्र"],
        &[Topic::Mount("venus")],
    ),
    (
        &["moon", "chandra", "chandrama", "luna", "चंद्र", "चन्द्र"],
        &[Topic::Mount("moon")],
    ),
    (&["mars", "mangal", "मंगल"], MARS),
    (
        &["inner mars", "lower mars", "active mars", "nimna mangal"],
        &[Topic::Mount("mars_inner")],
    ),
    (
        &[
            "outer mars",
            "upper mars",
            "passive mars",
            "uchcha mangal",
            "uchch mangal",
            "ucch mangal",
        ],
        &[Topic::Mount("mars_outer")],
    ),
    (
        &[
            "inner mount of mars",
            "lower mount of mars",
            "inner mount of mangal",
        ],
        &[Topic::Mount("mars_inner")],
    ),
    (
        &[
            "outer mount of mars",
            "upper mount of mars",
            "outer mount of mangal",
        ],
        &[Topic::Mount("mars_outer")],
    ),
    (&["rahu", "राहु"], &[Topic::Mount("rahu")]),
    (&["ketu", "केतु"], &[Topic::Mount("ketu")]),
];

/// Names shared by a line and a mount.
const PLANETS: &[(&[&str], LineId, &str)] = &[
    (
        &["sun", "surya", "suraj", "ravi", "सूर्य"],
        LineId::Sun,
        "sun",
    ),
    (
        &["mercury", "budh", "budha", "buddh", "बुध"],
        LineId::Mercury,
        "mercury",
    ),
];

const LINE_WORDS: &[&str] = &["line", "rekha", "lekha", "रेखा"];
const MOUNT_WORDS: &[&str] = &["mount", "parvat", "parvath", "parwat", "mound", "पर्वत"];

/// The fixed phrases as data: groups of phrases, each group with the hit its phrases give
/// (`"hit"`, named as in [`hit_named`]) and an optional `"note"`. Order matters: among
/// phrases of the same length, the earlier one wins a tie.
const KEYWORDS: &str = include_str!("keywords.json");

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Group {
    #[serde(default, rename = "note")]
    _note: Option<String>,
    hit: String,
    phrases: Vec<String>,
}

/// The hit a group of `keywords.json` names.
fn hit_named(name: &str) -> Option<Hit> {
    use self::Hand as H;
    use Aspect as A;
    use Concern as C;
    use Unmeasured as U;
    Some(match name {
        "concern.lifespan" => Hit::Concern(C::Lifespan),
        "concern.body" => Hit::Concern(C::Body),
        "concern.misfortune" => Hit::Concern(C::Misfortune),
        "health_line" => Hit::HealthLine,
        "unmeasured.marriage" => Hit::Unmeasured(U::Marriage),
        "unmeasured.children" => Hit::Unmeasured(U::Children),
        "unmeasured.travel" => Hit::Unmeasured(U::Travel),
        "unmeasured.bracelets" => Hit::Unmeasured(U::Bracelets),
        "unmeasured.girdle" => Hit::Unmeasured(U::Girdle),
        "unmeasured.intuition" => Hit::Unmeasured(U::Intuition),
        "unmeasured.solomon" => Hit::Unmeasured(U::Solomon),
        "strong.heart" => Hit::Strong(HEART),
        "strong.head" => Hit::Strong(HEAD),
        "strong.life" => Hit::Strong(LIFE),
        "strong.fate" => Hit::Strong(FATE),
        "strong.sun" => Hit::Strong(SUN),
        "strong.mercury" => Hit::Strong(MERCURY),
        "strong.money" => Hit::Strong(MONEY),
        "strong.shape" => Hit::Strong(SHAPE),
        "strong.fingers" => Hit::Strong(FINGERS),
        "strong.quality" => Hit::Strong(QUALITY),
        "strong.summary" => Hit::Strong(SUMMARY),
        "strong.strengths" => Hit::Strong(STRENGTHS),
        "strong.guidance" => Hit::Strong(GUIDANCE),
        "strong.which_hand" => Hit::Strong(WHICH_HAND),
        "weak.summary" => Hit::Weak(Topic::Summary),
        "weak.lines" => Hit::Weak(Topic::Lines),
        "weak.quality" => Hit::Weak(Topic::Quality),
        "aspect.length" => Hit::Aspect(A::Length),
        "aspect.curvature" => Hit::Aspect(A::Curvature),
        "aspect.depth" => Hit::Aspect(A::Depth),
        "aspect.breaks" => Hit::Aspect(A::Breaks),
        "aspect.marks" => Hit::Aspect(A::Marks),
        "aspect.confidence" => Hit::Aspect(A::Confidence),
        "follow_up" => Hit::FollowUp,
        "timing" => Hit::Timing,
        "hand.other" => Hit::Hand(H::Other),
        "hand.both" => Hit::Hand(H::Both),
        "hand.left" => Hit::Hand(H::Side(HandSide::Left)),
        "hand.right" => Hit::Hand(H::Side(HandSide::Right)),
        _ => return None,
    })
}

/// Fixed phrases, each with its hit, read from `keywords.json` (once, by [`table`]).
fn fixed() -> Result<Vec<(String, Hit)>, String> {
    let groups: Vec<Group> =
        serde_json::from_str(KEYWORDS).map_err(|e| format!("keywords.json: {e}"))?;
    let mut out = Vec::new();
    for group in groups {
        let hit = hit_named(&group.hit)
            .ok_or_else(|| format!("keywords.json: unknown hit {:?}", group.hit))?;
        out.extend(group.phrases.into_iter().map(|p| (p, hit)));
    }
    Ok(out)
}

/// Phrases naming a line or a mount, generated from the name tables.
fn names() -> Vec<(String, Hit)> {
    let mut out: Vec<(String, Hit)> = Vec::new();
    let line_forms = |name: &str| -> Vec<String> {
        let mut forms = vec![name.to_string()];
        for w in LINE_WORDS {
            forms.push(format!("{name} {w}"));
            forms.push(format!("{w} of {name}"));
            forms.push(format!("{w} of the {name}"));
        }
        forms
    };
    let mount_forms = |name: &str| -> Vec<String> {
        let mut forms = Vec::new();
        for w in MOUNT_WORDS {
            forms.push(format!("{name} {w}"));
            forms.push(format!("{w} {name}"));
            forms.push(format!("{w} of {name}"));
            forms.push(format!("{w} of the {name}"));
            forms.push(format!("{name} ka {w}"));
        }
        forms
    };
    for (alone, qualified, topics) in LINE_NAMES {
        for name in *alone {
            for form in line_forms(name) {
                out.push((form, Hit::Strong(topics)));
            }
        }
        for name in *qualified {
            for form in line_forms(name).into_iter().skip(1) {
                out.push((form, Hit::Strong(topics)));
            }
        }
    }
    for (names, topics) in MOUNT_NAMES {
        for name in *names {
            for form in mount_forms(name) {
                out.push((form, Hit::Strong(topics)));
            }
            out.push((name.to_string(), Hit::Strong(topics)));
        }
    }
    for (names, line, mount) in PLANETS {
        for name in *names {
            for form in line_forms(name).into_iter().skip(1) {
                out.push((form, Hit::Strong(line_topic(*line))));
            }
            for form in mount_forms(name) {
                out.push((form, Hit::Strong(mount_topic(mount))));
            }
            out.push((name.to_string(), Hit::Planet(*line, mount)));
        }
    }
    out
}

fn line_topic(id: LineId) -> &'static [Topic] {
    match id {
        LineId::Heart => HEART,
        LineId::Head => HEAD,
        LineId::Life => LIFE,
        LineId::Fate => FATE,
        LineId::Sun => SUN,
        LineId::Mercury => MERCURY,
    }
}

fn mount_topic(id: &str) -> &'static [Topic] {
    const SUN_MOUNT: &[Topic] = &[Topic::Mount("sun")];
    const MERCURY_MOUNT: &[Topic] = &[Topic::Mount("mercury")];
    if id == "sun" {
        SUN_MOUNT
    } else {
        MERCURY_MOUNT
    }
}

/// The whole table, longest phrases first (ties in table order). Built once.
fn table() -> &'static [Entry] {
    static TABLE: OnceLock<Vec<Entry>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut entries: Vec<Entry> = Vec::new();
        // Names first, so "saturn line" (fate) and "sun" (planet) win their ties.
        for (phrase, hit) in names() {
            entries.push(Entry {
                words: words(&phrase),
                hit,
            });
        }
        for (phrase, hit) in fixed().expect("the keyword table (keywords.json) is valid") {
            entries.push(Entry {
                words: words(&phrase),
                hit,
            });
        }
        for w in LINE_WORDS {
            entries.push(Entry {
                words: words(w),
                hit: Hit::LineWord,
            });
        }
        for w in MOUNT_WORDS {
            entries.push(Entry {
                words: words(w),
                hit: Hit::MountWord,
            });
        }
        entries.retain(|e| !e.words.is_empty());
        entries.sort_by_key(|e| std::cmp::Reverse(e.words.len()));
        entries
    })
}

/// Pushes `item` unless it is already there.
fn push_new<T: PartialEq>(list: &mut Vec<T>, item: T) {
    if !list.contains(&item) {
        list.push(item);
    }
}

/// Understands one question on its own.
pub(crate) fn detect(question: &str) -> Query {
    let tokens = words(question);
    let mut used = vec![false; tokens.len()];
    let mut hits: Vec<(usize, Hit)> = Vec::new();
    for entry in table() {
        let k = entry.words.len();
        if k > tokens.len() {
            continue;
        }
        for start in 0..=tokens.len() - k {
            let free = (start..start + k).all(|i| !used[i]);
            let matches = free
                && entry
                    .words
                    .iter()
                    .zip(&tokens[start..start + k])
                    .all(|(kw, w)| same_word(w, kw));
            if matches {
                used[start..start + k].iter_mut().for_each(|u| *u = true);
                hits.push((start, entry.hit));
            }
        }
    }
    hits.sort_by_key(|(pos, _)| *pos);

    let line_context = hits.iter().any(|(_, h)| matches!(h, Hit::LineWord));
    let mount_context = hits.iter().any(|(_, h)| matches!(h, Hit::MountWord));
    let mut q = Query {
        strong: Vec::new(),
        weak: Vec::new(),
        aspects: Vec::new(),
        concerns: Vec::new(),
        health_line: false,
        unmeasured: Vec::new(),
        follow_up: false,
        timing: false,
        hand: Hand::Unspecified,
    };
    for (_, hit) in hits {
        match hit {
            Hit::Strong(topics) => topics.iter().for_each(|t| push_new(&mut q.strong, *t)),
            Hit::Weak(topic) => push_new(&mut q.weak, topic),
            Hit::Planet(line, mount) => {
                let topic = if mount_context && !line_context {
                    Topic::Mount(mount)
                } else {
                    Topic::Line(line)
                };
                push_new(&mut q.strong, topic);
            }
            Hit::Aspect(a) => push_new(&mut q.aspects, a),
            Hit::Concern(c) => push_new(&mut q.concerns, c),
            Hit::HealthLine => {
                q.health_line = true;
                push_new(&mut q.strong, Topic::Line(LineId::Mercury));
            }
            Hit::Unmeasured(u) => push_new(&mut q.unmeasured, u),
            Hit::LineWord => q.follow_up = true,
            Hit::MountWord => push_new(&mut q.weak, Topic::Mounts),
            Hit::FollowUp => q.follow_up = true,
            Hit::Timing => q.timing = true,
            Hit::Hand(h) => q.hand = h,
        }
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every hit a group of `keywords.json` may name.
    const HITS: &[&str] = &[
        "concern.lifespan",
        "concern.body",
        "concern.misfortune",
        "health_line",
        "unmeasured.marriage",
        "unmeasured.children",
        "unmeasured.travel",
        "unmeasured.bracelets",
        "unmeasured.girdle",
        "unmeasured.intuition",
        "unmeasured.solomon",
        "strong.heart",
        "strong.head",
        "strong.life",
        "strong.fate",
        "strong.sun",
        "strong.mercury",
        "strong.money",
        "strong.shape",
        "strong.fingers",
        "strong.quality",
        "strong.summary",
        "strong.strengths",
        "strong.guidance",
        "strong.which_hand",
        "weak.summary",
        "weak.lines",
        "weak.quality",
        "aspect.length",
        "aspect.curvature",
        "aspect.depth",
        "aspect.breaks",
        "aspect.marks",
        "aspect.confidence",
        "follow_up",
        "timing",
        "hand.other",
        "hand.both",
        "hand.left",
        "hand.right",
    ];

    #[test]
    fn the_keyword_table_parses_and_covers_every_hit() {
        let groups: Vec<Group> = serde_json::from_str(KEYWORDS).expect("keywords.json parses");
        let named: std::collections::BTreeSet<&str> =
            groups.iter().map(|g| g.hit.as_str()).collect();
        let known: std::collections::BTreeSet<&str> = HITS.iter().copied().collect();
        assert_eq!(named, known, "the groups name each hit");
        assert!(HITS.iter().all(|h| hit_named(h).is_some()));
        assert!(hit_named("strong.nothing").is_none());

        let fixed = fixed().expect("every group's hit is known");
        let mut seen = std::collections::BTreeSet::new();
        for (phrase, _) in &fixed {
            assert!(!words(phrase).is_empty(), "{phrase:?} has words");
            assert!(
                seen.insert(phrase.as_str()),
                "{phrase:?} is in the table once"
            );
        }
    }
}
