"""Text encoders: one small interface, the real sentence-transformers model, and a deterministic fake.

Every encoder returns float32 arrays of shape (n, dim), L2-normalised, so inner product is cosine.
``load_encoder`` also gives the fast backends of ``matcher.backends`` (ONNX Runtime, int8, OpenVINO, model2vec).
"""

import functools
import hashlib
import os
import re
import shlex
from typing import Protocol

import numpy as np

from matcher.errors import EncoderError, ModelError, PerkmatchError
from matcher.model_files import (
    DEFAULT_MODEL,
    WEIGHTS,
    base_name,
    known_words,
    model_digest,
    model_folder,
    model_words,
    packaged_model_path,
    reading_vocabulary,
    vocabulary,
    vocabulary_file,
    vocabulary_source,
)

__all__ = ["BACKENDS", "DEFAULT_MODEL", "MAX_CHARS", "PRECISIONS", "UNIT_TOLERANCE", "WEIGHTS", "Encoder",
           "FakeEncoder", "SentenceTransformerEncoder", "base_name", "checked_vectors", "choose_backend", "encoded",
           "given_options", "known_words", "load_encoder", "model_digest", "model_folder", "model_words",
           "packaged_model_path", "reading_vocabulary", "vocabulary", "vocabulary_file", "vocabulary_source"]

PRECISIONS = ("float32", "bfloat16", "auto")
BACKENDS = ("torch", "torch-bf16", "onnx", "onnx-int8", "openvino", "openvino-int8", "fast", "model2vec",
            "auto")  # see matcher.backends
MAX_CHARS = 2000  # the model reads 256 tokens; longer text is cut before tokenising
UNIT_TOLERANCE = 1e-2  # how far from 1 a vector's length may be: normalised in bfloat16, it is off by up to 0.004
# (float16: 5e-4); a vector not normalised at all is off by far more


class Encoder(Protocol):
    """Anything that turns texts into unit-norm float32 vectors."""

    name: str
    dim: int

    def encode(self, texts: list[str]) -> np.ndarray: ...


def encoded(encoder: Encoder, texts: list[str]) -> np.ndarray:
    """``encoder.encode(texts)``, checked (``checked_vectors``); its failure is an EncoderError naming it."""
    try:
        vectors = encoder.encode(texts)
    except PerkmatchError:
        raise
    except Exception as exc:
        other = "torch" if "+" in encoder.name else "onnx"  # (a backend names itself model+backend; torch: model)
        raise EncoderError(f"the encoder {encoder.name!r} failed on a batch of {len(texts)} text(s): "
                           f"{type(exc).__name__}: {exc}; check its encode(texts) (for the packaged model, try "
                           f"another --encoder, such as {other})") from exc
    return checked_vectors(encoder, len(texts), vectors, texts)


def checked_vectors(encoder: Encoder, n: int, vectors: object, texts: list[str] | None = None) -> np.ndarray:
    """The vectors an encoder returned for ``n`` texts, as float32, when they are what ``Encoder`` promises: shape
    (n, dim), finite, unit-norm. Else an EncoderError saying what is wrong and how to fix it: before, a wrong ``dim``
    was a bare "cannot reshape array" from the cache, NaN a database NOT NULL error, and vectors not of unit length
    were stored and quietly scored wrong (scores are inner products, read as cosines)."""
    name = f"the encoder {encoder.name!r}"
    try:
        out = np.asarray(vectors, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise EncoderError(f"{name} returned {type(vectors).__name__}, not an array of numbers ({exc}); its "
                           "encode(texts) must return a numpy array of shape (len(texts), dim)") from None
    if out.shape != (n, encoder.dim):
        raise EncoderError(f"{name} returned vectors of shape {out.shape} for {n} text(s); its encode(texts) must "
                           f"return shape (len(texts), dim), one row of {encoder.dim} numbers (its `dim`) per text")
    bad = ~np.isfinite(out).all(axis=1)
    norms = np.linalg.norm(out, axis=1)
    bad |= np.abs(norms - 1) > UNIT_TOLERANCE
    if bad.any():
        first = int(np.argmax(bad))
        what = f"text {texts[first][:60]!r}" if texts else f"row {first}"
        problem = (f"NaN or infinite numbers (for {what})" if not np.isfinite(out[first]).all() else
                   f"a vector of length {norms[first]:.4g}, not 1 (for {what})")
        raise EncoderError(f"{name} returned {problem}: {int(bad.sum())} of its {n} row(s) are so; its vectors "
                           "must be finite and L2-normalised: return vectors / np.linalg.norm(vectors, axis=1, "
                           "keepdims=True)")
    return out


class SentenceTransformerEncoder:
    """A local sentence-transformers model, loaded by path with the hub switched off.

    ``precision='float32'`` (the default) gives the same vectors whatever the batch size, up to ~1e-7.
    'bfloat16' (or 'auto': bfloat16 where the CPU supports it) runs under bfloat16 autocast: about twice as
    fast on AVX-512 BF16 machines, cosine agreement with float32 above 0.999, but vectors move by ~1e-3 with
    the batch composition, enough to flip a borderline post. The cache key includes the precision, so vectors
    from the two are never mixed.
    """

    def __init__(self, model: str | None = None, batch_size: int = 64, precision: str = "float32") -> None:
        path = model_folder(model)
        import torch
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.utils.logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # our own progress bars are the only ones on stderr
        if precision not in PRECISIONS:
            raise ModelError(f"--precision {precision}: use one of {', '.join(PRECISIONS)}")
        self.bf16 = precision == "bfloat16" or (precision == "auto" and _cpu_has_bf16(torch))
        self.model = SentenceTransformer(str(path), device="cpu")
        self.batch_size = batch_size
        self.dim = int(self.model.get_embedding_dimension() or 0)
        self.name = f"{base_name(model)}{'+bf16' if self.bf16 else ''}"

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        import torch

        clipped = [t[:MAX_CHARS] for t in texts]
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            vectors = self.model.encode(clipped, batch_size=self.batch_size, normalize_embeddings=True,
                                        convert_to_numpy=True, show_progress_bar=False)
        return _normalise(np.asarray(vectors, dtype=np.float32))


def _cpu_has_bf16(torch: object) -> bool:
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())  # type: ignore[attr-defined]
    except Exception:
        return False


class FakeEncoder:
    """Deterministic bag-of-words vectors for unit tests: texts sharing words are close.

    Each lower-cased word hashes to a fixed random direction; a text is the normalised sum of its
    words' directions. Words in ``synonyms`` map to a shared stem first, so tests can state meaning.
    """

    def __init__(self, dim: int = 64, synonyms: dict[str, str] | None = None, words: tuple[str, ...] = ()) -> None:
        self.dim = dim
        self.name = f"fake-{dim}"
        self.synonyms = synonyms or {}
        self.words = words  # the vocabulary (``vocabulary``): none unless a test gives one
        self.calls = 0
        self.encoded_texts = 0

    def _word(self, word: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256(word.encode()).digest()[:8], "little")
        return np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)

    def encode(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        self.encoded_texts += len(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in re.findall(r"[a-z0-9]+", text.lower()):
                if len(word) > 2 and word not in _STOP:
                    out[i] += self._word(self.synonyms.get(word, word))
            if not out[i].any():
                out[i] = self._word("<empty>")
        return _normalise(out)


_STOP = frozenset("the and for with was are but you this that have has had not all its our out from".split())


def _normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    unit: np.ndarray = (vectors / norms).astype(np.float32)
    return unit


def choose_backend(backend: str | None, precision: str = "float32") -> tuple[str, str]:
    """(backend, torch precision) from --encoder and the older --precision (bfloat16 is torch-bf16). With neither,
    the default: ``auto`` (OpenVINO, else torch float32)."""
    if precision not in PRECISIONS:
        raise ModelError(f"--precision {precision}: use one of {', '.join(PRECISIONS)}")
    if backend is None:
        return ("auto", "float32") if precision == "float32" else ("torch", precision)
    if backend not in BACKENDS:
        raise ModelError(f"--encoder {backend}: unknown encoder; use one of {', '.join(BACKENDS)}")
    if precision != "float32" and (backend, precision) != ("torch-bf16", "bfloat16"):
        raise ModelError(f"--precision {precision} and --encoder {backend} disagree; give --encoder alone "
                         "(--precision bfloat16 is --encoder torch-bf16)")
    return ("torch", "bfloat16") if backend == "torch-bf16" else (backend, "float32")


def given_options(model: str | None, backend: str, precision: str) -> str:
    """The global options that load this encoder again (``choose_backend``'s backend and precision), as `status` puts
    them before the commands it calls for: none for the default's (auto, or openvino, with the packaged model)."""
    parts = [] if not model else [f"--model {shlex.quote(os.path.abspath(model))}"]
    if backend == "torch" and precision != "float32":
        parts.append("--encoder torch-bf16" if precision == "bfloat16" else "--precision auto")
    elif backend not in ("auto", "openvino"):
        parts.append(f"--encoder {backend}")
    return " ".join(parts)


@functools.lru_cache(maxsize=8)
def load_encoder(model: str | None = None, precision: str = "float32", backend: str | None = None) -> Encoder:
    """The real encoder (loaded once): the packaged model or a --model folder, run by the chosen backend
    (``BACKENDS``; by default ``auto``: OpenVINO, or torch float32 with a warning where OpenVINO cannot run).
    Fast backends build their artefacts once, cached."""
    backend, precision = choose_backend(backend, precision)
    try:
        encoder: Encoder
        if backend == "torch":
            encoder = SentenceTransformerEncoder(model, precision=precision)
        else:
            from matcher import backends

            if backend == "auto":
                encoder = backends.load_auto(model_folder(model), base_name(model),
                                             lambda: SentenceTransformerEncoder(model))
            else:
                encoder = backends.load(backend, model_folder(model), base_name(model))
        encoder.folder = model_folder(model)  # type: ignore[attr-defined]  # its vocabulary's vectors are cached
        encoder.words = model_words(encoder.folder)  # type: ignore[attr-defined]
        encoder.vocabulary_path = vocabulary_file(encoder.folder)  # type: ignore[attr-defined]
        encoder.model_digest = model_digest(encoder.folder)  # type: ignore[attr-defined]  # (``embed.check_model``)
        encoder.options = given_options(model, backend, precision)  # type: ignore[attr-defined]  # (a run records it)
        return encoder
    except ModelError:
        raise
    except Exception as exc:
        raise ModelError(f"cannot load the embedding model from {model or packaged_model_path()} with --encoder "
                         f"{backend}: {type(exc).__name__}: {exc}; try --encoder torch") from exc
