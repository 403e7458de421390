-- Why a channel is in `error`: the platform's answer when a token refresh was refused (the user
-- revoked the app, the refresh token expired), so the next publication to it can say why instead of
-- skipping it silently. Cleared when the channel is connected again. Holds no token: the clients
-- redact every secret from their messages.
ALTER TABLE channels ADD COLUMN status_reason TEXT;
