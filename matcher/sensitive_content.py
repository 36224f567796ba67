"""Sensitive matters in posts, whatever the taxonomy: a backstop that keeps such posts from being shown.

A taxonomy's sensitive topics keep the posts about them out of every topic's evidence (``profiles._veiled``), but only
the posts the model places near them. On the dev data a miscarriage was Parenting's evidence, stimulant medication
Psychology's, a darknet pill order Shopping's: the model put the miscarriage post 0.22 from the nearest sensitive
topic's view, below an airport lounge review. The matters of ``data/sensitive_matters.yaml`` (pregnancy and fertility,
physical and mental health, medication and drugs, sexuality, religion, politics, grief, crime and abuse, relationships,
money trouble, identity, immigration and disability) are each read two ways: short phrases, against the vector of each
post's own text and of its thread's, and words, in those texts. A text touches a matter when it is ``matter_alone``
similar to a phrase, or names the matter outright ("miscarriage", "Adderall", "passed away", "my therapist": a long post
whose vector the matter barely moves is caught so), or holds one of its other words ("meds", "funeral") and is
``matter_with_word`` similar (a mention alone, "abuse those i-frames" in a game guide, is mostly left alone). Words a
matter lists as "not" ("Suicide Squad", a film) are no name or word of it. A post touching one, or under a thread that
does (a reply in "I have ADHD" tells as much), is veiled as a sensitive topic's post is: shown to no one, and a topic
whose own posts are all veiled is not inferred. It still counts for its topics. A post about a sensitive topic the user
opted in to (a member of it) is not veiled by this, nor one every matter of which is linked to a sensitive topic they
opted in to (``matter_links``): ``touches`` says which matters a text touches, as bits (bit i: the i-th matter of
the file, ``matter_list``).
"""

import functools
import json
import string
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

import numpy as np
import yaml

from matcher.classify import ClassifyParams
from matcher.profile_types import ProfileParams

__all__ = ["MASK", "MATTERS_FILE", "Words", "matter_linkable", "matter_list", "matter_names", "matter_phrases",
           "matter_starts", "matter_words", "matters_read", "named", "touches", "veiled_matters"]

MATTERS_FILE = "data/sensitive_matters.yaml"
MASK = np.uint32  # the matters a text touches, one bit each (``touches``): at most 32 matters
# a text's words: in lower case, split at white space, hyphens ("self-harm" is "self harm", "pregnant-" "pregnant") and
# other punctuation, with apostrophes dropped ("Crohn's": "crohns"; a word in single quotes is the word)
_SPLIT = str.maketrans({**dict.fromkeys(string.punctuation.replace("'", "") + "“”«»…–—", " "), "'": None, "’": None})


@functools.cache
def _matters() -> dict[str, dict[str, list[str]]]:
    matters: dict[str, dict[str, list[str]]] = yaml.safe_load(
        resources.files("matcher").joinpath(MATTERS_FILE).read_text(encoding="utf-8"))
    return matters


def matters_read() -> str:
    """The matters as they are read (the file's content, in its order; not its comments or layout): what a profile
    run's basis holds of them (``incremental.run_basis``), so that another file recomputes every user."""
    return json.dumps(_matters(), ensure_ascii=False)


def _split(text: str) -> list[str]:
    return text.lower().translate(_SPLIT).split()


def _run(entry: str) -> str:
    return f" {' '.join(_split(entry))} "


@dataclass(frozen=True)
class Words:
    """Words to find whole in a text (``_split``'s words); one of several words, those words in a row; but not inside
    ``unless``'s words in a row ("suicide" is no name in "Suicide Squad"). Each names some matters (bits)."""

    single: dict[str, int]  # a word: the matters it names
    runs: dict[tuple[str, str], tuple[tuple[str, int], ...]]  # " a b c ", its matters: by their first two words
    unless: tuple[str, ...] = ()  # " a b ": words in a row read as none of these
    unless_starts: frozenset[str] = frozenset()  # their first words

    @classmethod
    def of(cls, entries: Sequence[str], unless: Sequence[str] = (), bits: Sequence[int] | None = None) -> "Words":
        """``bits``: the matters each entry names (each: 1 when not given)."""
        single: dict[str, int] = {}
        runs: dict[tuple[str, str], dict[str, int]] = {}
        for w, bit in zip([_split(e) for e in entries], bits or [1] * len(entries), strict=True):
            if len(w) == 1:
                single[w[0]] = single.get(w[0], 0) | bit
            elif w:
                at = runs.setdefault((w[0], w[1]), {})
                at[f" {' '.join(w)} "] = at.get(f" {' '.join(w)} ", 0) | bit
        return cls(single, {k: tuple(sorted(v.items())) for k, v in runs.items()},
                   tuple(sorted({_run(e) for e in unless})), frozenset(_split(e)[0] for e in unless if _split(e)))

    def found(self, text: str) -> bool:
        """Whether the text holds one of the words, or one of the runs."""
        return bool(self.which(text))

    def which(self, text: str) -> int:
        """The matters of the words and runs the text holds (0: none)."""
        return self.among(_split(text))

    def among(self, words: list[str]) -> int:
        """``which`` of a text's words (``_split``'s: a text read for names and words is split once). A run is looked
        for only where its first two words meet (258 runs, many starting "i" or "my": looking for each in every text
        cost 40 microseconds)."""
        joined = ""
        if not self.unless_starts.isdisjoint(words):  # (most texts hold no "not": they are not joined for it)
            joined = f" {' '.join(words)} "
            for run in self.unless:
                while run in joined:  # "suicide squad suicide squad": each one
                    joined = joined.replace(run, " | ")
            words = joined.split()
        out = 0
        if not self.single.keys().isdisjoint(words):
            for word in self.single.keys() & set(words):
                out |= self.single[word]
        met = self.runs.keys() & set(zip(words, words[1:], strict=False))
        if met:
            joined = joined or f" {' '.join(words)} "
            for pair in met:
                for run, bits in self.runs[pair]:
                    if run in joined:
                        out |= bits
        return out


@functools.cache
def matter_list() -> tuple[str, ...]:
    """The matters, in the file's order: bit i of ``touches`` is the i-th."""
    names = tuple(_matters())
    if len(names) > np.iinfo(MASK).bits:
        raise ValueError(f"{MATTERS_FILE}: {len(names)} matters, more than the {np.iinfo(MASK).bits} a mask holds")
    return names


def matter_linkable() -> tuple[bool, ...]:
    """Whether each matter (``matter_list``'s order) may be linked to a sensitive topic: not one the file marks
    ``linked: false`` (``matter_links``)."""
    return tuple(bool(m.get("linked", True)) for m in _matters().values())


def named(bits: int) -> list[str]:
    """The matters of these bits, in the file's order."""
    return [name for i, name in enumerate(matter_list()) if bits >> i & 1]


def matter_starts() -> np.ndarray:
    """Where each matter's phrases start in ``matter_phrases()``."""
    sizes = [len(m["phrases"]) for m in _matters().values()]
    return np.cumsum([0] + sizes[:-1]).astype(np.int64)


def matter_phrases() -> list[str]:
    """Every matter's phrases, in the file's order: the texts a topic space embeds beside its topics' views."""
    return [str(p) for m in _matters().values() for p in m["phrases"]]


def _not() -> list[str]:
    """Every matter's "not": words in a row that name no matter though they hold a name or a word of one."""
    return [str(w) for m in _matters().values() for w in m.get("not", [])]


def _entries(field: str) -> tuple[list[str], list[int]]:
    """Every matter's entries of a field ("names", "words"), and the matter (bit) of each."""
    pairs = [(str(w), 1 << i) for i, m in enumerate(_matters().values()) for w in m[field]]
    return [w for w, _ in pairs], [bit for _, bit in pairs]


@functools.cache
def matter_names() -> Words:
    """The words naming a matter outright."""
    entries, bits = _entries("names")
    return Words.of(entries, _not(), bits)


@functools.cache
def matter_words() -> Words:
    """The words that may name a matter."""
    entries, bits = _entries("words")
    return Words.of(entries, _not(), bits)


def touches(texts: Sequence[str | None], vecs: np.ndarray, phrases: np.ndarray,
            params: ClassifyParams = ClassifyParams(), starts: np.ndarray | None = None) -> np.ndarray:
    """(n,) ``MASK``: the matters each text (a post's, or its thread's: None, none) touches, by it and its vector
    (0: none). ``phrases``: the vectors of ``matter_phrases()``, each matter's from ``starts`` (``matter_starts()``;
    ``_best``: a post's answer does not depend on the posts read beside it). A text touches a matter it is
    ``matter_alone`` similar to, or names; a text holding a word of one, and ``matter_with_word`` similar to any,
    touches the word's matters and every matter it is that similar to. Every text is read for the names (about 9
    microseconds for a Reddit comment; the other words only where the vector is near enough)."""
    n = len(vecs)
    if n == 0 or not len(phrases):
        return np.zeros(n, dtype=MASK)
    starts = matter_starts() if starts is None else starts
    best = _best(np.asarray(vecs, dtype=np.float32), np.asarray(phrases, dtype=np.float32),
                 (params.matter_alone, params.matter_with_word), starts)
    bit = (1 << np.arange(best.shape[1])).astype(MASK)
    alone = np.bitwise_or.reduce(np.where(best >= params.matter_alone, bit, 0).astype(MASK), axis=1)
    near = np.bitwise_or.reduce(np.where(best >= params.matter_with_word, bit, 0).astype(MASK), axis=1)
    names, words, out, close = matter_names(), matter_words(), alone.tolist(), near.tolist()
    for i, text in enumerate(texts):
        if text:
            split = _split(text)
            said = names.among(split)
            if close[i] and (word := words.among(split)):
                said |= word | close[i]
            if said:
                out[i] |= said
    return np.array(out, dtype=MASK)


MARGIN = 1e-4  # ``_best``: how far from a threshold a float32 product's value decides alone (it is off by < 1e-5)


def _best(vecs: np.ndarray, phrases: np.ndarray, thresholds: tuple[float, ...],
          starts: np.ndarray | None = None) -> np.ndarray:
    """(n, matters) each vector's largest cosine with each matter's phrases (``starts``: where each matter's start;
    None: one matter), as far as the thresholds tell: in float32 (a third of float64's time), and in float64 again
    for the rows with a value within ``MARGIN`` of a threshold, so that no row's side of a threshold depends on the
    rows read beside it (a float32 product's rows may round by their block)."""
    starts = np.zeros(1, dtype=np.int64) if starts is None else starts
    best: np.ndarray = np.maximum.reduceat(vecs @ phrases.T, starts, axis=1)
    near = np.zeros(len(best), dtype=bool)
    for threshold in thresholds:
        near |= (np.abs(best - threshold) < MARGIN).any(axis=1)
    if near.any():
        best = best.astype(np.float64)
        best[near] = np.maximum.reduceat(vecs[near].astype(np.float64) @ phrases.T.astype(np.float64), starts, axis=1)
    return best


def veiled_matters(touchy: np.ndarray | None, members: np.ndarray, opted: np.ndarray,
                   params: ProfileParams = ProfileParams(), links: np.ndarray | None = None) -> np.ndarray | None:
    """``touchy`` (``UserPosts.touchy``: the matters ``touches`` finds in each post or its thread; None: not read)
    less those the user opted in to: the matters linked (``links``, (T,) ``MASK`` over ``members``' columns:
    ``matter_links``) to a sensitive topic they opted in to (``opted``, (T,) bool: one of them, or under one), and
    every matter of a post that is a member (``member_min``) of such a topic: they asked to have it read. What is
    left veils the post."""
    if touchy is None or not touchy.any() or not opted.any():
        return touchy
    covered = np.bitwise_or.reduce(links[opted], initial=0) if links is not None else 0
    out: np.ndarray = touchy & ~np.asarray(covered, dtype=touchy.dtype)
    out[members[:, opted].max(axis=1) >= params.member_min] = 0
    return out
