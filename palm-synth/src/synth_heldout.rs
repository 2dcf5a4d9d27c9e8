//! The held-out style: a second synthetic palm-photo generator that shares no drawing
//! code with [`crate::synth`], so that an engine tuned on one can be reported on the
//! other.
//!
//! [`generate`] draws a [`HeldoutSpec`] into a [`SynthPalm`] (the data types are the only
//! thing borrowed from `synth.rs`). [`palm_spec`] gives the 40 palms of the held-out set
//! (`palm_spec(0..40)`), [`negative_spec`] the photos the engine must refuse.
//!
//! # The style
//!
//! - **Hand**: an outline built from Catmull–Rom splines and polygons (palm, four
//!   tapered fingers with knuckle bulges and round tips, a three-joint thumb, the
//!   forearm), filled by scanline with four sub-scanlines and exact horizontal coverage
//!   per pixel. Proportions (palm ratio, finger ratio, finger spread) are spec fields.
//! - **Skin**: six palettes ([`Skin`]), low-frequency mottling, fine grain, pores,
//!   lighter mounts and a darker hollow in the middle of the palm, rounded shading from
//!   a blurred coverage mask, and a soft contact shadow on the background.
//! - **Creases**: each crease has a dark reddish core (Gaussian across the line) and a
//!   lighter lip on both sides; its width and depth wander along the line and taper at
//!   both ends. Minor wrinkles, flexion creases on the fingers and thumb and bracelet
//!   creases at the wrist are drawn the same way but fainter.
//! - **Photo**: wood, cloth, gradient, tiles or polka-dot backgrounds; an optional sleeve
//!   over the forearm; a spot light, vignette, white balance and exposure; defocus
//!   (soft-edged box kernel) or slight motion blur; sensor noise with chroma; JPEG on
//!   some.
//!
//! A 900×1200 photo takes about 0.1–0.3 s in the dev profile (single-threaded).
//!
//! All randomness comes from a PCG-XSH-RR generator written here, seeded from
//! [`HeldoutSpec::seed`] with one stream per concern (hand, lines, wrinkles, skin,
//! background, noise), so the same spec always gives the same bytes.
//!
//! # Truth conventions
//!
//! The same as [`crate::synth`]'s: points in image pixels (pixel `(i, j)` centred at
//! `(i, j)`), [`TrueLine::points`] about 1 px apart in each line's conventional
//! direction, lines in [`LineId::ALL`] order, gaps without points. The palm frame:
//! `v` from the middle of the wrist crease (0) to the base of the middle finger (1),
//! `u` from the little-finger edge (0) to the thumb edge (1), for either hand; a left
//! palm shows its thumb on the left of the photo, a right palm on the right. The
//! control points below are `(u, v)` before a per-seed jitter of about ±0.012:
//!
//! | line    | starts                                   | ends                                         |
//! |---------|------------------------------------------|----------------------------------------------|
//! | Heart   | little-finger edge, u≈0.02 v≈0.80        | curved: between index and middle u≈0.67 v≈0.94; straight: under the index u≈0.80 v≈0.85 |
//! | Head    | thumb side: joined u≈0.94 v≈0.635 (the life line's start); separate u≈0.925 v≈0.70 | sloping u≈0.14 v≈0.42; straight u≈0.10 v≈0.60 |
//! | Life    | thumb side u≈0.94 v≈0.635                | classical u≈0.71 v≈0.03; close u≈0.81 v≈0.05; wide u≈0.50 v≈0.04; short: halfway, v≈0.35 |
//! | Fate    | wrist u≈0.53 v≈0.03; from the life line (70 % along the life line as drawn); or mid-palm u≈0.50 v≈0.36 | towards the middle finger u≈0.52 v≈0.78 |
//! | Sun     | u≈0.30 v≈0.46                            | towards the ring finger u≈0.30 v≈0.77        |
//! | Mercury | lower palm u≈0.56 v≈0.12                 | towards the little finger u≈0.15 v≈0.74      |
//!
//! - A **broken** life line has a gap of 6 % of the palm length in its middle (`breaks = 1`).
//! - A **doubled** life line has a sister line on its thumb side (not in the truth).
//! - A **simian** crease is one line across the palm, from the little-finger edge
//!   (u≈0.02 v≈0.71) to the thumb side (u≈0.94 v≈0.65): `TrueLine { id: Heart,
//!   fused_with: Some(Head) }`, with no separate heart or head line.
//! - Not in the truth: minor wrinkles, sister lines, finger and thumb flexion creases,
//!   bracelet creases.
//!
//! `landmarks` are the 21 MediaPipe points (0 wrist = `(0.5, 0)`, 9 = middle finger base
//! = `(0.5, 1)`, MCP landmarks at the base of each finger, tips at the very end), and
//! `proportions` are exact for the drawn hand (the middle finger is straight, so its
//! landmark chain is its length).
//!
//! # Negatives
//!
//! [`negative_spec`] sets [`HeldoutSpec::negative`]: whatever is drawn, `truth` is empty
//! and `landmarks`/`proportions` are `None`; `frame` is `None` except for the back of
//! the hand (the drawn hand's frame, `u` still little-finger edge → thumb edge; the back
//! of a left hand shows its thumb on the right).

use image::RgbImage;

use crate::synth::{Proportions, SynthPalm, TrueLine};
use hast_palm::features::LineId;
use hast_palm::geometry::{PalmFrame, Point};
use hast_palm::HandSide;

// ---------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------

/// Default photo width (a phone photo in portrait, scaled down).
pub const DEFAULT_WIDTH: u32 = 900;
/// Default photo height.
pub const DEFAULT_HEIGHT: u32 = 1200;
/// Number of palms in the held-out set (`palm_spec(0..HELDOUT_PALMS)`).
pub const HELDOUT_PALMS: u64 = 40;

/// What the photo shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scene {
    /// An open palm seen from the palm side.
    Palm,
    /// The back of the hand: nails, knuckle wrinkles, hair, no palm creases.
    BackOfHand,
    /// The background alone.
    Blank,
    /// A close-up texture filling the frame (stone, sand or leather with cracks).
    Texture,
    /// A skin-coloured rounded blob without fingers.
    Blob,
}

/// Skin palette (palm side; the back of the hand is darker).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skin {
    Porcelain,
    Rosy,
    Olive,
    Golden,
    Umber,
    Ebony,
}

impl Skin {
    /// All palettes, lightest first.
    pub const ALL: [Skin; 6] = [
        Skin::Porcelain,
        Skin::Rosy,
        Skin::Olive,
        Skin::Golden,
        Skin::Umber,
        Skin::Ebony,
    ];

    /// Palm-side colour, sRGB 0–1.
    fn palm(self) -> [f32; 3] {
        let c = match self {
            Skin::Porcelain => [238, 208, 192],
            Skin::Rosy => [228, 168, 158],
            Skin::Olive => [204, 166, 128],
            Skin::Golden => [216, 158, 108],
            Skin::Umber => [178, 122, 94],
            Skin::Ebony => [146, 98, 78],
        };
        c.map(|x| x as f32 / 255.0)
    }

    /// Back-of-hand colour, sRGB 0–1.
    fn back(self) -> [f32; 3] {
        let c = match self {
            Skin::Porcelain => [226, 190, 170],
            Skin::Rosy => [210, 146, 130],
            Skin::Olive => [178, 136, 96],
            Skin::Golden => [184, 124, 78],
            Skin::Umber => [122, 80, 56],
            Skin::Ebony => [80, 52, 40],
        };
        c.map(|x| x as f32 / 255.0)
    }
}

/// The life line's variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LifeLine {
    /// Hugging the thumb mount.
    Close,
    /// The classical arc round the thumb mount.
    Classical,
    /// Sweeping wide into the palm to the middle of the wrist (head line joined).
    Wide,
    /// Classical but ending halfway.
    Short,
    /// Classical with a sister line on its thumb side (truth is the main line).
    Doubled,
    /// Classical with a gap in the middle (`breaks = 1`).
    Broken,
}

impl LifeLine {
    /// All variants.
    pub const ALL: [LifeLine; 6] = [
        LifeLine::Close,
        LifeLine::Classical,
        LifeLine::Wide,
        LifeLine::Short,
        LifeLine::Doubled,
        LifeLine::Broken,
    ];
}

/// Where the head line starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadStart {
    /// At the life line's start.
    Joined,
    /// A little above the life line on the thumb side.
    Separate,
}

/// How the head line runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadCourse {
    /// Sloping down towards the wrist on the little-finger side.
    Sloping,
    /// Straight across the palm.
    Straight,
}

/// How the heart line runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeartCourse {
    /// Curving up to end between the index and middle fingers.
    Curved,
    /// Straighter, ending under the index finger.
    Straight,
}

/// Where the fate line starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FateStart {
    /// At the wrist.
    Wrist,
    /// Out of the life line.
    LifeLine,
    /// In the middle of the palm.
    MidPalm,
}

/// The surface behind the hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backdrop {
    /// Wooden planks with grain.
    Wood,
    /// Woven cloth.
    Cloth,
    /// A smooth two-colour gradient.
    Gradient,
    /// Square tiles with grout.
    Tiles,
    /// Polka dots on fabric.
    Dots,
}

impl Backdrop {
    /// All backdrops.
    pub const ALL: [Backdrop; 5] = [
        Backdrop::Wood,
        Backdrop::Cloth,
        Backdrop::Gradient,
        Backdrop::Tiles,
        Backdrop::Dots,
    ];
}

/// Camera blur.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CameraBlur {
    Sharp,
    /// Out of focus: a soft-edged disc-like kernel of this radius (pixels).
    Defocus {
        radius: f32,
    },
    /// Camera shake: a straight smear of this length (pixels) at this angle.
    Motion {
        length: f32,
        angle_deg: f32,
    },
}

/// Light on the scene.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lighting {
    /// Spot centre as a fraction of the photo's width and height.
    pub spot: (f32, f32),
    /// Extra brightness at the spot's centre (0 = flat light).
    pub spot_gain: f32,
    /// Spot radius as a fraction of the photo's diagonal.
    pub spot_radius: f32,
    /// Darkening in the corners (0 = none).
    pub vignette: f32,
    /// Overall gain (1 = normal).
    pub exposure: f32,
    /// White balance: positive warmer (red up, blue down), negative cooler.
    pub warmth: f32,
}

/// One photo of the held-out style.
#[derive(Debug, Clone, PartialEq)]
pub struct HeldoutSpec {
    pub seed: u64,
    pub width: u32,
    pub height: u32,
    /// The hand (for [`Scene::BackOfHand`], the hand whose back is shown).
    pub side: HandSide,
    pub scene: Scene,
    /// A photo the engine must refuse: no truth, landmarks or proportions.
    pub negative: bool,
    pub skin: Skin,
    /// Rotation of the hand on screen, degrees, positive clockwise.
    pub rotation_deg: f32,
    /// Palm length as a fraction of the photo's height.
    pub scale: f32,
    /// Palm length / palm width.
    pub palm_ratio: f32,
    /// Middle finger length / palm length.
    pub finger_ratio: f32,
    /// How far the fingers fan out (1 = ordinary, 0 = together, 1.6 = splayed).
    pub finger_spread: f32,
    /// Thumb angle away from the palm axis, degrees.
    pub thumb_angle_deg: f32,
    pub life: LifeLine,
    pub head_start: HeadStart,
    pub head_course: HeadCourse,
    pub heart: HeartCourse,
    pub fate: Option<FateStart>,
    pub sun: bool,
    pub mercury: bool,
    /// One transverse crease instead of head and heart.
    pub simian: bool,
    /// Darkness of the principal creases, 0 (invisible) to 1.
    pub crease_depth: f32,
    /// Width of the principal creases (full width at half darkness), palm lengths.
    pub crease_width: f32,
    /// Minor wrinkles: 0 = few and faint, 1 = heavy.
    pub wrinkles: f32,
    pub background: Backdrop,
    /// Sleeve colour over the forearm, if any.
    pub sleeve: Option<[u8; 3]>,
    pub lighting: Lighting,
    pub blur: CameraBlur,
    /// Sensor noise, standard deviation of the luma (0–1 scale); chroma is 0.6 of it.
    pub noise: f32,
    /// JPEG round trip at this quality, if any.
    pub jpeg_quality: Option<u8>,
}

/// The negative kinds of [`negative_spec`], in order.
pub const NEGATIVE_KINDS: [&str; 8] = [
    "blank",
    "texture",
    "non-hand shape",
    "back of the hand",
    "tiny hand",
    "underexposed",
    "overexposed",
    "blurred",
];

/// The `index`-th palm of the held-out set. Over `0..40` the variants are balanced (see
/// the module docs and `palm-synth/tests/heldout_style.rs`): 20 left and 20 right, ten hands
/// of each element, every life-line variant six or seven times, fate on half, three
/// simian creases. Beyond 40 the variants are drawn at random.
pub fn palm_spec(index: u64) -> HeldoutSpec {
    let mut rng = Pcg32::new(PALM_SEED_BASE ^ index, Stream::Plan);
    let pick = |salt: u64, n: usize| balanced(index, salt) % n;
    let side = if index.is_multiple_of(2) {
        HandSide::Left
    } else {
        HandSide::Right
    };
    let (palm_ratio, finger_ratio) = palm_proportions(index, &mut rng);
    let (life, head_start, fate) = line_variants(index);
    let heavy = balanced(index, SALT_WRINKLES) < HEAVY_WRINKLE_PALMS;
    let skin = Skin::ALL[pick(SALT_SKIN, Skin::ALL.len())];
    let rotation_deg =
        -MAX_ROTATION_DEG + 2.0 * MAX_ROTATION_DEG * balanced(index, SALT_ROTATION) as f32 / 39.0;
    HeldoutSpec {
        seed: PALM_SEED_BASE.wrapping_add(index),
        width: DEFAULT_WIDTH,
        height: DEFAULT_HEIGHT,
        side,
        scene: Scene::Palm,
        negative: false,
        skin,
        rotation_deg,
        // Long fingers need a smaller palm for the whole hand to fit.
        scale: rng.range(0.29, 0.33) * 1.8 / (1.0 + finger_ratio),
        palm_ratio,
        finger_ratio,
        finger_spread: rng.range(0.6, 1.5),
        thumb_angle_deg: rng.range(48.0, 64.0),
        life,
        head_start,
        head_course: [HeadCourse::Sloping, HeadCourse::Straight][pick(SALT_HEAD_COURSE, 2)],
        heart: [HeartCourse::Curved, HeartCourse::Straight][pick(SALT_HEART, 2)],
        fate,
        sun: balanced(index, SALT_SUN) < SUN_PALMS,
        mercury: balanced(index, SALT_MERCURY) < MERCURY_PALMS,
        simian: balanced(index, SALT_SIMIAN) < SIMIAN_PALMS,
        crease_depth: rng.range(0.5, 0.85),
        crease_width: rng.range(0.009, 0.015),
        wrinkles: if heavy {
            rng.range(0.8, 1.0)
        } else {
            rng.range(0.1, 0.45)
        },
        background: Backdrop::ALL[pick(SALT_BACKDROP, Backdrop::ALL.len())],
        sleeve: (balanced(index, SALT_SLEEVE) < SLEEVE_PALMS).then(|| sleeve_colour(&mut rng)),
        lighting: capped(random_lighting(&mut rng), skin),
        blur: random_blur(pick(SALT_BLUR, 4), &mut rng),
        noise: rng.range(0.008, 0.03),
        jpeg_quality: (balanced(index, SALT_JPEG) < JPEG_PALMS).then(|| 70 + rng.below(21) as u8),
    }
}

/// The palm ratio and finger ratio of the `index`-th palm: which of the four elements
/// cycles with the index, the ratios within it are drawn from `rng`.
fn palm_proportions(index: u64, rng: &mut Pcg32) -> (f32, f32) {
    let (long_palm, long_fingers) = match (index / 2) % 4 {
        0 => (false, false),
        1 => (false, true),
        2 => (true, false),
        _ => (true, true),
    };
    let palm_ratio = if long_palm {
        rng.range(1.28, 1.45)
    } else {
        rng.range(1.0, 1.12)
    };
    let finger_ratio = if long_fingers {
        rng.range(0.86, 1.0)
    } else {
        rng.range(0.65, 0.74)
    };
    (palm_ratio, finger_ratio)
}

/// The `index`-th palm's life line, where its head line starts and where its fate line
/// starts (if it has one), balanced over the set.
fn line_variants(index: u64) -> (LifeLine, HeadStart, Option<FateStart>) {
    let pick = |salt: u64, n: usize| balanced(index, salt) % n;
    let life = LifeLine::ALL[pick(SALT_LIFE, LifeLine::ALL.len())];
    let head_start = if life == LifeLine::Wide || pick(SALT_HEAD_START, 2) == 0 {
        HeadStart::Joined
    } else {
        HeadStart::Separate
    };
    let fate_rank = balanced(index, SALT_FATE);
    let fate = (fate_rank >= HELDOUT_PALMS as usize / 2)
        .then(|| [FateStart::Wrist, FateStart::LifeLine, FateStart::MidPalm][fate_rank % 3]);
    (life, head_start, fate)
}

/// A camera blur of kind `kind` (0 defocus, 1 motion, otherwise sharp), its size drawn
/// from `rng`.
fn random_blur(kind: usize, rng: &mut Pcg32) -> CameraBlur {
    match kind {
        0 => CameraBlur::Defocus {
            radius: rng.range(0.6, 1.3),
        },
        1 => CameraBlur::Motion {
            length: rng.range(1.5, 3.0),
            angle_deg: rng.range(0.0, 180.0),
        },
        _ => CameraBlur::Sharp,
    }
}

/// A photo of negative kind `kind` (an index into [`NEGATIVE_KINDS`], wrapped), varied
/// by `seed`.
pub fn negative_spec(kind: usize, seed: u64) -> HeldoutSpec {
    let mut spec = palm_spec(NEGATIVE_SEED_BASE ^ (seed.wrapping_mul(8) + kind as u64));
    spec.seed = NEGATIVE_SEED_BASE ^ mix64(seed ^ ((kind as u64) << 32));
    spec.negative = true;
    spec.jpeg_quality = None;
    let mut rng = Pcg32::new(spec.seed, Stream::Plan);
    match kind % NEGATIVE_KINDS.len() {
        0 => spec.scene = Scene::Blank,
        1 => spec.scene = Scene::Texture,
        2 => spec.scene = Scene::Blob,
        3 => spec.scene = Scene::BackOfHand,
        4 => spec.scale = rng.range(0.06, 0.085),
        5 => spec.lighting.exposure = rng.range(0.05, 0.1),
        6 => spec.lighting.exposure = rng.range(3.5, 5.0),
        _ => {
            spec.blur = CameraBlur::Defocus {
                radius: rng.range(12.0, 18.0),
            }
        }
    }
    spec
}

/// Draws the photo a spec describes. Deterministic. A zero width or height gives an
/// empty image and no truth.
pub fn generate(spec: &HeldoutSpec) -> SynthPalm {
    let (w, h) = (spec.width as usize, spec.height as usize);
    if w == 0 || h == 0 {
        return SynthPalm::without_lines(RgbImage::new(spec.width, spec.height), None);
    }
    let mut canvas = Canvas::new(w, h);
    paint_backdrop(&mut canvas, spec);
    let drawn = match spec.scene {
        Scene::Blank => None,
        Scene::Texture => {
            paint_texture(&mut canvas, spec);
            None
        }
        Scene::Blob => {
            paint_blob(&mut canvas, spec);
            None
        }
        Scene::Palm | Scene::BackOfHand => Some(paint_hand(&mut canvas, spec)),
    };
    apply_lighting(&mut canvas, &spec.lighting);
    apply_blur(&mut canvas, spec.blur);
    apply_noise(&mut canvas, spec);
    let image = finish(&canvas, spec.jpeg_quality);
    let palm = spec.scene == Scene::Palm && !spec.negative;
    let frame = drawn
        .as_ref()
        .and_then(|d| (palm || spec.scene == Scene::BackOfHand).then_some(d.hand.frame));
    match drawn {
        Some(d) if palm => SynthPalm {
            image,
            proportions: Some(Proportions {
                palm_ratio: spec.palm_ratio,
                finger_ratio: d.hand.middle_chain() / d.hand.len,
            }),
            landmarks: Some(d.hand.landmarks()),
            truth: d.truth,
            frame,
        },
        _ => SynthPalm::without_lines(image, frame),
    }
}

// ---------------------------------------------------------------------------------------
// The set's plan
// ---------------------------------------------------------------------------------------

/// Seeds of the palms ("HELD" in ASCII, then the index).
const PALM_SEED_BASE: u64 = 0x4845_4C44_0000_0000;
/// Seeds of the negatives ("NEGA").
const NEGATIVE_SEED_BASE: u64 = 0x4E45_4741_0000_0000;
/// The brief's rotation range, ± degrees.
const MAX_ROTATION_DEG: f32 = 30.0;
/// Palms with heavy minor wrinkles (a quarter of the set).
const HEAVY_WRINKLE_PALMS: usize = 10;
/// Palms with a sun line (about a third).
const SUN_PALMS: usize = 14;
/// Palms with a mercury line (under a third).
const MERCURY_PALMS: usize = 12;
/// Palms with one transverse (simian) crease (the brief asks for 2–3).
const SIMIAN_PALMS: usize = 3;
/// Palms photographed in a sleeve (about a third).
const SLEEVE_PALMS: usize = 13;
/// Palms passed through JPEG (about a third).
const JPEG_PALMS: usize = 14;

const SALT_LIFE: u64 = 1;
const SALT_HEAD_START: u64 = 2;
const SALT_HEAD_COURSE: u64 = 3;
const SALT_HEART: u64 = 4;
const SALT_FATE: u64 = 5;
const SALT_SUN: u64 = 6;
const SALT_MERCURY: u64 = 7;
const SALT_SIMIAN: u64 = 8;
const SALT_WRINKLES: u64 = 9;
const SALT_ROTATION: u64 = 10;
const SALT_SKIN: u64 = 11;
const SALT_BACKDROP: u64 = 12;
const SALT_SLEEVE: u64 = 13;
const SALT_BLUR: u64 = 14;
const SALT_JPEG: u64 = 15;

/// The rank of `index` in a seeded shuffle of `0..40` (one shuffle per `salt`), so that
/// `rank % n` spreads `n` variants evenly over the set and independently of the others.
fn balanced(index: u64, salt: u64) -> usize {
    const N: usize = HELDOUT_PALMS as usize;
    if index >= HELDOUT_PALMS {
        return Pcg32::new(mix64(index ^ (salt << 40)), Stream::Plan).below(N);
    }
    let mut perm: [usize; N] = core::array::from_fn(|i| i);
    let mut rng = Pcg32::new(salt, Stream::Plan);
    for i in (1..N).rev() {
        let j = rng.below(i + 1);
        perm.swap(i, j);
    }
    perm[index as usize]
}

fn sleeve_colour(rng: &mut Pcg32) -> [u8; 3] {
    const SLEEVES: [[u8; 3]; 6] = [
        [40, 52, 88],
        [150, 30, 40],
        [210, 210, 204],
        [60, 62, 64],
        [90, 120, 70],
        [190, 150, 60],
    ];
    SLEEVES[rng.below(SLEEVES.len())]
}

/// Brightest the lit palm may get (0–1): a usable photo keeps the palm below clipping.
const PEAK_PALM: f32 = 0.9;
/// The palm's brightest relief and lip lift the skin by about this factor.
const RELIEF_PEAK: f32 = 1.1;

/// `light` with its exposure lowered so that the palm's brightest skin stays below
/// [`PEAK_PALM`] under the spot.
fn capped(mut light: Lighting, skin: Skin) -> Lighting {
    let brightest = skin.palm().into_iter().fold(0.0, f32::max);
    let peak = light.exposure
        * (1.0 + 0.5 * light.spot_gain)
        * (1.0 + light.warmth.abs())
        * brightest
        * RELIEF_PEAK;
    if peak > PEAK_PALM {
        light.exposure *= PEAK_PALM / peak;
    }
    light
}

fn random_lighting(rng: &mut Pcg32) -> Lighting {
    Lighting {
        spot: (rng.range(0.2, 0.8), rng.range(0.2, 0.7)),
        spot_gain: rng.range(0.0, 0.35),
        spot_radius: rng.range(0.25, 0.6),
        vignette: rng.range(0.05, 0.4),
        exposure: rng.range(0.85, 1.08),
        warmth: rng.range(-0.06, 0.08),
    }
}

// ---------------------------------------------------------------------------------------
// Random numbers and noise
// ---------------------------------------------------------------------------------------

/// Independent random streams, one per concern, so that one concern's draws never shift
/// another's.
#[derive(Debug, Clone, Copy)]
enum Stream {
    Plan = 1,
    Hand = 2,
    Lines = 3,
    Wrinkles = 4,
    Skin = 5,
    Backdrop = 6,
    Sensor = 7,
    Scene = 8,
}

/// LCG multiplier of PCG (Knuth's MMIX constant).
const PCG_MULTIPLIER: u64 = 6_364_136_223_846_793_005;

/// PCG-XSH-RR (O'Neill 2014): a 64-bit LCG whose top bits are permuted into 32-bit
/// outputs; `inc` selects the stream.
#[derive(Debug, Clone)]
struct Pcg32 {
    state: u64,
    inc: u64,
}

impl Pcg32 {
    fn new(seed: u64, stream: Stream) -> Self {
        let mut r = Self {
            state: 0,
            inc: ((stream as u64) << 1) | 1,
        };
        r.step();
        r.state = r.state.wrapping_add(mix64(seed));
        r.step();
        r
    }

    fn step(&mut self) {
        self.state = self
            .state
            .wrapping_mul(PCG_MULTIPLIER)
            .wrapping_add(self.inc);
    }

    fn next_u32(&mut self) -> u32 {
        let old = self.state;
        self.step();
        let xorshifted = (((old >> 18) ^ old) >> 27) as u32;
        xorshifted.rotate_right((old >> 59) as u32)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f32 {
        (self.next_u32() >> 8) as f32 * (1.0 / 16_777_216.0)
    }

    fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.unit()
    }

    /// Uniform in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        ((u64::from(self.next_u32()) * n as u64) >> 32) as usize
    }

    /// Roughly standard normal: the Irwin–Hall sum of four uniforms, rescaled.
    fn gauss(&mut self) -> f32 {
        let s = self.unit() + self.unit() + self.unit() + self.unit();
        (s - 2.0) * 3.0_f32.sqrt()
    }
}

/// A 64-bit finaliser (MurmurHash3's fmix64): scrambles seeds and lattice coordinates.
fn mix64(mut z: u64) -> u64 {
    z ^= z >> 33;
    z = z.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    z ^= z >> 33;
    z = z.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
    z ^ (z >> 33)
}

/// Smooth value noise on an integer lattice, 0–1.
#[derive(Debug, Clone, Copy)]
struct ValueNoise {
    salt: u64,
}

impl ValueNoise {
    fn new(seed: u64, salt: u64) -> Self {
        Self {
            salt: mix64(seed ^ salt.wrapping_mul(0xA24B_AED4_963E_E407)),
        }
    }

    fn lattice(&self, ix: i32, iy: i32) -> f32 {
        let key = (u64::from(ix as u32) << 32) | u64::from(iy as u32);
        (mix64(key ^ self.salt) >> 40) as f32 * (1.0 / 16_777_216.0)
    }

    fn at(&self, x: f32, y: f32) -> f32 {
        let (fx, fy) = (x.floor(), y.floor());
        let (ix, iy) = (fx as i32, fy as i32);
        let (tx, ty) = (smooth(x - fx), smooth(y - fy));
        let top = lerp(self.lattice(ix, iy), self.lattice(ix + 1, iy), tx);
        let bottom = lerp(self.lattice(ix, iy + 1), self.lattice(ix + 1, iy + 1), tx);
        lerp(top, bottom, ty)
    }

    /// Sum of `octaves` octaves (each twice the frequency, half the amplitude), 0–1.
    fn fbm(&self, x: f32, y: f32, octaves: u32) -> f32 {
        let (mut sum, mut amp, mut freq, mut total) = (0.0, 1.0, 1.0, 0.0);
        for k in 0..octaves {
            let shift = k as f32 * 17.31;
            sum += amp * self.at(x * freq + shift, y * freq - shift);
            total += amp;
            amp *= 0.5;
            freq *= 2.0;
        }
        sum / total
    }
}

fn smooth(t: f32) -> f32 {
    t * t * (3.0 - 2.0 * t)
}

fn lerp(a: f32, b: f32, t: f32) -> f32 {
    a + (b - a) * t
}

fn smoothstep(e0: f32, e1: f32, x: f32) -> f32 {
    smooth(((x - e0) / (e1 - e0)).clamp(0.0, 1.0))
}

// ---------------------------------------------------------------------------------------
// Geometry
// ---------------------------------------------------------------------------------------

fn add(a: Point, b: Point) -> Point {
    Point::new(a.x + b.x, a.y + b.y)
}

fn sub(a: Point, b: Point) -> Point {
    Point::new(a.x - b.x, a.y - b.y)
}

fn mul(a: Point, s: f32) -> Point {
    Point::new(a.x * s, a.y * s)
}

/// `a` rotated by 90° (x right, y down: a quarter turn clockwise on screen).
fn perp(a: Point) -> Point {
    Point::new(-a.y, a.x)
}

fn unit(a: Point) -> Point {
    let n = (a.x * a.x + a.y * a.y).sqrt();
    if n > 0.0 {
        mul(a, 1.0 / n)
    } else {
        a
    }
}

/// A Catmull–Rom spline through `ctrl`, `per_seg` samples per segment.
fn catmull_rom(ctrl: &[Point], closed: bool, per_seg: usize) -> Vec<Point> {
    let n = ctrl.len();
    if n < 2 {
        return ctrl.to_vec();
    }
    let get = |i: isize| -> Point {
        let k = if closed {
            i.rem_euclid(n as isize)
        } else {
            i.clamp(0, n as isize - 1)
        };
        ctrl[k as usize]
    };
    let segs = if closed { n } else { n - 1 };
    let mut out = Vec::with_capacity(segs * per_seg + 1);
    for s in 0..segs as isize {
        let (p0, p1, p2, p3) = (get(s - 1), get(s), get(s + 1), get(s + 2));
        for k in 0..per_seg {
            let t = k as f32 / per_seg as f32;
            out.push(catmull_point(p0, p1, p2, p3, t));
        }
    }
    if !closed {
        out.push(ctrl[n - 1]);
    }
    out
}

fn catmull_point(p0: Point, p1: Point, p2: Point, p3: Point, t: f32) -> Point {
    let (t2, t3) = (t * t, t * t * t);
    let f = |a: f32, b: f32, c: f32, d: f32| {
        0.5 * (2.0 * b
            + (c - a) * t
            + (2.0 * a - 5.0 * b + 4.0 * c - d) * t2
            + (3.0 * b - a - 3.0 * c + d) * t3)
    };
    Point::new(f(p0.x, p1.x, p2.x, p3.x), f(p0.y, p1.y, p2.y, p3.y))
}

/// The path resampled at equal arc-length steps (the last point kept).
fn resample(path: &[Point], step: f32) -> Vec<Point> {
    let Some(&first) = path.first() else {
        return Vec::new();
    };
    let mut out = vec![first];
    let mut since = 0.0_f32;
    for w in path.windows(2) {
        let d = w[0].distance(w[1]);
        if d <= 0.0 {
            continue;
        }
        let mut pos = step - since;
        while pos <= d {
            let t = pos / d;
            out.push(add(w[0], mul(sub(w[1], w[0]), t)));
            pos += step;
        }
        since = d - (pos - step);
    }
    if let (Some(&last), Some(&end)) = (out.last(), path.last()) {
        if last.distance(end) > 0.5 * step {
            out.push(end);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Canvas and rasterisation
// ---------------------------------------------------------------------------------------

/// A float RGB image (sRGB values, 0–1 before clamping).
#[derive(Debug, Clone)]
struct Canvas {
    w: usize,
    h: usize,
    px: Vec<[f32; 3]>,
}

impl Canvas {
    fn new(w: usize, h: usize) -> Self {
        Self {
            w,
            h,
            px: vec![[0.0; 3]; w * h],
        }
    }
}

/// Sub-scanlines per pixel row for polygon coverage.
const SUB_SCANLINES: usize = 4;

/// Adds the coverage of the closed polygon `poly` (even–odd) to `mask` as a union
/// (per-pixel maximum), with 4 sub-scanlines per row and exact horizontal coverage.
fn fill_polygon(mask: &mut [f32], w: usize, h: usize, poly: &[Point]) {
    if poly.len() < 3 {
        return;
    }
    let (mut x0, mut x1, mut y0, mut y1) = (f32::MAX, f32::MIN, f32::MAX, f32::MIN);
    for p in poly {
        x0 = x0.min(p.x);
        x1 = x1.max(p.x);
        y0 = y0.min(p.y);
        y1 = y1.max(p.y);
    }
    let px0 = (x0.floor() as i64 - 1).clamp(0, w as i64 - 1) as usize;
    let px1 = (x1.ceil() as i64 + 1).clamp(0, w as i64 - 1) as usize;
    let py0 = (y0.floor() as i64 - 1).clamp(0, h as i64 - 1) as usize;
    let py1 = (y1.ceil() as i64 + 1).clamp(0, h as i64 - 1) as usize;
    if x1 < 0.0 || y1 < 0.0 || x0 > w as f32 || y0 > h as f32 {
        return;
    }
    let mut row = vec![0.0_f32; px1 - px0 + 1];
    let mut xs: Vec<f32> = Vec::new();
    for py in py0..=py1 {
        row.fill(0.0);
        for s in 0..SUB_SCANLINES {
            let sy = py as f32 - 0.5 + (s as f32 + 0.5) / SUB_SCANLINES as f32;
            crossings(poly, sy, &mut xs);
            for span in xs.chunks_exact(2) {
                add_span(&mut row, px0, span[0], span[1]);
            }
        }
        let out = &mut mask[py * w + px0..=py * w + px1];
        for (m, r) in out.iter_mut().zip(&row) {
            *m = m.max((r / SUB_SCANLINES as f32).min(1.0));
        }
    }
}

/// The sorted x positions where the polygon's edges cross the horizontal line `y`.
fn crossings(poly: &[Point], y: f32, xs: &mut Vec<f32>) {
    xs.clear();
    let n = poly.len();
    for i in 0..n {
        let (a, b) = (poly[i], poly[(i + 1) % n]);
        if (a.y <= y) != (b.y <= y) {
            xs.push(a.x + (y - a.y) * (b.x - a.x) / (b.y - a.y));
        }
    }
    xs.sort_by(f32::total_cmp);
}

/// Adds the horizontal coverage of `[xa, xb]` to `row` (pixel `i` spans `i ± 0.5`).
fn add_span(row: &mut [f32], offset: usize, xa: f32, xb: f32) {
    let lo = offset as f32 - 0.5;
    let hi = (offset + row.len()) as f32 - 0.5;
    let (xa, xb) = (xa.max(lo), xb.min(hi));
    if xb <= xa {
        return;
    }
    let first = (xa + 0.5).floor() as usize;
    let last = ((xb + 0.5).floor() as usize).min(offset + row.len() - 1);
    for i in first..=last {
        let cover = (xb.min(i as f32 + 0.5) - xa.max(i as f32 - 0.5)).clamp(0.0, 1.0);
        row[i - offset] += cover;
    }
}

/// A mask filled with the union of `polys`.
fn mask_of(w: usize, h: usize, polys: &[Vec<Point>]) -> Vec<f32> {
    let mut mask = vec![0.0; w * h];
    for p in polys {
        fill_polygon(&mut mask, w, h, p);
    }
    mask
}

/// Soft-edged 1-D kernel of radius `r` (a box whose end taps are fractional), normalised.
fn soft_box(r: f32) -> Vec<f32> {
    let reach = r.ceil() as i32;
    let mut k: Vec<f32> = (-reach..=reach)
        .map(|i| (r + 0.5 - i.abs() as f32).clamp(0.0, 1.0))
        .collect();
    let sum: f32 = k.iter().sum();
    k.iter_mut().for_each(|x| *x /= sum);
    k
}

/// Separable convolution of a single channel with `kernel` (edges clamped).
fn convolve(data: &[f32], w: usize, h: usize, kernel: &[f32]) -> Vec<f32> {
    let reach = (kernel.len() / 2) as isize;
    let mut tmp = vec![0.0; w * h];
    for y in 0..h {
        let row = &data[y * w..(y + 1) * w];
        for x in 0..w {
            tmp[y * w + x] = kernel
                .iter()
                .enumerate()
                .map(|(k, &c)| {
                    let xx = (x as isize + k as isize - reach).clamp(0, w as isize - 1);
                    c * row[xx as usize]
                })
                .sum();
        }
    }
    let mut out = vec![0.0; w * h];
    for y in 0..h {
        for x in 0..w {
            out[y * w + x] = kernel
                .iter()
                .enumerate()
                .map(|(k, &c)| {
                    let yy = (y as isize + k as isize - reach).clamp(0, h as isize - 1);
                    c * tmp[yy as usize * w + x]
                })
                .sum();
        }
    }
    out
}

/// Box blur of one channel by running sums (radius `r` pixels, edges clamped), twice:
/// a cheap tent-shaped low-pass for shading masks.
fn box_blur2(data: &[f32], w: usize, h: usize, r: usize) -> Vec<f32> {
    let once = |src: &[f32]| -> Vec<f32> {
        let mut tmp = vec![0.0; w * h];
        for y in 0..h {
            running_box(&src[y * w..(y + 1) * w], &mut tmp[y * w..(y + 1) * w], r);
        }
        let mut out = vec![0.0; w * h];
        let mut col = vec![0.0; h];
        let mut res = vec![0.0; h];
        for x in 0..w {
            for (y, c) in col.iter_mut().enumerate() {
                *c = tmp[y * w + x];
            }
            running_box(&col, &mut res, r);
            for (y, v) in res.iter().enumerate() {
                out[y * w + x] = *v;
            }
        }
        out
    };
    once(&once(data))
}

fn running_box(src: &[f32], dst: &mut [f32], r: usize) {
    let n = src.len() as isize;
    let r = r as isize;
    let at = |i: isize| src[i.clamp(0, n - 1) as usize];
    let mut sum: f32 = (-r..=r).map(at).sum();
    let norm = 1.0 / (2 * r + 1) as f32;
    for (i, d) in dst.iter_mut().enumerate() {
        *d = sum * norm;
        let i = i as isize;
        sum += at(i + r + 1) - at(i - r);
    }
}

// ---------------------------------------------------------------------------------------
// Creases
// ---------------------------------------------------------------------------------------

/// How far from a crease's centre its profile is evaluated, in half-widths.
const CREASE_REACH: f32 = 3.2;
/// Where the lighter lip peaks, in half-widths from the centre.
const LIP_AT: f32 = 1.7;
/// Spread of the lip, in half-widths.
const LIP_SPREAD: f32 = 0.6;
/// Fraction of the length over which a crease tapers at each end.
const TAPER: f32 = 0.14;
/// Frequency (per pixel of length) of the width and depth wander along a crease.
const WANDER_FREQ: f32 = 0.02;

/// One crease's look.
#[derive(Debug, Clone, Copy)]
struct Stroke {
    /// Full width at half darkness, pixels.
    width: f32,
    /// Darkness at the core, 0–1.
    depth: f32,
    /// Strength of the lighter lip relative to the depth.
    lip: f32,
    /// Seed of the wander along the line.
    salt: u64,
}

/// Per-pixel crease darkness and lip lightness (union of strokes by maximum).
#[derive(Debug, Clone)]
struct CreaseLayer {
    w: usize,
    h: usize,
    dark: Vec<f32>,
    lip: Vec<f32>,
}

impl CreaseLayer {
    fn new(w: usize, h: usize) -> Self {
        Self {
            w,
            h,
            dark: vec![0.0; w * h],
            lip: vec![0.0; w * h],
        }
    }

    /// Draws a crease along `path` (points about 1 px apart).
    fn stroke(&mut self, path: &[Point], st: &Stroke) {
        if path.is_empty() || st.width <= 0.0 {
            return;
        }
        let profile = stroke_profile(path.len(), st);
        let max_half = profile.iter().map(|p| p.0).fold(0.0, f32::max);
        let reach = (max_half * CREASE_REACH).ceil() + 1.0;
        let (mut x0, mut x1, mut y0, mut y1) = (f32::MAX, f32::MIN, f32::MAX, f32::MIN);
        for p in path {
            x0 = x0.min(p.x);
            x1 = x1.max(p.x);
            y0 = y0.min(p.y);
            y1 = y1.max(p.y);
        }
        let bx0 = ((x0 - reach).floor() as i64).clamp(0, self.w as i64 - 1);
        let bx1 = ((x1 + reach).ceil() as i64).clamp(0, self.w as i64 - 1);
        let by0 = ((y0 - reach).floor() as i64).clamp(0, self.h as i64 - 1);
        let by1 = ((y1 + reach).ceil() as i64).clamp(0, self.h as i64 - 1);
        if x1 + reach < 0.0
            || y1 + reach < 0.0
            || x0 - reach > self.w as f32
            || y0 - reach > self.h as f32
        {
            return;
        }
        let bw = (bx1 - bx0 + 1) as usize;
        let bh = (by1 - by0 + 1) as usize;
        let mut best = vec![f32::INFINITY; bw * bh];
        let mut nearest = vec![0_u32; bw * bh];
        for (i, p) in path.iter().enumerate() {
            let r = (profile[i].0 * CREASE_REACH).ceil() as i64 + 1;
            let (cx, cy) = (p.x.round() as i64, p.y.round() as i64);
            for y in (cy - r).max(by0)..=(cy + r).min(by1) {
                for x in (cx - r).max(bx0)..=(cx + r).min(bx1) {
                    let d2 = (x as f32 - p.x).powi(2) + (y as f32 - p.y).powi(2);
                    let k = (y - by0) as usize * bw + (x - bx0) as usize;
                    if d2 < best[k] {
                        best[k] = d2;
                        nearest[k] = i as u32;
                    }
                }
            }
        }
        for by in 0..bh {
            for bx in 0..bw {
                let k = by * bw + bx;
                if !best[k].is_finite() {
                    continue;
                }
                let (half, depth) = profile[nearest[k] as usize];
                let x = best[k].sqrt() / half;
                if x > CREASE_REACH {
                    continue;
                }
                let core = depth * (-std::f32::consts::LN_2 * x * x).exp();
                let lip = depth * st.lip * (-((x - LIP_AT) / LIP_SPREAD).powi(2)).exp();
                let g = (by0 as usize + by) * self.w + bx0 as usize + bx;
                self.dark[g] = self.dark[g].max(core);
                self.lip[g] = self.lip[g].max(lip);
            }
        }
    }
}

/// (half width, depth) at each point of a crease of `n` points: wandering along the
/// line and tapering at both ends.
fn stroke_profile(n: usize, st: &Stroke) -> Vec<(f32, f32)> {
    let wander = ValueNoise::new(st.salt, 77);
    (0..n)
        .map(|i| {
            let t = i as f32 / (n.max(2) - 1) as f32;
            let end = smoothstep(0.0, TAPER, t) * smoothstep(0.0, TAPER, 1.0 - t);
            let s = i as f32 * WANDER_FREQ;
            let width = 0.5 * st.width * (0.7 + 0.6 * wander.at(s, 0.5)) * (0.4 + 0.6 * end);
            let depth = st.depth * (0.8 + 0.4 * wander.at(s, 9.5)) * (0.3 + 0.7 * end);
            (width.max(0.4), depth.min(1.0))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// The hand
// ---------------------------------------------------------------------------------------

/// Finger bases (u, v) in MediaPipe order (index, middle, ring, little); the middle
/// finger's base is the frame's (0.5, 1) by definition.
const FINGER_BASES: [(f32, f32); 4] = [(0.76, 0.975), (0.5, 1.0), (0.28, 0.962), (0.09, 0.872)];
/// Finger tilt towards the thumb at spread 1, degrees (the fingers fan out).
const FINGER_TILT_DEG: [f32; 4] = [7.0, 0.0, -6.0, -13.0];
/// Finger lengths relative to the middle finger (index and ring a little shorter, the
/// little finger much shorter).
const FINGER_LENGTH: [f32; 4] = [0.9, 1.0, 0.94, 0.74];
/// Finger widths relative to the palm width.
const FINGER_WIDTH: [f32; 4] = [0.205, 0.215, 0.2, 0.17];
/// Where the PIP and DIP joints sit along a finger, fractions of its length.
const PIP_AT: f32 = 0.46;
const DIP_AT: f32 = 0.75;
/// Thumb CMC and MCP (u, v): the CMC low on the thenar mount, the MCP on the radial edge.
const THUMB_CMC: (f32, f32) = (0.8, 0.17);
const THUMB_MCP: (f32, f32) = (0.96, 0.44);
/// Where the thumb's outline starts, inside the thenar mount (so it joins the palm
/// without a knob).
const THUMB_ROOT: (f32, f32) = (0.8, 0.3);
/// Thumb segment lengths (MCP→IP, IP→tip) in palm lengths.
const THUMB_SEGMENTS: (f32, f32) = (0.31, 0.27);
/// Thumb half widths at its root, MCP, IP and tip, palm widths.
const THUMB_HALF: [f32; 4] = [0.16, 0.13, 0.115, 0.1];
/// The thumb's distal phalanx bends back towards the fingers by this much (radians).
const THUMB_BEND: f32 = 0.22;
/// The outline of the palm, wrist and forearm (u, v), a closed Catmull–Rom spline: the
/// thenar bulge reaches u = 1 and the hypothenar edge u = 0 (the palm's width); the wrist
/// narrows to about 0.7 of it just below the wrist crease (v = 0, the bottom of the
/// thenar and hypothenar mounts) and the forearm runs far off the photo (v = −2.6).
const HAND_OUTLINE: [(f32, f32); 32] = [
    (0.17, -2.6),
    (0.17, -1.6),
    (0.165, -0.8),
    (0.17, -0.3),
    (0.16, -0.1),
    (0.115, 0.0),
    (0.05, 0.12),
    (0.01, 0.3),
    (0.0, 0.55),
    (0.018, 0.74),
    (0.045, 0.87),
    (0.1, 0.94),
    (0.2, 0.965),
    (0.3, 0.99),
    (0.4, 1.005),
    (0.5, 1.02),
    (0.62, 1.01),
    (0.74, 0.99),
    (0.84, 0.975),
    (0.9, 0.89),
    (0.93, 0.77),
    (0.965, 0.63),
    (1.0, 0.48),
    (0.995, 0.33),
    (0.96, 0.2),
    (0.91, 0.09),
    (0.855, 0.0),
    (0.83, -0.1),
    (0.83, -0.3),
    (0.835, -0.8),
    (0.83, -1.6),
    (0.83, -2.6),
];
/// The hand's centre (u, v) sits at the photo's centre; v is scaled by the hand's
/// height (wrist to middle fingertip).
const CENTRE_U: f32 = 0.56;

#[derive(Debug, Clone, Copy)]
struct Finger {
    base: Point,
    dir: Point,
    len: f32,
    width: f32,
}

impl Finger {
    fn at(&self, t: f32) -> Point {
        add(self.base, mul(self.dir, t * self.len))
    }
}

/// The drawn hand in image pixels.
#[derive(Debug, Clone)]
struct Hand {
    frame: PalmFrame,
    /// Palm length and width, pixels.
    len: f32,
    wid: f32,
    fingers: [Finger; 4],
    /// CMC, MCP, IP, tip.
    thumb: [Point; 4],
}

impl Hand {
    fn build(spec: &HeldoutSpec, drawn_side: HandSide, rng: &mut Pcg32) -> Self {
        let len = spec.scale * spec.height as f32;
        let wid = len / spec.palm_ratio;
        let theta = spec.rotation_deg.to_radians();
        let vhat = Point::new(theta.sin(), -theta.cos());
        let uhat = match drawn_side {
            HandSide::Left => Point::new(-theta.cos(), -theta.sin()),
            HandSide::Right => Point::new(theta.cos(), theta.sin()),
        };
        let (axis_u, axis_v) = (mul(uhat, wid), mul(vhat, len));
        let centre = Point::new(
            spec.width as f32 * (0.5 + rng.range(-0.025, 0.025)),
            spec.height as f32 * (0.5 + rng.range(-0.02, 0.02)),
        );
        let vc = 0.5 * (1.0 + spec.finger_ratio);
        let origin = sub(sub(centre, mul(axis_u, CENTRE_U - 0.5)), mul(axis_v, vc));
        let frame = PalmFrame {
            origin,
            axis_v,
            axis_u,
        };
        let fingers = core::array::from_fn(|i| {
            let (bu, bv) = FINGER_BASES[i];
            let jitter = if i == 1 { 0.0 } else { rng.range(-3.0, 3.0) };
            let tilt = (FINGER_TILT_DEG[i] * spec.finger_spread + jitter).to_radians();
            let scale = if i == 1 { 1.0 } else { rng.range(0.97, 1.03) };
            Finger {
                base: frame.to_image(bu, bv),
                dir: add(mul(vhat, tilt.cos()), mul(uhat, tilt.sin())),
                len: FINGER_LENGTH[i] * scale * spec.finger_ratio * len,
                width: FINGER_WIDTH[i] * wid,
            }
        });
        let cmc = frame.to_image(THUMB_CMC.0, THUMB_CMC.1);
        let mcp = frame.to_image(THUMB_MCP.0, THUMB_MCP.1);
        let a = spec.thumb_angle_deg.to_radians();
        let d1 = add(mul(vhat, a.cos()), mul(uhat, a.sin()));
        let a2 = a - THUMB_BEND;
        let d2 = add(mul(vhat, a2.cos()), mul(uhat, a2.sin()));
        let ip = add(mcp, mul(d1, THUMB_SEGMENTS.0 * len));
        let tip = add(ip, mul(d2, THUMB_SEGMENTS.1 * len));
        Self {
            frame,
            len,
            wid,
            fingers,
            thumb: [cmc, mcp, ip, tip],
        }
    }

    fn middle_chain(&self) -> f32 {
        self.fingers[1].len
    }

    /// The 21 MediaPipe landmarks.
    fn landmarks(&self) -> Vec<Point> {
        let mut out = vec![self.frame.to_image(0.5, 0.0)];
        out.extend_from_slice(&self.thumb);
        for f in &self.fingers {
            out.extend([f.base, f.at(PIP_AT), f.at(DIP_AT), f.at(1.0)]);
        }
        out
    }

    fn uv(&self, ctrl: &[(f32, f32)]) -> Vec<Point> {
        ctrl.iter()
            .map(|&(u, v)| self.frame.to_image(u, v))
            .collect()
    }

    /// Polygons whose union is the hand (palm, forearm, fingers, thumb).
    fn outline(&self) -> Vec<Vec<Point>> {
        let mut polys = vec![catmull_rom(&self.uv(&HAND_OUTLINE), true, 10)];
        for f in &self.fingers {
            polys.push(finger_polygon(f, 0.1 * self.len));
        }
        let half = THUMB_HALF.map(|h| h * self.wid);
        let root = self.frame.to_image(THUMB_ROOT.0, THUMB_ROOT.1);
        polys.push(chain_polygon(
            &[root, self.thumb[1], self.thumb[2], self.thumb[3]],
            &half,
        ));
        polys
    }
}

/// A finger: tapered sides with slight bulges at the joints and a round tip; it starts
/// `root` pixels inside the palm.
fn finger_polygon(f: &Finger, root: f32) -> Vec<Point> {
    let n = perp(f.dir);
    let half_tip = 0.5 * f.width * 0.84;
    // (distance along the finger from its base, half width)
    let stations = [
        (-root, 0.56 * f.width),
        (0.0, 0.5 * f.width),
        (0.25 * f.len, 0.47 * f.width),
        (PIP_AT * f.len, 0.49 * f.width),
        (0.6 * f.len, 0.45 * f.width),
        (DIP_AT * f.len, 0.46 * f.width),
        (f.len - half_tip, half_tip),
    ];
    let mut poly: Vec<Point> = stations
        .iter()
        .map(|&(s, hw)| add(add(f.base, mul(f.dir, s)), mul(n, hw)))
        .collect();
    let tip_centre = add(f.base, mul(f.dir, f.len - half_tip));
    const ARC_STEPS: usize = 12;
    for k in 1..ARC_STEPS {
        let a = std::f32::consts::PI * k as f32 / ARC_STEPS as f32;
        let off = add(mul(n, a.cos() * half_tip), mul(f.dir, a.sin() * half_tip));
        poly.push(add(tip_centre, off));
    }
    poly.extend(
        stations
            .iter()
            .rev()
            .map(|&(s, hw)| add(add(f.base, mul(f.dir, s)), mul(n, -hw))),
    );
    poly
}

/// A polygon round a polyline with a half width at each node and a round end.
fn chain_polygon(nodes: &[Point], half: &[f32]) -> Vec<Point> {
    let m = nodes.len();
    let normal = |i: usize| -> Point {
        let a = nodes[i.saturating_sub(1)];
        let b = nodes[(i + 1).min(m - 1)];
        perp(unit(sub(b, a)))
    };
    let mut poly: Vec<Point> = (0..m)
        .map(|i| add(nodes[i], mul(normal(i), half[i])))
        .collect();
    let dir = unit(sub(nodes[m - 1], nodes[m - 2]));
    let n = normal(m - 1);
    const ARC_STEPS: usize = 10;
    for k in 1..ARC_STEPS {
        let a = std::f32::consts::PI * k as f32 / ARC_STEPS as f32;
        let off = add(
            mul(n, a.cos() * half[m - 1]),
            mul(dir, a.sin() * half[m - 1]),
        );
        poly.push(add(nodes[m - 1], off));
    }
    poly.extend(
        (0..m)
            .rev()
            .map(|i| add(nodes[i], mul(normal(i), -half[i]))),
    );
    poly
}

// ---------------------------------------------------------------------------------------
// Principal lines
// ---------------------------------------------------------------------------------------

/// Per-seed jitter of each control point, palm units.
const CONTROL_JITTER: f32 = 0.012;
/// The life line's and (joined) head line's common start.
const LIFE_START: (f32, f32) = (0.94, 0.635);
/// The head line's start when separate from the life line.
const HEAD_SEPARATE_START: (f32, f32) = (0.925, 0.70);
const LIFE_CLASSICAL: [(f32, f32); 5] = [
    (0.8, 0.57),
    (0.7, 0.44),
    (0.66, 0.28),
    (0.67, 0.14),
    (0.71, 0.03),
];
const LIFE_CLOSE: [(f32, f32); 5] = [
    (0.85, 0.56),
    (0.8, 0.44),
    (0.78, 0.3),
    (0.79, 0.16),
    (0.81, 0.05),
];
const LIFE_WIDE: [(f32, f32); 5] = [
    (0.76, 0.56),
    (0.62, 0.44),
    (0.55, 0.3),
    (0.51, 0.16),
    (0.5, 0.04),
];
const HEAD_SLOPING: [(f32, f32); 4] = [(0.78, 0.63), (0.55, 0.57), (0.33, 0.49), (0.14, 0.42)];
const HEAD_STRAIGHT: [(f32, f32); 4] = [(0.78, 0.645), (0.55, 0.625), (0.32, 0.61), (0.1, 0.6)];
const HEART_CURVED: [(f32, f32); 5] = [
    (0.02, 0.8),
    (0.18, 0.785),
    (0.38, 0.8),
    (0.56, 0.86),
    (0.67, 0.94),
];
const HEART_STRAIGHT: [(f32, f32); 5] = [
    (0.02, 0.81),
    (0.22, 0.8),
    (0.45, 0.8),
    (0.66, 0.82),
    (0.8, 0.85),
];
const SIMIAN: [(f32, f32); 5] = [
    (0.02, 0.71),
    (0.25, 0.7),
    (0.5, 0.685),
    (0.75, 0.67),
    (0.94, 0.65),
];
const FATE_WRIST: [(f32, f32); 4] = [(0.53, 0.03), (0.52, 0.25), (0.51, 0.5), (0.52, 0.78)];
const FATE_FROM_LIFE_REST: [(f32, f32); 3] = [(0.6, 0.35), (0.54, 0.56), (0.52, 0.78)];
const FATE_MID: [(f32, f32); 3] = [(0.5, 0.36), (0.51, 0.56), (0.52, 0.78)];
const SUN: [(f32, f32); 3] = [(0.3, 0.46), (0.31, 0.62), (0.3, 0.77)];
const MERCURY: [(f32, f32); 4] = [(0.56, 0.12), (0.42, 0.32), (0.26, 0.55), (0.15, 0.74)];
/// A fate line leaving the life line keeps only the control points at least this much
/// higher (palm lengths), so it never runs down first.
const FATE_RISE: f32 = 0.08;
/// Where along the life line a fate line may leave it.
const FATE_FROM_LIFE_AT: f32 = 0.7;
/// Where a short life line ends, fraction of the classical length.
const SHORT_LIFE: f32 = 0.5;
/// Length of a life line's gap, palm lengths.
const BREAK_GAP: f32 = 0.06;
/// Where the gap sits along the life line.
const BREAK_AT: f32 = 0.5;
/// The sister line: offset towards the thumb (palm widths) and the stretch it runs.
const SISTER_OFFSET: f32 = 0.045;
const SISTER_SPAN: (f32, f32) = (0.2, 0.75);
/// Relative depth of the secondary lines.
const FATE_DEPTH: f32 = 0.8;
const MINOR_LINE_DEPTH: f32 = 0.6;

/// A principal line as drawn: its pieces (more than one when broken) and its truth.
#[derive(Debug, Clone)]
struct PlannedLine {
    truth: TrueLine,
    pieces: Vec<Vec<Point>>,
    depth: f32,
}

fn jittered(rng: &mut Pcg32, ctrl: &[(f32, f32)]) -> Vec<(f32, f32)> {
    ctrl.iter()
        .map(|&(u, v)| {
            (
                u + rng.range(-CONTROL_JITTER, CONTROL_JITTER),
                v + rng.range(-CONTROL_JITTER, CONTROL_JITTER),
            )
        })
        .collect()
}

/// Image path, 1 px apart, through `(u, v)` control points.
fn line_path(hand: &Hand, ctrl: &[(f32, f32)]) -> Vec<Point> {
    resample(&catmull_rom(&hand.uv(ctrl), false, 32), 1.0)
}

fn simple_line(id: LineId, path: Vec<Point>, depth: f32) -> PlannedLine {
    PlannedLine {
        truth: TrueLine {
            id,
            points: path.clone(),
            breaks: 0,
            forks: 0,
            fused_with: None,
        },
        pieces: vec![path],
        depth,
    }
}

/// The random stream of one line's jitter (`None`: the shared start of life and head).
fn line_rng(spec: &HeldoutSpec, id: Option<LineId>) -> Pcg32 {
    let k = id.map_or(0, |id| {
        1 + LineId::ALL.iter().position(|&x| x == id).unwrap_or(0)
    }) as u64;
    Pcg32::new(spec.seed ^ (k << 48), Stream::Lines)
}

/// The principal lines of a palm, in [`LineId::ALL`] order, and the sister line if any.
fn plan_lines(spec: &HeldoutSpec, hand: &Hand) -> (Vec<PlannedLine>, Option<Vec<Point>>) {
    // One stream per line: turning one line on or off never moves another.
    let start = {
        let j = jittered(&mut line_rng(spec, None), &[LIFE_START]);
        j[0]
    };
    let life_ctrl = {
        let body = match spec.life {
            LifeLine::Close => &LIFE_CLOSE,
            LifeLine::Wide => &LIFE_WIDE,
            _ => &LIFE_CLASSICAL,
        };
        let mut c = vec![start];
        c.extend(jittered(&mut line_rng(spec, Some(LineId::Life)), body));
        c
    };
    let life_full = line_path(hand, &life_ctrl);
    let mut lines = Vec::new();
    if spec.simian {
        let mut c = jittered(&mut line_rng(spec, Some(LineId::Heart)), &SIMIAN);
        if let Some(last) = c.last_mut() {
            *last = start;
        }
        let mut l = simple_line(LineId::Heart, line_path(hand, &c), 1.0);
        l.truth.fused_with = Some(LineId::Head);
        lines.push(l);
    } else {
        let heart = match spec.heart {
            HeartCourse::Curved => &HEART_CURVED,
            HeartCourse::Straight => &HEART_STRAIGHT,
        };
        lines.push(simple_line(
            LineId::Heart,
            line_path(
                hand,
                &jittered(&mut line_rng(spec, Some(LineId::Heart)), heart),
            ),
            1.0,
        ));
        lines.push(head_line(spec, hand, start));
    }
    let life = life_line(spec, hand, &life_full);
    let life_drawn = life.truth.points.clone();
    lines.push(life);
    if let Some(fate) = spec.fate {
        lines.push(fate_line(spec, hand, fate, &life_drawn));
    }
    if spec.sun {
        let path = line_path(
            hand,
            &jittered(&mut line_rng(spec, Some(LineId::Sun)), &SUN),
        );
        lines.push(simple_line(LineId::Sun, path, MINOR_LINE_DEPTH));
    }
    if spec.mercury {
        let path = line_path(
            hand,
            &jittered(&mut line_rng(spec, Some(LineId::Mercury)), &MERCURY),
        );
        lines.push(simple_line(LineId::Mercury, path, MINOR_LINE_DEPTH));
    }
    let sister = (spec.life == LifeLine::Doubled).then(|| sister_line(hand, &life_full));
    (lines, sister)
}

/// The head line, starting at the life line's start (`start`) or apart from it, sloping
/// or straight.
fn head_line(spec: &HeldoutSpec, hand: &Hand, start: (f32, f32)) -> PlannedLine {
    let mut head_rng = line_rng(spec, Some(LineId::Head));
    let head_start = match spec.head_start {
        HeadStart::Joined => start,
        HeadStart::Separate => jittered(&mut head_rng, &[HEAD_SEPARATE_START])[0],
    };
    let body = match spec.head_course {
        HeadCourse::Sloping => &HEAD_SLOPING,
        HeadCourse::Straight => &HEAD_STRAIGHT,
    };
    let mut c = vec![head_start];
    c.extend(jittered(&mut head_rng, body));
    if spec.head_start == HeadStart::Separate {
        c[1].1 += 0.025;
    }
    simple_line(LineId::Head, line_path(hand, &c), 1.0)
}

/// The fate line from where `fate` says it starts (`life_drawn`: the life line's points
/// as drawn).
fn fate_line(
    spec: &HeldoutSpec,
    hand: &Hand,
    fate: FateStart,
    life_drawn: &[Point],
) -> PlannedLine {
    let c = match fate {
        FateStart::Wrist => jittered(&mut line_rng(spec, Some(LineId::Fate)), &FATE_WRIST),
        FateStart::MidPalm => jittered(&mut line_rng(spec, Some(LineId::Fate)), &FATE_MID),
        FateStart::LifeLine => {
            // Out of the life line as drawn (a short one included), then upwards only.
            let k = (life_drawn.len().saturating_sub(1) as f32 * FATE_FROM_LIFE_AT) as usize;
            let start = life_drawn
                .get(k)
                .map_or(LIFE_START, |&p| hand.frame.to_palm(p));
            let rest = jittered(
                &mut line_rng(spec, Some(LineId::Fate)),
                &FATE_FROM_LIFE_REST,
            );
            let mut c = vec![start];
            c.extend(rest.into_iter().filter(|p| p.1 > start.1 + FATE_RISE));
            c
        }
    };
    simple_line(LineId::Fate, line_path(hand, &c), FATE_DEPTH)
}

/// The life line, cut short or broken as the variant asks.
fn life_line(spec: &HeldoutSpec, hand: &Hand, full: &[Point]) -> PlannedLine {
    let n = full.len();
    match spec.life {
        LifeLine::Short => {
            let keep = ((n as f32 * SHORT_LIFE) as usize).max(2).min(n);
            simple_line(LineId::Life, full[..keep].to_vec(), 1.0)
        }
        LifeLine::Broken => {
            let gap = (BREAK_GAP * hand.len).round() as usize;
            let mid = (n as f32 * BREAK_AT) as usize;
            let a = mid.saturating_sub(gap / 2).min(n);
            let b = (mid + gap / 2).min(n);
            let pieces = vec![full[..a].to_vec(), full[b..].to_vec()];
            PlannedLine {
                truth: TrueLine {
                    id: LineId::Life,
                    points: pieces.concat(),
                    breaks: 1,
                    forks: 0,
                    fused_with: None,
                },
                pieces,
                depth: 1.0,
            }
        }
        _ => simple_line(LineId::Life, full.to_vec(), 1.0),
    }
}

/// A sister line running beside the life line on its thumb side.
fn sister_line(hand: &Hand, life: &[Point]) -> Vec<Point> {
    let n = life.len();
    let a = (n as f32 * SISTER_SPAN.0) as usize;
    let b = ((n as f32 * SISTER_SPAN.1) as usize).max(a + 1).min(n);
    let shift = mul(unit(hand.frame.axis_u), SISTER_OFFSET * hand.wid);
    life[a..b].iter().map(|&p| add(p, shift)).collect()
}

/// Minor wrinkles (distractors), flexion creases on the fingers and thumb, bracelet
/// creases at the wrist.
fn draw_minor_creases(layer: &mut CreaseLayer, spec: &HeldoutSpec, hand: &Hand, width: f32) {
    let mut rng = Pcg32::new(spec.seed, Stream::Wrinkles);
    let count = (25.0 + 110.0 * spec.wrinkles) as usize;
    for k in 0..count {
        let (u, v) = (rng.range(0.06, 0.94), rng.range(0.06, 0.9));
        // Minor creases mostly run across the palm or along it, like the principal ones.
        let a = match rng.below(10) {
            0..=4 => rng.range(-0.35, 0.35),
            5..=7 => std::f32::consts::FRAC_PI_2 + rng.range(-0.3, 0.3),
            _ => rng.range(0.0, std::f32::consts::PI),
        };
        let reach = rng.range(0.02, 0.05 + 0.08 * spec.wrinkles);
        let bend = rng.range(-0.3, 0.3) * reach;
        let (du, dv) = (a.cos() * reach, a.sin() * reach);
        let ctrl = [
            (u - du, v - dv),
            (
                u - dv * bend / reach.max(1e-3),
                v + du * bend / reach.max(1e-3),
            ),
            (u + du, v + dv),
        ];
        let depth = spec.crease_depth * rng.range(0.12, 0.3) * (0.6 + 0.8 * spec.wrinkles);
        let st = Stroke {
            width: width * rng.range(0.4, 0.8),
            depth,
            lip: 0.3,
            salt: spec.seed ^ (k as u64 + 1000),
        };
        layer.stroke(&line_path(hand, &ctrl), &st);
    }
    let flex = Stroke {
        width: width * 0.8,
        depth: 0.55,
        lip: 0.5,
        salt: spec.seed ^ 0xF1E,
    };
    for f in &hand.fingers {
        for at in [0.015, PIP_AT - 0.015, PIP_AT + 0.015, DIP_AT] {
            layer.stroke(&across(f.at(at), f.dir, 0.42 * f.width), &flex);
        }
    }
    let t = &hand.thumb;
    for (a, b) in [(t[1], t[2]), (t[2], t[3])] {
        let half = THUMB_HALF[2] * hand.wid * 0.8;
        layer.stroke(&across(a, unit(sub(b, a)), half), &flex);
    }
    for v in [-0.03, -0.085] {
        let c = [(0.2, v - 0.01), (0.5, v + 0.005), (0.8, v - 0.01)];
        layer.stroke(&line_path(hand, &c), &flex);
    }
}

/// A short crease across a finger at `centre`, perpendicular to `dir`, bowed a little
/// towards the fingertip.
fn across(centre: Point, dir: Point, half: f32) -> Vec<Point> {
    let n = perp(dir);
    let ctrl = [
        add(centre, mul(n, -half)),
        add(centre, mul(dir, 0.12 * half)),
        add(centre, mul(n, half)),
    ];
    resample(&catmull_rom(&ctrl, false, 16), 1.0)
}

// ---------------------------------------------------------------------------------------
// Painting
// ---------------------------------------------------------------------------------------

/// The hand as painted and its truth.
#[derive(Debug)]
struct DrawnHand {
    hand: Hand,
    truth: Vec<TrueLine>,
}

/// Brightness range of the rounded shading from the blurred mask (edge to middle).
const SHADE_EDGE: f32 = 0.72;
/// Radius of the blur giving the rounded shading, palm widths.
const SHADE_RADIUS: f32 = 0.05;
/// Contact shadow: offset (palm widths) and darkness.
const SHADOW_OFFSET: f32 = 0.035;
const SHADOW_DARKNESS: f32 = 0.35;
/// Colour of a crease's core relative to the skin (reddish brown).
const CREASE_TINT: [f32; 3] = [0.62, 0.47, 0.45];
/// Mottling per channel at full strength (redder patches).
const MOTTLE: [f32; 3] = [0.1, -0.06, -0.05];
/// Fine grain of the skin, relative amplitude.
const GRAIN: f32 = 0.05;
/// How much a lip lightens the skin towards white.
const LIP_LIGHTEN: f32 = 0.28;

fn other(side: HandSide) -> HandSide {
    match side {
        HandSide::Left => HandSide::Right,
        HandSide::Right => HandSide::Left,
    }
}

fn paint_hand(canvas: &mut Canvas, spec: &HeldoutSpec) -> DrawnHand {
    let back = spec.scene == Scene::BackOfHand;
    // The back of a left hand shows its thumb where a right palm would.
    let drawn_side = if back { other(spec.side) } else { spec.side };
    let mut rng = Pcg32::new(spec.seed, Stream::Hand);
    let hand = Hand::build(spec, drawn_side, &mut rng);
    let (w, h) = (canvas.w, canvas.h);
    let mask = mask_of(w, h, &hand.outline());
    let width = (spec.crease_width * hand.len).max(1.0);
    let mut layer = CreaseLayer::new(w, h);
    let mut truth = Vec::new();
    if back {
        draw_back_details(&mut layer, spec, &hand, width);
    } else {
        let (lines, sister) = plan_lines(spec, &hand);
        for (k, l) in lines.iter().enumerate() {
            let st = Stroke {
                width,
                depth: spec.crease_depth * l.depth,
                lip: 0.45,
                salt: spec.seed ^ (k as u64 + 1),
            };
            for piece in &l.pieces {
                layer.stroke(piece, &st);
            }
        }
        if let Some(s) = sister {
            let st = Stroke {
                width: width * 0.7,
                depth: spec.crease_depth * 0.6,
                lip: 0.4,
                salt: spec.seed ^ 0x5157,
            };
            layer.stroke(&s, &st);
        }
        draw_minor_creases(&mut layer, spec, &hand, width);
        truth = lines.into_iter().map(|l| l.truth).collect();
    }
    cast_shadow(canvas, &mask, hand.wid);
    paint_skin(canvas, spec, &hand, &mask, &layer, back);
    if back {
        paint_nails(canvas, spec, &hand);
    }
    if let Some(colour) = spec.sleeve {
        paint_sleeve(canvas, spec, &hand, colour);
    }
    DrawnHand { hand, truth }
}

/// A soft shadow of the hand on the background, offset down and to the right.
fn cast_shadow(canvas: &mut Canvas, mask: &[f32], wid: f32) {
    let (w, h) = (canvas.w, canvas.h);
    let r = (0.04 * wid).max(1.0) as usize;
    let soft = box_blur2(mask, w, h, r);
    let off = (SHADOW_OFFSET * wid) as usize;
    for y in off..h {
        for x in off..w {
            let s = soft[(y - off) * w + x - off] * SHADOW_DARKNESS;
            let p = &mut canvas.px[y * w + x];
            p.iter_mut().for_each(|c| *c *= 1.0 - s);
        }
    }
}

fn paint_skin(
    canvas: &mut Canvas,
    spec: &HeldoutSpec,
    hand: &Hand,
    mask: &[f32],
    layer: &CreaseLayer,
    back: bool,
) {
    let (w, h) = (canvas.w, canvas.h);
    let height = box_blur2(mask, w, h, (SHADE_RADIUS * hand.wid).max(1.0) as usize);
    let base = if back {
        spec.skin.back()
    } else {
        spec.skin.palm()
    };
    let mottle = ValueNoise::new(spec.seed, 1);
    let grain = ValueNoise::new(spec.seed, 2);
    let pore_salt = u64::from(Pcg32::new(spec.seed, Stream::Skin).next_u32());
    let mottle_scale = 1.0 / (0.15 * hand.wid);
    for y in 0..h {
        for x in 0..w {
            let i = y * w + x;
            let m = mask[i];
            if m <= 0.0 {
                continue;
            }
            let (fx, fy) = (x as f32, y as f32);
            let (u, v) = hand.frame.to_palm(Point::new(fx, fy));
            // Mottling only ever reddens (blood under the skin), never greys.
            let mt = (mottle.fbm(fx * mottle_scale, fy * mottle_scale, 3) - 0.5).max(0.0);
            let gr = grain.at(fx * 0.45, fy * 0.45) - 0.5;
            let pore = (mix64(i as u64 ^ pore_salt) >> 54) == 0;
            let relief = relief(u, v, back);
            let shade = SHADE_EDGE + (1.0 - SHADE_EDGE) * smoothstep(0.3, 0.85, height[i]);
            let mut c = [0.0; 3];
            for (ch, out) in c.iter_mut().enumerate() {
                let mut s = base[ch] * (1.0 + mt * MOTTLE[ch] + gr * GRAIN) * relief * shade;
                if pore {
                    s *= 0.9;
                }
                let d = layer.dark[i].min(1.0);
                s *= 1.0 - d * (1.0 - CREASE_TINT[ch]) * 1.25;
                s += (1.0 - s) * layer.lip[i] * LIP_LIGHTEN;
                *out = s;
            }
            let p = &mut canvas.px[i];
            for ch in 0..3 {
                p[ch] = p[ch] * (1.0 - m) + c[ch] * m;
            }
        }
    }
}

/// Brightness of the palm's relief at (u, v): lighter mounts (thenar, hypothenar, under
/// the fingers), a darker hollow in the middle; on the back, lighter knuckles.
fn relief(u: f32, v: f32, back: bool) -> f32 {
    let bump = |cu: f32, cv: f32, r: f32| (-((u - cu).powi(2) + (v - cv).powi(2)) / (r * r)).exp();
    if back {
        return 1.0 + 0.04 * bump(0.5, 0.95, 0.15);
    }
    1.0 + 0.07 * bump(0.8, 0.28, 0.18)
        + 0.05 * bump(0.12, 0.35, 0.15)
        + 0.04 * bump(0.45, 0.9, 0.12)
        - 0.07 * bump(0.5, 0.5, 0.22)
}

/// Back of the hand: knuckle wrinkles, hair and faint veins (no palm creases).
fn draw_back_details(layer: &mut CreaseLayer, spec: &HeldoutSpec, hand: &Hand, width: f32) {
    let mut rng = Pcg32::new(spec.seed, Stream::Wrinkles);
    let knuckle = Stroke {
        width: width * 0.6,
        depth: 0.45,
        lip: 0.3,
        salt: spec.seed ^ 0xB4C,
    };
    for f in &hand.fingers {
        for k in 0..4 {
            let at = PIP_AT - 0.04 + 0.025 * k as f32;
            layer.stroke(&across(f.at(at), f.dir, 0.3 * f.width), &knuckle);
        }
        for k in 0..2 {
            let at = DIP_AT - 0.015 + 0.03 * k as f32;
            layer.stroke(&across(f.at(at), f.dir, 0.25 * f.width), &knuckle);
        }
    }
    const HAIRS: usize = 500;
    let hair = Stroke {
        width: 0.9,
        depth: 0.35,
        lip: 0.0,
        salt: spec.seed ^ 0x4A1,
    };
    for _ in 0..HAIRS {
        let (u, v) = (rng.range(0.1, 0.9), rng.range(-0.6, 0.5));
        let a = rng.range(-0.5, 0.5);
        let l = rng.range(0.015, 0.035);
        let c = [(u, v), (u + a * l, v - l)];
        layer.stroke(&line_path(hand, &c), &hair);
    }
    let vein = Stroke {
        width: width * 2.5,
        depth: 0.08,
        lip: 0.0,
        salt: spec.seed ^ 0x7E1,
    };
    for k in 0..3 {
        let u = 0.3 + 0.2 * k as f32 + rng.range(-0.05, 0.05);
        let c = [
            (u, -0.3),
            (u + rng.range(-0.08, 0.08), 0.3),
            (u + rng.range(-0.1, 0.1), 0.8),
        ];
        layer.stroke(&line_path(hand, &c), &vein);
    }
}

/// Nail colour (pink, half mixed with the palm-side skin) and how much it covers the
/// skin underneath (nails are translucent).
const NAIL_PINK: [f32; 3] = [0.93, 0.74, 0.72];
const NAIL_OPACITY: f32 = 0.6;

/// Nails at the finger and thumb tips (back of the hand only).
fn paint_nails(canvas: &mut Canvas, spec: &HeldoutSpec, hand: &Hand) {
    let (w, h) = (canvas.w, canvas.h);
    let mut polys = Vec::new();
    for f in &hand.fingers {
        let nail = Finger {
            base: f.at(0.76),
            dir: f.dir,
            len: 0.22 * f.len,
            width: 0.68 * f.width,
        };
        polys.push(finger_polygon(&nail, 0.0));
    }
    let t = &hand.thumb;
    let dir = unit(sub(t[3], t[2]));
    let tlen = t[2].distance(t[3]);
    polys.push(finger_polygon(
        &Finger {
            base: add(t[2], mul(dir, 0.45 * tlen)),
            dir,
            len: 0.5 * tlen,
            width: 1.3 * THUMB_HALF[3] * hand.wid,
        },
        0.0,
    ));
    let mask = mask_of(w, h, &polys);
    let palm = spec.skin.palm();
    let tint: [f32; 3] = core::array::from_fn(|ch| lerp(palm[ch], NAIL_PINK[ch], 0.5));
    for (p, &m) in canvas.px.iter_mut().zip(&mask) {
        if m > 0.0 {
            let a = m * NAIL_OPACITY;
            for ch in 0..3 {
                p[ch] = p[ch] * (1.0 - a) + tint[ch] * a;
            }
        }
    }
}

/// A sleeve over the forearm, from a little below the wrist crease, with a knit texture.
fn paint_sleeve(canvas: &mut Canvas, spec: &HeldoutSpec, hand: &Hand, colour: [u8; 3]) {
    let (w, h) = (canvas.w, canvas.h);
    let mut rng = Pcg32::new(spec.seed, Stream::Scene);
    let cuff = rng.range(-0.24, -0.15);
    let ctrl = [
        (0.02, cuff - 0.03),
        (0.3, cuff + 0.01),
        (0.7, cuff),
        (0.98, cuff - 0.04),
        (1.02, -3.0),
        (-0.02, -3.0),
    ];
    let mut poly = catmull_rom(&hand.uv(&ctrl[..4]), false, 12);
    poly.extend(hand.uv(&ctrl[4..]));
    let mask = mask_of(w, h, &[poly]);
    let knit = ValueNoise::new(spec.seed, 3);
    let base = colour.map(|c| c as f32 / 255.0);
    let shade = box_blur2(&mask, w, h, (0.04 * hand.wid).max(1.0) as usize);
    for (i, p) in canvas.px.iter_mut().enumerate() {
        let m = mask[i];
        if m <= 0.0 {
            continue;
        }
        let (x, y) = ((i % w) as f32, (i / w) as f32);
        let (u, v) = hand.frame.to_palm(Point::new(x, y));
        let rib = 0.9 + 0.1 * (u * hand.wid * 0.35).sin().abs();
        let fuzz = 0.92 + 0.16 * knit.at(x * 0.3, y * 0.3);
        let fold = 0.85 + 0.15 * (v * 9.0 + knit.at(x * 0.01, y * 0.01) * 4.0).sin();
        let s = rib * fuzz * fold * (0.7 + 0.3 * shade[i]);
        for ch in 0..3 {
            p[ch] = p[ch] * (1.0 - m) + base[ch] * s * m;
        }
    }
}

// ---------------------------------------------------------------------------------------
// Backgrounds and non-hand scenes
// ---------------------------------------------------------------------------------------

/// A backdrop: its colour (0–1 RGB) at pixel `(x, y)`.
type Paint = Box<dyn Fn(f32, f32) -> [f32; 3]>;

/// Fills the canvas with the spec's backdrop.
fn paint_backdrop(canvas: &mut Canvas, spec: &HeldoutSpec) {
    let mut rng = Pcg32::new(spec.seed, Stream::Backdrop);
    let noise = ValueNoise::new(spec.seed, 4);
    let w = canvas.w;
    let paint: Paint = match spec.background {
        Backdrop::Wood => wood_paint(&mut rng, noise),
        Backdrop::Cloth => cloth_paint(&mut rng, noise),
        Backdrop::Gradient => gradient_paint(&mut rng, canvas.w, canvas.h),
        Backdrop::Tiles => tiles_paint(&mut rng, noise),
        Backdrop::Dots => dots_paint(&mut rng, noise),
    };
    for (i, p) in canvas.px.iter_mut().enumerate() {
        *p = paint((i % w) as f32, (i / w) as f32);
    }
}

/// Wooden boards with grain and seams, in one of a few wood tones.
fn wood_paint(rng: &mut Pcg32, noise: ValueNoise) -> Paint {
    const WOODS: [[f32; 3]; 4] = [
        [0.55, 0.38, 0.22],
        [0.36, 0.22, 0.13],
        [0.72, 0.55, 0.35],
        [0.45, 0.2, 0.13],
    ];
    let wood = WOODS[rng.below(WOODS.len())].map(|c| c * rng.range(0.9, 1.1));
    let plank = rng.range(140.0, 260.0);
    let a = rng.range(-0.3, 0.3);
    Box::new(move |x, y| {
        let along = x * a.cos() + y * a.sin();
        let across = y * a.cos() - x * a.sin();
        let board = (across / plank).floor();
        let edge = (across - board * plank).min((board + 1.0) * plank - across);
        let seam = smoothstep(0.0, 3.0, edge);
        // Fine grain lines bent by a slow warp, and slower bands of late wood.
        let warp = noise.fbm(along * 0.003, across * 0.01 + board * 7.0, 3);
        let fine = (across * 0.35 + 14.0 * warp).sin();
        let bands = (across * 0.05 + 5.0 * warp).sin();
        let tone = 0.1 * (noise.at(board * 3.1, 0.5) - 0.5);
        let g = 1.0 + 0.06 * fine + 0.12 * bands + tone;
        wood.map(|c| c * g * (0.55 + 0.45 * seam))
    })
}

/// Woven cloth with soft wrinkles, in one of a few colours.
fn cloth_paint(rng: &mut Pcg32, noise: ValueNoise) -> Paint {
    const CLOTHS: [[f32; 3]; 5] = [
        [0.2, 0.3, 0.5],
        [0.35, 0.45, 0.3],
        [0.5, 0.18, 0.2],
        [0.62, 0.6, 0.55],
        [0.3, 0.3, 0.33],
    ];
    let base = CLOTHS[rng.below(CLOTHS.len())];
    let period = rng.range(3.0, 6.0);
    Box::new(move |x, y| {
        let weave = 0.5
            + 0.5
                * (x * std::f32::consts::TAU / period).sin()
                * (y * std::f32::consts::TAU / period).sin();
        let wrinkle = noise.fbm(x * 0.006, y * 0.006, 3);
        base.map(|c| c * (0.85 + 0.12 * weave) * (0.75 + 0.5 * wrinkle))
    })
}

/// A linear gradient between two random colours across a `w`×`h` canvas.
fn gradient_paint(rng: &mut Pcg32, w: usize, h: usize) -> Paint {
    let a = [
        rng.range(0.1, 0.9),
        rng.range(0.1, 0.9),
        rng.range(0.1, 0.9),
    ];
    let b = [
        rng.range(0.0, 0.5),
        rng.range(0.0, 0.5),
        rng.range(0.0, 0.6),
    ];
    let angle = rng.range(0.0, std::f32::consts::TAU);
    let (wf, hf) = (w as f32, h as f32);
    Box::new(move |x, y| {
        let t = 0.5 + ((x / wf - 0.5) * angle.cos() + (y / hf - 0.5) * angle.sin());
        let t = t.clamp(0.0, 1.0);
        [
            lerp(a[0], b[0], t),
            lerp(a[1], b[1], t),
            lerp(a[2], b[2], t),
        ]
    })
}

/// Square tiles with grout lines.
fn tiles_paint(rng: &mut Pcg32, noise: ValueNoise) -> Paint {
    let tile = [
        rng.range(0.5, 0.9),
        rng.range(0.55, 0.9),
        rng.range(0.6, 0.95),
    ];
    let size = rng.range(90.0, 180.0);
    Box::new(move |x, y| {
        let (tx, ty) = ((x / size).fract(), (y / size).fract());
        let grout = tx.min(1.0 - tx).min(ty.min(1.0 - ty)) * size;
        let k = smoothstep(1.0, 3.0, grout);
        let speck = 0.96 + 0.08 * noise.at(x * 0.2, y * 0.2);
        tile.map(|c| lerp(0.35, c * speck, k))
    })
}

/// Polka-dot fabric with slow folds.
fn dots_paint(rng: &mut Pcg32, noise: ValueNoise) -> Paint {
    let fabric = [
        rng.range(0.05, 0.5),
        rng.range(0.05, 0.5),
        rng.range(0.1, 0.6),
    ];
    let dot = [
        rng.range(0.7, 1.0),
        rng.range(0.7, 1.0),
        rng.range(0.6, 0.95),
    ];
    let pitch = rng.range(40.0, 80.0);
    Box::new(move |x, y| {
        let row = (y / pitch).floor();
        let xs = x / pitch + 0.5 * (row % 2.0);
        let (dx, dy) = (xs.fract() - 0.5, (y / pitch).fract() - 0.5);
        let r = (dx * dx + dy * dy).sqrt() * pitch;
        let k = 1.0 - smoothstep(0.18 * pitch, 0.18 * pitch + 1.5, r);
        let fold = 0.85 + 0.3 * noise.fbm(x * 0.005, y * 0.005, 2);
        [
            lerp(fabric[0], dot[0], k) * fold,
            lerp(fabric[1], dot[1], k) * fold,
            lerp(fabric[2], dot[2], k) * fold,
        ]
    })
}

/// A close-up texture filling the frame: mottled stone, sand or leather with cracks.
fn paint_texture(canvas: &mut Canvas, spec: &HeldoutSpec) {
    let (w, h) = (canvas.w, canvas.h);
    let mut rng = Pcg32::new(spec.seed, Stream::Scene);
    let noise = ValueNoise::new(spec.seed, 5);
    // Stone, slate, moss, sand and dark leather: never skin, so that the cracks cannot
    // pass for a close-up of palm creases.
    const SURFACES: [[f32; 3]; 5] = [
        [0.55, 0.55, 0.52],
        [0.4, 0.45, 0.5],
        [0.4, 0.45, 0.3],
        [0.7, 0.65, 0.5],
        [0.3, 0.2, 0.15],
    ];
    let base = SURFACES[rng.below(SURFACES.len())];
    let scale = rng.range(0.01, 0.04);
    for (i, p) in canvas.px.iter_mut().enumerate() {
        let (x, y) = ((i % w) as f32, (i / w) as f32);
        let n = noise.fbm(x * scale, y * scale, 5);
        *p = base.map(|c| c * (0.6 + 0.7 * n));
    }
    let mut layer = CreaseLayer::new(w, h);
    for k in 0..30 {
        // A crack: a random walk that turns a little at each step.
        let mut p = Point::new(rng.range(0.0, w as f32), rng.range(0.0, h as f32));
        let mut heading = rng.range(0.0, std::f32::consts::TAU);
        let mut ctrl = vec![p];
        for _ in 0..5 {
            heading += rng.range(-0.6, 0.6);
            p = add(
                p,
                mul(
                    Point::new(heading.cos(), heading.sin()),
                    rng.range(20.0, 70.0),
                ),
            );
            ctrl.push(p);
        }
        let st = Stroke {
            width: rng.range(1.5, 4.0),
            depth: rng.range(0.2, 0.5),
            lip: 0.3,
            salt: spec.seed ^ k,
        };
        layer.stroke(&resample(&catmull_rom(&ctrl, false, 16), 1.0), &st);
    }
    for (i, p) in canvas.px.iter_mut().enumerate() {
        let d = layer.dark[i].min(1.0);
        p.iter_mut()
            .for_each(|c| *c = *c * (1.0 - 0.6 * d) + (1.0 - *c) * layer.lip[i] * 0.2);
    }
}

/// A skin-coloured rounded blob about the size of a palm, without fingers.
fn paint_blob(canvas: &mut Canvas, spec: &HeldoutSpec) {
    let (w, h) = (canvas.w, canvas.h);
    let mut rng = Pcg32::new(spec.seed, Stream::Scene);
    let centre = Point::new(
        w as f32 * rng.range(0.4, 0.6),
        h as f32 * rng.range(0.4, 0.6),
    );
    let r = h as f32 * rng.range(0.18, 0.28);
    const LOBES: usize = 9;
    let ctrl: Vec<Point> = (0..LOBES)
        .map(|k| {
            let a = std::f32::consts::TAU * k as f32 / LOBES as f32;
            let rr = r * rng.range(0.75, 1.2);
            add(centre, Point::new(a.cos() * rr, a.sin() * rr * 1.2))
        })
        .collect();
    let mask = mask_of(w, h, &[catmull_rom(&ctrl, true, 12)]);
    cast_shadow(canvas, &mask, r);
    let height = box_blur2(&mask, w, h, (0.1 * r) as usize);
    let mottle = ValueNoise::new(spec.seed, 6);
    let base = spec.skin.palm();
    for (i, p) in canvas.px.iter_mut().enumerate() {
        let m = mask[i];
        if m <= 0.0 {
            continue;
        }
        let (x, y) = ((i % w) as f32, (i / w) as f32);
        let mt = mottle.fbm(x * 0.01, y * 0.01, 3);
        let shade = SHADE_EDGE + (1.0 - SHADE_EDGE) * smoothstep(0.3, 0.85, height[i]);
        for ch in 0..3 {
            p[ch] = p[ch] * (1.0 - m) + base[ch] * (0.9 + 0.2 * mt) * shade * m;
        }
    }
}

// ---------------------------------------------------------------------------------------
// Photo effects
// ---------------------------------------------------------------------------------------

fn apply_lighting(canvas: &mut Canvas, light: &Lighting) {
    let (w, h) = (canvas.w as f32, canvas.h as f32);
    let diag = (w * w + h * h).sqrt();
    let (sx, sy) = (light.spot.0 * w, light.spot.1 * h);
    let sr2 = (light.spot_radius * diag).powi(2);
    let balance = [1.0 + light.warmth, 1.0, 1.0 - light.warmth];
    for (i, p) in canvas.px.iter_mut().enumerate() {
        let (x, y) = ((i % canvas.w) as f32, (i / canvas.w) as f32);
        let spot = light.spot_gain * (-((x - sx).powi(2) + (y - sy).powi(2)) / sr2).exp();
        let r2 = ((x - 0.5 * w).powi(2) + (y - 0.5 * h).powi(2)) / (0.25 * diag * diag);
        let vig = 1.0 - light.vignette * r2;
        let gain = light.exposure * (1.0 + spot - 0.5 * light.spot_gain) * vig;
        for ch in 0..3 {
            p[ch] *= gain * balance[ch];
        }
    }
}

fn apply_blur(canvas: &mut Canvas, blur: CameraBlur) {
    match blur {
        CameraBlur::Sharp => {}
        CameraBlur::Defocus { radius } if radius > 0.05 => {
            let k = soft_box(radius);
            per_channel(canvas, |c, w, h| convolve(c, w, h, &k));
        }
        CameraBlur::Motion { length, angle_deg } if length > 0.05 => {
            motion_blur(canvas, length, angle_deg)
        }
        _ => {}
    }
}

fn per_channel(canvas: &mut Canvas, f: impl Fn(&[f32], usize, usize) -> Vec<f32>) {
    let (w, h) = (canvas.w, canvas.h);
    for ch in 0..3 {
        let plane: Vec<f32> = canvas.px.iter().map(|p| p[ch]).collect();
        let out = f(&plane, w, h);
        for (p, v) in canvas.px.iter_mut().zip(out) {
            p[ch] = v;
        }
    }
}

/// Averages samples along a straight smear (nearest pixel, edges clamped).
fn motion_blur(canvas: &mut Canvas, length: f32, angle_deg: f32) {
    let (w, h) = (canvas.w as isize, canvas.h as isize);
    let taps = length.ceil() as usize + 1;
    let a = angle_deg.to_radians();
    let offsets: Vec<(isize, isize)> = (0..taps)
        .map(|k| {
            let s = (k as f32 / (taps - 1) as f32 - 0.5) * length;
            (
                (s * a.cos()).round() as isize,
                (s * a.sin()).round() as isize,
            )
        })
        .collect();
    let src = canvas.px.clone();
    let norm = 1.0 / taps as f32;
    for y in 0..h {
        for x in 0..w {
            let mut acc = [0.0; 3];
            for &(dx, dy) in &offsets {
                let q = src[((y + dy).clamp(0, h - 1) * w + (x + dx).clamp(0, w - 1)) as usize];
                for ch in 0..3 {
                    acc[ch] += q[ch];
                }
            }
            canvas.px[(y * w + x) as usize] = acc.map(|c| c * norm);
        }
    }
}

/// Chroma noise relative to the luma noise.
const CHROMA_NOISE: f32 = 0.6;

fn apply_noise(canvas: &mut Canvas, spec: &HeldoutSpec) {
    if spec.noise <= 0.0 {
        return;
    }
    let mut rng = Pcg32::new(spec.seed, Stream::Sensor);
    for p in canvas.px.iter_mut() {
        let luma = rng.gauss() * spec.noise;
        let (cr, cb) = (
            rng.gauss() * spec.noise * CHROMA_NOISE,
            rng.gauss() * spec.noise * CHROMA_NOISE,
        );
        p[0] += luma + cr;
        p[1] += luma - 0.5 * (cr + cb);
        p[2] += luma + cb;
    }
}

/// Quantises to 8 bits and, if asked, passes the photo through JPEG.
fn finish(canvas: &Canvas, jpeg_quality: Option<u8>) -> RgbImage {
    let mut img = RgbImage::new(canvas.w as u32, canvas.h as u32);
    for (dst, src) in img.pixels_mut().zip(&canvas.px) {
        dst.0 = src.map(|c| (c.clamp(0.0, 1.0) * 255.0).round() as u8);
    }
    match jpeg_quality {
        Some(q) => jpeg_round_trip(img, q),
        None => img,
    }
}

fn jpeg_round_trip(img: RgbImage, quality: u8) -> RgbImage {
    let mut bytes = Vec::new();
    let mut encoder =
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, quality.clamp(1, 100));
    if encoder.encode_image(&img).is_err() {
        return img;
    }
    match image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg) {
        Ok(decoded) => decoded.to_rgb8(),
        Err(_) => img,
    }
}
