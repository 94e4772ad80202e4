//! The agent's config file (TOML), as `hotshoe run` and the desktop app read it. Everything
//! has a default, so an empty file (or none) is a working config: tether USB cameras, save
//! originals, make web renditions. Targets are added with `[[target]]` tables or a setup link.
//!
//! Secrets (tokens, passwords, secret keys) are read here and never written back or logged:
//! the agent's types skip them when serialised, and `redacted()` is what gets printed.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

/// The file as written by a person.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AgentFile {
    /// Journal, renditions and logs [default: the user's data folder, e.g.
    /// ~/.local/share/hotshoe/agent].
    pub data_dir: Option<PathBuf>,
    /// Where originals are saved first [default: ~/Pictures/Hotshoe].
    pub library_dir: Option<PathBuf>,
    /// Import what is already on a camera card when it is first tethered.
    #[serde(default)]
    pub import_existing: bool,
    /// Tether USB cameras as they are plugged in.
    #[serde(default = "yes")]
    pub usb: bool,
    /// Upload cap over all targets: "10 Mbit/s", "2 MB/s", "500 kB/s", or bytes per second.
    pub bandwidth_limit: Option<Bandwidth>,
    #[serde(default, rename = "folder")]
    pub folders: Vec<agent::folder::FolderSource>,
    /// The web rendition [default: 2048 px long edge, quality 85, GPS and serials stripped].
    pub recipe: Option<imaging::Recipe>,
    #[serde(default, rename = "target")]
    pub targets: Vec<TargetEntry>,
    /// The control API (status and live events for the desktop UI or a remote UI); off
    /// unless this table is present or `--control` is given.
    pub control: Option<agent::control::ControlConfig>,
}

fn yes() -> bool {
    true
}

/// A `[[target]]` table: the agent's target config, plus `setup = "hotshoe://setup?…"` as a
/// shorthand for an album's endpoint and token.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(try_from = "toml::Table", into = "agent::TargetConfig")]
pub struct TargetEntry(pub agent::TargetConfig);

impl From<TargetEntry> for agent::TargetConfig {
    fn from(t: TargetEntry) -> Self {
        t.0
    }
}

impl TryFrom<toml::Table> for TargetEntry {
    type Error = String;

    fn try_from(mut t: toml::Table) -> Result<Self, String> {
        if let Some(link) = t.remove("setup") {
            let link = link.as_str().ok_or("setup must be a string")?;
            let parsed = album::setup_link::SetupLink::parse(link).map_err(|e| e.to_string())?;
            t.entry("kind").or_insert_with(|| "album".into());
            t.insert("upload_url".into(), parsed.endpoint.into());
            t.insert("token".into(), parsed.token.into());
        }
        if !t.contains_key("name") {
            if let Some(kind) = t.get("kind").and_then(|k| k.as_str()) {
                let kind = kind.to_owned();
                t.insert("name".into(), kind.into());
            }
        }
        agent::TargetConfig::deserialize(toml::Value::Table(t))
            .map(TargetEntry)
            .map_err(|e| e.to_string())
    }
}

/// A bandwidth in bytes per second, written the way people say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "toml::Value", into = "u64")]
pub struct Bandwidth(pub u64);

impl From<Bandwidth> for u64 {
    fn from(b: Bandwidth) -> u64 {
        b.0
    }
}

impl TryFrom<toml::Value> for Bandwidth {
    type Error = String;
    fn try_from(v: toml::Value) -> Result<Self, String> {
        match v {
            toml::Value::Integer(n) if n >= 0 => Ok(Bandwidth(n as u64)),
            toml::Value::String(s) => s.parse(),
            other => Err(format!(
                "bandwidth_limit: expected e.g. \"10 Mbit/s\", got {other}"
            )),
        }
    }
}

impl std::str::FromStr for Bandwidth {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let t = s.trim();
        let split = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let n: f64 = num
            .parse()
            .map_err(|_| format!("{s:?}: expected a number and a unit, e.g. \"10 Mbit/s\""))?;
        let unit = unit.trim().trim_end_matches("/s").trim_end_matches("ps");
        let factor = match unit {
            "" | "B" => 1.0,
            "kB" | "KB" | "KiB" => 1e3,
            "MB" | "MiB" => 1e6,
            "GB" => 1e9,
            "kbit" | "Kbit" | "kb" | "Kb" => 1e3 / 8.0,
            "Mbit" | "Mb" => 1e6 / 8.0,
            "Gbit" | "Gb" => 1e9 / 8.0,
            _ => {
                return Err(format!(
                    "{s:?}: unknown unit {unit:?} (use kB/s, MB/s, kbit/s or Mbit/s)"
                ))
            }
        };
        Ok(Bandwidth((n * factor).round() as u64))
    }
}

impl AgentFile {
    /// Reads `path`; a missing file at the default location is an empty config.
    pub fn load(path: &Path, must_exist: bool) -> Result<AgentFile> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !must_exist => {
                return Ok(AgentFile::default())
            }
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let file: AgentFile =
            toml::from_str(&text).with_context(|| format!("config {}", path.display()))?;
        file.check()?;
        Ok(file)
    }

    fn check(&self) -> Result<()> {
        let mut names = std::collections::HashSet::new();
        for t in &self.targets {
            if !names.insert(t.0.name.as_str()) {
                bail!(
                    "two targets are named {:?}; each needs its own name",
                    t.0.name
                );
            }
            if t.0.renditions.is_empty() {
                bail!("target {:?} publishes no renditions", t.0.name);
            }
        }
        Ok(())
    }

    /// The config as it may be shown or logged: the agent types leave secrets out.
    pub fn redacted(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("(cannot show config: {e})"))
    }

    /// Fills the defaults in and makes the agent's config.
    pub fn to_agent_config(&self) -> Result<agent::AgentConfig> {
        let dirs = directories::ProjectDirs::from("app", "Hotshoe", "hotshoe");
        let data_dir = match &self.data_dir {
            Some(d) => expand_home(d),
            None => dirs
                .as_ref()
                .map(|d| d.data_dir().join("agent"))
                .context("cannot find a home folder; set data_dir in the config")?,
        };
        let library_dir = match &self.library_dir {
            Some(d) => expand_home(d),
            None => directories::UserDirs::new()
                .and_then(|u| u.picture_dir().map(|p| p.join("Hotshoe")))
                .unwrap_or_else(|| data_dir.join("library")),
        };
        let mut recipe = self.recipe.clone().unwrap_or_else(imaging::Recipe::web);
        if let Some(w) = recipe.watermark.as_mut() {
            // The recipe names the logo; imaging does no file I/O, so it is read here, once.
            let path = w
                .path
                .as_deref()
                .map(expand_home)
                .context("recipe.watermark needs a path to a PNG file")?;
            let png =
                std::fs::read(&path).with_context(|| format!("watermark {}", path.display()))?;
            w.png = std::sync::Arc::new(png);
        }
        Ok(agent::AgentConfig {
            data_dir,
            library_dir,
            recipe,
            targets: self.targets.iter().map(|t| t.0.clone()).collect(),
            import_existing: self.import_existing,
            bandwidth_limit: self.bandwidth_limit.map(|b| b.0).filter(|&b| b > 0),
        })
    }

    /// Where the config lives when `--config` is not given.
    pub fn default_path() -> Option<PathBuf> {
        directories::ProjectDirs::from("app", "Hotshoe", "hotshoe")
            .map(|d| d.config_dir().join("agent.toml"))
    }
}

fn expand_home(p: &Path) -> PathBuf {
    if let Ok(rest) = p.strip_prefix("~") {
        if let Some(home) = directories::BaseDirs::new() {
            return home.home_dir().join(rest);
        }
    }
    p.to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bandwidths_read_the_way_people_write_them() {
        let b = |s: &str| s.parse::<Bandwidth>().map(|b| b.0);
        assert_eq!(b("10 Mbit/s"), Ok(1_250_000));
        assert_eq!(b("2 MB/s"), Ok(2_000_000));
        assert_eq!(b("500kB/s"), Ok(500_000));
        assert_eq!(b("800 kbps"), Ok(100_000));
        assert_eq!(b("1000"), Ok(1000));
        assert!(b("fast").is_err());
        assert!(b("10 furlongs").is_err());
    }

    #[test]
    fn full_config_parses_and_hides_secrets() {
        let text = r#"
            data_dir = "/tmp/hs"
            bandwidth_limit = "8 Mbit/s"
            usb = false
            [[folder]]
            path = "/tmp/hot"
            [[target]]
            setup = "hotshoe://setup?v=1&endpoint=http%3A%2F%2F127.0.0.1%3A8470%2Fapi%2Fv1%2Ftus%2Fabc&token=SECRET123"
            renditions = ["web", "original"]
            [[target]]
            name = "backup"
            kind = "album"
            upload_url = "http://127.0.0.1:9/files"
            token = "SECRET456"
            concurrency = 1
            [control]
            listen = "127.0.0.1:7399"
            token = "SECRET789-long-enough"
        "#;
        let f: AgentFile = toml::from_str(text).unwrap();
        f.check().unwrap();
        let cfg = f.to_agent_config().unwrap();
        assert_eq!(cfg.bandwidth_limit, Some(1_000_000));
        assert_eq!(cfg.targets.len(), 2);
        assert_eq!(cfg.targets[0].name, "album");
        assert_eq!(
            cfg.targets[0].renditions,
            vec![agent::Rendition::Web, agent::Rendition::Original]
        );
        match &cfg.targets[0].kind {
            agent::TargetKind::Album { upload_url, token } => {
                assert_eq!(upload_url, "http://127.0.0.1:8470/api/v1/tus/abc");
                assert_eq!(token.as_ref().map(|t| t.expose()), Some("SECRET123"));
                assert!(!format!("{:?}", cfg.targets[0]).contains("SECRET"));
            }
            #[allow(unreachable_patterns)]
            other => panic!("{other:?}"),
        }
        assert_eq!(cfg.targets[1].concurrency, 1);
        let control = f.control.as_ref().unwrap();
        assert_eq!(control.listen.port(), 7399);
        assert_eq!(
            control.token.as_ref().map(|t| t.expose()),
            Some("SECRET789-long-enough")
        );
        let shown = f.redacted();
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(shown.contains("backup"), "{shown}");
    }

    /// Every TOML block in docs/agent-config.md parses, so the documentation stays true.
    #[test]
    fn documented_examples_parse() {
        let doc = include_str!("../../../docs/agent-config.md");
        let mut blocks = 0;
        for block in doc.split("```toml").skip(1) {
            let text = block.split("```").next().unwrap();
            let f: AgentFile = toml::from_str(text).unwrap_or_else(|e| panic!("{e}\nin:\n{text}"));
            f.check().unwrap();
            blocks += 1;
        }
        assert!(blocks >= 2, "the examples went missing");
    }

    #[test]
    fn mistakes_are_named() {
        let err = toml::from_str::<AgentFile>("bandwith_limit = 3").unwrap_err();
        assert!(err.to_string().contains("bandwith_limit"), "{err}");
        let err =
            toml::from_str::<AgentFile>("[[target]]\nkind = \"carrier-pigeon\"\nname = \"x\"")
                .unwrap_err();
        assert!(err.to_string().contains("carrier-pigeon"), "{err}");
        let dup: AgentFile = toml::from_str(
            "[[target]]\nkind = \"album\"\nupload_url = \"http://127.0.0.1/\"\n[[target]]\nkind = \"album\"\nupload_url = \"http://127.0.0.1/\"",
        )
        .unwrap();
        assert!(dup.check().is_err());
    }
}
