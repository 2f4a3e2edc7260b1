-- AutoSight schema, version 4: one sales_data table instead of a partition per file.
--
-- Measured (bench/storage_design.py, docs/SCALING.md): with a partition per file the load of a small file
-- grew from 5 to 26 ms as the files reached 3,650, planning any query on sales_data took 0.4 s, and on Citus
-- each file would have been distributed DDL times the shard count. A file's rows are now found by file_id
-- (a BRIN index), and replacing a file is a DELETE of its rows.
--
-- The loader sets autosight.file_id for its transaction, so that a COPY of the file's own columns fills
-- file_id; an insert outside a load (setting absent or empty) fails instead of storing rows of no file.
-- Rows of an existing version-1 database are moved over (the partitions are dropped with their parent).

DROP VIEW sales_with_revenue;
ALTER TABLE sales_data RENAME TO sales_data_v1;

CREATE TABLE sales_data (
    file_id      bigint  NOT NULL DEFAULT current_setting('autosight.file_id')::bigint,
    sale_date    date    NOT NULL,
    product_name text    NOT NULL,
    quantity     integer NOT NULL,
    price        numeric NOT NULL,  -- unit price
    line_total   numeric            -- the file's line total when it gave one (--map revenue=COLUMN)
);

INSERT INTO sales_data (file_id, sale_date, product_name, quantity, price, line_total)
SELECT file_id, sale_date, product_name, quantity, price, line_total FROM sales_data_v1;
DROP TABLE sales_data_v1;

-- A file's rows are found by a BRIN index on file_id: files are appended in file_id order, so a summary per
-- 16 pages (about 1,800 rows) is enough, and it costs COPY next to nothing where a B-tree cost it 90 %
-- (bench/storage_design.py). minmax-multi keeps a range precise when a new file reuses the space a replaced
-- file left. The loader summarizes the pages it wrote; autosummarize covers the shards on Citus.
CREATE INDEX sales_data_file_id ON sales_data USING brin (file_id int8_minmax_multi_ops)
    WITH (pages_per_range = 16, autosummarize = on);

-- Revenue of a row, exact: the line total as the file gave it, else quantity x unit price.
-- NUMERIC, never float, never rounded per row; reports round the sums to the cent.
CREATE VIEW sales_with_revenue AS
SELECT s.*, coalesce(s.line_total, s.quantity * s.price) AS revenue
FROM sales_data AS s;

-- Rejected rows are COPYed in the same way, under the load being recorded.
ALTER TABLE rejected_rows ALTER COLUMN file_id SET DEFAULT current_setting('autosight.file_id')::bigint;
