//! PTP datasets: the little-endian wire codec and the structured datasets
//! exchanged in data phases. Every parser is bounds-checked and returns an
//! error on malformed input; none panics.

mod codec;
mod device_info;
mod object_info;
mod prop_desc;
mod storage_info;

pub use codec::{Reader, Writer, MAX_STRING_UNITS};
pub use device_info::DeviceInfo;
pub use object_info::ObjectInfo;
pub use prop_desc::{DevicePropDesc, PropForm, PropValue};
pub use storage_info::StorageInfo;
