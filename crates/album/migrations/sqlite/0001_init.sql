-- Portable SQL on purpose: TEXT ids, BIGINT counters and TEXT timestamps read the
-- same in SQLite and PostgreSQL, so the PostgreSQL backend can reuse this schema.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE albums (
    id           TEXT PRIMARY KEY,
    title        TEXT NOT NULL,
    slug         TEXT NOT NULL UNIQUE,
    upload_token TEXT NOT NULL UNIQUE,
    is_public    BOOLEAN NOT NULL DEFAULT TRUE,
    created_at   TEXT NOT NULL
);
CREATE INDEX albums_by_title ON albums (title);

CREATE TABLE photos (
    id           TEXT PRIMARY KEY,
    album_id     TEXT NOT NULL REFERENCES albums (id),
    -- Server-wide, strictly increasing: orders the gallery and doubles as the SSE event id.
    seq          BIGINT NOT NULL UNIQUE,
    content_hash TEXT NOT NULL,
    rendition    TEXT NOT NULL,
    filename     TEXT,
    captured_at  TEXT,
    width        INTEGER NOT NULL,
    height       INTEGER NOT NULL,
    bytes        BIGINT NOT NULL,
    created_at   TEXT NOT NULL
);
-- The idempotency key: one row per original and rendition, however many times it arrives.
CREATE UNIQUE INDEX photos_identity ON photos (album_id, content_hash, rendition);
CREATE INDEX photos_by_album_seq ON photos (album_id, seq);

CREATE TABLE uploads (
    id            TEXT PRIMARY KEY,
    album_id      TEXT NOT NULL REFERENCES albums (id),
    upload_length BIGINT NOT NULL,
    upload_offset BIGINT NOT NULL DEFAULT 0,
    metadata      TEXT NOT NULL,
    -- Set once the upload became (or turned out to duplicate) a photo.
    photo_id      TEXT,
    expires_at    BIGINT NOT NULL,
    created_at    TEXT NOT NULL
);
CREATE INDEX uploads_by_expiry ON uploads (expires_at);
