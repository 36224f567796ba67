"""Which sensitive topics of the loaded taxonomy each sensitive matter (``sensitive_content``) is about.

A post touching a matter is veiled, but a user who opted in to a sensitive topic about that matter asked to have it
read: such a post is shown to them (``sensitive_content.veiled_matters``) when every matter it touches is linked to a
sensitive topic they opted in to (or to one under a topic they opted in to). Topic ids differ between taxonomies, so
the links are read off the model, whatever taxonomy is loaded, when the topic space is built: the matter's phrases are
read as posts are, by their similarity to each topic (``classify.topic_similarity``'s, before any fit to the
collection, in float64).

- A phrase is *placed* among the sensitive topics when its closest sensitive topic is within ``tie`` of its closest
  topic of all and at least ``ClassifyParams.floor`` similar. A matter fewer than ``placed`` of whose phrases are
  placed is linked to none: the model reads it as about other topics (on dev, pregnancy is Parenting's).
- A sensitive topic *covers* a placed phrase when it, or a topic under it, is within ``tie`` of the phrase's closest
  sensitive topic. A topic covering ``share`` of the placed phrases is linked when it is about the matter: the
  matter is, of all matters, within ``about`` of the one the topic's own texts are closest to (``identity,
  immigration and disability`` is not linked to a Politics whose Government and Policy lists immigration: Politics
  is about politics).
- Of a topic that may be linked and one under it that may, the one under it stands for the matter when it covers
  ``narrower`` of what the other covers (Pregnancy and Fertility, 8 of the 10 placed pregnancy phrases, rather than
  all of Health, 10); otherwise the broader one does, and an opt-in to the narrower one alone does not cover the
  matter (it would show posts the topic is not about). IAB's Elections, covering 3 of the 5 politics phrases, is not
  linked (an opt-in to it does not show a post about abortion law); Politics, covering them all, is.

A matter linked to no topic stays veiled for everyone, as does one the file marks ``linked: false`` (crime, violence
and abuse: an opt-in to a taxonomy's crime news is no consent to show one's own abuse). Prefer that to a wrong link:
a wrong one shows a pregnancy to a brand because the user opted in to religion. ``scripts/matter_links.py`` prints a
taxonomy's links.
"""

from dataclasses import dataclass

import numpy as np

from matcher.classify import ClassifyParams
from matcher.sensitive_content import MASK, matter_linkable, matter_list, matter_starts
from matcher.topic_tree import TopicInfo, lineage

__all__ = ["LinkParams", "link_table", "linked_topics", "matter_links"]

EPS = 1e-9  # shares are counts over counts: 2 of 3 is 2/3, whatever the division rounds to


@dataclass(frozen=True)
class LinkParams:
    """How a matter is linked to sensitive topics (``matter_links``)."""

    tie: float = 0.05  # a phrase's closest sensitive topic this close to its closest topic places it among them; a
    # topic this close to the phrase's closest sensitive topic (or one under it) covers it
    placed: float = 0.5  # a matter fewer of whose phrases are placed is linked to none
    share: float = 2 / 3  # a topic covering this share of a matter's placed phrases may be linked to it ...
    about: float = 0.04  # ... when the matter is within this of the matter the topic's own texts are closest to
    narrower: float = 0.75  # a topic under it that covers this share of what it covers stands for it instead


def matter_links(topics: list[TopicInfo], vectors: np.ndarray, views: np.ndarray, view_starts: np.ndarray,
                 phrases: np.ndarray, params: ClassifyParams = ClassifyParams(),
                 link: LinkParams = LinkParams()) -> np.ndarray:
    """(T,) ``MASK``: the matters linked to each topic (bit i: ``matter_list()[i]``; none to a topic not sensitive).
    ``vectors``, ``views``, ``view_starts``: the topic space's, before any fit; ``phrases``: the vectors of
    ``matter_phrases()``. The same inputs give the same links, bit for bit (float64 products)."""
    out = np.zeros(len(topics), dtype=MASK)
    sensitive = np.flatnonzero([t.sensitive for t in topics])
    if not len(sensitive) or not len(phrases):
        return out
    sim = _similarity(np.asarray(phrases, np.float64), vectors, views, view_starts, params)
    under = _subtrees(topics)
    starts = matter_starts()
    ends = np.append(starts[1:], len(sim))
    about = _about(sim, starts, link)
    linkable = matter_linkable()
    for m, (start, end) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
        if not linkable[m]:  # (the file says no opt-in shows it)
            continue
        share = _shares(sim[start:end], sensitive, under, params, link)
        if share is None:
            continue
        may = {int(k) for k, s in zip(sensitive, share, strict=True) if s >= link.share - EPS and about[m, k]}
        for k in _chosen(may, dict(zip(sensitive.tolist(), share.tolist(), strict=True)), under, link):
            out[k] |= MASK(1 << m)
    return out


def _similarity(phrases: np.ndarray, vectors: np.ndarray, views: np.ndarray, view_starts: np.ndarray,
                params: ClassifyParams) -> np.ndarray:
    """(phrases, T) ``classify.topic_similarity``, in float64: each value the same whatever the rows beside it."""
    whole = phrases @ np.asarray(vectors, np.float64).T
    if not params.view_weight or not len(views):
        return whole
    near = np.maximum.reduceat(phrases @ np.asarray(views, np.float64).T, view_starts, axis=1)
    out: np.ndarray = (1 - params.view_weight) * whole + params.view_weight * near
    return out


def _subtrees(topics: list[TopicInfo]) -> list[list[int]]:
    """Each topic's subtree: itself and every topic under it, at any depth (``topic_tree.lineage``)."""
    index = {t.topic_id: k for k, t in enumerate(topics)}
    under: list[list[int]] = [[] for _ in topics]
    for topic_id, chain in lineage(topics).items():
        for up in chain:
            under[index[up]].append(index[topic_id])
    return [sorted(u) for u in under]


def _about(sim: np.ndarray, starts: np.ndarray, link: LinkParams) -> np.ndarray:
    """(matters, T) bool: whether a topic is about a matter: its mean similarity to the matter's phrases is within
    ``about`` of its largest to any matter's."""
    sizes = np.diff(np.append(starts, len(sim)))
    mean = np.add.reduceat(sim, starts, axis=0) / sizes[:, None]
    out: np.ndarray = mean >= mean.max(axis=0, keepdims=True) - link.about
    return out


def _shares(sim: np.ndarray, sensitive: np.ndarray, under: list[list[int]], params: ClassifyParams,
            link: LinkParams) -> np.ndarray | None:
    """The share of one matter's placed phrases (``sim``: their rows) each sensitive topic covers; None when too
    few of them are placed."""
    best = sim.max(axis=1)
    closest = sim[:, sensitive].max(axis=1)
    placed = (closest >= best - link.tie) & (closest >= params.floor)
    if not placed.any() or placed.mean() < link.placed:
        return None
    reach = np.stack([sim[placed][:, under[k]].max(axis=1) for k in sensitive.tolist()], axis=1)
    out: np.ndarray = (reach >= closest[placed][:, None] - link.tie).mean(axis=0)
    return out


def _chosen(may: set[int], share: dict[int, float], under: list[list[int]], link: LinkParams) -> list[int]:
    """Of the topics that may be linked to a matter, those that stand for it: not one with a topic under it that
    covers ``narrower`` of what it covers (that one stands instead), nor one under a topic that stands."""
    narrowed = {k for k in may if any(c != k and c in may and share[c] >= link.narrower * share[k] - EPS
                for c in under[k])}
    stands = may - narrowed
    return sorted(k for k in stands if not any(a != k and k in under[a] for a in stands))


def link_table(topics: list[TopicInfo], links: np.ndarray) -> dict[str, list[str]]:
    """Each matter (in the file's order) with the ids of the topics linked to it (in the taxonomy's order)."""
    return {name: [t.topic_id for t, bits in zip(topics, links.tolist(), strict=True) if bits >> i & 1]
            for i, name in enumerate(matter_list())}


def linked_topics(table: dict[str, list[str]] | None) -> frozenset[str]:
    """The topics a run's ``link_table`` (as its params keep it) links to any matter."""
    return frozenset(t for ids in (table or {}).values() for t in ids)
