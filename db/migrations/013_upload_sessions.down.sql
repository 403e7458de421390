-- Reverses 013_upload_sessions: an interrupted upload can no longer be continued from its row.
ALTER TABLE content_uploads DROP COLUMN IF EXISTS upload_session;
