//! What the S3, FTP and folder targets share: the deterministic object name of a job (so a
//! retry overwrites the same object instead of publishing a second copy) and a secret string
//! that never shows in logs.

use std::fmt;

use super::UploadError;
use crate::journal::UploadJob;

/// The default name: content hash and rendition make it unique per shot and rendition, and the
/// same on every attempt.
pub const DEFAULT_TEMPLATE: &str = "{hash}-{kind}.{ext}";

/// Longest path segment we produce: below every file system's and server's 255-byte limit,
/// with room for the `.{name}.part` temporary name.
const MAX_SEGMENT: usize = 180;

/// The relative path (segments joined by `/`) a job is published under.
///
/// Placeholders: `{hash}` (BLAKE3 of the original), `{kind}` (`web` or `original`),
/// `{filename}` (the camera's name with the rendition's extension), `{stem}`, `{ext}`
/// (`jpg` for the web rendition, the original's own extension otherwise) and `{date}` (capture
/// date `YYYY-MM-DD`, else the detection date). Everything that comes from the camera is
/// sanitised, and no segment can be empty, `.` or `..`, so a hostile file name cannot climb
/// out of the target's folder or prefix.
pub fn object_name(template: &str, job: &UploadJob) -> Result<String, UploadError> {
    let ext = extension(job);
    let stem = camera_stem(&job.filename);
    let date = job
        .captured_at
        .as_deref()
        .and_then(date_of)
        .or_else(|| date_of(&job.detected_at))
        .unwrap_or("undated");
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else {
            return Err(bad_template(template, "unclosed {"));
        };
        let key = &rest[open + 1..open + close];
        let value = match key {
            "hash" => job.content_hash.clone(),
            "kind" => job.kind.clone(),
            "filename" => format!("{stem}.{ext}"),
            "stem" => stem.clone(),
            "ext" => ext.clone(),
            "date" => date.to_owned(),
            other => return Err(bad_template(template, &format!("unknown {{{other}}}"))),
        };
        // A value is one segment's worth: a `/` in it must not create folders.
        out.push_str(&value.replace(['/', '\\'], "_"));
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    let segments = split_path(&out)?;
    if segments.is_empty() {
        return Err(bad_template(template, "the name is empty"));
    }
    Ok(segments.join("/"))
}

/// Checks a target's template when the config is loaded, so a typo shows at start and not at
/// the first shot. A target that gets both renditions needs `{kind}` in its names: a JPEG
/// shot's web rendition and original would otherwise share one name and overwrite each other.
pub fn validate(template: &str, renditions: &[crate::Rendition]) -> Result<(), String> {
    let job = UploadJob {
        shot_id: 0,
        kind: "web".into(),
        target: String::new(),
        upload_url: None,
        attempts: 0,
        path: "x.jpg".into(),
        bytes: 0,
        filename: "x.jpg".into(),
        content_hash: "0".into(),
        captured_at: None,
        detected_at: "2026-01-01T00:00:00Z".into(),
    };
    object_name(template, &job).map_err(|e| e.to_string())?;
    if renditions.len() > 1 && !template.contains("{kind}") {
        return Err(format!(
            "template {template:?} needs {{kind}}: this target gets more than one rendition of each shot"
        ));
    }
    if !template.contains("{hash}") {
        tracing::warn!(%template, "a name template without {{hash}} lets two cameras' IMG_0001 overwrite each other");
    }
    Ok(())
}

/// A configured prefix or sub-folder (`a/b/`), cleaned the same way; may be empty.
pub fn clean_prefix(prefix: &str) -> Result<String, UploadError> {
    Ok(split_path(prefix)?.join("/"))
}

/// `prefix/name`, or `name` with no prefix.
pub fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}/{name}")
    }
}

fn split_path(path: &str) -> Result<Vec<String>, UploadError> {
    let mut segments = Vec::new();
    for raw in path.split(['/', '\\']) {
        if raw.is_empty() || raw == "." {
            continue;
        }
        if raw == ".." {
            return Err(UploadError::Rejected(format!(
                "the object name {path:?} would leave the target's folder"
            )));
        }
        segments.push(sanitize_segment(raw));
    }
    Ok(segments)
}

/// Letters, digits, `-`, `_` and `.` survive; anything else (spaces, controls, `:`, quotes,
/// non-ASCII that some FTP servers and file systems mangle) becomes `_`. A leading dot is
/// replaced too, so nothing is hidden or mistaken for our own `.part` files.
fn sanitize_segment(raw: &str) -> String {
    let mut s: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.starts_with('.') {
        s.replace_range(0..1, "_");
    }
    if s.len() > MAX_SEGMENT {
        // Keep the end: it carries the extension and the hash suffix that make names differ.
        s = s[s.len() - MAX_SEGMENT..].to_owned();
    }
    s
}

/// The camera's base name without its extension, sanitised.
fn camera_stem(filename: &str) -> String {
    let base = filename.rsplit(['/', '\\']).next().unwrap_or(filename);
    let stem = match base.rfind('.') {
        Some(i) if i > 0 => &base[..i],
        _ => base,
    };
    let s = sanitize_segment(stem);
    if s.is_empty() || s.chars().all(|c| c == '.' || c == '_') {
        "photo".to_owned()
    } else {
        s
    }
}

fn extension(job: &UploadJob) -> String {
    if job.kind == crate::Rendition::Web.as_str() {
        return "jpg".to_owned();
    }
    let from = |name: &str| {
        let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
        let (_, ext) = base.rsplit_once('.')?;
        let ext = ext.to_ascii_lowercase();
        (!ext.is_empty() && ext.len() <= 8 && ext.chars().all(|c| c.is_ascii_alphanumeric()))
            .then_some(ext)
    };
    from(&job.path.to_string_lossy())
        .or_else(|| from(&job.filename))
        .unwrap_or_else(|| "bin".to_owned())
}

fn date_of(ts: &str) -> Option<&str> {
    let d = ts.get(..10)?;
    let b = d.as_bytes();
    let ok = b.iter().enumerate().all(|(i, c)| match i {
        4 | 7 => *c == b'-',
        _ => c.is_ascii_digit(),
    });
    ok.then_some(d)
}

fn bad_template(template: &str, why: &str) -> UploadError {
    UploadError::Rejected(format!("bad name template {template:?}: {why}"))
}

/// A password or secret key: deserialised from the config, never printed (`Debug` and
/// `Display` show `***`), and never serialised (the fields holding it skip serialising).
#[derive(Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
pub(crate) fn test_job(kind: &str, filename: &str, path: &str) -> UploadJob {
    UploadJob {
        shot_id: 1,
        kind: kind.into(),
        target: "t".into(),
        upload_url: None,
        attempts: 0,
        path: path.into(),
        bytes: 1,
        filename: filename.into(),
        content_hash: "af1349b9f5f9a1a6a0404dea36dcc949".into(),
        captured_at: Some("2026-05-02T10:11:12Z".into()),
        detected_at: "2026-05-03T00:00:00.000Z".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_name_is_hash_and_rendition() {
        let job = test_job("web", "IMG_0001.CR3", "/r/x-web.jpg");
        assert_eq!(
            object_name(DEFAULT_TEMPLATE, &job).unwrap(),
            "af1349b9f5f9a1a6a0404dea36dcc949-web.jpg"
        );
        let job = test_job("original", "IMG_0001.CR3", "/lib/2026/cam_IMG_0001.CR3");
        assert_eq!(
            object_name("{date}/{filename}", &job).unwrap(),
            "2026-05-02/IMG_0001.cr3"
        );
    }

    #[test]
    fn hostile_names_stay_inside() {
        for evil in [
            "../../etc/passwd",
            "/etc/passwd",
            "..\\..\\boot.ini",
            "..",
            ".hidden",
            "a\u{0}b\nc.jpg",
            "C:\\x.jpg",
        ] {
            let job = test_job("web", evil, "/r/x.jpg");
            let name = object_name("{date}/{stem}_{hash}.{ext}", &job).unwrap();
            let segs: Vec<&str> = name.split('/').collect();
            assert_eq!(segs.len(), 2, "{evil:?} -> {name}");
            assert!(
                segs.iter().all(|s| !s.starts_with('.') && !s.is_empty()),
                "{evil:?} -> {name}"
            );
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c)),
                "{evil:?} -> {name}"
            );
        }
        // A template (the photographer's own) that climbs out is refused, not followed.
        let job = test_job("web", "a.jpg", "/r/x.jpg");
        assert!(object_name("../{hash}", &job).is_err());
        assert!(object_name("{nope}", &job).is_err());
        use crate::Rendition::{Original, Web};
        assert!(validate("{hash}-{kind}.{ext}", &[Web, Original]).is_ok());
        assert!(validate("{stem}_{hash}.{ext}", &[Web]).is_ok());
        assert!(validate("{stem}_{hash}.{ext}", &[Web, Original]).is_err());
        assert!(validate("{hash", &[Web]).is_err());
        assert_eq!(clean_prefix("/event/day1/").unwrap(), "event/day1");
        assert!(clean_prefix("a/../../b").is_err());
    }

    #[test]
    fn secrets_do_not_print() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(s.expose(), "hunter2");
    }
}
