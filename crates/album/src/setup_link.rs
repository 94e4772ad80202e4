//! The setup link: one string that carries everything an agent or the desktop app needs to
//! upload into an album, so a photographer pastes (or scans) one thing instead of two.
//!
//! Format: `hotshoe://setup?v=1&endpoint=<percent-encoded tus URL>&token=<upload token>`.
//! A custom scheme so the desktop app can register as its handler, query parameters so any
//! URL library can read it. Dependency-free on purpose: the agent links this module without
//! pulling in the server.

use std::fmt;

const PREFIX: &str = "hotshoe://setup?";

/// A parsed setup link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupLink {
    /// The tus endpoint (creation URL), `http://` or `https://`.
    pub endpoint: String,
    /// The album's upload token.
    pub token: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetupLinkError {
    #[error("not a Hotshoe setup link (expected it to start with {PREFIX})")]
    Scheme,
    #[error("setup link has no {0}")]
    Missing(&'static str),
    #[error("setup link: {0}")]
    Invalid(String),
}

impl SetupLink {
    pub fn new(endpoint: &str, token: &str) -> Self {
        Self {
            endpoint: endpoint.to_owned(),
            token: token.to_owned(),
        }
    }

    pub fn parse(link: &str) -> Result<Self, SetupLinkError> {
        let query = link
            .trim()
            .strip_prefix(PREFIX)
            .ok_or(SetupLinkError::Scheme)?;
        let (mut endpoint, mut token) = (None, None);
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let v = decode(v)?;
            match k {
                "endpoint" => endpoint = Some(v),
                "token" => token = Some(v),
                "v" if v != "1" => {
                    return Err(SetupLinkError::Invalid(format!(
                        "version {v} is newer than this program understands"
                    )))
                }
                // Unknown keys are for newer versions; older readers ignore them.
                _ => {}
            }
        }
        let endpoint = endpoint.ok_or(SetupLinkError::Missing("endpoint"))?;
        let token = token.ok_or(SetupLinkError::Missing("token"))?;
        if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
            return Err(SetupLinkError::Invalid(format!(
                "endpoint {endpoint:?} is not an http(s) URL"
            )));
        }
        if token.is_empty() || !token.chars().all(|c| c.is_ascii_graphic()) {
            return Err(SetupLinkError::Invalid(
                "token is empty or not printable ASCII".into(),
            ));
        }
        Ok(Self { endpoint, token })
    }
}

impl fmt::Display for SetupLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{PREFIX}v=1&endpoint={}&token={}",
            encode(&self.endpoint),
            encode(&self.token)
        )
    }
}

impl std::str::FromStr for SetupLink {
    type Err = SetupLinkError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Percent-encodes all but RFC 3986 unreserved characters.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn decode(s: &str) -> Result<String, SetupLinkError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = s
                    .get(i + 1..i + 3)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| SetupLinkError::Invalid(format!("bad escape in {s:?}")))?;
                out.push(hex);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| SetupLinkError::Invalid("not UTF-8".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let link = SetupLink::new(
            "https://photos.example.com:8443/api/tus/?x=1&y=2",
            "Ab3-x_Y~z%",
        );
        let text = link.to_string();
        assert!(text.starts_with("hotshoe://setup?v=1&endpoint=https%3A%2F%2F"));
        assert_eq!(SetupLink::parse(&text).unwrap(), link);
        assert_eq!(text.parse::<SetupLink>().unwrap(), link);
    }

    #[test]
    fn rejects_bad_links() {
        assert_eq!(
            SetupLink::parse("https://x/setup"),
            Err(SetupLinkError::Scheme)
        );
        assert_eq!(
            SetupLink::parse("hotshoe://setup?token=abc"),
            Err(SetupLinkError::Missing("endpoint"))
        );
        assert!(SetupLink::parse("hotshoe://setup?endpoint=ftp%3A%2F%2Fx&token=a").is_err());
        assert!(SetupLink::parse("hotshoe://setup?endpoint=http%3A%2F%2Fx&token=a%2").is_err());
        assert!(SetupLink::parse("hotshoe://setup?v=2&endpoint=http%3A%2F%2Fx&token=a").is_err());
        // Unknown keys are ignored.
        assert!(
            SetupLink::parse("hotshoe://setup?endpoint=http%3A%2F%2Fx&token=a&label=cam1").is_ok()
        );
    }
}
