//! The picture side: decode one access unit (H.264 with OpenH264, HEVC with `rusty_h265`), turn it
//! for display, encode a JPEG.

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

/// How the decoded samples map to RGB: the matrix and range the stream's VUI declares.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Colour {
    /// Luma weights of red and blue (Kr, Kb).
    pub kr: f32,
    pub kb: f32,
    pub full_range: bool,
}

impl Colour {
    /// BT.601, limited range: what the VUI means when it says nothing.
    pub const DEFAULT: Colour = Colour { kr: 0.299, kb: 0.114, full_range: false };

    /// From `matrix_coefficients` (H.273): 1 BT.709, 5/6 BT.601, 9/10 BT.2020; others BT.601.
    pub fn from_vui(matrix: u8, full_range: bool) -> Colour {
        let (kr, kb) = match matrix {
            1 => (0.2126, 0.0722),
            9 | 10 => (0.2627, 0.0593),
            _ => (0.299, 0.114),
        };
        Colour { kr, kb, full_range }
    }
}

/// Decodes the first picture of an HEVC Annex-B access unit (parameter sets first) and converts its
/// cropped window to 8-bit RGB: 10-bit samples are scaled to 8 bits, with the stream's matrix.
///
/// The caller has checked every SPS in `annex_b` (4:2:0, at most 10 bits, size within the limits),
/// so the decoder allocates at most one picture within the limits.
pub(super) fn decode_hevc(annex_b: &[u8], colour: Colour) -> Result<Frame, VideoError> {
    let mut decoder = rusty_h265::Decoder::new();
    // Any NAL unit the decoder refuses makes the frame unusable: a slice that failed still yields
    // a picture, with its blocks grey, and that is not a cover.
    decoder.push_annexb(annex_b, None).map_err(|_| VideoError::Undecodable)?;
    decoder.flush();
    let frame = decoder.next_frame().map_err(|_| VideoError::Undecodable)?;
    hevc_to_rgb(&frame.picture, colour)
}

fn hevc_to_rgb(picture: &rusty_h265::Picture, colour: Colour) -> Result<Frame, VideoError> {
    let (x0, y0, w, h) = picture.crop;
    let (width, height) = (u32::try_from(w).unwrap_or(u32::MAX), u32::try_from(h).unwrap_or(u32::MAX));
    fits(width, height)?;
    let [luma, cb, cr] = &picture.planes;
    if picture.chroma_format_idc != 1
        || x0 + w > luma.width
        || y0 + h > luma.height
        || (x0 + w).div_ceil(2) > cb.width.min(cr.width)
        || (y0 + h).div_ceil(2) > cb.height.min(cr.height)
    {
        return Err(VideoError::Undecodable);
    }
    // Samples to 0..=1 (luma) and -0.5..=0.5 (chroma), whatever the bit depth.
    let scale = |depth: u8| f32::from(1u16 << depth.saturating_sub(8).min(8));
    let (sy, sc) = (scale(picture.bit_depth_luma), scale(picture.bit_depth_chroma));
    let (y_off, y_range, c_range) = if colour.full_range { (0.0, 255.0, 255.0) } else { (16.0, 219.0, 224.0) };
    let Colour { kr, kb, .. } = colour;
    let kg = 1.0 - kr - kb;
    let to_byte = |v: f32| (v * 255.0 + 0.5).clamp(0.0, 255.0) as u8;
    let mut rgb = Vec::with_capacity(w * h * 3);
    for y in y0..y0 + h {
        let (luma_row, cb_row, cr_row) = (luma.row(y), cb.row(y / 2), cr.row(y / 2));
        for x in x0..x0 + w {
            let l = (f32::from(luma_row[x]) / sy - y_off) / y_range;
            let u = (f32::from(cb_row[x / 2]) / sc - 128.0) / c_range;
            let v = (f32::from(cr_row[x / 2]) / sc - 128.0) / c_range;
            let r = l + 2.0 * (1.0 - kr) * v;
            let b = l + 2.0 * (1.0 - kb) * u;
            let g = (l - kr * r - kb * b) / kg;
            rgb.extend_from_slice(&[to_byte(r), to_byte(g), to_byte(b)]);
        }
    }
    Ok(Frame { rgb, width, height })
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
