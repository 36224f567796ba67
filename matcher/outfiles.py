"""Files the commands write (`--out`): the path checked before any work is done, the file written atomically (a
temporary file in the same folder, renamed into place: a reader never sees half a file, and an interrupted write
leaves nothing behind), with the permissions any new file gets (mkstemp's are owner-only)."""

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from matcher.errors import PerkmatchError


def check_out(path: str, what: str = "file") -> Path:
    """The path to write, refused when it is a folder or its folder does not exist."""
    target = Path(path).expanduser()
    if target.is_dir():
        raise PerkmatchError(f"--out {path}: is a folder; give the path of the {what} to write")
    if not target.parent.resolve().is_dir():
        raise PerkmatchError(f"--out {path}: folder {target.parent} does not exist; create it or choose another path")
    return target


@contextlib.contextmanager
def atomic_open(path: str, what: str = "file", binary: bool = False) -> Iterator[IO]:
    """Open a temporary file beside ``path`` for writing; on success it replaces ``path``, on any error it goes."""
    target = check_out(path, what)
    fd, tmp = tempfile.mkstemp(dir=target.parent.resolve(), prefix=f".{target.name}.", suffix=".part")
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8", "newline": ""})) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
