"""The topic space every profile is computed against: the taxonomy's topics as vectors.

Each topic is read through several views (its name; its name and description; its related words, chosen once from
the model's vocabulary and kept in the ``settings`` table), and a post's similarity to a topic blends the whole
topic's vector with its closest view (``classify.topic_similarity``). A profile run builds the space, fits its
topic vectors to the collection (``matcher.topic_fit``), then measures every user's posts against it
(``matcher.profile_run``); ``match`` reads perks and users against the same space.
"""

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from catalog.refresh import text_key
from matcher.classify import ClassifyParams, cosines, related_words, topic_similarity, view_closeness
from matcher.embed import EmbeddingCache
from matcher.matter_links import matter_links
from matcher.model_files import reading_vocabulary, vocabulary
from matcher.sensitive_content import MASK, matter_phrases
from matcher.store import Setting, session
from matcher.taxonomy import TopicInfo, lineage, stored_topics
from matcher.vocabulary import vocabulary_vectors

SIMILARITY_ROWS = 4096  # posts per post-topic similarity product (4096 x 4,000 views: 64 MB)
PICKS = "related_words:"  # the setting keeping the related words chosen (``related_picks``), + a digest of the inputs


@dataclass(frozen=True)
class TopicSpace:
    """What every user's profile is computed against: the taxonomy and its topic vectors."""

    topics: list[TopicInfo]
    vectors: np.ndarray
    ids: list[str]
    parents: list[int]
    views: np.ndarray  # every topic's view vectors (``TopicInfo.view_texts``), topic by topic
    view_starts: np.ndarray  # where topic k's views start in ``views``

    related: list[list[str]] = field(default_factory=list)  # each topic's related words (last among its views)
    vocabulary: frozenset[str] = frozenset()  # the words the model knows whole: which posts it reads (``readable``)
    matters: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))  # ``sensitive_content``'s
    # phrases' vectors, which veil the posts touching a sensitive matter (none: no post is veiled so)
    links: np.ndarray = field(default_factory=lambda: np.zeros(0, MASK))  # (T,) the matters linked to each topic
    # (``matter_links``, read off the views before any fit): an opt-in to the topic shows the posts touching them

    @classmethod
    def build(cls, topics: list[TopicInfo], cache: EmbeddingCache,
              params: ClassifyParams = ClassifyParams()) -> "TopicSpace":
        index = {t.topic_id: i for i, t in enumerate(topics)}
        texts = [t.view_texts() for t in topics]
        starts = np.cumsum([0] + [len(x) for x in texts[:-1]]).astype(np.int64)
        views = cache.vectors([x for v in texts for x in v]) if topics else np.zeros((0, 0), np.float32)
        vectors = _whole_topic_vectors(topics, views, starts)
        picks = related_picks(topics, cache, params, vectors, views, starts)
        if any(picks):
            word_vecs = cache.vectors([w for p in picks for w in p])
            sizes = [len(x) + len(p) for x, p in zip(texts, picks, strict=True)]
            at = np.cumsum([0] + [len(p) for p in picks])
            views = np.concatenate([part for k, start in enumerate(starts) for part in
                                    (views[start:start + len(texts[k])], word_vecs[at[k]:at[k + 1]])])
            starts = np.cumsum([0] + sizes[:-1]).astype(np.int64)
        # in column order: the post-by-view product (``view_closeness``, the largest of a run, one user's posts at a
        # time) then reads the views' transpose contiguously, about 1.5 times as fast (the same bits, but for a user
        # with one post: a matrix-vector product, which may round a bit differently)
        matters = cache.vectors(matter_phrases()) if topics else np.zeros((0, 0), np.float32)
        return cls(topics, vectors, [t.topic_id for t in topics], [index.get(t.parent_id or "", -1) for t in topics],
                   np.asfortranarray(views), starts, picks, reading_vocabulary(cache.encoder), matters,
                   matter_links(topics, vectors, views, starts, matters, params))

    def adapted(self, vectors: np.ndarray) -> "TopicSpace":
        """The same space with topic vectors fitted to the collection (``classify.adapt_topic_vectors``)."""
        return dataclasses.replace(self, vectors=vectors)

    def similarity(self, vecs: np.ndarray, params: ClassifyParams, closest: np.ndarray | None = None) -> np.ndarray:
        """(n, T) similarity of these (post or perk) vectors to every topic (``closest``: their ``closeness``)."""
        return topic_similarity(vecs, self.vectors, self.views, self.view_starts, params, closest=closest)

    def read_alone(self, text_vecs: np.ndarray, params: ClassifyParams, subtrees: "Subtrees") -> "ReadAlone":
        """``profiles.build_profile``'s ``alone``: the similarity (``similarity``'s, of these topics only, in float64:
        each row's the same whatever the rows beside it) of these posts' own text vectors to topic k, or to the
        closest topic under it (``subtrees``)."""
        return ReadAlone(text_vecs, params, subtrees)

    def closeness(self, vecs: np.ndarray, params: ClassifyParams) -> np.ndarray:
        """(n, T) cosine of these vectors to each topic's closest view (``classify.view_closeness``), the part of
        their similarity no topic fit changes (zeros when views do not count)."""
        if not params.view_weight:
            return np.zeros((len(vecs), len(self.ids)), dtype=np.float32)
        return view_closeness(vecs, self.views, self.view_starts)


ALONE_MARGIN = 1e-5  # ``ReadAlone.reaches``: how far above the floor topic k's own reading must be to decide alone


class ReadAlone:
    """``TopicSpace.read_alone``: called with (rows, k), the similarity of these posts' text vectors, read alone, to
    topic k or the closest topic under it (``similarity``'s, in float64 products cast to float32, as ``cosines``)."""

    __slots__ = ("text_vecs", "params", "subtrees")

    def __init__(self, text_vecs: np.ndarray, params: ClassifyParams, subtrees: "Subtrees") -> None:
        self.text_vecs, self.params, self.subtrees = text_vecs, params, subtrees

    def __call__(self, rows: np.ndarray, k: int) -> np.ndarray:
        whole, views, starts = self.subtrees[k]
        vecs = self.text_vecs[rows]
        best: np.ndarray
        if views is None:
            best = cosines(vecs, whole).max(axis=1)
            return best
        near = np.maximum.reduceat(cosines(vecs, views), starts, axis=1)
        best = ((1 - self.params.view_weight) * cosines(vecs, whole) + self.params.view_weight * near).max(axis=1)
        return best

    def reaches(self, rows: np.ndarray, k: int, floor: float) -> bool:
        """``(self(rows, k) >= floor).any()``, the same answer, read first from topic k's own vectors: one post
        ``ALONE_MARGIN`` above the floor there settles it (3,895 times in 3,909 at 800 users of generated posts),
        without the product with the views of every topic under k (a top-level topic's: 200 of them, about 0.06 ms
        a topic, which took a quarter of `build_profile`'s time there). Exact: the same sums in float64 (another
        product's, so perhaps in another order: about 1e-13 apart for unit vectors), and ``__call__``'s casts to
        float32 and its float32 blend move a value by a few float32 steps (under 1e-6), so a post above floor +
        margin here is at or above the floor there; any other answer is ``__call__``'s own."""
        whole, views = self.subtrees.own(k)
        vecs = self.text_vecs[rows].astype(np.float64)
        mine = vecs @ whole
        if views is not None:
            mine = (1 - self.params.view_weight) * mine + self.params.view_weight * (vecs @ views.T).max(axis=1)
        return bool((mine >= floor + ALONE_MARGIN).any()) or bool((self(rows, k) >= floor).any())


class Subtrees:
    """Each topic's subtree, for ``TopicSpace.read_alone``: the vectors of the topic and of every topic under it, at
    any depth, and their views' (None when views do not count), with where each topic's views start among them.
    Gathered in float64 (as ``cosines`` reads them) the first time a topic is asked for, and kept: one chunk of
    users asks for the same few topics again and again."""

    def __init__(self, space: TopicSpace, params: ClassifyParams) -> None:
        self.space, self.params = space, params
        self.under: list[list[int]] = [[] for _ in space.ids]
        index = {topic_id: k for k, topic_id in enumerate(space.ids)}
        for topic_id, chain in lineage(space.topics).items():  # each topic is under itself and its ancestors
            for up in chain:
                self.under[index[up]].append(index[topic_id])
        self._gathered: dict[int, tuple[np.ndarray, np.ndarray | None, np.ndarray]] = {}
        self._own: dict[int, tuple[np.ndarray, np.ndarray | None]] = {}

    def __getitem__(self, k: int) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        if k not in self._gathered:
            space = self.space
            topics = np.array(sorted(self.under[k]))
            whole = space.vectors[topics].astype(np.float64)
            if not self.params.view_weight or not len(space.views):
                self._gathered[k] = (whole, None, np.zeros(0, np.int64))
            else:
                ends = np.append(space.view_starts[1:], len(space.views))
                sizes = ends[topics] - space.view_starts[topics]
                rows = np.concatenate([np.arange(space.view_starts[t], ends[t]) for t in topics.tolist()])
                self._gathered[k] = (whole, space.views[rows].astype(np.float64), np.cumsum(sizes) - sizes)
        return self._gathered[k]

    def own(self, k: int) -> tuple[np.ndarray, np.ndarray | None]:
        """Topic k's own vector (d,) and its views' (None when views do not count), in float64 (``ReadAlone.reaches``),
        gathered the first time and kept."""
        if k not in self._own:
            space = self.space
            views = None
            if self.params.view_weight and len(space.views):
                end = space.view_starts[k + 1] if k + 1 < len(space.view_starts) else len(space.views)
                views = space.views[space.view_starts[k]:end].astype(np.float64)
            self._own[k] = (space.vectors[k].astype(np.float64), views)
        return self._own[k]


def topic_words(topics: list[TopicInfo], cache: EmbeddingCache, params: ClassifyParams) -> list[str]:
    """The vocabulary topics are read through (``classify.related_words``): the model's words, if it has any."""
    return vocabulary(cache.encoder) if topics and params.related_words > 0 else []


def space_texts(topics: list[TopicInfo], cache: EmbeddingCache, params: ClassifyParams) -> tuple[list[str], bool]:
    """The texts a topic space is built from that the embedding cache holds: the topics' views, the sensitive matters'
    phrases (``sensitive_content``), and the related
    words when an earlier run already chose them for these topics, this model and these parameters; and whether
    the related words are still to be chosen, from the whole vocabulary (``matcher.vocabulary``: not kept in the
    database; then no earlier topic fit can match this run's)."""
    words = topic_words(topics, cache, params)
    known = _stored_picks(cache, _picks_key(topics, cache, params, words)) if words else None
    views = [x for t in topics for x in t.view_texts()] + (matter_phrases() if topics else [])
    return views + [w for p in known or [] for w in p], bool(words) and not known


def related_picks(topics: list[TopicInfo], cache: EmbeddingCache, params: ClassifyParams, vectors: np.ndarray,
                  views: np.ndarray, starts: np.ndarray) -> list[list[str]]:
    """Each topic's related words (``classify.related_words``). Choosing them compares the model's whole
    vocabulary (about 20,000 words, ``vocabulary_vectors``) with every topic view, about a second; the choice
    depends only on the topics, the model and the parameters, so it is kept in the ``settings`` table under a
    digest of them, and the words chosen join the embedding cache with their vocabulary vectors."""
    words = topic_words(topics, cache, params)
    if not words:
        return [[] for _ in topics]
    key = _picks_key(topics, cache, params, words)
    known = _stored_picks(cache, key)
    if known is not None:
        return known
    vocab_vecs = vocabulary_vectors(cache, words)
    closeness = vectors @ vocab_vecs.T
    near = np.nonzero(closeness.max(axis=0, initial=-1.0) >= params.related_min)[0]  # the only words owned
    owner = np.full(len(words), -1, dtype=np.int64)
    for i in range(0, len(near), SIMILARITY_ROWS):
        rows = near[i:i + SIMILARITY_ROWS]
        owner[rows] = topic_similarity(vocab_vecs[rows], vectors, views, starts, params).argmax(axis=1)
    chosen = related_words(closeness, owner, params)
    picks = [[words[i] for i in p] for p in chosen]
    index = {text_key(words[i]): i for p in chosen for i in p}
    new = sorted(cache.missing(index))
    if new:
        cache.store_vectors(new, vocab_vecs[[index[k] for k in new]])
    try:
        with session(cache.engine) as s:  # one choice is kept: the latest
            s.execute(delete(Setting).where(col(Setting.key).startswith(PICKS)))
            s.add(Setting(key=key, value=json.dumps(picks)))
            s.commit()
    except IntegrityError:
        pass  # a run beside this one stored the same choice first
    return picks


def _picks_key(topics: list[TopicInfo], cache: EmbeddingCache, params: ClassifyParams, words: list[str]) -> str:
    inputs = [cache.name, [t.view_texts() for t in topics], dataclasses.asdict(params), words]
    return PICKS + hashlib.sha256(json.dumps(inputs).encode()).hexdigest()


def _stored_picks(cache: EmbeddingCache, key: str) -> list[list[str]] | None:
    with session(cache.engine) as s:
        row = s.get(Setting, key)
    return None if row is None else json.loads(row.value)


def topic_text_keys(s: Session) -> set[str]:
    """The keys of the texts a topic space is built from as the database holds them: the views of the loaded
    taxonomy's topics, the related words chosen for them (``related_picks``) and the sensitive matters' phrases. They
    are no one's: a post of the same words does not make them personal (``deletion.delete_posts`` keeps their
    vectors)."""
    keys = {text_key(x) for t in stored_topics(s) for x in t.view_texts()} | {text_key(x) for x in matter_phrases()}
    for value in s.exec(select(Setting.value).where(col(Setting.key).startswith(PICKS))):
        keys.update(text_key(w) for picked in json.loads(value) for w in picked)
    return keys


def _whole_topic_vectors(topics: list[TopicInfo], views: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """(T, d) unit vectors: the normalised sum of each topic's whole-topic views (name; name and description),
    which lead its views."""
    out = np.zeros((len(topics), views.shape[1] if views.ndim == 2 else 0), dtype=np.float32)
    for i, (t, start) in enumerate(zip(topics, starts, strict=True)):
        out[i] = views[start:start + len(dict.fromkeys(t.embed_texts()))].sum(axis=0)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    unit: np.ndarray = out / norms
    return unit
