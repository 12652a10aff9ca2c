-- Which shard a merged batch came from ("PATH:SESSION" as `calib merge` was given it), so a merged
-- session can say where each of its batches was observed. NULL for batches a run observed itself.
ALTER TABLE batches ADD COLUMN origin TEXT;
