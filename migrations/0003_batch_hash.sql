-- Schema 3: batch identity by XXH3-128 for new sessions.
--
-- SHA-256 of every batch capped `calib run` at the hash's ~1.5 GB/s; XXH3-128 runs at memory
-- bandwidth. A session keeps the algorithm it was created with, so batches already stored are
-- still recognised when a run resumes: sessions from schema 1-2 stay 'sha256'.
ALTER TABLE sessions ADD COLUMN batch_hash TEXT NOT NULL DEFAULT 'sha256' CHECK (batch_hash IN ('sha256', 'xxh3-128'));

-- The column holds whichever hash the session uses (hex: 64 digits for sha256, 32 for xxh3-128).
ALTER TABLE batches RENAME COLUMN sha256 TO content_hash;
