//! The folder target on a real file system: atomic appearance, hostile camera names, retries.

mod common;

use std::time::Duration;

use agent::upload::folder::{FolderConfig, FolderTarget};
use agent::upload::{Forgetful, Meter, Pacer, Target, Throttle, UploadError, UploadIo};
use common::{job, write_data};

fn target(root: &std::path::Path, template: &str) -> FolderTarget {
    FolderTarget::new(
        "folder",
        &FolderConfig {
            path: root.to_owned(),
            template: template.into(),
        },
    )
    .unwrap()
}

/// Every file under `dir`, relative, sorted.
fn tree(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn file_appears_whole_or_not_at_all() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src.jpg");
    let data = write_data(&src, 1_000_000, 1);
    let root = tmp.path().join("out");
    std::fs::create_dir(&root).unwrap();
    let t = target(&root, "{hash}-{kind}.{ext}");
    let j = job(&src, "web", "IMG_0001.JPG", &data);
    let final_path = t.path_of(&j).unwrap();
    let part = final_path.with_file_name(format!(
        ".{}.part",
        final_path.file_name().unwrap().to_string_lossy()
    ));

    // 1 MB at 4 MB/s: about a quarter of a second during which a watcher polls the folder.
    let io = UploadIo {
        resume: &Forgetful,
        pacer: Pacer::new(Throttle::new(Some(4_000_000)), Meter::new()),
    };
    let upload = t.upload(&j, &io);
    tokio::pin!(upload);
    let (mut saw_part, mut polls) = (false, 0);
    let done = loop {
        tokio::select! {
            r = &mut upload => break r.unwrap(),
            _ = tokio::time::sleep(Duration::from_millis(5)) => {
                polls += 1;
                saw_part |= part.exists();
                if let Ok(m) = std::fs::metadata(&final_path) {
                    assert_eq!(m.len(), data.len() as u64, "a watcher saw a partial final file");
                }
            }
        }
    };
    assert!(
        polls > 10,
        "the upload was too quick to watch ({polls} polls)"
    );
    assert!(
        saw_part,
        "the file was never written under its temporary name"
    );
    assert!(!done.duplicate);
    assert_eq!(
        done.remote_id.as_deref(),
        Some(final_path.to_str().unwrap())
    );
    assert_eq!(std::fs::read(&final_path).unwrap(), data);
    assert_eq!(
        tree(&root),
        [format!("{}-web.jpg", j.content_hash)],
        "nothing but the file is left"
    );
}

#[tokio::test]
async fn hostile_camera_names_stay_inside_the_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("pub");
    std::fs::create_dir(&root).unwrap();
    let t = target(&root, "{date}/{filename}");
    let io = UploadIo {
        resume: &Forgetful,
        pacer: Pacer::unlimited(),
    };
    for (i, evil) in [
        "../../escaped.jpg",
        "/etc/cron.d/x.JPG",
        "..\\..\\win.jpg",
        ".hidden.jpg",
        "we\u{0}ird\nname .jpg",
    ]
    .into_iter()
    .enumerate()
    {
        let src = tmp.path().join(format!("src{i}.jpg"));
        let data = write_data(&src, 1000 + i, i as u64);
        let j = job(&src, "web", evil, &data);
        let done = t.upload(&j, &io).await.unwrap();
        let p = std::path::PathBuf::from(done.remote_id.unwrap());
        assert!(p.starts_with(root.join("2026-05-02")), "{evil:?} -> {p:?}");
        assert_eq!(std::fs::read(&p).unwrap(), data);
    }
    assert_eq!(
        tree(&root),
        [
            "2026-05-02/_hidden.jpg",
            "2026-05-02/escaped.jpg",
            "2026-05-02/we_ird_name_.jpg",
            "2026-05-02/win.jpg",
            "2026-05-02/x.jpg",
        ]
    );
    // Nothing was written next to the folder either.
    let mut beside: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with("src"))
        .collect();
    beside.sort();
    assert_eq!(beside, ["pub"]);
}

#[tokio::test]
async fn a_retry_publishes_once_and_replaces_a_stale_temporary_file() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("orig.CR3");
    let data = write_data(&src, 300_000, 7);
    let root = tmp.path().join("out");
    std::fs::create_dir(&root).unwrap();
    let t = target(&root, "{stem}_{hash}.{ext}");
    let j = job(&src, "original", "IMG_0042.CR3", &data);
    let final_path = t.path_of(&j).unwrap();
    // What a crash mid-write leaves: a temporary file with something else in it.
    let part = root.join(format!(
        ".{}.part",
        final_path.file_name().unwrap().to_string_lossy()
    ));
    std::fs::write(&part, b"garbage from a crash").unwrap();

    let meter = Meter::new();
    let io = UploadIo {
        resume: &Forgetful,
        pacer: Pacer::new(Throttle::new(None), meter.clone()),
    };
    let first = t.upload(&j, &io).await.unwrap();
    assert!(!first.duplicate);
    assert_eq!(meter.total_bytes(), data.len() as u64);
    // The journal never heard of it (crash after the rename): the retry finds it in place.
    let again = t.upload(&j, &io).await.unwrap();
    assert!(again.duplicate);
    assert_eq!(
        meter.total_bytes(),
        data.len() as u64,
        "the retry sent nothing"
    );
    assert_eq!(std::fs::read(&final_path).unwrap(), data);
    assert_eq!(tree(&root), [format!("IMG_0042_{}.cr3", j.content_hash)]);
}

#[tokio::test]
async fn an_unmounted_share_is_waited_out_not_created() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("a.jpg");
    let data = write_data(&src, 10, 3);
    let root = tmp.path().join("mnt/share");
    let t = target(&root, "{hash}.{ext}");
    let io = UploadIo {
        resume: &Forgetful,
        pacer: Pacer::unlimited(),
    };
    let err = t
        .upload(&job(&src, "web", "a.jpg", &data), &io)
        .await
        .unwrap_err();
    assert!(matches!(err, UploadError::Transient(_)), "{err:?}");
    assert!(!root.exists());
}
