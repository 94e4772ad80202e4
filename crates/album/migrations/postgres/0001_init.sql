-- The PostgreSQL schema: the same tables and columns as SQLite's 0001 + 0002, created in
-- one step (a PostgreSQL deployment never had the older layout). Integers are BIGINT and
-- booleans BIGINT 0/1 so sqlx's Any driver decodes them like SQLite's.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE albums (
    id             TEXT PRIMARY KEY,
    title          TEXT NOT NULL,
    slug           TEXT NOT NULL UNIQUE,
    upload_token   TEXT NOT NULL UNIQUE,
    created_at     TEXT NOT NULL,
    visibility     TEXT NOT NULL DEFAULT 'unlisted',
    review         BIGINT NOT NULL DEFAULT 0,
    password_hash  TEXT,
    allow_original BIGINT NOT NULL DEFAULT 0,
    photographer   TEXT,
    cover_photo_id TEXT,
    views          BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX albums_by_title ON albums (title);

CREATE TABLE photos (
    id           TEXT PRIMARY KEY,
    album_id     TEXT NOT NULL REFERENCES albums (id),
    seq          BIGINT NOT NULL UNIQUE,
    content_hash TEXT NOT NULL,
    rendition    TEXT NOT NULL,
    filename     TEXT,
    captured_at  TEXT,
    width        BIGINT NOT NULL,
    height       BIGINT NOT NULL,
    bytes        BIGINT NOT NULL,
    created_at   TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'published',
    section      TEXT
);
CREATE UNIQUE INDEX photos_identity ON photos (album_id, content_hash, rendition);
CREATE INDEX photos_by_album_seq ON photos (album_id, seq);
CREATE INDEX photos_by_album_status_seq ON photos (album_id, status, seq);

CREATE TABLE uploads (
    id            TEXT PRIMARY KEY,
    album_id      TEXT NOT NULL REFERENCES albums (id),
    upload_length BIGINT NOT NULL,
    upload_offset BIGINT NOT NULL DEFAULT 0,
    metadata      TEXT NOT NULL,
    photo_id      TEXT,
    expires_at    BIGINT NOT NULL,
    created_at    TEXT NOT NULL
);
CREATE INDEX uploads_by_expiry ON uploads (expires_at);

CREATE TABLE upload_tokens (
    token      TEXT PRIMARY KEY,
    album_id   TEXT NOT NULL REFERENCES albums (id),
    label      TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE INDEX upload_tokens_by_album ON upload_tokens (album_id);
