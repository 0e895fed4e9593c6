//! The picture side: decode one access unit with OpenH264, turn it for display, encode a JPEG.

use jpeg_encoder::{ColorType, Encoder};
use openh264::decoder::{DecodedYUV, Decoder};
use openh264::formats::YUVSource;

use super::probe::Rotation;
use super::{VideoError, fits};

/// JPEG quality of covers: small files, no visible blocking at phone sizes.
const JPEG_QUALITY: u8 = 80;

/// An RGB picture, 3 bytes per pixel, rows top to bottom.
pub(super) struct Frame {
    pub rgb: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

/// Decodes the first picture of an Annex-B access unit (parameter sets first).
///
/// The caller has checked every SPS in `annex_b` against the size limits, so the decoder's buffers
/// are bounded; the decoded size is checked again before converting.
pub(super) fn decode(annex_b: &[u8]) -> Result<Frame, VideoError> {
    let mut decoder = Decoder::new().map_err(|_| VideoError::Undecodable)?;
    if let Some(yuv) = decoder.decode(annex_b).map_err(|_| VideoError::Undecodable)? {
        return to_rgb(&yuv);
    }
    let frames = decoder.flush_remaining().map_err(|_| VideoError::Undecodable)?;
    frames.first().map_or(Err(VideoError::Undecodable), to_rgb)
}

fn to_rgb(yuv: &DecodedYUV<'_>) -> Result<Frame, VideoError> {
    let (w, h) = yuv.dimensions();
    let (width, height) = (u32::try_from(w).unwrap_or(u32::MAX), u32::try_from(h).unwrap_or(u32::MAX));
    fits(width, height)?;
    let mut rgb = vec![0u8; w * h * 3];
    yuv.write_rgb8(&mut rgb);
    Ok(Frame { rgb, width, height })
}

/// Maps a pixel `(x, y)` of the turned picture to the source pixel, given the source's `w`, `h`.
type Source = fn(usize, usize, usize, usize) -> (usize, usize);

/// Turns a picture clockwise by `rotation`.
pub(super) fn rotate(frame: Frame, rotation: Rotation) -> Frame {
    let (w, h) = (frame.width as usize, frame.height as usize);
    // `dst(x, y)` of the turned picture (size `dw` × `dh`) comes from `src(sx, sy)`.
    let (dw, dh, source): (usize, usize, Source) = match rotation {
        Rotation::None => return frame,
        Rotation::Cw90 => (h, w, |x, y, _w, h| (y, h - 1 - x)),
        Rotation::Cw180 => (w, h, |x, y, w, h| (w - 1 - x, h - 1 - y)),
        Rotation::Cw270 => (h, w, |x, y, w, _h| (w - 1 - y, x)),
    };
    let mut rgb = vec![0u8; frame.rgb.len()];
    for y in 0..dh {
        for x in 0..dw {
            let (sx, sy) = source(x, y, w, h);
            let (d, s) = ((y * dw + x) * 3, (sy * w + sx) * 3);
            rgb[d..d + 3].copy_from_slice(&frame.rgb[s..s + 3]);
        }
    }
    Frame { rgb, width: dw as u32, height: dh as u32 }
}

/// Encodes a picture as a baseline JPEG.
pub(super) fn jpeg(frame: &Frame) -> Result<Vec<u8>, VideoError> {
    let too_big = |_| VideoError::Undecodable;
    let (w, h) = (u16::try_from(frame.width).map_err(too_big)?, u16::try_from(frame.height).map_err(too_big)?);
    let mut out = Vec::with_capacity(frame.rgb.len() / 10);
    Encoder::new(&mut out, JPEG_QUALITY)
        .encode(&frame.rgb, w, h, ColorType::Rgb)
        .map_err(|_| VideoError::Undecodable)?;
    Ok(out)
}
