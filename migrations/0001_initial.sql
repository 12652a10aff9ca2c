-- calib store, schema 1. Append-only: never edit or rename an applied migration; add a new file.

-- One calibration run (possibly resumed many times) under a unique name.
CREATE TABLE sessions (
    id              INTEGER PRIMARY KEY,
    name            TEXT    NOT NULL UNIQUE,
    created_at      TEXT    NOT NULL,              -- ISO-8601 UTC
    updated_at      TEXT    NOT NULL,
    status          TEXT    NOT NULL DEFAULT 'empty'
                    CHECK (status IN ('empty', 'running', 'ready', 'interrupted')),
    stats_config    TEXT    NOT NULL,              -- JSON: observer, averaging_constant, per_channel_axis
    encoding_config TEXT    NOT NULL,              -- JSON: convention, bitwidth, symmetric, signed, reduce_range
    tool_version    TEXT    NOT NULL,
    model           TEXT,
    dataset         TEXT,
    notes           TEXT
);

-- A tensor (layer activation) seen in a session's batches.
CREATE TABLE tensors (
    id           INTEGER PRIMARY KEY,
    session_id   INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    dtype        TEXT    NOT NULL,                 -- safetensors spelling: F32, F16, BF16, ...
    shape        TEXT    NOT NULL,                 -- JSON array, as first seen
    channel_axis INTEGER,                          -- non-negative; NULL when per-tensor
    channels     INTEGER NOT NULL DEFAULT 1 CHECK (channels >= 1),
    UNIQUE (session_id, name)
);

-- Every batch folded into a session, in order. The content hash makes a batch count once.
CREATE TABLE batches (
    id          INTEGER PRIMARY KEY,
    session_id  INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,                  -- 0, 1, 2, ... within the session
    source      TEXT    NOT NULL,                  -- path, or stdin#N
    sha256      TEXT    NOT NULL,                  -- hex SHA-256 of the batch's bytes
    tensors     INTEGER NOT NULL,
    elements    INTEGER NOT NULL,
    bytes       INTEGER NOT NULL,
    added_at    TEXT    NOT NULL,
    UNIQUE (session_id, seq),
    UNIQUE (session_id, sha256)
);

-- The running statistics of a tensor. Per-tensor ranges are plain REAL columns; per-channel ranges
-- are little-endian float32 arrays (BLOB, 4 bytes a channel). A range never seen finite is NULL
-- (scalar) or ±Inf (array element).
CREATE TABLE statistics (
    tensor_id          INTEGER PRIMARY KEY REFERENCES tensors(id) ON DELETE CASCADE,
    observer           TEXT    NOT NULL CHECK (observer IN ('minmax', 'ema')),
    averaging_constant REAL,                       -- ema only
    batches            INTEGER NOT NULL,
    elements           INTEGER NOT NULL,
    nonfinite          INTEGER NOT NULL,           -- NaN and ±Inf values, left out of the ranges
    min                REAL,
    max                REAL,
    min_array          BLOB,
    max_array          BLOB,
    CHECK ((min_array IS NULL) = (max_array IS NULL))
);

-- Encodings derived from the statistics; label 'default' follows the session's encoding config and
-- is re-derived in the same transaction as every batch. Same scalar/array split as statistics;
-- offset arrays are little-endian int64.
CREATE TABLE encodings (
    tensor_id    INTEGER NOT NULL REFERENCES tensors(id) ON DELETE CASCADE,
    label        TEXT    NOT NULL DEFAULT 'default',
    convention   TEXT    NOT NULL,
    bitwidth     INTEGER NOT NULL,
    symmetric    INTEGER NOT NULL,
    signed       INTEGER NOT NULL,
    reduce_range INTEGER NOT NULL DEFAULT 0,
    scale        REAL,
    offset       INTEGER,
    enc_min      REAL,
    enc_max      REAL,
    scale_array  BLOB,
    offset_array BLOB,
    min_array    BLOB,
    max_array    BLOB,
    PRIMARY KEY (tensor_id, label)
);
