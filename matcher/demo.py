"""The demo: the whole pipeline on the shipped sample data (about 30 fictional users, 60 perks)."""

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import select

from catalog.refresh import live_perks, read_catalog, refresh
from matcher.assignments import match_records
from matcher.embed import EmbeddingCache
from matcher.engine_local import Progress
from matcher.errors import PerkmatchError
from matcher.ingest import ingest_posts, ingest_users
from matcher.match import run_match
from matcher.profile_run import run_profile
from matcher.records import to_epoch
from matcher.store import Post, Topic, User, session, shown_db
from matcher.taxonomy import default_taxonomy_path, load_topics, topic_sets
from matcher.taxonomy_files import read_taxonomy
from matcher.topic_records import user_topics

AS_OF = "2026-11-20T00:00:00Z"  # the sample data ends mid-November 2026: a fixed date keeps the demo repeatable
SPOTLIGHT = "u-maya"
# Accounts that gamed Klout, and the topic their behaviour must not earn them (None: no topic at all).
GAMING = {"u-firehose": ("posts on everything, all day, with next to no engagement", None),
          "u-oneviral": ("one viral basketball post; otherwise writes about baking", "sports.basketball"),
          "u-burst": ("15 crypto posts in one day", None),
          "u-spammer": ("the same sneaker promo, 30 times", None),
          "u-resharer": ("only reshares other people's running posts", None)}


def sample_path(name: str) -> str:
    return str(resources.files("matcher").joinpath(f"data/sample/{name}"))


@dataclass(frozen=True)
class DemoResult:
    topics: list[dict[str, Any]]
    assignments: list[dict[str, Any]]
    catalog: dict[str, Any]  # the refresh's summary


def check_demo_database(engine: Engine) -> None:
    """Refuse a database holding anything but the demo's own data: the demo would mix the sample people into it,
    and its catalog refresh would retire the live perks, or put back the sample's text of perks edited since (a
    re-run on the demo's own database is fine)."""
    people = {json.loads(line)["user_id"] for name in ("users.jsonl", "posts.jsonl")
              for line in Path(sample_path(name)).read_text(encoding="utf-8").splitlines() if line.strip()}
    with session(engine) as s:
        stored = set(s.exec(select(User.user_id)).all()) | set(s.exec(select(Post.user_id).distinct()).all())
        topics = set(s.exec(select(Topic.topic_id)).all())
        perks = {p.perk_id: p.content_hash for p in live_perks(s)}
    sample = {p.perk_id: p.content_hash() for p in read_catalog(sample_path("catalog.yaml"))}
    held = [what for what, found in (
        ("other people's posts or users", stored - people),
        ("another taxonomy", topics and topics != {t.topic_id for t in read_taxonomy(default_taxonomy_path())}),
        ("another catalog", set(perks) - set(sample)),
        ("edited sample perks", {k for k, h in perks.items() if k in sample and sample[k] != h})) if found]
    if held:
        where = engine.url.database if engine.url.get_backend_name() == "sqlite" else shown_db(
            engine.url.render_as_string(hide_password=False))  # a PostgreSQL URL whole (its password masked)
        raise PerkmatchError(f"--db {where or engine.url}: this database holds {' and '.join(held)}; the "
                             "demo would mix its sample data in and retire or overwrite the live perks. Leave --db out "
                             "(the demo then uses a temporary database) or give the path of a new one")


def run_demo(engine: Engine, cache: EmbeddingCache, progress: Progress | None = None) -> DemoResult:
    check_demo_database(engine)
    load_topics(engine)
    ingest_users(engine, sample_path("users.jsonl"))
    ingest_posts(engine, sample_path("posts.jsonl"))
    with session(engine) as s:
        known, sensitive = topic_sets(s)
        catalog = refresh(s, sample_path("catalog.yaml"), cache, topics=known, sensitive=sensitive).summary()
    run_profile(engine, cache, as_of=to_epoch(AS_OF), progress=progress)
    run_match(engine, cache)
    return DemoResult(user_topics(engine), match_records(engine), catalog)
