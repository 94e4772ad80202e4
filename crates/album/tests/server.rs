//! The album server over real HTTP on loopback: tus protocol, dedup, verification,
//! admin API, gallery, live events and persistence across restarts.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use album::{AlbumInfo, AlbumOptions, Config, Server};
use base64::Engine;
use futures::StreamExt;
use reqwest::{Client, Method, Response, StatusCode};
use sha1::Digest;

fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "album=info".into()),
        )
        .with_test_writer()
        .try_init();
}

/// A small smooth-gradient JPEG; `seed` makes different files.
fn jpeg(width: u16, height: u16, seed: u8) -> Vec<u8> {
    let mut pixels = Vec::with_capacity(width as usize * height as usize * 3);
    for y in 0..height {
        for x in 0..width {
            pixels.push((x as u32 * 255 / width as u32) as u8 ^ seed);
            pixels.push((y as u32 * 255 / height as u32) as u8);
            pixels.push(seed.wrapping_mul(37));
        }
    }
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, 85)
        .encode(&pixels, width, height, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    out
}

fn hash(data: &[u8]) -> String {
    blake3::hash(data).to_hex().to_string()
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn config(dir: &Path, max: u64) -> Config {
    Config {
        max_upload_bytes: max,
        ..Config::new(SocketAddr::from(([127, 0, 0, 1], 0)), dir)
    }
}

async fn start(dir: &Path) -> Server {
    init_logs();
    Server::start(config(dir, 200 * 1024 * 1024)).await.unwrap()
}

struct Ctx {
    server: Server,
    album: AlbumInfo,
    http: Client,
    _dir: tempfile::TempDir,
}

async fn ctx() -> Ctx {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let album = server.ensure_album("Anna & Ben's wedding").await.unwrap();
    Ctx {
        server,
        album,
        http: Client::new(),
        _dir: dir,
    }
}

fn header<'a>(r: &'a Response, name: &str) -> Option<&'a str> {
    r.headers().get(name).map(|v| v.to_str().unwrap())
}

fn metadata(filename: &str, content_hash: &str) -> String {
    format!(
        "filename {},content_hash {},rendition {},captured_at {}",
        b64(filename),
        b64(content_hash),
        b64("web"),
        b64("2025-06-14T15:04:05+02:00")
    )
}

impl Ctx {
    fn tus(&self, method: Method, url: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, url)
            .header("Tus-Resumable", "1.0.0")
            .bearer_auth(&self.album.upload_token)
    }

    async fn create(&self, length: usize, meta: &str) -> Response {
        self.tus(Method::POST, &self.album.upload_url)
            .header("Upload-Length", length.to_string())
            .header("Upload-Metadata", meta)
            .send()
            .await
            .unwrap()
    }

    async fn patch(&self, location: &str, offset: usize, chunk: &[u8]) -> Response {
        self.tus(Method::PATCH, location)
            .header("Upload-Offset", offset.to_string())
            .header("Content-Type", "application/offset+octet-stream")
            .body(chunk.to_vec())
            .send()
            .await
            .unwrap()
    }

    /// Creation-with-upload of a whole file; returns the response.
    async fn upload(&self, data: &[u8], filename: &str) -> Response {
        self.tus(Method::POST, &self.album.upload_url)
            .header("Upload-Length", data.len().to_string())
            .header("Upload-Metadata", metadata(filename, &hash(data)))
            .header("Content-Type", "application/offset+octet-stream")
            .body(data.to_vec())
            .send()
            .await
            .unwrap()
    }

    async fn photos(&self) -> Vec<serde_json::Value> {
        self.http
            .get(format!(
                "{}/api/albums/{}/photos",
                self.server.base_url(),
                self.album.id
            ))
            .bearer_auth(self.server.admin_token())
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn options_discovery() {
    let c = ctx().await;
    let r = c
        .http
        .request(Method::OPTIONS, &c.album.upload_url)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(header(&r, "tus-resumable"), Some("1.0.0"));
    assert_eq!(header(&r, "tus-version"), Some("1.0.0"));
    let ext = header(&r, "tus-extension").unwrap();
    for e in [
        "creation",
        "creation-with-upload",
        "termination",
        "checksum",
        "expiration",
    ] {
        assert!(ext.split(',').any(|x| x == e), "{e} missing from {ext}");
    }
    assert_eq!(header(&r, "tus-max-size"), Some("209715200"));
    assert_eq!(header(&r, "tus-checksum-algorithm"), Some("sha1"));
    let health = c
        .http
        .get(format!("{}/healthz", c.server.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    c.server.shutdown().await;
}

#[tokio::test]
async fn create_then_patch_in_two_chunks() {
    let c = ctx().await;
    let data = jpeg(640, 427, 1);
    let r = c
        .create(data.len(), &metadata("IMG_0001.JPG", &hash(&data)))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(header(&r, "upload-offset"), Some("0"));
    assert!(header(&r, "upload-expires").unwrap().ends_with("GMT"));
    let location = header(&r, "location").unwrap().to_owned();
    assert!(location.starts_with(&c.album.upload_url));

    let half = data.len() / 2;
    let r = c.patch(&location, 0, &data[..half]).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(header(&r, "upload-offset"), Some(half.to_string().as_str()));
    assert!(header(&r, "hotshoe-photo-id").is_none());

    let r = c.tus(Method::HEAD, &location).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "upload-offset"), Some(half.to_string().as_str()));
    assert_eq!(
        header(&r, "upload-length"),
        Some(data.len().to_string().as_str())
    );
    assert_eq!(header(&r, "cache-control"), Some("no-store"));

    let r = c.patch(&location, half, &data[half..]).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        header(&r, "upload-offset"),
        Some(data.len().to_string().as_str())
    );
    let photo_id = header(&r, "hotshoe-photo-id").unwrap().to_owned();

    let r = c.tus(Method::HEAD, &location).send().await.unwrap();
    assert_eq!(
        header(&r, "upload-offset"),
        Some(data.len().to_string().as_str())
    );

    let photos = c.photos().await;
    assert_eq!(photos.len(), 1);
    let p = &photos[0];
    assert_eq!(p["id"], photo_id.as_str());
    assert_eq!(p["width"], 640);
    assert_eq!(p["height"], 427);
    assert_eq!(p["bytes"], data.len());
    assert_eq!(p["content_hash"], hash(&data));
    assert_eq!(p["rendition"], "web");
    assert_eq!(p["filename"], "IMG_0001.JPG");
    assert_eq!(p["captured_at"], "2025-06-14T15:04:05+02:00");
    assert!(p["seq"].as_i64().unwrap() >= 1);

    // Both files are served, immutable, and the web file is byte-identical.
    let base = c.server.base_url();
    let web = c
        .http
        .get(format!("{base}/p/{photo_id}/web.jpg"))
        .send()
        .await
        .unwrap();
    assert_eq!(web.status(), StatusCode::OK);
    assert!(header(&web, "cache-control").unwrap().contains("max-age"));
    assert_eq!(header(&web, "content-type"), Some("image/jpeg"));
    assert_eq!(web.bytes().await.unwrap().as_ref(), data.as_slice());
    let thumb = c
        .http
        .get(format!("{base}/p/{photo_id}/thumb.jpg"))
        .send()
        .await
        .unwrap();
    assert_eq!(thumb.status(), StatusCode::OK);
    let thumb = thumb.bytes().await.unwrap();
    let facts = imaging::probe(&thumb).unwrap();
    assert_eq!(facts.width.max(facts.height), 480);
    let missing = c
        .http
        .get(format!("{base}/p/{photo_id}/other.jpg"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    c.server.shutdown().await;
}

#[tokio::test]
async fn creation_with_upload_completes_in_one_request() {
    let c = ctx().await;
    let data = jpeg(300, 200, 2);
    let r = c.upload(&data, "one.jpg").await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(
        header(&r, "upload-offset"),
        Some(data.len().to_string().as_str())
    );
    assert!(header(&r, "hotshoe-photo-id").is_some());
    assert!(header(&r, "hotshoe-duplicate").is_none());
    assert_eq!(c.photos().await.len(), 1);
    c.server.shutdown().await;
}

#[tokio::test]
async fn wrong_offset_is_409() {
    let c = ctx().await;
    let data = jpeg(64, 64, 3);
    let r = c.create(data.len(), &metadata("a.jpg", &hash(&data))).await;
    let location = header(&r, "location").unwrap().to_owned();
    let r = c.patch(&location, 10, &data[10..]).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(header(&r, "upload-offset"), Some("0"));
    // Wrong content type.
    let r = c
        .tus(Method::PATCH, &location)
        .header("Upload-Offset", "0")
        .header("Content-Type", "image/jpeg")
        .body(data.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Missing Tus-Resumable.
    let r = c
        .http
        .patch(&location)
        .bearer_auth(&c.album.upload_token)
        .header("Upload-Offset", "0")
        .header("Content-Type", "application/offset+octet-stream")
        .body(data.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PRECONDITION_FAILED);
    // Malformed offset.
    let r = c
        .tus(Method::PATCH, &location)
        .header("Upload-Offset", "-3")
        .header("Content-Type", "application/offset+octet-stream")
        .body(data.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // Still usable afterwards.
    let r = c.patch(&location, 0, &data).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    c.server.shutdown().await;
}

#[tokio::test]
async fn checksum_mismatch_is_460_and_appends_nothing() {
    let c = ctx().await;
    let data = jpeg(200, 150, 4);
    let r = c.create(data.len(), &metadata("c.jpg", &hash(&data))).await;
    let location = header(&r, "location").unwrap().to_owned();
    let half = data.len() / 2;
    let wrong = base64::engine::general_purpose::STANDARD.encode(sha1::Sha1::digest(b"nope"));
    let r = c
        .tus(Method::PATCH, &location)
        .header("Upload-Offset", "0")
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Checksum", format!("sha1 {wrong}"))
        .body(data[..half].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 460);
    let r = c.tus(Method::HEAD, &location).send().await.unwrap();
    assert_eq!(header(&r, "upload-offset"), Some("0"));

    let r = c
        .tus(Method::PATCH, &location)
        .header("Upload-Offset", "0")
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Checksum", "md5 AAAA")
        .body(data[..half].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    for (start, end) in [(0, half), (half, data.len())] {
        let right =
            base64::engine::general_purpose::STANDARD.encode(sha1::Sha1::digest(&data[start..end]));
        let r = c
            .tus(Method::PATCH, &location)
            .header("Upload-Offset", start.to_string())
            .header("Content-Type", "application/offset+octet-stream")
            .header("Upload-Checksum", format!("sha1 {right}"))
            .body(data[start..end].to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
    }
    let photos = c.photos().await;
    assert_eq!(photos.len(), 1);
    assert_eq!(photos[0]["bytes"], data.len());
    c.server.shutdown().await;
}

#[tokio::test]
async fn oversize_is_413() {
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(config(dir.path(), 10_000)).await.unwrap();
    let album = server.ensure_album("Small").await.unwrap();
    let c = Ctx {
        server,
        album,
        http: Client::new(),
        _dir: dir,
    };
    let r = c.create(10_001, &metadata("big.jpg", &hash(b"x"))).await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // A body running past Upload-Length is refused whole.
    let r = c.create(100, &metadata("small.jpg", &hash(b"y"))).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let location = header(&r, "location").unwrap().to_owned();
    let r = c.patch(&location, 0, &[0u8; 150]).await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let r = c.tus(Method::HEAD, &location).send().await.unwrap();
    assert_eq!(header(&r, "upload-offset"), Some("0"));
    c.server.shutdown().await;
}

#[tokio::test]
async fn missing_or_wrong_tokens_are_refused() {
    let c = ctx().await;
    let url = &c.album.upload_url;
    let r = c
        .http
        .post(url)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", "10")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(header(&r, "www-authenticate"), Some("Bearer"));
    let r = c
        .http
        .post(url)
        .header("Tus-Resumable", "1.0.0")
        .header("Authorization", "Basic Zm9vOmJhcg==")
        .header("Upload-Length", "10")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = c
        .http
        .post(url)
        .header("Tus-Resumable", "1.0.0")
        .bearer_auth("not-the-token-of-any-album")
        .header("Upload-Length", "10")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // Another album's token cannot see this album's uploads.
    let other = c
        .server
        .create_album("Other", AlbumOptions::default())
        .await
        .unwrap();
    let r = c.create(10, &metadata("x.jpg", &hash(b"x"))).await;
    let location = header(&r, "location").unwrap().to_owned();
    let r = c
        .http
        .head(&location)
        .header("Tus-Resumable", "1.0.0")
        .bearer_auth(&other.upload_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    let base = c.server.base_url();
    let r = c
        .http
        .get(format!("{base}/api/albums"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = c
        .http
        .get(format!("{base}/api/albums"))
        .bearer_auth(&c.album.upload_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = c
        .http
        .post(format!("{base}/api/albums"))
        .bearer_auth(c.server.admin_token())
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error());
    // Malformed metadata.
    let r = c.create(10, "filename %%%").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = c.create(10, &format!("content_hash {}", b64("abc"))).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    c.server.shutdown().await;
}

#[tokio::test]
async fn duplicate_content_hash_is_stored_once() {
    let c = ctx().await;
    let data = jpeg(320, 240, 5);
    let first = c.upload(&data, "d.jpg").await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let id = header(&first, "hotshoe-photo-id").unwrap().to_owned();

    let again = c.upload(&data, "d.jpg").await;
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(header(&again, "hotshoe-duplicate"), Some("1"));
    assert_eq!(header(&again, "hotshoe-photo-id"), Some(id.as_str()));
    assert_eq!(
        header(&again, "upload-offset"),
        Some(data.len().to_string().as_str())
    );
    let location = header(&again, "location").unwrap().to_owned();
    let r = c.tus(Method::HEAD, &location).send().await.unwrap();
    assert_eq!(
        header(&r, "upload-offset"),
        Some(data.len().to_string().as_str())
    );

    // A different rendition of the same original is a separate photo.
    let r = c
        .tus(Method::POST, &c.album.upload_url)
        .header("Upload-Length", data.len().to_string())
        .header(
            "Upload-Metadata",
            format!(
                "content_hash {},rendition {}",
                b64(&hash(&data)),
                b64("large")
            ),
        )
        .header("Content-Type", "application/offset+octet-stream")
        .body(data.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert!(header(&r, "hotshoe-duplicate").is_none());

    let photos = c.photos().await;
    assert_eq!(photos.len(), 2);
    assert_eq!(photos.iter().filter(|p| p["rendition"] == "web").count(), 1);
    c.server.shutdown().await;
}

#[tokio::test]
async fn concurrent_completion_of_one_original_makes_one_row() {
    let c = ctx().await;
    let data = jpeg(400, 300, 6);
    let meta = metadata("twin.jpg", &hash(&data));
    let mut locations = Vec::new();
    for _ in 0..4 {
        let r = c.create(data.len(), &meta).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        locations.push(header(&r, "location").unwrap().to_owned());
    }
    let results = futures::future::join_all(locations.iter().map(|l| c.patch(l, 0, &data))).await;
    let mut ids = Vec::new();
    for r in &results {
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        ids.push(header(r, "hotshoe-photo-id").unwrap().to_owned());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "all twins must name the same photo");
    assert_eq!(c.photos().await.len(), 1);
    c.server.shutdown().await;
}

#[tokio::test]
async fn non_jpeg_is_422_and_discarded() {
    let c = ctx().await;
    let data = b"\x89PNG\r\n\x1a\nthis is not a jpeg at all".to_vec();
    let r = c.upload(&data, "x.png").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // JPEG magic but garbage after it.
    let mut fake = vec![0xFF, 0xD8, 0xFF, 0xE0];
    fake.extend_from_slice(&[7u8; 500]);
    let r = c
        .create(fake.len(), &metadata("fake.jpg", &hash(&fake)))
        .await;
    let location = header(&r, "location").unwrap().to_owned();
    let r = c.patch(&location, 0, &fake).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = c.tus(Method::HEAD, &location).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(c.photos().await.is_empty());
    // The server is still fine.
    let r = c.upload(&jpeg(50, 50, 7), "ok.jpg").await;
    assert_eq!(r.status(), StatusCode::CREATED);
    c.server.shutdown().await;
}

#[tokio::test]
async fn termination_and_expiry() {
    let c = ctx().await;
    let r = c.create(100, &metadata("t.jpg", &hash(b"t"))).await;
    let location = header(&r, "location").unwrap().to_owned();
    let r = c.tus(Method::DELETE, &location).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = c.tus(Method::HEAD, &location).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    let r = c.create(100, &metadata("e.jpg", &hash(b"e"))).await;
    let location = header(&r, "location").unwrap().to_owned();
    let upload_id = location.rsplit('/').next().unwrap().to_owned();
    // Age the upload behind the server's back.
    let db = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        c._dir.path().join("album.db").display()
    ))
    .await
    .unwrap();
    sqlx::query("UPDATE uploads SET expires_at = 1 WHERE id = ?")
        .bind(&upload_id)
        .execute(&db)
        .await
        .unwrap();
    db.close().await;
    let r = c.tus(Method::HEAD, &location).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::GONE);
    let r = c.patch(&location, 0, &[1u8; 10]).await;
    assert_eq!(r.status(), StatusCode::GONE);
    c.server.shutdown().await;
}

/// Reads SSE frames until an event named `photo` arrives.
async fn next_photo_event(
    stream: &mut (impl futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin),
    buf: &mut String,
) -> (String, serde_json::Value) {
    loop {
        while let Some(end) = buf.find("\n\n") {
            let frame: String = buf.drain(..end + 2).collect();
            let mut name = "";
            let mut id = String::new();
            let mut data = String::new();
            for line in frame.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    name = if v.trim() == "photo" { "photo" } else { "" };
                } else if let Some(v) = line.strip_prefix("id:") {
                    id = v.trim().to_owned();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.trim());
                }
            }
            if name == "photo" {
                return (id, serde_json::from_str(&data).unwrap());
            }
        }
        let chunk = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("no SSE event within 10 s")
            .expect("SSE stream ended")
            .unwrap();
        buf.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[tokio::test]
async fn live_event_reaches_a_subscriber() {
    let c = ctx().await;
    let base = c.server.base_url();
    let events_url = format!("{base}/g/{}/events", c.album.slug);
    let r = c.http.get(&events_url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(header(&r, "content-type")
        .unwrap()
        .starts_with("text/event-stream"));
    let mut stream = r.bytes_stream();
    let mut buf = String::new();

    let data = jpeg(640, 480, 8);
    let started = Instant::now();
    let up = c.upload(&data, "live.jpg").await;
    let photo_id = header(&up, "hotshoe-photo-id").unwrap().to_owned();
    let (id, event) = next_photo_event(&mut stream, &mut buf).await;
    let latency = started.elapsed();
    println!(
        "upload start -> SSE photo event: {latency:?} (640x480, {} bytes)",
        data.len()
    );
    assert_eq!(event["id"], photo_id.as_str());
    assert_eq!(event["width"], 640);
    assert_eq!(event["height"], 480);
    assert_eq!(event["thumb_url"], format!("/p/{photo_id}/thumb.jpg"));
    assert_eq!(event["web_url"], format!("/p/{photo_id}/web.jpg"));
    assert_eq!(id, event["seq"].to_string());

    // A reconnecting browser is caught up from Last-Event-ID.
    let second = c.upload(&jpeg(100, 80, 9), "second.jpg").await;
    let second_id = header(&second, "hotshoe-photo-id").unwrap().to_owned();
    let r = c
        .http
        .get(&events_url)
        .header("Last-Event-ID", id.as_str())
        .send()
        .await
        .unwrap();
    let mut replay = r.bytes_stream();
    let mut rbuf = String::new();
    let (_, event) = next_photo_event(&mut replay, &mut rbuf).await;
    assert_eq!(event["id"], second_id.as_str());

    // Unknown slugs are 404, and shutdown ends open streams.
    let r = c
        .http
        .get(format!("{base}/g/nope/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    tokio::time::timeout(Duration::from_secs(5), c.server.shutdown())
        .await
        .expect("shutdown must not wait for open event streams");
}

#[tokio::test]
async fn gallery_page_json_and_qr() {
    let c = ctx().await;
    let base = c.server.base_url();
    let mut ids = Vec::new();
    for seed in 0..3 {
        let r = c.upload(&jpeg(120, 90, 20 + seed), "g.jpg").await;
        ids.push(header(&r, "hotshoe-photo-id").unwrap().to_owned());
    }
    let r = c.http.get(&c.album.gallery_url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(html.contains("Anna &amp; Ben&#39;s wedding"));
    assert!(html.contains("3 photos"));
    for id in &ids {
        assert!(html.contains(&format!("data-photo-id=\"{id}\"")));
    }
    // Newest first.
    let positions: Vec<_> = ids
        .iter()
        .map(|id| html.find(id.as_str()).unwrap())
        .collect();
    assert!(positions[2] < positions[1] && positions[1] < positions[0]);
    assert!(html.contains("EventSource"));

    let page: serde_json::Value = c
        .http
        .get(format!("{}/photos.json?limit=2", c.album.gallery_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let photos = page["photos"].as_array().unwrap();
    assert_eq!(photos.len(), 2);
    assert_eq!(photos[0]["id"], ids[2].as_str());
    let before = photos[1]["seq"].as_i64().unwrap();
    let page: serde_json::Value = c
        .http
        .get(format!(
            "{}/photos.json?before={before}&limit=60",
            c.album.gallery_url
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["photos"].as_array().unwrap().len(), 1);
    assert_eq!(page["photos"][0]["id"], ids[0].as_str());
    let bad = c
        .http
        .get(format!("{}/photos.json?before=abc", c.album.gallery_url))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);

    let qr = c
        .http
        .get(format!("{}/qr", c.album.gallery_url))
        .send()
        .await
        .unwrap();
    assert_eq!(qr.status(), StatusCode::OK);
    let qr = qr.text().await.unwrap();
    assert!(qr.contains("<svg"));
    assert!(qr.contains(&c.album.gallery_url));

    let r = c
        .http
        .get(format!("{base}/g/unknown-slug"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // A private album hides its gallery and its photos.
    let private = c
        .server
        .create_album(
            "Private",
            AlbumOptions {
                visibility: album::Visibility::Private,
                ..AlbumOptions::default()
            },
        )
        .await
        .unwrap();
    let r = c.http.get(&private.gallery_url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    c.server.shutdown().await;
}

#[tokio::test]
async fn restart_keeps_albums_photos_and_admin_token() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    assert!(server.first_start());
    let admin = server.admin_token().to_owned();
    let album = server.ensure_album("Gala").await.unwrap();
    let c = Ctx {
        server,
        album: album.clone(),
        http: Client::new(),
        _dir: tempfile::tempdir().unwrap(),
    };
    let data = jpeg(160, 120, 30);
    let r = c.upload(&data, "keep.jpg").await;
    let photo_id = header(&r, "hotshoe-photo-id").unwrap().to_owned();
    // Leave an unfinished upload behind to resume after the restart.
    let pending = jpeg(200, 100, 31);
    let r = c
        .create(pending.len(), &metadata("later.jpg", &hash(&pending)))
        .await;
    let pending_path = header(&r, "location").unwrap().to_owned();
    let pending_path = pending_path
        .trim_start_matches(&c.server.base_url())
        .to_owned();
    let r = c
        .patch(
            &format!("{}{pending_path}", c.server.base_url()),
            0,
            &pending[..100],
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    c.server.shutdown().await;

    let server = start(dir.path()).await;
    assert!(!server.first_start());
    assert_eq!(server.admin_token(), admin);
    let again = server.ensure_album("Gala").await.unwrap();
    assert_eq!(again.id, album.id);
    assert_eq!(again.slug, album.slug);
    assert_eq!(again.upload_token, album.upload_token);
    let c = Ctx {
        album: again,
        server,
        http: Client::new(),
        _dir: tempfile::tempdir().unwrap(),
    };
    let albums: Vec<AlbumInfo> = c
        .http
        .get(format!("{}/api/albums", c.server.base_url()))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(albums.len(), 1);
    let photos = c.photos().await;
    assert_eq!(photos.len(), 1);
    assert_eq!(photos[0]["id"], photo_id.as_str());
    let web = c
        .http
        .get(format!("{}/p/{photo_id}/web.jpg", c.server.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(web.bytes().await.unwrap().as_ref(), data.as_slice());

    let location = format!("{}{pending_path}", c.server.base_url());
    let r = c.tus(Method::HEAD, &location).send().await.unwrap();
    assert_eq!(header(&r, "upload-offset"), Some("100"));
    let r = c.patch(&location, 100, &pending[100..]).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(header(&r, "hotshoe-photo-id").is_some());
    assert_eq!(c.photos().await.len(), 2);

    // Admin API creates albums too.
    let created: AlbumInfo = c
        .http
        .post(format!("{}/api/albums", c.server.base_url()))
        .bearer_auth(&admin)
        .json(&serde_json::json!({"title": "Afterparty"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(created.title, "Afterparty");
    assert_eq!(created.slug.len(), 22);
    c.server.shutdown().await;
}

#[tokio::test]
async fn large_rendition_in_one_patch_is_streamed() {
    let c = ctx().await;
    // Noise compresses badly: a multi-megabyte JPEG, above axum's default 2 MB body limit.
    let (w, h) = (2048u16, 1536u16);
    let mut state = 0x1234_5678u32;
    let pixels: Vec<u8> = (0..w as usize * h as usize * 3)
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 24) as u8
        })
        .collect();
    let mut data = Vec::new();
    jpeg_encoder::Encoder::new(&mut data, 90)
        .encode(&pixels, w, h, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    assert!(data.len() > 3 * 1024 * 1024, "{} bytes", data.len());
    let r = c
        .create(data.len(), &metadata("big.jpg", &hash(&data)))
        .await;
    let location = header(&r, "location").unwrap().to_owned();
    let started = Instant::now();
    let r = c.patch(&location, 0, &data).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    println!(
        "{} bytes uploaded and published in {:?}",
        data.len(),
        started.elapsed()
    );
    let photos = c.photos().await;
    assert_eq!(photos[0]["width"], 2048);
    assert_eq!(photos[0]["height"], 1536);
    c.server.shutdown().await;
}
