-- Restore drills (seed §7.2: RPO 1 hour, RTO 4 hours; issue 15): each run of `npm run drill` or of
-- the weekly schedule `upkeep-recovery-drill`, passed or failed, with what it measured, so an
-- operator can read the latest through the API as well as in the Temporal Web UI.
CREATE TABLE recovery_drills (
    id               UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    status           VARCHAR(20) NOT NULL,
    -- The restore point or time the drill restored to.
    target           VARCHAR(100),
    backup_label     VARCHAR(100),
    rpo_seconds      NUMERIC(12, 3),
    rto_seconds      NUMERIC(12, 3),
    tables_verified  INTEGER,
    error            TEXT,
    -- The Temporal workflow that ran it; NULL for a run from the command line.
    workflow_id      VARCHAR(255),
    started_at       TIMESTAMP WITH TIME ZONE NOT NULL,
    finished_at      TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT chk_recovery_drills_status CHECK (status IN ('passed', 'failed'))
);

CREATE INDEX idx_recovery_drills_started ON recovery_drills(started_at DESC);
