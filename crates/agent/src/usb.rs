//! USB cameras: watches the bus, starts a camera source for each camera that appears, and
//! hands that source a fresh connection whenever its camera is (re)attached. An unplug is a
//! clean state change: the source reports it and waits; nothing is lost, since the journal
//! and the card still know every shot.

use std::collections::{HashMap, HashSet};

use ptp::usb::{CameraHotplug, UsbCameraInfo, UsbTransport};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::camera::{self, Connector, SourceCtx};

/// Which attached camera a connector wants.
#[derive(Debug, Clone)]
pub enum Selector {
    /// Exactly this camera ([`UsbCameraInfo::key`]).
    Key(String),
    /// The first camera whose name, serial, location or key contains this text (any camera
    /// when empty). Survives devices whose key changes on replug.
    Matching(String),
}

impl Selector {
    /// Whether `camera` is the one wanted.
    pub fn matches(&self, camera: &UsbCameraInfo) -> bool {
        match self {
            Selector::Key(k) => camera.key() == *k,
            Selector::Matching(text) => {
                let text = text.to_lowercase();
                text.is_empty()
                    || [
                        camera.display_name(),
                        camera.location(),
                        camera.key(),
                        camera.serial.clone().unwrap_or_default(),
                    ]
                    .iter()
                    .any(|s| s.to_lowercase().contains(&text))
            }
        }
    }

    fn pick(&self, present: &HashMap<String, UsbCameraInfo>) -> Option<UsbCameraInfo> {
        let mut hits: Vec<&UsbCameraInfo> = present.values().filter(|c| self.matches(c)).collect();
        // Several matches: the same one every time.
        hits.sort_by_key(|c| c.key());
        hits.first().map(|c| (*c).clone())
    }
}

/// Connects to a camera whenever it is present on the bus.
pub struct UsbConnector {
    selector: Selector,
    present: watch::Receiver<HashMap<String, UsbCameraInfo>>,
}

impl UsbConnector {
    /// A connector with its own bus watch, for tools that follow one camera (`hotshoe camera
    /// watch`). The watch task ends when the connector is dropped.
    pub fn watching(selector: Selector) -> UsbConnector {
        let (tx, rx) = watch::channel(HashMap::new());
        tokio::spawn(async move {
            let mut bus = ptp::usb::watch_cameras();
            loop {
                let change = tokio::select! {
                    _ = tx.closed() => return,
                    c = bus.next() => c,
                };
                tx.send_modify(|m| apply(m, change));
            }
        });
        UsbConnector {
            selector,
            present: rx,
        }
    }
}

fn apply(present: &mut HashMap<String, UsbCameraInfo>, change: CameraHotplug) {
    match change {
        CameraHotplug::Added(info) => {
            tracing::info!(camera = %info.display_name(), location = %info.location(), key = %info.key(), "camera attached");
            present.insert(info.key(), *info);
        }
        CameraHotplug::Removed { key, location, .. } => {
            tracing::info!(%key, %location, "camera detached");
            present.remove(&key);
        }
    }
}

impl Connector for UsbConnector {
    type Transport = UsbTransport;

    fn describe(&self) -> String {
        match &self.selector {
            Selector::Key(k) => k.clone(),
            Selector::Matching(t) if t.is_empty() => "usb".into(),
            Selector::Matching(t) => format!("usb:{t}"),
        }
    }

    async fn connect(&mut self) -> Result<UsbTransport, String> {
        loop {
            let info = self.selector.pick(&self.present.borrow_and_update());
            if let Some(info) = info {
                return ptp::usb::open(&info).await.map_err(|e| e.to_string());
            }
            // Not attached: wait for the bus to change rather than polling.
            if self.present.changed().await.is_err() {
                return Err("USB watch stopped".into());
            }
        }
    }
}

/// Runs until cancelled: one camera source per camera ever seen on the bus.
pub async fn run(ctx: SourceCtx, cancel: CancellationToken) {
    let mut watch = ptp::usb::watch_cameras();
    let (present_tx, _) = watch::channel(HashMap::<String, UsbCameraInfo>::new());
    let mut started: HashSet<String> = HashSet::new();
    let mut tasks = Vec::new();
    loop {
        let change = tokio::select! {
            _ = cancel.cancelled() => break,
            c = watch.next() => c,
        };
        let added = match &change {
            CameraHotplug::Added(info) => Some(info.key()),
            CameraHotplug::Removed { .. } => None,
        };
        present_tx.send_modify(|m| apply(m, change));
        if let Some(key) = added {
            if started.insert(key.clone()) {
                let connector = UsbConnector {
                    selector: Selector::Key(key),
                    present: present_tx.subscribe(),
                };
                tasks.push(tokio::spawn(camera::run(
                    connector,
                    ctx.clone(),
                    cancel.child_token(),
                )));
            }
        }
    }
    for t in tasks {
        let _ = t.await;
    }
}
