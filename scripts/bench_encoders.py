#!/usr/bin/env python3
"""Encoder backends compared: speed, agreement with torch float32, and the one-off cost of their cached artefacts.

    python scripts/bench_encoders.py [--texts 5000] [--backends torch,onnx,...] [--from POSTS] [--cache DIR] [--json]

The texts are built like scripts/bench.py's posts (the shipped sample posts, each made distinct; about 30 tokens),
or, with --from, the first --texts posts of a real posts file (JSONL, gzipped or not: e.g.
../shared/data/reddit-dev/posts.jsonl.gz, whose comments are longer, about 63 tokens), put in the form that is
embedded, sorted by length and handed to each backend 512 at a time, as `profile` does (each backend
encodes them in batches of 64). For each backend it prints:
  load_s        loading the encoder, building its artefacts first when they are not cached yet
  build_s       the one-off build of its cached artefact (ONNX export, int8 quantisation, model2vec distillation),
                as recorded when it was built (openvino compiles the ONNX export at load: see load_s)
  posts_per_s   texts encoded per second of wall time
  cpu_posts_s   texts encoded per second of this process's CPU time (all threads): steadier on a busy machine
  cos_mean/min  cosine with torch float32, per text (none for model2vec: another vector space)
  knn10         mean overlap of each text's 10 nearest neighbours among the set with torch float32's
"""

import argparse
import gzip
import itertools
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import write_posts  # noqa: E402

from matcher import artefacts  # noqa: E402
from matcher.embed import WRITE_BATCH  # noqa: E402
from matcher.encoder import BACKENDS, Encoder, load_encoder, model_folder  # noqa: E402
from matcher.records import embed_form  # noqa: E402

ARTEFACT = {"onnx": "onnx", "openvino": "onnx", "auto": "onnx", "onnx-int8": "onnx-int8", "model2vec": "m2v256",
            "openvino-int8": "ov-int8", "fast": "ov-int8"}


def make_texts(n: int, seed: int, source: str | None = None) -> list[str]:
    if source:
        opener = gzip.open if source.endswith(".gz") else open
        with opener(source, "rt", encoding="utf-8") as f:
            texts = [embed_form(json.loads(line)["text"]) for line in itertools.islice(f, n)]
        return sorted(texts, key=len)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "posts.jsonl"
        write_posts(path, n, seed)
        texts = [embed_form(json.loads(line)["text"]) for line in path.open()]
    return sorted(texts, key=len)


def encode_timed(encoder: Encoder, texts: list[str], batch: int) -> tuple[np.ndarray, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    vectors = np.vstack([encoder.encode(texts[i:i + batch]) for i in range(0, len(texts), batch)])
    return vectors, time.perf_counter() - wall, time.process_time() - cpu


def neighbours(vectors: np.ndarray, k: int = 10) -> np.ndarray:
    out = np.empty((len(vectors), k), dtype=np.int64)
    for start in range(0, len(vectors), 1000):
        sims = vectors[start:start + 1000] @ vectors.T
        sims[np.arange(len(sims)), np.arange(start, start + len(sims))] = -np.inf
        top = np.argpartition(-sims, k, axis=1)[:, :k]
        out[start:start + len(sims)] = top
    return out


def overlap(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean([len(set(x) & set(y)) / len(x) for x, y in zip(a, b, strict=True)]))


def build_seconds(backend: str) -> float | None:
    kind = ARTEFACT.get(backend)
    if kind is None:
        return None
    found = artefacts.manifest(artefacts.artefact_folder(model_folder(None), "all-MiniLM-L6-v2", kind))
    return None if found is None else float(found["build_seconds"])


def measure(backend: str, texts: list[str], batch: int, reference: tuple[np.ndarray, np.ndarray] | None,
            ) -> tuple[dict[str, object], np.ndarray]:
    start = time.perf_counter()
    encoder = load_encoder(None, "float32", backend)
    load_s = time.perf_counter() - start
    vectors, wall, cpu = encode_timed(encoder, texts, batch)
    row: dict[str, object] = {"backend": backend, "name": encoder.name, "dim": encoder.dim,
                              "load_s": round(load_s, 1), "build_s": build_seconds(backend),
                              "posts_per_s": round(len(texts) / wall, 1), "cpu_posts_s": round(len(texts) / cpu, 1)}
    if reference is not None:
        ref_vectors, ref_neighbours = reference
        if vectors.shape == ref_vectors.shape:
            cos = (vectors * ref_vectors).sum(axis=1)
            row.update(cos_mean=round(float(cos.mean()), 5), cos_min=round(float(cos.min()), 5))
        row["knn10"] = round(overlap(neighbours(vectors), ref_neighbours), 3)
    return row, vectors


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--texts", type=int, default=5000)
    ap.add_argument("--backends", default=",".join(b for b in BACKENDS if b != "auto"),
                    help="comma-separated, from: " + ", ".join(BACKENDS))
    ap.add_argument("--batch", type=int, default=WRITE_BATCH,
                    help="texts handed to encode() at a time (profile hands 512; each backend batches by 64)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--from", dest="source", help="read the texts from this posts file instead of generating them")
    ap.add_argument("--cache", help="artefact cache folder (default $PERKMATCH_CACHE or ~/.cache/perkmatch); "
                    "an empty one measures every build")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    a = ap.parse_args()
    if a.cache:
        os.environ["PERKMATCH_CACHE"] = a.cache
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    texts = make_texts(a.texts, a.seed, a.source)
    chosen = [b for b in a.backends.split(",") if b]
    unknown = [b for b in chosen if b not in BACKENDS]
    if unknown:
        sys.exit(f"unknown backend(s) {', '.join(unknown)}; use: {', '.join(BACKENDS)}")
    reference_row, reference = measure("torch", texts, a.batch, None)
    reference_row.update(cos_mean=1.0, cos_min=1.0, knn10=1.0)
    rows = [reference_row]
    pair = (reference, neighbours(reference))
    for backend in chosen:
        if backend != "torch":
            rows.append(measure(backend, texts, a.batch, pair)[0])
    result = {"texts": len(texts), "batch": a.batch, "cpus": os.cpu_count(), "load_average": os.getloadavg()[0],
              "backends": rows}
    if a.json:
        print(json.dumps(result))
        return
    keys = ["backend", "name", "dim", "load_s", "build_s", "posts_per_s", "cpu_posts_s", "cos_mean", "cos_min",
            "knn10"]
    print(f"{len(texts)} texts, {a.batch} per call, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print("  ".join(f"{k:>12}" for k in keys))
    for row in rows:
        print("  ".join(f"{'-' if row.get(k) is None else row.get(k)!s:>12}" for k in keys))


if __name__ == "__main__":
    main()
