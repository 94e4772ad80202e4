//! What a rendition should look like. One serde shape for the config file, the CLI and the
//! UI; every field added after the first release has a default, so older configs load.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// How to turn an original into one rendition.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Recipe {
    /// Long edge of the oriented output in pixels; smaller originals are never upscaled.
    /// Ignored when `fit` is set.
    pub long_edge: u32,
    /// JPEG quality 1–100 (the highest tried when `target_bytes` is set).
    pub quality: u8,
    pub metadata: MetadataPolicy,
    /// Fit inside this box (upright width × height) instead of a long edge.
    #[serde(default)]
    pub fit: Option<BoxSize>,
    /// Crop applied in the upright frame before resizing.
    #[serde(default)]
    pub crop: Crop,
    /// Where an aspect crop sits when it must drop part of the frame.
    #[serde(default)]
    pub anchor: Anchor,
    /// Largest encoded size in bytes: quality is lowered (not below 40) until it fits.
    #[serde(default)]
    pub target_bytes: Option<u32>,
    /// Unsharp-mask amount on luma after downscaling, 0 (off) to 1; 0.3 is "light".
    #[serde(default)]
    pub sharpen: f32,
    /// Credit lines written into EXIF, XMP and IPTC (unless `metadata` is `StripAll`).
    #[serde(default)]
    pub credits: Credits,
    #[serde(default)]
    pub colour: ColourPolicy,
    /// A logo or frame drawn over the rendition.
    #[serde(default)]
    pub watermark: Option<Watermark>,
}

impl Recipe {
    /// The gallery's web preview: 2048 px long edge, q82, private tags stripped.
    pub fn web() -> Recipe {
        Recipe {
            long_edge: 2048,
            quality: 82,
            metadata: MetadataPolicy::StripPrivate,
            fit: None,
            crop: Crop::None,
            anchor: Anchor::Centre,
            target_bytes: None,
            sharpen: 0.0,
            credits: Credits::default(),
            colour: ColourPolicy::default(),
            watermark: None,
        }
    }

    /// A grid thumbnail: 480 px long edge, q75, no metadata at all (bytes matter more).
    pub fn thumbnail() -> Recipe {
        Recipe {
            long_edge: 480,
            quality: 75,
            metadata: MetadataPolicy::StripAll,
            ..Recipe::web()
        }
    }

    pub(crate) fn size(&self) -> Size {
        match self.fit {
            Some(b) => Size::Box {
                width: b.width,
                height: b.height,
            },
            None => Size::LongEdge(self.long_edge),
        }
    }
}

impl Default for Recipe {
    fn default() -> Self {
        Recipe::web()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Size {
    LongEdge(u32),
    Box { width: u32, height: u32 },
}

/// An upright width × height box; written `1920x1080`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoxSize {
    pub width: u32,
    pub height: u32,
}

impl FromStr for BoxSize {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (w, h) = s
            .split_once(['x', 'X'])
            .ok_or_else(|| format!("{s:?}: expected WIDTHxHEIGHT"))?;
        let parse = |v: &str| {
            v.trim()
                .parse::<u32>()
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| format!("{v:?} is not a positive size"))
        };
        Ok(BoxSize {
            width: parse(w)?,
            height: parse(h)?,
        })
    }
}

/// Which part of the upright frame becomes the rendition. Written as `none`, an aspect
/// `W:H` (presets 3:2, 2:3, 4:5, 5:4, 1:1, 16:9, 9:16; any other ratio works too) or
/// `box:X,Y,W,H` with fractions of the upright frame (e.g. `box:0.1,0,0.8,1`).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Crop {
    #[default]
    None,
    Aspect {
        w: u32,
        h: u32,
    },
    Box {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
    },
}

impl Crop {
    /// The presets the UI offers.
    pub const PRESETS: [&'static str; 7] = ["3:2", "2:3", "4:5", "5:4", "1:1", "16:9", "9:16"];
}

impl FromStr for Crop {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.is_empty() || s.eq_ignore_ascii_case("none") {
            return Ok(Crop::None);
        }
        if let Some(rest) = s.strip_prefix("box:") {
            let v: Vec<f32> = rest
                .split(',')
                .map(|p| p.trim().parse::<f32>())
                .collect::<Result<_, _>>()
                .map_err(|_| format!("{s:?}: expected box:X,Y,W,H with fractions 0–1"))?;
            let [x, y, w, h] = v[..] else {
                return Err(format!("{s:?}: expected four numbers, box:X,Y,W,H"));
            };
            let ok = |v: f32| (0.0..=1.0).contains(&v);
            if !(ok(x) && ok(y) && w > 0.0 && h > 0.0 && x + w <= 1.0001 && y + h <= 1.0001) {
                return Err(format!("{s:?}: the box must lie inside the frame (0–1)"));
            }
            return Ok(Crop::Box { x, y, w, h });
        }
        let (w, h) = s
            .split_once(':')
            .ok_or_else(|| format!("{s:?}: expected none, W:H (e.g. 4:5) or box:X,Y,W,H"))?;
        let parse = |v: &str| {
            v.trim()
                .parse::<u32>()
                .ok()
                .filter(|&n| (1..=100).contains(&n))
        };
        match (parse(w), parse(h)) {
            (Some(w), Some(h)) => Ok(Crop::Aspect { w, h }),
            _ => Err(format!("{s:?}: aspect sides must be whole numbers 1–100")),
        }
    }
}

impl fmt::Display for Crop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Crop::None => f.write_str("none"),
            Crop::Aspect { w, h } => write!(f, "{w}:{h}"),
            Crop::Box { x, y, w, h } => write!(f, "box:{x},{y},{w},{h}"),
        }
    }
}

impl TryFrom<String> for Crop {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<Crop> for String {
    fn from(c: Crop) -> String {
        c.to_string()
    }
}

/// Where an aspect crop is placed: the crop's centre goes on the frame's centre or on one
/// of its rule-of-thirds lines, as far as the frame allows. `upper-third` suits portrait
/// crops of people, whose heads sit high in the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Anchor {
    #[default]
    Centre,
    UpperThird,
    LowerThird,
    LeftThird,
    RightThird,
}

impl Anchor {
    /// The anchor point as fractions of the frame.
    pub(crate) fn centre(self) -> (f64, f64) {
        match self {
            Anchor::Centre => (0.5, 0.5),
            Anchor::UpperThird => (0.5, 1.0 / 3.0),
            Anchor::LowerThird => (0.5, 2.0 / 3.0),
            Anchor::LeftThird => (1.0 / 3.0, 0.5),
            Anchor::RightThird => (2.0 / 3.0, 0.5),
        }
    }
}

impl FromStr for Anchor {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "centre" | "center" => Anchor::Centre,
            "upper-third" | "top-third" => Anchor::UpperThird,
            "lower-third" | "bottom-third" => Anchor::LowerThird,
            "left-third" => Anchor::LeftThird,
            "right-third" => Anchor::RightThird,
            _ => {
                return Err(format!(
                    "{s:?}: expected centre, upper-third, lower-third, left-third or right-third"
                ))
            }
        })
    }
}

/// Which EXIF survives into a published copy.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub enum MetadataPolicy {
    /// No EXIF at all.
    StripAll,
    /// Keep make, model, capture time (DateTimeOriginal, SubSecTimeOriginal,
    /// OffsetTimeOriginal), artist and copyright; drop GPS, serial numbers, maker notes and
    /// everything else. Orientation is written as 1 since the pixels are already upright.
    StripPrivate,
    /// Keep every EXIF tag of the original's primary image and EXIF IFD except the ones
    /// that stop being true (orientation, pixel size, thumbnail) and — always, since a
    /// published copy must not locate or identify a body — GPS, serial numbers and maker
    /// notes, which can hold both.
    KeepExceptPrivate,
    /// Keep all readable EXIF tags, GPS and serials included (orientation reset to 1).
    Keep,
}

/// Credit lines a rendition carries in EXIF (Artist, Copyright, ImageDescription), XMP
/// (dc:creator, dc:rights, photoshop:Credit, dc:description) and IPTC-IIM (2:80 By-line,
/// 2:116 Copyright Notice, 2:110 Credit, 2:120 Caption-Abstract). Set values replace the
/// original's.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Credits {
    #[serde(default)]
    pub artist: Option<String>,
    #[serde(default)]
    pub copyright: Option<String>,
    #[serde(default)]
    pub credit: Option<String>,
    #[serde(default)]
    pub caption: Option<String>,
}

impl Credits {
    pub fn is_empty(&self) -> bool {
        self.artist.is_none()
            && self.copyright.is_none()
            && self.credit.is_none()
            && self.caption.is_none()
    }
}

/// What to do with an original's colour profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ColourPolicy {
    /// Embed the original's ICC profile in the rendition: colours stay exactly as the
    /// camera meant them, and browsers colour-manage tagged JPEGs. CMYK JPEGs are the
    /// exception: they become RGB without their profile (naively), which is dropped.
    #[default]
    KeepProfile,
    /// Require sRGB output: an untagged original, or one whose profile describes sRGB
    /// (judged by what it does to colours, not by its name), passes; one with any other
    /// profile is refused with a clear error rather than shown with shifted colours.
    RequireSrgb,
    /// Convert to sRGB: an original with another ICC profile (Display P3, Adobe RGB, a
    /// grey curve, a CMYK print profile, ...) has the rendition's pixels converted and
    /// carries no profile, since untagged means sRGB to every browser and viewer. Untagged
    /// and sRGB originals pass unchanged (untagged CMYK is converted naively). A profile
    /// that cannot be read or applied is an error, never a silent colour shift.
    ConvertToSrgb,
}

/// A PNG logo (or a full-frame border with a transparent middle) composited onto the
/// rendition with its alpha channel.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Watermark {
    /// Where the PNG lives, for config files. imaging does no file I/O: the caller reads
    /// it into `png`.
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// The PNG file's bytes.
    #[serde(skip)]
    pub png: Arc<Vec<u8>>,
    #[serde(default)]
    pub position: Position,
    /// Gap to the nearest edges, as a fraction of the rendition's short edge.
    #[serde(default = "default_margin")]
    pub margin: f32,
    /// Logo width as a fraction of the rendition's width (1.0 with `centre` for a frame).
    #[serde(default = "default_scale")]
    pub scale: f32,
    /// 0 (invisible) to 1 (as drawn).
    #[serde(default = "default_opacity")]
    pub opacity: f32,
}

fn default_margin() -> f32 {
    0.03
}
fn default_scale() -> f32 {
    0.2
}
fn default_opacity() -> f32 {
    0.8
}

impl Watermark {
    /// A logo with the default placement: bottom right, 20 % wide, 3 % margin, 80 % opaque.
    pub fn new(png: Vec<u8>) -> Watermark {
        Watermark {
            path: None,
            png: Arc::new(png),
            position: Position::default(),
            margin: default_margin(),
            scale: default_scale(),
            opacity: default_opacity(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Position {
    TopLeft,
    TopRight,
    BottomLeft,
    #[default]
    BottomRight,
    Centre,
}

impl FromStr for Position {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "top-left" => Position::TopLeft,
            "top-right" => Position::TopRight,
            "bottom-left" => Position::BottomLeft,
            "bottom-right" => Position::BottomRight,
            "centre" | "center" => Position::Centre,
            _ => {
                return Err(format!(
                    "{s:?}: expected top-left, top-right, bottom-left, bottom-right or centre"
                ))
            }
        })
    }
}
