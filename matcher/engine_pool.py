"""Fitting and profiling on every core of this machine: chunks of users computed by worker processes.

After embedding (where the encoder already uses every core), a profile run's work is single-threaded Python
and small matrix products, one chunk of users at a time. A large run hands the chunks to a pool of worker
processes (``matcher.workers``: the same functions as the local run and Ray, one BLAS thread each), and
takes the results back in the order of the chunks, so results and what is written are the same as in one
process. Small runs stay in this process, on one thread per core (``LocalExecutor``): starting workers costs
a second or two. Databases only this process can open (in memory) stay on this process's one thread.
"""

import concurrent.futures
import itertools
import multiprocessing
import multiprocessing.forkserver
import os
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from sqlalchemy import Engine

from matcher import workers
from matcher.classify import ClassifyParams
from matcher.embed import EmbeddingCache
from matcher.engine_local import Executor, Job, LocalExecutor, take_read
from matcher.errors import PerkmatchError
from matcher.profile_chunk import ReadUser
from matcher.profile_types import ProfileParams, TopicResult
from matcher.topic_space import TopicSpace

POOL_MIN_USERS = 500  # below this, a run stays in one process


def default_executor(engine: Engine, users: int) -> Executor:
    """A pool of worker processes for large runs on a machine with 2 or more cores; this process's threads
    otherwise (one thread for a database only this process can open)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if workers.database_arg(engine) is None:
        return LocalExecutor()
    if users < POOL_MIN_USERS or cores < 2:
        return LocalExecutor(cores)
    return PoolExecutor(cores)


def worker_context() -> multiprocessing.context.BaseContext:
    """How workers start: forked from a fork server, a new interpreter that imported ``matcher.workers`` once (no
    model threads), where the platform has one; spawned otherwise. The parent itself holds the model's threads,
    so it is never forked. Importing takes about a second; forking the imported server takes milliseconds."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["matcher.workers"])
    return context


def start_fork_server() -> None:
    """Start the fork server (if it is not running) deaf to Ctrl-C and SIGTERM, which a terminal, `timeout` or a
    service manager sends to every process of the command: it imports ``matcher.workers`` (about a second) before
    it ignores Ctrl-C itself, and a Ctrl-C then printed its traceback under the command's one line; and SIGTERM
    killed it and the workers it forked, and the command, stopping, hung in Python's exit waiting on them. An ignored
    signal stays ignored in the new program and in what it forks (the workers also ignore them, ``workers.start``);
    one sent to the command in the milliseconds it takes to start the server is lost."""
    if threading.current_thread() is not threading.main_thread():  # (only the main thread sets handlers)
        multiprocessing.forkserver.ensure_running()
        return
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        multiprocessing.forkserver.ensure_running()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class PoolExecutor(LocalExecutor):
    """Embedding and the topic fit's rounds in this process; reading the fit's posts and computing profile chunks
    on ``processes`` worker processes, results in order.

    The workers start when at least ``min_users`` users are to be computed (a run that recomputes a few users
    stays in this process: starting workers costs a second or two), before the topic fit when there is a new one
    (``warm_up``), whose posts they then read; ``close`` stops them."""

    def __init__(self, processes: int, min_users: int = POOL_MIN_USERS) -> None:
        super().__init__(threads=processes)  # a run computing fewer than min_users users: on threads
        self.processes, self.min_users = processes, min_users
        self.started = False  # whether this run needed the workers
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None

    def warm_up(self, users: int) -> None:
        """Get the workers ready now if ``users`` users are to be computed, so that they also read the posts of
        the topic fit: the fork server starts importing in the background (spawned workers each import their
        modules), while this process goes on."""
        if users < self.min_users or self.started:
            return
        self.started = True
        context = worker_context()
        if context.get_start_method() == "forkserver":
            start_fork_server()  # returns at once; forking waits for the imports
        else:
            pool = self._workers()
            for _ in range(self.processes):
                pool.submit(workers.ready)

    def fit_posts(self, engine: Engine, cache: EmbeddingCache, space: TopicSpace, jobs: Iterable[Job],
                  classify: ClassifyParams, params: ProfileParams, as_of: int
                  ) -> Iterator[tuple[Any, dict[str, ReadUser]]]:
        """The fit's posts read by the workers when they were started for this run (``warm_up``), else here."""
        if not self.started:
            yield from super().fit_posts(engine, cache, space, jobs, classify, params, as_of)
            return
        yield from self._in_order(workers.fit_chunk, (workers.database_arg(engine), cache.name, cache.encoder.dim,
                                                      space, classify, params, as_of), jobs)

    def compute(self, engine: Engine, cache: EmbeddingCache, space: TopicSpace, jobs: Iterable[Job], as_of: int,
                classify: ClassifyParams, params: ProfileParams, read: dict[str, ReadUser],
                ) -> Iterator[tuple[Any, dict[str, list[TopicResult]], int, dict[str, str]]]:
        jobs = iter(jobs)
        ahead: list[Job] = []
        for job in jobs:  # look ahead until there is enough work for the workers, or no more work
            ahead.append(job)
            if self.started or sum(len(users) for _, users in ahead) >= self.min_users:
                break
        else:
            yield from super().compute(engine, cache, space, ahead, as_of, classify, params, read)
            return
        fixed = (workers.database_arg(engine), cache.name, cache.encoder.dim, space, as_of, classify, params)
        for tag, result in self._in_order(workers.compute_chunk, fixed, itertools.chain(ahead, jobs),
                                          lambda user_ids: (take_read(read, user_ids),)):
            yield (tag, {}, 0, {}) if result is None else (tag, *result)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _workers(self) -> concurrent.futures.ProcessPoolExecutor:
        if self._pool is None:
            context = worker_context()
            if context.get_start_method() == "forkserver":
                start_fork_server()
            self._pool = concurrent.futures.ProcessPoolExecutor(self.processes, mp_context=context,
                                                                initializer=workers.start, initargs=(os.getpid(),))
            self.started = True
        return self._pool

    def _in_order(self, fn: Callable[..., Any], fixed: tuple[Any, ...], jobs: Iterable[tuple[Any, list[str]]],
                  extra: Callable[[list[str]], tuple[Any, ...]] = lambda user_ids: ()) -> Iterator[tuple[Any, Any]]:
        """(tag, fn(*fixed, users, *extra(users))) for each job, in the order of the jobs (None for a job with no
        users), with at most two jobs per process in flight."""
        pool = self._workers()
        try:
            yield from workers.in_order(lambda user_ids: pool.submit(fn, *fixed, user_ids, *extra(user_ids)),
                                        _result, jobs, 2 * self.processes)
        except BaseException:  # stopped, or failed: what the workers compute now is thrown away
            running = list((getattr(pool, "_processes", None) or {}).values())  # (``shutdown`` forgets them)
            results = getattr(pool, "_result_queue", None)
            pool.shutdown(wait=False, cancel_futures=True)
            for process in running:
                process.kill()  # (they ignore stop signals, ``workers.start``): the exit need not wait for their chunks
            _unblock(results, running)
            self._pool = None
            raise


def _unblock(results: Any, running: list[Any]) -> None:
    """A worker killed while it sent its chunk's result (megabytes) leaves part of the message in the pool's result
    pipe, and the pool's manager thread waits for the rest for ever; Python's exit waits for that thread, so the
    command hung after saying "Interrupted", until a second signal. Once the workers are gone, this process's copy
    of the pipe's writing end is the last: closing it ends that wait (end of file: the pool is broken, and its
    thread ends). The workers are gone within milliseconds of being killed; if one is not, the pipe is left open."""
    for process in running:
        process.join(5)
    writer = getattr(results, "_writer", None)
    if writer is not None and not any(process.is_alive() for process in running):
        writer.close()


def _result(future: concurrent.futures.Future[Any]) -> Any:
    """A chunk's result; a worker gone before its chunk was done (killed, for want of memory perhaps, or failed as
    it started: ``locks.not_a_starting_worker``) fails the run with an error that says so, not a bare
    ``BrokenProcessPool``."""
    try:
        return future.result()
    except BrokenProcessPool:
        raise PerkmatchError("a worker process of this profile run ended before its work was done (killed, for want "
                             "of memory perhaps, or it failed as it started: its own message, if any, is above); "
                             "run it again: the users it finished are kept") from None
