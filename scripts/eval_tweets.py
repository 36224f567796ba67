#!/usr/bin/env python3
"""Zero-shot topic classification on data perkmatch was never tuned on: the topic-labelled tweets of TweetTopic.

    python scripts/eval_tweets.py [--shared ../shared] [--db /tmp/perkmatch-tweets.db]

The taxonomy is the 19 TweetTopic label names alone ("Film, TV & Video", "Gaming", ...: no descriptions). Each
tweet is compared with every topic as a post is (`TopicSpace.similarity`, the real packaged model): without the
topics' related words, with them, and with them and topic vectors fitted to the 1,000 tweets themselves (as a
profile run fits them to its collection; the labels are not used). It prints, for each: top1 (the tweet's most
similar topic is one of its gold labels) and mrr (mean reciprocal rank of its best-ranked gold label). No user,
engagement or threshold is involved: this checks the classifier alone.
"""

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", default=str(ROOT.parent / "shared"))
    ap.add_argument("--db", default="/tmp/perkmatch-tweets.db", help="embedding cache (kept between runs)")
    a = ap.parse_args()

    from matcher.classify import ClassifyParams, fit_topic_vectors
    from matcher.embed import EmbeddingCache
    from matcher.encoder import load_encoder
    from matcher.store import open_engine
    from matcher.taxonomy import TopicInfo
    from matcher.topic_fit import FitParams
    from matcher.topic_space import TopicSpace

    path = Path(a.shared) / "data" / "tweettopicxl" / "en_1000.jsonl"
    if not path.exists():
        sys.exit(f"{path}: not found; pass --shared DIR (the folder holding data/tweettopicxl)")
    tweets = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    labels = sorted({t for tw in tweets for t in tw["topics"]})
    topics = [TopicInfo(label, label, None, "", False) for label in labels]
    cache = EmbeddingCache(open_engine(a.db), load_encoder())
    vectors = cache.vectors([tw["text"] for tw in tweets])
    gold = [[labels.index(t) for t in tw["topics"]] for tw in tweets]
    out = {"tweets": len(tweets), "topics": len(labels)}
    for name, params in (("without_related_words", ClassifyParams(related_words=0)), ("with_related_words",
                                                                                       ClassifyParams()),
                         ("with_related_words_and_fitted_vectors", ClassifyParams())):
        space = TopicSpace.build(topics, cache, params)
        if name.endswith("fitted_vectors"):
            fitted, _ = fit_topic_vectors(space.vectors, space.views, space.view_starts, vectors, FitParams().rounds,
                                          params)
            space = space.adapted(fitted)
        sims = space.similarity(vectors, params)
        ranks = [min(int((s > s[g]).sum()) for g in gs) for s, gs in zip(sims, gold, strict=True)]
        out[name] = {"top1": round(float(np.mean([r == 0 for r in ranks])), 4),
                     "mrr": round(float(np.mean([1 / (1 + r) for r in ranks])), 4)}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
