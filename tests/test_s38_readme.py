"""The README as a newcomer follows it: every file it names exists, every module of the packages is in its table of
stages, and the perk its dry-run example adds is one a catalog file may hold."""

import re
from pathlib import Path

import yaml

from catalog.refresh import read_catalog

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
NOT_STAGES = {"__init__.py", "__main__.py", "errors.py"}  # package plumbing, not a stage of the pipeline


def test_every_file_the_readme_names_exists() -> None:
    named = set(re.findall(r"`((?:matcher|catalog|scripts|tests|docs)/[\w./-]+)`", README))
    assert named
    assert sorted(p for p in named if not (ROOT / p).exists()) == []


def test_every_module_is_in_the_readme_table_of_stages() -> None:
    table = README[README.index("The pipeline, one module per stage:"):README.index("### How topics are inferred")]
    modules = [p for package in ("matcher", "catalog") for p in sorted((ROOT / package).glob("*.py"))
               if p.name not in NOT_STAGES]
    assert sorted(f"{p.parent.name}/{p.name}" for p in modules if f"`{p.parent.name}/{p.name}`" not in table) == []


def test_the_dry_run_example_perk_is_a_valid_catalog_entry(tmp_path: Path) -> None:
    section = README[README.index("### Trying a perk before it goes live"):README.index("### Incremental runs")]
    block = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert block, "the growler example shows the perk it adds"
    (perk,) = yaml.safe_load(block.group(1))
    assert perk["perk_id"] == "pk-hopyard-growler"
    path = tmp_path / "next.yaml"
    path.write_text(block.group(1))
    assert [p.perk_id for p in read_catalog(path)] == ["pk-hopyard-growler"]
