//! What the terminal shows during a run: the gallery link with a QR code a phone can scan,
//! and one live line per shot that follows it from detection to the gallery.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::time::Duration;

use agent::{AgentEvent, CameraState, ShotEvent, Stage, TargetStatus};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Renders `url` as a QR code made of half-block characters (two rows per line), with the
/// quiet zone scanners need.
pub fn qr_text(url: &str) -> Option<String> {
    let code = qrcode::QrCode::new(url.as_bytes()).ok()?;
    Some(
        code.render::<qrcode::render::unicode::Dense1x2>()
            .dark_color(qrcode::render::unicode::Dense1x2::Light)
            .light_color(qrcode::render::unicode::Dense1x2::Dark)
            .quiet_zone(true)
            .build(),
    )
}

/// Prints live status from agent events until the channel closes.
pub struct StatusLines {
    multi: MultiProgress,
    bars: HashMap<i64, ProgressBar>,
    tty: bool,
    /// Last camera state and battery shown per source: free space changes with every shot and
    /// would repeat the line for nothing.
    cameras: HashMap<String, (CameraState, Option<u8>)>,
    /// One status bar per publishing target; off a terminal, the last (failing, idle) state
    /// printed, so a log gets a line when a target goes down, comes back or drains.
    targets: HashMap<String, ProgressBar>,
    target_states: HashMap<String, (bool, bool)>,
}

impl Default for StatusLines {
    fn default() -> Self {
        Self::new()
    }
}

impl StatusLines {
    pub fn new() -> StatusLines {
        let tty = std::io::stdout().is_terminal();
        let multi = MultiProgress::with_draw_target(if tty {
            ProgressDrawTarget::stdout()
        } else {
            ProgressDrawTarget::hidden()
        });
        StatusLines {
            multi,
            bars: HashMap::new(),
            tty,
            cameras: HashMap::new(),
            targets: HashMap::new(),
            target_states: HashMap::new(),
        }
    }

    /// Prints a line above the live bars (or plainly when not on a terminal).
    pub fn println(&self, line: &str) {
        if self.tty {
            let _ = self.multi.println(line);
        } else {
            println!("{line}");
        }
    }

    pub fn show(&mut self, event: &AgentEvent) {
        match event {
            AgentEvent::Camera(c) => {
                let shown = (c.state, c.battery);
                if self.cameras.get(&c.source) == Some(&shown) {
                    return;
                }
                self.cameras.insert(c.source.clone(), shown);
                let line = match c.state {
                    CameraState::Connected => format!(
                        "camera  {} (serial {}) connected — battery {}, card {} free",
                        c.model.as_deref().unwrap_or("?"),
                        c.serial.as_deref().unwrap_or("?"),
                        c.battery
                            .map(|b| format!("{b}%"))
                            .unwrap_or_else(|| "?".into()),
                        c.free_bytes.map(human_bytes).unwrap_or_else(|| "?".into()),
                    ),
                    CameraState::Disconnected => format!(
                        "camera  {} disconnected: {}",
                        c.model.as_deref().unwrap_or(&c.source),
                        c.message.as_deref().unwrap_or("")
                    ),
                };
                self.println(&line);
            }
            AgentEvent::Shot(s) => self.shot(s),
            AgentEvent::Target(t) => self.target(t),
        }
    }

    /// Shows agent events until Ctrl-C or SIGTERM (or the agent goes away), then says so.
    pub async fn follow(&mut self, events: &mut tokio::sync::broadcast::Receiver<AgentEvent>) {
        // One listener for the whole run: a fresh `ctrl_c()` per loop turn could miss a
        // signal that lands between two turns.
        let stop = crate::stop_signal();
        tokio::pin!(stop);
        loop {
            tokio::select! {
                _ = &mut stop => break,
                ev = events.recv() => match ev {
                    Ok(ev) => self.show(&ev),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        self.println(&format!("({n} status updates skipped)"));
                    }
                    Err(_) => break,
                }
            }
        }
        self.println("stopping…");
    }

    fn target(&mut self, t: &TargetStatus) {
        let text = describe_target(t);
        if !self.tty {
            let state = (t.failing > 0, t.queued + t.in_flight == 0);
            if self.target_states.insert(t.target.clone(), state) != Some(state) {
                println!("{text}");
            }
            return;
        }
        let bar = self.targets.entry(t.target.clone()).or_insert_with(|| {
            let b = self.multi.insert(0, ProgressBar::new_spinner());
            b.set_style(ProgressStyle::with_template("{msg}").expect("static template"));
            b
        });
        bar.set_message(text);
    }

    fn shot(&mut self, s: &ShotEvent) {
        let text = describe(s);
        let done = matches!(s.stage, Stage::Published | Stage::Failed | Stage::Skipped);
        if !self.tty {
            if done {
                println!("{text}");
            }
            return;
        }
        let bar = self.bars.entry(s.shot_id).or_insert_with(|| {
            let b = self.multi.add(ProgressBar::new_spinner());
            b.set_style(ProgressStyle::with_template("{spinner} {msg}").expect("static template"));
            b.enable_steady_tick(Duration::from_millis(120));
            b
        });
        if done {
            bar.set_style(ProgressStyle::with_template("  {msg}").expect("static template"));
            bar.finish_with_message(text);
            self.bars.remove(&s.shot_id);
        } else {
            bar.set_message(text);
        }
    }
}

fn describe_target(t: &TargetStatus) -> String {
    let mut line = format!("upload  {:<10}", t.target);
    if t.queued + t.in_flight == 0 && t.failing == 0 {
        line.push_str(" up to date");
        return line;
    }
    line.push_str(&format!(
        " {}/s, {} sending, {} queued",
        human_bytes(t.bytes_per_sec),
        t.in_flight,
        t.queued
    ));
    if t.failing > 0 {
        line.push_str(&format!(
            "; failing ({} tries): {}, retrying with backoff",
            t.failing,
            t.last_error.as_deref().unwrap_or("?")
        ));
    }
    line
}

fn describe(s: &ShotEvent) -> String {
    let stage = match s.stage {
        Stage::Detected => "detected",
        Stage::Downloaded => "saved to library",
        Stage::Processed => "web rendition ready",
        Stage::Uploading => "uploading",
        Stage::Retrying => "upload failed, will retry",
        Stage::Published => "in the gallery",
        Stage::Skipped => "skipped",
        Stage::Failed => "FAILED",
    };
    let mut line = format!("#{:<4} {:<16} {}", s.shot_id, s.filename, stage);
    if let Some(ms) = s.latency_ms {
        line.push_str(&format!("  {:.2} s shutter→gallery", ms as f64 / 1000.0));
    }
    if let Some(e) = &s.error {
        line.push_str(&format!("  ({e})"));
    }
    line
}

pub fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = b as f64;
    let mut i = 0;
    while v >= 1000.0 && i < UNITS.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    if i == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_a_card() {
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(63_800_000_000), "63.8 GB");
    }

    #[test]
    fn qr_has_rows() {
        let q = qr_text("http://192.168.1.20:8470/g/abc").unwrap();
        assert!(q.lines().count() > 10);
    }
}
