-- Reverses 015_single_steps: the captions jobs go (their type is not allowed any more), and the
-- rows of single steps stay as contents without their mark.
DELETE FROM content_jobs WHERE job_type = 'captions';
ALTER TABLE content_jobs DROP CONSTRAINT chk_content_jobs_job_type;
ALTER TABLE content_jobs ADD CONSTRAINT chk_content_jobs_job_type
    CHECK (job_type IN ('script_generation', 'safety_check', 'tts', 'image_gen', 'render', 'upload'));

DROP INDEX IF EXISTS idx_contents_project_steps;
ALTER TABLE contents DROP COLUMN IF EXISTS step;
