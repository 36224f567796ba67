"""What every command shares: options, the database and encoder, output, progress bars.

Here: the options given before the command (``State``), the database and the encoder a command opens, and
``handled``, which every command runs under (signals, errors, clean-up). The rest is in modules of its own, all
importable from here as before: the shared options in ``matcher.cli.options``, what is printed (consoles, tables,
JSON Lines, progress) in ``matcher.cli.output``, the notes several commands print in ``matcher.cli.notes``, and how
a command fails in ``matcher.cli.failures``.
"""

import os
from collections.abc import Callable
from typing import Any

import typer

from matcher.cli.failures import Terminated, _discard_stdout, database_hint, fail, interrupted
from matcher.cli.notes import (
    FORGOTTEN_TABLES,
    deletion_notes,
    posts_counts,
    say_returned,
    say_skipped,
    unscrubbed_note,
    vacuum_reminder,
    warn_policy,
    warn_run_policy,
)
from matcher.cli.options import DbOpt, JsonOpt, ModelOpt, PolicyOpt, composed, not_blank, parse_as_of, user_id_arg
from matcher.cli.output import _Console, err, out, print_json, print_table, progress
from matcher.store import DEFAULT_DB

__all__ = ["DEFAULT_DB", "State", "cache", "command_started", "db_path", "encoder_factory", "engine", "handled",
           "no_database_at", "refuse_overwrite", "shown_cache",
           # matcher.cli.failures, notes, options, output
           "Terminated", "database_hint", "fail", "interrupted",
           "FORGOTTEN_TABLES", "deletion_notes", "posts_counts", "say_returned", "say_skipped", "unscrubbed_note",
           "vacuum_reminder", "warn_policy", "warn_run_policy",
           "DbOpt", "JsonOpt", "ModelOpt", "PolicyOpt", "composed", "not_blank", "parse_as_of", "user_id_arg",
           "_Console", "err", "out", "print_json", "print_table", "progress"]


class State:
    """Options given before the command (perkmatch --db X cmd)."""

    db: str | None = None
    model: str | None = None
    precision: str = "float32"
    encoder: str | None = None
    opened: list[Any] = []  # the engines this command opened: disposed when it ends (``handled``)
    created: list[str] = []  # the SQLite files it made: deleted if it fails and they hold nothing (``handled``)
    signalled: list[float] = []  # when a stop signal came (``command_started``)
    finished: bool = False  # the command's work is done: a signal now stops nothing (``handled``)


def db_path(db: str | None) -> str:
    """The database a command uses: its --db, else the one given before the command, else the default. A SQLite URL
    (``sqlite:///relative.db``, ``sqlite:////absolute.db``) is its file's path (before, it was read as a folder)."""
    path = db or State.db or DEFAULT_DB
    return path.removeprefix("sqlite:///") if path.startswith("sqlite:///") else path


def no_database_at(path: str) -> bool:
    """Whether the database is a SQLite file that is not there yet."""
    from pathlib import Path

    return "://" not in path and not Path(path).expanduser().exists()


def engine(db: str | None, existing: bool = False):  # type: ignore[no-untyped-def]
    """The database; with ``existing``, a SQLite file that is not there is an error, not a new empty database (a
    command that only reads results would otherwise answer "run profile first" for a mistyped --db)."""
    from matcher.errors import PerkmatchError
    from matcher.locks import SQLITE_WAIT_S
    from matcher.store import check_url, open_engine, shown_db

    path = db_path(db)
    check_url(path)
    if no_database_at(path):
        if existing:
            raise PerkmatchError(f"--db {path}: there is no database there; check the path (this command does not "
                                 "create one: start with `perkmatch ingest`)")
        State.created.append(path)
    opened = open_engine(path, existing=existing)
    State.opened.append(opened)
    def waiting(profile: bool = False) -> None:
        """Said when a command must wait its turn: for a write (SQLite gives up after ``SQLITE_WAIT_S``), or, for a
        profile run, for the one under way (``locks.profile_lock``: as long as it takes; before, "up to 60 s")."""
        err.print(f"Waiting for the profile run under way on {shown_db(path)} to finish (this one then reuses its "
                  "work); Ctrl-C stops this one safely" if profile else
                  f"Waiting for another command writing to {shown_db(path)} to finish"
                  + (f" (up to {SQLITE_WAIT_S} s)" if "://" not in path else "") + "; Ctrl-C stops this one safely",
                  markup=False, highlight=False)

    opened.update_execution_options(on_lock_wait=waiting, on_profile_wait=lambda: waiting(profile=True))
    return opened


def refuse_overwrite(out: str | None, option: str, db: str | None, inputs: dict[str, str | None] | None = None
                     ) -> None:
    """Refuse, before any work, a file to write (``option``: --out, --rejects) that is one the command reads: the
    database (a SQLite file, or its journal), or an input (``inputs``: what it is -> its path). Writing
    it would replace it whole: a database replaced by a CSV file, a catalog by its own assignments."""
    from matcher.errors import PerkmatchError
    from matcher.outfiles import same_file

    if not out or out == "-":
        return
    path = db_path(db)
    read = {f"{path}{end}": "the database (--db)" for end in ("", "-wal", "-shm", "-journal")} if "://" not in path \
        else {}
    read.update({p: what for what, p in (inputs or {}).items() if p and p != "-"})
    for file, what in read.items():
        if same_file(out, file):
            raise PerkmatchError(f"{option} {out}: that is {what}, which writing would replace; give another path")


def cache(eng, model: str | None):  # type: ignore[no-untyped-def]
    from matcher.embed import EmbeddingCache
    from matcher.encoder import load_encoder

    with err.status("Loading the embedding model..."):
        return EmbeddingCache(eng, load_encoder(model or State.model, State.precision, State.encoder))


def shown_cache(eng, model: str | None):  # type: ignore[no-untyped-def]
    """The cache of a command that only shows what is stored (`brand`, `explain`, `report`): a text it has to embed to
    work a reason out again (a topic reworded by a `taxonomy load` since the match) is held in memory, never stored
    (``embed.HeldCache``), so the command writes nothing and runs on a copy that cannot be written."""
    from matcher.embed import held

    return held(cache(eng, model))


def encoder_factory(model: str | None) -> Callable[[], Any]:
    """A picklable zero-argument callable building the encoder `cache` loads (Ray workers call it)."""
    import functools

    from matcher.encoder import load_encoder

    model = model or State.model
    if model and not os.path.isabs(model):  # a worker runs in its own directory (that of `ray start`); the folder's
        model = os.path.abspath(model)  # name, the cache's key, stays (``encoder.base_name``: no symlink resolved)
    return functools.partial(load_encoder, model, State.precision, State.encoder)


def command_started() -> None:
    """Once a command runs, Ctrl-C and SIGTERM raise where the command is (``handled`` turns them into one line and
    its status) instead of ending a process that is still starting (``matcher.entry``); left as they are when the
    process did not start through it (tests). A signal within a second of the one that stops the command is that one
    again (a terminal and `timeout` both send it, milliseconds apart): it would cut the clean-up short (a run left
    "running", a traceback from a connection being closed); a Ctrl-C later than that stops the clean-up too. One that
    comes once the work is done stops nothing: the command ends as finished, and says so (``handled``). One raised
    where Python drops what is raised (a finaliser in the database library), which printed a traceback and left the
    command running, is raised again where the command is."""
    import signal
    import time

    from matcher.entry import starting

    if signal.getsignal(signal.SIGINT) is not starting:
        return
    State.signalled, State.finished = [], False
    raised: list[float] = []  # when the signal that stops the command came

    def stop(signum: int, frame: Any) -> None:
        now = time.monotonic()
        State.signalled.append(now)
        if State.finished or (raised and now - raised[0] < 1.0):
            return
        raised[:] = [now]
        raise Terminated if signum == signal.SIGTERM else KeyboardInterrupt

    _resend_dropped(raised)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)


def _resend_dropped(raised: list[float]) -> None:
    """A Ctrl-C or SIGTERM raised where Python drops what is raised (``sys.unraisablehook``: a finaliser in the database
    library) sent again to the main thread, unless the command finished; ``raised`` (when the signal that stops the
    command came) is cleared, so the one sent again is not taken for a repeat. Other unraisable errors go to the hook
    as before."""
    import _thread
    import signal
    import sys
    import threading

    previous = sys.unraisablehook

    def unraisable(hook: Any) -> None:
        if not isinstance(hook.exc_value, KeyboardInterrupt):
            previous(hook)
        elif not State.finished:  # dropped: sent again (``stop`` raises it once this hook has returned; raised in
            raised.clear()  # the hook, it would be dropped too)
            again = threading.Timer(0.01, _thread.interrupt_main, (signal.SIGTERM if isinstance(
                hook.exc_value, Terminated) else signal.SIGINT,))
            again.daemon = True
            again.start()

    sys.unraisablehook = unraisable


def handled(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the library's errors into 'Error: <message>' on stderr and exit code 1."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from sqlalchemy.exc import DBAPIError

        from catalog.errors import CatalogError
        from matcher.errors import PerkmatchError
        from matcher.store import database_error

        command_started()
        finished = False
        try:
            result = fn(*args, **kwargs)
            finished = State.finished = True
            return result
        except typer.Exit as exc:
            finished = State.finished = exc.exit_code == 0
            raise
        except (PerkmatchError, CatalogError) as exc:
            raise fail(str(exc)) from None
        except KeyboardInterrupt as exc:
            raise interrupted(exc) from None
        except DBAPIError as exc:  # the server went away, a lock timed out, a value it refused, a damaged file
            raise fail(f"the database failed: {database_error(exc)}. {database_hint(exc)}") from None
        except BrokenPipeError:  # the reader of the output went away (`| head`): stop quietly, as `cat` does
            _discard_stdout()
            raise typer.Exit(141) from None
        except OSError as exc:
            raise _os_failure(exc) from None
        finally:
            _wind_up(finished)

    return wrapper


def _os_failure(exc: OSError) -> typer.Exit:
    """The error a command's OSError ends it with (said on stderr): a file the library did not turn into a message of
    its own, or output that could not be written (a full disk: stdout is then discarded, nothing more can be)."""
    if exc.filename is not None:  # a file the library did not turn into a message of its own
        return fail(f"{exc.filename}: {exc.strerror or exc}; check the path and its permissions")
    _discard_stdout()  # the output could not be written (a full disk): nor can anything more
    return fail(f"writing the output failed ({exc.strerror or exc}); what the command committed before is kept; "
                "free the space (or write elsewhere) and run it again")


def _wind_up(finished: bool) -> None:
    """After a command, however it ended: its connections closed now (a server's would otherwise stay open until
    garbage collection), a database it created discarded unless it ``finished``, and a stop signal that came as it
    finished said to have stopped nothing."""
    while State.opened:
        State.opened.pop().dispose()
    _discard_created(keep=finished)
    if finished and State.signalled:  # it came as the work ended: before, exit 130/143 and no word
        err.print("Note: a stop signal came as the command was finishing; it finished, and its work is kept.")


def _discard_created(keep: bool) -> None:
    """A command that failed (a bad file, a usage error, Ctrl-C) deletes the database it made if it holds nothing:
    a mistyped --db leaves no empty database behind (``store.discard_if_empty``)."""
    from pathlib import Path

    from matcher.store import discard_if_empty

    while State.created:
        path = State.created.pop()
        if not keep and Path(path).expanduser().exists():
            discard_if_empty(path)
