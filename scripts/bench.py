#!/usr/bin/env python3
"""End-to-end throughput benchmark: encoder, profile, incremental profile, match, and peak memory per stage.

    python scripts/bench.py [--posts 20000] [--encoder real|fake|BACKEND] [--from POSTS] [--json] [--keep DIR]

Posts are generated from the shipped sample posts (each made distinct, so every one is embedded) over
posts/25 consenting users, each writing mostly about one to three interests; or, with --from, read from a real
posts file (JSONL, gzipped or not: e.g. ../shared/data/reddit-dev/posts.jsonl.gz, whose texts are longer and come
with thread titles): its first --posts posts, the last 1% of them held back as the new posts, their users all
consenting. A 1,000-perk
catalog is generated too. Each stage runs in a fresh process, so
its peak memory is its own. Prints:
  encoder_posts_per_s     the bare encoder on a sample of those texts (up to 5,000)
  ingest_posts_per_s      `ingest` of the posts file
  profile_posts_per_s     `profile` end to end (embedding included)
  overhead_share          share of `profile` wall time spent outside the encoder (reading texts and storing
                          vectors count as overhead; embed_seconds is the whole embedding stage)
  vocabulary_built        whether the first run built this machine's vectors of the model's vocabulary (about
                          5 s of encoding, once per machine, model and encoder: matcher/vocabulary.py)
  incremental_share       a `profile` run after adding 1% new posts, as a share of the first run's time
  incremental_embedded    texts that run embedded (should be the new posts only)
  match_users_per_s       `match` (candidates, eligibility, exact assignment, writing)
  ingest_peak_rss_mb      peak resident memory of the ingest process (likewise profile_, match_)
  peak_rss_mb             the largest of those
"""

import argparse
import concurrent.futures
import gzip
import itertools
import json
import multiprocessing
import random
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from matcher.embed import EmbeddingCache
from matcher.encoder import BACKENDS, Encoder, FakeEncoder, load_encoder
from matcher.ingest import ingest_posts, ingest_users
from matcher.profile_run import run_profile
from matcher.records import embed_form
from matcher.store import open_engine, session

AS_OF = 1_760_000_000
THEMES = ["travel", "coffee", "running", "gaming", "films", "cooking", "photography", "cycling", "books", "music"]


# the sample's gaming and consent accounts are nobody's interests (a user made of the firehose's posts is a firehose)
NOT_PERSONAS = {"u-firehose", "u-resharer", "u-oneviral", "u-spammer", "u-burst", "u-optout", "u-noconsent",
                "u-sensitive", "u-shares-health"}
OWN_SHARE = 0.85  # of a user's posts, this share is about their interests; the rest is drawn from anything


def write_posts(path: Path, n: int, seed: int, first: int = 0, users: int | None = None,
                interest_seed: int | None = None) -> int:
    """Posts b{first}..b{first+n-1} over `users` users (default n/25), streamed to a JSONL file. Each user writes
    about one to three interests, the posts of as many of the sample's users (``OWN_SHARE`` of their posts; chosen by
    ``interest_seed``, default ``seed``), and about anything now and then, as people do. Before, every post was drawn
    from the whole sample: every user posted on everything, a firehose, which rules version 35 gives no topic."""
    from matcher.demo import sample_path  # (imported here: see run_match below)

    rng = random.Random(seed)
    rows = [json.loads(line) for line in Path(sample_path("posts.jsonl")).read_text().splitlines()]
    base = [r["text"] for r in rows]
    by_persona: dict[str, list[str]] = {}
    for r in rows:
        if r["user_id"] not in NOT_PERSONAS:
            by_persona.setdefault(r["user_id"], []).append(r["text"])
    personas = sorted(by_persona)
    users = users or max(1, n // 25)
    chosen = seed if interest_seed is None else interest_seed
    interests = [random.Random(f"{chosen}-{u}").sample(personas, 1 + u % 3) for u in range(users)]
    with path.open("w") as f:
        for i in range(first, first + n):
            u = i % users
            pool = by_persona[rng.choice(interests[u])] if rng.random() < OWN_SHARE else base
            text = f"{rng.choice(pool)} ({rng.choice(THEMES)} note {i})"
            f.write(json.dumps({"post_id": f"b{i}", "user_id": f"u{u}", "text": text,
                                "created_at": 1_700_000_000 + rng.randrange(0, 600 * 86_400),
                                "likes": rng.randrange(0, 30), "replies": rng.randrange(0, 5),
                                "shares": rng.randrange(0, 3)}) + "\n")
    return users


def copy_posts(source: Path, path: Path, more: Path, n: int) -> list[str]:
    """The first n posts of a real posts file: all but the last 1% to `path`, those to `more`; their user ids."""
    opener = gzip.open if source.suffix == ".gz" else open
    with opener(source, "rt") as f:
        lines = [line if line.endswith("\n") else line + "\n" for line in itertools.islice(f, n)]
    held = max(1, len(lines) // 100)
    path.write_text("".join(lines[:-held]))
    more.write_text("".join(lines[-held:]))
    return sorted({json.loads(line)["user_id"] for line in lines})


def write_users(path: Path, users: list[str]) -> None:
    path.write_text("".join(json.dumps({"user_id": u, "consent": "opted_in", "region": "US"}) + "\n"
                            for u in users))


def write_catalog(path: Path, n: int = 1000) -> None:
    with path.open("w") as f:
        for i in range(n):
            theme = THEMES[i % len(THEMES)]
            f.write(json.dumps({"perk_id": f"k{i}", "brand": f"Brand {i % 300}", "title": f"{theme} perk {i}",
                                "description": f"A {theme} offer number {i} for people who love {theme}.",
                                "quantity": 5 + i % 20}) + "\n")


def make_encoder(choice: str) -> Encoder:
    if choice == "fake":
        return FakeEncoder(dim=384)
    return load_encoder() if choice == "real" else load_encoder(None, "float32", choice)


def _peak_mb() -> float:
    """This process's peak resident memory (VmHWM). Not ru_maxrss: Linux carries that over from the parent
    the process was forked from, so a stage started by a parent holding the model would report the model too."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def stage_ingest(folder: str, posts_file: str, choice: str) -> dict[str, Any]:
    engine = open_engine(f"{folder}/bench.db")
    ingest_users(engine, f"{folder}/users.jsonl")
    start = time.perf_counter()
    report = ingest_posts(engine, f"{folder}/{posts_file}")
    return {"seconds": time.perf_counter() - start, "posts": report.added + report.updated, "rss": _peak_mb()}


def stage_profile(folder: str, choice: str) -> dict[str, Any]:
    from matcher.artefacts import BUILDS

    engine = open_engine(f"{folder}/bench.db")
    cache = EmbeddingCache(engine, make_encoder(choice))
    summary = run_profile(engine, cache, as_of=AS_OF)
    return {"seconds": summary.seconds, "encode_seconds": summary.encode_seconds,
            "embed_seconds": summary.embed_seconds, "embedded": summary.embedded,
            "recomputed": summary.recomputed, "rss": _peak_mb(), "vocabulary_built": BUILDS["vocabulary"] > 0}


def stage_match(folder: str, choice: str) -> dict[str, Any]:
    from catalog.refresh import refresh
    from matcher.match import run_match  # imported here, not at the top: the profile stage's worker processes import
    # this script again (as every multiprocessing child does its parent's main module), and matching pulls in SciPy:
    # about half a second of each worker's start inside the measured run, which the `perkmatch` command never pays

    engine = open_engine(f"{folder}/bench.db")
    cache = EmbeddingCache(engine, make_encoder(choice))
    with session(engine) as s:
        refresh(s, f"{folder}/catalog.jsonl", cache)
    start = time.perf_counter()
    run_match(engine, cache)
    return {"seconds": time.perf_counter() - start, "rss": _peak_mb()}


def in_fresh_process(fn: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """Run one stage in a new process (spawned, so it starts empty) and return its figures."""
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def _lines(path: Path) -> int:
    with path.open() as f:
        return sum(1 for _ in f)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--posts", type=int, default=20_000)
    ap.add_argument("--encoder", choices=["real", "fake", *BACKENDS], default="real")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--from", dest="source", help="read the posts from this file instead of generating them")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--keep", help="work in this folder and keep it (default: a temporary folder, removed at the end)")
    a = ap.parse_args()
    if a.keep:
        Path(a.keep).mkdir(parents=True, exist_ok=True)
        run(a, Path(a.keep))
        print(f"work folder: {a.keep}", file=sys.stderr)
    else:  # a temporary folder goes when the run ends, however it ends (at 200,000 posts it holds about 700 MB)
        with tempfile.TemporaryDirectory(prefix="perkmatch-bench-") as folder:
            run(a, Path(folder))


def run(a: argparse.Namespace, folder: Path) -> None:
    if a.source:
        ids = copy_posts(Path(a.source), folder / "posts.jsonl", folder / "more.jsonl", a.posts)
    else:
        ids = [f"u{u}" for u in range(write_posts(folder / "posts.jsonl", a.posts, a.seed))]
        write_posts(folder / "more.jsonl", max(1, a.posts // 100), a.seed + 1, first=a.posts, users=len(ids),
                    interest_seed=a.seed)
    write_users(folder / "users.jsonl", ids)
    posts, extra, users = _lines(folder / "posts.jsonl"), _lines(folder / "more.jsonl"), len(ids)
    write_catalog(folder / "catalog.jsonl")
    encoder = make_encoder(a.encoder)
    with (folder / "posts.jsonl").open() as f:
        texts = [embed_form(json.loads(line)["text"]) for line in itertools.islice(f, 5000)]
    start = time.perf_counter()
    encoder.encode(sorted(texts, key=len))
    encoder_rate = len(texts) / (time.perf_counter() - start)
    ingest = in_fresh_process(stage_ingest, str(folder), "posts.jsonl", a.encoder)
    profile = in_fresh_process(stage_profile, str(folder), a.encoder)
    in_fresh_process(stage_ingest, str(folder), "more.jsonl", a.encoder)
    again = in_fresh_process(stage_profile, str(folder), a.encoder)
    match = in_fresh_process(stage_match, str(folder), a.encoder)
    figures = {
        "posts": posts, "users": users, "encoder": encoder.name,
        "encoder_posts_per_s": round(encoder_rate, 1), "ingest_posts_per_s": round(posts / ingest["seconds"], 1),
        "profile_posts_per_s": round(posts / profile["seconds"], 1),
        "overhead_share": round(1 - profile["encode_seconds"] / profile["seconds"], 3),
        "profile_seconds": round(profile["seconds"], 1), "encode_seconds": round(profile["encode_seconds"], 1),
        "embed_seconds": round(profile["embed_seconds"], 1), "vocabulary_built": profile["vocabulary_built"],
        "incremental_posts": extra, "incremental_seconds": round(again["seconds"], 2),
        "incremental_share": round(again["seconds"] / profile["seconds"], 3),
        "incremental_embedded": again["embedded"], "incremental_recomputed_users": again["recomputed"],
        "match_users_per_s": round(users / match["seconds"], 1),
        "ingest_peak_rss_mb": ingest["rss"], "profile_peak_rss_mb": profile["rss"], "match_peak_rss_mb": match["rss"],
        "peak_rss_mb": max(ingest["rss"], profile["rss"], match["rss"], _peak_mb()),
    }
    if a.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:<30} {value}")


if __name__ == "__main__":
    main()
