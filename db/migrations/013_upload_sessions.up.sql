-- Publishing goes out once per content and channel (issue 15): the platform's upload session
-- (YouTube's resumable session URI, TikTok's publish_id with its upload URL, Instagram's container,
-- then its published media) is stored on the upload row before any byte goes, so an attempt after a
-- crash continues that upload or finds the video it made instead of starting another. The value
-- carries upload credentials (TikTok's upload URL holds its upload token): it is sealed in the
-- application (lib/secrets.ts, bound to its row: context `content_uploads.upload_session:<id>`) and
-- cleared once the video is published.
ALTER TABLE content_uploads ADD COLUMN upload_session TEXT;
