//! H.264 bitstream plumbing: the `avcC` record, the sequence parameter set (for the picture size
//! and the features OpenH264 cannot decode), and AVCC → Annex-B conversion of one sample.

use super::VideoError;

/// The decoder configuration record (`avcC`): NAL length size and the parameter sets.
pub(super) struct AvcConfig<'a> {
    pub length_size: usize,
    pub sps: Vec<&'a [u8]>,
    pub pps: Vec<&'a [u8]>,
}

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

const NAL_SPS: u8 = 7;
const START_CODE: [u8; 4] = [0, 0, 0, 1];

/// Parses an `avcC` payload (ISO/IEC 14496-15 § 5.3.3.1).
pub(super) fn parse_avcc(data: &[u8]) -> Result<AvcConfig<'_>, VideoError> {
    let mut r = ByteReader(data);
    let header = r.take(5)?;
    if header[0] != 1 {
        return Err(VideoError::Corrupt);
    }
    let length_size = usize::from(header[4] & 3) + 1;
    let sps_count = r.take(1)?[0] & 0x1f;
    let sps = (0..sps_count).map(|_| r.nal()).collect::<Result<Vec<_>, _>>()?;
    let pps_count = r.take(1)?[0];
    let pps = (0..pps_count).map(|_| r.nal()).collect::<Result<Vec<_>, _>>()?;
    Ok(AvcConfig { length_size, sps, pps })
}

struct ByteReader<'a>(&'a [u8]);

impl<'a> ByteReader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], VideoError> {
        if self.0.len() < n {
            return Err(VideoError::Corrupt);
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    /// A parameter set with a 16-bit length prefix.
    fn nal(&mut self) -> Result<&'a [u8], VideoError> {
        let len = self.take(2)?;
        self.take(usize::from(u16::from_be_bytes([len[0], len[1]])))
    }
}

/// Converts one AVCC sample (length-prefixed NAL units) to Annex-B, prefixed by the parameter sets
/// of `config`, and returns it with every SPS found (in `avcC` and in band), parsed.
///
/// The output is at most `5/2 ×` the input plus the parameter sets, so it is bounded by the file.
pub(super) fn annex_b(config: &AvcConfig<'_>, sample: &[u8]) -> Result<(Vec<u8>, Vec<Sps>), VideoError> {
    let mut out = Vec::with_capacity(sample.len() + 64);
    let mut found = Vec::new();
    for nal in config.sps.iter().chain(&config.pps) {
        push_nal(&mut out, &mut found, nal)?;
    }
    let mut rest = sample;
    while !rest.is_empty() {
        if rest.len() < config.length_size {
            return Err(VideoError::Corrupt);
        }
        let (len, tail) = rest.split_at(config.length_size);
        let len = len.iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        if len > tail.len() {
            return Err(VideoError::Corrupt);
        }
        let (nal, tail) = tail.split_at(len);
        push_nal(&mut out, &mut found, nal)?;
        rest = tail;
    }
    if found.is_empty() {
        // No SPS anywhere: the decoder cannot start, and the size is unknown.
        return Err(VideoError::Corrupt);
    }
    Ok((out, found))
}

fn push_nal(out: &mut Vec<u8>, found: &mut Vec<Sps>, nal: &[u8]) -> Result<(), VideoError> {
    let Some(&header) = nal.first() else {
        return Ok(());
    };
    if header & 0x1f == NAL_SPS {
        found.push(parse_sps(nal)?);
    }
    out.extend_from_slice(&START_CODE);
    out.extend_from_slice(nal);
    Ok(())
}

/// Parses the start of a sequence parameter set NAL unit (ITU-T H.264 § 7.3.2.1.1), refusing what
/// OpenH264 does not decode: chroma other than 4:2:0, more than 8 bits, interlaced coding.
pub(super) fn parse_sps(nal: &[u8]) -> Result<Sps, VideoError> {
    // Emulation prevention: 00 00 03 → 00 00. The SPS fields we read fit in its first bytes, but
    // scaling lists can be long; an SPS is small anyway (we cap it at 1 KB).
    let mut rbsp = Vec::with_capacity(nal.len().min(1024));
    let mut zeros = 0;
    for &b in nal.iter().skip(1).take(1024) {
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        rbsp.push(b);
    }
    let mut r = BitReader { data: &rbsp, pos: 0 };
    let profile_idc = r.bits(8)?;
    r.bits(16)?; // constraint flags, level_idc
    r.ue()?; // seq_parameter_set_id
    let mut chroma_format_idc = 1;
    if matches!(profile_idc, 100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135) {
        chroma_format_idc = r.ue()?;
        if chroma_format_idc == 3 {
            r.bits(1)?; // separate_colour_plane_flag
        }
        let depth_luma = r.ue()?;
        let depth_chroma = r.ue()?;
        if depth_luma != 0 || depth_chroma != 0 {
            return Err(VideoError::UnsupportedFormat("10-bit"));
        }
        r.bits(1)?; // qpprime_y_zero_transform_bypass_flag
        if r.bits(1)? == 1 {
            let lists = if chroma_format_idc == 3 { 12 } else { 8 };
            for i in 0..lists {
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
    r.ue()?; // max_num_ref_frames
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
    let coded_width = width_mbs * 16;
    let coded_height = height_map_units * 16;
    // Encoders crop only to reach a whole macroblock; a wider crop would let a small picture
    // claim a huge decode, so it is refused.
    if crop_x >= 16 || crop_y >= 16 || crop_x >= coded_width || crop_y >= coded_height {
        return Err(VideoError::Corrupt);
    }
    let to_u32 = |v: u64| u32::try_from(v).map_err(|_| VideoError::Corrupt);
    Ok(Sps {
        width: to_u32(coded_width - crop_x)?,
        height: to_u32(coded_height - crop_y)?,
        coded_width: to_u32(coded_width)?,
        coded_height: to_u32(coded_height)?,
    })
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

/// An MSB-first bit reader with Exp-Golomb codes.
struct BitReader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl BitReader<'_> {
    fn bit(&mut self) -> Result<u32, VideoError> {
        let byte = self.data.get(self.pos / 8).ok_or(VideoError::Corrupt)?;
        let bit = (byte >> (7 - self.pos % 8)) & 1;
        self.pos += 1;
        Ok(u32::from(bit))
    }

    fn bits(&mut self, n: u32) -> Result<u32, VideoError> {
        (0..n).try_fold(0, |acc, _| Ok((acc << 1) | self.bit()?))
    }

    /// Unsigned Exp-Golomb; values beyond 32 bits are corrupt.
    fn ue(&mut self) -> Result<u32, VideoError> {
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
    fn se(&mut self) -> Result<i32, VideoError> {
        let k = i64::from(self.ue()?);
        let v = if k % 2 == 1 { (k + 1) / 2 } else { -(k / 2) };
        i32::try_from(v).map_err(|_| VideoError::Corrupt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sps_of_a_1080p_stream_gives_the_cropped_size() {
        // x264 High profile 1920x1080 SPS (coded 1920x1088, cropped by 8 rows).
        let sps = [
            0x67, 0x64, 0x00, 0x28, 0xac, 0xd9, 0x40, 0x78, 0x02, 0x27, 0xe5, 0xc0, 0x44, 0x00, 0x00, 0x03, 0x00, 0x04,
            0x00, 0x00, 0x03, 0x00, 0xc8, 0x3c, 0x60, 0xc6, 0x58,
        ];
        let parsed = parse_sps(&sps);
        assert!(matches!(parsed, Ok(Sps { width: 1920, height: 1080, coded_width: 1920, coded_height: 1088 })));
    }

    #[test]
    fn annex_b_refuses_a_nal_length_past_the_sample() {
        let config = AvcConfig { length_size: 4, sps: vec![], pps: vec![] };
        assert!(matches!(annex_b(&config, &[0, 0, 0, 9, 0x65, 1]), Err(VideoError::Corrupt)));
    }
}
