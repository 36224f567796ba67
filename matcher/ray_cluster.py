"""A Ray cluster for ``--engine ray``: attach to one (``--ray-address``, $RAY_ADDRESS, ``auto``) or start a local one,
quietly and with every failure one ClusterError naming the fix (``ray_cluster``); what the cluster holds
(``cluster_cpus``, ``node_cpus``), and a worker's failure in one line (``worker_errors``).

Ray is imported only through ``import_ray``, and only when this engine is used.
"""

import contextlib
import logging
import os
import re
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

from matcher.embed import deferred_interrupt
from matcher.errors import ClusterError

LOCAL_OBJECT_STORE = 512 * 1024**2  # a local cluster's object store: batches of texts and vectors are small
INSTALL = "pip install 'perkmatch[ray]'"


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
    address, where = _address(address)
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


def _address(address: str | None) -> tuple[str | None, str]:
    """The cluster's address (the one given, else $RAY_ADDRESS; None: a local cluster), and where it was given, for
    messages; an address that cannot be a cluster's, or where nothing answers, is refused."""
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
    return address, where


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
    return f"Running on {what}: {nodes} node(s), {cluster_cpus(ray)} CPU(s)"


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


def cluster_cpus(ray: Any) -> int:
    """The CPUs of the cluster's live nodes (1 at least)."""
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def node_cpus(ray: Any) -> int:
    """The CPUs of the cluster's largest live node (1 at least): an actor must fit on one node."""
    return max([int(n["Resources"].get("CPU", 0)) for n in ray.nodes() if n.get("Alive")] or [1])
