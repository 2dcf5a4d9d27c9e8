//! The mounts (parvat). The tradition counts ten: one for each of the nine grahas, with
//! Mangal (Mars) split into an inner mount (lower, "active" Mars, on the thumb side) and
//! an outer mount (upper, "passive" Mars, on the outer edge). The hollow in the middle
//! of the palm, sometimes called the plain of Mars, is where Indian palmistry places
//! Rahu, so it is not listed separately.
//!
//! Offline, every mount is `not_assessed`: a flat photo cannot show how raised or full a
//! mount is. The text says what the mount traditionally signifies and nothing more.

use crate::reading::{MountReading, Source};

/// One mount: id, English name, Hindi name, where it lies and what it signifies.
#[derive(Debug, Clone, Copy)]
pub struct Mount {
    pub id: &'static str,
    pub english: &'static str,
    pub hindi: &'static str,
    pub text: &'static str,
}

/// `prominence` of every mount offline.
pub const NOT_ASSESSED: &str = "not_assessed";

/// The closing sentence of every mount's text.
pub const FLAT_PHOTO: &str = "A flat photograph cannot show how raised or full a mount is, so its prominence is not assessed here.";

/// The ten mounts, in reading order (the four finger mounts, then around the palm).
pub const MOUNTS: [Mount; 10] = [
    Mount {
        id: "jupiter",
        english: "Mount of Jupiter",
        hindi: "Guru parvat",
        text: "Guru parvat, the Mount of Jupiter, lies at the base of the index finger. In the tradition it speaks of ambition, leadership, self-respect and the wish to learn and to guide others.",
    },
    Mount {
        id: "saturn",
        english: "Mount of Saturn",
        hindi: "Shani parvat",
        text: "Shani parvat, the Mount of Saturn, lies at the base of the middle finger. The tradition links it with responsibility, patience, discipline and a thoughtful, serious turn of mind.",
    },
    Mount {
        id: "sun",
        english: "Mount of the Sun",
        hindi: "Surya parvat",
        text: "Surya parvat, the Mount of the Sun, lies at the base of the ring finger. It is traditionally associated with creativity, self-expression, warmth and a love of beauty and recognition.",
    },
    Mount {
        id: "mercury",
        english: "Mount of Mercury",
        hindi: "Budh parvat",
        text: "Budh parvat, the Mount of Mercury, lies at the base of the little finger. Palmists associate it with communication, commerce, wit and quick, practical intelligence.",
    },
    Mount {
        id: "venus",
        english: "Mount of Venus",
        hindi: "Shukra parvat",
        text: "Shukra parvat, the Mount of Venus, is the fleshy base of the thumb, enclosed by the Jeevan rekha. In the tradition it speaks of love, affection, beauty, warmth towards others and the enjoyment of life.",
    },
    Mount {
        id: "moon",
        english: "Mount of the Moon",
        hindi: "Chandra parvat",
        text: "Chandra parvat, the Mount of the Moon, lies on the lower palm along its outer edge, opposite the thumb. The tradition links it with imagination, intuition, feeling, dreams and a love of travel.",
    },
    Mount {
        id: "mars_inner",
        english: "Inner Mount of Mars (lower Mars)",
        hindi: "Nimna Mangal parvat",
        text: "The inner Mangal parvat, lower Mars, lies on the thumb side between Guru parvat and Shukra parvat, inside the start of the Jeevan rekha. Traditionally it speaks of courage, initiative and the drive to act and to stand up for oneself.",
    },
    Mount {
        id: "mars_outer",
        english: "Outer Mount of Mars (upper Mars)",
        hindi: "Uchcha Mangal parvat",
        text: "The outer Mangal parvat, upper Mars, lies on the outer edge of the palm between the Hriday rekha and the Mastishk rekha, above Chandra parvat. Traditionally it speaks of moral courage, endurance, composure and resilience under pressure.",
    },
    Mount {
        id: "rahu",
        english: "Mount of Rahu",
        hindi: "Rahu parvat",
        text: "Rahu parvat lies in the centre of the palm, between the two Mangal mounts, where the Bhagya rekha passes through. In the Indian tradition it is linked with ambition, worldly drive and the way one meets unexpected turns of circumstance.",
    },
    Mount {
        id: "ketu",
        english: "Mount of Ketu",
        hindi: "Ketu parvat",
        text: "Ketu parvat lies at the base of the palm just above the wrist, between Shukra parvat and Chandra parvat, where the Bhagya rekha often begins. In the Indian tradition it is linked with detachment, the inner life, spiritual seeking and the influences of one's early years.",
    },
];

/// The reading of every mount: what it signifies, prominence not assessed.
pub fn readings() -> Vec<MountReading> {
    MOUNTS
        .iter()
        .map(|m| MountReading {
            id: m.id.to_string(),
            english: m.english.to_string(),
            hindi: m.hindi.to_string(),
            prominence: NOT_ASSESSED.to_string(),
            source: Source::NotAssessed,
            reading: format!("{} {}", m.text, FLAT_PHOTO),
        })
        .collect()
}
