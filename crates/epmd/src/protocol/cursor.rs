//! A bounds-checked reader over a byte slice: every read checks what remains first.

use super::DecodeError;

/// Reads big-endian fields from a slice; each read fails with [`DecodeError::Truncated`]
/// instead of running past the end.
pub(crate) struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> Cursor<'a> {
    /// A cursor over `bytes`; `what` names the message in errors.
    pub(crate) fn new(bytes: &'a [u8], what: &'static str) -> Self {
        Cursor { bytes, pos: 0, what }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.remaining() < n {
            return Err(DecodeError::Truncated {
                what: self.what,
                needed: n,
                available: self.remaining(),
            });
        }
        let s = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let s = &self.bytes[self.pos..];
        self.pos = self.bytes.len();
        s
    }

    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, DecodeError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Fails with [`DecodeError::Trailing`] if anything is left.
    pub(crate) fn finish(&self) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            extra => Err(DecodeError::Trailing {
                what: self.what,
                extra,
            }),
        }
    }
}

/// Checks a node name read from the wire: non-empty, within the limit, UTF-8.
pub(crate) fn name_from_bytes(bytes: &[u8]) -> Result<String, DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::EmptyName);
    }
    if bytes.len() > super::MAX_NAME_BYTES {
        return Err(DecodeError::NameTooLong {
            len: bytes.len(),
            max: super::MAX_NAME_BYTES,
        });
    }
    std::str::from_utf8(bytes)
        .map(str::to_owned)
        .map_err(|_| DecodeError::NameNotUtf8)
}

/// Checks a node name before it goes on the wire.
pub(crate) fn check_name(name: &str) -> Result<(), super::EncodeError> {
    if name.is_empty() {
        return Err(super::EncodeError::EmptyName);
    }
    if name.len() > super::MAX_NAME_BYTES {
        return Err(super::EncodeError::NameTooLong {
            len: name.len(),
            max: super::MAX_NAME_BYTES,
        });
    }
    Ok(())
}
