-- Schema 2: per-tensor roles, named encoding sets, imported sessions.

-- Whether a tensor is an activation or a parameter (weight); exports keep them apart.
ALTER TABLE tensors ADD COLUMN role TEXT NOT NULL DEFAULT 'activation' CHECK (role IN ('activation', 'param'));

-- 'calibrated' sessions hold statistics from `calib run`; 'imported' ones hold encodings read from
-- another tool's file (`calib import`), and statistics only where the file has ranges.
ALTER TABLE sessions ADD COLUMN origin TEXT NOT NULL DEFAULT 'calibrated' CHECK (origin IN ('calibrated', 'imported'));
ALTER TABLE sessions ADD COLUMN imported_from TEXT;   -- "FORMAT:PATH" of an imported session

-- Named encoding sets made by `calib derive --label`: the options used and the batch count they saw.
-- Their encodings are rows of `encodings` with that label. 'default' is not listed here: it follows
-- each tensor's own settings and is re-derived with every batch.
CREATE TABLE encoding_sets (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    label      TEXT    NOT NULL CHECK (label <> 'default'),
    options    TEXT    NOT NULL,                  -- JSON: the derive options
    batches    INTEGER NOT NULL,                  -- the session's batch count when derived
    created_at TEXT    NOT NULL,
    PRIMARY KEY (session_id, label)
);
