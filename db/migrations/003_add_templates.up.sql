-- Video templates and the data sources that feed projects (seed §3.5, §3.6, §5.3).

CREATE TABLE templates (
    id              UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    -- Both owners NULL means a system template, so there is no chk_owner here.
    user_id         UUID CONSTRAINT fk_templates_users REFERENCES users(id) ON DELETE CASCADE,
    organization_id UUID CONSTRAINT fk_templates_organizations REFERENCES organizations(id) ON DELETE CASCADE,
    name            VARCHAR(100) NOT NULL,
    description     TEXT,
    thumbnail_url   VARCHAR(500),
    template_type   VARCHAR(20) NOT NULL,
    vertical        VARCHAR(30),
    content_format  VARCHAR(20),
    template_data   JSONB NOT NULL,
    is_active       BOOLEAN DEFAULT TRUE,
    is_premium      BOOLEAN DEFAULT FALSE,
    usage_count     INTEGER DEFAULT 0,
    created_at      TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    updated_at      TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    CONSTRAINT chk_templates_template_type CHECK (template_type IN ('system', 'custom', 'premium')),
    CONSTRAINT chk_templates_content_format CHECK (content_format IN ('short', 'mid', 'long'))
);

CREATE INDEX idx_templates_vertical ON templates(vertical);
CREATE INDEX idx_templates_type ON templates(template_type);
CREATE INDEX idx_templates_data ON templates USING GIN (template_data jsonb_path_ops);

CREATE TABLE data_sources (
    id              UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id      UUID NOT NULL CONSTRAINT fk_data_sources_projects REFERENCES projects(id) ON DELETE CASCADE,
    name            VARCHAR(100) NOT NULL,
    source_type     VARCHAR(30) NOT NULL,
    config          JSONB NOT NULL,
    schedule_cron   VARCHAR(50),
    is_active       BOOLEAN DEFAULT TRUE,
    last_fetched_at TIMESTAMP WITH TIME ZONE,
    created_at      TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    updated_at      TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    CONSTRAINT chk_data_sources_source_type CHECK (source_type IN ('youtube_channel', 'rss', 'api', 'keyword'))
);

CREATE INDEX idx_data_sources_project ON data_sources(project_id);
CREATE INDEX idx_data_sources_type ON data_sources(source_type);

CREATE TRIGGER trg_templates_updated_at BEFORE UPDATE ON templates
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER trg_data_sources_updated_at BEFORE UPDATE ON data_sources
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
