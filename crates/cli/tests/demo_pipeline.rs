//! The demo's whole path, headless: a virtual camera shoots N frames, and each must end up in
//! the album exactly once, at web size with the right orientation and without GPS; a second
//! run on the same data publishes nothing twice.

use std::time::{Duration, Instant};

use hotshoe::demo::{Demo, DemoOptions};
use serde_json::Value;

const SHOTS: u32 = 6;

async fn photos(demo: &Demo) -> Vec<Value> {
    let url = format!(
        "{}/api/albums/{}/photos",
        demo.album.base_url(),
        demo.album_info.id
    );
    let resp = reqwest::Client::new()
        .get(url)
        .bearer_auth(demo.album.admin_token())
        .send()
        .await
        .expect("album server answers");
    assert!(resp.status().is_success(), "photos list: {}", resp.status());
    let body: Value = resp.json().await.expect("json");
    body.get("photos")
        .and_then(Value::as_array)
        .or_else(|| body.as_array())
        .cloned()
        .expect("a list of photos")
}

async fn wait_for_published(demo: &Demo, n: u64, limit: Duration) {
    let start = Instant::now();
    loop {
        let c = demo.agent.journal().counts().await.unwrap();
        if c.published >= n {
            return;
        }
        assert!(
            start.elapsed() < limit,
            "only {} of {n} shots published after {limit:?}: {c:?}",
            c.published
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_shot_lands_once_at_web_size_without_gps() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = DemoOptions::new(dir.path().to_path_buf());
    opts.shot_every = Duration::from_millis(700);
    opts.shots = Some(SHOTS);
    opts.shot_size = (3000, 2000);

    let demo = Demo::start(opts.clone()).await.unwrap();
    wait_for_published(&demo, SHOTS as u64, Duration::from_secs(120)).await;
    let list = photos(&demo).await;
    assert_eq!(list.len(), SHOTS as usize, "{list:#?}");
    let mut hashes: Vec<&str> = list
        .iter()
        .map(|p| p["content_hash"].as_str().unwrap())
        .collect();
    hashes.sort();
    hashes.dedup();
    assert_eq!(hashes.len(), SHOTS as usize, "a shot was stored twice");

    let http = reqwest::Client::new();
    let mut portraits = 0;
    for p in &list {
        let (w, h) = (p["width"].as_u64().unwrap(), p["height"].as_u64().unwrap());
        assert_eq!(w.max(h), 2048, "long edge of {p}");
        assert!(w.min(h) == 1365 || w.min(h) == 1366, "short edge of {p}");
        let id = p["id"].as_str().unwrap();
        let bytes = http
            .get(format!("{}/p/{id}/web.jpg", demo.album.base_url()))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let mut dec =
            zune_jpeg::JpegDecoder::new(zune_jpeg::zune_core::bytestream::ZCursor::new(&bytes[..]));
        dec.decode_headers().expect("a real JPEG");
        let (dw, dh) = dec.dimensions().unwrap();
        assert_eq!(
            (dw as u64, dh as u64),
            (w, h),
            "stored size differs from the record"
        );
        if h > w {
            portraits += 1;
        }
        if let Ok(exif) =
            exif::Reader::new().read_from_container(&mut std::io::Cursor::new(&bytes[..]))
        {
            for f in exif.fields() {
                assert_ne!(
                    f.tag.context(),
                    exif::Context::Gps,
                    "GPS left in {id}: {f:?}"
                );
                assert!(
                    !matches!(
                        f.tag,
                        exif::Tag::GPSLatitude
                            | exif::Tag::GPSLongitude
                            | exif::Tag::BodySerialNumber
                    ),
                    "private tag {:?} left in {id}",
                    f.tag
                );
                if f.tag == exif::Tag::Orientation {
                    assert_eq!(
                        f.value.get_uint(0),
                        Some(1),
                        "orientation not reset in {id}"
                    );
                }
            }
        }
    }
    assert!(
        portraits >= 1,
        "camsim shoots some frames with Orientation 6; none came out portrait"
    );

    // Every original is in the library, byte-for-byte what the journal hashed.
    for shot in demo.agent.journal().shots().await.unwrap() {
        let path = shot.library_path.expect("saved to the library");
        let data = std::fs::read(&path).unwrap();
        assert_eq!(
            blake3::hash(&data).to_hex().as_str(),
            shot.content_hash.as_deref().unwrap()
        );
    }
    demo.stop().await;

    // A second run over the same album, journal and card: the camera's card still holds every
    // shot, the agent lists it again, and nothing is published twice.
    let mut again = opts;
    again.shots = Some(0);
    let demo = Demo::start(again).await.unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let counts = demo.agent.journal().counts().await.unwrap();
    assert_eq!(counts.published, SHOTS as u64, "{counts:?}");
    let shots = demo.agent.journal().shots().await.unwrap();
    assert_eq!(shots.len(), SHOTS as usize, "{shots:#?}");
    assert_eq!(photos(&demo).await.len(), SHOTS as usize);
    demo.stop().await;
}
