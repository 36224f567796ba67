"""The catalog placed in the taxonomy, as `match` reads it (and `explain USER PERK` explains it): each perk's
relevance to each topic, the topics each is closest to, which perks a (user, topic) query weighs, and the rules
that keep a perk from a user (a sensitive topic they do not opt in to, their region, the offer window).

A perk's **relevance** to a topic is its similarity to the topic (the view-based similarity posts get, over the
taxonomy's own texts: related words are for posts) divided by its mean similarity to its ``hub_topics`` closest
topics: 1.0 means the topic is as close to the perk as the topics it is usually closest to; a perk written so
broadly that it sits near everything fits no topic especially.
"""

import datetime as dt
import functools
import json
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from catalog.index import PerkIndex, build_index
from catalog.schema import PerkRecord
from matcher.classify import ClassifyParams
from matcher.embed import EmbeddingCache
from matcher.topic_space import TopicSpace
from matcher.topic_tree import TopicInfo


@dataclass(frozen=True)
class MatchParams:
    candidates_per_topic: int = 20  # FAISS neighbours of each (user, topic) query
    topic_perks: int = 6  # ... plus the topic's most relevant perks
    topic_weight: float = 0.3  # share of the topic's own vector in the query (rest: evidence centroid)
    hub_topics: int = 3  # relevance divides by the perk's mean similarity to this many closest topics
    perk_topics: int = 3  # a perk is a candidate only through its this many most relevant topics (or its targets)
    min_relevance: float = 0.9  # below this a perk does not fit the topic at all
    evidence_weight: float = 0.3  # weight of the cosine between the user's query and the perk
    target_boost: float = 0.10
    sensitive_share: float = 0.9  # a perk is about a sensitive topic that fits it this well of its best other topic
    withheld_per_user: int | None = None  # how many exclusions to keep per user, best first (None: every one)


def region_ok(user_region: str | None, perk_regions: list[str]) -> bool:
    """A perk for US serves US-NY, and one for GB-ENG (England) serves GB-LND (London): a region serves every part
    ISO 3166-2 places in it (``within``); a perk for US-NY does not serve US-NJ; no regions = everywhere."""
    if not perk_regions:
        return True
    if not user_region:
        return False
    return not within(user_region.upper()).isdisjoint(perk_regions)


@functools.lru_cache(maxsize=4096)
def within(code: str) -> frozenset[str]:
    """The region and every region it is part of: its country, and the subdivisions ISO 3166-2 nests it in
    (``pycountry``'s parents: GB-LND is in GB-ENG, ES-B in ES-CT). Before, only the country was: a perk for England
    was withheld from Londoners. A code pycountry no longer knows is in its country alone."""
    import pycountry  # its tables load on first use

    out, at = {code, code.split("-", 1)[0]}, code
    while "-" in at and (sub := pycountry.subdivisions.get(code=at)) and sub.parent_code not in (None, *out):  # type: ignore[no-untyped-call]
        at = sub.parent_code
        out.add(at)
    return frozenset(out)


def offer_closed(perk: PerkRecord, today: dt.date) -> tuple[str, dt.date] | None:
    """("starts", date) or ("ended", date) when the perk's offer is not open on the day; None when it is."""
    if perk.starts and today < perk.starts:
        return "starts", perk.starts
    if perk.ends and today > perk.ends:
        return "ended", perk.ends
    return None


def ineligible_reason(perk: PerkRecord, regions: list[str], user_region: str | None, today: dt.date) -> str | None:
    """Why the user cannot have the perk at all, naming the rule (its regions, then its offer window on the day);
    None when they can."""
    if not region_ok(user_region, regions):
        where = f"is in {user_region}" if user_region else ("has no region on record (a users file gives it: "
                                                         "`perkmatch ingest --users FILE`)")
        return f"region: the perk is for {', '.join(regions)}; the user {where}"
    closed = offer_closed(perk, today)
    return f"dates: the offer {closed[0]} on {closed[1]}" if closed else None


def perk_topic_space(topics: list[TopicInfo], cache: EmbeddingCache) -> TopicSpace:
    """The taxonomy as perks are placed in it: its own texts only (related words are for posts)."""
    return TopicSpace.build(topics, cache, ClassifyParams(related_words=0))


def perk_relevance(similarity: np.ndarray, params: MatchParams = MatchParams()) -> np.ndarray:
    """(perks, topics) similarity -> each perk's relevance to each topic: its similarity over its mean similarity
    to its ``hub_topics`` closest topics (at least the classifier's floor: a perk about nothing in the taxonomy
    is relevant to nothing)."""
    if similarity.size == 0:
        return similarity.astype(np.float32)
    k = min(params.hub_topics, similarity.shape[1])
    usual = np.sort(similarity, axis=1)[:, -k:].mean(axis=1)
    relevance: np.ndarray = (similarity / np.maximum(usual, ClassifyParams().floor)[:, None]).astype(np.float32)
    return relevance


def closest_topics(relevance: np.ndarray, k: int) -> np.ndarray:
    """(perks, topics) mask: each perk's ``k`` most relevant topics (more on a tie)."""
    if relevance.size == 0 or k >= relevance.shape[1]:
        return np.ones(relevance.shape, dtype=bool)
    kth = -np.partition(-relevance, k - 1, axis=1)[:, k - 1:k]
    return relevance >= kth


class PerkSpace:
    """A catalog version's perks against the taxonomy, as ``match`` reads them (and ``why_perk`` explains them):
    their vectors, each perk's relevance to each topic, the topics each is closest to, each topic's most relevant
    perks, and the rule that lets a perk reach users through a topic (``admits``)."""

    def __init__(self, perks: list[PerkRecord], topics: list[TopicInfo], cache: EmbeddingCache,
                 params: MatchParams = MatchParams(), space: TopicSpace | None = None) -> None:
        self.perks, self.topics, self.params = perks, topics, params
        self.space = space or perk_topic_space(topics, cache)
        self.vectors = cache.vectors([p.to_perk().embed_text() for p in perks])
        self.relevance = perk_relevance(self.space.similarity(self.vectors, ClassifyParams()), params)
        self.close = closest_topics(self.relevance, params.perk_topics)
        self.most_relevant = np.argsort(-np.where(self.close, self.relevance, 0.0), axis=0,
                                        kind="stable")[: params.topic_perks].T  # each topic's, by column
        # a target the taxonomy now marks sensitive is dropped (brands cannot target one: `taxonomy load` warns, and
        # the catalog's next refresh naming it is refused); before, it let the perk in through it, boosted
        unsafe = {t.topic_id for t in topics if t.sensitive}
        self.targets = [set(json.loads(p.topics)) - unsafe for p in perks]
        self.targeting = defaultdict(list)  # topic id -> the perks the catalog names it for (ascending)
        for i, named in enumerate(self.targets):
            for topic_id in sorted(named):
                self.targeting[topic_id].append(i)
        self.parents = {t.topic_id: t.parent_id for t in topics}
        self.column = {topic_id: k for k, topic_id in enumerate(self.space.ids)}
        self.topic_vectors = dict(zip(self.space.ids, self.space.vectors, strict=True))  # for ``topic_queries``
        self.regions = [json.loads(p.regions) for p in perks]
        # ``open_to``'s answers, and the most relevant of them
        self._open: dict[tuple[frozenset[str], str | None, dt.date], np.ndarray | None] = {}
        self._open_relevant: dict[tuple[int, int], list[int]] = {}

    @functools.cached_property
    def index(self) -> PerkIndex:
        """The perks' FAISS index (exact inner product, or HNSW for large catalogs), built when first searched."""
        return build_index(np.arange(len(self.perks)), self.vectors)

    def position(self, perk_id: str) -> int:
        return next(i for i, p in enumerate(self.perks) if p.perk_id == perk_id)

    def relevance_of(self, at: int, topic_id: str) -> float:
        return round(float(self.relevance[at, self.column[topic_id]]), 4)

    def targeted(self, at: int, topic_id: str) -> bool:
        """Whether the catalog targets perk ``at`` at this topic or one above it (a boost, and a way in): its parent,
        or higher in a deeper taxonomy (a perk aimed at IAB's Travel reaches Airport Lounges, two tiers down, as
        profiles and opt-ins follow the whole line; before, only a child of the topic named was)."""
        return bool(self.targets[at] & ({topic_id} | self.above.get(topic_id, frozenset())))

    @functools.cached_property
    def above(self) -> dict[str, frozenset[str]]:
        """Each topic's ancestors: its parent, its parent's parent, and so on."""
        out = {}
        for topic_id in self.parents:
            line: set[str] = set()
            at = self.parents.get(topic_id)
            while at is not None and at not in line:
                line.add(at)
                at = self.parents.get(at)
            out[topic_id] = frozenset(line)
        return out

    def admits(self, at: int, topic_id: str) -> bool:
        """Whether perk ``at`` can reach users through this topic: the catalog names the topic for it; or it is
        about it (relevance at least ``min_relevance``), and the topic is among its ``perk_topics`` closest or the
        catalog targets a topic above it (``targeted``)."""
        if topic_id in self.targets[at]:
            return True
        k = self.column[topic_id]
        return bool(self.relevance[at, k] >= self.params.min_relevance
                    and (self.close[at, k] or self.targeted(at, topic_id)))

    def weighed(self, column: int, hits: list[tuple[int, float]]) -> set[int]:
        """The perks ``match`` weighs for a (user, topic) query: the index's ``hits``, the topic's ``topic_perks``
        most relevant, and those the catalog names the topic for."""
        return ({perk_i for perk_i, _ in hits} | set(self.most_relevant[column].tolist())
                | set(self.targeting.get(self.space.ids[column], ())))

    def open_to(self, hidden: frozenset[str], user_region: str | None, today: dt.date) -> np.ndarray | None:
        """The positions of the perks that may go to a user (no ``withheld_reason``), ascending; None when every perk
        may (then the plain search is theirs). Users of one region and the same opt-ins share the answer."""
        key = (hidden, user_region, today)
        if key not in self._open:
            ok = [i for i in range(len(self.perks))
                  if self.withheld_reason(i, hidden, user_region, today) is None]
            self._open[key] = None if len(ok) == len(self.perks) else np.array(ok, dtype=np.int64)
        return self._open[key]

    def search_open(self, queries: np.ndarray, among: list[np.ndarray | None]) -> list[list[tuple[int, float]]]:
        """For each query, the index's ``candidates_per_topic`` nearest perks of those open to its user (``among[i]``,
        from ``open_to``); none where every perk is open (the plain search has them). One search per set."""
        out: list[list[tuple[int, float]]] = [[] for _ in range(len(queries))]
        groups: dict[int, list[int]] = defaultdict(list)
        for i, perks in enumerate(among):
            if perks is not None:
                groups[id(perks)].append(i)
        for rows in groups.values():
            found = self.index.search(queries[rows], self.params.candidates_per_topic, among[rows[0]])
            for i, hits in zip(rows, found, strict=True):
                out[i] = hits
        return out

    def weighed_open(self, column: int, hits: list[tuple[int, float]], among: np.ndarray | None) -> set[int]:
        """Beside ``weighed``, for a user some perks are not open to (``open_to``): the nearest perks open to them
        (``search_open``'s ``hits``) and the topic's ``topic_perks`` most relevant of those. So perks a user cannot
        have (another region's copies of an offer, last year's ended ones kept in the file) do not crowd out one
        they can: before, 21 copies of an offer for English counties took every place, and a New Yorker was weighed
        for none of the US one."""
        if among is None:
            return set()
        key = (id(among), column)
        if key not in self._open_relevant:
            close = np.where(self.close[among, column], self.relevance[among, column], 0.0)
            self._open_relevant[key] = among[np.argsort(-close, kind="stable")[: self.params.topic_perks]].tolist()
        return {perk_i for perk_i, _ in hits} | set(self._open_relevant[key])

    def about(self, at: int) -> list[str]:
        """The topics perk ``at`` can reach users through (``admits``), most relevant first."""
        return [self.space.ids[k] for k in np.argsort(-self.relevance[at], kind="stable").tolist()
                if self.admits(at, self.space.ids[k])]

    @functools.cached_property
    def sensitive(self) -> list[list[str]]:
        """Each perk's sensitive topics that it is about, most relevant first: those that fit it (relevance at least
        ``min_relevance``) nearly as well as the topic that fits it best of the others, or better (at least
        ``sensitive_share`` of its relevance), at whatever rank. Not only among its ``perk_topics`` closest: an adult
        store's voucher fits Shopping (1.04) and Gifts before "Adult and NSFW" (0.94), and went through Shopping to
        users who never opted in; and not every sensitive topic at 0.9 or more either, which would flag an
        alternative-music festival as about the occult ("Alternative", 0.91 beside Music's 1.11). On 18 sensitive
        and 258 ordinary perks (the dev catalog and hand-written ones) this flags 13 and 6 (one a newspaper, news
        being sensitive there; the top-3 rule: 11 and 9)."""
        flagged = np.array([t.sensitive for t in self.space.topics], dtype=bool)  # (in column order)
        if not flagged.any() or not len(self.perks):
            return [[] for _ in self.perks]
        if self.relevance.shape[1] < 2:
            return [[self.space.ids[0]] if flagged[0] and self.relevance[i, 0] >= self.params.min_relevance else []
                    for i in range(len(self.perks))]
        top2 = -np.partition(-self.relevance, 1, axis=1)[:, :2]  # each perk's best and second-best relevance
        best, second = top2.max(axis=1), top2.min(axis=1)
        others = np.where(self.relevance >= best[:, None], second[:, None], best[:, None])  # the best of the rest
        about = ((self.relevance >= self.params.min_relevance)
                 & (self.relevance >= self.params.sensitive_share * others) & flagged[None, :])
        return [[self.space.ids[k] for k in sorted(np.flatnonzero(row).tolist(), key=lambda k: -self.relevance[i, k])]
                for i, row in enumerate(about)]

    def sensitive_reason(self, at: int, hidden: frozenset[str]) -> str | None:
        """Why perk ``at`` goes to nobody who has not opted in to a sensitive topic it is about (``hidden``: the
        user's sensitive topics not opted in to), whatever topic of theirs it would reach them through: an adult
        store's voucher placed by its "Shopping" still tells its recipient what they were taken to be into. None
        when it may go to them."""
        topics = [t for t in self.sensitive[at] if t in hidden]
        if not topics:
            return None
        names = ", ".join(self.space.topics[self.column[t]].name for t in topics)
        return (f"sensitive: the perk is about {names}, a sensitive topic they have not opted in to (a perk about one "
                "goes only to users who opted in to it)")

    def withheld_reason(self, at: int, hidden: frozenset[str], user_region: str | None, today: dt.date) -> str | None:
        """Why perk ``at`` cannot go to the user at all, naming the rule: a sensitive topic it is about that they do
        not opt in to (``sensitive_reason``), then its regions (``regions``, parsed once) and its offer window
        (``ineligible_reason``); None when it can."""
        return self.sensitive_reason(at, hidden) or ineligible_reason(self.perks[at], self.regions[at], user_region,
                                                                      today)
