use super::*;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/media/{}"), name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Decodes a cover's JPEG: (width, height, RGB pixels).
fn pixels(cover: &Cover) -> (usize, usize, Vec<u8>) {
    assert_eq!(cover.jpeg[..2], [0xFF, 0xD8], "a JPEG starts with SOI");
    let mut decoder = jpeg_decoder::Decoder::new(cover.jpeg.as_slice());
    let rgb = decoder.decode().unwrap();
    let info = decoder.info().unwrap();
    assert_eq!(info.pixel_format, jpeg_decoder::PixelFormat::RGB24);
    (usize::from(info.width), usize::from(info.height), rgb)
}

fn accepted(name: &str, width: u32, height: u32, duration_ms: u64) -> Cover {
    let (info, cover) = inspect(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(info, VideoInfo { width, height, duration_ms, codec: "h264" }, "{name}");
    assert_eq!((cover.width, cover.height), (width, height), "{name}");
    let (w, h, _) = pixels(&cover);
    assert_eq!((w, h), (width as usize, height as usize), "{name}: decoded JPEG size");
    cover
}

fn refused(bytes: &[u8], expected: VideoError, message: &str) {
    let got = inspect(bytes).map(|(info, _)| info);
    assert_eq!(got, Err(expected));
    assert_eq!(got.unwrap_err().to_string(), message);
}

#[test]
fn baseline_clip_gives_its_size_duration_and_a_jpeg_cover() {
    accepted("h264-320x240-2s.mp4", 320, 240, 2000);
}

#[test]
fn main_profile_clip_with_audio_and_moov_at_the_end_is_accepted() {
    accepted("h264-aac-640x360-1s.mp4", 640, 360, 1000);
}

#[test]
fn full_hd_clip_gives_a_cropped_1920x1080_cover() {
    accepted("h264-1920x1080-1s.mp4", 1920, 1080, 1000);
}

#[test]
fn quicktime_mov_is_accepted() {
    accepted("h264-320x240-1s.mov", 320, 240, 1000);
}

#[test]
fn level_6_stream_is_decoded_as_level_5_2() {
    // OpenH264 refuses level_idc 60 as such; the SPS handed to it says 5.2.
    accepted("h264-level6-320x240.mp4", 320, 240, 200);
}

#[test]
fn portrait_red_clip_gives_a_red_portrait_cover() {
    let cover = accepted("portrait-red-360x640-1s.mp4", 360, 640, 1000);
    let (w, h, rgb) = pixels(&cover);
    let centre = &rgb[((h / 2) * w + w / 2) * 3..][..3];
    assert!(centre[0] > 180 && centre[1] < 80 && centre[2] < 80, "centre pixel {centre:?} is not red");
}

#[test]
fn rotated_clip_cover_is_turned_clockwise_to_display_size() {
    // Same stream as the .mov, with a 90° track matrix (as phones write portrait video).
    let turned = accepted("h264-rotated90-320x240-1s.mp4", 240, 320, 1000);
    let upright = accepted("h264-320x240-1s.mov", 320, 240, 1000);
    let ((tw, _, t), (uw, uh, u)) = (pixels(&turned), pixels(&upright));
    // Turned clockwise: turned(x, y) = upright(y, uh - 1 - x).
    let mut diff = 0u64;
    let mut count = 0u64;
    for y in (0..320).step_by(7) {
        for x in (0..240).step_by(7) {
            let (ux, uy) = (y, uh - 1 - x);
            for c in 0..3 {
                diff += u64::from(t[(y * tw + x) * 3 + c].abs_diff(u[(uy * uw + ux) * 3 + c]));
                count += 1;
            }
        }
    }
    assert!(diff / count < 8, "mean difference {} against the upright cover turned", diff / count);
}

#[test]
fn hevc_is_refused_naming_the_codec() {
    refused(
        &fixture("hevc-320x240-1s.mp4"),
        VideoError::UnsupportedCodec("hevc".into()),
        "video codec hevc is not supported, use H.264",
    );
}

#[test]
fn webm_is_not_an_mp4() {
    refused(&fixture("vp9-320x240-1s.webm"), VideoError::NotMp4, "not an MP4 or MOV video");
}

#[test]
fn text_file_and_empty_input_are_not_an_mp4() {
    refused(&fixture("not-a-video.mp4"), VideoError::NotMp4, "not an MP4 or MOV video");
    refused(&[], VideoError::NotMp4, "not an MP4 or MOV video");
}

#[test]
fn truncated_file_is_refused_as_corrupt() {
    refused(&fixture("truncated.mp4"), VideoError::Corrupt, "the file is truncated or corrupt");
}

#[test]
fn fragmented_mp4_is_refused() {
    let message = "fragmented MP4 is not supported, save the video as a regular MP4";
    refused(&fixture("h264-fragmented-320x240-1s.mp4"), VideoError::Fragmented, message);
}

#[test]
fn ten_bit_and_interlaced_h264_are_refused_before_decoding() {
    let ten_bit = "10-bit H.264 is not supported, use 8-bit 4:2:0 progressive H.264";
    refused(&fixture("h264-10bit-320x240.mp4"), VideoError::UnsupportedFormat("10-bit"), ten_bit);
    let interlaced = "interlaced H.264 is not supported, use 8-bit 4:2:0 progressive H.264";
    refused(&fixture("h264-interlaced-320x240.mp4"), VideoError::UnsupportedFormat("interlaced"), interlaced);
}

#[test]
fn an_8k_video_is_refused_by_its_sps_before_decoding() {
    refused(
        &fixture("h264-8192x4320-1frame.mp4"),
        VideoError::TooLarge { width: 8192, height: 4320 },
        "video is 8192x4320, the largest accepted is 4096x2304 or 2304x4096",
    );
}

#[test]
fn limits_take_4k_either_way_and_nothing_larger_or_tiny() {
    for (w, h) in [(3840, 2160), (2160, 3840), (4096, 2304), (2304, 4096), (16, 16)] {
        assert_eq!(fits(w, h), Ok(()), "{w}x{h}");
    }
    for (w, h) in [(4096, 4096), (4097, 2160), (2160, 4097), (4096, 2305)] {
        assert_eq!(fits(w, h), Err(VideoError::TooLarge { width: w, height: h }), "{w}x{h}");
    }
    let small = fits(8, 720).unwrap_err();
    assert_eq!(small.to_string(), "video is 8x720, the smallest accepted is 16x16");
}

/// Finds a box type in a file (tests only: the fixtures are small and well formed).
fn find(bytes: &[u8], kind: &[u8; 4]) -> usize {
    bytes.windows(4).position(|w| w == kind).unwrap() + 4
}

#[test]
fn video_longer_than_10_minutes_is_refused() {
    let mut bytes = fixture("h264-320x240-2s.mp4");
    // mdhd v0: version/flags, creation, modification, timescale, duration.
    let at = find(&bytes, b"mdhd");
    let timescale = u32::from_be_bytes(bytes[at + 12..at + 16].try_into().unwrap());
    bytes[at + 16..at + 20].copy_from_slice(&(timescale * 601).to_be_bytes());
    refused(&bytes, VideoError::TooLong, "video is longer than 10 minutes");
}

#[test]
fn a_huge_table_count_is_refused_without_allocating() {
    for kind in [b"stsz", b"stco", b"stsc", b"stts", b"stss"] {
        let mut bytes = fixture("h264-320x240-2s.mp4");
        // stsz: version/flags, sample_size, count; the others: version/flags, count.
        let at = find(&bytes, kind) + if kind == b"stsz" { 8 } else { 4 };
        bytes[at..at + 4].copy_from_slice(&u32::MAX.to_be_bytes());
        refused(&bytes, VideoError::Corrupt, "the file is truncated or corrupt");
    }
}

/// Deterministic pseudo-random numbers (Knuth's MMIX LCG).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n.max(1)
    }
}

#[test]
fn truncated_and_mutated_inputs_never_panic() {
    let started = std::time::Instant::now();
    let mut rng = Lcg(0x5eed);
    let (mut accepted, mut inputs) = (0, 0);
    let mut check = |bytes: &[u8]| {
        inputs += 1;
        accepted += usize::from(inspect(bytes).is_ok());
    };
    for name in [
        "h264-320x240-2s.mp4",
        "h264-aac-640x360-1s.mp4",
        "portrait-red-360x640-1s.mp4",
        "h264-320x240-1s.mov",
        "h264-rotated90-320x240-1s.mp4",
        "hevc-320x240-1s.mp4",
    ] {
        let original = fixture(name);
        let len = original.len();
        // Cut at 60 offsets, and at every byte of the first 300.
        for cut in (0..len).step_by(len / 60 + 1).chain(0..300.min(len)) {
            check(&original[..cut]);
        }
        // Flip 1 to 8 bytes, half the time within the first 4 KB (ftyp, moov, the first frame).
        for _ in 0..120 {
            let mut bytes = original.clone();
            for _ in 0..=rng.below(8) {
                let at = if rng.below(2) == 0 { rng.below(len.min(4096)) } else { rng.below(len) };
                bytes[at] ^= 1 << rng.below(8);
                if rng.below(4) == 0 {
                    bytes[at] = [0, 0xFF, 0x7F, 0x80][rng.below(4)];
                }
            }
            check(&bytes);
        }
    }
    // Random bytes behind a real header.
    for _ in 0..100 {
        let mut bytes = fixture("h264-320x240-2s.mp4")[..40].to_vec();
        bytes.extend((0..rng.below(2000)).map(|_| rng.below(256) as u8));
        check(&bytes);
    }
    assert_eq!(tests_caught_panics(), 0, "a panic reached the last line of defence");
    assert!(accepted > 0 && accepted < inputs, "{accepted} of {inputs} accepted");
    assert!(started.elapsed().as_secs() < 20, "took {:?}", started.elapsed());
}
