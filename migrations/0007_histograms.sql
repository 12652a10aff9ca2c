-- Schema 7: histogram observers (`calib run --observer histogram`).
--
-- A histogram observer keeps its tensor's running min/max in the range columns, as the minmax
-- observer does (so `observer` stays 'minmax' there and the range columns mean the same), and its
-- histogram state in `histogram`: the counts and edges of the histograms of the tool it reproduces
-- (AIMET, PyTorch or ONNX Runtime), serialised whole by `HistogramState.serialized()`, with the
-- tool, bins and growth settings in its header. Its size depends on the bins and channels, never on
-- the number of batches. NULL for every other observer. The row digest covers it when it is set,
-- so rows written before schema 7 keep their digests.
ALTER TABLE statistics ADD COLUMN histogram BLOB;
