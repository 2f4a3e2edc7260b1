"""Progress bars for large files on an interactive terminal; nothing under cron."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

PROGRESS_MIN_BYTES = 20 << 20  # progress bars only for files of 20 MB and more


@contextlib.contextmanager
def progress(path: Path, label: str, total: int | None = None, unit: str = "B") -> Iterator[Callable[[int], object]]:
    """A progress bar (bytes, or ``total`` lines) on an interactive terminal for large files; nothing under cron.

    Without a bar no tqdm is made at all: that cost a small file's load more than its hashing.
    """
    size = path.stat().st_size if sys.stderr.isatty() else 0
    if size < PROGRESS_MIN_BYTES:
        yield _no_progress
        return
    from tqdm import tqdm  # imported here: 16 ms of start-up (tqdm reads its version from package metadata)

    with tqdm(total=size if total is None else total, unit=unit, unit_scale=True, desc=f"{label} {path.name}",
              leave=False) as bar:
        yield bar.update


def _no_progress(_: int) -> None:
    """Progress reported to nobody."""
