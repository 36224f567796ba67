"""Why each candidate an assignment (``matcher.assign``) left out was, in words naming the limit that held it: for
`match` to record, and `explain` and `brand` to show."""

from collections import defaultdict

from catalog.schema import brand_key
from matcher.assign import TIE_TOLERANCE, Candidate

BRAND_LIMIT = "brand limit"  # the rule a reason a per-brand cap withheld a perk starts with, before its ":"


def lost_reasons(chosen: list[Candidate], candidates: list[Candidate], per_user: int, per_brand: int,
                 keep: int | None = None) -> dict[str, list[tuple[str, float, str]]]:
    """For each user, the candidates they did not get: (perk, score, why); with ``keep``, only each user's ``keep``
    best (by score, then perk id), the only ones put into words (a large match has hundreds of thousands)."""
    why = LostReasons(chosen, per_user, per_brand)
    left: dict[str, list[Candidate]] = defaultdict(list)
    for c in candidates:
        if (c.user_id, c.perk_id) not in why.chosen:
            left[c.user_id].append(c)
    lost: dict[str, list[tuple[str, float, str]]] = defaultdict(list)
    for user_id, cands in left.items():
        lost[user_id] = why.of(cands, keep)
    return lost


class LostReasons:
    """What ``lost_reasons`` reads of an assignment (``chosen``) to say why a candidate left out was, one user's
    candidates at a time (``of``)."""

    def __init__(self, chosen: list[Candidate], per_user: int, per_brand: int) -> None:
        self.chosen = {(c.user_id, c.perk_id) for c in chosen}
        self.limits = per_user, per_brand
        self.holders: dict[str, list[Candidate]] = defaultdict(list)  # each perk's assignments
        self.lowest: dict[str | tuple[str, str], float] = {}  # each perk's, and each user's, lowest score among them
        self.brands: dict[tuple[str, str], list[str]] = defaultdict(list)  # perks of each brand (``brand_key``) a user
        # gets
        self.taken: dict[str, int] = defaultdict(int)
        for c in chosen:
            self.taken[c.user_id] += 1
            self.brands[(c.user_id, brand_key(c.brand))].append(c.perk_id)
            self.holders[c.perk_id].append(c)
            for key in (c.perk_id, ("user", c.user_id)):
                self.lowest[key] = min(self.lowest.get(key, c.score), c.score)

    def of(self, cands: list[Candidate], keep: int | None = None) -> list[tuple[str, float, str]]:
        """(perk, score, why) of these candidates left out (one user's), in their order; with ``keep``, the ``keep``
        best (by score, then perk id)."""
        if keep is not None:
            cands = sorted(cands, key=lambda c: (-c.score, c.perk_id))[:keep]
        return [(c.perk_id, c.score, _lost_reason(c, self.holders, self.lowest, self.brands, self.taken, *self.limits))
                for c in cands]


def _lost_reason(c: Candidate, holders: dict[str, list[Candidate]], lowest: dict[str | tuple[str, str], float],
                 brands: dict[tuple[str, str], list[str]], taken: dict[str, int], per_user: int, per_brand: int) -> str:
    """Why a candidate was not assigned, in words that hold: the assignment maximises everyone's total fit, so a
    unit can go to a lower score than this user's, and a user's slots can hold a perk that fits them less than this
    one, when that frees a better fit elsewhere. "Fits better" is said only where it is true, and an equal fit
    (the tie rule: lower ids first) is said as such."""
    if c.quantity == 0:
        return "quantity: none to give (the catalog gives it quantity 0)"
    if per_user <= 0 or per_brand <= 0:  # (``assign`` gives nothing; the user's lowest score below is of none)
        limit = "per-user limit" if per_user <= 0 else BRAND_LIMIT
        return f"{limit}: 0 perks {'a user' if per_user <= 0 else 'of one brand a user'}, so none is given"
    sold_out = c.quantity is not None and len(holders[c.perk_id]) >= c.quantity
    if sold_out and c.score <= lowest.get(c.perk_id, c.score) + TIE_TOLERANCE:
        if c.score < lowest[c.perk_id] - TIE_TOLERANCE:
            return f"quantity: all {c.quantity} went to users it fits better"
        tied = [h.user_id for h in holders[c.perk_id] if abs(h.score - c.score) <= TIE_TOLERANCE]
        rule = " (on an equal fit, lower user ids first)" if all(u < c.user_id for u in tied) else ""
        return f"quantity: all {c.quantity} went to users it fits as well or better{rule}"
    held = brands.get((c.user_id, brand_key(c.brand)), [])
    if len(held) >= per_brand:  # the perks named: a brand asking why its tent went to nobody sees its gift card took
        return (f"{BRAND_LIMIT}: the user already gets {per_brand} perk(s) from {c.brand} "
                f"({', '.join(sorted(held))})")
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
