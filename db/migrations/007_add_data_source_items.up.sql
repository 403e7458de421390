-- What each data source has already turned into content. An item (a feed entry, a PubMed article,
-- a trading day of a symbol, a YouTube video) is keyed by the source's own stable id for it, so
-- overlapping or retried ingest runs insert it once: the insert and the content it creates commit
-- together, and a second run's insert finds the key taken.
CREATE TABLE data_source_items (
    id              UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    data_source_id  UUID NOT NULL,
    item_key        VARCHAR(500) NOT NULL,
    content_id      UUID,
    title           VARCHAR(500),
    url             TEXT,
    published_at    TIMESTAMP WITH TIME ZONE,
    created_at      TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    CONSTRAINT uq_data_source_items_key UNIQUE (data_source_id, item_key),
    CONSTRAINT fk_data_source_items_data_sources FOREIGN KEY (data_source_id) REFERENCES data_sources(id) ON DELETE CASCADE,
    -- A deleted content frees nothing: its item stays taken, so the item is not produced again.
    CONSTRAINT fk_data_source_items_contents FOREIGN KEY (content_id) REFERENCES contents(id) ON DELETE SET NULL
);

CREATE INDEX idx_data_source_items_content ON data_source_items(content_id);
