"""Assign perks under their limits: an exact maximum-weight assignment (a linear program with integral optimum).

Variables: one per (user, perk) candidate. Maximise the total fit subject to: a perk's ``quantity``,
at most ``per_user`` perks per user, at most ``per_brand`` perks of one brand per user. The constraint
matrix is that of a network flow (user -> user×brand -> perk -> sink), so the LP relaxation is already
integral: HiGHS's dual simplex returns an integral optimum in seconds (an integer program is the fallback).
Ties break on ids: a tiny, id-ordered bonus makes the optimum unique.
"""

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

TIE_EPSILON = 1e-6  # per assignment, below the 1e-4 resolution of scores


@dataclass(frozen=True)
class Candidate:
    """An eligible (user, perk) pair with its fit score."""

    user_id: str
    perk_id: str
    brand: str
    score: float
    quantity: int | None


def assign(candidates: list[Candidate], per_user: int = 3, per_brand: int = 1) -> list[Candidate]:
    """The chosen candidates, maximising total score under every limit; sorted by user then score."""
    cands = sorted(candidates, key=lambda c: (c.user_id, c.perk_id))
    if not cands or per_user <= 0:
        return []
    n = len(cands)
    upper: list[float] = []
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, c in enumerate(cands):
        groups[("user", c.user_id)].append(i)
        groups[("brand", c.user_id + "\x00" + c.brand)].append(i)
        if c.quantity is not None:
            groups[("perk", c.perk_id)].append(i)
    limits = {"user": per_user, "brand": per_brand}
    data_rows, data_cols = [], []
    for r, (key, members) in enumerate(sorted(groups.items())):
        data_rows.extend([r] * len(members))
        data_cols.extend(members)
        upper.append(float(limits.get(key[0], 0) if key[0] != "perk" else cands[members[0]].quantity or 0))
    matrix = sparse.csr_array((np.ones(len(data_rows)), (data_rows, data_cols)), shape=(len(groups), n))
    weights = np.array([c.score for c in cands]) + TIE_EPSILON * (n - np.arange(n)) / n
    result = linprog(-weights, A_ub=matrix, b_ub=np.array(upper), bounds=(0, 1), method="highs-ds")
    if result.x is None or np.any((result.x > 1e-6) & (result.x < 1 - 1e-6)):
        # The matrix is totally unimodular, so a simplex vertex is integral; keep an exact fallback anyway.
        result = milp(c=-weights, constraints=LinearConstraint(matrix, -np.inf, np.array(upper)),
                      integrality=np.ones(n), bounds=Bounds(0, 1), options={"mip_rel_gap": 0.0})
    if result.x is None:
        raise RuntimeError(f"assignment solver failed: {result.message}")
    chosen = [c for c, x in zip(cands, result.x, strict=True) if x > 0.5]
    return sorted(chosen, key=lambda c: (c.user_id, -c.score, c.perk_id))


def greedy(candidates: list[Candidate], per_user: int = 3, per_brand: int = 1) -> list[Candidate]:
    """First-come by score: the baseline the benchmark compares the exact assignment with."""
    used: dict[str, int] = defaultdict(int)
    per_u: dict[str, int] = defaultdict(int)
    per_b: dict[tuple[str, str], int] = defaultdict(int)
    chosen = []
    for c in sorted(candidates, key=lambda c: (-c.score, c.user_id, c.perk_id)):
        if per_u[c.user_id] >= per_user or per_b[(c.user_id, c.brand)] >= per_brand:
            continue
        if c.quantity is not None and used[c.perk_id] >= c.quantity:
            continue
        used[c.perk_id] += 1
        per_u[c.user_id] += 1
        per_b[(c.user_id, c.brand)] += 1
        chosen.append(c)
    return sorted(chosen, key=lambda c: (c.user_id, -c.score, c.perk_id))
