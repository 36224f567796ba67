#!/usr/bin/env python3
"""End-to-end throughput benchmark: encoder, profile, match, and peak memory.

    python scripts/bench.py [--posts 20000] [--encoder real|fake] [--json] [--keep DIR]

Posts are generated from the shipped sample posts (each made distinct, so every one is embedded) and spread
over posts/25 consenting users; a 1,000-perk catalog is generated too. Prints:
  encoder_posts_per_s   the bare encoder on a sample of those texts (up to 5,000)
  ingest_posts_per_s    `ingest` of the posts file
  profile_posts_per_s   `profile` end to end (embedding included)
  overhead_share        share of `profile` wall time spent outside the encoder
  match_users_per_s     `match` (candidates, eligibility, exact assignment, writing)
  peak_rss_mb           peak resident memory of this process
"""

import argparse
import json
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

from matcher.demo import sample_path
from matcher.embed import EmbeddingCache
from matcher.encoder import FakeEncoder, load_encoder
from matcher.ingest import ingest_posts, ingest_users
from matcher.match import run_match
from matcher.profile_run import run_profile
from matcher.records import embed_form
from matcher.store import open_engine, session

THEMES = ["travel", "coffee", "running", "gaming", "films", "cooking", "photography", "cycling", "books", "music"]


def write_posts(path: Path, n: int, seed: int) -> int:
    rng = random.Random(seed)
    base = [json.loads(line)["text"] for line in Path(sample_path("posts.jsonl")).read_text().splitlines()]
    users = max(1, n // 25)
    with path.open("w") as f:
        for i in range(n):
            text = f"{rng.choice(base)} ({rng.choice(THEMES)} note {i})"
            f.write(json.dumps({"post_id": f"b{i}", "user_id": f"u{i % users}", "text": text,
                                "created_at": 1_700_000_000 + rng.randrange(0, 600 * 86_400),
                                "likes": rng.randrange(0, 30), "replies": rng.randrange(0, 5),
                                "shares": rng.randrange(0, 3)}) + "\n")
    (path.parent / "users.jsonl").write_text(
        "".join(json.dumps({"user_id": f"u{u}", "consent": "opted_in", "region": "US"}) + "\n" for u in range(users)))
    return users


def write_catalog(path: Path, n: int = 1000) -> None:
    with path.open("w") as f:
        for i in range(n):
            theme = THEMES[i % len(THEMES)]
            f.write(json.dumps({"perk_id": f"k{i}", "brand": f"Brand {i % 300}", "title": f"{theme} perk {i}",
                                "description": f"A {theme} offer number {i} for people who love {theme}.",
                                "quantity": 5 + i % 20}) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--posts", type=int, default=20_000)
    ap.add_argument("--encoder", choices=["real", "fake"], default="real")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--keep", help="work in this folder and keep it (default: a temporary folder)")
    a = ap.parse_args()
    folder = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(prefix="perkmatch-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    users = write_posts(folder / "posts.jsonl", a.posts, a.seed)
    write_catalog(folder / "catalog.jsonl")
    encoder = load_encoder() if a.encoder == "real" else FakeEncoder(dim=384)
    texts = [embed_form(json.loads(line)["text"]) for line in (folder / "posts.jsonl").open()][:5000]
    start = time.perf_counter()
    encoder.encode(sorted(texts, key=len))
    encoder_rate = len(texts) / (time.perf_counter() - start)
    engine = open_engine(str(folder / "bench.db"))
    cache = EmbeddingCache(engine, encoder)
    ingest_users(engine, str(folder / "users.jsonl"))
    start = time.perf_counter()
    ingest_posts(engine, str(folder / "posts.jsonl"))
    ingest_rate = a.posts / (time.perf_counter() - start)
    from catalog.refresh import refresh

    with session(engine) as s:
        refresh(s, str(folder / "catalog.jsonl"), cache)
    summary = run_profile(engine, cache, as_of=1_760_000_000)
    start = time.perf_counter()
    run_match(engine, cache)
    match_seconds = time.perf_counter() - start
    figures = {
        "posts": a.posts, "users": users, "encoder": encoder.name,
        "encoder_posts_per_s": round(encoder_rate, 1), "ingest_posts_per_s": round(ingest_rate, 1),
        "profile_posts_per_s": round(a.posts / summary.seconds, 1),
        "overhead_share": round(1 - summary.encode_seconds / summary.seconds, 3),
        "profile_seconds": round(summary.seconds, 1), "encode_seconds": round(summary.encode_seconds, 1),
        "match_users_per_s": round(users / match_seconds, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    if a.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:<22} {value}")
    print(f"work folder: {folder}", file=sys.stderr)


if __name__ == "__main__":
    main()
