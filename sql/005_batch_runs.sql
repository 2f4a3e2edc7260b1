-- AutoSight schema, version 5: every `python main.py` run (cron's) records itself in `runs`, as kind 'batch',
-- next to the runs the API server starts ('inbox', 'upload'). Only the CHECK on kind widens: the table stays
-- a plain table of the coordinator on Citus (autosight/citus.py distributes none of it), its rows are kept.
ALTER TABLE runs DROP CONSTRAINT runs_kind_check,
    ADD CONSTRAINT runs_kind_check CHECK (kind IN ('batch', 'inbox', 'upload'));
