//! The FTP target against a real FTP server (pyftpdlib on 127.0.0.1): temporary name then
//! rename, hostile names, a transfer cut mid-way and resumed with REST, bad credentials, the
//! bandwidth cap, and FTPS (explicit TLS) with the server's own CA.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use agent::upload::ftp::{FtpConfig, FtpTarget};
use agent::upload::naming::Secret;
use agent::upload::{Forgetful, Meter, Pacer, Target, Throttle, UploadError, UploadIo};
use common::{have, job, missing, venv, write_data, Peer};

/// pyftpdlib serving `dir` as user `photo` / `pw`, writable, on a free port.
fn ftp_server(dir: &Path, extra: &[&str]) -> Option<Peer> {
    let python = venv().join("bin/python");
    if !have(&python, "the test venv's python") {
        return None;
    }
    let probe = Command::new(&python)
        .args(["-c", "import pyftpdlib"])
        .status()
        .unwrap();
    if !probe.success() && !missing("pyftpdlib in the test venv") {
        return None;
    }
    let port = common::free_port();
    let mut cmd = Command::new(python);
    cmd.args(["-m", "pyftpdlib", "-i", "127.0.0.1", "-p"])
        .arg(port.to_string())
        .args(["-w", "-u", "photo", "-P", "pw", "-d"])
        .arg(dir)
        .args(extra);
    Some(common::spawn_listening(cmd, port, "pyftpdlib"))
}

fn config(port: u16, folder: &str, template: &str) -> FtpConfig {
    FtpConfig {
        url: format!("ftp://127.0.0.1:{port}/{folder}"),
        user: Some("photo".into()),
        password: Some(Secret::new("pw")),
        passive: true,
        template: template.into(),
        ca_file: None,
    }
}

#[tokio::test]
async fn upload_lands_under_its_final_name_in_new_folders() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("srv");
    std::fs::create_dir(&root).unwrap();
    let Some(server) = ftp_server(&root, &[]) else {
        return;
    };
    let t = FtpTarget::new(
        "ftp",
        &config(server.port, "events/day1", "{date}/{stem}_{kind}.{ext}"),
    )
    .unwrap();
    let src = tmp.path().join("web.jpg");
    let data = write_data(&src, 2_500_000, 21);
    let j = job(&src, "web", "../../../tmp/IMG 0001.JPG", &data);
    let io = UploadIo {
        resume: &Forgetful,
        pacer: Pacer::unlimited(),
    };
    let done = t.upload(&j, &io).await.unwrap();
    assert!(!done.duplicate);
    let dir = root.join("events/day1/2026-05-02");
    assert_eq!(
        done.remote_id.as_deref(),
        Some(
            format!(
                "ftp://127.0.0.1:{}/events/day1/2026-05-02/IMG_0001_web.jpg",
                server.port
            )
            .as_str()
        )
    );
    assert_eq!(std::fs::read(dir.join("IMG_0001_web.jpg")).unwrap(), data);
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["IMG_0001_web.jpg"], "no temporary file is left");
    // A retry (crash before the journal update) finds it whole and sends nothing.
    let meter = Meter::new();
    let io = UploadIo {
        resume: &Forgetful,
        pacer: Pacer::new(Throttle::new(None), meter.clone()),
    };
    assert!(t.upload(&j, &io).await.unwrap().duplicate);
    assert_eq!(meter.total_bytes(), 0);
}

#[tokio::test]
async fn a_cut_transfer_leaves_only_the_part_file_and_resumes_with_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("srv");
    std::fs::create_dir(&root).unwrap();
    let Some(server) = ftp_server(&root, &[]) else {
        return;
    };
    let t = FtpTarget::new("ftp", &config(server.port, "in", "{hash}-{kind}.{ext}")).unwrap();
    let src = tmp.path().join("IMG_0005.NEF");
    let size = 3_000_000;
    let data = write_data(&src, size, 22);
    let j = job(&src, "original", "IMG_0005.NEF", &data);
    let final_path = root.join(format!("in/{}-original.nef", j.content_hash));
    let part_path = root.join(format!("in/.{}-original.nef.part", j.content_hash));

    // 2 MB/s: the connection is cut (the upload future dropped, as when the agent is killed
    // or the Wi-Fi goes) about half a second in.
    let io = UploadIo {
        resume: &Forgetful,
        pacer: Pacer::new(Throttle::new(Some(2_000_000)), Meter::new()),
    };
    let cut = tokio::time::timeout(Duration::from_millis(700), t.upload(&j, &io)).await;
    assert!(cut.is_err(), "the upload finished before the cut");
    // Let the server notice the closed data connection and flush what it received.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut have_part = 0;
    while Instant::now() < deadline {
        let now = std::fs::metadata(&part_path).map(|m| m.len()).unwrap_or(0);
        if now > 0 && now == have_part {
            break;
        }
        have_part = now;
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        have_part > 0 && have_part < size as u64,
        "the server kept {have_part} bytes of the cut transfer"
    );
    assert!(
        !final_path.exists(),
        "the final name appeared before the file was complete"
    );

    let meter = Meter::new();
    let io = UploadIo {
        resume: &Forgetful,
        pacer: Pacer::new(Throttle::new(None), meter.clone()),
    };
    let done = t.upload(&j, &io).await.unwrap();
    assert!(!done.duplicate);
    assert_eq!(
        meter.total_bytes(),
        size as u64 - have_part,
        "only what the server lacked was sent"
    );
    assert_eq!(std::fs::read(&final_path).unwrap(), data);
    assert!(!part_path.exists());
}

#[tokio::test]
async fn wrong_password_is_rejected_and_no_server_is_transient() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(server) = ftp_server(tmp.path(), &[]) else {
        return;
    };
    let src = tmp.path().join("a.jpg");
    let data = write_data(&src, 1000, 23);
    let j = job(&src, "web", "a.jpg", &data);
    let io = UploadIo {
        resume: &Forgetful,
        pacer: Pacer::unlimited(),
    };
    let mut cfg = config(server.port, "", "{hash}.{ext}");
    cfg.password = Some(Secret::new("wrong"));
    let err = FtpTarget::new("ftp", &cfg)
        .unwrap()
        .upload(&j, &io)
        .await
        .unwrap_err();
    assert!(matches!(err, UploadError::Rejected(_)), "{err:?}");
    assert!(!format!("{err:?}").contains("wrong"), "{err:?}");
    let cfg = config(common::free_port(), "", "{hash}.{ext}");
    let err = FtpTarget::new("ftp", &cfg)
        .unwrap()
        .upload(&j, &io)
        .await
        .unwrap_err();
    assert!(matches!(err, UploadError::Transient(_)), "{err:?}");
}

/// The shared bandwidth cap, measured through a real network upload: 4 MB at 1 MB/s.
#[tokio::test]
async fn the_bandwidth_cap_holds_on_a_real_upload() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("srv");
    std::fs::create_dir(&root).unwrap();
    let Some(server) = ftp_server(&root, &[]) else {
        return;
    };
    let t = FtpTarget::new("ftp", &config(server.port, "", "{hash}.{ext}")).unwrap();
    let src = tmp.path().join("big.jpg");
    let data = write_data(&src, 4_000_000, 24);
    let j = job(&src, "web", "big.jpg", &data);
    let meter = Meter::new();
    let io = UploadIo {
        resume: &Forgetful,
        pacer: Pacer::new(Throttle::new(Some(1_000_000)), meter.clone()),
    };
    let start = Instant::now();
    t.upload(&j, &io).await.unwrap();
    let took = start.elapsed().as_secs_f64();
    // 4 MB less the bucket's 100 kB burst at 1 MB/s is 3.9 s.
    assert!(took >= 3.5, "4 MB at a 1 MB/s cap took only {took:.2} s");
    assert!(took < 8.0, "4 MB at a 1 MB/s cap took {took:.2} s");
    assert_eq!(meter.total_bytes(), 4_000_000);
    assert_eq!(
        std::fs::read(root.join(format!("{}.jpg", j.content_hash))).unwrap(),
        data
    );
}

/// FTPS with explicit TLS (`AUTH TLS`, protected data channel) against a server whose
/// certificate comes from its own CA, trusted through `ca_file`.
#[tokio::test]
async fn ftps_with_the_servers_own_ca() {
    let tmp = tempfile::tempdir().unwrap();
    let python = venv().join("bin/python");
    if !have(&python, "the test venv's python") {
        return;
    }
    let has_tls = Command::new(&python)
        .args(["-c", "import OpenSSL, pyftpdlib"])
        .status()
        .unwrap()
        .success();
    if !has_tls && !missing("pyOpenSSL and pyftpdlib in the test venv") {
        return;
    }
    if !have(Path::new("/usr/bin/openssl"), "openssl") {
        return;
    }
    // A CA and a server certificate for 127.0.0.1 signed by it.
    let d = tmp.path();
    let sh = |args: &str| {
        let ok = Command::new("sh")
            .arg("-c")
            .arg(args)
            .current_dir(d)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap()
            .success();
        assert!(ok, "{args}");
    };
    sh("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=test-ca -keyout ca.key -out ca.pem -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign");
    sh("openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout srv.key -out srv.csr");
    sh("printf 'subjectAltName=IP:127.0.0.1\\nbasicConstraints=CA:FALSE\\nextendedKeyUsage=serverAuth\\n' > ext.cnf && openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -out srv.pem -extfile ext.cnf");
    let root = d.join("srv");
    std::fs::create_dir(&root).unwrap();
    let key = d.join("srv.key");
    let cert = d.join("srv.pem");
    let Some(server) = ftp_server(
        &root,
        &[
            "--tls",
            "--keyfile",
            key.to_str().unwrap(),
            "--certfile",
            cert.to_str().unwrap(),
            "--tls-control-required",
            "--tls-data-required",
        ],
    ) else {
        return;
    };
    let src = d.join("web.jpg");
    let data = write_data(&src, 1_500_000, 25);
    let j = job(&src, "web", "a.jpg", &data);
    let io = UploadIo {
        resume: &Forgetful,
        pacer: Pacer::unlimited(),
    };
    let mut cfg = config(server.port, "secure", "{hash}.{ext}");
    cfg.url = format!("ftps://127.0.0.1:{}/secure", server.port);
    // Without the server's CA the certificate does not verify: a configuration problem.
    let err = FtpTarget::new("ftps", &cfg)
        .unwrap()
        .upload(&j, &io)
        .await
        .unwrap_err();
    assert!(matches!(err, UploadError::Rejected(_)), "{err:?}");
    cfg.ca_file = Some(d.join("ca.pem"));
    let done = FtpTarget::new("ftps", &cfg)
        .unwrap()
        .upload(&j, &io)
        .await
        .unwrap();
    assert!(done.remote_id.unwrap().starts_with("ftps://"));
    assert_eq!(
        std::fs::read(root.join(format!("secure/{}.jpg", j.content_hash))).unwrap(),
        data
    );
}
