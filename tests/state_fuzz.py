"""A model-based fuzzer of a database's life: random sequences of ingests, edits, forgets, consent and opt-in changes,
catalog refreshes, taxonomy reloads and profile and match runs (library calls, fake encoder, 5-30 users of 3-40 posts),
each step checked against a model of what must be stored and against the invariants below. ``tests/test_state_fuzz.py``
runs a few sequences; ``python -m tests.state_fuzz FIRST-LAST [STEPS] [--shrink]`` runs more, and shrinks a failing one.

After every step:
- the posts and users stored are the model's (what ingest, forget, consent stored or deleted);
- a forgotten user or deleted post leaves no row, evidence, assignment, digest, vector or text (the file's bytes
  included) behind, and never comes back; only users stored with consent are profiled or matched;
- a sensitive topic is stored, cited or matched only for users opted in to it;
- a profile run's topics are those of a full recomputation with the same topic fit: the database copied, the run
  repeated as of the same day with ``incremental.reusable`` finding nobody to copy (the fit is reused, the collection
  being the same); after a withdrawn opt-in, the reworked users' topics are too (unless posts moved meanwhile);
- `topics --changes` and `match --changes` state a cause for every change (competition only for scarce perks);
- a match never exceeds a perk's quantity, per-user or per-brand limits, regions, offer dates or opt-ins.
At the end, the final inputs ingested into fresh databases in order and shuffled in random batches give the same
topics and matches, and so does the database itself once its topic vectors are fitted again.

Differences the design makes legitimate, and left out of the comparisons: ``stored_again`` on evidence (a post
stored again after the run read it: a later run's copy has none); the database's own topics before a refit (its
fit may be an earlier one, kept until the posts change by 10 %); match records across histories (``catalog_since``
notes follow the catalog's versions).
"""

import contextlib
import datetime as dt
import json
import random
import sqlite3
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import text

from catalog.refresh import refresh, text_key
from matcher import incremental
from matcher.assignments import match_records
from matcher.changes import assignment_changes, topic_changes
from matcher.embed import EmbeddingCache
from matcher.encoder import FakeEncoder
from matcher.errors import NotReadyError
from matcher.forget import forget, forget_posts, opt_in
from matcher.ingest import ingest
from matcher.match import run_match
from matcher.profile_run import run_profile
from matcher.records import embed_form
from matcher.rework import rework_withdrawn
from matcher.store import open_engine, session
from matcher.taxonomy import read_taxonomy, store_taxonomy
from matcher.topic_records import every_user_topics
from matcher.user_export import export_user

DAY0 = 1_735_732_800  # 2025-01-01 12:00 UTC
TAXONOMY = [
    {"topic_id": "travel", "name": "Travel", "description": "flights airport lounge travel trips"},
    {"topic_id": "food", "name": "Food", "description": "food cooking recipes kitchen dinner"},
    {"topic_id": "coffee", "name": "Coffee", "description": "coffee espresso beans roast brewing",
     "parent_id": "food"},
    {"topic_id": "music", "name": "Music", "description": "music concerts guitar songs albums"},
    {"topic_id": "health", "name": "Health", "description": "doctor therapy medicine clinic", "sensitive": True},
    {"topic_id": "sleep", "name": "Sleep", "description": "sleep insomnia nights rest", "parent_id": "health"},
]
TAXONOMIES = [TAXONOMY, [t for t in TAXONOMY if t["topic_id"] != "sleep"]]  # reloaded: without Sleep, and back
SENSITIVE = {"health": {"health", "sleep"}, "sleep": {"sleep"}}  # an opt-in covers the topic and those under it
WORDS = {t["topic_id"]: t["description"].split() for t in TAXONOMY}
FILLER = "today really great again little morning weekend friends city long".split()
REGIONS = ["US-NY", "US-NJ", "US", "GB", "GB-LND", None]
PERKS = [
    {"perk_id": "lounge", "brand": "Sky", "title": "Lounge pass", "description": "airport lounge flights travel"},
    {"perk_id": "trips", "brand": "Roam", "title": "Trips credit", "description": "travel trips flights airport"},
    {"perk_id": "beans", "brand": "Bean", "title": "Beans", "description": "coffee beans roast espresso"},
    {"perk_id": "brew", "brand": "bean ", "title": "Brew kit", "description": "coffee brewing espresso"},
    {"perk_id": "cook", "brand": "Pan", "title": "Cook class", "description": "cooking recipes kitchen food"},
    {"perk_id": "gig", "brand": "Loud", "title": "Gig tickets", "description": "music concerts songs"},
    {"perk_id": "strings", "brand": "Loud", "title": "Guitar strings", "description": "guitar songs music albums"},
    {"perk_id": "clinic", "brand": "Med", "title": "Clinic", "description": "doctor therapy medicine clinic"},
    {"perk_id": "pillow", "brand": "Rest", "title": "Pillow", "description": "sleep insomnia rest nights"},
]
ABOUT_SENSITIVE = {"clinic": "health", "pillow": "sleep"}  # written about a sensitive topic's words alone
DAYS = [40, 90, 150, 220, 320]  # the days (of 2025) profile runs are as of


def day(n: int) -> int:
    return DAY0 + n * 86_400


def end_of(n: int) -> int:
    return DAY0 - 12 * 3600 + (n + 1) * 86_400 - 1


class Violation(AssertionError):
    pass


# ---------------------------------------------------------------------------------------------------- generation


def uid(i: int) -> str:
    return f"usr{i:02d}q"


def post_text(rng: random.Random, topic: str, marker: str) -> str:
    words = rng.sample(WORDS[topic], rng.randint(2, 4)) + rng.sample(FILLER, rng.randint(0, 2))
    rng.shuffle(words)
    return " ".join(words + [marker])


def gen_post(rng: random.Random, user: str, n: int, texts: list[str], topics: list[str]) -> dict[str, Any]:
    row: dict[str, Any] = {"post_id": f"{user}-p{n}", "user_id": user, "created_at": day(rng.randint(0, 300)),
                           "likes": rng.choice([0, 1, 2, 3, 5, 8, 20, 60]), "replies": rng.choice([0, 0, 1, 4])}
    if texts and rng.random() < 0.08:
        row["text"] = rng.choice(texts)  # another's words, word for word (a copy)
    else:
        row["text"] = post_text(rng, rng.choice(topics), f"mk{user[3:5]}x{n}z{rng.randint(0, 999)}")
    if texts and rng.random() < 0.1:
        row["context"] = rng.choice(texts)  # a reply quoting another post whole
    return row


def gen_perk(rng: random.Random, base: dict[str, Any]) -> dict[str, Any]:
    perk = dict(base)
    if rng.random() < 0.4:
        perk["quantity"] = rng.choice([0, 1, 1, 2, 3])
    if rng.random() < 0.3:
        perk["regions"] = rng.sample(["US", "US-NY", "GB", "GB-ENG"], rng.randint(1, 2))
    if rng.random() < 0.25:
        start = rng.randint(0, 300)
        perk["starts"] = str(dt.date(2025, 1, 1) + dt.timedelta(days=start))
        perk["ends"] = str(dt.date(2025, 1, 1) + dt.timedelta(days=start + rng.randint(0, 150)))
    if rng.random() < 0.1:
        perk["description"] += " " + rng.choice(FILLER)
    return perk


def gen_ops(seed: int, steps: int) -> list[tuple]:
    """A random sequence of operations; the ids it names are plausible, not always valid (ops on ones gone are
    applied all the same: a forget of someone forgotten, posts of someone opted out)."""
    rng = random.Random(seed)
    n_users = rng.randint(5, 30)
    interests = {uid(i): rng.sample(list(WORDS), rng.randint(1, 3)) for i in range(n_users)}
    known: list[str] = []
    posts: dict[str, dict[str, Any]] = {}
    counter: Counter[str] = Counter()
    ops: list[tuple] = []

    def user_row(user: str, first: bool) -> dict[str, Any]:
        row: dict[str, Any] = {"user_id": user}
        if first or rng.random() < 0.3:
            row["consent"] = rng.choice(["opted_in"] * 8 + ["opted_out", None])
        if first or rng.random() < 0.3:
            row["region"] = rng.choice(REGIONS)
        if rng.random() < (0.3 if first else 0.2):
            row["sensitive_opt_in"] = rng.sample(["health", "sleep"], rng.randint(0, 2))
        return {k: v for k, v in row.items() if v is not None}

    def new_posts(user: str, n: int) -> list[dict[str, Any]]:
        out = []
        for _ in range(n):
            counter[user] += 1
            row = gen_post(rng, user, counter[user], [p["text"] for p in posts.values()], interests[user])
            posts[row["post_id"]] = row
            out.append(row)
        return out

    batch = [uid(i) for i in range(rng.randint(2, n_users))]
    known += batch
    ops.append(("users", [user_row(u, True) for u in batch]))
    ops.append(("posts", [p for u in batch for p in new_posts(u, rng.randint(3, 40))]))
    ops.append(("catalog", [gen_perk(rng, p) for p in rng.sample(PERKS, rng.randint(3, len(PERKS)))]))
    for _ in range(steps):
        kind = rng.choices(["users", "posts", "edit", "forget", "optout", "optin", "forget_posts", "catalog",
                            "profile", "match", "opt_ins", "taxonomy"], [2, 4, 3, 1, 1, 1, 1, 2, 5, 4, 3, 1])[0]
        if kind == "users" and len(known) < n_users:
            batch = [uid(i) for i in range(len(known), min(n_users, len(known) + rng.randint(1, 4)))]
            known += batch
            ops.append(("users", [user_row(u, True) for u in batch]))
            ops.append(("posts", [p for u in batch for p in new_posts(u, rng.randint(3, 40))]))
        elif kind == "posts":
            ops.append(("posts", [p for u in rng.sample(known, min(len(known), rng.randint(1, 3)))
                                  for p in new_posts(u, rng.randint(1, 6))]))
        elif kind == "edit" and posts:
            rows = []
            for pid in rng.sample(sorted(posts), min(len(posts), rng.randint(1, 5))):
                row = dict(posts[pid])
                what = rng.choice(["text", "likes", "replies", "created_at", "context"])
                if what == "text":
                    counter[row["user_id"]] += 1
                    row["text"] = post_text(rng, rng.choice(interests[row["user_id"]]),
                                            f"mk{row['user_id'][3:5]}e{counter[row['user_id']]}z")
                elif what == "context":
                    row["context"] = rng.choice([p["text"] for p in posts.values()])
                elif what == "created_at":
                    row["created_at"] = day(rng.randint(0, 300))
                else:
                    row[what] = rng.choice([0, 2, 9, 30, 100])
                if rng.random() < 0.15:  # an older version of the row first, in the same file: the last row wins
                    rows.append(dict(row, likes=rng.choice([0, 7]), text=row["text"] + " again"))
                posts[pid] = row
                rows.append(row)
            ops.append(("posts", rows))
        elif kind in ("forget", "optout", "optin"):
            ops.append((kind, rng.choice(known)))
        elif kind == "forget_posts" and posts:
            user = rng.choice(sorted({p["user_id"] for p in posts.values()}))
            mine = sorted(pid for pid, p in posts.items() if p["user_id"] == user)
            ops.append(("forget_posts", user, rng.sample(mine, min(len(mine), rng.randint(1, 3)))))
        elif kind == "opt_ins":
            ops.append(("users", [{"user_id": u, "sensitive_opt_in": rng.sample(["health", "sleep"], rng.randint(0, 2))}
                                  for u in rng.sample(known, min(len(known), rng.randint(1, 3)))]))
        elif kind == "catalog":
            ops.append(("catalog", [gen_perk(rng, p) for p in rng.sample(PERKS, rng.randint(2, len(PERKS)))]))
        elif kind == "profile" and rng.random() < 0.15:
            ops.append(("stopped", rng.choice(DAYS), rng.randint(0, 3)))  # Ctrl-C after some chunks are written
        elif kind == "profile":
            ops.append(("profile", rng.choice(DAYS)))
        elif kind == "taxonomy":
            ops.append(("taxonomy", rng.randrange(len(TAXONOMIES))))
        elif kind == "match":
            limits = (rng.choice([1, 2, 3, 3, 3]), rng.choice([1, 1, 1, 2])) if rng.random() < 0.3 else ()
            ops.append(("match", *limits, *([rng.choice(DAYS)] if limits and rng.random() < 0.5 else [])))
            if rng.random() < 0.2:
                ops.append(("dry_run",))
    ops.append(("profile", rng.choice(DAYS)))
    ops.append(("match",))
    return ops


# ---------------------------------------------------------------------------------------------------- the model


@dataclass
class Model:
    users: dict[str, dict[str, Any]] = field(default_factory=dict)  # user -> consent, region, opt_ins
    posts: dict[str, dict[str, Any]] = field(default_factory=dict)  # post id -> the row stored
    opted_out: set[str] = field(default_factory=set)
    deleted_posts: set[str] = field(default_factory=set)  # `forget --post`: never stored again
    forgotten_texts: set[str] = field(default_factory=set)  # texts of deleted posts no other post had (a text
    # another post still had is theirs too: its vector may stay once that post is edited)
    gone_users: set[str] = field(default_factory=set)
    gone_pks: set[int] = field(default_factory=set)
    catalog: list[dict[str, Any]] = field(default_factory=list)
    profiled: bool = False
    moved: bool = False  # posts or users changed since the last profile run
    taxonomy: int = 0  # which of ``TAXONOMIES`` is loaded

    def ingest_users(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            user = row["user_id"]
            if row.get("consent") == "opted_out":
                self.delete_user(user)
                self.opted_out.add(user)
                continue
            if user in self.opted_out:
                continue
            stored = self.users.get(user)
            if stored is None:
                stored = {"consent": row.get("consent"), "region": row.get("region"),
                          "opt_ins": sorted(set(row.get("sensitive_opt_in", [])))}
                self.users[user] = stored
                self.gone_users.discard(user)
                continue
            for key, name in (("consent", "consent"), ("region", "region")):
                if row.get(key) is not None:
                    stored[name] = row[key]
            if "sensitive_opt_in" in row:
                stored["opt_ins"] = sorted(set(row["sensitive_opt_in"]))

    def ingest_posts(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            user = row["user_id"]
            if user in self.opted_out or (self.users.get(user) or {}).get("consent") != "opted_in":
                continue
            if row["post_id"] in self.deleted_posts:
                continue
            stored = dict(row)
            if stored.get("context") in self.forgotten_texts:
                stored.pop("context")
            self.posts[row["post_id"]] = stored

    def delete_posts(self, ids: list[str]) -> None:
        texts = {self.posts[i]["text"] for i in ids if i in self.posts}
        for i in ids:
            self.posts.pop(i, None)
        still = {p["text"] for p in self.posts.values()}
        gone = texts - still
        self.forgotten_texts |= gone
        for p in self.posts.values():
            if p.get("context") in gone:
                p.pop("context")

    def delete_user(self, user: str) -> None:
        self.delete_posts([i for i, p in self.posts.items() if p["user_id"] == user])
        self.users.pop(user, None)
        self.gone_users.add(user)

    def eligible(self) -> set[str]:
        return {u for u, r in self.users.items() if r["consent"] == "opted_in"}

    def shown(self, user: str) -> set[str]:
        """The sensitive topics the user may be given."""
        return {t for o in (self.users.get(user) or {}).get("opt_ins", []) for t in SENSITIVE.get(o, ())}


# ---------------------------------------------------------------------------------------------------- the world


class World:
    """One database driven by the operations, with its model."""

    def __init__(self, folder: Path, name: str = "fuzz") -> None:
        self.folder = folder
        self.db = folder / f"{name}.db"
        self.engine = open_engine(str(self.db))
        self.cache = EmbeddingCache(self.engine, FakeEncoder())
        self.model = Model()
        self.files = 0
        store_taxonomy(self.engine, read_taxonomy(self.file(".yaml", TAXONOMY)))
        self.log: list[str] = []

    def file(self, suffix: str, rows: Any) -> str:
        self.files += 1
        path = self.folder / f"f{self.files}{suffix}"
        if suffix == ".yaml":
            path.write_text(yaml.safe_dump(rows, sort_keys=False), encoding="utf-8")
        else:
            path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        return str(path)

    def apply(self, op: tuple) -> None:
        kind = op[0]
        getattr(self, f"op_{kind}")(*op[1:])

    def op_users(self, rows: list[dict[str, Any]]) -> None:
        before = self.pks()
        reports = ingest(self.engine, users=self.file(".jsonl", rows))
        withdrew = reports[0].withdrew
        if withdrew:
            rework_withdrawn(self.engine, lambda: self.cache, withdrew)
        self.model.ingest_users(rows)
        self.note_gone(before)
        if withdrew and self.model.profiled and not self.model.moved:  # what the latest run keeps of them now is
            check_full_recompute(self, sorted(withdrew))  # what it computes without the opt-ins withdrawn

    def op_posts(self, rows: list[dict[str, Any]]) -> None:
        self.model.moved = True  # (since the last profile run: posts, or who is profiled)
        ingest(self.engine, posts=self.file(".jsonl", rows))
        self.model.ingest_posts(rows)

    def op_forget(self, user: str) -> None:
        self.model.moved = True  # (since the last profile run: posts, or who is profiled)
        before = self.pks()
        if user in self.model.users or any(p["user_id"] == user for p in self.model.posts.values()):
            forget(self.engine, user)
            self.model.delete_user(user)
        self.note_gone(before)

    def op_optout(self, user: str) -> None:
        self.model.moved = True  # (since the last profile run: posts, or who is profiled)
        before = self.pks()
        forget(self.engine, user, opt_out=True)
        self.model.delete_user(user)
        self.model.opted_out.add(user)
        self.note_gone(before)

    def op_optin(self, user: str) -> None:
        self.model.moved = True  # (since the last profile run: posts, or who is profiled)
        opt_in(self.engine, user)
        self.model.opted_out.discard(user)
        stored = self.model.users.setdefault(user, {"consent": None, "region": None, "opt_ins": []})
        stored["consent"] = "opted_in"
        self.model.gone_users.discard(user)

    def op_forget_posts(self, user: str, ids: list[str]) -> None:
        self.model.moved = True  # (since the last profile run: posts, or who is profiled)
        mine = [i for i in ids if i in self.model.posts and self.model.posts[i]["user_id"] == user]
        if not mine:
            return
        before = self.pks()
        forget_posts(self.engine, user, mine)
        self.model.delete_posts(mine)
        self.model.deleted_posts.update(mine)
        self.note_gone(before)

    def op_catalog(self, perks: list[dict[str, Any]]) -> None:
        with session(self.engine) as s:
            refresh(s, self.file(".yaml", perks), self.cache, retire_all=True, topics={t["topic_id"] for t in TAXONOMY},
                    sensitive={"health", "sleep"})
        self.model.catalog = perks

    def op_taxonomy(self, variant: int) -> None:
        store_taxonomy(self.engine, read_taxonomy(self.file(".yaml", TAXONOMIES[variant])))
        self.model.moved, self.model.taxonomy = True, variant

    def op_stopped(self, on: int, chunks: int) -> None:
        """A profile run stopped (Ctrl-C) once it has written ``chunks`` chunks of 3 users: the next run goes on
        from it."""
        import matcher.profile_run as profile_run

        real, size = profile_run._write_results, profile_run.USER_CHUNK
        written = []

        def write(*args: Any, **kwargs: Any) -> None:
            if len(written) >= chunks:
                raise KeyboardInterrupt
            written.append(1)
            real(*args, **kwargs)

        profile_run._write_results, profile_run.USER_CHUNK = write, 3
        try:
            run_profile(self.engine, self.cache, as_of=end_of(on))
        except KeyboardInterrupt:
            pass
        finally:
            profile_run._write_results, profile_run.USER_CHUNK = real, size

    def op_profile(self, on: int) -> None:
        run_profile(self.engine, self.cache, as_of=end_of(on))
        self.model.profiled, self.model.moved = True, False
        check_full_recompute(self)
        check_topic_changes(self)

    def op_match(self, per_user: int = 3, per_brand: int = 1, on: int | None = None) -> None:
        if not self.model.profiled or not self.model.catalog:
            return
        try:
            summary = run_match(self.engine, self.cache, per_user=per_user, per_brand=per_brand,
                                as_of=None if on is None else end_of(on))
        except NotReadyError as exc:  # the taxonomy lost a topic the profile run inferred: profile again first
            if "the taxonomy was replaced" not in str(exc):
                raise
            return
        check_match(self, summary.run_id, per_user, per_brand)

    def op_dry_run(self) -> None:
        """`match --dry-run`: the records it would print, and nothing kept."""
        if not self.model.profiled or not self.model.catalog:
            return
        before = self.dump()
        try:
            run_match(self.engine, self.cache, read_back=lambda s, run_id: None)
        except NotReadyError as exc:
            if "the taxonomy was replaced" not in str(exc):
                raise
        if self.dump() != before:
            fail("a dry run of match changed the database")

    def dump(self) -> list[tuple]:
        tables = [r[0] for r in self.rows("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return [(t, self.rows(f'SELECT * FROM "{t}"')) for t in tables]

    def pks(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            return dict(conn.execute(text("SELECT post_id, id FROM posts")).all())

    def note_gone(self, before: dict[str, int]) -> None:
        now = self.pks()
        self.model.gone_pks |= {pk for pid, pk in before.items() if pid not in now}

    def rows(self, sql: str, **params: Any) -> list[tuple]:
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql), params)]


# ---------------------------------------------------------------------------------------------------- checks


def fail(what: str) -> None:
    raise Violation(what)


def check_stored(w: World) -> None:
    m = w.model
    posts = {r[0]: r for r in w.rows("SELECT post_id, user_id, text, context, created_at, likes, replies FROM posts")}
    want = {pid: (pid, p["user_id"], p["text"], p.get("context"), p["created_at"], p.get("likes", 0),
                  p.get("replies", 0)) for pid, p in m.posts.items()}
    if posts != want:
        diff = sorted(set(posts.items()) ^ set(want.items()))
        fail(f"posts stored differ from the model: {diff[:4]}")
    users = {r[0]: (r[1], r[2], sorted(json.loads(r[3] or "[]")))
             for r in w.rows("SELECT user_id, consent, region, sensitive_opt_in FROM users")}
    want_users = {u: (r["consent"], r["region"], r["opt_ins"]) for u, r in m.users.items()}
    if users != want_users:
        fail(f"users stored differ from the model: {sorted(set(users.items()) ^ set(want_users.items()))[:4]}")


USER_TABLES = ("users", "posts", "topic_scores", "evidence", "profiled_users", "assignments", "withheld")


def check_traces(w: World) -> None:
    m = w.model
    stored_users = set(m.users)
    for table in USER_TABLES[2:]:
        extra = {r[0] for r in w.rows(f"SELECT DISTINCT user_id FROM {table}")} - m.eligible()
        if extra:
            fail(f"{table} holds users not stored with consent: {sorted(extra)}")
    for table in USER_TABLES:
        left = {r[0] for r in w.rows(f"SELECT DISTINCT user_id FROM {table}")} & (m.gone_users - stored_users)
        if left:
            fail(f"{table} still holds forgotten users {sorted(left)}")
    pks = {r[0] for r in w.rows("SELECT id FROM posts")}
    cited = {r[0] for r in w.rows("SELECT post_pk FROM evidence")}
    for (topics,) in w.rows("SELECT topics FROM assignments"):
        cited |= {k for t in json.loads(topics) for k in t.get("posts") or []}
    if cited - pks:
        fail(f"evidence or assignments cite posts no longer stored: {sorted(cited - pks)[:5]}")
    alive = {p["text"] for p in m.posts.values()} | {p.get("context") for p in m.posts.values()}
    forbidden = m.forgotten_texts - alive
    keys = {text_key(embed_form(t)) for t in forbidden}
    vectors = {r[0] for r in w.rows("SELECT text_key FROM embeddings")} & keys
    if vectors:
        fail(f"{len(vectors)} vector(s) of deleted texts are kept")
    data = b"".join(p.read_bytes() for p in w.folder.glob(f"{w.db.name}*") if p.is_file())
    for t in sorted(forbidden):
        marker = t.split()[-1].encode()
        if marker.startswith(b"mk") and marker in data and not any(marker.decode() in a for a in alive if a):
            fail(f"the database file still holds the deleted text {t!r}")
    for user in sorted(m.gone_users - stored_users):
        if user.encode() in data:
            fail(f"the database file still holds the forgotten user id {user!r}")
    sensitive = {"health", "sleep"}
    for user, topic in w.rows("SELECT DISTINCT user_id, topic_id FROM topic_scores WHERE topic_id IN "
                              "('health', 'sleep')"):
        if topic not in m.shown(user):
            fail(f"{user} has {topic} stored without opting in to it")
    for user, perk, topics in w.rows("SELECT user_id, perk_id, topics FROM assignments"):
        named = {t["topic_id"] for t in json.loads(topics)} & sensitive
        if named - m.shown(user):
            fail(f"{user}'s {perk} cites {sorted(named)} without an opt-in")


def check_units(w: World) -> None:
    """Every match run's units stay counted: its assignments stored, and those deleted since (a forget, an opt-out, a
    withdrawn opt-in) kept as counts, add up to what it assigned, and within each perk's quantity."""
    for run_id, stats in w.rows("SELECT id, stats FROM runs WHERE kind = 'match' AND status = 'finished'"):
        stats = json.loads(stats)
        kept = Counter(dict(w.rows("SELECT perk_id, COUNT(*) FROM assignments WHERE run_id = :r GROUP BY perk_id",
                                   r=run_id)))
        units = kept + Counter(stats.get("forgotten_units", {}))
        if sum(units.values()) != stats["assignments"]:
            fail(f"match run {run_id}: {sum(units.values())} units counted, {stats['assignments']} assigned")
        version = stats["catalog_version"]
        for perk_id, quantity in w.rows("SELECT perk_id, quantity FROM perks WHERE version_added <= :v AND "
                                        "(version_retired IS NULL OR version_retired > :v) AND quantity IS NOT NULL",
                                        v=version):
            if units[perk_id] > quantity:
                fail(f"match run {run_id}: {units[perk_id]} units of {perk_id} counted, quantity {quantity}")


def topics_snapshot(engine: Any) -> list[dict[str, Any]]:
    out = list(every_user_topics(engine, candidates=True))
    for record in out:
        for topic in record["topics"]:
            for post in topic["evidence"]:
                post.pop("stored_again", None)
    return out


@contextlib.contextmanager
def nothing_reused() -> Iterator[None]:
    real = incremental.reusable
    incremental.reusable = lambda engine, sources, digests: {}
    try:
        yield
    finally:
        incremental.reusable = real


def copy_db(w: World, name: str) -> Path:
    target = w.folder / f"{name}.db"
    for p in w.folder.glob(f"{name}.db*"):
        p.unlink()
    src, dst = sqlite3.connect(w.db), sqlite3.connect(target)
    with dst:
        src.backup(dst)
    src.close()
    dst.close()
    return target


def check_full_recompute(w: World, users: list[str] | None = None) -> None:
    """The latest profile run's topics (of these users: every one by default) are those a run computing everyone
    again, with the same topic fit, gives (in a copy of the database)."""
    with w.engine.connect() as conn:
        run_id, as_of, params = conn.execute(text("SELECT id, as_of, params FROM runs WHERE kind = 'profile' AND "
                                                  "status = 'finished' ORDER BY id DESC LIMIT 1")).one()
    incremental_topics = topics_snapshot(w.engine)
    target = copy_db(w, "full")
    full = open_engine(str(target))
    try:
        with nothing_reused():
            summary = run_profile(full, EmbeddingCache(full, FakeEncoder()), as_of=as_of)
        fit = json.loads(params)["topic_vectors"]["run"]
        if users is not None and summary.topic_vectors_run != fit:
            return  # (a `forget` deleted the fit: the run could not be repeated, and its rows were trimmed)
        if summary.topic_vectors_run != fit:
            fail(f"the full recomputation fitted again (run {summary.topic_vectors_run}, not {fit})")
        again = topics_snapshot(full)
    finally:
        full.dispose()
    if users is not None:
        incremental_topics = [r for r in incremental_topics if r["user_id"] in users]
        again = [r for r in again if r["user_id"] in users]
    if again != incremental_topics:
        a = {r["user_id"]: r for r in incremental_topics}
        b = {r["user_id"]: r for r in again}
        users = sorted(u for u in set(a) | set(b) if a.get(u) != b.get(u))
        fail(f"profile run {run_id}: incremental topics differ from a full recomputation for {users}")


def check_topic_changes(w: World) -> None:
    """Every user's topic changes since the previous profile run (`topics USER --changes`) name a cause: the catch-all
    "the taxonomy or the settings changed" only where one of them did."""
    runs = w.rows("SELECT id, as_of, params FROM runs WHERE kind = 'profile' AND status = 'finished' ORDER BY id DESC "
                  "LIMIT 2")
    if len(runs) < 2:
        return
    (_, as_of, new), (_, as_of_before, old) = runs
    same = as_of == as_of_before and all(json.loads(new).get(k) == json.loads(old).get(k)
                                         for k in ("taxonomy", "policy", "rules", "topic_vectors"))
    for (user,) in w.rows("SELECT user_id FROM profiled_users WHERE run_id = :r", r=runs[0][0]):
        for change in topic_changes(w.engine, user)["changes"]:
            if not change["why"] or (same and change["why"] == "the taxonomy or the settings changed"):
                fail(f"{user}'s {change['topic_id']} changed ({change}) with no cause stated")


def covers(perk_regions: list[str], region: str | None) -> bool:
    if not perk_regions:
        return True
    if region is None:
        return False
    return any(region == r or region.startswith(r + "-") or (r == "GB-ENG" and region == "GB-LND")
               for r in perk_regions)


def check_match(w: World, run_id: int, most: int = 3, per_brand: int = 1) -> None:
    m = w.model
    with w.engine.connect() as conn:
        params, as_of = conn.execute(text("SELECT params, as_of FROM runs WHERE id = :r"), {"r": run_id}).one()
        rows = conn.execute(text("SELECT user_id, perk_id FROM assignments WHERE run_id = :r"), {"r": run_id}).all()
    version = json.loads(params)["catalog_version"]
    with w.engine.connect() as conn:
        perks = {r[0]: r for r in conn.execute(text(
            "SELECT perk_id, brand, regions, quantity, starts, ends FROM perks WHERE version_added <= :v AND "
            "(version_retired IS NULL OR version_retired > :v)"), {"v": version})}
    today = dt.datetime.fromtimestamp(as_of, dt.UTC).date()
    per_perk: Counter[str] = Counter()
    per_user: Counter[str] = Counter()
    brands: Counter[tuple[str, str]] = Counter()
    for user, perk_id in rows:
        perk = perks.get(perk_id)
        if perk is None:
            fail(f"match run {run_id}: {perk_id} is not in catalog version {version}")
        _, brand, regions, quantity, starts, ends = perk
        per_perk[perk_id] += 1
        per_user[user] += 1
        brands[(user, " ".join(brand.casefold().split()))] += 1
        if quantity is not None and per_perk[perk_id] > quantity:
            fail(f"match run {run_id}: {perk_id} given {per_perk[perk_id]} times, quantity {quantity}")
        region = (m.users.get(user) or {}).get("region")
        if not covers(json.loads(regions), region):
            fail(f"match run {run_id}: {perk_id} ({regions}) went to {user} in {region}")
        if (starts and str(today) < str(starts)) or (ends and str(today) > str(ends)):
            fail(f"match run {run_id}: {perk_id} ({starts}..{ends}) given on {today}")
        if perk_id in ABOUT_SENSITIVE and ABOUT_SENSITIVE[perk_id] not in m.shown(user):
            fail(f"match run {run_id}: {perk_id} went to {user}, not opted in to {ABOUT_SENSITIVE[perk_id]}")
    if any(n > most for n in per_user.values()) or any(n > per_brand for n in brands.values()):
        fail(f"match run {run_id}: per-user or per-brand limit exceeded")
    records = match_records(w.engine, run_id)
    if len(records) != len(rows):
        fail(f"match run {run_id}: {len(rows)} assignments stored, {len(records)} records")
    check_changes(w, run_id)


def check_changes(w: World, run_id: int) -> None:
    """Every change from the previous match run states a cause; one put down to competition alone moves no score
    and involves a perk with a quantity (in either run's catalog version)."""
    scarce = {r[0] for r in w.rows("SELECT perk_id FROM perks WHERE quantity IS NOT NULL")}
    for change in assignment_changes(w.engine, run_id):
        if not change["causes"]:
            fail(f"match run {run_id}: {change['user_id']}'s perks changed with no cause")
        if change["causes"] == ["competition: other users' changes moved scarce perks"] and (
                change["moved"] or not scarce & {*change["gained"], *change["lost"]}):
            fail(f"match run {run_id}: {change['user_id']}'s change put down to competition: {change}")


def check_step(w: World, step: int = 0) -> None:
    check_stored(w)
    check_traces(w)
    check_units(w)
    check_own_posts(w, step)


def check_own_posts(w: World, step: int) -> None:
    """What is shown of a user (topics, match records, one user's export a step) cites only their own posts."""
    def own(user: str, records: Any) -> None:
        found = {p["post_id"] for p in _posts_in(records)}
        if any(not pid.startswith(f"{user}-p") for pid in found):
            fail(f"{user}'s records cite posts of others: {sorted(found)}")

    if w.rows("SELECT id FROM runs WHERE kind = 'profile' AND status = 'finished'"):
        for record in every_user_topics(w.engine, candidates=True):
            own(record["user_id"], record)
    if w.rows("SELECT id FROM runs WHERE kind = 'match' AND status = 'finished'"):
        for record in match_records(w.engine):
            own(record["user_id"], record)
    users = sorted(w.model.users)
    if users:
        user = users[step % len(users)]
        own(user, export_user(w.engine, user))


def _posts_in(value: Any) -> Iterator[dict[str, Any]]:
    """Every post record (a dict with a post_id) anywhere in a record."""
    if isinstance(value, dict):
        if "post_id" in value:
            yield value
        for v in value.values():
            yield from _posts_in(v)
    elif isinstance(value, list):
        for v in value:
            yield from _posts_in(v)


# ---------------------------------------------------------------------------------------------------- final inputs


def replay(folder: Path, name: str, m: Model, rng: random.Random | None, as_of: int) -> tuple[list, list]:
    """The model's final inputs into a fresh database (in order, or shuffled and in random batches), profiled as of
    the same day and matched: (topics, match records)."""
    fresh = World(folder, name)
    fresh.op_taxonomy(m.taxonomy)
    users = [{"user_id": u, **({"consent": r["consent"]} if r["consent"] else {}),
              **({"region": r["region"]} if r["region"] else {}), "sensitive_opt_in": r["opt_ins"]}
             for u, r in sorted(m.users.items())]
    posts = [m.posts[i] for i in sorted(m.posts)]
    if rng is not None:
        rng.shuffle(users)
        rng.shuffle(posts)
    fresh.op_users(users)
    while posts:
        n = len(posts) if rng is None else rng.randint(1, len(posts))
        fresh.op_posts(posts[:n])
        posts = posts[n:]
    if m.catalog:
        fresh.op_catalog(m.catalog)
    run_profile(fresh.engine, fresh.cache, as_of=as_of)
    topics = topics_snapshot(fresh.engine)
    matched = match_records(fresh.engine, run_match(fresh.engine, fresh.cache).run_id) if m.catalog else []
    fresh.engine.dispose()
    return topics, matched


def strip_posts(records: list[dict[str, Any]]) -> str:
    return json.dumps(records, sort_keys=True)


def check_final(w: World, seed: int) -> None:
    m = w.model
    if not m.profiled:
        return
    with w.engine.connect() as conn:
        as_of = conn.execute(text("SELECT as_of FROM runs WHERE kind = 'profile' AND status = 'finished' "
                                  "ORDER BY id DESC LIMIT 1")).scalar_one()
    a = replay(w.folder, "in-order", m, None, as_of)
    b = replay(w.folder, "shuffled", m, random.Random(seed), as_of)
    if strip_posts(a[0]) != strip_posts(b[0]):
        fail("the same final inputs in another order and batching give other topics")
    if strip_posts(a[1]) != strip_posts(b[1]):
        fail("the same final inputs in another order and batching give other matches")
    target = copy_db(w, "refit")  # the database as its history left it, its topic vectors fitted again: the same
    refit = open_engine(str(target))  # (without the refit its fit may be an earlier one, kept until posts change 10 %)
    try:
        run_profile(refit, EmbeddingCache(refit, FakeEncoder()), as_of=as_of, refit=True)
        if strip_posts(topics_snapshot(refit)) != strip_posts(a[0]):
            fail("the database's own history gives other topics than its final inputs ingested afresh")
    finally:
        refit.dispose()


# ---------------------------------------------------------------------------------------------------- running


def run_ops(ops: list[tuple], folder: Path, seed: int = 0, final: bool = True) -> None:
    w = World(folder)
    try:
        for i, op in enumerate(ops):
            try:
                w.apply(op)
                check_step(w, i)
            except Violation as exc:
                raise Violation(f"step {i} {op[0]}: {exc}") from None
        if final:
            check_final(w, seed)
    finally:
        w.engine.dispose()


def fails(ops: list[tuple], seed: int, final: bool) -> str | None:
    with tempfile.TemporaryDirectory() as tmp:
        try:
            run_ops(ops, Path(tmp), seed, final)
        except Violation as exc:
            return str(exc)
        except Exception as exc:  # noqa: BLE001  (an error is a finding too)
            return f"{type(exc).__name__}: {exc}"
    return None


def shrink(ops: list[tuple], seed: int, final: bool, same: str) -> list[tuple]:
    """Drop operations (and rows of operations) while the failure stays of the same kind."""
    def kind(msg: str | None) -> str | None:
        return None if msg is None else msg.split(":", 2)[-1].split(" for ")[0][:60]

    want = kind(same)
    changed = True
    while changed:
        changed = False
        for i in range(len(ops)):
            if i >= len(ops):
                break
            trial = ops[:i] + ops[i + 1:]
            if kind(fails(trial, seed, final)) == want:
                ops, changed = trial, True
                break
            op = ops[i]
            if op[0] in ("users", "posts", "catalog") and len(op[1]) > 1:
                for j in range(len(op[1])):
                    trial = ops[:i] + [(op[0], op[1][:j] + op[1][j + 1:])] + ops[i + 1:]
                    if kind(fails(trial, seed, final)) == want:
                        ops, changed = trial, True
                        break
                if changed:
                    break
    return ops


def main(argv: list[str]) -> None:
    first, last = (int(x) for x in argv[0].split("-"))
    steps = int(argv[1]) if len(argv) > 1 else 12
    for seed in range(first, last + 1):
        ops = gen_ops(seed, steps)
        msg = fails(ops, seed, True)
        if msg is None:
            print(f"seed {seed}: ok ({len(ops)} ops)", flush=True)
            continue
        print(f"seed {seed}: FAIL {msg}", flush=True)
        if "--shrink" in argv:
            small = shrink(ops, seed, True, msg)
            print(f"seed {seed}: shrunk to {len(small)} ops: {fails(small, seed, True)}")
            print(json.dumps(small))
        if "--stop" in argv:
            break


if __name__ == "__main__":
    main(sys.argv[1:])
