"""Model artefacts built once, locally, and cached: the ONNX export, its int8 quantisations (ONNX Runtime's
dynamic one, OpenVINO's static one), a static distillation, the vocabulary's vectors. Here: the cache (where each
artefact lives, its key, a build put in place, older builds pruned); how each is built is in ``artefact_builds``.

Each artefact lives in ``$PERKMATCH_CACHE`` (default ``~/.cache/perkmatch``) in a folder named for its kind and
a key of the source model folder's content (its config, tokenizer and weights files) and the build recipe: a
reinstalled model, or the same model in another environment, finds the artefacts already built. A build runs in
a hidden temporary folder beside it, writes ``manifest.json`` (every file and its size, the build time) last, and
is renamed into place in one step: an interrupted build leaves no folder that looks complete, and a folder whose
manifest is missing or whose files do not match it is deleted and built again. Using or building an artefact
deletes the older builds it replaces (``prune``), so the cache does not grow with every model update or new
environment. Nothing is downloaded: the source is the local model folder.
"""

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from matcher.errors import ModelError

RECIPES = {  # kind -> (what it is, for messages; the recipe, part of the key: change it and the artefact is rebuilt)
    "onnx": ("ONNX export", "torch.onnx.export legacy tracer, opset 17, dynamic batch and sequence axes, v1"),
    "onnx-int8": ("int8 ONNX quantisation", "quantize_dynamic QInt8 per-channel, FFN output + last layer float32 v1"),
    "ov-int8": ("OpenVINO int8 quantisation", "nncf.quantize TRANSFORMER PERFORMANCE on 300 shipped sample posts, "
                "each padded as the encoder pads it, float32 weights kept, v1"),
    "m2v256": ("model2vec static distillation", "model2vec distill pca_dims=256 sif 1e-4 float16, v1"),
    "vocabulary": ("vocabulary's vectors", "whole words [a-z]{4,} of vocab.txt, by length, batches of 512, npy v1"),
}
CALIBRATION = Path(__file__).resolve().parent / "data" / "sample" / "posts.jsonl"  # what int8 is calibrated on
M2V_REMOVE = r"\[unused\d+\]"  # tokens left out of the static vocabulary (model2vec's default); tests shrink it
BUILDS: Counter[str] = Counter()  # kind -> builds done by this process (tests check that a cache is reused)
STALE_BUILD_SECONDS = 86_400  # a hidden build folder this old was left by a build that was killed
_WEIGHTS: dict[tuple[str, int, int], str] = {}  # (path, size, mtime): the weights' digest, once per process

log = logging.getLogger(__name__)  # a build's notice, at INFO: the CLI shows it on stderr (``cli.show_notices``)


def cache_root() -> Path:
    """$PERKMATCH_CACHE, else ~/.cache/perkmatch. A leading ~ is the home folder, as the shell reads it (a service's
    environment file does not expand it: a literal "~" folder was made in the working directory)."""
    return Path(os.environ.get("PERKMATCH_CACHE") or Path.home() / ".cache" / "perkmatch").expanduser()


def transformer_folder(model: Path) -> Path:
    """The folder of a sentence-transformers model's Transformer module (the model folder itself, usually)."""
    modules = model / "modules.json"
    if modules.exists():
        for module in json.loads(modules.read_text()):
            if str(module.get("type", "")).rsplit(".", 1)[-1] == "Transformer":  # (its class, whatever its module)
                return model / str(module.get("path", ""))
    return model


def source_key(model: Path, kind: str) -> str:
    """A key of the model folder's content and of the artefact's recipe."""
    digest = hashlib.sha256(f"{kind}\n{RECIPES[kind][1]}\n{M2V_REMOVE if kind == 'm2v256' else ''}\n".encode())
    if kind == "ov-int8":  # other calibration texts, another quantisation
        digest.update(CALIBRATION.read_bytes())
    folder = transformer_folder(model)
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt", "sentence_bert_config.json"):
        if (folder / name).exists():
            digest.update(name.encode() + b"\0" + (folder / name).read_bytes())
    for name in ("model.safetensors", "pytorch_model.bin"):
        if (folder / name).exists():
            digest.update(f"{name}\0{file_digest(folder / name)}".encode())
    return digest.hexdigest()[:16]


def file_digest(path: Path) -> str:
    """A file's SHA-256 (about 0.1 s for MiniLM's 90 MB of weights), computed once per process and file version."""
    stat = path.stat()
    version = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if version not in _WEIGHTS:
        h = hashlib.sha256()
        with path.open("rb") as f:
            while block := f.read(1 << 20):
                h.update(block)
        _WEIGHTS[version] = h.hexdigest()
    return _WEIGHTS[version]


def artefact_folder(model: Path, base: str, kind: str) -> Path:
    return cache_root() / f"{base}-{kind}-{source_key(model, kind)}"


def manifest(folder: Path) -> dict[str, Any] | None:
    """The folder's manifest when every file it lists is there with its size; None for a partial or corrupt folder."""
    try:
        data: dict[str, Any] = json.loads((folder / "manifest.json").read_text())
        if all((folder / name).stat().st_size == size for name, size in data["files"].items()):
            return data
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass
    return None


def discard(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def ensure(model: Path, base: str, kind: str, build: Callable[[Path], None]) -> Path:
    """The artefact's folder, built first when it is missing, partial or corrupt; the builds it replaces go."""
    final = artefact_folder(model, base, kind)
    if manifest(final) is not None:
        prune(final, model, base, kind)
        return final
    root = cache_root()
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=root))
    except OSError as exc:
        raise ModelError(f"cannot write the model cache {root}: {exc}; "
                         "set PERKMATCH_CACHE to a writable folder") from exc
    log.info("building the %s of %s (once) ...", RECIPES[kind][0], base)
    try:
        start = time.perf_counter()
        build(tmp)
        files = {p.name: p.stat().st_size for p in sorted(tmp.iterdir()) if p.is_file()}
        (tmp / "manifest.json").write_text(json.dumps({
            "kind": kind, "source": str(model), "recipe": RECIPES[kind][1], "files": files,
            "build_seconds": round(time.perf_counter() - start, 2), "built_at": int(time.time())}, indent=1))
        _put(tmp, final)
        BUILDS[kind] += 1
        prune(final, model, base, kind)
        return final
    except ModelError:
        raise
    except ImportError as exc:
        raise ModelError(f"building the {RECIPES[kind][0]} needs a package that is missing ({exc}); "
                         "run `pip install -e .` in the checkout, or use --encoder torch") from exc
    except Exception as exc:
        raise ModelError(f"building the {RECIPES[kind][0]} of {base} failed: {type(exc).__name__}: {exc}; "
                         "use --encoder torch, or report it") from exc
    finally:
        discard(tmp)


def _put(tmp: Path, final: Path) -> None:
    """The build in ``tmp`` becomes the artefact, under a lock beside it: a folder already there is the same build,
    finished first by another process, which may be reading it now (kept; this one goes), or a partial or corrupt one
    (replaced). Without the lock two builds replacing a partial one could each find it partial: the second deleted
    the first's finished build (perhaps as its process read it), or failed to put its own in place."""
    from matcher.locks import file_lock  # (its SQLAlchemy is not needed to read an artefact)

    with file_lock(str(final.parent / f".{final.name}.lock")):
        if manifest(final) is not None:
            return
        if final.exists():
            discard(final)
        tmp.rename(final)


def prune(final: Path, model: Path, base: str, kind: str) -> list[Path]:
    """Delete the builds ``final`` replaces, and return them: the same artefact (base and kind) under another key,
    built from this model folder (whose content has changed since) or from one that no longer exists (an
    environment deleted), or left partial; and hidden build folders of it older than a day (a killed build).
    Builds from another model folder still there are kept: another environment may use them."""
    pattern = re.compile(rf"\.?{re.escape(base)}-{re.escape(kind)}-[0-9a-f]{{16}}(\..+)?")
    gone = []
    for folder in final.parent.iterdir():
        if folder == final or not folder.is_dir() or not pattern.fullmatch(folder.name):
            continue
        if folder.name.startswith("."):
            try:
                stale = time.time() - folder.stat().st_mtime > STALE_BUILD_SECONDS
            except OSError:
                continue
        else:
            data = manifest(folder)
            source = str(data.get("source", "")) if data else ""
            stale = data is None or data.get("kind") != kind or source == str(model) or not Path(source).is_dir()
        if stale:
            discard(folder)
            gone.append(folder)
    return gone
