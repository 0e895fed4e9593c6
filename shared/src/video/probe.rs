//! The container side: which track, which codec, how long, how it is rotated, and where its first
//! sync sample lies in the file.

use std::ops::Range;

use mp4parse::{Matrix, Track};

use super::VideoError;
use super::boxes;

/// How the track header says to turn the decoded picture for display (clockwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Rotation {
    None,
    Cw90,
    Cw180,
    Cw270,
}

/// The video codecs we decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Codec {
    H264,
    Hevc,
}

/// What the container says about the video track chosen.
pub(super) struct Probe<'a> {
    pub duration_ms: u64,
    pub rotation: Rotation,
    pub codec: Codec,
    /// The decoder configuration (`avcC` or `hvcC` payload) of the sample entry the first sync
    /// sample uses.
    pub config: &'a [u8],
    /// The first sync sample's bytes, in the input.
    pub sample: &'a [u8],
}

pub(super) fn probe(bytes: &[u8]) -> Result<Probe<'_>, VideoError> {
    let top = boxes::top_level(bytes)?;
    let clean = boxes::sanitise(top.moov)?;
    if clean.tracks.is_empty() {
        return Err(VideoError::NoVideoTrack);
    }
    let context = mp4parse::read_mp4(&mut clean.moov.as_slice()).map_err(|_| VideoError::Corrupt)?;
    // The sanitised moov holds only the video tracks, in the walk's order.
    if context.tracks.len() != clean.tracks.len() {
        return Err(VideoError::Corrupt);
    }
    // The first track coded in H.264 or HEVC; if none is, the first track's codec names the refusal.
    let chosen = clean.tracks.iter().position(|t| t.entries.first().and_then(codec).is_some());
    let Some(index) = chosen else {
        let kind = clean.tracks[0].entries.first().ok_or(VideoError::Corrupt)?;
        return Err(VideoError::UnsupportedCodec(codec_name(kind)));
    };
    let (track, walked) = (&context.tracks[index], &clean.tracks[index]);

    let (range, description) = match first_sync_sample(track, bytes.len()) {
        Err(VideoError::NoFrames) if clean.has_mvex || top.has_moof => return Err(VideoError::Fragmented),
        other => other?,
    };
    let entry = usize::try_from(description).ok().and_then(|d| d.checked_sub(1)).ok_or(VideoError::Corrupt)?;
    let kind = walked.entries.get(entry).ok_or(VideoError::Corrupt)?;
    let codec = codec(kind).ok_or_else(|| VideoError::UnsupportedCodec(codec_name(kind)))?;
    let config = walked.config.get(entry).copied().filter(|a| !a.is_empty()).ok_or(VideoError::Corrupt)?;
    Ok(Probe {
        duration_ms: duration_ms(track)?,
        rotation: track.tkhd.as_ref().map_or(Rotation::None, |tkhd| rotation(&tkhd.matrix)),
        codec,
        config,
        sample: &bytes[range],
    })
}

/// The codec of a sample entry type, if we decode it. Dolby Vision's `dvh1`/`dvhe` are not taken:
/// their base layer may be a profile (8.1 aside) that only a Dolby Vision decoder shows right.
fn codec(kind: &[u8; 4]) -> Option<Codec> {
    match kind {
        b"avc1" | b"avc3" => Some(Codec::H264),
        b"hvc1" | b"hev1" => Some(Codec::Hevc),
        _ => None,
    }
}

/// A user-facing codec name for a sample entry type.
fn codec_name(kind: &[u8; 4]) -> String {
    let name = match kind {
        b"hvc1" | b"hev1" => "hevc",
        b"dvh1" | b"dvhe" | b"dva1" | b"dvav" => "dolby vision",
        b"vp08" => "vp8",
        b"vp09" => "vp9",
        b"av01" => "av1",
        b"mp4v" => "mpeg-4 visual",
        b"s263" | b"h263" => "h.263",
        b"jpeg" | b"mjpa" | b"mjpb" => "motion jpeg",
        b"apch" | b"apcn" | b"apcs" | b"apco" | b"ap4h" | b"ap4x" => "prores",
        b"encv" => "encrypted",
        other if other.iter().all(u8::is_ascii_alphanumeric) => {
            return String::from_utf8_lossy(other).to_ascii_lowercase();
        }
        _ => "unknown",
    };
    name.to_owned()
}

/// The media duration from `mdhd`, or the sum of the sample durations when it is unknown.
fn duration_ms(track: &Track) -> Result<u64, VideoError> {
    let timescale = track.timescale.as_ref().map(|t| t.0).filter(|&t| t > 0).ok_or(VideoError::Corrupt)?;
    let units = match track.duration.as_ref().map(|d| d.0) {
        Some(d) if d != u64::MAX && d != u64::from(u32::MAX) => u128::from(d),
        _ => track.stts.as_ref().map_or(0, |stts| {
            stts.samples.iter().map(|s| u128::from(s.sample_count) * u128::from(s.sample_delta)).sum()
        }),
    };
    Ok(u64::try_from(units * 1000 / u128::from(timescale)).unwrap_or(u64::MAX))
}

/// Reads the rotation from the track matrix; mirrored or skewed matrices are shown unturned.
fn rotation(m: &Matrix) -> Rotation {
    match (m.a.signum(), m.b.signum(), m.c.signum(), m.d.signum()) {
        (0, 1, -1, 0) => Rotation::Cw90,
        (-1, 0, 0, -1) => Rotation::Cw180,
        (0, -1, 1, 0) => Rotation::Cw270,
        _ => Rotation::None,
    }
}

/// Finds the byte range of the first sync sample (the first sample when there is no `stss`) and the
/// index (from 1) of its sample description, checking every number against the tables and the file.
fn first_sync_sample(track: &Track, file_len: usize) -> Result<(Range<usize>, u32), VideoError> {
    let (Some(stsc), Some(stco), Some(stsz)) = (&track.stsc, &track.stco, &track.stsz) else {
        return Err(VideoError::NoFrames);
    };
    if stsc.samples.is_empty() || stco.offsets.is_empty() || (stsz.sample_size == 0 && stsz.sample_sizes.is_empty()) {
        return Err(VideoError::NoFrames);
    }
    let target = match &track.stss {
        Some(stss) => u64::from(*stss.samples.first().ok_or(VideoError::NoFrames)?),
        None => 1,
    };
    // From here on, samples and chunks are counted from 0.
    let target = target.checked_sub(1).ok_or(VideoError::Corrupt)?;
    let chunks = stco.offsets.len() as u64;
    let mut before = 0u64;
    for (i, run) in stsc.samples.iter().enumerate() {
        let first = u64::from(run.first_chunk).checked_sub(1).ok_or(VideoError::Corrupt)?;
        let end = stsc.samples.get(i + 1).map_or(chunks, |next| u64::from(next.first_chunk).saturating_sub(1));
        let per_chunk = u64::from(run.samples_per_chunk);
        if end <= first || end > chunks || per_chunk == 0 {
            return Err(VideoError::Corrupt);
        }
        let in_run = (end - first).checked_mul(per_chunk).ok_or(VideoError::Corrupt)?;
        let upto = before.checked_add(in_run).ok_or(VideoError::Corrupt)?;
        if target >= upto {
            before = upto;
            continue;
        }
        let chunk = first + (target - before) / per_chunk;
        let in_chunk = (target - before) % per_chunk;
        let chunk_offset = stco.offsets[usize::try_from(chunk).map_err(|_| VideoError::Corrupt)?];
        let (skip, size) = if stsz.sample_size != 0 {
            let size = u64::from(stsz.sample_size);
            (in_chunk.checked_mul(size).ok_or(VideoError::Corrupt)?, size)
        } else {
            let first_in_chunk = usize::try_from(target - in_chunk).map_err(|_| VideoError::Corrupt)?;
            let last = usize::try_from(target).map_err(|_| VideoError::Corrupt)?;
            let sizes = stsz.sample_sizes.get(first_in_chunk..=last).ok_or(VideoError::Corrupt)?;
            let (&size, earlier) = sizes.split_last().ok_or(VideoError::Corrupt)?;
            (earlier.iter().map(|&s| u64::from(s)).sum(), u64::from(size))
        };
        let start = chunk_offset.checked_add(skip).ok_or(VideoError::Corrupt)?;
        let end = start.checked_add(size).ok_or(VideoError::Corrupt)?;
        if size == 0 || end > file_len as u64 {
            return Err(VideoError::Corrupt);
        }
        // Both fit: `end <= file_len`.
        let range = usize::try_from(start).map_err(|_| VideoError::Corrupt)?
            ..usize::try_from(end).map_err(|_| VideoError::Corrupt)?;
        return Ok((range, run.sample_description_index));
    }
    Err(VideoError::NoFrames)
}
