//! JPEG encoding of the finished rendition.

use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

use crate::pixels::{Model, Pixels};
use crate::ImagingError;

/// Encodes baseline 4:2:0 with the given EXIF (a TIFF block) and ICC profile.
pub(crate) fn encode(
    img: &Pixels,
    quality: u8,
    exif: Option<&[u8]>,
    icc: Option<&[u8]>,
) -> Result<Vec<u8>, ImagingError> {
    let to_err = |e: jpeg_encoder::EncodingError| ImagingError::Encode(e.to_string());
    let width =
        u16::try_from(img.width).map_err(|_| ImagingError::Encode("width over 65535".into()))?;
    let height =
        u16::try_from(img.height).map_err(|_| ImagingError::Encode("height over 65535".into()))?;
    // Compressed output of a photo at web qualities is around 1.5 bits per pixel.
    let mut out = Vec::with_capacity(img.data.len() / 6 + 4096);
    let mut encoder = Encoder::new(&mut out, quality.clamp(1, 100));
    encoder.set_sampling_factor(SamplingFactor::F_2_2);
    if let Some(tiff) = exif {
        encoder.add_exif_metadata(tiff).map_err(to_err)?;
    }
    if let Some(icc) = icc {
        encoder.add_icc_profile(icc).map_err(to_err)?;
    }
    let colour = match img.model {
        Model::Luma => ColorType::Luma,
        Model::YCbCr => ColorType::Ycbcr,
        Model::Rgb => ColorType::Rgb,
    };
    encoder
        .encode(&img.data, width, height, colour)
        .map_err(to_err)?;
    Ok(out)
}
