"""What every importer shares: finding files in a folder or archive, HTML to text, times, the post record."""

import contextlib
import contextvars
import datetime as dt
import gzip
import json
import os
import re
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from typing import IO, Any

from catalog.schema import INT64_MAX
from matcher.errors import ImportFormatError
from matcher.records import iso_moment

_BLOCKS = {"p", "div", "br", "li", "ul", "ol", "blockquote", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "tr",
           "hr", "section", "article", "header", "footer", "table", "dd", "dt", "td", "th", "caption", "figure",
           "figcaption", "aside", "details", "summary", "dl", "nav", "main"}
_SKIP = {"script", "style"}
_DAMAGED = (zipfile.BadZipFile, tarfile.TarError, EOFError, zlib.error, OSError)
_EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


_READ: contextvars.ContextVar[set[Path] | None] = contextvars.ContextVar("importers_read", default=None)


@contextlib.contextmanager
def tracking_reads() -> Iterator[set[Path]]:
    """The files (resolved) the importers open while the block runs: the export, which an output must not replace."""
    read: set[Path] = set()
    token = _READ.set(read)
    try:
        yield read
    finally:
        _READ.reset(token)


def note_read(path: str | Path) -> None:
    """Record a file an importer opens (``tracking_reads``)."""
    read = _READ.get()
    if read is not None:
        with contextlib.suppress(OSError, RuntimeError):
            read.add(Path(path).resolve())


def format_error(file: str, place: str, problem: str, fix: str) -> ImportFormatError:
    """The importers' one error shape: '<file>, <place>: <problem>; <fix>'."""
    where = f"{file}, {place}" if place else file
    return ImportFormatError(f"{where}: {problem}; {fix}")


class _Text(HTMLParser):
    """Collects the text of an HTML fragment; block elements become line breaks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skipping += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)

    def unknown_decl(self, data: str) -> None:  # <![CDATA[...]]> left in a fragment: its text, not nothing
        if data.startswith("CDATA["):
            self.handle_data(data.removeprefix("CDATA["))


def html_to_text(markup: str | None) -> str:
    """Plain text of an HTML fragment (html.parser): tags dropped, entities decoded, one line per block."""
    if not markup:
        return ""
    parser = _Text()
    parser.feed(markup)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


def iso_utc(moment: dt.datetime) -> str:
    """ISO-8601 in UTC with a Z, to the second; a naive time is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def post_time(moment: dt.datetime, value: Any, file: str, place: str, fix: str) -> str:
    """A post's time read from an export (`value` as written there), by iso_utc; it must fall in 1970..9999 UTC."""
    try:
        utc: dt.datetime | None = moment.replace(tzinfo=moment.tzinfo or dt.UTC).astimezone(dt.UTC)
    except OverflowError:  # moved to UTC it leaves the years 1..9999
        utc = None
    if utc is None or utc < _EARLIEST:
        raise format_error(file, place, f"{value!r} is out of range: a post's time must be in the years 1970 to "
                           "9999", fix)
    return iso_utc(utc)


def parse_iso(value: Any, file: str, place: str, fix: str) -> str:
    """An ISO-8601 time from an export, normalised by iso_utc; anything else is a format error."""
    if value is None or not str(value).strip():
        raise format_error(file, place, "missing", fix)
    try:
        moment = iso_moment(str(value).strip())
    except ValueError:
        raise format_error(file, place, f"{value!r} is not an ISO-8601 time", fix) from None
    return post_time(moment, value, file, place, fix)


def in_range(number: int, value: Any, file: str, place: str, fix: str) -> int:
    """A count read from an export (`value` as written there), if the database can hold it; else a format error."""
    if abs(number) > INT64_MAX:
        raise format_error(file, place, f"{value!r} is too large (at most {INT64_MAX})", fix)
    return number


def whole_count(value: Any, file: str, place: str, fix: str) -> int:
    """A count read from an export (absent or blank: 0): a whole number, written as digits or a JSON number, refused
    otherwise (``true``, ``[]`` and "1_000" are no counts, and 2.5 is not one to round); below zero read as 0 (no
    platform counts below none)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return 0
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        count = int(value.strip())
    elif isinstance(value, int) and not isinstance(value, bool):
        count = value
    elif isinstance(value, float) and value.is_integer():
        count = int(value)
    else:
        shown = repr(value) if isinstance(value, str) else json.dumps(value, default=str)[:60]
        raise format_error(file, place, f"{shown} is not a whole number", fix)
    return max(in_range(count, value, file, place, fix), 0)


_DIGITS = re.compile(r"[+-]?[0-9]+")


def make_post(source: str, platform: str, post_id: str, user_id: str, text: str, created_at: str, *,
              likes: int = 0, replies: int = 0, shares: int = 0, context: str | None = None,
              is_share: bool = False) -> dict[str, Any]:
    """One post in the contract's fields, plus `source`: the kind of export it came from."""
    return {"post_id": post_id, "user_id": user_id, "text": text, "created_at": created_at, "platform": platform,
            "likes": likes, "replies": replies, "shares": shares, "context": context or None,
            "is_share": is_share, "source": source}


@dataclass(frozen=True)
class LeftOut:
    """An item of an export that is not imported, and why: readers yield it where they would skip the item, so that
    an import counts and says what it left out (``importers.read_posts``), never silently."""

    reason: str


@dataclass(frozen=True)
class Member:
    """A file to read: a plain file (archive is None) or a member of a .zip / .tar(.gz) archive."""

    label: str
    name: str
    archive: Path | None = None

    @contextlib.contextmanager
    def open(self) -> Iterator[IO[bytes]]:
        """The member's bytes; a damaged or truncated archive becomes an ImportFormatError naming it."""
        note_read(self.archive or self.name)
        handle: IO[bytes] | gzip.GzipFile | None
        try:
            if self.archive is None:  # a file given by itself; gzipped (.gz), read as its content
                with (gzip.open if self.name.lower().endswith(".gz") else open)(self.name, "rb") as handle:
                    yield handle  # type: ignore[misc]  # (typeshed: a GzipFile is no IO[bytes])
            elif zipfile.is_zipfile(self.archive):
                with zipfile.ZipFile(self.archive) as zf, zf.open(self.name) as handle:
                    yield handle
            else:
                with tarfile.open(self.archive) as tf:
                    handle = tf.extractfile(self.name)
                    if handle is None:
                        raise tarfile.TarError("not a regular file")
                    with handle:
                        yield handle
        except _DAMAGED as exc:
            raise format_error(self.label, "reading", f"the file cannot be read ({exc})",
                               "the download looks damaged or truncated: download the export again") from None

    def read(self) -> bytes:
        with self.open() as handle:
            return handle.read()


def is_archive(path: Path) -> bool:
    lower = path.name.lower()
    return path.is_file() and (lower.endswith((".zip", ".tar", ".tar.gz", ".tgz")))


def find_members(path: str, wanted: Callable[[str], bool], what: str, fix: str, *,
                 required: bool = True) -> list[Member]:
    """The files under a folder or in an archive whose posix path `wanted` accepts, or the file itself.

    Sorted by name, so reading is deterministic. None found is an ImportFormatError naming `what`, if required; so
    are files found in more than one folder: more than one export, whose posts would be merged under one person, or
    all but one passed over.
    """
    root = Path(path)
    if not root.exists():
        raise format_error(path, "", "no such file or folder", "check the path")
    if root.is_dir():
        found = [Member(str(p), str(p)) for p in _files_under(root) if wanted(p.relative_to(root).as_posix())]
        folders = {p.relative_to(root).parent.as_posix() for p in map(Path, (m.name for m in found))}
    elif is_archive(root):
        found = [Member(f"{path}:{name}", name, root) for name in sorted(_archive_names(root, path)) if wanted(name)]
        folders = {PurePosixPath(m.name).parent.as_posix() for m in found}
    else:
        found, folders = [Member(path, path)], set()  # a file given by itself is taken as it is
    if not found and required:
        raise format_error(path, "", f"no {what} found", fix)
    if len(folders) > 1:
        shown = ", ".join(f"{folder}/" for folder in sorted(folders)[:3]) + (", ..." if len(folders) > 3 else "")
        raise format_error(path, "", f"holds {what} in {len(folders)} folders ({shown}): more than one export",
                           "give the folder or archive of one export at a time")
    return found


MAX_DEPTH = 4  # an export's files sit at most this many folders below the folder given (twitter: data/tweets.js)


def _files_under(root: Path) -> list[Path]:
    """Every regular file under a folder, down to ``MAX_DEPTH`` folders, sorted; what cannot be read or looked at is
    passed over. A large folder given by mistake (/, a home folder) is then searched in moments, not for minutes,
    and entries whose stat raises PermissionError no longer end it with a traceback."""
    out: list[Path] = []
    for folder, dirs, files in os.walk(root, onerror=lambda error: None):
        if len(Path(folder).relative_to(root).parts) >= MAX_DEPTH:
            dirs.clear()  # deeper than any export's layout
        for name in files:
            path = Path(folder) / name
            try:
                if path.is_file():
                    out.append(path)
            except OSError:
                continue
    return sorted(out)


def _archive_names(root: Path, label: str) -> list[str]:
    try:
        if zipfile.is_zipfile(root):
            with zipfile.ZipFile(root) as zf:
                return [i.filename for i in zf.infolist() if not i.is_dir()]
        with tarfile.open(root) as tf:
            return [m.name for m in tf.getmembers() if m.isfile()]
    except _DAMAGED:
        raise format_error(label, "", "not a readable .zip or .tar.gz archive (its end is missing or damaged)",
                           "the download looks truncated: download the export again") from None


def basename(name: str) -> str:
    return PurePosixPath(name).name
