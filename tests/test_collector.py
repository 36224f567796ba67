"""The cycle collector in long runs (``matcher.collector``): what a profile run and its workers hold for their whole
life is left out of the collector's full passes; what they make is still collected."""

import gc
import weakref

from matcher import collector
from matcher.engine_pool import PoolExecutor


class Node:
    """An object that can be in a reference cycle."""

    other: "Node | None" = None


def test_a_frozen_block_leaves_what_was_alive_out_and_still_collects_its_own_cycles() -> None:
    assert gc.get_freeze_count() == 0
    with collector.frozen():
        assert gc.get_freeze_count() > 1000  # the modules' objects, this test's...
        a, b = Node(), Node()
        a.other, b.other = b, a  # garbage only the cycle collector can free
        gone = weakref.ref(a)
        del a, b
        gc.collect()
        assert gone() is None
    assert gc.get_freeze_count() == 0  # given back to the collector


def test_objects_frozen_by_someone_else_stay_frozen() -> None:
    gc.freeze()
    try:
        held = gc.get_freeze_count()
        with collector.frozen():
            pass
        assert gc.get_freeze_count() == held  # not unfrozen under its owner
    finally:
        gc.unfreeze()


def test_a_pool_worker_leaves_what_it_inherited_out_of_the_collectors_passes() -> None:
    pool = PoolExecutor(1, min_users=0)
    try:
        assert pool._workers()[0].submit(gc.get_freeze_count).result(timeout=120) > 1000
    finally:
        pool.close()


def test_a_profile_run_freezes_what_it_started_with_and_gives_it_back(engine, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import matcher.profile_run as profile_run
    from matcher.embed import EmbeddingCache
    from matcher.encoder import FakeEncoder

    seen: list[int] = []
    real = profile_run._profile
    monkeypatch.setattr(profile_run, "_profile", lambda *args: (seen.append(gc.get_freeze_count()), real(*args))[1])
    profile_run.run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=1_700_000_000)
    assert seen and seen[0] > 1000 and gc.get_freeze_count() == 0
