//! HEVC (H.265) bitstream plumbing: the `hvcC` record, the sequence parameter set checked against
//! our limits before any decoding, and HVCC → Annex-B conversion of one sample.
//!
//! What the decoder gets is filtered: only parameter sets (VPS, SPS, PPS) and coded slices of the
//! base layer (`nuh_layer_id` 0) go through. SEI messages (x265 writes its whole command line into
//! `hvcC` as one), access unit delimiters, filler and the NAL units of other layers (MV-HEVC, the
//! iPhone's spatial video, whose base layer is plain Main) are dropped, so the decoder parses
//! nothing we have not bounded.

use super::VideoError;
use super::bytes::ByteReader;
use super::cover::Colour;
use super::sps::{BitReader, Sps, unescape};

/// The decoder configuration record (`hvcC`): NAL length size and the parameter sets.
pub(super) struct HevcConfig<'a> {
    pub length_size: usize,
    /// The NAL units of the record's arrays, in order (filtered again in [`annex_b`]).
    pub nals: Vec<&'a [u8]>,
}

const NAL_VPS: u8 = 32;
const NAL_SPS: u8 = 33;
const NAL_PPS: u8 = 34;
/// VCL NAL unit types 0..=21 are coded slices; 22..=31 are reserved.
const LAST_VCL: u8 = 21;
const START_CODE: [u8; 4] = [0, 0, 0, 1];
/// Parameter sets are tens to a few hundred bytes (scaling lists, VUI); anything this long is not one.
const MAX_PARAMETER_SET_BYTES: usize = 4096;
/// Encoders crop only to reach whole coding blocks (at most a 64-pixel CTB); a wider conformance
/// window would let a small picture claim a huge decode, so it is refused.
const MAX_CROP: u64 = 64;

/// Parses an `hvcC` payload (ISO/IEC 14496-15 § 8.3.3.1).
pub(super) fn parse_hvcc(data: &[u8]) -> Result<HevcConfig<'_>, VideoError> {
    let mut r = ByteReader(data);
    // configurationVersion, profile (1 + 4 + 6 + 1), min_spatial_segmentation (2), parallelism,
    // chroma format, bit depths (1 each), avgFrameRate (2), then the length size byte.
    let header = r.take(22)?;
    if header[0] != 1 {
        return Err(VideoError::Corrupt);
    }
    let length_size = match header[21] & 3 {
        0 => 1,
        1 => 2,
        3 => 4,
        _ => return Err(VideoError::Corrupt),
    };
    let arrays = r.take(1)?[0];
    let mut nals = Vec::new();
    for _ in 0..arrays {
        r.take(1)?; // array_completeness, reserved, NAL_unit_type: each NAL says its own type
        let count = r.take(2)?;
        for _ in 0..u16::from_be_bytes([count[0], count[1]]) {
            nals.push(r.nal()?);
        }
    }
    Ok(HevcConfig { length_size, nals })
}

/// Converts one HVCC sample (length-prefixed NAL units) to Annex-B, prefixed by the parameter sets
/// of `config`, and returns it with every SPS found (in `hvcC` and in band, as `hev1` carries
/// them), each checked against the limits.
///
/// The output is at most `3/2 ×` the input plus the parameter sets, so it is bounded by the file.
pub(super) fn annex_b<'a>(config: &HevcConfig<'a>, sample: &'a [u8]) -> Result<Stream<'a>, VideoError> {
    let mut out = Vec::with_capacity(sample.len() + 64);
    let mut found = Vec::new();
    let mut first_sps = None;
    for &nal in config.nals.iter().chain(sample_nals(config.length_size, sample)?.iter()) {
        push_nal(&mut out, &mut found, nal)?;
        if first_sps.is_none() && found.len() == 1 {
            first_sps = Some(nal);
        }
    }
    match first_sps {
        // No SPS anywhere: the decoder cannot start, and the size is unknown.
        None => Err(VideoError::Corrupt),
        Some(first_sps) => Ok(Stream { annex_b: out, sps: found, first_sps }),
    }
}

/// One access unit ready for the decoder, and what was checked on the way.
pub(super) struct Stream<'a> {
    pub annex_b: Vec<u8>,
    /// Every SPS (in `hvcC` and in band), parsed and checked.
    pub sps: Vec<Sps>,
    /// The first SPS NAL unit: its VUI says how to convert the picture to RGB.
    pub first_sps: &'a [u8],
}

/// The colour conversion the SPS's VUI declares (BT.601 limited range when it says nothing).
/// Parsed with the decoder's own SPS parser, after [`parse_sps`] has checked the NAL unit.
pub(super) fn colour(sps: &[u8]) -> Colour {
    let vui = sps.get(2..).and_then(|payload| rusty_h265::ps::parse_sps(&unescape(payload)).ok()?.vui);
    vui.map_or(Colour::DEFAULT, |vui| Colour::from_vui(vui.matrix_coeffs, vui.video_full_range_flag))
}

/// Splits a sample into its length-prefixed NAL units.
fn sample_nals(length_size: usize, sample: &[u8]) -> Result<Vec<&[u8]>, VideoError> {
    let mut nals = Vec::new();
    let mut rest = sample;
    while !rest.is_empty() {
        if rest.len() < length_size {
            return Err(VideoError::Corrupt);
        }
        let (len, tail) = rest.split_at(length_size);
        let len = len.iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        if len > tail.len() {
            return Err(VideoError::Corrupt);
        }
        let (nal, tail) = tail.split_at(len);
        nals.push(nal);
        rest = tail;
    }
    Ok(nals)
}

fn push_nal(out: &mut Vec<u8>, found: &mut Vec<Sps>, nal: &[u8]) -> Result<(), VideoError> {
    let Some(header) = nal.first_chunk::<2>() else {
        return Ok(());
    };
    if header[0] & 0x80 != 0 {
        // forbidden_zero_bit
        return Err(VideoError::Corrupt);
    }
    let nal_type = (header[0] >> 1) & 0x3f;
    let layer = ((header[0] & 1) << 5) | (header[1] >> 3);
    if layer != 0 {
        return Ok(());
    }
    match nal_type {
        NAL_SPS => found.push(parse_sps(nal)?),
        NAL_VPS | NAL_PPS if nal.len() > MAX_PARAMETER_SET_BYTES => return Err(VideoError::Corrupt),
        NAL_VPS | NAL_PPS => {}
        t if t <= LAST_VCL => {}
        _ => return Ok(()),
    }
    out.extend_from_slice(&START_CODE);
    out.extend_from_slice(nal);
    Ok(())
}

/// Parses an HEVC SPS NAL unit (ITU-T H.265 § 7.3.2.2.1) up to the bit depths, refusing what the
/// decoder does not decode (chroma other than 4:2:0, more than 10 bits, profiles beyond Main,
/// Main 10 and Main Still Picture) and returning the picture size.
pub(super) fn parse_sps(nal: &[u8]) -> Result<Sps, VideoError> {
    if nal.len() > MAX_PARAMETER_SET_BYTES || nal.len() < 2 {
        return Err(VideoError::Corrupt);
    }
    let rbsp = unescape(&nal[2..]);
    let mut r = BitReader { data: &rbsp, pos: 0 };
    r.bits(4)?; // sps_video_parameter_set_id
    let sub_layers = r.bits(3)?; // sps_max_sub_layers_minus1
    if sub_layers > 6 {
        return Err(VideoError::Corrupt);
    }
    r.bits(1)?; // sps_temporal_id_nesting_flag
    let profile = profile_tier_level(&mut r, sub_layers)?;
    if r.ue()? > 15 {
        return Err(VideoError::Corrupt); // sps_seq_parameter_set_id
    }
    let chroma_format_idc = r.ue()?;
    if chroma_format_idc == 3 {
        r.bits(1)?; // separate_colour_plane_flag
    }
    let coded_width = u64::from(r.ue()?);
    let coded_height = u64::from(r.ue()?);
    let (mut crop_x, mut crop_y) = (0u64, 0u64);
    if r.bits(1)? == 1 {
        // conf_win_{left,right,top,bottom}_offset, in chroma units (two pixels in 4:2:0).
        crop_x = 2 * (u64::from(r.ue()?) + u64::from(r.ue()?));
        crop_y = 2 * (u64::from(r.ue()?) + u64::from(r.ue()?));
    }
    let (luma, chroma) = (r.ue()?, r.ue()?); // bit_depth_{luma,chroma}_minus8
    match chroma_format_idc {
        1 => {}
        0 => return Err(VideoError::UnsupportedHevcFormat("monochrome")),
        2 => return Err(VideoError::UnsupportedHevcFormat("4:2:2")),
        3 => return Err(VideoError::UnsupportedHevcFormat("4:4:4")),
        _ => return Err(VideoError::Corrupt),
    }
    if luma > 2 || chroma > 2 {
        return Err(VideoError::UnsupportedHevcFormat("over 10-bit"));
    }
    if !profile.is_main() {
        return Err(VideoError::UnsupportedHevcFormat(profile.name()));
    }
    if crop_x >= MAX_CROP || crop_y >= MAX_CROP || crop_x >= coded_width || crop_y >= coded_height {
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

/// The general profile of `profile_tier_level`: its `general_profile_idc` and compatibility flags.
struct Profile {
    idc: u32,
    compatible: u32,
}

impl Profile {
    /// Main (1), Main 10 (2) or Main Still Picture (3), by its idc or a compatibility flag.
    fn is_main(&self) -> bool {
        (1..=3).contains(&self.idc) || (1..=3).any(|j| self.compatible & (1 << (31 - j)) != 0)
    }

    fn name(&self) -> &'static str {
        match self.idc {
            4 => "range-extension",
            5 => "high-throughput",
            6..=8 => "multi-layer",
            9 => "screen-content",
            _ => "this profile of",
        }
    }
}

/// Reads `profile_tier_level(1, sub_layers)` (§ 7.3.3) and returns the general profile.
fn profile_tier_level(r: &mut BitReader<'_>, sub_layers: u32) -> Result<Profile, VideoError> {
    r.bits(3)?; // general_profile_space, general_tier_flag
    let idc = r.bits(5)?;
    let compatible = r.bits(32)?;
    // progressive, interlaced, non-packed, frame-only; 43 constraint bits; 1 reserved; level.
    for n in [4, 22, 22, 8] {
        r.bits(n)?;
    }
    let mut present = [(false, false); 7];
    for flags in present.iter_mut().take(sub_layers as usize) {
        *flags = (r.bits(1)? == 1, r.bits(1)? == 1);
    }
    if sub_layers > 0 {
        for _ in sub_layers..8 {
            r.bits(2)?; // reserved_zero_2bits
        }
    }
    for &(profile_present, level_present) in present.iter().take(sub_layers as usize) {
        if profile_present {
            for n in [24, 32, 32] {
                r.bits(n)?; // 88 bits of sub-layer profile
            }
        }
        if level_present {
            r.bits(8)?;
        }
    }
    Ok(Profile { idc, compatible })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds an SPS NAL from its bits (written MSB first; Exp-Golomb by hand).
    struct Bits(Vec<bool>);

    impl Bits {
        fn put(&mut self, n: u32, value: u64) -> &mut Self {
            for i in (0..n).rev() {
                self.0.push((value >> i) & 1 == 1);
            }
            self
        }

        fn ue(&mut self, value: u64) -> &mut Self {
            let v = value + 1;
            let len = 64 - v.leading_zeros();
            self.put(len - 1, 0).put(len, v)
        }

        fn nal(&mut self) -> Vec<u8> {
            self.put(1, 1);
            while !self.0.len().is_multiple_of(8) {
                self.0.push(false);
            }
            let mut out = vec![NAL_SPS << 1, 1];
            out.extend(self.0.chunks(8).map(|c| c.iter().fold(0u8, |a, &b| (a << 1) | u8::from(b))));
            out
        }
    }

    /// An SPS with the given profile, chroma format, size, crop and bit depths (no sub-layers).
    fn sps(profile: u64, chroma: u64, size: (u64, u64), crop: Option<[u64; 4]>, depth: (u64, u64)) -> Vec<u8> {
        let mut b = Bits(Vec::new());
        b.put(4, 0).put(3, 0).put(1, 1);
        b.put(3, 0).put(5, profile).put(32, 1 << (31 - profile.min(31))).put(4, 0b1001).put(44, 0).put(8, 120);
        b.ue(0).ue(chroma);
        if chroma == 3 {
            b.put(1, 0);
        }
        b.ue(size.0).ue(size.1);
        match crop {
            Some(c) => {
                b.put(1, 1);
                for v in c {
                    b.ue(v);
                }
            }
            None => {
                b.put(1, 0);
            }
        }
        b.ue(depth.0).ue(depth.1);
        b.nal()
    }

    #[test]
    fn main_and_main_10_sps_give_the_cropped_size() {
        let full_hd = sps(1, 1, (1920, 1088), Some([0, 0, 0, 4]), (0, 0));
        let expected = Sps { width: 1920, height: 1080, coded_width: 1920, coded_height: 1088 };
        assert_eq!(parse_sps(&full_hd).unwrap(), expected);
        let ten_bit = sps(2, 1, (1280, 720), None, (2, 2));
        assert_eq!(parse_sps(&ten_bit).unwrap().width, 1280);
    }

    #[test]
    fn formats_the_decoder_cannot_do_are_refused_by_name() {
        let cases = [
            (sps(4, 2, (320, 240), None, (0, 0)), "4:2:2"),
            (sps(4, 3, (320, 240), None, (0, 0)), "4:4:4"),
            (sps(4, 0, (320, 240), None, (0, 0)), "monochrome"),
            (sps(4, 1, (320, 240), None, (4, 4)), "over 10-bit"),
            (sps(4, 1, (320, 240), None, (0, 0)), "range-extension"),
            (sps(9, 1, (320, 240), None, (0, 0)), "screen-content"),
        ];
        for (nal, name) in cases {
            assert_eq!(parse_sps(&nal), Err(VideoError::UnsupportedHevcFormat(name)), "{name}");
        }
    }

    #[test]
    fn a_crop_wider_than_a_coding_block_is_corrupt() {
        // 4096 coded, cropped to 16: would decode a 4096-wide picture for a 16-wide video.
        let nal = sps(1, 1, (4096, 240), Some([2040, 0, 0, 0]), (0, 0));
        assert_eq!(parse_sps(&nal), Err(VideoError::Corrupt));
        let nal = sps(1, 1, (64, 64), Some([0, 0, 0, 32]), (0, 0));
        assert_eq!(parse_sps(&nal), Err(VideoError::Corrupt));
    }

    #[test]
    fn other_layers_sei_and_delimiters_never_reach_the_decoder() {
        let (mut out, mut found) = (Vec::new(), Vec::new());
        // prefix SEI (39), AUD (35), a slice of layer 1, reserved VCL type 22.
        for nal in [[39u8 << 1, 1, 0xaa], [35 << 1, 1, 0x50], [19 << 1, 0x09, 0xaf], [22 << 1, 1, 0]] {
            push_nal(&mut out, &mut found, &nal).unwrap();
        }
        assert!(out.is_empty(), "{out:?}");
        push_nal(&mut out, &mut found, &[19 << 1, 1, 0xaf]).unwrap();
        assert_eq!(out, [&START_CODE[..], &[19 << 1, 1, 0xaf]].concat());
        assert_eq!(push_nal(&mut out, &mut found, &[0x80 | (19 << 1), 1]), Err(VideoError::Corrupt));
    }

    #[test]
    fn hvcc_refuses_a_nal_past_its_end_and_a_three_byte_length() {
        let mut record = vec![1u8; 22];
        record[21] = 0xff; // length size 4
        record.extend([1, NAL_SPS, 0, 1, 0, 9, 1]);
        assert!(matches!(parse_hvcc(&record), Err(VideoError::Corrupt)));
        record.truncate(22);
        record[21] = 0xfe; // lengthSizeMinusOne 2
        record.push(0);
        assert!(matches!(parse_hvcc(&record), Err(VideoError::Corrupt)));
    }
}
