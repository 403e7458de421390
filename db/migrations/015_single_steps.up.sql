-- Single steps as API calls (issue 16): speech, captions or a render asked for alone runs as a
-- content of its project marked with its kind, so that the production's records (content_jobs,
-- api_usages, credit_transactions, workflow_logs) hold it unchanged. NULL: a production. The
-- captions step, which no production runs on its own, is a job type of its own.
ALTER TABLE contents ADD COLUMN step VARCHAR(20);
ALTER TABLE contents ADD CONSTRAINT chk_contents_step CHECK (step IN ('speech', 'captions', 'render'));
CREATE INDEX idx_contents_project_steps ON contents(project_id, created_at DESC) WHERE step IS NOT NULL;

ALTER TABLE content_jobs DROP CONSTRAINT chk_content_jobs_job_type;
ALTER TABLE content_jobs ADD CONSTRAINT chk_content_jobs_job_type
    CHECK (job_type IN ('script_generation', 'safety_check', 'tts', 'image_gen', 'render', 'upload', 'captions'));
