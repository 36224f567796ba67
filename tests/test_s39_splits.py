"""What the s39 splits of long functions and modules must keep (the commits 0924d48..a08dab6 claim no behaviour
change): here, what no other test reaches."""

import importlib
import re
import subprocess
from pathlib import Path
from typing import Any


def test_the_openvino_quantisation_process_imports_its_work_from_where_it_is(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """``quantise_static_int8`` runs its work in a process of its own, from a line of code naming the module to import
    it from. That module moved (artefacts -> artefact_builds); a stale name would fail only in that process, on a
    first openvino-int8 build into an empty cache, which no other test makes."""
    from matcher import artefact_builds

    ran: list[list[str]] = []

    def run(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        ran.append(args)
        return subprocess.CompletedProcess(args, 0)

    monkeypatch.setattr(artefact_builds.subprocess, "run", run)
    artefact_builds.quantise_static_int8(tmp_path / "onnx", tmp_path, [])
    ((_, flag, code, *_),) = ran
    assert flag == "-c"
    named = re.search(r"from ([\w.]+) import (\w+); \2\(\*sys\.argv\[1:\]\)", code)
    assert named, code
    assert getattr(importlib.import_module(named.group(1)), named.group(2)) is artefact_builds._quantise_here

