//! The S3 target against a real S3 server (moto on 127.0.0.1): one PUT, multipart, a multipart
//! upload interrupted after two parts and resumed from the journal's state, and an expired
//! upload id. Uses `HOTSHOE_TEST_S3_ENDPOINT` when tests/album/run-backends.sh provides one,
//! else starts its own moto per test.

mod common;

use std::process::Command;
use std::sync::Arc;

use agent::upload::s3::{S3Config, S3Target, PART_SIZE};
use agent::upload::{
    naming::Secret, Forgetful, Meter, Pacer, Target, Throttle, UploadError, UploadIo,
};
use common::{have, job, venv, write_data, Peer, Recorder};
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};

/// An S3 endpoint and, when we started it, the moto process behind it.
async fn s3() -> Option<(String, Option<Peer>)> {
    if let Ok(endpoint) = std::env::var("HOTSHOE_TEST_S3_ENDPOINT") {
        return Some((endpoint, None));
    }
    let moto = venv().join("bin/moto_server");
    if !have(&moto, "moto_server") {
        return None;
    }
    let port = common::free_port();
    let mut cmd = Command::new(moto);
    cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
    let peer = common::spawn_listening(cmd, port, "moto_server");
    Some((format!("http://127.0.0.1:{port}"), Some(peer)))
}

/// A fresh bucket (moto takes unsigned bucket creation).
async fn bucket(endpoint: &str) -> String {
    let name = format!("hotshoe-{}", common::free_port());
    let resp = reqwest::Client::new()
        .put(format!("{endpoint}/{name}"))
        .send()
        .await
        .unwrap();
    assert!(
        resp.status().is_success(),
        "create bucket: {}",
        resp.status()
    );
    name
}

fn config(endpoint: &str, bucket: &str) -> S3Config {
    S3Config {
        bucket: bucket.into(),
        region: Some("us-east-1".into()),
        endpoint: Some(endpoint.into()),
        path_style: Some(true),
        prefix: "event".into(),
        template: "{hash}-{kind}.{ext}".into(),
        public_url: Some("https://photos.example/{key}".into()),
        access_key_id: Some("testing".into()),
        secret_access_key: Some(Secret::new("testing")),
        session_token: None,
    }
}

/// Reads the object back with an independent client.
async fn get(endpoint: &str, bucket: &str, key: &str) -> Vec<u8> {
    let store = AmazonS3Builder::new()
        .with_endpoint(endpoint)
        .with_allow_http(true)
        .with_region("us-east-1")
        .with_bucket_name(bucket)
        .with_access_key_id("testing")
        .with_secret_access_key("testing")
        .build()
        .unwrap();
    let r = store.get(&ObjectPath::parse(key).unwrap()).await.unwrap();
    r.bytes().await.unwrap().to_vec()
}

#[tokio::test]
async fn small_rendition_is_one_put() {
    let Some((endpoint, _moto)) = s3().await else {
        return;
    };
    let bucket = bucket(&endpoint).await;
    let t = S3Target::new("s3", &config(&endpoint, &bucket)).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("web.jpg");
    let data = write_data(&src, 700_000, 11);
    let j = job(&src, "web", "IMG_0001.JPG", &data);
    let rec = Recorder::default();
    let meter = Meter::new();
    let io = UploadIo {
        resume: &rec,
        pacer: Pacer::new(Throttle::new(None), meter.clone()),
    };
    let done = t.upload(&j, &io).await.unwrap();
    let key = format!("event/{}-web.jpg", j.content_hash);
    assert_eq!(
        done.remote_id.as_deref(),
        Some(format!("https://photos.example/{key}").as_str())
    );
    assert!(rec.all().is_empty(), "a single PUT has nothing to resume");
    assert_eq!(meter.total_bytes(), data.len() as u64);
    assert_eq!(get(&endpoint, &bucket, &key).await, data);
    // A retry overwrites the same key: still one object.
    t.upload(&j, &io).await.unwrap();
    let store = AmazonS3Builder::new()
        .with_endpoint(&endpoint)
        .with_allow_http(true)
        .with_region("us-east-1")
        .with_bucket_name(&bucket)
        .with_access_key_id("testing")
        .with_secret_access_key("testing")
        .build()
        .unwrap();
    use futures::TryStreamExt;
    let listed: Vec<_> = store.list(None).try_collect().await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
}

#[tokio::test]
async fn large_original_goes_multipart() {
    let Some((endpoint, _moto)) = s3().await else {
        return;
    };
    let bucket = bucket(&endpoint).await;
    let t = S3Target::new("s3", &config(&endpoint, &bucket)).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("IMG_0002.CR3");
    let data = write_data(&src, 20_000_000, 12);
    let j = job(&src, "original", "IMG_0002.CR3", &data);
    let rec = Recorder::default();
    let io = UploadIo {
        resume: &rec,
        pacer: Pacer::unlimited(),
    };
    t.upload(&j, &io).await.unwrap();
    // Remembered once at creation, then after each of the three parts.
    let states = rec.all();
    assert_eq!(states.len(), 4, "{states:?}");
    let parts = |s: &str| {
        serde_json::from_str::<serde_json::Value>(s).unwrap()["parts"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(
        states.iter().map(|s| parts(s)).collect::<Vec<_>>(),
        [0, 1, 2, 3]
    );
    let key = format!("event/{}-original.cr3", j.content_hash);
    assert_eq!(get(&endpoint, &bucket, &key).await, data);
}

#[tokio::test]
async fn interrupted_multipart_resumes_at_the_next_part() {
    let Some((endpoint, _moto)) = s3().await else {
        return;
    };
    let bucket = bucket(&endpoint).await;
    let t = Arc::new(S3Target::new("s3", &config(&endpoint, &bucket)).unwrap());
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("IMG_0003.CR3");
    let size = 4 * PART_SIZE as usize + 1234;
    let data = write_data(&src, size, 13);
    let mut j = job(&src, "original", "IMG_0003.CR3", &data);

    // First attempt: the agent is killed once two parts are recorded as done.
    let rec = Recorder::default();
    let io = UploadIo {
        resume: &rec,
        pacer: Pacer::unlimited(),
    };
    let parts_done = |s: &str| {
        serde_json::from_str::<serde_json::Value>(s).unwrap()["parts"]
            .as_array()
            .unwrap()
            .len()
    };
    {
        let upload = t.upload(&j, &io);
        tokio::pin!(upload);
        loop {
            tokio::select! {
                r = &mut upload => panic!("finished before the interruption: {r:?}"),
                _ = rec.changed.notified() => {
                    if rec.last().is_some_and(|s| parts_done(&s) == 2) {
                        break;
                    }
                }
            }
        }
    } // the upload future is dropped here, mid-way, as a killed process would leave it
    let state = rec.last().unwrap();
    let id = serde_json::from_str::<serde_json::Value>(&state).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // The restart: the journal hands back the remembered state.
    j.upload_url = Some(state);
    let rec2 = Recorder::default();
    let meter = Meter::new();
    let io2 = UploadIo {
        resume: &rec2,
        pacer: Pacer::new(Throttle::new(None), meter.clone()),
    };
    let done = t.upload(&j, &io2).await.unwrap();
    assert!(!done.duplicate);
    assert_eq!(
        meter.total_bytes(),
        (size as u64) - 2 * PART_SIZE,
        "only the parts after the second were sent again"
    );
    let states2 = rec2.all();
    assert_eq!(
        states2.iter().map(|s| parts_done(s)).collect::<Vec<_>>(),
        [3, 4, 5]
    );
    assert!(
        states2.iter().all(|s| s.contains(&id)),
        "the same multipart upload was continued"
    );
    let key = format!("event/{}-original.cr3", j.content_hash);
    assert_eq!(get(&endpoint, &bucket, &key).await, data);

    // A crash after S3 completed it but before the journal heard: the journal still holds the
    // multipart state, the object is there whole; nothing is sent again.
    let meter3 = Meter::new();
    let io3 = UploadIo {
        resume: &Forgetful,
        pacer: Pacer::new(Throttle::new(None), meter3.clone()),
    };
    j.upload_url = rec2.last();
    let again = t.upload(&j, &io3).await.unwrap();
    assert!(again.duplicate);
    assert_eq!(meter3.total_bytes(), 0);
}

#[tokio::test]
async fn an_unknown_upload_id_is_gone() {
    let Some((endpoint, _moto)) = s3().await else {
        return;
    };
    let bucket = bucket(&endpoint).await;
    let t = S3Target::new("s3", &config(&endpoint, &bucket)).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("IMG_0004.CR3");
    let data = write_data(&src, 9_000_000, 14);
    let mut j = job(&src, "original", "IMG_0004.CR3", &data);
    let key = t.key_of(&j).unwrap();
    // State of an upload the server has expired (or never had).
    j.upload_url = Some(
        serde_json::json!({
            "id": "no-such-upload",
            "key": key,
            "part_size": PART_SIZE,
            "size": data.len(),
            "parts": [],
        })
        .to_string(),
    );
    let io = UploadIo {
        resume: &Forgetful,
        pacer: Pacer::unlimited(),
    };
    let err = t.upload(&j, &io).await.unwrap_err();
    assert!(matches!(err, UploadError::Gone(_)), "{err:?}");
    // What the worker does next: start over without the state.
    j.upload_url = None;
    t.upload(&j, &io).await.unwrap();
    assert_eq!(get(&endpoint, &bucket, &key).await, data);
}

#[tokio::test]
async fn a_missing_bucket_is_rejected_and_a_dead_server_is_transient() {
    let Some((endpoint, _moto)) = s3().await else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("a.jpg");
    let data = write_data(&src, 1000, 15);
    let j = job(&src, "web", "a.jpg", &data);
    let io = UploadIo {
        resume: &Forgetful,
        pacer: Pacer::unlimited(),
    };
    let t = S3Target::new("s3", &config(&endpoint, "no-such-bucket")).unwrap();
    let err = t.upload(&j, &io).await.unwrap_err();
    assert!(matches!(err, UploadError::Rejected(_)), "{err:?}");
    let dead = format!("http://127.0.0.1:{}", common::free_port());
    let t = S3Target::new("s3", &config(&dead, "photos")).unwrap();
    let err = t.upload(&j, &io).await.unwrap_err();
    assert!(matches!(err, UploadError::Transient(_)), "{err:?}");
}
