"""A topic as the pipeline sees it (``TopicInfo``), and the tree the topics make: each topic's ancestors
(``lineage``: opting in to a topic covers everything under it), and the sensitive topics a user's opt-ins leave
hidden (``not_shown``), which every reader goes through.
"""

import functools
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

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


class Node(Protocol):
    """A topic with its parent, as ``lineage`` reads it: a ``TopicInfo``, or one read from a file (``TopicIn``)."""

    @property
    def topic_id(self) -> str: ...

    @property
    def parent_id(self) -> str | None: ...


def lineage(topics: Sequence[Node]) -> dict[str, tuple[str, ...]]:
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
