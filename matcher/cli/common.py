"""What every command shares: options, the database and encoder, output, progress bars."""

import contextlib
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console

from matcher.store import DEFAULT_DB  # noqa: F401  (re-exported)


class _Console(Console):
    def on_broken_pipe(self) -> None:
        """The reader went away: exit as every other output does then (``handled``: 141), not with rich's 1."""
        raise BrokenPipeError


# markup off: ids, names, titles and paths are people's text, and rich read "[x]" in them as a style (it vanished)
# or "[/x]" as a closing tag (a MarkupError traceback); styled lines say markup=True and escape what they quote
out = _Console(soft_wrap=True, highlight=False, markup=False)
err = _Console(stderr=True, highlight=False, soft_wrap=True, markup=False)


def not_blank(param: typer.CallbackParam, value: Any) -> Any:
    """An option's callback: an empty value (an unset shell variable, `--db "$DB"`) is a usage error, not the option
    left out. Before, `--db ""` used ./perkmatch.db, `ingest ""` stored nothing and said nothing, `match --dry-run
    --catalog ""` previewed the live catalog as if it were the file, and `--model ""` named every vector's encoder
    "+openvino"."""
    if isinstance(value, str) and not value.strip():
        name = (param.opts or [param.name or "value"])[0]
        raise typer.BadParameter("is empty; give a value, or leave it out", param_hint=f"'{name}'")
    return value


def composed(value: Any) -> Any:
    """A post id option's callback (`forget --post`): in Unicode's composed form, as ingest stores post ids
    (``records.one_form``), so "café" typed either way finds the post. A list (a repeated option) each. (Perk and
    topic ids are kept as written: databases hold them so.)"""
    from matcher.records import one_form

    return [one_form(v) for v in value] if isinstance(value, list) else one_form(value)


def user_id_arg(value: str | None) -> str | None:
    """A USER_ID argument's callback: read as ingest reads ids (``records.PostIn``): stripped, in Unicode's composed
    form (``records.one_form``), and refused when empty or holding an invisible character. Before, `consent " ann"
    opted_out` (a pasted cell) recorded an opt-out for " ann", said "nothing was stored about them", and left all of
    ann's data; `consent "" opted_in` recorded a user with an empty id."""
    from catalog.schema import refuse_invisible
    from matcher.records import one_form

    if value is None:
        return None
    value = one_form(value.strip())
    if not value:
        raise typer.BadParameter("is empty; give the user's id", param_hint="'USER_ID'")
    try:
        return refuse_invisible(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} {exc}", param_hint="'USER_ID'") from None


DbOpt = Annotated[str | None, typer.Option("--db", help="SQLite path (or sqlite:///PATH), or postgresql:// "
                                           "(postgres://) URL \\[default: perkmatch.db]", show_default=False,
                                           callback=not_blank)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON Lines instead of a table.")]
ModelOpt = Annotated[str | None, typer.Option("--model", help="A local sentence-transformers model folder "
                                              "\\[default: the packaged all-MiniLM-L6-v2]", show_default=False,
                                              callback=not_blank)]
PolicyOpt = Annotated[str, typer.Option("--consent-policy", help="opt-in: only users with consent opted_in; "
                                        "opt-out: everyone except opted_out.")]


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


def encoder_factory(model: str | None) -> Callable[[], Any]:
    """A picklable zero-argument callable building the encoder `cache` loads (Ray workers call it)."""
    import functools

    from matcher.encoder import load_encoder

    model = model or State.model
    if model and not os.path.isabs(model):  # a worker runs in its own directory (that of `ray start`); the folder's
        model = os.path.abspath(model)  # name, the cache's key, stays (``encoder.base_name``: no symlink resolved)
    return functools.partial(load_encoder, model, State.precision, State.encoder)


def print_table(table: Any) -> None:
    """A rich table: fitted to the terminal, or, written to a pipe or a file, at its natural width (rich would
    squeeze it into 80 columns, cutting dates and paths short: "2026-1…")."""
    if out.is_terminal:
        out.print(table)
        return
    from rich.measure import Measurement

    width = Measurement.get(out, out.options.update(width=10_000), table).maximum
    _Console(width=max(width, out.width), highlight=False, soft_wrap=True, markup=False).print(table)  # (caps width)


def print_json(records: Iterable[dict[str, Any]] | dict[str, Any]) -> None:
    """One JSON object per line, each written as it comes (``records`` may be a generator)."""
    for record in [records] if isinstance(records, dict) else records:
        sys.stdout.write(orjson.dumps(record, option=orjson.OPT_NON_STR_KEYS).decode() + "\n")


# every table a forget deletes a user's rows from (posts and vectors, and their id and record: their handle, region)
FORGOTTEN_TABLES = ("posts", "embeddings", "users", "topic_scores", "evidence", "profiled_users", "assignments",
                    "withheld")


def vacuum_reminder(eng) -> None:  # type: ignore[no-untyped-def]
    """On PostgreSQL, deleted text stays in the data files until VACUUM: say so wherever a user is forgotten
    (`forget`, `consent USER opted_out`, an opt-out in a users file)."""
    if eng.dialect.name == "postgresql":
        err.print(f"PostgreSQL keeps deleted rows until VACUUM: run `VACUUM FULL {', '.join(FORGOTTEN_TABLES)}` (or "
                  "let autovacuum run) so the text, and the user's id and record, leave the data files.")


def unscrubbed_note(eng) -> None:  # type: ignore[no-untyped-def]
    """Say when a deletion (`forget`, an opt-out by `consent` or in a users file) is committed but the file could not
    be scrubbed (``forget.scrub``)."""
    from matcher.forget import scrub_unfinished

    if scrub_unfinished(eng):
        err.print("note: another command is reading the database (a profile run?), so SQLite's write-ahead log may "
                  "keep the deleted text until it ends; a profile run scrubs the file when it ends, and so does the "
                  "next forget or opt-out")


def warn_policy(policy: str) -> None:
    """Refuse a policy that is not one of the two (a typo must never include people who did not opt in), and warn
    about opt-out."""
    from matcher.records import POLICIES

    if policy not in POLICIES:  # a usage error here, before any work (``records.check_policy`` in the library)
        raise typer.BadParameter(f"{policy!r}: use opt-in or opt-out", param_hint="'--consent-policy'")
    if policy == "opt-out":
        err.print("[yellow]Warning:[/] consent policy opt-out: users who did not opt in are included "
                  "(everyone except opted_out). Use this only where the law and your users allow it.", markup=True)


def warn_run_policy(eng: Any) -> None:
    """Warn, as ``warn_policy`` does, when the latest profile run, which `match`, `topics` and `brand` read, was made
    under opt-out: these commands take no policy of their own, and would otherwise serve users who never opted in
    without a word."""
    import json

    from matcher.profile_run import latest_run

    run = latest_run(eng, "profile")
    if run is not None and json.loads(run.params or "{}").get("policy") == "opt-out":
        err.print(f"[yellow]Warning:[/] profile run {run.id} was made under consent policy opt-out: it includes users "
                  "who did not opt in (everyone except opted_out); `perkmatch profile` makes an opt-in one.",
                  markup=True)


def posts_counts(report: Any) -> str:
    """What a posts ingest (``ingest.IngestReport``) did, in words: added, updated, unchanged, rejected, skipped."""
    return (f"added {report.added}, updated {report.updated}, "
            + (f"unchanged {report.unchanged}, " if report.unchanged else "")
            + f"rejected {report.rejected}, skipped without consent {report.skipped_no_consent}"
            + (f", skipped as deleted by their authors {report.skipped_deleted}" if report.skipped_deleted else ""))


def say_skipped(report: Any, policy: str, what_to_do: str) -> None:
    """Why posts were not stored: their authors opted out, or (``what_to_do`` follows) have not opted in."""
    opted = report.skipped_opted_out
    if opted:
        err.print(f"{opted} post(s) not stored: their authors opted out (a users file does not bring them back; only "
                  "`perkmatch consent USER opted_in` does)")
    if report.skipped_no_consent - opted and policy != "opt-out":
        err.print(f"{report.skipped_no_consent - opted} post(s) not stored: their authors have not opted in"
                  f"{what_to_do}")


def say_returned(users: int, authors: int, source: str = "this file") -> None:
    """A note on users a `forget` deleted whom this ingest stores again (``IngestReport.users_returned``): ``users``
    added by a users file, ``authors`` with no record whose posts were stored (--consent-policy opt-out)."""
    if not users and not authors:
        return
    again = " and ".join(part for part in (f"{users} user(s) added" if users else "",
                                           f"{authors} author(s) of posts stored" if authors else "") if part)
    err.print(f"Note: {again} were forgotten earlier (`perkmatch forget`) and are stored again from {source}"
              + (" (--consent-policy opt-out stores the posts of everyone who has not opted out)" if authors else "")
              + "; if one asked to stay out, record it (`perkmatch consent USER opted_out`, or consent: opted_out in "
              "a users file): an opt-out keeps them out of every later ingest")


@contextlib.contextmanager
def progress() -> Iterator[Callable[[str, int, int | None], None]]:
    """A rich progress bar on stderr; yields callback(stage, advance, total)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                   console=err, transient=True, disable=not err.is_terminal)
    tasks: dict[str, Any] = {}

    def update(stage: str, advance: int, total: int | None) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(stage, total=total)
        bar.update(tasks[stage], advance=advance, total=total)

    with bar:
        yield update


def fail(message: str) -> typer.Exit:
    typer.echo(f"Error: {message}", err=True)
    return typer.Exit(1)


class Terminated(KeyboardInterrupt):
    """SIGTERM (a service manager stopping the command, `kill PID`), handled as Ctrl-C is: work stops at once,
    finished work is kept, worker processes are stopped, and the exit status says so (143)."""


def command_started() -> None:
    """Once a command runs, Ctrl-C and SIGTERM raise where the command is (``handled`` turns them into one line and
    its status) instead of ending a process that is still starting (``matcher.entry``); left as they are when the
    process did not start through it (tests). A signal within a second of the one that stops the command is that one
    again (a terminal and `timeout` both send it, milliseconds apart): it would cut the clean-up short (a run left
    "running", a traceback from a connection being closed); a Ctrl-C later than that stops the clean-up too. One that
    comes once the work is done stops nothing: the command ends as finished, and says so (``handled``). One raised
    where Python drops what is raised (a finaliser in the database library), which printed a traceback and left the
    command running, is raised again where the command is."""
    import _thread
    import signal
    import sys
    import threading
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
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)


def interrupted(exc: KeyboardInterrupt, what: str = "finished work is kept; run the command again to continue"
                ) -> typer.Exit:
    """Say that the command was stopped, and what of its work stays; the exit status tells Ctrl-C (130) from
    SIGTERM (143)."""
    err.print(f"Interrupted: {what}.")
    return typer.Exit(143 if isinstance(exc, Terminated) else 130)


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
            if exc.filename is not None:  # a file the library did not turn into a message of its own
                raise fail(f"{exc.filename}: {exc.strerror or exc}; check the path and its permissions") from None
            _discard_stdout()  # the output could not be written (a full disk): nor can anything more
            raise fail(f"writing the output failed ({exc.strerror or exc}); what the command committed before is kept; "
                       "free the space (or write elsewhere) and run it again") from None
        finally:  # close its connections now (a server's would otherwise stay open until garbage collection)
            while State.opened:
                State.opened.pop().dispose()
            _discard_created(keep=finished)
            if finished and State.signalled:  # it came as the work ended: before, exit 130/143 and no word
                err.print("Note: a stop signal came as the command was finishing; it finished, and its work is kept.")

    return wrapper


def _discard_created(keep: bool) -> None:
    """A command that failed (a bad file, a usage error, Ctrl-C) deletes the database it made if it holds nothing:
    a mistyped --db leaves no empty database behind (``store.discard_if_empty``)."""
    from pathlib import Path

    from matcher.store import discard_if_empty

    while State.created:
        path = State.created.pop()
        if not keep and Path(path).expanduser().exists():
            discard_if_empty(path)


def database_hint(exc: Exception) -> str:
    """What to do about a database error (``handled``), by what the driver said."""
    from sqlalchemy.exc import DataError

    from matcher.store import DAMAGED, is_damaged, server_hint

    said = str(getattr(exc, "orig", exc)).lower()
    if is_damaged(exc):
        return DAMAGED[0].upper() + DAMAGED[1:]
    if "read-only transaction" in said:  # PostgreSQL: a hot standby, or default_transaction_read_only
        return ("The PostgreSQL server takes no writes in this session (a hot standby, or transactions read-only by "
                "default): run this command against the primary, or as a role whose transactions may write; the "
                "commands that only show what is stored (status, topics, explain, brand, export, report) run here, "
                "but match, even with --dry-run, writes (its preview is rolled back)")
    if "readonly" in said or "read-only" in said:
        return ("The database file, or its folder, cannot be written (SQLite writes a journal beside it): fix the "
                "permissions, or give a --db path that can be written")
    if "database is locked" in said:  # SQLite's writer lock, held past the wait (``locks.SQLITE_WAIT_S``)
        return ("Another command kept the database busy for longer than this one waits (an ingest holds it until its "
                "file is stored): what was committed before is kept; run this command again once that one is done")
    if hint := server_hint(exc):  # PostgreSQL refused: no such database, a wrong password, no rights, no server
        return hint[0].upper() + hint[1:]
    if isinstance(exc, DataError):  # (not the server's reach: "integer out of range" read so, for a --since id)
        return ("The database refused a value (out of the range of its column, or malformed): what was committed "
                "before is kept; check the ids, dates and counts given")
    if "unique constraint" in said or "duplicate key" in said:
        return ("Another command changed the same rows at the same time: nothing of this one's last step was kept; run "
                "it again")
    return ("What was committed before is kept (each stage commits as it goes); run the command again once the "
            "database is reachable")


def _discard_stdout() -> None:
    """Point standard output at /dev/null, so that Python's last flush at exit fails no more (it would print a
    second error)."""
    import os

    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def parse_as_of(as_of: str | None) -> int | None:
    """``--as-of``: an ISO date/time as Unix seconds; a date alone is the end of that day (UTC), as the default
    today is; None when not given."""
    import datetime as dt

    from matcher.records import LATEST, end_of_day, to_epoch

    if as_of is None:  # ("": refused below, not today)
        return None
    try:
        try:  # a date alone in any ISO form (2026-01-31, 20260131, 2026-W05-6) counts whole: before, 20260131 was
            when = end_of_day(dt.date.fromisoformat(as_of.strip()))  # read as Unix seconds (1970-08-23)
        except ValueError:
            when = to_epoch(as_of)
        if not 0 <= when <= LATEST:
            raise ValueError("out of range")
    except (ValueError, OverflowError):
        raise typer.BadParameter(f"--as-of {as_of}: give an ISO date such as 2026-01-31 (1970 to 9999)") from None
    return when
