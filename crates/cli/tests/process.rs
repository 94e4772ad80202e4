//! `hotshoe process` over a folder with good and bad files: the good ones render, every bad
//! one gets a clear error line, the worker pool survives, and the exit status says so.

use std::process::Command;

#[test]
fn process_reports_each_file_and_fails_when_any_did() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    let out = dir.path().join("out");
    std::fs::create_dir_all(&input).unwrap();
    let spec = camsim::scene::ShotSpec {
        width: 1200,
        height: 800,
        orientation: 6,
        gps: Some((1.0, 2.0)),
        ..Default::default()
    };
    let good = camsim::scene::render_shot(1, &spec);
    std::fs::write(input.join("a_good.jpg"), &good).unwrap();
    std::fs::write(input.join("b_empty.jpg"), b"").unwrap();
    std::fs::write(input.join("c_text.jpg"), b"hello, not a photo").unwrap();
    std::fs::write(input.join("d_cut.jpg"), &good[..good.len() / 2]).unwrap();
    std::fs::write(input.join("e_also_good.jpg"), &good).unwrap();

    let run = Command::new(env!("CARGO_BIN_EXE_hotshoe"))
        .args([
            "process",
            "--json",
            "--jobs",
            "2",
            "--crop",
            "4:5",
            "--long-edge",
            "500",
        ])
        .arg("--out")
        .arg(&out)
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(
        run.status.code(),
        Some(1),
        "a failed file makes the exit status 1"
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(run.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let summary = lines.last().unwrap();
    assert_eq!(summary["files"], 5);
    assert_eq!(summary["ok"], 2);
    assert_eq!(summary["failed"], 3);
    let error_of = |name: &str| {
        lines
            .iter()
            .find(|l| l["input"].as_str().is_some_and(|p| p.ends_with(name)))
            .and_then(|l| l["error"].as_str().map(str::to_owned))
            .unwrap_or_default()
    };
    assert!(
        error_of("b_empty.jpg").contains("empty"),
        "{}",
        error_of("b_empty.jpg")
    );
    assert!(error_of("c_text.jpg").contains("not an image"));
    assert!(error_of("d_cut.jpg").contains("truncated"));
    let rendition = std::fs::read(out.join("a_good.jpg")).unwrap();
    let facts = imaging::probe(&rendition).unwrap();
    assert_eq!((facts.width, facts.height), (400, 500), "upright 4:5 crop");
    assert!(!facts.has_gps);
}
