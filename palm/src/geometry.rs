//! Points and the palm coordinate frame.

use serde::{Deserialize, Serialize};

/// A point in image pixels (x right, y down).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct Point {
    pub x: f32,
    pub y: f32,
}

impl Point {
    pub const fn new(x: f32, y: f32) -> Self {
        Self { x, y }
    }
    pub fn distance(self, other: Point) -> f32 {
        ((self.x - other.x).powi(2) + (self.y - other.y).powi(2)).sqrt()
    }
}

/// The palm's own coordinate frame, so lines can be assigned by position whatever the
/// photo's rotation, scale or hand side.
///
/// Palm coordinates `(u, v)`: `v` runs from the wrist (`v = 0`) towards the base of the
/// middle finger (`v = 1`); `u` runs across the palm from the little-finger edge
/// (`u = 0`) to the thumb edge (`u = 1`), for left and right hands alike (the frame is
/// mirrored for one of them).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PalmFrame {
    /// Image position of `(u, v) = (0.5, 0)`: the middle of the wrist crease.
    pub origin: Point,
    /// Image vector for one unit of `v` (wrist → middle-finger base).
    pub axis_v: Point,
    /// Image vector for one unit of `u` (little-finger edge → thumb edge).
    pub axis_u: Point,
}

impl PalmFrame {
    /// Image pixels of palm coordinates `(u, v)`.
    pub fn to_image(&self, u: f32, v: f32) -> Point {
        let du = u - 0.5;
        Point::new(
            self.origin.x + du * self.axis_u.x + v * self.axis_v.x,
            self.origin.y + du * self.axis_u.y + v * self.axis_v.y,
        )
    }

    /// Palm coordinates `(u, v)` of an image point.
    pub fn to_palm(&self, p: Point) -> (f32, f32) {
        // Solve p - origin = du * axis_u + v * axis_v.
        let (ax, ay, bx, by) = (self.axis_u.x, self.axis_u.y, self.axis_v.x, self.axis_v.y);
        let det = ax * by - ay * bx;
        if det.abs() < f32::EPSILON {
            return (f32::NAN, f32::NAN);
        }
        let (dx, dy) = (p.x - self.origin.x, p.y - self.origin.y);
        let du = (dx * by - dy * bx) / det;
        let v = (ax * dy - ay * dx) / det;
        (du + 0.5, v)
    }

    /// Palm height in pixels (length of `axis_v`).
    pub fn palm_length(&self) -> f32 {
        (self.axis_v.x.powi(2) + self.axis_v.y.powi(2)).sqrt()
    }

    /// Palm width in pixels (length of `axis_u`).
    pub fn palm_width(&self) -> f32 {
        (self.axis_u.x.powi(2) + self.axis_u.y.powi(2)).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_round_trips() {
        let frame = PalmFrame {
            origin: Point::new(100.0, 300.0),
            axis_v: Point::new(10.0, -200.0),
            axis_u: Point::new(-180.0, -5.0),
        };
        for (u, v) in [(0.0, 0.0), (0.5, 0.5), (1.0, 1.0), (0.2, 0.8)] {
            let p = frame.to_image(u, v);
            let (u2, v2) = frame.to_palm(p);
            assert!((u - u2).abs() < 1e-4 && (v - v2).abs() < 1e-4);
        }
    }
}
