"""The `match` stage: find candidate perks for each user's inferred topics, check eligibility, assign.

How well a perk fits a topic is judged twice. Its **relevance** is the perk's similarity to the topic (the
view-based similarity posts get, over the taxonomy's own texts: related words are for posts) divided by its
mean similarity to its ``hub_topics`` closest topics: 1.0 means the topic is as close to the perk as the
topics it is usually closest to; a perk written so broadly that it sits near everything fits no topic
especially. For each inferred topic the candidates are the perks the catalog's FAISS index finds nearest to
the query vector (the topic's vector blended with the centroid of the user's evidence posts), plus the
topic's ``topic_perks`` most relevant perks. A candidate's

    fit   = relevance + evidence_weight × cosine(query, perk)  (+ target_boost when the perk's ``topics``
                                                                  name the topic or one above; for a topic
                                                                  named itself, relevance counts as at least
                                                                  ``min_relevance``)
    score = fit × (0.5 + 0.5 × strength),   strength = confidence × topic score / user's best topic score

Candidates under ``min_relevance`` are dropped, and so is a perk for a topic outside its ``perk_topics`` most
relevant ones, unless the catalog targets that topic or one above it. A topic the catalog names for the perk itself
admits it whatever its relevance, and its perks are always among its candidates: the brand's word stands (before, a
beer kit aimed at Alcoholic Beverages but worded like a household product reached no one, and nothing said why).
Naming a parent admits the perk through the children it is about, not every child.
Ineligible candidates (a perk about a sensitive topic the user does not opt in to, region, offer window) are
recorded with the reason; the rest go to the exact assignment.
"""

import datetime as dt
import functools
import gc
import json
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from sqlalchemy import Engine, event, insert
from sqlmodel import Session, col, select

from catalog.index import PerkIndex, build_index
from catalog.refresh import live_perks, live_version
from catalog.schema import PerkRecord
from matcher.assign import Candidate, assign, lost_reasons
from matcher.classify import ClassifyParams, cosines
from matcher.eligible import drop_gone
from matcher.embed import EmbeddingCache
from matcher.engine_local import Progress
from matcher.errors import NotReadyError
from matcher.profile_chunk import load_user_posts
from matcher.profile_run import latest_run
from matcher.records import utc_day
from matcher.store import (
    Assignment,
    EvidencePost,
    Run,
    TopicScore,
    User,
    Withheld,
    session,
    utcnow,
)
from matcher.taxonomy import TopicInfo, load_topics, not_shown, replaced_since
from matcher.topic_records import SHOWN_EVIDENCE
from matcher.topic_space import TopicSpace


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


@dataclass(frozen=True)
class MatchSummary:
    run_id: int
    users: int
    assignments: int
    catalog_version: int
    as_of: int  # offer dates were checked against this time's day (the profile run's as-of, or match --as-of)
    preview: Any = None  # a dry run's reading of the run it did not keep (``run_match``'s ``read_back``)
    staged: Any = None  # what a dry run's ``stage`` returned
    perks: int = 0  # the live perks of the catalog version it matched against


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
    while "-" in at and (sub := pycountry.subdivisions.get(code=at)) and sub.parent_code not in (None, *out):
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


def require_profile_encoder(profile: Run, cache: EmbeddingCache) -> None:
    """Refuse to read a profile run with another encoder than the one it was made with: matching reads the users'
    post vectors and the topic space under the encoder's name, and another's would leave every post unread and place
    perks in another space, quietly (vectors of two encoders are never mixed)."""
    made = json.loads(profile.stats or "{}").get("model")
    if made and made != cache.name:
        from matcher.backends import encoder_option

        raise NotReadyError(f"profile run {profile.id} was made with the encoder {made}, and this command's is "
                            f"{cache.name}: give it {encoder_option(made)} as the profile run was given, or run "
                            "`perkmatch profile` with this one first")


def run_match(engine: Engine, cache: EmbeddingCache, *, per_user: int = 3, per_brand: int = 1,
              as_of: int | None = None, params: MatchParams = MatchParams(),
              progress: Progress | None = None, read_back: Callable[[Session, int], Any] | None = None,
              stage: Callable[[Session], Any] | None = None) -> MatchSummary:
    """Assign perks to every profiled user and keep the result as a match run (``progress``: the users whose
    candidates are found, then the assignment, solved at once, and its writing).

    With ``read_back``, a dry run: nothing is kept. The run is written as always, in one transaction,
    ``read_back(session, run_id)`` reads it through that session (the records `match` prints, what changed since the
    last match), and the transaction is rolled back (a commit meanwhile is an error). Its result is the summary's
    ``preview``; the run id is then no run's. ``stage``, in a dry run only: ``stage(session)`` writes changes of its
    own into that transaction before the catalog is read (a catalog version: `match --dry-run --catalog FILE`),
    rolled back with the run; its result is the summary's ``staged``."""
    if stage is not None and read_back is None:
        raise ValueError("run_match: `stage` is for a dry run only (the run's commit would keep what it wrote)")
    started = utcnow()  # before the users' records are read: one changed after this calls for another match
    profile = latest_run(engine, "profile")
    if profile is None:
        raise NotReadyError("no profile yet; run `perkmatch profile` first")
    require_profile_encoder(profile, cache)
    topics = load_topics(engine)
    # the topics' texts embedded first (when not cached yet): what ``stage`` writes holds SQLite's write lock until
    # the rollback, and the cache writes through a connection of its own
    space = perk_topic_space(topics, cache)
    with session(engine) if stage else nullcontext() as staging:
        store = engine if staging is None else staging
        staged = stage(staging) if stage else None
        with session(store) as s:
            version = live_version(s)
            perks = live_perks(s, version)  # that version's, even if a refresh lands between the two reads
        if version is None:
            raise NotReadyError("no catalog yet; run `perkmatch catalog refresh FILE` first")
        as_of = profile.as_of if as_of is None else as_of
        today = utc_day(as_of)
        ps = PerkSpace(perks, topics, cache, params, space)
        hidden = not_shown(ps.topics)
        rows, evidence, regions, opt_ins = _load_profiles(engine, int(profile.id or 0), hidden)
        gone = sorted({r.topic_id for user_rows in rows.values() for r in user_rows} - set(ps.space.ids))
        if gone:
            raise NotReadyError(replaced_since(int(profile.id or 0), gone) + ", then match")
        with _no_cycle_collection():
            candidates, withheld, reasons = _candidates(engine, cache, rows, evidence, regions, ps, today, params,
                                                        progress, {u: hidden(opt_ins.get(u)) for u in rows})
            if progress:
                progress("assign, write", 0, 2)
            chosen = assign(candidates, per_user=per_user, per_brand=per_brand)
            if progress:
                progress("assign, write", 1, 2)
            summary = _save(store, chosen, candidates, withheld, reasons, version, profile, as_of, per_user,
                            per_brand, params, len(rows), started, read_back)
    if progress:
        progress("assign, write", 1, 2)
    return replace(summary, staged=staged, perks=len(perks))


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Python's cycle collector off while a match builds its candidates, assigns and writes them: millions of small
    tuples and lists (about 380,000 candidates and their reasons at 8,000 users), none in a cycle, which reference
    counting frees, and which the collector walked again and again as they grew (2.5 to 3.5 s of 13 s of finding
    candidates, at 8,000 users). On again after, whatever happens."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


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
    return (similarity / np.maximum(usual, ClassifyParams().floor)[:, None]).astype(np.float32)


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
        self._open: dict[tuple, np.ndarray | None] = {}  # ``open_to``'s answers, and the most relevant of them
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
                  if self.withheld_reason(i, hidden, self.regions[i], user_region, today) is None]
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

    def withheld_reason(self, at: int, hidden: frozenset[str], regions: list[str], user_region: str | None,
                        today: dt.date) -> str | None:
        """Why perk ``at`` cannot go to the user at all, naming the rule: a sensitive topic it is about that they do
        not opt in to (``sensitive_reason``), then its regions (``regions``: the perk's, parsed) and its offer window
        (``ineligible_reason``); None when it can."""
        return self.sensitive_reason(at, hidden) or ineligible_reason(self.perks[at], regions, user_region, today)


def _load_profiles(engine: Engine, run_id: int, hidden: Callable[[str | None], frozenset[str]]
                   ) -> tuple[dict[str, list[Any]], dict, dict[str, str | None], dict[str, str | None]]:
    """The run's inferred topics (rows of user_id, topic_id, score, confidence) of users who have not opted out, but
    for sensitive topics they do not opt in to now (``taxonomy.not_shown``: withdrawn since the run), with their
    evidence posts, and every user's region and sensitive opt-ins."""
    with session(engine) as s:
        # the columns matching reads, as plain rows: whole ORM objects carry each topic's details (about 12 kB a user)
        scores = s.exec(select(TopicScore.user_id, TopicScore.topic_id, TopicScore.score, TopicScore.confidence)
                        .where(TopicScore.run_id == run_id).where(TopicScore.status == "inferred")
                        .order_by(col(TopicScore.user_id), col(TopicScore.rank))).all()
        # the inferred topics' evidence only, as plain rows: the run also keeps its candidates' (most of the rows), and
        # whole ORM objects of every row took about 0.4 GB at 8,000 users
        ev = s.exec(select(EvidencePost.user_id, EvidencePost.topic_id, EvidencePost.post_pk).join(
            TopicScore, (TopicScore.run_id == EvidencePost.run_id) & (TopicScore.user_id == EvidencePost.user_id)
            & (TopicScore.topic_id == EvidencePost.topic_id)).where(EvidencePost.run_id == run_id)
            .where(TopicScore.status == "inferred")
            .order_by(col(EvidencePost.user_id), col(EvidencePost.topic_id), col(EvidencePost.rank))).all()
        users = s.exec(select(User.user_id, User.region, User.consent, User.sensitive_opt_in)).all()
    rows: dict[str, list[Any]] = defaultdict(list)
    consent = {u: c for u, _, c, _ in users}
    opt_ins = {u: o for u, _, _, o in users}
    for r in scores:
        if consent.get(r.user_id) != "opted_out" and r.topic_id not in hidden(opt_ins.get(r.user_id)):
            rows[r.user_id].append(r)
    evidence: dict[tuple[str, str], list[int]] = defaultdict(list)
    for user_id, topic_id, post_pk in ev:
        evidence[(user_id, topic_id)].append(post_pk)
    return dict(rows), dict(evidence), {u: r for u, r, _, _ in users}, opt_ins


HIT = ("topic_id", "relevance", "fit", "score", "posts")  # a candidate's reason for one of its topics, as an assignment
# keeps it; ``posts``: the topic's evidence for this perk (``perk_evidence``)


def _candidates(engine, cache, rows, evidence, regions, ps, today, params, progress, hidden):  # type: ignore[no-untyped-def]
    candidates: list[Candidate] = []
    withheld: dict[str, list[tuple[str, float, str]]] = defaultdict(list)
    reasons: dict[tuple[str, str], list[dict]] = {}
    perks, perk_regions = ps.perks, ps.regions
    users = sorted(rows)
    if progress:
        progress("candidates", 0, len(users))
    for start in range(0, len(users), 200):
        chunk = users[start:start + 200]
        pairs, queries = topic_queries(engine, cache, chunk, rows, evidence, ps.topic_vectors, params)
        results = ps.index.search(queries, params.candidates_per_topic)  # one batched search per chunk
        among = [ps.open_to(hidden[user_id], regions.get(user_id), today) for user_id, *_ in pairs]
        open_results = ps.search_open(queries, among)  # (perks a user cannot have crowd out none they can)
        found: dict[str, dict[int, list[dict]]] = defaultdict(lambda: defaultdict(list))
        for (user_id, r, strength, pool), query, hits, near, perks_open in zip(pairs, queries, results, open_results,
                                                                              among, strict=True):
            column = ps.column[r.topic_id]
            weighed = ps.weighed(column, hits) | ps.weighed_open(column, near, perks_open)
            admitted = [perk_i for perk_i in sorted(weighed) if ps.admits(perk_i, r.topic_id)]
            shown = perk_evidence(pool, ps.vectors[admitted])
            for perk_i, posts in zip(admitted, shown, strict=True):
                relevant = float(ps.relevance[perk_i, column])
                targeted = ps.targeted(perk_i, r.topic_id)
                named = r.topic_id in ps.targets[perk_i]  # the brand's word: it fits at least as one that is about it
                fit = (max(relevant, params.min_relevance) if named else relevant) + params.evidence_weight * float(
                    query @ ps.vectors[perk_i])
                fit += params.target_boost if targeted else 0.0
                found[user_id][perk_i].append(  # (a tuple: a run holds one per candidate; ``HIT`` names its fields)
                    (r.topic_id, round(relevant, 4), round(fit, 4), round(fit * (0.5 + 0.5 * strength), 4), posts))
        for user_id in chunk:
            for perk_i, hits in sorted(found[user_id].items()):
                hits = sorted(hits, key=lambda h: (-h[3], h[0]))
                perk = perks[perk_i]
                reason = ps.withheld_reason(perk_i, hidden[user_id], perk_regions[perk_i], regions.get(user_id), today)
                if reason:
                    withheld[user_id].append((perk.perk_id, hits[0][3], reason))
                    continue
                reasons[(user_id, perk.perk_id)] = hits
                candidates.append(Candidate(user_id, perk.perk_id, perk.brand, hits[0][3], perk.quantity))
        if progress:
            progress("candidates", len(chunk), len(users))
    return candidates, withheld, reasons


def topic_queries(engine, cache, chunk, rows, evidence, topic_vecs, params):  # type: ignore[no-untyped-def]
    """For each (user, inferred topic): the query vector (topic blended with the evidence posts it shows), its
    strength, and its pool of evidence (the keys and vectors of the posts stored for it, ``perk_evidence``)."""
    shown = sorted({k for user_id in chunk for r in rows[user_id] for k in evidence.get((user_id, r.topic_id), ())})
    loaded = load_user_posts(engine, cache, chunk, ClassifyParams(), only=shown)  # not their every post
    pairs, queries = [], []
    dim = len(next(iter(topic_vecs.values())))
    for user_id in chunk:
        posts, vecs = loaded.get(user_id, (None, None))
        key_pos = {k: i for i, k in enumerate(posts.keys)} if posts else {}
        best = max(r.score for r in rows[user_id]) or 1.0
        for r in rows[user_id]:
            stored = evidence.get((user_id, r.topic_id), [])
            ev = [key_pos[k] for k in stored[:SHOWN_EVIDENCE] if k in key_pos]
            query = params.topic_weight * topic_vecs[r.topic_id]
            if ev and vecs is not None:
                query = query + (1 - params.topic_weight) * vecs[ev].mean(axis=0)
            queries.append(query / (np.linalg.norm(query) or 1.0))
            pool = [k for k in stored if k in key_pos]
            pool_vecs = vecs[[key_pos[k] for k in pool]] if pool and vecs is not None else np.zeros((0, dim))
            pairs.append((user_id, r, r.confidence * r.score / best, (pool, pool_vecs)))
    return pairs, np.array(queries, dtype=np.float32).reshape(len(queries), dim)


def perk_evidence(pool: tuple[list[int], np.ndarray], perk_vecs: np.ndarray) -> list[list[int]]:
    """For each of these perks, the evidence it is shown with for a topic: the ``SHOWN_EVIDENCE`` posts
    of the topic's pool (its strongest posts, ``evidence_pool``) closest to the perk, closest first (ties: the
    stronger first). A travel writer's luggage perk cites their posts about packing, the lounge pass their lounge
    reviews, not both the topic's strongest posts whatever they are about."""
    keys, vecs = pool
    if not keys or not len(perk_vecs):
        return [list(keys[:SHOWN_EVIDENCE]) for _ in range(len(perk_vecs))]
    closeness = cosines(perk_vecs, vecs)  # (perks, posts), each row's the same whatever the rows beside it
    order = np.lexsort((np.broadcast_to(np.arange(len(keys)), closeness.shape), -closeness), axis=1)
    return [[keys[i] for i in row[:SHOWN_EVIDENCE]] for row in order.tolist()]


def _save(engine, chosen, candidates, withheld, reasons, version, profile, as_of, per_user, per_brand, params,
          n_users, started, read_back=None) -> MatchSummary:  # type: ignore[no-untyped-def]
    with session(engine) as s:
        run = Run(kind="match", as_of=as_of, started_at=started, params=json.dumps(
            {"per_user": per_user, "per_brand": per_brand, "catalog_version": version, "profile_run": profile.id}))
        s.add(run)
        s.flush()  # its id; the run and its rows are one transaction: an interrupted match leaves nothing behind
        run_id = int(run.id or 0)
        rank: dict[str, int] = defaultdict(int)
        rows = []  # in one statement, as plain rows: ORM objects of every assignment took about 0.1 GB at 8,000 users
        for c in chosen:
            rank[c.user_id] += 1
            rows.append({"run_id": run_id, "user_id": c.user_id, "perk_id": c.perk_id, "catalog_version": version,
                         "rank": rank[c.user_id], "score": c.score, "topics": json.dumps(
                             [dict(zip(HIT, hit, strict=True)) for hit in reasons[(c.user_id, c.perk_id)]])})
        if rows:
            s.connection().execute(insert(Assignment), rows)
        lost = lost_reasons(chosen, candidates, per_user, per_brand, keep=params.withheld_per_user)
        kept = [{"run_id": run_id, "user_id": user_id, "perk_id": perk_id, "score": score, "reason": reason}
                for user_id in sorted(set(lost) | set(withheld))
                for perk_id, score, reason in sorted(lost.get(user_id, []) + withheld.get(user_id, []),
                                                     key=lambda x: (-x[1], x[0]))[: params.withheld_per_user]]
        s.flush()  # the assignments first, then every exclusion in one statement (there can be many)
        if kept:
            s.connection().execute(insert(Withheld), kept)
        s.flush()  # then drop anyone forgotten since the match read them (``eligible.drop_gone``)
        policy = json.loads(profile.params or "{}").get("policy", "opt-in")
        gone = drop_gone(s.connection(), run_id, {c.user_id for c in chosen} | set(lost) | set(withheld), policy,
                         (Assignment, Withheld))
        assigned = len(chosen) - sum(c.user_id in gone for c in chosen)
        run.status, run.finished_at = "finished", utcnow()
        run.stats = json.dumps({"users": n_users - len(gone), "assignments": assigned, "catalog_version": version})
        s.add(run)
        if read_back is None:
            s.commit()
            return MatchSummary(run_id, n_users - len(gone), assigned, version, as_of)
        s.flush()
        event.listen(s, "before_commit", _dry_run_commits)
        try:
            return MatchSummary(run_id, n_users - len(gone), assigned, version, as_of, read_back(s, run_id))
        finally:
            event.remove(s, "before_commit", _dry_run_commits)
            s.rollback()


def _dry_run_commits(_: Session) -> None:
    """A helper reading a dry run back through its session must not commit it (``session`` hands the same one on)."""
    raise RuntimeError("a dry run's match was about to be committed")
