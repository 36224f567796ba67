"""Fitting and profiling on every core of this machine: chunks of users computed by worker processes.

After embedding (where the encoder already uses every core), a profile run's work is single-threaded Python
and small matrix products, one chunk of users at a time. A large run hands the chunks to a pool of worker
processes (``matcher.workers``: the same functions as the local run and Ray, one BLAS thread each), and
takes the results back in the order of the chunks, so results and what is written are the same as in one
process. Small runs stay in this process, on one thread per core (``LocalExecutor``): starting workers costs
a second or two. Databases only this process can open (in memory) stay on this process's one thread. Each worker
keeps the users it read for a new topic fit and computes them itself (``HeldUser``): this process gets only what the
fit's rounds read of them.
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

import numpy as np
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


class HeldUser(ReadUser):
    """A user a pool's worker read for the topic fit and keeps for their profile (``workers.fit_and_hold``): here,
    only what the fit reads (``fit_rows``) and which worker holds the rest (``holder``, its pool's index)."""

    __slots__ = ("holder",)

    def __init__(self, holder: int, vectors: np.ndarray, closeness: np.ndarray) -> None:
        super().__init__(None, np.zeros(0, bool), np.zeros(0, bool), vectors, closeness)
        self.holder = holder

    def fit_rows(self) -> tuple[np.ndarray, np.ndarray]:
        return self.vectors, self.closeness


Part = tuple[int, list[str], dict[str, ReadUser]]  # (the worker's index, its users, those of them read here)


class PoolExecutor(LocalExecutor):
    """Embedding and the topic fit's rounds in this process; reading the fit's posts and computing profile chunks
    on ``processes`` worker processes, results in order.

    The workers start when at least ``min_users`` users are to be computed (a run that recomputes a few users
    stays in this process: starting workers costs a second or two), before the topic fit when there is a new one
    (``warm_up``), whose posts they then read; ``close`` stops them. Each worker is a pool of its own, so that a
    task goes to the worker chosen for it, in the order given: the users a worker read for the fit are computed
    there (``HeldUser``), and each topic space goes to each worker once (``workers.space_of``)."""

    def __init__(self, processes: int, min_users: int = POOL_MIN_USERS) -> None:
        super().__init__(threads=processes)  # a run computing fewer than min_users users: on threads
        self.processes, self.min_users = processes, min_users
        self.started = False  # whether this run needed the workers
        self._pools: list[concurrent.futures.ProcessPoolExecutor] = []
        self._spaces: list[TopicSpace] = []  # the spaces the workers were given, by number
        self._given: set[tuple[int, int]] = set()  # (worker, space number): the worker has it
        self._turn = 0  # the worker the next task with no user held goes to

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
            for pool in self._workers():
                pool.submit(workers.ready)

    def fit_posts(self, engine: Engine, cache: EmbeddingCache, space: TopicSpace, jobs: Iterable[Job],
                  classify: ClassifyParams, params: ProfileParams, as_of: int
                  ) -> Iterator[tuple[Any, dict[str, ReadUser]]]:
        """The fit's posts read by the workers when they were started for this run (``warm_up``), each job's users
        kept by the worker that read them (``HeldUser``); else here."""
        if not self.started:
            yield from super().fit_posts(engine, cache, space, jobs, classify, params, as_of)
            return
        head: tuple[Any, ...] = (workers.database_arg(engine), cache.name, cache.encoder.dim)
        tail = (classify, params, as_of)

        def submit(user_ids: list[str]) -> tuple[int, Any]:
            worker = self._next_worker()
            args = (*head, self._space(space, worker), *tail, user_ids)
            return worker, self._workers()[worker].submit(workers.fit_and_hold, *args)

        for tag, got in self._run(submit, lambda handle: (handle[0], _result(handle[1])), jobs):
            worker, rows = got or (0, {})
            yield tag, {u: HeldUser(worker, vectors, closeness) for u, (vectors, closeness) in rows.items()}

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
        head: tuple[Any, ...] = (workers.database_arg(engine), cache.name, cache.encoder.dim)
        tail = (as_of, classify, params)

        def submit(user_ids: list[str]) -> tuple[list[str], list[Any]]:
            pools = self._workers()
            parts = [(worker, (*head, self._space(space, worker), *tail, users, sent))
                     for worker, users, sent in self._parts(user_ids, read)]
            return user_ids, [pools[worker].submit(workers.compute_held, *args) for worker, args in parts]

        for tag, result in self._run(submit, _merged, itertools.chain(ahead, jobs)):
            yield (tag, {}, 0, {}) if result is None else (tag, *result)

    def close(self) -> None:
        pools, self._pools = self._pools, []
        for pool in pools:
            pool.shutdown(wait=True, cancel_futures=True)
        self._forget_workers()

    def _workers(self) -> list[concurrent.futures.ProcessPoolExecutor]:
        """The worker processes' pools, one worker each (started now if they are not running)."""
        if not self._pools:
            context = worker_context()
            if context.get_start_method() == "forkserver":
                start_fork_server()
            self._pools = [concurrent.futures.ProcessPoolExecutor(1, mp_context=context, initializer=workers.start,
                                                                  initargs=(os.getpid(),))
                           for _ in range(self.processes)]
            self.started = True
        return self._pools

    def _next_worker(self) -> int:
        """The worker whose turn it is: tasks with no user held go round the workers."""
        worker, self._turn = self._turn % self.processes, self._turn + 1
        return worker

    def _space(self, space: TopicSpace, worker: int) -> workers.SpaceRef:
        """What a task gives this worker of the space (``workers.space_of``): its number, and the space itself if the
        worker was not given it yet."""
        number = next((i for i, known in enumerate(self._spaces) if known is space), len(self._spaces))
        if number == len(self._spaces):
            self._spaces.append(space)
        first = (worker, number) not in self._given
        self._given.add((worker, number))
        return number, space if first else None

    def _parts(self, user_ids: list[str], read: dict[str, ReadUser]) -> list[Part]:
        """A job's users split by the worker that holds them (``HeldUser``), the rest (with those of them read here)
        going to the next worker; each part in the job's order."""
        taken = take_read(read, user_ids)
        holder = {u: r.holder for u, r in taken.items() if isinstance(r, HeldUser)}
        parts: dict[int, list[str]] = {}
        for u in user_ids:
            if u in holder:
                parts.setdefault(holder[u], []).append(u)
        rest = [u for u in user_ids if u not in holder]
        if rest:
            worker = self._next_worker()
            theirs = set(parts.get(worker, ())) | set(rest)
            parts[worker] = [u for u in user_ids if u in theirs]
        return [(worker, users, {u: taken[u] for u in users if u in taken and u not in holder})
                for worker, users in sorted(parts.items())]

    def _in_order(self, fn: Callable[..., Any], fixed: tuple[Any, ...], jobs: Iterable[tuple[Any, list[str]]],
                  extra: Callable[[list[str]], tuple[Any, ...]] = lambda user_ids: ()) -> Iterator[tuple[Any, Any]]:
        """(tag, fn(*fixed, users, *extra(users))) for each job, in the order of the jobs (None for a job with no
        users), the jobs going round the workers."""
        yield from self._run(lambda user_ids: self._workers()[self._next_worker()].submit(
            fn, *fixed, user_ids, *extra(user_ids)), _result, jobs)

    def _run(self, submit: Callable[[list[str]], Any], result: Callable[[Any], Any],
             jobs: Iterable[tuple[Any, list[str]]]) -> Iterator[tuple[Any, Any]]:
        """(tag, result(submit(users))) for each job, in the order of the jobs, with at most two jobs per worker in
        flight; stopped or failed, the workers are killed (``_abandon``)."""
        try:
            yield from workers.in_order(submit, result, jobs, 2 * self.processes)
        except BaseException:  # stopped, or failed: what the workers compute now is thrown away
            self._abandon()
            raise

    def _abandon(self) -> None:
        """Every worker killed (they ignore stop signals, ``workers.start``): the exit need not wait for their
        chunks; each pool's result pipe unblocked (``_unblock``)."""
        pools, self._pools = self._pools, []
        running = [list((getattr(pool, "_processes", None) or {}).values()) for pool in pools]  # (``shutdown``
        results = [getattr(pool, "_result_queue", None) for pool in pools]  # forgets them)
        for pool in pools:
            pool.shutdown(wait=False, cancel_futures=True)
        for process in itertools.chain.from_iterable(running):
            process.kill()
        for queue, processes in zip(results, running, strict=True):
            _unblock(queue, processes)
        self._forget_workers()

    def _forget_workers(self) -> None:
        """New workers hold no space and no user: what this executor knows of the old ones goes."""
        self._spaces, self._given, self._turn = [], set(), 0


def _merged(handle: tuple[list[str], list[Any]]) -> tuple[dict[str, list[TopicResult]], int, dict[str, str]]:
    """A job's result from its parts' tasks (``PoolExecutor._parts``), in the job's order of users, as one task gives
    it: the same rows are written in the same order, whichever worker computed them."""
    user_ids, futures = handle
    done = [_result(future) for future in futures]
    results = {u: r for part, _, _ in done for u, r in part.items()}
    digests = {u: d for _, _, part in done for u, d in part.items()}
    return ({u: results[u] for u in user_ids if u in results}, sum(n for _, n, _ in done),
            {u: digests[u] for u in user_ids if u in digests})


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
