//! Turning an uploaded palm photo into a safe, normalised JPEG.
//!
//! [`normalise`] is what the API runs on every upload (inside
//! `tokio::task::spawn_blocking`: it is CPU-bound) and what workers may run again:
//!
//! 1. the type is sniffed from the bytes alone ([`sniff`]): JPEG, PNG and WebP are
//!    accepted, anything else is [`PhotoError::UnsupportedType`];
//! 2. the dimensions are read from the header, and an image of more than
//!    [`PhotoLimits::max_pixels`] pixels is refused with [`PhotoError::TooManyPixels`]
//!    before any bitmap is allocated (decompression bombs); the decoder also gets
//!    [`image::Limits`] as a second guard;
//! 3. the image is decoded; truncated or corrupt data is [`PhotoError::Corrupt`]. A JPEG
//!    at least twice the working size is decoded at a reduced DCT scale (1/2, 1/4 or 1/8:
//!    each 8×8 block's inverse DCT yields 4×4, 2×2 or 1×1 pixels), the smallest that is
//!    still at least the working size, so the full-size bitmap is never built; other
//!    images are decoded in full;
//! 4. it is scaled down (never up, aspect kept) so that its longer side is at most
//!    [`PhotoLimits::working_max_side`], and turned upright by its EXIF orientation;
//! 5. it is re-encoded as an RGB JPEG of quality [`JPEG_QUALITY`], so no EXIF, GPS, XMP
//!    or ICC metadata of the upload survives.
//!
//! [`decode_rgb`] is the workers' way back from a stored normalised JPEG to pixels.
//!
//! No input makes these functions panic: decoder panics, should a codec have one, are
//! caught and reported as [`PhotoError::Corrupt`].

use std::fmt;
use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};

use image::codecs::jpeg::JpegDecoder;
use image::codecs::png::PngDecoder;
use image::codecs::webp::WebPDecoder;
use image::imageops::FilterType;
use image::metadata::Orientation;
use image::{DynamicImage, GrayImage, ImageDecoder, ImageError, Limits, Rgb, RgbImage};

/// JPEG quality of the normalised photo.
pub const JPEG_QUALITY: u8 = 90;

/// Bytes per pixel of the widest accepted pixel type (8-bit RGBA), used to derive the
/// decoder's allocation limit from [`PhotoLimits::max_pixels`]. Wider pixels (16-bit or
/// floating-point channels) are refused from the header, before any pixel is decoded: a
/// photo gains nothing from them, and a 40 MP 16-bit PNG of a few hundred kilobytes would
/// otherwise cost 320 MB to decode and more to resize.
const MAX_BYTES_PER_PIXEL: u64 = 4;

/// How large a photo may be, and how large its normalised version is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhotoLimits {
    /// Most pixels (width × height, as declared in the header) an upload may have.
    /// Larger images are refused before they are decoded.
    pub max_pixels: u64,
    /// Longest side, in pixels, of the normalised photo. Larger images are scaled
    /// down to it; smaller ones are left as they are. `0` is treated as `1`.
    pub working_max_side: u32,
}

impl Default for PhotoLimits {
    /// 40 megapixels in, at most 1600 pixels on the longer side out.
    fn default() -> Self {
        Self {
            max_pixels: 40_000_000,
            working_max_side: 1600,
        }
    }
}

/// An accepted upload format, as told by its magic number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceFormat {
    /// JPEG (`FF D8 FF`).
    Jpeg,
    /// PNG (`89 50 4E 47 0D 0A 1A 0A`).
    Png,
    /// WebP (`RIFF` … `WEBP`), lossy or lossless.
    WebP,
}

impl SourceFormat {
    /// Lower-case short name: `"jpeg"`, `"png"` or `"webp"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            SourceFormat::Jpeg => "jpeg",
            SourceFormat::Png => "png",
            SourceFormat::WebP => "webp",
        }
    }
}

impl fmt::Display for SourceFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The type of an upload, from its first bytes only; `None` when it is not one of
/// the accepted formats (GIF, BMP, TIFF, HTML, text, empty, …).
pub fn sniff(bytes: &[u8]) -> Option<SourceFormat> {
    const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(SourceFormat::Jpeg)
    } else if bytes.starts_with(PNG_SIGNATURE) {
        Some(SourceFormat::Png)
    } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
        Some(SourceFormat::WebP)
    } else {
        None
    }
}

/// A photo after [`normalise`]: an upright RGB JPEG without metadata.
#[derive(Clone, PartialEq, Eq)]
pub struct NormalisedPhoto {
    /// The JPEG file (starts with `FF D8`).
    pub jpeg: Vec<u8>,
    /// Width of the JPEG, in pixels, after orientation and scaling.
    pub width: u32,
    /// Height of the JPEG, in pixels, after orientation and scaling.
    pub height: u32,
    /// What the upload was.
    pub source_format: SourceFormat,
}

impl fmt::Debug for NormalisedPhoto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NormalisedPhoto")
            .field("jpeg_len", &self.jpeg.len())
            .field("width", &self.width)
            .field("height", &self.height)
            .field("source_format", &self.source_format)
            .finish()
    }
}

/// Why a photo was refused or could not be normalised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhotoError {
    /// The bytes are not a JPEG, PNG or WebP image (HTTP 415).
    #[error("unsupported image type: only JPEG, PNG and WebP are accepted")]
    UnsupportedType,
    /// The header declares more pixels than [`PhotoLimits::max_pixels`] (HTTP 422).
    #[error("image is {width}x{height} pixels, more than the {max} allowed")]
    TooManyPixels {
        /// Declared width.
        width: u32,
        /// Declared height.
        height: u32,
        /// The limit in force.
        max: u64,
    },
    /// The image is truncated, corrupt or uses a variant that cannot be decoded (HTTP 422).
    #[error("corrupt or truncated image: {0}")]
    Corrupt(String),
    /// More than 8 bits per channel or 4 bytes per pixel (HTTP 422).
    #[error("{0} pixels are not accepted; save the photo with 8 bits per channel")]
    UnsupportedPixelFormat(String),
    /// The normalised JPEG could not be written (a server-side failure).
    #[error("cannot encode the normalised JPEG: {0}")]
    Encode(String),
}

impl PhotoError {
    /// Stable machine-readable code for API error bodies and metrics:
    /// `"unsupported_media_type"`, `"image_too_large"`, `"corrupt_image"`,
    /// `"unsupported_pixel_format"` or `"encode_failed"`.
    pub fn code(&self) -> &'static str {
        match self {
            PhotoError::UnsupportedType => "unsupported_media_type",
            PhotoError::TooManyPixels { .. } => "image_too_large",
            PhotoError::Corrupt(_) => "corrupt_image",
            PhotoError::UnsupportedPixelFormat(_) => "unsupported_pixel_format",
            PhotoError::Encode(_) => "encode_failed",
        }
    }
}

/// Checks, decodes, orients, scales down and re-encodes an uploaded photo.
///
/// See the [module documentation](self) for the steps. CPU-bound: call it from a
/// blocking thread.
pub fn normalise(bytes: &[u8], limits: &PhotoLimits) -> Result<NormalisedPhoto, PhotoError> {
    guard_panics(|| normalise_inner(bytes, limits))
}

/// Decodes a stored normalised JPEG (as made by [`normalise`]) into RGB pixels.
///
/// Anything but a JPEG is [`PhotoError::UnsupportedType`]; the pixel limit of
/// [`PhotoLimits::default`] applies. No orientation is applied: normalised photos are
/// already upright.
pub fn decode_rgb(jpeg: &[u8]) -> Result<RgbImage, PhotoError> {
    guard_panics(|| {
        if sniff(jpeg) != Some(SourceFormat::Jpeg) {
            return Err(PhotoError::UnsupportedType);
        }
        let decoded = decode(jpeg, SourceFormat::Jpeg, &PhotoLimits::default())?;
        Ok(flatten_to_rgb(decoded.image))
    })
}

/// Runs `f`, turning a panic (of a codec, on hostile input) into [`PhotoError::Corrupt`].
fn guard_panics<T>(f: impl FnOnce() -> Result<T, PhotoError>) -> Result<T, PhotoError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| {
        Err(PhotoError::Corrupt(
            "the image decoder failed on this input".to_owned(),
        ))
    })
}

fn normalise_inner(bytes: &[u8], limits: &PhotoLimits) -> Result<NormalisedPhoto, PhotoError> {
    let source_format = sniff(bytes).ok_or(PhotoError::UnsupportedType)?;
    let Decoded { image, orientation } = match source_format {
        SourceFormat::Jpeg => decode_jpeg_for_working_size(bytes, limits)?,
        other => decode(bytes, other, limits)?,
    };

    // Scaling first, then rotating: the longer side is the same either way, and
    // rotating the small image is cheaper.
    let (width, height) = (image.width(), image.height());
    let (target_w, target_h) = target_size(width, height, limits.working_max_side);
    let mut image = if (target_w, target_h) == (width, height) {
        image
    } else {
        resize(image, target_w, target_h)
    };
    image.apply_orientation(orientation);
    let rgb = flatten_to_rgb(image);

    let jpeg = encode_jpeg(&rgb)?;
    Ok(NormalisedPhoto {
        jpeg,
        width: rgb.width(),
        height: rgb.height(),
        source_format,
    })
}

/// The normalised JPEG of `rgb`: quality [`JPEG_QUALITY`], 4:2:0 chroma (2×2 averaged,
/// as cameras and libjpeg do), JFIF only (no other metadata). `jpeg-encoder` (SIMD)
/// takes about a third of the time of `image`'s encoder (4:2:2) at the working size.
fn encode_jpeg(rgb: &RgbImage) -> Result<Vec<u8>, PhotoError> {
    use jpeg_encoder::{ChromaSubsamplingMethod, ColorType, Encoder, SamplingFactor};
    let side = |v: u32| {
        u16::try_from(v)
            .map_err(|_| PhotoError::Encode(format!("a side of {v} pixels is too long for JPEG")))
    };
    let (width, height) = (side(rgb.width())?, side(rgb.height())?);
    let mut jpeg = Vec::new();
    let mut encoder = Encoder::new(&mut jpeg, JPEG_QUALITY);
    encoder.set_sampling_factor(SamplingFactor::R_4_2_0);
    encoder.set_chroma_subsampling_method(ChromaSubsamplingMethod::Average);
    encoder
        .encode(rgb.as_raw(), width, height, ColorType::Rgb)
        .map_err(|e| PhotoError::Encode(e.to_string()))?;
    Ok(jpeg)
}

/// A fully decoded image and the orientation its metadata asks for.
struct Decoded {
    image: DynamicImage,
    orientation: Orientation,
}

/// Header check, then full decode, of an image already sniffed as `format`.
fn decode(bytes: &[u8], format: SourceFormat, limits: &PhotoLimits) -> Result<Decoded, PhotoError> {
    let decoder_limits = decoder_limits(limits);
    match format {
        SourceFormat::Jpeg => {
            let decoder = jpeg_header(bytes, limits)?;
            decode_checked(decoder, decoder_limits, limits)
        }
        SourceFormat::Png => {
            // The IHDR chunk is always first: check it before the decoder reads (and
            // allocates for) the chunks that follow.
            if let Some(dimensions) = png_ihdr_dimensions(bytes) {
                check_pixels(dimensions, limits)?;
            }
            let decoder = PngDecoder::with_limits(Cursor::new(bytes), decoder_limits.clone())
                .map_err(corrupt)?;
            check_pixels(decoder.dimensions(), limits)?;
            decode_checked(decoder, decoder_limits, limits)
        }
        SourceFormat::WebP => {
            let decoder = WebPDecoder::new(Cursor::new(bytes)).map_err(corrupt)?;
            check_pixels(decoder.dimensions(), limits)?;
            decode_checked(decoder, decoder_limits, limits)
        }
    }
}

/// The JPEG decoder for `bytes` after the checks every JPEG gets before its pixels are
/// decoded: a readable header, at most [`PhotoLimits::max_pixels`] pixels, and no
/// truncation.
fn jpeg_header<'a>(
    bytes: &'a [u8],
    limits: &PhotoLimits,
) -> Result<JpegDecoder<Cursor<&'a [u8]>>, PhotoError> {
    let decoder = JpegDecoder::new(Cursor::new(bytes)).map_err(corrupt)?;
    check_pixels(decoder.dimensions(), limits)?;
    // The decoder is lenient and fills a cut-off scan with grey: refuse truncation
    // here, after the cheap header check.
    if !jpeg_reaches_eoi(bytes) {
        return Err(PhotoError::Corrupt(
            "JPEG data ends before its end-of-image marker".to_owned(),
        ));
    }
    Ok(decoder)
}

/// Decodes an uploaded JPEG for [`normalise`]: after the same checks as any JPEG
/// ([`jpeg_header`]), at a reduced DCT scale when that still gives at least the working
/// size ([`decode_jpeg_scaled`]), in full otherwise (and whenever the reduced decode
/// declines the file, so the full decoder has the last word on what is corrupt).
fn decode_jpeg_for_working_size(bytes: &[u8], limits: &PhotoLimits) -> Result<Decoded, PhotoError> {
    let decoder = jpeg_header(bytes, limits)?;
    let (width, height) = decoder.dimensions();
    let target = target_size(width, height, limits.working_max_side);
    // A panic of the second decoder only means "decode in full".
    let scaled = catch_unwind(AssertUnwindSafe(|| {
        decode_jpeg_scaled(bytes, (width, height), target)
    }))
    .ok()
    .flatten();
    match scaled {
        Some(decoded) => Ok(decoded),
        None => decode_checked(decoder, decoder_limits(limits), limits),
    }
}

/// Decodes a JPEG of `size` (checked by [`jpeg_header`]) at the smallest DCT scale of
/// 1/8, 1/4 or 1/2 that is still at least `target` on both sides, with its EXIF
/// orientation. `None` when no reduced scale fits (the image is less than twice the
/// target), when the image is neither RGB nor grey (CMYK, 12-bit), or when this decoder
/// fails on the file: the caller then decodes it in full.
fn decode_jpeg_scaled(
    bytes: &[u8],
    (width, height): (u32, u32),
    (target_w, target_h): (u32, u32),
) -> Option<Decoded> {
    use jpeg_decoder::{Decoder, PixelFormat};
    // Output side at a scale of `eighths`/8, as the decoder rounds it.
    let scaled = |side: u32, eighths: u32| (side * eighths).div_ceil(8);
    let eighths = [1, 2, 4]
        .into_iter()
        .find(|&n| scaled(width, n) >= target_w && scaled(height, n) >= target_h)?;
    let mut decoder = Decoder::new(bytes);
    decoder.read_info().ok()?;
    let info = decoder.info()?;
    if (u32::from(info.width), u32::from(info.height)) != (width, height)
        || !matches!(info.pixel_format, PixelFormat::RGB24 | PixelFormat::L8)
    {
        return None;
    }
    let (out_w, out_h) = decoder
        .scale(
            u16::try_from(scaled(width, eighths)).ok()?,
            u16::try_from(scaled(height, eighths)).ok()?,
        )
        .ok()?;
    let (out_w, out_h) = (u32::from(out_w), u32::from(out_h));
    if out_w < target_w || out_h < target_h || out_w >= width || out_h >= height {
        return None;
    }
    let pixels = decoder.decode().ok()?;
    let image = match info.pixel_format {
        PixelFormat::RGB24 => DynamicImage::ImageRgb8(RgbImage::from_raw(out_w, out_h, pixels)?),
        PixelFormat::L8 => DynamicImage::ImageLuma8(GrayImage::from_raw(out_w, out_h, pixels)?),
        PixelFormat::L16 | PixelFormat::CMYK32 => return None,
    };
    // Broken EXIF is no reason to refuse a photo: it is then taken as upright.
    let orientation = decoder
        .exif_data()
        .and_then(Orientation::from_exif_chunk)
        .unwrap_or(Orientation::NoTransforms);
    Some(Decoded { image, orientation })
}

/// Scales `image` to exactly `width`×`height` with a triangle (bilinear) filter: 8-bit
/// RGB with the SIMD resizer of `fast_image_resize`, any other pixel type (and, should
/// that resizer refuse, RGB too) with `image`'s.
fn resize(image: DynamicImage, width: u32, height: u32) -> DynamicImage {
    if let DynamicImage::ImageRgb8(rgb) = &image {
        if let Some(resized) = resize_rgb8(rgb, width, height) {
            return DynamicImage::ImageRgb8(resized);
        }
    }
    image.resize_exact(width, height, FilterType::Triangle)
}

/// `fast_image_resize` is called for 8-bit RGB only (`resize_typed`): its untyped
/// `resize` would compile its kernels for all thirteen pixel types into this crate.
fn resize_rgb8(image: &RgbImage, width: u32, height: u32) -> Option<RgbImage> {
    use fast_image_resize::images::{TypedImage, TypedImageRef};
    use fast_image_resize::pixels::U8x3;
    use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
    let src =
        TypedImageRef::<U8x3>::from_buffer(image.width(), image.height(), image.as_raw()).ok()?;
    let mut pixels = vec![0_u8; width as usize * height as usize * 3];
    let mut dst = TypedImage::<U8x3>::from_buffer(width, height, &mut pixels).ok()?;
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear));
    Resizer::new().resize_typed(&src, &mut dst, &options).ok()?;
    RgbImage::from_raw(width, height, pixels)
}

/// Sets the decoder limits, reads the orientation, and decodes the pixels of a decoder
/// whose dimensions have passed [`check_pixels`].
fn decode_checked(
    mut decoder: impl ImageDecoder,
    decoder_limits: Limits,
    limits: &PhotoLimits,
) -> Result<Decoded, PhotoError> {
    let (width, height) = decoder.dimensions();
    check_pixel_format(decoder.color_type())?;
    let too_large = |e: ImageError| match e {
        ImageError::Limits(_) => PhotoError::TooManyPixels {
            width,
            height,
            max: limits.max_pixels,
        },
        other => corrupt(other),
    };
    decoder.set_limits(decoder_limits).map_err(too_large)?;
    // Broken EXIF is no reason to refuse a photo: it is then taken as upright.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let image = DynamicImage::from_decoder(decoder).map_err(too_large)?;
    Ok(Decoded { image, orientation })
}

/// The second guard given to the decoders: no side longer than the pixel budget, and no
/// more memory than the largest allowed bitmap in the widest pixel type.
fn decoder_limits(limits: &PhotoLimits) -> Limits {
    let max_side = u32::try_from(limits.max_pixels).unwrap_or(u32::MAX);
    let mut decoder_limits = Limits::default();
    decoder_limits.max_image_width = Some(max_side);
    decoder_limits.max_image_height = Some(max_side);
    decoder_limits.max_alloc = Some(limits.max_pixels.saturating_mul(MAX_BYTES_PER_PIXEL));
    decoder_limits
}

/// Refuses pixel types wider than 8 bits per channel or [`MAX_BYTES_PER_PIXEL`].
fn check_pixel_format(color: image::ColorType) -> Result<(), PhotoError> {
    let bytes = u64::from(color.bytes_per_pixel());
    let channels = u16::from(color.channel_count().max(1));
    if bytes > MAX_BYTES_PER_PIXEL || color.bits_per_pixel() / channels > 8 {
        return Err(PhotoError::UnsupportedPixelFormat(format!("{color:?}")));
    }
    Ok(())
}

fn check_pixels((width, height): (u32, u32), limits: &PhotoLimits) -> Result<(), PhotoError> {
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(PhotoError::TooManyPixels {
            width,
            height,
            max: limits.max_pixels,
        });
    }
    Ok(())
}

fn corrupt(e: ImageError) -> PhotoError {
    PhotoError::Corrupt(e.to_string())
}

/// Width and height from a PNG's IHDR chunk, if the file starts with one.
fn png_ihdr_dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    if bytes.get(12..16)? != b"IHDR" {
        return None;
    }
    let width = u32::from_be_bytes(bytes.get(16..20)?.try_into().ok()?);
    let height = u32::from_be_bytes(bytes.get(20..24)?.try_into().ok()?);
    Some((width, height))
}

/// Whether walking a JPEG's marker segments from SOI reaches an EOI marker after a
/// scan, i.e. whether the file was not cut off. Segment payloads are skipped by their
/// length (so an EXIF thumbnail's EOI does not count); in entropy-coded data, `FF 00`
/// stuffing and `RSTn` markers are skipped. Stray bytes between segments are tolerated.
fn jpeg_reaches_eoi(bytes: &[u8]) -> bool {
    let len = bytes.len();
    let mut i = 2; // after SOI
    let mut seen_scan = false;
    loop {
        // Find the next marker prefix, skipping stray and fill bytes.
        match bytes
            .get(i..)
            .and_then(|rest| rest.iter().position(|&b| b == 0xFF))
        {
            Some(offset) => i += offset,
            None => return false,
        }
        while i < len && bytes[i] == 0xFF {
            i += 1;
        }
        let Some(&marker) = bytes.get(i) else {
            return false;
        };
        i += 1;
        match marker {
            0xD9 => return seen_scan,
            // Standalone markers without a length: TEM, RSTn, SOI.
            0x00 | 0x01 | 0xD0..=0xD8 => continue,
            _ => {}
        }
        let Some(length) = bytes.get(i..i + 2) else {
            return false;
        };
        let length = usize::from(u16::from_be_bytes([length[0], length[1]]));
        if length < 2 {
            return false;
        }
        i += length;
        if i > len {
            return false;
        }
        if marker == 0xDA {
            seen_scan = true;
            // Entropy-coded data runs to the next marker that is neither stuffing
            // (FF 00) nor a restart marker (FF D0..D7).
            loop {
                match bytes
                    .get(i..)
                    .and_then(|rest| rest.iter().position(|&b| b == 0xFF))
                {
                    Some(offset) => i += offset,
                    None => return false,
                }
                match bytes.get(i + 1) {
                    None => return false,
                    Some(0x00 | 0xD0..=0xD7) => i += 2,
                    Some(0xFF) => i += 1,
                    Some(_) => break,
                }
            }
        }
    }
}

/// The size that fits `width`×`height` into a `max_side` square, keeping the aspect
/// ratio; the size itself when it already fits (never scaled up).
fn target_size(width: u32, height: u32, max_side: u32) -> (u32, u32) {
    let max_side = max_side.max(1);
    let long = width.max(height);
    if long <= max_side {
        return (width, height);
    }
    let scale = |side: u32| -> u32 {
        let scaled =
            (u64::from(side) * u64::from(max_side) + u64::from(long) / 2) / u64::from(long);
        u32::try_from(scaled).unwrap_or(max_side).clamp(1, max_side)
    };
    if width >= height {
        (max_side, scale(height))
    } else {
        (scale(width), max_side)
    }
}

/// 8-bit RGB of any decoded image; transparent pixels are composited over white.
fn flatten_to_rgb(image: DynamicImage) -> RgbImage {
    if !image.color().has_alpha() {
        return image.into_rgb8();
    }
    let rgba = image.into_rgba8();
    RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let over_white = |c: u8| -> u8 {
            let a = u32::from(a);
            let value = (u32::from(c) * a + 255 * (255 - a) + 127) / 255;
            u8::try_from(value).unwrap_or(u8::MAX)
        };
        Rgb([over_white(r), over_white(g), over_white(b)])
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::codecs::jpeg::JpegEncoder;
    use image::codecs::png::PngEncoder;
    use image::codecs::webp::WebPEncoder;
    use image::{ExtendedColorType, ImageEncoder, RgbaImage};
    use std::time::{Duration, Instant};

    /// A test pattern: a gradient with a red block in the top-left corner, so that
    /// orientation can be told from the pixels.
    fn pattern(width: u32, height: u32) -> RgbImage {
        RgbImage::from_fn(width, height, |x, y| {
            if x < width / 4 && y < height / 4 {
                Rgb([255, 0, 0])
            } else {
                Rgb([
                    (x * 255 / width.max(1)) as u8,
                    (y * 255 / height.max(1)) as u8,
                    128,
                ])
            }
        })
    }

    fn png_bytes(image: &RgbImage) -> Vec<u8> {
        let mut out = Vec::new();
        PngEncoder::new(&mut out)
            .write_image(
                image,
                image.width(),
                image.height(),
                ExtendedColorType::Rgb8,
            )
            .unwrap();
        out
    }

    fn jpeg_bytes(image: &RgbImage) -> Vec<u8> {
        let mut out = Vec::new();
        JpegEncoder::new_with_quality(&mut out, 95)
            .encode_image(image)
            .unwrap();
        out
    }

    fn webp_lossless_bytes(image: &RgbImage) -> Vec<u8> {
        let mut out = Vec::new();
        WebPEncoder::new_lossless(&mut out)
            .encode(
                image,
                image.width(),
                image.height(),
                ExtendedColorType::Rgb8,
            )
            .unwrap();
        out
    }

    /// A JPEG with an APP1 Exif segment (big-endian TIFF, one IFD entry:
    /// Orientation = `orientation`) spliced in right after SOI.
    fn jpeg_with_exif_orientation(image: &RgbImage, orientation: u16) -> Vec<u8> {
        let mut tiff = Vec::new();
        tiff.extend_from_slice(b"MM\x00\x2A"); // big-endian TIFF header
        tiff.extend_from_slice(&8u32.to_be_bytes()); // IFD0 at offset 8
        tiff.extend_from_slice(&1u16.to_be_bytes()); // one entry
        tiff.extend_from_slice(&0x0112u16.to_be_bytes()); // tag: Orientation
        tiff.extend_from_slice(&3u16.to_be_bytes()); // type: SHORT
        tiff.extend_from_slice(&1u32.to_be_bytes()); // count
        tiff.extend_from_slice(&orientation.to_be_bytes()); // value, left-aligned
        tiff.extend_from_slice(&[0, 0]);
        tiff.extend_from_slice(&0u32.to_be_bytes()); // no next IFD

        let mut payload = b"Exif\x00\x00".to_vec();
        payload.extend_from_slice(&tiff);
        let mut app1 = vec![0xFF, 0xE1];
        app1.extend_from_slice(&u16::try_from(payload.len() + 2).unwrap().to_be_bytes());
        app1.extend_from_slice(&payload);

        let plain = jpeg_bytes(image);
        assert_eq!(&plain[..2], &[0xFF, 0xD8]);
        let mut out = plain[..2].to_vec();
        out.extend_from_slice(&app1);
        out.extend_from_slice(&plain[2..]);
        out
    }

    /// CRC-32 (IEEE, as used by PNG chunks), bit by bit.
    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &byte in data {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                let mask = (crc & 1).wrapping_neg();
                crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
            }
        }
        !crc
    }

    /// Deterministic pseudo-random bytes (xorshift64*).
    fn pseudo_random(seed: u64, len: usize) -> Vec<u8> {
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..len)
            .map(|_| {
                state ^= state >> 12;
                state ^= state << 25;
                state ^= state >> 27;
                (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
            })
            .collect()
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    fn is_reddish(p: &Rgb<u8>) -> bool {
        p.0[0] > 200 && p.0[1] < 80 && p.0[2] < 80
    }

    fn assert_normalised(out: &NormalisedPhoto, format: SourceFormat, width: u32, height: u32) {
        assert_eq!(out.source_format, format);
        assert_eq!(&out.jpeg[..2], &[0xFF, 0xD8]);
        assert_eq!((out.width, out.height), (width, height));
        let decoded = decode_rgb(&out.jpeg).unwrap();
        assert_eq!(decoded.dimensions(), (width, height));
    }

    #[test]
    fn sniff_tells_accepted_formats_by_magic_number() {
        let image = pattern(8, 8);
        assert_eq!(sniff(&png_bytes(&image)), Some(SourceFormat::Png));
        assert_eq!(sniff(&jpeg_bytes(&image)), Some(SourceFormat::Jpeg));
        assert_eq!(
            sniff(&webp_lossless_bytes(&image)),
            Some(SourceFormat::WebP)
        );
        assert_eq!(sniff(b"RIFF\x00\x00\x00\x00WAVEfmt "), None);
        assert_eq!(sniff(b"RIFF"), None);
        assert_eq!(sniff(b""), None);
        assert_eq!(SourceFormat::Jpeg.as_str(), "jpeg");
        assert_eq!(SourceFormat::Png.as_str(), "png");
        assert_eq!(SourceFormat::WebP.as_str(), "webp");
    }

    #[test]
    fn png_round_trip() {
        let out = normalise(&png_bytes(&pattern(64, 48)), &PhotoLimits::default()).unwrap();
        assert_normalised(&out, SourceFormat::Png, 64, 48);
    }

    #[test]
    fn jpeg_round_trip() {
        let out = normalise(&jpeg_bytes(&pattern(48, 64)), &PhotoLimits::default()).unwrap();
        assert_normalised(&out, SourceFormat::Jpeg, 48, 64);
    }

    #[test]
    fn lossless_webp_round_trip() {
        let out = normalise(
            &webp_lossless_bytes(&pattern(50, 30)),
            &PhotoLimits::default(),
        )
        .unwrap();
        assert_normalised(&out, SourceFormat::WebP, 50, 30);
    }

    #[test]
    fn transparent_png_is_flattened_over_white() {
        let rgba = RgbaImage::from_pixel(16, 16, image::Rgba([0, 0, 0, 0]));
        let mut bytes = Vec::new();
        PngEncoder::new(&mut bytes)
            .write_image(&rgba, 16, 16, ExtendedColorType::Rgba8)
            .unwrap();
        let out = normalise(&bytes, &PhotoLimits::default()).unwrap();
        let decoded = decode_rgb(&out.jpeg).unwrap();
        assert!(decoded.pixels().all(|p| p.0.iter().all(|&c| c > 245)));
    }

    /// A 16-bit PNG: refused from its header, whatever its size (a 40 MP one of a few
    /// hundred kilobytes would take 320 MB to decode).
    #[test]
    fn sixteen_bit_png_is_refused_before_decoding() {
        for (color, channels) in [
            (ExtendedColorType::Rgb16, 3usize),
            (ExtendedColorType::Rgba16, 4),
            (ExtendedColorType::L16, 1),
        ] {
            let (w, h) = (64u32, 48u32);
            let pixels = vec![0x40u8; w as usize * h as usize * channels * 2];
            let mut bytes = Vec::new();
            PngEncoder::new(&mut bytes)
                .write_image(&pixels, w, h, color)
                .unwrap();
            let err = normalise(&bytes, &PhotoLimits::default()).unwrap_err();
            assert!(
                matches!(err, PhotoError::UnsupportedPixelFormat(_)),
                "{color:?}: {err:?}"
            );
            assert_eq!(err.code(), "unsupported_pixel_format");
        }
    }

    #[test]
    fn large_image_is_downscaled_to_working_max_side_keeping_aspect() {
        let out = normalise(&png_bytes(&pattern(2400, 1800)), &PhotoLimits::default()).unwrap();
        assert_normalised(&out, SourceFormat::Png, 1600, 1200);

        let tall = normalise(&jpeg_bytes(&pattern(1000, 2000)), &PhotoLimits::default()).unwrap();
        assert_normalised(&tall, SourceFormat::Jpeg, 800, 1600);
    }

    #[test]
    fn small_image_is_not_upscaled() {
        let out = normalise(&jpeg_bytes(&pattern(300, 200)), &PhotoLimits::default()).unwrap();
        assert_normalised(&out, SourceFormat::Jpeg, 300, 200);
    }

    #[test]
    fn target_size_rounds_and_never_upscales() {
        assert_eq!(target_size(4000, 3000, 1600), (1600, 1200));
        assert_eq!(target_size(3000, 4000, 1600), (1200, 1600));
        assert_eq!(target_size(1600, 1600, 1600), (1600, 1600));
        assert_eq!(target_size(10, 5, 1600), (10, 5));
        assert_eq!(target_size(100_000, 1, 1600), (1600, 1));
        assert_eq!(target_size(3, 2, 0), (1, 1));
    }

    #[test]
    fn exif_orientation_6_is_applied_and_exif_is_stripped() {
        // 80 wide, 40 high, red block in the top-left corner.
        let bytes = jpeg_with_exif_orientation(&pattern(80, 40), 6);
        assert!(contains(&bytes, b"Exif"));

        let out = normalise(&bytes, &PhotoLimits::default()).unwrap();
        assert_normalised(&out, SourceFormat::Jpeg, 40, 80);
        assert!(!contains(&out.jpeg, b"Exif"));

        // Orientation 6 means "rotate 90° clockwise to display": the top-left
        // corner ends up top-right.
        let decoded = decode_rgb(&out.jpeg).unwrap();
        assert!(is_reddish(decoded.get_pixel(36, 3)));
        assert!(!is_reddish(decoded.get_pixel(3, 3)));
    }

    #[test]
    fn exif_orientation_is_applied_after_downscaling() {
        let bytes = jpeg_with_exif_orientation(&pattern(2000, 1000), 6);
        let out = normalise(&bytes, &PhotoLimits::default()).unwrap();
        assert_normalised(&out, SourceFormat::Jpeg, 800, 1600);
        assert!(!contains(&out.jpeg, b"Exif"));
    }

    #[test]
    fn large_jpeg_is_decoded_at_a_reduced_dct_scale() {
        // 3400×1700: half scale (1700×850) still covers the 1600×800 target.
        let bytes = jpeg_bytes(&pattern(3400, 1700));
        let decoded = decode_jpeg_scaled(&bytes, (3400, 1700), (1600, 800)).unwrap();
        assert_eq!((decoded.image.width(), decoded.image.height()), (1700, 850));
        // 6400×3200: a quarter (1600×800) is enough.
        let bytes = jpeg_bytes(&pattern(6400, 3200));
        let decoded = decode_jpeg_scaled(&bytes, (6400, 3200), (1600, 800)).unwrap();
        assert_eq!((decoded.image.width(), decoded.image.height()), (1600, 800));
        let out = normalise(&bytes, &PhotoLimits::default()).unwrap();
        assert_normalised(&out, SourceFormat::Jpeg, 1600, 800);
        let pixels = decode_rgb(&out.jpeg).unwrap();
        assert!(is_reddish(pixels.get_pixel(20, 20)));
        assert!(!is_reddish(pixels.get_pixel(1580, 780)));
        // The gradient survives: left dark, right bright in red; top to bottom in green.
        assert!(pixels.get_pixel(1590, 400).0[0] > 230);
        assert!(pixels.get_pixel(800, 790).0[1] > 230);
    }

    #[test]
    fn jpeg_less_than_twice_the_working_size_is_decoded_in_full() {
        let bytes = jpeg_bytes(&pattern(3000, 1500));
        assert!(decode_jpeg_scaled(&bytes, (3000, 1500), (1600, 800)).is_none());
        let out = normalise(&bytes, &PhotoLimits::default()).unwrap();
        assert_normalised(&out, SourceFormat::Jpeg, 1600, 800);
    }

    #[test]
    fn exif_orientation_is_applied_to_a_reduced_scale_decode() {
        let bytes = jpeg_with_exif_orientation(&pattern(3400, 1700), 6);
        let out = normalise(&bytes, &PhotoLimits::default()).unwrap();
        assert_normalised(&out, SourceFormat::Jpeg, 800, 1600);
        assert!(!contains(&out.jpeg, b"Exif"));
        // Rotated 90° clockwise: the red top-left corner is now top-right.
        let decoded = decode_rgb(&out.jpeg).unwrap();
        assert!(is_reddish(decoded.get_pixel(780, 20)));
        assert!(!is_reddish(decoded.get_pixel(20, 20)));
    }

    #[test]
    fn large_grey_jpeg_is_normalised_to_rgb() {
        let grey = image::GrayImage::from_fn(3400, 1700, |x, _| image::Luma([(x % 256) as u8]));
        let mut bytes = Vec::new();
        JpegEncoder::new_with_quality(&mut bytes, 90)
            .encode_image(&grey)
            .unwrap();
        assert!(decode_jpeg_scaled(&bytes, (3400, 1700), (1600, 800)).is_some());
        let out = normalise(&bytes, &PhotoLimits::default()).unwrap();
        assert_normalised(&out, SourceFormat::Jpeg, 1600, 800);
    }

    #[test]
    fn large_jpeg_keeps_the_pixel_limit_and_the_truncation_check() {
        let bytes = jpeg_bytes(&pattern(3400, 1700));
        let limits = PhotoLimits {
            max_pixels: 3400 * 1700 - 1,
            working_max_side: 1600,
        };
        assert_eq!(
            normalise(&bytes, &limits).unwrap_err(),
            PhotoError::TooManyPixels {
                width: 3400,
                height: 1700,
                max: 3400 * 1700 - 1
            }
        );
        for cut in [bytes.len() / 2, bytes.len() - 2] {
            let err = normalise(&bytes[..cut], &PhotoLimits::default()).unwrap_err();
            assert!(matches!(err, PhotoError::Corrupt(_)), "{err:?}");
        }
    }

    #[test]
    fn png_declaring_100000_squared_pixels_is_refused_before_decoding() {
        let mut bytes = png_bytes(&pattern(4, 4));
        assert_eq!(&bytes[12..16], b"IHDR");
        bytes[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        bytes[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        let crc = crc32(&bytes[12..29]); // chunk type + 13 data bytes
        bytes[29..33].copy_from_slice(&crc.to_be_bytes());

        let started = Instant::now();
        let err = normalise(&bytes, &PhotoLimits::default()).unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(1));
        assert_eq!(
            err,
            PhotoError::TooManyPixels {
                width: 100_000,
                height: 100_000,
                max: 40_000_000
            }
        );
        assert_eq!(err.code(), "image_too_large");
    }

    #[test]
    fn pixel_limit_applies_to_every_format() {
        let limits = PhotoLimits {
            max_pixels: 1000,
            working_max_side: 1600,
        };
        let image = pattern(50, 30); // 1500 pixels
        for bytes in [
            png_bytes(&image),
            jpeg_bytes(&image),
            webp_lossless_bytes(&image),
        ] {
            let err = normalise(&bytes, &limits).unwrap_err();
            assert_eq!(
                err,
                PhotoError::TooManyPixels {
                    width: 50,
                    height: 30,
                    max: 1000
                }
            );
        }
    }

    #[test]
    fn truncated_images_are_corrupt() {
        let image = pattern(64, 64);
        let jpeg = jpeg_bytes(&image);
        let png = png_bytes(&image);
        let webp = webp_lossless_bytes(&image);
        for bytes in [
            &jpeg[..jpeg.len() / 2],
            &jpeg[..jpeg.len() - 2], // only the EOI marker missing
            &jpeg[..20],
            &png[..png.len() / 2],
            &png[..30],
            &webp[..webp.len() / 2],
        ] {
            let err = normalise(bytes, &PhotoLimits::default()).unwrap_err();
            assert!(matches!(err, PhotoError::Corrupt(_)), "{err:?}");
            assert_eq!(err.code(), "corrupt_image");
        }
    }

    #[test]
    fn other_types_are_unsupported() {
        let gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;".to_vec();
        let mut bmp = b"BM".to_vec();
        bmp.extend_from_slice(&[0; 52]);
        let tiff = b"II\x2A\x00\x08\x00\x00\x00".to_vec();
        let html = b"<!DOCTYPE html><html><body>hi</body></html>".to_vec();
        for bytes in [gif, bmp, tiff, html, b"hello".to_vec(), Vec::new()] {
            let err = normalise(&bytes, &PhotoLimits::default()).unwrap_err();
            assert_eq!(err, PhotoError::UnsupportedType);
            assert_eq!(err.code(), "unsupported_media_type");
        }
    }

    #[test]
    fn decode_rgb_accepts_only_jpeg() {
        let png = png_bytes(&pattern(8, 8));
        assert_eq!(decode_rgb(&png).unwrap_err(), PhotoError::UnsupportedType);
        assert!(matches!(
            decode_rgb(&[0xFF, 0xD8, 0xFF, 0xE0]).unwrap_err(),
            PhotoError::Corrupt(_)
        ));
    }

    #[test]
    fn garbage_after_a_png_signature_is_corrupt() {
        for seed in 0..64 {
            let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
            bytes.extend(pseudo_random(seed, 16 + seed as usize * 37));
            let err = normalise_inner(&bytes, &PhotoLimits::default()).unwrap_err();
            assert!(
                matches!(err, PhotoError::Corrupt(_)),
                "seed {seed}: {err:?}"
            );
        }
    }

    #[test]
    fn garbage_after_jpeg_and_webp_signatures_is_refused_without_panic() {
        for seed in 0..64 {
            let mut jpeg = vec![0xFF, 0xD8, 0xFF];
            jpeg.extend(pseudo_random(seed, 16 + seed as usize * 37));
            assert!(normalise_inner(&jpeg, &PhotoLimits::default()).is_err());

            let mut webp = b"RIFF\x00\x10\x00\x00WEBPVP8L".to_vec();
            webp.extend(pseudo_random(seed + 1000, 16 + seed as usize * 37));
            assert!(normalise_inner(&webp, &PhotoLimits::default()).is_err());
        }
    }

    /// Flipped bytes and every truncation of small valid files: any result is fine,
    /// a panic is not. Runs the unguarded path so that a codec panic fails the test.
    #[test]
    fn mutated_inputs_never_panic() {
        let image = pattern(24, 16);
        let inputs = [
            png_bytes(&image),
            jpeg_with_exif_orientation(&image, 6),
            webp_lossless_bytes(&image),
        ];
        let limits = PhotoLimits::default();
        for (n, input) in inputs.iter().enumerate() {
            for cut in 0..input.len() {
                let _ = normalise_inner(&input[..cut], &limits);
            }
            for seed in 0..300u64 {
                let mut bytes = input.clone();
                let noise = pseudo_random(seed * 7 + n as u64, 8);
                for pair in noise.chunks(2) {
                    let at = 2 + usize::from(pair[0]) * (bytes.len() - 2) / 256;
                    bytes[at] ^= pair[1] | 1;
                }
                let _ = normalise_inner(&bytes, &limits);
            }
        }
    }

    /// The same for JPEGs decoded at a reduced DCT scale (a small working size makes
    /// small files take that path).
    #[test]
    fn mutated_inputs_never_panic_on_the_reduced_scale_path() {
        let input = jpeg_with_exif_orientation(&pattern(96, 64), 6);
        let limits = PhotoLimits {
            max_pixels: 40_000_000,
            working_max_side: 10,
        };
        assert!(decode_jpeg_scaled(&input, (96, 64), target_size(96, 64, 10)).is_some());
        assert!(normalise_inner(&input, &limits).is_ok());
        for cut in 0..input.len() {
            let _ = normalise_inner(&input[..cut], &limits);
        }
        for seed in 0..300u64 {
            let mut bytes = input.clone();
            let noise = pseudo_random(seed * 11 + 5, 8);
            for pair in noise.chunks(2) {
                let at = 2 + usize::from(pair[0]) * (bytes.len() - 2) / 256;
                bytes[at] ^= pair[1] | 1;
            }
            let _ = normalise_inner(&bytes, &limits);
        }
    }

    #[test]
    fn jpeg_eoi_walk_skips_segment_payloads() {
        let jpeg = jpeg_with_exif_orientation(&pattern(16, 16), 1);
        assert!(jpeg_reaches_eoi(&jpeg));
        // Trailing bytes after EOI are tolerated.
        let mut trailing = jpeg.clone();
        trailing.extend_from_slice(b"\x00\x00trailer");
        assert!(jpeg_reaches_eoi(&trailing));
        // An EOI inside an APP segment (e.g. a thumbnail) does not count.
        let fake = [
            0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x06, 0xFF, 0xD9, 0x00, 0x00, 0xFF, 0xDA, 0x00, 0x02,
        ];
        assert!(!jpeg_reaches_eoi(&fake));
        assert!(!jpeg_reaches_eoi(&jpeg[..jpeg.len() - 2]));
    }

    #[test]
    fn error_codes_are_stable() {
        assert_eq!(PhotoError::Encode("x".to_owned()).code(), "encode_failed");
        assert_eq!(PhotoError::Corrupt("x".to_owned()).code(), "corrupt_image");
    }
}
