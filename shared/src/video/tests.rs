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
    accepted_as(name, "h264", width, height, duration_ms)
}

fn accepted_as(name: &str, codec: &'static str, width: u32, height: u32, duration_ms: u64) -> Cover {
    let (info, cover) = inspect(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(info, VideoInfo { width, height, duration_ms, codec }, "{name}");
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

/// Mean and spread of a picture's pixels: a real cover is neither blank nor one flat colour.
fn spread(rgb: &[u8]) -> (f64, f64) {
    let n = rgb.len() as f64;
    let mean = rgb.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let var = rgb.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

#[test]
fn hevc_main_clip_gives_its_size_duration_and_a_real_cover() {
    let cover = accepted_as("hevc-320x240-1s.mp4", "hevc", 320, 240, 1000);
    let (mean, sd) = spread(&pixels(&cover).2);
    assert!(mean > 30.0 && mean < 225.0 && sd > 20.0, "mean {mean:.0}, spread {sd:.0}: not a picture");
}

#[test]
fn iphone_style_hevc_mov_with_hvc1_and_moov_at_the_end_gives_a_1080p_cover() {
    let cover = accepted_as("hevc-hvc1-1920x1080-1s.mov", "hevc", 1920, 1080, 1000);
    let (mean, sd) = spread(&pixels(&cover).2);
    assert!(mean > 30.0 && mean < 225.0 && sd > 20.0, "mean {mean:.0}, spread {sd:.0}: not a picture");
}

#[test]
fn hev1_portrait_clip_with_in_band_parameter_sets_and_audio_is_accepted() {
    accepted_as("hevc-hev1-aac-720x1280-1s.mp4", "hevc", 720, 1280, 1433);
}

#[test]
fn ten_bit_main_10_hevc_gives_an_8_bit_cover_like_its_8_bit_twin() {
    let cover = accepted_as("hevc-main10-1280x720-1s.mov", "hevc", 1280, 720, 1000);
    let (mean, sd) = spread(&pixels(&cover).2);
    assert!(mean > 30.0 && mean < 225.0 && sd > 20.0, "mean {mean:.0}, spread {sd:.0}: not a picture");
}

#[test]
fn hevc_covers_show_the_colour_bars_of_their_source() {
    // ffmpeg's `testsrc2`: six bars, red, green, yellow, blue, magenta, cyan, left to right.
    let bars = [[255, 0, 0], [0, 255, 0], [255, 255, 0], [0, 0, 255], [255, 0, 255], [0, 255, 255]];
    for name in [
        "hevc-320x240-1s.mp4",
        "hevc-hvc1-1920x1080-1s.mov",
        "hevc-main10-1280x720-1s.mov",
        "hevc-hev1-aac-720x1280-1s.mp4",
    ] {
        let (info, cover) = inspect(&fixture(name)).unwrap();
        let (w, h, rgb) = pixels(&cover);
        assert_eq!((w, h), (info.width as usize, info.height as usize));
        for (i, bar) in bars.iter().enumerate() {
            let (x, y) = ((2 * i + 1) * w / 12, h * 95 / 100);
            let got = &rgb[(y * w + x) * 3..][..3];
            let off = got.iter().zip(bar).map(|(&g, &e)| g.abs_diff(e)).max().unwrap();
            assert!(off < 60, "{name}: bar {i} at ({x}, {y}) is {got:?}, expected about {bar:?}");
        }
    }
}

#[test]
fn dolby_vision_only_entries_are_refused_naming_them() {
    let mut bytes = fixture("hevc-320x240-1s.mp4");
    let at = find(&bytes, b"hvc1") - 4;
    bytes[at..at + 4].copy_from_slice(b"dvh1");
    refused(
        &bytes,
        VideoError::UnsupportedCodec("dolby vision".into()),
        "video codec dolby vision is not supported, use H.264 or HEVC",
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
fn an_8k_hevc_video_is_refused_by_its_sps_before_decoding() {
    refused(
        &fixture("hevc-8192x4320-1frame.mp4"),
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

/// Property tests ("fuzz properties") of the probe and the cover: arbitrary bytes, and mutations of
/// every fixture (bit flips, truncation, box-size corruption, splices, insertions and deletions).
/// `probe` runs on every input; the cover decode (`inspect`) only on inputs the probe accepts.
mod props {
    use std::time::{Duration, Instant};

    use proptest::prelude::*;

    use super::*;

    /// Every ISO BMFF fixture, accepted or refused (the WebM and text files are in `arbitrary`'s
    /// reach anyway).
    const FIXTURES: [&str; 17] = [
        "h264-320x240-2s.mp4",
        "h264-aac-640x360-1s.mp4",
        "h264-1920x1080-1s.mp4",
        "h264-320x240-1s.mov",
        "h264-level6-320x240.mp4",
        "portrait-red-360x640-1s.mp4",
        "h264-rotated90-320x240-1s.mp4",
        "hevc-320x240-1s.mp4",
        "truncated.mp4",
        "h264-fragmented-320x240-1s.mp4",
        "h264-10bit-320x240.mp4",
        "h264-interlaced-320x240.mp4",
        "h264-8192x4320-1frame.mp4",
        "hevc-hvc1-1920x1080-1s.mov",
        "hevc-main10-1280x720-1s.mov",
        "hevc-hev1-aac-720x1280-1s.mp4",
        "hevc-8192x4320-1frame.mp4",
    ];

    /// Box types whose size field the corruption targets (containers, tables, entries, payload).
    const KINDS: [&[u8; 4]; 22] = [
        b"ftyp", b"moov", b"mvhd", b"trak", b"tkhd", b"mdia", b"mdhd", b"hdlr", b"minf", b"stbl", b"stsd", b"avc1",
        b"avcC", b"stts", b"stsc", b"stsz", b"stco", b"mdat", b"hvc1", b"hev1", b"hvcC", b"wide",
    ];

    fn fixtures() -> &'static [Vec<u8>] {
        static CELL: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
        CELL.get_or_init(|| FIXTURES.iter().map(|name| fixture(name)).collect())
    }

    /// One change to a file; offsets are fractions of its length so they always land inside.
    #[derive(Clone, Debug)]
    enum Mutation {
        /// XOR one bit of the byte at this fraction.
        FlipBit(f64, u8),
        /// Set the byte at this fraction.
        SetByte(f64, u8),
        /// Keep only this fraction of the file.
        Truncate(f64),
        /// Set the 32-bit size field of the n-th box of a type (n modulo its occurrences).
        BoxSize(usize, usize, SizeValue),
        /// Copy `len` bytes from one fraction over another (a splice within the file).
        Splice(f64, f64, usize),
        /// Insert bytes at a fraction.
        Insert(f64, Vec<u8>),
        /// Delete `len` bytes at a fraction.
        Delete(f64, usize),
    }

    /// What a corrupted size field says.
    #[derive(Clone, Debug)]
    enum SizeValue {
        /// 0 (to the end), 1 (a 64-bit size follows), 7 (below the header), `u32::MAX`.
        Fixed(u32),
        /// The original size plus or minus a little.
        Nudge(i32),
        /// Anything.
        Any(u32),
    }

    fn mutation() -> impl Strategy<Value = Mutation> {
        let fraction = 0.0..1.0f64;
        let size = prop_oneof![
            prop::sample::select(vec![0u32, 1, 7, 8, 16, u32::MAX]).prop_map(SizeValue::Fixed),
            (-16i32..=16).prop_map(SizeValue::Nudge),
            any::<u32>().prop_map(SizeValue::Any),
        ];
        prop_oneof![
            3 => (fraction.clone(), 0u8..8).prop_map(|(at, bit)| Mutation::FlipBit(at, bit)),
            2 => (fraction.clone(), any::<u8>()).prop_map(|(at, byte)| Mutation::SetByte(at, byte)),
            1 => fraction.clone().prop_map(Mutation::Truncate),
            3 => (0..KINDS.len(), 0usize..4, size).prop_map(|(kind, nth, size)| Mutation::BoxSize(kind, nth, size)),
            1 => (fraction.clone(), fraction.clone(), 1usize..512).prop_map(|(from, to, len)| Mutation::Splice(from, to, len)),
            1 => (fraction.clone(), prop::collection::vec(any::<u8>(), 1..64)).prop_map(|(at, bytes)| Mutation::Insert(at, bytes)),
            1 => (fraction, 1usize..256).prop_map(|(at, len)| Mutation::Delete(at, len)),
        ]
    }

    fn at(bytes: &[u8], fraction: f64) -> usize {
        ((bytes.len() as f64 * fraction) as usize).min(bytes.len().saturating_sub(1))
    }

    /// Offsets of the size fields of the boxes of type `kind` (by name: good enough on fixtures).
    fn size_fields(bytes: &[u8], kind: &[u8; 4]) -> Vec<usize> {
        bytes.windows(4).enumerate().filter(|(i, w)| *i >= 4 && w == kind).map(|(i, _)| i - 4).collect()
    }

    fn apply(bytes: &mut Vec<u8>, mutation: &Mutation) {
        if bytes.is_empty() {
            return;
        }
        match *mutation {
            Mutation::FlipBit(f, bit) => {
                let i = at(bytes, f);
                bytes[i] ^= 1 << bit;
            }
            Mutation::SetByte(f, byte) => {
                let i = at(bytes, f);
                bytes[i] = byte;
            }
            Mutation::Truncate(f) => bytes.truncate(at(bytes, f)),
            Mutation::BoxSize(kind, nth, ref value) => {
                let fields = size_fields(bytes, KINDS[kind]);
                let Some(&i) = fields.get(nth % fields.len().max(1)) else { return };
                let old = u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap());
                let new = match *value {
                    SizeValue::Fixed(v) | SizeValue::Any(v) => v,
                    SizeValue::Nudge(d) => old.wrapping_add_signed(d),
                };
                bytes[i..i + 4].copy_from_slice(&new.to_be_bytes());
            }
            Mutation::Splice(from, to, len) => {
                let (from, to) = (at(bytes, from), at(bytes, to));
                let len = len.min(bytes.len() - from).min(bytes.len() - to);
                bytes.copy_within(from..from + len, to);
            }
            Mutation::Insert(f, ref extra) => {
                let i = at(bytes, f);
                bytes.splice(i..i, extra.iter().copied());
            }
            Mutation::Delete(f, len) => {
                let i = at(bytes, f);
                let end = (i + len).min(bytes.len());
                bytes.drain(i..end);
            }
        }
    }

    /// The property every input must have: `probe` and, when it accepts, `inspect` return without
    /// panicking and in bounded time; an accepted video is within the limits, its sample inside the
    /// input, its cover the size it reports; nothing panicked behind `catch_unwind`.
    fn check(bytes: &[u8]) -> std::result::Result<(), TestCaseError> {
        let started = Instant::now();
        let probed = probe::probe(bytes);
        if let Ok(probed) = &probed {
            prop_assert!(!probed.config.is_empty() && !probed.sample.is_empty());
            let input = bytes.as_ptr_range();
            prop_assert!(input.contains(&probed.sample.as_ptr()), "the sample is not a slice of the input");
            match accept(bytes) {
                Ok(Accepted { info, cover, fast_start }) => {
                    prop_assert_eq!(fits(info.width, info.height), Ok(()));
                    prop_assert!(info.duration_ms <= MAX_DURATION_MS);
                    prop_assert_eq!((cover.width, cover.height), (info.width, info.height));
                    prop_assert_eq!(&cover.jpeg[..2], &[0xFF, 0xD8]);
                    if let Some(stored) = fast_start {
                        // Within a few bytes per chunk of the input, and moov first.
                        prop_assert!(stored.len() <= bytes.len() * 3 + 64);
                        prop_assert_eq!(faststart::fast_start(&stored), Ok(None));
                    }
                }
                Err(error) => prop_assert!(!error.to_string().is_empty()),
            }
        }
        prop_assert_eq!(tests_caught_panics(), 0, "a panic reached the last line of defence");
        if let Some(peak) = vm_peak() {
            prop_assert!(peak < MAX_VM_PEAK, "the test process reserved {} MiB at its peak", peak >> 20);
        }
        // Generous (debug build, two cores shared with other tests): a hang or a quadratic walk
        // takes far longer; a 1080p decode takes well under a second.
        prop_assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
        Ok(())
    }

    /// The most address space the test process may have reserved at any time. Whatever other tests
    /// run alongside, it stays far below this (about 1 GiB with the allocator's per-thread arenas);
    /// a buffer sized from a forged count or box size (2^32 and up) would cross it, even reserved
    /// and never touched (as `mp4parse`'s fallible reservations are).
    const MAX_VM_PEAK: u64 = 4 << 30;

    /// `VmPeak` of this process (Linux), in bytes.
    fn vm_peak() -> Option<u64> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find(|l| l.starts_with("VmPeak:"))?;
        let kib: u64 = line.trim_start_matches("VmPeak:").trim().trim_end_matches("kB").trim().parse().ok()?;
        Some(kib << 10)
    }

    #[test]
    fn vm_peak_is_read() {
        let peak = vm_peak();
        eprintln!("VmPeak {:?} MiB", peak.map(|p| p >> 20));
        assert!(!cfg!(target_os = "linux") || peak.is_some());
    }

    proptest! {
        #![proptest_config(crate::proptest_config(256))]

        #[test]
        fn arbitrary_bytes_are_refused_without_panic(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
            check(&bytes)?;
            // Without a known first box, nothing else is looked at.
            let known = bytes.get(4..8).is_some_and(|kind| [b"ftyp", b"moov", b"mdat", b"free"].iter().any(|b| *b == kind));
            if !known {
                prop_assert!(inspect(&bytes).is_err());
            }
        }

        #[test]
        fn arbitrary_bytes_behind_a_real_header_never_panic(
            cut in 8usize..200,
            tail in prop::collection::vec(any::<u8>(), 0..4096),
        ) {
            let mut bytes = fixtures()[0][..cut].to_vec();
            bytes.extend(tail);
            check(&bytes)?;
        }

        #[test]
        fn mutated_fixtures_never_panic(
            which in 0..FIXTURES.len(),
            mutations in prop::collection::vec(mutation(), 1..5),
        ) {
            let mut bytes = fixtures()[which].clone();
            for m in &mutations {
                apply(&mut bytes, m);
            }
            check(&bytes)?;
        }

        /// The container intact, the first frame or its parameter sets (`avcC`: SPS, PPS; `hvcC`:
        /// VPS, SPS, PPS) corrupt:
        /// this is what reaches the SPS checks and the decoder.
        #[test]
        fn corrupt_first_frame_or_parameter_sets_are_decoded_or_refused(
            which in prop::sample::select(vec![0usize, 1, 3, 4, 5, 6, 7, 10, 11, 12, 13, 14, 15, 16]),
            in_avcc in any::<bool>(),
            flips in prop::collection::vec((0.0..1.0f64, 1u8..=255), 1..6),
            cut in prop::option::of(0.0..1.0f64),
        ) {
            let original = &fixtures()[which];
            let probed = probe::probe(original).unwrap();
            let region = if in_avcc { probed.config } else { probed.sample };
            let start = region.as_ptr() as usize - original.as_ptr() as usize;
            let len = region.len();
            let mut bytes = original.clone();
            for (at, mask) in flips {
                bytes[start + ((len as f64 * at) as usize).min(len - 1)] ^= mask;
            }
            if let Some(cut) = cut {
                // Cut inside the region: the sample then runs past the file.
                bytes.truncate(start + (len as f64 * cut) as usize);
            }
            check(&bytes)?;
        }

        /// A box declaring more bytes than its file or parent holds is refused, not allocated.
        #[test]
        fn a_box_larger_than_its_file_is_refused(which in 0..FIXTURES.len(), kind in 0..KINDS.len(), extra in 1u64..u64::from(u32::MAX)) {
            let mut bytes = fixtures()[which].clone();
            let Some(&i) = size_fields(&bytes, KINDS[kind]).first() else { return Ok(()) };
            // Only a real size field (the name also occurs in `ftyp`'s brands: `avc1`).
            let old = u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap());
            if !(8..=(bytes.len() - i) as u64).contains(&u64::from(old)) {
                return Ok(());
            }
            let declared = u32::try_from((bytes.len() - i) as u64 + extra).unwrap_or(u32::MAX);
            bytes[i..i + 4].copy_from_slice(&declared.to_be_bytes());
            check(&bytes)?;
            prop_assert!(probe::probe(&bytes).is_err(), "{} at {} declared {} bytes", String::from_utf8_lossy(KINDS[kind]), i, declared);
        }

        /// The same with a 64-bit size (`size` 1, then a `largesize` up to 2^64 − 1).
        #[test]
        fn a_64_bit_box_size_past_the_file_is_refused(which in 0..FIXTURES.len(), largesize in any::<u64>()) {
            let mut bytes = fixtures()[which].clone();
            let Some(&i) = size_fields(&bytes, b"mdat").first() else { return Ok(()) };
            bytes[i..i + 4].copy_from_slice(&1u32.to_be_bytes());
            bytes[i + 8..i + 16].copy_from_slice(&largesize.to_be_bytes());
            check(&bytes)?;
            if largesize > (bytes.len() - i) as u64 {
                prop_assert!(probe::probe(&bytes).is_err());
            }
        }
    }
}

/// Fast start: the rewrite checked by decoding the stored file, by box order, and by the bytes every
/// chunk offset points at.
mod fast_start {
    use super::*;
    use crate::video::boxes::{self, Bx};
    use crate::video::faststart::{self, rewrite};

    /// The top-level box types, in order.
    fn top(bytes: &[u8]) -> Vec<String> {
        boxes::split(bytes).unwrap().iter().map(|b| String::from_utf8_lossy(&b.kind).into_owned()).collect()
    }

    fn child<'a>(body: &'a [u8], kind: &[u8; 4]) -> Vec<Bx<'a>> {
        boxes::split(body).unwrap().into_iter().filter(|b| &b.kind == kind).collect()
    }

    fn be(bytes: &[u8]) -> u64 {
        bytes.iter().fold(0, |acc, &b| (acc << 8) | u64::from(b))
    }

    /// Every chunk of every track, in order: (offset, length), from `stco`/`co64`, `stsc`, `stsz`;
    /// and whether each track's offsets are 64-bit.
    fn chunks(bytes: &[u8]) -> (Vec<Vec<(u64, u64)>>, Vec<bool>) {
        let moov = child(bytes, b"moov")[0];
        let (mut all, mut wide) = (Vec::new(), Vec::new());
        for trak in child(moov.body, b"trak") {
            let mdia = child(trak.body, b"mdia")[0];
            let minf = child(mdia.body, b"minf")[0];
            let stbl = child(minf.body, b"stbl")[0];
            let table = |kind| child(stbl.body, kind).first().map(|b| b.body);
            let (offsets, width) = match (table(b"stco"), table(b"co64")) {
                (Some(t), None) => (t, 4),
                (None, Some(t)) => (t, 8),
                other => panic!("chunk offsets: {other:?}"),
            };
            let offsets: Vec<u64> = offsets[8..].chunks(width).map(be).collect();
            let stsc: Vec<(u64, u64)> =
                table(b"stsc").unwrap()[8..].chunks(12).map(|e| (be(&e[..4]), be(&e[4..8]))).collect();
            let stsz = table(b"stsz").unwrap();
            let (fixed, count) = (be(&stsz[4..8]), be(&stsz[8..12]));
            let size = |i: u64| if fixed != 0 { fixed } else { be(&stsz[12 + 4 * i as usize..][..4]) };
            let (mut sample, mut track) = (0u64, Vec::new());
            for (chunk, &offset) in offsets.iter().enumerate() {
                let chunk = chunk as u64 + 1;
                let per = stsc.iter().rev().find(|(first, _)| *first <= chunk).unwrap().1;
                let len: u64 = (sample..(sample + per).min(count)).map(size).sum();
                sample += per;
                track.push((offset, len));
            }
            all.push(track);
            wide.push(width == 8);
        }
        (all, wide)
    }

    /// The stored file is fast start, decodes to the same video and cover, and every chunk of every
    /// track points at the same bytes as before.
    fn same_media(original: &[u8], stored: &[u8]) {
        let order = top(stored);
        let (moov, mdat) = (order.iter().position(|k| k == "moov"), order.iter().position(|k| k == "mdat"));
        assert!(moov.unwrap() < mdat.unwrap(), "{order:?}");
        assert_eq!(inspect(stored), inspect(original), "the stored file decodes to the same video and cover");
        let ((before, _), (after, _)) = (chunks(original), chunks(stored));
        assert_eq!(before.len(), after.len());
        for (b, a) in before.iter().zip(&after) {
            assert_eq!(b.len(), a.len());
            for (&(bo, bl), &(ao, al)) in b.iter().zip(a) {
                assert_eq!(bl, al);
                assert_eq!(original[bo as usize..][..bl as usize], stored[ao as usize..][..al as usize]);
            }
        }
    }

    #[test]
    fn phone_style_files_get_moov_first_with_every_chunk_offset_moved() {
        for name in [
            "h264-aac-640x360-1s.mp4",
            "portrait-red-360x640-1s.mp4",
            "hevc-320x240-1s.mp4",
            "hevc-hvc1-1920x1080-1s.mov",
            "hevc-main10-1280x720-1s.mov",
            "hevc-hev1-aac-720x1280-1s.mp4",
        ] {
            let original = fixture(name);
            assert!(top(&original).iter().position(|k| k == "moov") > top(&original).iter().position(|k| k == "mdat"));
            let accepted = accept(&original).unwrap_or_else(|e| panic!("{name}: {e}"));
            let stored = accepted.fast_start.unwrap_or_else(|| panic!("{name}: not rewritten"));
            assert_eq!(stored.len(), original.len(), "{name}: only moved");
            same_media(&original, &stored);
            // Once is enough.
            assert_eq!(faststart::fast_start(&stored), Ok(None), "{name}");
        }
    }

    #[test]
    fn quicktime_wide_box_stays_in_front_of_its_mdat() {
        let original = fixture("hevc-hvc1-1920x1080-1s.mov");
        assert_eq!(top(&original), ["ftyp", "wide", "mdat", "moov"]);
        let stored = faststart::fast_start(&original).unwrap().unwrap();
        assert_eq!(top(&stored), ["ftyp", "moov", "wide", "mdat"]);
    }

    #[test]
    fn files_already_fast_start_and_fragmented_files_are_left_as_they_are() {
        for name in ["h264-320x240-2s.mp4", "h264-1920x1080-1s.mp4", "h264-fragmented-320x240-1s.mp4"] {
            assert_eq!(faststart::fast_start(&fixture(name)), Ok(None), "{name}");
        }
        assert_eq!(accept(&fixture("h264-1920x1080-1s.mp4")).unwrap().fast_start, None);
    }

    #[test]
    fn stco_becomes_co64_when_a_moved_offset_would_not_fit_32_bits() {
        let original = fixture("hevc-hev1-aac-720x1280-1s.mp4");
        // The real limit is 4 GiB; a limit just above the first chunk's offset forces the upgrade.
        let (before, wide) = chunks(&original);
        assert_eq!(wide, [false, false]);
        let limit = before[0][0].0 + 100;
        let stored = rewrite(&original, limit).unwrap().unwrap();
        let (after, wide) = chunks(&stored);
        assert_eq!(wide, [true, true], "every stco upgraded");
        let entries: usize = before.iter().map(Vec::len).sum();
        assert_eq!(stored.len(), original.len() + 4 * entries);
        assert!(after.iter().flatten().any(|&(offset, _)| offset > limit));
        same_media(&original, &stored);
    }

    #[test]
    fn a_second_mdat_after_moov_and_co64_tables_are_moved_too() {
        let mut original = fixture("hevc-hev1-aac-720x1280-1s.mp4");
        let (before, _) = chunks(&original);
        // Copy the audio track's first chunk into an mdat after moov and point the table at it.
        let (offset, len) = before[1][0];
        let copy = original[offset as usize..][..len as usize].to_vec();
        let new_offset = original.len() as u64 + 8;
        original.extend_from_slice(&(len as u32 + 8).to_be_bytes());
        original.extend_from_slice(b"mdat");
        original.extend_from_slice(&copy);
        let stco = original.windows(4).enumerate().filter(|(_, w)| w == b"stco").map(|(i, _)| i).nth(1).unwrap();
        original[stco + 12..stco + 16].copy_from_slice(&(new_offset as u32).to_be_bytes());
        let stored = rewrite(&original, u64::MAX).unwrap().unwrap();
        assert_eq!(top(&stored), ["ftyp", "moov", "free", "mdat", "mdat"]);
        same_media(&original, &stored);
        // The same with 64-bit tables (what a file over 4 GiB has), which stay 64-bit.
        let upgraded = rewrite(&original, 100).unwrap().unwrap();
        let again = rewrite(&upgraded, u64::MAX).unwrap();
        assert_eq!(again, None, "co64 tables in a fast-start file");
        same_media(&original, &upgraded);
    }

    #[test]
    fn a_chunk_offset_inside_moov_is_refused() {
        let mut bytes = fixture("h264-aac-640x360-1s.mp4");
        let moov = bytes.windows(4).position(|w| w == b"moov").unwrap() - 4;
        let stco = bytes.windows(4).rposition(|w| w == b"stco").unwrap();
        bytes[stco + 12..stco + 16].copy_from_slice(&(moov as u32 + 8).to_be_bytes());
        assert_eq!(faststart::fast_start(&bytes), Err(VideoError::Corrupt));
    }
}
