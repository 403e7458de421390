-- Users, projects, channels, contents and their jobs and uploads (seed §3.1.1, §3.3, §3.4, §5).
-- The runner (db/migrate.ts) wraps each migration file in one transaction.

-- Keeps updated_at true whatever the writer sends, for every table that has the column.
CREATE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := NOW();
    RETURN NEW;
END;
$$;

CREATE TABLE users (
    id                    UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    email                 VARCHAR(255) NOT NULL UNIQUE,
    password_hash         VARCHAR(255),
    name                  VARCHAR(100) NOT NULL,
    avatar_url            VARCHAR(500),
    phone                 VARCHAR(20),
    oauth_provider        VARCHAR(20),
    oauth_id              VARCHAR(255),
    status                VARCHAR(20) DEFAULT 'active',
    email_verified        BOOLEAN DEFAULT FALSE,
    locale                VARCHAR(10) DEFAULT 'ko',
    timezone              VARCHAR(50) DEFAULT 'Asia/Seoul',
    notification_settings JSONB DEFAULT '{}',
    last_login_at         TIMESTAMP WITH TIME ZONE,
    created_at            TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    updated_at            TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    deleted_at            TIMESTAMP WITH TIME ZONE,
    CONSTRAINT chk_users_status CHECK (status IN ('active', 'suspended', 'deleted'))
);

-- Duplicates the UNIQUE constraint's index; kept because the seed names it.
CREATE INDEX idx_users_email ON users(email);
CREATE INDEX idx_users_oauth ON users(oauth_provider, oauth_id);
CREATE INDEX idx_users_status ON users(status);

-- organization_id is added by 002_add_organizations.
CREATE TABLE projects (
    id               UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id          UUID CONSTRAINT fk_projects_users REFERENCES users(id) ON DELETE CASCADE,
    name             VARCHAR(100) NOT NULL,
    description      TEXT,
    vertical         VARCHAR(30) NOT NULL,
    sub_category     VARCHAR(50),
    content_format   VARCHAR(20) DEFAULT 'short',
    language         VARCHAR(10) DEFAULT 'ko',
    target_platforms JSONB DEFAULT '["youtube_shorts"]',
    tone             VARCHAR(30) DEFAULT 'professional',
    style_preset     JSONB DEFAULT '{}',
    status           VARCHAR(20) DEFAULT 'active',
    is_auto_publish  BOOLEAN DEFAULT FALSE,
    created_at       TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    updated_at       TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    CONSTRAINT chk_projects_content_format CHECK (content_format IN ('short', 'mid', 'long')),
    CONSTRAINT chk_projects_status CHECK (status IN ('active', 'paused', 'archived'))
);

CREATE INDEX idx_projects_user ON projects(user_id);
CREATE INDEX idx_projects_vertical ON projects(vertical);
CREATE INDEX idx_projects_user_status ON projects(user_id, status);

CREATE TABLE channels (
    id               UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id       UUID NOT NULL CONSTRAINT fk_channels_projects REFERENCES projects(id) ON DELETE CASCADE,
    platform         VARCHAR(20) NOT NULL,
    channel_id       VARCHAR(255) NOT NULL,
    channel_name     VARCHAR(255),
    channel_url      VARCHAR(500),
    access_token     TEXT,
    refresh_token    TEXT,
    token_expires_at TIMESTAMP WITH TIME ZONE,
    upload_settings  JSONB DEFAULT '{}',
    status           VARCHAR(20) DEFAULT 'connected',
    last_sync_at     TIMESTAMP WITH TIME ZONE,
    created_at       TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    updated_at       TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    CONSTRAINT chk_channels_status CHECK (status IN ('connected', 'disconnected', 'error'))
);

CREATE INDEX idx_channels_project ON channels(project_id);
CREATE INDEX idx_channels_platform ON channels(platform);
CREATE UNIQUE INDEX idx_channels_unique ON channels(project_id, platform, channel_id);

CREATE TABLE contents (
    id               UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id       UUID NOT NULL CONSTRAINT fk_contents_projects REFERENCES projects(id) ON DELETE CASCADE,
    title            VARCHAR(200) NOT NULL,
    description      TEXT,
    script           JSONB NOT NULL,
    tags             TEXT[],
    thumbnail_url    VARCHAR(500),
    media_assets     JSONB DEFAULT '[]',
    audio_url        VARCHAR(500),
    audio_duration   DECIMAL(10,2),
    video_url        VARCHAR(500),
    video_duration   DECIMAL(10,2),
    video_resolution VARCHAR(20),
    status           VARCHAR(20) DEFAULT 'draft',
    safety_score     DECIMAL(3,2),
    safety_flags     JSONB DEFAULT '[]',
    source_type      VARCHAR(20),
    source_url       VARCHAR(500),
    source_data      JSONB,
    created_at       TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    updated_at       TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    published_at     TIMESTAMP WITH TIME ZONE,
    CONSTRAINT chk_contents_status CHECK (status IN ('draft', 'processing', 'ready', 'published', 'failed')),
    CONSTRAINT chk_contents_safety_score CHECK (safety_score BETWEEN 0 AND 1),
    CONSTRAINT chk_contents_source_type CHECK (source_type IN ('api', 'rss', 'manual', 'url'))
);

CREATE INDEX idx_contents_project ON contents(project_id);
CREATE INDEX idx_contents_status ON contents(status);
CREATE INDEX idx_contents_created ON contents(created_at DESC);
CREATE INDEX idx_contents_project_created ON contents(project_id, created_at DESC);
CREATE INDEX idx_contents_project_status ON contents(project_id, status);
CREATE INDEX idx_contents_published ON contents(project_id, published_at DESC) WHERE status = 'published';
CREATE INDEX idx_contents_tags ON contents USING GIN (tags);
CREATE INDEX idx_contents_media ON contents USING GIN (media_assets jsonb_path_ops);

CREATE TABLE content_jobs (
    id              UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    content_id      UUID NOT NULL CONSTRAINT fk_content_jobs_contents REFERENCES contents(id) ON DELETE CASCADE,
    job_type        VARCHAR(30) NOT NULL,
    status          VARCHAR(20) DEFAULT 'pending',
    progress        INTEGER DEFAULT 0,
    started_at      TIMESTAMP WITH TIME ZONE,
    completed_at    TIMESTAMP WITH TIME ZONE,
    result          JSONB,
    error_message   TEXT,
    retry_count     INTEGER DEFAULT 0,
    external_job_id VARCHAR(255),
    created_at      TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    -- The seed's list plus safety_check: the pipeline's safety step (seed §3.4.1 safety_score) is a job too.
    CONSTRAINT chk_content_jobs_job_type CHECK (job_type IN ('script_generation', 'safety_check', 'tts', 'image_gen', 'render', 'upload')),
    CONSTRAINT chk_content_jobs_status CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
    CONSTRAINT chk_content_jobs_progress CHECK (progress BETWEEN 0 AND 100)
);

CREATE INDEX idx_content_jobs_content ON content_jobs(content_id);
CREATE INDEX idx_content_jobs_status ON content_jobs(status);
CREATE INDEX idx_content_jobs_type ON content_jobs(job_type);
CREATE INDEX idx_content_jobs_pending ON content_jobs(content_id, created_at) WHERE status IN ('pending', 'running');

CREATE TABLE content_uploads (
    id                UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    content_id        UUID NOT NULL CONSTRAINT fk_content_uploads_contents REFERENCES contents(id) ON DELETE CASCADE,
    channel_id        UUID NOT NULL CONSTRAINT fk_content_uploads_channels REFERENCES channels(id) ON DELETE CASCADE,
    platform_video_id VARCHAR(255),
    platform_url      VARCHAR(500),
    status            VARCHAR(20) DEFAULT 'pending',
    scheduled_at      TIMESTAMP WITH TIME ZONE,
    published_at      TIMESTAMP WITH TIME ZONE,
    metrics           JSONB DEFAULT '{}',
    error_message     TEXT,
    created_at        TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    updated_at        TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    CONSTRAINT chk_content_uploads_status CHECK (status IN ('pending', 'uploading', 'published', 'failed', 'scheduled'))
);

CREATE INDEX idx_uploads_content ON content_uploads(content_id);
CREATE INDEX idx_uploads_channel ON content_uploads(channel_id);
CREATE INDEX idx_uploads_status ON content_uploads(status);

CREATE TRIGGER trg_users_updated_at BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER trg_projects_updated_at BEFORE UPDATE ON projects
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER trg_channels_updated_at BEFORE UPDATE ON channels
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER trg_contents_updated_at BEFORE UPDATE ON contents
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER trg_content_uploads_updated_at BEFORE UPDATE ON content_uploads
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
