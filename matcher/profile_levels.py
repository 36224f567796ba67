"""The taxonomy walked for one user's profile (``profiles.build_profile``): which topics to measure, level by level,
the deepest first, a parent's support from its children, and a side interest demoted to a candidate."""

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from matcher.profile_measure import _measure, _Measured
from matcher.profile_types import ProfileParams


@dataclass(frozen=True)
class _Plan:
    """What both passes of ``_levels`` walk: it depends on the memberships alone, not on any verdict, so it is found
    once per user (``_plan``)."""

    by_topic: np.ndarray  # (T, n) membership, a topic's posts side by side: a topic's column is read as one row
    present: set[int]  # the topics some post is a member of
    children: dict[int, list[int]]  # a topic's children among the touched and present topics, in index order
    topics: list[int]  # the touched topics, in index order
    levels: list[list[int]]  # the same, deepest first (``_by_depth``)


def _plan(members: np.ndarray, parents: list[int], ctx: dict[str, Any], params: ProfileParams) -> _Plan:
    """The topics to measure: those touched (a post at ``member_min`` or more, or half a post's weight in all), and
    every topic above one: support climbs every level (two grandchildren in two branches make their grandparent,
    though no post touches its children)."""
    present = set(np.flatnonzero(members.any(axis=0)).tolist())
    touched = set(np.nonzero((members >= params.member_min).any(axis=0)
                             | ((members * ctx["weight"][:, None]).sum(axis=0) > 0.5))[0].tolist())
    for k in list(touched):
        up = parents[k]
        while up >= 0 and up not in touched:
            touched.add(up)
            up = parents[up]
    children: dict[int, list[int]] = {}
    for c in sorted(touched | present):
        if parents[c] >= 0:
            children.setdefault(parents[c], []).append(c)
    topics = sorted(touched)
    return _Plan(np.ascontiguousarray(members.T), present, children, topics, _by_depth(topics, parents))


def _levels(plan: _Plan, topic_ids: list[str], allowed: np.ndarray, ctx: dict[str, Any], params: ProfileParams,
            best: float = 0.0, previous: dict[int, _Measured] | None = None,
            spread: tuple[int, int] = (0, 0)) -> dict[int, _Measured]:
    """Every touched topic's verdict, the deepest level first. A parent's support (``column``) adds that of its
    children that are not inferred, which in a deeper taxonomy includes their own children's; its ``total`` adds
    every child's (``_support``).

    With ``best``, topics under ``min_share_of_best`` of it are demoted; a topic whose children kept their
    status and support in ``previous`` (an earlier pass) is not measured again. With ``spread`` (the user's posts
    are on everything, ``profiles._focus``), no topic is inferred, and each says so: a parent counts all its
    children's support, as none covers it."""
    results: dict[int, _Measured] = {}
    measured: set[int] = set()  # topics measured in this pass (not taken from ``previous``)
    for level in plan.levels:
        branches: list[tuple[int, list[int]]] = []  # (topic, its children to count)
        leaves = []  # topics with no children to count: their column is their own membership
        for k in level:  # (most are leaves: no children to read)
            kids = [c for c in plan.children[k] if c in results or c in plan.present] if k in plan.children else []
            if previous is not None and k in previous and (not kids or not measured.intersection(kids) and all(
                    results[c].inferred == previous[c].inferred for c in kids if c in results and c in previous)):
                results[k] = _side_interest(previous[k], best, params)
            elif not kids:
                leaves.append(k)
            else:
                branches.append((k, kids))
        if not branches and not leaves:
            continue
        todo = [k for k, _ in branches] + leaves
        measured.update(todo)
        columns, totals, covered_by = _support(plan.by_topic, branches, leaves, results, topic_ids)
        for result in _measure(todo, columns, totals, covered_by, ctx, params):
            if allowed[result.k]:
                if spread[1]:
                    result.inferred, result.spread = False, spread
                results[result.k] = _side_interest(result, best, params) if best else result
    return results


def _support(by_topic: np.ndarray, branches: list[tuple[int, list[int]]], leaves: list[int],
             results: dict[int, _Measured], topic_ids: list[str]) -> tuple[np.ndarray, np.ndarray, list[list[str]]]:
    """The (K, n) columns and totals of these topics, the branches' then the leaves', capped at 1, and the inferred
    children covering each: one array each, as ``_measure`` reads them (its sums over posts are one per row). A
    branch's row adds its children's, in index order, onto zeros, then its own membership: the same additions, so
    the same bits, as ``own + sum(children's, np.zeros(n))``, the last of them for all branches at once."""
    n, b = by_topic.shape[1], len(branches)
    columns, totals = np.zeros((b + len(leaves), n)), np.zeros((b + len(leaves), n))
    covered_by: list[list[str]] = []
    for (_, kids), column, total in zip(branches, columns, totals, strict=False):  # rows: views, added to in place
        covered = []
        for c in kids:
            kid = results.get(c)
            total += by_topic[c] if kid is None else kid.total
            if kid is not None and kid.inferred:
                covered.append(topic_ids[c])
            else:
                column += by_topic[c] if kid is None else kid.column
        covered_by.append(covered)
    own = by_topic[[k for k, _ in branches]]
    np.minimum(own + columns[:b], 1.0, out=columns[:b])
    np.minimum(own + totals[:b], 1.0, out=totals[:b])
    np.minimum(by_topic[leaves], 1.0, out=columns[b:])
    totals[b:] = columns[b:]
    return columns, totals, covered_by + [[] for _ in leaves]


def _by_depth(topics: list[int], parents: list[int]) -> list[list[int]]:
    """These topics grouped by depth in the taxonomy, deepest first, each group in index order: every topic comes
    after its children, and the topics of one group do not depend on each other."""
    groups: dict[int, list[int]] = {}
    for k in topics:
        d, up = 0, parents[k]
        while up >= 0:
            d, up = d + 1, parents[up]
        groups.setdefault(d, []).append(k)
    return [groups[d] for d in sorted(groups, reverse=True)]


def _side_interest(r: _Measured, best: float, params: ProfileParams) -> _Measured:
    """Demote a topic far weaker than the user's strongest one to a candidate, saying so."""
    if not best or not r.inferred or r.score >= params.min_share_of_best * best:
        return r
    return replace(r, inferred=False, best=best)
