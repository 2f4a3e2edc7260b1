-- The identity of a loaded file when it was hashed (autosight/file_identity.py): a file of the inbox whose
-- path, size, modification time and inode still match its active load is not read again. NULL: unknown
-- (loads made before this version), so such a file is hashed once more, and its identity recorded then.
ALTER TABLE loaded_files ADD COLUMN IF NOT EXISTS inode numeric(20);  -- st_ino is unsigned 64-bit
ALTER TABLE loaded_files ADD COLUMN IF NOT EXISTS mtime_ns bigint;
