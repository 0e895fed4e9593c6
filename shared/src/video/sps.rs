//! The H.264 sequence parameter set (ITU-T H.264 § 7.3.2.1.1): the picture size, the features
//! OpenH264 cannot decode, and a rewrite that bounds what the decoder allocates.

use std::ops::Range;

use super::VideoError;

/// What the probe needs from a sequence parameter set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Sps {
    /// Display size: the coded size less the cropping window.
    pub width: u32,
    pub height: u32,
    /// Coded size in pixels (whole macroblocks): what the decoder allocates.
    pub coded_width: u32,
    pub coded_height: u32,
}

/// An SPS is tens of bytes; anything this long is not one.
const MAX_SPS_BYTES: usize = 1024;
/// Level 5.2, the highest OpenH264 knows.
const MAX_LEVEL_IDC: u8 = 52;

/// Parses an SPS NAL unit (header byte included) and returns it rewritten for the decoder:
///
/// - `level_idc` at most 5.2: OpenH264 refuses 6.x streams outright, and our size limit is 5.2's
///   largest frame (36,864 macroblocks = 4096x2304), so such a stream decodes as 5.2;
/// - `max_num_ref_frames` = 1: we decode one intra picture, and OpenH264 allocates a picture per
///   reference frame (a 4096x2304 stream with 16 references costs 440 MB instead of 180 MB).
pub(super) fn prepare(nal: &[u8]) -> Result<(Sps, Vec<u8>), VideoError> {
    if nal.len() > MAX_SPS_BYTES {
        return Err(VideoError::Corrupt);
    }
    let (&header, payload) = nal.split_first().ok_or(VideoError::Corrupt)?;
    let mut rbsp = unescape(payload);
    let parsed = parse(&rbsp)?;
    rbsp[2] = rbsp[2].min(MAX_LEVEL_IDC); // parse read profile, constraints and level: 3 bytes
    let rbsp = if parsed.num_ref_frames > 1 { with_one_reference(&rbsp, parsed.refs)? } else { rbsp };
    let mut out = vec![header];
    escape(&rbsp, &mut out);
    Ok((parsed.sps, out))
}

struct Parsed {
    sps: Sps,
    /// Where `max_num_ref_frames` lies, in bits of the RBSP, and its value.
    refs: Range<usize>,
    num_ref_frames: u32,
}

/// Removes emulation prevention: `00 00 03` → `00 00`.
pub(super) fn unescape(payload: &[u8]) -> Vec<u8> {
    let mut rbsp = Vec::with_capacity(payload.len());
    let mut zeros = 0;
    for &b in payload {
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        rbsp.push(b);
    }
    rbsp
}

/// Adds emulation prevention: a `03` after two zeros before any byte up to `03`.
fn escape(rbsp: &[u8], out: &mut Vec<u8>) {
    let mut zeros = 0;
    for &b in rbsp {
        if zeros >= 2 && b <= 3 {
            out.push(3);
            zeros = 0;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        out.push(b);
    }
}

/// Parses the SPS up to the cropping window, refusing what OpenH264 does not decode: chroma other
/// than 4:2:0, more than 8 bits, interlaced coding.
fn parse(rbsp: &[u8]) -> Result<Parsed, VideoError> {
    let mut r = BitReader { data: rbsp, pos: 0 };
    let profile_idc = r.bits(8)?;
    r.bits(16)?; // constraint flags, level_idc
    r.ue()?; // seq_parameter_set_id
    let mut chroma_format_idc = 1;
    if matches!(profile_idc, 100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135) {
        chroma_format_idc = r.ue()?;
        if chroma_format_idc == 3 {
            r.bits(1)?; // separate_colour_plane_flag
        }
        if r.ue()? != 0 || r.ue()? != 0 {
            return Err(VideoError::UnsupportedFormat("10-bit"));
        }
        r.bits(1)?; // qpprime_y_zero_transform_bypass_flag
        if r.bits(1)? == 1 {
            for i in 0..if chroma_format_idc == 3 { 12 } else { 8 } {
                if r.bits(1)? == 1 {
                    skip_scaling_list(&mut r, if i < 6 { 16 } else { 64 })?;
                }
            }
        }
    }
    match chroma_format_idc {
        1 => {}
        0 => return Err(VideoError::UnsupportedFormat("monochrome")),
        2 => return Err(VideoError::UnsupportedFormat("4:2:2")),
        _ => return Err(VideoError::UnsupportedFormat("4:4:4")),
    }
    r.ue()?; // log2_max_frame_num_minus4
    match r.ue()? {
        0 => {
            r.ue()?; // log2_max_pic_order_cnt_lsb_minus4
        }
        1 => {
            r.bits(1)?; // delta_pic_order_always_zero_flag
            r.se()?; // offset_for_non_ref_pic
            r.se()?; // offset_for_top_to_bottom_field
            let cycle = r.ue()?;
            if cycle > 255 {
                return Err(VideoError::Corrupt);
            }
            for _ in 0..cycle {
                r.se()?;
            }
        }
        _ => {}
    }
    let refs_start = r.pos;
    let num_ref_frames = r.ue()?;
    let refs = refs_start..r.pos;
    r.bits(1)?; // gaps_in_frame_num_value_allowed_flag
    let width_mbs = u64::from(r.ue()?) + 1;
    let height_map_units = u64::from(r.ue()?) + 1;
    if r.bits(1)? == 0 {
        return Err(VideoError::UnsupportedFormat("interlaced"));
    }
    r.bits(1)?; // direct_8x8_inference_flag
    let (mut crop_x, mut crop_y) = (0u64, 0u64);
    if r.bits(1)? == 1 {
        // 4:2:0 progressive: one crop unit is two pixels either way.
        crop_x = 2 * (u64::from(r.ue()?) + u64::from(r.ue()?));
        crop_y = 2 * (u64::from(r.ue()?) + u64::from(r.ue()?));
    }
    let (coded_width, coded_height) = (width_mbs * 16, height_map_units * 16);
    // Encoders crop only to reach whole macroblocks; a wider crop would let a small picture
    // claim a huge decode, so it is refused.
    if crop_x >= 16 || crop_y >= 16 {
        return Err(VideoError::Corrupt);
    }
    let to_u32 = |v: u64| u32::try_from(v).map_err(|_| VideoError::Corrupt);
    let sps = Sps {
        width: to_u32(coded_width - crop_x)?,
        height: to_u32(coded_height - crop_y)?,
        coded_width: to_u32(coded_width)?,
        coded_height: to_u32(coded_height)?,
    };
    Ok(Parsed { sps, refs, num_ref_frames })
}

fn skip_scaling_list(r: &mut BitReader<'_>, size: usize) -> Result<(), VideoError> {
    let (mut last, mut next) = (8i64, 8i64);
    for _ in 0..size {
        if next != 0 {
            next = (last + i64::from(r.se()?) + 256).rem_euclid(256);
        }
        if next != 0 {
            last = next;
        }
    }
    Ok(())
}

/// The RBSP with the bits of `field` replaced by `ue(1)` (`010`), re-terminated and byte-aligned.
fn with_one_reference(rbsp: &[u8], field: Range<usize>) -> Result<Vec<u8>, VideoError> {
    let bit = |i: usize| (rbsp[i / 8] >> (7 - i % 8)) & 1;
    // rbsp_stop_one_bit: the last 1 of the RBSP.
    let stop = (0..rbsp.len() * 8).rev().find(|&i| bit(i) == 1).ok_or(VideoError::Corrupt)?;
    if stop < field.end {
        return Err(VideoError::Corrupt);
    }
    let mut out = Vec::with_capacity(rbsp.len() + 1);
    let bits = (0..field.start).map(bit).chain([0, 1, 0]).chain((field.end..stop).map(bit)).chain([1]);
    for (n, b) in bits.enumerate() {
        if n.is_multiple_of(8) {
            out.push(0);
        }
        if let Some(last) = out.last_mut() {
            *last |= b << (7 - n % 8);
        }
    }
    Ok(out)
}

/// An MSB-first bit reader with Exp-Golomb codes.
pub(super) struct BitReader<'a> {
    pub data: &'a [u8],
    pub pos: usize,
}

impl BitReader<'_> {
    pub fn bit(&mut self) -> Result<u32, VideoError> {
        let byte = self.data.get(self.pos / 8).ok_or(VideoError::Corrupt)?;
        self.pos += 1;
        Ok(u32::from((byte >> (7 - (self.pos - 1) % 8)) & 1))
    }

    pub fn bits(&mut self, n: u32) -> Result<u32, VideoError> {
        (0..n).try_fold(0, |acc, _| Ok((acc << 1) | self.bit()?))
    }

    /// Unsigned Exp-Golomb; values beyond 32 bits are corrupt.
    pub fn ue(&mut self) -> Result<u32, VideoError> {
        let mut zeros = 0;
        while self.bit()? == 0 {
            zeros += 1;
            if zeros > 31 {
                return Err(VideoError::Corrupt);
            }
        }
        let value = (1u64 << zeros) - 1 + u64::from(self.bits(zeros)?);
        u32::try_from(value).map_err(|_| VideoError::Corrupt)
    }

    /// Signed Exp-Golomb.
    pub fn se(&mut self) -> Result<i32, VideoError> {
        let k = i64::from(self.ue()?);
        i32::try_from(if k % 2 == 1 { (k + 1) / 2 } else { -(k / 2) }).map_err(|_| VideoError::Corrupt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SPS of `h264-1920x1080-1s.mp4` (x264, High, level 4.0, coded 1920x1088).
    const SPS_1080P: [u8; 27] = [
        0x67, 0x64, 0x00, 0x28, 0xac, 0xd9, 0x40, 0x78, 0x02, 0x27, 0xe5, 0xc0, 0x44, 0x00, 0x00, 0x03, 0x00, 0x04,
        0x00, 0x00, 0x03, 0x00, 0xc8, 0x3c, 0x60, 0xc6, 0x58,
    ];

    fn reparse(nal: &[u8]) -> Parsed {
        parse(&unescape(&nal[1..])).unwrap()
    }

    #[test]
    fn sps_of_a_1080p_stream_gives_the_cropped_size() {
        let (sps, _) = prepare(&SPS_1080P).unwrap();
        assert_eq!(sps, Sps { width: 1920, height: 1080, coded_width: 1920, coded_height: 1088 });
    }

    #[test]
    fn rewritten_sps_keeps_the_size_with_one_reference_and_at_most_level_5_2() {
        assert!(reparse(&SPS_1080P).num_ref_frames > 1);
        let mut level_6 = SPS_1080P;
        level_6[3] = 60;
        for original in [SPS_1080P, level_6] {
            let (sps, rewritten) = prepare(&original).unwrap();
            let again = reparse(&rewritten);
            assert_eq!((again.sps, again.num_ref_frames), (sps, 1));
            assert_eq!(rewritten[3], original[3].min(52));
            // The VUI after the cropping window survives: the rewrite is the same length or shorter.
            assert!(rewritten.len() <= original.len() && rewritten.len() + 2 >= original.len());
        }
    }
}
