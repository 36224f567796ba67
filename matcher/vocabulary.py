"""The model's vocabulary embedded once per machine, for choosing each topic's related words.

Choosing related words (``topic_space.related_picks``) compares every whole word the model knows (about 20,400
for all-MiniLM-L6-v2) with the topics. Embedding them is about 5 seconds of encoder time, and it is the same
for every database: so the vectors are a model artefact (``matcher.artefacts``), built once in
``$PERKMATCH_CACHE`` for each model and encoder, and read by every later run. They are always computed the same
way, apart from any database (the words sorted by length, in batches of ``embed.WRITE_BATCH``), so a database
gets the same vectors whether it built the file or read it. The database keeps only the words chosen.

An encoder that was not loaded from a model folder (the tests' fakes) has its vocabulary embedded once per
process; so has one whose cache folder cannot be written (with a warning).
"""

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np

from catalog.refresh import text_key
from matcher import artefacts
from matcher.embed import WRITE_BATCH, EmbeddingCache
from matcher.errors import ModelError

FILE = "vectors.npy"
_READ: dict[object, np.ndarray] = {}  # artefact folder (or an encoder without one) -> its vectors, once a process

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int | None], None]


def vocabulary_vectors(cache: EmbeddingCache, words: list[str], progress: Progress | None = None) -> np.ndarray:
    """(len(words), dim) vectors of the encoder's vocabulary words, in order: from this machine's model cache,
    built there first when it is missing."""
    folder: Path | None = getattr(cache.encoder, "folder", None)
    if folder is None:
        if cache.encoder not in _READ:
            _READ[cache.encoder] = embed_words(cache, words, progress)
        return _READ[cache.encoder]
    try:
        built = artefacts.ensure(folder, cache.name, "vocabulary",
                                 lambda tmp: np.save(tmp / FILE, embed_words(cache, words, progress)))
    except ModelError as exc:
        if (folder, cache.name) not in _READ:
            log.warning("%s; the model's vocabulary is embedded again in each run", exc)
            _READ[folder, cache.name] = embed_words(cache, words, progress)
        return _READ[folder, cache.name]
    if built not in _READ:
        vectors = np.load(built / FILE)
        if vectors.shape != (len(words), cache.encoder.dim):  # the model's words are part of the folder's key
            raise ModelError(f"{built / FILE} holds {vectors.shape[0]} vectors for {len(words)} words; delete "
                             "that folder and run again")
        _READ[built] = vectors
    return _READ[built]


def embed_words(cache: EmbeddingCache, words: list[str], progress: Progress | None = None) -> np.ndarray:
    """The words' vectors, computed the one way every run computes them: sorted by length (then key), in
    batches of ``WRITE_BATCH``; encoder time counts as the cache's (``EmbeddingCache.encode``)."""
    order = sorted(range(len(words)), key=lambda i: (len(words[i]), text_key(words[i])))
    out = np.zeros((len(words), cache.encoder.dim), dtype=np.float32)
    if progress:
        progress("vocabulary", 0, len(words))
    for start in range(0, len(order), WRITE_BATCH):
        rows = order[start:start + WRITE_BATCH]
        out[rows] = cache.encode([words[i] for i in rows])
        if progress:
            progress("vocabulary", len(rows), len(words))
    return out
