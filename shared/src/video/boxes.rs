//! ISO BMFF box walking, strict about sizes, and the sanitised `moov` handed to `mp4parse`.
//!
//! `mp4parse` reserves memory from counts and sizes it reads (an entry count of 2^32, a box that
//! claims more than its parent) before reading the entries. So we first walk the file ourselves,
//! check every box against its parent and every table count against its box, and rebuild a `moov`
//! holding only what the probe needs: `mvhd` and the video tracks' `tkhd`, `mdhd`, `hdlr` and
//! sample tables, with sample entries reduced to their fixed fields and `avcC` (`mp4parse` does
//! not read `hvcC`: it is kept aside, unparsed, for the probe). Anything
//! `mp4parse` then allocates is bounded by that rebuilt box, itself smaller than the input.

use super::VideoError;

/// One box: its type and its payload (after the header).
#[derive(Clone, Copy)]
pub(super) struct Bx<'a> {
    pub kind: [u8; 4],
    pub body: &'a [u8],
}

/// Splits `data` into boxes. A box that runs past the end of `data` is `Err(Corrupt)`; fewer than
/// 8 bytes left over (QuickTime ends some lists with a zero word) end the list.
pub(super) fn split(data: &[u8]) -> Result<Vec<Bx<'_>>, VideoError> {
    let mut out = Vec::new();
    let mut rest = data;
    while let Some((bx, tail)) = next_box(rest)? {
        out.push(bx);
        rest = tail;
    }
    Ok(out)
}

/// Reads one box header. `Ok(None)` if fewer than 8 bytes are left or the size is below the header.
pub(super) fn next_box(data: &[u8]) -> Result<Option<(Bx<'_>, &[u8])>, VideoError> {
    let Some((head, _)) = data.split_first_chunk::<8>() else {
        return Ok(None);
    };
    let size32 = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
    let kind = [head[4], head[5], head[6], head[7]];
    let (header, size) = match size32 {
        0 => (8, data.len() as u64),
        1 => {
            let Some((large, _)) = data[8..].split_first_chunk::<8>() else {
                return Ok(None);
            };
            (16, u64::from_be_bytes(*large))
        }
        n => (8, u64::from(n)),
    };
    if size < header {
        return Ok(None);
    }
    if size > data.len() as u64 {
        return Err(VideoError::Corrupt);
    }
    // `size <= data.len()`, so it fits a usize.
    let size = usize::try_from(size).map_err(|_| VideoError::Corrupt)?;
    let (whole, tail) = data.split_at(size);
    let header = usize::try_from(header).map_err(|_| VideoError::Corrupt)?;
    Ok(Some((Bx { kind, body: &whole[header..] }, tail)))
}

/// What the top level of the file holds.
pub(super) struct TopLevel<'a> {
    pub moov: Bx<'a>,
    pub has_moof: bool,
}

/// Types that may open an ISO BMFF / QuickTime file.
const FIRST_BOXES: [&[u8; 4]; 10] =
    [b"ftyp", b"styp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"uuid", b"sidx"];

/// Walks the top-level boxes: refuses what is not ISO BMFF, and truncated files.
pub(super) fn top_level(data: &[u8]) -> Result<TopLevel<'_>, VideoError> {
    let first_ok = data.get(4..8).is_some_and(|kind| FIRST_BOXES.iter().any(|b| b.as_slice() == kind));
    if !first_ok {
        return Err(VideoError::NotMp4);
    }
    let (mut moov, mut has_moof) = (None, false);
    let mut rest = data;
    // A few stray bytes at the very end (padding) are tolerated; a box running past the end is not.
    while rest.len() >= 8 {
        let Some((bx, tail)) = next_box(rest)? else {
            return Err(if moov.is_some() { VideoError::Corrupt } else { VideoError::NotMp4 });
        };
        match &bx.kind {
            b"moov" if moov.is_none() => moov = Some(bx),
            b"moov" => return Err(VideoError::Corrupt),
            b"moof" => has_moof = true,
            _ => {}
        }
        rest = tail;
    }
    // A complete box structure without a movie is not a video (e.g. a HEIF image).
    let moov = moov.ok_or(VideoError::NotMp4)?;
    Ok(TopLevel { moov, has_moof })
}

/// A video track as found by the walk, before `mp4parse`.
pub(super) struct VideoTrack<'a> {
    /// The four-character code of each sample entry, in order.
    pub entries: Vec<[u8; 4]>,
    /// The decoder configuration payload of each sample entry: `avcC` for `avc1`/`avc3`, `hvcC`
    /// for `hvc1`/`hev1` (empty when it has none).
    pub config: Vec<&'a [u8]>,
}

/// The rebuilt `moov` and the video tracks it holds, in the same order.
pub(super) struct Sanitised<'a> {
    pub moov: Vec<u8>,
    pub tracks: Vec<VideoTrack<'a>>,
    pub has_mvex: bool,
}

/// The largest `moov` accepted: ten minutes at 60 frames per second need about 1 MB of tables.
pub(super) const MAX_MOOV_BYTES: usize = 64 << 20;

pub(super) fn sanitise(moov: Bx<'_>) -> Result<Sanitised<'_>, VideoError> {
    if moov.body.len() > MAX_MOOV_BYTES {
        return Err(VideoError::Corrupt);
    }
    let mut out = Sanitised { moov: Vec::new(), tracks: Vec::new(), has_mvex: false };
    let mut body = Vec::new();
    for bx in split(moov.body)? {
        match &bx.kind {
            b"mvhd" => put(&mut body, bx.kind, bx.body),
            b"mvex" => out.has_mvex = true,
            b"trak" => {
                if let Some((trak, track)) = video_trak(bx)? {
                    put(&mut body, *b"trak", &trak);
                    out.tracks.push(track);
                }
            }
            _ => {}
        }
    }
    put(&mut out.moov, *b"moov", &body);
    Ok(out)
}

/// Appends a box with a 32-bit size. `sanitise` refuses a `moov` over [`MAX_MOOV_BYTES`], and what
/// we write is at most a few times that, so the size fits.
pub(super) fn put(out: &mut Vec<u8>, kind: [u8; 4], body: &[u8]) {
    let size = u32::try_from(body.len() + 8).unwrap_or(u32::MAX);
    out.extend_from_slice(&size.to_be_bytes());
    out.extend_from_slice(&kind);
    out.extend_from_slice(body);
}

fn child<'a>(boxes: &[Bx<'a>], kind: &[u8; 4]) -> Option<Bx<'a>> {
    boxes.iter().find(|b| &b.kind == kind).copied()
}

/// Rebuilds a `trak` if it is a video track: `tkhd` + `mdia(mdhd, hdlr, minf(stbl(...)))`.
fn video_trak(trak: Bx<'_>) -> Result<Option<(Vec<u8>, VideoTrack<'_>)>, VideoError> {
    let boxes = split(trak.body)?;
    let (Some(tkhd), Some(mdia)) = (child(&boxes, b"tkhd"), child(&boxes, b"mdia")) else {
        return Ok(None);
    };
    let mdia_boxes = split(mdia.body)?;
    let (Some(mdhd), Some(hdlr)) = (child(&mdia_boxes, b"mdhd"), child(&mdia_boxes, b"hdlr")) else {
        return Ok(None);
    };
    // hdlr: version/flags, pre_defined (QuickTime: component type), handler_type.
    if hdlr.body.get(8..12) != Some(b"vide".as_slice()) {
        return Ok(None);
    }
    let stbl = child(&mdia_boxes, b"minf")
        .map(|minf| split(minf.body))
        .transpose()?
        .and_then(|minf| child(&minf, b"stbl"))
        .ok_or(VideoError::Corrupt)?;
    let (stbl_body, track) = sample_table(stbl)?;

    // A minimal hdlr: QuickTime's Pascal-string names are not what mp4parse expects.
    let mut hdlr_body = vec![0u8; 8];
    hdlr_body.extend_from_slice(b"vide");
    hdlr_body.extend_from_slice(&[0; 13]);
    let mut minf = Vec::new();
    put(&mut minf, *b"stbl", &stbl_body);
    let mut mdia_body = Vec::new();
    put(&mut mdia_body, *b"mdhd", mdhd.body);
    put(&mut mdia_body, *b"hdlr", &hdlr_body);
    put(&mut mdia_body, *b"minf", &minf);
    let mut trak_body = Vec::new();
    put(&mut trak_body, *b"tkhd", tkhd.body);
    put(&mut trak_body, *b"mdia", &mdia_body);
    Ok(Some((trak_body, track)))
}

/// Checks the sample tables' counts against their sizes and rebuilds `stbl`.
fn sample_table(stbl: Bx<'_>) -> Result<(Vec<u8>, VideoTrack<'_>), VideoError> {
    let mut out = Vec::new();
    let mut track = VideoTrack { entries: Vec::new(), config: Vec::new() };
    for bx in split(stbl.body)? {
        // (offset of the entry count after version/flags, bytes per entry)
        let table = match &bx.kind {
            b"stts" => Some((4, 8)),
            b"stsc" => Some((4, 12)),
            b"stco" | b"stss" => Some((4, 4)),
            b"co64" => Some((4, 8)),
            // stsz: sample_size, then the count; entries only when sample_size is 0.
            b"stsz" => Some((8, if read_u32(bx.body, 4)? == 0 { 4 } else { 0 })),
            b"stsd" => {
                put(&mut out, *b"stsd", &sample_descriptions(bx.body, &mut track)?);
                None
            }
            _ => None,
        };
        if let Some((at, entry)) = table {
            let count = u64::from(read_u32(bx.body, at)?);
            let room = (bx.body.len() - (at + 4)) as u64;
            if count * entry > room {
                return Err(VideoError::Corrupt);
            }
            put(&mut out, bx.kind, bx.body);
        }
    }
    Ok((out, track))
}

/// Rebuilds `stsd`: each visual sample entry keeps its 78 bytes of fixed fields and its `avcC`;
/// the `hvcC` of an HEVC entry is recorded but left out (`mp4parse` would not read it).
fn sample_descriptions<'a>(body: &'a [u8], track: &mut VideoTrack<'a>) -> Result<Vec<u8>, VideoError> {
    let count = usize::try_from(read_u32(body, 4)?).map_err(|_| VideoError::Corrupt)?;
    let entries = split(body.get(8..).ok_or(VideoError::Corrupt)?)?;
    if count > entries.len() {
        return Err(VideoError::Corrupt);
    }
    let mut out = body[..8].to_vec();
    for entry in entries.into_iter().take(count) {
        let fixed = entry.body.get(..78).ok_or(VideoError::Corrupt)?;
        let wanted: &[u8; 4] = if matches!(&entry.kind, b"hvc1" | b"hev1") { b"hvcC" } else { b"avcC" };
        let config = split(&entry.body[78..])?.into_iter().find(|b| &b.kind == wanted).map(|b| b.body);
        let mut rebuilt = fixed.to_vec();
        if let Some(avcc) = config.filter(|_| wanted == b"avcC") {
            put(&mut rebuilt, *b"avcC", avcc);
        }
        put(&mut out, entry.kind, &rebuilt);
        track.entries.push(entry.kind);
        track.config.push(config.unwrap_or_default());
    }
    Ok(out)
}

fn read_u32(data: &[u8], at: usize) -> Result<u32, VideoError> {
    let bytes = data.get(at..at + 4).ok_or(VideoError::Corrupt)?;
    Ok(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}
