"""What a worker process runs for a profile: a chunk of users profiled against the database, reading
cached vectors only (no model). Used by the local process pool (``matcher.engine_pool``) and by Ray
(``matcher.engine_ray``); both give the local run's result: the same functions, one BLAS thread each."""

import gc
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine
from threadpoolctl import threadpool_limits

from matcher.classify import ClassifyParams
from matcher.embed import EmbeddingCache
from matcher.errors import ModelError
from matcher.profile_chunk import ReadUser, compute_users, read_users
from matcher.profile_types import ProfileParams, TopicResult
from matcher.topic_space import TopicSpace

_ENGINES: dict[str, Engine] = {}
_SPACES: dict[int, TopicSpace] = {}  # the run's topic spaces, each sent once to a pool's worker (``space_of``)
_HELD: dict[str, ReadUser] = {}  # the users this worker read for the run's topic fit, kept for their profiles

SpaceRef = tuple[int, TopicSpace | None]  # (the space's number in its run, the space the first time a worker gets it)


def quiet_orphans(previous: Callable[..., Any]) -> Callable[..., Any]:
    """An excepthook for the fork server, which reports a child's failure to start through it: a worker forked just
    as its command stopped (Ctrl-C while the pool starts) finds the pool's lock gone as it unpickles its call, and
    printed that traceback under the command's one line. Nobody is left to read it; any other failure is reported."""
    lock_file = os.path.join("multiprocessing", "synchronize.py")

    def hook(kind: type[BaseException], value: BaseException, tb: Any) -> None:
        import traceback

        if issubclass(kind, FileNotFoundError) and any(
                frame.f_code.co_name == "__setstate__" and frame.f_code.co_filename.endswith(lock_file)
                for frame, _ in traceback.walk_tb(tb)):
            return
        previous(kind, value, tb)

    return hook


if sys.argv[:1] == ["-c"] and "multiprocessing.forkserver" in sys.modules:  # imported by the fork server (preload)
    sys.excepthook = quiet_orphans(sys.excepthook)


def database_arg(engine: Engine) -> str | None:
    """What a worker passes to ``open_engine``: the absolute SQLite path, or the full URL with its password;
    None for a database only this process can open (in memory)."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            return None
        return str(Path(url.database).resolve())
    if url.drivername == "postgresql+psycopg":  # the driver ``db_url`` adds: the URL as an operator writes it, which a
        url = url.set(drivername="postgresql")  # worker's error shows (password masked)
    return url.render_as_string(hide_password=False)


def in_order(submit: Callable[[list[str]], Any], result: Callable[[Any], Any],
             jobs: Iterable[tuple[Any, list[str]]], in_flight: int) -> Iterator[tuple[Any, Any]]:
    """(tag, result(submit(users))) for each (tag, users) job, in the order of the jobs, with at most
    ``in_flight`` jobs submitted and not yet read back besides the one just submitted (its oldest is read back
    next); a job with no users gives (tag, None) without a task."""
    pending: deque[tuple[Any, Any]] = deque()
    for tag, user_ids in jobs:
        pending.append((tag, submit(user_ids) if user_ids else None))
        if len(pending) > in_flight:
            tag, handle = pending.popleft()
            yield tag, None if handle is None else result(handle)
    while pending:
        tag, handle = pending.popleft()
        yield tag, None if handle is None else result(handle)


def compute_chunk(db: str, model: str, dim: int, space: TopicSpace, as_of: int, classify: ClassifyParams,
                  params: ProfileParams, user_ids: list[str], read: dict[str, ReadUser],
                  ) -> tuple[dict[str, list[TopicResult]], int, dict[str, str]]:
    """``compute_users`` against the database (``read``: those of the users the run's topic fit read)."""
    cache = _worker_cache(db, model, dim)
    with threadpool_limits(1, user_api="blas"):  # as run_profile does locally: the same BLAS path
        return compute_users(cache.engine, cache, space, user_ids, as_of, classify, params, read)


def fit_chunk(db: str, model: str, dim: int, space: TopicSpace, classify: ClassifyParams, params: ProfileParams,
              as_of: int, user_ids: list[str]) -> dict[str, ReadUser]:
    """``read_users`` against the database: a chunk of the users the topic fit reads."""
    cache = _worker_cache(db, model, dim)
    with threadpool_limits(1, user_api="blas"):
        return read_users(cache.engine, cache, space, user_ids, classify, params, as_of)


def space_of(ref: SpaceRef) -> TopicSpace:
    """The topic space a pool's task names: given whole with the first task of a worker that names it (a worker takes
    its tasks in the order they were given, ``engine_pool.PoolExecutor``), kept for the tasks after it, which name it
    only. Each task carried it before: 6.8 MB pickled, sent down the pipe and unpickled again (8 tasks at 20,000
    generated posts, 44 at 200,000)."""
    number, space = ref
    if space is not None:
        _SPACES[number] = space
    return _SPACES[number]


def fit_and_hold(db: str, model: str, dim: int, space: SpaceRef, classify: ClassifyParams, params: ProfileParams,
                 as_of: int, user_ids: list[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``fit_chunk``, its users kept in this worker for their profiles (``compute_held``), and what the fit reads of
    them returned (``ReadUser.fit_rows``): their posts, vectors and closeness are not sent to the run's process and
    back again. At 20,000 generated posts that was 115 MB for the 4 chunks to compute, pickled by the run's process
    and carried by the pipe before a worker could start (their first chunks began 0.10-0.28 s into the stage; now
    0.02-0.06 s), and the posts unpickled again there (0.1 s)."""
    read = fit_chunk(db, model, dim, space_of(space), classify, params, as_of, user_ids)
    _HELD.update(read)
    return {u: r.fit_rows() for u, r in read.items()}


def compute_held(db: str, model: str, dim: int, space: SpaceRef, as_of: int, classify: ClassifyParams,
                 params: ProfileParams, user_ids: list[str], read: dict[str, ReadUser],
                 ) -> tuple[dict[str, list[TopicResult]], int, dict[str, str]]:
    """``compute_chunk``, taking the users this worker read for the fit (``fit_and_hold``) from those it keeps."""
    held = {u: _HELD.pop(u) for u in user_ids if u in _HELD}
    return compute_chunk(db, model, dim, space_of(space), as_of, classify, params, user_ids, {**read, **held})


def start(command_pid: int) -> None:
    """Each worker process's first step. Ctrl-C and SIGTERM go to the whole process group (a terminal, `timeout`, a
    service manager): the command stops the workers itself (no traceback from each of them). A worker the group's
    SIGTERM killed left the pool waiting on it, and the stopped command, its "Interrupted" line printed, hung for
    ever in Python's exit. A worker exits once the command that started it is gone, even killed (SIGKILL): left
    running, workers held the database and the command's output pipe open for ever."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    gc.freeze()  # what it inherited (the fork server's imports) lives as long as it does: out of the collector's reach

    def watch() -> None:
        while _alive(command_pid):
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="perkmatch-watch-command", daemon=True).start()


def _alive(pid: int) -> bool:
    """Whether the process still runs: not gone, not a zombie waiting for its parent to reap it, and not a process
    of another user that took over its id."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):  # no /proc (not Linux): what os.kill says
        return True


def ready() -> None:
    """A task that does nothing: running it makes a new worker process import this module and so everything a
    chunk needs (about a second), before the first chunk comes (``PoolExecutor.warm_up``)."""


def _worker_cache(db: str, model: str, dim: int) -> EmbeddingCache:
    """A worker's read-only view of the embedding cache (its database opened once per process)."""
    from matcher.store import open_engine

    if db not in _ENGINES:
        _ENGINES[db] = open_engine(db)
    return EmbeddingCache(_ENGINES[db], StoredVectors(model, dim))


class StoredVectors:
    """An encoder stand-in for readers of the cache: the name and size of the vectors, and no model."""

    def __init__(self, name: str, dim: int) -> None:
        self.name, self.dim = name, dim

    def encode(self, texts: list[str]) -> np.ndarray:
        raise ModelError(f"{len(texts)} text(s) have no cached vector for {self.name}; run `perkmatch profile` "
                         "to embed them first")
