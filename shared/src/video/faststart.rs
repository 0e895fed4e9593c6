//! Fast start: a file whose `moov` comes after its media data is rewritten with `moov` first, so a
//! player can start from the first bytes it fetches instead of reading to the end of the file.
//!
//! Phones write `moov` last (they only know the sample tables once recording stops). Moving it
//! shifts every byte between its new and its old place, so every chunk offset of every track
//! (`stco`, 32-bit, and `co64`, 64-bit) is moved by the same amount. A `stco` whose new offsets
//! would not fit 32 bits is rewritten as a `co64` (which makes `moov` longer: the amount is found
//! first, then applied). The layout, for boxes in file order:
//!
//! ```text
//! before: ftyp [free|wide…] mdat … moov rest
//! after:  ftyp moov [free|wide…] mdat … rest
//! ```
//!
//! `moov` goes right before the first `mdat`, ahead of the `free`/`skip`/`wide` boxes that lead up
//! to it (QuickTime's `wide` is there to let `mdat` grow a 64-bit header in place, so it stays next
//! to it). Every other box keeps its bytes and its order; several `mdat`s are fine (offsets into
//! one after the old `moov` move by the change in its length only).
//!
//! Left untouched: files whose `moov` already comes before every `mdat`, and fragmented files
//! (`moof` at the top, or `mvex` in `moov`): they stream already, and their fragments carry offsets
//! of their own. Refused as corrupt: a chunk offset inside the old `moov`, and sample auxiliary
//! information offsets (`saio`, only in encrypted files, which the probe refuses anyway).
//!
//! Bounded: the input is walked once; `moov` (at most [`boxes::MAX_MOOV_BYTES`]) is rebuilt at most
//! three times; the output is the input's length plus 4 bytes per upgraded chunk offset.

use super::VideoError;
use super::boxes::{self, Bx};

/// Returns the file rewritten with `moov` before `mdat`, or `None` when it needs no rewrite.
pub(super) fn fast_start(bytes: &[u8]) -> Result<Option<Vec<u8>>, VideoError> {
    rewrite(bytes, u64::from(u32::MAX))
}

/// Why a rebuild of `moov` failed.
enum Failure {
    /// A 32-bit chunk offset would exceed the limit: rebuild with `co64`.
    Overflow,
    Invalid(VideoError),
}

impl From<VideoError> for Failure {
    fn from(error: VideoError) -> Self {
        Failure::Invalid(error)
    }
}

/// [`fast_start`] with the largest offset a `stco` may hold as a parameter (tests lower it to
/// exercise the upgrade to `co64` without a 4 GB file).
pub(super) fn rewrite(bytes: &[u8], stco_max: u64) -> Result<Option<Vec<u8>>, VideoError> {
    // Top-level boxes: (type, start, end) in file order.
    let mut top = Vec::new();
    let mut rest = bytes;
    while rest.len() >= 8 {
        let start = bytes.len() - rest.len();
        let Some((bx, tail)) = boxes::next_box(rest)? else {
            return Err(VideoError::Corrupt);
        };
        rest = tail;
        top.push((bx, start, bytes.len() - rest.len()));
    }
    if top.iter().any(|(bx, ..)| &bx.kind == b"moof") {
        return Ok(None);
    }
    let mut movies = top.iter().filter(|(bx, ..)| &bx.kind == b"moov");
    let (Some(&(moov, moov_start, moov_end)), None) = (movies.next(), movies.next()) else {
        return Err(VideoError::Corrupt);
    };
    let Some(first_mdat) = top.iter().position(|(bx, ..)| &bx.kind == b"mdat") else {
        return Ok(None);
    };
    if top[first_mdat].1 > moov_start || boxes::split(moov.body)?.iter().any(|b| &b.kind == b"mvex") {
        return Ok(None);
    }
    // Step back over the padding boxes that lead up to the first mdat.
    let mut at = first_mdat;
    while at > 0 && matches!(&top[at - 1].0.kind, b"free" | b"skip" | b"wide") {
        at -= 1;
    }
    let insert_at = top[at].1;
    let old_len = (moov_end - moov_start) as u64;
    let (insert_at_u64, moov_start_u64, moov_end_u64) = (insert_at as u64, moov_start as u64, moov_end as u64);
    // Where a byte of the input lands once a moov of `new_len` bytes goes to `insert_at`.
    let mapping = |new_len: u64| {
        move |offset: u64| -> Result<u64, VideoError> {
            if offset < insert_at_u64 {
                Ok(offset)
            } else if offset < moov_start_u64 {
                offset.checked_add(new_len).ok_or(VideoError::Corrupt)
            } else if offset >= moov_end_u64 {
                (offset - old_len).checked_add(new_len).ok_or(VideoError::Corrupt)
            } else {
                Err(VideoError::Corrupt)
            }
        }
    };
    let identity = |offset: u64| Ok(offset);
    let attempt = |co64: bool| -> Result<Vec<u8>, Failure> {
        let new_len = rebuild_moov(moov, co64, u64::MAX, &identity)?.len() as u64;
        rebuild_moov(moov, co64, stco_max, &mapping(new_len))
    };
    let new_moov = match attempt(false) {
        Ok(moov) => moov,
        Err(Failure::Overflow) => match attempt(true) {
            Ok(moov) => moov,
            Err(Failure::Overflow) => return Err(VideoError::Corrupt),
            Err(Failure::Invalid(error)) => return Err(error),
        },
        Err(Failure::Invalid(error)) => return Err(error),
    };
    let mut out = Vec::with_capacity(bytes.len() + new_moov.len());
    out.extend_from_slice(&bytes[..insert_at]);
    out.extend_from_slice(&new_moov);
    out.extend_from_slice(&bytes[insert_at..moov_start]);
    out.extend_from_slice(&bytes[moov_end..]);
    Ok(Some(out))
}

type Map<'a> = &'a dyn Fn(u64) -> Result<u64, VideoError>;

/// Rebuilds `moov` with every chunk offset mapped; `co64` turns every `stco` into a `co64`.
fn rebuild_moov(moov: Bx<'_>, co64: bool, stco_max: u64, map: Map<'_>) -> Result<Vec<u8>, Failure> {
    let mut out = Vec::new();
    boxes::put(&mut out, *b"moov", &rebuild(moov.body, 0, co64, stco_max, map)?);
    Ok(out)
}

/// The containers on the way from `moov` to the chunk offsets, by depth.
const PATH: [&[u8; 4]; 4] = [b"trak", b"mdia", b"minf", b"stbl"];

/// Rebuilds the children of a container at `depth` along [`PATH`]: the next container on the path
/// is rebuilt, chunk offset tables (in `stbl`) are mapped, anything else is copied as it is.
fn rebuild(body: &[u8], depth: usize, co64: bool, stco_max: u64, map: Map<'_>) -> Result<Vec<u8>, Failure> {
    let mut out = Vec::with_capacity(body.len());
    for child in boxes::split(body)? {
        match (&child.kind, PATH.get(depth)) {
            (kind, Some(&next)) if kind == next => {
                let inner = rebuild(child.body, depth + 1, co64, stco_max, map)?;
                boxes::put(&mut out, child.kind, &inner);
            }
            (b"stco" | b"co64", None) => chunk_offsets(&mut out, child, co64, stco_max, map)?,
            (b"saio", None) => return Err(Failure::Invalid(VideoError::Corrupt)),
            _ => boxes::put(&mut out, child.kind, child.body),
        }
    }
    Ok(out)
}

/// Writes a chunk offset table with every offset mapped: a `co64` stays one; a `stco` stays one
/// unless `co64`, and fails with `Overflow` if a mapped offset exceeds `stco_max`.
fn chunk_offsets(out: &mut Vec<u8>, table: Bx<'_>, co64: bool, stco_max: u64, map: Map<'_>) -> Result<(), Failure> {
    let wide = &table.kind == b"co64";
    let width = if wide { 8 } else { 4 };
    let count = table.body.get(4..8).ok_or(VideoError::Corrupt)?;
    let count = u32::from_be_bytes([count[0], count[1], count[2], count[3]]) as usize;
    let entries = count.checked_mul(width).and_then(|len| table.body.get(8..8 + len)).ok_or(VideoError::Corrupt)?;
    let write_wide = wide || co64;
    let mut body = Vec::with_capacity(8 + count * if write_wide { 8 } else { 4 });
    body.extend_from_slice(&[0, 0, 0, 0]); // version 0, no flags
    body.extend_from_slice(&table.body[4..8]);
    for entry in entries.chunks_exact(width) {
        let offset = entry.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        let mapped = map(offset)?;
        if write_wide {
            body.extend_from_slice(&mapped.to_be_bytes());
        } else {
            let narrow = u32::try_from(mapped).ok().filter(|&m| u64::from(m) <= stco_max).ok_or(Failure::Overflow)?;
            body.extend_from_slice(&narrow.to_be_bytes());
        }
    }
    boxes::put(out, if write_wide { *b"co64" } else { *b"stco" }, &body);
    Ok(())
}
