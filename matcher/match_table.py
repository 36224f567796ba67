"""A match's candidates and perks withheld, held compactly from the moment they are found until the run is written:
numbers in arrays (each candidate's user, perk and score; each exclusion's, with its reason's number) and each
candidate's reasons (``perk_candidates.HIT``) packed into one buffer (``pack_hits``), unpacked again only for the
candidates whose reasons are read (the assignments written, ``perk_candidates.citing_gone``). As Python objects (a
``Candidate`` and a list of ``Hit`` tuples each, the perks withheld as tuples) they took about 0.75 kB a candidate:
0.72 GB for the 0.95 million candidates of 40,000 users (24 a user, one topic and 5 posts each, at the bench catalog),
now about 0.1 kB. The values are the same, so the assignments, their reasons and the exclusions written are too, byte
for byte."""

import bisect
import struct
from array import array
from collections.abc import Iterator
from typing import Any

import numpy as np

from catalog.schema import brand_key
from matcher.assign import Candidate, _codes, choose
from matcher.lost import LostReasons

Hit = tuple[str, float, float, float, list[int]]  # (``perk_candidates.HIT``'s fields)
Excluded = tuple[str, str, float, str]  # (user, perk, score, why) of a perk withheld from a user or lost to a limit
_HIT = struct.Struct("<IdddI")  # a hit's topic (its place in the taxonomy's ids), relevance, fit, score, posts
_POST = struct.Struct("<q")


def pack_hits(hits: list[Hit], column: dict[str, int]) -> bytes:
    """A candidate's reasons as bytes: each hit's numbers (``_HIT``), then its posts' keys."""
    return b"".join(_HIT.pack(column[t], relevance, fit, score, len(posts)) + struct.pack(f"<{len(posts)}q", *posts)
                    for t, relevance, fit, score, posts in hits)


def unpack_hits(data: bytes, topics: list[str]) -> list[Hit]:
    """``pack_hits`` read back: the same values (floats as 8 bytes, keys as 8-byte ints)."""
    hits, at = [], 0
    while at < len(data):
        topic, relevance, fit, score, n = _HIT.unpack_from(data, at)
        at += _HIT.size
        hits.append((topics[topic], relevance, fit, score, list(struct.unpack_from(f"<{n}q", data, at))))
        at += n * _POST.size
    return hits


class Found:
    """The candidates of these users (``users``, sorted), in (user, perk) order, each with its score and packed
    reasons, and the perks withheld from them with the rule (``add``, ``withhold``: in user order, as
    ``perk_candidates.find_candidates`` finds them). ``perks``: the catalog's, as ``PerkSpace`` lists them (a perk is
    its place there); ``topics``: the taxonomy's ids (a hit's topic is its place)."""

    def __init__(self, users: list[str], perks: list[Any], topics: list[str]) -> None:
        self.users, self.perks, self.topics = users, perks, topics
        self.column = {t: k for k, t in enumerate(topics)}
        self.user, self.perk, self.score, self.ends = array("i"), array("i"), array("d"), array("q")
        self.packed = bytearray()
        self.held_user, self.held_perk, self.held_score, self.held_why = array("i"), array("i"), array("d"), array("i")
        self.whys: list[str] = []  # each reason a perk is withheld for, once (most are shared by many users)
        self._why_no: dict[str, int] = {}
        self._user_no = {u: i for i, u in enumerate(users)}

    def add(self, user_id: str, perk_i: int, score: float, hits: list[Hit]) -> None:
        self.user.append(self._user_no[user_id])
        self.perk.append(perk_i)
        self.score.append(score)
        self.packed += pack_hits(hits, self.column)
        self.ends.append(len(self.packed))

    def withhold(self, user_id: str, perk_i: int, score: float, why: str) -> None:
        self.held_user.append(self._user_no[user_id])
        self.held_perk.append(perk_i)
        self.held_score.append(score)
        self.held_why.append(self._why_no.setdefault(why, len(self.whys)))
        if len(self._why_no) > len(self.whys):
            self.whys.append(why)

    def __len__(self) -> int:
        return len(self.user)

    def candidate(self, i: int) -> Candidate:
        perk = self.perks[self.perk[i]]
        return Candidate(self.users[self.user[i]], perk.perk_id, perk.brand, self.score[i], perk.quantity)

    def __getitem__(self, key: tuple[str, str]) -> list[Hit]:
        """The reasons of candidate (user, perk id), unpacked: what ``find_candidates`` found."""
        user_id, perk_id = key
        at = bisect.bisect_left(self.users, user_id)
        if at == len(self.users) or self.users[at] != user_id:
            raise KeyError(key)
        lo, hi = self._rows(self.user, at)
        for i in range(lo, hi):
            if self.perks[self.perk[i]].perk_id == perk_id:
                return unpack_hits(bytes(self.packed[self.ends[i - 1] if i else 0:self.ends[i]]), self.topics)
        raise KeyError(key)

    @staticmethod
    def _rows(codes: "array[int]", at: int) -> tuple[int, int]:
        """The rows of user number ``at`` (rows are in user order)."""
        return bisect.bisect_left(codes, at), bisect.bisect_right(codes, at)

    def assign(self, per_user: int, per_brand: int) -> list[Candidate]:
        """``assign.assign`` of these candidates: the same choice, solved from their numbers (``assign.choose``)."""
        if not len(self):
            return []
        ids = [p.perk_id for p in self.perks]
        perk_rank = _codes(ids)
        brand_rank = _codes([brand_key(p.brand) for p in self.perks])
        quantity = np.array([np.nan if p.quantity is None else p.quantity for p in self.perks], dtype=float)
        user, perk = np.frombuffer(self.user, dtype=np.intc), np.frombuffer(self.perk, dtype=np.intc)
        order = np.lexsort((perk_rank[perk], user))  # (user, perk id) order: users are numbered in id order
        user, perk = _dense(user[order]), perk[order]
        brands = _dense(user * (int(brand_rank.max()) + 1) + brand_rank[perk])
        chosen = order[choose(user, brands, _dense(perk_rank[perk]), quantity[perk],
                              np.frombuffer(self.score, dtype=float)[order], per_user, per_brand)]
        return sorted([self.candidate(i) for i in chosen.tolist()], key=lambda c: (c.user_id, -c.score, c.perk_id))

    def excluded(self, chosen: list[Candidate], per_user: int, per_brand: int, keep: int | None) -> Iterator[Excluded]:
        """Each user's perks lost to the limits of the assignment ``chosen`` (``lost.lost_reasons``) and withheld
        by a rule, best first (``keep`` of them), by user: a user's at a time, as they are written."""
        why = LostReasons(chosen, per_user, per_brand)
        for at, user_id in enumerate(self.users):
            lo, hi = self._rows(self.user, at)
            left = [c for c in map(self.candidate, range(lo, hi)) if (c.user_id, c.perk_id) not in why.chosen]
            lost = why.of(left, keep) if left else []
            lo, hi = self._rows(self.held_user, at)
            held = [(self.perks[self.held_perk[i]].perk_id, self.held_score[i], self.whys[self.held_why[i]])
                    for i in range(lo, hi)]
            for perk_id, score, reason in sorted(lost + held, key=lambda x: (-x[1], x[0]))[:keep]:
                yield user_id, perk_id, score, reason

    def redone(self, users: set[str], again: "Found") -> "Found":
        """These users as ``again`` (found later) has them, the others as before."""
        merged = Found(sorted((set(self.users) - users) | set(again.users)), self.perks, self.topics)
        for user_id in merged.users:
            found = again if user_id in again._user_no else self
            found._copy_user(found._user_no[user_id], merged)
        return merged

    def _copy_user(self, at: int, to: "Found") -> None:
        user_id = self.users[at]
        lo, hi = self._rows(self.user, at)
        for i in range(lo, hi):
            to.user.append(to._user_no[user_id])
            to.perk.append(self.perk[i])
            to.score.append(self.score[i])
            to.packed += self.packed[self.ends[i - 1] if i else 0:self.ends[i]]
            to.ends.append(len(to.packed))
        lo, hi = self._rows(self.held_user, at)
        for i in range(lo, hi):
            to.withhold(user_id, self.held_perk[i], self.held_score[i], self.whys[self.held_why[i]])


def _dense(codes: np.ndarray) -> np.ndarray:
    """The codes renumbered 0, 1, ... in their order (``assign._codes`` of keys in that order)."""
    dense: np.ndarray = np.unique(codes, return_inverse=True)[1].reshape(len(codes))
    return dense
