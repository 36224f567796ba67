"""Files the commands write (`--out`): the path checked before any work is done, the file written atomically (a
temporary file in the same folder, renamed into place: a reader never sees half a file, and an interrupted write
leaves nothing behind), with the permissions any new file gets (mkstemp's are owner-only)."""

import contextlib
import errno
import glob
import os
import re
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from matcher.errors import PerkmatchError


def check_out(path: str, what: str = "file") -> Path:
    """The path to write, refused when it is empty, a folder, or its folder does not exist."""
    if not path.strip():
        raise PerkmatchError(f"--out: the path is empty; give the path of the {what} to write")
    if path == "-":  # (before: a file named "-" in the working folder)
        raise PerkmatchError(f"--out -: is not standard output here; give the path of the {what} to write, or "
                             "/dev/stdout")
    target = Path(path).expanduser()
    if target.is_dir():
        raise PerkmatchError(f"--out {path}: is a folder; give the path of the {what} to write")
    if not target.parent.resolve().is_dir():
        raise PerkmatchError(f"--out {path}: folder {target.parent} does not exist; create it or choose another path")
    if not (target.exists() and not target.is_file()):  # a device or a pipe is written to, not beside
        refused = unwritable_folder(target.parent)
        if refused:
            raise PerkmatchError(f"--out {path}: cannot write in folder {target.parent} ({refused}); choose another "
                                 "path")
    return target


def same_file(a: str, b: str) -> bool:
    """Whether two paths name one file: the same file when both exist (a hard link, a symlink), the same place when
    one does not yet (a file about to be written)."""
    first, second = Path(a).expanduser(), Path(b).expanduser()
    try:
        return first.samefile(second) if first.exists() and second.exists() else first.resolve() == second.resolve()
    except OSError:
        return False


def unwritable_folder(folder: Path) -> str | None:
    """Why no file can be made in this folder (read-only, no permission, a full disk), found by making one and
    removing it; None when one can. Asked before any work is done, so that a command does not work for minutes
    and then fail to write its result (a match run would be kept, its file not written)."""
    try:
        handle, probe = tempfile.mkstemp(dir=folder, prefix=".perkmatch-probe-")
    except OSError as exc:
        return exc.strerror or str(exc)
    os.close(handle)
    os.unlink(probe)
    return None


_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}  # what writing itself can fail with (reading input has its own)


def _cannot_write(path: str, exc: OSError) -> PerkmatchError:
    return PerkmatchError(f"--out {path}: cannot write it ({exc.strerror or exc}); choose another path or free space")


@contextlib.contextmanager
def atomic_open(path: str, what: str = "file", binary: bool = False) -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path`` for writing; on success it replaces ``path``, on any error it goes. A
    symlink's target is replaced (the link stays); a device or a pipe (``/dev/stdout``) is written to, not replaced
    by a file. A path that cannot be written, or a full disk, is an error that says so."""
    target = check_out(path, what)
    text: dict[str, Any]  # (open's keyword arguments)
    mode, text = ("wb", {}) if binary else ("w", {"encoding": "utf-8", "newline": ""})
    if target.exists() and not target.is_file():
        with _writing(path, body=False):
            stream = target.open(mode, **text)
        with _writing(path, body=True), stream:  # closing flushes: a full device fails there
            yield stream
            stream.flush()
        return
    target = target.resolve()
    _sweep_parts(target)
    with _writing(path, body=False):
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.{_OWNER}.", suffix=".part")
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, mode, **text) as f:
            with _writing(path, body=True):
                yield f
            with _writing(path, body=False):
                f.flush()
                os.fsync(f.fileno())
        with _writing(path, body=False):
            os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


_OWNER = f"{socket.gethostname()}-{os.getpid()}"  # in a temporary file's name: whose it is (``_sweep_parts``)


def _sweep_parts(target: Path) -> None:
    """Remove the temporary files an earlier write of ``target`` left when it was killed (SIGKILL, a power cut: no
    clean-up ran), told by the owner in their names: a process of this machine that is gone. Another machine's, or a
    live process's (a write under way), stay."""
    host = socket.gethostname()
    named = re.compile(rf"\.{re.escape(target.name)}\.{re.escape(host)}-(\d+)\.\w{{8}}\.part")  # mkstemp's 8
    for part in target.parent.glob(f".{glob.escape(target.name)}.{glob.escape(host)}-*.part"):
        found = named.fullmatch(part.name)  # (not another file's: "m.jsonl.HOST-1.x" has parts of its own)
        if found and not _alive(int(found.group(1))):
            with contextlib.suppress(OSError):  # another user's (a shared folder): theirs to remove, not a failure
                part.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: alive
        return True
    return True


@contextlib.contextmanager
def _writing(path: str, body: bool) -> Iterator[None]:
    """Our own file operations' errors say the path cannot be written; in the caller's body (which may also read its
    input), only a full disk or an over-large file does."""
    try:
        yield
    except OSError as exc:
        if not body or exc.errno in _FULL:
            raise _cannot_write(path, exc) from None
        raise
