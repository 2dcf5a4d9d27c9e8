//! Tests of the offline answerer: topic matching, composition from the reading, safety,
//! follow-ups, determinism and the disclaimer.

use super::{answer, Answer, Role, Topic, Turn};
use crate::features::{Element, Features, HandShape, LineId, MeasuredLine, QualityIssue};
use crate::interpret::test_support::{self, line, normalise, usable, SANCTIONED};
use crate::interpret::{mounts, RuleInterpreter, DISCLAIMER};
use crate::reading::{LineReading, Reading};
use crate::{HandSide, Interpret};

// ─────────────────────────────── readings ───────────────────────────────

/// The interpreter tests' readable photo, with an Earth hand.
fn features(lines: Vec<MeasuredLine>) -> Features {
    let mut f = usable(lines);
    f.shape = Some(HandShape {
        element: Element::Earth,
        palm_ratio: 1.02,
        finger_ratio: Some(0.7),
        index_to_ring: Some(1.06),
    });
    f
}

/// All six lines found, each with its own facts.
fn full() -> Reading {
    let mut fate = line(LineId::Fate, 0.5, 0.2, 0.4, 1, 1, 0);
    fate.confidence = 0.4;
    RuleInterpreter.interpret(&features(vec![
        line(LineId::Heart, 0.8, 0.9, 0.7, 0, 1, 0),
        line(LineId::Head, 0.6, 0.3, 0.5, 1, 0, 0),
        line(LineId::Life, 0.95, 2.3, 0.75, 0, 0, 1),
        fate,
        line(LineId::Sun, 0.3, 0.2, 0.35, 0, 0, 0),
        line(LineId::Mercury, 0.4, 0.7, 0.2, 3, 0, 0),
    ]))
}

/// Heart, head and life found; fate, sun and mercury not.
fn partial() -> Reading {
    RuleInterpreter.interpret(&features(vec![
        line(LineId::Heart, 0.8, 0.9, 0.7, 0, 1, 0),
        line(LineId::Head, 0.6, 0.3, 0.5, 1, 0, 0),
        line(LineId::Life, 0.95, 2.3, 0.75, 0, 0, 1),
    ]))
}

/// A photo that failed the quality gate.
fn unusable() -> Reading {
    let mut f = features(Vec::new());
    f.quality.usable = false;
    f.quality.issues = vec![QualityIssue::TooDark, QualityIssue::TooBlurry];
    f.shape = None;
    RuleInterpreter.interpret(&f)
}

/// The full reading of the right hand, with a left hand whose heart line is short.
fn two_hands() -> Reading {
    let mut left = features(vec![line(LineId::Heart, 0.3, 0.2, 0.5, 2, 0, 0)]);
    left.side = Some(HandSide::Left);
    let mut r = full();
    r.second_hand = Some(Box::new(RuleInterpreter.interpret(&left)));
    r
}

fn line_of(r: &Reading, id: LineId) -> &LineReading {
    r.lines
        .iter()
        .find(|l| l.id == id.code())
        .expect("every line is listed")
}

fn ask(r: &Reading, question: &str) -> Answer {
    answer(r, question, &[])
}

/// The answer without its closing disclaimer.
fn body(a: &Answer) -> &str {
    a.text
        .strip_suffix(DISCLAIMER)
        .unwrap_or_else(|| panic!("no disclaimer at the end: {}", a.text))
}

// ─────────────────────────────── safety scanner ───────────────────────────────

/// Words no answer may use (outside the disclaimer) besides the readings' list
/// (`test_support::FORBIDDEN_WORDS`): an answer must not put a number of years on anything.
const ANSWER_FORBIDDEN_WORDS: &[&str] = &["years", "age"];
/// Phrases no answer may use besides the readings' list.
const ANSWER_FORBIDDEN_PHRASES: &[&str] = &["will die"];

fn forbidden_hits(text: &str) -> Vec<&'static str> {
    let mut hits = test_support::forbidden_hits(text);
    let norm = normalise(text).replace(SANCTIONED, " ");
    let words: Vec<&str> = norm.split_whitespace().collect();
    hits.extend(
        ANSWER_FORBIDDEN_WORDS
            .iter()
            .copied()
            .filter(|w| words.contains(w)),
    );
    hits.extend(
        ANSWER_FORBIDDEN_PHRASES
            .iter()
            .copied()
            .filter(|p| norm.contains(&format!(" {p} "))),
    );
    hits
}

fn assert_safe(question: &str, a: &Answer) {
    let hits = forbidden_hits(body(a));
    assert!(hits.is_empty(), "{question:?} → {hits:?}: {}", a.text);
}

/// A spread of questions: every topic, odd spellings, safety, nonsense.
const QUESTIONS: &[&str] = &[
    "what does my heart line say?",
    "Hriday rekha",
    "tell me about hriday rekha",
    "head line",
    "mastishka rekha?",
    "jeevan rekha",
    "how long is my life line?",
    "bhagya",
    "surya rekha",
    "budh rekha",
    "what about my career?",
    "will I find love?",
    "what is my personality?",
    "my fingers",
    "Shukra parvat",
    "mount of the sun",
    "tell me about the mounts",
    "why is there no reading?",
    "what does my palm say",
    "summary please",
    "what are my strengths",
    "any advice?",
    "what do my lines say about breaks",
    "when will I get married?",
    "what does my health line say",
    "what about my marriage line",
    "love, career, fame and business",
    "what's the weather",
    "",
    "?!",
    "when will I die",
    "how long will I live",
    "will I get cancer",
    "is my health bad",
    "is my heart healthy",
    "will I have an accident?",
    "does my short life line mean an early death?",
    "meri umar kitni hai",
    "am I cursed?",
    "हृदय रेखा",
];

// ─────────────────────────────── lines ───────────────────────────────

#[test]
fn heart_line_answers_by_english_and_hindi_name() {
    let r = full();
    let heart = line_of(&r, LineId::Heart);
    for q in [
        "what does my heart line say?",
        "Hriday rekha",
        "tell me about hriday rekha",
        "HRIDAYA REKHA!!",
        "hriday",
        "Heart-line?",
        "हृदय रेखा",
    ] {
        let a = ask(&r, q);
        assert_eq!(a.topics, vec![Topic::Line(LineId::Heart)], "{q}");
        assert!(a.covered, "{q}");
        let text = body(&a);
        // Its measured facts: 0.8 of the palm, long for a heart line, unbroken, a fork.
        assert!(
            text.contains("80% of the length of your palm"),
            "{q}: {text}"
        );
        assert!(text.contains("long for this line"), "{q}: {text}");
        assert!(text.contains("unbroken"), "{q}: {text}");
        assert!(text.contains("deeply etched"), "{q}: {text}");
        assert!(text.contains("a fork"), "{q}: {text}");
        // And its reading text.
        assert!(text.contains(heart.reading.as_str()), "{q}: {text}");
        assert!(text.contains("Hriday rekha (Heart line)"), "{q}");
    }
}

#[test]
fn every_line_answers_by_english_hindi_and_transliterated_names() {
    let r = full();
    let cases: &[(LineId, &[&str])] = &[
        (
            LineId::Heart,
            &["heart line", "Hriday rekha", "hridaya", "line of the heart"],
        ),
        (
            LineId::Head,
            &["head line", "Mastishk rekha", "mastishka", "mastishk"],
        ),
        (
            LineId::Life,
            &[
                "life line",
                "Jeevan rekha",
                "jivan rekha",
                "jeevan",
                "lifeline",
            ],
        ),
        (
            LineId::Fate,
            &[
                "fate line",
                "Bhagya rekha",
                "bhagya",
                "saturn line",
                "destiny line",
            ],
        ),
        (
            LineId::Sun,
            &["sun line", "Surya rekha", "surya", "apollo line", "sun"],
        ),
        (
            LineId::Mercury,
            &[
                "mercury line",
                "Budh rekha",
                "budh",
                "budha rekha",
                "mercury",
            ],
        ),
    ];
    for (id, questions) in cases {
        let own = line_of(&r, *id);
        for q in *questions {
            let a = ask(&r, &format!("What does my {q} say?"));
            assert_eq!(a.topics, vec![Topic::Line(*id)], "{q}");
            assert!(a.covered);
            assert!(body(&a).contains(own.reading.as_str()), "{q}");
            assert!(body(&a).contains(id.hindi()), "{q}");
        }
    }
}

#[test]
fn topic_words_map_to_their_lines_and_the_shape() {
    let r = full();
    let cases: &[(&str, Topic)] = &[
        ("How is my career looking?", Topic::Line(LineId::Fate)),
        ("what about my work and purpose", Topic::Line(LineId::Fate)),
        ("Will I find love?", Topic::Line(LineId::Heart)),
        ("tell me about my marriage", Topic::Line(LineId::Heart)),
        ("my relationships and emotions", Topic::Line(LineId::Heart)),
        ("How do I make decisions?", Topic::Line(LineId::Head)),
        ("what about my intellect", Topic::Line(LineId::Head)),
        (
            "what about my energy and vitality",
            Topic::Line(LineId::Life),
        ),
        ("Will I be famous?", Topic::Line(LineId::Sun)),
        ("am I creative", Topic::Line(LineId::Sun)),
        (
            "what about business and communication",
            Topic::Line(LineId::Mercury),
        ),
        ("what does my palm say about my personality?", Topic::Shape),
        ("my temperament", Topic::Shape),
        ("what element is my hand", Topic::Shape),
        ("what do my fingers say", Topic::Fingers),
        ("what does my palm say", Topic::Summary),
        ("give me a summary", Topic::Summary),
        ("what are my strengths", Topic::Strengths),
        ("any advice for me?", Topic::Guidance),
        ("was my photo good enough?", Topic::Quality),
        ("tell me about the mounts", Topic::Mounts),
        ("what do my lines say", Topic::Lines),
    ];
    for (q, topic) in cases {
        let a = ask(&r, q);
        assert_eq!(a.topics.first(), Some(topic), "{q}: {:?}", a.topics);
        assert!(a.covered, "{q}");
    }
    // Career decisions: both the head line and the fate line.
    let a = ask(&r, "what about my career decisions?");
    assert!(a.topics.contains(&Topic::Line(LineId::Fate)));
    assert!(a.topics.contains(&Topic::Line(LineId::Head)));
    // The shape answer is the reading's own.
    let shape = r.shape.as_ref().expect("shape");
    let a = ask(&r, "what is my personality?");
    assert!(body(&a).contains(shape.reading.as_str()));
    assert!(body(&a).contains("an Earth hand (Prithvi)"));
    // The fingers answer is the reading's own.
    let fingers = r.fingers.as_ref().expect("fingers");
    assert!(body(&ask(&r, "my fingers")).contains(fingers.reading.as_str()));
}

#[test]
fn mounts_answer_by_hindi_and_english_name_and_say_not_assessed() {
    let r = full();
    let cases: &[(&str, &str)] = &[
        ("Shukra parvat", "venus"),
        ("what does the Mount of Venus say?", "venus"),
        ("tell me about guru parvat", "jupiter"),
        ("Jupiter mount", "jupiter"),
        ("shani parvat", "saturn"),
        ("surya parvat", "sun"),
        ("mount of the sun", "sun"),
        ("budh parvat", "mercury"),
        ("mount of the moon", "moon"),
        ("chandra", "moon"),
        ("rahu", "rahu"),
        ("ketu parvat", "ketu"),
        ("upper mars", "mars_outer"),
        ("the inner mount of Mars", "mars_inner"),
    ];
    for (q, id) in cases {
        let a = ask(&r, q);
        let m = r.mounts.iter().find(|m| m.id == *id).expect("mount");
        assert_eq!(a.topics, vec![Topic::Mount(id)], "{q}");
        assert!(a.covered);
        let text = body(&a);
        assert!(text.contains("was not assessed"), "{q}: {text}");
        assert!(text.contains("flat photo"), "{q}");
        let own = m.reading.strip_suffix(mounts::FLAT_PHOTO).expect("suffix");
        assert!(text.contains(own.trim()), "{q}: {text}");
    }
    // Mangal alone: both Mars mounts.
    let a = ask(&r, "mangal parvat");
    assert_eq!(
        a.topics,
        vec![Topic::Mount("mars_inner"), Topic::Mount("mars_outer")]
    );
    // Surya alone is the line; with "parvat" or "mount" it is the mount.
    assert_eq!(ask(&r, "surya").topics, vec![Topic::Line(LineId::Sun)]);
    assert_eq!(
        ask(&r, "what does the sun mean on my mount?").topics,
        vec![Topic::Mount("sun")]
    );
}

#[test]
fn a_line_not_found_is_said_plainly() {
    let r = partial();
    for q in ["what does my Budh rekha say?", "sun line", "bhagya rekha"] {
        let a = ask(&r, q);
        assert!(a.covered, "{q}");
        assert_eq!(a.topics.len(), 1);
        let text = body(&a);
        assert!(
            text.contains("was not clearly visible in this photo"),
            "{q}: {text}"
        );
        assert!(text.contains("does not interpret it"), "{q}");
        // Nothing measured is invented.
        assert!(!text.contains('%'), "{q}: {text}");
        assert!(!text.contains("depth"), "{q}: {text}");
    }
}

#[test]
fn an_unusable_photo_gets_its_quality_advice() {
    let r = unusable();
    for q in [
        "what does my heart line say?",
        "my personality",
        "what does my palm say",
    ] {
        let a = ask(&r, q);
        assert!(a.covered, "{q}");
        assert!(a.topics.contains(&Topic::Quality), "{q}");
        let text = body(&a);
        assert!(text.contains("This photo could not be read"), "{q}: {text}");
        for issue in [QualityIssue::TooDark, QualityIssue::TooBlurry] {
            assert!(text.contains(issue.advice()), "{q}: {text}");
        }
        assert!(!text.contains('%'), "{q}: {text}");
    }
    let a = ask(&r, "why is there no reading?");
    assert_eq!(a.topics, vec![Topic::Quality]);
    assert!(body(&a).contains(QualityIssue::TooDark.advice()));
    // Mounts are not measured from the photo, so they are still described.
    let a = ask(&r, "shukra parvat");
    assert_eq!(a.topics, vec![Topic::Mount("venus")]);
    assert!(body(&a).contains("was not assessed"));
}

#[test]
fn a_usable_photo_quality_answer_names_the_lines_not_seen() {
    let a = ask(&partial(), "how was the photo quality?");
    assert_eq!(a.topics, vec![Topic::Quality]);
    let text = body(&a);
    assert!(text.contains("passed the quality check"));
    for name in ["Bhagya rekha", "Surya rekha", "Budh rekha"] {
        assert!(text.contains(name), "{text}");
    }
}

#[test]
fn an_unrelated_question_is_not_covered_and_lists_the_topics() {
    let r = full();
    for q in [
        "what's the weather",
        "Who will win the cricket match?",
        "",
        "?!",
    ] {
        let a = ask(&r, q);
        assert!(!a.covered, "{q}");
        assert!(a.topics.is_empty(), "{q}");
        let text = body(&a);
        assert!(text.contains("does not cover that"), "{q}");
        for id in LineId::ALL {
            assert!(text.contains(id.hindi()), "{q}: {text}");
            assert!(text.contains(id.english()), "{q}: {text}");
        }
        for topic in [
            "hand shape",
            "fingers",
            "mounts (parvat)",
            "Shukra parvat",
            "photo",
        ] {
            assert!(text.contains(topic), "{q}: {topic}");
        }
    }
}

#[test]
fn lines_the_reading_does_not_trace_are_not_covered() {
    let r = full();
    let a = ask(&r, "what does my marriage line say?");
    assert!(!a.covered);
    assert!(a.topics.is_empty());
    assert!(body(&a).contains("Vivah rekha"));
    assert!(body(&a).contains("I can talk about"));
    let a = ask(&r, "Girdle of Venus?");
    assert!(!a.covered);
    assert!(body(&a).contains("Shukra mudrika"));
    // With a topic it does cover, that topic is answered too.
    let a = ask(&r, "my marriage line and my love life");
    assert!(a.covered);
    assert_eq!(a.topics, vec![Topic::Line(LineId::Heart)]);
}

// ─────────────────────────────── safety ───────────────────────────────

#[test]
fn lifespan_illness_and_death_questions_are_refused_without_a_prediction() {
    let r = full();
    let lifespan = [
        "When will I die?",
        "How long will I live?",
        "how many years do I have left",
        "Does my short life line mean an early death?",
        "will I live long?",
        "what is my life expectancy according to my jeevan rekha",
        "meri umar kitni hai",
    ];
    let body_and_luck = [
        "Will I get cancer?",
        "Is my health bad?",
        "is my heart healthy?",
        "will I get sick this year",
        "Will I have an accident?",
        "am I cursed?",
        "does my heart line show heart disease",
    ];
    for q in lifespan.iter().chain(&body_and_luck) {
        let a = ask(&r, q);
        assert_eq!(a.topics, vec![Topic::Safety], "{q}");
        assert!(!a.covered, "{q}");
        let text = body(&a);
        assert!(text.contains("for reflection"), "{q}: {text}");
        assert!(
            !text.chars().any(|c| c.is_ascii_digit()),
            "a number in {q}: {text}"
        );
        assert_safe(q, &a);
        // Nothing from the reading's measurements or paragraphs.
        assert!(!text.contains(line_of(&r, LineId::Life).reading.as_str()));
    }
    for q in lifespan {
        assert!(
            body(&ask(&r, q)).contains(
                "vitality, enthusiasm and the way you spend your energy, not the length of life"
            ),
            "{q}"
        );
    }
    assert!(body(&ask(&r, "is my heart healthy?")).contains("not of the physical heart"));
    assert!(body(&ask(&r, "Is my health bad?")).contains("doctor"));
}

#[test]
fn the_length_of_the_life_line_is_answered_as_vitality() {
    let r = full();
    let a = ask(&r, "how long is my life line?");
    assert_eq!(a.topics, vec![Topic::Line(LineId::Life)]);
    assert!(a.covered);
    let text = body(&a);
    assert!(text.contains("95% of the length of your palm"), "{text}");
    assert!(text.contains("not the length of life"), "{text}");
    assert_safe("how long is my life line?", &a);
}

#[test]
fn the_health_line_is_the_mercury_line_read_for_commerce_only() {
    let r = full();
    let a = ask(&r, "what does my health line say?");
    assert_eq!(a.topics, vec![Topic::Line(LineId::Mercury)]);
    assert!(a.covered);
    let text = body(&a);
    assert!(text.contains("never for anything about your physical wellbeing"));
    assert!(text.contains(line_of(&r, LineId::Mercury).reading.as_str()));
    assert_safe("health line", &a);
    // Asking about the body through it is still refused.
    let a = ask(&r, "does my health line show illness?");
    assert_eq!(a.topics, vec![Topic::Safety]);
    assert!(!a.covered);
}

#[test]
fn no_answer_uses_forbidden_words_outside_the_disclaimer() {
    for r in [full(), partial(), unusable(), two_hands()] {
        for q in QUESTIONS {
            assert_safe(q, &ask(&r, q));
        }
    }
}

// ─────────────────────────────── follow-ups ───────────────────────────────

#[test]
fn a_follow_up_resolves_it_to_the_previous_topic() {
    let r = full();
    let history = vec![
        Turn::user("what does my heart line say?"),
        Turn::assistant(ask(&r, "what does my heart line say?").text),
    ];
    let a = answer(&r, "and what about its breaks?", &history);
    assert_eq!(a.topics, vec![Topic::Line(LineId::Heart)]);
    assert!(a.covered);
    assert!(body(&a).contains("It runs unbroken, with no breaks."));
    // Focused on the breaks: the break paragraph, not the whole reading.
    assert!(!body(&a).contains(line_of(&r, LineId::Heart).reading.as_str()));

    // The latest topic wins.
    let mut history = history;
    history.push(Turn::user("Mastishk rekha"));
    history.push(Turn::assistant("…"));
    let a = answer(&r, "and its breaks?", &history);
    assert_eq!(a.topics, vec![Topic::Line(LineId::Head)]);
    assert!(body(&a).contains("It shows 1 break, so it reads as broken."));
    let a = answer(&r, "tell me more about that", &history);
    assert_eq!(a.topics, vec![Topic::Line(LineId::Head)]);
    let a = answer(&r, "how deep is it?", &history);
    assert!(body(&a).contains("depth 0.50"), "{}", a.text);

    // A question with its own topic ignores the history.
    let a = answer(&r, "what about the fate line?", &history);
    assert_eq!(a.topics, vec![Topic::Line(LineId::Fate)]);

    // The current question repeated as the last history turn is skipped.
    let mut repeated = history.clone();
    repeated.push(Turn::user("and its length?"));
    let a = answer(&r, "and its length?", &repeated);
    assert_eq!(a.topics, vec![Topic::Line(LineId::Head)]);

    // Assistant turns are not questions.
    let only_assistant = vec![Turn {
        role: Role::Assistant,
        content: "Your Hriday rekha …".to_string(),
    }];
    assert!(!answer(&r, "what about it?", &only_assistant).covered);
}

#[test]
fn follow_ups_without_history_or_after_a_refusal() {
    let r = full();
    // An aspect with nothing to refer to: every line, for that aspect.
    let a = ask(&r, "what about the breaks?");
    assert_eq!(a.topics, vec![Topic::Lines]);
    assert!(body(&a).contains("with 3 breaks"));
    // A bare pronoun with nothing to refer to is not covered.
    assert!(!ask(&r, "what about it?").covered);
    // A follow-up to a refused question is refused again.
    let history = vec![Turn::user("when will I die?"), Turn::assistant("…")];
    let a = answer(&r, "but really, tell me more about it", &history);
    assert_eq!(a.topics, vec![Topic::Safety]);
    assert!(!a.covered);
}

// ─────────────────────────────── the rest ───────────────────────────────

#[test]
fn a_fused_head_heart_line_shows_its_merging() {
    let mut heart = line(LineId::Heart, 0.8, 0.9, 0.7, 0, 0, 0);
    heart.fused_with = Some(LineId::Head);
    let mut head = line(LineId::Head, 0.8, 0.3, 0.65, 0, 0, 0);
    head.fused_with = Some(LineId::Heart);
    let r = RuleInterpreter.interpret(&features(vec![heart, head]));
    let a = ask(&r, "what are the marks on my heart line?");
    assert_eq!(a.topics, vec![Topic::Line(LineId::Heart)]);
    assert!(body(&a).contains("Marks noted on it: a merging with the Mastishk rekha."));
    assert!(body(&a).contains(crate::interpret::rules::FUSED_HEAD_HEART));
    let a = ask(&r, "simian line");
    assert_eq!(
        a.topics,
        vec![Topic::Line(LineId::Heart), Topic::Line(LineId::Head)]
    );
}

#[test]
fn timing_questions_get_tendencies_not_dates() {
    let r = full();
    let a = ask(&r, "When will I get married?");
    assert_eq!(a.topics, vec![Topic::Line(LineId::Heart)]);
    assert!(body(&a).contains("no timings"));
}

#[test]
fn many_topics_are_capped_and_the_rest_named() {
    let r = full();
    let a = ask(&r, "love, career, fame and business?");
    assert_eq!(
        a.topics,
        vec![
            Topic::Line(LineId::Heart),
            Topic::Line(LineId::Fate),
            Topic::Line(LineId::Sun)
        ]
    );
    assert!(body(&a).contains("You also asked about your Budh rekha (Mercury line)"));
}

#[test]
fn the_other_hand_is_answered_from_its_own_reading() {
    let r = two_hands();
    let left = r.second_hand.as_ref().expect("second hand");
    let a = ask(&r, "what does the heart line on my left hand say?");
    assert_eq!(a.topics, vec![Topic::Line(LineId::Heart)]);
    let text = body(&a);
    assert!(text.starts_with("From your left hand:"), "{text}");
    assert!(text.contains(line_of(left, LineId::Heart).reading.as_str()));
    assert!(text.contains("30% of the length of your palm"));
    // The right hand is the main reading.
    let a = ask(&r, "heart line on my right hand");
    assert!(body(&a).contains("80% of the length of your palm"));
    // Both hands.
    let a = ask(&r, "compare the heart line on both hands");
    assert!(body(&a).contains("From your right hand:"));
    assert!(body(&a).contains("From your left hand:"));
    // Only one hand read.
    let a = ask(&full(), "what about the heart line on my other hand?");
    assert!(body(&a).contains("Only one hand was read"));
}

#[test]
fn answers_are_deterministic() {
    let history = vec![Turn::user("heart line"), Turn::assistant("…")];
    for r in [full(), partial(), unusable(), two_hands()] {
        for q in QUESTIONS {
            let first = answer(&r, q, &history);
            let second = answer(&r.clone(), q, &history.clone());
            assert_eq!(first, second, "{q}");
        }
    }
}

#[test]
fn every_answer_ends_with_the_disclaimer() {
    let history = [Turn::user("jeevan rekha"), Turn::assistant("…")];
    for r in [full(), partial(), unusable(), two_hands()] {
        for q in QUESTIONS.iter().chain(&["and its breaks?", "why?"]) {
            for h in [&[][..], &history[..]] {
                let a = answer(&r, q, h);
                assert!(a.text.ends_with(&r.disclaimer), "{q}: {}", a.text);
                assert!(!body(&a).trim().is_empty(), "{q}");
            }
        }
    }
}

#[test]
fn answers_stay_short() {
    let r = full();
    for q in QUESTIONS {
        let a = ask(&r, q);
        let paragraphs = a.text.split("\n\n").count();
        assert!(paragraphs <= 12, "{q}: {paragraphs} paragraphs");
    }
    // A single mount or a refusal is a paragraph or two, plus the disclaimer.
    assert!(ask(&r, "Shukra parvat").text.split("\n\n").count() <= 3);
    assert!(ask(&r, "when will I die").text.split("\n\n").count() <= 3);
}

#[test]
fn answers_serialise_with_topic_codes() {
    let r = full();
    let a = ask(&r, "heart line and shukra parvat");
    let json = serde_json::to_value(&a).expect("serialises");
    assert_eq!(
        json["topics"],
        serde_json::json!(["heart_line", "mount_venus"])
    );
    assert_eq!(json["covered"], serde_json::json!(true));
    let turn: Turn = serde_json::from_value(serde_json::json!({"role": "user", "content": "hi"}))
        .expect("a turn");
    assert_eq!(turn, Turn::user("hi"));
}

#[test]
fn which_hand_to_read_is_answered_not_summarised() {
    let r = full();
    for q in [
        "Which hand should I read, left or right?",
        "which palm do you read?",
        "should it be my dominant hand?",
    ] {
        let a = ask(&r, q);
        assert_eq!(a.topics, vec![Topic::WhichHand], "{q}");
        assert!(a.covered, "{q}");
        assert!(body(&a).contains("both hands"), "{q}: {}", a.text);
        assert!(
            !body(&a).contains(r.summary.as_str()),
            "{q}: not the summary"
        );
    }
}
