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
opted in to (a member of it) is not veiled by this.
"""

import functools
import string
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

import numpy as np
import yaml

from matcher.classify import ClassifyParams
from matcher.profile_types import ProfileParams

__all__ = ["MATTERS_FILE", "Words", "matter_names", "matter_phrases", "matter_words", "touches", "veiled_matters"]

MATTERS_FILE = "data/sensitive_matters.yaml"
# a text's words: in lower case, split at white space, hyphens ("self-harm" is "self harm", "pregnant-" "pregnant") and
# other punctuation, with apostrophes dropped ("Crohn's": "crohns"; a word in single quotes is the word)
_SPLIT = str.maketrans({**dict.fromkeys(string.punctuation.replace("'", "") + "“”«»…–—", " "), "'": None, "’": None})


@functools.cache
def _matters() -> dict[str, dict[str, list[str]]]:
    matters: dict[str, dict[str, list[str]]] = yaml.safe_load(
        resources.files("matcher").joinpath(MATTERS_FILE).read_text(encoding="utf-8"))
    return matters


def _split(text: str) -> list[str]:
    return text.lower().translate(_SPLIT).split()


def _run(entry: str) -> str:
    return f" {' '.join(_split(entry))} "


@dataclass(frozen=True)
class Words:
    """Words to find whole in a text (``_split``'s words); one of several words, those words in a row; but not inside
    ``unless``'s words in a row ("suicide" is no name in "Suicide Squad")."""

    single: frozenset[str]
    runs: dict[tuple[str, str], tuple[str, ...]]  # " a b c ": several words in a row, by their first two words
    unless: tuple[str, ...] = ()  # " a b ": words in a row read as none of these
    unless_starts: frozenset[str] = frozenset()  # their first words

    @classmethod
    def of(cls, entries: Sequence[str], unless: Sequence[str] = ()) -> "Words":
        split = [_split(e) for e in entries]
        runs: dict[tuple[str, str], set[str]] = {}
        for w in split:
            if len(w) > 1:
                runs.setdefault((w[0], w[1]), set()).add(f" {' '.join(w)} ")
        return cls(frozenset(w[0] for w in split if len(w) == 1), {k: tuple(sorted(v)) for k, v in runs.items()},
                   tuple(sorted({_run(e) for e in unless})), frozenset(_split(e)[0] for e in unless if _split(e)))

    def found(self, text: str) -> bool:
        """Whether the text holds one of the words, or one of the runs. A run is looked for only where its first two
        words meet (258 runs, many starting "i" or "my": looking for each in every text cost 40 microseconds)."""
        words = _split(text)
        joined = ""
        if not self.unless_starts.isdisjoint(words):  # (most texts hold no "not": they are not joined for it)
            joined = f" {' '.join(words)} "
            for run in self.unless:
                while run in joined:  # "suicide squad suicide squad": each one
                    joined = joined.replace(run, " | ")
            words = joined.split()
        if not self.single.isdisjoint(words):
            return True
        met = self.runs.keys() & set(zip(words, words[1:], strict=False))
        if not met:
            return False
        joined = joined or f" {' '.join(words)} "
        return any(run in joined for pair in met for run in self.runs[pair])


def matter_phrases() -> list[str]:
    """Every matter's phrases, in the file's order: the texts a topic space embeds beside its topics' views."""
    return [str(p) for m in _matters().values() for p in m["phrases"]]


def _not() -> list[str]:
    """Every matter's "not": words in a row that name no matter though they hold a name or a word of one."""
    return [str(w) for m in _matters().values() for w in m.get("not", [])]


@functools.cache
def matter_names() -> Words:
    """The words naming a matter outright."""
    return Words.of([str(w) for m in _matters().values() for w in m["names"]], _not())


@functools.cache
def matter_words() -> Words:
    """The words that may name a matter."""
    return Words.of([str(w) for m in _matters().values() for w in m["words"]], _not())


def touches(texts: Sequence[str | None], vecs: np.ndarray, phrases: np.ndarray,
            params: ClassifyParams = ClassifyParams()) -> np.ndarray:
    """(n,) bool: the texts (a post's, or its thread's: None, none) that touch a sensitive matter, by them and their
    vectors. ``phrases``: the vectors of ``matter_phrases()`` (``_best``: a post's answer does not depend on the
    posts read beside it). Every text is read for the names (about 9 microseconds for a Reddit comment; the other
    words only where the vector is near enough)."""
    n = len(vecs)
    if n == 0 or not len(phrases):
        return np.zeros(n, dtype=bool)
    best = _best(np.asarray(vecs, dtype=np.float32), np.asarray(phrases, dtype=np.float32),
                 (params.matter_alone, params.matter_with_word))
    out: np.ndarray = best >= params.matter_alone
    names, words, near = matter_names(), matter_words(), (best >= params.matter_with_word).tolist()
    for i, text in enumerate(texts):
        if text and not out[i]:
            out[i] = names.found(text) or (near[i] and words.found(text))
    return out


MARGIN = 1e-4  # ``_best``: how far from a threshold a float32 product's value decides alone (it is off by < 1e-5)


def _best(vecs: np.ndarray, phrases: np.ndarray, thresholds: tuple[float, ...]) -> np.ndarray:
    """Each vector's largest cosine with the phrases, as far as the thresholds tell: in float32 (a third of float64's
    time), and in float64 again for the rows within ``MARGIN`` of a threshold, so that no row's side of a threshold
    depends on the rows read beside it (a float32 product's rows may round by their block)."""
    best: np.ndarray = (vecs @ phrases.T).max(axis=1)
    near = np.zeros(len(best), dtype=bool)
    for threshold in thresholds:
        near |= np.abs(best - threshold) < MARGIN
    if near.any():
        best = best.astype(np.float64)
        best[near] = (vecs[near].astype(np.float64) @ phrases.T.astype(np.float64)).max(axis=1)
    return best


def veiled_matters(touchy: np.ndarray | None, members: np.ndarray, opted: np.ndarray,
                   params: ProfileParams = ProfileParams()) -> np.ndarray | None:
    """``touchy`` (``UserPosts.touchy``: the posts ``touches`` flags, or None: not read) but for the posts that are
    members (``member_min``) of a sensitive topic the user opted in to (``opted``, (T,) bool over ``members``' (n, T)
    columns): they asked to have it read."""
    if touchy is None or not touchy.any() or not opted.any():
        return touchy
    out: np.ndarray = touchy & (members[:, opted].max(axis=1) < params.member_min)
    return out
