"""Reading a CSV file's shape before loading it: text or not, encoding, delimiter, header, columns.

``detect_layout`` reads the header; ``scan_file`` then reads the file once, streaming, in fixed-size
chunks (memory flat in the file's size) for the SHA-256 of the content, a strict decoding check and the
physical line count (``autosight.copy_path`` checks the lines of a canonical file as they stream into COPY).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from errors import InputMissing, InputRefused, UsageError
from settings import CANONICAL_COLUMNS

CHUNK_BYTES = 1 << 20
HEAD_BYTES = 64 * 1024
DELIMITERS = (",", ";", "\t", "|")
BINARY_SIGNATURES = (b"\x89PNG", b"\x1f\x8b", b"PK\x03\x04", b"%PDF", b"\xff\xd8\xff", b"GIF8", b"BZh", b"\x7fELF")
UTF8_NAMES = {"utf-8", "utf8", "utf_8", "utf-8-sig", "utf_8_sig"}


@dataclass(frozen=True)
class FileLayout:
    """How to read a file: its encoding, delimiter, header and where each canonical column is."""

    encoding: str
    delimiter: str
    header: list[str]
    columns: dict[str, int]  # canonical name (and 'revenue' for line totals) -> index in the header
    quantity_constant: int | None = None  # `--map quantity=N` where no column is named N: every row's quantity

    @property
    def is_canonical(self) -> bool:
        """Exactly the four canonical columns (in any order): a plain COPY can take the file as it is."""
        return (set(self.columns) == set(CANONICAL_COLUMNS) and len(self.header) == len(CANONICAL_COLUMNS)
                and self.encoding == "utf-8-sig")


@dataclass(frozen=True)
class FileScan:
    sha256: str
    size_bytes: int
    data_lines: int  # physical lines after the header line (blank ones included)


def normalize_name(name: str) -> str:
    """'  Sale Date ' / 'SALE-DATE' / 'sale_date' -> 'sale_date'."""
    return re.sub(r"[\s_\-]+", "_", name.replace("\ufeff", "").strip().lower()).strip("_")


def decoding_name(encoding: str) -> str:
    """The codec to decode with: UTF-8 is read as utf-8-sig so that a byte-order mark is dropped."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise UsageError(f"unknown encoding '{encoding}' (use a Python codec name such as cp1252 or latin-1)") from None
    return "utf-8-sig" if name in UTF8_NAMES else name


def detect_layout(path: Path, encoding: str, column_map: dict[str, str]) -> FileLayout:
    """Find the delimiter and the columns from the header line; refuse the file with a clear reason."""
    head = _read_head(path)
    if not head.strip(b"\r\n\t \xef\xbb\xbf"):
        raise InputRefused(f"{path}: the file is empty (no header, no rows)")
    if _looks_binary(head):
        raise InputRefused(f"{path}: not a text CSV file (binary content)")
    codec = decoding_name(encoding)
    header_line = _first_line(head, codec, path)
    required = _required_columns(column_map)
    candidates = [(delimiter, next(csv.reader([header_line], delimiter=delimiter))) for delimiter in DELIMITERS]
    for delimiter, header in candidates:
        columns = _locate_columns(header, required, column_map)
        constant = None if "quantity" in columns else _quantity_constant(column_map)
        if len(columns) + (constant is not None) == len(required):
            return FileLayout(codec, delimiter, header, columns, constant)
    delimiter, header = max(candidates, key=lambda item: len(item[1]))
    if len(header) < 2:
        raise InputRefused(
            f"{path}: cannot split the header into columns with a comma, semicolon, tab or pipe delimiter "
            f"(header: {header_line[:120]!r})"
        )
    missing = [name for name in required if name not in _locate_columns(header, required, column_map)]
    raise InputRefused(
        f"{path}: missing column(s) {', '.join(_wanted(name, column_map) for name in missing)} "
        f"(header has: {', '.join(header)[:300]}); map them with --map canonical=COLUMN"
    )


def _wanted(name: str, column_map: dict[str, str]) -> str:
    return f"{name} (mapped to '{column_map[name]}')" if name in column_map else name


def _required_columns(column_map: dict[str, str]) -> list[str]:
    value_column = "revenue" if "revenue" in column_map else "price"
    return ["sale_date", "product_name", "quantity", value_column]


def _quantity_constant(column_map: dict[str, str]) -> int | None:
    """N from `--map quantity=N` (a whole number >= 1 that names no column), else None.

    For exports without a quantity column: one line per item sold, or per store and day with `revenue=`
    for the line total. A column that happens to be called N still wins.
    """
    value = column_map.get("quantity", "").strip()
    return int(value) if value.isascii() and value.isdigit() and int(value) >= 1 else None


def _locate_columns(header: list[str], required: list[str], column_map: dict[str, str]) -> dict[str, int]:
    positions = {normalize_name(name): index for index, name in reversed(list(enumerate(header)))}
    found: dict[str, int] = {}
    for name in required:
        wanted = normalize_name(column_map.get(name, name))
        if wanted in positions:
            found[name] = positions[wanted]
    return found


def _read_head(path: Path) -> bytes:
    try:
        with path.open("rb") as stream:
            return stream.read(HEAD_BYTES)
    except FileNotFoundError:
        raise InputMissing(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputMissing(f"{path}: is a folder, not a CSV file") from None
    except PermissionError:
        raise InputMissing(f"{path}: not readable (permission denied)") from None


def _looks_binary(head: bytes) -> bool:
    if head.startswith(BINARY_SIGNATURES):
        return True
    controls = sum(1 for byte in head if byte < 32 and byte not in (9, 10, 13))
    return controls > max(8, len(head) // 100)


def _first_line(head: bytes, codec: str, path: Path) -> str:
    decoder = codecs.getincrementaldecoder(codec)(errors="strict")
    try:
        text = decoder.decode(head, final=False)
    except UnicodeDecodeError as error:
        raise _undecodable(path, head, error, codec) from None
    for line in text.splitlines():
        if line.strip():
            return line
    return ""


def _undecodable(path: Path, data_before: bytes, error: UnicodeDecodeError, codec: str,
                 offset: int = 0) -> InputRefused:
    line = data_before[: error.start].count(b"\n") + 1 + offset
    bad = error.object[error.start: error.start + 4]
    return InputRefused(
        f"{path}: line {line} has bytes {bad!r} that are not valid {codec.replace('-sig', '')}; "
        "pass --encoding with the file's encoding (e.g. --encoding cp1252 or --encoding latin-1)"
    )


def scan_file(path: Path, layout: FileLayout, on_bytes: Callable[[int], object] | None = None) -> FileScan:
    """One streaming pass: hash, strict decoding check, line count.

    A UTF-8 chunk of pure ASCII with no multi-byte sequence pending is valid without decoding it; the
    check is then nearly free for the usual export.
    """
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder(layout.encoding)(errors="strict")
    utf8 = layout.encoding == "utf-8-sig"
    size = newlines = 0
    last_byte = b""
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK_BYTES):
            digest.update(chunk)
            if not (utf8 and chunk.isascii() and not decoder.getstate()[0]):
                _check_decodes(decoder, chunk, path, layout.encoding, newlines)
            newlines += chunk.count(b"\n")
            size += len(chunk)
            last_byte = chunk[-1:]
            if on_bytes:
                on_bytes(len(chunk))
    _check_decodes(decoder, b"", path, layout.encoding, newlines, final=True)
    physical_lines = newlines + (1 if last_byte not in (b"", b"\n") else 0)
    return FileScan(digest.hexdigest(), size, max(physical_lines - 1, 0))


def _check_decodes(decoder: codecs.IncrementalDecoder, chunk: bytes, path: Path, codec: str, lines_before: int,
                   final: bool = False) -> None:
    try:
        decoder.decode(chunk, final=final)
    except UnicodeDecodeError as error:
        raise _undecodable(path, chunk, error, codec, offset=lines_before) from None
