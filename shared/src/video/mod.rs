//! Uploaded videos, checked by content, their covers, and the bytes to store, without ffmpeg.
//!
//! [`inspect`] reads an MP4 or MOV file in memory and either refuses it with a [`VideoError`] a
//! user can act on, or returns what it learned ([`VideoInfo`]) and a JPEG [`Cover`] made from the
//! first frame. [`accept`] does the same and also returns the file rewritten for fast start when
//! its `moov` comes after its media data (`faststart`). The steps:
//!
//! 1. `boxes`: walk the ISO BMFF boxes strictly (a box running past its parent or the file is
//!    corrupt) and rebuild a small `moov` with only the video tracks' headers and sample tables;
//! 2. `probe`: read that `moov` with Mozilla's `mp4parse`, pick the first H.264 or HEVC track, read its
//!    duration and rotation, and find the byte range of its first sync sample through
//!    `stss`/`stsc`/`stco`/`co64`/`stsz`;
//! 3. `avc`, `sps`: parse `avcC` and every SPS (size, chroma format, bit depth, interlacing),
//!    refuse what the decoder cannot do or what is too large *before* decoding, and convert the
//!    sample to Annex-B behind the parameter sets. The SPS the decoder gets says level ≤ 5.2 (OpenH264
//!    refuses 6.x) and one reference frame (we decode one intra picture; OpenH264 allocates a
//!    picture per reference, so this bounds its memory by the picture size alone);
//!    For HEVC, `hevc` parses `hvcC` and every SPS (4:2:0, at most 10 bits, Main / Main 10 / Main
//!    Still Picture, size, a conformance crop under one CTB) and keeps only parameter sets and
//!    base-layer slices;
//! 4. `cover`: decode that one access unit with OpenH264 (Cisco's C++, built from source by the
//!    `openh264` crate) or, for HEVC, `rusty_h265` (pure Rust without `unsafe`), convert to 8-bit
//!    RGB, turn it as the track matrix says, encode a JPEG.
//!
//! Limits. The picture's longer side may be up to [`MAX_LONG_SIDE`] (4096) and its shorter side up
//! to [`MAX_SHORT_SIDE`] (2304), in either orientation: that takes every 4K format (3840×2160,
//! 4096×2160, 4096×2304) portrait or landscape, and 4096×2304 is exactly the largest frame OpenH264
//! decodes (level 5.2's 36,864 macroblocks; it refuses a 4096×4096 square). Both sides must be at
//! least [`MIN_SIDE`]. The duration
//! (`mdhd`, or the sum of the sample durations when unknown) may be up to [`MAX_DURATION_MS`].
//!
//! Sizes are the display size: the SPS's cropped picture, turned by the track matrix when it says
//! 90°, 180° or 270° (phones record portrait video as landscape plus a 90° matrix). Mirrored or
//! skewed matrices and non-square pixels (`pasp`) are ignored: the cover is the decoded picture.
//!
//! Robustness: nothing is allocated from a count or size in the file before it is checked against
//! the bytes that hold it, the decode size is checked against the limits before the decoder sees
//! the stream, and every loop is bounded by the input. The pixel work runs under
//! [`std::panic::catch_unwind`] as a last line of defence (it cannot catch a fault in the C++
//! decoder itself).
//!
//! Refused on purpose: VP9, AV1, Dolby Vision-only (`dvh1`) and other codecs; 10-bit, 4:2:2, 4:4:4
//! and interlaced H.264 (OpenH264 decodes 8-bit 4:2:0 progressive only); HEVC beyond Main 10
//! 4:2:0; fragmented MP4 without samples in `moov`; WebM and anything not ISO BMFF.

mod avc;
mod boxes;
mod bytes;
mod cover;
mod faststart;
mod hevc;
mod probe;
mod sps;

use probe::Codec;
#[cfg(test)]
mod tests;

/// The longest accepted side of the picture, in pixels.
pub const MAX_LONG_SIDE: u32 = 4096;
/// The longest accepted shorter side of the picture, in pixels.
pub const MAX_SHORT_SIDE: u32 = 2304;
/// The shortest accepted side, in pixels.
pub const MIN_SIDE: u32 = 16;
/// The longest accepted duration: 10 minutes.
pub const MAX_DURATION_MS: u64 = 10 * 60 * 1000;

/// What the probe learned about an accepted video.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoInfo {
    /// Display width in pixels (after rotation).
    pub width: u32,
    /// Display height in pixels (after rotation).
    pub height: u32,
    /// Duration of the video track.
    pub duration_ms: u64,
    /// The video codec: `"h264"` or `"hevc"`.
    pub codec: &'static str,
}

/// A cover: JPEG bytes at the video's display size.
#[derive(Clone, PartialEq, Eq)]
pub struct Cover {
    pub jpeg: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

impl std::fmt::Debug for Cover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cover")
            .field("jpeg", &format_args!("{} bytes", self.jpeg.len()))
            .field("width", &self.width)
            .field("height", &self.height)
            .finish()
    }
}

/// Why a video is refused. `Display` is a lower-case message a user can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VideoError {
    #[error("not an MP4 or MOV video")]
    NotMp4,
    #[error("the file is truncated or corrupt")]
    Corrupt,
    #[error("no video track")]
    NoVideoTrack,
    #[error("video codec {0} is not supported, use H.264 or HEVC")]
    UnsupportedCodec(String),
    /// `"10-bit"`, `"4:2:2"`, `"4:4:4"`, `"monochrome"` or `"interlaced"`.
    #[error("{0} H.264 is not supported, use 8-bit 4:2:0 progressive H.264")]
    UnsupportedFormat(&'static str),
    /// `"4:2:2"`, `"4:4:4"`, `"monochrome"`, `"over 10-bit"`, or a profile beyond Main 10.
    #[error("{0} HEVC is not supported, use 8-bit or 10-bit 4:2:0 HEVC")]
    UnsupportedHevcFormat(&'static str),
    #[error("fragmented MP4 is not supported, save the video as a regular MP4")]
    Fragmented,
    #[error(
        "video is {width}x{height}, the largest accepted is {MAX_LONG_SIDE}x{MAX_SHORT_SIDE} or {MAX_SHORT_SIDE}x{MAX_LONG_SIDE}"
    )]
    TooLarge { width: u32, height: u32 },
    #[error("video is {width}x{height}, the smallest accepted is {MIN_SIDE}x{MIN_SIDE}")]
    TooSmall { width: u32, height: u32 },
    #[error("video is longer than 10 minutes")]
    TooLong,
    #[error("video has no frames")]
    NoFrames,
    #[error("the first frame of the video could not be decoded")]
    Undecodable,
}

/// Checks a picture size against the limits (either orientation).
fn fits(width: u32, height: u32) -> Result<(), VideoError> {
    let (long, short) = (width.max(height), width.min(height));
    if short < MIN_SIDE {
        return Err(VideoError::TooSmall { width, height });
    }
    if long > MAX_LONG_SIDE || short > MAX_SHORT_SIDE {
        return Err(VideoError::TooLarge { width, height });
    }
    Ok(())
}

/// Validates a video by its content and makes its cover from the first frame.
///
/// Never panics, never loops without bound, and allocates at most a small multiple of the input
/// plus what a picture within the limits needs. Measured in release on one core (`examples/
/// cover_cost.rs`, peak RSS of the process): 1080p 60–100 ms and 38 MB, 3840x2160 0.2–0.3 s and
/// 125 MB, 4096x2304 0.3 s and 141 MB (whatever the stream's reference count). HEVC, on a loaded
/// machine where H.264 1080p took 166 ms: 1080p 184 ms and 22 MB, 4096x2304 10-bit 0.96 s and
/// 99 MB (docs/operations.md, "Ingest cost").
pub fn inspect(bytes: &[u8]) -> Result<(VideoInfo, Cover), VideoError> {
    let probe = probe::probe(bytes)?;
    if probe.duration_ms > MAX_DURATION_MS {
        return Err(VideoError::TooLong);
    }
    // HEVC: the first SPS, whose VUI gives the colour conversion.
    let (annex_b, sps, hevc_sps) = match probe.codec {
        Codec::H264 => {
            let config = avc::parse_avcc(probe.config)?;
            let (annex_b, sps) = avc::annex_b(&config, probe.sample)?;
            (annex_b, sps, None)
        }
        Codec::Hevc => {
            let config = hevc::parse_hvcc(probe.config)?;
            let stream = hevc::annex_b(&config, probe.sample)?;
            (stream.annex_b, stream.sps, Some(stream.first_sps))
        }
    };
    for sps in &sps {
        fits(sps.width, sps.height)?;
    }
    let work = || -> Result<Cover, VideoError> {
        let frame = match hevc_sps {
            None => cover::decode(&annex_b)?,
            Some(first_sps) => cover::decode_hevc(&annex_b, hevc::colour(first_sps))?,
        };
        if !sps.iter().any(|s| (s.width, s.height) == (frame.width, frame.height)) {
            return Err(VideoError::Undecodable);
        }
        let frame = cover::rotate(frame, probe.rotation);
        Ok(Cover { jpeg: cover::jpeg(&frame)?, width: frame.width, height: frame.height })
    };
    let cover = std::panic::catch_unwind(work).map_err(|_| {
        #[cfg(test)]
        CAUGHT_PANICS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        VideoError::Undecodable
    })??;
    let codec = match probe.codec {
        Codec::H264 => "h264",
        Codec::Hevc => "hevc",
    };
    let info = VideoInfo { width: cover.width, height: cover.height, duration_ms: probe.duration_ms, codec };
    Ok((info, cover))
}

/// An accepted video: what the probe learned, its cover, and how to store it.
#[derive(Debug)]
pub struct Accepted {
    pub info: VideoInfo,
    pub cover: Cover,
    /// The file rewritten for fast start (`moov` moved before `mdat`, every chunk offset moved
    /// with it), or `None` when the upload is stored as it came: `moov` already first, or a
    /// fragmented file.
    pub fast_start: Option<Vec<u8>>,
}

/// Validates a video by its content ([`inspect`]) and returns, besides what that returns, the
/// bytes to store when they differ from the upload: a file with `moov` after its media data
/// (what phones write) is rewritten with `moov` first, so that playback can start from the first
/// bytes fetched (`faststart` has the layout).
///
/// Store `accepted.fast_start` when it is `Some`, the uploaded bytes otherwise. The rewritten file
/// is checked before it is returned: it probes to the same first frame and the same decoder
/// configuration as the upload (a failure is [`VideoError::Corrupt`], and nothing is stored).
pub fn accept(bytes: &[u8]) -> Result<Accepted, VideoError> {
    let (info, cover) = inspect(bytes)?;
    let fast_start = faststart::fast_start(bytes)?;
    if let Some(rewritten) = &fast_start {
        let (before, after) = (probe::probe(bytes)?, probe::probe(rewritten)?);
        if before.sample != after.sample || before.config != after.config {
            return Err(VideoError::Corrupt);
        }
    }
    Ok(Accepted { info, cover, fast_start })
}

/// Panics caught by `inspect`'s last line of defence: the fuzz test wants none.
#[cfg(test)]
static CAUGHT_PANICS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

#[cfg(test)]
fn tests_caught_panics() -> usize {
    CAUGHT_PANICS.load(std::sync::atomic::Ordering::Relaxed)
}
