"""Deleting posts and what rests on them, in the caller's transaction: the posts, their words quoted whole as other
posts' context, the vectors no other post (nor a topic's or perk's text) uses, the kept topic fits, a user's
assignments (their units still counted, ``forgotten_units``) and the posts their perks cite. ``matcher.forget``
decides what goes (a user, some posts, an opt-in) and keeps the record of it (``matcher.forgotten``).
"""

import json
from collections import Counter
from typing import Any

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from catalog.refresh import text_key
from catalog.schema import PerkRecord
from matcher.forgotten import text_hashes
from matcher.records import embed_form
from matcher.store import Assignment, Embedding, ForgottenText, Post, Run, TopicVector, batches, bulk_insert

TOPIC_KEYS = "topic_text_keys"  # where a session holds the topic texts' keys, with the transaction they were read in


def delete_where(s: Session, table: type, condition: object) -> int:
    """Delete the rows of this table that meet the condition; return how many."""
    result = s.execute(delete(table).where(condition))  # type: ignore[arg-type]
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def delete_posts(s: Session, which: Any) -> dict[str, int]:
    """Delete these posts, their words quoted whole as the context of other users' posts (a reply's parent, a thread's
    opening post: those posts keep their own text and lose the context), and the vectors no other post uses, nor the
    taxonomy or the catalog (``_public_keys``); return the counts (``embeddings``: the vectors deleted). Words another
    user still posts as theirs are not the author's alone: a context quoting them stays."""
    rows = s.exec(select(Post.text_key, Post.context_key, Post.text).where(which)).all()
    keys = [(text_key, context_key) for text_key, context_key, _ in rows]
    titles = {key for _, _, text in rows for key in _title_keys(text)}
    own = {k for pair in keys for k in pair if k} | titles  # the vectors of these go unless another post uses them
    counts = {"posts": delete_where(s, Post, which), "quoted_contexts": 0}
    quotable = sorted({text_key for text_key, _ in keys} | titles)
    written = sorted(set(quotable) - _still_posted(s, quotable))
    for part in batches(written):
        quoted = update(Post).where(col(Post.context_key).in_(part))
        counts["quoted_contexts"] += int(s.exec(quoted.values(context=None, context_key=None)).rowcount or 0)
    bulk_insert(s.connection(), ForgottenText.__table__, ("key_hash",),  # type: ignore[attr-defined]  # a file ingested later quotes none again
                [(h,) for h in sorted(text_hashes(s, written))], keep_existing=True)
    bare = sorted({form for _, _, text in rows for form in _bare_forms(text)})
    bare = sorted(set(bare) - _still_posted(s, bare, Post.text))
    for part in batches(bare):  # links only: no key, so their quotes are found by their text
        quoted = update(Post).where(col(Post.context_key).is_(None), col(Post.context).in_(part))
        counts["quoted_contexts"] += int(s.exec(quoted.values(context=None)).rowcount or 0)
    still_used: set[str | None] = set()
    own_list = sorted(own)
    for chunk in batches(own_list):
        still_used.update(s.exec(select(Post.text_key).where(col(Post.text_key).in_(chunk))).all())
        still_used.update(s.exec(select(Post.context_key).where(col(Post.context_key).in_(chunk))).all())
    unused = own - still_used
    orphaned = sorted(unused - _public_keys(s, unused))
    counts["embeddings"] = 0
    for part in batches(orphaned):
        counts["embeddings"] += delete_where(s, Embedding, col(Embedding.text_key).in_(part))
    return counts


def _public_keys(s: Session, keys: set[str]) -> set[str]:
    """Those of these keys that are also a text no one wrote: a view of a topic of the loaded taxonomy or a related
    word chosen for one (``topic_space.topic_text_keys``), or a perk's text in any catalog version. Their vectors are
    not the user's (a post "Travel" and the topic Travel share one), so they stay: before, they went, and the next
    `profile` or `match` embedded them again."""
    from matcher.topic_space import topic_text_keys  # (numpy and the classifier: only when a vector may go)

    if not keys:
        return set()
    held: tuple[object, set[str]] | None = s.info.get(TOPIC_KEYS)
    if held is None or held[0] is not s.get_transaction():  # read once a transaction: read for each user, a users
        # file opting out 500 stored users (4 posts each, the default taxonomy) took 7 s of CPU instead of 2.6 s
        held = s.info[TOPIC_KEYS] = (s.get_transaction(), topic_text_keys(s))
    found = held[1] & keys
    for part in batches(sorted(keys)):
        found.update(s.exec(select(PerkRecord.text_hash).where(col(PerkRecord.text_hash).in_(part))).all())
    return found


def _title_keys(text: str) -> set[str]:
    """The keys of the ways a post is quoted as others' context besides whole: its title, its first paragraph or
    line (a Stack Exchange question is "Title\n\nBody", and its answers carry the title alone)."""
    forms = {text.split("\n\n", 1)[0], text.split("\n", 1)[0]}
    return {text_key(embed_form(f)) for f in forms if f.strip() and f != text}


def _still_posted(s: Session, keys: list[str], column: Any = Post.text_key) -> set[str]:
    """The keys (or texts) that are still those of a post (another user's: theirs are deleted first). Those words
    are not the user's alone (a copy of their post, a phrase many people post), so a context quoting them may quote
    that other post: it stays."""
    found: set[str] = set()
    for part in batches(keys):
        found.update(s.exec(select(column).where(col(column).in_(part))).all())
    return found


def _bare_forms(text: str) -> set[str]:
    """A post that is links only (nothing is left once ``embed_form`` reduces them): the forms in which other posts
    quote it whole as their context, which has no key then (``ingest``), only its text."""
    if embed_form(text):
        return set()
    return {form for form in (text, text.strip()) if form}


def drop_fits(s: Session) -> int:
    """Delete every kept topic fit: a fit is a mean over posts that may include deleted ones (on a small collection, a
    topic written about by one person alone is their posts' mean); the next profile run fits again (``topic_fit``)."""
    fits = len(set(s.exec(select(TopicVector.run_id)).all()))
    delete_where(s, TopicVector, col(TopicVector.run_id).is_not(None))
    return fits


def delete_assignments(s: Session, user_id: str, ids: list[int] | None = None) -> int:
    """Delete the user's assignments (``ids``: only these). The units they used stay counted, with no id: each match
    run's stats keep how many of each perk went to users since forgotten (``forgotten_units``), so a brand is not told
    a unit given out is still there to give."""
    used: dict[int, Counter[str]] = {}
    which = col(Assignment.user_id) == user_id
    if ids is not None:
        which = which & col(Assignment.id).in_(ids)
    for run_id, perk_id in s.exec(select(Assignment.run_id, Assignment.perk_id).where(which)):
        used.setdefault(run_id, Counter())[perk_id] += 1
    for run_id, units in used.items():
        run = s.get(Run, run_id)
        if run is not None:
            stats = json.loads(run.stats or "{}")
            stats["forgotten_units"] = dict(sorted((Counter(stats.get("forgotten_units", {})) + units).items()))
            run.stats = json.dumps(stats)
            s.add(run)
    return delete_where(s, Assignment, which)


def forgotten_units(s: Session, run_id: int, perk_id: str) -> int:
    """How many units of a perk a match run gave to users forgotten since (``delete_assignments``)."""
    run = s.get(Run, run_id)
    return int(json.loads(run.stats or "{}").get("forgotten_units", {}).get(perk_id, 0)) if run else 0


def uncite(s: Session, user_id: str, pks: set[int]) -> None:
    """Take these deleted posts out of the posts the user's assignments cite for their perks (``match.perk_evidence``).
    Left there, a key pointed at whatever post SQLite stores next under it: another user's, shown as this user's
    evidence in `match` records and brands' exports."""
    for row in s.exec(select(Assignment).where(Assignment.user_id == user_id)).all():
        topics = json.loads(row.topics or "[]")
        if any(pks.intersection(t.get("posts") or []) for t in topics):
            row.topics = json.dumps([t | {"posts": [k for k in t["posts"] if k not in pks]} if t.get("posts") else t
                                     for t in topics])
            s.add(row)
