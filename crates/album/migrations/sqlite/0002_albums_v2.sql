-- Album settings for guests and review, revocable upload tokens, photo status and sections.
-- Booleans are INTEGER 0/1 and visibility is TEXT so the same runtime queries read alike
-- through sqlx's Any driver on SQLite and PostgreSQL.

ALTER TABLE albums ADD COLUMN visibility TEXT NOT NULL DEFAULT 'unlisted';
UPDATE albums SET visibility = CASE WHEN is_public THEN 'unlisted' ELSE 'private' END;
ALTER TABLE albums ADD COLUMN review INTEGER NOT NULL DEFAULT 0;
ALTER TABLE albums ADD COLUMN password_hash TEXT;
ALTER TABLE albums ADD COLUMN allow_original INTEGER NOT NULL DEFAULT 0;
ALTER TABLE albums ADD COLUMN photographer TEXT;
ALTER TABLE albums ADD COLUMN cover_photo_id TEXT;
ALTER TABLE albums ADD COLUMN views BIGINT NOT NULL DEFAULT 0;

-- 'published' (guests see it), 'pending' (waits in the review queue), 'rejected'.
ALTER TABLE photos ADD COLUMN status TEXT NOT NULL DEFAULT 'published';
-- Sub-album ("Ceremony", "Party"); NULL means none.
ALTER TABLE photos ADD COLUMN section TEXT;
CREATE INDEX photos_by_album_status_seq ON photos (album_id, status, seq);

CREATE TABLE upload_tokens (
    token      TEXT PRIMARY KEY,
    album_id   TEXT NOT NULL REFERENCES albums (id),
    label      TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE INDEX upload_tokens_by_album ON upload_tokens (album_id);
INSERT INTO upload_tokens (token, album_id, label, created_at)
    SELECT upload_token, id, 'default', created_at FROM albums;
