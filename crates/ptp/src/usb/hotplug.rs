//! Cameras coming and going. nusb's hotplug watch is combined with a 1 s
//! poll of the bus: on Linux the watch listens to udevd, and machines
//! without one (our VM guest, minimal containers) would otherwise hear
//! nothing. Both only trigger a rescan that is diffed against the cameras
//! already reported, so each arrival and departure is reported once.

use std::collections::HashMap;
use std::time::Duration;

use futures::{Stream, StreamExt};
use nusb::hotplug::{HotplugEvent, HotplugWatch};
use nusb::DeviceId;
use tracing::{debug, warn};

use crate::usb::discovery::{list_cameras, UsbCameraInfo};

/// How often the bus is rescanned when no hotplug event arrives.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// Interfaces may appear a moment after the device (sysfs on Linux, the
/// driver stack on Windows): wait this long after a hotplug event.
const SETTLE: Duration = Duration::from_millis(150);

/// A change in the set of attached cameras.
#[derive(Debug, Clone)]
pub enum CameraHotplug {
    Added(Box<UsbCameraInfo>),
    Removed {
        /// [`UsbCameraInfo::key`] of the camera that went away.
        key: String,
        location: String,
        device_id: DeviceId,
    },
}

/// Watches for cameras. The first calls of [`CameraWatch::next`] report the
/// cameras already attached as `Added`.
pub struct CameraWatch {
    watch: Option<HotplugWatch>,
    known: HashMap<DeviceId, UsbCameraInfo>,
    queue: std::collections::VecDeque<CameraHotplug>,
    interval: tokio::time::Interval,
}

/// Starts watching; see [`CameraWatch`]. Call it inside a tokio runtime
/// (the poll timer lives there).
pub fn watch_cameras() -> CameraWatch {
    // Created before the first listing so no device falls in between.
    let watch = match nusb::watch_devices() {
        Ok(w) => Some(w),
        Err(e) => {
            warn!(error = %e, "USB hotplug notifications unavailable; polling only");
            None
        }
    };
    let mut interval = tokio::time::interval(POLL_INTERVAL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    CameraWatch {
        watch,
        known: HashMap::new(),
        queue: Default::default(),
        interval,
    }
}

impl CameraWatch {
    /// The next change. Waits as long as nothing changes.
    pub async fn next(&mut self) -> CameraHotplug {
        loop {
            if let Some(change) = self.queue.pop_front() {
                return change;
            }
            match &mut self.watch {
                Some(watch) => {
                    tokio::select! {
                        ev = watch.next() => match ev {
                            Some(ev) => {
                                debug!(event = ?hotplug_kind(&ev), "USB hotplug event");
                                tokio::time::sleep(SETTLE).await;
                            }
                            None => {
                                warn!("USB hotplug stream ended; polling only");
                                self.watch = None;
                            }
                        },
                        _ = self.interval.tick() => {}
                    }
                }
                None => {
                    self.interval.tick().await;
                }
            }
            self.rescan().await;
        }
    }

    /// The cameras reported as attached and not yet removed.
    pub fn cameras(&self) -> impl Iterator<Item = &UsbCameraInfo> {
        self.known.values()
    }

    /// Turns the watch into a `Stream`.
    pub fn into_stream(self) -> impl Stream<Item = CameraHotplug> {
        futures::stream::unfold(self, |mut w| async move {
            let change = w.next().await;
            Some((change, w))
        })
    }

    async fn rescan(&mut self) {
        let cameras = match list_cameras().await {
            Ok(c) => c,
            Err(e) => {
                // Keep what we know: a transient failure is not a removal.
                warn!(error = %e, "rescanning USB failed");
                return;
            }
        };
        let current: HashMap<DeviceId, UsbCameraInfo> =
            cameras.into_iter().map(|c| (c.device_id(), c)).collect();
        let changes = diff(&mut self.known, current);
        self.queue.extend(changes);
    }
}

/// Updates `known` to `current`, returning removals first, then additions.
/// Generic over the id so it is tested without devices.
fn diff_by<Id: std::hash::Hash + Eq + Copy, T, C>(
    known: &mut HashMap<Id, T>,
    current: HashMap<Id, T>,
    removed: impl Fn(Id, T) -> C,
    added: impl Fn(&T) -> C,
) -> Vec<C> {
    let mut changes = Vec::new();
    let gone: Vec<Id> = known
        .keys()
        .filter(|id| !current.contains_key(*id))
        .copied()
        .collect();
    for id in gone {
        if let Some(old) = known.remove(&id) {
            changes.push(removed(id, old));
        }
    }
    for (id, info) in current {
        if let std::collections::hash_map::Entry::Vacant(slot) = known.entry(id) {
            changes.push(added(&info));
            slot.insert(info);
        }
    }
    changes
}

fn diff(
    known: &mut HashMap<DeviceId, UsbCameraInfo>,
    current: HashMap<DeviceId, UsbCameraInfo>,
) -> Vec<CameraHotplug> {
    diff_by(
        known,
        current,
        |device_id, old| CameraHotplug::Removed {
            key: old.key(),
            location: old.location(),
            device_id,
        },
        |info| CameraHotplug::Added(Box::new(info.clone())),
    )
}

fn hotplug_kind(ev: &HotplugEvent) -> &'static str {
    match ev {
        HotplugEvent::Connected(_) => "connected",
        HotplugEvent::Disconnected(_) => "disconnected",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    enum Change {
        Added(&'static str),
        Removed(u32, &'static str),
    }

    fn run(known: &mut HashMap<u32, &'static str>, now: &[(u32, &'static str)]) -> Vec<Change> {
        let mut c = diff_by(
            known,
            now.iter().copied().collect(),
            Change::Removed,
            |name: &&'static str| Change::Added(name),
        );
        c.sort_by_key(|c| format!("{c:?}"));
        c
    }

    #[test]
    fn each_change_is_reported_once() {
        let mut known = HashMap::new();
        assert_eq!(
            run(&mut known, &[(1, "a"), (2, "b")]),
            vec![Change::Added("a"), Change::Added("b")]
        );
        assert_eq!(run(&mut known, &[(1, "a"), (2, "b")]), vec![]);
        assert_eq!(run(&mut known, &[(1, "a")]), vec![Change::Removed(2, "b")]);
        assert_eq!(run(&mut known, &[(1, "a")]), vec![]);
        // Replugged: a new id even at the same place.
        assert_eq!(
            run(&mut known, &[(1, "a"), (3, "b")]),
            vec![Change::Added("b")]
        );
    }
}
