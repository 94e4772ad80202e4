//! Exercises the USB transport against a real device: list cameras, open
//! the first, GetDeviceInfo, list every object, download the largest, then
//! wait for an event. Runs unchanged in the tests/vm guest.
//!
//! usb_probe [--out DIR] [--shoot PATH] [--wait SECS] [--watch SECS]
//!   --out DIR     save the downloaded object there (to compare bytes)
//!   --shoot PATH  after listing, copy the downloaded object to PATH (a file
//!                 in the camera's folder) and time the ObjectAdded event
//!   --wait SECS   how long to wait for an event (default 10)
//!   --watch SECS  only print hotplug changes for SECS, then exit
//!
//! After the download it forces a 1 ms transfer timeout in the middle of a
//! second download and checks that the session recovers.
//!
//! After the download it forces a 1 ms transfer timeout in the middle of a
//! second download and checks the session recovers.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use ptp::session::{ALL_STORAGES, ANY_FORMAT, ANY_PARENT};
use ptp::usb;
use ptp::Session;

struct Args {
    out: Option<PathBuf>,
    shoot: Option<PathBuf>,
    wait: Duration,
    watch: Option<Duration>,
}

fn args() -> Args {
    let mut a = Args {
        out: None,
        shoot: None,
        wait: Duration::from_secs(10),
        watch: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--out" => a.out = Some(value().into()),
            "--shoot" => a.shoot = Some(value().into()),
            "--wait" => a.wait = Duration::from_secs_f64(value().parse().expect("seconds")),
            "--watch" => a.watch = Some(Duration::from_secs_f64(value().parse().expect("seconds"))),
            other => panic!("unknown argument {other}"),
        }
    }
    a
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = args();

    if let Some(limit) = args.watch {
        let mut watch = usb::watch_cameras();
        let end = tokio::time::Instant::now() + limit;
        let started = Instant::now();
        while let Ok(change) = tokio::time::timeout_at(end, watch.next()).await {
            match change {
                usb::CameraHotplug::Added(c) => println!(
                    "{:>7.3}s added {} at {} key={}",
                    started.elapsed().as_secs_f64(),
                    c.display_name(),
                    c.location(),
                    c.key()
                ),
                usb::CameraHotplug::Removed { key, location, .. } => println!(
                    "{:>7.3}s removed {key} at {location}",
                    started.elapsed().as_secs_f64()
                ),
            }
        }
        return Ok(());
    }

    let t = Instant::now();
    let cameras = usb::list_cameras().await?;
    println!("list_cameras: {} in {:?}", cameras.len(), t.elapsed());
    for c in &cameras {
        println!(
            "  {} {:04x}:{:04x} at {} (address {}, interface {}, {:?}) key={}",
            c.display_name(),
            c.vendor_id,
            c.product_id,
            c.location(),
            c.device_address,
            c.interface,
            c.match_reason,
            c.key()
        );
    }
    let camera = cameras.first().ok_or("no camera found")?;

    let t = Instant::now();
    let transport = usb::open(camera).await?;
    println!(
        "open: {:?} (mps in {}, out {})",
        t.elapsed(),
        ptp::Transport::max_packet_size(&transport),
        transport.max_packet_size_out()
    );
    let mut session = Session::open(transport, 1).await?;
    let info = session.device_info().await?;
    println!(
        "device: {} {} {} serial={:?}; {} operations, {} events",
        info.manufacturer,
        info.model,
        info.device_version,
        info.serial_number,
        info.operations_supported.len(),
        info.events_supported.len()
    );
    let storages = session.storage_ids().await?;
    println!("storages: {storages:08x?}");

    let t = Instant::now();
    let handles = session
        .object_handles(ALL_STORAGES, ANY_FORMAT, ANY_PARENT)
        .await?;
    println!("objects: {} listed in {:?}", handles.len(), t.elapsed());
    let mut largest: Option<(u32, ptp::ObjectInfo)> = None;
    for h in &handles {
        let oi = session.object_info(*h).await?;
        if largest
            .as_ref()
            .is_none_or(|(_, l)| oi.object_compressed_size > l.object_compressed_size)
        {
            largest = Some((*h, oi));
        }
    }

    let mut downloaded: Option<PathBuf> = None;
    if let Some((handle, oi)) = largest {
        let t = Instant::now();
        let mut bytes = Vec::with_capacity(oi.object_compressed_size as usize);
        let n = session.get_object(handle, &mut bytes).await?;
        let secs = t.elapsed().as_secs_f64();
        println!(
            "download: {} ({n} bytes) in {secs:.3}s = {:.1} MB/s",
            oi.filename,
            n as f64 / secs / 1e6
        );
        if let Some(dir) = &args.out {
            let path = dir.join(&oi.filename);
            std::fs::write(&path, &bytes)?;
            downloaded = Some(path);
        }
        // A cancelled-in-the-middle partial read, then the session must go on.
        let mut part = Vec::new();
        let got = session
            .get_partial_object(handle, 0, 1000, &mut part)
            .await?;
        println!(
            "partial: {got} bytes, first matches: {}",
            part[..] == bytes[..got as usize]
        );

        // Force a timeout in the middle of a download: recovery (cancel,
        // drain, status) must leave the session usable.
        session
            .transport_mut()
            .set_timeout(Duration::from_millis(1));
        let t = Instant::now();
        let mut sink = Vec::new();
        let err = session.get_object(handle, &mut sink).await;
        session.transport_mut().set_timeout(usb::DEFAULT_TIMEOUT);
        println!(
            "timeout test: {:?} after {} bytes, recovery {:?}, {:?}",
            err.err().map(|e| e.to_string()),
            sink.len(),
            session.last_recovery(),
            t.elapsed()
        );
        let mut again = Vec::new();
        session.get_object(handle, &mut again).await?;
        println!("after recovery: download again matches: {}", again == bytes);
    }

    let shot_at = match (&args.shoot, &downloaded) {
        (Some(path), Some(src)) => {
            // Write elsewhere, then hard-link in: usb-mtp takes the size at
            // creation (docs/notes/usb-ptp-transport.md (c)).
            let tmp = path.with_file_name(format!(".{}.tmp", std::process::id()));
            std::fs::copy(src, &tmp)?;
            let at = Instant::now();
            std::fs::hard_link(&tmp, path)?;
            std::fs::remove_file(&tmp)?;
            println!("shot: linked {}", path.display());
            Some(at)
        }
        (Some(path), None) => {
            let at = Instant::now();
            std::fs::write(path, b"hotshoe test shot")?;
            println!("shot: wrote {}", path.display());
            Some(at)
        }
        _ => None,
    };

    let end = Instant::now() + args.wait;
    let waited = Instant::now();
    loop {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            println!("event: none within {:?}", args.wait);
            break;
        }
        match session.next_event(left).await? {
            None => {
                println!("event: none within {:?}", args.wait);
                break;
            }
            Some(ev) => {
                let since = shot_at.unwrap_or(waited).elapsed();
                println!(
                    "event: {} {:x?} after {:.0} ms",
                    ptp::codes::describe_event(ev.code),
                    ev.params,
                    since.as_secs_f64() * 1000.0
                );
                if ev.code == ptp::codes::event::OBJECT_ADDED {
                    let oi = session.object_info(ev.params[0]).await?;
                    println!(
                        "  new object {} {} bytes",
                        oi.filename, oi.object_compressed_size
                    );
                    break;
                }
            }
        }
    }
    session.close().await?;
    println!("closed");
    Ok(())
}
