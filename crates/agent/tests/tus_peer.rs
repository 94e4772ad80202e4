//! Our tus client against an independent tus server: the reference `@tus/server` with
//! `@tus/file-store` (tests/tus-peer, installed by scripts/setup.sh --test). A whole upload in
//! two requests, and an upload interrupted once its URL was remembered, resumed from the
//! server's offset; the stored file must be byte-identical both times.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use agent::upload::tus::TusTarget;
use agent::upload::{Forgetful, Meter, Pacer, Target, Throttle, UploadIo};
use common::{have, job, missing, write_data, Peer, Recorder};

fn tus_server(dir: &Path) -> Option<Peer> {
    let peer_dir = common::repo_root().join("tests/tus-peer");
    if !have(
        &peer_dir.join("node_modules/@tus/server"),
        "@tus/server (npm ci in tests/tus-peer)",
    ) {
        return None;
    }
    if Command::new("node").arg("--version").output().is_err() && !missing("node") {
        return None;
    }
    let mut cmd = Command::new("node");
    cmd.arg(peer_dir.join("server.mjs")).arg("0").arg(dir);
    Some(common::spawn_announcing(cmd, "@tus/server"))
}

/// The file the FileStore keeps for an upload URL (named by the URL's last segment).
fn stored(dir: &Path, url: &str) -> PathBuf {
    dir.join(url.rsplit('/').next().unwrap())
}

/// A fresh @tus/server with its file store, and our client pointed at it; `None` when the peer
/// cannot run here (tus_server says why, and fails instead under CI=true).
fn peer() -> Option<(tempfile::TempDir, PathBuf, Peer, TusTarget)> {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    std::fs::create_dir(&store).unwrap();
    let server = tus_server(&store)?;
    let t = TusTarget::new(
        "tus",
        &format!("http://127.0.0.1:{}/files", server.port),
        None,
    )
    .unwrap();
    Some((tmp, store, server, t))
}

#[tokio::test]
async fn whole_upload_to_the_reference_server() {
    let Some((tmp, store, _server, t)) = peer() else {
        return;
    };
    let src = tmp.path().join("IMG_0001.JPG");
    // Bigger than one 8 MiB request: creation-with-upload carries the first chunk, one PATCH
    // the rest.
    let data = write_data(&src, 10_000_000, 31);
    let j = job(&src, "original", "IMG_0001.JPG", &data);
    let rec = Recorder::default();
    let meter = Meter::new();
    let io = UploadIo {
        resume: &rec,
        pacer: Pacer::new(Throttle::new(None), meter.clone()),
    };
    t.upload(&j, &io).await.unwrap();
    assert_eq!(meter.total_bytes(), data.len() as u64);
    let url = rec.last().expect("the upload URL was remembered");
    assert_eq!(std::fs::read(stored(&store, &url)).unwrap(), data);
    // The metadata the album server relies on reached an independent server intact.
    let info: serde_json::Value = serde_json::from_slice(
        &std::fs::read(stored(&store, &url).with_extension("json")).unwrap(),
    )
    .unwrap();
    assert_eq!(info["metadata"]["content_hash"], j.content_hash.as_str());
    assert_eq!(info["metadata"]["rendition"], "original");
    assert_eq!(info["size"], data.len());
}

#[tokio::test]
async fn interrupted_upload_resumes_from_the_servers_offset() {
    let Some((tmp, store, _server, t)) = peer() else {
        return;
    };
    let src = tmp.path().join("IMG_0002.JPG");
    let size = 12_000_000u64;
    let data = write_data(&src, size as usize, 32);
    let mut j = job(&src, "original", "IMG_0002.JPG", &data);

    // The agent is killed right after the upload URL reached the journal.
    let rec = Recorder::default();
    let io = UploadIo {
        resume: &rec,
        pacer: Pacer::unlimited(),
    };
    {
        let upload = t.upload(&j, &io);
        tokio::pin!(upload);
        tokio::select! {
            r = &mut upload => panic!("finished before the interruption: {r:?}"),
            _ = rec.changed.notified() => {}
        }
    }
    let url = rec.last().unwrap();
    let head = reqwest::Client::new()
        .head(&url)
        .header("Tus-Resumable", "1.0.0")
        .send()
        .await
        .unwrap();
    let offset: u64 = head.headers()["Upload-Offset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        offset > 0 && offset < size,
        "server has {offset} of {size} bytes"
    );

    // The restart: the journal hands the URL back.
    j.upload_url = Some(url.clone());
    let meter = Meter::new();
    let io = UploadIo {
        resume: &Forgetful,
        pacer: Pacer::new(Throttle::new(None), meter.clone()),
    };
    t.upload(&j, &io).await.unwrap();
    assert_eq!(
        meter.total_bytes(),
        size - offset,
        "only what the server lacked was sent"
    );
    assert_eq!(std::fs::read(stored(&store, &url)).unwrap(), data);
}
