"""The topic vocabulary as stored: the taxonomy loaded (``store_taxonomy``, ``load_topics``), the names and parents
of the topics it replaced (``known_names``, ``dropped_under``), its digest, and the default one.

The project ships its own default taxonomy (``matcher/data/taxonomy.yaml``), used until another is loaded. A file is
read by ``matcher.taxonomy_files`` (YAML/JSON/JSONL/CSV or the IAB Tech Lab Content Taxonomy TSV); a topic and the
tree of topics are ``matcher.topic_tree``'s.
"""

import hashlib
import json
from importlib import resources

from sqlalchemy import Engine, delete
from sqlmodel import Session, col, select

from matcher.store import Topic, TopicName, batches, session
from matcher.taxonomy_files import TopicIn, read_taxonomy
from matcher.topic_tree import TopicInfo, lineage, not_shown

__all__ = ["TopicIn", "TopicInfo", "REMOVED", "TopicNames", "default_taxonomy_path", "dropped_under",
           "known_names", "lineage", "load_topics",
           "not_shown", "read_taxonomy", "replaced_since", "store_taxonomy", "stored_topics", "taxonomy_digest",
           "topic_ids_in", "topic_sets"]


def default_taxonomy_path() -> str:
    return str(resources.files("matcher").joinpath("data/taxonomy.yaml"))


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


REMOVED = "(removed from the taxonomy)"


class TopicNames(dict[str, str]):
    """Topic names by id (``known_names``): a topic with no name kept, dropped from the taxonomy before names were
    kept, is named by its id and ``REMOVED`` (read with ``names[topic_id]``). Before, it showed as its bare id, as if
    that were its name."""

    def __missing__(self, topic_id: str) -> str:
        return f"{topic_id} {REMOVED}"


def known_names(engine: Engine, taxonomy: list[TopicInfo]) -> TopicNames:
    """Each topic's name: the loaded taxonomy's, and for a topic it left out, the name it was last loaded with
    (``TopicName``; a topic dropped before names were kept has none: ``TopicNames`` says it was removed)."""
    with session(engine) as s:
        names = dict(s.exec(select(TopicName.topic_id, TopicName.name)).all())
    return TopicNames(names | {t.topic_id: t.name for t in taxonomy})


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


def replaced_since(run_id: int, gone: list[str]) -> str:
    """What to say when a profile run's topics are not all in the loaded taxonomy (it was replaced since)."""
    return (f"the taxonomy was replaced after profile run {run_id}: {len(gone)} of its inferred topics are not in it "
            f"({', '.join(gone[:5])}{', ...' if len(gone) > 5 else ''}); run `perkmatch profile` again")


def topic_sets(s: Session) -> tuple[dict[str, str], set[str]]:
    """(all topic ids, each mapped to its name; the sensitive topic ids) of the stored taxonomy. The names let a
    catalog naming a topic by its name rather than its id be told the id meant."""
    rows = s.exec(select(Topic.topic_id, Topic.name, Topic.sensitive)).all()
    return {r[0]: r[1] for r in rows}, {r[0] for r in rows if r[2]}
