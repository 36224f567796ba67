"""Assign perks under their limits: an exact maximum-weight assignment (a linear program with integral optimum).

Variables: one per (user, perk) candidate. Maximise the total fit subject to: a perk's ``quantity``,
at most ``per_user`` perks per user, at most ``per_brand`` perks of one brand per user (``brand_key``: "Acme" and
"acme " are one brand). The constraint
matrix is that of a network flow (user -> user×brand -> perk -> sink), so the LP relaxation is already
integral: HiGHS's dual simplex returns an integral optimum in seconds (an integer program is the fallback).
Ties break on ids: among the optima, a second LP over the optimal face prefers candidates earlier in
(user, perk) id order. ``lost_reasons`` says why each candidate left out was, naming the limit that held it.
"""

import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

TIE_EPSILON = 1e-6  # per assignment, below the 1e-4 resolution of scores (only in the fallback)
TIE_TOLERANCE = 1e-6  # reduced costs and duals this close to 0 are 0 (scores closer than this tie)


@dataclass(frozen=True)
class Candidate:
    """An eligible (user, perk) pair with its fit score."""

    user_id: str
    perk_id: str
    brand: str
    score: float
    quantity: int | None


def brand_key(brand: str) -> str:
    """The brand a per-brand limit counts: its name without case, width or spacing differences ("Acme", "acme ",
    "ACME" and "Ａｃｍｅ" are one brand to the user who would get them, as ``report brand`` already finds them)."""
    return " ".join(unicodedata.normalize("NFKC", brand).split()).casefold()


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
        groups[("brand", c.user_id + "\x00" + brand_key(c.brand))].append(i)
        if c.quantity is not None:
            groups[("perk", c.perk_id)].append(i)
    limits = {"user": per_user, "brand": per_brand}
    data_rows, data_cols = [], []
    for r, (key, members) in enumerate(sorted(groups.items())):
        data_rows.extend([r] * len(members))
        data_cols.extend(members)
        upper.append(float(limits.get(key[0], 0) if key[0] != "perk" else cands[members[0]].quantity or 0))
    matrix = sparse.csr_array((np.ones(len(data_rows)), (data_rows, data_cols)), shape=(len(groups), n))
    x = _optimum(np.array([c.score for c in cands]), matrix, np.array(upper))
    chosen = [c for c, v in zip(cands, x, strict=True) if v > 0.5]
    return sorted(chosen, key=lambda c: (c.user_id, -c.score, c.perk_id))


def _optimum(scores: np.ndarray, matrix: sparse.csr_array, upper: np.ndarray) -> np.ndarray:
    """The 0/1 choice maximising the total score; among equal totals, the one preferring candidates earlier in id
    order (the largest sum of ``n - i``). The ties are broken in a second LP over the optimal face: a tiny bonus
    added to the scores (``TIE_EPSILON``) sits below the solver's tolerances, which then picked any optimum."""
    n = len(scores)
    first = linprog(-scores, A_ub=matrix, b_ub=upper, bounds=(0, 1), method="highs-ds")
    if first.x is not None and _integral(first.x):
        x = _break_ties(first, scores, matrix, upper)
        if x is not None:
            return x
    # The matrix is totally unimodular, so a simplex vertex is integral; keep an exact fallback anyway.
    weights = scores + TIE_EPSILON * (n - np.arange(n)) / n
    result = milp(c=-weights, constraints=LinearConstraint(matrix, -np.inf, upper),
                  integrality=np.ones(n), bounds=Bounds(0, 1), options={"mip_rel_gap": 0.0})
    if result.x is None:
        raise RuntimeError(f"assignment solver failed: {result.message}")
    return np.asarray(result.x)


def _integral(x: np.ndarray) -> bool:
    return not np.any((x > 1e-6) & (x < 1 - 1e-6))


def _break_ties(first: Any, scores: np.ndarray, matrix: sparse.csr_array, upper: np.ndarray) -> np.ndarray | None:
    """Among the optima of ``first``, the one with the largest sum of ``n - i``; None if the solver fails. By
    complementary slackness with its duals, every optimum leaves out the candidates whose reduced cost is positive,
    takes those whose reduced cost is negative, and fills the limits whose dual is not zero: that face keeps the
    network matrix, so its optimum for the id order is integral too."""
    n = len(scores)
    duals = first.ineqlin.marginals  # <= 0: the LP minimises -scores
    reduced = -scores - matrix.T @ duals
    taken, free = reduced < -TIE_TOLERANCE, np.abs(reduced) <= TIE_TOLERANCE
    x = taken.astype(float)
    if not free.any():
        return x
    tight = duals < -TIE_TOLERANCE
    sub = sparse.csc_array(matrix)[:, np.flatnonzero(free)].tocsr()
    rest = upper - matrix @ x
    rows = np.flatnonzero(sub.sum(axis=1))  # limits on no free candidate constrain nothing
    eq, ub = rows[tight[rows]], rows[~tight[rows]]
    second = linprog(-(n - np.arange(n))[free].astype(float),
                     A_ub=sub[ub] if len(ub) else None, b_ub=rest[ub] if len(ub) else None,
                     A_eq=sub[eq] if len(eq) else None, b_eq=rest[eq] if len(eq) else None,
                     bounds=(0, 1), method="highs-ds")
    if second.x is None or not _integral(second.x):
        return None
    x[free] = second.x
    return x


def greedy(candidates: list[Candidate], per_user: int = 3, per_brand: int = 1) -> list[Candidate]:
    """First-come by score: the baseline the benchmark compares the exact assignment with."""
    used: dict[str, int] = defaultdict(int)
    per_u: dict[str, int] = defaultdict(int)
    per_b: dict[tuple[str, str], int] = defaultdict(int)
    chosen = []
    for c in sorted(candidates, key=lambda c: (-c.score, c.user_id, c.perk_id)):
        if per_u[c.user_id] >= per_user or per_b[(c.user_id, brand_key(c.brand))] >= per_brand:
            continue
        if c.quantity is not None and used[c.perk_id] >= c.quantity:
            continue
        used[c.perk_id] += 1
        per_u[c.user_id] += 1
        per_b[(c.user_id, brand_key(c.brand))] += 1
        chosen.append(c)
    return sorted(chosen, key=lambda c: (c.user_id, -c.score, c.perk_id))


def lost_reasons(chosen: list[Candidate], candidates: list[Candidate], per_user: int, per_brand: int
                 ) -> dict[str, list[tuple[str, float, str]]]:
    """For each user, the candidates they did not get: (perk, score, why)."""
    chosen_keys = {(c.user_id, c.perk_id) for c in chosen}
    holders: dict[str, list[Candidate]] = defaultdict(list)  # each perk's assignments
    lowest: dict = {}  # each perk's, and each user's, lowest score among the assignments
    brands: dict[tuple[str, str], int] = defaultdict(int)  # perks of each brand (``brand_key``) each user gets
    taken: dict[str, int] = defaultdict(int)
    for c in chosen:
        taken[c.user_id] += 1
        brands[(c.user_id, brand_key(c.brand))] += 1
        holders[c.perk_id].append(c)
        for key in (c.perk_id, ("user", c.user_id)):
            lowest[key] = min(lowest.get(key, c.score), c.score)
    lost: dict[str, list[tuple[str, float, str]]] = defaultdict(list)
    for c in candidates:
        if (c.user_id, c.perk_id) not in chosen_keys:
            lost[c.user_id].append((c.perk_id, c.score,
                                    _lost_reason(c, holders, lowest, brands, taken, per_user, per_brand)))
    return lost


def _lost_reason(c: Candidate, holders: dict[str, list[Candidate]], lowest: dict, brands: dict[tuple[str, str], int],
                 taken: dict[str, int], per_user: int, per_brand: int) -> str:
    """Why a candidate was not assigned, in words that hold: the assignment maximises everyone's total fit, so a
    unit can go to a lower score than this user's, and a user's slots can hold a perk that fits them less than this
    one, when that frees a better fit elsewhere. "Fits better" is said only where it is true, and an equal fit
    (the tie rule: lower ids first) is said as such."""
    if c.quantity == 0:
        return "quantity: none to give (the catalog gives it quantity 0)"
    sold_out = c.quantity is not None and len(holders[c.perk_id]) >= c.quantity
    if sold_out and c.score <= lowest.get(c.perk_id, c.score) + TIE_TOLERANCE:
        if c.score < lowest[c.perk_id] - TIE_TOLERANCE:
            return f"quantity: all {c.quantity} went to users it fits better"
        tied = [h.user_id for h in holders[c.perk_id] if abs(h.score - c.score) <= TIE_TOLERANCE]
        rule = " (on an equal fit, lower user ids first)" if all(u < c.user_id for u in tied) else ""
        return f"quantity: all {c.quantity} went to users it fits as well or better{rule}"
    if brands.get((c.user_id, brand_key(c.brand)), 0) >= per_brand:
        return f"brand limit: the user already gets {per_brand} perk(s) from {c.brand}"
    if taken.get(c.user_id, 0) >= per_user:
        mine = lowest[("user", c.user_id)]
        if c.score < mine - TIE_TOLERANCE:
            return f"per-user limit: the user already gets {per_user} better-fitting perk(s)"
        if c.score <= mine + TIE_TOLERANCE:
            return f"per-user limit: the user already gets {per_user} perk(s) that fit them as well or better"
        return (f"per-user limit: the user already gets {per_user} perk(s); this mix fits everyone best overall (their "
                f"lowest-scoring perk {mine:.3f}, this one {c.score:.3f})")
    if sold_out:
        return (f"quantity: all {c.quantity} were given; spreading them this way fits everyone best overall (the "
                f"lowest holder's score is {lowest[c.perk_id]:.3f}, this user's {c.score:.3f})")
    return "not chosen: other assignments give a higher total fit"
