"""Reading a taxonomy file: YAML/JSON/JSONL/CSV (``TopicIn`` a row) or the IAB Tech Lab Content Taxonomy TSV
(``iab_rows``), validated whole (``read_taxonomy``: unique ids, known parents, no loops, every problem listed), a
topic under a sensitive one marked sensitive too. Storing and loading it is ``matcher.taxonomy``'s.
"""

import csv
import itertools
import os
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from catalog.errors import InputFileError, Problem
from catalog.rows import ALL_FORMATS, field_key, file_format, iter_rows, meant_by, open_text, undecodable, validate
from catalog.schema import id_text, refuse_invisible, refuse_nul
from matcher.topic_tree import lineage

TOPIC_HINTS = {
    "topic_id": "give every topic a stable, unique id",
    "name": "give the topic a human label such as 'Air Travel'",
    "parent_id": "use the topic_id of another topic in the same file, or leave it out",
    "sensitive": "write true or false",
}
# IAB topics, at any tier, that describe health, religion, sexuality and relationships, politics, crime and the like,
# as the default taxonomy marks them: a topic is sensitive when it or one of its ancestors is named here. Content
# Taxonomy 3.x has politics, law and crime as tier-1 groups; 2.x puts them under "News and Politics" (which itself is
# not sensitive: its "Weather" is not), and both keep some health and relationship topics under groups that are not
# sensitive as a whole ("Healthy Living", "Family and Relationships").
IAB_SENSITIVE = {
    "Crime", "Disasters", "Law", "Medical Health", "Politics", "Religion & Spirituality", "Sensitive Topics",
    "War and Conflicts",  # tier-1 groups in 3.x
    "Elections", "Political Issues",  # under 2.x's "News and Politics"
    "Children's Health", "Men's Health", "Senior Health", "Women's Health", "Weight Loss", "Smoking Cessation",
    "Dating", "Divorce", "Marriage and Civil Unions",  # as the default taxonomy: health, religion, sexuality and
    # relationships, politics; not personal finance (debt would take credit cards and mortgages with it); health
    # outside Medical Health (a child's special needs, physical therapy), and grief
    "Special Needs Kids", "Physical Therapy", "Bereavement", "Funeral",
}


TOPIC_TEXTS = ("topic_id", "parent_id", "name", "description")  # kept as written in YAML (0123, not 83)
TOPIC_COLUMNS = ("topic_id", "name")  # a CSV taxonomy's header names them (before, "Topic ID" was read as no id)


class TopicIn(BaseModel):
    """One topic as written in a taxonomy file."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    topic_id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    parent_id: str | None = None
    description: str = ""
    sensitive: bool = False

    @field_validator("topic_id", "parent_id", mode="before")
    @classmethod
    def _id(cls, value: Any) -> Any:
        return id_text(value)  # 12.0 is topic 12, as 12 is; 1e20 is refused (digits lost)

    @field_validator("name", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) else value

    @field_validator("description", mode="before")
    @classmethod
    def _no_description(cls, value: Any) -> Any:
        return "" if value is None else value  # `description:` left empty, JSON null: none given, as elsewhere

    @field_validator("topic_id", "parent_id", mode="after")
    @classmethod
    def _visible(cls, value: str | None) -> str | None:
        # as perk and user ids: "travel\u200b" would look like travel and be reached by no perk or opt-in
        return refuse_invisible(value) if value else value

    @field_validator("name", "description", mode="after")
    @classmethod
    def _no_nul(cls, value: str) -> str:
        return refuse_nul(value)  # (PostgreSQL cannot store one: "the database failed", naming no line)

    @field_validator("parent_id", mode="after")
    @classmethod
    def _blank_parent(cls, value: str | None) -> str | None:
        return value or None


def read_taxonomy(path: str | os.PathLike[str]) -> list[TopicIn]:
    """Validate a whole taxonomy file; raise InputFileError listing every problem."""
    path = os.fspath(path)
    tsv = path != "-" and path.lower().removesuffix(".gz").endswith(".tsv")
    problems: list[Problem] = []
    topics: list[TopicIn] = []
    lines: dict[str, int] = {}
    invalid: set[str] = set()  # the ids of rows refused (their own problems are said)
    iab = None if tsv else _iab_saved_as_csv(path)
    if iab:
        raise InputFileError(path, [iab], "The taxonomy is unchanged.")
    # .tsv (the IAB Content Taxonomy) is read by iab_rows: named among the formats only for messages
    for line, row in (iab_rows(path) if tsv else iter_rows(path, (*ALL_FORMATS, "tsv"), TOPIC_COLUMNS, TOPIC_TEXTS,
                                                                  known=frozenset(TopicIn.model_fields))):
        if isinstance(row, Problem):
            problems.append(row)
            continue
        result = validate(path, line, row, TopicIn, TOPIC_HINTS)
        if isinstance(result, list):
            problems.extend(result)
            invalid.add(str(row.get("topic_id") or "").strip())  # its children's parent is in the file
            continue
        problems.extend(_meant_fields(path, line, row))
        if result.topic_id in lines:
            problems.append(Problem(path, line, "topic_id", f"'{result.topic_id}' already appears on line "
                                    f"{lines[result.topic_id]}; topic ids must be unique"))
        lines.setdefault(result.topic_id, line)
        topics.append(result)
    for topic in topics:
        if topic.parent_id and topic.parent_id not in lines and topic.parent_id not in invalid:
            problems.append(Problem(path, lines[topic.topic_id], "parent_id",
                                    f"'{topic.parent_id}' is not a topic_id in this file; add it or fix the id"))
    problems += _cycles(path, topics, lines)
    if not topics and not problems:
        problems.append(Problem(path, 0, "", "the file has no topics"))
    if problems:
        if tsv:  # named as the TSV names its columns
            problems = [replace(p, field=IAB_COLUMNS.get(p.field, p.field)) for p in problems]
        raise InputFileError(path, problems, "Fix these rows and load again; the taxonomy is unchanged.")
    return _sensitive_below(topics)


def _iab_saved_as_csv(path: str) -> Problem | None:
    """The problem of a CSV holding the IAB Content Taxonomy (its header, on one of its first lines, starts with
    IAB's ``Unique ID``): IAB's columns, and the sensitive topics ``IAB_SENSITIVE`` names, are read from the TSV
    only. Before, every row was said to lack a topic_id and a name, though each gives them."""
    if path == "-" or not os.path.isfile(path) or file_format(path, (*ALL_FORMATS, "tsv")) != "csv":
        return None  # (a missing file, or another format: the reader says what is wrong)
    try:
        with open_text(path) as handle:
            head = list(itertools.islice(csv.reader(handle), 5))
    except (csv.Error, OSError, UnicodeError):
        return None
    at = _iab_header_row(head)
    if at is None:
        return None
    return Problem(path, at + 1, IAB_COLUMNS["topic_id"], "this is the IAB Content Taxonomy saved as CSV; save it as "
                   "the tab-separated .tsv IAB publishes (perkmatch reads IAB's columns, and marks its sensitive "
                   "topics, there), or name the columns topic_id, parent_id and name")


def _sensitive_below(topics: list[TopicIn]) -> list[TopicIn]:
    """A topic under a sensitive one is sensitive too, as opting in to a topic covers everything under it. Before, a
    child left unmarked (an IAB TSV without its tier columns: Cancer under Medical Health) was inferred and shown for
    everyone."""
    chains = lineage(topics)
    marked = {t.topic_id for t in topics if t.sensitive}
    return [t.model_copy(update={"sensitive": True}) if not t.sensitive and marked.intersection(chains[t.topic_id])
            else t for t in topics]


# names a taxonomy may give a field it reads by (``catalog.rows.meant_by``), and what a topic loses when the field
# is ignored under such a name
_MEANT = {"sensitive": ("is_sensitive", "sensitivity", "sensitive_topic", "private", "is_private"),
          "parent_id": ("parent", "parent_topic", "parent_topic_id", "parentid"),
          "description": ()}
_LOST = {"sensitive": "the topic would be loaded as not sensitive and inferred for everyone",
         "parent_id": "the topic would be loaded at the top level, outside its parent (which its posts support, and "
                      "whose sensitive marking it takes)",
         "description": "the topic would be read by its name alone"}


def _meant_fields(path: str, line: int, row: dict[str, Any]) -> list[Problem]:
    """A problem for each field the row gives that perkmatch does not read but that plainly means one it does
    ("Sensitive", "Parent ID", "parent", "Description"): an error, not a field ignored. Before, only ``sensitive``
    was checked: "topic_id,name,Parent ID" loaded every topic at the top level."""
    meant = {key: meant_by(key, _MEANT) for key in map(str, row) if key not in TopicIn.model_fields}
    return [Problem(path, line, key, f"is not a field perkmatch reads, so {_LOST[wanted]}; name it '{wanted}'")
            for key, wanted in meant.items() if wanted]


def meant_sensitive(key: str) -> bool:
    """Whether a field the taxonomy does not read plainly means ``sensitive`` ("Sensitive", "is_sensitive"): an
    error, not a field ignored, since ignoring it would infer and show the topic for everyone."""
    return meant_by(key, _MEANT) == "sensitive"


def _cycles(path: str, topics: list[TopicIn], lines: dict[str, int]) -> list[Problem]:
    """A problem for each loop of parent_ids (a topic that is its own parent, or ancestor), named once."""
    parent = {t.topic_id: t.parent_id for t in topics}
    problems: list[Problem] = []
    done: set[str] = set()
    for start in parent:
        path_ids: list[str] = []
        node: str | None = start
        while node is not None and node in parent and node not in done and node not in path_ids:
            path_ids.append(node)
            node = parent[node]
        if node is not None and node in path_ids:  # came back to a topic on this walk: a loop
            loop = path_ids[path_ids.index(node):]
            first = min(loop, key=lambda t: lines[t])
            at = loop.index(first)
            names = " -> ".join([*loop[at:], *loop[:at], first])
            problems.append(Problem(path, lines[first], "parent_id",
                                    f"the parents go round in a loop ({names}); a topic cannot be its own "
                                    "ancestor: give one of them another parent or none"))
        done.update(path_ids)
    return problems


IAB_COLUMNS = {"topic_id": "Unique ID", "parent_id": "Parent", "name": "Name", "description": "Tier 1-4",
               "sensitive": "Sensitive"}  # the TSV's columns each topic field is read from
YES, NO = {"true", "yes", "y", "1", "x"}, {"false", "no", "n", "0", ""}


def iab_rows(path: str) -> Iterator[tuple[int, dict[str, Any] | Problem]]:
    """The IAB Tech Lab Content Taxonomy TSV (two header lines; Unique ID, Parent, Name, tiers), as topic rows
    with their line numbers. The topics of ``IAB_SENSITIVE`` are sensitive, and so are those an added column
    ``Sensitive`` marks (true, yes, 1): it marks more, never fewer. Another column meaning it (``meant_sensitive``:
    "is_sensitive", "private") is refused, not ignored, since ignoring it would infer and show the topics it marks
    for everyone."""
    with open_text(path) as handle:
        rows = list(csv.reader(handle, delimiter="\t"))
    header, names, marked = _iab_header(path, rows)
    for line, row in enumerate(rows[header + 1:], start=header + 2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < 3:
            yield line, Problem(path, line, "Name", "fewer than 3 columns (Unique ID, Parent, Name); "
                                "give the row as the IAB TSV does, tab-separated")
            continue
        wrong = next((w for w in map(undecodable, row) if w), None)
        if wrong:
            yield line, Problem(path, line, "", wrong)
            continue
        flag = row[marked].strip().lower() if marked is not None and marked < len(row) else ""
        if flag not in YES | NO:
            yield line, Problem(path, line, names[marked or 0], f"'{row[marked or 0].strip()}' is neither true nor "
                                "false; write true (or yes, 1) to mark the topic sensitive, or leave it empty")
            continue
        tiers = [t.strip() for t in row[3:7] if t.strip()]
        yield line, {"topic_id": row[0], "name": row[2], "parent_id": row[1], "description": " > ".join(tiers),
                     "sensitive": flag in YES or not IAB_SENSITIVE.isdisjoint([*tiers, row[2].strip()])}


def _iab_header_row(rows: list[list[str]]) -> int | None:
    """The index of IAB's header row (its first cell ``Unique ID``), on one of the first 5 rows; None without one."""
    return next((i for i, r in enumerate(rows[:5]) if r and r[0].strip() == IAB_COLUMNS["topic_id"]), None)


def _iab_header(path: str, rows: list[list[str]]) -> tuple[int, list[str], int | None]:
    """The IAB TSV's header row (its index), its column names and the index of its ``Sensitive`` column, if any; an
    error for the IAB Audience Taxonomy, a file without the header, or a column meaning sensitive by another name."""
    header = _iab_header_row(rows)
    audience = next((i for i, r in enumerate(rows[:5]) if any(c.strip().startswith("Condensed Name") for c in r)),
                    None)
    if header is None and audience is not None:  # before: "no 'Unique ID' header row", though it has one
        raise InputFileError(path, [Problem(path, audience + 1, "Unique ID", "this is the IAB Audience Taxonomy "
                                            "(audience segments: demographics, purchase intent), not topics posts "
                                            "are about; give the IAB Content Taxonomy TSV")])
    if header is None:
        raise InputFileError(path, [Problem(path, 1, "Unique ID", "no 'Unique ID' header row; a .tsv file is read as "
                                            "the IAB Content Taxonomy: give that TSV as published, or, for topics "
                                            "of your own (columns topic_id, name, parent_id, ...), save it as .csv "
                                            "(comma-separated)")])
    names = [cell.strip() for cell in rows[header]]
    marked = next((i for i, name in enumerate(names) if field_key(name) == "sensitive"), None)
    meant = next((name for i, name in enumerate(names) if i != marked and meant_sensitive(name)), None)
    if meant:
        raise InputFileError(path, [Problem(path, header + 1, meant, "is not a column perkmatch reads, so the topics "
                                            "it marks would be loaded as not sensitive and inferred for everyone; "
                                            "name it 'Sensitive'")])
    return header, names, marked
