//! The camera itself, as the test or demo holds it: card, battery, session
//! state and the current USB link, shared with the device task.

use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use ptp::codes::{event, property, response};
use ptp::container::{Event, Response};
use time::OffsetDateTime;
use tokio::sync::mpsc;
use tokio::task::{AbortHandle, JoinHandle};
use tracing::{debug, info, warn};

use crate::config::CameraConfig;
use crate::faults::Faults;
use crate::scene::{render_shot, ShotSpec};
use crate::storage::{check_name, format_for, Backing, Card, CardObject, SHOT_FOLDER};
use crate::transport::{link, CamsimTransport, InChunk};

/// A shot the camera took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShotTaken {
    pub handle: u32,
    pub name: String,
    pub size: u64,
    pub captured_at: OffsetDateTime,
}

pub(crate) struct LinkState {
    pub generation: u64,
    pub events: mpsc::UnboundedSender<Vec<u8>>,
    task: AbortHandle,
}

pub(crate) struct State {
    pub card: Card,
    pub session: Option<u32>,
    pub battery: u8,
    pub faults: Faults,
    pub link: Option<LinkState>,
    /// Transaction ids of the cancel requests (0x64) the device accepted.
    pub cancel_requests: Vec<u32>,
    /// Device resets (0x66) the device went through.
    pub resets: u32,
    shots: Vec<ShotTaken>,
    generations: u64,
}

impl State {
    /// Queues an event on the interrupt pipe. Like real cameras, events are
    /// only sent inside a session; with no host they are simply lost.
    pub fn emit(&self, code: u16, params: &[u32]) {
        let (Some(_), Some(link)) = (self.session, &self.link) else {
            return;
        };
        match Event::new(code, 0, params).encode() {
            Ok(bytes) => {
                // A closed channel means the host is going away; the event is lost with it.
                let _ = link.events.send(bytes);
                debug!(event = %ptp::codes::describe_event(code), ?params, "event queued");
            }
            Err(e) => warn!(error = %e, "event not encodable"),
        }
    }
}

pub(crate) struct Shared {
    pub config: CameraConfig,
    state: Mutex<State>,
}

impl Shared {
    /// The state; a panic elsewhere while holding the lock leaves data that is
    /// still consistent enough for a simulator, so poisoning is ignored.
    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The device task of link `generation` ended; a pulled cable also ends the session.
    pub fn link_closed(&self, generation: u64, pulled: bool) {
        let mut st = self.state();
        if st.link.as_ref().is_some_and(|l| l.generation == generation) {
            st.link = None;
            if pulled {
                st.session = None;
            }
        }
    }
}

/// A virtual camera. Cheap to clone; all clones are the same camera.
#[derive(Clone)]
pub struct CameraHandle {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for CameraHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CameraHandle")
            .field("model", &self.shared.config.model)
            .field("serial", &self.shared.config.serial)
            .finish_non_exhaustive()
    }
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_local().unwrap_or_else(|_| OffsetDateTime::now_utc())
}

impl CameraHandle {
    /// A camera with its card loaded (from `card_dir` when set), not yet plugged in.
    pub fn new(config: CameraConfig) -> io::Result<Self> {
        config.validate()?;
        let card = Card::open(config.card_dir.as_deref())?;
        let state = State {
            card,
            session: None,
            battery: config.battery_percent,
            faults: Faults::default(),
            link: None,
            cancel_requests: Vec::new(),
            resets: 0,
            shots: Vec::new(),
            generations: 0,
        };
        Ok(Self {
            shared: Arc::new(Shared {
                config,
                state: Mutex::new(state),
            }),
        })
    }

    pub fn config(&self) -> &CameraConfig {
        &self.shared.config
    }

    /// Connects a host: starts a device task and returns the host's end.
    /// A previous host connection is cut. The session state survives, as on
    /// a camera whose previous client exited without CloseSession. Needs a
    /// tokio runtime.
    pub fn plug_in(&self) -> io::Result<CamsimTransport> {
        let rt = tokio::runtime::Handle::try_current()
            .map_err(|e| io::Error::other(format!("camsim needs a tokio runtime: {e}")))?;
        let cfg = &self.shared.config;
        let (host, device_end, events) = link(
            cfg.max_packet_size,
            cfg.io_timeout,
            Some(self.shared.clone()),
        );
        let mut st = self.shared.state();
        if let Some(bytes) = st.faults.stale_data_on_reconnect.take() {
            // The new channel is empty and holds more than these two
            // transfers, so they are queued before the device task starts.
            for chunk in stale_transfers(bytes) {
                if device_end.in_tx.try_send(chunk).is_err() {
                    warn!("stale data fault could not be queued");
                }
            }
            warn!(bytes, "fault: stale bulk-IN data left for the new host");
        }
        if let Some(old) = st.link.take() {
            old.task.abort();
            info!("previous host connection replaced");
        }
        st.generations += 1;
        let generation = st.generations;
        let task = rt.spawn(crate::device::serve(
            self.shared.clone(),
            generation,
            device_end,
        ));
        st.link = Some(LinkState {
            generation,
            events,
            task: task.abort_handle(),
        });
        info!(model = %cfg.model, generation, "camera plugged in");
        Ok(host)
    }

    /// Pulls the cable: the host's transport fails with Disconnected and the
    /// camera forgets its session. The card stays.
    pub fn unplug(&self) {
        let mut st = self.shared.state();
        if let Some(link) = st.link.take() {
            link.task.abort();
            st.session = None;
            info!("camera unplugged");
        }
    }

    pub fn is_connected(&self) -> bool {
        self.shared.state().link.is_some()
    }

    /// The id of the session the camera believes is open.
    pub fn session(&self) -> Option<u32> {
        self.shared.state().session
    }

    /// Renders a new JPEG (on a blocking thread: 24 MP takes a while), stores
    /// it as `IMG_nnnn.JPG` and announces it with ObjectAdded.
    pub async fn take_shot(&self) -> io::Result<ShotTaken> {
        let cfg = &self.shared.config;
        let seq = self.shared.state().card.reserve_seq();
        let portrait = cfg.portrait_every > 0 && seq.is_multiple_of(cfg.portrait_every);
        let captured_at = now();
        let spec = ShotSpec {
            width: cfg.shot_size.0,
            height: cfg.shot_size.1,
            make: cfg.manufacturer.clone(),
            model: cfg.model.clone(),
            serial: cfg.serial.clone(),
            captured_at,
            orientation: if portrait { 6 } else { 1 },
            gps: cfg.gps,
            quality: cfg.jpeg_quality,
        };
        let bytes = tokio::task::spawn_blocking(move || render_shot(seq, &spec))
            .await
            .map_err(|e| io::Error::other(format!("rendering shot {seq} failed: {e}")))?;
        let name = format!("IMG_{seq:04}.JPG");
        let size = bytes.len() as u64;
        let handle = self.store(&name, bytes, captured_at, cfg.shot_size).await?;
        let shot = ShotTaken {
            handle,
            name,
            size,
            captured_at,
        };
        self.shared.state().shots.push(shot.clone());
        info!(handle, name = %shot.name, size, "shot taken");
        Ok(shot)
    }

    /// Puts an arbitrary file on the card (in the shot folder) and announces
    /// it with ObjectAdded; returns its handle.
    pub async fn add_file(&self, name: &str, bytes: Vec<u8>) -> io::Result<u32> {
        let handle = self.store(name, bytes, now(), (0, 0)).await?;
        info!(handle, name, "file added to card");
        Ok(handle)
    }

    async fn store(
        &self,
        name: &str,
        bytes: Vec<u8>,
        captured_at: OffsetDateTime,
        pixels: (u32, u32),
    ) -> io::Result<u32> {
        check_name(name)?;
        if self.shared.state().card.contains_name(name) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{name} is already on the card"),
            ));
        }
        let size = bytes.len() as u64;
        let backing = match &self.shared.config.card_dir {
            Some(dir) => {
                let folder = dir.join(SHOT_FOLDER);
                let path = folder.join(name);
                // Written under a dot name first so a crash never leaves a
                // half file that a later scan would take for a shot.
                let tmp = folder.join(format!(".{name}.part"));
                tokio::fs::create_dir_all(&folder).await?;
                tokio::fs::write(&tmp, &bytes).await?;
                // A card's file time is the capture time; a later run that reloads the card
                // reports the same capture date, as a real camera does.
                let stamp = std::time::SystemTime::from(captured_at);
                let tmp_for_time = tmp.clone();
                tokio::task::spawn_blocking(move || {
                    std::fs::File::options()
                        .write(true)
                        .open(tmp_for_time)?
                        .set_modified(stamp)
                })
                .await
                .map_err(io::Error::other)??;
                if tokio::fs::try_exists(&path).await? {
                    let _ = tokio::fs::remove_file(&tmp).await;
                    return Err(io::Error::new(
                        io::ErrorKind::AlreadyExists,
                        format!("{} exists", path.display()),
                    ));
                }
                tokio::fs::rename(&tmp, &path).await?;
                Backing::File(path)
            }
            None => Backing::Memory(bytes.into()),
        };
        let object = CardObject {
            name: name.to_string(),
            size,
            format: format_for(name),
            captured_at,
            pixels,
            backing,
        };
        let mut st = self.shared.state();
        let handle = st.card.insert(object);
        st.emit(event::OBJECT_ADDED, &[handle]);
        Ok(handle)
    }

    /// Takes a shot every `every` (the first after one interval), `count`
    /// times or forever. Failures are logged and shooting goes on.
    pub fn spawn_auto_shooter(&self, every: Duration, count: Option<u32>) -> JoinHandle<()> {
        let camera = self.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(every.max(Duration::from_millis(1)));
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticker.tick().await;
            let mut taken = 0u32;
            while count.is_none_or(|c| taken < c) {
                ticker.tick().await;
                if let Err(e) = camera.take_shot().await {
                    warn!(error = %e, "auto shooter: shot failed");
                }
                taken += 1;
            }
            debug!(taken, "auto shooter done");
        })
    }

    /// Shots taken since this handle was created, oldest first.
    pub fn shots(&self) -> Vec<ShotTaken> {
        self.shared.state().shots.clone()
    }

    pub fn object_count(&self) -> usize {
        self.shared.state().card.len()
    }

    pub fn card_dir(&self) -> Option<PathBuf> {
        self.shared.state().card.dir().map(PathBuf::from)
    }

    pub fn battery(&self) -> u8 {
        self.shared.state().battery
    }

    /// Sets the battery level (capped at 100) and announces DevicePropChanged.
    pub fn set_battery(&self, percent: u8) {
        let mut st = self.shared.state();
        st.battery = percent.min(100);
        st.emit(
            event::DEVICE_PROP_CHANGED,
            &[u32::from(property::BATTERY_LEVEL)],
        );
    }

    pub fn faults(&self) -> Faults {
        self.shared.state().faults.clone()
    }

    pub fn set_faults(&self, faults: Faults) {
        self.shared.state().faults = faults;
    }

    /// Answers the next `ops` operations with DeviceBusy.
    pub fn busy_next(&self, ops: u32) {
        self.shared.state().faults.busy_ops = ops;
    }

    /// Pulls the cable after `bytes` payload bytes of the next longer object transfer.
    pub fn disconnect_after(&self, bytes: u64) {
        self.shared.state().faults.disconnect_after_bytes = Some(bytes);
    }

    /// Transaction ids of the cancel requests the camera accepted, oldest first.
    pub fn cancel_requests(&self) -> Vec<u32> {
        self.shared.state().cancel_requests.clone()
    }

    /// How many device resets (class request 0x66) the camera went through.
    pub fn resets(&self) -> u32 {
        self.shared.state().resets
    }
}

/// Transaction id of the download a previous host abandoned (stale data fault).
const STALE_TRANSACTION_ID: u32 = 0x0000_0BAD;

/// What a host that died mid-download leaves on bulk IN: the tail of the
/// object (bytes that form no container header) ending its transfer, then
/// that transaction's response.
fn stale_transfers(bytes: usize) -> Vec<InChunk> {
    let mut out = Vec::with_capacity(2);
    if bytes > 0 {
        let tail = (0..bytes).map(|i| 0xA5 ^ (i as u8)).collect();
        out.push(InChunk::data(tail, true));
    }
    match Response::new(response::OK, STALE_TRANSACTION_ID, &[]).encode() {
        Ok(r) => out.push(InChunk::data(r, true)),
        Err(e) => warn!(error = %e, "stale response not encodable"),
    }
    out
}
