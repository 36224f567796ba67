"""Embedding and profiling on a Ray cluster (``--engine ray``), with the same result as the local run.

- **Embedding** runs on Ray Data. The texts with no cached vector are cut into exactly the batches the local
  run encodes (``EmbeddingCache.batches``: per chunk of the missing-text stream, sorted by length); each batch
  is one block of a dataset of (key, text) rows, and ``map_batches`` sends it whole to a pool of actors, each
  of which builds the encoder once from a picklable zero-argument factory. The driver stores the vectors as
  they come back (``EmbeddingCache.store_vectors``), one transaction per batch: an interrupted run keeps its
  work and a re-run embeds only what is left. Same texts in the same batch give the same float32 vectors, so
  the cache holds the same bytes as after a local run (on nodes with the same CPU kind and library versions).
- **Profiling**: each chunk of users to recompute is one Ray task. Workers open the database themselves from
  its URL and only read cached vectors (no model). The topic fit runs on the driver, as locally: it reads at
  most ``FitParams.max_posts`` posts, whatever the collection's size. The driver computes the digests, copies
  unchanged users and writes the results chunk by chunk in order, as the local run does, so incremental reuse
  is unchanged.

Every node must reach the database: SQLite works on a one-machine cluster only; a real cluster needs
PostgreSQL. Ray is imported only here, and only when this engine is used.
"""

import contextlib
import itertools
import logging
import os
import re
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
from sqlalchemy import Engine, and_, or_
from sqlmodel import col, select

from catalog.refresh import text_key
from matcher import workers
from matcher.classify import ClassifyParams
from matcher.embed import EmbeddingCache, count_missing, deferred_interrupt, missing_chunks
from matcher.encoder import Encoder
from matcher.engine_local import Job, Progress, take_read
from matcher.errors import ClusterError, ModelError
from matcher.profile_chunk import ReadUser
from matcher.profile_types import ProfileParams, TopicResult
from matcher.store import Embedding, Post, batches, session
from matcher.topic_space import TopicSpace

WINDOW = 65_536  # texts per Ray Data dataset: each dataset starts its actors (and their models) once
LOCAL_OBJECT_STORE = 512 * 1024**2  # a local cluster's object store: batches of texts and vectors are small
INSTALL = "pip install 'perkmatch[ray]'"

EncoderFactory = Callable[[], Encoder]


def import_ray() -> Any:
    """The ray module, or a ClusterError saying how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as exc:
        raise ClusterError(f"--engine ray needs Ray, which is not installed: {INSTALL}") from exc
    return ray


@contextlib.contextmanager
def ray_cluster(address: str | None = None, num_cpus: int | None = None) -> Iterator[str]:
    """Attach to the Ray cluster at ``address`` (HOST:6379, else $RAY_ADDRESS, which a Ray job has; ``auto``
    finds one started on this machine with ``ray start``), or start a small local one; shut down only what
    was started here. A process already connected to Ray keeps its connection. Yields a line
    saying which cluster it is."""
    ray = import_ray()
    if address is not None and not address.strip():  # `--ray-address "$HEAD"` with HEAD unset
        raise ClusterError("--ray-address is empty: give the cluster's address, HOST:6379, or auto, or local, or "
                           "leave the option out ($RAY_ADDRESS, else a local cluster)")
    where = f"--ray-address {address}" if address else f"RAY_ADDRESS={os.environ.get('RAY_ADDRESS')}"
    address = address or os.environ.get("RAY_ADDRESS") or None
    if address and address.startswith("ray://"):
        raise ClusterError(f"{where}: Ray Data does not run over Ray Client (ray://); run perkmatch "
                           "on a node of the cluster with --ray-address auto, or submit it as a Ray job: "
                           "ray job submit --address http://HEAD:8265 -- perkmatch ... profile --engine ray")
    if address and "://" in address:
        raise ClusterError(f"{where}: give the cluster's address, HOST:6379 (what `ray start --head` printed), "
                           "to --ray-address, not a URL; an http:// address is the dashboard's, for `ray job submit`")
    if address not in (None, "auto", "local"):
        _check_reachable(address, where)
    if ray.is_initialized():
        yield _describe(ray, "the connected Ray cluster")
        return
    kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                              "logging_level": logging.ERROR, "configure_logging": True}
    if address in (None, "local"):  # a new cluster, even where `ray start` left one (attach with auto)
        address = None
        kwargs.update(address="local", num_cpus=num_cpus or os.cpu_count() or 1,
                      object_store_memory=LOCAL_OBJECT_STORE)
    else:
        kwargs.update(address=address)
    _init(ray, kwargs, address, where)
    printing = ray._private.worker.print_to_stdstream
    try:
        _quiet()
        ray._private.worker.print_to_stdstream = _on_stderr(printing)
        yield _describe(ray, f"the Ray cluster at {_found(ray, address)}" if address not in (None, "local")
                        else "a local Ray cluster started for this run")
    finally:
        ray._private.worker.print_to_stdstream = lambda data, ignore_prefix: None  # while it shuts down: a stopped
        # run's actors are killed, and Ray said so of each ("... killed by `ray.kill`")
        ray.shutdown()
        ray._private.worker.print_to_stdstream = printing


def _on_stderr(printing: Callable[[dict[str, Any], bool], None]) -> Callable[[dict[str, Any], bool], None]:
    """Ray's printer of the cluster's messages to the driver (a task retried, a worker killed for want of memory), on
    stderr: Ray printed them on stdout, in colour, in the middle of `--json` output."""
    return lambda data, ignore_prefix: printing({**data, "is_err": True}, ignore_prefix)


def _init(ray: Any, kwargs: dict[str, Any], address: str | None, where: str) -> None:
    """``ray.init``, quietly: a failure as one ClusterError naming the fix; whatever it started is stopped when it
    fails or is interrupted. Starting a local cluster (a few seconds) finishes before Ctrl-C or SIGTERM acts: an
    interrupt in the middle left its processes running for a minute, or crashed the process (status 139).
    Attaching tries once: where something other than Ray answers, Ray's 20 tries took about 4 minutes."""
    os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")  # Ray's C++ log lines on the driver's stderr
    try:
        with (_stderr_muted(), _sigterm_kept(ray), _own_session(ray),
              deferred_interrupt() if address is None else _one_attempt()):
            ray.init(**kwargs)  # (stderr muted but for one line saying so)
    except BaseException as exc:  # whatever Ray raises here, the fix is one of these
        with contextlib.suppress(Exception):
            ray.shutdown()
        if not isinstance(exc, Exception):
            raise
        cause: BaseException = exc
        while cause.__cause__ is not None:
            cause = cause.__cause__
        auth = re.search(r"AuthenticationError: (?:RPC error: )?(?:\w+: )?([^.\n]+)", str(cause))
        reason = auth.group(1) if auth else str(cause).partition(". ")[0]
        if address is None:  # the local cluster for this run
            raise ClusterError(f"--engine ray: cannot start a local Ray cluster ({reason}); start one with `ray start "
                               "--head` and give --ray-address auto, or leave --engine ray out: the local engine "
                               "gives the same result") from None
        fix = ("set RAY_AUTH_MODE=token and give the cluster's token in RAY_AUTH_TOKEN (`ray get-auth-token` on the "
               "head node)" if auth or "token" in reason.lower() else "start one with `ray start --head` and give "
               "its address (HOST:6379), or give --ray-address local to run on a local cluster")
        raise ClusterError(f"{where}: cannot join a Ray cluster ({reason}); {fix}") from None


@contextlib.contextmanager
def _own_session(ray: Any) -> Iterator[None]:
    """The processes of a local cluster started here run in a session of their own, so a SIGTERM sent to the
    command's process group (``timeout``, a terminal's job control) reaches the command alone: it stops its run,
    says so, and shuts the cluster down. Before, it reached the cluster too, and Ray's core ended the command as its
    raylet died: at once, with status 1 and no word, and the run left "running". They still end with the command:
    Ray ties the raylet and its store to their parent's death, and blocks Ctrl-C in them (a SIGKILL of the command
    leaves its two agents for about a minute, until they find their raylet gone)."""
    services = ray._private.services
    popen = services.ConsolePopen

    class OwnSession(popen):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs, start_new_session=True)

    services.ConsolePopen = OwnSession
    try:
        yield
    finally:
        services.ConsolePopen = popen


@contextlib.contextmanager
def _one_attempt() -> Iterator[None]:
    """Ray's driver tries to reach the cluster once, not 20 times (about 10 s each where something else answers),
    unless RAY_gcs_server_port_wait_time_s says otherwise."""
    name = "RAY_gcs_server_port_wait_time_s"
    if name in os.environ:
        yield
        return
    os.environ[name] = "1"
    try:
        yield
    finally:
        os.environ.pop(name, None)


def _found(ray: Any, address: str) -> str:
    """The address attached to: ``auto``'s own (it said "the Ray cluster at auto"), the one given otherwise."""
    if address != "auto":
        return address
    try:
        return f"{ray.get_runtime_context().gcs_address} (found by auto)"
    except Exception:  # noqa: BLE001  (a Ray without it: the line is only informative)
        return "auto"


def _describe(ray: Any, what: str) -> str:
    nodes = sum(1 for n in ray.nodes() if n.get("Alive"))
    return f"Running on {what}: {nodes} node(s), {_cluster_cpus(ray)} CPU(s)"


@contextlib.contextmanager
def _stderr_muted() -> Iterator[None]:
    """File descriptor 2 to /dev/null for a moment (what C++ code writes there bypasses Python's logging)."""
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


@contextlib.contextmanager
def _sigterm_kept(ray: Any) -> Iterator[None]:
    """SIGTERM stays the process's to handle. ``ray.init`` replaced its handler with Ray's, which exits (status 1 or
    15, or an abort with a C++ stack dump on stderr) without the command's cleanup and one line, and, landing while
    a local cluster starts, left its processes running for a minute."""
    utils = ray._private.utils
    replace = getattr(utils, "set_sigterm_handler", None)  # how ray.init installs Ray's handlers
    before = signal.getsignal(signal.SIGTERM) if threading.current_thread() is threading.main_thread() else None
    if replace is not None:
        utils.set_sigterm_handler = lambda handler: None
    try:
        yield
    finally:
        if replace is not None:
            utils.set_sigterm_handler = replace
        if before is not None:
            signal.signal(signal.SIGTERM, before)  # and replaces the one Ray's C++ core installed


def _check_reachable(address: str, where: str, timeout: float = 5.0) -> None:
    """Fail fast, naming the fix, when nothing listens at a host:port address (ray.init would retry for minutes)."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or host.count(":") and not host.endswith("]"):  # (an IPv6 address: [::1]:6379)
        raise ClusterError(f"{where}: give the port too, HOST:6379 (the address `ray start --head` printed)")
    if not 0 < int(port) < 65536:  # (the resolver took 99999 as port 34463)
        raise ClusterError(f"{where}: port {port} is out of range (1 to 65535); give the address `ray start --head` "
                           "printed, HOST:6379")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise ClusterError(f"{where}: no Ray cluster answers there ({exc}); start one with "
                           "`ray start --head` on the head node and give its address (HOST:6379), or give "
                           "--ray-address local to run on a local cluster") from None


def _quiet() -> None:
    """No Ray Data progress bars or execution logs: perkmatch's own progress bars are the only ones."""
    from ray.data import DataContext

    context = DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    logging.getLogger("ray").setLevel(logging.ERROR)
    logging.getLogger("ray.data").setLevel(logging.CRITICAL)  # a worker's error is re-raised, in one line


class RayExecutor:
    """Runs a profile's embedding and profiling on the connected Ray cluster (see ``ray_cluster``).

    ``encoder_factory`` is a picklable zero-argument callable that builds the same encoder as the driver's
    cache (e.g. ``functools.partial(load_encoder, model)``). Each encoder actor takes ``threads`` CPUs and
    runs torch on that many threads (default: as many as a local run here), as many actors as the cluster's
    CPUs hold: torch's float32 kernels give the same bits only for the same thread count."""

    def __init__(self, encoder_factory: EncoderFactory, threads: int | None = None) -> None:
        self.encoder_factory = encoder_factory
        self.threads = threads

    def embed(self, engine: Engine, cache: EmbeddingCache, extra: list[str], progress: Progress | None,
              policy: str | None = None) -> int:
        return embed_new_posts_ray(engine, cache, extra, progress, encoder_factory=self.encoder_factory,
                                   threads=self.threads, policy=policy)

    def warm_up(self, users: int) -> None:
        pass  # the cluster's workers are already running

    def fit_posts(self, engine: Engine, cache: EmbeddingCache, space: TopicSpace, jobs: Iterable[Job],
                  classify: ClassifyParams, params: ProfileParams, as_of: int
                  ) -> Iterator[tuple[Any, dict[str, ReadUser]]]:
        """The topic fit's posts, each job's users read by a Ray task, in the order of the jobs."""
        yield from _in_order(workers.fit_chunk, (database_arg(engine), cache.name, cache.encoder.dim, space, classify,
                                                 params, as_of), jobs)

    def compute(self, engine: Engine, cache: EmbeddingCache, space: TopicSpace, jobs: Iterable[Job], as_of: int,
                classify: ClassifyParams, params: ProfileParams, read: dict[str, ReadUser],
                ) -> Iterator[tuple[Any, dict[str, list[TopicResult]], int, dict[str, str]]]:
        """Each job's users computed by a Ray task (with those of them the fit read); results come back in the
        order of the jobs."""
        fixed = (database_arg(engine), cache.name, cache.encoder.dim, space, as_of, classify, params)
        for tag, result in _in_order(workers.compute_chunk, fixed, jobs, lambda user_ids: (take_read(read, user_ids),)):
            yield (tag, {}, 0, {}) if result is None else (tag, *result)  # None: every user of the chunk is reused


def _in_order(fn: Callable[..., Any], fixed: tuple[Any, ...], jobs: Iterable[tuple[Any, list[str]]],
              extra: Callable[[list[str]], tuple[Any, ...]] = lambda user_ids: ()) -> Iterator[tuple[Any, Any]]:
    """(tag, fn(*fixed, users, *extra(users))) for each job, each a Ray task (the topic space put in the object
    store once), in the order of the jobs, with at most two tasks per cluster CPU in flight."""
    ray = import_ray()
    task = ray.remote(num_cpus=1)(_on_node)
    fixed = tuple(ray.put(x) if isinstance(x, TopicSpace) else x for x in fixed)

    def result(ref: Any) -> Any:
        with worker_errors(ray):
            return ray.get(ref)

    yield from workers.in_order(lambda user_ids: task.remote(fn, *fixed, user_ids, *extra(user_ids)), result, jobs,
                                2 * _cluster_cpus(ray))


def _on_node(fn: Callable[..., Any], db: str, *args: Any) -> Any:
    """``fn(db, *args)`` on a Ray worker, once it is sure the database is there: opening a SQLite path on a node
    without the file created an empty database there, and every user computed on that node had no posts."""
    if "://" not in db and not os.path.isfile(db):
        raise ClusterError(f"--db {db}: this SQLite file is not on the Ray node {socket.gethostname()}; a cluster "
                           "of several machines needs a database every node can reach: give --db a postgresql:// URL")
    return fn(db, *args)


@contextlib.contextmanager
def worker_errors(ray: Any) -> Iterator[None]:
    """A failure on a worker as one ClusterError naming the original error, not a page of Ray's traceback."""
    try:
        yield
    except ray.exceptions.RayError as exc:
        causes = [line.strip() for line in str(exc).splitlines() if re.match(r"\s*[\w.]+(Error|Exception): ", line)]
        cause = causes[-1] if causes else f"{type(exc).__name__}: {str(exc).partition(chr(10))[0]}"
        raise ClusterError(f"a Ray worker failed: {cause} (workers' logs: /tmp/ray/session_latest/logs on "
                           "each node)") from None


def database_arg(engine: Engine) -> str:
    """What a worker passes to ``open_engine`` (``workers.database_arg``); an in-memory database is refused."""
    db = workers.database_arg(engine)
    if db is None:
        raise ClusterError("--engine ray needs a database the workers can open: give --db a file or a "
                           "postgresql:// URL")
    return db


def embed_new_posts_ray(engine: Engine, cache: EmbeddingCache, extra: Iterable[str] = (),
                        progress: Progress | None = None, *, encoder_factory: EncoderFactory,
                        threads: int | None = None, policy: str | None = None) -> int:
    """``embed_new_posts`` on Ray Data (the encoder built on the workers by ``encoder_factory``): the same
    texts, in the same batches, give the same cached vectors; return how many texts were embedded."""
    ray = import_ray()
    encode = _Encoding(ray, cache, encoder_factory, threads or local_threads())
    extras = {text_key(x): x for x in extra}
    new_extras = cache.missing(extras)
    total = len(new_extras) + count_missing(engine, cache.name, policy)
    if progress:
        progress("embed", 0, total)
    tick = (lambda n: progress("embed", n, total)) if progress else None
    # The local run stores the extra texts, then the post texts, then the contexts, each before the next is
    # looked up. A stage joins the previous one's dataset only when none of its texts can be among the
    # previous one's (then its chunks and batches are the same); otherwise it waits for them to be stored.
    stages: list[list[Iterable[dict[str, str]]]] = [[[extras]]]
    if _posts_mention(engine, new_extras):
        stages.append([])
    stages[-1].append(missing_chunks(engine, cache.name, which_texts=("text",), policy=policy))
    if _contexts_are_new_texts(engine, cache.name):
        stages.append([])
    stages[-1].append(missing_chunks(engine, cache.name, which_texts=("context",), policy=policy))
    return sum(encode.run(itertools.chain(*streams), tick) for streams in stages)


def _posts_mention(engine: Engine, keys: set[str]) -> bool:
    """Whether any post's text or context is one of these texts."""
    wanted = sorted(keys)
    with session(engine) as s:
        for chunk in batches(wanted):
            if s.execute(select(Post.id).where(or_(col(Post.text_key).in_(chunk), col(Post.context_key).in_(chunk)))
                         .limit(1)).first():
                return True
    return False


def _contexts_are_new_texts(engine: Engine, model: str) -> bool:
    """Whether a context with no vector yet is also some post's text (and so is embedded with the texts)."""
    new_contexts = (select(Post.context_key).join(Embedding, and_(col(Embedding.model) == model,
                                                                   col(Embedding.text_key) == Post.context_key),
                                                  isouter=True)
                    .where(col(Embedding.text_key).is_(None)).where(col(Post.context_key).is_not(None)))
    with session(engine) as s:
        return s.execute(select(Post.id).where(col(Post.text_key).in_(new_contexts)).limit(1)).first() is not None


class _Encoding:
    """Encodes chunks of texts on Ray Data, up to WINDOW texts per dataset, and stores the vectors."""

    def __init__(self, ray: Any, cache: EmbeddingCache, factory: EncoderFactory, threads: int) -> None:
        self.ray, self.cache, self.factory = ray, cache, factory
        self.threads = max(1, min(threads, _node_cpus(ray)))  # an actor must fit on one node
        self.actors = max(1, _cluster_cpus(ray) // self.threads)

    def run(self, chunks: Iterable[dict[str, str]], tick: Callable[[int], None] | None) -> int:
        done = 0
        window: list[tuple[list[str], list[str]]] = []
        for chunk in chunks:
            window.extend((keys, [chunk[k] for k in keys]) for keys in self.cache.batches(chunk))
            if sum(len(keys) for keys, _ in window) >= WINDOW:
                done += self._dataset(window, tick)
                window = []
        return done + (self._dataset(window, tick) if window else 0)

    def _dataset(self, batches: list[tuple[list[str], list[str]]], tick: Callable[[int], None] | None) -> int:
        import pyarrow as pa

        blocks = [pa.table({"key": keys, "text": texts}) for keys, texts in batches]  # one block = one batch
        encoded = self.ray.data.from_arrow(blocks).map_batches(
            _EncodeBatch, fn_constructor_args=(self.factory, self.cache.name, self.threads), batch_size=None,
            batch_format="numpy", num_cpus=self.threads,
            compute=self.ray.data.ActorPoolStrategy(size=max(1, min(self.actors, len(blocks)))))
        done = 0
        waiting = time.perf_counter()
        with worker_errors(self.ray):
            for batch in encoded.iter_batches(batch_size=None, batch_format="numpy"):
                self.cache.encode_seconds += time.perf_counter() - waiting  # the driver waits on the encoders
                keys = [str(k) for k in batch["key"]]
                self.cache.store_vectors(keys, np.asarray(batch["vector"], dtype=np.float32))
                waiting = time.perf_counter()
                done += len(keys)
                if tick:
                    tick(len(keys))
        return done


class _EncodeBatch:
    """A Ray Data actor: builds the encoder once, then encodes whole batches."""

    def __init__(self, factory: EncoderFactory, name: str, threads: int) -> None:
        self.encoder = factory()
        if "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(threads)
        if self.encoder.name != name:
            raise ModelError(f"the Ray workers' encoder is {self.encoder.name}, the driver's {name}: install the "
                             "same perkmatch, model and libraries on every node")

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {"key": batch["key"], "vector": self.encoder.encode([str(t) for t in batch["text"]])}


def local_threads() -> int:
    """How many threads torch's kernels use in a local run on this machine (1 without torch)."""
    try:
        import torch
    except ImportError:
        return 1
    return int(torch.get_num_threads())


def _cluster_cpus(ray: Any) -> int:
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def _node_cpus(ray: Any) -> int:
    return max([int(n["Resources"].get("CPU", 0)) for n in ray.nodes() if n.get("Alive")] or [1])
