"""Files known unchanged without reading them: the nightly inbox holds years of files loaded long ago.

Hashing every file of the inbox each night costs a read of the whole folder (3,650 files after ten
years). A file whose path, size, modification time (in ns) and inode are those recorded when its
active load was hashed is taken as unchanged without opening it; when any of them differs, the file is
hashed as before, and its content decides. (Only a rewrite that keeps the inode, the size and the
nanosecond modification time, as a deliberate ``touch -d`` after an in-place edit of the same length,
would go unseen.) The identity is recorded in the load's own transaction, as the scan saw it before
reading the file, so that a file changed while read never matches; and only when the file was modified
``csv_format.SETTLED_SECONDS`` or more before it was read: a rewrite in the same tick of the filesystem's
clock keeps the modification time, so a fresh file's identity proves nothing and it is hashed again next run.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path

import psycopg2.extensions

from autosight.run_results import FileOutcome
from autosight.transactions import transaction
from csv_format import FileScan


def remember(cursor: psycopg2.extensions.cursor, source_path: str, scan: FileScan) -> None:
    """Record the identity the file had when ``scan`` began, on the path's active load of that very content
    (a content loaded before; a new load records it with its counts, ``file_ledger.finish_ledger_row``)."""
    inode, mtime_ns = trusted_identity(scan)
    cursor.execute("UPDATE loaded_files SET inode = %s, mtime_ns = %s"
                   " WHERE source_path = %s AND sha256 = %s AND size_bytes = %s AND status = 'active'",
                   (inode, mtime_ns, source_path, scan.sha256, scan.size_bytes))


def trusted_identity(scan: FileScan) -> tuple[int | None, int | None]:
    """The (inode, mtime in ns) to record for the file as ``scan`` saw it; none for a file too fresh to trust."""
    inode, _, mtime_ns = scan.identity
    return (inode, mtime_ns) if scan.settled else (None, None)


def unchanged_files(connection: psycopg2.extensions.connection, paths: Sequence[Path]) -> dict[Path, FileOutcome]:
    """The outcomes of the files among ``paths`` unchanged since their active load, which need not be read."""
    identities: dict[str, tuple[int, int, int]] = {}
    source_paths: dict[Path, str] = {}
    folders: dict[str, str] = {}
    for path in paths:
        try:
            source_paths[path], status = _resolved(os.fspath(path), folders)
        except OSError:
            continue  # read, and refused or reported, by the ingestion as usual
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


def _resolved(path: str, folders: dict[str, str]) -> tuple[str, os.stat_result]:
    """The path the ledger knows the file by (``str(Path(path).resolve())``) and the file's status.

    One ``lstat`` a file, and each folder resolved once (``folders``): resolving each of the 3,650 paths of an
    inbox cost a tenth of a second of system calls. A symbolic link, or a name such as ``..``, is resolved whole.
    """
    status = os.lstat(path)
    folder, name = os.path.split(path)
    if stat.S_ISLNK(status.st_mode) or name in ("", ".", ".."):
        return os.path.realpath(path), os.stat(path)
    if folder not in folders:
        folders[folder] = os.path.realpath(folder or os.curdir)
    return os.path.join(folders[folder], name), status
