"""A user who opted in to a sensitive topic sees their posts about it as evidence, even where the model places them
far from it: each sensitive matter is linked to the sensitive topics about it (``matcher.matter_links``), and a post
whose every matter is linked to one the user opted in to is not veiled (``sensitive_content.veiled_matters``)."""

import functools
import json

import numpy as np
import pytest
from sqlalchemy import text

import matcher.topic_space as topic_space
from matcher.classify import ClassifyParams
from matcher.embed import EmbeddingCache
from matcher.encoder import FakeEncoder
from matcher.explain import explain_topic
from matcher.ingest import ingest
from matcher.matter_links import LinkParams, link_table, matter_links
from matcher.profile_run import run_profile
from matcher.profile_types import ProfileParams
from matcher.profiles import build_profile
from matcher.records import to_epoch
from matcher.sensitive_content import (
    matter_linkable,
    matter_list,
    matter_names,
    matter_phrases,
    matter_starts,
    named,
    touches,
    veiled_matters,
)
from matcher.store import open_engine
from matcher.taxonomy import load_topics, read_taxonomy, store_taxonomy
from matcher.topic_records import user_topics
from matcher.topic_tree import TopicInfo
from tests.test_s38_audit import SAM_POSTS, _user

P = ProfileParams()
C = ClassifyParams()
T0, DAY = 1_700_000_000, 86_400


def bit(*matters: str) -> int:
    return sum(1 << matter_list().index(m) for m in matters)


MIND, GRIEF, FAITH = bit("mental health"), bit("grief"), bit("religion and belief")


# --- which matters a text touches ------------------------------------------------------------------------------------

def test_a_text_says_which_matters_it_touches_by_name_word_and_similarity() -> None:
    """Bits, one a matter: a name touches its own matter; a word touches its matter and every matter the text is
    ``matter_with_word`` similar to (a post near mental health saying "meds" is about both, not medication alone); a
    text ``matter_alone`` similar to a matter's phrases touches that one."""
    assert named(matter_names().which("my therapist said to go, after my dad passed away")) == ["mental health",
                                                                                                 "grief"]
    phrases = np.zeros((len(matter_phrases()), 3))
    phrases[:, 2] = 1.0  # every phrase far from the texts ...
    mind = slice(*matter_starts()[2:4])
    phrases[mind] = [1.0, 0.0, 0.0]  # ... but mental health's
    vecs = np.array([[0.6, 0.8, 0.0], [0.4, np.sqrt(0.84), 0.0], [0.0, 1.0, 0.0], [0.4, np.sqrt(0.84), 0.0]])
    texts = ["a long day", "my meds ran out", "I had a miscarriage", "a long day"]
    got = touches(texts, vecs.astype(np.float32), phrases.astype(np.float32), C)
    assert [named(int(b)) for b in got] == [["mental health"], ["mental health", "medication and drugs"],
                                            ["pregnancy and fertility"], []]
    assert got.dtype == np.uint32


# --- the links -------------------------------------------------------------------------------------------------------

DIM = 32


def _space(mental: list[int] | None = None) -> tuple[list[TopicInfo], np.ndarray, np.ndarray]:
    """Topics and phrase vectors with the right answers in plain sight: each matter's phrases point one way (its index
    among the matters), and each topic is about the matters it points to. ``mental``: the directions of mental
    health's 11 phrases (default its own)."""
    e = np.eye(DIM)
    m = {name: i for i, name in enumerate(matter_list())}
    phrases = np.concatenate([np.tile(e[i], (n, 1)) for i, n in enumerate(np.diff(
        np.append(matter_starts(), len(matter_phrases()))))])
    if mental is not None:
        start = matter_starts()[m["mental health"]]
        phrases[start:start + len(mental)] = e[mental]

    def unit(v: np.ndarray) -> np.ndarray:
        return v / np.linalg.norm(v)

    topics = [("faith", None, True, e[m["religion and belief"]]),
              ("family", None, False, e[m["pregnancy and fertility"]]),  # not sensitive: pregnancy is its
              ("health", None, True, unit(e[m["physical health"]] + e[m["mental health"]] + e[20])),
              ("health.mind", "health", True, e[m["mental health"]]),
              ("politics", None, True,
               unit(0.8 * e[m["politics"]] + 0.6 * e[m["identity, immigration and disability"]]))]
    infos = [TopicInfo(t, t.title(), parent, "", sensitive) for t, parent, sensitive, _ in topics]
    return infos, np.array([v for *_, v in topics]), phrases


def _links(topics: list[TopicInfo], vectors: np.ndarray, phrases: np.ndarray) -> dict[str, list[str]]:
    links = matter_links(topics, vectors, vectors, np.arange(len(topics)), phrases, C)
    return {m: ids for m, ids in link_table(topics, links).items() if ids}


def test_a_matter_is_linked_to_the_sensitive_topic_about_it_and_to_nothing_else() -> None:
    """Religion to Faith; physical health to Health; mental health to Health's Mind, which covers all of it (a user
    opted in to Mind, or to Health above it, sees it). Pregnancy is nearest Family, not sensitive: linked to nothing,
    though Health is the nearest sensitive topic. Identity is nearest Politics, but Politics is about politics: not
    linked (a user opted in to Politics does not see an immigration status). The matters no topic is near: none."""
    topics, vectors, phrases = _space()
    assert _links(topics, vectors, phrases) == {"physical health": ["health"], "mental health": ["health.mind"],
                                                "religion and belief": ["faith"], "politics": ["politics"]}


def test_a_matter_the_file_marks_linked_false_is_linked_to_nothing_however_near_a_topic(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Crime, violence and abuse is never linked (``linked: false`` in the file): on the shipped taxonomy the model
    linked it to Crime and Justice, a news topic under Politics, so an opt-in to Politics showed a post about the
    user's abusive parents (helper-148's review). The same space with religion so marked: religion is not linked."""
    import matcher.matter_links as links_module

    assert matter_linkable()[matter_list().index("crime, violence and abuse")] is False
    assert sum(matter_linkable()) == len(matter_list()) - 1
    topics, vectors, phrases = _space()
    faith = matter_list().index("religion and belief")
    monkeypatch.setattr(links_module, "matter_linkable", lambda: tuple(i != faith for i in range(len(matter_list()))))
    assert _links(topics, vectors, phrases) == {"physical health": ["health"], "mental health": ["health.mind"],
                                                "politics": ["politics"]}


def test_a_topic_under_another_stands_for_a_matter_only_when_it_covers_most_of_what_the_other_does() -> None:
    """Mind covers 8 of mental health's 11 phrases (the other 3 point where only Health does): less than 3 in 4 of
    what Health covers (all 11), so Health stands for it, not Mind (an opt-in to Mind alone would show posts Mind is
    not about). Covering 9 of them, Mind does; covering 6, it covers too little to be linked at all."""
    mind = matter_list().index("mental health")
    for at, linked in ((8, "health"), (9, "health.mind"), (6, "health")):
        topics, vectors, phrases = _space([mind] * at + [20] * (11 - at))
        assert _links(topics, vectors, phrases)["mental health"] == [linked], at


def test_the_links_are_the_same_bit_for_bit_and_a_taxonomy_without_sensitive_topics_has_none() -> None:
    topics, vectors, phrases = _space()
    first = matter_links(topics, vectors, vectors, np.arange(5), phrases, C)
    again = matter_links(topics, vectors.astype(np.float32), vectors.astype(np.float32), np.arange(5),
                         phrases.astype(np.float32), C)
    assert first.tobytes() == again.tobytes() and first.dtype == np.uint32
    plain = [TopicInfo(t.topic_id, t.name, t.parent_id, "", False) for t in topics]
    assert not matter_links(plain, vectors, vectors, np.arange(5), phrases, C).any()
    assert not _links(topics, vectors, np.tile(np.eye(DIM)[30], (len(phrases), 1)))  # phrases near no topic: none
    strict = matter_links(topics, vectors, vectors, np.arange(5), phrases, C, LinkParams(placed=1.01))
    assert not strict.any()


# --- the veil --------------------------------------------------------------------------------------------------------

def test_a_post_is_shown_when_every_matter_it_touches_is_linked_to_a_topic_the_user_opted_in_to() -> None:
    """Topics: Running, Health (sensitive, linked to mental health) and Faith (sensitive, linked to religion). A post
    touching mental health is shown to a user opted in to Health; not to one opted in to Faith, nor to one opted in to
    nothing. A post touching mental health and grief (linked to nothing) is shown to none of them."""
    touchy = np.array([MIND, MIND | GRIEF, 0, FAITH], dtype=np.uint32)
    members = np.array([[0.9, 0.0, 0.0]] * 4)
    links = np.array([0, MIND, FAITH], dtype=np.uint32)
    opted = {"health": [False, True, False], "faith": [False, False, True], "none": [False, False, False],
             "both": [False, True, True]}
    got = {who: veiled_matters(touchy, members, np.array(o), P, links).tolist() for who, o in opted.items()}
    assert got["health"] == [0, GRIEF, 0, FAITH] and got["faith"] == [MIND, MIND | GRIEF, 0, 0]
    assert got["none"] == touchy.tolist() and got["both"] == [0, GRIEF, 0, 0]


def test_a_topic_counts_its_posts_not_shown_and_never_names_the_matters_they_touch() -> None:
    """Which matters a user's posts touch is itself sensitive: a topic says how many of its posts are not shown, never
    which matters keep them so (as ``covered_by`` never names a sensitive topic the user has not opted in to)."""
    members = np.array([[0.9]] * 6, dtype=np.float32)
    touchy = np.array([MIND | GRIEF, GRIEF, 0, 0, 0, 0], dtype=np.uint32)
    (kept,) = build_profile(_user(6), members, ["running"], [-1], np.array([True]), T0 + 30 * DAY, P, touchy=touchy)
    assert kept.details["not_shown"] == 2
    assert not any(name in json.dumps(kept.details) for name in ("mental health", "grief"))
    (plain,) = build_profile(_user(6), members, ["running"], [-1], np.array([True]), T0 + 30 * DAY, P,
                             touchy=np.zeros(6, dtype=np.uint32))
    assert "not_shown" not in plain.details  # (only when there are)


def test_the_links_enter_the_runs_basis() -> None:
    from matcher.incremental import run_basis

    topics, _, _ = _space()
    one, other = np.array([0, 0, MIND, 0, 0], np.uint32), np.array([0, 0, MIND | GRIEF, 0, 0], np.uint32)
    assert run_basis(topics, "m", "opt-in", 0, C, links=one) != run_basis(topics, "m", "opt-in", 0, C, links=other)
    assert run_basis(topics, "m", "opt-in", 0, C, links=one) == run_basis(topics, "m", "opt-in", 0, C, links=one)


# --- through a profile run, `explain` and a withdrawal (the fake encoder; the links given) ---------------------------

TAXONOMY = [{"topic_id": "running", "name": "Running", "description": "running tempo miles marathon"},
            {"topic_id": "health", "name": "Health", "description": "doctor clinic medicine", "sensitive": True},
            {"topic_id": "faith", "name": "Faith", "description": "church prayer scripture", "sensitive": True}]
WORDS = "alpha bravo charlie delta echo foxtrot golf hotel india juliet".split()
OPTED = {"ann": ["health"], "bob": [], "cat": ["faith"]}


def _posts(user: str) -> list[dict]:
    texts = [f"running tempo miles {WORDS[i]} {WORDS[i + 1]} {user}" for i in range(8)]
    texts += [f"running tempo miles today, my therapist says it helps {user}",  # mental health (a name)
              f"running tempo miles for my dad who passed away, my therapist says it helps {user}"]  # and grief
    return [{"post_id": f"{user}-{i}", "user_id": user, "text": t, "created_at": 1_735_732_800 + i * 3 * DAY,
             "likes": 5, "replies": 1} for i, t in enumerate(texts)]


@pytest.fixture
def linked_world(tmp_path, write, monkeypatch):  # type: ignore[no-untyped-def]
    """ann opted in to Health, bob to nothing, cat to Faith; each writes ten posts about running, two of which name
    their therapist (mental health), one also their dad who passed away (grief). Health is linked to mental health,
    Faith to religion (given: the fake encoder's links would be noise). Profiled."""
    links = {"health": MIND, "faith": FAITH}
    monkeypatch.setattr(topic_space, "matter_links", lambda topics, *args: np.array(
        [links.get(t.topic_id, 0) for t in topics], dtype=np.uint32))
    engine = open_engine(str(tmp_path / "links.db"))
    cache = EmbeddingCache(engine, FakeEncoder())
    users = [{"user_id": u, "consent": "opted_in", "sensitive_opt_in": o} for u, o in OPTED.items()]
    store_taxonomy(engine, read_taxonomy(write("taxonomy.yaml", TAXONOMY)))
    ingest(engine, posts=write("posts.jsonl", [p for u in OPTED for p in _posts(u)]), users=write("users.jsonl", users))
    run_profile(engine, cache, as_of=to_epoch("2025-03-01"))
    return engine, cache


def _shown(engine, user: str) -> tuple[set[str], int]:  # type: ignore[no-untyped-def]
    """The user's posts among Running's evidence, and how many of its posts are not shown."""
    (record,) = [r for r in user_topics(engine) if r["user_id"] == user]
    (running,) = [t for t in record["topics"] if t["topic_id"] == "running"]
    said = explain_topic(engine, user, "running")
    assert {e["post_id"] for e in said["evidence"]} <= {e["post_id"] for e in running["evidence"]}
    return {e["post_id"] for e in running["evidence"]}, said["details"].get("not_shown", 0)


def test_an_opt_in_to_a_linked_topic_shows_the_posts_touching_its_matter(linked_world) -> None:  # type: ignore[no-untyped-def]
    """ann (Health) sees her therapist post as Running's evidence; the one also about her dad's death stays veiled
    (grief is linked to nothing). bob (no opt-in) and cat (Faith, unrelated) see neither. `explain` says how many
    are not shown."""
    engine, _ = linked_world
    ann, bob, cat = (_shown(engine, u) for u in OPTED)
    assert "ann-8" in ann[0] and "ann-9" not in ann[0] and ann[1] == 1
    assert {"bob-8", "bob-9"}.isdisjoint(bob[0]) and bob[1] == 2
    assert {"cat-8", "cat-9"}.isdisjoint(cat[0]) and cat[1] == 2
    with engine.connect() as conn:
        (params,) = conn.execute(text("SELECT params FROM runs WHERE kind = 'profile'")).scalars()
    assert json.loads(params)["matter_links"] == {"mental health": ["health"], "religion and belief": ["faith"]}


def test_withdrawing_the_opt_in_veils_the_post_again(linked_world, write) -> None:  # type: ignore[no-untyped-def]
    """`ingest` works the stored run out again for ann without her opt-in (``rework.rework_withdrawn``): her
    therapist post is veiled again, as bob's is. The running perk a match gave her, which may quote it (its evidence
    is kept with the assignment), goes: Running is not above Health, but its evidence rested on the opt-in (before,
    only an assignment citing a topic above the withdrawn one went). bob's stays."""
    from catalog.refresh import refresh
    from matcher.match import run_match
    from matcher.rework import rework_withdrawn
    from matcher.store import session
    from matcher.taxonomy import topic_sets

    engine, cache = linked_world
    perk = {"perk_id": "stride", "brand": "Stride", "title": "Stride running plan",
            "description": "running tempo miles marathon"}
    with session(engine) as s:
        known, sensitive = topic_sets(s)
        refresh(s, write("catalog.yaml", [perk]), cache, topics=known, sensitive=sensitive)
    run_match(engine, cache)
    with engine.connect() as conn:
        assert {u for (u,) in conn.execute(text("SELECT user_id FROM assignments"))} == set(OPTED)
    (report,) = ingest(engine, users=write("withdraw.jsonl", [{"user_id": "ann", "sensitive_opt_in": []}]))
    done = rework_withdrawn(engine, lambda: cache, report.withdrew)
    assert done["reworked"] == 1 and done["assignments"] == 1
    shown, not_shown = _shown(engine, "ann")
    assert "ann-8" not in shown and not_shown == 2
    with engine.connect() as conn:
        held = {u for (u,) in conn.execute(text("SELECT user_id FROM assignments WHERE user_id IS NOT NULL"))}
    assert held == {"bob", "cat"}


def test_a_run_that_cannot_be_repeated_loses_the_rows_an_opt_in_to_a_linked_topic_shaped(linked_world, write,  # type: ignore[no-untyped-def]
                                                                                        monkeypatch) -> None:
    """Its rules changed since (a newer perkmatch): the run cannot be worked out again, and any of ann's topics there
    may show a post only her opt-in showed, so all her rows in it go (before links, only the topics above the
    withdrawn one did: Running would have kept her therapist post). bob's stay."""
    import matcher.rework as rework

    engine, cache = linked_world
    monkeypatch.setattr(rework, "RULES_VERSION", rework.RULES_VERSION + 1)
    (report,) = ingest(engine, users=write("withdraw.jsonl", [{"user_id": "ann", "sensitive_opt_in": []}]))
    assert rework.rework_withdrawn(engine, lambda: cache, report.withdrew)["trimmed"] == 1
    with engine.connect() as conn:
        rows = dict(conn.execute(text("SELECT user_id, COUNT(*) FROM topic_scores GROUP BY user_id")).all())
        quoted = conn.execute(text("SELECT COUNT(*) FROM evidence WHERE user_id = 'ann'")).scalar()
    assert "ann" not in rows and quoted == 0 and rows["bob"] > 0


def test_an_opt_in_withdrawn_while_a_profile_computes_leaves_no_post_it_showed(linked_world, write,  # type: ignore[no-untyped-def]
                                                                              monkeypatch) -> None:
    """The withdrawal lands between the computing of ann's chunk and its writing: it finds no rows of hers in the run
    yet, and her rows hold no sensitive topic (her posts are about running), so the run would have kept Running with
    her therapist post as its evidence. Her record changed since the run began and her opt-ins now leave out a topic
    linked to a matter: her rows are dropped, and the next run computes her without it."""
    import matcher.profile_run as profile_run
    from matcher.engine_local import LocalExecutor

    engine, cache = linked_world
    real = profile_run._write_results

    def withdrawn_then_written(engine_, run_id, results, *args):  # type: ignore[no-untyped-def]
        if "ann" in results:  # computed with the opt-in: her therapist post shown
            (running,) = [r for r in results["ann"] if r.topic_id == "running"]
            assert running.details["not_shown"] == 1  # (the post touching grief only)
            ingest(engine, users=write("withdraw.jsonl", [{"user_id": "ann", "sensitive_opt_in": []}]))
        real(engine_, run_id, results, *args)

    monkeypatch.setattr(profile_run, "_write_results", withdrawn_then_written)
    as_of = to_epoch("2025-03-02")  # (another day: everyone computed again)
    summary = profile_run.run_profile(engine, cache, as_of=as_of, executor=LocalExecutor())
    with engine.connect() as conn:
        held = dict(conn.execute(text("SELECT user_id, COUNT(*) FROM topic_scores WHERE run_id = :r GROUP BY user_id"),
                                 {"r": summary.run_id}).all())
    assert "ann" not in held and held["bob"] and held["cat"]  # before: ann's Running, her therapist post shown
    monkeypatch.setattr(profile_run, "_write_results", real)
    again = profile_run.run_profile(engine, cache, as_of=as_of, executor=LocalExecutor())
    assert (again.users, again.recomputed) == (3, 1)
    shown, not_shown = _shown(engine, "ann")
    assert "ann-8" not in shown and not_shown == 2


def test_a_record_changed_while_a_profile_computes_but_read_as_it_is_now_keeps_its_rows(linked_world, write,  # type: ignore[no-untyped-def]
                                                                                    monkeypatch) -> None:
    """README: "A `profile` run under way that computed the user with the opt-in leaves them out". cat (opted in to
    Faith, so Health, linked to mental health, is hidden from her) and bob (no opt-in) change only their region while
    the run computes them, after it began: the run read their posts and opt-ins as they are now, so their rows are
    what a run started after the change computes. Before, anyone whose record changed since the run began and whose
    opt-ins left out a linked topic was dropped from it (nearly everyone a users file touched during a run): `topics`
    then said they "were added after that run", and a match gave them no perk."""
    import matcher.profile_run as profile_run
    from matcher.engine_local import LocalExecutor

    engine, cache = linked_world
    real = profile_run._write_results

    def moved_then_written(engine_, run_id, results, *args):  # type: ignore[no-untyped-def]
        if "cat" in results:
            ingest(engine, users=write("regions.jsonl", [{"user_id": u, "region": "FR"} for u in ("bob", "cat")]))
        real(engine_, run_id, results, *args)

    monkeypatch.setattr(profile_run, "_write_results", moved_then_written)
    summary = profile_run.run_profile(engine, cache, as_of=to_epoch("2025-03-02"), executor=LocalExecutor())
    with engine.connect() as conn:
        held = dict(conn.execute(text("SELECT user_id, COUNT(*) FROM topic_scores WHERE run_id = :r GROUP BY user_id"),
                                 {"r": summary.run_id}).all())
    assert held.keys() == set(OPTED) and summary.users == 3
    assert {"bob-8", "bob-9", "cat-8", "cat-9"}.isdisjoint(_shown(engine, "bob")[0] | _shown(engine, "cat")[0])


def test_a_changed_matters_file_recomputes_every_user_instead_of_copying_rows_it_would_now_veil(  # type: ignore[no-untyped-def]
        linked_world, monkeypatch) -> None:
    """A newer perkmatch ships a ``sensitive_matters.yaml`` that names one more thing ("tempo", here, for mental
    health): a run on the same day, with the same taxonomy, model and rules, must read every post again, not copy
    rows that show posts the file now veils. Before, the file was in no run's basis: the run copied everyone's rows,
    bob's tempo runs among Running's evidence."""
    import matcher.sensitive_content as sensitive_content

    engine, cache = linked_world
    as_of = to_epoch("2025-03-01")
    assert run_profile(engine, cache, as_of=as_of).recomputed == 0  # (unchanged: all copied)
    matters = json.loads(json.dumps(sensitive_content._matters()))
    matters["mental health"]["names"].append("tempo")
    monkeypatch.setattr(sensitive_content, "_matters", lambda: matters)
    for cached in (sensitive_content.matter_names, sensitive_content.matter_words):
        cached.cache_clear()
        monkeypatch.setattr(sensitive_content, cached.__name__, functools.cache(cached.__wrapped__))
    again = run_profile(engine, cache, as_of=as_of)
    assert again.recomputed == 3
    (bob,) = [r for r in user_topics(engine) if r["user_id"] == "bob"]
    assert all(not t["evidence"] for t in bob["topics"] if t["topic_id"] == "running")


# --- with the real model ---------------------------------------------------------------------------------------------

RUNS = [*SAM_POSTS[:7],  # seven plain running posts (the s38 audit's), then
        # the model places these in Running (0.96 to 1.0), none in Mental Health: each touches mental health ...
        "Tempo run along the river this morning, 8 miles at marathon pace; my therapist would be proud of those "
        "negative splits.",
        "Parkrun PB this morning, 21:30 for the 5k; I had a panic attack at the start line but still ran it.",
        # ... and this one grief too
        "Ran the memorial 10k for my dad who passed away last spring; my therapist suggested it and I am glad I did."]


@pytest.mark.integration
def test_the_real_model_shows_a_mental_health_post_to_a_user_opted_in_to_mental_health(tmp_path, write) -> None:  # type: ignore[no-untyped-def]
    """The shipped taxonomy links mental health to Mental Health. ann opted in to it (as the demo's otis_and_jules
    did): her two running posts that mention her therapist and a panic attack are Running's evidence, though the model
    places them in Running, not Mental Health (before, they were veiled for her as for anyone); the one about her
    dad's death is not (grief is linked to nothing). bob, who opted in to nothing, and cat, who opted in to Religion,
    see none of the three. The same posts, at the same times: none is a copy of another's."""
    engine = open_engine(str(tmp_path / "real.db"))
    opted = {"ann": ["health.mental-health"], "bob": [], "cat": ["religion"]}
    users = [{"user_id": u, "consent": "opted_in", "sensitive_opt_in": o} for u, o in opted.items()]
    posts = [{"post_id": f"{u}-{i}", "user_id": u, "text": t, "created_at": 1_750_000_000 + i * 2 * DAY,
              "likes": 8 + i % 5, "replies": 2} for u in opted for i, t in enumerate(RUNS)]
    ingest(engine, posts=write("posts.jsonl", posts), users=write("users.jsonl", users))
    from matcher.encoder import load_encoder

    cache = EmbeddingCache(engine, load_encoder())
    run_profile(engine, cache, as_of=to_epoch("2025-09-01"))
    space = topic_space.TopicSpace.build(load_topics(engine), cache)
    table = link_table(space.topics, space.links)
    assert table["mental health"] == ["health.mental-health"] and table["crime, violence and abuse"] == []
    shown = {u: {e["post_id"] for t in r["topics"] if t["topic_id"] == "sports.running" for e in t["evidence"]}
             for r in user_topics(engine) for u in [r["user_id"]]}
    assert {"ann-7", "ann-8"} <= shown["ann"] and "ann-9" not in shown["ann"]
    for user in ("bob", "cat"):
        assert shown[user] and not {f"{user}-7", f"{user}-8", f"{user}-9"} & shown[user], user
    said = {u: explain_topic(engine, u, "sports.running")["details"] for u in opted}
    assert (said["ann"]["not_shown"], said["bob"]["not_shown"]) == (1, 3)  # (the rest hers to see)
