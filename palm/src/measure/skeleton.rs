//! Binary crease map → skeleton → graph: Zhang–Suen thinning, removal of staircase
//! pixels (so every skeleton pixel has 1, 2 or ≥3 neighbours meaning end, path or
//! junction), a graph with nodes at ends and junctions and edges as pixel paths,
//! spur pruning, and joining collinear ends across small gaps (gap edges count as
//! breaks).

/// A node of the skeleton graph.
#[derive(Debug, Clone)]
pub struct Node {
    /// Position in raster pixels (x, y).
    pub pos: (f32, f32),
    /// Alive edges touching this node.
    pub edges: Vec<usize>,
}

/// An edge: a pixel path between two nodes.
#[derive(Debug, Clone)]
pub struct Edge {
    pub a: usize,
    pub b: usize,
    /// Pixel positions from `a` to `b` (raster pixels, pixel centres).
    pub points: Vec<(f32, f32)>,
    /// True for an edge bridging a gap between two collinear line ends.
    pub gap: bool,
    pub alive: bool,
}

impl Edge {
    /// Euclidean length along the points.
    pub fn length(&self) -> f32 {
        self.points
            .windows(2)
            .map(|p| ((p[1].0 - p[0].0).powi(2) + (p[1].1 - p[0].1).powi(2)).sqrt())
            .sum()
    }

    /// The node at the other end.
    pub fn other(&self, node: usize) -> usize {
        if self.a == node {
            self.b
        } else {
            self.a
        }
    }

    /// Points oriented to start at `node`.
    pub fn points_from(&self, node: usize) -> Vec<(f32, f32)> {
        if self.a == node {
            self.points.clone()
        } else {
            self.points.iter().rev().copied().collect()
        }
    }

    /// Unit direction leaving `node` (from the first `reach` pixels of the edge).
    pub fn direction_from(&self, node: usize, reach: f32) -> (f32, f32) {
        let pts = self.points_from(node);
        let start = pts[0];
        let mut end = pts[pts.len() - 1];
        let mut acc = 0.0;
        for w in pts.windows(2) {
            acc += ((w[1].0 - w[0].0).powi(2) + (w[1].1 - w[0].1).powi(2)).sqrt();
            if acc >= reach {
                end = w[1];
                break;
            }
        }
        let (dx, dy) = (end.0 - start.0, end.1 - start.1);
        let n = (dx * dx + dy * dy).sqrt();
        if n < 1e-6 {
            (0.0, 0.0)
        } else {
            (dx / n, dy / n)
        }
    }
}

/// The skeleton graph.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
}

const NEIGHBOURS: [(isize, isize); 8] = [
    (0, -1),
    (1, -1),
    (1, 0),
    (1, 1),
    (0, 1),
    (-1, 1),
    (-1, 0),
    (-1, -1),
];

fn at(m: &[bool], w: usize, h: usize, x: isize, y: isize) -> bool {
    x >= 0 && y >= 0 && (x as usize) < w && (y as usize) < h && m[y as usize * w + x as usize]
}

/// Zhang–Suen thinning (in place) of a binary image.
pub fn zhang_suen(mask: &mut [bool], w: usize, h: usize) {
    let mut to_clear = Vec::new();
    loop {
        let mut changed = false;
        for step in 0..2 {
            to_clear.clear();
            for y in 0..h as isize {
                for x in 0..w as isize {
                    if !mask[y as usize * w + x as usize] {
                        continue;
                    }
                    // p2..p9 clockwise from north.
                    let p: Vec<bool> = NEIGHBOURS
                        .iter()
                        .map(|&(dx, dy)| at(mask, w, h, x + dx, y + dy))
                        .collect();
                    let b = p.iter().filter(|&&v| v).count();
                    if !(2..=6).contains(&b) {
                        continue;
                    }
                    let a = (0..8).filter(|&i| !p[i] && p[(i + 1) % 8]).count();
                    if a != 1 {
                        continue;
                    }
                    let (n, e, s, wv) = (p[0], p[2], p[4], p[6]);
                    let ok = if step == 0 {
                        !(e && s && (n || wv))
                    } else {
                        !(n && wv && (e || s))
                    };
                    if ok {
                        to_clear.push(y as usize * w + x as usize);
                    }
                }
            }
            if !to_clear.is_empty() {
                changed = true;
                for &i in &to_clear {
                    mask[i] = false;
                }
            }
        }
        if !changed {
            break;
        }
    }
}

/// Number of 8-connected groups among the set neighbours of `(x, y)`.
fn neighbour_groups(mask: &[bool], w: usize, h: usize, x: isize, y: isize) -> (usize, usize) {
    let set: Vec<(isize, isize)> = NEIGHBOURS
        .iter()
        .filter(|&&(dx, dy)| at(mask, w, h, x + dx, y + dy))
        .copied()
        .collect();
    let n = set.len();
    let mut group = vec![usize::MAX; n];
    let mut groups = 0;
    for i in 0..n {
        if group[i] != usize::MAX {
            continue;
        }
        group[i] = groups;
        let mut stack = vec![i];
        while let Some(k) = stack.pop() {
            for j in 0..n {
                if group[j] == usize::MAX
                    && (set[j].0 - set[k].0).abs() <= 1
                    && (set[j].1 - set[k].1).abs() <= 1
                {
                    group[j] = groups;
                    stack.push(j);
                }
            }
        }
        groups += 1;
    }
    (n, groups)
}

/// Removes staircase pixels: a pixel with ≥ 2 neighbours that all form one
/// 8-connected group can go without disconnecting anything.
pub fn remove_staircase(mask: &mut [bool], w: usize, h: usize) {
    loop {
        let mut changed = false;
        for y in 0..h as isize {
            for x in 0..w as isize {
                let i = y as usize * w + x as usize;
                if !mask[i] {
                    continue;
                }
                let (n, groups) = neighbour_groups(mask, w, h, x, y);
                // A corner step: the neighbours stay connected without this pixel. With
                // exactly two neighbours, only an L corner (neighbours diagonal to each
                // other) qualifies; two side-by-side neighbours mark a line end, kept.
                let removable = match n {
                    2 => {
                        let set: Vec<(isize, isize)> = NEIGHBOURS
                            .iter()
                            .filter(|&&(dx, dy)| at(mask, w, h, x + dx, y + dy))
                            .copied()
                            .collect();
                        (set[0].0 - set[1].0).abs() == 1 && (set[0].1 - set[1].1).abs() == 1
                    }
                    3 | 4 => groups == 1,
                    _ => false,
                };
                if removable {
                    mask[i] = false;
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
}

/// Builds the graph of a thinned skeleton.
pub fn build_graph(skel: &[bool], w: usize, h: usize) -> Graph {
    let idx = |x: usize, y: usize| y * w + x;
    let (mut node_of, mut node_pixels) = find_nodes(skel, w, h);
    let mut graph = Graph::default();
    let mut visited = vec![false; w * h];
    // Trace edges from every node; then break remaining pure loops.
    let mut pending_loops = true;
    let mut next_node = 0;
    while pending_loops {
        while next_node < node_pixels.len() {
            let id = next_node;
            next_node += 1;
            let pixels = node_pixels[id].clone();
            for &p in &pixels {
                let (px, py) = ((p % w) as isize, (p / w) as isize);
                for &(dx, dy) in &NEIGHBOURS {
                    let (nx, ny) = (px + dx, py + dy);
                    if !at(skel, w, h, nx, ny) {
                        continue;
                    }
                    let q = idx(nx as usize, ny as usize);
                    if node_of[q] == id || visited[q] {
                        continue;
                    }
                    if node_of[q] != usize::MAX {
                        // Node directly adjacent to another node: a two-pixel edge,
                        // traced once (from the lower id).
                        let other = node_of[q];
                        if other > id
                            && !graph
                                .edges
                                .iter()
                                .any(|e| (e.a == id && e.b == other) || (e.a == other && e.b == id))
                        {
                            graph.edges.push(Edge {
                                a: id,
                                b: other,
                                points: vec![pix(p, w), pix(q, w)],
                                gap: false,
                                alive: true,
                            });
                        }
                        continue;
                    }
                    // Walk along degree-2 pixels.
                    let (path, end_node) = walk(
                        skel,
                        (w, h),
                        &mut node_of,
                        &mut node_pixels,
                        &mut visited,
                        (id, p, q),
                    );
                    graph.edges.push(Edge {
                        a: id,
                        b: end_node,
                        points: path.iter().map(|&k| pix(k, w)).collect(),
                        gap: false,
                        alive: true,
                    });
                }
            }
        }
        // Any unvisited plain pixel belongs to a loop without nodes: cut it there.
        pending_loops = false;
        for i in 0..w * h {
            if skel[i] && node_of[i] == usize::MAX && !visited[i] {
                let nid = node_pixels.len();
                node_pixels.push(vec![i]);
                node_of[i] = nid;
                visited[i] = true;
                pending_loops = true;
                break;
            }
        }
    }
    graph.nodes = nodes_of(&node_pixels, w, &graph.edges);
    graph
}

/// The node pixels of a skeleton: ends (degree ≤ 1) and junctions (degree ≥ 3), adjacent
/// junction pixels forming one node. Each pixel's node (`usize::MAX`: none), and each
/// node's pixels.
fn find_nodes(skel: &[bool], w: usize, h: usize) -> (Vec<usize>, Vec<Vec<usize>>) {
    let idx = |x: usize, y: usize| y * w + x;
    let degree = |x: usize, y: usize| -> usize {
        NEIGHBOURS
            .iter()
            .filter(|&&(dx, dy)| at(skel, w, h, x as isize + dx, y as isize + dy))
            .count()
    };
    let mut node_of = vec![usize::MAX; w * h];
    let mut node_pixels: Vec<Vec<usize>> = Vec::new();
    for y in 0..h {
        for x in 0..w {
            let i = idx(x, y);
            if !skel[i] || node_of[i] != usize::MAX {
                continue;
            }
            let d = degree(x, y);
            if d == 2 {
                continue;
            }
            let id = node_pixels.len();
            let mut pixels = vec![i];
            node_of[i] = id;
            if d >= 3 {
                let mut stack = vec![i];
                while let Some(k) = stack.pop() {
                    let (kx, ky) = ((k % w) as isize, (k / w) as isize);
                    for &(dx, dy) in &NEIGHBOURS {
                        let (nx, ny) = (kx + dx, ky + dy);
                        if !at(skel, w, h, nx, ny) {
                            continue;
                        }
                        let j = idx(nx as usize, ny as usize);
                        if node_of[j] == usize::MAX && degree(nx as usize, ny as usize) >= 3 {
                            node_of[j] = id;
                            pixels.push(j);
                            stack.push(j);
                        }
                    }
                }
            }
            node_pixels.push(pixels);
        }
    }
    (node_of, node_pixels)
}

/// Walks from node `id`'s pixel `p` through `q` along degree-2 pixels to the next node
/// pixel: the path's pixels and the node it ends on (a dead end becomes a new node).
fn walk(
    skel: &[bool],
    (w, h): (usize, usize),
    node_of: &mut [usize],
    node_pixels: &mut Vec<Vec<usize>>,
    visited: &mut [bool],
    (id, p, q): (usize, usize, usize),
) -> (Vec<usize>, usize) {
    let idx = |x: usize, y: usize| y * w + x;
    let mut path = vec![p, q];
    visited[q] = true;
    let mut prev = p;
    let mut cur = q;
    let end_node;
    loop {
        let (cx, cy) = ((cur % w) as isize, (cur / w) as isize);
        let mut next_plain = None;
        let mut next_node_px = None;
        for &(dx, dy) in &NEIGHBOURS {
            let (nx, ny) = (cx + dx, cy + dy);
            if !at(skel, w, h, nx, ny) {
                continue;
            }
            let r = idx(nx as usize, ny as usize);
            if r == prev {
                continue;
            }
            if node_of[r] != usize::MAX {
                // Do not step straight back into the start node.
                if node_of[r] == id && path.len() <= 2 {
                    continue;
                }
                if next_node_px.is_none() {
                    next_node_px = Some(r);
                }
            } else if !visited[r] && next_plain.is_none() {
                next_plain = Some(r);
            }
        }
        if let Some(r) = next_node_px {
            path.push(r);
            end_node = node_of[r];
            break;
        }
        if let Some(r) = next_plain {
            visited[r] = true;
            path.push(r);
            prev = cur;
            cur = r;
            continue;
        }
        // Dead end on a degree-2 pixel (should not happen): make it a node.
        let nid = node_pixels.len();
        node_pixels.push(vec![cur]);
        node_of[cur] = nid;
        end_node = nid;
        break;
    }
    (path, end_node)
}

/// The graph's nodes (the centre of their pixels), each with its edges.
fn nodes_of(node_pixels: &[Vec<usize>], w: usize, edges: &[Edge]) -> Vec<Node> {
    let mut nodes: Vec<Node> = node_pixels
        .iter()
        .map(|px| {
            let n = px.len() as f32;
            let (sx, sy) = px.iter().fold((0.0, 0.0), |acc, &k| {
                let (x, y) = pix(k, w);
                (acc.0 + x, acc.1 + y)
            });
            Node {
                pos: (sx / n, sy / n),
                edges: Vec::new(),
            }
        })
        .collect();
    for (k, e) in edges.iter().enumerate() {
        nodes[e.a].edges.push(k);
        if e.b != e.a {
            nodes[e.b].edges.push(k);
        }
    }
    nodes
}

fn pix(i: usize, w: usize) -> (f32, f32) {
    ((i % w) as f32 + 0.5, (i / w) as f32 + 0.5)
}

impl Graph {
    /// Degree of a node (alive edges; a self-loop counts twice).
    pub fn degree(&self, n: usize) -> usize {
        self.nodes[n]
            .edges
            .iter()
            .map(|&e| {
                if self.edges[e].a == self.edges[e].b {
                    2
                } else {
                    1
                }
            })
            .sum()
    }

    fn kill_edge(&mut self, e: usize) {
        self.edges[e].alive = false;
        let (a, b) = (self.edges[e].a, self.edges[e].b);
        self.nodes[a].edges.retain(|&k| k != e);
        self.nodes[b].edges.retain(|&k| k != e);
    }

    /// Drops every edge with at least `share` of its points where `mask` (row-major, `w`
    /// wide) is set, then merges what that leaves at degree two.
    pub fn drop_along(&mut self, mask: &[bool], w: usize, share: f32) {
        for e in 0..self.edges.len() {
            let edge = &self.edges[e];
            if !edge.alive || edge.points.is_empty() {
                continue;
            }
            let on = edge
                .points
                .iter()
                .filter(|&&(x, y)| {
                    let (x, y) = (x.round() as usize, y.round() as usize);
                    x >= w || mask.get(y * w + x).copied().unwrap_or(true)
                })
                .count();
            if on as f32 >= share * edge.points.len() as f32 {
                self.kill_edge(e);
            }
        }
        self.merge_degree_two();
    }

    /// Merges the two edges at every degree-2 node into one (keeps `gap` if either was).
    pub fn merge_degree_two(&mut self) {
        loop {
            let mut merged = false;
            for n in 0..self.nodes.len() {
                if self.nodes[n].edges.len() != 2 {
                    continue;
                }
                let (e1, e2) = (self.nodes[n].edges[0], self.nodes[n].edges[1]);
                if e1 == e2
                    || self.edges[e1].a == self.edges[e1].b
                    || self.edges[e2].a == self.edges[e2].b
                {
                    continue;
                }
                let far1 = self.edges[e1].other(n);
                let far2 = self.edges[e2].other(n);
                if far1 == n || far2 == n {
                    continue;
                }
                // Only merge plain with plain, or keep gap edges separate so breaks can
                // be counted: gap edges stay distinct edges.
                if self.edges[e1].gap || self.edges[e2].gap {
                    continue;
                }
                let mut pts = self.edges[e1].points_from(far1);
                let tail = self.edges[e2].points_from(n);
                pts.extend(tail.into_iter().skip(1));
                self.kill_edge(e1);
                self.kill_edge(e2);
                let id = self.edges.len();
                self.edges.push(Edge {
                    a: far1,
                    b: far2,
                    points: pts,
                    gap: false,
                    alive: true,
                });
                self.nodes[far1].edges.push(id);
                if far2 != far1 {
                    self.nodes[far2].edges.push(id);
                }
                merged = true;
            }
            if !merged {
                break;
            }
        }
    }

    /// Contracts edges shorter than `max_len` between two junctions (a crossing of two
    /// creases thins into two junctions joined by a stub; as one node, the straight
    /// continuation through the crossing is straight again).
    pub fn contract_short(&mut self, max_len: f32) {
        loop {
            let mut changed = false;
            for e in 0..self.edges.len() {
                if !self.edges[e].alive {
                    continue;
                }
                let (a, b) = (self.edges[e].a, self.edges[e].b);
                if a == b
                    || self.degree(a) < 3
                    || self.degree(b) < 3
                    || self.edges[e].length() > max_len
                {
                    continue;
                }
                self.kill_edge(e);
                let (pa, pb) = (self.nodes[a].pos, self.nodes[b].pos);
                self.nodes[a].pos = ((pa.0 + pb.0) / 2.0, (pa.1 + pb.1) / 2.0);
                let moved: Vec<usize> = std::mem::take(&mut self.nodes[b].edges);
                for k in moved {
                    let edge = &mut self.edges[k];
                    if edge.a == b {
                        edge.a = a;
                    }
                    if edge.b == b {
                        edge.b = a;
                    }
                    if !self.nodes[a].edges.contains(&k) {
                        self.nodes[a].edges.push(k);
                    }
                }
                changed = true;
            }
            if !changed {
                break;
            }
        }
    }

    /// Removes spurs (edges from a junction to a free end) shorter than `min_spur`, and
    /// isolated segments shorter than `min_isolated`; repeats until stable.
    pub fn prune(&mut self, min_spur: f32, min_isolated: f32) {
        loop {
            let mut removed = false;
            for e in 0..self.edges.len() {
                if !self.edges[e].alive {
                    continue;
                }
                let (a, b) = (self.edges[e].a, self.edges[e].b);
                let (da, db) = (self.degree(a), self.degree(b));
                let len = self.edges[e].length();
                let spur = (da == 1 && db >= 3) || (db == 1 && da >= 3);
                let isolated = da == 1 && db == 1;
                if (spur && len < min_spur) || (isolated && len < min_isolated) {
                    self.kill_edge(e);
                    removed = true;
                }
            }
            self.merge_degree_two();
            if !removed {
                break;
            }
        }
    }

    /// Joins pairs of free ends that face each other across a gap of at most `max_gap`
    /// pixels, with directions within `max_angle` (radians) of the joining segment.
    /// Each join adds a `gap` edge. Returns the number of joins.
    pub fn join_gaps(&mut self, max_gap: f32, max_angle: f32, reach: f32) -> usize {
        let ends: Vec<usize> = (0..self.nodes.len())
            .filter(|&n| self.nodes[n].edges.len() == 1)
            .collect();
        // Outward direction at each free end (away from its edge).
        let dirs: Vec<(f32, f32)> = ends
            .iter()
            .map(|&n| {
                let e = &self.edges[self.nodes[n].edges[0]];
                let d = e.direction_from(n, reach);
                (-d.0, -d.1)
            })
            .collect();
        let cos_max = max_angle.cos();
        let mut candidates: Vec<(f32, usize, usize)> = Vec::new();
        for i in 0..ends.len() {
            for j in i + 1..ends.len() {
                let (na, nb) = (ends[i], ends[j]);
                // Not the two ends of the same edge.
                if self.nodes[na].edges[0] == self.nodes[nb].edges[0] {
                    continue;
                }
                let (pa, pb) = (self.nodes[na].pos, self.nodes[nb].pos);
                let (dx, dy) = (pb.0 - pa.0, pb.1 - pa.1);
                let dist = (dx * dx + dy * dy).sqrt();
                if dist > max_gap || dist < 1e-3 {
                    continue;
                }
                let (ux, uy) = (dx / dist, dy / dist);
                let ca = dirs[i].0 * ux + dirs[i].1 * uy;
                let cb = -(dirs[j].0 * ux + dirs[j].1 * uy);
                if ca < cos_max || cb < cos_max {
                    continue;
                }
                // Prefer short, well aligned joins.
                let cost = dist * (2.0 - ca - cb + 1.0);
                candidates.push((cost, na, nb));
            }
        }
        candidates.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        let mut used = vec![false; self.nodes.len()];
        let mut joins = 0;
        for (_, na, nb) in candidates {
            if used[na] || used[nb] {
                continue;
            }
            used[na] = true;
            used[nb] = true;
            let (pa, pb) = (self.nodes[na].pos, self.nodes[nb].pos);
            let steps = ((pb.0 - pa.0).abs().max((pb.1 - pa.1).abs()).ceil() as usize).max(1);
            let points = (0..=steps)
                .map(|k| {
                    let t = k as f32 / steps as f32;
                    (pa.0 + (pb.0 - pa.0) * t, pa.1 + (pb.1 - pa.1) * t)
                })
                .collect();
            let id = self.edges.len();
            self.edges.push(Edge {
                a: na,
                b: nb,
                points,
                gap: true,
                alive: true,
            });
            self.nodes[na].edges.push(id);
            self.nodes[nb].edges.push(id);
            joins += 1;
        }
        joins
    }

    /// Indices of alive edges.
    pub fn alive_edges(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.edges.len()).filter(|&e| self.edges[e].alive)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draw_line(m: &mut [bool], w: usize, a: (f32, f32), b: (f32, f32), thick: f32) {
        let h = m.len() / w;
        for y in 0..h {
            for x in 0..w {
                let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
                let (dx, dy) = (b.0 - a.0, b.1 - a.1);
                let t = (((px - a.0) * dx + (py - a.1) * dy) / (dx * dx + dy * dy)).clamp(0.0, 1.0);
                let (cx, cy) = (a.0 + t * dx, a.1 + t * dy);
                if ((px - cx).powi(2) + (py - cy).powi(2)).sqrt() <= thick {
                    m[y * w + x] = true;
                }
            }
        }
    }

    #[test]
    fn measure_skeleton_t_junction_graph() {
        let (w, h) = (60, 40);
        let mut m = vec![false; w * h];
        draw_line(&mut m, w, (5.0, 10.0), (55.0, 10.0), 2.0);
        draw_line(&mut m, w, (30.0, 10.0), (30.0, 35.0), 2.0);
        zhang_suen(&mut m, w, h);
        remove_staircase(&mut m, w, h);
        let mut g = build_graph(&m, w, h);
        g.merge_degree_two();
        g.prune(4.0, 4.0);
        let alive: Vec<usize> = g.alive_edges().collect();
        assert_eq!(
            alive.len(),
            3,
            "{:?}",
            alive
                .iter()
                .map(|&e| g.edges[e].length())
                .collect::<Vec<_>>()
        );
        let total: f32 = alive.iter().map(|&e| g.edges[e].length()).sum();
        assert!(total > 60.0 && total < 80.0, "{total}");
    }

    #[test]
    fn measure_skeleton_gap_join() {
        let (w, h) = (80, 20);
        let mut m = vec![false; w * h];
        draw_line(&mut m, w, (5.0, 10.0), (35.0, 10.0), 1.5);
        draw_line(&mut m, w, (42.0, 10.5), (75.0, 11.0), 1.5);
        zhang_suen(&mut m, w, h);
        remove_staircase(&mut m, w, h);
        let mut g = build_graph(&m, w, h);
        g.merge_degree_two();
        assert_eq!(g.join_gaps(12.0, 0.5, 6.0), 1);
    }

    /// A crease along the hand's outline (the outline's shading) is dropped; a crease that
    /// only ends at the outline stays, whole.
    #[test]
    fn measure_skeleton_an_edge_along_the_outline_is_dropped() {
        let (w, h) = (70, 40);
        let mut m = vec![false; w * h];
        draw_line(&mut m, w, (60.0, 3.0), (60.0, 37.0), 1.5);
        draw_line(&mut m, w, (5.0, 20.0), (60.0, 20.0), 1.5);
        zhang_suen(&mut m, w, h);
        remove_staircase(&mut m, w, h);
        let mut g = build_graph(&m, w, h);
        g.merge_degree_two();
        let near_outline: Vec<bool> = (0..w * h).map(|i| i % w >= 55).collect();
        g.drop_along(&near_outline, w, 0.6);
        let alive: Vec<usize> = g.alive_edges().collect();
        assert_eq!(alive.len(), 1, "{:?}", g.edges);
        let xs: Vec<f32> = g.edges[alive[0]].points.iter().map(|p| p.0).collect();
        let (lo, hi) = xs
            .iter()
            .fold((f32::MAX, f32::MIN), |a, &x| (a.0.min(x), a.1.max(x)));
        assert!(
            lo < 10.0 && hi > 55.0,
            "the crossing crease spans {lo}..{hi}"
        );
    }

    /// A wrinkle crossing near a crease's end leaves a hook in its skeleton: the end's
    /// direction, taken over a short reach, points off the gap and the break is not joined;
    /// over a longer reach it is.
    #[test]
    fn measure_skeleton_a_hooked_end_is_joined_when_seen_from_far_enough() {
        let build = || {
            let (w, h) = (90, 30);
            let mut m = vec![false; w * h];
            draw_line(&mut m, w, (5.0, 15.0), (40.0, 15.0), 1.5);
            draw_line(&mut m, w, (40.0, 15.0), (44.0, 19.0), 1.5);
            draw_line(&mut m, w, (54.0, 15.0), (85.0, 15.0), 1.5);
            zhang_suen(&mut m, w, h);
            remove_staircase(&mut m, w, h);
            let mut g = build_graph(&m, w, h);
            g.merge_degree_two();
            g
        };
        assert_eq!(build().join_gaps(20.0, 0.55, 4.0), 0);
        assert_eq!(build().join_gaps(20.0, 0.55, 16.0), 1);
    }
}
