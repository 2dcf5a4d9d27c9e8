-- At most one answer per chat job: a redelivered job inserts with ON CONFLICT DO NOTHING.
-- User messages have no job_id; NULLs are distinct in a unique index on both backends.
CREATE UNIQUE INDEX messages_job_id ON messages (job_id);
