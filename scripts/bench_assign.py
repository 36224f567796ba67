#!/usr/bin/env python3
"""Benchmark the exact assignment against greedy first-come on a contention case.

    python scripts/bench_assign.py [--users 10000] [--perks 1000] [--candidates 20] [--unlimited 0.0] [--seed 0]

Users get `--candidates` random perks with random fits (perk popularity skewed, so good perks are contested);
perks have small quantities (1-5), except the share `--unlimited` of them, which have none (as 70 % of the dev
catalog's perks). Prints the total fit of each method, the gain, the time each took and the peak memory.
"""

import argparse
import random
import resource
import time

from matcher.assign import Candidate, assign, greedy


def make(users: int, perks: int, per_user: int, seed: int, unlimited: float = 0.0) -> list[Candidate]:
    rng = random.Random(seed)
    quantity = {f"p{i}": rng.randint(1, 5) for i in range(perks)}
    for i in rng.sample(range(perks), round(unlimited * perks)):
        quantity[f"p{i}"] = None
    weights = [1.0 / (i + 1) ** 0.7 for i in range(perks)]  # popular perks are contested
    out = []
    for u in range(users):
        chosen = set(rng.choices(range(perks), weights=weights, k=per_user))
        for p in sorted(chosen):
            out.append(Candidate(f"u{u}", f"p{p}", f"b{p % 200}", round(rng.uniform(0.3, 0.9), 4), quantity[f"p{p}"]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=10_000)
    ap.add_argument("--perks", type=int, default=1_000)
    ap.add_argument("--candidates", type=int, default=20)
    ap.add_argument("--per-user", type=int, default=3)
    ap.add_argument("--unlimited", type=float, default=0.0, help="share of the perks with no quantity")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    cands = make(a.users, a.perks, a.candidates, a.seed, a.unlimited)
    start = time.perf_counter()
    g = greedy(cands, per_user=a.per_user)
    t_greedy = time.perf_counter() - start
    start = time.perf_counter()
    x = assign(cands, per_user=a.per_user)
    t_exact = time.perf_counter() - start
    fit_g, fit_x = sum(c.score for c in g), sum(c.score for c in x)
    print(f"candidates {len(cands):,}  users {a.users:,}  perks {a.perks:,}")
    print(f"greedy : total fit {fit_g:12.2f}  assignments {len(g):7,}  {t_greedy:7.2f} s")
    print(f"exact  : total fit {fit_x:12.2f}  assignments {len(x):7,}  {t_exact:7.2f} s")
    print(f"gain   : {fit_x - fit_g:+.2f} ({(fit_x / fit_g - 1) * 100:+.2f} %)")
    print(f"peak memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")


if __name__ == "__main__":
    main()
