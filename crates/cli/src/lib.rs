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

/// Raises this process's soft limit on open files to its hard limit, and returns the new
/// soft limit. An album server holds one socket per open gallery page (SSE), and many
/// systems start processes at 1024, which a single busy event can exceed; children
/// (the benchmark's server) inherit the raised limit.
pub fn raise_open_files_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit/setrlimit with a valid resource and a pointer to a local struct.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
                return None;
            }
            if lim.rlim_cur < lim.rlim_max {
                let wanted = libc::rlimit {
                    rlim_cur: lim.rlim_max,
                    rlim_max: lim.rlim_max,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &wanted) == 0 {
                    lim = wanted;
                } else {
                    tracing::warn!(soft = lim.rlim_cur, "could not raise the open-files limit");
                }
            }
        }
        Some(lim.rlim_cur)
    }
    #[cfg(not(unix))]
    None
}
