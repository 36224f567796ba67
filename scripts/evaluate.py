#!/usr/bin/env python3
"""Evaluate perkmatch on the Reddit dev split, exactly as a user would run it, and score it.

    python scripts/evaluate.py [--db /tmp/dev.db] [--reuse] [--encoder NAME] [--shared ../shared] [--adversarial N]

Runs `taxonomy load`, `ingest`, `catalog refresh`, `profile`, `topics --all --json`, `match --json`
through the CLI, prints the wall time of each step, then the scores of ../shared/eval/score.py.
With --reuse an existing database is kept (embeddings cached), so only profile/match are re-timed; with
--encoder the posts are embedded with that backend (each backend has its own cached vectors). With
--adversarial N, N users of each gaming pattern built from the dev comments (scripts/adversarial.py) are ingested
too, scored with them in the answer key, and how often each pattern gained a topic or a perk is printed.
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import adversarial

ROOT = Path(__file__).resolve().parents[1]


def run(step: str, args: list[str], out: Path | None = None) -> float:
    start = time.perf_counter()
    with open(out, "w") if out else open("/dev/null", "w") as sink:
        proc = subprocess.run([sys.executable, "-m", "matcher", *args], stdout=sink, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode:
        sys.exit(f"{step} failed:\n{proc.stderr}")
    print(f"{step:<16} {seconds:8.1f} s", file=sys.stderr)
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", default="/tmp/perkmatch-dev.db")
    ap.add_argument("--shared", default=str(ROOT.parent / "shared"))
    ap.add_argument("--reuse", action="store_true", help="keep the database (skip load/ingest if present)")
    ap.add_argument("--out", default="/tmp/perkmatch-dev")
    ap.add_argument("--encoder", help="encoder backend (see `perkmatch --help`); default: perkmatch's default")
    ap.add_argument("--adversarial", type=int, default=0, metavar="N",
                    help="also ingest N users of each gaming pattern (scripts/adversarial.py) and report on them")
    a = ap.parse_args()
    data = Path(a.shared) / "data" / "reddit-dev"
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    db = ["--db", a.db, *(["--encoder", a.encoder] if a.encoder else [])]
    fresh = not (a.reuse and Path(a.db).exists())
    if fresh:
        for suffix in ("", "-wal", "-shm"):
            Path(a.db + suffix).unlink(missing_ok=True)
        run("taxonomy load", [*db, "taxonomy", "load", str(data / "taxonomy.yaml")])
        run("ingest", [*db, "ingest", str(data / "posts.jsonl.gz"), "--users", str(data / "users.jsonl")])
    meta = {}
    if a.adversarial:
        meta = adversarial.write(out / "adversarial", data, a.adversarial)
        run("ingest gaming", [*db, "ingest", str(out / "adversarial" / "posts.jsonl"),
                              "--users", str(out / "adversarial" / "users.jsonl")])
    run("catalog refresh", [*db, "catalog", "refresh", str(data / "catalog_dev.yaml")])
    run("profile", [*db, "profile", "--as-of", "2023-03-21"])
    run("topics", [*db, "topics", "--all", "--json"], out / "topics.jsonl")
    run("match", [*db, "match", "--json"], out / "match.jsonl")
    result = score(Path(a.shared), data, out, leave_out=set(meta))  # the dev users alone
    keys = ["topic_f1@3", "topic_precision@3", "topic_recall@3", "topic_f1@3_l1", "one_off_topic_rate",
            "unengaged_topic_rate", "non_interest_topic_rate", "sensitive_leak_count", "perk_precision@5",
            "perk_ndcg@5", "perk_hit_rate@5", "capacity_violations", "region_violations", "users_covered_topics",
            "no_true_users_with_topics_rate"]
    print(json.dumps({k: result.get(k) for k in keys}, indent=1))
    if meta:
        with_them = score(Path(a.shared), out / "adversarial" / "split", out)
        print(json.dumps({"score.py": with_them.get("adversarial"),
                          "gaming": adversarial.report(meta, out / "topics.jsonl", out / "match.jsonl")}, indent=1))


def score(shared: Path, split: Path, out: Path, leave_out: set[str] | None = None) -> dict:
    """score.py's figures for out/topics.jsonl and out/match.jsonl against the answer key in ``split``, without
    the lines of the users in ``leave_out`` (score.py would count their perks as region violations: they are not
    in the split's users file)."""
    data = shared / "data" / "reddit-dev"
    files = []
    for name in ("topics", "match"):
        path = out / f"{name}.jsonl"
        if leave_out:
            kept = [line for line in path.read_text().splitlines() if json.loads(line)["user_id"] not in leave_out]
            path = out / f"{name}.scored.jsonl"
            path.write_text("".join(line + "\n" for line in kept))
        files.append(str(path))
    proc = subprocess.run([sys.executable, str(shared / "eval" / "score.py"), "--split", str(split),
                           "--catalog", str(data / "catalog_dev.yaml"),
                           "--catalog-answers", str(data / "catalog_dev_answers.jsonl"),
                           "--topics", files[0], "--match", files[1]],
                          capture_output=True, text=True, check=True)
    return dict(json.loads(proc.stdout))


if __name__ == "__main__":
    main()
