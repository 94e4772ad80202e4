//! An album server for independent test clients (tuspy, tus-js-client): starts on a free
//! loopback port with a 1 MiB size limit and a 2-second upload expiry, creates an album,
//! prints one JSON line `{"base_url","upload_url","upload_token","admin_token","album_id",
//! "samples"}` (paths of valid JPEGs to send)
//! and serves until its standard input closes.
//! `cargo run -p album --example tus_peer`

use std::net::SocketAddr;
use std::time::Duration;

use album::{Config, Server};
use tokio::io::AsyncReadExt;

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(std::env::var("HOTSHOE_LOG").unwrap_or_else(|_| "album=warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = Config::new(SocketAddr::from(([127, 0, 0, 1], 0)), dir.path());
    config.max_upload_bytes = 1024 * 1024;
    config.upload_ttl = Duration::from_secs(2);
    config.sweep_every = Duration::from_secs(1);
    let server = Server::start(config).await.expect("start");
    let album = server.ensure_album("tus peer").await.expect("album");
    // Valid JPEGs for the client to send (the server verifies what it stores).
    let samples: Vec<String> = (1..=3u8)
        .map(|seed| {
            let path = dir.path().join(format!("sample{seed}.jpg"));
            std::fs::write(&path, sample_jpeg(seed)).expect("write sample");
            path.display().to_string()
        })
        .collect();
    println!(
        "{}",
        serde_json::json!({
            "base_url": server.base_url(),
            "upload_url": album.upload_url,
            "upload_token": album.upload_token,
            "admin_token": server.admin_token(),
            "album_id": album.id,
            "samples": samples,
        })
    );
    let mut sink = Vec::new();
    let _ = tokio::io::stdin().read_to_end(&mut sink).await;
    server.shutdown().await;
}

fn sample_jpeg(seed: u8) -> Vec<u8> {
    let (w, h) = (96u16, 64u16);
    let mut pixels = Vec::with_capacity(w as usize * h as usize * 3);
    for y in 0..h {
        for x in 0..w {
            pixels.extend_from_slice(&[
                (x as u8).wrapping_mul(seed),
                (y as u8) ^ seed,
                seed.wrapping_mul(40),
            ]);
        }
    }
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, 85)
        .encode(&pixels, w, h, jpeg_encoder::ColorType::Rgb)
        .expect("encode");
    out
}
