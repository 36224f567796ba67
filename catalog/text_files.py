"""Input files found and opened (``catalog.rows`` reads their rows): the format named by the extension, a path
checked, a file opened as text ('.gz' decompressed, '-' for stdin), and text that is not all UTF-8 found and shown.
"""

import gzip
import io
import sys
import zlib
from pathlib import Path
from typing import IO, Any

from catalog.errors import CatalogError, DamagedFileError

STREAM_FORMATS = ("jsonl", "csv")
DOCUMENT_FORMATS = ("yaml", "json")
ALL_FORMATS = STREAM_FORMATS + DOCUMENT_FORMATS
_EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".yaml": "yaml", ".yml": "yaml",
               ".json": "json", ".tsv": "tsv"}


def file_format(path: str, formats: tuple[str, ...] = ALL_FORMATS) -> str:
    """The format named by the file's extension ('.gz' is looked through); '-' is JSON Lines. An unknown extension is
    an error naming those of ``formats``."""
    if path == "-":
        return "jsonl"
    p = Path(path)
    suffixes = [s.lower() for s in p.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    fmt = _EXTENSIONS.get(suffixes[-1]) if suffixes else None
    if fmt is None:
        named = f" ({suffixes[-1]})" if suffixes else " (it has none)"
        raise CatalogError(f"{path}: cannot tell the format from the extension{named}; name the file for what it "
                           f"holds: {extensions(formats)} (optionally with .gz)")
    return fmt


def extensions(formats: tuple[str, ...]) -> str:
    """The extensions of ``formats``, for a message: ".jsonl, .ndjson, .csv or .json"."""
    names = [ext for ext, fmt in _EXTENSIONS.items() if fmt in formats]
    return ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else "".join(names)


def check_file(path: str, formats: tuple[str, ...] = ALL_FORMATS) -> None:
    """Raise a CatalogError naming the path and the fix unless it is a file that can be opened ('-' always is)."""
    if path == "-":
        return
    if not path:
        raise CatalogError(f"no file given (an empty path); give the path of a {extensions(formats)} file")
    try:
        p = Path(path)
        if not p.exists():
            raise CatalogError(f"{path}: no such file; check the path")
        if p.is_dir():
            raise CatalogError(f"{path}: is a folder, not a file; give the path of one {extensions(formats)} file "
                               "in it")
    except OSError as exc:  # a name too long, a folder that cannot be entered, ...
        raise CatalogError(f"{path}: cannot be opened ({exc.strerror or exc}); check the path") from None


def open_text(path: str) -> IO[str]:
    """Open a text file for reading; '.gz' is decompressed, '-' is standard input. A UTF-8 byte order mark at the
    start is skipped, on standard input too."""
    # newline="" everywhere: line ends are left as written, so a CRLF inside a quoted CSV cell is the same text read
    # from a file, a .gz or standard input (the csv module and the JSON readers split records themselves)
    if path == "-":
        if sys.stdin.closed:
            raise CatalogError("-: standard input was read already (it can be read once); give the data as a file")
        stdin = sys.stdin.buffer if isinstance(sys.stdin.buffer, io.BufferedReader) else io.BufferedReader(
            sys.stdin.buffer)  # type: ignore[type-var]  # (typed BinaryIO, no readinto) (peek: a pipe's first bytes, unread)
        if stdin.peek(2)[:2] == b"\x1f\x8b":  # gzip's magic number
            raise CatalogError("-: standard input is gzip-compressed; give the .gz file's path instead, or decompress "
                               "it into the pipe (`zcat FILE.gz | perkmatch ...`)")
        return io.TextIOWrapper(stdin, encoding="utf-8-sig", errors="surrogateescape", newline="")
    check_file(path)
    try:
        if path.lower().endswith(".gz"):
            return io.TextIOWrapper(io.BufferedReader(_Gunzipped(path), 64 * 1024), encoding="utf-8-sig",
                                    errors="surrogateescape", newline="")
        return open(path, encoding="utf-8-sig", errors="surrogateescape", newline="")
    except OSError as exc:  # no permission, ...
        raise CatalogError(f"{path}: cannot be opened ({exc.strerror or exc}); check the file's permissions") from None


class _Gunzipped(io.RawIOBase):
    """A .gz file's data. Damage found while reading it (corrupt data, a wrong checksum, a cut-off end, not gzip at
    all) is a DamagedFileError naming the file, whoever reads it, instead of zlib's or gzip's own exception."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path
        self.file = gzip.open(path, "rb")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            return self.file.readinto(buffer)
        except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
            raise DamagedFileError(self.path, str(exc), located=isinstance(exc, EOFError | zlib.error)) from None

    def close(self) -> None:
        self.file.close()
        super().close()


def undecodable(text: str) -> str | None:
    """What is wrong with text read from a file that is not all UTF-8 (``open_text`` keeps such bytes as lone
    surrogates rather than silently replacing them), or None."""
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        byte = ord(text[exc.start]) - 0xDC00
        return (f"not valid UTF-8 (byte 0x{byte:02x} at character {exc.start + 1}"
                f"{'' if 0 <= byte <= 0xFF else ', or half of a character'}); save the file as UTF-8")
    return None


def _bytes_shown(text: str) -> str:
    """Text as read, with bytes that were not UTF-8 written as \\xNN escapes (a reject file is UTF-8)."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _document_text(path: str, text: str) -> str:
    """A whole YAML or JSON document's text, which must be all UTF-8."""
    wrong = undecodable(text)
    if wrong:
        first = next(i for i, ch in enumerate(text) if "\ud800" <= ch <= "\udfff")
        raise CatalogError(f"{path}, line {text.count(chr(10), 0, first) + 1}: {wrong}")
    return text
