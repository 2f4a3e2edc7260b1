"""Files known unchanged without reading them: the nightly inbox holds years of files loaded long ago.

Hashing every file of the inbox each night costs a read of the whole folder (3,650 files after ten
years). A file whose path, size, modification time (in ns) and inode are those recorded when its
active load was hashed is taken as unchanged without opening it; when any of them differs, the file is
hashed as before, and its content decides. (Only a rewrite that keeps the inode, the size and the
nanosecond modification time, as a deliberate ``touch -d`` after an in-place edit of the same length,
would go unseen.) The identity is recorded in the load's own transaction, as the scan saw it before
reading the file, so that a file changed while read never matches.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import psycopg2.extensions

from autosight.run_results import FileOutcome
from autosight.transactions import transaction
from csv_format import FileScan


def remember(cursor: psycopg2.extensions.cursor, source_path: str, scan: FileScan) -> None:
    """Record the identity the file had when ``scan`` began, on the path's active load of that very content."""
    inode, size, mtime_ns = scan.identity
    cursor.execute("UPDATE loaded_files SET inode = %s, mtime_ns = %s"
                   " WHERE source_path = %s AND sha256 = %s AND size_bytes = %s AND status = 'active'",
                   (inode, mtime_ns, source_path, scan.sha256, size))


def unchanged_files(connection: psycopg2.extensions.connection, paths: Sequence[Path]) -> dict[Path, FileOutcome]:
    """The outcomes of the files among ``paths`` unchanged since their active load, which need not be read."""
    identities: dict[str, tuple[int, int, int]] = {}
    source_paths: dict[Path, str] = {}
    for path in paths:
        try:
            status = os.stat(path)
        except OSError:
            continue  # read, and refused or reported, by the ingestion as usual
        source_paths[path] = str(path.resolve())
        identities[source_paths[path]] = (status.st_ino, status.st_size, status.st_mtime_ns)
    with transaction(connection) as cursor:
        cursor.execute("SELECT source_path, sha256, inode, size_bytes, mtime_ns FROM loaded_files"
                       " WHERE status = 'active' AND inode IS NOT NULL AND source_path = ANY(%s)",
                       (list(identities),))
        recorded = {row[0]: (row[1], (int(row[2]), row[3], row[4])) for row in cursor.fetchall()}
    return {path: FileOutcome(path=source_path, sha256=recorded[source_path][0], status="unchanged",
                              message=f"same content already loaded from {source_path}")
            for path, source_path in source_paths.items()
            if source_path in recorded and recorded[source_path][1] == identities[source_path]}
