"""The `perkmatch` executable's entry point, kept apart from ``matcher.cli`` so that it runs before any library is
imported: from the first instant, Ctrl-C and SIGTERM end the command with one line and the right status (130, 143)
instead of a traceback from the middle of an import. Nothing is written before a command starts, so until then
the process just exits; from then on each command handles them itself (``cli.common.handled``)."""

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
    from matcher.cli import main as run

    try:
        run()
    except SystemExit as exc:
        if exc.code in (130, 143):  # stopped: a second signal (a terminal's and `timeout`'s come milliseconds apart)
            for sig in (signal.SIGINT, signal.SIGTERM):  # must not break the exit's clean-up with a traceback
                signal.signal(sig, signal.SIG_IGN)
        raise
