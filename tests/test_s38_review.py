"""Review of session 38's change (helper-127): defects found, each pinned by a test that failed before its fix."""

import random

import numpy as np

from matcher.assign import Candidate, _Keys, _optimum, assign


def _pairs(chosen: list[Candidate]) -> list[tuple[str, str]]:
    return sorted((c.user_id, c.perk_id) for c in chosen)


def test_a_tie_the_id_sums_do_not_break_is_broken_by_ids_not_by_the_solver() -> None:
    """Two users each want the same two perks of one unit, u0 at 0.5 both, u1 at 0.7 both, one perk a user: either
    way round the total is 1.2, and both tie sums of ``_Keys.preferences`` are equal too (3, and 4 + 1 = 3 + 2), so
    the solver's vertex decided: u0 got p1. The README says ties go by ids, a user's perks earlier in id order
    first: u0 (the lower id) gets p0."""
    cands = [Candidate("u0", "p0", "b", 0.5, 1), Candidate("u0", "p1", "a", 0.5, 1),
             Candidate("u1", "p0", "b", 0.7, 1), Candidate("u1", "p1", "a", 0.7, 1)]
    assert _pairs(assign(cands, per_user=1, per_brand=1)) == [("u0", "p0"), ("u1", "p1")]


def _contention(rng: random.Random) -> list[Candidate]:
    """Users wanting a few perks of small quantities (some none, some 0), with many equal scores."""
    users, n_perks = rng.randint(20, 80), rng.randint(3, 10)
    perks = {f"p{j}": (rng.choice(["a", "b", "c", "A "]), rng.choice([None, 0, 1, 1, 2, 3, 5])) for j in range(n_perks)}
    out = []
    for u in range(users):
        for perk_id, (brand, quantity) in perks.items():
            if rng.random() < 0.6:
                score = rng.choice([0.5, 0.6, 0.7, round(rng.random(), rng.choice([1, 2, 4]))])
                out.append(Candidate(f"u{u:02d}", perk_id, brand, score, quantity))
    return out


def _chosen(cands: list[Candidate], per_user: int, per_brand: int, working_set: bool) -> list[tuple[str, str]]:
    cands = sorted(cands, key=lambda c: (c.user_id, c.perk_id))
    keys, scores = _Keys(cands), np.array([c.score for c in cands])
    kept = np.flatnonzero(keys.undominated(scores, per_user, per_brand))
    matrix, upper = keys.limits(kept, per_user, per_brand)
    x = _optimum(scores[kept], matrix, upper, [t[kept] for t in keys.preferences()],
                 keys.scarce(kept) if working_set else None)
    return sorted((cands[i].user_id, cands[i].perk_id) for i in kept[np.asarray(x) > 0.5])


def test_the_working_set_gives_the_choice_the_lp_over_every_candidate_gives() -> None:
    """``assign._first`` solves the first LP over a working set grown by reduced costs. Its optimum and optimal face
    are the full LP's, but where the tie sums were equal the pick was the solver's, and its path differs: in this
    seeded case (found by a fuzz of 1,500), u02 and u10, each wanting p4 and p6 at 0.7, swapped them."""
    rng = random.Random(200952)
    cands = _contention(rng)
    per_user, per_brand = rng.randint(1, 3), rng.randint(1, 2)
    assert _chosen(cands, per_user, per_brand, True) == _chosen(cands, per_user, per_brand, False)
    for seed in range(5):  # and a few more, where they agreed before too
        rng = random.Random(seed)
        cands, limits = _contention(rng), (rng.randint(1, 3), rng.randint(1, 2))
        assert _chosen(cands, *limits, True) == _chosen(cands, *limits, False)
