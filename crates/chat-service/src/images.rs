//! What an uploaded image becomes: its size as shown (EXIF orientation applied), a thumbnail
//! (longest side [`THUMBNAIL_MAX`] px) when it is larger than that, and — when it carries
//! EXIF metadata (camera, GPS position, ...) — a re-encoded copy without it, with the
//! orientation applied, which is what gets stored and served instead of the original.
//!
//! Decoding is CPU-bound and may need much memory, so it runs on the blocking pool, at most
//! `IMAGE_WORKERS` at once ([`ImageWorkers`]), and within `image::Limits` sized from
//! `IMAGE_MAX_PIXELS`: an image over the pixel cap (a decompression bomb, or just huge) is kept
//! as a plain file, without dimensions or thumbnail — never an error.

use std::io::Cursor;
use std::sync::Arc;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::codecs::webp::WebPEncoder;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use tokio::sync::Semaphore;

/// The longest side of a thumbnail, in pixels.
pub const THUMBNAIL_MAX: u32 = 480;

/// JPEG quality of thumbnails and of re-encoded photos.
const JPEG_QUALITY: u8 = 85;

/// An encoded image and its pixel size.
#[derive(Debug, Clone)]
pub struct Encoded {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
    pub width: u32,
    pub height: u32,
}

/// What processing found.
#[derive(Debug, Clone, Default)]
pub struct Processed {
    /// Width and height as shown (after EXIF orientation); `None` when the image could not
    /// be read or is over the pixel cap.
    pub dimensions: Option<(u32, u32)>,
    pub thumbnail: Option<Encoded>,
    /// The file to keep instead of the upload: the image re-encoded without its metadata.
    pub replacement: Option<Encoded>,
}

/// The image formats we process, by content type.
pub fn format_of(content_type: &str) -> Option<ImageFormat> {
    match content_type {
        "image/jpeg" => Some(ImageFormat::Jpeg),
        "image/png" => Some(ImageFormat::Png),
        "image/gif" => Some(ImageFormat::Gif),
        "image/webp" => Some(ImageFormat::WebP),
        _ => None,
    }
}

/// Bounded concurrency for image work on the blocking pool.
#[derive(Clone)]
pub struct ImageWorkers {
    permits: Arc<Semaphore>,
    max_pixels: u64,
}

impl ImageWorkers {
    pub fn new(workers: usize, max_pixels: u64) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(workers.max(1))),
            max_pixels,
        }
    }

    /// Processes `bytes` (an image of `format`) once a worker is free, off the async threads.
    pub async fn process(&self, bytes: bytes::Bytes, format: ImageFormat) -> Processed {
        let Ok(_permit) = self.permits.acquire().await else {
            return Processed::default();
        };
        let max_pixels = self.max_pixels;
        let span = tracing::Span::current();
        let started = std::time::Instant::now();
        let outcome = tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            process(&bytes, format, max_pixels)
        })
        .await;
        metrics::histogram!("image_processing_seconds").record(started.elapsed().as_secs_f64());
        match outcome {
            Ok(Ok(processed)) => processed,
            Ok(Err(e)) => {
                // Not an error for the upload: the file is kept as it is, as a plain file.
                tracing::info!(error = %e, "an uploaded image could not be read; kept as a plain file");
                Processed::default()
            }
            Err(e) => {
                tracing::error!(error = %e, "image processing panicked; the file is kept as a plain file");
                Processed::default()
            }
        }
    }
}

/// Reads an image: dimensions, thumbnail, and a metadata-free copy when it carried EXIF.
pub fn process(
    bytes: &[u8],
    format: ImageFormat,
    max_pixels: u64,
) -> image::ImageResult<Processed> {
    let mut decoder = ImageReader::with_format(Cursor::new(bytes), format).into_decoder()?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > max_pixels {
        metrics::counter!("images_over_pixel_limit_total").increment(1);
        return Ok(Processed::default());
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(width);
    limits.max_image_height = Some(height);
    // The decoded pixels (at most 16 bytes each: 4 channels of 32-bit floats) and the
    // decoder's own buffers.
    limits.max_alloc = Some(max_pixels.saturating_mul(16).saturating_add(64 << 20));
    decoder.set_limits(limits)?;
    let exif = decoder.exif_metadata()?.is_some();
    let orientation = decoder.orientation()?;
    let needs_thumbnail = width.max(height) > THUMBNAIL_MAX;
    // Metadata is stripped from JPEG, PNG and WebP; a GIF has none we serve.
    let reencode = exif && format != ImageFormat::Gif;
    if !needs_thumbnail && !reencode {
        let (w, h) = oriented(width, height, orientation);
        return Ok(Processed {
            dimensions: Some((w, h)),
            ..Processed::default()
        });
    }
    // A GIF decodes to its first frame: the thumbnail's picture; the file itself is kept.
    let mut img = DynamicImage::from_decoder(decoder)?;
    img.apply_orientation(orientation);
    let dimensions = (img.width(), img.height());
    let replacement = if reencode {
        Some(encode(&img, format)?)
    } else {
        None
    };
    let thumbnail = if needs_thumbnail {
        let small = img.thumbnail(THUMBNAIL_MAX, THUMBNAIL_MAX);
        let as_format = if small.color().has_alpha() {
            ImageFormat::Png
        } else {
            ImageFormat::Jpeg
        };
        Some(encode(&small, as_format)?)
    } else {
        None
    };
    Ok(Processed {
        dimensions: Some(dimensions),
        thumbnail,
        replacement,
    })
}

/// The size after an EXIF orientation that swaps the axes.
fn oriented(width: u32, height: u32, orientation: image::metadata::Orientation) -> (u32, u32) {
    use image::metadata::Orientation::*;
    match orientation {
        Rotate90 | Rotate270 | Rotate90FlipH | Rotate270FlipH => (height, width),
        _ => (width, height),
    }
}

/// Encodes without any metadata (our encoders write none).
fn encode(img: &DynamicImage, format: ImageFormat) -> image::ImageResult<Encoded> {
    let mut out = Vec::new();
    let content_type = match format {
        ImageFormat::Jpeg => {
            // JPEG has no alpha channel.
            let rgb = DynamicImage::ImageRgb8(img.to_rgb8());
            rgb.write_with_encoder(JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY))?;
            "image/jpeg"
        }
        ImageFormat::WebP => {
            // The WebP encoder writes lossless WebP only; it wants 8-bit RGB(A).
            let rgba = DynamicImage::ImageRgba8(img.to_rgba8());
            rgba.write_with_encoder(WebPEncoder::new_lossless(&mut out))?;
            "image/webp"
        }
        _ => {
            img.write_with_encoder(PngEncoder::new(&mut out))?;
            "image/png"
        }
    };
    Ok(Encoded {
        bytes: out,
        content_type,
        width: img.width(),
        height: img.height(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let img = DynamicImage::ImageRgb8(image::RgbImage::new(width, height));
        let mut out = Vec::new();
        img.write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
            .unwrap_or_default();
        out
    }

    #[test]
    fn thumbnails_keep_the_aspect_ratio() {
        let p = process(&png(1000, 500), ImageFormat::Png, 40_000_000).ok();
        let p = p.unwrap_or_default();
        assert_eq!(p.dimensions, Some((1000, 500)));
        let thumb = p.thumbnail.map(|t| (t.width, t.height));
        assert_eq!(thumb, Some((480, 240)));
        assert!(p.replacement.is_none());
    }

    #[test]
    fn small_images_get_no_thumbnail_and_huge_ones_nothing() {
        let p = process(&png(100, 50), ImageFormat::Png, 40_000_000).unwrap_or_default();
        assert_eq!(p.dimensions, Some((100, 50)));
        assert!(p.thumbnail.is_none());
        let p = process(&png(1000, 500), ImageFormat::Png, 1000).unwrap_or_default();
        assert!(p.dimensions.is_none() && p.thumbnail.is_none());
    }
}
