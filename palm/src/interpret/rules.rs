//! The rule table: (line, value band) → a paragraph in the Indian tradition (Hast Rekha
//! Shastra), with an optional strength bullet, reflective suggestion and summary gist.
//!
//! House rules for every text here (enforced by the safety test in `tests.rs`): warm,
//! reflective, never fatalistic; nothing about lifespan, illness, death, accidents or a
//! fixed fate; breaks are changes and transitions; no medical claims; no promises about
//! the future ("you will …"). The length of the Jeevan rekha reflects vitality and how
//! energy is spent, not the length of life.

use super::bands::{Band, FingerBand};
use crate::features::{Element, LineId};

/// One entry of the rule table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub line: LineId,
    pub band: Band,
    /// The paragraph (2–4 sentences).
    pub text: &'static str,
    /// For length bands: a noun phrase for the summary ("… suggests {gist}").
    pub gist: Option<&'static str>,
    /// A strength bullet (the line name and band are appended).
    pub strength: Option<&'static str>,
    /// A reflective suggestion.
    pub guidance: Option<&'static str>,
}

const fn rule(line: LineId, band: Band, text: &'static str) -> Rule {
    Rule {
        line,
        band,
        text,
        gist: None,
        strength: None,
        guidance: None,
    }
}

impl Rule {
    const fn gist(self, gist: &'static str) -> Rule {
        Rule {
            gist: Some(gist),
            ..self
        }
    }
    const fn strength(self, strength: &'static str) -> Rule {
        Rule {
            strength: Some(strength),
            ..self
        }
    }
    const fn guidance(self, guidance: &'static str) -> Rule {
        Rule {
            guidance: Some(guidance),
            ..self
        }
    }
}

/// The rule for one line and band (every pair has exactly one; a test checks).
pub fn rule_for(line: LineId, band: Band) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.line == line && r.band == band)
}

/// Opening paragraph for a line that was found: where it runs, what it speaks of.
pub fn intro(line: LineId) -> &'static str {
    match line {
        LineId::Heart => "The Hriday rekha, the heart line, runs across the upper palm beneath the fingers, from the outer edge below Budh's finger towards Guru's. In Hast Rekha Shastra it speaks of feeling: how you love, how you show warmth, and how you carry your emotional life.",
        LineId::Head => "The Mastishk rekha, the head line, begins between the thumb and the index finger and crosses the middle of the palm. The tradition reads it as the line of the mind: how you think, learn, decide and focus your attention.",
        LineId::Life => "The Jeevan rekha, the life line, curves around the base of the thumb, enclosing Shukra parvat, the Mount of Venus. Despite its name, in the tradition it reflects vitality, enthusiasm and the way you spend your energy, not the length of life.",
        LineId::Fate => "The Bhagya rekha, often called the fate line, rises through the centre of the palm towards Shani parvat beneath the middle finger. The tradition reads it as the line of work, purpose and direction: the path you build through your own effort and choices.",
        LineId::Sun => "The Surya rekha, the sun line, rises towards Surya parvat beneath the ring finger. It is traditionally linked with creativity, recognition and the quiet joy of doing work that feels like your own.",
        LineId::Mercury => "The Budh rekha, the Mercury line, runs up the palm towards Budh parvat beneath the little finger. Palmists associate it with communication, commerce and quick, practical intelligence: how you exchange ideas and handle the business of daily life.",
    }
}

/// For a line the measure stage did not find: said plainly, nothing invented.
pub fn not_found(line: LineId) -> String {
    let common = match line {
        LineId::Fate | LineId::Sun | LineId::Mercury => {
            " Many hands show this line only faintly or not at all."
        }
        LineId::Heart | LineId::Head | LineId::Life => "",
    };
    format!(
        "The {} ({}) could not be seen clearly in this photo, so it is not interpreted here.{} A sharper photo in bright, even light may show it.",
        line.hindi(),
        line.english(),
        common
    )
}

/// For every line when the photo failed the quality gate.
pub fn not_read(line: LineId) -> String {
    format!(
        "The {} ({}) was not read because this photo could not be used. Please retake the photo; the quality advice explains what to change.",
        line.hindi(),
        line.english()
    )
}

/// The fused head-heart line (one crease for both), on either line's record.
pub const FUSED_HEAD_HEART: &str = "Here the Hriday rekha and the Mastishk rekha run together as a single crease across the palm, the line the tradition discusses as uniting thought and feeling. Palmists read it as intensity and single-mindedness: when you commit to something, head and heart move as one. The gentle counsel of such a line is to pause now and then, giving feeling and reason each a moment of their own.";
/// Summary gist of the fused line.
pub const FUSED_GIST: &str = "thought and feeling working as one";
/// Strength of the fused line.
pub const FUSED_STRENGTH: &str =
    "Single-minded intensity, with thought and feeling acting as one (Hriday and Mastishk rekha, fused)";
/// Suggestion for the fused line.
pub const FUSED_GUIDANCE: &str = "Before a big decision, give your feelings and your reasoning each a separate hearing; a fused line is strongest when both have spoken.";

/// Two other lines merging for part of their course.
pub fn fused_other(line: LineId, other: LineId) -> String {
    format!(
        "In this photo the {} seems to merge with the {} for part of its course. Palmists read such a meeting as two themes of life working closely together. The paragraphs that follow describe the crease as it was measured.",
        line.hindi(),
        other.hindi()
    )
}

/// For a line traced with low confidence.
pub fn low_confidence(line: LineId) -> String {
    format!(
        "The trace of the {} in this photo is uncertain, so hold this reading of it lightly.",
        line.hindi()
    )
}

/// Hand shape: the four elements.
#[derive(Debug, Clone, Copy)]
pub struct ElementText {
    pub element: Element,
    /// e.g. "Earth hand (Prithvi)".
    pub name: &'static str,
    /// "Earth", for the summary.
    pub english: &'static str,
    /// "Prithvi".
    pub hindi: &'static str,
    /// Adjectives for the summary ("… speaks of a {nature} nature", with the article
    /// that fits: "an energetic").
    pub nature: &'static str,
    pub text: &'static str,
    pub strength: &'static str,
    pub guidance: &'static str,
}

pub const ELEMENTS: [ElementText; 4] = [
    ElementText {
        element: Element::Earth,
        name: "Earth hand (Prithvi)",
        english: "Earth",
        hindi: "Prithvi",
        nature: "grounded, practical",
        text: "Yours is an Earth hand, Prithvi in the tradition: a square palm with shorter fingers. It is the hand of a grounded, practical nature, at home with real work and tangible results. People often rely on your steadiness, patience and good sense.",
        strength: "Grounded, practical steadiness (Prithvi hand)",
        guidance: "Make room for play and novelty beside your practical commitments; an Earth hand flourishes with a little lightness.",
    },
    ElementText {
        element: Element::Air,
        name: "Air hand (Vayu)",
        english: "Air",
        hindi: "Vayu",
        nature: "curious, communicative",
        text: "Yours is an Air hand, Vayu in the tradition: a square palm with longer fingers. It is the hand of a curious, communicative mind that enjoys ideas, conversation and learning. You tend to think things through and to express them well.",
        strength: "Curiosity and a gift for communication (Vayu hand)",
        guidance: "Balance time spent thinking with time spent doing; an Air hand thrives when its ideas are brought down to earth.",
    },
    ElementText {
        element: Element::Fire,
        name: "Fire hand (Agni)",
        english: "Fire",
        hindi: "Agni",
        nature: "energetic, enthusiastic",
        text: "Yours is a Fire hand, Agni in the tradition: a longer palm with shorter fingers. It is the hand of an energetic, enthusiastic spirit that likes to act, lead and inspire. Your warmth and drive tend to set things in motion.",
        strength: "Energy, enthusiasm and initiative (Agni hand)",
        guidance: "Let your fire burn steadily rather than all at once; pacing your enthusiasm helps you finish what you start.",
    },
    ElementText {
        element: Element::Water,
        name: "Water hand (Jal)",
        english: "Water",
        hindi: "Jal",
        nature: "sensitive, intuitive",
        text: "Yours is a Water hand, Jal in the tradition: a longer palm with longer fingers. It is the hand of a sensitive, intuitive and imaginative nature, quick to feel what others feel. Creativity and empathy are your natural gifts.",
        strength: "Intuition, empathy and imagination (Jal hand)",
        guidance: "Protect your sensitivity with a few calm rituals; a Water hand restores itself in quiet, beautiful surroundings.",
    },
];

/// The entry for an element.
pub fn element_text(element: Element) -> &'static ElementText {
    match element {
        Element::Earth => &ELEMENTS[0],
        Element::Air => &ELEMENTS[1],
        Element::Fire => &ELEMENTS[2],
        Element::Water => &ELEMENTS[3],
    }
}

/// The index-to-ring finger proportion, offered only as a traditional observation.
pub fn finger_text(band: FingerBand) -> &'static str {
    match band {
        FingerBand::IndexLonger => "Your index finger (Tarjani, the finger of Guru) appears a little longer than your ring finger (Anamika, the finger of Surya). Traditionally this proportion is read as self-assurance and an inclination to lead, organise and take responsibility. It is offered here only as a traditional observation, not as a measure of ability.",
        FingerBand::Even => "Your index finger (Tarjani, the finger of Guru) and ring finger (Anamika, the finger of Surya) appear about equal in length. Traditionally this balance is read as an even blend of ambition and creativity, of leading and expressing. It is offered here only as a traditional observation, not as a measure of ability.",
        FingerBand::RingLonger => "Your ring finger (Anamika, the finger of Surya) appears a little longer than your index finger (Tarjani, the finger of Guru). Traditionally this proportion is read as a creative, expressive temperament with a taste for the new. It is offered here only as a traditional observation, not as a measure of ability.",
    }
}

/// Closing sentence of every interpreted summary.
pub const SUMMARY_CLOSING: &str = "Read all of this as a portrait of tendencies to reflect on and work with, not as a course set in stone.";
/// Summary sentence when no shape was measured.
pub const SUMMARY_NO_SHAPE: &str =
    "The shape of your hand could not be measured in this photo, so this reading rests on its lines alone.";
/// Summary sentence when no line was found.
pub const SUMMARY_NO_LINES: &str = "None of the principal lines could be traced clearly enough in this photo to be read, so no line is interpreted here.";

/// Reflective suggestions used when the lines offer fewer than two.
pub const GENERAL_GUIDANCE: [&str; 2] = [
    "Use this reading as a mirror: notice which descriptions ring true for you, and let the rest go.",
    "Look at your palm again in a few months; the tradition reads lines as living creases that describe the present, not as fixed marks.",
];

/// Tips for a retake (the guidance of an unusable reading).
pub const RETAKE_TIPS: [&str; 2] = [
    "Photograph the open palm of one hand, fingers relaxed and together, filling most of the frame from the wrist to the base of the fingers.",
    "Use bright, even daylight without flash, and hold the camera steady and parallel to the palm.",
];

/// A plain phrase for a quality issue, for the unusable summary.
pub fn issue_phrase(issue: crate::features::QualityIssue) -> &'static str {
    use crate::features::QualityIssue as Q;
    match issue {
        Q::NoHand => "no hand could be found",
        Q::BackOfHand => "the photo seems to show the back of the hand",
        Q::TooDark => "the photo is too dark",
        Q::Overexposed => "the photo is too bright",
        Q::TooBlurry => "the photo is blurred",
        Q::HandTooSmall => "the hand is too small in the frame",
        Q::HandCropped => "part of the palm is outside the photo",
    }
}

/// First sentence of an unusable reading's summary.
pub const UNUSABLE_OPENING: &str =
    "We could not read the lines in this photo, so no interpretation has been made.";
/// Last sentence of an unusable reading's summary.
pub const UNUSABLE_CLOSING: &str =
    "Please take a new photo following the advice and upload it again.";
/// When the gate said no but named no issue.
pub const UNUSABLE_NO_ISSUE: &str =
    "The quality check could not confirm a clear photo of an open palm.";

/// Every reading ends with this. The one text allowed to name what is never predicted.
pub const DISCLAIMER: &str = "This reading follows the traditional rules of Hast Rekha Shastra and is offered for reflection and entertainment only. It is not medical, psychological, financial or legal advice, and it is never a prediction about health, lifespan or death. The lines are read as they appear in one photo today; the choices you make remain your own.";

use Band::*;
use LineId::*;

/// The rule table. Order: line by line (heart, head, life, fate, sun, mercury); within a
/// line, length, curvature, depth, breaks, forks, islands.
pub static RULES: &[Rule] = &[
    // ───────────────────────── Hriday rekha (heart) ─────────────────────────
    rule(Heart, Short, "Your Hriday rekha is on the shorter side, ending around the area beneath Shani's finger. Traditionally this describes feelings that are sincere but privately held, shown more through deeds than declarations. You may take time to open up, and when you do, your affection tends to be practical and dependable.")
        .gist("feeling that is sincere, private and shown through deeds")
        .strength("Affection shown through steady deeds rather than words")
        .guidance("Let the people close to you hear, now and then, what your actions already say; a few plain words of warmth go a long way."),
    rule(Heart, Medium, "Your Hriday rekha is of a balanced length, reaching towards the space between Shani's and Guru's fingers. The tradition reads this as a heart that balances warmth with good sense: you care deeply but rarely lose yourself entirely. Relationships tend to grow for you on mutual respect as much as on feeling.")
        .gist("warmth balanced with good sense")
        .strength("A balanced heart, with warmth held together by good sense"),
    rule(Heart, Long, "Your Hriday rekha is long, sweeping towards Guru parvat beneath the index finger. Palmists read a long heart line as a generous, idealistic heart that gives freely and hopes for much from love. Your warmth is a gift to those around you, and the tradition gently reminds such hearts to keep some care for themselves.")
        .gist("a generous, idealistic heart")
        .strength("Generous, idealistic warmth")
        .guidance("Generous hearts do well to receive as freely as they give; notice where you could let others care for you."),
    rule(Heart, Straight, "Your Hriday rekha runs fairly straight. In the tradition a straight heart line describes a thoughtful, steady approach to feeling, where emotions are considered before they are expressed. Others may find you calm and reliable in matters of the heart.")
        .strength("Calm, considered steadiness in matters of the heart")
        .guidance("A steady heart is sometimes taken for a reserved one; consider sharing a feeling while it is still fresh."),
    rule(Heart, GentlyCurved, "Your Hriday rekha curves gently. Palmists read this as warmth that is open yet measured: you express affection readily while keeping your balance. It is the curve of a heart at ease with both giving and receiving.")
        .strength("Open, measured warmth"),
    rule(Heart, DeeplyCurved, "Your Hriday rekha curves deeply upwards. Traditionally this shows an expressive, passionate heart that feels strongly and shows it. Your warmth is vivid, and such a heart is asked to meet its own strong feelings with patience.")
        .strength("Vivid, expressive warmth")
        .guidance("Strong feelings are a gift; when they run high, give them a little time before acting on them."),
    rule(Heart, Faint, "Your Hriday rekha appears faint in this photo. Traditionally a fine heart line describes a sensitive, delicate emotional nature that feels much and shows little. A faint crease can also be the light in a photo, so hold this observation lightly.")
        .strength("Emotional sensitivity and tact"),
    rule(Heart, Clear, "Your Hriday rekha is clearly marked. Palmists read a clear heart line as emotions that are sincere and well expressed, neither hidden nor overwhelming. It is a sign of emotional honesty.")
        .strength("Emotional honesty"),
    rule(Heart, Deep, "Your Hriday rekha is deeply etched. The tradition reads this as strong, lasting feelings and loyalty in relationships. What you feel, you feel fully.")
        .strength("Deep loyalty and lasting feeling"),
    rule(Heart, Unbroken, "Your Hriday rekha runs unbroken. Traditionally this shows emotional constancy: your feelings tend to stay steady through the seasons of your life. It is the mark of a dependable friend and partner.")
        .strength("Emotional constancy"),
    rule(Heart, Broken, "Your Hriday rekha shows a break. In the tradition a break marks a change of heart or a turning point in emotional life, a time when old patterns give way to new ones. Such transitions are part of growth, and the line continuing beyond the gap speaks of renewal.")
        .strength("A heart that renews itself through change")
        .guidance("Look back on the turning points in your relationships with kindness; each change taught you something about what you need."),
    rule(Heart, Fragmented, "Your Hriday rekha appears in several segments. Traditionally this describes an emotional life rich in changes and new beginnings, where feelings are reshaped by experience. Each segment can be read as a chapter, and together they tell of a heart that keeps learning.")
        .strength("A heart that keeps learning from experience")
        .guidance("Look back on the turning points in your relationships with kindness; each change taught you something about what you need."),
    rule(Heart, OneFork, "Your Hriday rekha shows a fork. Traditionally a forked heart line describes a heart that balances feeling with reason, able to see both the emotional and the practical side of a relationship. Palmists count it a sign of emotional good sense.")
        .strength("Feeling balanced with reason"),
    rule(Heart, SeveralForks, "Your Hriday rekha shows several branches. The tradition reads this as a wide circle of affection and many warm connections, with feeling that reaches out in more than one direction. It describes a sociable, giving heart.")
        .strength("A wide circle of warm connections"),
    rule(Heart, OneIsland, "Your Hriday rekha shows an island, a small place where the line splits and rejoins. Traditionally an island marks a period of emotional complexity or divided feelings, a time to be patient with yourself and others. The rejoined line speaks of feelings finding their way again.")
        .guidance("If your feelings have felt divided lately, give them time and a listening ear; clarity often returns when it is not forced."),
    rule(Heart, SeveralIslands, "Your Hriday rekha shows several islands. In the tradition these describe a sensitive heart that has known periods of emotional complexity. Each rejoining is read as resilience: the capacity to find balance again.")
        .strength("Emotional resilience")
        .guidance("If your feelings have felt divided lately, give them time and a listening ear; clarity often returns when it is not forced."),
    // ───────────────────────── Mastishk rekha (head) ─────────────────────────
    rule(Head, Short, "Your Mastishk rekha is on the shorter side. In the tradition this marks a mind that is direct and practical, preferring to act on a clear idea rather than turn it over endlessly. You likely think best when a task is concrete and in front of you.")
        .gist("a direct, practical mind")
        .strength("A direct, practical mind that moves from thought to action")
        .guidance("When a decision matters, give it one extra pause; your quick judgement is a strength, and a second look makes it stronger."),
    rule(Head, Medium, "Your Mastishk rekha is of a balanced length, ending around the middle of the palm beneath Surya's finger. Traditionally this shows a mind that blends the practical and the reflective, able to plan without losing sight of what is real. You tend to weigh things fairly before you decide.")
        .gist("a mind that blends the practical and the reflective")
        .strength("Fair, balanced judgement"),
    rule(Head, Long, "Your Mastishk rekha is long, reaching well across the palm towards its outer edge. The tradition reads this as a thorough, wide-ranging mind that enjoys detail and sees many sides of a question. Your thinking has reach, and the gentle lesson of such a line is to let a conclusion land once you have weighed it well.")
        .gist("a thorough, wide-ranging mind")
        .strength("Thorough, wide-ranging thinking")
        .guidance("With a mind that sees many sides, set yourself gentle deadlines for decisions so that thinking turns into doing."),
    rule(Head, Straight, "Your Mastishk rekha runs straight across the palm. The tradition reads a straight head line as logical, organised thinking with a practical bent. You likely prefer clear facts, sound plans and tidy reasoning.")
        .strength("Clear, logical, organised thinking"),
    rule(Head, GentlyCurved, "Your Mastishk rekha slopes gently. Palmists see in this a mind that joins logic with imagination, practical but open to new ideas. You can move between analysis and inspiration as the moment needs.")
        .strength("A mind that joins logic with imagination"),
    rule(Head, DeeplyCurved, "Your Mastishk rekha curves deeply down towards Chandra parvat, the Mount of the Moon. Traditionally this marks a strongly imaginative, intuitive mind drawn to stories, images and feeling. Creative work and reflective pursuits tend to suit such a line.")
        .strength("Rich imagination and intuition")
        .guidance("Give your imagination a form, in writing, making or music; ideas that are given shape stay with you longer."),
    rule(Head, Faint, "Your Mastishk rekha appears faint in this photo. Traditionally a fine head line describes a receptive mind that takes in much from its surroundings. Quiet, focused time helps such a mind do its best work, and the light in a photo can also soften a crease, so read this lightly.")
        .strength("A receptive, perceptive mind")
        .guidance("Protect some uninterrupted time for thinking; a receptive mind does its best work away from noise."),
    rule(Head, Clear, "Your Mastishk rekha is clearly marked. Palmists read this as good concentration and a mind that can hold its focus. Your thinking tends to be orderly and dependable.")
        .strength("Good concentration"),
    rule(Head, Deep, "Your Mastishk rekha is deeply etched. The tradition reads a deep head line as strong mental focus and determination once your mind is made up. You bring real intensity to what you study or plan.")
        .strength("Strong mental focus and determination"),
    rule(Head, Unbroken, "Your Mastishk rekha runs unbroken. The tradition reads this as continuity of thought and steady concentration over time. Your interests tend to develop in a connected way.")
        .strength("Continuity of thought"),
    rule(Head, Broken, "Your Mastishk rekha shows a break. Traditionally a break in the head line marks a change in thinking: a new field of study, a shift of outlook or a fresh way of working. Such a break is read as a transition, and the line going on beyond it shows the mind carrying forward.")
        .strength("Openness to new ways of thinking"),
    rule(Head, Fragmented, "Your Mastishk rekha appears in several segments. In the tradition this describes a mind that has reinvented its approach more than once, gathering many perspectives along the way. Variety of thought can become a real strength when you draw the pieces together.")
        .strength("Many perspectives gathered along the way")
        .guidance("Gather the threads of your many interests; a notebook or a regular review can help varied thinking find a common direction."),
    rule(Head, OneFork, "Your Mastishk rekha shows a fork, sometimes called the writer's fork. Traditionally this marks a mind that can hold two viewpoints at once, joining practical thinking with imagination. It often suits writing, teaching or any work that bridges ideas.")
        .strength("The ability to see two sides at once"),
    rule(Head, SeveralForks, "Your Mastishk rekha shows several branches. Palmists read this as a versatile mind with many interests and talents. The invitation of such a line is to let your curiosity range widely, then gather it into a few chosen pursuits.")
        .strength("A versatile mind with many talents")
        .guidance("Let your curiosity range widely, then choose a few pursuits to take further this season."),
    rule(Head, OneIsland, "Your Mastishk rekha shows an island, where the line divides briefly and rejoins. Traditionally this marks a period when attention felt divided between competing concerns. The line rejoining speaks of focus regained.")
        .guidance("When many concerns compete for your attention, write them down and take them one at a time; focus returns with small steps."),
    rule(Head, SeveralIslands, "Your Mastishk rekha shows several islands. Palmists read these as a mind that has worked through periods of scattered focus or competing demands. Simple routines that protect your concentration suit such a line.")
        .guidance("When many concerns compete for your attention, write them down and take them one at a time; focus returns with small steps."),
    // ───────────────────────── Jeevan rekha (life) ─────────────────────────
    rule(Life, Short, "Your Jeevan rekha is shorter in this photo. In the tradition its length reflects vitality and how one spends energy, not the length of life: a shorter line describes energy that comes in focused bursts and is best renewed with rest and rhythm. Many people with such a line do their finest work in concentrated spells.")
        .gist("energy that comes in focused, concentrated bursts")
        .strength("Focused energy that works in concentrated spells")
        .guidance("Notice the rhythm of your energy, and plan your most demanding efforts for the times when it runs high."),
    rule(Life, Medium, "Your Jeevan rekha is of a balanced length, curving steadily around the thumb. Traditionally this speaks of steady, well-paced vitality: you tend to spend your energy evenly and to recover it without much fuss. It suggests a practical relationship with your own strength.")
        .gist("steady, well-paced vitality")
        .strength("Steady, well-paced vitality"),
    rule(Life, Long, "Your Jeevan rekha is long, sweeping well down towards the wrist. The tradition reads this as abundant vitality and stamina, an enthusiasm that can carry many projects at once. As with any strong current, it is worth choosing where to direct it.")
        .gist("abundant vitality and enthusiasm")
        .strength("Ample vitality and stamina")
        .guidance("Choose where to pour your abundant energy; a few well-chosen projects reward it more than many scattered ones."),
    rule(Life, Straight, "Your Jeevan rekha runs close to the thumb in a fairly straight course. Traditionally this describes a careful, conserving way with energy: you tend to pace yourself and prefer familiar ground. It speaks of steadiness and of strength kept in reserve.")
        .strength("Careful pacing and steadiness")
        .guidance("Now and then, spend some of the energy you keep in reserve on something new; a little adventure refreshes a careful nature."),
    rule(Life, GentlyCurved, "Your Jeevan rekha curves in a gentle arc around the thumb. Palmists read this as a balanced temperament, warm without being restless and steady without being rigid. Energy tends to be shared evenly between yourself and others.")
        .strength("A balanced temperament, warm and steady"),
    rule(Life, DeeplyCurved, "Your Jeevan rekha sweeps in a wide, generous arc into the palm, giving Shukra parvat plenty of room. The tradition reads this as warmth, enthusiasm and a love of life's pleasures and company. You tend to bring energy into any room you enter.")
        .strength("Warmth and enthusiasm that others feel")
        .guidance("An enthusiastic spirit thrives on rest too; protect a little quiet time among all you give."),
    rule(Life, Faint, "Your Jeevan rekha appears faint in this photo. Traditionally a fine life line describes a gentle, sensitive energy that prefers calm surroundings and a steady pace. It speaks of how energy is spent and nothing more, and the light in a photo can also make a crease look finer than it is.")
        .strength("A gentle, sensitive energy")
        .guidance("Build simple routines of rest and movement that suit you; a gentle energy is renewed by rhythm more than by force."),
    rule(Life, Clear, "Your Jeevan rekha is clearly marked. Palmists read this as a reliable, even flow of energy and a sound enthusiasm for daily life. You tend to meet your days with steady resolve.")
        .strength("Even, reliable energy"),
    rule(Life, Deep, "Your Jeevan rekha is deeply etched. The tradition reads this as robust vitality and a strong drive to engage with the world. Your energy is a resource others often lean on.")
        .strength("Robust vitality and drive"),
    rule(Life, Unbroken, "Your Jeevan rekha runs unbroken. Traditionally this shows a steady continuity in how you live and spend your energy, with routines and surroundings that hold together well. It speaks of groundedness.")
        .strength("Groundedness and continuity"),
    rule(Life, Broken, "Your Jeevan rekha shows a break. In the tradition a break in this line marks a change of direction or surroundings, such as a move, a new routine or a fresh chapter in how you live. It is read as a transition and a renewal of energy, and where the line continues, momentum carries on.")
        .strength("Readiness to begin a fresh chapter")
        .guidance("In times of change, keep a few small daily anchors; they make new beginnings easier to enjoy."),
    rule(Life, Fragmented, "Your Jeevan rekha appears in several segments. Traditionally this describes a life with many changes of scene, rhythm or direction, each bringing a renewal of energy. Palmists read such a line as adaptability, the capacity to begin again.")
        .strength("Adaptability, the capacity to begin again")
        .guidance("In times of change, keep a few small daily anchors; they make new beginnings easier to enjoy."),
    rule(Life, OneFork, "Your Jeevan rekha shows a fork. In the tradition a fork in this line often speaks of a change of setting or a wish to see new places, balancing home with the wider world. It describes a spirit that grows through new surroundings.")
        .strength("A spirit that grows through new surroundings"),
    rule(Life, SeveralForks, "Your Jeevan rekha shows several branches. Palmists read branches from this line as energy flowing into many undertakings and hopes. Rising branches in particular are seen as efforts and ambitions reaching upwards.")
        .strength("Energy that reaches into many undertakings"),
    rule(Life, OneIsland, "Your Jeevan rekha shows an island, a place where the line splits and rejoins. In the tradition an island here is read as a period when energy feels divided or turned inward, a time for rest and regrouping. The line's continuation speaks of energy gathered again.")
        .guidance("Treat quieter, inward periods as time for regrouping; they are part of how energy renews itself."),
    rule(Life, SeveralIslands, "Your Jeevan rekha shows several islands. Traditionally these mark phases when energy was spread across many demands. The tradition's gentle counsel for such a line is balance: making room to restore yourself.")
        .guidance("Treat quieter, inward periods as time for regrouping; they are part of how energy renews itself."),
    // ───────────────────────── Bhagya rekha (fate) ─────────────────────────
    rule(Fate, Short, "Your Bhagya rekha is short in this photo. Traditionally a short fate line describes a sense of direction that grows clearer at a particular stage, or a person who prefers to shape their path freely rather than follow one set track. It speaks of self-direction more than of any limit.")
        .gist("a path shaped freely, with direction that grows clearer in stages")
        .strength("Independence in shaping your own direction"),
    rule(Fate, Medium, "Your Bhagya rekha is of moderate length, rising part of the way towards Shani parvat. The tradition reads this as a sense of purpose that develops steadily, with work and responsibilities that gain focus as experience builds. Direction here is something cultivated rather than handed down.")
        .gist("a sense of purpose that develops steadily")
        .strength("A steadily growing sense of purpose"),
    rule(Fate, Long, "Your Bhagya rekha is long, rising strongly towards Shani parvat beneath the middle finger. Palmists read this as a clear sense of vocation and a readiness to carry responsibility. It describes commitment and consistent effort, and the path is still yours to choose and to change.")
        .gist("a clear sense of vocation and commitment")
        .strength("A clear sense of vocation")
        .guidance("Alongside your sense of vocation, keep room for rest and for interests that are simply your own."),
    rule(Fate, Straight, "Your Bhagya rekha rises in a straight course. Traditionally this shows a steady sense of direction and consistency in work: once you commit, you tend to stay the course. It speaks of reliability and clear aims.")
        .strength("Consistency and a steady sense of direction"),
    rule(Fate, GentlyCurved, "Your Bhagya rekha curves gently as it rises. Palmists read this as a path shaped by other people and by circumstance as well as by your own aims: collaboration and support play a real part in your work. Flexibility is one of your resources.")
        .strength("Flexibility and openness to collaboration"),
    rule(Fate, DeeplyCurved, "Your Bhagya rekha bends noticeably on its way up the palm. The tradition reads this as a working life with turns in it, where new directions open up through interests, people or places. A winding path is read as a rich one, not a lesser one.")
        .strength("Adaptability across changing directions")
        .guidance("When your path turns, look for the thread that runs through your choices; it is often clearer looking back than looking ahead."),
    rule(Fate, Faint, "Your Bhagya rekha appears faint in this photo. Traditionally this describes a path held lightly, shaped more by choice and circumstance than by one fixed plan. Many people with a faint fate line build varied, self-made working lives.")
        .strength("Freedom to build a self-made path")
        .guidance("Without one set track, it helps to name for yourself what matters most in your work; let that be your compass."),
    rule(Fate, Clear, "Your Bhagya rekha is clearly marked. Palmists read this as a sense of purpose you can feel and act on, with steady effort behind your aims. Work tends to give your days meaning.")
        .strength("A felt sense of purpose"),
    rule(Fate, Deep, "Your Bhagya rekha is deeply etched. The tradition reads this as strong commitment to a calling and the persistence to see long efforts through. It describes dedication, which remains yours to direct.")
        .strength("Dedication and persistence"),
    rule(Fate, Unbroken, "Your Bhagya rekha runs unbroken. The tradition reads this as continuity in work and purpose, with efforts that build on one another. Steady effort is one of your quiet strengths.")
        .strength("Efforts that build on one another"),
    rule(Fate, Broken, "Your Bhagya rekha shows a break. Traditionally a break in the fate line marks a change of work or direction, a point where one path ends and another begins, by choice or through opportunity. Such breaks are read as transitions that often open wider ground.")
        .strength("Courage to change direction")
        .guidance("When your path turns, look for the thread that runs through your choices; it is often clearer looking back than looking ahead."),
    rule(Fate, Fragmented, "Your Bhagya rekha appears in several segments. In the tradition this describes a working life of several chapters, each with its own focus. Many self-made and versatile people carry such a line.")
        .strength("Versatility across many chapters of work")
        .guidance("When your path turns, look for the thread that runs through your choices; it is often clearer looking back than looking ahead."),
    rule(Fate, OneFork, "Your Bhagya rekha shows a fork. Traditionally this describes two strands of purpose, such as two kinds of work, or work alongside a personal calling. Holding both is a possibility the line offers, not an obligation.")
        .strength("Room for two strands of purpose"),
    rule(Fate, SeveralForks, "Your Bhagya rekha shows several branches. The tradition reads this as many avenues of work and influence, with interests that reach in different directions. Choosing which to follow remains yours.")
        .strength("Many avenues of work and influence"),
    rule(Fate, OneIsland, "Your Bhagya rekha shows an island. Traditionally this marks a phase when work or purpose felt divided between two directions, or when progress asked for patience. The rejoined line speaks of direction found again.")
        .guidance("If your work has felt pulled in two directions, give each a fair hearing before you choose; patience is part of finding your way."),
    rule(Fate, SeveralIslands, "Your Bhagya rekha shows several islands. The tradition reads these as phases of competing commitments in your working life. Each rejoining is a sign of your capacity to regain direction.")
        .strength("The capacity to regain direction")
        .guidance("If your work has felt pulled in two directions, give each a fair hearing before you choose; patience is part of finding your way."),
    // ───────────────────────── Surya rekha (sun) ─────────────────────────
    rule(Sun, Short, "Your Surya rekha is short, appearing mainly near Surya parvat. Traditionally this shows creative satisfaction and recognition that come through focused, personal work, often blossoming as experience deepens. A short sun line is common and speaks of quiet contentment.")
        .gist("creative satisfaction that blossoms through focused, personal work")
        .strength("Quiet contentment in your own work"),
    rule(Sun, Medium, "Your Surya rekha is of moderate length, rising steadily towards the ring finger. The tradition links this with a real gift for self-expression and the appreciation it can bring. It suggests that what you create, in any field, carries something of your own warmth.")
        .gist("a real gift for self-expression")
        .strength("A gift for self-expression"),
    rule(Sun, Long, "Your Surya rekha is long, climbing far up the palm towards Surya parvat. Palmists read a long sun line as a bright creative spirit and a natural ease in being seen and appreciated. It speaks of warmth that others notice and of joy found in work done well.")
        .gist("a bright creative spirit")
        .strength("A bright creative spirit")
        .guidance("Share what you make; a bright creative spirit grows by being seen."),
    rule(Sun, Straight, "Your Surya rekha rises straight. Traditionally this shows a focused creative aim and a steady way of earning appreciation for it. It suggests your talents find their best expression when you commit to one path.")
        .strength("A focused creative aim"),
    rule(Sun, GentlyCurved, "Your Surya rekha curves gently. Palmists read this as creativity that adapts to circumstance, finding expression in more than one form. Your talents may surface in unexpected places.")
        .strength("Creativity that adapts to circumstance"),
    rule(Sun, DeeplyCurved, "Your Surya rekha bends noticeably. The tradition links this with a creative life that takes detours, gathering inspiration from varied experiences. Such a path tends to bring a distinctive, personal style.")
        .strength("A distinctive, personal creative style"),
    rule(Sun, Faint, "Your Surya rekha appears faint in this photo. Traditionally a fine sun line describes quiet talents that may not seek the spotlight but bring real satisfaction. Appreciation for such gifts often comes from those closest to you.")
        .strength("Quiet talents that bring real satisfaction"),
    rule(Sun, Clear, "Your Surya rekha is clearly marked. Palmists read this as creative confidence and the capacity to be appreciated for what you do well. It speaks of contentment in your own gifts.")
        .strength("Creative confidence"),
    rule(Sun, Deep, "Your Surya rekha is deeply etched. The tradition reads this as a strong creative drive and a warm presence that draws appreciation. Your work tends to carry your signature.")
        .strength("A strong creative drive"),
    rule(Sun, Unbroken, "Your Surya rekha runs unbroken. Traditionally this shows a steady creative thread and recognition that builds over time. Your talents tend to mature gradually.")
        .strength("A steady creative thread"),
    rule(Sun, Broken, "Your Surya rekha shows a break. The tradition reads this as a change in creative direction or in where you seek recognition, a pause before something new takes shape. It is a mark of renewal rather than of loss.")
        .strength("Creative renewal"),
    rule(Sun, Fragmented, "Your Surya rekha appears in several segments. Palmists read this as many creative interests, each with its own season. Choosing which to nurture is part of the art.")
        .strength("Many creative interests")
        .guidance("Pick one creative interest to nurture for a while; the others will keep until their season comes."),
    rule(Sun, OneFork, "Your Surya rekha shows a fork. Traditionally this describes creative talent that expresses itself in two ways, or appreciation that comes from more than one source. It is a sign of versatile gifts.")
        .strength("Talent that expresses itself in more than one way"),
    rule(Sun, SeveralForks, "Your Surya rekha shows several branches. Palmists read this as versatile gifts and many sources of joy in your work. Such a line encourages you to share your talents generously.")
        .strength("Versatile gifts and many sources of joy"),
    rule(Sun, OneIsland, "Your Surya rekha shows an island. Palmists read this as a phase when creative confidence or recognition felt uncertain. Such phases often come before renewed expression.")
        .guidance("When creative confidence wavers, keep making in small ways; confidence tends to return through the work itself."),
    rule(Sun, SeveralIslands, "Your Surya rekha shows several islands. Traditionally these describe a creative spirit that has met periods of doubt and kept going. Persistence is part of your gift.")
        .strength("Creative persistence")
        .guidance("When creative confidence wavers, keep making in small ways; confidence tends to return through the work itself."),
    // ───────────────────────── Budh rekha (mercury) ─────────────────────────
    rule(Mercury, Short, "Your Budh rekha is short. Traditionally this points to a practical, to-the-point way of communicating and handling everyday affairs. You may prefer to say what matters and leave it there.")
        .gist("practical, to-the-point communication")
        .strength("Practical, to-the-point communication"),
    rule(Mercury, Medium, "Your Budh rekha is of moderate length, running steadily towards the little finger. The tradition reads this as good sense in practical matters and an easy way with words and exchange. It suits work that asks you to explain, negotiate or connect people.")
        .gist("an easy way with words and practical matters")
        .strength("An easy way with words"),
    rule(Mercury, Long, "Your Budh rekha is long, running well up the palm towards Budh parvat. Palmists associate this with a quick, versatile intelligence and a flair for commerce and conversation. Ideas and people tend to flow through your hands easily.")
        .gist("a quick, versatile intelligence")
        .strength("A quick, versatile intelligence"),
    rule(Mercury, Straight, "Your Budh rekha runs straight. Traditionally this describes clear, direct communication and sound judgement in practical and business matters. You tend to say what you mean.")
        .strength("Clear, direct communication"),
    rule(Mercury, GentlyCurved, "Your Budh rekha curves gently. Palmists read this as a tactful, adaptable way with words, good at reading the room and finding common ground. It suits roles that ask for diplomacy.")
        .strength("Tact and diplomacy"),
    rule(Mercury, DeeplyCurved, "Your Budh rekha bends and wanders noticeably. The tradition reads this as a lively, restless curiosity, with many interests and a changeable way of pursuing them. Giving your ideas a steady channel helps them bear fruit.")
        .strength("Lively curiosity")
        .guidance("Choose one or two of your many interests to follow through this season; curiosity flourishes with a little structure."),
    rule(Mercury, Faint, "Your Budh rekha appears faint in this photo. Traditionally this describes a reserved, listening style of communication, where words are chosen carefully. A faint Budh rekha is very common and carries no negative meaning.")
        .strength("Careful, attentive listening"),
    rule(Mercury, Clear, "Your Budh rekha is clearly marked. Palmists read this as practical intelligence and an easy rapport with others in daily dealings. You tend to handle affairs sensibly.")
        .strength("Practical intelligence and easy rapport"),
    rule(Mercury, Deep, "Your Budh rekha is deeply etched. The tradition reads this as sharp business sense and persuasive, confident communication. People tend to trust your judgement in practical matters.")
        .strength("Sharp practical judgement"),
    rule(Mercury, Unbroken, "Your Budh rekha runs unbroken. Traditionally this shows consistency in communication and in practical affairs. People tend to find you dependable in your dealings.")
        .strength("Dependability in your dealings"),
    rule(Mercury, Broken, "Your Budh rekha shows a break. In the tradition this marks a change in how you work with others or handle practical matters, perhaps a new trade, skill or way of communicating. It is read as a transition.")
        .strength("Willingness to learn new skills"),
    rule(Mercury, Fragmented, "Your Budh rekha appears in several segments. Traditionally this describes varied interests in commerce, learning or communication, pursued in turns. Curiosity is the common thread.")
        .strength("Varied practical interests")
        .guidance("Choose one or two of your many interests to follow through this season; curiosity flourishes with a little structure."),
    rule(Mercury, OneFork, "Your Budh rekha shows a fork. In the tradition this points to skill in two areas of communication or commerce, such as speaking and writing, or trade and teaching. It is a sign of versatility.")
        .strength("Skill in more than one kind of communication"),
    rule(Mercury, SeveralForks, "Your Budh rekha shows several branches. Traditionally this describes a networker's hand, with many contacts and exchanges. Your ideas tend to travel widely through the people you know.")
        .strength("A talent for connecting people"),
    rule(Mercury, OneIsland, "Your Budh rekha shows an island. In the tradition this marks a phase when communication or practical affairs asked for extra care and patience. The rejoining line speaks of clarity regained.")
        .guidance("When dealings with others feel tangled, say the simple thing plainly; clarity is the counsel of your Budh rekha."),
    rule(Mercury, SeveralIslands, "Your Budh rekha shows several islands. Palmists read these as periods of mixed signals in dealings with others. Clear, plain communication is the gentle counsel of such a line.")
        .guidance("When dealings with others feel tangled, say the simple thing plainly; clarity is the counsel of your Budh rekha."),
];
