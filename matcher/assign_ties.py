"""How ``matcher.assign`` breaks ties among the optima of its assignment LP: each tie-break is a further LP over the
optimal face of the one before, read from its duals (``_settle``), and what the id sums leave undecided is settled one
candidate at a time in (user, perk) id order (``_by_ids``). Every LP here keeps the network matrix, so its optimum is
integral too."""

import numpy as np
from scipy import sparse
from scipy.optimize import linprog

TIE_TOLERANCE = 1e-6  # reduced costs and duals this close to 0 are 0 (scores closer than this tie)


def _integral(x: np.ndarray) -> bool:
    return not np.any((x > 1e-6) & (x < 1 - 1e-6))


def _break_ties(duals: np.ndarray, scores: np.ndarray, matrix: sparse.csr_array, upper: np.ndarray,
                ties: list[np.ndarray]) -> np.ndarray | None:
    """Among the optima of ``first``, the one with the largest sum of ``ties[0]``, among those of ``ties[1]``...;
    None if the solver fails. Each LP's optimal face is read from its duals (``_settle``); it keeps the network
    matrix, so the optimum of the next LP over it is integral too. The sums can still tie (two users who each want
    the same two perks of one unit, equally: either way round sums the same), and then the candidates no rule settled
    are settled one by one in id order (``_by_ids``), not left to the solver's pick: that pick changed with the LP's
    path (the working set ``_first`` grew, another user's candidates), so the same two users' perks could swap."""
    x = np.zeros(len(scores))
    free, tight = np.ones(len(scores), dtype=bool), np.zeros(len(upper), dtype=bool)
    _settle(x, free, tight, matrix, -scores, duals)
    for weights in ties:
        if free.any() and _on_face(x, free, tight, matrix, upper, weights) is None:
            return None
    return x if _by_ids(x, free, tight, matrix, upper) else None


def _by_ids(x: np.ndarray, free: np.ndarray, tight: np.ndarray, matrix: sparse.csr_array, upper: np.ndarray) -> bool:
    """Settle the ``free`` candidates whose choice still varies over the optimal face in id order (their order here):
    the first is taken if some choice on the face so far takes it, else left out, then the next... (of the optima,
    the one whose 0/1 row is the largest in id order); the others keep ``x``'s choice, the same on the whole face.
    False if the solver fails. Mostly none varies: one LP says so."""
    varies = _varying(x, free, tight, matrix, upper)
    if varies is None:
        return False
    free &= varies
    while free.any():
        first = int(np.flatnonzero(free)[0])
        weights = np.zeros(len(x))
        weights[first] = 1.0
        value = _on_face(x, free, tight, matrix, upper, weights)
        if value is None:
            return False
        if free[first]:  # (its duals left it undecided: it takes the value the LP gave it, the most it can take)
            x[first], free[first] = value[first], False
    return True


def _varying(x: np.ndarray, free: np.ndarray, tight: np.ndarray, matrix: sparse.csr_array, upper: np.ndarray
             ) -> np.ndarray | None:
    """Which ``free`` candidates some choice on the optimal face takes otherwise than ``x`` (one on it) does: LPs
    that move as many of the others away from ``x`` as they can, until none moves; None if the solver fails."""
    varies = np.zeros(len(x), dtype=bool)
    while (unknown := free & ~varies).any():
        moved = _lp_on_face(x, free, tight, matrix, upper, np.where(unknown, np.where(x > 0.5, -1.0, 1.0), 0.0))
        if moved is None:
            return None
        newly = unknown & (np.abs(moved - x) > 0.5)
        if not newly.any():
            break
        varies |= newly
    return varies


def _on_face(x: np.ndarray, free: np.ndarray, tight: np.ndarray, matrix: sparse.csr_array, upper: np.ndarray,
             weights: np.ndarray) -> np.ndarray | None:
    """Maximise ``weights`` over the optimal face so far (``_lp_on_face``), then narrow the face to this LP's
    (``_settle``); the free candidates take this LP's choice, unless a later LP settles them. The LP's choice of
    every candidate, or None."""
    cols = np.flatnonzero(free)
    chosen = _lp_on_face(x, free, tight, matrix, upper, weights, duals := np.zeros(len(upper)))
    if chosen is None:
        return None
    x[cols] = 0.0
    _settle(x, free, tight, matrix, -weights, duals)
    undecided = free[cols]
    x[cols[undecided]] = chosen[cols[undecided]]  # this LP's choice, unless a later one settles them
    return chosen


def _lp_on_face(x: np.ndarray, free: np.ndarray, tight: np.ndarray, matrix: sparse.csr_array, upper: np.ndarray,
                weights: np.ndarray, duals: np.ndarray | None = None) -> np.ndarray | None:
    """An integral choice maximising ``weights`` over the optimal face so far: the ``free`` candidates, the others as
    ``x`` has them, the ``tight`` limits filled (its limits' duals into ``duals``); None if the solver fails or the
    choice is not integral."""
    cols = np.flatnonzero(free)
    chosen = np.where(free, 0.0, x)
    sub = sparse.csc_array(matrix)[:, cols].tocsr()
    rest = upper - matrix @ chosen
    rows = np.flatnonzero(sub.sum(axis=1))  # limits on no free candidate constrain nothing
    eq, ub = rows[tight[rows]], rows[~tight[rows]]
    result = linprog(-weights[cols],
                     A_ub=sub[ub] if len(ub) else None, b_ub=rest[ub] if len(ub) else None,
                     A_eq=sub[eq] if len(eq) else None, b_eq=rest[eq] if len(eq) else None,
                     bounds=(0, 1), method="highs-ds")
    if result.x is None or not _integral(result.x):
        return None
    if duals is not None and len(ub):
        duals[ub] = result.ineqlin.marginals
    if duals is not None and len(eq):
        duals[eq] = result.eqlin.marginals
    chosen[cols] = np.round(result.x)
    return chosen


def _settle(x: np.ndarray, free: np.ndarray, tight: np.ndarray, matrix: sparse.csr_array, cost: np.ndarray,
            duals: np.ndarray) -> None:
    """Narrow the ``free`` candidates to an LP's optimal face (it minimised ``cost``; ``duals``: its limits'). By
    complementary slackness, every optimum takes the candidates whose reduced cost is negative (``x`` = 1), leaves
    out those whose reduced cost is positive, and fills the limits whose dual is not zero (``tight``)."""
    cols = np.flatnonzero(free)
    reduced = cost[cols] - sparse.csc_array(matrix)[:, cols].T @ duals
    x[cols[reduced < -TIE_TOLERANCE]] = 1.0
    free[cols[np.abs(reduced) > TIE_TOLERANCE]] = False
    tight |= np.abs(duals) > TIE_TOLERANCE
