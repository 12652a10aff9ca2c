-- Schema 6: which process writes a session.
--
-- A run records its process identity (pid, start time, host, boot id, pid namespace; JSON) with every
-- commit and clears it when it ends. A run killed outright (SIGKILL, a power cut) leaves status
-- 'running' with an identity whose process is gone: readers then show the session as interrupted
-- instead of as being written. NULL: no run is writing, or the session predates schema 6.
ALTER TABLE sessions ADD COLUMN writer TEXT;
