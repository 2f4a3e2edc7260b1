"""Outputs that would come out identical are not made again: a night with no new sale redraws no chart.

Drawing the two charts costs more than the whole rest of a nightly run that loads nothing (matplotlib's
import alone is about a second on a small machine). Beside the outputs, ``.autosight-outputs.json``
records for each output the fingerprint of what it was made from (its inputs and the source of the code
that makes it) and the SHA-256 of the file as written. An output is made again unless both still hold:
same inputs, and the very file that was written (not edited, replaced or deleted since).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import pickle
from collections.abc import Sequence
from pathlib import Path

from atomic_io import write_bytes_atomically

STATE_FILE = ".autosight-outputs.json"


def fingerprint(code: Sequence[Path], *inputs: object) -> str | None:
    """A digest of ``inputs`` and of the source files ``code`` that turn them into the output; None when the
    inputs cannot be serialised (the output is then always made)."""
    try:
        serialised = pickle.dumps(inputs, protocol=5)
    except (pickle.PicklingError, TypeError, AttributeError):
        return None
    digest = hashlib.sha256(serialised)
    for path in code:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def is_current(output: Path, inputs_fingerprint: str | None) -> bool:
    """Whether ``output`` was made from inputs of this fingerprint, and is still the very file then written."""
    if inputs_fingerprint is None:
        return False
    recorded = _state(output.parent).get(output.name, {})
    if recorded.get("inputs") != inputs_fingerprint:
        return False
    try:
        return hashlib.sha256(output.read_bytes()).hexdigest() == recorded.get("sha256")
    except OSError:
        return False


def record(output: Path, inputs_fingerprint: str | None) -> None:
    """Remember that ``output``, as it is now on disk, was made from inputs of this fingerprint."""
    state = _state(output.parent)
    if inputs_fingerprint is None:
        state.pop(output.name, None)
    else:
        state[output.name] = {"inputs": inputs_fingerprint, "sha256": hashlib.sha256(output.read_bytes()).hexdigest()}
    write_bytes_atomically(output.parent / STATE_FILE, (json.dumps(state, indent=1, sort_keys=True) + "\n").encode())


def _state(folder: Path) -> dict[str, dict[str, str]]:
    """The recorded state; empty when missing or unreadable (everything is then made again, which is safe)."""
    with contextlib.suppress(OSError, ValueError):
        state = json.loads((folder / STATE_FILE).read_text())
        if isinstance(state, dict):
            return state
    return {}
