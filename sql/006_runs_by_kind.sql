-- AutoSight schema, version 6: /healthz reads the newest run of a kind (last_run, last_batch_run) on every call,
-- and a server's schedule adds a run every few minutes: this index finds it at once, however long the history.
CREATE INDEX runs_kind_newest ON runs (kind, run_id);
