//! Logs a user can send in a bug report: everything at `debug` for our crates goes to a file
//! in the data folder, while the terminal shows only warnings (or more with `-v`), so live
//! status lines stay readable.

use std::path::Path;

use tracing_subscriber::fmt::writer::MakeWriterExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Sets up logging once per process. `verbose` counts `-v` flags; `json` switches the
/// terminal output to JSON lines for log collectors. Returns the log file path, if any.
pub fn init(log_dir: Option<&Path>, verbose: u8, json: bool) -> Option<std::path::PathBuf> {
    let term_level = match verbose {
        0 => "warn",
        1 => "info,hotshoe=info,agent=info,album=info,ptp=info",
        _ => "debug",
    };
    let term_filter =
        EnvFilter::try_from_env("HOTSHOE_LOG").unwrap_or_else(|_| EnvFilter::new(term_level));
    let term = if json {
        tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr)
            .with_filter(term_filter)
            .boxed()
    } else {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_target(false)
            .with_filter(term_filter)
            .boxed()
    };
    let mut file_path = None;
    let file_layer = log_dir.and_then(|dir| {
        std::fs::create_dir_all(dir).ok()?;
        let path = dir.join("hotshoe.log");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .ok()?;
        file_path = Some(path);
        Some(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(std::sync::Mutex::new(file).with_max_level(tracing::Level::DEBUG))
                .with_filter(EnvFilter::new(
                    "info,hotshoe=debug,agent=debug,album=debug,ptp=info,camsim=info",
                )),
        )
    });
    let _ = tracing_subscriber::registry()
        .with(term)
        .with(file_layer)
        .try_init();
    file_path
}
