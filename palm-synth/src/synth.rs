//! Synthetic palms with known lines, for the engine's tests, the end-to-end test and the
//! benchmark: line detection can be scored against the truth the generator drew.
//!
//! [`generate`] draws a [`SynthSpec`] into a [`SynthPalm`]: the photo, the principal
//! lines as drawn ([`TrueLine`]), the true palm frame and the 21 hand landmarks.
//!
//! # Determinism
//!
//! The same spec (seed included) always gives the same bytes. All randomness comes from
//! a small built-in seeded generator (SplitMix64), never from the OS or an external
//! crate, so images are stable across platforms and dependency updates. Each concern
//! (hand shape, each line's jitter, minor wrinkles, lighting direction, sensor noise)
//! has its own random stream: turning the sun line on does not move the other lines,
//! and adding noise does not change the drawing underneath.
//!
//! # Coordinates
//!
//! Every [`Point`] is in image pixels, x right, y down, and pixel `(i, j)` is centred at
//! `(i, j)` (so `image.get_pixel(p.x.round() as u32, p.y.round() as u32)` is the pixel
//! under `p`). The palm frame follows [`PalmFrame`]: `v` from the middle of the wrist
//! crease (0) to the base of the middle finger (1), `u` from the little-finger edge (0)
//! to the thumb edge (1), for either hand. The hand is built for a left palm (thumb on
//! the left of the photo, as a left palm photographed from the palm side shows it) and
//! mirrored for a right palm, so `u` and `v` mean the same on both.
//!
//! # Truth conventions
//!
//! [`TrueLine::points`] are sampled about 1 px apart in the line's conventional
//! direction (the direction the palmistry rules read the line in):
//!
//! | line    | starts                                        | ends                                       |
//! |---------|-----------------------------------------------|--------------------------------------------|
//! | Heart   | little-finger edge, u≈0.03 v≈0.80             | between index and middle finger, u≈0.67 v≈0.93 |
//! | Head    | thumb side, u≈0.93 v≈0.62 (at the life line's start) | towards the little-finger edge, u≈0.15 v≈0.55 |
//! | Life    | thumb side, u≈0.95 v≈0.62                     | near the wrist, u≈0.66 v≈0.05 (round the thumb mount) |
//! | Fate    | near the wrist, u≈0.52 v≈0.04                 | towards the middle finger, u≈0.50 v≈0.80   |
//! | Sun     | lower, u≈0.30 v≈0.45                          | towards the ring finger, u≈0.30 v≈0.75     |
//! | Mercury | lower palm, u≈0.55 v≈0.10                     | towards the little finger, u≈0.12 v≈0.75   |
//!
//! Each control point is jittered by about ±0.012 in `u` and `v` per seed.
//!
//! - **Sweep** ([`LineSet::life_sweep`]): how far the life line swings into the palm. At 0
//!   it follows the table above; at 1 it sweeps wide and ends in the middle of the wrist
//!   (u≈0.50 v≈0.05, where a fate line may start); at 2 the arc bulges into the middle of
//!   the palm (u≈0.55 at v≈0.33) and its lower half runs down the palm's middle, where a
//!   fate line would; at −1 it hugs the thumb (ends u≈0.76 v≈0.08). Values between blend
//!   the control points.
//! - **Length, sister line** ([`LineSet::life_end`], [`LineSet::life_double`]): a short
//!   life line ends part of the way (its truth is the drawn part); a sister line runs
//!   inside the lower two thirds, fainter, and is not in the truth.
//! - **Head start and slope** ([`LineSet::head_separate`], [`LineSet::head_slope`]): the
//!   head line may start on the thumb-side edge above the life line (u≈0.965 v≈0.70)
//!   instead of at its start, and runs straight across (−1, ends u≈0.12 v≈0.625) to
//!   steeply sloping (1, ends u≈0.18 v≈0.40).
//! - **Fate origin** ([`LineSet::fate_origin`]): from the wrist (the table), from the life
//!   line (u≈0.66 v≈0.27) or from mid-palm (u≈0.50 v≈0.36).
//! - **Heavy wrinkles** ([`LineSet::heavy_wrinkles`]): three times the minor wrinkles,
//!   twice as dark (distractors, not in the truth).
//! - **Proportions** ([`SynthSpec::proportions`]): the palm's width and the fingers' length
//!   set from a palm ratio and a finger ratio; [`SynthPalm::proportions`] reports them.
//! - **Break** ([`LineSet::life_break`]): a gap of 6 % of the palm length at the middle
//!   of the life line; the gap is not drawn and has no points, so two consecutive points
//!   about 0.06 × palm length apart mark it; `breaks = 1`.
//! - **Fork** ([`LineSet::head_fork`]): a short branch leaving the head line near its
//!   end (little-finger side) and dipping towards the wrist; the branch is drawn but is
//!   not in `points` (which follow the main line); `forks = 1`.
//! - **Fused head–heart line** ([`LineSet::fused_head_heart`]): one nearly straight
//!   crease across the palm at v≈0.70 replaces both lines. Its truth is a single line
//!   with **`id = Heart` and `fused_with = Some(Head)`**, running like the heart line
//!   from the little-finger edge (u≈0.03) to the thumb side (u≈0.95). No separate head
//!   or heart line is drawn or listed, and `head_fork` is ignored.
//!
//! Lines are listed in [`LineId::ALL`] order. Truth lists what was drawn whatever
//! [`LineSet::crease_depth`] is (at depth 0 the lines are invisible). Not in the truth:
//! the faint minor wrinkles scattered over the palm (distractors), the flexion creases
//! across the fingers and thumb, and the bracelet creases at the wrist.
//!
//! # Subjects
//!
//! - [`Subject::Palm`]: truth, frame and landmarks.
//! - [`Subject::BackOfHand`]: the same hand seen from the back (so the thumb is on the
//!   other side of the photo, as with a real hand: the back of a left hand shows the
//!   thumb on the right), darker dorsal skin with hair, knuckle wrinkles and nails, no
//!   palm creases. `truth` is empty and `landmarks` is `None`; `frame` is `Some` (the
//!   palm frame of the hand as drawn, `u` still little-finger edge → thumb edge).
//! - [`Subject::Blank`], [`Subject::Noise`], [`Subject::NonHandShape`],
//!   [`Subject::Stone`]: empty truth, no frame, no landmarks.
//!
//! # Photo effects
//!
//! Applied in this order after drawing: rotation (`rotation_deg` about the image centre,
//! which is also the hand's centre; positive is clockwise on screen; the truth, frame and
//! landmarks are rotated identically because the hand is drawn directly in rotated
//! coordinates), lighting gradient, exposure (multiply, then clamp), Gaussian noise,
//! Gaussian blur.

use image::RgbImage;

use hast_palm::features::LineId;
use hast_palm::geometry::{PalmFrame, Point};
use hast_palm::HandSide;

// ---------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------

/// Skin tone of the drawn hand: five tones spanning roughly Fitzpatrick types I–VI. The
/// palm side is always lighter than the back of the hand, markedly so for darker tones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SkinTone {
    /// Very fair (Fitzpatrick I–II).
    Light,
    /// Fair to olive (Fitzpatrick III).
    #[default]
    Medium,
    /// Light brown (Fitzpatrick IV).
    Tan,
    /// Brown (Fitzpatrick V).
    Brown,
    /// Dark brown (Fitzpatrick VI).
    Dark,
}

impl SkinTone {
    /// All tones, lightest first.
    pub const ALL: [SkinTone; 5] = [
        SkinTone::Light,
        SkinTone::Medium,
        SkinTone::Tan,
        SkinTone::Brown,
        SkinTone::Dark,
    ];

    /// Base sRGB colour of the palm side, before shading.
    pub fn palm_rgb(self) -> [u8; 3] {
        match self {
            SkinTone::Light => [240, 201, 183],
            SkinTone::Medium => [224, 172, 142],
            SkinTone::Tan => [206, 150, 116],
            SkinTone::Brown => [184, 128, 98],
            SkinTone::Dark => [158, 106, 82],
        }
    }

    /// Base sRGB colour of the back of the hand, before shading.
    pub fn back_rgb(self) -> [u8; 3] {
        match self {
            SkinTone::Light => [228, 184, 158],
            SkinTone::Medium => [205, 150, 115],
            SkinTone::Tan => [176, 120, 84],
            SkinTone::Brown => [128, 84, 56],
            SkinTone::Dark => [84, 54, 38],
        }
    }
}

/// What the photo shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Subject {
    /// An open palm with its creases (the only subject with line truth).
    #[default]
    Palm,
    /// The back of the same hand: nails, knuckle wrinkles, hair, no palm creases.
    BackOfHand,
    /// The background alone (with subtle shading).
    Blank,
    /// Coloured multi-scale noise, no hand.
    Noise,
    /// A skin-coloured blob about the size of a palm, without fingers.
    NonHandShape,
    /// A stone surface (grey, sandstone, slate or terracotta by seed) with dark cracks running
    /// over it (creases, but no hand).
    Stone,
}

/// What the hand lies on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Backdrop {
    /// [`SynthSpec::background`], shaded very slightly.
    #[default]
    Plain,
    /// A warm wooden table, its grain across the photo: close to skin in colour.
    Wood,
}

/// Where a fate line starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum FateOrigin {
    /// Near the middle of the wrist (u≈0.52 v≈0.04).
    #[default]
    Wrist,
    /// On the life line, about a third of the way up the palm (u≈0.66 v≈0.27).
    LifeLine,
    /// In the middle of the palm (u≈0.50 v≈0.36).
    MidPalm,
}

/// Which creases to draw and how.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LineSet {
    /// Heart line (Hriday rekha).
    pub heart: bool,
    /// Head line (Mastishk rekha).
    pub head: bool,
    /// Life line (Jeevan rekha).
    pub life: bool,
    /// Fate line (Bhagya rekha).
    pub fate: bool,
    /// Sun line (Surya rekha).
    pub sun: bool,
    /// Mercury line (Budh rekha).
    pub mercury: bool,
    /// A gap in the middle of the life line (`breaks = 1`).
    pub life_break: bool,
    /// How far the life line swings into the palm: −1 hugs the thumb, 0 the classical
    /// path, 1 a wide sweep ending in the middle of the wrist, 2 an arc bulging into the
    /// middle of the palm on its way there (see the module docs). Clamped to −1..=2.
    pub life_sweep: f32,
    /// Share of the life line drawn from its start (1 = to the wrist; 0.5 = a short life
    /// line ending halfway). Clamped to 0.3..=1; the truth is the drawn part.
    pub life_end: f32,
    /// A sister line: a second, fainter crease running inside the life line (on the thumb
    /// mount) along its lower two thirds; not in the truth.
    pub life_double: bool,
    /// A short branch at the head line's end (`forks = 1`).
    pub head_fork: bool,
    /// The head line starts on the thumb-side edge a little above the life line instead
    /// of sharing its start.
    pub head_separate: bool,
    /// How the head line runs: −1 straight across, 0 the classical gentle slope, 1 sloping
    /// steeply towards the wrist (ends u≈0.18 v≈0.40). Clamped to −1..=1.
    pub head_slope: f32,
    /// Where the fate line starts (when drawn).
    pub fate_origin: FateOrigin,
    /// Three times as many minor wrinkles, twice as dark.
    pub heavy_wrinkles: bool,
    /// One crease replaces head and heart (truth: `Heart` with `fused_with = Some(Head)`).
    pub fused_head_heart: bool,
    /// Darkness of the principal lines, 0 (invisible) to 1 (very deep). The faint palm
    /// wrinkles scale with it too; finger and wrist creases do not.
    pub crease_depth: f32,
    /// Visible width (full width at half darkness) of the principal lines in pixels for
    /// a scale-1 hand in a 900×1200 photo; scales with the hand's size in pixels.
    pub crease_width: f32,
}

impl Default for LineSet {
    /// Heart, head, life and fate; no secondary lines or variations; depth 0.5, width 4 px.
    fn default() -> Self {
        Self {
            heart: true,
            head: true,
            life: true,
            fate: true,
            sun: false,
            mercury: false,
            life_break: false,
            life_sweep: 0.0,
            life_end: 1.0,
            life_double: false,
            head_fork: false,
            head_separate: false,
            head_slope: 0.0,
            fate_origin: FateOrigin::Wrist,
            heavy_wrinkles: false,
            fused_head_heart: false,
            crease_depth: 0.5,
            crease_width: 4.0,
        }
    }
}

impl LineSet {
    /// All six principal lines, no variations, default depth and width.
    pub fn all() -> Self {
        Self {
            sun: true,
            mercury: true,
            ..Self::default()
        }
    }

    /// No principal lines (only the faint wrinkles and flexion creases are drawn).
    pub fn none() -> Self {
        Self {
            heart: false,
            head: false,
            life: false,
            fate: false,
            ..Self::default()
        }
    }
}

/// Everything that determines a synthetic photo. The same spec always gives the same
/// image.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthSpec {
    /// Seed of every random choice (hand proportions, line jitter, wrinkles, noise).
    pub seed: u64,
    /// Image width in pixels.
    pub width: u32,
    /// Image height in pixels.
    pub height: u32,
    /// Which hand. A right palm is the mirror image of the left palm with the same seed.
    pub side: HandSide,
    /// Skin tone.
    pub skin: SkinTone,
    /// Rotation of the hand about its centre (the image centre), in degrees, positive
    /// clockwise on screen; meant for −30..30.
    pub rotation_deg: f32,
    /// Hand size relative to the default (0.3 = tiny … 1.2 = cropped fingertips); the
    /// default hand's palm is 43 % of the photo height (516 px in a 900×1200 photo).
    /// Clamped to 0.05..=3.
    pub scale: f32,
    /// 0..1 strength of a linear brightness gradient across the photo in a seeded
    /// direction: the brightness falls from ×1 on one side to ×(1 − 0.75·strength) on
    /// the other.
    pub lighting_gradient: f32,
    /// Exposure multiplier: 1 normal, 0.15 underexposed, 2.5 overexposed.
    pub exposure: f32,
    /// Standard deviation of the per-channel Gaussian sensor noise, in 0..255 units.
    pub noise: f32,
    /// Gaussian blur sigma in pixels; 0 = none.
    pub blur_sigma: f32,
    /// Which creases to draw (palm only).
    pub lines: LineSet,
    /// What the photo shows.
    pub subject: Subject,
    /// Background colour (sRGB), shaded very slightly.
    pub background: [u8; 3],
    /// Darkness of the bracelet creases at the wrist relative to the default (1); 0 draws
    /// none. Clamped to 0..=1.
    pub wrist_creases: f32,
    /// What the hand lies on.
    pub backdrop: Backdrop,
    /// A sleeve of this colour over the forearm, its cuff a little below the wrist crease.
    pub sleeve: Option<[u8; 3]>,
    /// The thumb turned towards the index finger by this many degrees (0 = the seed's
    /// pose; 25 = held close to the palm). Clamped to −10..=35.
    pub thumb_adduction_deg: f32,
    /// The hand's proportions; `None` draws the seed's (palm ratio 1.18–1.27, finger
    /// ratio about 0.79–0.87). Palm ratio clamped to 0.9..=1.6, finger ratio to 0.5..=1.1.
    pub proportions: Option<Proportions>,
}

impl SynthSpec {
    /// A clean default photo: 900×1200, left palm, medium skin, upright, scale 1, even
    /// light, normal exposure, no noise or blur, the default [`LineSet`], a dark
    /// blue-grey background.
    pub fn palm(seed: u64) -> Self {
        Self {
            seed,
            width: 900,
            height: 1200,
            side: HandSide::Left,
            skin: SkinTone::Medium,
            rotation_deg: 0.0,
            scale: 1.0,
            lighting_gradient: 0.0,
            exposure: 1.0,
            noise: 0.0,
            blur_sigma: 0.0,
            lines: LineSet::default(),
            subject: Subject::Palm,
            background: [60, 66, 75],
            wrist_creases: 1.0,
            backdrop: Backdrop::Plain,
            sleeve: None,
            thumb_adduction_deg: 0.0,
            proportions: None,
        }
    }
}

/// A generated photo and what it truly shows.
#[derive(Debug, Clone)]
pub struct SynthPalm {
    /// The photo.
    pub image: RgbImage,
    /// The principal lines as drawn, in [`LineId::ALL`] order; empty unless the subject
    /// is [`Subject::Palm`].
    pub truth: Vec<TrueLine>,
    /// The true palm frame (image pixels); `Some` for [`Subject::Palm`] and
    /// [`Subject::BackOfHand`], `None` for the negatives.
    pub frame: Option<PalmFrame>,
    /// The 21 landmarks of the drawn hand in MediaPipe order (0 wrist; 1–4 thumb CMC,
    /// MCP, IP, tip; 5–8 index, 9–12 middle, 13–16 ring, 17–20 little: MCP, PIP, DIP,
    /// tip), image pixels; `Some` only for [`Subject::Palm`]. Landmark 0 is the frame's
    /// origin `(u, v) = (0.5, 0)` and landmark 9 is `(0.5, 1)`; MCP landmarks sit at
    /// the base of their finger, tips at the very end of the finger.
    pub landmarks: Option<Vec<Point>>,
    /// The drawn hand's proportions (`Some` only for [`Subject::Palm`]), measured as the
    /// engine defines them (`measure::shape`).
    pub proportions: Option<Proportions>,
}

/// A drawn hand's true proportions, by the definitions of `measure::shape`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Proportions {
    /// Palm length (wrist crease to the middle finger's base) / palm width (little-finger
    /// edge to thumb edge).
    pub palm_ratio: f32,
    /// Middle finger length (base to tip) / palm length.
    pub finger_ratio: f32,
}

impl Proportions {
    /// The classical element of these proportions.
    pub fn element(&self) -> hast_palm::features::Element {
        hast_palm::measure::shape::element(self.palm_ratio, Some(self.finger_ratio))
    }

    /// Whether both ratios lie at least `margin` (relative) from the element's thresholds,
    /// so that the element is clear from the hand and not a coin toss at a boundary.
    pub fn clear(&self, margin: f32) -> bool {
        use hast_palm::measure::shape::{LONG_FINGERS, LONG_PALM};
        (self.palm_ratio / LONG_PALM - 1.0).abs() >= margin
            && (self.finger_ratio / LONG_FINGERS - 1.0).abs() >= margin
    }
}

/// One principal line as drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct TrueLine {
    /// Which line.
    pub id: LineId,
    /// The line's centre, image pixels, about 1 px apart, in its conventional direction
    /// (see the module docs). Gaps (breaks) have no points.
    pub points: Vec<Point>,
    /// Gaps along the line (0 or 1).
    pub breaks: u32,
    /// Branches leaving the line (0 or 1); branches are not in `points`.
    pub forks: u32,
    /// For the fused head–heart line (`id = Heart`): `Some(Head)`.
    pub fused_with: Option<LineId>,
}

impl SynthPalm {
    /// A photo that shows no palm's lines (an empty image, a negative, the back of a
    /// hand): no truth, landmarks or proportions; `frame` where a hand was drawn.
    pub fn without_lines(image: RgbImage, frame: Option<PalmFrame>) -> Self {
        Self {
            image,
            truth: Vec::new(),
            frame,
            landmarks: None,
            proportions: None,
        }
    }
}

/// Draws the photo a spec describes. Deterministic. A 900×1200 palm takes roughly
/// 0.1–0.2 s in the dev profile (single-threaded). A zero width or height gives an
/// empty image and no truth.
pub fn generate(spec: &SynthSpec) -> SynthPalm {
    let (w, h) = (spec.width as usize, spec.height as usize);
    if w == 0 || h == 0 {
        return SynthPalm::without_lines(RgbImage::new(spec.width, spec.height), None);
    }

    let hand = posed_hand(spec);
    let (xf, lp) = placement(spec, w, h);

    let mut canvas = Canvas {
        buf: vec![0.0; w * h],
        w,
        h,
    };
    let px = lp / DEFAULT_PALM_PX;
    let drawn = draw_subject(spec, &hand, &xf, &mut canvas, px);

    let blob = Blob::new(&mut Rng::new(spec.seed, STREAM_BLOB));
    let mut rgb = render(spec, &hand, &blob, &xf, &canvas.buf);
    post_process(spec, &mut rgb, w, h);

    // Round half up; `as` saturates (and maps NaN to 0).
    let bytes: Vec<u8> = rgb.iter().map(|&v| (v + 0.5) as u8).collect();
    let image = match RgbImage::from_raw(spec.width, spec.height, bytes) {
        Some(image) => image,
        // Unreachable: the buffer has exactly width × height × 3 bytes.
        None => RgbImage::new(spec.width, spec.height),
    };
    SynthPalm {
        image,
        truth: drawn.truth,
        frame: drawn.frame,
        landmarks: drawn.landmarks,
        proportions: drawn.proportions,
    }
}

/// The spec's hand: drawn from its seed, reshaped to its proportions and with its thumb
/// turned in, when the spec says so.
fn posed_hand(spec: &SynthSpec) -> Hand {
    let mut hand = Hand::new(&mut Rng::new(spec.seed, STREAM_HAND));
    if let Some(p) = spec.proportions {
        hand.reshape(p);
    }
    if spec.thumb_adduction_deg.is_finite() && spec.thumb_adduction_deg != 0.0 {
        hand.adduct_thumb(spec.thumb_adduction_deg.clamp(-10.0, 35.0));
    }
    hand
}

/// Where the hand lies in the `w`×`h` photo (side, rotation, scale), and its palm
/// length in pixels.
fn placement(spec: &SynthSpec, w: usize, h: usize) -> (Xform, f32) {
    let scale = if spec.scale.is_finite() {
        spec.scale.clamp(0.05, 3.0)
    } else {
        1.0
    };
    let lp = BASE_PALM * (h as f32).min(w as f32 * 4.0 / 3.0) * scale;
    let back = spec.subject == Subject::BackOfHand;
    let mut sx = match spec.side {
        HandSide::Left => -1.0,
        HandSide::Right => 1.0,
    };
    if back {
        sx = -sx;
    }
    let rotation = if spec.rotation_deg.is_finite() {
        spec.rotation_deg
    } else {
        0.0
    };
    (Xform::new(w, h, rotation, sx, lp), lp)
}

/// What was drawn on the canvas, as [`SynthPalm`] reports it.
struct Drawn {
    truth: Vec<TrueLine>,
    frame: Option<PalmFrame>,
    landmarks: Option<Vec<Point>>,
    proportions: Option<Proportions>,
}

/// Draws the spec's subject's creases (or cracks) on the canvas, and what they truly
/// are.
fn draw_subject(spec: &SynthSpec, hand: &Hand, xf: &Xform, canvas: &mut Canvas, px: f32) -> Drawn {
    let mut drawn = Drawn {
        truth: Vec::new(),
        frame: None,
        landmarks: None,
        proportions: None,
    };
    match spec.subject {
        Subject::Palm => {
            drawn.truth = draw_principal_lines(spec, hand, xf, canvas, px);
            draw_palm_wrinkles(spec, hand, xf, canvas, px);
            drawn.frame = Some(xf.frame(hand.wr));
            drawn.landmarks = Some(hand.landmarks().iter().map(|&p| xf.fwd(p)).collect());
            drawn.proportions = Some(drawn_proportions(hand));
        }
        Subject::BackOfHand => {
            draw_back_wrinkles(spec.seed, hand, xf, canvas, px);
            drawn.frame = Some(xf.frame(hand.wr));
        }
        Subject::Stone => draw_cracks(spec.seed, xf, canvas, px),
        Subject::Blank | Subject::Noise | Subject::NonHandShape => {}
    }
    drawn
}

/// The drawn hand's proportions.
fn drawn_proportions(hand: &Hand) -> Proportions {
    // Measured as anthropometry does: the palm from the wrist crease to the middle
    // finger's basal crease (drawn a twentieth of the finger up from its root), the
    // finger from that crease to its tip.
    let finger = hand.fingers[1].len;
    let crease = BASAL_CREASE_AT * finger;
    Proportions {
        palm_ratio: (1.0 + crease) / hand.breadth(),
        finger_ratio: (finger - crease) / (1.0 + crease),
    }
}

/// Encodes an image as JPEG (quality clamped to 1..=100), for tests that need upload
/// bytes. Returns an empty vector if encoding fails (it does not for an `RgbImage`).
pub fn to_jpeg(image: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder =
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality.clamp(1, 100));
    if encoder.encode_image(image).is_err() {
        return Vec::new();
    }
    out
}

// ---------------------------------------------------------------------------------------
// Random numbers and noise
// ---------------------------------------------------------------------------------------

const STREAM_HAND: u64 = 1;
const STREAM_MINOR: u64 = 2;
const STREAM_BACK: u64 = 3;
const STREAM_LIGHT: u64 = 4;
const STREAM_NOISE: u64 = 5;
const STREAM_BLOB: u64 = 6;
const STREAM_TEXTURE: u64 = 7;
const STREAM_LINE: u64 = 100;

/// The SplitMix64 finaliser.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// SplitMix64: small, fast, and good enough for drawing.
struct Rng(u64);

impl Rng {
    fn new(seed: u64, stream: u64) -> Self {
        Rng(mix(seed ^ mix(stream.wrapping_mul(0xD6E8_FEB8_6659_FD93))))
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / 16_777_216.0
    }

    fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.unit()
    }

    /// A pair of independent standard normal samples (Marsaglia's polar method).
    fn gauss_pair(&mut self) -> (f32, f32) {
        loop {
            let a = self.unit() * 2.0 - 1.0;
            let b = self.unit() * 2.0 - 1.0;
            let r2 = a * a + b * b;
            if r2 > 0.0 && r2 < 1.0 {
                let f = (-2.0 * r2.ln() / r2).sqrt();
                return (a * f, b * f);
            }
        }
    }
}

/// Deterministic lattice value in [−1, 1].
fn lattice(seed: u64, ix: i32, iy: i32) -> f32 {
    let key = u64::from(ix as u32).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ u64::from(iy as u32).wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    let hsh = mix(seed ^ key);
    (hsh >> 40) as f32 * (2.0 / 16_777_216.0) - 1.0
}

/// `floor` as an integer, without a libm call (coordinates here are far inside i32).
fn floor_i32(x: f32) -> i32 {
    let t = x as i32;
    if (t as f32) > x {
        t - 1
    } else {
        t
    }
}

/// Smooth value noise in [−1, 1] with unit cells.
fn value_noise(seed: u64, x: f32, y: f32) -> f32 {
    let (ix, iy) = (floor_i32(x), floor_i32(y));
    let (tx, ty) = (x - ix as f32, y - iy as f32);
    let (sx, sy) = (tx * tx * (3.0 - 2.0 * tx), ty * ty * (3.0 - 2.0 * ty));
    let a = lattice(seed, ix, iy);
    let b = lattice(seed, ix.wrapping_add(1), iy);
    let c = lattice(seed, ix, iy.wrapping_add(1));
    let d = lattice(seed, ix.wrapping_add(1), iy.wrapping_add(1));
    let top = a + (b - a) * sx;
    let bottom = c + (d - c) * sx;
    top + (bottom - top) * sy
}

// ---------------------------------------------------------------------------------------
// Geometry helpers
// ---------------------------------------------------------------------------------------

/// A 2-D vector in hand (canonical) coordinates: units of palm length, `x` towards the
/// thumb, `y` from the wrist crease towards the fingers. `(x, y) = ((u − 0.5)·wr, v)`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct V2 {
    x: f32,
    y: f32,
}

const fn v2(x: f32, y: f32) -> V2 {
    V2 { x, y }
}

impl std::ops::Add for V2 {
    type Output = V2;
    fn add(self, o: V2) -> V2 {
        v2(self.x + o.x, self.y + o.y)
    }
}

impl std::ops::Sub for V2 {
    type Output = V2;
    fn sub(self, o: V2) -> V2 {
        v2(self.x - o.x, self.y - o.y)
    }
}

impl std::ops::Mul<f32> for V2 {
    type Output = V2;
    fn mul(self, k: f32) -> V2 {
        v2(self.x * k, self.y * k)
    }
}

impl V2 {
    fn dot(self, o: V2) -> f32 {
        self.x * o.x + self.y * o.y
    }
    fn len(self) -> f32 {
        self.dot(self).sqrt()
    }
    fn norm(self) -> V2 {
        let l = self.len();
        if l > 0.0 {
            self * (1.0 / l)
        } else {
            v2(0.0, 1.0)
        }
    }
    /// Rotated 90° (from +y towards −x).
    fn perp(self) -> V2 {
        v2(-self.y, self.x)
    }
    /// Rotated by `a` radians from +y towards +x.
    fn rotated(self, a: f32) -> V2 {
        let (s, c) = a.sin_cos();
        v2(self.x * c + self.y * s, -self.x * s + self.y * c)
    }
}

/// Unit direction at `deg` degrees from "up" (+y) towards the thumb (+x).
fn dir_deg(deg: f32) -> V2 {
    let a = deg.to_radians();
    v2(a.sin(), a.cos())
}

fn smoothstep(e0: f32, e1: f32, x: f32) -> f32 {
    let t = ((x - e0) / (e1 - e0)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// Polynomial smooth minimum (blends shapes with a fillet of size `k`).
fn smin(a: f32, b: f32, k: f32) -> f32 {
    let hh = (k - (a - b).abs()).max(0.0) / k;
    a.min(b) - hh * hh * k * 0.25
}

/// Rounded box with per-corner radii: `[+x+y, +x−y, −x+y, −x−y]`.
fn sd_round_box(q: V2, half: V2, radii: [f32; 4]) -> f32 {
    let r = match (q.x > 0.0, q.y > 0.0) {
        (true, true) => radii[0],
        (true, false) => radii[1],
        (false, true) => radii[2],
        (false, false) => radii[3],
    };
    let dx = q.x.abs() - half.x + r;
    let dy = q.y.abs() - half.y + r;
    let outside = v2(dx.max(0.0), dy.max(0.0)).len();
    outside + dx.max(dy).min(0.0) - r
}

/// Approximate signed distance to an axis-aligned ellipse with radii `a`, `b`.
fn sd_ellipse(q: V2, a: f32, b: f32) -> f32 {
    (v2(q.x / a, q.y / b).len() - 1.0) * a.min(b)
}

/// Approximate signed distance to a capsule from `a` (radius `ra`) to `b` (radius `rb`).
fn sd_tapered(p: V2, a: V2, b: V2, ra: f32, rb: f32) -> f32 {
    let ab = b - a;
    let t = ((p - a).dot(ab) / ab.dot(ab).max(1e-9)).clamp(0.0, 1.0);
    (p - (a + ab * t)).len() - (ra + (rb - ra) * t)
}

/// Catmull–Rom spline through `ctrl`, `per_seg` samples per segment.
fn catmull_rom(ctrl: &[V2], per_seg: usize) -> Vec<V2> {
    let n = ctrl.len();
    if n < 2 {
        return ctrl.to_vec();
    }
    let get = |i: isize| -> V2 {
        if i < 0 {
            ctrl[0] * 2.0 - ctrl[1]
        } else if i as usize >= n {
            ctrl[n - 1] * 2.0 - ctrl[n - 2]
        } else {
            ctrl[i as usize]
        }
    };
    let mut out = Vec::with_capacity((n - 1) * per_seg + 1);
    for i in 0..n - 1 {
        let i = i as isize;
        let (p0, p1, p2, p3) = (get(i - 1), get(i), get(i + 1), get(i + 2));
        for k in 0..per_seg {
            let t = k as f32 / per_seg as f32;
            let (t2, t3) = (t * t, t * t * t);
            let q = p1 * 2.0
                + (p2 - p0) * t
                + (p0 * 2.0 - p1 * 5.0 + p2 * 4.0 - p3) * t2
                + (p1 * 3.0 - p0 - p2 * 3.0 + p3) * t3;
            out.push(q * 0.5);
        }
    }
    out.push(ctrl[n - 1]);
    out
}

/// Resamples a polyline at `step` pixels along its length (first and last kept).
fn resample(dense: &[Point], step: f32) -> Vec<Point> {
    let Some(&first) = dense.first() else {
        return Vec::new();
    };
    let mut out = vec![first];
    let mut since = 0.0f32; // arc length since the last emitted point
    for pair in dense.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let seg = a.distance(b);
        if seg <= 0.0 {
            continue;
        }
        let mut pos = 0.0f32; // distance along this segment already consumed
        while since + (seg - pos) >= step {
            pos += step - since;
            let t = pos / seg;
            out.push(Point::new(a.x + (b.x - a.x) * t, a.y + (b.y - a.y) * t));
            since = 0.0;
        }
        since += seg - pos;
    }
    if let Some(&last) = dense.last() {
        if out.last().is_some_and(|p| p.distance(last) > 0.25 * step) {
            out.push(last);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// The hand
// ---------------------------------------------------------------------------------------

/// Palm length of a scale-1 hand as a fraction of min(height, 4/3 × width).
const BASE_PALM: f32 = 0.43;
/// Palm length in pixels of the default hand (scale 1, 900×1200).
const DEFAULT_PALM_PX: f32 = 516.0;
/// The hand point placed at the image centre (the pivot of rotation).
const PIVOT: V2 = v2(0.17, 0.90);

/// Canonical hand → image: scale, mirror, rotate about the image centre.
#[derive(Debug, Clone, Copy)]
struct Xform {
    cx: f32,
    cy: f32,
    cos: f32,
    sin: f32,
    sx: f32,
    lp: f32,
}

impl Xform {
    fn new(w: usize, h: usize, rotation_deg: f32, sx: f32, lp: f32) -> Self {
        let (sin, cos) = rotation_deg.to_radians().sin_cos();
        Self {
            cx: (w as f32 - 1.0) * 0.5,
            cy: (h as f32 - 1.0) * 0.5,
            cos,
            sin,
            sx,
            lp,
        }
    }

    /// The linear part (a vector in hand units → image pixels).
    fn lin(&self, d: V2) -> Point {
        let x0 = self.sx * self.lp * d.x;
        let y0 = -self.lp * d.y;
        Point::new(self.cos * x0 - self.sin * y0, self.sin * x0 + self.cos * y0)
    }

    fn fwd(&self, p: V2) -> Point {
        let d = self.lin(p - PIVOT);
        Point::new(self.cx + d.x, self.cy + d.y)
    }

    fn inv(&self, x: f32, y: f32) -> V2 {
        let (dx, dy) = (x - self.cx, y - self.cy);
        let x0 = self.cos * dx + self.sin * dy;
        let y0 = -self.sin * dx + self.cos * dy;
        v2(PIVOT.x + x0 / (self.sx * self.lp), PIVOT.y - y0 / self.lp)
    }

    fn frame(&self, wr: f32) -> PalmFrame {
        PalmFrame {
            origin: self.fwd(v2(0.0, 0.0)),
            axis_v: self.lin(v2(0.0, 1.0)),
            axis_u: self.lin(v2(wr, 0.0)),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Finger {
    /// MCP (base of the finger).
    base: V2,
    dir: V2,
    len: f32,
    r0: f32,
    r1: f32,
}

impl Finger {
    fn at(&self, f: f32) -> V2 {
        self.base + self.dir * (self.len * f)
    }
    fn radius_at(&self, f: f32) -> f32 {
        self.r0 + (self.r1 - self.r0) * f
    }
    fn sdf(&self, p: V2) -> f32 {
        let a = self.base - self.dir * 0.12;
        let b = self.at(1.0) - self.dir * self.r1;
        sd_tapered(p, a, b, self.r0, self.r1)
    }
}

/// Where each finger's basal (proximal flexion) crease is drawn, as a share of the finger's
/// length from its root.
const BASAL_CREASE_AT: f32 = 0.05;

/// The thenar eminence's centre (fraction of the half-width towards the thumb) and its
/// semi-axis across the palm (palm lengths).
const THENAR_X: f32 = 0.55;
const THENAR_A: f32 = 0.2;

/// A left palm in canonical coordinates (x towards the thumb, y up, palm length 1).
#[derive(Debug, Clone)]
struct Hand {
    /// Palm width / palm length.
    wr: f32,
    /// Index, middle, ring, little.
    fingers: [Finger; 4],
    /// CMC, MCP, IP, tip.
    thumb: [V2; 4],
    thumb_r: [f32; 4],
}

impl Hand {
    fn new(rng: &mut Rng) -> Self {
        let wr = rng.range(0.79, 0.85);
        let k = wr / 0.82;
        let length = rng.range(0.95, 1.05);
        let spread = rng.range(0.8, 1.25);
        // (x as a fraction of wr, base y, angle°, length, radius)
        let spec = [
            (0.244, 0.955, 4.0, 0.74, 0.082),
            (0.0, 1.0, 0.5, 0.83, 0.087),
            (-0.232, 0.97, -4.0, 0.77, 0.080),
            (-0.445, 0.885, -10.0, 0.60, 0.068),
        ];
        let mut fingers = [Finger {
            base: v2(0.0, 1.0),
            dir: v2(0.0, 1.0),
            len: 0.8,
            r0: 0.08,
            r1: 0.07,
        }; 4];
        for (f, &(fx, fy, deg, len, r)) in fingers.iter_mut().zip(spec.iter()) {
            let r = r * k;
            *f = Finger {
                base: v2(fx * wr, fy),
                dir: dir_deg(deg * spread + rng.range(-1.5, 1.5)),
                len: len * length * rng.range(0.98, 1.02),
                r0: r,
                r1: r * 0.86,
            };
        }
        // The middle finger's MCP stays exactly at (u, v) = (0.5, 1).
        fingers[1].base = v2(0.0, 1.0);

        let cmc = v2(0.22 * k, 0.14);
        let turn = rng.range(-5.0f32, 5.0).to_radians();
        let thumb_len = rng.range(0.96, 1.04);
        let rel = [v2(0.22, 0.26), v2(0.365, 0.475), v2(0.465, 0.66)];
        let thumb = [
            cmc,
            cmc + rel[0].rotated(turn) * (k * thumb_len),
            cmc + rel[1].rotated(turn) * (k * thumb_len),
            cmc + rel[2].rotated(turn) * (k * thumb_len),
        ];
        Self {
            wr,
            fingers,
            thumb,
            thumb_r: [0.13 * k, 0.105 * k, 0.092 * k, 0.080 * k],
        }
    }

    /// Gives the hand other proportions: the palm's width, and every finger's length in
    /// the same ratio as the middle finger's (the thumb and the widths scale with the palm).
    fn reshape(&mut self, p: Proportions) {
        let palm_ratio = if p.palm_ratio.is_finite() {
            p.palm_ratio.clamp(0.9, 1.6)
        } else {
            1.0 / self.wr
        };
        let finger_ratio = if p.finger_ratio.is_finite() {
            p.finger_ratio.clamp(0.5, 1.1)
        } else {
            self.fingers[1].len
        };
        // The ratios are measured to the basal crease (see `generate`): solve for the
        // finger's length from its root and the palm's breadth.
        let len = finger_ratio / (1.0 - BASAL_CREASE_AT * (1.0 + finger_ratio));
        let breadth = (1.0 + BASAL_CREASE_AT * len) / palm_ratio;
        let wr = Self::width_for_breadth(breadth);
        let k = wr / self.wr;
        let f = len / self.fingers[1].len.max(1e-3);
        for finger in &mut self.fingers {
            finger.base.x *= k;
            finger.len *= f;
            finger.r0 *= k;
            finger.r1 *= k;
        }
        for (t, r) in self.thumb.iter_mut().zip(self.thumb_r.iter_mut()) {
            *t = v2(t.x * k, t.y);
            *r *= k;
        }
        self.wr = wr;
    }

    /// The palm's greatest breadth (palm lengths): the body's width, or more where the
    /// thenar eminence (an ellipse centred at 0.55 of the half-width, semi-axis 0.2)
    /// bulges beyond the thumb-side edge.
    fn breadth(&self) -> f32 {
        let hw = 0.5 * self.wr;
        hw + hw.max(THENAR_X * hw + THENAR_A)
    }

    /// The body width whose palm has greatest breadth `breadth` (the inverse of
    /// [`Hand::breadth`]).
    fn width_for_breadth(breadth: f32) -> f32 {
        // breadth = wr where the thenar stays inside, else 0.5 wr (1 + THENAR_X) + THENAR_A.
        let bulging = (breadth - THENAR_A) / (0.5 * (1.0 + THENAR_X));
        if THENAR_X * 0.5 * bulging + THENAR_A > 0.5 * bulging {
            bulging
        } else {
            breadth
        }
    }

    /// Turns the thumb about its base (CMC) towards the index finger by `deg` degrees.
    fn adduct_thumb(&mut self, deg: f32) {
        // The thumb lies on the +x side; turning it towards the fingers (+y) is clockwise
        // seen with y up, so the angle is negative.
        let a = -deg.to_radians();
        let cmc = self.thumb[0];
        for t in self.thumb.iter_mut().skip(1) {
            *t = cmc + (*t - cmc).rotated(a);
        }
    }

    fn thumb_dir(&self) -> V2 {
        (self.thumb[3] - self.thumb[2]).norm()
    }

    /// Signed distance to the hand outline (negative inside), in palm lengths.
    fn sdf(&self, p: V2) -> f32 {
        // Far from the hand: skip the detailed shapes.
        if p.y > 2.1 || p.x < -0.75 || p.x > 1.05 {
            return 0.5;
        }
        let hw = 0.5 * self.wr;
        // The corner between the index finger and the thumb is rounded more.
        let body = sd_round_box(p - v2(0.0, 0.485), v2(hw, 0.485), [0.26, 0.16, 0.16, 0.16]);
        let thenar = sd_ellipse(p - v2(THENAR_X * hw, 0.30), THENAR_A, 0.3);
        let wrist_hw = 0.36 * self.wr + 0.07 * (-p.y).max(0.0);
        let wrist = ((p.x + 0.01).abs() - wrist_hw).max(p.y - 0.3);
        let mut d = smin(body, thenar, 0.05);
        d = smin(d, wrist, 0.12);
        let fingers = self
            .fingers
            .iter()
            .map(|f| f.sdf(p))
            .fold(f32::INFINITY, f32::min);
        d = smin(d, fingers, 0.045);
        let t = &self.thumb;
        let r = &self.thumb_r;
        let tip = t[3] - self.thumb_dir() * r[3];
        let thumb = sd_tapered(p, t[0], t[1], r[0], r[1])
            .min(sd_tapered(p, t[1], t[2], r[1], r[2]))
            .min(sd_tapered(p, t[2], tip, r[2], r[3]));
        smin(d, thumb, 0.05)
    }

    /// The 21 landmarks in MediaPipe order, canonical coordinates.
    fn landmarks(&self) -> Vec<V2> {
        let mut out = Vec::with_capacity(21);
        out.push(v2(0.0, 0.0));
        out.extend_from_slice(&self.thumb);
        for f in &self.fingers {
            out.extend([f.base, f.at(0.45), f.at(0.73), f.at(1.0)]);
        }
        out
    }
}

/// The non-hand blob: a wobbly ellipse the size of a palm.
#[derive(Debug, Clone)]
struct Blob {
    centre: V2,
    a: f32,
    b: f32,
    angle: f32,
    harmonics: [(f32, f32); 3],
}

impl Blob {
    fn new(rng: &mut Rng) -> Self {
        Self {
            centre: PIVOT - v2(0.0, 0.1),
            a: rng.range(0.38, 0.5),
            b: rng.range(0.5, 0.68),
            angle: rng.range(-0.4, 0.4),
            harmonics: [
                (rng.range(0.02, 0.06), rng.range(0.0, std::f32::consts::TAU)),
                (rng.range(0.01, 0.04), rng.range(0.0, std::f32::consts::TAU)),
                (rng.range(0.0, 0.03), rng.range(0.0, std::f32::consts::TAU)),
            ],
        }
    }

    fn sdf(&self, p: V2) -> f32 {
        let q = (p - self.centre).rotated(self.angle);
        let e = v2(q.x / self.a, q.y / self.b);
        let theta = e.y.atan2(e.x);
        let wobble: f32 = self
            .harmonics
            .iter()
            .enumerate()
            .map(|(k, &(amp, phase))| amp * ((k as f32 + 2.0) * theta + phase).sin())
            .sum();
        (e.len() - (1.0 + wobble)) * self.a.min(self.b)
    }
}

// ---------------------------------------------------------------------------------------
// Creases
// ---------------------------------------------------------------------------------------

/// Per-pixel crease darkness (0..1), combined by maximum.
struct Canvas {
    buf: Vec<f32>,
    w: usize,
    h: usize,
}

impl Canvas {
    /// Adds a soft line with a Gaussian cross-profile along `pts` (image pixels), with
    /// per-point strengths.
    fn splat(&mut self, pts: &[Point], strength: &[f32], sigma: f32) {
        if pts.is_empty() || strength.len() != pts.len() {
            return;
        }
        let sigma = sigma.max(0.45);
        let reach = 3.0 * sigma;
        let inv = 1.0 / (2.0 * sigma * sigma);
        let (wf, hf) = (self.w as f32, self.h as f32);
        let n = pts.len();
        for k in 0..n.max(2) - 1 {
            let (a, b) = (pts[k], pts[(k + 1).min(n - 1)]);
            let (sa, sb) = (strength[k], strength[(k + 1).min(n - 1)]);
            let x0 = (a.x.min(b.x) - reach).floor().max(0.0);
            let x1 = (a.x.max(b.x) + reach).ceil().min(wf - 1.0);
            let y0 = (a.y.min(b.y) - reach).floor().max(0.0);
            let y1 = (a.y.max(b.y) + reach).ceil().min(hf - 1.0);
            if x0 > x1 || y0 > y1 {
                continue;
            }
            let (abx, aby) = (b.x - a.x, b.y - a.y);
            let len2 = abx * abx + aby * aby;
            for y in y0 as usize..=y1 as usize {
                let row = &mut self.buf[y * self.w..(y + 1) * self.w];
                let py = y as f32 - a.y;
                for (x, cell) in row
                    .iter_mut()
                    .enumerate()
                    .take(x1 as usize + 1)
                    .skip(x0 as usize)
                {
                    let px = x as f32 - a.x;
                    let t = if len2 > 0.0 {
                        ((px * abx + py * aby) / len2).clamp(0.0, 1.0)
                    } else {
                        0.0
                    };
                    let (dx, dy) = (px - t * abx, py - t * aby);
                    let d2 = dx * dx + dy * dy;
                    if d2 < reach * reach {
                        let v = (sa + (sb - sa) * t) * (-d2 * inv).exp();
                        if v > *cell {
                            *cell = v;
                        }
                    }
                }
            }
        }
    }
}

/// A wooden table's colour at `p`: warm brown with grain running across the photo.
fn wood(seed: u64, p: V2) -> [f32; 3] {
    let grain = value_noise(seed, p.x * 1.2, p.y * 22.0)
        + 0.5 * value_noise(seed ^ 0x99, p.x * 3.0, p.y * 60.0);
    let rings = (0.5 + 0.5 * (p.y * 35.0 + 4.0 * grain).sin()) * 0.12;
    let k = 0.85 + 0.15 * grain - rings;
    [178.0 * k, 124.0 * k, 82.0 * k]
}

/// Coverage (0–1) of a sleeve at `p`: the forearm from a little below the wrist crease,
/// a little wider than the wrist.
fn sleeve_cover(hand: &Hand, p: V2, lp: f32) -> f32 {
    const CUFF: f32 = -0.14;
    let half = 0.36 * hand.wr + 0.07 * (-p.y).max(0.0) + 0.05;
    let edge = (CUFF - p.y).min(half - (p.x + 0.01).abs());
    (edge * lp + 0.5).clamp(0.0, 1.0)
}

/// The 1-px-resampled image polyline of a spline through canonical control points.
fn trace(ctrl: &[V2], xf: &Xform) -> Vec<Point> {
    let dense: Vec<Point> = catmull_rom(ctrl, 48)
        .into_iter()
        .map(|p| xf.fwd(p))
        .collect();
    resample(&dense, 1.0)
}

/// Arc length (pixels) at each point.
fn arc_lengths(pts: &[Point]) -> Vec<f32> {
    let mut s = Vec::with_capacity(pts.len());
    let mut acc = 0.0;
    for (i, p) in pts.iter().enumerate() {
        if i > 0 {
            acc += pts[i - 1].distance(*p);
        }
        s.push(acc);
    }
    s
}

/// Draws a principal line: tapered ends, an optional gap `(from, to)` in pixels of arc
/// length. Returns the drawn points.
fn draw_line(
    canvas: &mut Canvas,
    pts: &[Point],
    sigma: f32,
    strength: f32,
    gap: Option<(f32, f32)>,
) -> Vec<Point> {
    let s = arc_lengths(pts);
    let total = s.last().copied().unwrap_or(0.0).max(1e-3);
    let taper = 0.07 * total;
    let mut pieces: Vec<(Vec<Point>, Vec<f32>)> = vec![(Vec::new(), Vec::new())];
    for (&p, &si) in pts.iter().zip(&s) {
        if gap.is_some_and(|(g0, g1)| si > g0 && si < g1) {
            if pieces.last().is_some_and(|(pp, _)| !pp.is_empty()) {
                pieces.push((Vec::new(), Vec::new()));
            }
            continue;
        }
        let end = si.min(total - si);
        let k = strength * (0.5 + 0.5 * smoothstep(0.0, taper, end));
        if let Some((pp, ss)) = pieces.last_mut() {
            pp.push(p);
            ss.push(k);
        }
    }
    let mut drawn = Vec::with_capacity(pts.len());
    for (pp, ss) in &pieces {
        canvas.splat(pp, ss, sigma);
        drawn.extend_from_slice(pp);
    }
    drawn
}

/// Canonical point of palm coordinates `(u, v)`.
fn uv(wr: f32, u: f32, v: f32) -> V2 {
    v2((u - 0.5) * wr, v)
}

/// What every principal line is drawn with: the spec's seed, the hand's placement and
/// the creases' darkness and width.
struct LinePen<'a> {
    seed: u64,
    xf: &'a Xform,
    /// The hand's palm width (canonical units).
    wr: f32,
    /// Crease darkness, 0–1.
    depth: f32,
    /// Crease width, pixels.
    width: f32,
}

impl LinePen<'_> {
    /// The Gaussian sigma of a crease `factor` times the spec's width.
    fn sigma(&self, factor: f32) -> f32 {
        (self.width * factor / 2.355).max(0.45)
    }

    /// Jittered control points, one random stream per line.
    fn ctrl(&self, id: u64, pts: &[(f32, f32)]) -> Vec<V2> {
        let mut rng = Rng::new(self.seed, STREAM_LINE + id);
        pts.iter()
            .map(|&(u, v)| {
                uv(
                    self.wr,
                    u + rng.range(-0.012, 0.012),
                    v + rng.range(-0.012, 0.012),
                )
            })
            .collect()
    }
}

/// A drawn line's truth with no breaks, forks or fusion.
fn true_line(id: LineId, points: Vec<Point>) -> TrueLine {
    TrueLine {
        id,
        points,
        breaks: 0,
        forks: 0,
        fused_with: None,
    }
}

/// Draws the principal lines the spec asks for and returns what was drawn.
fn draw_principal_lines(
    spec: &SynthSpec,
    hand: &Hand,
    xf: &Xform,
    canvas: &mut Canvas,
    px: f32,
) -> Vec<TrueLine> {
    let lines = &spec.lines;
    let pen = LinePen {
        seed: spec.seed,
        xf,
        wr: hand.wr,
        depth: lines.crease_depth.clamp(0.0, 1.0),
        width: lines.crease_width.max(0.0) * px,
    };
    let depth = pen.depth;
    let mut truth = Vec::new();

    if lines.fused_head_heart {
        let c = pen.ctrl(
            7,
            &[(0.03, 0.715), (0.35, 0.705), (0.65, 0.695), (0.95, 0.68)],
        );
        let pts = trace(&c, xf);
        let drawn = draw_line(canvas, &pts, pen.sigma(1.05), depth, None);
        truth.push(TrueLine {
            fused_with: Some(LineId::Head),
            ..true_line(LineId::Heart, drawn)
        });
    } else {
        if lines.heart {
            let c = pen.ctrl(
                1,
                &[
                    (0.03, 0.80),
                    (0.20, 0.805),
                    (0.40, 0.83),
                    (0.56, 0.875),
                    (0.67, 0.935),
                ],
            );
            let drawn = draw_line(canvas, &trace(&c, xf), pen.sigma(1.0), depth, None);
            truth.push(true_line(LineId::Heart, drawn));
        }
        if lines.head {
            truth.push(draw_head_line(&pen, lines, canvas));
        }
    }
    if lines.life {
        truth.push(draw_life_line(&pen, lines, canvas));
    }
    if lines.fate {
        let points: &[(f32, f32)] = match lines.fate_origin {
            FateOrigin::Wrist => &[(0.52, 0.04), (0.505, 0.28), (0.495, 0.55), (0.50, 0.80)],
            FateOrigin::LifeLine => &[(0.66, 0.27), (0.585, 0.42), (0.52, 0.60), (0.50, 0.80)],
            FateOrigin::MidPalm => &[(0.50, 0.36), (0.495, 0.55), (0.50, 0.80)],
        };
        let c = pen.ctrl(4, points);
        let drawn = draw_line(canvas, &trace(&c, xf), pen.sigma(0.85), depth * 0.8, None);
        truth.push(true_line(LineId::Fate, drawn));
    }
    if lines.sun {
        let c = pen.ctrl(5, &[(0.30, 0.45), (0.295, 0.60), (0.30, 0.75)]);
        let drawn = draw_line(canvas, &trace(&c, xf), pen.sigma(0.75), depth * 0.7, None);
        truth.push(true_line(LineId::Sun, drawn));
    }
    if lines.mercury {
        let c = pen.ctrl(6, &[(0.55, 0.10), (0.42, 0.28), (0.27, 0.50), (0.12, 0.75)]);
        let drawn = draw_line(canvas, &trace(&c, xf), pen.sigma(0.75), depth * 0.7, None);
        truth.push(true_line(LineId::Mercury, drawn));
    }
    truth
}

/// Draws the head line (and its fork, when asked for) and returns its truth.
fn draw_head_line(pen: &LinePen, lines: &LineSet, canvas: &mut Canvas) -> TrueLine {
    let (xf, wr, depth) = (pen.xf, pen.wr, pen.depth);
    let c = pen.ctrl(2, &head_points(lines));
    let pts = trace(&c, xf);
    let drawn = draw_line(canvas, &pts, pen.sigma(1.0), depth, None);
    let mut t = true_line(LineId::Head, drawn);
    if lines.head_fork && pts.len() > 4 {
        // Branch leaving at 80 % of the head line, dipping towards the wrist.
        let s = arc_lengths(&pts);
        let total = s.last().copied().unwrap_or(0.0);
        let idx = s
            .iter()
            .position(|&x| x >= 0.8 * total)
            .unwrap_or(pts.len() - 1);
        let start = xf.inv(pts[idx].x, pts[idx].y);
        let branch = [
            start,
            start + v2(-0.06 * wr, -0.035),
            start + v2(-0.11 * wr, -0.085),
        ];
        let bpts = trace(&branch, xf);
        let n = bpts.len();
        // Full strength where it leaves the line, fading towards its tip.
        let strength: Vec<f32> = (0..n)
            .map(|i| depth * 0.85 * (1.0 - 0.5 * i as f32 / n.max(1) as f32))
            .collect();
        canvas.splat(&bpts, &strength, pen.sigma(0.85));
        t.forks = 1;
    }
    t
}

/// The life line's control points for its sweep (see [`LineSet`]): between the
/// classical course and hugging the thumb, sweeping wide, or bulging into the palm.
fn life_points(lines: &LineSet) -> Vec<(f32, f32)> {
    const CLASSICAL: [(f32, f32); 6] = [
        (0.95, 0.625),
        (0.855, 0.545),
        (0.77, 0.44),
        (0.71, 0.31),
        (0.675, 0.18),
        (0.665, 0.05),
    ];
    const WIDE: [(f32, f32); 6] = [
        (0.95, 0.625),
        (0.84, 0.55),
        (0.72, 0.45),
        (0.62, 0.32),
        (0.55, 0.18),
        (0.50, 0.05),
    ];
    const CLOSE: [(f32, f32); 6] = [
        (0.95, 0.625),
        (0.88, 0.55),
        (0.82, 0.44),
        (0.785, 0.31),
        (0.765, 0.18),
        (0.76, 0.08),
    ];
    // Beyond the wide sweep: an arc bulging into the middle of the palm, its lower
    // half running down the palm's middle to the wrist.
    const BULGE: [(f32, f32); 6] = [
        (0.95, 0.625),
        (0.79, 0.565),
        (0.645, 0.465),
        (0.55, 0.33),
        (0.505, 0.19),
        (0.495, 0.05),
    ];
    let sweep = if lines.life_sweep.is_finite() {
        lines.life_sweep.clamp(-1.0, 2.0)
    } else {
        0.0
    };
    let (from, toward, t) = match sweep {
        s if s < 0.0 => (&CLASSICAL, &CLOSE, -s),
        s if s <= 1.0 => (&CLASSICAL, &WIDE, s),
        s => (&WIDE, &BULGE, s - 1.0),
    };
    from.iter()
        .zip(toward.iter())
        .map(|(a, b)| (a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1)))
        .collect()
}

/// Draws the life line (with its sister line and its break, when asked for) and returns
/// its truth.
fn draw_life_line(pen: &LinePen, lines: &LineSet, canvas: &mut Canvas) -> TrueLine {
    let (xf, wr, depth) = (pen.xf, pen.wr, pen.depth);
    let points = life_points(lines);
    let c = pen.ctrl(3, &points);
    let full = trace(&c, xf);
    let pts = truncate(&full, lines.life_end);
    if lines.life_double {
        // A sister line on the thumb mount, inside the life line's lower two thirds.
        let inner: Vec<V2> = points[2..]
            .iter()
            .map(|&(u, v)| uv(wr, u + 0.05, v + 0.01))
            .collect();
        let sister = truncate(&trace(&inner, xf), lines.life_end);
        draw_line(canvas, &sister, pen.sigma(0.8), depth * 0.6, None);
    }
    let gap = if lines.life_break {
        let total = arc_lengths(&pts).last().copied().unwrap_or(0.0);
        let half = 0.03 * xf.lp;
        Some((0.5 * total - half, 0.5 * total + half))
    } else {
        None
    };
    let drawn = draw_line(canvas, &pts, pen.sigma(1.0), depth, gap);
    TrueLine {
        breaks: u32::from(gap.is_some()),
        ..true_line(LineId::Life, drawn)
    }
}

/// The head line's control points for its start and slope (see [`LineSet`]).
fn head_points(lines: &LineSet) -> [(f32, f32); 5] {
    const CLASSICAL: [(f32, f32); 5] = [
        (0.93, 0.62),
        (0.75, 0.605),
        (0.50, 0.585),
        (0.30, 0.565),
        (0.15, 0.545),
    ];
    const STEEP: [(f32, f32); 5] = [
        (0.93, 0.62),
        (0.76, 0.59),
        (0.55, 0.53),
        (0.35, 0.46),
        (0.18, 0.40),
    ];
    const STRAIGHT: [(f32, f32); 5] = [
        (0.93, 0.62),
        (0.75, 0.62),
        (0.50, 0.62),
        (0.30, 0.62),
        (0.12, 0.625),
    ];
    let slope = if lines.head_slope.is_finite() {
        lines.head_slope.clamp(-1.0, 1.0)
    } else {
        0.0
    };
    let toward = if slope >= 0.0 { &STEEP } else { &STRAIGHT };
    let t = slope.abs();
    let mut points = CLASSICAL;
    for (p, q) in points.iter_mut().zip(toward.iter()) {
        *p = (p.0 + t * (q.0 - p.0), p.1 + t * (q.1 - p.1));
    }
    if lines.head_separate {
        points[0] = (0.965, 0.70);
        points[1].1 += 0.035;
    }
    points
}

/// The first `share` (0.3..=1) of a polyline by arc length.
fn truncate(pts: &[Point], share: f32) -> Vec<Point> {
    let share = if share.is_finite() {
        share.clamp(0.3, 1.0)
    } else {
        1.0
    };
    if share >= 1.0 {
        return pts.to_vec();
    }
    let s = arc_lengths(pts);
    let end = share * s.last().copied().unwrap_or(0.0);
    pts.iter()
        .zip(&s)
        .take_while(|(_, &si)| si <= end)
        .map(|(&p, _)| p)
        .collect()
}

/// A short crease across a finger at `centre`, perpendicular to `dir`, bowed slightly
/// towards the palm.
fn finger_crease(centre: V2, dir: V2, half: f32) -> [V2; 3] {
    let side = dir.perp() * half;
    [centre - side, centre - dir * 0.008, centre + side]
}

/// Faint wrinkles (distractors), finger flexion creases and the wrist's bracelet lines.
fn draw_palm_wrinkles(spec: &SynthSpec, hand: &Hand, xf: &Xform, canvas: &mut Canvas, px: f32) {
    let depth = spec.lines.crease_depth.clamp(0.0, 1.0);
    let width = spec.lines.crease_width.max(0.0) * px;
    let wr = hand.wr;
    let mut rng = Rng::new(spec.seed, STREAM_MINOR);

    let stroke = |canvas: &mut Canvas, ctrl: &[V2], k: f32, sigma: f32| {
        let pts = trace(ctrl, xf);
        let n = pts.len();
        let s: Vec<f32> = (0..n)
            .map(|i| {
                let f = i as f32 / (n.max(2) - 1) as f32;
                k * (0.35 + 0.65 * (std::f32::consts::PI * f).sin())
            })
            .collect();
        canvas.splat(&pts, &s, sigma);
    };

    // Minor palm wrinkles: short, faint, anywhere on the palm.
    let (many, dark) = if spec.lines.heavy_wrinkles {
        (3, 2.0)
    } else {
        (1, 1.0)
    };
    let count = many * (9 + (rng.next_u64() % 6) as usize);
    for _ in 0..count {
        let c = uv(wr, rng.range(0.12, 0.88), rng.range(0.12, 0.9));
        let d = dir_deg(rng.range(0.0, 180.0));
        let half = rng.range(0.02, 0.065);
        let bend = rng.range(-0.02, 0.02);
        let k = depth * rng.range(0.25, 0.4) * dark;
        let sigma = (width * rng.range(0.45, 0.65) / 2.355).max(0.45);
        stroke(
            canvas,
            &[c - d * half, c + d.perp() * bend, c + d * half],
            k,
            sigma,
        );
    }

    // Flexion creases across the fingers and thumb, and two bracelet lines at the wrist.
    let sigma = (width * 0.6 / 2.355).max(0.45);
    for f in &hand.fingers {
        for (at, k) in [
            (BASAL_CREASE_AT, 0.26),
            (0.44, 0.28),
            (0.465, 0.22),
            (0.73, 0.22),
        ] {
            let half = f.radius_at(at) * 0.9;
            stroke(canvas, &finger_crease(f.at(at), f.dir, half), k, sigma);
        }
    }
    let td = hand.thumb_dir();
    for (i, k) in [(1usize, 0.22f32), (2, 0.26)] {
        let half = hand.thumb_r[i] * 0.9;
        stroke(canvas, &finger_crease(hand.thumb[i], td, half), k, sigma);
        if i == 2 {
            stroke(
                canvas,
                &finger_crease(hand.thumb[i] + td * 0.025, td, half),
                k * 0.8,
                sigma,
            );
        }
    }
    let half = 0.36 * wr - 0.03;
    let faint = if spec.wrist_creases.is_finite() {
        spec.wrist_creases.clamp(0.0, 1.0)
    } else {
        1.0
    };
    for (y, k) in [(-0.015, 0.24), (-0.065, 0.2)] {
        let ctrl = [v2(-half, y), v2(0.0, y + 0.012), v2(half, y)];
        stroke(canvas, &ctrl, k * faint, (width * 0.7 / 2.355).max(0.45));
    }
}

/// Stone colours, by seed: grey granite, sandstone, slate, terracotta.
const STONES: [[f32; 3]; 4] = [
    [150.0, 146.0, 140.0],
    [196.0, 172.0, 138.0],
    [120.0, 128.0, 140.0],
    [172.0, 112.0, 88.0],
];

/// Cracks over a stone surface: a dozen random walks, some branching, across the photo.
fn draw_cracks(seed: u64, xf: &Xform, canvas: &mut Canvas, px: f32) {
    let mut rng = Rng::new(seed, STREAM_MINOR);
    let sigma = (1.4 * px).max(0.45);
    for _ in 0..12 {
        let mut p = v2(rng.range(-0.9, 0.9), rng.range(-0.3, 1.9));
        let mut heading = rng.range(0.0, std::f32::consts::TAU);
        let mut ctrl = vec![p];
        for _ in 0..6 {
            heading += rng.range(-0.6, 0.6);
            p = p + dir_deg(heading.to_degrees()) * rng.range(0.08, 0.2);
            ctrl.push(p);
        }
        let pts = trace(&ctrl, xf);
        let k: Vec<f32> = vec![rng.range(0.5, 0.9); pts.len()];
        canvas.splat(&pts, &k, sigma);
    }
}

/// Knuckle wrinkles and hair on the back of the hand.
fn draw_back_wrinkles(seed: u64, hand: &Hand, xf: &Xform, canvas: &mut Canvas, px: f32) {
    let mut rng = Rng::new(seed, STREAM_BACK);
    let sigma = (1.1 * px).max(0.45);
    let stroke = |canvas: &mut Canvas, ctrl: &[V2], k: f32, sigma: f32| {
        let pts = trace(ctrl, xf);
        let n = pts.len();
        let s: Vec<f32> = (0..n)
            .map(|i| {
                let f = i as f32 / (n.max(2) - 1) as f32;
                k * (0.3 + 0.7 * (std::f32::consts::PI * f).sin())
            })
            .collect();
        canvas.splat(&pts, &s, sigma);
    };
    // Knuckle wrinkles over the finger bases (MCP) and the middle joints (PIP, DIP).
    for f in &hand.fingers {
        let joints: [(f32, f32, usize); 3] = [(0.0, 0.2, 2), (0.45, 0.32, 4), (0.73, 0.24, 2)];
        for (at, k, n) in joints {
            for j in 0..n {
                let off = (j as f32 - (n as f32 - 1.0) * 0.5) * 0.018 + rng.range(-0.004, 0.004);
                let c = f.at(at) + f.dir * off;
                let half = f.radius_at(at) * rng.range(0.45, 0.7);
                let side = f.dir.perp() * half;
                // Bowed away from the palm: wrinkles over a bent knuckle.
                let ctrl = [
                    c - side - f.dir * 0.006,
                    c + f.dir * 0.006,
                    c + side - f.dir * 0.006,
                ];
                stroke(canvas, &ctrl, k * rng.range(0.8, 1.2), sigma);
            }
        }
    }
    // Hair: short thin dark strokes, denser on the forearm, sparse on the fingers.
    let hair_sigma = (0.5 * px).max(0.45);
    for _ in 0..1400 {
        let p = v2(rng.range(-0.5, 0.5), rng.range(-1.2, 1.3));
        let keep = if p.y > 1.0 { 0.3 } else { 1.0 };
        let (len, bend, k, ang) = (
            rng.range(0.018, 0.045),
            rng.range(-0.006, 0.006),
            rng.range(0.3, 0.55),
            rng.range(-35.0, 35.0) - 15.0,
        );
        let draw = rng.unit() < keep;
        if !draw || hand.sdf(p) > -0.01 {
            continue;
        }
        let d = dir_deg(180.0 + ang);
        stroke(
            canvas,
            &[p, p + d * (0.5 * len) + d.perp() * bend, p + d * len],
            k,
            hair_sigma,
        );
    }
}

// ---------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------

/// How much a crease of darkness 1 takes off each channel (red least: creases look
/// reddish-brown).
const CREASE_RGB: [f32; 3] = [0.50, 0.62, 0.60];

fn to_f32(c: [u8; 3]) -> [f32; 3] {
    [f32::from(c[0]), f32::from(c[1]), f32::from(c[2])]
}

fn lerp3(a: [f32; 3], b: [f32; 3], t: f32) -> [f32; 3] {
    [
        a[0] + (b[0] - a[0]) * t,
        a[1] + (b[1] - a[1]) * t,
        a[2] + (b[2] - a[2]) * t,
    ]
}

/// Nail blend (0..1) and rim darkening at `p` on the back of the hand.
fn nail_at(hand: &Hand, p: V2, lp: f32) -> Option<(f32, f32, f32)> {
    let td = hand.thumb_dir();
    let nails = hand
        .fingers
        .iter()
        .map(|f| (f.at(1.0), f.dir, f.r1, f.len))
        .chain(std::iter::once((hand.thumb[3], td, hand.thumb_r[3], 0.62)));
    for (tip, dir, r, len) in nails {
        let q = p - tip;
        if q.dot(q) > 0.04 {
            continue;
        }
        let along = -q.dot(dir);
        let across = q.dot(dir.perp());
        let (centre, hl, hw) = (0.012 + 0.07 * len, 0.072 * len, 0.66 * r);
        let e = v2((along - centre) / hl, across / hw).len();
        let dn = (e - 1.0) * hw.min(hl) * lp; // pixels, negative inside
        let alpha = (0.5 - dn).clamp(0.0, 1.0);
        if alpha > 0.0 || dn < 2.0 {
            let rim = (1.0 - (dn.abs() / 1.5)).clamp(0.0, 1.0);
            let free_edge = smoothstep(0.035 * len, 0.008, along);
            return Some((alpha, rim, free_edge));
        }
    }
    None
}

/// Block size (pixels) of the coarse pass that skips the outline's distance function
/// far from the outline.
const BLOCK: usize = 8;
/// Beyond this depth inside the outline (palm lengths) the rim shading is negligible.
const RIM_DEPTH: f32 = 0.15;

/// Where each `BLOCK`×`BLOCK` block lies relative to the outline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Zone {
    /// Entirely background.
    Outside,
    /// Entirely skin, deeper than [`RIM_DEPTH`].
    Deep,
    /// Near the outline: evaluate the distance per pixel.
    Edge,
}

/// Classifies blocks by the outline's distance at their centre (the distance functions
/// change at most about 1 per unit; a 1.5× margin covers the approximations).
fn zones(w: usize, h: usize, xf: &Xform, sdf: &dyn Fn(V2) -> f32) -> (Vec<Zone>, usize) {
    let (bw, bh) = (w.div_ceil(BLOCK), h.div_ceil(BLOCK));
    let half_diag = (BLOCK as f32 * 0.5 * std::f32::consts::SQRT_2 + 1.0) / xf.lp;
    let mut out = Vec::with_capacity(bw * bh);
    for by in 0..bh {
        for bx in 0..bw {
            let cx = (bx * BLOCK) as f32 + (BLOCK as f32 - 1.0) * 0.5;
            let cy = (by * BLOCK) as f32 + (BLOCK as f32 - 1.0) * 0.5;
            let d = sdf(xf.inv(cx, cy));
            out.push(if d > 1.5 * half_diag {
                Zone::Outside
            } else if d < -(1.5 * half_diag + RIM_DEPTH) {
                Zone::Deep
            } else {
                Zone::Edge
            });
        }
    }
    (out, bw)
}

/// What the pixels of one photo are shaded with: the spec's colours and noise seeds, the
/// hand (or blob) and the crease map.
struct Shader<'a> {
    spec: &'a SynthSpec,
    hand: &'a Hand,
    blob: &'a Blob,
    /// Crease darkness per pixel.
    crease: &'a [f32],
    tex_seed: u64,
    /// Noise seeds derived from `tex_seed`: skin grain (`n1`–`n3`, also the stone's),
    /// the back's grain and the sleeve's fabric (`n4`), the backdrop (`nb`).
    n1: u64,
    n2: u64,
    n3: u64,
    n4: u64,
    nb: u64,
    bg: [f32; 3],
    palm: [f32; 3],
    back_col: [f32; 3],
    nail_col: [f32; 3],
    back: bool,
    /// Palm length, pixels.
    lp: f32,
    tex_freq: f32,
}

impl<'a> Shader<'a> {
    fn new(
        spec: &'a SynthSpec,
        hand: &'a Hand,
        blob: &'a Blob,
        xf: &Xform,
        crease: &'a [f32],
    ) -> Self {
        let tex_seed = Rng::new(spec.seed, STREAM_TEXTURE).next_u64();
        let (n1, n2, n3, n4, nb) = (
            tex_seed,
            tex_seed ^ 0x1111,
            tex_seed ^ 0x2222,
            tex_seed ^ 0x3333,
            tex_seed ^ 0x4444,
        );
        let palm = to_f32(spec.skin.palm_rgb());
        let lp = xf.lp;
        Shader {
            spec,
            hand,
            blob,
            crease,
            tex_seed,
            n1,
            n2,
            n3,
            n4,
            nb,
            bg: to_f32(spec.background),
            palm,
            back_col: to_f32(spec.skin.back_rgb()),
            nail_col: lerp3(palm, [236.0, 196.0, 190.0], 0.55),
            back: spec.subject == Subject::BackOfHand,
            lp,
            tex_freq: lp / 3.0,
        }
    }

    /// The subject's outline distance at canonical point `p` (negative inside).
    fn sdf(&self, p: V2) -> f32 {
        match self.spec.subject {
            Subject::Palm | Subject::BackOfHand => self.hand.sdf(p),
            Subject::NonHandShape => self.blob.sdf(p),
            Subject::Blank | Subject::Noise | Subject::Stone => 1.0,
        }
    }

    /// A pixel of cracked stone; `at` indexes the crease map.
    fn stone(&self, p: V2, at: usize) -> [f32; 3] {
        let (n1, n2, n3, tex_freq) = (self.n1, self.n2, self.n3, self.tex_freq);
        let grain = 0.12 * value_noise(n1, p.x * 2.5, p.y * 2.5)
            + 0.06 * value_noise(n2, p.x * 11.0, p.y * 11.0)
            + 0.04 * value_noise(n3, p.x * tex_freq, p.y * tex_freq);
        let k = self.crease[at].clamp(0.0, 1.0);
        let shade = (1.0 + grain) * (1.0 - 0.55 * k);
        let c = STONES[(self.spec.seed % STONES.len() as u64) as usize];
        [c[0] * shade, c[1] * shade, c[2] * shade]
    }

    /// A pixel of coloured noise.
    fn noise(&self, p: V2, px: &mut [f32]) {
        let lp = self.lp;
        for (c, v) in px.iter_mut().enumerate() {
            let sd = self.tex_seed.wrapping_add(c as u64 * 0x9E37);
            *v = 128.0
                + 70.0 * value_noise(sd, p.x * 2.0, p.y * 2.0)
                + 40.0 * value_noise(sd ^ 0x55, p.x * 7.0, p.y * 7.0)
                + 25.0 * value_noise(sd ^ 0xAA, p.x * 25.0, p.y * 25.0)
                + 30.0 * value_noise(sd ^ 0xFF, p.x * lp, p.y * lp);
        }
    }

    /// A pixel of a scene with an outline: the backdrop, the skin over it by the
    /// coverage the outline distance `d` gives, and the sleeve over both.
    fn scene(&self, p: V2, d: f32, at: usize) -> [f32; 3] {
        let alpha = (0.5 - d * self.lp).clamp(0.0, 1.0);
        let mut col = self.bg;
        if alpha < 1.0 {
            col = self.backdrop(p);
        }
        if alpha > 0.0 {
            col = lerp3(col, self.skin(p, d, at), alpha);
        }
        if let Some(sleeve) = self
            .spec
            .sleeve
            .filter(|_| self.spec.subject == Subject::Palm)
        {
            let a = sleeve_cover(self.hand, p, self.lp);
            if a > 0.0 {
                let fabric = 1.0 + 0.04 * value_noise(self.n4, p.x * 40.0, p.y * 40.0);
                let c = to_f32(sleeve);
                col = lerp3(col, [c[0] * fabric, c[1] * fabric, c[2] * fabric], a);
            }
        }
        col
    }

    /// The backdrop's colour at `p`.
    fn backdrop(&self, p: V2) -> [f32; 3] {
        let (bg, nb) = (self.bg, self.nb);
        match self.spec.backdrop {
            Backdrop::Plain => {
                let shade = 1.0
                    + 0.02 * value_noise(nb, p.x * 1.3, p.y * 1.3)
                    + 0.01 * value_noise(nb ^ 0x77, p.x * 3.7, p.y * 3.7);
                [bg[0] * shade, bg[1] * shade, bg[2] * shade]
            }
            Backdrop::Wood => wood(nb, p),
        }
    }

    /// The skin's colour at `p`, `d` from the outline: its tone, texture, rim shading,
    /// nails (back of the hand) or hollow (palm), and the creases (`at` indexes the
    /// crease map).
    fn skin(&self, p: V2, d: f32, at: usize) -> [f32; 3] {
        let (n1, n2, n3, n4, tex_freq) = (self.n1, self.n2, self.n3, self.n4, self.tex_freq);
        let (subject, back, lp) = (self.spec.subject, self.back, self.lp);
        let din = (-d).max(0.0);
        // Rim terms: negligible deeper than RIM_DEPTH.
        let (rim_dark, rim_back) = if din < RIM_DEPTH {
            ((-din / 0.025).exp(), (-din / 0.012).exp())
        } else {
            (0.0, 0.0)
        };
        let mut skin = if subject == Subject::Palm {
            // Inner forearm and the palm's rim tend to the dorsal colour.
            let t = smoothstep(-0.02, -0.4, p.y) * 0.4 + rim_back * 0.45;
            lerp3(self.palm, self.back_col, t.min(1.0))
        } else if back {
            self.back_col
        } else {
            self.palm
        };
        let tex = if back { 0.045 } else { 0.018 };
        let mut s = 1.0
            + 0.05 * value_noise(n1, p.x * 3.0, p.y * 3.0)
            + 0.025 * value_noise(n2, p.x * 7.0, p.y * 7.0)
            + tex * value_noise(n3, p.x * tex_freq, p.y * tex_freq)
            - 0.10 * rim_dark;
        if back {
            s += 0.02 * value_noise(n4, p.x * tex_freq * 0.5, p.y * tex_freq * 0.5);
            if let Some((a, rim, free_edge)) = nail_at(self.hand, p, lp) {
                let nail = lerp3(self.nail_col, [245.0, 240.0, 232.0], free_edge * 0.7);
                skin = lerp3(skin, nail, a * 0.9);
                s *= 1.0 - 0.12 * rim;
            }
        } else if subject == Subject::Palm {
            // The hollow of the palm is a little darker.
            let q = p - v2(0.0, 0.5);
            s -= 0.035 * (-q.dot(q) / 0.04).exp();
        }
        let k = self.crease[at].clamp(0.0, 1.0);
        for (v, coef) in skin.iter_mut().zip(CREASE_RGB) {
            *v *= s * (1.0 - k * coef);
        }
        skin
    }
}

/// Shades the photo (RGB, 0–255 floats, row-major) from the subject and the crease map.
fn render(spec: &SynthSpec, hand: &Hand, blob: &Blob, xf: &Xform, crease: &[f32]) -> Vec<f32> {
    let (w, h) = (spec.width as usize, spec.height as usize);
    let mut out = vec![0.0f32; w * h * 3];
    let shader = Shader::new(spec, hand, blob, xf, crease);
    let origin = xf.inv(0.0, 0.0);
    let step_x = xf.inv(1.0, 0.0) - origin;
    let step_y = xf.inv(0.0, 1.0) - origin;
    let (zone, bw) = zones(w, h, xf, &|p| shader.sdf(p));

    for (j, row) in out.chunks_exact_mut(w * 3).enumerate() {
        let row_start = origin + step_y * j as f32;
        let zone_row = &zone[(j / BLOCK) * bw..(j / BLOCK + 1) * bw];
        for (i, px) in row.chunks_exact_mut(3).enumerate() {
            let p = row_start + step_x * i as f32;
            match spec.subject {
                Subject::Stone => px.copy_from_slice(&shader.stone(p, j * w + i)),
                Subject::Noise => shader.noise(p, px),
                _ => {
                    let d = match zone_row[i / BLOCK] {
                        Zone::Outside => 1.0,
                        Zone::Deep => -1.0,
                        Zone::Edge => shader.sdf(p),
                    };
                    px.copy_from_slice(&shader.scene(p, d, j * w + i));
                }
            }
        }
    }
    out
}

/// Lighting gradient, exposure, noise and blur, in that order, on an RGB f32 buffer.
fn post_process(spec: &SynthSpec, rgb: &mut [f32], w: usize, h: usize) {
    let g = if spec.lighting_gradient.is_finite() {
        spec.lighting_gradient.clamp(0.0, 1.0)
    } else {
        0.0
    };
    if g > 0.0 {
        let angle = Rng::new(spec.seed, STREAM_LIGHT).range(0.0, std::f32::consts::TAU);
        let (s, c) = angle.sin_cos();
        let extent = (w as f32 * c).abs() + (h as f32 * s).abs();
        let (cx, cy) = (w as f32 * 0.5, h as f32 * 0.5);
        for (j, row) in rgb.chunks_exact_mut(w * 3).enumerate() {
            for (i, px) in row.chunks_exact_mut(3).enumerate() {
                let t =
                    (((i as f32 - cx) * c + (j as f32 - cy) * s) / extent + 0.5).clamp(0.0, 1.0);
                let f = 1.0 - 0.75 * g * t;
                px.iter_mut().for_each(|v| *v *= f);
            }
        }
    }
    let exposure = if spec.exposure.is_finite() {
        spec.exposure.max(0.0)
    } else {
        1.0
    };
    for v in rgb.iter_mut() {
        *v = (*v * exposure).clamp(0.0, 255.0);
    }
    if spec.noise.is_finite() && spec.noise > 0.0 {
        let mut rng = Rng::new(spec.seed, STREAM_NOISE);
        for pair in rgb.chunks_mut(2) {
            let (a, b) = rng.gauss_pair();
            pair[0] += a * spec.noise;
            if let Some(v) = pair.get_mut(1) {
                *v += b * spec.noise;
            }
        }
    }
    if spec.blur_sigma.is_finite() && spec.blur_sigma > 0.0 {
        gaussian_blur(rgb, w, h, spec.blur_sigma);
    }
}

/// Separable Gaussian blur of an RGB f32 buffer, edges clamped.
fn gaussian_blur(rgb: &mut [f32], w: usize, h: usize, sigma: f32) {
    let radius = (3.0 * sigma).ceil().max(1.0) as usize;
    let kernel: Vec<f32> = {
        let raw: Vec<f32> = (0..=2 * radius)
            .map(|k| {
                let x = k as f32 - radius as f32;
                (-x * x / (2.0 * sigma * sigma)).exp()
            })
            .collect();
        let sum: f32 = raw.iter().sum();
        raw.into_iter().map(|v| v / sum).collect()
    };
    let clampi = |v: isize, n: usize| v.clamp(0, n as isize - 1) as usize;
    // Horizontal.
    let mut tmp = vec![0.0f32; rgb.len()];
    for (src, dst) in rgb.chunks_exact(w * 3).zip(tmp.chunks_exact_mut(w * 3)) {
        for (i, out) in dst.chunks_exact_mut(3).enumerate() {
            let mut acc = [0.0f32; 3];
            for (k, &wk) in kernel.iter().enumerate() {
                let x = clampi(i as isize + k as isize - radius as isize, w);
                for (a, &v) in acc.iter_mut().zip(&src[x * 3..x * 3 + 3]) {
                    *a += wk * v;
                }
            }
            out.copy_from_slice(&acc);
        }
    }
    // Vertical, row by row (cache friendly).
    let stride = w * 3;
    for (j, dst) in rgb.chunks_exact_mut(stride).enumerate() {
        dst.iter_mut().for_each(|v| *v = 0.0);
        for (k, &wk) in kernel.iter().enumerate() {
            let y = clampi(j as isize + k as isize - radius as isize, h);
            let src = &tmp[y * stride..(y + 1) * stride];
            for (d, s) in dst.iter_mut().zip(src) {
                *d += wk * s;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    fn luma(p: &image::Rgb<u8>) -> f32 {
        0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2])
    }

    fn mean_luma(img: &RgbImage) -> f32 {
        img.pixels().map(luma).sum::<f32>() / (img.width() * img.height()) as f32
    }

    /// Mean colour of the palm (u, v in 0.15..0.85), creases included.
    fn palm_mean(s: &SynthPalm) -> [f32; 3] {
        let frame = s.frame.expect("palm has a frame");
        let (mut acc, mut n) = ([0.0f32; 3], 0.0f32);
        for (x, y, p) in s.image.enumerate_pixels() {
            let (u, v) = frame.to_palm(Point::new(x as f32, y as f32));
            if (0.15..0.85).contains(&u) && (0.15..0.85).contains(&v) {
                for (a, &v) in acc.iter_mut().zip(p.0.iter()) {
                    *a += f32::from(v);
                }
                n += 1.0;
            }
        }
        assert!(n > 1000.0, "palm region too small");
        acc.map(|a| a / n)
    }

    fn rgb_luma(c: [f32; 3]) -> f32 {
        0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]
    }

    /// Every truth point is inside the image, and the lines are darker than the skin.
    fn assert_truth_on_dark(s: &SynthPalm, what: &str) {
        let skin = rgb_luma(palm_mean(s));
        let (w, h) = (s.image.width() as f32, s.image.height() as f32);
        assert!(!s.truth.is_empty(), "{what}: no truth");
        for line in &s.truth {
            assert!(
                line.points.len() > 50,
                "{what}: {:?} has {} points",
                line.id,
                line.points.len()
            );
            let mut dark = 0usize;
            let mut sum = 0.0f32;
            for p in &line.points {
                assert!(
                    p.x >= 0.0 && p.y >= 0.0 && p.x <= w - 1.0 && p.y <= h - 1.0,
                    "{what}: {p:?} outside"
                );
                let l = luma(s.image.get_pixel(p.x.round() as u32, p.y.round() as u32));
                sum += l;
                if l < skin - 3.0 {
                    dark += 1;
                }
            }
            let n = line.points.len();
            let frac = dark as f32 / n as f32;
            let mean = sum / n as f32;
            assert!(
                frac > 0.9,
                "{what}: only {frac} of {:?} is dark (skin {skin}, line {mean})",
                line.id
            );
            assert!(
                mean < skin - 12.0,
                "{what}: {:?} mean {mean} vs skin {skin}",
                line.id
            );
        }
    }

    #[test]
    fn synth_is_deterministic() {
        let spec = SynthSpec {
            rotation_deg: 12.0,
            noise: 6.0,
            blur_sigma: 1.2,
            lighting_gradient: 0.5,
            lines: LineSet {
                life_break: true,
                head_fork: true,
                ..LineSet::all()
            },
            ..SynthSpec::palm(42)
        };
        let a = generate(&spec);
        let b = generate(&spec);
        assert_eq!(a.image.as_raw(), b.image.as_raw());
        assert_eq!(a.truth, b.truth);
        assert_eq!(a.frame, b.frame);
        assert_eq!(a.landmarks, b.landmarks);
    }

    #[test]
    fn synth_seeds_differ() {
        let a = generate(&SynthSpec::palm(1));
        let b = generate(&SynthSpec::palm(2));
        assert_ne!(a.image.as_raw(), b.image.as_raw());
        assert_ne!(a.truth, b.truth);
    }

    #[test]
    fn synth_truth_on_dark_pixels() {
        let clean = generate(&SynthSpec::palm(7));
        assert_eq!(
            clean.truth.iter().map(|l| l.id).collect::<Vec<_>>(),
            vec![LineId::Heart, LineId::Head, LineId::Life, LineId::Fate]
        );
        assert_truth_on_dark(&clean, "clean");

        let all = SynthSpec {
            lines: LineSet::all(),
            ..SynthSpec::palm(8)
        };
        assert_truth_on_dark(&generate(&all), "all lines");

        let rotated = SynthSpec {
            rotation_deg: 25.0,
            ..all.clone()
        };
        assert_truth_on_dark(&generate(&rotated), "rotated 25°");

        let right = SynthSpec {
            side: HandSide::Right,
            skin: SkinTone::Dark,
            rotation_deg: -20.0,
            ..all.clone()
        };
        assert_truth_on_dark(&generate(&right), "right dark");

        let small = SynthSpec {
            scale: 0.5,
            skin: SkinTone::Light,
            ..all
        };
        assert_truth_on_dark(&generate(&small), "small light");
    }

    #[test]
    fn the_life_line_sweeps_as_asked() {
        let life_end = |sweep: f32| {
            let s = generate(&SynthSpec {
                lines: LineSet {
                    life_sweep: sweep,
                    ..LineSet::default()
                },
                ..SynthSpec::palm(5)
            });
            let frame = s.frame.expect("frame");
            let life = s.truth.iter().find(|l| l.id == LineId::Life).expect("life");
            let start = frame.to_palm(life.points[0]);
            let end = frame.to_palm(life.points[life.points.len() - 1]);
            (start, end)
        };
        let near = |(u, v): (f32, f32), (eu, ev): (f32, f32)| {
            (u - eu).abs() < 0.05 && (v - ev).abs() < 0.05
        };
        for (sweep, end) in [
            (0.0, (0.665, 0.05)),
            (1.0, (0.50, 0.05)),
            (2.0, (0.495, 0.05)),
            (-1.0, (0.76, 0.08)),
        ] {
            let (a, b) = life_end(sweep);
            assert!(near(a, (0.95, 0.625)), "sweep {sweep}: starts at {a:?}");
            assert!(
                near(b, end),
                "sweep {sweep}: ends at {b:?}, not near {end:?}"
            );
        }
        // Out of range and NaN are clamped and ignored.
        assert_eq!(life_end(3.0), life_end(2.0));
        assert_eq!(life_end(f32::NAN), life_end(0.0));
    }

    #[test]
    fn synth_truth_in_palm_coordinates() {
        let s = generate(&SynthSpec {
            rotation_deg: -25.0,
            side: HandSide::Right,
            lines: LineSet::all(),
            ..SynthSpec::palm(3)
        });
        let frame = s.frame.expect("frame");
        let ends = |id: LineId| {
            let l = s.truth.iter().find(|l| l.id == id).expect("line");
            let (a, b) = (l.points[0], l.points[l.points.len() - 1]);
            (frame.to_palm(a), frame.to_palm(b))
        };
        let near = |(u, v): (f32, f32), (eu, ev): (f32, f32)| {
            (u - eu).abs() < 0.05 && (v - ev).abs() < 0.05
        };
        let (a, b) = ends(LineId::Heart);
        assert!(
            near(a, (0.03, 0.80)) && near(b, (0.67, 0.935)),
            "heart {a:?} {b:?}"
        );
        let (a, b) = ends(LineId::Head);
        assert!(
            near(a, (0.93, 0.62)) && near(b, (0.15, 0.545)),
            "head {a:?} {b:?}"
        );
        let (a, b) = ends(LineId::Life);
        assert!(
            near(a, (0.95, 0.625)) && near(b, (0.665, 0.05)),
            "life {a:?} {b:?}"
        );
        let (a, b) = ends(LineId::Fate);
        assert!(
            near(a, (0.52, 0.04)) && near(b, (0.50, 0.80)),
            "fate {a:?} {b:?}"
        );
        let (a, b) = ends(LineId::Sun);
        assert!(
            near(a, (0.30, 0.45)) && near(b, (0.30, 0.75)),
            "sun {a:?} {b:?}"
        );
        let (a, b) = ends(LineId::Mercury);
        assert!(
            near(a, (0.55, 0.10)) && near(b, (0.12, 0.75)),
            "mercury {a:?} {b:?}"
        );

        // Landmarks: 21, wrist at the frame origin, middle MCP at (0.5, 1), and the
        // thumb on the thumb side (u > 1 at its tip).
        let lm = s.landmarks.as_ref().expect("landmarks");
        assert_eq!(lm.len(), 21);
        assert!(lm[0].distance(frame.to_image(0.5, 0.0)) < 0.01);
        assert!(lm[9].distance(frame.to_image(0.5, 1.0)) < 0.01);
        let (tu, _) = frame.to_palm(lm[4]);
        assert!(tu > 1.0, "thumb tip u {tu}");
        let (lu, lv) = frame.to_palm(lm[20]);
        assert!(lu < 0.1 && lv > 1.3, "little tip {lu} {lv}");
        // The middle finger is the longest.
        let tip_v = |i: usize| frame.to_palm(lm[i]).1;
        assert!(tip_v(12) > tip_v(8) && tip_v(12) > tip_v(16) && tip_v(12) > tip_v(20));
        // Points are densely sampled.
        for l in &s.truth {
            for pair in l.points.windows(2) {
                assert!(pair[0].distance(pair[1]) < 1.5);
            }
        }
    }

    #[test]
    fn synth_left_thumb_is_on_the_left() {
        let s = generate(&SynthSpec::palm(4));
        let lm = s.landmarks.expect("landmarks");
        assert!(
            lm[4].x < lm[20].x,
            "left palm: thumb tip left of little tip"
        );
        // Fingertips inside the photo with a margin, wrist crease inside.
        for i in [4, 8, 12, 16, 20] {
            assert!(
                lm[i].y > 40.0 && lm[i].x > 40.0 && lm[i].x < 860.0,
                "tip {i}: {:?}",
                lm[i]
            );
        }
        assert!(lm[0].y < 1150.0);
        // The wrist leaves the photo at the bottom: skin on the bottom row under the wrist.
        let bottom = s.image.get_pixel(lm[0].x.round() as u32, 1199);
        assert!(luma(bottom) > 120.0, "bottom under the wrist: {bottom:?}");
    }

    #[test]
    fn synth_right_is_mirror_of_left() {
        let spec = SynthSpec {
            lines: LineSet::all(),
            ..SynthSpec::palm(11)
        };
        let left = generate(&spec);
        let right = generate(&SynthSpec {
            side: HandSide::Right,
            ..spec
        });
        let (w, h) = left.image.dimensions();
        let mut diff = 0.0f64;
        for y in 0..h {
            for x in 0..w {
                let a = left.image.get_pixel(x, y);
                let b = right.image.get_pixel(w - 1 - x, y);
                diff += (0..3)
                    .map(|c| (f64::from(a[c]) - f64::from(b[c])).abs())
                    .sum::<f64>();
            }
        }
        let mean = diff / f64::from(w * h * 3);
        assert!(mean < 0.5, "mean abs difference {mean}");
        for (l, r) in left.truth.iter().zip(&right.truth) {
            assert_eq!(l.id, r.id);
            assert_eq!(l.points.len(), r.points.len());
            for (a, b) in l.points.iter().zip(&r.points) {
                assert!((a.x - (w as f32 - 1.0 - b.x)).abs() < 0.05 && (a.y - b.y).abs() < 0.05);
            }
        }
        let (lf, rf) = (left.frame.expect("frame"), right.frame.expect("frame"));
        assert!(
            (lf.axis_u.x + rf.axis_u.x).abs() < 1e-3 && lf.axis_u.x < 0.0,
            "u points to the thumb"
        );
    }

    #[test]
    fn synth_negatives_have_no_truth() {
        for subject in [
            Subject::Blank,
            Subject::Noise,
            Subject::NonHandShape,
            Subject::Stone,
        ] {
            let s = generate(&SynthSpec {
                subject,
                ..SynthSpec::palm(5)
            });
            assert!(
                s.truth.is_empty() && s.frame.is_none() && s.landmarks.is_none(),
                "{subject:?}"
            );
            assert_eq!(s.image.dimensions(), (900, 1200));
        }
        let back = generate(&SynthSpec {
            subject: Subject::BackOfHand,
            ..SynthSpec::palm(5)
        });
        assert!(back.truth.is_empty() && back.landmarks.is_none() && back.frame.is_some());
        // Back of a left hand: the thumb is on the right, so u runs right → left ... reversed.
        assert!(back.frame.expect("frame").axis_u.x > 0.0);

        // The blob covers a palm-sized area in skin colour; the blank photo does not.
        let skin = |s: &SynthPalm| {
            s.image
                .pixels()
                .filter(|p| i32::from(p[0]) - i32::from(p[2]) > 40)
                .count() as f32
                / (900.0 * 1200.0)
        };
        let blob = generate(&SynthSpec {
            subject: Subject::NonHandShape,
            ..SynthSpec::palm(5)
        });
        let blank = generate(&SynthSpec {
            subject: Subject::Blank,
            ..SynthSpec::palm(5)
        });
        assert!(skin(&blob) > 0.1, "blob skin fraction {}", skin(&blob));
        assert!(skin(&blank) < 0.001);
    }

    #[test]
    fn synth_exposure_and_noise() {
        let dark = generate(&SynthSpec {
            exposure: 0.15,
            ..SynthSpec::palm(6)
        });
        let l = mean_luma(&dark.image) / 255.0;
        assert!(l < 0.2, "underexposed mean luma {l}");

        let bright = generate(&SynthSpec {
            exposure: 2.5,
            ..SynthSpec::palm(6)
        });
        let clipped = bright
            .image
            .pixels()
            .filter(|p| p.0.iter().all(|&c| c == 255))
            .count();
        assert!(clipped > 100_000, "overexposed: {clipped} white pixels");

        let clean = generate(&SynthSpec::palm(6));
        let noisy = generate(&SynthSpec {
            noise: 10.0,
            ..SynthSpec::palm(6)
        });
        let n = clean.image.as_raw().len() as f64;
        let var = clean
            .image
            .as_raw()
            .iter()
            .zip(noisy.image.as_raw())
            .map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2))
            .sum::<f64>()
            / n;
        assert!((var.sqrt() - 10.0).abs() < 1.0, "noise std {}", var.sqrt());
        assert_eq!(clean.truth, noisy.truth);

        let lit = generate(&SynthSpec {
            lighting_gradient: 1.0,
            ..SynthSpec::palm(6)
        });
        assert!(mean_luma(&lit.image) < mean_luma(&clean.image) * 0.8);

        // Blur lowers the Laplacian energy.
        let lap = |img: &RgbImage| {
            let mut acc = 0.0f64;
            for y in 1..img.height() - 1 {
                for x in 1..img.width() - 1 {
                    let c = f64::from(luma(img.get_pixel(x, y)));
                    let n = [(x - 1, y), (x + 1, y), (x, y - 1), (x, y + 1)]
                        .iter()
                        .map(|&(a, b)| f64::from(luma(img.get_pixel(a, b))))
                        .sum::<f64>();
                    acc += (n - 4.0 * c).powi(2);
                }
            }
            acc
        };
        let blurred = generate(&SynthSpec {
            blur_sigma: 3.0,
            ..SynthSpec::palm(6)
        });
        assert!(lap(&blurred.image) < lap(&clean.image) * 0.3);
    }

    #[test]
    fn synth_skin_tones_differ() {
        let means: Vec<[f32; 3]> = SkinTone::ALL
            .iter()
            .map(|&skin| {
                palm_mean(&generate(&SynthSpec {
                    skin,
                    ..SynthSpec::palm(9)
                }))
            })
            .collect();
        for pair in means.windows(2) {
            assert!(
                rgb_luma(pair[0]) > rgb_luma(pair[1]) + 10.0,
                "tones not ordered: {means:?}"
            );
        }
        for tone in SkinTone::ALL {
            let (p, b) = (to_f32(tone.palm_rgb()), to_f32(tone.back_rgb()));
            assert!(
                rgb_luma(p) > rgb_luma(b),
                "{tone:?}: palm lighter than back"
            );
        }
    }

    #[test]
    fn synth_fused_line_is_one_long_line() {
        let s = generate(&SynthSpec {
            lines: LineSet {
                fused_head_heart: true,
                head_fork: true,
                ..LineSet::default()
            },
            ..SynthSpec::palm(10)
        });
        let ids: Vec<LineId> = s.truth.iter().map(|l| l.id).collect();
        assert_eq!(ids, vec![LineId::Heart, LineId::Life, LineId::Fate]);
        let fused = &s.truth[0];
        assert_eq!(fused.fused_with, Some(LineId::Head));
        let frame = s.frame.expect("frame");
        let len: f32 = fused.points.windows(2).map(|p| p[0].distance(p[1])).sum();
        assert!(
            len > 0.85 * frame.palm_width(),
            "fused length {len} vs width {}",
            frame.palm_width()
        );
        let (u0, v0) = frame.to_palm(fused.points[0]);
        let (u1, v1) = frame.to_palm(fused.points[fused.points.len() - 1]);
        assert!(u0 < 0.1 && u1 > 0.9 && (v0 - 0.7).abs() < 0.05 && (v1 - 0.7).abs() < 0.05);
        assert_truth_on_dark(&s, "fused");
    }

    #[test]
    fn synth_break_and_fork() {
        let s = generate(&SynthSpec {
            lines: LineSet {
                life_break: true,
                head_fork: true,
                ..LineSet::default()
            },
            ..SynthSpec::palm(12)
        });
        let frame = s.frame.expect("frame");
        let life = s.truth.iter().find(|l| l.id == LineId::Life).expect("life");
        assert_eq!((life.breaks, life.forks), (1, 0));
        let gaps: Vec<f32> = life
            .points
            .windows(2)
            .map(|p| p[0].distance(p[1]))
            .filter(|&d| d > 3.0)
            .collect();
        assert_eq!(gaps.len(), 1);
        let rel = gaps[0] / frame.palm_length();
        assert!((0.05..0.07).contains(&rel), "gap {rel} of palm length");
        let head = s.truth.iter().find(|l| l.id == LineId::Head).expect("head");
        assert_eq!((head.breaks, head.forks), (0, 1));
        assert_truth_on_dark(&s, "break and fork");
    }

    #[test]
    fn synth_jpeg_round_trips() {
        let s = generate(&SynthSpec::palm(13));
        let bytes = to_jpeg(&s.image, 90);
        assert!(bytes.starts_with(&[0xFF, 0xD8]));
        let back = image::load_from_memory(&bytes).expect("decodes").to_rgb8();
        assert_eq!(back.dimensions(), s.image.dimensions());
        let diff = back
            .as_raw()
            .iter()
            .zip(s.image.as_raw())
            .map(|(&a, &b)| (f64::from(a) - f64::from(b)).abs())
            .sum::<f64>()
            / back.as_raw().len() as f64;
        assert!(diff < 3.0, "jpeg mean abs error {diff}");
    }

    #[test]
    fn synth_odd_sizes() {
        let empty = generate(&SynthSpec {
            width: 0,
            ..SynthSpec::palm(1)
        });
        assert!(empty.truth.is_empty());
        let small = generate(&SynthSpec {
            width: 120,
            height: 90,
            ..SynthSpec::palm(1)
        });
        assert_eq!(small.image.dimensions(), (120, 90));
    }

    /// Writes sample images for eyeballing: `cargo test -p hast-palm-synth
    /// synth -- --ignored`.
    #[test]
    #[ignore]
    fn synth_write_samples() {
        let t = std::time::Instant::now();
        let default = generate(&SynthSpec::palm(1));
        eprintln!("default palm generated in {:?}", t.elapsed());
        default
            .image
            .save("/tmp/synth-default.png")
            .expect("write png");
        let rotated = generate(&SynthSpec {
            side: HandSide::Right,
            skin: SkinTone::Dark,
            rotation_deg: 25.0,
            lines: LineSet::all(),
            ..SynthSpec::palm(2)
        });
        rotated
            .image
            .save("/tmp/synth-rotated.png")
            .expect("write png");
        let extras = [
            ("back", Subject::BackOfHand),
            ("blob", Subject::NonHandShape),
            ("noise", Subject::Noise),
        ];
        for (name, subject) in extras {
            let s = generate(&SynthSpec {
                subject,
                ..SynthSpec::palm(3)
            });
            s.image
                .save(format!("/tmp/synth-{name}.png"))
                .expect("write png");
        }
        let fused = generate(&SynthSpec {
            skin: SkinTone::Light,
            lines: LineSet {
                fused_head_heart: true,
                life_break: true,
                sun: true,
                ..LineSet::default()
            },
            lighting_gradient: 0.6,
            noise: 5.0,
            blur_sigma: 0.8,
            ..SynthSpec::palm(4)
        });
        fused.image.save("/tmp/synth-fused.png").expect("write png");
        for (name, scale, skin, rotation_deg) in [
            ("small", 0.3, SkinTone::Tan, -30.0),
            ("big", 1.2, SkinTone::Brown, 30.0),
        ] {
            let s = generate(&SynthSpec {
                scale,
                skin,
                rotation_deg,
                lines: LineSet::all(),
                ..SynthSpec::palm(6)
            });
            s.image
                .save(format!("/tmp/synth-{name}.png"))
                .expect("write png");
        }
        let t = std::time::Instant::now();
        let _ = generate(&SynthSpec {
            noise: 8.0,
            blur_sigma: 2.0,
            rotation_deg: 20.0,
            ..SynthSpec::palm(5)
        });
        eprintln!("noisy blurred rotated palm generated in {:?}", t.elapsed());
    }
}
