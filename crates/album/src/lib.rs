//! The Hotshoe album server.
//!
//! It owns what happens after a rendition leaves the photographer's laptop: the tus 1.0
//! upload API, object storage of renditions and thumbnails, photo and album metadata
//! (SQLite embedded or PostgreSQL through sqlx), S3-compatible or local object storage,
//! auth (an admin token per server, revocable upload tokens per album, viewer links with
//! optional passwords), review mode, the admin page, the server-rendered guest gallery
//! with its QR page, and live events over Server-Sent Events (fanned out across instances
//! through PostgreSQL LISTEN/NOTIFY).
//!
//! It must not know about cameras, the agent's journal or the agent itself: the only
//! contract with the agent is HTTP (tus plus the `content_hash` idempotency key).
//!
//! Entry point: [`Server::start`] with a [`Config`].

mod admin;
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
pub mod setup_link;
mod store;
mod token;
mod tus;
mod views;

pub use config::Config;
pub use db::{AlbumOptions, AlbumPatch, Visibility};
pub use error::AlbumError;
pub use server::{create_album_direct, AlbumInfo, Server};
