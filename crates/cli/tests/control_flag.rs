//! `hotshoe run --control`: the process prints where the API is and where its token is, the
//! token works, and it appears in neither the output nor the log.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::{free_port, terminate, wait_until, write_shot, AgentDirs, AgentProc};

#[test]
fn run_with_control_serves_status_and_keeps_the_token_out_of_output_and_logs() {
    let tmp = tempfile::tempdir().unwrap();
    let dirs = AgentDirs::new(tmp.path());
    let port = free_port();
    let control = format!("127.0.0.1:{port}");
    // Debug level: the token must stay out of even the most talkative log.
    let mut agent = AgentProc::start_without_album(&dirs, &["--control", &control], "debug");

    let token_file = dirs.data.join("control.token");
    let output = || std::fs::read_to_string(&dirs.log).unwrap_or_default();
    wait_until(Duration::from_secs(30), "the control API line", || {
        output().contains("control API:")
    });
    let printed = output();
    assert!(
        printed.contains(&format!("http://127.0.0.1:{port}/api/status")),
        "{printed}"
    );
    assert!(
        printed.contains(&token_file.display().to_string()),
        "{printed}"
    );
    let token = std::fs::read_to_string(&token_file).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&token_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let (name, _) = write_shot(&dirs.hot, 1, (1200, 800));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let status = |token: &str| {
        rt.block_on(async {
            let res = reqwest::Client::new()
                .get(format!("http://127.0.0.1:{port}/api/status"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            let code = res.status().as_u16();
            (code, res.json::<Value>().await.unwrap())
        })
    };
    wait_until(Duration::from_secs(60), "the shot in the status", || {
        let (code, v) = status(&token);
        assert_eq!(code, 200, "{v}");
        v["recent"][0]["filename"] == name.as_str() && v["recent"][0]["stage"] == "processed"
    });
    let (code, v) = status("not-the-token");
    assert_eq!(code, 401, "{v}");

    terminate(&mut agent.child, Duration::from_secs(20));
    let printed = output();
    assert!(!printed.contains(&token), "the token was printed");
    let mut logs = 0;
    for entry in std::fs::read_dir(dirs.data.join("logs")).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        assert!(!text.contains(&token), "the token is in a log");
        assert!(text.contains("control API"), "no log of the API: {text}");
        logs += 1;
    }
    assert!(logs > 0, "no log file");
}
