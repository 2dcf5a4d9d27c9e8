-- Hast schema, SQLite flavour. Keep in step with migrations/postgres and common/src/db/schema.rs.
-- Ids are UUIDv7 strings (they sort by creation time); times are UTC.
CREATE TABLE users (
    id            TEXT PRIMARY KEY NOT NULL,
    email         TEXT UNIQUE,             -- lower-cased; NULL for guests
    display_name  TEXT NOT NULL,
    password_hash TEXT,                    -- argon2id PHC string; NULL for guests
    is_guest      BOOLEAN NOT NULL DEFAULT 0,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);

CREATE TABLE analyses (
    id           TEXT PRIMARY KEY NOT NULL,
    owner_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    image_object TEXT NOT NULL,            -- object name in the `images` object store
    status       TEXT NOT NULL,            -- queued | running | completed | failed
    job_id       TEXT,
    reading      TEXT,                     -- JSON
    engine       TEXT,
    error        TEXT,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL,
    completed_at TIMESTAMP
);
CREATE INDEX analyses_owner_created ON analyses (owner_id, created_at DESC);

CREATE TABLE conversations (
    id          TEXT PRIMARY KEY NOT NULL,
    analysis_id TEXT NOT NULL REFERENCES analyses (id) ON DELETE CASCADE,
    owner_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title       TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE INDEX conversations_analysis_created ON conversations (analysis_id, created_at DESC);
CREATE INDEX conversations_owner ON conversations (owner_id);

CREATE TABLE messages (
    id              TEXT PRIMARY KEY NOT NULL,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    role            TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
    content         TEXT NOT NULL,
    job_id          TEXT,
    created_at      TIMESTAMP NOT NULL
);
CREATE INDEX messages_conversation_created ON messages (conversation_id, created_at);

CREATE TABLE job_results (
    job_id      TEXT PRIMARY KEY NOT NULL, -- one row per job, however often it was delivered
    kind        TEXT NOT NULL,
    owner_id    TEXT REFERENCES users (id) ON DELETE CASCADE,
    outcome     TEXT NOT NULL CHECK (outcome IN ('completed', 'failed')),
    result      TEXT,                      -- JSON
    error       TEXT,                      -- JSON {"code","message"}
    attempts    INTEGER NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    finished_at TIMESTAMP NOT NULL
);
CREATE INDEX job_results_owner ON job_results (owner_id);
