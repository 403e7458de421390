-- Reverses 001_initial_schema: children before parents, then the trigger function.
DROP TABLE content_uploads;
DROP TABLE content_jobs;
DROP TABLE contents;
DROP TABLE channels;
DROP TABLE projects;
DROP TABLE users;
DROP FUNCTION set_updated_at();
