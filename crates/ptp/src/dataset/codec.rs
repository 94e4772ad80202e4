//! Bounds-checked little-endian reading and writing of PTP's primitive types.

use crate::error::WireError;

/// Most UTF-16 code units in a PTP string, including the terminating NUL.
pub const MAX_STRING_UNITS: usize = 255;

/// Reads PTP primitives from a byte slice; every read checks the remaining length.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

macro_rules! read_int {
    ($($name:ident: $ty:ty),*) => {
        $(
            pub fn $name(&mut self) -> Result<$ty, WireError> {
                let bytes = self.take(std::mem::size_of::<$ty>())?;
                let mut raw = [0u8; std::mem::size_of::<$ty>()];
                raw.copy_from_slice(bytes);
                Ok(<$ty>::from_le_bytes(raw))
            }
        )*
    };
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        if n > self.remaining() {
            return Err(WireError::Truncated {
                needed: n,
                offset: self.pos,
                available: self.remaining(),
            });
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    read_int!(u8: u8, u16: u16, u32: u32, u64: u64, u128: u128, i8: i8, i16: i16, i32: i32, i64: i64, i128: i128);

    /// A PTP string: a u8 count of UTF-16LE code units including the NUL, then
    /// the units. Count 0 is the empty string. Invalid UTF-16 is replaced
    /// rather than rejected: cameras put odd bytes in model names.
    pub fn string(&mut self) -> Result<String, WireError> {
        let count = usize::from(self.u8()?);
        if count == 0 {
            return Ok(String::new());
        }
        let bytes = self.take(count * 2)?;
        let units: Vec<u16> = bytes
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        let end = units.iter().position(|&u| u == 0).unwrap_or(units.len());
        Ok(String::from_utf16_lossy(&units[..end]))
    }

    /// A string that some devices leave off the end of a dataset: absent reads as empty.
    pub fn trailing_string(&mut self) -> Result<String, WireError> {
        if self.is_empty() {
            Ok(String::new())
        } else {
            self.string()
        }
    }

    /// An array's u32 element count, rejected when the remaining bytes cannot
    /// hold that many elements of `min_elem_size` bytes, so a hostile count
    /// never drives an allocation.
    pub fn array_len(&mut self, min_elem_size: usize) -> Result<usize, WireError> {
        let count = self.u32()? as usize;
        let needed = count.saturating_mul(min_elem_size.max(1));
        if needed > self.remaining() {
            return Err(WireError::Truncated {
                needed,
                offset: self.pos,
                available: self.remaining(),
            });
        }
        Ok(count)
    }

    pub fn array_u16(&mut self) -> Result<Vec<u16>, WireError> {
        let n = self.array_len(2)?;
        (0..n).map(|_| self.u16()).collect()
    }

    pub fn array_u32(&mut self) -> Result<Vec<u32>, WireError> {
        let n = self.array_len(4)?;
        (0..n).map(|_| self.u32()).collect()
    }
}

/// Builds PTP data in a growable buffer.
#[derive(Debug, Clone, Default)]
pub struct Writer {
    buf: Vec<u8>,
}

macro_rules! write_int {
    ($($name:ident: $ty:ty),*) => {
        $(
            pub fn $name(&mut self, v: $ty) -> &mut Self {
                self.buf.extend_from_slice(&v.to_le_bytes());
                self
            }
        )*
    };
}

impl Writer {
    pub fn new() -> Self {
        Self::default()
    }

    write_int!(u8: u8, u16: u16, u32: u32, u64: u64, u128: u128, i8: i8, i16: i16, i32: i32, i64: i64, i128: i128);

    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(b);
        self
    }

    /// A PTP string. Strings beyond 254 UTF-16 units are cut (at a character
    /// boundary) because the format's count is one byte.
    pub fn string(&mut self, s: &str) -> &mut Self {
        if s.is_empty() {
            return self.u8(0);
        }
        let mut units: Vec<u16> = Vec::with_capacity(s.len().min(MAX_STRING_UNITS));
        for ch in s.chars() {
            let mut pair = [0u16; 2];
            let encoded = ch.encode_utf16(&mut pair);
            if units.len() + encoded.len() > MAX_STRING_UNITS - 1 {
                tracing::warn!(len = s.len(), "PTP string truncated to 254 UTF-16 units");
                break;
            }
            units.extend_from_slice(encoded);
        }
        units.push(0);
        self.u8(units.len() as u8);
        for u in units {
            self.u16(u);
        }
        self
    }

    pub fn array_u16(&mut self, values: &[u16]) -> &mut Self {
        self.u32(values.len() as u32);
        for &v in values {
            self.u16(v);
        }
        self
    }

    pub fn array_u32(&mut self, values: &[u32]) -> &mut Self {
        self.u32(values.len() as u32);
        for &v in values {
            self.u32(v);
        }
        self
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub fn into_inner(self) -> Vec<u8> {
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ints_round_trip() {
        let mut w = Writer::new();
        w.u8(1)
            .u16(0x0203)
            .u32(0x0405_0607)
            .u64(u64::MAX - 1)
            .i16(-2)
            .i128(-5);
        let bytes = w.into_inner();
        let mut r = Reader::new(&bytes);
        assert_eq!(r.u8().unwrap(), 1);
        assert_eq!(r.u16().unwrap(), 0x0203);
        assert_eq!(r.u32().unwrap(), 0x0405_0607);
        assert_eq!(r.u64().unwrap(), u64::MAX - 1);
        assert_eq!(r.i16().unwrap(), -2);
        assert_eq!(r.i128().unwrap(), -5);
        assert!(r.is_empty());
        assert!(r.u8().is_err());
    }

    #[test]
    fn strings() {
        let mut w = Writer::new();
        w.string("").string("IMG_0001.JPG").string("Ünïcødé 📷");
        let bytes = w.into_inner();
        assert_eq!(bytes[0], 0);
        assert_eq!(bytes[1], 13);
        let mut r = Reader::new(&bytes);
        assert_eq!(r.string().unwrap(), "");
        assert_eq!(r.string().unwrap(), "IMG_0001.JPG");
        assert_eq!(r.string().unwrap(), "Ünïcødé 📷");
        assert_eq!(r.trailing_string().unwrap(), "");
    }

    #[test]
    fn long_string_is_cut() {
        let long = "x".repeat(400);
        let mut w = Writer::new();
        w.string(&long);
        let bytes = w.into_inner();
        assert_eq!(bytes[0], 255);
        assert_eq!(Reader::new(&bytes).string().unwrap().len(), 254);
    }

    #[test]
    fn hostile_array_count_is_rejected() {
        let bytes = [0xFF, 0xFF, 0xFF, 0xFF, 1, 0];
        assert!(Reader::new(&bytes).array_u16().is_err());
        let mut w = Writer::new();
        w.array_u32(&[1, 2, 3]);
        assert_eq!(
            Reader::new(&w.into_inner()).array_u32().unwrap(),
            vec![1, 2, 3]
        );
    }
}
