//! The question → what it asks about.
//!
//! The question is lower-cased and cut into words at anything that is not a letter or a
//! digit ("Hriday-rekha?" → `hriday rekha`). The keyword table below is matched longest
//! phrase first, each word used by at most one phrase, so "heart attack" is a safety
//! phrase before "heart" can be the heart line, and "Surya parvat" is the Mount of the
//! Sun before "surya" alone can be the sun line. A word also matches its plural in -s.
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

/// Fixed phrases, each with its hit.
fn fixed() -> Vec<(&'static str, Hit)> {
    type A = self::Aspect;
    type C = self::Concern;
    use Hit::{Aspect, Concern, FollowUp, Hand, HealthLine, Strong, Timing, Weak};
    type U = self::Unmeasured;
    let mut out: Vec<(&'static str, Hit)> = Vec::new();
    let mut add = |phrases: &[&'static str], hit: Hit| {
        out.extend(phrases.iter().map(|p| (*p, hit)));
    };

    // ── safety: never answered ──
    add(
        &[
            "die",
            "dies",
            "died",
            "dying",
            "death",
            "dead",
            "deceased",
            "lifespan",
            "longevity",
            "mortality",
            "mortal",
            "mrityu",
            "maut",
            "umar",
            "umr",
            "aayu",
            "aayush",
            "afterlife",
            "funeral",
            "suicide",
            "life span",
            "life expectancy",
            "long life",
            "short life",
            "live long",
            "live longer",
            "live to",
            "live till",
            "live until",
            "die young",
            "how long will i live",
            "how long i will live",
            "how long i ll live",
            "how long do i have",
            "how long have i got",
            "how long will i be alive",
            "how many years",
            "years left",
            "years to live",
            "how old will i",
            "when will i die",
            "pass away",
            "passed away",
            "मृत्यु",
            "मौत",
            "आयु",
            "उम्र",
        ],
        Concern(C::Lifespan),
    );
    add(
        &[
            "health",
            "healthy",
            "unhealthy",
            "ill",
            "illness",
            "sick",
            "sickness",
            "disease",
            "cancer",
            "tumour",
            "tumor",
            "diabetes",
            "surgery",
            "hospital",
            "medical",
            "medicine",
            "doctor",
            "diagnosis",
            "symptom",
            "pregnant",
            "pregnancy",
            "fertility",
            "infertile",
            "miscarriage",
            "depression",
            "anxiety",
            "bimari",
            "beemari",
            "bimaari",
            "rog",
            "heart attack",
            "heart disease",
            "heart problem",
            "heart trouble",
            "blood pressure",
            "mental illness",
            "बीमारी",
            "रोग",
            "स्वास्थ्य",
        ],
        Concern(C::Body),
    );
    add(
        &[
            "accident",
            "accidents",
            "injury",
            "injured",
            "crash",
            "danger",
            "dangerous",
            "misfortune",
            "disaster",
            "tragedy",
            "calamity",
            "curse",
            "cursed",
            "doom",
            "doomed",
            "unlucky",
            "bad luck",
            "something bad",
            "dosh",
            "dosha",
            "durghatna",
            "दुर्घटना",
        ],
        Concern(C::Misfortune),
    );
    // The Budh rekha's old name; the body is still not read from it.
    add(&["health line", "hepatica", "liver line"], HealthLine);

    // ── lines not traced ──
    add(
        &[
            "marriage line",
            "vivah rekha",
            "vivaah rekha",
            "affection line",
            "relationship line",
            "union line",
        ],
        Hit::Unmeasured(U::Marriage),
    );
    add(
        &[
            "children line",
            "child line",
            "children",
            "santan",
            "santan rekha",
            "santaan",
            "kids",
        ],
        Hit::Unmeasured(U::Children),
    );
    add(
        &["travel line", "yatra rekha", "travel"],
        Hit::Unmeasured(U::Travel),
    );
    add(
        &[
            "bracelet",
            "bracelets",
            "rascette",
            "rascettes",
            "manibandh",
            "manibandha",
            "wrist line",
        ],
        Hit::Unmeasured(U::Bracelets),
    );
    add(
        &["girdle of venus", "shukra mudrika", "venus girdle"],
        Hit::Unmeasured(U::Girdle),
    );
    add(
        &["intuition line", "line of intuition"],
        Hit::Unmeasured(U::Intuition),
    );
    add(
        &[
            "ring of solomon",
            "solomon s ring",
            "guru mudrika",
            "solomon",
        ],
        Hit::Unmeasured(U::Solomon),
    );

    // ── topic words ──
    add(
        &[
            "love",
            "loving",
            "lover",
            "romance",
            "romantic",
            "relationship",
            "partner",
            "marriage",
            "married",
            "marry",
            "wedding",
            "spouse",
            "husband",
            "wife",
            "emotion",
            "emotional",
            "feeling",
            "feelings",
            "affection",
            "dil",
            "prem",
            "pyar",
            "pyaar",
            "ishq",
            "shaadi",
            "shadi",
            "vivah",
            "vivaah",
            "soulmate",
            "soul mate",
        ],
        Strong(HEART),
    );
    add(
        &[
            "mind",
            "thinking",
            "thought",
            "intellect",
            "intelligence",
            "intellectual",
            "brain",
            "decision",
            "decide",
            "deciding",
            "study",
            "studies",
            "studying",
            "education",
            "exam",
            "learning",
            "focus",
            "concentration",
            "memory",
            "logic",
            "reasoning",
            "clever",
            "smart",
            "buddhi",
            "dimag",
            "dimaag",
        ],
        Strong(HEAD),
    );
    add(
        &[
            "lifeline",
            "vitality",
            "energy",
            "energetic",
            "stamina",
            "vigour",
            "vigor",
            "enthusiasm",
            "zest",
            "prana",
            "urja",
        ],
        Strong(LIFE),
    );
    add(
        &[
            "career",
            "job",
            "work",
            "working",
            "profession",
            "professional",
            "vocation",
            "purpose",
            "direction",
            "calling",
            "promotion",
            "kismat",
            "kismet",
            "naukri",
            "life path",
        ],
        Strong(FATE),
    );
    add(
        &[
            "successful",
            "fame",
            "famous",
            "recognition",
            "reputation",
            "creativity",
            "creative",
            "art",
            "artistic",
            "artist",
            "yash",
            "prasiddhi",
            "celebrity",
        ],
        Strong(SUN),
    );
    add(
        &[
            "communication",
            "communicate",
            "communicating",
            "speaking",
            "speech",
            "writing",
            "business",
            "commerce",
            "commercial",
            "trade",
            "trading",
            "sales",
            "negotiation",
            "vyapar",
            "vyapaar",
            "vyaapar",
            "vyavsay",
        ],
        Strong(MERCURY),
    );
    add(
        &[
            "money",
            "wealth",
            "finance",
            "financial",
            "rich",
            "dhan",
            "paisa",
        ],
        Strong(MONEY),
    );
    add(
        &[
            "hand shape",
            "shape",
            "hand type",
            "type of hand",
            "kind of hand",
            "personality",
            "temperament",
            "character",
            "nature",
            "element",
            "prithvi",
            "vayu",
            "agni",
            "jal",
            "jala",
            "earth",
            "air",
            "fire",
            "water",
            "kind of person",
            "who am i",
            "prakriti",
            "swabhav",
            "swabhaav",
            "svabhav",
            "swabhaw",
        ],
        Strong(SHAPE),
    );
    add(
        &[
            "finger",
            "index finger",
            "ring finger",
            "tarjani",
            "anamika",
            "thumb",
            "angutha",
            "angustha",
            "ungli",
            "digit ratio",
        ],
        Strong(FINGERS),
    );
    add(
        &[
            "quality",
            "blurry",
            "blurred",
            "blur",
            "dark",
            "too bright",
            "lighting",
            "retake",
            "unusable",
            "unreadable",
            "no reading",
            "not read",
            "could not read",
            "couldn t read",
            "can t read",
            "cannot read",
            "not visible",
            "not found",
            "missing",
        ],
        Strong(QUALITY),
    );
    add(
        &[
            "summary",
            "summarise",
            "summarize",
            "overall",
            "overview",
            "in short",
            "whole reading",
            "full reading",
        ],
        Strong(SUMMARY),
    );
    add(
        &[
            "strength",
            "strong point",
            "good at",
            "gift",
            "best qualities",
            "best quality",
            "positive",
        ],
        Strong(STRENGTHS),
    );
    add(
        &[
            "advice",
            "guidance",
            "suggestion",
            "suggest",
            "improve",
            "work on",
            "tip",
            "what should i do",
            "upay",
            "upaay",
            "remedy",
            "remedies",
        ],
        Strong(GUIDANCE),
    );
    add(
        &[
            "which hand",
            "which palm",
            "what hand",
            "which one should i",
            "left or right",
            "right or left",
            "dominant hand",
            "kaun sa haath",
            "konsa haath",
            "kaunsa haath",
        ],
        Strong(WHICH_HAND),
    );

    // ── weak topics ──
    add(
        &[
            "palm",
            "hand",
            "reading",
            "haath",
            "hath",
            "hast",
            "general",
            "future",
            "everything",
        ],
        Weak(Topic::Summary),
    );
    add(
        &["lines", "rekhas", "rekhaen", "rekhayen"],
        Weak(Topic::Lines),
    );
    add(
        &["photo", "picture", "pic", "image", "camera", "upload"],
        Weak(Topic::Quality),
    );

    // ── aspects of a line ──
    add(
        &[
            "length", "long", "longer", "short", "shorter", "how long", "lamba", "lambi",
        ],
        Aspect(A::Length),
    );
    add(
        &[
            "curve",
            "curved",
            "curvature",
            "curvy",
            "straight",
            "bend",
            "bent",
            "arc",
        ],
        Aspect(A::Curvature),
    );
    add(
        &[
            "depth", "deep", "deeper", "faint", "shallow", "strong", "weak", "clear", "clarity",
        ],
        Aspect(A::Depth),
    );
    add(
        &[
            "break",
            "broken",
            "gap",
            "continuity",
            "unbroken",
            "fragmented",
            "segment",
            "interrupted",
            "chain",
            "chained",
        ],
        Aspect(A::Breaks),
    );
    add(
        &[
            "mark",
            "fork",
            "forked",
            "island",
            "branch",
            "branches",
            "branching",
            "sign",
            "star",
            "cross",
            "fused",
            "joined",
            "merge",
            "merged",
            "merging",
        ],
        Aspect(A::Marks),
    );
    add(
        &[
            "confidence",
            "confident",
            "sure",
            "certain",
            "accurate",
            "accuracy",
            "reliable",
        ],
        Aspect(A::Confidence),
    );

    // ── follow-ups, timing, hands ──
    add(
        &[
            "it",
            "its",
            "it s",
            "that",
            "this",
            "these",
            "those",
            "they",
            "them",
            "their",
            "what about",
            "how about",
            "tell me more",
            "more",
            "why",
            "explain",
            "elaborate",
            "go on",
            "continue",
            "meaning",
            "mean",
        ],
        FollowUp,
    );
    add(
        &[
            "when",
            "what age",
            "which age",
            "which year",
            "what year",
            "how soon",
            "soon",
            "kab",
            "age",
        ],
        Timing,
    );
    add(
        &[
            "other hand",
            "second hand",
            "another hand",
            "other palm",
            "second palm",
        ],
        Hand(self::Hand::Other),
    );
    add(
        &[
            "both hands",
            "two hands",
            "both palms",
            "compare",
            "comparison",
            "difference",
        ],
        Hand(self::Hand::Both),
    );
    add(
        &["left hand", "left palm", "baya haath", "left one"],
        Hand(self::Hand::Side(HandSide::Left)),
    );
    add(
        &["right hand", "right palm", "daya haath", "right one"],
        Hand(self::Hand::Side(HandSide::Right)),
    );
    out
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
        for (phrase, hit) in fixed() {
            entries.push(Entry {
                words: words(phrase),
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
