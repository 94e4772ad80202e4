//! Starts an album server with a few generated photos, for looking at the gallery in a
//! browser: `cargo run -p album --example gallery_demo -- [seconds] [url-file]`.
//! Uploads a new photo every few seconds to show live arrival.

use std::net::SocketAddr;
use std::time::Duration;

use album::{Config, Server};
use base64::Engine;

fn jpeg(width: u16, height: u16, seed: u8) -> Vec<u8> {
    let mut pixels = Vec::with_capacity(width as usize * height as usize * 3);
    let (r0, g0, b0) = (
        seed.wrapping_mul(53),
        seed.wrapping_mul(97),
        seed.wrapping_mul(29),
    );
    for y in 0..height {
        for x in 0..width {
            let fx = x as f32 / width as f32;
            let fy = y as f32 / height as f32;
            pixels.push((r0 as f32 * (1.0 - fy) + 40.0 * fx) as u8);
            pixels.push((g0 as f32 * fy * 0.8 + 30.0) as u8);
            pixels.push((b0 as f32 * (1.0 - fx) * 0.9 + 20.0) as u8);
        }
    }
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, 85)
        .encode(&pixels, width, height, jpeg_encoder::ColorType::Rgb)
        .expect("encode");
    out
}

async fn upload(http: &reqwest::Client, url: &str, token: &str, data: Vec<u8>, name: &str) {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let hash = blake3::hash(&data).to_hex().to_string();
    let response = http
        .post(url)
        .header("Tus-Resumable", "1.0.0")
        .bearer_auth(token)
        .header("Upload-Length", data.len().to_string())
        .header(
            "Upload-Metadata",
            format!("filename {},content_hash {}", b64(name), b64(&hash)),
        )
        .header("Content-Type", "application/offset+octet-stream")
        .body(data)
        .send()
        .await
        .expect("upload");
    println!("uploaded {name}: {}", response.status());
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter("album=info")
        .init();
    let mut args = std::env::args().skip(1);
    let seconds: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(60);
    let url_file = args.next();
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(Config::new(
        SocketAddr::from(([127, 0, 0, 1], 8471)),
        dir.path(),
    ))
    .await
    .expect("start");
    let album = server
        .ensure_album("Sofia & Marco · 14 June")
        .await
        .expect("album");
    let http = reqwest::Client::new();
    for i in 0..14u8 {
        let (w, h) = if i % 3 == 0 { (400, 600) } else { (600, 400) };
        let name = format!("IMG_{:04}.JPG", i + 1);
        upload(
            &http,
            &album.upload_url,
            &album.upload_token,
            jpeg(w, h, i + 1),
            &name,
        )
        .await;
    }
    println!("gallery: {}", album.gallery_url);
    if let Some(path) = url_file {
        std::fs::write(path, &album.gallery_url).expect("write url file");
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
    let mut n = 14u8;
    while tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_secs(5)).await;
        n = n.wrapping_add(1);
        let name = format!("IMG_{:04}.JPG", n as u32 + 1);
        upload(
            &http,
            &album.upload_url,
            &album.upload_token,
            jpeg(600, 400, n),
            &name,
        )
        .await;
    }
    server.shutdown().await;
}
