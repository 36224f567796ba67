#!/usr/bin/env python3
"""Gaming patterns on real text: adversarial users built from the Reddit dev split, and how perkmatch treats them.

    python scripts/evaluate.py --adversarial 20     # the whole pipeline on dev + these users, then this report

At 20 a kind about 5,750 posts are added to the 59,715: under the 10 % that refits the topic vectors
(``matcher.topic_fit``), so the dev users' figures stay those of the plain dev run. More refits them on another
sample, and the dev figures then move by up to a point with the sample alone.

Each adversarial user is built from real dev comments (pseudonymised, as in the split), one pattern per kind:

  viral     a real user's own posts plus one post from a topic they never wrote about, with 20,000 likes
  copies    a real user's posts plus one post from such a topic pasted 30 times, once a day, in 30 threads,
            each with a few likes (automation, spam)
  burst     a real user's posts plus 12 posts on such a topic, all within two hours, each engaged
  loud      a real user's posts with the others' votes and the replies multiplied by 1,000 (a big account)
  reshares  40 engaged reshares (`is_share`) on one topic, one a day, and nothing of their own
  firehose  250 posts on everything (drawn from the whole split), 5 a day, none engaged beyond the author's vote
  firehose-liked  150-200 posts on everything, 5 a day, each with a little engagement (1 to 3 votes beyond the
            author's, a reply on one in three), each opening with a filler ("Quick thought: ") as the demo's firehose
            does, which also keeps them the account's own words (not copies); drawn from the whole split
            (even-numbered accounts) or from every group's donors alike (odd-numbered: posts plainly about a topic)

The injected posts come from "donors": dev users all of whose comments map to one topic, so the gamed topic is
known. A real user's copy (viral, copies, burst, loud) keeps that user's true topics in the answer key; the
gaming must add nothing. ``report`` compares each copy's inferred topics with those of the real user it was
built from, in the same run: a topic the copy has and the original has not came from the gaming. Reshare-only and
firehose accounts must get no topic at all. The answer key written with the posts lets
``../shared/eval/score.py`` report its adversarial section too (``kind`` is the pattern).
"""

import collections
import gzip
import json
import random
from collections.abc import Iterable
from pathlib import Path
from typing import Any

Post = dict[str, Any]
BASE_KINDS = ("viral", "copies", "burst", "loud")
ALONE_KINDS = ("reshares", "firehose", "firehose-liked")
DAY = 86_400
FILLERS = ("Quick thought: ", "Note to self: ", "Random one: ", "Just saying: ", "Today's thought: ", "PSA: ")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def donors(answers: dict[str, dict], posts: dict[str, list[Post]]) -> dict[str, list[str]]:
    """Topic -> users every one of whose comments maps to that one (true) topic."""
    out: dict[str, list[str]] = collections.defaultdict(list)
    for user, ans in sorted(answers.items()):
        topics = ans.get("topics") or {}
        if len(topics) == 1 and ans.get("true_topics"):
            topic, counts = next(iter(topics.items()))
            if counts["n"] == len(posts.get(user, [])) and not ans.get("n_unmapped"):
                out[topic].append(user)
    return dict(out)


def build(data: Path, per_kind: int, seed: int = 0) -> tuple[list[Post], list[dict], list[dict], dict[str, dict]]:
    """(posts, users, answer lines, {adversarial user: {kind, base, topic}}) for ``per_kind`` users of each kind
    (firehose and firehose-liked: a quarter of that), drawn deterministically from the split in ``data``."""
    rng = random.Random(seed)
    answers = {a["user_id"]: a for a in read_jsonl(data / "answers.jsonl")}
    regions = {u["user_id"]: u.get("region", "US") for u in read_jsonl(data / "users.jsonl")}
    by_user: dict[str, list[Post]] = collections.defaultdict(list)
    for post in read_jsonl(data / "posts.jsonl.gz"):
        by_user[post["user_id"]].append(post)
    pools = donors(answers, by_user)
    bases = sorted(u for u, a in answers.items() if a.get("true_topics") and u in by_user)
    posts: list[Post] = []
    users: list[dict] = []
    lines: list[dict] = []
    meta: dict[str, dict] = {}
    for kind in (*BASE_KINDS, *ALONE_KINDS):
        for i in range(per_kind // 4 if kind.startswith("firehose") else per_kind):
            user = f"adv-{kind}-{i:03d}"
            base = rng.choice(bases) if kind in BASE_KINDS else None
            known = set(answers[base]["topics"]) if base else set()
            topic = rng.choice(sorted(t for t in pools if t not in known and _l1(t) not in {_l1(k) for k in known}))
            donor = [dict(p) for p in by_user[rng.choice(pools[topic])]]
            own = [dict(p) for p in by_user[base]] if base else []
            if kind == "firehose-liked":
                donor = _across_groups(rng, pools, by_user) if i % 2 else _anything(rng, by_user)
            made = _pattern(kind, rng, own, donor, by_user)
            for j, post in enumerate(made):
                post.update(post_id=f"{user}-{j:03d}", user_id=user)
            posts += made
            users.append({"user_id": user, "consent": "opted_in", "region": regions.get(base or "", "US")})
            ans = answers[base] if base else {"true_topics": [], "one_off": [], "unengaged": [], "topics": {}}
            lines.append({**{k: ans.get(k) for k in ("true_topics", "one_off", "unengaged", "topics")},
                          "user_id": user, "kind": kind, "sensitive_seen": []})
            meta[user] = {"kind": kind, "base": base,
                          "topic": None if kind in ("loud", "firehose", "firehose-liked") else topic}
    return posts, users, lines, meta


def _pattern(kind: str, rng: random.Random, own: list[Post], donor: list[Post],
             everyone: dict[str, list[Post]]) -> list[Post]:
    times = sorted(p["created_at"] for p in own) or [1_678_000_000]
    if kind == "viral":
        return own + [{**rng.choice(donor), "created_at": times[len(times) // 2], "likes": 20_000, "replies": 300}]
    if kind == "copies":
        text = rng.choice(donor)["text"]
        return own + [{**donor[k % len(donor)], "text": text, "created_at": times[-1] - k * DAY - 3_600,
                       "likes": rng.randint(3, 10)} for k in range(30)]
    if kind == "burst":
        start = times[len(times) // 2]
        return own + [{**p, "created_at": start + k * 600, "likes": rng.randint(5, 30), "replies": rng.randint(0, 3)}
                      for k, p in enumerate(rng.sample(donor, min(12, len(donor))))]
    if kind == "loud":  # a Reddit score counts the author's own vote: only the others' votes are multiplied
        return [{**p, "likes": 1 + (p["likes"] - 1) * 1_000, "replies": p.get("replies", 0) * 1_000} for p in own]
    end = 1_679_000_000
    if kind == "reshares":
        return [{**donor[k % len(donor)], "is_share": True, "created_at": end - k * DAY, "likes": rng.randint(10, 50),
                 "shares": rng.randint(1, 5)} for k in range(40)]
    if kind == "firehose-liked":  # (``donor``: posts on everything, ``_anything`` or ``_across_groups``)
        return [{**p, "text": rng.choice(FILLERS) + p["text"], "created_at": end - k * DAY // 5,
                 "likes": rng.randint(2, 4), "replies": int(rng.random() < 1 / 3)}
                for k, p in enumerate(donor[:rng.randint(150, 200)])]
    pool = sorted(everyone)
    return [{**rng.choice(everyone[rng.choice(pool)]), "created_at": end - k * DAY // 5, "likes": 1, "replies": 0}
            for k in range(250)]


def _anything(rng: random.Random, everyone: dict[str, list[Post]]) -> list[Post]:
    """200 posts drawn from the whole split, each of a user drawn at random."""
    pool = sorted(everyone)
    return [dict(rng.choice(everyone[rng.choice(pool)])) for _ in range(200)]


def _across_groups(rng: random.Random, pools: dict[str, list[str]], everyone: dict[str, list[Post]]) -> list[Post]:
    """Donors' posts spread over every topic group alike, none twice: one from each group in turn (in an order drawn
    anew each round; a group whose posts have all been drawn is passed), each of a random donor of the group's
    topics. So a group with many donor topics (sports) takes no larger share than one with a single topic."""
    groups: dict[str, list[Post]] = collections.defaultdict(list)
    for topic in sorted(pools):
        groups[_l1(topic)] += [dict(p) for user in pools[topic] for p in everyone[user]]
    for posts in groups.values():
        rng.shuffle(posts)
    out: list[Post] = []
    while len(out) < 200 and any(groups.values()):
        names = sorted(groups)
        rng.shuffle(names)
        out += [groups[name].pop() for name in names if groups[name]]
    return out[:200]


def _l1(topic: str) -> str:
    return topic.split(".", 1)[0]


def write(out: Path, data: Path, per_kind: int) -> dict[str, dict]:
    """Write posts.jsonl, users.jsonl and a split folder (the dev answer key plus these users, the taxonomy) that
    score.py reads; return the users' descriptions (also written, as adversarial.json)."""
    posts, users, lines, meta = build(data, per_kind)
    split = out / "split"
    split.mkdir(parents=True, exist_ok=True)
    _write_jsonl(out / "posts.jsonl", posts)
    _write_jsonl(out / "users.jsonl", users)
    (split / "answers.jsonl").write_text((data / "answers.jsonl").read_text() + "".join(
        json.dumps(line) + "\n" for line in lines))
    (split / "users.jsonl").write_text((data / "users.jsonl").read_text() + "".join(
        json.dumps(u) + "\n" for u in users))
    (split / "taxonomy.yaml").write_text((data / "taxonomy.yaml").read_text())
    (out / "adversarial.json").write_text(json.dumps(meta, indent=1))
    return meta


def _write_jsonl(path: Path, rows: Iterable[dict]) -> None:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


def report(meta: dict[str, dict], topics_path: Path, match_path: Path) -> dict[str, dict]:
    """Per kind: how many users, and how often the gaming worked.

    gained_topic   (copies of real users) the copy has an inferred topic its original has not
    gamed_topic    ... and that topic is the injected one or in its level-1 group
    any_topic      (reshares, firehose) the account has any inferred topic
    same_topics    (loud) the copy's inferred topics are exactly its original's
    perks_gained   the user has a perk assigned through a topic its original has not (or any perk, when alone)"""
    inferred = {row["user_id"]: [t["topic_id"] for t in row["topics"] if t.get("status", "inferred") == "inferred"]
                for row in read_jsonl(topics_path)}
    cited: dict[str, set[str]] = collections.defaultdict(set)
    for row in read_jsonl(match_path):
        cited[row["user_id"]].update(t["topic_id"] for t in row.get("topics") or [])
    out: dict[str, dict] = {}
    for user, m in meta.items():
        stats = out.setdefault(m["kind"], collections.Counter())
        stats["users"] += 1
        mine = set(inferred.get(user, []))
        if m["base"] is None:
            stats["any_topic"] += bool(mine)
            stats["perks_gained"] += bool(cited.get(user))
            continue
        original = set(inferred.get(m["base"], []))
        gained = mine - original
        stats["gained_topic"] += bool(gained)
        stats["gamed_topic"] += bool(m["topic"] and any(_l1(t) == _l1(m["topic"]) for t in gained))
        stats["same_topics"] += mine == original
        stats["perks_gained"] += bool(cited.get(user, set()) - original)
    return {kind: {k: (v if k == "users" else round(v / c["users"], 3)) for k, v in sorted(c.items())}
            for kind, c in out.items()}
