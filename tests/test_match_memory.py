"""`match` holds its candidates compactly (``matcher.match_table``): numbers in arrays and each candidate's reasons
packed into one buffer, where it held a ``Candidate`` and a list of ``Hit`` tuples each (about 1 kB a candidate). What
it writes must be what the objects gave, byte for byte: checked here against a reference worked out the old way from
the very hits ``find_candidates`` found, on the demo (fake encoder) under limits that leave perks lost to every rule."""

import json
from collections import defaultdict
from typing import Any

import pytest
from sqlmodel import select

from matcher.assign import Candidate, assign
from matcher.demo import run_demo
from matcher.embed import EmbeddingCache
from matcher.encoder import FakeEncoder
from matcher.lost import lost_reasons
from matcher.match import run_match
from matcher.match_table import Found, Hit, pack_hits, unpack_hits
from matcher.perk_candidates import HIT
from matcher.perk_space import MatchParams
from matcher.store import Assignment, Withheld, open_engine, session


@pytest.fixture(scope="module")
def demo(tmp_path_factory):  # type: ignore[no-untyped-def]
    engine = open_engine(str(tmp_path_factory.mktemp("memory") / "demo.db"))
    cache = EmbeddingCache(engine, FakeEncoder())
    run_demo(engine, cache)
    yield engine, cache
    engine.dispose()


def _recording(monkeypatch) -> dict[str, list[Any]]:  # type: ignore[no-untyped-def]
    """What ``find_candidates`` hands ``Found``, copied as it is given (before it is packed)."""
    seen: dict[str, list[Any]] = {"added": [], "withheld": []}
    add, withhold = Found.add, Found.withhold

    def added(self: Found, user_id: str, perk_i: int, score: float, hits: list[Hit]) -> None:
        seen["added"].append((user_id, self.perks[perk_i], score, [(*h[:4], list(h[4])) for h in hits]))
        add(self, user_id, perk_i, score, hits)

    def withheld(self: Found, user_id: str, perk_i: int, score: float, why: str) -> None:
        seen["withheld"].append((user_id, self.perks[perk_i].perk_id, score, why))
        withhold(self, user_id, perk_i, score, why)

    monkeypatch.setattr(Found, "add", added)
    monkeypatch.setattr(Found, "withhold", withheld)
    return seen


def _the_old_way(seen: dict[str, list[Any]], per_user: int, per_brand: int) -> dict[str, list[tuple[Any, ...]]]:
    """The rows `match` wrote when it kept every candidate as a ``Candidate`` and its reasons as ``Hit`` lists:
    ``assign`` and ``lost_reasons`` of the candidates, the assignments' topics from the reasons, and every user's
    exclusions best first."""
    cands = [Candidate(u, p.perk_id, p.brand, score, p.quantity) for u, p, score, _ in seen["added"]]
    reasons = {(u, p.perk_id): hits for u, p, _, hits in seen["added"]}
    withheld: dict[str, list[tuple[str, float, str]]] = defaultdict(list)
    for user_id, perk_id, score, why in seen["withheld"]:
        withheld[user_id].append((perk_id, score, why))
    chosen = assign(cands, per_user=per_user, per_brand=per_brand)
    rank: dict[str, int] = defaultdict(int)
    assigned = []
    for c in chosen:
        rank[c.user_id] += 1
        assigned.append((c.user_id, c.perk_id, rank[c.user_id], c.score,
                         json.dumps([dict(zip(HIT, hit, strict=True)) for hit in reasons[(c.user_id, c.perk_id)]])))
    lost = lost_reasons(chosen, cands, per_user, per_brand)
    excluded = [(user_id, perk_id, score, why) for user_id in sorted(set(lost) | set(withheld))
                for perk_id, score, why in sorted(lost.get(user_id, []) + withheld.get(user_id, []),
                                                  key=lambda x: (-x[1], x[0]))]
    return {"assigned": assigned, "excluded": excluded}


def _stored(engine, run_id: int) -> dict[str, list[tuple[Any, ...]]]:  # type: ignore[no-untyped-def]
    with session(engine) as s:
        assigned = s.exec(select(Assignment).where(Assignment.run_id == run_id).order_by(Assignment.id)).all()
        excluded = s.exec(select(Withheld).where(Withheld.run_id == run_id).order_by(Withheld.id)).all()
        return {"assigned": [(a.user_id, a.perk_id, a.rank, a.score, a.topics) for a in assigned],
                "excluded": [(w.user_id, w.perk_id, w.score, w.reason) for w in excluded]}


WIDE = MatchParams(candidates_per_topic=60, topic_perks=30, perk_topics=30, min_relevance=0.3)  # more candidates


RULES = {"per-user limit", "brand limit", "region", "sensitive", "dates"}


@pytest.mark.parametrize("per_user, per_brand, params, topics, rules", [
    (3, 1, MatchParams(), 1, RULES), (1, 1, WIDE, 2, RULES), (2, 2, WIDE, 2, RULES | {"quantity"})])
def test_a_match_writes_what_its_candidates_as_objects_gave(demo, monkeypatch, per_user, per_brand, params, topics,  # type: ignore[no-untyped-def]
                                                            rules) -> None:
    engine, cache = demo
    seen = _recording(monkeypatch)
    summary = run_match(engine, cache, per_user=per_user, per_brand=per_brand, params=params)
    expected = _the_old_way(seen, per_user, per_brand)
    assert _stored(engine, summary.run_id) == expected
    # the case holds what could go wrong: reasons of several topics and posts, and exclusions under every rule
    # the case holds what could go wrong: assignments with reasons of several topics, exclusions under every rule
    assert max(len(json.loads(row[4])) for row in expected["assigned"]) == topics
    assert {why.split(":")[0] for *_, why in expected["excluded"]} == rules


def test_reasons_come_back_as_they_went_in() -> None:
    """Every value of a hit, read back from its bytes: floats to the last bit (a -0.0 too), keys of any size."""
    column, topics = {"a": 0, "b": 1}, ["a", "b"]
    hits: list[Hit] = [("b", -0.0, 1.2345, 0.1 + 0.2, [2**62, -1, 0]), ("a", 1e-300, -7.5, 3.0, [])]
    back = unpack_hits(pack_hits(hits, column), topics)
    assert repr(back) == repr(hits) and json.dumps(back) == json.dumps(hits)
    assert unpack_hits(pack_hits([], column), topics) == []


class _Perk:
    def __init__(self, perk_id: str, brand: str, quantity: int | None) -> None:
        self.perk_id, self.brand, self.quantity = perk_id, brand, quantity


def test_users_worked_out_again_replace_theirs_and_keep_the_others() -> None:
    """``Found.redone`` (a user who dropped out while the match computed, worked out again): the result is what
    finding them all at once gives, reasons, exclusions and assignment alike."""
    perks = [_Perk("p2", "B", 1), _Perk("p1", "A", None), _Perk("p0", "a ", 2)]
    topics = ["t0", "t1"]

    def found(users: list[str], version: int) -> Found:
        table = Found(users, perks, topics)
        for n, user_id in enumerate(users):
            for perk_i in range(3):
                score = round(1.0 + 0.1 * ((n * 3 + perk_i * 7 + version) % 5), 4)
                if (n + perk_i + version) % 4 == 0:
                    table.withhold(user_id, perk_i, score, f"region: the user is in {user_id}")
                else:
                    table.add(user_id, perk_i, score, [("t1", 0.9, score, score, [n, perk_i, version])])
        return table

    every = ["ann", "bob", "cat", "dan"]
    before, again = found(every, 0), found(["bob", "dan"], 1)
    merged = before.redone({"bob", "cat", "dan"}, again)  # cat dropped out: no longer read
    expected = Found(["ann", "bob", "dan"], perks, topics)
    for source, user_id in ((before, "ann"), (again, "bob"), (again, "dan")):
        source._copy_user(source.users.index(user_id), expected)
    assert merged.users == expected.users == ["ann", "bob", "dan"]
    for field in ("user", "perk", "score", "ends", "packed", "held_user", "held_perk", "held_score"):
        assert getattr(merged, field) == getattr(expected, field), field
    assert [merged.whys[i] for i in merged.held_why] == [expected.whys[i] for i in expected.held_why]
    assert merged[("bob", "p0")] == again[("bob", "p0")] != before[("bob", "p0")]
    assert merged[("ann", "p1")] == before[("ann", "p1")]
    with pytest.raises(KeyError):
        merged[("cat", "p1")]  # noqa: B018
    chosen = merged.assign(2, 1)
    cands = [merged.candidate(i) for i in range(len(merged))]
    assert chosen == assign(cands, per_user=2, per_brand=1)
    lost = lost_reasons(chosen, cands, 2, 1)
    held = defaultdict(list)
    for u, p, score, why in zip(merged.held_user, merged.held_perk, merged.held_score, merged.held_why, strict=True):
        held[merged.users[u]].append((perks[p].perk_id, score, merged.whys[why]))
    assert list(merged.excluded(chosen, 2, 1, None)) == [
        (u, *row) for u in sorted(set(lost) | set(held))
        for row in sorted(lost.get(u, []) + held.get(u, []), key=lambda x: (-x[1], x[0]))]


@pytest.mark.parametrize("seed", [3, 7, 11])
def test_the_first_lp_over_a_working_set_gives_the_choice_of_the_lp_over_all(monkeypatch, seed) -> None:  # type: ignore[no-untyped-def]
    """Most candidates of a scarce perk are users it fits less than its holders: the first LP is solved over each
    scarce perk's best few and grows (``assign._first``) instead of over every candidate (about 0.9 kB each in
    HiGHS: 0.9 GB at 40,000 users). The choice, ties included (scores of two decimals tie often), is the one the LP
    over every candidate at once gives."""
    import random

    import numpy as np

    import matcher.assign as assign_module

    rnd = random.Random(seed)
    cands = [Candidate(f"u{u:03d}", f"p{p:02d}", f"b{p % 9}", round(rnd.uniform(0.5, 1.5), 2), None if p % 6 == 0
                       else 1 + p % 3) for u in range(300) for p in rnd.sample(range(40), 10)]
    sizes: list[int] = []
    real = assign_module.linprog
    monkeypatch.setattr(assign_module, "linprog", lambda c, **k: sizes.append(len(c)) or real(c, **k))
    chosen = assign(cands, per_user=3, per_brand=1)
    assert max(sizes) < len(cands) / 4  # (before: one LP over them all, 3,000 here)
    every = lambda self, kept: (np.full(len(kept), -1), np.zeros(len(kept)))  # noqa: E731 (every one at once)
    monkeypatch.setattr(assign_module._Keys, "scarce", every)
    sizes.clear()
    assert assign(cands, per_user=3, per_brand=1) == chosen
    assert max(sizes) > len(cands) / 2


def test_the_changes_since_the_last_match_read_the_users_whose_assignments_changed(demo, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """`match` prints what changed since the last match: it read every perk withheld from every user in both runs
    (0.75 GB at 40,000 users, the command's peak once the match itself took less) to explain the users whose
    assignments changed. It reads theirs only now, and explains them the same."""
    import matcher.match_changes as changes

    engine, cache = demo
    read: list[set[str]] = []
    real_withheld, real_between = changes._withheld, changes._between
    monkeypatch.setattr(changes, "_withheld", lambda e, run_id, users: read.append(set(users)) or real_withheld(
        e, run_id, users))
    run_match(engine, cache)
    same = run_match(engine, cache)
    assert changes.assignment_changes(engine, same.run_id) == [] and read == []  # none changed: none read
    fewer = run_match(engine, cache, per_user=1)
    diff = changes.assignment_changes(engine, fewer.run_id)
    changed = {d["user_id"] for d in diff}
    with session(engine) as s:
        excluded = set(s.exec(select(Withheld.user_id).where(Withheld.run_id == fewer.run_id)).all())
    assert read == [changed, changed] and changed < excluded  # (before: every user's rows, of both runs)
    everyone = lambda e, run, prev, users: real_between(e, run, prev, excluded | users)  # noqa: E731
    monkeypatch.setattr(changes, "_between", everyone)
    assert changes.assignment_changes(engine, fewer.run_id) == diff
    assert any("withheld" in cause for d in diff for cause in d["causes"])  # (the rows read are used)
