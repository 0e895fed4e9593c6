//! A cursor over the bytes of a decoder configuration record (`avcC`,
//! `hvcC`): every read is bounds-checked and a short record is
//! [`VideoError::Corrupt`].

use super::VideoError;

/// The unread rest of a record.
pub(super) struct ByteReader<'a>(pub(super) &'a [u8]);

impl<'a> ByteReader<'a> {
    /// The next `n` bytes.
    pub(super) fn take(&mut self, n: usize) -> Result<&'a [u8], VideoError> {
        if self.0.len() < n {
            return Err(VideoError::Corrupt);
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    /// A parameter set with a 16-bit length prefix.
    pub(super) fn nal(&mut self) -> Result<&'a [u8], VideoError> {
        let len = self.take(2)?;
        self.take(usize::from(u16::from_be_bytes([len[0], len[1]])))
    }
}
