-- Schema 5: a digest of every statistics and encodings row.
--
-- XXH3-64 of the row's values as stored (with its tensor's channel axis and count), written with the
-- row. The readers and `calib check` recompute it, so a value changed after calib wrote it (a bit
-- flip, a hand edit) is an error naming the tensor, never a silently different export; domain checks
-- and re-derivation alone miss changes that leave a valid value the export still shows. Rows written
-- before schema 5 have none (NULL) until a run rewrites them, and are checked without it.
ALTER TABLE statistics ADD COLUMN digest INTEGER;
ALTER TABLE encodings ADD COLUMN digest INTEGER;
