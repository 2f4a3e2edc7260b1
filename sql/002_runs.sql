-- Runs started by the API server (version 2): scheduled inbox runs and uploads, with their outcome,
-- so that /healthz and GET /api/v1/runs can tell what the last one did.
CREATE TABLE runs (
    run_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind          text        NOT NULL CHECK (kind IN ('inbox', 'upload')),
    started_at    timestamptz NOT NULL,
    finished_at   timestamptz NOT NULL DEFAULT now(),
    outcome       text        NOT NULL CHECK (outcome IN ('ok', 'refused', 'busy', 'failed')),
    exit_code     integer,
    files         integer,
    rows_loaded   bigint,
    rows_rejected bigint,
    message       text        NOT NULL DEFAULT ''
);
