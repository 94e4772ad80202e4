//! The Hotshoe album server.
//!
//! It owns what happens after a rendition leaves the photographer's laptop: the tus 1.0
//! upload API, object storage of renditions and thumbnails, photo and album metadata
//! (SQLite through sqlx, with a schema kept portable to PostgreSQL), bearer-token auth
//! (an admin token per server, an upload token per album), the server-rendered guest
//! gallery with its QR page, and live new-photo events over Server-Sent Events.
//!
//! It must not know about cameras, the agent's journal or the agent itself: the only
//! contract with the agent is HTTP (tus plus the `content_hash` idempotency key).
//!
//! Entry point: [`Server::start`] with a [`Config`].

mod api;
mod auth;
mod config;
mod db;
mod error;
mod finalize;
mod gallery;
mod http_error;
mod live;
mod qr;
mod server;
mod store;
mod token;
mod tus;

pub use config::Config;
pub use db::AlbumOptions;
pub use error::AlbumError;
pub use server::{AlbumInfo, Server};
