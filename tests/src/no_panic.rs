//! Property tests: no input panics the upload path (`hast_common::photo::normalise`) or
//! the engine. Three generators: arbitrary bytes; valid small JPEG/PNG/WebP files with
//! bytes overwritten, truncated or appended (these reach deep into the decoders); and
//! arbitrary small raw images straight into the engine.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, OnceLock};

use hast_common::photo::{decode_rgb, normalise, PhotoLimits};
use hast_palm::Engine;
use image::{ImageFormat, RgbImage};
use proptest::prelude::*;

fn engine() -> Arc<Engine> {
    static ENGINE: OnceLock<Arc<Engine>> = OnceLock::new();
    ENGINE
        .get_or_init(|| Arc::new(Engine::offline().expect("embedded landmark model")))
        .clone()
}

/// A small, slightly structured photo in `format`.
fn sample(format: ImageFormat, w: u32, h: u32) -> Vec<u8> {
    let img = RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x * 7) as u8, (y * 5) as u8, ((x ^ y) * 3) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, format).expect("encode sample");
    out.into_inner()
}

fn samples() -> &'static [Vec<u8>] {
    static SAMPLES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SAMPLES.get_or_init(|| {
        vec![
            sample(ImageFormat::Jpeg, 48, 40),
            sample(ImageFormat::Png, 40, 48),
            sample(ImageFormat::WebP, 32, 24),
        ]
    })
}

/// The whole path an upload takes: normalise, then (as the worker does) decode the
/// stored JPEG and read it. Errors are fine; panics are not.
fn upload_path(bytes: &[u8]) {
    let limits = PhotoLimits {
        max_pixels: 4_000_000,
        working_max_side: 256,
    };
    if let Ok(photo) = normalise(bytes, &limits) {
        let image = decode_rgb(&photo.jpeg).expect("a normalised photo decodes");
        assert_eq!((image.width(), image.height()), (photo.width, photo.height));
        let _ = engine().read(&image, None);
    }
}

/// How a valid file is damaged.
#[derive(Debug, Clone)]
enum Damage {
    Overwrite(Vec<(usize, u8)>),
    Truncate(usize),
    Append(Vec<u8>),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        prop::collection::vec((any::<usize>(), any::<u8>()), 1..16).prop_map(Damage::Overwrite),
        any::<usize>().prop_map(Damage::Truncate),
        prop::collection::vec(any::<u8>(), 1..64).prop_map(Damage::Append),
    ]
}

fn apply(mut bytes: Vec<u8>, damage: &Damage) -> Vec<u8> {
    match damage {
        Damage::Overwrite(edits) => {
            let n = bytes.len();
            for &(at, value) in edits {
                bytes[at % n] = value;
            }
        }
        Damage::Truncate(at) => bytes.truncate(at % bytes.len()),
        Damage::Append(tail) => bytes.extend_from_slice(tail),
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// Arbitrary bytes, with and without an accepted format's magic number in front.
    #[test]
    fn arbitrary_bytes_never_panic(prefix in 0usize..4, body in prop::collection::vec(any::<u8>(), 0..2048)) {
        let magic: &[&[u8]] = &[b"", b"\xFF\xD8\xFF", b"\x89PNG\r\n\x1a\n", b"RIFF\0\0\0\0WEBPVP8 "];
        let mut bytes = magic[prefix].to_vec();
        bytes.extend_from_slice(&body);
        upload_path(&bytes);
    }

    /// Valid JPEG, PNG and WebP files, damaged.
    #[test]
    fn damaged_photos_never_panic(which in 0usize..3, damage in damage()) {
        upload_path(&apply(samples()[which].clone(), &damage));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    /// Arbitrary small images (any size from 0×0, any pixels) straight into the engine.
    #[test]
    fn arbitrary_images_never_panic_the_engine(
        w in 0u32..96,
        h in 0u32..96,
        seed in prop::collection::vec(any::<u8>(), 1..256),
    ) {
        let image = RgbImage::from_fn(w, h, |x, y| {
            let i = (y as usize * w as usize + x as usize) * 3;
            image::Rgb([seed[i % seed.len()], seed[(i + 1) % seed.len()], seed[(i + 2) % seed.len()]])
        });
        let (features, reading) = engine().read(&image, None);
        // Never an invented reading: an unusable photo has no lines, and the reading
        // agrees with the measurements about it.
        prop_assert_eq!(reading.quality.usable, features.quality.usable);
        if !features.quality.usable {
            prop_assert!(features.lines.is_empty());
            prop_assert!(reading.lines.iter().all(|l| !l.present));
        }
    }
}
