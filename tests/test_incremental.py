"""Incremental profiling: a run after new posts embeds only the new texts and recomputes only the users whose
inputs changed, and its snapshot is byte-identical to a full run on the same data; an interrupted run resumes."""

import datetime as dt
import hashlib
import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
from sqlmodel import col, select
from typer.testing import CliRunner

import matcher.profile_chunk as profile_chunk
import matcher.profile_run as profile_run
from catalog.refresh import text_key
from matcher import incremental, profiles, topic_fit
from matcher.change_causes import _refitted
from matcher.changes import topic_changes
from matcher.classify import ClassifyParams
from matcher.cli import app
from matcher.demo import AS_OF, sample_path
from matcher.eligible import eligible_users
from matcher.embed import EmbeddingCache, count_missing, drop_unreferenced, embed_new_posts, missing_chunks
from matcher.encoder import FakeEncoder
from matcher.engine_local import LocalExecutor
from matcher.engine_pool import PoolExecutor, default_executor
from matcher.forget import forget, forget_posts
from matcher.ingest import ingest_posts, ingest_users
from matcher.match_table import Found
from matcher.profile_run import default_as_of, run_profile
from matcher.profile_types import ProfileParams
from matcher.records import embed_form, to_epoch
from matcher.status import database_status
from matcher.store import (
    Assignment,
    Embedding,
    EvidencePost,
    ForgottenPost,
    Post,
    PostDeletion,
    ProfiledUser,
    Run,
    TopicScore,
    TopicVector,
    Withheld,
    open_engine,
    session,
)
from matcher.taxonomy import default_taxonomy_path, read_taxonomy, store_taxonomy
from matcher.topic_records import user_topics
from matcher.user_export import export_user

WHEN = to_epoch(AS_OF)


def sample_lines() -> list[str]:
    return Path(sample_path("posts.jsonl")).read_text(encoding="utf-8").splitlines()


def setup_db(tmp_path: Path, name: str, lines: list[str]):  # type: ignore[no-untyped-def]
    posts = tmp_path / f"{name}.jsonl"
    posts.write_text("\n".join(lines) + "\n", encoding="utf-8")
    engine = open_engine(str(tmp_path / f"{name}.db"))
    ingest_users(engine, sample_path("users.jsonl"))
    ingest_posts(engine, str(posts))
    return engine


def snapshot(engine) -> str:  # type: ignore[no-untyped-def]
    return json.dumps(user_topics(engine), sort_keys=True)


def new_posts(lines: list[str], user: str, n: int) -> list[str]:
    """n new posts by `user`, copies of other users' posts given new ids and texts."""
    out = []
    for i, line in enumerate(lines[:n]):
        row = json.loads(line)
        row.update(post_id=f"new-{i}", user_id=user, text=f"{row['text']} (again, take {i})")
        out.append(json.dumps(row))
    return out


def test_new_posts_embed_only_new_texts_and_recompute_only_their_user(tmp_path) -> None:  # type: ignore[no-untyped-def]
    lines = sample_lines()
    engine = setup_db(tmp_path, "inc", lines)
    fake = FakeEncoder()
    first = run_profile(engine, EmbeddingCache(engine, fake), as_of=WHEN)
    assert first.recomputed == first.users and first.reused == 0
    added = new_posts(lines, "u-maya", 12)
    (tmp_path / "more.jsonl").write_text("\n".join(added) + "\n", encoding="utf-8")
    ingest_posts(engine, str(tmp_path / "more.jsonl"))
    encoded_before = fake.encoded_texts
    second = run_profile(engine, EmbeddingCache(engine, fake), as_of=WHEN)
    assert fake.encoded_texts - encoded_before == 12  # the 12 new texts, nothing else
    assert second.recomputed == 1 and second.reused == first.users - 1
    assert second.posts == first.posts + 12
    assert second.topic_vectors_run == first.run_id  # 12 posts are under 10 % more: the fit is kept
    full = setup_db(tmp_path, "full", lines + added)
    run_profile(full, EmbeddingCache(full, FakeEncoder()), as_of=WHEN)
    refitted = run_profile(engine, EmbeddingCache(engine, fake), as_of=WHEN, refit=True)
    assert refitted.topic_vectors_run == refitted.run_id and refitted.recomputed == first.users
    assert snapshot(engine) == snapshot(full)  # fitted on the same posts: the same as a run from scratch


def test_new_engagement_on_an_old_post_recomputes_that_user(tmp_path) -> None:  # type: ignore[no-untyped-def]
    lines = sample_lines()
    engine = setup_db(tmp_path, "eng", lines)
    run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN)
    row = json.loads(lines[0])
    row["likes"] = int(row.get("likes", 0)) + 50
    (tmp_path / "update.jsonl").write_text(json.dumps(row) + "\n", encoding="utf-8")
    ingest_posts(engine, str(tmp_path / "update.jsonl"))
    again = run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN)
    assert again.recomputed == 1 and again.embedded == 0


def test_a_new_basis_recomputes_everyone(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = setup_db(tmp_path, "basis", sample_lines())
    run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN)
    later = run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN + 86_400)
    assert later.reused == 0 and later.recomputed == later.users
    same = run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN + 86_400)
    assert same.recomputed == 0


def test_new_rules_recompute_everyone(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    engine = setup_db(tmp_path, "rules", sample_lines())
    first = run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN)
    monkeypatch.setattr(incremental, "RULES_VERSION", incremental.RULES_VERSION + 1)  # an upgrade
    upgraded = run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN)
    assert upgraded.reused == 0 and upgraded.recomputed == first.users


def test_other_related_words_recompute_everyone(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = setup_db(tmp_path, "words", sample_lines())
    loose = ClassifyParams(related_min=0.1)  # bag-of-words fakes: single words sit far from whole topics
    first = run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN, classify=loose)
    again = run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN, classify=loose)
    assert again.recomputed == 0 and again.reused == first.users
    # a model with a vocabulary reads topics through some of its words: every profile may change
    worded = run_profile(engine, EmbeddingCache(engine, FakeEncoder(words=("flights", "espresso", "hiking"))),
                         as_of=WHEN, classify=loose)
    assert worded.reused == 0 and worded.recomputed == first.users


def test_an_interrupted_run_resumes_without_redoing_finished_users(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    lines = sample_lines()
    engine = setup_db(tmp_path, "stop", lines)
    monkeypatch.setattr(profile_run, "USER_CHUNK", 5)
    real = profile_chunk.compute_users
    calls = {"n": 0}

    def stop_on_third_chunk(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(profile_chunk, "compute_users", stop_on_third_chunk)
    with pytest.raises(KeyboardInterrupt):
        run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN)
    monkeypatch.setattr(profile_chunk, "compute_users", real)
    resumed = run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN)
    assert resumed.reused == 10 and resumed.recomputed == resumed.users - 10
    full = setup_db(tmp_path, "whole", lines)
    run_profile(full, EmbeddingCache(full, FakeEncoder()), as_of=WHEN)
    assert snapshot(engine) == snapshot(full)
    with session(engine) as s:  # the interrupted run's rows were cleaned up once the resumed run finished
        runs = set(s.exec(select(ProfiledUser.run_id)).all())
    assert runs == {resumed.run_id}


def test_topic_vectors_are_fitted_again_when_the_collection_changes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    lines = sample_lines()
    engine = setup_db(tmp_path, "refit", lines)
    assert topic_fit.fit_expected(engine, WHEN)  # known before the run embeds: no fit yet
    first = run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN)
    assert first.topic_vectors_run == first.run_id
    assert not topic_fit.fit_expected(engine, WHEN + 86_400)
    again = run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN + 86_400)
    assert again.topic_vectors_run == first.run_id  # another day, the same collection: the same fit
    many = new_posts(lines, "u-maya", len(lines) // 5)  # 20 % more posts
    (tmp_path / "many.jsonl").write_text("\n".join(many) + "\n", encoding="utf-8")
    ingest_posts(engine, str(tmp_path / "many.jsonl"))
    assert topic_fit.fit_expected(engine, WHEN + 86_400)
    grown = run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN + 86_400)
    assert grown.topic_vectors_run == grown.run_id and grown.recomputed == grown.users
    changed = [c for u in eligible_users(engine) for c in topic_changes(engine, u)["changes"]]
    with session(engine) as s:
        stored = len(s.exec(select(Post.id)).all())
    assert changed and all("topic vectors fitted again to the collection: the collection changed from "
                           f"{stored - len(many)} to {stored} posts" in c["why"] for c in changed)
    forget(engine, "u-firehose")  # the deleted user's posts must not shape the vectors any more
    assert topic_fit.fit_expected(engine, WHEN + 86_400)
    after = run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN + 86_400)
    assert after.topic_vectors_run == after.run_id
    forced = run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN + 86_400, refit=True)
    assert forced.topic_vectors_run == forced.run_id
    assert forced.recomputed == 0  # fitted again on the same posts: the same vectors, nothing to recompute
    with session(engine) as s:
        fits = set(s.exec(select(TopicVector.run_id)).all())
    assert fits == {after.run_id, forced.run_id}  # the forget deleted the fits before it (her posts shaped them)
    few = [line.replace('"new-', '"newer-') for line in new_posts(lines[5:], "u-maya", 2)]  # under the 10 % that
    # fits again by itself
    (tmp_path / "few.jsonl").write_text("\n".join(few) + "\n", encoding="utf-8")
    ingest_posts(engine, str(tmp_path / "few.jsonl"))
    asked = run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN + 86_400, refit=True)
    with session(engine) as s:
        why = _refitted(s.get(Run, asked.run_id), s.get(Run, forced.run_id))
    assert why == "topic vectors fitted again to the collection: asked for with --refit"  # before: "the collection
    # changed from N to N+2 posts", though that alone would not have fitted them again


def test_a_deletion_of_posts_is_named_where_scores_move_and_kept_as_a_count_only(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = setup_db(tmp_path, "deleted", sample_lines())
    run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN)
    with session(engine) as s:  # one of the posts her topics count
        target = s.exec(select(Post.post_id).join(EvidencePost, col(EvidencePost.post_pk) == Post.id)
                        .where(Post.user_id == "u-maya").order_by(col(Post.post_id))).first()
    assert not any(step.startswith("perkmatch profile") for step in database_status(engine, "db")["next"])
    forget_posts(engine, "u-maya", [target])
    status = database_status(engine, "db")  # the run's scores still count it: a profile run is due (before: none)
    assert (status["profile"]["since"]["deleted_posts"], status["profile"]["since"]["deleting_users"]) == (1, 1)
    assert any("1 post by 1 user deleted at their request since it started" in step for step in status["next"])
    run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN)
    assert database_status(engine, "db")["profile"]["since"]["deleted_posts"] == 0
    changes = topic_changes(engine, "u-maya")["changes"]  # before: numbers only ("posts on the topic 9 -> 8")
    assert changes and all("1 post(s) of the user's, on any topic, deleted at their request after the previous run"
                           in c["why"] and "a user's data, or some of their posts, were deleted since the last fit"
                           in c["why"] for c in changes)
    assert [d["posts"] for d in export_user(engine, "u-maya")["post_deletions"]] == [1]  # when and how many: no ids
    assert export_user(engine, "u-firehose")["post_deletions"] == []
    forget(engine, "u-maya")  # forgotten whole: the audit line says it, the deletions' rows go
    with session(engine) as s:
        assert s.exec(select(PostDeletion)).all() == []


def test_an_upgrade_that_changes_the_rules_says_so_in_the_changes(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    engine = setup_db(tmp_path, "rules", sample_lines())
    run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN)
    monkeypatch.setattr(incremental, "RULES_VERSION", incremental.RULES_VERSION + 1)
    monkeypatch.setattr(profiles, "engagement_unit", lambda eng, params: 1.0)  # the upgrade's new rule
    upgraded = run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN)
    assert upgraded.recomputed == upgraded.users and upgraded.topic_vectors_run == upgraded.run_id
    why = topic_changes(engine, "u-maya")["changes"][0]["why"]
    assert f"perkmatch's profile rules changed (version {incremental.RULES_VERSION - 1} -> " \
           f"{incremental.RULES_VERSION}): every user was recomputed" in why
    assert "topic vectors fitted again to the collection: the new rules" in why  # before: "the taxonomy, the model,
    # the settings or perkmatch's rules changed", though the runs record which; then the rules named twice
    assert "perkmatch's rules changed" not in why


def test_a_fit_reads_whole_users_in_a_fixed_order_up_to_its_budget(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = setup_db(tmp_path, "budget", sample_lines())
    users = eligible_users(engine)
    assert topic_fit.fit_sample(engine, users) == sorted(users)  # the sample data is far under 20,000 posts
    budget = topic_fit.FitParams(max_posts=200)
    few = topic_fit.fit_sample(engine, users, budget)
    assert few == topic_fit.fit_sample(engine, list(reversed(users)), budget)  # input order does not matter
    with session(engine) as s:
        counts = {u: len(s.exec(select(Post.id).where(Post.user_id == u)).all()) for u in users}
    total = sum(counts[u] for u in few)
    assert len(few) < len(users) and total >= 200 > total - max(counts[u] for u in few)


def test_repeats_and_reshares_do_not_shape_the_topic_fit(tmp_path) -> None:  # type: ignore[no-untyped-def]
    lines = sample_lines()
    first = json.loads(lines[0])
    spam = [json.dumps(first | {"post_id": f"again-{i}"})
            for i in range(30)]  # the same text 30 times
    shares = [json.dumps(json.loads(line) | {"post_id": f"share-{i}", "user_id": first["user_id"], "is_share": True})
              for i, line in enumerate(lines[1:6])]
    vectors = []
    for name, extra in (("plain", []), ("spammed", spam + shares)):
        engine = setup_db(tmp_path, name, lines + extra)
        fitted = run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN)
        with session(engine) as s:
            vectors.append(s.exec(select(TopicVector.topic_id, TopicVector.mass, TopicVector.vector)
                                  .where(TopicVector.run_id == fitted.topic_vectors_run)
                                  .order_by(TopicVector.topic_id)).all())
    assert vectors[0] == vectors[1] and any(mass > 0 for _, mass, _ in vectors[0])


def test_pasted_copies_change_nothing_in_the_users_topics(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The copies are dropped as duplicates, and they are not read alongside the user's other posts either."""
    lines = sample_lines()
    first = json.loads(lines[0])
    start = to_epoch(first["created_at"])
    spam = [json.dumps(first | {"post_id": f"again-{i}", "created_at": start + 86_400 * (i + 1)}) for i in range(30)]
    seen = []
    for name, extra in (("plain", []), ("pasted", spam)):
        engine = setup_db(tmp_path, name, lines + extra)
        run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN)
        topics = user_topics(engine, first["user_id"], candidates=True)[0]["topics"]
        seen.append([(t["topic_id"], t["status"], t["score"], t["engagement"], t["posts"], t["days"],
                      [e["post_id"] for e in t["evidence"]]) for t in topics])
    assert seen[0] == seen[1] and any(status == "inferred" for _, status, *_ in seen[0])

def test_forget_removes_the_users_input_digests(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = setup_db(tmp_path, "forget", sample_lines())
    run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN)
    users = eligible_users(engine)
    assert "u-maya" in users
    forget(engine, "u-maya")
    with session(engine) as s:
        assert set(s.exec(select(ProfiledUser.user_id)).all()) == set(users) - {"u-maya"}


def test_a_forget_while_profile_and_match_run_leaves_nothing_of_the_user(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import matcher.match
    from catalog.refresh import refresh
    from matcher.assignments import match_records

    engine = setup_db(tmp_path, "forget-during", sample_lines())
    cache = EmbeddingCache(engine, FakeEncoder())
    with session(engine) as s:
        refresh(s, sample_path("catalog.yaml"), cache)
    first = run_profile(engine, cache, as_of=WHEN, executor=LocalExecutor())
    write = profile_run._write_results

    def forget_first(engine, run_id, results, *rest):  # type: ignore[no-untyped-def]
        if "u-maya" in results:  # read and computed; `forget` commits before the chunk is written
            forget(engine, "u-maya")
        write(engine, run_id, results, *rest)

    monkeypatch.setattr(profile_run, "_write_results", forget_first)
    during = run_profile(engine, cache, as_of=WHEN + 86_400, executor=LocalExecutor())  # before: her rows came back
    with session(engine) as s:
        for table in (TopicScore, EvidencePost, ProfiledUser):
            assert s.exec(select(table).where(table.user_id == "u-maya")).all() == [], table
        stats = json.loads(s.get(Run, during.run_id).stats)  # type: ignore[union-attr]
        inferred = s.exec(select(TopicScore.id).where(TopicScore.run_id == during.run_id)
                          .where(TopicScore.status == "inferred")).all()
    # before: counted as read, her topics and herself among them
    assert during.users == stats["users"] == first.users - 1
    assert stats["recomputed_users"] + stats["reused_users"] == stats["users"]
    assert during.inferred_topics == stats["inferred_topics"] == len(inferred)
    assert "u-maya" not in {r["user_id"] for r in user_topics(engine)}
    monkeypatch.setattr(profile_run, "_write_results", write)
    assign, done = Found.assign, []

    def forget_then_assign(found, *limits):  # type: ignore[no-untyped-def]
        if not done:  # the match read their profile and found their perks (its second call, in its write
            done.append(forget(engine, "u-runner"))  # transaction, would wait for the match's own lock)
        return assign(found, *limits)

    assert any(r["user_id"] == "u-runner" for r in user_topics(engine) if r["topics"])
    monkeypatch.setattr(Found, "assign", forget_then_assign)
    matcher.match.run_match(engine, cache)
    with session(engine) as s:
        for table in (Assignment, Withheld):
            assert s.exec(select(table).where(table.user_id == "u-runner")).all() == [], table
    assert "u-runner" not in {r["user_id"] for r in match_records(engine)}


def test_a_fit_that_read_a_user_forgotten_meanwhile_is_not_kept(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    engine = setup_db(tmp_path, "forget-fit", sample_lines())
    cache = EmbeddingCache(engine, FakeEncoder())
    fit = profile_run.fit_topic_vectors

    def forget_first(*args, **kwargs):  # type: ignore[no-untyped-def]
        forget(engine, "u-maya")  # the fit read her posts; `forget` commits before the fit is stored
        return fit(*args, **kwargs)

    monkeypatch.setattr(profile_run, "fit_topic_vectors", forget_first)
    first = run_profile(engine, cache, as_of=WHEN, executor=LocalExecutor())
    assert first.topic_vectors_run == first.run_id  # the run used its fit ...
    with session(engine) as s:  # ... but did not keep it (before: kept, a mean over her posts among others)
        assert s.exec(select(TopicVector)).all() == []
    monkeypatch.setattr(profile_run, "fit_topic_vectors", fit)
    second = run_profile(engine, cache, as_of=WHEN, executor=LocalExecutor())
    assert second.topic_vectors_run == second.run_id  # fitted again, without her
    with session(engine) as s:
        assert {v.run_id for v in s.exec(select(TopicVector)).all()} == {second.run_id}


def test_a_forget_while_posts_are_embedded_leaves_none_of_their_vectors(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = setup_db(tmp_path, "forget-embed", sample_lines())
    with session(engine) as s:
        hers = {k for pair in s.exec(select(Post.text_key, Post.context_key).where(Post.user_id == "u-maya")).all()
                for k in pair if k}
        others = {k for pair in s.exec(select(Post.text_key, Post.context_key).where(Post.user_id != "u-maya")).all()
                  for k in pair if k}
        her_texts = {embed_form(t) for t in s.exec(select(Post.text).where(Post.user_id == "u-maya")).all()}
    cache = EmbeddingCache(engine, FakeEncoder())
    encode = cache.encode

    def forget_first(texts):  # type: ignore[no-untyped-def]
        if her_texts & set(texts) and not hasattr(forget_first, "done"):  # the run read her texts; `forget` commits
            forget_first.done = True  # type: ignore[attr-defined]  # before they are stored
            forget(engine, "u-maya")
        return encode(texts)

    cache.encode = forget_first  # type: ignore[method-assign]
    run_profile(engine, cache, as_of=WHEN, executor=LocalExecutor())
    with session(engine) as s:
        stored = set(s.exec(select(Embedding.text_key)).all())
    assert not (hers - others) & stored  # before: most of her vectors were stored after the forget, for good
    assert others <= stored  # everyone else's stay


def test_default_as_of_is_the_end_of_the_utc_day() -> None:
    noon = to_epoch("2026-11-22T12:34:56Z")
    assert default_as_of(noon) == to_epoch("2026-11-22T23:59:59Z")
    assert default_as_of(to_epoch("2026-11-22T00:00:00Z")) == to_epoch("2026-11-22T23:59:59Z")


def test_a_new_topic_fit_reads_each_user_once_for_the_fit_and_the_profiles(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    engine = setup_db(tmp_path, "once", sample_lines())
    loads: list[str] = []
    real = profile_chunk.load_user_posts

    def counted(engine, cache, user_ids, params, **kw):  # type: ignore[no-untyped-def]
        loads.extend(user_ids)
        return real(engine, cache, user_ids, params, **kw)

    monkeypatch.setattr(profile_chunk, "load_user_posts", counted)
    first = run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN, executor=LocalExecutor())
    users = eligible_users(engine)
    assert first.topic_vectors_run == first.run_id and first.recomputed == len(users)  # a new fit, everyone computed
    assert sorted(loads) == users  # the fit read every user (a small collection); the profiles used that reading
    # (that a user read by the fit and one read again give the same bytes: the interrupted-run test below)
    loads.clear()
    refit = run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN + 1, refit=True)
    assert refit.topic_vectors_run == refit.run_id and sorted(loads) == users


def test_a_first_run_takes_each_digest_from_the_posts_it_profiled(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    engine = setup_db(tmp_path, "digests", sample_lines())
    (tmp_path / "lurker.jsonl").write_text('{"user_id": "u-lurker", "consent": "opted_in"}\n', encoding="utf-8")
    ingest_users(engine, str(tmp_path / "lurker.jsonl"))  # opted in, no posts: a digest all the same
    queried: list[str] = []
    real = incremental.user_digests

    def counted(engine, user_ids, as_of):  # type: ignore[no-untyped-def]
        queried.extend(user_ids)
        return real(engine, user_ids, as_of)

    monkeypatch.setattr(incremental, "user_digests", counted)
    first = run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN)
    assert first.reused == 0 and queried == []  # nothing to copy from: no separate digest query, before or after
    with session(engine) as s:
        stored = dict(s.exec(select(ProfiledUser.user_id, ProfiledUser.digest)
                             .where(ProfiledUser.run_id == first.run_id)).all())
    users = eligible_users(engine)
    assert {"u-shares-health", "u-lurker"} <= set(users) and stored == real(engine, users, WHEN)  # opt-ins, no posts
    again = run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN)
    assert again.recomputed == 0 and sorted(queried) == users  # a second run compares them, and copies everyone


def test_a_pool_of_worker_processes_gives_the_same_profiles(tmp_path) -> None:  # type: ignore[no-untyped-def]
    lines = sample_lines()
    alone = setup_db(tmp_path, "alone", lines)
    run_profile(alone, EmbeddingCache(alone, FakeEncoder()), as_of=WHEN, executor=LocalExecutor())
    pooled = setup_db(tmp_path, "pooled", lines)
    pool = PoolExecutor(2, min_users=0)
    summary = run_profile(pooled, EmbeddingCache(pooled, FakeEncoder()), as_of=WHEN, executor=pool)
    assert summary.recomputed == summary.users > 0 and pool.started
    assert snapshot(pooled) == snapshot(alone)  # profiles computed in other processes, the same bytes
    with session(pooled) as s, session(alone) as t:
        assert s.exec(select(TopicVector.vector)).all() == t.exec(select(TopicVector.vector)).all()
    assert isinstance(default_executor(pooled, 10), LocalExecutor)  # small runs stay in-process
    few = PoolExecutor(2)  # and so does a run with fewer users to compute than it takes to pay for the workers
    assert run_profile(pooled, EmbeddingCache(pooled, FakeEncoder()), as_of=WHEN + 1, executor=few).recomputed > 0
    assert not few.started
    early = PoolExecutor(2, min_users=10)
    early.warm_up(9)
    assert not early.started  # too few users to pay for the workers
    early.warm_up(10)
    assert early.started  # started before the first chunk, while the topic fit runs
    early.close()
    assert not isinstance(default_executor(open_engine(":memory:"), 10**6), PoolExecutor)  # workers cannot open it
    if len(os.sched_getaffinity(0)) >= 2:
        assert isinstance(default_executor(pooled, 10**6), PoolExecutor)


def test_workers_get_ready_while_the_run_embeds_when_it_will_fit_topic_vectors(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A new fit reads every user on the worker processes, which take a second to import their modules: a run that
    will fit starts them before it embeds (the encoder's time hides theirs), one that reuses a fit does not."""

    class Watched(LocalExecutor):
        def __init__(self) -> None:
            super().__init__()
            self.calls: list[str] = []

        def warm_up(self, users: int) -> None:
            self.calls.append("warm_up")

        def embed(self, *args):  # type: ignore[no-untyped-def]
            self.calls.append("embed")
            return super().embed(*args)

    engine = setup_db(tmp_path, "ready", sample_lines())
    first, again, forced = Watched(), Watched(), Watched()
    run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN, executor=first)
    assert first.calls[:2] == ["warm_up", "embed"]
    run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN, executor=again)
    assert again.calls == ["embed"]  # the fit is reused, and no user is computed again: no workers
    run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN, executor=forced, refit=True)
    assert forced.calls[:2] == ["warm_up", "embed"]


def test_profile_chunks_on_threads_give_the_same_profiles_in_order(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    lines = sample_lines()
    alone = setup_db(tmp_path, "alone", lines)
    run_profile(alone, EmbeddingCache(alone, FakeEncoder()), as_of=WHEN, executor=LocalExecutor())
    monkeypatch.setattr(profile_run, "USER_CHUNK", 2)  # many chunks, several in flight on the threads at once
    threaded = setup_db(tmp_path, "threaded", lines)
    written: list[list[str]] = []
    write = profile_run._write_results
    monkeypatch.setattr(profile_run, "_write_results",
                        lambda engine, run_id, results, *rest: (written.append(list(results)),
                                                                write(engine, run_id, results, *rest)))
    summary = run_profile(threaded, EmbeddingCache(threaded, FakeEncoder()), as_of=WHEN,
                          executor=LocalExecutor(threads=2))
    assert summary.recomputed == summary.users > 4
    assert [u for chunk in written for u in chunk] == eligible_users(threaded)  # written in the order of the users
    assert snapshot(threaded) == snapshot(alone)
    small = default_executor(threaded, 10)  # a small run: threads, one per core
    assert isinstance(small, LocalExecutor) and small.threads == len(os.sched_getaffinity(0))


def test_a_run_as_of_a_date_reads_only_the_posts_written_by_then(tmp_path) -> None:  # type: ignore[no-untyped-def]
    lines = sample_lines()
    engine = setup_db(tmp_path, "as-of", lines)
    times = sorted(to_epoch(json.loads(line)["created_at"]) for line in lines if '"u-maya"' in line)
    middle = times[len(times) // 2]
    cache = EmbeddingCache(engine, FakeEncoder())
    run_profile(engine, cache, as_of=middle)
    early = user_topics(engine, "u-maya")[0]["topics"]
    shown = [e["created_at"] for t in early for e in t["evidence"]] + [t["last"] for t in early]
    assert early and max(shown) <= dt.datetime.fromtimestamp(middle, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert sum(t["posts"] for t in early) <= len(times) // 2 + 1  # before: every post counted, later ones in full
    run_profile(engine, cache, as_of=WHEN)  # later: the other posts count too, and the user is recomputed
    assert max(t["last"] for t in user_topics(engine, "u-maya")[0]["topics"]) > max(shown)
    run_profile(engine, cache, as_of=middle)
    why = {c["why"] for c in topic_changes(engine, "u-maya")["changes"]}
    assert any("before the previous one (--as-of): posts written after its date are left out" in w for w in why)


def test_reading_only_some_posts_gives_those_rows_as_reading_them_all_does(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """``load_user_posts(only=...)``, what `match` reads (the evidence it shows, not every post), asks for the ids in
    lists a statement can bind and gives each of those posts as the whole read does: user by user, by post id."""
    engine = setup_db(tmp_path, "only", sample_lines())
    cache = EmbeddingCache(engine, FakeEncoder())
    run_profile(engine, cache, as_of=WHEN)
    users = eligible_users(engine)
    whole = profile_chunk.load_user_posts(engine, cache, users, ClassifyParams())
    keys = [k for posts, _ in whole.values() for k in posts.keys]
    some = keys[1::3] + keys[::3]  # over 1,000 ids (three lists of 500), in no order
    part = profile_chunk.load_user_posts(engine, cache, users, ClassifyParams(), only=some)
    assert len(some) > 1000 and set(part) == set(whole)
    for user_id, (posts, vectors) in whole.items():
        kept = [i for i, k in enumerate(posts.keys) if k in set(some)]
        assert part[user_id][0].keys == [posts.keys[i] for i in kept]
        assert np.array_equal(part[user_id][1], vectors[kept]) and np.array_equal(part[user_id][0].likes,
                                                                                 posts.likes[kept])


def test_posts_added_while_a_run_reads_wait_for_the_next_run(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    engine = setup_db(tmp_path, "late", sample_lines())  # posts ingested, nothing embedded yet (as if added mid-run)
    users = eligible_users(engine)
    assert profile_chunk.load_user_posts(engine, EmbeddingCache(engine, FakeEncoder()), users, ClassifyParams()) == {}
    summary = run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN)  # the run embeds them first
    loaded = profile_chunk.load_user_posts(engine, EmbeddingCache(engine, FakeEncoder()), users, ClassifyParams())
    assert sum(len(p.keys) for p, _ in loaded.values()) == summary.posts > 0
    real = profile_chunk.read_users
    late = json.loads(new_posts(sample_lines(), "u-maya", 1)[0])

    landed: list[bool] = []

    def ingest_beside(*args):  # type: ignore[no-untyped-def]
        if not landed:  # an ingest lands after the run embedded, before it reads: before, the run failed
            (tmp_path / "late.jsonl").write_text(json.dumps(late) + "\n", encoding="utf-8")
            ingest_posts(engine, str(tmp_path / "late.jsonl"))
            landed.append(True)
        return real(*args)

    monkeypatch.setattr(profile_chunk, "read_users", ingest_beside)
    during = run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN, refit=True)
    assert landed and during.recomputed >= 1  # it finished; the late post, not embedded, waits for the next run
    monkeypatch.setattr(profile_chunk, "read_users", real)
    after = run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN)
    assert after.embedded == 1 and after.recomputed == 1  # the next run embeds it and recomputes its user


def copycat_files(tmp_path: Path) -> list[dict]:
    """u-maya's posts, and files in ``tmp_path`` of a consenting u-copycat (copycat.jsonl) who pasted each of them a
    day later (copies.jsonl)."""
    maya = [row for row in map(json.loads, sample_lines()) if row["user_id"] == "u-maya"]
    copies = [json.dumps(p | {"post_id": f"copy-{i}", "user_id": "u-copycat",
                              "created_at": to_epoch(p["created_at"]) + 86_400}) for i, p in enumerate(maya)]
    (tmp_path / "copycat.jsonl").write_text(json.dumps({"user_id": "u-copycat", "consent": "opted_in"}) + "\n")
    (tmp_path / "copies.jsonl").write_text("\n".join(copies) + "\n")
    return maya


def test_another_users_earlier_post_copied_word_for_word_counts_as_a_reshare(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Pasting an earlier post of someone else's is passing it on: the copier gets no topic from Maya's words, she
    keeps hers unchanged; once she is forgotten, the same posts are the copier's own at the next run."""
    lines = sample_lines()
    copycat_files(tmp_path)
    plain = setup_db(tmp_path, "plain", lines)
    run_profile(plain, EmbeddingCache(plain, FakeEncoder()), as_of=WHEN)
    engine = setup_db(tmp_path, "copied", lines)
    ingest_users(engine, str(tmp_path / "copycat.jsonl"))  # posts of a user without consent are not taken
    ingest_posts(engine, str(tmp_path / "copies.jsonl"))
    run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN)
    assert user_topics(engine, "u-maya") == user_topics(plain, "u-maya")
    assert any(t["status"] == "inferred" for t in user_topics(engine, "u-maya")[0]["topics"])
    copycat = user_topics(engine, "u-copycat", candidates=True)[0]["topics"]
    assert copycat and all(t["status"] == "candidate" for t in copycat)
    first = copycat[0]["topic_id"]
    with session(engine) as s:
        details = json.loads(s.exec(select(TopicScore.details).where(TopicScore.user_id == "u-copycat")
                                    .where(TopicScore.topic_id == first)).one())
    assert details["copies"] > 0 and details["shares"] == 0 and "original post" in " ".join(details["shortfalls"])
    said = CliRunner().invoke(app, ["explain", "u-copycat", first, "--db", str(tmp_path / "copied.db")])
    assert said.exit_code == 0 and f"copies of other users' earlier posts {details['copies']}" in said.output
    forget(engine, "u-maya")
    again = run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN)
    assert again.recomputed >= 1  # the copycat's inputs changed: nobody wrote those words before him now
    assert any(t["status"] == "inferred" for t in user_topics(engine, "u-copycat")[0]["topics"])


def test_changes_say_when_posts_turn_out_to_be_copies(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The copycat's own posts did not change: the originals, written earlier by Maya, arrived later."""
    lines, maya = sample_lines(), copycat_files(tmp_path)
    (tmp_path / "maya.jsonl").write_text("\n".join(json.dumps(p) for p in maya) + "\n")
    engine = setup_db(tmp_path, "later", [line for line in lines if json.loads(line)["user_id"] != "u-maya"])
    ingest_users(engine, str(tmp_path / "copycat.jsonl"))
    ingest_posts(engine, str(tmp_path / "copies.jsonl"))
    run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN)
    had = [t["topic_id"] for t in user_topics(engine, "u-copycat")[0]["topics"]]
    assert had
    ingest_posts(engine, str(tmp_path / "maya.jsonl"))
    run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN)
    dropped = [c for c in topic_changes(engine, "u-copycat")["changes"] if c["change"] == "dropped"]
    assert dropped and all("copy another user's earlier post word for word" in c["why"] for c in dropped)
    assert "new or updated post" not in dropped[0]["why"]


def test_a_run_as_of_an_earlier_day_fits_again_on_the_posts_it_reads(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # before: a fit of every post was reused by a run as of a day when a third of them were written ("the collection
    # changed little"), so its topics depended on the runs before it
    lines = sample_lines()
    early = sorted(to_epoch(json.loads(line)["created_at"]) for line in lines)[len(lines) // 3]
    engine = setup_db(tmp_path, "late", lines)
    first = run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN)
    before = run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=early)
    assert before.topic_vectors_run == before.run_id != first.run_id and before.posts < first.posts * 0.9
    fresh = setup_db(tmp_path, "early", lines)
    run_profile(fresh, EmbeddingCache(fresh, FakeEncoder()), as_of=early)
    assert snapshot(engine) == snapshot(fresh)


def test_a_reader_stopped_by_a_database_gone_closes_the_missing_texts_quietly(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # before: PostgreSQL going away mid-run printed "Exception ignored in: <generator object missing_chunks>" and a
    # traceback beside the command's one-line error, as the abandoned generator's session failed to roll back
    from sqlmodel import Session

    from matcher.embed import missing_chunks

    engine = setup_db(tmp_path, "gone", sample_lines())
    chunks = missing_chunks(engine, "fake-64", size=10)
    assert next(chunks)

    def gone(self) -> None:  # type: ignore[no-untyped-def]
        raise ConnectionError("the server closed the connection")

    monkeypatch.setattr(Session, "close", gone)
    chunks.close()  # quietly: the reader's own error is the one to report


def test_a_second_profile_run_on_sqlite_waits_for_the_first_and_reuses_its_work(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Before, two at once both embedded every text and computed every user (the second for nothing)."""
    import fcntl
    import threading
    import time

    engine = setup_db(tmp_path, "both", sample_lines())
    waited: list[int] = []
    engine.update_execution_options(on_lock_wait=lambda: waited.append(1))
    with open(tmp_path / "both.db.profile-lock", "ab") as held:  # a run under way in another process holds it
        fcntl.flock(held, fcntl.LOCK_EX)
        done: list = []
        second = threading.Thread(target=lambda: done.append(
            run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN)))
        second.start()
        time.sleep(1.5)
        with session(engine) as s:  # it waits before it embeds or records anything
            assert waited == [1] and second.is_alive() and not s.exec(select(Run)).all()
    second.join(120)
    assert not second.is_alive() and done[0].recomputed > 0
    again = run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN)  # the lock was let go
    assert again.embedded == 0 and again.recomputed == 0 and waited == [1]


def test_the_profile_lock_taken_again_by_its_holder_is_held_and_still_keeps_others_out(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """`profile --engine ray` takes the lock before it starts a cluster (before, a second run started a whole cluster,
    then waited with it), and the run it makes takes it again: that must go on, not wait for itself."""
    import threading

    import matcher.ray_cluster as cluster_module
    from matcher.errors import ClusterError
    from matcher.locks import profile_lock, profile_running

    engine = setup_db(tmp_path, "lock", sample_lines()[:20])
    inner: list[bool | None] = []

    def twice() -> None:
        with profile_lock(engine):
            with profile_lock(engine):  # (before: a second flock of the same file, which waited for ever)
                inner.append(profile_running(engine))
            inner.append(profile_running(engine))  # the inner one let go of nothing

    nested = threading.Thread(target=twice, daemon=True)
    nested.start()
    nested.join(10)
    assert not nested.is_alive() and inner == [True, True] and profile_running(engine) is False
    with profile_lock(engine):
        other: list[bool] = []

        def take() -> None:
            with profile_lock(engine):
                other.append(True)

        elsewhere = threading.Thread(target=take, daemon=True)
        elsewhere.start()
        elsewhere.join(1.0)
        assert elsewhere.is_alive() and not other  # another thread still waits for it
    elsewhere.join(10)
    assert other == [True] and profile_running(engine) is False  # it took it once let go, then let go too
    seen: list[bool | None] = []

    def cluster(address: str | None = None):  # type: ignore[no-untyped-def]
        seen.append(profile_running(engine))
        raise ClusterError("no cluster here")

    monkeypatch.setattr(cluster_module, "ray_cluster", cluster)
    ran = CliRunner().invoke(app, ["--db", str(tmp_path / "lock.db"), "profile", "--engine", "ray"])
    assert ran.exit_code == 1 and "no cluster here" in ran.output and seen == [True]


class _CutShort(list):  # type: ignore[type-arg]
    """Rows that stop coming after the first, as when Ctrl-C or SIGTERM lands inside the driver's executemany."""

    def __iter__(self):  # type: ignore[no-untyped-def]
        yield self[0]
        raise KeyboardInterrupt


def test_an_interrupt_inside_a_write_leaves_the_run_marked_stopped_at_once(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    engine = setup_db(tmp_path, "cut", sample_lines())
    real = profile_run.bulk_insert
    monkeypatch.setattr(profile_run, "bulk_insert", lambda conn, table, columns, rows, **kw: real(
        conn, table, columns, _CutShort(rows) if rows else rows, **kw))
    started = dt.datetime.now()
    with pytest.raises(KeyboardInterrupt):
        run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN, executor=LocalExecutor())
    assert (dt.datetime.now() - started).total_seconds() < 20  # before: a minute's wait for its own write lock
    with session(engine) as s:
        assert [r.status for r in s.exec(select(Run).where(Run.kind == "profile"))] == ["stopped"]  # not "running"


def reingest(engine, tmp_path: Path, name: str, rows: list[dict]) -> None:  # type: ignore[no-untyped-def]
    """Ingest these post rows (new, or updates of posts already stored)."""
    (tmp_path / f"{name}.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    ingest_posts(engine, str(tmp_path / f"{name}.jsonl"))


def test_a_pool_run_writes_the_chunks_whose_users_are_all_reused(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # a chunk with no user to compute gets no task on the workers: before, a pool that yielded nothing for it left
    # its reused users out of the new run (no digests, no topics)
    lines = sample_lines()
    monkeypatch.setattr(profile_run, "USER_CHUNK", 5)
    engine = setup_db(tmp_path, "pool-reuse", lines)
    first = run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN, executor=LocalExecutor())
    row = json.loads(lines[0])
    row["likes"] = int(row.get("likes", 0)) + 50
    reingest(engine, tmp_path, "likes", [row])
    pool = PoolExecutor(2, min_users=1)
    again = run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN, executor=pool)
    assert pool.started and again.recomputed == 1 and again.reused == first.users - 1
    with session(engine) as s:
        profiled = set(s.exec(select(ProfiledUser.user_id).where(ProfiledUser.run_id == again.run_id)).all())
    assert profiled == set(eligible_users(engine))
    full = setup_db(tmp_path, "pool-full", [json.dumps(row), *lines[1:]])
    run_profile(full, EmbeddingCache(full, FakeEncoder()), as_of=WHEN, executor=LocalExecutor())
    assert snapshot(engine) == snapshot(full)


@pytest.mark.parametrize("field", ["replies", "shares", "is_share", "context"])
def test_a_post_updated_in_any_input_its_profile_reads_recomputes_its_user(tmp_path, field) -> None:  # type: ignore[no-untyped-def]
    # each of these is part of a user's input digest: before, dropping one from it copied the user's stale rows
    lines = sample_lines()
    engine = setup_db(tmp_path, f"input-{field}", lines)
    run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN)
    row = json.loads(lines[0])
    row[field] = {"replies": int(row.get("replies", 0)) + 7, "shares": int(row.get("shares", 0)) + 7,
                  "is_share": not row.get("is_share", False), "context": "Where are you flying to this summer?"}[field]
    reingest(engine, tmp_path, "update", [row])
    again = run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN)
    assert again.recomputed == 1 and again.reused == again.users - 1


def test_earlier_originals_of_a_users_posts_by_another_user_recompute_that_user(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # her posts turn out to be copies (reshares) though none of her own rows changed: before, with the copy flag out
    # of her digest, her stale rows were copied on
    lines = sample_lines()
    engine = setup_db(tmp_path, "originals", lines)
    first = run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN)
    maya = [row for row in map(json.loads, lines) if row["user_id"] == "u-maya"][:3]
    (tmp_path / "original.jsonl").write_text(json.dumps({"user_id": "u-original", "consent": "opted_in"}) + "\n")
    ingest_users(engine, str(tmp_path / "original.jsonl"))
    reingest(engine, tmp_path, "originals", [p | {"post_id": f"orig-{i}", "user_id": "u-original",
                                                  "created_at": to_epoch(p["created_at"]) - 86_400}
                                             for i, p in enumerate(maya)])
    again = run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN)
    assert again.topic_vectors_run == first.run_id  # three posts: the same fit, the same basis
    assert again.recomputed == 2 and again.reused == first.users - 1  # the new user, and u-maya


def test_a_taxonomy_that_unmarks_sensitive_topics_reuses_nobody(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # which topics are sensitive decides who may be given them: before, with the flag out of the basis, every user's
    # rows from the old taxonomy were copied on
    engine = setup_db(tmp_path, "unmarked", sample_lines())
    first = run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN)
    topics = read_taxonomy(default_taxonomy_path())
    assert any(t.sensitive for t in topics)
    store_taxonomy(engine, [t.model_copy(update={"sensitive": False}) for t in topics])
    again = run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN)
    assert again.reused == 0 and again.recomputed == again.users == first.users


def test_a_run_under_another_consent_policy_reuses_nobody(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # before, with the policy out of the basis, a run under opt-out copied the rows of a run under opt-in
    lines = sample_lines()
    engine = setup_db(tmp_path, "policy", lines)
    walk_in = new_posts(lines, "u-walk-in", 5)  # a user with no users row: profiled under opt-out only
    (tmp_path / "walk-in.jsonl").write_text("\n".join(walk_in) + "\n", encoding="utf-8")
    ingest_posts(engine, str(tmp_path / "walk-in.jsonl"), policy="opt-out")
    opt_in = run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN, policy="opt-in")
    opt_out = run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN, policy="opt-out")
    assert opt_out.users > opt_in.users and "u-walk-in" in eligible_users(engine, "opt-out")
    assert opt_out.reused == 0 and opt_out.recomputed == opt_out.users


def test_other_profile_parameters_reuse_nobody(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # before, with the parameters out of the basis, a run with other thresholds copied every user's old rows
    engine = setup_db(tmp_path, "params", sample_lines())
    first = run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN)
    stricter = run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN, params=ProfileParams(min_posts=4))
    assert stricter.reused == 0 and stricter.recomputed == first.users


def test_a_new_sensitive_topic_opt_in_recomputes_that_user(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # her opt-ins decide which sensitive topics she may be given: before, with them out of her digest, her rows from
    # before the opt-in were copied on
    engine = setup_db(tmp_path, "opt-in", sample_lines())
    first = run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN)
    (tmp_path / "grant.jsonl").write_text(json.dumps({"user_id": "u-sensitive", "consent": "opted_in",
                                                      "sensitive_opt_in": ["health.mental-health"]}) + "\n")
    ingest_users(engine, str(tmp_path / "grant.jsonl"))
    again = run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN)
    assert again.recomputed == 1 and again.reused == first.users - 1


def interrupt_on_chunk(monkeypatch, n: int) -> None:  # type: ignore[no-untyped-def]
    """The next profile run is stopped (KeyboardInterrupt) as it starts computing its n-th chunk of users."""
    real = profile_chunk.compute_users
    calls = {"n": 0}

    def stop(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == n:
            monkeypatch.setattr(profile_chunk, "compute_users", real)
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(profile_chunk, "compute_users", stop)


def test_a_run_killed_outright_is_marked_interrupted_and_its_rows_go_after_the_next_run(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # killed (SIGKILL, power gone), a run stays "running": before, only "stopped" runs were cleaned up, and the
    # killed run's rows stayed for good (as did any run's topic scores or evidence, had those tables been left out)
    engine = setup_db(tmp_path, "killed", sample_lines())
    monkeypatch.setattr(profile_run, "USER_CHUNK", 5)
    monkeypatch.setattr(profile_run, "_stopped", lambda *args: None)  # nothing marks it: as if killed
    interrupt_on_chunk(monkeypatch, 3)
    with pytest.raises(KeyboardInterrupt):
        run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN, executor=LocalExecutor())
    with session(engine) as s:
        assert [r.status for r in s.exec(select(Run).where(Run.kind == "profile"))] == ["running"]
        assert s.exec(select(EvidencePost)).first() is not None  # two chunks' rows written
    resumed = run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN, executor=LocalExecutor())
    assert resumed.reused == 10
    with session(engine) as s:
        assert [r.status for r in s.exec(select(Run).where(Run.kind == "profile").order_by(col(Run.id)))] == [
            "interrupted", "finished"]
        for table in (ProfiledUser, TopicScore, EvidencePost):
            assert set(s.exec(select(table.run_id)).all()) == {resumed.run_id}, table


def test_a_fit_kept_by_a_run_killed_before_it_recorded_it_goes_after_the_next_run(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Killed between keeping its topic fit and recording it in its run, a run left the fit's rows for good: nothing
    read them (runs find fits by their record) and only a `forget` deleted them. A fit an interrupted run recorded,
    which a later run reuses, stays."""
    engine = setup_db(tmp_path, "killed-fit", sample_lines())
    monkeypatch.setattr(profile_run, "_stopped", lambda *args: None)  # nothing marks it: as if killed
    real = profile_run.space_basis

    def killed(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt  # just after the fit was kept, before the run records it

    monkeypatch.setattr(profile_run, "space_basis", killed)
    with pytest.raises(KeyboardInterrupt):
        run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN, executor=LocalExecutor())
    with session(engine) as s:
        killed_run = s.exec(select(Run.id).where(Run.kind == "profile")).one()
        assert s.exec(select(TopicVector.run_id)).first() == killed_run  # its fit's rows, which no run names
    monkeypatch.setattr(profile_run, "space_basis", real)
    monkeypatch.setattr(profile_run, "USER_CHUNK", 5)
    interrupt_on_chunk(monkeypatch, 2)  # this one records its fit, then is stopped
    with pytest.raises(KeyboardInterrupt):
        run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN, executor=LocalExecutor())
    last = run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN, executor=LocalExecutor())
    with session(engine) as s:
        recorded = s.exec(select(Run.id).where(Run.kind == "profile").order_by(col(Run.id))).all()[1]
        assert last.topic_vectors_run == recorded  # the stopped run's fit, reused
        assert set(s.exec(select(TopicVector.run_id)).all()) == {recorded}  # the killed run's fit is gone


def test_a_run_that_reuses_exactly_one_user_counts_everyones_topics_and_posts(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # before (a bound off by one), a run reusing one user counted only the recomputed users' topics and posts
    lines = sample_lines()
    engine = setup_db(tmp_path, "one-reused", lines)
    monkeypatch.setattr(profile_run, "USER_CHUNK", 1)
    interrupt_on_chunk(monkeypatch, 2)  # one user written, then stopped
    with pytest.raises(KeyboardInterrupt):
        run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN, executor=LocalExecutor())
    resumed = run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN, executor=LocalExecutor())
    assert resumed.reused == 1 and resumed.recomputed == resumed.users - 1
    full = setup_db(tmp_path, "one-full", lines)
    whole = run_profile(full, EmbeddingCache(full, FakeEncoder()), as_of=WHEN, executor=LocalExecutor())
    assert (resumed.inferred_topics, resumed.posts) == (whole.inferred_topics, whole.posts)
    with session(engine) as s:
        inferred = s.exec(select(TopicScore.id).where(TopicScore.run_id == resumed.run_id)
                          .where(TopicScore.status == "inferred")).all()
        posts = s.exec(select(Post.id).where(col(Post.user_id).in_(eligible_users(engine)))
                       .where(col(Post.created_at) <= WHEN)).all()
    assert (resumed.inferred_topics, resumed.posts) == (len(inferred), len(posts))
    with session(engine) as s:
        stats = json.loads(s.get(Run, resumed.run_id).stats)  # type: ignore[union-attr]
    assert (stats["inferred_topics"], stats["posts"]) == (len(inferred), len(posts))


def test_runs_with_another_model_between_read_only_their_own_models_vectors(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # before, a run read whichever model's stored vector came for a text: of another size, the run failed
    engine = setup_db(tmp_path, "models", sample_lines())
    assert FakeEncoder(dim=64).name != FakeEncoder(dim=32).name
    run_profile(engine, EmbeddingCache(engine, FakeEncoder(dim=64)), as_of=WHEN)
    first = snapshot(engine)
    other = run_profile(engine, EmbeddingCache(engine, FakeEncoder(dim=32)), as_of=WHEN)
    assert other.reused == 0 and other.recomputed == other.users
    back = run_profile(engine, EmbeddingCache(engine, FakeEncoder(dim=64)), as_of=WHEN)
    assert back.embedded == 0 and snapshot(engine) == first


def test_a_run_with_a_new_model_embeds_every_text_anew_in_its_embed_stage(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # before, texts with another model's vector were taken as embedded by the embed stage: they were encoded later,
    # outside it, and the run's count of embedded texts left them out
    engine = setup_db(tmp_path, "new-model", sample_lines())
    run_profile(engine, EmbeddingCache(engine, FakeEncoder(dim=64)), as_of=WHEN)
    fake = FakeEncoder(dim=32)
    switched = run_profile(engine, EmbeddingCache(engine, fake), as_of=WHEN)
    with session(engine) as s:
        stored = len(s.exec(select(Embedding.text_key).where(Embedding.model == fake.name)).all())
    assert switched.embedded == fake.encoded_texts == stored > 0


def _posts(engine, counts: dict[str, int], at: int = WHEN) -> None:  # type: ignore[no-untyped-def]
    """``counts[user]`` posts by each user, all written at ``at``."""
    with session(engine) as s:
        for user, n in counts.items():
            for i in range(n):
                key = f"{user}-{i}-{at}"
                s.add(Post(post_id=key, user_id=user, text="x", created_at=at, text_key=key))
        s.commit()


def _kept_fit(engine, basis: str, ids: list[str], vectors: np.ndarray,  # type: ignore[no-untyped-def]
              forced: bool = False) -> topic_fit.Fit:
    """A fit kept under a new profile run as of ``WHEN`` (masses 1, 2, 3, ...), as a run records it."""
    with session(engine) as s:
        run = Run(kind="profile")
        s.add(run)
        s.commit()
        run_id = int(run.id)  # type: ignore[arg-type]
    fit = topic_fit.store_fit(engine, basis, run_id, ids, vectors, np.arange(1.0, len(ids) + 1),
                              topic_fit.collection_state(engine, WHEN), forced)
    with session(engine) as s:
        s.get(Run, run_id).params = json.dumps({"topic_vectors": fit.record(ids)})  # type: ignore[union-attr]
        s.commit()
    return fit


def test_a_fit_samples_whole_users_in_hash_order_until_exactly_its_budget(engine) -> None:  # type: ignore[no-untyped-def]
    """Users are read in the order of a hash of their ids, counting their posts, and reading stops once the posts
    read reach ``max_posts``: with two posts a user and a budget of four, the first two users by hash, sorted."""
    users = [f"user-{i}" for i in range(10)]
    _posts(engine, dict.fromkeys(users, 2))
    by_hash = sorted(users, key=lambda u: (hashlib.blake2b(u.encode(), digest_size=8).digest(), u))
    chosen = topic_fit.fit_sample(engine, users, topic_fit.FitParams(max_posts=4))
    assert chosen == sorted(by_hash[:2])
    assert chosen != users[:2]  # not simply the first ids


def test_a_kept_fit_is_read_back_in_the_taxonomys_order_and_only_while_fresh(engine) -> None:  # type: ignore[no-untyped-def]
    """A kept fit is reused, each topic with its own vector and mass, by a run of the same basis while the
    collection has changed by at most 10 %; another basis, a collection grown by more, or a `forget` of a single
    post fits again; of two fresh fits the newest is used."""
    ids = ["travel", "coffee", "art"]  # not in sorted order
    _posts(engine, {"a": 60, "b": 40}, at=WHEN - 10)
    _kept_fit(engine, "basis-1", ids, np.eye(3, 4, dtype=np.float32)[::-1].copy())
    newest = _kept_fit(engine, "basis-1", ids, np.eye(3, 4, dtype=np.float32), forced=True)
    assert newest.forced and newest.record(ids)["forced"]
    again = topic_fit.reusable_fit(engine, "basis-1", ids, 4, WHEN)
    assert again is not None and again.run_id == newest.run_id
    assert np.array_equal(again.vectors, np.eye(3, 4, dtype=np.float32))  # travel's vector is travel's
    assert again.mass.tolist() == [1.0, 2.0, 3.0]
    assert topic_fit.reusable_fit(engine, "basis-2", ids, 4, WHEN) is None  # another taxonomy, model, ...
    _posts(engine, {"c": 10}, at=WHEN - 1)  # 10 % more posts: still fresh
    assert topic_fit.reusable_fit(engine, "basis-1", ids, 4, WHEN) is not None
    _posts(engine, {"c": 1}, at=WHEN)  # posts written at the day's last second count
    assert topic_fit.collection_state(engine, WHEN)[0] == 111
    assert topic_fit.reusable_fit(engine, "basis-1", ids, 4, WHEN) is None
    assert topic_fit.reusable_fit(engine, "basis-1", ids, 4, WHEN - 1) is not None  # as of then: 110 posts
    with session(engine) as s:
        s.add(ForgottenPost(key_hash="a deleted post"))
        s.commit()
    assert topic_fit.reusable_fit(engine, "basis-1", ids, 4, WHEN - 1) is None


def test_pool_workers_open_the_database_the_command_opened(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """What a worker is given to open: a SQLite file by its absolute path (not relative to a folder it may not share),
    a server's URL whole, its password included (a masked one cannot log in); nothing for an in-memory database."""
    from sqlalchemy import create_engine

    from matcher.store import db_url
    from matcher.workers import database_arg

    monkeypatch.chdir(tmp_path)
    assert database_arg(create_engine("sqlite:///rel.db")) == str(tmp_path / "rel.db")
    assert [database_arg(create_engine(url)) for url in ("sqlite://", "sqlite:///:memory:")] == [None, None]
    url = "postgresql+psycopg://ann:secretpw@db.example:5432/pm"
    # as the operator wrote it (a worker's error shows it; before, the driver's form), driving the same driver
    assert database_arg(create_engine(url)) == "postgresql://ann:secretpw@db.example:5432/pm"
    assert db_url(database_arg(create_engine(url))) == url


def test_pool_results_come_in_the_order_of_the_chunks_with_a_bounded_number_in_flight() -> None:
    """in_order: each chunk's result in the order of the chunks; at most ``in_flight`` chunks handed out and not read
    back, besides the one just handed out (a run of a million users does not queue them all at once); a chunk with
    no users gives None without a task."""
    from matcher.workers import in_order

    outstanding: list[list[str]] = []
    most = 0

    def submit(users: list[str]) -> list[str]:
        nonlocal most
        outstanding.append(users)
        most = max(most, len(outstanding))
        return users

    def result(users: list[str]) -> str:
        outstanding.remove(users)
        return ",".join(users)

    jobs = [(1, ["a"]), (2, []), (3, ["b", "c"]), (4, ["d"]), (5, ["e"]), (6, ["f"])]
    assert list(in_order(submit, result, jobs, 2)) == [(1, "a"), (2, None), (3, "b,c"), (4, "d"), (5, "e"), (6, "f")]
    assert most == 3 and outstanding == []  # 2, and the one just handed out


def test_the_cache_embeds_each_text_once_per_model_and_gives_vectors_in_the_order_asked(engine) -> None:  # type: ignore[no-untyped-def]
    """``vectors`` encodes only the texts with no vector for this model (a repeated text once), gives every text's
    vector in the order asked, and encodes nothing it has stored; another model's vectors are its own."""
    fake = FakeEncoder()
    cache = EmbeddingCache(engine, fake)
    texts = ["cheap flights to lisbon", "espresso grinder review", "cheap flights to lisbon"]
    first = cache.vectors(texts)
    assert fake.encoded_texts == cache.encoded == 2
    assert first.flags.writeable and cache.get([text_key(texts[1])]).flags.writeable  # the caller's own arrays
    assert first.tobytes() == FakeEncoder().encode(texts).tobytes()
    again = cache.vectors(texts[::-1] + ["sourdough starter"])
    assert fake.encoded_texts == 3 and again[:3].tobytes() == first[::-1].tobytes()  # only the new text
    keys = {text_key(t): t for t in texts}
    assert cache.missing(keys) == set() and cache.fill(keys) == 0 and fake.encoded_texts == 3
    other = EmbeddingCache(engine, FakeEncoder(dim=32))
    assert other.missing(keys) == set(keys) and other.fill(keys) == 2 and other.get(list(keys)).shape == (2, 32)


def test_a_vector_already_stored_for_a_text_is_kept(engine) -> None:  # type: ignore[no-untyped-def]
    """``store_vectors`` keeps the first vector stored for a key (a run beside this one may store it too)."""
    cache = EmbeddingCache(engine, FakeEncoder(dim=4))
    cache.store_vectors(["k"], np.array([[1, 0, 0, 0]], dtype=np.float32))
    cache.store_vectors(["k", "j"], np.array([[0, 1, 0, 0], [0, 0, 1, 0]], dtype=np.float32))
    assert cache.get(["j", "k"]).tolist() == [[0, 0, 1, 0], [1, 0, 0, 0]]


def test_the_texts_missing_are_those_with_no_vector_for_this_model(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """``missing_chunks`` streams every post text and context (as embedded, ``embed_form``) with no vector for this
    model, another model's vectors notwithstanding; ``count_missing`` counts texts and contexts."""
    engine = setup_db(tmp_path, "missing", sample_lines())
    with session(engine) as s:
        rows = s.exec(select(Post.text_key, Post.text, Post.context_key, Post.context)).all()
    texts = {k: embed_form(t) for k, t, _, _ in rows}
    contexts = {k: embed_form(c) for _, _, k, c in rows if k}
    assert contexts and count_missing(engine, "fake-64") == len(texts) + len(contexts)
    assert {k: t for chunk in missing_chunks(engine, "fake-64", size=50) for k, t in chunk.items()} == texts | contexts
    assert embed_new_posts(engine, EmbeddingCache(engine, FakeEncoder(dim=64))) == len(texts | contexts)
    assert count_missing(engine, "fake-64") == 0 and list(missing_chunks(engine, "fake-64")) == []
    assert count_missing(engine, "fake-32") == len(texts) + len(contexts)  # before: another model's vectors counted
    assert {k for chunk in missing_chunks(engine, "fake-32") for k in chunk} == set(texts) | set(contexts)


def test_vectors_no_post_uses_any_more_are_dropped_and_those_of_contexts_kept(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """``drop_unreferenced`` deletes only the vectors of keys no post's text or context uses, of this model."""
    engine = setup_db(tmp_path, "drop", sample_lines())
    cache = EmbeddingCache(engine, FakeEncoder())
    embed_new_posts(engine, cache)
    with session(engine) as s:
        text, context = s.exec(select(Post.text_key, Post.context_key)
                               .where(col(Post.context_key).is_not(None))).first()
    cache.vectors(["a topic description"])
    gone = text_key("a topic description")
    assert drop_unreferenced(engine, cache.name, {text, context, gone}) == 1
    assert cache.missing([text, context, gone]) == {gone}
    assert drop_unreferenced(engine, cache.name, set()) == 0


def test_the_embed_stage_reports_its_total_first_then_each_batch(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """``embed_new_posts`` gives its progress the total to embed before it starts (a bar with its end at once; under
    a consent policy, of the users it covers), then each batch stored; it returns how many texts it embedded, the
    extra ones included."""
    engine = setup_db(tmp_path, "progress", sample_lines())
    stranger = {"post_id": "x-1", "user_id": "u-unknown", "text": "Kayaking the fjords this summer with my brother.",
                "created_at": "2024-07-01T00:00:00Z"}  # no consent given: stored under opt-out, not read under opt-in
    (tmp_path / "stranger.jsonl").write_text(json.dumps(stranger) + "\n", encoding="utf-8")
    ingest_posts(engine, str(tmp_path / "stranger.jsonl"), policy="opt-out")
    total = count_missing(engine, "fake-64", "opt-in")
    assert total == count_missing(engine, "fake-64") - 1
    calls: list[tuple[str, int, int | None]] = []
    done = embed_new_posts(engine, EmbeddingCache(engine, FakeEncoder()), ["a topic description"],
                           lambda *call: calls.append(call), policy="opt-in")
    assert calls[0] == ("embed", 0, total) and {t for _, _, t in calls} == {total}
    assert sum(n for _, n, _ in calls) == done - 1 > 0  # every post text and context; the topic text unreported


def test_the_time_spent_encoding_adds_up_over_every_batch(engine) -> None:  # type: ignore[no-untyped-def]
    """``encode_seconds`` sums the encoder's time over every call (a run reports it beside its own time)."""
    class Slow(FakeEncoder):
        def encode(self, texts: list[str]) -> np.ndarray:
            time.sleep(0.05)
            return super().encode(texts)

    cache = EmbeddingCache(engine, Slow())
    cache.vectors(["espresso grinder"])
    cache.vectors(["cheap flights"])
    assert cache.encode_seconds >= 0.1
