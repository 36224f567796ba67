"""Assign perks under their limits: an exact maximum-weight assignment (a linear program with integral optimum).

Variables: one per (user, perk) candidate. Maximise the total fit subject to: a perk's ``quantity``,
at most ``per_user`` perks per user, at most ``per_brand`` perks of one brand per user (``brand_key``: "Acme" and
"acme " are one brand). The constraint
matrix is that of a network flow (user -> user×brand -> perk -> sink), so the LP relaxation is already
integral: HiGHS's dual simplex returns an integral optimum in seconds (an integer program is the fallback).
Before it, candidates no optimum can hold (``_Keys.undominated``) and limits that cannot bind (``_Keys.limits``)
are left out, which changes no assignment and shrinks the problem many times over at scale.
Ties break on ids, in two further LPs, each over the optimal face of the one before (``_break_ties``): among
the optima, the units of a perk more users want than it has go to the lowest user ids; among those, candidates
earlier in (user, perk) id order are preferred; where those sums tie too, the candidates still undecided are settled
one by one in id order (``_by_ids``; these LPs are in
``matcher.assign_ties``). ``matcher.lost`` says why each candidate left out was, naming the limit that
held it.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from catalog.schema import brand_key
from matcher.assign_ties import TIE_TOLERANCE, _break_ties, _integral

__all__ = ["TIE_TOLERANCE", "Candidate", "assign", "choose", "greedy"]

TIE_EPSILON = 1e-6  # per assignment, below the 1e-4 resolution of scores (only in the fallback)


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
    if not cands or per_user <= 0 or per_brand <= 0:  # every perk has a brand: per_brand 0 gives nothing
        return []
    chosen = _solve(_Keys(cands), np.array([c.score for c in cands]), per_user, per_brand)
    return sorted([cands[i] for i in chosen.tolist()], key=lambda c: (c.user_id, -c.score, c.perk_id))


def choose(users: np.ndarray, brands: np.ndarray, perks: np.ndarray, quantities: np.ndarray, scores: np.ndarray,
           per_user: int, per_brand: int) -> np.ndarray:
    """``assign`` from numbers alone: the positions of the chosen candidates, given in (user, perk) id order, each
    one's user, (user, brand ``brand_key``) and perk numbered in id order from 0 (``_codes``), its perk's quantity
    (NaN: none) and its score. ``match`` keeps its candidates so (``match_table``), not as ``Candidate`` objects."""
    if not len(scores) or per_user <= 0 or per_brand <= 0:
        return np.zeros(0, dtype=np.int64)
    return _solve(_Keys.of_codes(users, brands, perks, quantities), scores, per_user, per_brand)


def _solve(keys: "_Keys", scores: np.ndarray, per_user: int, per_brand: int) -> np.ndarray:
    kept = np.flatnonzero(keys.undominated(scores, per_user, per_brand))
    matrix, upper = keys.limits(kept, per_user, per_brand)
    x = _optimum(scores[kept], matrix, upper, [t[kept] for t in keys.preferences()], keys.scarce(kept))
    return kept[np.asarray(x) > 0.5]


class _Keys:
    """The limits' groups of the candidates (in id order), as numbers: each candidate's user, (user, brand) and
    perk, and the quantity of each perk (``capped`` says which have one)."""

    def __init__(self, cands: list[Candidate]) -> None:
        self._set(_codes([c.user_id for c in cands]), _codes([(c.user_id, brand_key(c.brand)) for c in cands]),
                  _codes([c.perk_id for c in cands]),
                  np.array([np.nan if c.quantity is None else c.quantity for c in cands], dtype=float))

    @classmethod
    def of_codes(cls, users: np.ndarray, brands: np.ndarray, perks: np.ndarray, quantities: np.ndarray) -> "_Keys":
        keys = cls.__new__(cls)
        keys._set(users, brands, perks, quantities)
        return keys

    def _set(self, users: np.ndarray, brands: np.ndarray, perks: np.ndarray, quantities: np.ndarray) -> None:
        self.users, self.brands, self.perks = users, brands, perks
        self.capped = ~np.isnan(quantities)
        self.quantity = np.zeros(int(self.perks.max()) + 1)
        self.quantity[self.perks[self.capped]] = quantities[self.capped]

    def preferences(self) -> list[np.ndarray]:
        """What breaks ties among the optima, in order (``_break_ties``): first, a unit of a perk wanted by more
        candidates than it has units goes to the lowest user id (each such candidate weighs its user's place from
        the end of the id order: the sum is the most when the units go to the lowest ids); then the candidates
        earlier in (user, perk) id order (``n - i``). The second alone let the solver pick who got the unit where
        each contender had another perk to take instead (a brand's unlimited perk beside its scarce one): every
        choice summed the same, and the highest id could get it."""
        n = len(self.users)
        wanted = np.bincount(self.perks[self.capped], minlength=len(self.quantity))
        scarce = self.capped & (wanted > self.quantity)[self.perks]
        return [np.where(scarce, self.users.max() + 1 - self.users, 0).astype(float),
                (n - np.arange(n)).astype(float)]

    def _blocks(self, per_user: int, per_brand: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """(group of each candidate, each group's limit, the candidates the limit applies to) for each kind."""
        every = np.ones(len(self.users), dtype=bool)
        return [(self.users, np.full(int(self.users.max()) + 1, float(per_user)), every),
                (self.brands, np.full(int(self.brands.max()) + 1, float(per_brand)), every),
                (self.perks, self.quantity, self.capped)]

    def undominated(self, scores: np.ndarray, per_user: int, per_brand: int) -> np.ndarray:
        """The candidates that can be in an optimal choice. A candidate is left out when the user's candidates that
        score more and whose perk's quantity cannot bind (no more candidates than units, or no quantity) are
        enough that any choice holding it leaves one of them out that could take its place: ``per_brand`` of them
        of its own brand, or, counting at most ``per_brand`` a brand, ``per_user`` in all (the rest of a choice
        holds ``per_user - 1`` perks: too few to take, or to fill the brands of, all of them). Swapping it for that
        one keeps every limit and raises the total, so no optimum holds it. At millions of candidates (tens a user,
        most of them offers without a binding quantity) this leaves a few a user: the solver's memory and time
        shrink by as much, and its optimum, ties included, is the same. Leaving some out frees more quantities,
        so it is repeated until none goes."""
        kept = np.ones(len(scores), dtype=bool)
        by_user = np.lexsort((-scores, self.users))  # each user's candidates, best first
        while True:
            wanted = np.bincount(self.perks[self.capped & kept], minlength=len(self.quantity))
            loose = ~self.capped | (wanted <= self.quantity)[self.perks]
            order = by_user[kept[by_user]]
            starts = np.flatnonzero(np.diff(self.users[order], prepend=-1))  # where each user's run starts
            ends = np.append(starts[1:], len(order))[:len(starts)]
            some = np.maximum.reduceat(loose[order], starts) if len(order) else np.zeros(0, dtype=bool)
            out: list[int] = []
            for start, end in zip(starts[some].tolist(), ends[some].tolist(), strict=True):
                block = order[start:end]  # (as lists a user at a time: all at once took 0.15 GB at 1M candidates)
                out += _dominated(block.tolist(), scores[block].tolist(), self.brands[block].tolist(),
                                  loose[block].tolist(), per_user, per_brand)
            if not out:
                return kept
            kept[out] = False

    def scarce(self, kept: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each of the ``kept`` candidates' perk if its quantity can bind (else -1), and how many of that perk's
        candidates ``_first`` adds to its working set at a time: ``2 × quantity + 2``."""
        perks, capped = self.perks[kept], self.capped[kept]
        scarce = capped & (np.bincount(perks[capped], minlength=len(self.quantity)) > self.quantity)[perks]
        return np.where(scarce, perks, -1), 2 * self.quantity[perks] + 2

    def limits(self, kept: np.ndarray, per_user: int, per_brand: int) -> tuple[sparse.csr_array, np.ndarray]:
        """The limits on the ``kept`` candidates as rows of a 0/1 matrix (one column per kept candidate), with their
        upper bounds: a row per user, per (user, brand), and per perk with a quantity. A row with no more
        candidates than its limit can never bind, so it is left out: it changes neither the feasible choices nor
        the optimum, and most rows are such (a user's only perk of a brand, an offer fewer users want than it has
        units)."""
        rows, cols, upper, offset = [], [], [], 0
        for codes, limit, member in self._blocks(per_user, per_brand):
            sub, on = codes[kept], member[kept]
            binds = np.bincount(sub[on], minlength=len(limit)) > limit
            number = np.cumsum(binds) - 1 + offset  # the binding rows, numbered from ``offset``
            take = on & binds[sub]
            rows.append(number[sub[take]])
            cols.append(np.flatnonzero(take))
            upper.append(limit[binds])
            offset += int(binds.sum())
        row, col = np.concatenate(rows), np.concatenate(cols)
        matrix = sparse.csr_array((np.ones(len(row)), (row, col)), shape=(offset, len(kept)))
        return matrix, np.concatenate(upper)


def _dominated(block: list[int], score: list[float], brands: list[int], loose: list[bool], per_user: int,
               per_brand: int) -> list[int]:
    """Those of one user's candidates (``block``, best first, each with its score, brand and whether its quantity
    cannot bind) that ``_Keys.undominated`` leaves out."""
    counted: dict[int, int] = defaultdict(int)
    out, total, better = [], 0, 0
    for k, i in enumerate(block):
        while better < len(block) and score[better] > score[k] + TIE_TOLERANCE:
            if loose[better]:
                counted[brands[better]] += 1
                total += counted[brands[better]] <= per_brand
            better += 1
        if total >= per_user or counted[brands[k]] >= per_brand:
            out.append(i)
    return out


def _codes(keys: Sequence[str | tuple[str, str]]) -> np.ndarray:
    """Each key's number, the keys numbered in sorted order."""
    index = {k: i for i, k in enumerate(sorted(set(keys)))}
    return np.fromiter((index[k] for k in keys), dtype=np.int64, count=len(keys))


def _optimum(scores: np.ndarray, matrix: sparse.csr_array, upper: np.ndarray, ties: list[np.ndarray],
             scarce: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """The 0/1 choice maximising the total score; among equal totals, the one with the largest sum of ``ties[0]``,
    among those the largest of ``ties[1]``, and so on (``_Keys.preferences``). The ties are broken in further LPs,
    each over the optimal face of the one before: a tiny bonus added to the scores (``TIE_EPSILON``) sits below the
    solver's tolerances, which then picked any optimum. ``scarce``: how the first LP's working set grows (``_first``;
    default: every candidate at once)."""
    n = len(scores)
    group, batch = scarce if scarce is not None else (np.full(n, -1), np.zeros(n))
    first = _first(scores, matrix, upper, group, batch)
    if first is not None and _integral(first[0]):
        x = _break_ties(first[1], scores, matrix, upper, ties)
        if x is not None:
            return x
    # The matrix is totally unimodular, so a simplex vertex is integral; keep an exact fallback anyway.
    bonus = sum(t / max(float(t.max()), 1.0) * 1e-3 ** k for k, t in enumerate(ties))
    weights = scores + TIE_EPSILON * bonus
    result = milp(c=-weights, constraints=LinearConstraint(matrix, -np.inf, upper),
                  integrality=np.ones(n), bounds=Bounds(0, 1), options={"mip_rel_gap": 0.0})
    if result.x is None:
        raise RuntimeError(f"assignment solver failed: {result.message}")
    return np.asarray(result.x)


def _first(scores: np.ndarray, matrix: sparse.csr_array, upper: np.ndarray, group: np.ndarray, batch: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray] | None:
    """An optimum of the first LP (every candidate's 0/1 choice, and the limits' duals), or None if the solver fails.
    It is solved over a working set: every candidate of a perk whose quantity cannot bind (``group`` -1), and of
    each scarce perk (``group``: ``_Keys.scarce``) its ``batch`` best; then, while some left out have a negative
    reduced cost under the duals (taking one would raise the total), each scarce perk's ``batch`` most negative of
    them join it (once it holds most candidates, all of them). When none has, the choice and duals are an optimum
    of the LP over every candidate (complementary slackness holds for all of them), and the optimal face
    ``_break_ties`` reads from the duals is the one the LP over them all gives, whichever optimal duals these are.
    HiGHS takes about 0.9 kB a candidate: at 40,000 users (0.95 million candidates, nearly all of scarce perks) the
    LP over them all took 0.9 GB, over the working set 12,106 at most (7 rounds, 20 s less)."""
    columns = sparse.csc_array(matrix)
    work = (group < 0) | _firsts(-scores, group, batch)
    while True:
        if 2 * np.count_nonzero(work) > len(work):  # most of them already: all, in one more round at most (where
            work[:] = True  # most perks have no quantity, it grew a few columns a round, 30 rounds, 3 times as slow)
        cols = np.flatnonzero(work)
        result = linprog(-scores[cols], A_ub=columns[:, cols], b_ub=upper, bounds=(0, 1), method="highs-ds")
        if result.x is None:
            return None
        duals = np.asarray(result.ineqlin.marginals)
        reduced = -scores - columns.T @ duals
        enter = np.flatnonzero(~work & (reduced < -TIE_TOLERANCE))
        if not len(enter):
            x = np.zeros(len(scores))
            x[cols] = result.x
            return x, duals
        work[enter[_firsts(reduced[enter], group[enter], batch[enter])]] = True


def _firsts(values: np.ndarray, group: np.ndarray, limit: np.ndarray) -> np.ndarray:
    """Whether each is among the ``limit`` lowest ``values`` of its ``group``."""
    order = np.lexsort((values, group))
    rank = np.empty(len(values), dtype=np.int64)
    rank[order] = np.arange(len(values)) - np.searchsorted(group[order], group[order])
    ranked: np.ndarray = rank < limit
    return ranked


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
