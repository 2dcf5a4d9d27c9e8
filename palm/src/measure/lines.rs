//! Line assignment by position in the palm frame, and each line's measurements.
//!
//! Every principal line has a template in palm coordinates (where palmistry places it,
//! the synthetic generator's convention) with a tolerance band. The skeleton graph is
//! cut into short chunks; for each line a dynamic programme finds the best path through
//! the graph that moves monotonically along the line's progress coordinate (`u` for the
//! heart and head lines, `v` for the vertical lines, the angle around the thumb mount
//! for the life line). A path earns, per palm length of crease, the band fit (1 in the
//! core, a Gaussian fall-off outside) times the agreement of its direction with the
//! template's, less a constant, so it stops where it leaves the band; turns at
//! junctions are penalised and sharp turns forbidden. Lines are searched in a fixed
//! order (fused head–heart first, then heart, life, head, fate, sun, mercury), each
//! taking its chunks out of play. A line whose best path is too short or fits poorly
//! is not reported.

use std::collections::{BTreeSet, HashMap};

use crate::features::{LineId, MeasuredLine};
use crate::geometry::Point;

use super::creases::Creases;
use super::skeleton::Graph;

/// Chunk length for the path search (grid pixels).
const CHUNK: usize = 10;
/// Score per palm length of a path point outside every band (the constant subtracted).
const LAMBDA: f32 = 0.35;
/// Weight of a gap's length relative to a visible crease's.
const GAP_WEIGHT: f32 = 0.25;
/// Turns below this (radians) are free; turns above `MAX_TURN` are forbidden; between
/// them the cost rises quadratically to `TURN_COST` (palm lengths of score).
const FREE_TURN: f32 = 0.35;
const MAX_TURN: f32 = 1.2;
const TURN_COST: f32 = 0.12;
/// Branches shorter than this (palm lengths) are not forks.
const FORK_MIN: f32 = 0.07;
/// A branch counts as a fork only when it leaves the line at most this angle
/// (radians) from the line's direction (a Y, not a crossing crease).
const FORK_MAX_ANGLE: f32 = 1.15;
/// A fused head–heart line must span at least from `u ≤ FUSED_U.0` to `u ≥ FUSED_U.1`.
const FUSED_U: (f32, f32) = (0.18, 0.82);

/// Anatomy, not a fitted value: the fate line rises towards the middle finger, nearly
/// upright in the palm frame; a crease that drifts towards the little-finger edge by more
/// than this much `u` per unit of `v` (about 19° off upright) is the Mercury line's
/// diagonal, not a fate line.
const FATE_MAX_DRIFT: f32 = 0.35;

/// Anatomy, not a fitted value: the fate line rises from the wrist, the life line or the
/// middle of the palm towards the middle finger, so it reaches at least the middle of the
/// palm (`v`), where the head line crosses it on most hands. A crease confined to the
/// palm's lower part (a sister line inside the life line, a wrinkle on the thenar or
/// hypothenar mount) is not a fate line.
const FATE_MIN_TOP: f32 = 0.45;

/// Anatomy, not a fitted value: the life line starts on the thumb-side edge between thumb
/// and index finger, so its path reaches this far towards the thumb edge (`u`) above this
/// level (`v`, the lower end of the thumb's web); a crease that never gets there (the
/// lower half of a fate line, a sister line on the thumb mount) is not the life line, and
/// the fate line, which does not start on that edge, never gets there either. The `u` is
/// set on the tuning style: a crease fades out before the skin's edge, and on wide or
/// strongly lit hands the visible life line ends near 0.8 (0.82 missed some); fate lines
/// stay near 0.5 at these levels.
const RADIAL_START: (f32, f32) = (0.78, 0.45);

/// Anatomy, not a fitted value: the life line curves down around the thumb's mount, so the
/// chord from its start to its end, however short it is, lies at least this steep (radians
/// from the palm's transverse axis); the head line's radial half, which it may share its
/// start with, lies within about 15° of it.
const LIFE_MIN_DESCENT: f32 = 0.52;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Progress {
    U,
    V,
    /// Angle around a centre on the thumb mount (for the life line's arc).
    Arc,
}

#[derive(Debug, Clone, Copy)]
struct Template {
    id: LineId,
    /// Control points in palm coordinates (u, v), conventional start first.
    points: &'static [(f32, f32)],
    /// Half-width of the band's core (palm lengths).
    core: f32,
    /// Gaussian fall-off beyond the core (palm lengths).
    fall: f32,
    progress: Progress,
    /// Whether the conventional start is at the high end of the progress coordinate.
    reversed: bool,
    /// Shortest visible length to report (palm lengths).
    min_len: f32,
    /// Lowest confidence to report.
    min_conf: f32,
}

/// Where the lines run, in palm coordinates (classical palmistry placements; also the
/// synthetic generator's).
const HEART: Template = Template {
    id: LineId::Heart,
    points: &[
        (0.03, 0.80),
        (0.20, 0.805),
        (0.40, 0.83),
        (0.56, 0.875),
        (0.67, 0.935),
    ],
    core: 0.06,
    fall: 0.045,
    progress: Progress::U,
    reversed: false,
    min_len: 0.2,
    min_conf: 0.35,
};
const HEAD: Template = Template {
    id: LineId::Head,
    points: &[
        (0.93, 0.62),
        (0.75, 0.605),
        (0.50, 0.585),
        (0.30, 0.565),
        (0.15, 0.545),
    ],
    core: 0.07,
    fall: 0.045,
    progress: Progress::U,
    reversed: true,
    min_len: 0.2,
    min_conf: 0.35,
};
/// The life line's range, from anatomy: it leaves the thumb-side edge between thumb and
/// index finger (often with the head line) and encircles the thenar eminence, ending
/// anywhere from the thumb's base to the middle of the wrist; the widest arcs bulge into
/// the middle of the palm, their lower half running where a fate line would. Each member
/// is searched and the best-scoring path is the life line, so a wide arc is not cut off
/// where it leaves the classical band (its lower half was then taken for a fate line).
const LIFE_RANGE: [Template; 4] = [
    // Close to the thumb, ending at the thumb's base.
    life(&[
        (0.95, 0.625),
        (0.885, 0.55),
        (0.83, 0.44),
        (0.795, 0.31),
        (0.775, 0.18),
        (0.77, 0.07),
    ]),
    // The classical path.
    life(&[
        (0.95, 0.625),
        (0.855, 0.545),
        (0.77, 0.44),
        (0.71, 0.31),
        (0.675, 0.18),
        (0.665, 0.05),
    ]),
    // A wide sweep to the middle of the wrist.
    life(&[
        (0.95, 0.625),
        (0.83, 0.55),
        (0.70, 0.45),
        (0.60, 0.32),
        (0.54, 0.18),
        (0.50, 0.05),
    ]),
    // Bulging into the palm's middle, then down it to the wrist.
    life(&[
        (0.95, 0.625),
        (0.78, 0.565),
        (0.64, 0.46),
        (0.55, 0.32),
        (0.51, 0.18),
        (0.50, 0.05),
    ]),
];

/// A member of [`LIFE_RANGE`].
const fn life(points: &'static [(f32, f32)]) -> Template {
    Template {
        id: LineId::Life,
        points,
        core: 0.06,
        fall: 0.045,
        progress: Progress::Arc,
        reversed: false,
        min_len: 0.25,
        min_conf: 0.35,
    }
}
const FATE: Template = Template {
    id: LineId::Fate,
    points: &[(0.52, 0.04), (0.505, 0.28), (0.495, 0.55), (0.50, 0.80)],
    core: 0.07,
    fall: 0.04,
    progress: Progress::V,
    reversed: false,
    min_len: 0.2,
    min_conf: 0.4,
};
const SUN: Template = Template {
    id: LineId::Sun,
    points: &[(0.30, 0.45), (0.295, 0.60), (0.30, 0.75)],
    core: 0.05,
    fall: 0.03,
    progress: Progress::V,
    reversed: false,
    min_len: 0.18,
    min_conf: 0.55,
};
const MERCURY: Template = Template {
    id: LineId::Mercury,
    points: &[(0.55, 0.10), (0.42, 0.28), (0.27, 0.50), (0.12, 0.75)],
    core: 0.05,
    fall: 0.03,
    progress: Progress::V,
    reversed: false,
    min_len: 0.25,
    min_conf: 0.55,
};
/// The fused head–heart ("simian") line: one crease straight across between the usual
/// heart and head levels.
const FUSED: Template = Template {
    id: LineId::Heart,
    points: &[(0.03, 0.715), (0.35, 0.705), (0.65, 0.695), (0.95, 0.68)],
    core: 0.05,
    fall: 0.035,
    progress: Progress::U,
    reversed: false,
    min_len: 0.6,
    min_conf: 0.5,
};

/// A heart line found besides a fused candidate vetoes the fusion from this length
/// (palm lengths) on.
const FUSED_VETO_LEN: f32 = 0.35;

/// Life-line arc centre in palm coordinates.
const ARC_CENTRE: (f32, f32) = (1.0, 0.35);

#[derive(Debug, Clone)]
struct CNode {
    pos: (f32, f32),
    orig: Option<usize>,
    chunks: Vec<usize>,
}

#[derive(Debug, Clone)]
struct Chunk {
    a: usize,
    b: usize,
    points: Vec<(f32, f32)>,
    /// Unit tangent at each point (grid coordinates).
    tangents: Vec<(f32, f32)>,
    gap: bool,
    edge: usize,
}

/// The chunked graph.
#[derive(Debug)]
struct Chunks {
    nodes: Vec<CNode>,
    chunks: Vec<Chunk>,
}

fn unit(dx: f32, dy: f32) -> (f32, f32) {
    let n = (dx * dx + dy * dy).sqrt();
    if n < 1e-6 {
        (0.0, 0.0)
    } else {
        (dx / n, dy / n)
    }
}

fn chunk_graph(c: &Creases) -> Chunks {
    let g = &c.graph;
    let mut nodes: Vec<CNode> = Vec::new();
    let mut map: HashMap<usize, usize> = HashMap::new();
    let mut chunks: Vec<Chunk> = Vec::new();
    let mut node_for = |nodes: &mut Vec<CNode>, orig: usize| -> usize {
        *map.entry(orig).or_insert_with(|| {
            nodes.push(CNode {
                pos: g.nodes[orig].pos,
                orig: Some(orig),
                chunks: Vec::new(),
            });
            nodes.len() - 1
        })
    };
    for e in g.alive_edges() {
        let edge = &g.edges[e];
        let pts = &edge.points;
        if pts.len() < 2 {
            continue;
        }
        let n = pts.len();
        let reach = 5usize;
        let tangents: Vec<(f32, f32)> = (0..n)
            .map(|i| {
                let (i0, i1) = (i.saturating_sub(reach), (i + reach).min(n - 1));
                unit(pts[i1].0 - pts[i0].0, pts[i1].1 - pts[i0].1)
            })
            .collect();
        let a = node_for(&mut nodes, edge.a);
        let b = node_for(&mut nodes, edge.b);
        let pieces = ((n - 1) / CHUNK).max(1);
        let mut prev = a;
        for k in 0..pieces {
            let i0 = k * (n - 1) / pieces;
            let i1 = (k + 1) * (n - 1) / pieces;
            let next = if k + 1 == pieces {
                b
            } else {
                nodes.push(CNode {
                    pos: pts[i1],
                    orig: None,
                    chunks: Vec::new(),
                });
                nodes.len() - 1
            };
            let id = chunks.len();
            chunks.push(Chunk {
                a: prev,
                b: next,
                points: pts[i0..=i1].to_vec(),
                tangents: tangents[i0..=i1].to_vec(),
                gap: edge.gap,
                edge: e,
            });
            nodes[prev].chunks.push(id);
            if next != prev {
                nodes[next].chunks.push(id);
            }
            prev = next;
        }
    }
    Chunks { nodes, chunks }
}

/// A template laid on the grid: control polyline in grid pixels.
struct Band {
    pts: Vec<(f32, f32)>,
    core: f32,
    fall: f32,
    progress: Progress,
    arc_centre: (f32, f32),
    px_per_length: f32,
}

impl Band {
    fn new(t: &Template, c: &Creases) -> Band {
        Band {
            pts: t.points.iter().map(|&(u, v)| c.to_grid(u, v)).collect(),
            core: t.core * c.px_per_length,
            fall: t.fall * c.px_per_length,
            progress: t.progress,
            arc_centre: c.to_grid(ARC_CENTRE.0, ARC_CENTRE.1),
            px_per_length: c.px_per_length,
        }
    }

    /// Distance to the template polyline and the template's tangent there.
    fn nearest(&self, p: (f32, f32)) -> (f32, (f32, f32)) {
        let mut best = (f32::INFINITY, (1.0, 0.0));
        for w in self.pts.windows(2) {
            let (a, b) = (w[0], w[1]);
            let (dx, dy) = (b.0 - a.0, b.1 - a.1);
            let len2 = dx * dx + dy * dy;
            let t = if len2 > 0.0 {
                (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / len2).clamp(0.0, 1.0)
            } else {
                0.0
            };
            let (cx, cy) = (a.0 + t * dx, a.1 + t * dy);
            let d = ((p.0 - cx).powi(2) + (p.1 - cy).powi(2)).sqrt();
            if d < best.0 {
                best = (d, unit(dx, dy));
            }
        }
        best
    }

    /// Band membership, 0–1.
    fn fit(&self, d: f32) -> f32 {
        if d <= self.core {
            1.0
        } else {
            let x = (d - self.core) / self.fall;
            (-0.5 * x * x).exp()
        }
    }

    /// Score density at a point with tangent `t` (per palm length), and the fit.
    fn density(&self, p: (f32, f32), t: (f32, f32)) -> (f32, f32) {
        let (d, dir) = self.nearest(p);
        let fit = self.fit(d);
        let agree = (t.0 * dir.0 + t.1 * dir.1).abs();
        let q = fit * (0.25 + 0.75 * agree * agree);
        (q - LAMBDA, q)
    }

    fn progress(&self, c: &Creases, p: (f32, f32)) -> f32 {
        match self.progress {
            Progress::U => c.to_palm(p.0, p.1).0,
            Progress::V => c.to_palm(p.0, p.1).1,
            Progress::Arc => {
                let dx = p.0 - self.arc_centre.0;
                let dy = self.arc_centre.1 - p.1;
                dy.atan2(dx).rem_euclid(std::f32::consts::TAU)
            }
        }
    }
}

/// Score of a chunk for a band (symmetric in direction) and its mean fit.
fn chunk_score(band: &Band, ch: &Chunk) -> (f32, f32, f32) {
    let mut score = 0.0;
    let mut fit_sum = 0.0;
    let mut len_sum = 0.0;
    for i in 1..ch.points.len() {
        let (a, b) = (ch.points[i - 1], ch.points[i]);
        let seg = ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt() / band.px_per_length;
        let mid = ((a.0 + b.0) / 2.0, (a.1 + b.1) / 2.0);
        let (dens, fit) = band.density(mid, ch.tangents[i]);
        let w = if ch.gap { GAP_WEIGHT } else { 1.0 };
        // A gap earns little but still pays the full constant.
        score += seg * if ch.gap { fit * w - LAMBDA } else { dens };
        fit_sum += fit * seg;
        len_sum += seg;
    }
    (score, fit_sum, len_sum)
}

fn angle_between(a: (f32, f32), b: (f32, f32)) -> f32 {
    (a.0 * b.0 + a.1 * b.1).clamp(-1.0, 1.0).acos()
}

/// A found path: chunks in order (from low to high progress), each with its travel
/// direction (true = a → b).
#[derive(Debug, Clone)]
struct Path {
    steps: Vec<(usize, bool)>,
    score: f32,
}

fn travel_dir_start(ch: &Chunk, forward: bool) -> (f32, f32) {
    let t = if forward {
        ch.tangents[0]
    } else {
        ch.tangents[ch.tangents.len() - 1]
    };
    // Tangents point along the edge's point order; orient to travel.
    let (p0, p1) = if forward {
        (ch.points[0], ch.points[ch.points.len() - 1])
    } else {
        (ch.points[ch.points.len() - 1], ch.points[0])
    };
    let s = if t.0 * (p1.0 - p0.0) + t.1 * (p1.1 - p0.1) >= 0.0 {
        1.0
    } else {
        -1.0
    };
    (t.0 * s, t.1 * s)
}

fn travel_dir_end(ch: &Chunk, forward: bool) -> (f32, f32) {
    let t = if forward {
        ch.tangents[ch.tangents.len() - 1]
    } else {
        ch.tangents[0]
    };
    let (p0, p1) = if forward {
        (ch.points[0], ch.points[ch.points.len() - 1])
    } else {
        (ch.points[ch.points.len() - 1], ch.points[0])
    };
    let s = if t.0 * (p1.0 - p0.0) + t.1 * (p1.1 - p0.1) >= 0.0 {
        1.0
    } else {
        -1.0
    };
    (t.0 * s, t.1 * s)
}

/// The best monotone path for `band` avoiding `used` chunks.
fn best_path(c: &Creases, g: &Chunks, band: &Band, used: &[bool]) -> Option<Path> {
    let n = g.nodes.len();
    if n == 0 {
        return None;
    }
    let s: Vec<f32> = g.nodes.iter().map(|nd| band.progress(c, nd.pos)).collect();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| s[a].total_cmp(&s[b]).then(a.cmp(&b)));
    let mut rank = vec![0usize; n];
    for (r, &i) in order.iter().enumerate() {
        rank[i] = r;
    }
    let scores: Vec<f32> = g.chunks.iter().map(|ch| chunk_score(band, ch).0).collect();
    // best[chunk] for the chunk travelled from its lower-rank end.
    let mut best = vec![f32::NEG_INFINITY; g.chunks.len()];
    let mut pred: Vec<Option<usize>> = vec![None; g.chunks.len()];
    let forward = |k: usize| rank[g.chunks[k].a] < rank[g.chunks[k].b];
    for &node in &order {
        // Incoming chunks: their higher-rank end is `node`.
        let incoming: Vec<usize> = g.nodes[node]
            .chunks
            .iter()
            .copied()
            .filter(|&k| {
                let ch = &g.chunks[k];
                ch.a != ch.b && !used[k] && best[k].is_finite() && {
                    let end = if forward(k) { ch.b } else { ch.a };
                    end == node
                }
            })
            .collect();
        for &k in &g.nodes[node].chunks {
            let ch = &g.chunks[k];
            if used[k] || ch.a == ch.b {
                continue;
            }
            let start = if forward(k) { ch.a } else { ch.b };
            if start != node {
                continue;
            }
            let dir_out = travel_dir_start(ch, forward(k));
            let mut prev_best = 0.0;
            let mut prev = None;
            for &i in &incoming {
                let dir_in = travel_dir_end(&g.chunks[i], forward(i));
                let turn = angle_between(dir_in, dir_out);
                if turn > MAX_TURN {
                    continue;
                }
                let x = ((turn - FREE_TURN) / (MAX_TURN - FREE_TURN)).max(0.0);
                let cand = best[i] - TURN_COST * x * x;
                if cand > prev_best {
                    prev_best = cand;
                    prev = Some(i);
                }
            }
            best[k] = scores[k] + prev_best;
            pred[k] = prev;
        }
    }
    let (mut end, mut top) = (None, 0.0f32);
    for (k, &b) in best.iter().enumerate() {
        if b > top {
            top = b;
            end = Some(k);
        }
    }
    let mut k = end?;
    let mut steps = vec![(k, forward(k))];
    while let Some(p) = pred[k] {
        steps.push((p, forward(p)));
        k = p;
        if steps.len() > g.chunks.len() {
            break;
        }
    }
    steps.reverse();
    Some(Path { steps, score: top })
}

/// A path's points in travel order, with a gap flag per point.
fn path_points(g: &Chunks, path: &Path) -> Vec<((f32, f32), bool)> {
    let mut out: Vec<((f32, f32), bool)> = Vec::new();
    for &(k, fwd) in &path.steps {
        let ch = &g.chunks[k];
        let pts: Vec<(f32, f32)> = if fwd {
            ch.points.clone()
        } else {
            ch.points.iter().rev().copied().collect()
        };
        let skip = usize::from(!out.is_empty());
        out.extend(pts.into_iter().skip(skip).map(|p| (p, ch.gap)));
    }
    out
}

/// Douglas–Peucker simplification.
fn simplify(pts: &[(f32, f32)], eps: f32) -> Vec<(f32, f32)> {
    if pts.len() < 3 {
        return pts.to_vec();
    }
    let mut keep = vec![false; pts.len()];
    keep[0] = true;
    keep[pts.len() - 1] = true;
    let mut stack = vec![(0usize, pts.len() - 1)];
    while let Some((i, j)) = stack.pop() {
        if j <= i + 1 {
            continue;
        }
        let (a, b) = (pts[i], pts[j]);
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let len = (dx * dx + dy * dy).sqrt().max(1e-6);
        let (mut far, mut far_d) = (i, 0.0f32);
        for (k, p) in pts.iter().enumerate().take(j).skip(i + 1) {
            let d = ((p.0 - a.0) * dy - (p.1 - a.1) * dx).abs() / len;
            if d > far_d {
                far_d = d;
                far = k;
            }
        }
        if far_d > eps {
            keep[far] = true;
            stack.push((i, far));
            stack.push((far, j));
        }
    }
    pts.iter()
        .zip(&keep)
        .filter(|(_, &k)| k)
        .map(|(&p, _)| p)
        .collect()
}

fn polyline_length(pts: &[(f32, f32)]) -> f32 {
    pts.windows(2)
        .map(|w| ((w[1].0 - w[0].0).powi(2) + (w[1].1 - w[0].1).powi(2)).sqrt())
        .sum()
}

/// Mean absolute turning per unit length of a polyline resampled every `step`.
fn curvature(pts: &[(f32, f32)], step: f32) -> f32 {
    let total = polyline_length(pts);
    if total < 2.0 * step || pts.len() < 3 {
        return 0.0;
    }
    // Resample.
    let mut res = vec![pts[0]];
    let mut carry = 0.0;
    for w in pts.windows(2) {
        let (a, b) = (w[0], w[1]);
        let seg = ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt();
        let mut t = step - carry;
        while t <= seg {
            let f = t / seg;
            res.push((a.0 + (b.0 - a.0) * f, a.1 + (b.1 - a.1) * f));
            t += step;
        }
        carry = seg - (t - step);
    }
    let mut turn = 0.0;
    for w in res.windows(3) {
        let d1 = unit(w[1].0 - w[0].0, w[1].1 - w[0].1);
        let d2 = unit(w[2].0 - w[1].0, w[2].1 - w[1].1);
        turn += angle_between(d1, d2);
    }
    turn / total
}

/// Everything assigned so far: which chunks and original edges each line holds.
struct Assigned {
    id: LineId,
    /// The template (of its line's range) the path was found with.
    template: Template,
    fused: bool,
    path: Path,
    fit: f32,
    length: f32,
}

/// Whether a path runs diagonally towards the little-finger edge as it rises (see
/// [`FATE_MAX_DRIFT`]): its highest point lies that much nearer the little-finger edge
/// (`u` = 0) than its lowest.
fn drifts_to_little_finger(c: &Creases, pts: &[((f32, f32), bool)]) -> bool {
    let palm: Vec<(f32, f32)> = pts.iter().map(|(p, _)| c.to_palm(p.0, p.1)).collect();
    let lowest = palm.iter().copied().min_by(|a, b| a.1.total_cmp(&b.1));
    let highest = palm.iter().copied().max_by(|a, b| a.1.total_cmp(&b.1));
    match (lowest, highest) {
        (Some(lo), Some(hi)) if hi.1 - lo.1 > 1e-3 => {
            (lo.0 - hi.0) / (hi.1 - lo.1) > FATE_MAX_DRIFT
        }
        _ => false,
    }
}

/// The highest level (`v`) a path reaches.
fn top_level(c: &Creases, pts: &[((f32, f32), bool)]) -> f32 {
    pts.iter()
        .map(|&((x, y), _)| c.to_palm(x, y).1)
        .fold(f32::NEG_INFINITY, f32::max)
}

/// Whether a path reaches the thumb-side edge where the life line starts (see
/// [`RADIAL_START`]).
fn starts_on_radial_edge(c: &Creases, pts: &[((f32, f32), bool)]) -> bool {
    pts.iter().any(|&((x, y), gap)| {
        let (u, v) = c.to_palm(x, y);
        !gap && u >= RADIAL_START.0 && v >= RADIAL_START.1
    })
}

/// Whether a path's chord lies at least [`LIFE_MIN_DESCENT`] from the transverse axis (the
/// grid is isotropic, its rows run across the palm).
fn descends(pts: &[((f32, f32), bool)]) -> bool {
    match (pts.first(), pts.last()) {
        (Some(&((x0, y0), _)), Some(&((x1, y1), _))) => {
            (y1 - y0).abs() >= LIFE_MIN_DESCENT.tan() * (x1 - x0).abs()
        }
        _ => false,
    }
}

/// Finds and measures the principal lines.
pub fn assign_lines(c: &Creases) -> Vec<MeasuredLine> {
    let g = chunk_graph(c);
    if g.chunks.is_empty() {
        return Vec::new();
    }
    let mut used = vec![false; g.chunks.len()];
    let mut found: Vec<Assigned> = Vec::new();

    let try_line =
        |t: &Template, used: &mut Vec<bool>, commit: bool| try_line(c, &g, t, used, commit);

    // A fused head–heart line: one crease across the whole palm between the heart and
    // head levels, with no separate heart line above it.
    let mut fused = false;
    if let Some(mut f) = try_line(&FUSED, &mut used, false) {
        let pts = path_points(&g, &f.path);
        let us: Vec<f32> = pts.iter().map(|(p, _)| c.to_palm(p.0, p.1).0).collect();
        let (umin, umax) = us.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |a, &u| {
            (a.0.min(u), a.1.max(u))
        });
        if umin <= FUSED_U.0 && umax >= FUSED_U.1 {
            let mut trial = used.clone();
            for &(k, _) in &f.path.steps {
                trial[k] = true;
            }
            let heart = try_line(&HEART, &mut trial.clone(), false);
            // A separate heart line vetoes the fusion only when it is substantial (a
            // short wrinkle or a finger's flexion crease in the heart band is not one).
            if heart.is_none_or(|h| h.length < FUSED_VETO_LEN) {
                used = trial;
                f.fused = true;
                found.push(f);
                fused = true;
            }
        }
    }
    // Each line's templates (one, or the range of shapes it takes), in search order.
    let order: Vec<&[Template]> = if fused {
        vec![&LIFE_RANGE, &[FATE], &[SUN], &[MERCURY]]
    } else {
        vec![&[HEART], &LIFE_RANGE, &[HEAD], &[FATE], &[SUN], &[MERCURY]]
    };
    for range in order {
        // The best-scoring shape of the range takes its chunks.
        let best = range
            .iter()
            .filter_map(|t| try_line(t, &mut used, false))
            .max_by(|a, b| a.path.score.total_cmp(&b.path.score));
        if let Some(a) = best {
            for &(k, _) in &a.path.steps {
                used[k] = true;
            }
            found.push(a);
        }
    }

    // Original edges held by each line, for forks and islands.
    let mut held: Vec<BTreeSet<usize>> = Vec::new();
    for a in &found {
        held.push(
            a.path
                .steps
                .iter()
                .map(|&(k, _)| g.chunks[k].edge)
                .collect(),
        );
    }
    let all_held: BTreeSet<usize> = held.iter().flatten().copied().collect();

    let mut out: Vec<MeasuredLine> = found
        .iter()
        .zip(&held)
        .filter_map(|(a, held)| measure_line(c, &g, a, held, &all_held))
        .collect();
    out.sort_by_key(|l| l.id);
    out
}
/// The line of template `t` through chunks not yet `used`, if one is good enough; with
/// `commit`, its chunks become used.
fn try_line(
    c: &Creases,
    g: &Chunks,
    t: &Template,
    used: &mut [bool],
    commit: bool,
) -> Option<Assigned> {
    let band = Band::new(t, c);
    let path = best_path(c, g, &band, used)?;
    let (mut fit, mut len, mut vis) = (0.0, 0.0, 0.0);
    for &(k, _) in &path.steps {
        let (_, f, l) = chunk_score(&band, &g.chunks[k]);
        fit += f;
        len += l;
        if !g.chunks[k].gap {
            vis += l;
        }
    }
    let fit = if len > 0.0 { fit / len } else { 0.0 };
    if vis < t.min_len || fit < 0.5 {
        return None;
    }
    let points = path_points(g, &path);
    let radial = starts_on_radial_edge(c, &points);
    match t.id {
        LineId::Life if !descends(&points) => return None,
        LineId::Life if !radial => return None,
        LineId::Fate
            if radial
                || drifts_to_little_finger(c, &points)
                || top_level(c, &points) < FATE_MIN_TOP =>
        {
            return None
        }
        _ => {}
    }
    if commit {
        for &(k, _) in &path.steps {
            used[k] = true;
        }
    }
    Some(Assigned {
        id: t.id,
        template: *t,
        fused: false,
        path,
        fit,
        length: len,
    })
}

/// Measures an assigned line (`held`: the graph edges it holds; `all_held`: those of
/// every line); `None` below its template's confidence.
fn measure_line(
    c: &Creases,
    g: &Chunks,
    a: &Assigned,
    held: &BTreeSet<usize>,
    all_held: &BTreeSet<usize>,
) -> Option<MeasuredLine> {
    let t = &a.template;
    let band = Band::new(t, c);
    let mut pts = path_points(g, &a.path);
    if t.reversed {
        pts.reverse();
    }
    let grid: Vec<(f32, f32)> = pts.iter().map(|(p, _)| *p).collect();
    let simple = simplify(&grid, 0.6);
    let polyline: Vec<Point> = simple.iter().map(|&(x, y)| c.to_image(x, y)).collect();
    let img_len: f32 = polyline.windows(2).map(|w| w[0].distance(w[1])).sum();
    let length = img_len / c.frame.palm_length().max(1e-3);
    let curv = curvature(&grid, 0.02 * c.px_per_length) * c.px_per_length;
    // Depth: relative darkness at the crease bottom against the local skin.
    let mut depth_sum = 0.0;
    let mut depth_n = 0.0;
    let mut ridge_sum = 0.0;
    for &((x, y), gap) in &pts {
        if gap {
            continue;
        }
        let (xi, yi) = (x.floor() as isize, y.floor() as isize);
        let mut darkest = f32::INFINITY;
        for dy in -1..=1 {
            for dx in -1..=1 {
                darkest = darkest.min(c.luma.get_clamped(xi + dx, yi + dy));
            }
        }
        let skin = c.skin.get_clamped(xi, yi).max(1e-3);
        depth_sum += (1.0 - darkest / skin).clamp(0.0, 1.0);
        ridge_sum += c.ridge.get_clamped(xi, yi);
        depth_n += 1.0;
    }
    let depth = if depth_n > 0.0 {
        depth_sum / depth_n
    } else {
        0.0
    };
    let ridge_mean = if depth_n > 0.0 {
        ridge_sum / depth_n
    } else {
        0.0
    };
    // Breaks: gap edges along the path.
    let gap_edges: BTreeSet<usize> = a
        .path
        .steps
        .iter()
        .filter(|&&(k, _)| g.chunks[k].gap)
        .map(|&(k, _)| g.chunks[k].edge)
        .collect();
    let (forks, islands) = forks_and_islands(c, g, &a.path, held, all_held);
    let template_len = polyline_length(&band.pts) / c.px_per_length;
    let coverage = (a.length / template_len.max(1e-3)).min(1.0);
    let strength = (ridge_mean / (2.0 * c.high).max(1e-6)).min(1.0);
    let confidence = (0.5 * a.fit + 0.3 * coverage + 0.2 * strength).clamp(0.0, 1.0);
    if confidence < t.min_conf {
        return None;
    }
    Some(MeasuredLine {
        id: a.id,
        polyline,
        length,
        curvature: curv,
        depth,
        breaks: gap_edges.len() as u32,
        forks,
        islands,
        confidence,
        fused_with: if a.fused { Some(LineId::Head) } else { None },
    })
}

/// Forks (branches leaving the line at a shallow angle, long enough, not part of
/// another line, not paired with an opposite branch as in a crossing) and islands
/// (edges off the line whose two ends are both on it).
fn forks_and_islands(
    c: &Creases,
    g: &Chunks,
    path: &Path,
    mine: &BTreeSet<usize>,
    all_held: &BTreeSet<usize>,
) -> (u32, u32) {
    let graph = &c.graph;
    let (nodes, on_path) = path_nodes(g, path);
    let reach = 0.04 * c.px_per_length;
    let min_len = FORK_MIN * c.px_per_length;
    let mut forks = 0;
    let mut island_edges: BTreeSet<usize> = BTreeSet::new();
    for &n in &nodes {
        let path_dirs: Vec<(f32, f32)> = graph.nodes[n]
            .edges
            .iter()
            .filter(|e| mine.contains(e))
            .map(|&e| graph.edges[e].direction_from(n, reach))
            .collect();
        let branches: Vec<usize> = graph.nodes[n]
            .edges
            .iter()
            .copied()
            .filter(|e| !all_held.contains(e) && !graph.edges[*e].gap)
            .collect();
        for &e in &branches {
            let edge = &graph.edges[e];
            let far = edge.other(n);
            if on_path.contains(&far) {
                island_edges.insert(e);
                continue;
            }
            if edge.length() < min_len {
                continue;
            }
            let d = edge.direction_from(n, reach);
            // A crossing: another branch leaves in the opposite direction.
            if crossed(graph, n, (e, d), &branches, reach) {
                continue;
            }
            let shallow = path_dirs
                .iter()
                .any(|&pd| angle_between(pd, d) <= FORK_MAX_ANGLE);
            if shallow {
                forks += 1;
            }
        }
    }
    (forks, island_edges.len() as u32)
}

/// The crease graph's nodes along `path`: those inside it, in order (its two ends
/// excluded), and the set of all of them, ends included.
fn path_nodes(g: &Chunks, path: &Path) -> (Vec<usize>, BTreeSet<usize>) {
    // Original nodes along the path, in order, excluding its two ends.
    let mut nodes: Vec<usize> = Vec::new();
    for (i, &(k, fwd)) in path.steps.iter().enumerate() {
        let ch = &g.chunks[k];
        let end = if fwd { ch.b } else { ch.a };
        if i + 1 < path.steps.len() {
            if let Some(o) = g.nodes[end].orig {
                nodes.push(o);
            }
        }
    }
    let on_path: BTreeSet<usize> = {
        let mut s: BTreeSet<usize> = nodes.iter().copied().collect();
        if let Some(&(k, fwd)) = path.steps.first() {
            let ch = &g.chunks[k];
            if let Some(o) = g.nodes[if fwd { ch.a } else { ch.b }].orig {
                s.insert(o);
            }
        }
        if let Some(&(k, fwd)) = path.steps.last() {
            let ch = &g.chunks[k];
            if let Some(o) = g.nodes[if fwd { ch.b } else { ch.a }].orig {
                s.insert(o);
            }
        }
        s
    };
    (nodes, on_path)
}

/// Whether another of the `branches` at node `n` leaves in the direction opposite to
/// branch `e` (direction `d`), as at a crossing; directions are taken over `reach`.
fn crossed(
    graph: &Graph,
    n: usize,
    (e, d): (usize, (f32, f32)),
    branches: &[usize],
    reach: f32,
) -> bool {
    branches.iter().any(|&o| {
        o != e && {
            let od = graph.edges[o].direction_from(n, reach);
            d.0 * od.0 + d.1 * od.1 < -0.8
        }
    })
}
