"""The demo: the whole pipeline on the shipped sample data (about 30 fictional users, 60 perks)."""

from dataclasses import dataclass
from importlib import resources
from typing import Any

from sqlalchemy import Engine

from catalog.refresh import refresh
from matcher.embed import EmbeddingCache
from matcher.explain import match_records, user_topics
from matcher.ingest import ingest_posts, ingest_users
from matcher.match import run_match
from matcher.profile_run import Progress, run_profile
from matcher.records import to_epoch
from matcher.store import session
from matcher.taxonomy import load_topics, topic_sets

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
    catalog: dict[str, int | None]


def run_demo(engine: Engine, cache: EmbeddingCache, progress: Progress | None = None) -> DemoResult:
    load_topics(engine)
    ingest_users(engine, sample_path("users.jsonl"))
    ingest_posts(engine, sample_path("posts.jsonl"))
    with session(engine) as s:
        known, sensitive = topic_sets(s)
        catalog = refresh(s, sample_path("catalog.yaml"), cache, topics=known, sensitive=sensitive).summary()
    run_profile(engine, cache, as_of=to_epoch(AS_OF), progress=progress)
    run_match(engine, cache)
    return DemoResult(user_topics(engine), match_records(engine), catalog)
