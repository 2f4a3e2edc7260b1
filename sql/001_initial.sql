-- AutoSight schema, version 1.
-- sales_data is partitioned by file: each loaded file's rows live in their own partition, so that
-- loading is a plain COPY into an index-free table, and replacing a file is a DROP of its partition.

CREATE TABLE loaded_files (
    file_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source_path    text        NOT NULL,
    sha256         text        NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    size_bytes     bigint      NOT NULL,
    status         text        NOT NULL CHECK (status IN ('active', 'replaced', 'refused')),
    rows_read      bigint      NOT NULL DEFAULT 0,
    rows_loaded    bigint      NOT NULL DEFAULT 0,
    rows_rejected  bigint      NOT NULL DEFAULT 0,
    load_options   jsonb       NOT NULL DEFAULT '{}'::jsonb,
    message        text        NOT NULL DEFAULT '',
    started_at     timestamptz NOT NULL,
    finished_at    timestamptz NOT NULL DEFAULT now(),
    replaced_by    bigint      REFERENCES loaded_files (file_id),
    CHECK (rows_read = rows_loaded + rows_rejected)
);
-- One active load per path and per content: the idempotency keys.
CREATE UNIQUE INDEX loaded_files_active_path ON loaded_files (source_path) WHERE status = 'active';
CREATE UNIQUE INDEX loaded_files_active_sha256 ON loaded_files (sha256) WHERE status = 'active';

CREATE TABLE sales_data (
    file_id      bigint  NOT NULL,
    sale_date    date    NOT NULL,
    product_name text    NOT NULL,
    quantity     integer NOT NULL,
    price        numeric NOT NULL,  -- unit price
    line_total   numeric            -- the file's line total when it gave one (--map revenue=COLUMN)
) PARTITION BY LIST (file_id);

-- Revenue of a row, exact: the line total as the file gave it, else quantity x unit price.
-- NUMERIC, never float, never rounded per row; reports round the sums to the cent.
CREATE VIEW sales_with_revenue AS
SELECT s.*, coalesce(s.line_total, s.quantity * s.price) AS revenue
FROM sales_data AS s;

-- Daily x product rollup per file, maintained at ingestion: analysis reads this, never raw rows,
-- so its cost grows with days x products, not with sales.
CREATE TABLE sales_daily_product (
    file_id      bigint        NOT NULL REFERENCES loaded_files (file_id) ON DELETE CASCADE,
    sale_date    date          NOT NULL,
    product_name text          NOT NULL,
    quantity     bigint        NOT NULL,
    revenue      numeric       NOT NULL,
    transactions bigint        NOT NULL,
    PRIMARY KEY (file_id, sale_date, product_name)
);
CREATE INDEX sales_daily_product_date ON sales_daily_product (sale_date);

CREATE TABLE rejected_rows (
    file_id  bigint NOT NULL REFERENCES loaded_files (file_id) ON DELETE CASCADE,
    line_no  bigint NOT NULL,
    reason   text   NOT NULL,
    detail   text   NOT NULL DEFAULT '',
    raw_text text   NOT NULL,
    PRIMARY KEY (file_id, line_no)
);
