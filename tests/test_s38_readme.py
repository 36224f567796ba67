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


def _links(markdown: str) -> list[str]:
    """The targets of a Markdown file's links and images, code blocks and code spans left out."""
    prose = re.sub(r"`[^`\n]*`", "", re.sub(r"```.*?```", "", markdown, flags=re.S))
    return re.findall(r"!?\[[^\]]*\]\(([^)\s]+)\)", prose)


def _anchor(heading: str) -> str:
    """A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_relative_link_of_the_readme_and_docs_resolves() -> None:
    """Each relative link in README.md and docs/*.md names a file of the repository that exists, and each link to a
    heading of the same page (#...) names one of its headings. A link that leaves the repository (the README's
    ../shared/CONTRACT.md, the contract kept beside it) is not checked here."""
    broken = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = page.read_text(encoding="utf-8")
        headings = {_anchor(h) for h in re.findall(r"^#+ (.*)$", re.sub(r"```.*?```", "", text, flags=re.S), re.M)}
        for target in _links(text):
            path, _, fragment = target.partition("#")
            if re.match(r"[a-z]+:", path):
                continue
            if not path:
                if fragment not in headings:
                    broken.append(f"{page.name}: {target}")
                continue
            dest = (page.parent / path).resolve()
            if ROOT in dest.parents and not dest.exists():
                broken.append(f"{page.name}: {target}")
    assert broken == []


def test_the_readme_links_each_docs_page() -> None:
    """Every page of docs/ is reachable from the README, where its topic comes up."""
    linked = {Path(t.partition("#")[0]).name for t in _links(README) if t.startswith("docs/")}
    assert sorted(p.name for p in (ROOT / "docs").glob("*.md") if p.name not in linked) == []
