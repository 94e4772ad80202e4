//! Numeric codes of PTP (ISO 15740), its MTP extension and the vendor
//! extensions Hotshoe relies on, with names for logs.
//!
//! Vendor operation codes overlap between vendors in general (each vendor owns
//! the 0x9000 range for itself); the ones listed here happen not to collide,
//! so one flat name table serves logs. A vendor-aware lookup belongs with the
//! vendor models when they arrive.

use std::fmt;

/// Declares a module of `u16` constants and a name lookup over the same table,
/// so a constant can never lack a name. Duplicate values fail the build through
/// the unreachable-pattern lint.
macro_rules! code_table {
    ($(#[$modmeta:meta])* $module:ident, $lookup:ident, $fallback:literal {
        $( $(#[$meta:meta])* $name:ident = $value:literal => $label:literal, )*
    }) => {
        $(#[$modmeta])*
        pub mod $module {
            $( $(#[$meta])* pub const $name: u16 = $value; )*
        }

        #[doc = concat!("Name of a code from [`", stringify!($module), "`], or `\"", $fallback, "\"`.")]
        pub fn $lookup(code: u16) -> &'static str {
            #[deny(unreachable_patterns)]
            match code {
                $( $value => $label, )*
                _ => $fallback,
            }
        }
    };
}

code_table! {
    /// Operation codes: standard PTP (0x10xx), MTP (0x98xx) and vendor ones.
    operation, operation_name, "UnknownOperation" {
        GET_DEVICE_INFO = 0x1001 => "GetDeviceInfo",
        OPEN_SESSION = 0x1002 => "OpenSession",
        CLOSE_SESSION = 0x1003 => "CloseSession",
        GET_STORAGE_IDS = 0x1004 => "GetStorageIDs",
        GET_STORAGE_INFO = 0x1005 => "GetStorageInfo",
        GET_NUM_OBJECTS = 0x1006 => "GetNumObjects",
        GET_OBJECT_HANDLES = 0x1007 => "GetObjectHandles",
        GET_OBJECT_INFO = 0x1008 => "GetObjectInfo",
        GET_OBJECT = 0x1009 => "GetObject",
        GET_THUMB = 0x100A => "GetThumb",
        DELETE_OBJECT = 0x100B => "DeleteObject",
        SEND_OBJECT_INFO = 0x100C => "SendObjectInfo",
        SEND_OBJECT = 0x100D => "SendObject",
        INITIATE_CAPTURE = 0x100E => "InitiateCapture",
        FORMAT_STORE = 0x100F => "FormatStore",
        RESET_DEVICE = 0x1010 => "ResetDevice",
        SELF_TEST = 0x1011 => "SelfTest",
        SET_OBJECT_PROTECTION = 0x1012 => "SetObjectProtection",
        POWER_DOWN = 0x1013 => "PowerDown",
        GET_DEVICE_PROP_DESC = 0x1014 => "GetDevicePropDesc",
        GET_DEVICE_PROP_VALUE = 0x1015 => "GetDevicePropValue",
        SET_DEVICE_PROP_VALUE = 0x1016 => "SetDevicePropValue",
        RESET_DEVICE_PROP_VALUE = 0x1017 => "ResetDevicePropValue",
        TERMINATE_OPEN_CAPTURE = 0x1018 => "TerminateOpenCapture",
        MOVE_OBJECT = 0x1019 => "MoveObject",
        COPY_OBJECT = 0x101A => "CopyObject",
        GET_PARTIAL_OBJECT = 0x101B => "GetPartialObject",
        INITIATE_OPEN_CAPTURE = 0x101C => "InitiateOpenCapture",

        MTP_GET_OBJECT_PROPS_SUPPORTED = 0x9801 => "MTP.GetObjectPropsSupported",
        MTP_GET_OBJECT_PROP_DESC = 0x9802 => "MTP.GetObjectPropDesc",
        MTP_GET_OBJECT_PROP_VALUE = 0x9803 => "MTP.GetObjectPropValue",
        MTP_SET_OBJECT_PROP_VALUE = 0x9804 => "MTP.SetObjectPropValue",
        MTP_GET_OBJECT_PROP_LIST = 0x9805 => "MTP.GetObjectPropList",
        MTP_SET_OBJECT_PROP_LIST = 0x9806 => "MTP.SetObjectPropList",
        MTP_GET_INTERDEPENDENT_PROP_DESC = 0x9807 => "MTP.GetInterdependentPropDesc",
        MTP_SEND_OBJECT_PROP_LIST = 0x9808 => "MTP.SendObjectPropList",
        MTP_GET_OBJECT_REFERENCES = 0x9810 => "MTP.GetObjectReferences",
        MTP_SET_OBJECT_REFERENCES = 0x9811 => "MTP.SetObjectReferences",
        /// Android's 64-bit offset variant of GetPartialObject.
        MTP_GET_PARTIAL_OBJECT_64 = 0x95C1 => "MTP.GetPartialObject64",

        /// Canon EOS: required before the camera reports shots to the host.
        CANON_EOS_SET_REMOTE_MODE = 0x9114 => "Canon.EOS.SetRemoteMode",
        CANON_EOS_SET_EVENT_MODE = 0x9115 => "Canon.EOS.SetEventMode",
        /// Canon EOS: polled event queue (the interrupt pipe stays silent).
        CANON_EOS_GET_EVENT = 0x9116 => "Canon.EOS.GetEvent",
        CANON_EOS_TRANSFER_COMPLETE = 0x9117 => "Canon.EOS.TransferComplete",
        /// Canon EOS: keeps the camera from sleeping while tethered.
        CANON_EOS_KEEP_DEVICE_ON = 0x911D => "Canon.EOS.KeepDeviceOn",

        /// Nikon: polled event queue.
        NIKON_GET_EVENT = 0x90C7 => "Nikon.GetEvent",
        NIKON_GET_EVENT_EX = 0x941C => "Nikon.GetEventEx",

        /// Sony: SDIO connect handshake, sent with phases 1, 2, 3.
        SONY_SDIO_CONNECT = 0x9201 => "Sony.SDIOConnect",
        SONY_GET_SDIO_EXT_DEVICE_INFO = 0x9202 => "Sony.GetSDIOGetExtDeviceInfo",
        SONY_GET_ALL_EXT_DEVICE_PROP_INFO = 0x9209 => "Sony.GetAllExtDevicePropInfo",
    }
}

code_table! {
    /// Response codes: standard PTP (0x20xx) and MTP (0xA8xx).
    response, response_name, "UnknownResponse" {
        UNDEFINED = 0x2000 => "Undefined",
        OK = 0x2001 => "OK",
        GENERAL_ERROR = 0x2002 => "GeneralError",
        SESSION_NOT_OPEN = 0x2003 => "SessionNotOpen",
        INVALID_TRANSACTION_ID = 0x2004 => "InvalidTransactionID",
        OPERATION_NOT_SUPPORTED = 0x2005 => "OperationNotSupported",
        PARAMETER_NOT_SUPPORTED = 0x2006 => "ParameterNotSupported",
        INCOMPLETE_TRANSFER = 0x2007 => "IncompleteTransfer",
        INVALID_STORAGE_ID = 0x2008 => "InvalidStorageID",
        INVALID_OBJECT_HANDLE = 0x2009 => "InvalidObjectHandle",
        DEVICE_PROP_NOT_SUPPORTED = 0x200A => "DevicePropNotSupported",
        INVALID_OBJECT_FORMAT_CODE = 0x200B => "InvalidObjectFormatCode",
        STORE_FULL = 0x200C => "StoreFull",
        OBJECT_WRITE_PROTECTED = 0x200D => "ObjectWriteProtected",
        STORE_READ_ONLY = 0x200E => "StoreReadOnly",
        ACCESS_DENIED = 0x200F => "AccessDenied",
        NO_THUMBNAIL_PRESENT = 0x2010 => "NoThumbnailPresent",
        SELF_TEST_FAILED = 0x2011 => "SelfTestFailed",
        PARTIAL_DELETION = 0x2012 => "PartialDeletion",
        STORE_NOT_AVAILABLE = 0x2013 => "StoreNotAvailable",
        SPECIFICATION_BY_FORMAT_UNSUPPORTED = 0x2014 => "SpecificationByFormatUnsupported",
        NO_VALID_OBJECT_INFO = 0x2015 => "NoValidObjectInfo",
        INVALID_CODE_FORMAT = 0x2016 => "InvalidCodeFormat",
        UNKNOWN_VENDOR_CODE = 0x2017 => "UnknownVendorCode",
        CAPTURE_ALREADY_TERMINATED = 0x2018 => "CaptureAlreadyTerminated",
        DEVICE_BUSY = 0x2019 => "DeviceBusy",
        INVALID_PARENT_OBJECT = 0x201A => "InvalidParentObject",
        INVALID_DEVICE_PROP_FORMAT = 0x201B => "InvalidDevicePropFormat",
        INVALID_DEVICE_PROP_VALUE = 0x201C => "InvalidDevicePropValue",
        INVALID_PARAMETER = 0x201D => "InvalidParameter",
        SESSION_ALREADY_OPEN = 0x201E => "SessionAlreadyOpen",
        TRANSACTION_CANCELLED = 0x201F => "TransactionCancelled",
        SPECIFICATION_OF_DESTINATION_UNSUPPORTED = 0x2020 => "SpecificationOfDestinationUnsupported",

        MTP_INVALID_OBJECT_PROP_CODE = 0xA801 => "MTP.InvalidObjectPropCode",
        MTP_INVALID_OBJECT_PROP_FORMAT = 0xA802 => "MTP.InvalidObjectPropFormat",
        MTP_INVALID_OBJECT_PROP_VALUE = 0xA803 => "MTP.InvalidObjectPropValue",
        MTP_INVALID_OBJECT_REFERENCE = 0xA804 => "MTP.InvalidObjectReference",
        MTP_INVALID_DATASET = 0xA806 => "MTP.InvalidDataset",
        MTP_OBJECT_TOO_LARGE = 0xA809 => "MTP.ObjectTooLarge",
    }
}

code_table! {
    /// Event codes: standard PTP (0x40xx) and vendor ones (0xCxxx).
    event, event_name, "UnknownEvent" {
        UNDEFINED = 0x4000 => "Undefined",
        CANCEL_TRANSACTION = 0x4001 => "CancelTransaction",
        OBJECT_ADDED = 0x4002 => "ObjectAdded",
        OBJECT_REMOVED = 0x4003 => "ObjectRemoved",
        STORE_ADDED = 0x4004 => "StoreAdded",
        STORE_REMOVED = 0x4005 => "StoreRemoved",
        DEVICE_PROP_CHANGED = 0x4006 => "DevicePropChanged",
        OBJECT_INFO_CHANGED = 0x4007 => "ObjectInfoChanged",
        DEVICE_INFO_CHANGED = 0x4008 => "DeviceInfoChanged",
        REQUEST_OBJECT_TRANSFER = 0x4009 => "RequestObjectTransfer",
        STORE_FULL = 0x400A => "StoreFull",
        DEVICE_RESET = 0x400B => "DeviceReset",
        STORAGE_INFO_CHANGED = 0x400C => "StorageInfoChanged",
        CAPTURE_COMPLETE = 0x400D => "CaptureComplete",
        UNREPORTED_STATUS = 0x400E => "UnreportedStatus",

        /// Nikon: a shot waits in the camera's SDRAM, not on the card.
        NIKON_OBJECT_ADDED_IN_SDRAM = 0xC101 => "Nikon.ObjectAddedInSDRAM",
        /// Canon EOS (reported through GetEvent 0x9116, not the interrupt pipe).
        CANON_EOS_OBJECT_ADDED_EX = 0xC181 => "Canon.EOS.ObjectAddedEx",
        CANON_EOS_REQUEST_OBJECT_TRANSFER = 0xC186 => "Canon.EOS.RequestObjectTransfer",
        CANON_EOS_OBJECT_ADDED_EX64 = 0xC1A7 => "Canon.EOS.ObjectAddedEx64",
        /// Sony: arrives before the shot is readable; poll property 0xD215 instead.
        SONY_OBJECT_ADDED = 0xC201 => "Sony.ObjectAdded",
        SONY_PROPERTY_CHANGED = 0xC203 => "Sony.PropertyChanged",
    }
}

code_table! {
    /// Object format codes.
    format, format_name, "UnknownFormat" {
        UNDEFINED = 0x3000 => "Undefined",
        ASSOCIATION = 0x3001 => "Association",
        SCRIPT = 0x3002 => "Script",
        EXECUTABLE = 0x3003 => "Executable",
        TEXT = 0x3004 => "Text",
        HTML = 0x3005 => "HTML",
        DPOF = 0x3006 => "DPOF",
        AIFF = 0x3007 => "AIFF",
        WAV = 0x3008 => "WAV",
        MP3 = 0x3009 => "MP3",
        AVI = 0x300A => "AVI",
        MPEG = 0x300B => "MPEG",
        ASF = 0x300C => "ASF",
        UNDEFINED_IMAGE = 0x3800 => "UndefinedImage",
        EXIF_JPEG = 0x3801 => "EXIF/JPEG",
        TIFF_EP = 0x3802 => "TIFF/EP",
        FLASHPIX = 0x3803 => "FlashPix",
        BMP = 0x3804 => "BMP",
        CIFF = 0x3805 => "CIFF",
        GIF = 0x3807 => "GIF",
        JFIF = 0x3808 => "JFIF",
        PCD = 0x3809 => "PCD",
        PICT = 0x380A => "PICT",
        PNG = 0x380B => "PNG",
        TIFF = 0x380D => "TIFF",
        TIFF_IT = 0x380E => "TIFF/IT",
        JP2 = 0x380F => "JP2",
        JPX = 0x3810 => "JPX",
        /// MTP's code for DNG raw files.
        DNG = 0x3811 => "DNG",
        HEIF = 0x3812 => "HEIF",
        CANON_CRW = 0xB101 => "Canon.CRW",
        CANON_CR2 = 0xB103 => "Canon.CR2",
        CANON_CR3 = 0xB108 => "Canon.CR3",
    }
}

code_table! {
    /// Device property codes.
    property, property_name, "UnknownProperty" {
        UNDEFINED = 0x5000 => "Undefined",
        BATTERY_LEVEL = 0x5001 => "BatteryLevel",
        FUNCTIONAL_MODE = 0x5002 => "FunctionalMode",
        IMAGE_SIZE = 0x5003 => "ImageSize",
        COMPRESSION_SETTING = 0x5004 => "CompressionSetting",
        WHITE_BALANCE = 0x5005 => "WhiteBalance",
        RGB_GAIN = 0x5006 => "RGBGain",
        F_NUMBER = 0x5007 => "FNumber",
        FOCAL_LENGTH = 0x5008 => "FocalLength",
        FOCUS_DISTANCE = 0x5009 => "FocusDistance",
        FOCUS_MODE = 0x500A => "FocusMode",
        EXPOSURE_METERING_MODE = 0x500B => "ExposureMeteringMode",
        FLASH_MODE = 0x500C => "FlashMode",
        EXPOSURE_TIME = 0x500D => "ExposureTime",
        EXPOSURE_PROGRAM_MODE = 0x500E => "ExposureProgramMode",
        EXPOSURE_INDEX = 0x500F => "ExposureIndex",
        EXPOSURE_BIAS_COMPENSATION = 0x5010 => "ExposureBiasCompensation",
        DATE_TIME = 0x5011 => "DateTime",
        CAPTURE_DELAY = 0x5012 => "CaptureDelay",
        STILL_CAPTURE_MODE = 0x5013 => "StillCaptureMode",
        CONTRAST = 0x5014 => "Contrast",
        SHARPNESS = 0x5015 => "Sharpness",
        DIGITAL_ZOOM = 0x5016 => "DigitalZoom",
        EFFECT_MODE = 0x5017 => "EffectMode",
        BURST_NUMBER = 0x5018 => "BurstNumber",
        BURST_INTERVAL = 0x5019 => "BurstInterval",
        TIMELAPSE_NUMBER = 0x501A => "TimelapseNumber",
        TIMELAPSE_INTERVAL = 0x501B => "TimelapseInterval",
        FOCUS_METERING_MODE = 0x501C => "FocusMeteringMode",
        UPLOAD_URL = 0x501D => "UploadURL",
        ARTIST = 0x501E => "Artist",
        COPYRIGHT_INFO = 0x501F => "CopyrightInfo",
        /// Sony: a value above 0x8000 means a shot waits at handle 0xFFFFC001.
        SONY_OBJECT_IN_MEMORY = 0xD215 => "Sony.ObjectInMemory",
    }
}

code_table! {
    /// Data type codes used by property descriptions. An array type is the
    /// scalar type with bit 0x4000 set.
    datatype, datatype_name, "UnknownType" {
        UNDEF = 0x0000 => "UNDEF",
        INT8 = 0x0001 => "INT8",
        UINT8 = 0x0002 => "UINT8",
        INT16 = 0x0003 => "INT16",
        UINT16 = 0x0004 => "UINT16",
        INT32 = 0x0005 => "INT32",
        UINT32 = 0x0006 => "UINT32",
        INT64 = 0x0007 => "INT64",
        UINT64 = 0x0008 => "UINT64",
        INT128 = 0x0009 => "INT128",
        UINT128 = 0x000A => "UINT128",
        AINT8 = 0x4001 => "AINT8",
        AUINT8 = 0x4002 => "AUINT8",
        AINT16 = 0x4003 => "AINT16",
        AUINT16 = 0x4004 => "AUINT16",
        AINT32 = 0x4005 => "AINT32",
        AUINT32 = 0x4006 => "AUINT32",
        AINT64 = 0x4007 => "AINT64",
        AUINT64 = 0x4008 => "AUINT64",
        AINT128 = 0x4009 => "AINT128",
        AUINT128 = 0x400A => "AUINT128",
        STR = 0xFFFF => "STR",
    }
}

/// Bit that turns a scalar data type into an array of it.
pub const DATATYPE_ARRAY_FLAG: u16 = 0x4000;

/// A code with its name, displayed as `0x2019 DeviceBusy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Named {
    pub code: u16,
    pub name: &'static str,
}

impl fmt::Display for Named {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:04X} {}", self.code, self.name)
    }
}

/// An operation code with its name, for logs and errors.
pub fn describe_operation(code: u16) -> Named {
    Named {
        code,
        name: operation_name(code),
    }
}

/// A response code with its name, for logs and errors.
pub fn describe_response(code: u16) -> Named {
    Named {
        code,
        name: response_name(code),
    }
}

/// An event code with its name, for logs and errors.
pub fn describe_event(code: u16) -> Named {
    Named {
        code,
        name: event_name(code),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_display() {
        assert_eq!(operation_name(operation::GET_OBJECT), "GetObject");
        assert_eq!(
            operation_name(operation::CANON_EOS_GET_EVENT),
            "Canon.EOS.GetEvent"
        );
        assert_eq!(
            response_name(response::SESSION_ALREADY_OPEN),
            "SessionAlreadyOpen"
        );
        assert_eq!(event_name(event::OBJECT_ADDED), "ObjectAdded");
        assert_eq!(event_name(0x4FFF), "UnknownEvent");
        assert_eq!(describe_response(0x2019).to_string(), "0x2019 DeviceBusy");
        assert_eq!(format_name(format::EXIF_JPEG), "EXIF/JPEG");
        assert_eq!(
            property_name(property::SONY_OBJECT_IN_MEMORY),
            "Sony.ObjectInMemory"
        );
    }
}
