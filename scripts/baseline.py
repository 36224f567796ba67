#!/usr/bin/env python3
"""The Klout-style baseline on the dev split, scored like perkmatch: topics ranked by post count.

    python scripts/baseline.py [--db /tmp/perkmatch-dev.db] [--shared ../shared] [--out /tmp/perkmatch-baseline]

Run `scripts/evaluate.py` first: it fills the database (posts, taxonomy, catalog, cached vectors). Each post
(its text blended with its context, equal weights) goes to its most similar non-sensitive topic, by the
cosine to the topic's name-and-description vector ("whole") or by perkmatch's view similarity ("views"); a
user's topics are their 3 most frequent. No engagement, time or threshold is involved. Perks: each of those
topics in turn lends its 2 most similar perks (view similarity, region checked) until 5. It prints score.py's
metrics for both readings. The issue's baseline figures (topic F1@3 0.256, perk nDCG@5 0.154) lie between
theirs, so their perk P@5 stands for the baseline's, which the issue does not give.
"""

import argparse
import collections
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", default="/tmp/perkmatch-dev.db", help="the database scripts/evaluate.py filled")
    ap.add_argument("--shared", default=str(ROOT.parent / "shared"))
    ap.add_argument("--out", default="/tmp/perkmatch-baseline")
    a = ap.parse_args()
    if not Path(a.db).exists():
        sys.exit(f"{a.db}: not found; run scripts/evaluate.py --db {a.db} first")

    from sqlmodel import col, select

    from catalog.refresh import live_perks
    from matcher.classify import ClassifyParams
    from matcher.embed import EmbeddingCache
    from matcher.encoder import load_encoder
    from matcher.perk_space import region_ok
    from matcher.store import Post, User, open_engine, session
    from matcher.taxonomy import load_topics
    from matcher.topic_space import TopicSpace

    engine = open_engine(a.db)
    cache = EmbeddingCache(engine, load_encoder())
    plain = ClassifyParams(related_words=0)
    space = TopicSpace.build(load_topics(engine), cache, plain)
    with session(engine) as s:
        rows = s.execute(select(Post.user_id, Post.text_key, Post.context_key)
                         .order_by(col(Post.user_id), col(Post.id))).all()
        regions = dict(s.execute(select(User.user_id, User.region)).all())
        perks = live_perks(s)
    vecs = cache.get([r.text_key for r in rows])
    has = np.array([r.context_key is not None for r in rows])
    if has.any():
        vecs[has] += cache.get([r.context_key for r in rows if r.context_key is not None])
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    perk_sims = space.similarity(cache.vectors([p.to_perk().embed_text() for p in perks]), plain)
    sensitive = np.array([t.sensitive for t in space.topics])
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    data = Path(a.shared) / "data" / "reddit-dev"
    for reading in ("whole", "views"):
        sims = vecs @ space.vectors.T if reading == "whole" else space.similarity(vecs, plain)
        sims[:, sensitive] = -np.inf
        counts: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        for row, k in zip(rows, sims.argmax(axis=1), strict=True):
            counts[row.user_id][int(k)] += 1
        topics_path, match_path = out / f"topics-{reading}.jsonl", out / f"match-{reading}.jsonl"
        with open(topics_path, "w") as topics_file, open(match_path, "w") as match_file:
            for user_id in sorted(regions):
                ranked = [k for k, _ in sorted(counts[user_id].items(), key=lambda x: (-x[1], x[0]))][:3]
                topics_file.write(json.dumps({"user_id": user_id,
                                              "topics": [{"topic_id": space.ids[k]} for k in ranked]}) + "\n")
                for rank, (i, k) in enumerate(_perks(ranked, perk_sims, perks, regions[user_id], region_ok), 1):
                    match_file.write(json.dumps({"user_id": user_id, "perk_id": perks[i].perk_id, "rank": rank,
                                                 "topics": [{"topic_id": space.ids[k]}]}) + "\n")
        score = subprocess.run([sys.executable, str(Path(a.shared) / "eval" / "score.py"), "--split", str(data),
                                "--catalog", str(data / "catalog_dev.yaml"),
                                "--catalog-answers", str(data / "catalog_dev_answers.jsonl"),
                                "--topics", str(topics_path), "--match", str(match_path)],
                               capture_output=True, text=True, check=True)
        result = json.loads(score.stdout)
        print(json.dumps({"reading": reading, **{k: result[k] for k in (
            "topic_f1@3", "topic_precision@3", "topic_recall@3", "perk_precision@5", "perk_ndcg@5",
            "perk_hit_rate@5")}}))


def _perks(ranked, perk_sims, perks, region, region_ok) -> list[tuple[int, int]]:  # type: ignore[no-untyped-def]
    """Each ranked topic's 2 most similar perks the user's region allows, in turn, until 5 (perk index, topic)."""
    chosen: list[tuple[int, int]] = []
    for k in ranked:
        taken = 0
        for i in np.argsort(-perk_sims[:, k], kind="stable"):
            if taken == 2 or len(chosen) == 5:
                break
            if int(i) in {c for c, _ in chosen} or not region_ok(region, json.loads(perks[i].regions)):
                continue
            chosen.append((int(i), k))
            taken += 1
    return chosen


if __name__ == "__main__":
    main()
