//! The `hotshoe` command: the demo, the headless agent, camera tools and the album server,
//! as subcommands over the library crates. It owns argument parsing, terminal output and
//! logging set-up; it must not hold pipeline logic of its own (that lives in `agent`) nor
//! server logic (that lives in `album`).

pub mod demo;
pub mod logging;
pub mod terminal;
