//! The `hotshoe` command: the demo, the headless agent, camera tools and the album server,
//! as subcommands over the library crates. It owns argument parsing, terminal output and
//! logging set-up; it must not hold pipeline logic of its own (that lives in `agent`) nor
//! server logic (that lives in `album`).

pub mod agent_config;
pub mod camera_cmd;
pub mod demo;
pub mod logging;
pub mod run_cmd;
pub mod terminal;

/// Resolves on Ctrl-C, or on SIGTERM (how service managers stop a daemon). Create it once per
/// run: a listener made afresh in a loop could miss a signal that lands in between.
pub async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let term = signal(SignalKind::terminate());
        let int = signal(SignalKind::interrupt());
        if let (Ok(mut term), Ok(mut int)) = (term, int) {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
