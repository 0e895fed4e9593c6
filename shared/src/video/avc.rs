//! H.264 bitstream plumbing: the `avcC` record, and AVCC → Annex-B conversion of one sample with
//! its parameter sets (each SPS checked and rewritten by [`sps::prepare`]).

use super::VideoError;
use super::bytes::ByteReader;
use super::sps::{self, Sps};

/// The decoder configuration record (`avcC`): NAL length size and the parameter sets.
pub(super) struct AvcConfig<'a> {
    pub length_size: usize,
    pub sps: Vec<&'a [u8]>,
    pub pps: Vec<&'a [u8]>,
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

/// NAL unit types of the H.264 extensions (SVC, MVC, 3D-AVC) that are dropped.
const NAL_PREFIX: u8 = 14;
const NAL_SUBSET_SPS: u8 = 15;
const NAL_SLICE_EXTENSION: u8 = 20;
const NAL_SLICE_EXTENSION_3D: u8 = 21;

fn push_nal(out: &mut Vec<u8>, found: &mut Vec<Sps>, nal: &[u8]) -> Result<(), VideoError> {
    let Some(&header) = nal.first() else {
        return Ok(());
    };
    // Scalable and multi-view extensions (prefix NAL, subset SPS, slice
    // extensions): the profiles we accept never carry them, and the decoder
    // would parse a subset SPS without the size checks an SPS gets here.
    if matches!(header & 0x1f, NAL_PREFIX | NAL_SUBSET_SPS | NAL_SLICE_EXTENSION | NAL_SLICE_EXTENSION_3D) {
        return Ok(());
    }
    out.extend_from_slice(&START_CODE);
    if header & 0x1f == NAL_SPS {
        let (sps, rewritten) = sps::prepare(nal)?;
        found.push(sps);
        out.extend_from_slice(&rewritten);
    } else {
        out.extend_from_slice(nal);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_nal_units_never_reach_the_decoder() {
        let (mut out, mut found) = (Vec::new(), Vec::new());
        for nal_type in [14u8, 15, 20, 21] {
            push_nal(&mut out, &mut found, &[0x60 | nal_type, 0xaa, 0xbb]).unwrap();
        }
        assert!(out.is_empty(), "{out:?}");
        push_nal(&mut out, &mut found, &[0x65, 0x88]).unwrap();
        assert_eq!(out, [&START_CODE[..], &[0x65, 0x88]].concat());
    }

    #[test]
    fn annex_b_refuses_a_nal_length_past_the_sample() {
        let config = AvcConfig { length_size: 4, sps: vec![], pps: vec![] };
        assert!(matches!(annex_b(&config, &[0, 0, 0, 9, 0x65, 1]), Err(VideoError::Corrupt)));
    }
}
