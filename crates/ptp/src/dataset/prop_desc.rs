//! Device property descriptions and typed property values.

use super::{Reader, Writer};
use crate::codes::{datatype, DATATYPE_ARRAY_FLAG};
use crate::error::WireError;

/// A property value of any PTP data type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropValue {
    I8(i8),
    U8(u8),
    I16(i16),
    U16(u16),
    I32(i32),
    U32(u32),
    I64(i64),
    U64(u64),
    I128(i128),
    U128(u128),
    Str(String),
    /// Elements all of the array's scalar type.
    Array(Vec<PropValue>),
}

/// Encoded size of a scalar data type, `None` for strings, arrays and unknown types.
fn scalar_size(dt: u16) -> Option<usize> {
    Some(match dt {
        datatype::INT8 | datatype::UINT8 => 1,
        datatype::INT16 | datatype::UINT16 => 2,
        datatype::INT32 | datatype::UINT32 => 4,
        datatype::INT64 | datatype::UINT64 => 8,
        datatype::INT128 | datatype::UINT128 => 16,
        _ => return None,
    })
}

/// Fewest bytes one value of `dt` occupies: bounds list lengths before allocating.
fn min_encoded_size(dt: u16) -> usize {
    scalar_size(dt).unwrap_or(if dt == datatype::STR { 1 } else { 4 })
}

impl PropValue {
    /// Reads one value of data type `dt`.
    pub fn read(r: &mut Reader<'_>, dt: u16) -> Result<Self, WireError> {
        Ok(match dt {
            datatype::INT8 => Self::I8(r.i8()?),
            datatype::UINT8 => Self::U8(r.u8()?),
            datatype::INT16 => Self::I16(r.i16()?),
            datatype::UINT16 => Self::U16(r.u16()?),
            datatype::INT32 => Self::I32(r.i32()?),
            datatype::UINT32 => Self::U32(r.u32()?),
            datatype::INT64 => Self::I64(r.i64()?),
            datatype::UINT64 => Self::U64(r.u64()?),
            datatype::INT128 => Self::I128(r.i128()?),
            datatype::UINT128 => Self::U128(r.u128()?),
            datatype::STR => Self::Str(r.string()?),
            array if array & DATATYPE_ARRAY_FLAG != 0 => {
                let elem = array & !DATATYPE_ARRAY_FLAG;
                let size = scalar_size(elem).ok_or_else(|| {
                    WireError::Invalid(format!("unsupported array data type 0x{array:04X}"))
                })?;
                let n = r.array_len(size)?;
                Self::Array(
                    (0..n)
                        .map(|_| Self::read(r, elem))
                        .collect::<Result<_, _>>()?,
                )
            }
            other => {
                return Err(WireError::Invalid(format!(
                    "unsupported data type 0x{other:04X}"
                )))
            }
        })
    }

    /// Parses a whole GetDevicePropValue payload of data type `dt`.
    pub fn parse(bytes: &[u8], dt: u16) -> Result<Self, WireError> {
        Self::read(&mut Reader::new(bytes), dt)
    }

    pub fn write(&self, w: &mut Writer) {
        match self {
            Self::I8(v) => w.i8(*v),
            Self::U8(v) => w.u8(*v),
            Self::I16(v) => w.i16(*v),
            Self::U16(v) => w.u16(*v),
            Self::I32(v) => w.i32(*v),
            Self::U32(v) => w.u32(*v),
            Self::I64(v) => w.i64(*v),
            Self::U64(v) => w.u64(*v),
            Self::I128(v) => w.i128(*v),
            Self::U128(v) => w.u128(*v),
            Self::Str(s) => w.string(s),
            Self::Array(items) => {
                w.u32(items.len() as u32);
                for item in items {
                    item.write(w);
                }
                w
            }
        };
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        self.write(&mut w);
        w.into_inner()
    }

    /// The value as an unsigned integer, when it is a non-negative integer that fits.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Self::U8(v) => Some(v.into()),
            Self::U16(v) => Some(v.into()),
            Self::U32(v) => Some(v.into()),
            Self::U64(v) => Some(v),
            Self::U128(v) => v.try_into().ok(),
            Self::I8(v) => v.try_into().ok(),
            Self::I16(v) => v.try_into().ok(),
            Self::I32(v) => v.try_into().ok(),
            Self::I64(v) => v.try_into().ok(),
            Self::I128(v) => v.try_into().ok(),
            Self::Str(_) | Self::Array(_) => None,
        }
    }

    /// The value as a signed integer, when it is an integer that fits.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Self::I8(v) => Some(v.into()),
            Self::I16(v) => Some(v.into()),
            Self::I32(v) => Some(v.into()),
            Self::I64(v) => Some(v),
            Self::I128(v) => v.try_into().ok(),
            _ => self.as_u64().and_then(|v| v.try_into().ok()),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// The allowed values of a property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropForm {
    None,
    Range {
        min: PropValue,
        max: PropValue,
        step: PropValue,
    },
    Enum(Vec<PropValue>),
}

/// The DevicePropDesc dataset (answer to GetDevicePropDesc 0x1014).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevicePropDesc {
    pub code: u16,
    /// See [`crate::codes::datatype`].
    pub datatype: u16,
    /// The host may set it (GetSet byte 1) rather than only read it (0).
    pub writable: bool,
    pub factory_default: PropValue,
    pub current: PropValue,
    pub form: PropForm,
}

impl DevicePropDesc {
    pub fn parse(bytes: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(bytes);
        let code = r.u16()?;
        let dt = r.u16()?;
        let writable = r.u8()? != 0;
        let factory_default = PropValue::read(&mut r, dt)?;
        let current = PropValue::read(&mut r, dt)?;
        // A few devices stop before the form flag; that means "no form".
        let flag = if r.is_empty() { 0 } else { r.u8()? };
        let form = match flag {
            0 => PropForm::None,
            1 => PropForm::Range {
                min: PropValue::read(&mut r, dt)?,
                max: PropValue::read(&mut r, dt)?,
                step: PropValue::read(&mut r, dt)?,
            },
            2 => {
                let n = usize::from(r.u16()?);
                let needed = n * min_encoded_size(dt);
                if needed > r.remaining() {
                    return Err(WireError::Truncated {
                        needed,
                        offset: r.position(),
                        available: r.remaining(),
                    });
                }
                PropForm::Enum(
                    (0..n)
                        .map(|_| PropValue::read(&mut r, dt))
                        .collect::<Result<_, _>>()?,
                )
            }
            other => {
                return Err(WireError::Invalid(format!(
                    "unknown property form flag {other}"
                )))
            }
        };
        Ok(Self {
            code,
            datatype: dt,
            writable,
            factory_default,
            current,
            form,
        })
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u16(self.code)
            .u16(self.datatype)
            .u8(u8::from(self.writable));
        self.factory_default.write(&mut w);
        self.current.write(&mut w);
        match &self.form {
            PropForm::None => {
                w.u8(0);
            }
            PropForm::Range { min, max, step } => {
                w.u8(1);
                min.write(&mut w);
                max.write(&mut w);
                step.write(&mut w);
            }
            PropForm::Enum(values) => {
                w.u8(2).u16(values.len().min(usize::from(u16::MAX)) as u16);
                for v in values.iter().take(usize::from(u16::MAX)) {
                    v.write(&mut w);
                }
            }
        }
        w.into_inner()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn battery_range_round_trip() {
        let desc = DevicePropDesc {
            code: 0x5001,
            datatype: datatype::UINT8,
            writable: false,
            factory_default: PropValue::U8(100),
            current: PropValue::U8(87),
            form: PropForm::Range {
                min: PropValue::U8(0),
                max: PropValue::U8(100),
                step: PropValue::U8(1),
            },
        };
        let bytes = desc.encode();
        assert_eq!(bytes, [0x01, 0x50, 0x02, 0x00, 0x00, 100, 87, 1, 0, 100, 1]);
        assert_eq!(DevicePropDesc::parse(&bytes).unwrap(), desc);
    }

    #[test]
    fn enum_string_and_array_round_trip() {
        let desc = DevicePropDesc {
            code: 0x5005,
            datatype: datatype::UINT16,
            writable: true,
            factory_default: PropValue::U16(2),
            current: PropValue::U16(4),
            form: PropForm::Enum(vec![
                PropValue::U16(2),
                PropValue::U16(4),
                PropValue::U16(0x8001),
            ]),
        };
        assert_eq!(DevicePropDesc::parse(&desc.encode()).unwrap(), desc);

        let s = DevicePropDesc {
            code: 0x5011,
            datatype: datatype::STR,
            writable: true,
            factory_default: PropValue::Str(String::new()),
            current: PropValue::Str("20240601T120000".into()),
            form: PropForm::None,
        };
        assert_eq!(DevicePropDesc::parse(&s.encode()).unwrap(), s);

        let a = PropValue::Array(vec![PropValue::I32(-1), PropValue::I32(7)]);
        assert_eq!(PropValue::parse(&a.encode(), datatype::AINT32).unwrap(), a);
    }

    #[test]
    fn hostile_enum_count_is_rejected() {
        let bytes = [
            0x01, 0x50, 0x04, 0x00, 0x00, 1, 0, 1, 0, 2, 0xFF, 0xFF, 1, 0,
        ];
        assert!(DevicePropDesc::parse(&bytes).is_err());
        assert!(DevicePropDesc::parse(&[0x01, 0x50, 0x00, 0x00, 0, 0]).is_err());
    }

    #[test]
    fn conversions() {
        assert_eq!(PropValue::I8(-1).as_u64(), None);
        assert_eq!(PropValue::I8(-1).as_i64(), Some(-1));
        assert_eq!(PropValue::U32(5).as_i64(), Some(5));
        assert_eq!(PropValue::Str("a".into()).as_str(), Some("a"));
    }
}
