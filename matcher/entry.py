"""The `perkmatch` executable's entry point, kept apart from ``matcher.cli`` so that it runs before any library is
imported: from the first instant, Ctrl-C and SIGTERM end the command with one line and the right status (130, 143)
instead of a traceback from the middle of an import. Nothing is written before a command starts, so until then
the process just exits; from then on each command handles them itself (``cli.common.handled``)."""

import atexit
import os
import signal
import sys
from types import FrameType


def starting(signum: int, frame: FrameType | None) -> None:
    sys.stderr.write("Interrupted: before the command started; nothing was done.\n")
    sys.stderr.flush()
    os._exit(143 if signum == signal.SIGTERM else 130)


def main() -> None:
    signal.signal(signal.SIGINT, starting)
    signal.signal(signal.SIGTERM, starting)
    atexit.register(deaf)
    from matcher.cli import main as run

    try:
        run()
    except SystemExit as exc:
        ending(0 if exc.code is None else exc.code if isinstance(exc.code, int) else 1)
        unmark_interrupt()
        raise


def unmark_interrupt() -> None:
    """CPython 3.11 marks a KeyboardInterrupt raised inside exec() or eval() of a string (SciPy's import runs
    ``exec("from numpy import *")``) as unhandled even once the command has handled it, and `python -m matcher` then
    ends killed by SIGINT (status -2 to its parent) instead of with the command's status (130). Each string run
    clears the mark first: a harmless one, once the command is over, does."""
    exec("None")


def ending(status: int) -> None:
    """The command is over (its work done, or stopped): its output is flushed, and a stop signal from now on ends
    the process at once with the command's status. Python's exit still has work: it waits for worker processes to
    finish their chunk, and late in it restores the default handlers, and a signal then killed the process (status
    -15 or -2, and no word, after a command that had finished); a second signal (a terminal's and `timeout`'s come
    milliseconds apart) broke the exit's clean-up with a traceback; and one ignored could not end an exit that
    hung. Once the exit's waits are over, stop signals are ignored (``deaf``)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: the command said what it could
            pass

    def now(signum: int, frame: FrameType | None) -> None:
        os._exit(status)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, now)


def deaf() -> None:
    """The last step of Python's exit that may wait (the first exit function registered runs last): stop signals are
    ignored from here, as Python restores the default handlers (which end the process with no word)."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
