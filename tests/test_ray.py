"""Embedding and profiling on Ray (``--engine ray``) give the same result as the local run, byte for byte.

One local Ray cluster (2 CPUs) is started for the whole file. Each test builds the same database twice from the
shipped sample data, profiles it locally and on Ray, and compares topics, assignments and the cached vectors.
"""

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from ray import cloudpickle
from sqlmodel import select
from typer.testing import CliRunner

import matcher.engine_ray as engine_ray
import matcher.ray_cluster as cluster_module
import matcher.ray_embed as ray_embed
from catalog.refresh import refresh
from matcher.assignments import match_records
from matcher.cli import app, common
from matcher.demo import AS_OF, sample_path
from matcher.embed import EmbeddingCache
from matcher.encoder import FakeEncoder, load_encoder
from matcher.engine_ray import RayExecutor, ray_cluster
from matcher.errors import ClusterError
from matcher.ingest import ingest_posts, ingest_users
from matcher.match import run_match
from matcher.profile_run import run_profile
from matcher.records import to_epoch
from matcher.sensitive_content import matter_phrases
from matcher.store import Embedding, open_engine, session
from matcher.taxonomy import load_topics, topic_sets
from matcher.topic_records import user_topics

WHEN = to_epoch(AS_OF)
runner = CliRunner()


@pytest.fixture(scope="module")
def cluster():  # type: ignore[no-untyped-def]
    with ray_cluster(num_cpus=2) as line:
        yield line


@pytest.fixture
def datasets(monkeypatch) -> list[int]:  # type: ignore[no-untyped-def]
    """The number of texts in each Ray Data dataset the embedding ran."""
    sizes: list[int] = []
    real = ray_embed._Encoding._dataset

    def spy(self, batches, tick):  # type: ignore[no-untyped-def]
        sizes.append(sum(len(keys) for keys, _ in batches))
        return real(self, batches, tick)

    monkeypatch.setattr(ray_embed._Encoding, "_dataset", spy)
    return sizes


def sample_lines() -> list[str]:
    return Path(sample_path("posts.jsonl")).read_text(encoding="utf-8").splitlines()


def setup_db(tmp_path: Path, name: str, lines: list[str] | None = None,  # type: ignore[no-untyped-def]
             users: list[str] = ()):
    posts = tmp_path / f"{name}.jsonl"
    posts.write_text("\n".join(sample_lines() if lines is None else lines) + "\n", encoding="utf-8")
    engine = open_engine(str(tmp_path / f"{name}.db"))
    ingest_users(engine, sample_path("users.jsonl"))
    if users:  # more consenting users, beside the sample's
        extra = tmp_path / f"{name}-users.jsonl"
        extra.write_text("".join(json.dumps({"user_id": u, "consent": "opted_in"}) + "\n" for u in users))
        ingest_users(engine, str(extra))
    ingest_posts(engine, str(posts))
    return engine


def vectors(engine) -> list[tuple[str, str, bytes]]:  # type: ignore[no-untyped-def]
    with session(engine) as s:
        return sorted(s.exec(select(Embedding.model, Embedding.text_key, Embedding.vector)).all())


def profile_and_match(engine, cache: EmbeddingCache, executor: RayExecutor | None) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    load_topics(engine)
    with session(engine) as s:
        known, sensitive = topic_sets(s)
        refresh(s, sample_path("catalog.yaml"), cache, topics=known, sensitive=sensitive)
    run_profile(engine, cache, as_of=WHEN, executor=executor)
    run_match(engine, cache)
    return json.dumps(user_topics(engine), sort_keys=True), json.dumps(match_records(engine), sort_keys=True)


def test_ray_gives_the_same_topics_assignments_and_vectors_as_local(cluster, datasets, tmp_path) -> None:  # type: ignore[no-untyped-def]
    local = setup_db(tmp_path, "local")
    on_ray = setup_db(tmp_path, "ray")
    expected = profile_and_match(local, EmbeddingCache(local, FakeEncoder()), None)
    assert json.loads(expected[0]) and json.loads(expected[1])
    assert profile_and_match(on_ray, EmbeddingCache(on_ray, FakeEncoder()), RayExecutor(FakeEncoder)) == expected
    assert vectors(on_ray) == vectors(local)
    assert len(datasets) == 1  # topic texts, post texts and contexts cannot meet here: one dataset, one start


class BatchSensitiveEncoder(FakeEncoder):
    """The fake encoder, moved a little by what else is in the batch: equal vectors mean equal batches."""

    def encode(self, texts: list[str]) -> np.ndarray:
        vecs = super().encode(texts)
        shift = int.from_bytes(hashlib.sha256("\0".join(texts).encode()).digest()[:2], "little") * 1e-8
        vecs = vecs + np.float32(shift)
        return (vecs / np.linalg.norm(vecs, axis=1, keepdims=True)).astype(np.float32)


cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers cannot import this test module


def test_ray_runs_embed_in_the_local_batches_and_a_rerun_only_the_new_texts(cluster, datasets, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Twice, local and on Ray, with an encoder whose vectors depend on the batch: a first run where a post's text
    is a topic's name (topic texts are embedded first, then post texts, as locally: two datasets), then, after new
    posts, one with a reply whose context is another new post's text (texts first; then that context is no
    longer new)."""
    lines = sample_lines()[:300]
    first, second = [row for row in map(json.loads, lines) if row["user_id"] in ("u-maya", "u-cyclist")][:2]
    lines.append(json.dumps(first | {"post_id": "topic-name", "text": "Travel", "context": None}))
    added = [json.dumps(first | {"post_id": "new-0", "text": "A new post: trains are better than planes."}),
             json.dumps(second | {"post_id": "new-1", "text": "Agreed, totally.",
                                  "context": "A new post: trains are better than planes."})]
    (tmp_path / "more.jsonl").write_text("\n".join(added) + "\n", encoding="utf-8")
    runs = []
    for name, executor in (("local", None), ("ray", RayExecutor(BatchSensitiveEncoder))):
        engine = setup_db(tmp_path, name, lines)
        runs.append(run_profile(engine, EmbeddingCache(engine, BatchSensitiveEncoder()), as_of=WHEN,
                                executor=executor))
        ingest_posts(engine, str(tmp_path / "more.jsonl"))
        stored = len(vectors(engine))
        runs.append(run_profile(engine, EmbeddingCache(engine, BatchSensitiveEncoder()), as_of=WHEN,
                                executor=executor))
        assert runs[-1].embedded == 2 and len(vectors(engine)) == stored + 2  # the two new texts only
        changed = len({first["user_id"], second["user_id"]})
        assert runs[-1].recomputed == changed and runs[-1].reused == runs[-2].users - changed
    topic_texts = {x for t in load_topics(engine) for x in t.view_texts()} | set(matter_phrases())  # (embedded with
    # the topics' views: ``topic_space.space_texts``)
    assert len(datasets) == 3 and datasets[0] == len(topic_texts) and datasets[2] == 2  # the contexts: none new
    counts = [(r.users, r.posts, r.embedded, r.inferred_topics, r.recomputed, r.reused) for r in runs]
    assert counts[:2] == counts[2:]
    local, on_ray = open_engine(str(tmp_path / "local.db")), open_engine(str(tmp_path / "ray.db"))
    assert vectors(on_ray) == vectors(local)
    assert json.dumps(user_topics(on_ray), sort_keys=True) == json.dumps(user_topics(local), sort_keys=True)


def test_workers_with_another_encoder_stop_the_run_with_one_clear_error(cluster, tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = setup_db(tmp_path, "other", sample_lines()[:20])
    with pytest.raises(ClusterError, match=r"^a Ray worker failed: matcher.errors.ModelError: the Ray workers' "
                       r"encoder is fake-32, the driver's fake-64: install the same perkmatch"):
        run_profile(engine, EmbeddingCache(engine, FakeEncoder()), executor=RayExecutor(partial(FakeEncoder, 32)))


@pytest.fixture
def cli(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """invoke(db, *args) with the fake encoder, in the driver and on the Ray workers."""
    monkeypatch.setattr(common, "cache", lambda eng, model: EmbeddingCache(eng, FakeEncoder()))
    monkeypatch.setattr(common, "encoder_factory", lambda model: FakeEncoder)

    def invoke(db: str, *args: str):  # type: ignore[no-untyped-def]
        if not (tmp_path / f"{db}.db").exists():
            setup_db(tmp_path, db, sample_lines()[:300]).dispose()
        return runner.invoke(app, ["--db", str(tmp_path / f"{db}.db"), *args])

    return invoke


def test_cli_profile_on_ray_matches_local(cluster, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("ray", "profile", "--engine", "ray", "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    assert re.match(r"profile run 1: \d+ users, 2\d\d posts, \d+ texts embedded, \d+ topics inferred", result.stdout)
    assert "Running on the connected Ray cluster: 1 node(s), 2 CPU(s)" in result.stderr
    assert cli("local", "profile", "--as-of", AS_OF).exit_code == 0
    assert cli("ray", "topics", "--all", "--json").stdout == cli("local", "topics", "--all", "--json").stdout


def test_cli_unreachable_ray_address_is_a_clean_error(cluster, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("ray", "profile", "--engine", "ray", "--ray-address", "127.0.0.1:1")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: --ray-address 127.0.0.1:1: no Ray cluster answers there (")
    assert "ray start --head" in result.stderr and "Traceback" not in result.output


def test_cli_ray_client_address_says_what_to_do_instead(cluster, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("ray", "profile", "--engine", "ray", "--ray-address", "ray://127.0.0.1:10001")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: --ray-address ray://127.0.0.1:10001: Ray Data does not run over Ray "
                                    "Client (ray://); run perkmatch on a node of the cluster with --ray-address auto")


def test_cli_without_ray_installed_says_how_to_install_it(cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setitem(sys.modules, "ray", None)
    result = cli("ray", "profile", "--engine", "ray")
    assert result.exit_code == 1
    assert result.stderr == "Error: --engine ray needs Ray, which is not installed: pip install 'perkmatch[ray]'\n"


def test_cli_rejects_an_unknown_engine_and_an_address_without_ray(cli) -> None:  # type: ignore[no-untyped-def]
    assert "--engine spark: use local or ray" in cli("ray", "profile", "--engine", "spark").output
    assert "--ray-address is for --engine ray" in cli("ray", "profile", "--ray-address", "auto").output


@pytest.mark.integration
def test_ray_with_the_real_model_gives_byte_identical_results(cluster, tmp_path) -> None:  # type: ignore[no-untyped-def]
    encoder = load_encoder()
    lines = sample_lines()[:600]  # a third of the sample: the model is slow on two cores
    dutch = ["Vanochtend 80 km gefietst, de nieuwe gravelbanden waren elke cent waard.",
             "Tubeless op de racefiets: drie maanden, nul lekke banden, en het rijdt soepeler.",
             "Eindelijk een tocht gereden met de wielerclub, benen zijn kapot maar het was het waard.",
             "Nieuwe cassette gemonteerd, de beklimmingen voelen nu veel lichter op de fiets."]
    lines += [json.dumps({"post_id": f"nl-{i}", "user_id": "u-nl", "text": text, "platform": "twitter",
                          "created_at": f"2025-0{i + 1}-15T08:00:00Z", "likes": 8, "replies": 2})
              for i, text in enumerate(dutch)]  # posts the model cannot read: the workers must skip them too
    local, on_ray = (setup_db(tmp_path, name, lines, users=["u-nl"]) for name in ("local", "ray"))
    expected = profile_and_match(local, EmbeddingCache(local, encoder), None)
    assert profile_and_match(on_ray, EmbeddingCache(on_ray, encoder), RayExecutor(load_encoder)) == expected
    assert vectors(on_ray) == vectors(local)
    # not even a candidate topic, on either engine: the model reads none of these posts
    unread = [{"user_id": "u-nl", "topics": []}]
    assert user_topics(local, "u-nl", candidates=True) == user_topics(on_ray, "u-nl", candidates=True) == unread


def test_the_local_engine_does_not_import_ray() -> None:
    code = ("import sys; from typer.testing import CliRunner; from matcher.cli import app; import matcher.profile_run; "
            "CliRunner().invoke(app, ['profile', '--help']); print('ray' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_sigterm_on_a_cluster_started_here_is_still_the_commands_to_handle() -> None:
    """ray.init replaced the handler: SIGTERM then exited with a C++ stack dump, or aborted (status 134),
    without the command's one line, its cleanup or its status 143."""
    code = ("import os, signal, time\nfrom matcher.engine_ray import ray_cluster\n"
            "def stop(signum, frame): raise KeyboardInterrupt\n"
            "signal.signal(signal.SIGTERM, stop)\n"
            "try:\n    with ray_cluster(num_cpus=1):\n        os.kill(os.getpid(), signal.SIGTERM)\n"
            "        time.sleep(10)\nexcept KeyboardInterrupt:\n    print('stopped', flush=True)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert (result.returncode, result.stdout, result.stderr) == (0, "stopped\n", "")


def test_sigterm_to_the_commands_process_group_reaches_the_command_alone() -> None:
    """`timeout` and a terminal's job control signal the whole process group: the local cluster's processes got the
    SIGTERM too, and Ray's core then ended the command as its raylet died (status 1, no word, the run "running")."""
    code = ("import os, signal, time, psutil\nfrom matcher.engine_ray import ray_cluster\n"
            "def stop(signum, frame): raise KeyboardInterrupt\n"
            "signal.signal(signal.SIGTERM, stop)\n"
            "try:\n    with ray_cluster(num_cpus=1):\n"
            "        kids = [p for p in psutil.Process().children(recursive=True) if p.name() in ('raylet', "
            "'gcs_server')]\n"
            "        print(len(kids), all(os.getsid(p.pid) != os.getsid(0) for p in kids), flush=True)\n"
            "        os.killpg(0, signal.SIGTERM)\n"
            "        time.sleep(10)\nexcept KeyboardInterrupt:\n"
            "    time.sleep(3)  # (Ray's core, its raylet gone, had ended the process by now)\n"
            "    print('stopped', all(not p.is_running() for p in kids), flush=True)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            start_new_session=True)  # a group of its own: the test's is not signalled
    assert (result.returncode, result.stdout) == (0, "2 True\nstopped True\n"), result.stderr


def test_the_clusters_messages_go_to_stderr_not_into_json_output(capsys) -> None:
    import ray._private.worker as worker

    cluster_module._on_stderr(worker.print_to_stdstream)(
        {"lines": ["Task submit failed. There are infinite retries remaining"], "pid": "raylet", "is_err": False},
        False)
    printed = capsys.readouterr()
    assert printed.out == "" and "infinite retries remaining" in printed.err  # before: on stdout, in colour


def test_an_address_without_a_port_is_told_to_give_one(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("ray", "profile", "--engine", "ray", "--ray-address", "127.0.0.1")
    assert (result.exit_code, result.stderr.strip()) == (1, "Error: --ray-address 127.0.0.1: give the port too, "
                                                         "HOST:6379 (the address `ray start --head` printed)")
    # before: with a cluster up, "cannot join a Ray cluster (Invalid address format: 127.0.0.1); start one ..."


def test_ctrl_c_while_a_local_cluster_starts_acts_once_it_is_up_and_stops_it_whole() -> None:
    """Ctrl-C in the middle of ray.init left the cluster's agents running for a minute, or crashed the process."""
    code = ("import os, signal, ray\nfrom matcher.engine_ray import ray_cluster\nreal, up = ray.init, []\n"
            "def init(**kwargs):\n    os.kill(os.getpid(), signal.SIGINT)\n    real(**kwargs)\n"
            "    up.append(ray.is_initialized())\n"
            "ray.init = init\ntry:\n    with ray_cluster(num_cpus=1):\n        print('ran on')\n"
            "except KeyboardInterrupt:\n    print('interrupted', up, ray.is_initialized())\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # not an inherited SIG_IGN
    assert (result.returncode, result.stdout) == (0, "interrupted [True] False\n"), result.stderr


def test_a_wrong_token_is_named_as_the_reason_at_once(cluster) -> None:  # type: ignore[no-untyped-def]
    """Ray tried 20 times (about 20 s), and the message said to start a cluster with `ray start --head`."""
    import ray

    code = ("import sys\nfrom matcher.engine_ray import ray_cluster\nfrom matcher.errors import ClusterError\n"
            "try:\n    with ray_cluster(sys.argv[1]):\n        pass\nexcept ClusterError as exc:\n    print(exc)\n")
    address = ray.get_runtime_context().gcs_address
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", code, address], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": "0" * 64})
    assert result.stdout == (f"--ray-address {address}: cannot join a Ray cluster (Authentication token is "
                             "missing or incorrect); set RAY_AUTH_MODE=token and give the cluster's token in "
                             "RAY_AUTH_TOKEN (`ray get-auth-token` on the head node)\n"), result.stderr
    assert time.perf_counter() - started < 15


def test_ctrl_c_while_the_fork_server_imports_leaves_it_to_the_command() -> None:
    """A terminal's Ctrl-C reaches every process of the command: the pool's fork server, importing its modules
    (about a second) before it ignores Ctrl-C itself, printed a traceback under the command's one line and died."""
    code = ("import os, signal, time\nimport multiprocessing.forkserver as fs\n"
            "from matcher.engine_pool import start_fork_server, worker_context\n"
            "worker_context()\nstart_fork_server()\npid = fs._forkserver._forkserver_pid\n"
            "os.kill(pid, signal.SIGINT)\ntime.sleep(3)\nprint(os.waitpid(pid, os.WNOHANG))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (result.stdout, result.stderr) == ("(0, 0)\n", "")


def test_a_sqlite_file_a_ray_node_lacks_is_an_error_not_an_empty_database(cluster, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A node of another machine opened the path as a new, empty database: its users were profiled from no posts."""
    from sqlalchemy import create_engine

    from matcher.classify import ClassifyParams
    from matcher.profile_types import ProfileParams
    from matcher.topic_space import TopicSpace

    engine = setup_db(tmp_path, "here", sample_lines()[:20])
    cache = EmbeddingCache(engine, FakeEncoder())
    space = TopicSpace.build(load_topics(engine), cache)
    elsewhere = create_engine(f"sqlite:///{tmp_path / 'elsewhere.db'}")  # the path as a node without the file sees it
    with pytest.raises(ClusterError, match=r"^a Ray worker failed: matcher.errors.ClusterError: --db .*elsewhere.db: "
                       r"this SQLite file is not on the Ray node .*: give --db a postgresql:// URL"):
        list(RayExecutor(FakeEncoder).fit_posts(elsewhere, cache, space, [(1, ["u-maya"])], ClassifyParams(),
                                                ProfileParams(), WHEN))
    assert not (tmp_path / "elsewhere.db").exists()


class NodesOf:
    """What ``_Encoding`` asks of Ray: the CPUs of each live node and of the cluster."""

    def __init__(self, *cpus: int) -> None:
        self.cpus = cpus

    def nodes(self) -> list[dict]:
        gone = {"Alive": False, "Resources": {"CPU": 64}}  # a dead node's CPUs are no one's
        return [{"Alive": True, "Resources": {"CPU": n}} for n in self.cpus] + [gone]

    def cluster_resources(self) -> dict[str, float]:
        return {"CPU": float(sum(self.cpus))}


def test_encoder_actors_never_ask_for_more_cpus_than_one_node_has(fake_cache) -> None:  # type: ignore[no-untyped-def]
    """An actor asking for 8 CPUs on a cluster of 2-CPU nodes would never be scheduled: the run would wait forever."""
    encoding = ray_embed._Encoding(NodesOf(2, 2), fake_cache, FakeEncoder, threads=8)
    assert (encoding.threads, encoding.actors) == (2, 2)
    assert (ray_embed._Encoding(NodesOf(4), fake_cache, FakeEncoder, threads=1).actors) == 4


def test_each_window_of_texts_is_encoded_once_and_no_empty_dataset_is_run(fake_cache, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Texts are sent in datasets of at least WINDOW texts, each text in one dataset only; a run whose last window
    is full starts no empty dataset."""
    sizes: list[int] = []

    def dataset(self, batches, tick) -> int:  # type: ignore[no-untyped-def]
        sizes.append(sum(len(keys) for keys, _ in batches))
        return sizes[-1]

    monkeypatch.setattr(ray_embed, "WINDOW", 4)
    monkeypatch.setattr(ray_embed._Encoding, "_dataset", dataset)
    encoding = ray_embed._Encoding(NodesOf(2), fake_cache, FakeEncoder, threads=1)
    chunks = [{f"k{i}{j}": f"text {i} {j}" for j in range(2)} for i in range(3)]
    assert (encoding.run(chunks, None), sizes) == (6, [4, 2])
    sizes.clear()
    assert (encoding.run(chunks[:2], None), sizes) == (4, [4])


def test_a_post_text_or_context_among_the_new_texts_is_found(engine, write) -> None:  # type: ignore[no-untyped-def]
    """Texts a post also has (as its text or as its context) are embedded before the posts' texts are looked up, in a
    dataset of their own; contexts that are also new post texts wait for those to be stored."""
    from catalog.refresh import text_key

    ingest_users(engine, write("u.jsonl", [{"user_id": "ann", "consent": "opted_in"}]))
    rows = [{"post_id": "p1", "user_id": "ann", "text": "Agreed.", "context": "Trains beat planes.",
             "created_at": "2025-01-02T08:00:00Z"}]
    ingest_posts(engine, write("p.jsonl", rows))
    assert ray_embed._posts_mention(engine, {text_key("Trains beat planes.")})  # a context only
    assert ray_embed._posts_mention(engine, {text_key("Agreed.")})
    assert not ray_embed._posts_mention(engine, {text_key("Travel")})
    assert not ray_embed._contexts_are_new_texts(engine, "fake-64")
    later = rows[0] | {"post_id": "p2", "text": "Trains beat planes.", "context": None}
    ingest_posts(engine, write("q.jsonl", [later]))
    assert ray_embed._contexts_are_new_texts(engine, "fake-64")  # the context is now also a post's text
    cache = EmbeddingCache(engine, FakeEncoder())
    cache.store_vectors([text_key("Trains beat planes.")], FakeEncoder().encode(["Trains beat planes."]))
    assert not ray_embed._contexts_are_new_texts(engine, cache.name)  # stored: no longer new


def test_a_database_url_is_opened_on_the_node_as_it_is(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Only a SQLite path is checked on the node: a postgresql:// URL is for the worker to open."""
    url = "postgresql://db.example/perks"
    assert engine_ray._on_node(lambda db, *args: (db, *args), url, 1, 2) == (url, 1, 2)
    path = tmp_path / "here.db"
    path.write_bytes(b"")
    assert engine_ray._on_node(lambda db: db, str(path)) == str(path)


def test_a_worker_failure_names_the_last_error_raised_there() -> None:
    """Ray's text of a failure holds the whole chain: the one that ended the task is the last."""
    import ray

    text = ("ray::_on_node() (pid=1, ip=10.0.0.2)\n  File \"x.py\", line 1, in f\nKeyError: 'u-1'\n\nDuring handling "
            "of the above exception, another exception occurred:\n\nmatcher.errors.ModelError: the model is gone")
    with pytest.raises(ClusterError, match=r"^a Ray worker failed: matcher.errors.ModelError: the model is gone \("):
        with cluster_module.worker_errors(ray):
            raise ray.exceptions.RayError(text)


def test_an_in_memory_database_is_refused_for_ray() -> None:
    """Workers cannot open the driver's in-memory database: said at once, not an empty database on each worker."""
    from sqlalchemy import create_engine

    with pytest.raises(ClusterError, match=r"^--engine ray needs a database the workers can open"):
        engine_ray.database_arg(create_engine("sqlite://"))


def test_the_executor_embeds_under_the_runs_consent_policy(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The texts embedded on Ray are those of the users a run under its consent policy profiles, as locally."""
    calls: list[dict] = []
    monkeypatch.setattr(engine_ray, "embed_new_posts_ray", lambda *args, **kwargs: calls.append(kwargs) or 0)
    RayExecutor(FakeEncoder, threads=3).embed(None, None, [], None, policy="opt-out")  # type: ignore[arg-type]
    assert calls == [{"encoder_factory": FakeEncoder, "threads": 3, "policy": "opt-out"}]


def test_attaching_tries_once_and_leaves_the_environment_as_it_was(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Ray's 20 tries (minutes where something else answers) become one, unless the user set the wait themselves."""
    name = "RAY_gcs_server_port_wait_time_s"
    monkeypatch.delenv(name, raising=False)
    with cluster_module._one_attempt():
        assert os.environ[name] == "1"
    assert name not in os.environ
    monkeypatch.setenv(name, "30")
    with cluster_module._one_attempt():
        assert os.environ[name] == "30"
    assert os.environ[name] == "30"


def test_an_address_is_checked_for_a_port_and_an_ipv6_one_is_reached() -> None:
    """A host:port address (IPv6 in brackets) is tried; one without a port is told to give one, not tried."""
    import socket

    with socket.create_server(("::1", 0), family=socket.AF_INET6) as server:
        cluster_module._check_reachable(f"[::1]:{server.getsockname()[1]}", "--ray-address x")  # reached: no error
    for address in ("::1:6379", "head:ray", ":6379"):
        with pytest.raises(ClusterError, match=r"^--ray-address x: give the port too, HOST:6379"):
            cluster_module._check_reachable(address, "--ray-address x")


def test_a_local_cluster_starts_with_the_cpus_asked_for(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """``ray_cluster(num_cpus=...)`` starts a local cluster of that many CPUs, whatever the machine has."""
    import ray

    started: list[dict] = []

    def init(ray, kwargs, address, where) -> None:  # type: ignore[no-untyped-def]
        started.append(kwargs)
        raise ClusterError("stop here")

    monkeypatch.setattr(ray, "is_initialized", lambda: False)  # (the module's cluster may be up)
    monkeypatch.setattr(cluster_module, "_init", init)
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    with pytest.raises(ClusterError, match="stop here"), ray_cluster(num_cpus=3):
        pass
    assert (started[0]["address"], started[0]["num_cpus"]) == ("local", 3)


def test_a_local_cluster_that_cannot_start_is_one_error_naming_the_cause(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The reason is the first sentence of the innermost cause; what was started is shut down."""
    import ray

    stopped: list[bool] = []

    def init(**kwargs) -> None:  # type: ignore[no-untyped-def]
        raise RuntimeError("ray.init failed") from OSError("No space left on device. See /tmp/ray for the logs")

    monkeypatch.setattr(ray, "init", init)
    monkeypatch.setattr(ray, "shutdown", lambda: stopped.append(True))  # (not the module's cluster)
    with pytest.raises(ClusterError) as raised:
        cluster_module._init(ray, {}, None, "")
    assert str(raised.value) == ("--engine ray: cannot start a local Ray cluster (No space left on device); start one "
                                 "with `ray start --head` and give --ray-address auto, or leave --engine ray out: the "
                                 "local engine gives the same result")
    assert stopped == [True]


def test_a_cluster_asking_for_a_token_is_told_how_to_give_one(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Attaching fails naming a token, though not as Ray's AuthenticationError: the fix is the token, not a new
    cluster."""
    import ray

    def init(**kwargs) -> None:  # type: ignore[no-untyped-def]
        raise ConnectionError("The cluster requires token authentication. Set RAY_AUTH_TOKEN")

    monkeypatch.setattr(ray, "init", init)
    monkeypatch.setattr(ray, "shutdown", lambda: None)  # (not the module's cluster)
    with pytest.raises(ClusterError) as raised:
        cluster_module._init(ray, {}, "10.0.0.1:6379", "--ray-address 10.0.0.1:6379")
    assert str(raised.value) == ("--ray-address 10.0.0.1:6379: cannot join a Ray cluster (The cluster requires token "
                                 "authentication); set RAY_AUTH_MODE=token and give the cluster's token in "
                                 "RAY_AUTH_TOKEN (`ray get-auth-token` on the head node)")


def test_ray_data_prints_no_progress_bars_of_its_own() -> None:
    """perkmatch's progress bars are the only ones: Ray Data's drew over them on stderr."""
    from ray.data import DataContext

    cluster_module._quiet()
    context = DataContext.get_current()
    assert (context.enable_progress_bars, context.print_on_execution_start) == (False, False)


def test_the_embedding_progress_counts_the_extra_texts_too(engine, write, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The progress bar's total counts the topic and perk texts to embed as well as the posts': it ends full."""

    class Encoding:  # the texts each stage sends to Ray Data, counted
        def __init__(self, *args: object) -> None:
            pass

        def run(self, chunks, tick) -> int:  # type: ignore[no-untyped-def]
            return sum(len(chunk) for chunk in chunks)

    monkeypatch.setattr(ray_embed, "import_ray", lambda: None)
    monkeypatch.setattr(ray_embed, "_Encoding", Encoding)
    ingest_users(engine, write("u.jsonl", [{"user_id": "ann", "consent": "opted_in"}]))
    ingest_posts(engine, write("p.jsonl", [{"post_id": "p1", "user_id": "ann", "text": "Trains beat planes.",
                                            "created_at": "2025-01-02T08:00:00Z"}]))
    said: list[tuple] = []
    embedded = ray_embed.embed_new_posts_ray(engine, EmbeddingCache(engine, FakeEncoder()), ["Travel", "Coffee"],
                                             lambda *args: said.append(args), encoder_factory=FakeEncoder, threads=1)
    assert (embedded, said) == (3, [("embed", 0, 3)])


def test_the_commands_sigterm_handler_is_back_once_ray_init_returns() -> None:
    """Whatever ray.init left handling SIGTERM (Ray's C++ core installed its own), the command's handler is back."""
    import ray

    def mine(signum, frame) -> None:  # type: ignore[no-untyped-def]
        pass

    previous = signal.signal(signal.SIGTERM, mine)
    try:
        with cluster_module._sigterm_kept(ray):
            signal.signal(signal.SIGTERM, signal.SIG_DFL)  # as Ray's core did
        assert signal.getsignal(signal.SIGTERM) is mine
    finally:
        signal.signal(signal.SIGTERM, previous)
