"""The pool of worker processes (``matcher.engine_pool``): each user the topic fit read is computed by the worker that
read them, each topic space goes to each worker once, and a job split between workers comes back as one task's."""

import concurrent.futures

import numpy as np

import matcher.profile_run as profile_run
from matcher.embed import EmbeddingCache
from matcher.encoder import FakeEncoder
from matcher.engine_local import LocalExecutor
from matcher.engine_pool import HeldUser, PoolExecutor
from matcher.profile_chunk import ReadUser
from matcher.profile_run import run_profile
from tests.test_incremental import WHEN, sample_lines, setup_db, snapshot


def _read(n: int) -> ReadUser:
    """A user read in this process, with n posts of which the first is a repeat."""
    own = np.arange(n) > 0
    return ReadUser(None, ~own, own, np.full((n, 2), n, np.float32), np.full((n, 3), n, np.float32), b"posts")


def test_a_pool_computes_each_user_the_fit_read_on_the_worker_that_read_them(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The users a new fit read stay on their worker: no task sends one back (before, each chunk's posts, vectors and
    closeness went to the run's process and back again, about a third of the workers' time at 20,000 posts), and
    the profiles are the same bytes as one process's."""
    lines = sample_lines()
    alone = setup_db(tmp_path, "alone", lines)
    run_profile(alone, EmbeddingCache(alone, FakeEncoder()), as_of=WHEN, executor=LocalExecutor())
    pooled = setup_db(tmp_path, "pooled", lines)
    monkeypatch.setattr(profile_run, "USER_CHUNK", 5)  # chunks for both workers, read and computed in other chunks
    pool = PoolExecutor(2, min_users=0)
    held: dict[str, int] = {}
    parts: list[tuple[int, list[str], dict[str, ReadUser]]] = []
    split = pool._parts

    def watched(user_ids: list[str], read: dict[str, ReadUser]) -> list[tuple[int, list[str], dict[str, ReadUser]]]:
        held.update({u: r.holder for u, r in read.items() if isinstance(r, HeldUser)})
        got = split(user_ids, read)
        parts.extend(got)
        return got

    pool._parts = watched  # type: ignore[method-assign]
    summary = run_profile(pooled, EmbeddingCache(pooled, FakeEncoder()), as_of=WHEN, executor=pool)
    assert summary.recomputed == summary.users > 0 and summary.topic_vectors_run == summary.run_id  # a new fit
    assert set(held.values()) == {0, 1}  # the fit's users read on both workers
    assert all(not sent for _, _, sent in parts)  # none of them sent back
    assert all(held[u] == worker for worker, users, _ in parts for u in users if u in held)
    assert snapshot(pooled) == snapshot(alone)


def test_a_job_is_split_by_the_worker_holding_its_users_and_the_rest_go_to_the_next() -> None:
    pool = PoolExecutor(2)
    read = {"a": HeldUser(1, np.zeros((1, 2), np.float32), np.zeros((1, 3), np.float32)), "b": _read(2),
            "c": HeldUser(0, np.zeros((1, 2), np.float32), np.zeros((1, 3), np.float32)), "x": _read(1)}
    parts = pool._parts(["a", "b", "c", "d"], read)
    assert [(worker, users) for worker, users, _ in parts] == [(0, ["b", "c", "d"]), (1, ["a"])]
    assert [sorted(sent) for _, _, sent in parts] == [["b"], []]  # only what this process read goes with a task
    assert list(read) == ["x"]  # the job's users are taken: each is computed once, and their memory goes
    nobody_held = pool._parts(["e", "f"], {})
    assert [(worker, users) for worker, users, _ in nobody_held] == [(1, ["e", "f"])]  # the workers take turns


def test_what_the_fit_reads_of_a_user_is_their_own_words() -> None:
    user = _read(3)
    vectors, closeness = user.fit_rows()
    assert vectors.shape == (2, 2) and closeness.shape == (2, 3)  # the repeat left out
    held = HeldUser(0, vectors, closeness)
    assert held.fit_rows()[0] is vectors and held.fit_rows()[1] is closeness  # a worker sent these rows only


def test_a_split_job_comes_back_in_its_order_of_users_as_one_task_would_give_it() -> None:
    from matcher.engine_pool import _merged

    first: concurrent.futures.Future = concurrent.futures.Future()
    second: concurrent.futures.Future = concurrent.futures.Future()
    first.set_result(({"c": [], "a": ["A"]}, 3, {"c": "dc", "a": "da"}))
    second.set_result(({"b": ["B"]}, 2, {"b": "db"}))
    results, posts, digests = _merged((["a", "b", "c"], [first, second]))
    assert list(results) == ["a", "b", "c"] and results["a"] == ["A"] and posts == 5
    assert list(digests) == ["a", "b", "c"]


def test_each_worker_is_given_a_topic_space_with_its_first_task_only() -> None:
    pool = PoolExecutor(2)
    fit, adapted = object(), object()
    assert pool._space(fit, 0) == (0, fit)  # type: ignore[arg-type]
    assert pool._space(fit, 0) == (0, None)  # type: ignore[arg-type]
    assert pool._space(fit, 1) == (0, fit)  # type: ignore[arg-type]
    assert pool._space(adapted, 1) == (1, adapted)  # type: ignore[arg-type]
    assert pool._space(adapted, 1) == (1, None)  # type: ignore[arg-type]
    pool.close()  # new workers know nothing of the old ones' spaces
    assert pool._space(adapted, 1) == (0, adapted)  # type: ignore[arg-type]
