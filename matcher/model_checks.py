"""Whether the ONNX and OpenVINO backends run a model as sentence-transformers does: a Transformer, mean pooling
and normalisation, and no other module."""

import json
from pathlib import Path
from typing import Any

from matcher.errors import ModelError

RUN_MODULES = ("Transformer", "Pooling", "Normalize")  # the modules the ONNX and OpenVINO backends run


def _check_modules(model: Path) -> None:
    """Refuse a model the ONNX and OpenVINO backends would not run as sentence-transformers does: they run its
    Transformer, then mean pooling and normalisation in numpy. A module they do not run (a Dense projection after the
    pooling) was left out, and another pooling read as the mean: vectors of another space, and size, without a word.
    Module types are matched by their class name (sentence-transformers 5 writes ``...modules.pooling.Pooling``)."""
    modules = json.loads((model / "modules.json").read_text()) if (model / "modules.json").exists() else []
    for module in modules:
        kind = str(module.get("type", "")).rsplit(".", 1)[-1]
        if kind not in RUN_MODULES:
            raise ModelError(f"--model {model}: its module {module.get('path') or module.get('name')} ({kind}) is one "
                             "the fast backends do not run (they run a Transformer, mean pooling and normalisation "
                             "only); use --encoder torch")
        if kind == "Pooling" and not _mean_pooling(json.loads((model / module["path"] / "config.json").read_text())):
            raise ModelError(f"--model {model}: the fast backends support mean pooling only; use --encoder torch")


def _mean_pooling(config: dict[str, Any]) -> bool:
    """Whether a Pooling module's config is the mean of the token states alone (``pooling_mode: mean`` in
    sentence-transformers 5, ``pooling_mode_mean_tokens`` and no other mode before)."""
    if "pooling_mode" in config:
        mode = config["pooling_mode"]
        return mode == "mean" or (isinstance(mode, list) and mode == ["mean"])
    return bool(config.get("pooling_mode_mean_tokens")) and sum(
        bool(v) for k, v in config.items() if k.startswith("pooling_mode")) == 1
