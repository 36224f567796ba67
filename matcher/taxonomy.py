"""The topic vocabulary: load it from YAML/JSON/JSONL/CSV or the IAB Tech Lab Content Taxonomy TSV.

The project ships its own default taxonomy (``matcher/data/taxonomy.yaml``), used until another is loaded.
"""

import csv
import functools
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from importlib import resources
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import Engine, delete
from sqlmodel import Session, col, select

from catalog.errors import InputFileError, Problem
from catalog.rows import ALL_FORMATS, field_key, iter_rows, open_text, undecodable, validate
from catalog.schema import id_text, refuse_invisible, refuse_nul
from matcher.store import Topic, TopicName, batches, session

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


PHRASE_SPLIT = re.compile(r"[,;.]| and | or ")  # how a description lists its keyword phrases


@dataclass(frozen=True)
class TopicInfo:
    """A topic as the pipeline sees it."""

    topic_id: str
    name: str
    parent_id: str | None
    description: str
    sensitive: bool

    def embed_texts(self) -> list[str]:
        """The texts whose embeddings, summed, stand for the topic: its name, and name with description."""
        return [self.name, f"{self.name}: {self.description}" if self.description else self.name]

    def phrases(self) -> list[str]:
        """The description's keyword phrases ("stocks, options, index funds and taxes" -> four), in order."""
        body = self.description.split(":", 1)[-1]
        out: list[str] = []
        for part in PHRASE_SPLIT.split(body):
            part = part.strip()
            if len(part) > 2 and part not in out:
                out.append(part)
        return out

    def view_texts(self) -> list[str]:
        """Every text embedded for the topic: the two whole-topic texts, then its phrases."""
        return list(dict.fromkeys([*self.embed_texts(), *self.phrases()]))


def default_taxonomy_path() -> str:
    return str(resources.files("matcher").joinpath("data/taxonomy.yaml"))


def read_taxonomy(path: str | os.PathLike[str]) -> list[TopicIn]:
    """Validate a whole taxonomy file; raise InputFileError listing every problem."""
    path = os.fspath(path)
    tsv = path != "-" and path.lower().removesuffix(".gz").endswith(".tsv")
    problems: list[Problem] = []
    topics: list[TopicIn] = []
    lines: dict[str, int] = {}
    invalid: set[str] = set()  # the ids of rows refused (their own problems are said)
    # .tsv (the IAB Content Taxonomy) is read by iab_rows: named among the formats only for messages
    for line, row in (iab_rows(path) if tsv else iter_rows(path, (*ALL_FORMATS, "tsv"), texts=TOPIC_TEXTS,
                                                                  known=frozenset(TopicIn.model_fields))):
        if isinstance(row, Problem):
            problems.append(row)
            continue
        result = validate(path, line, row, TopicIn, TOPIC_HINTS)
        if isinstance(result, list):
            problems.extend(result)
            invalid.add(str(row.get("topic_id") or "").strip())  # its children's parent is in the file
            continue
        problems.extend(Problem(path, line, str(key), "is not a field perkmatch reads, so the topic would be loaded "
                                "as not sensitive and inferred for everyone; name it 'sensitive'")
                        for key in row if key not in TopicIn.model_fields and meant_sensitive(str(key)))
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


def _sensitive_below(topics: list[TopicIn]) -> list[TopicIn]:
    """A topic under a sensitive one is sensitive too, as opting in to a topic covers everything under it. Before, a
    child left unmarked (an IAB TSV without its tier columns: Cancer under Medical Health) was inferred and shown for
    everyone."""
    chains = lineage(topics)
    marked = {t.topic_id for t in topics if t.sensitive}
    return [t.model_copy(update={"sensitive": True}) if not t.sensitive and marked.intersection(chains[t.topic_id])
            else t for t in topics]


def meant_sensitive(key: str) -> bool:
    """Whether a field the taxonomy does not read plainly means ``sensitive`` ("Sensitive", "is_sensitive"): an
    error, not a field ignored, since ignoring it would infer and show the topic for everyone."""
    return field_key(key) in ("sensitive", "is_sensitive", "sensitivity", "sensitive_topic", "private", "is_private")


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
    header = next((i for i, r in enumerate(rows[:5]) if r and r[0].strip() == "Unique ID"), None)
    audience = next((i for i, r in enumerate(rows[:5]) if any(c.strip().startswith("Condensed Name") for c in r)),
                    None)
    if header is None and audience is not None:  # before: "no 'Unique ID' header row", though it has one
        raise InputFileError(path, [Problem(path, audience + 1, "Unique ID", "this is the IAB Audience Taxonomy "
                                            "(audience segments: demographics, purchase intent), not topics posts "
                                            "are about; give the IAB Content Taxonomy TSV")])
    if header is None:
        raise InputFileError(path, [Problem(path, 1, "Unique ID", "no 'Unique ID' header row; "
                                            "give the IAB Content Taxonomy TSV as published")])
    names = [cell.strip() for cell in rows[header]]
    marked = next((i for i, name in enumerate(names) if field_key(name) == "sensitive"), None)
    meant = next((name for i, name in enumerate(names) if i != marked and meant_sensitive(name)), None)
    if meant:
        raise InputFileError(path, [Problem(path, header + 1, meant, "is not a column perkmatch reads, so the topics "
                                            "it marks would be loaded as not sensitive and inferred for everyone; "
                                            "name it 'Sensitive'")])
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


def store_taxonomy(engine: Engine, topics: list[TopicIn]) -> int:
    """Replace the stored vocabulary with these topics (in one transaction), keeping the name and parent of every
    topic it replaces (``TopicName``: a database made before that was kept has the replaced taxonomy's only)."""
    loading = {t.topic_id for t in topics}
    with session(engine) as s:
        kept = set(s.exec(select(TopicName.topic_id)).all())
        for old in s.exec(select(Topic)).all():
            if old.topic_id not in kept and old.topic_id not in loading:
                s.add(TopicName(topic_id=old.topic_id, name=old.name, parent_id=old.parent_id))
        for part in batches(sorted(kept & loading)):  # written anew below (one statement, not a merge a topic)
            s.exec(delete(TopicName).where(col(TopicName.topic_id).in_(part)))
        s.exec(delete(Topic))
        for position, t in enumerate(topics):
            s.add(Topic(topic_id=t.topic_id, name=t.name, parent_id=t.parent_id, description=t.description,
                        sensitive=t.sensitive, position=position))
            s.add(TopicName(topic_id=t.topic_id, name=t.name, parent_id=t.parent_id))
        s.commit()
    return len(topics)


def dropped_under(s: Session, stored: set[str], withdrawn: set[str], loaded: set[str]) -> frozenset[str]:
    """Of these stored topic ids, those the loaded taxonomy lacks that are one of ``withdrawn`` (opt-ins taken back)
    or under one, by the parents they were last loaded with (``TopicName``): the loaded taxonomy no longer says they
    are sensitive, so no reader hides them, and a withdrawal must delete them. An opt-in id never stored as a topic
    (a typo corrected) withdraws nothing."""
    if not withdrawn:
        return frozenset()
    parents = dict(s.exec(select(TopicName.topic_id, TopicName.parent_id)).all())
    out = set()
    for topic_id in stored - loaded:
        node: str | None = topic_id
        seen: set[str] = set()
        while node is not None and node not in seen:
            if node in withdrawn:
                out.add(topic_id)
                break
            seen.add(node)
            node = parents.get(node)
    return frozenset(out)


def known_names(engine: Engine, taxonomy: list[TopicInfo]) -> dict[str, str]:
    """Each topic's name: the loaded taxonomy's, and for a topic it left out, the name it was last loaded with
    (``TopicName``; a topic dropped before names were kept has none, and is shown by its id)."""
    with session(engine) as s:
        names = dict(s.exec(select(TopicName.topic_id, TopicName.name)).all())
    return names | {t.topic_id: t.name for t in taxonomy}


def load_topics(engine: Engine) -> list[TopicInfo]:
    """The stored taxonomy; the default one is stored first if none was loaded."""
    with session(engine) as s:
        topics = stored_topics(s)
    if not topics:
        store_taxonomy(engine, read_taxonomy(default_taxonomy_path()))
        return load_topics(engine)
    return topics


def stored_topics(s: Session) -> list[TopicInfo]:
    """The stored taxonomy, read in the caller's session (none when none is stored yet)."""
    rows = s.exec(select(Topic).order_by(col(Topic.position))).all()
    return [TopicInfo(r.topic_id, r.name, r.parent_id, r.description, r.sensitive) for r in rows]


def taxonomy_digest(topics: list[TopicInfo]) -> str:
    """A digest of the taxonomy's content (ids, names, parents, descriptions, sensitivity, order): a profile run
    records the one it used, and `perkmatch status` compares it with the loaded one."""
    h = hashlib.blake2b(digest_size=16)
    for t in topics:
        h.update(json.dumps([t.topic_id, t.name, t.parent_id, t.description, t.sensitive]).encode())
    return h.hexdigest()


def topic_ids_in(s: Session) -> set[str]:
    """The ids of the loaded taxonomy, read in the caller's session (the default taxonomy's when none is loaded,
    without storing it)."""
    ids = set(s.exec(select(Topic.topic_id)).all())
    return ids or {t.topic_id for t in read_taxonomy(default_taxonomy_path())}


def lineage(topics: Sequence[TopicInfo | TopicIn]) -> dict[str, tuple[str, ...]]:
    """Each topic id with its ancestors' ids, nearest first: opting in to a topic covers everything under it, at any
    depth (IAB's four tiers: "Medical Health" covers its third- and fourth-tier topics)."""
    parent = {t.topic_id: t.parent_id for t in topics}
    out = {}
    for t in topics:
        chain, up = [t.topic_id], t.parent_id
        while up and up in parent and up not in chain:  # (a loaded taxonomy has no loops; a guard all the same)
            chain.append(up)
            up = parent[up]
        out[t.topic_id] = tuple(chain)
    return out


def not_shown(topics: list[TopicInfo]) -> Callable[[str | None], frozenset[str]]:
    """For a user's stored opt-ins (``users.sensitive_opt_in``, JSON), the sensitive topics never shown or matched
    on for them now (opting in to a topic covers everything under it, ``lineage``). A stored profile run may hold
    one that the user has since withdrawn, or that the taxonomy marked sensitive after the run: every reader goes
    through this."""
    chains = lineage(topics)
    sensitive = [t.topic_id for t in topics if t.sensitive]

    @functools.cache
    def hidden(opt_in_json: str | None) -> frozenset[str]:
        opt_in = set(json.loads(opt_in_json or "[]"))
        return frozenset(t for t in sensitive if opt_in.isdisjoint(chains[t]))

    return hidden


def replaced_since(run_id: int, gone: list[str]) -> str:
    """What to say when a profile run's topics are not all in the loaded taxonomy (it was replaced since)."""
    return (f"the taxonomy was replaced after profile run {run_id}: {len(gone)} of its inferred topics are not in it "
            f"({', '.join(gone[:5])}{', ...' if len(gone) > 5 else ''}); run `perkmatch profile` again")


def topic_sets(s: Session) -> tuple[set[str], set[str]]:
    """(all topic ids, sensitive topic ids) of the stored taxonomy."""
    rows = s.exec(select(Topic.topic_id, Topic.sensitive)).all()
    return {r[0] for r in rows}, {r[0] for r in rows if r[1]}
