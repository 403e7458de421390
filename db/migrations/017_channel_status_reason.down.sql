-- Reverses 017_channel_status_reason: a channel in error no longer says why.
ALTER TABLE channels DROP COLUMN IF EXISTS status_reason;
