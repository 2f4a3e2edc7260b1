"""Reading a CSV file's shape before loading it: text or not, encoding, delimiter, header, columns.

``detect_layout`` reads the header; ``scan_file`` then reads the file once, streaming, in fixed-size
chunks (memory flat in the file's size) for the SHA-256 of the content, a strict decoding check and the
physical line count (``autosight.copy_path`` checks the lines of a canonical file as they stream into COPY).
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import functools
import hashlib
import io
import itertools
import os
import re
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, cast

from autosight import column_detection
from errors import InputMissing, InputRefused, UsageError

# The columns of a canonical file; settings.py maps others to them (kept here: reading a file's shape, and the
# row gate built on it, need no settings and no database).
CANONICAL_COLUMNS = ("sale_date", "product_name", "quantity", "price")
CHUNK_BYTES = 1 << 20
HEAD_BYTES = 64 * 1024
MAX_HEAD_BYTES = 16 << 20
DELIMITERS = (",", ";", "\t", "|")
BINARY_SIGNATURES = (b"\x89PNG", b"\x1f\x8b", b"PK\x03\x04", b"%PDF", b"\xff\xd8\xff", b"GIF8", b"BZh", b"\x7fELF")
UTF8_NAMES = {"utf-8", "utf8", "utf_8", "utf-8-sig", "utf_8_sig"}
# Byte-order marks of the wide Unicode encodings (Excel's "Unicode Text" is UTF-16 LE with a BOM); UTF-32
# first, since its little-endian mark begins with UTF-16's.
WIDE_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF16_LE, "utf-16"),
             (codecs.BOM_UTF16_BE, "utf-16"))
WIDE_CODECS = ("utf-16", "utf-32")
# Control characters other than tab, LF and CR: many of them in a file's head mean it is not text.
CONTROL_BYTES = bytes(byte for byte in range(32) if byte not in (9, 10, 13))
# The line breaks of CSV, where the csv module ends a record: not str.splitlines()'s others (U+2028, NEL, form
# feed, ...), which would make the header found here other than the one the rows are read under.
LINE_BREAK = re.compile(r"\r\n|\r|\n")
SEP_LINE = re.compile(r'\s*"?sep=(.)"?\s*', re.IGNORECASE)
SETTLED_SECONDS = 2
"""A file modified less than this before it is read may be rewritten within the same tick of its filesystem's
clock (ext4 on older kernels: a few ms; FAT: 2 s), keeping size and modification time: its identity is not
trusted to skip it on the next run (Git's "racily clean" files). Written by the export at 01:00, read at 02:00,
it is settled."""
# Title lines a report export may put above its header (QuickBooks: report name, company, period).
MAX_TITLE_LINES = 10
MAX_TITLE_TEXTS = 2  # a title line holds a text or two ('Report:', 'Sales by item'); a record holds more
# Lines below the header that show whether a line total and a unit price beside it agree.
SAMPLE_LINES = 200


@dataclass(frozen=True)
class FileLayout:
    """How to read a file: its encoding, delimiter, header and where each canonical column is."""

    encoding: str
    delimiter: str
    header: list[str]
    columns: dict[str, int]  # canonical name (and 'revenue' for line totals) -> index in the header
    quantity_constant: int | None = None  # `--map quantity=N` where no column is named N: every row's quantity
    preamble_rows: int = 0  # records before the header: Excel's "sep=;" line, a report's title lines
    currency_column: int | None = None  # a column naming each row's currency (Shopify's, Etsy's `Currency`)

    @property
    def column_order(self) -> tuple[str, ...]:
        """The canonical names of the columns read, in the header's order."""
        return tuple(sorted(self.columns, key=self.columns.__getitem__))

    @property
    def is_canonical(self) -> bool:
        """Exactly the four canonical columns (in any order): a plain COPY can take the file as it is."""
        return (set(self.columns) == set(CANONICAL_COLUMNS) and len(self.header) == len(CANONICAL_COLUMNS)
                and self.encoding == "utf-8-sig" and not self.preamble_rows)


@dataclass(frozen=True)
class FileScan:
    """The file as hashed: its first ``size_bytes`` bytes (its size when the scan began), which are exactly
    the bytes loaded, however the file grows meanwhile (``open_scanned``)."""

    sha256: str
    size_bytes: int
    data_lines: int  # physical lines after the header line (blank ones included)
    identity: tuple[int, int, int] = (0, 0, 0)  # (inode, size, mtime in ns) when the scan began
    settled: bool = False  # modified at least SETTLED_SECONDS before the scan began (autosight/file_identity.py)


@functools.lru_cache(maxsize=4096)
def normalize_name(name: str) -> str:
    """'  Sale Date ' / 'SALE-DATE' / 'sale_date' -> 'sale_date'. Cached: every file's header asks again."""
    return re.sub(r"[\s_\-]+", "_", name.replace("\ufeff", "").strip().lower()).strip("_")


def decoding_name(encoding: str) -> str:
    """The codec to decode with: UTF-8 is read as utf-8-sig so that a byte-order mark is dropped.

    Only a codec that turns bytes into text will do: Python also names transforms (base64, hex, zlib, rot13) and
    'undefined', which would fail on the first byte with errors of their own (an unexpected error, exit 70)."""
    try:
        codec = codecs.lookup(encoding)
        if not codec._is_text_encoding:  # a bytes-to-bytes or text-to-text transform
            raise LookupError(encoding)
        codec.incrementaldecoder().decode(b"", final=True)  # UnicodeError for 'undefined'
        name = codec.name
    except (LookupError, UnicodeError):
        raise UsageError(f"unknown encoding '{encoding}' (use a Python codec name such as cp1252 or latin-1)") from None
    return "utf-8-sig" if name in UTF8_NAMES else name


def detect_layout(path: Path, encoding: str, column_map: dict[str, str]) -> FileLayout:
    """Find the delimiter and the columns from the header line; refuse the file with a clear reason.

    A UTF-16 or UTF-32 byte-order mark chooses its encoding whatever ``encoding`` says (no UTF-8 or 8-bit file
    begins with one), and so does UTF-8 (``_utf8_whatever_named``); Excel's ``sep=X`` first line chooses the
    delimiter.
    """
    head = _read_head(path)
    codec = _wide_codec(head) or _utf8_whatever_named(head, decoding_name(encoding))
    wide = codec.startswith(WIDE_CODECS)
    if not wide and _looks_binary(head):
        raise InputRefused(f"{path}: not a text CSV file (binary content){_utf16_hint(head)}")
    lines = _head_lines(head, codec, path, None if wide else MAX_TITLE_LINES + SAMPLE_LINES + 2)
    if not lines:
        raise InputRefused(f"{path}: the file is empty (no header, no rows)")
    if wide and _looks_binary("\n".join(lines).encode("utf-8", "replace")):
        raise InputRefused(f"{path}: not a text CSV file (binary content)")
    sep = SEP_LINE.fullmatch(lines[0])
    if sep and len(lines) < 2:
        raise InputRefused(f"{path}: the file has a sep= line but no header")
    lines = lines[1:] if sep else lines
    delimiters = (sep.group(1),) if sep else DELIMITERS
    layout = _layout_below_titles(path, lines, codec, delimiters, column_map)
    return dataclasses.replace(layout, preamble_rows=layout.preamble_rows + 1) if sep else layout


def _layout_below_titles(path: Path, lines: list[str], codec: str, delimiters: tuple[str, ...],
                         column_map: dict[str, str]) -> FileLayout:
    """The layout from the first line that is a complete header: the first line, or one of the next
    MAX_TITLE_LINES below title lines (a report's, of one or two texts: they hold no sale, and are skipped).
    None is: refused, with what the line that names the most columns lacks."""
    best: tuple[int, int, str, list[str], _Resolution] | None = None
    for position, line in enumerate(lines[:MAX_TITLE_LINES + 1]):
        delimiter, header, resolution = _split_header(line, delimiters, column_map)
        if resolution.price_beside_total is not None and not resolution.missing and len(resolution.problems) == 1:
            resolution = resolution.settled_by(lines[position + 1:position + 1 + SAMPLE_LINES], delimiter)
        if resolution.complete:
            if any(_texts(title, delimiter) > MAX_TITLE_TEXTS for title in lines[:position]):
                break  # not titles above a header but records, of another export: none is skipped unsaid
            _refuse_duplicate_columns(path, header, list(resolution.columns), column_map)
            titles = sum(_texts(title, delimiter) > 0 for title in lines[:position])
            return FileLayout(codec, delimiter, header, resolution.columns, resolution.quantity_constant, titles,
                              column_detection.currency_column(header))
        if best is None or len(resolution.columns) > best[0]:
            best = (len(resolution.columns), position, delimiter, header, resolution)
    assert best is not None  # lines is never empty
    _, position, _, header, resolution = best
    if len(header) < 2:
        raise InputRefused(
            f"{path}: cannot split the header into columns with a comma, semicolon, tab or pipe delimiter "
            f"(header: {lines[0][:120]!r})"
        )
    below = f"the header below {position} title line(s): " if position else ""
    raise InputRefused(f"{path}: {below}{resolution.refusal(header, column_map)}")


def _texts(line: str, delimiter: str) -> int:
    """The non-blank fields of a line (a line of nothing but delimiters and spaces is no record for ``records``)."""
    return sum(1 for value in next(csv.reader([line], delimiter=delimiter), []) if value.strip())


def _utf8_whatever_named(head: bytes, codec: str) -> str:
    """UTF-8 for a file whose head says so, whatever other codec was named (``--encoding cp1252``, or a
    CSV_ENCODING set for the other exports of an inbox): a UTF-8 byte-order mark, or text beyond ASCII that decodes
    as UTF-8, which 8-bit text next to never does ('é' is 'Ã©' in cp1252). Read with the named codec, such a file
    loaded 'CafÃ©' without a word, or was refused for a header 'ï»¿sale_date'."""
    if codec == "utf-8-sig" or codec.startswith(WIDE_CODECS) or head.isascii():
        return codec
    try:
        codecs.getincrementaldecoder("utf-8")(errors="strict").decode(head, final=False)  # the head may cut a character
    except UnicodeDecodeError:
        return codec
    return "utf-8-sig"


def _wide_codec(head: bytes) -> str | None:
    return next((codec for bom, codec in WIDE_BOMS if head.startswith(bom)), None)


def _split_header(header_line: str, delimiters: tuple[str, ...],
                  column_map: dict[str, str]) -> tuple[str, list[str], _Resolution]:
    """The delimiter that splits the line into every column needed, named as mapped, canonically or by a
    known export's name (``autosight.column_detection``); else the one that finds the most (then the most
    fields), for the refusal."""
    splits = []
    for delimiter in delimiters:
        header = next(csv.reader([header_line], delimiter=delimiter))
        resolution = _resolve_columns(header, column_map)
        if resolution.complete:
            return delimiter, header, resolution
        splits.append((delimiter, header, resolution))
    return max(splits, key=lambda split: (len(split[2].columns), len(split[1])))


@dataclass(frozen=True)
class _Resolution:
    """Where each value is in one header: mapped, canonical, or found by a known name; what is missing or in
    doubt."""

    columns: dict[str, int]
    quantity_constant: int | None
    missing: list[str]
    problems: list[str]
    alternatives: list[str]
    price_beside_total: int | None = None

    @property
    def complete(self) -> bool:
        return not self.missing and not self.problems

    def settled_by(self, lines: list[str], delimiter: str) -> _Resolution:
        """The doubt between a line total and a unit price settled by the lines below the header (the last one
        left out: the head may cut it): the line total when they agree, else the doubt with the example."""
        if "quantity" not in self.columns:
            return self
        rows = csv.reader(lines[:-1] if len(lines) > 1 else lines, delimiter=delimiter)
        found = column_detection.disagreement(rows, self.columns, cast(int, self.price_beside_total))
        if found is None:
            return dataclasses.replace(self, problems=[], alternatives=[], price_beside_total=None)
        return dataclasses.replace(self, problems=[f"{self.problems[0]}: {found}"])

    def refusal(self, header: list[str], column_map: dict[str, str]) -> str:
        """What is missing or in doubt, the header, and a --map to paste (COLUMN where nothing fits)."""
        reasons = [f"missing column(s) {', '.join(self._missing_text(name, column_map) for name in self.missing)}"] \
            if self.missing else []
        suggestion = ",".join(f"{name}={self._source(name, header, column_map)}" for name in self._map_order())
        others = [*self.alternatives, *(["quantity=1 if each line is one sale"] if "quantity" in self.missing else [])]
        alternatives = f" (or {', '.join(others)})" if others else ""
        return (f"{'; '.join(reasons + self.problems)} (header has: {', '.join(header)[:300]}); map the columns "
                f"with --map, e.g. --map \"{suggestion}\"{alternatives}")

    @staticmethod
    def _missing_text(name: str, column_map: dict[str, str]) -> str:
        if name == "price" and name not in column_map:
            return "price (the unit price; or revenue= for a line total)"
        return _wanted(name, column_map)

    def _map_order(self) -> list[str]:
        money = "revenue" if "revenue" in self.columns or "revenue" in self.missing else "price"
        return [*column_detection.VALUE_COLUMNS, money]

    def _source(self, name: str, header: list[str], column_map: dict[str, str]) -> str:
        if name in self.columns:
            return header[self.columns[name]]
        if name == "quantity" and self.quantity_constant is not None:
            return str(self.quantity_constant)
        return column_map.get(name, "COLUMN")


def _resolve_columns(header: list[str], column_map: dict[str, str]) -> _Resolution:
    """Mapped and canonical names first; a value neither maps nor names is looked for by its known names."""
    required = _required_columns(column_map)
    columns = _locate_columns(header, required, column_map)
    constant = None if "quantity" in columns else _quantity_constant(column_map)
    unnamed = [name for name in column_detection.VALUE_COLUMNS
               if name not in columns and name not in column_map and not (name == "quantity" and constant)]
    money_unnamed = "price" not in columns and not {"price", "revenue"} & set(column_map)
    detection = column_detection.detect(header, unnamed, money_unnamed)
    columns.update(detection.columns)
    money = "revenue" if "revenue" in columns or "revenue" in column_map else "price"
    missing = [name for name in (*column_detection.VALUE_COLUMNS, money)
               if name not in columns and not (name == "quantity" and constant is not None)]
    return _Resolution(columns, constant, missing, detection.problems, detection.alternatives,
                       detection.price_beside_total)


def _refuse_duplicate_columns(path: Path, header: list[str], required: list[str], column_map: dict[str, str]) -> None:
    """A column AutoSight reads that the header holds twice: which one is meant cannot be known."""
    names = [normalize_name(name) for name in header]
    repeated = []
    for name in required:
        wanted = normalize_name(column_map.get(name, name))
        positions = [str(index + 1) for index, found in enumerate(names) if found == wanted]
        if len(positions) > 1:
            repeated.append(f"{_wanted(name, column_map)} (columns {', '.join(positions)})")
    if repeated:
        raise InputRefused(f"{path}: the header has the column {'; '.join(repeated)} more than once; "
                           "remove or rename the extra one, or choose one with --map")


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
    """The file's first HEAD_BYTES, or more until the head holds two line breaks (a sep= line and a header
    line over 64 KB, a header of thousands of columns), up to MAX_HEAD_BYTES."""
    with open_regular(path, "the input") as stream:
        head = stream.read(HEAD_BYTES)
        while head.count(b"\n") < 2 and len(head) < MAX_HEAD_BYTES and (more := stream.read(HEAD_BYTES)):
            head += more
        return head


def open_regular(path: Path, source: str) -> BinaryIO:
    """Open a regular file for reading; InputMissing (exit 66) at once for anything else.

    A FIFO, a device, a folder or a dangling link is refused before any blocking open(): the file is opened
    with O_NONBLOCK (a FIFO without a writer would otherwise wait forever) and checked with fstat, so that
    a path swapped for something else between two looks is caught too.
    """
    if not is_utf8_name(path):
        raise InputRefused(f"{printable_name(path)}: the file name is not valid UTF-8 (it could not be recorded); "
                           f"rename the file ({source})")
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        kind = "a link to a missing file" if path.is_symlink() else "no such file"
        raise InputMissing(f"{path}: {kind} ({source})") from None
    except IsADirectoryError:
        raise InputMissing(f"{path}: is a folder, not a CSV file ({source})") from None
    except PermissionError:
        raise InputMissing(f"{path}: not readable (permission denied) ({source})") from None
    except OSError as error:
        raise InputMissing(f"{path}: cannot be read: {error.strerror} ({source})") from None
    mode = os.fstat(descriptor).st_mode
    if not stat.S_ISREG(mode):
        os.close(descriptor)
        raise InputMissing(f"{path}: is {_kind_of(mode)}, not a regular CSV file ({source})")
    os.set_blocking(descriptor, True)
    return os.fdopen(descriptor, "rb")


def is_utf8_name(path: Path) -> bool:
    """Whether the path's name is text (a name of undecodable bytes cannot be stored in the ledger or report)."""
    try:
        str(path.absolute()).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def printable_name(path: Path) -> str:
    return str(path).encode("utf-8", "backslashreplace").decode("utf-8")


def _kind_of(mode: int) -> str:
    kinds = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def _utf16_hint(head: bytes) -> str:
    """What to pass for UTF-16 text without a byte-order mark (a NUL byte beside each ASCII one), else ''."""
    sample = head[:4096]
    for zeros, other, name in ((sample[1::2], sample[0::2], "utf-16-le"), (sample[0::2], sample[1::2], "utf-16-be")):
        if zeros.count(0) > len(zeros) * 0.9 and other.count(0) < len(other) * 0.1:
            return f"; it looks like UTF-16 without a byte-order mark: pass --encoding {name}"
    return ""


def _looks_binary(head: bytes) -> bool:
    if head.startswith(BINARY_SIGNATURES):
        return True
    controls = len(head) - len(head.translate(None, CONTROL_BYTES))
    return controls > max(8, len(head) // 100)


def _head_lines(head: bytes, codec: str, path: Path, count: int | None) -> list[str]:
    """The first ``count`` (None: all) non-blank lines (split where CSV ends a record) of the file's first
    HEAD_BYTES (the last may be cut), decoded; the whole head is decoded all the same, so that a bad byte in it is
    reported here."""
    decoder = codecs.getincrementaldecoder(codec)(errors="strict")
    try:
        text = decoder.decode(head, final=False)
    except UnicodeDecodeError as error:
        raise _undecodable(path, head, error, codec) from None
    except UnicodeError as error:  # e.g. UTF-16 without a byte-order mark
        raise _no_byte_order(path, error, codec) from None
    lines = (line for line in LINE_BREAK.split(text.replace("\ufeff", "", 1)) if line.strip())
    return list(itertools.islice(lines, count))


def _undecodable(path: Path, data_before: bytes, error: UnicodeDecodeError, codec: str,
                 offset: int = 0) -> InputRefused:
    line = data_before[: error.start].count(b"\n") + 1 + offset
    bad = error.object[error.start: error.start + 4]
    return InputRefused(
        f"{path}: line {line} has bytes {bad!r} that are not valid {codec.replace('-sig', '')}; "
        "pass --encoding with the file's encoding (e.g. --encoding cp1252 or --encoding latin-1)"
    )


def scan_file(path: Path, layout: FileLayout, on_bytes: Callable[[int], object] | None = None) -> FileScan:
    """One streaming pass over the file's bytes as of now: hash, strict decoding check, line count.

    A UTF-8 chunk of pure ASCII with no multi-byte sequence pending is valid without decoding it; the
    check is then nearly free for the usual export.
    """
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder(layout.encoding)(errors="strict")
    utf8 = layout.encoding == "utf-8-sig"
    newlines = 0
    last_byte = b""
    with open_regular(path, "the input") as raw:
        scan_began = time.time_ns()
        identity = _identity(os.fstat(raw.fileno()))
        stream = _Bounded(raw, identity[1], path)
        while chunk := stream.read(CHUNK_BYTES):
            digest.update(chunk)
            if not (utf8 and chunk.isascii() and not decoder.getstate()[0]):
                _check_decodes(decoder, chunk, path, layout.encoding, newlines)
            newlines += chunk.count(b"\n")
            last_byte = chunk[-1:]
            if on_bytes:
                on_bytes(len(chunk))
    _check_decodes(decoder, b"", path, layout.encoding, newlines, final=True)
    physical_lines = newlines + (1 if last_byte not in (b"", b"\n") else 0)
    return FileScan(digest.hexdigest(), identity[1], max(physical_lines - 1, 0), identity,
                    settled=scan_began - identity[2] >= SETTLED_SECONDS * 1_000_000_000)


def _identity(status: os.stat_result) -> tuple[int, int, int]:
    return (status.st_ino, status.st_size, status.st_mtime_ns)


def open_scanned(path: Path, scan: FileScan) -> BinaryIO:
    """The file's first ``scan.size_bytes`` bytes, the ones hashed: bytes appended since are not read."""
    return cast(BinaryIO, io.BufferedReader(_Bounded(open_regular(path, "the input"), scan.size_bytes, path)))


def check_unchanged(path: Path, scan: FileScan) -> None:
    """Refuse a file that changed (was rewritten, grew or shrank) while it was read: its last line may be half
    written. Nothing of it is stored; the next run loads it whole."""
    try:
        now = _identity(os.stat(path))
    except OSError:
        now = (0, 0, 0)
    if now != scan.identity:
        raise InputRefused(f"{path}: the file changed while it was being read (still being written?); "
                           "nothing stored from it, the next run loads it")


class _Bounded(io.RawIOBase):
    """At most ``size`` bytes of a stream; a stream that ends sooner (the file shrank) refuses the file."""

    def __init__(self, stream: BinaryIO, size: int, path: Path) -> None:
        self._stream = cast(io.BufferedReader, stream)  # what open(path, "rb") returns: it has readinto
        self._left = size
        self._path = path

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        wanted = min(len(view), self._left)
        if wanted == 0:
            return 0
        count = self._stream.readinto(view[:wanted])
        if not count:
            raise InputRefused(f"{self._path}: the file shrank while it was being read; nothing stored from it")
        self._left -= count
        return count

    def close(self) -> None:
        self._stream.close()
        super().close()


def _check_decodes(decoder: codecs.IncrementalDecoder, chunk: bytes, path: Path, codec: str, lines_before: int,
                   final: bool = False) -> None:
    try:
        decoder.decode(chunk, final=final)
    except UnicodeDecodeError as error:
        raise _undecodable(path, chunk, error, codec, offset=lines_before) from None
    except UnicodeError as error:
        raise _no_byte_order(path, error, codec) from None


def _no_byte_order(path: Path, error: UnicodeError, codec: str) -> InputRefused:
    return InputRefused(f"{path}: cannot be read as {codec}: {error}; pass --encoding with the byte order, "
                        "e.g. --encoding utf-16-le")
