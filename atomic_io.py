"""Atomic file output: a reader sees the previous file or the new one, never half of one."""

from __future__ import annotations

import glob
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

OUTPUT_FILE_MODE = 0o600
TEMP_SUFFIX = ".tmp"


def write_atomically(path: Path, write: Callable[[IO[bytes]], object]) -> None:
    """Call ``write`` on a temporary file in the target's folder, fsync it, then rename it over ``path``.

    The temporary file lives in the same folder so that ``os.replace`` is a same-filesystem rename,
    which POSIX guarantees to be atomic; the folder is fsynced too, so that the rename itself survives
    a power cut. Outputs are private to the owner (mode 0600).
    """
    path = Path(path)
    handle, temp_name = tempfile.mkstemp(prefix=_temp_prefix(path), suffix=TEMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as temp_file:
            write(temp_file)
            temp_file.flush()
            os.fsync(temp_file.fileno())
        os.chmod(temp_name, OUTPUT_FILE_MODE)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_bytes_atomically(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` atomically."""
    write_atomically(path, lambda stream: stream.write(content))


def remove_leftover_temporaries(path: Path) -> list[Path]:
    """Delete the temporary files of ``path`` that a killed writer left behind; return them.

    Only safe while nobody else is writing ``path`` (AutoSight writes its outputs under the run lock).
    """
    path = Path(path)
    leftovers = list(path.parent.glob(f"{glob.escape(_temp_prefix(path))}*{TEMP_SUFFIX}"))
    for leftover in leftovers:
        leftover.unlink(missing_ok=True)
    return leftovers


def _temp_prefix(path: Path) -> str:
    return f".{path.name}."
