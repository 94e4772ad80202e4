//! Every TOML example in docs/targets.md parses as `[[target]]` entries and builds a target, so
//! the documented keys are the real ones; secrets never show in what the config prints.

use agent::{TargetConfig, TargetKind};

#[derive(serde::Deserialize)]
struct File {
    target: Vec<TargetConfig>,
}

fn doc_examples() -> Vec<String> {
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/targets.md"),
    )
    .unwrap();
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in doc.lines() {
        match (&mut current, line.trim()) {
            (None, "```toml") => current = Some(String::new()),
            (Some(b), "```") => {
                blocks.push(std::mem::take(b));
                current = None;
            }
            (Some(b), _) => {
                b.push_str(line);
                b.push('\n');
            }
            _ => {}
        }
    }
    blocks
}

#[test]
fn documented_examples_build() {
    let blocks = doc_examples();
    let mut kinds = Vec::new();
    for b in &blocks {
        let file: File = toml::from_str(b).unwrap_or_else(|e| panic!("{e}\n{b}"));
        for t in file.target {
            let kind = match &t.kind {
                TargetKind::Album { .. } => "album",
                TargetKind::S3(_) => "s3",
                TargetKind::Ftp(_) => "ftp",
                TargetKind::Folder(_) => "folder",
            };
            kinds.push(kind);
            agent::upload::build(&t).unwrap_or_else(|e| panic!("{kind}: {e}"));
            let shown = format!("{t:?}");
            for secret in ["example-secret", "example-password"] {
                assert!(!shown.contains(secret), "{kind} prints a secret: {shown}");
            }
        }
    }
    kinds.sort();
    assert_eq!(kinds, ["album", "folder", "ftp", "s3"]);
}

#[test]
fn both_renditions_without_kind_in_the_name_is_refused() {
    let file: File = toml::from_str(
        r#"
        [[target]]
        name = "share"
        kind = "folder"
        path = "/srv/share"
        template = "{stem}_{hash}.{ext}"
        renditions = ["web", "original"]
        "#,
    )
    .unwrap();
    let err = agent::upload::build(&file.target[0]).err().unwrap();
    assert!(err.contains("{kind}"), "{err}");
}
