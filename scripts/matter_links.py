#!/usr/bin/env python3
"""Print which sensitive topics of a taxonomy each sensitive matter is linked to (``matcher.matter_links``).

    python scripts/matter_links.py [TAXONOMY] [--db DB] [--model MODEL] [--json]

TAXONOMY: a taxonomy file as `perkmatch taxonomy load` reads it (YAML, JSON, JSONL, CSV or the IAB TSV); without it,
the taxonomy stored in --db (default: the shipped default taxonomy). A user who opted in to a linked topic (or to one
above it) has the posts touching the matter shown; a matter linked to none stays veiled for everyone. Review the
table whenever a taxonomy is loaded: a matter must never be linked to an unrelated sensitive topic. The topic space is
built in a scratch database, or from --db's taxonomy and stored vectors (texts it lacks are embedded in memory only;
the related words of a taxonomy no profile run has read yet are chosen and kept there, as `profile` would).
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

from matcher.embed import EmbeddingCache, held
from matcher.encoder import load_encoder
from matcher.matter_links import link_table
from matcher.store import open_engine
from matcher.taxonomy import default_taxonomy_path, load_topics, store_taxonomy
from matcher.taxonomy_files import read_taxonomy
from matcher.topic_space import TopicSpace


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("taxonomy", nargs="?", help="a taxonomy file (default: the one stored in --db, or the shipped one)")
    ap.add_argument("--db", help="a perkmatch database to read the taxonomy and vectors from")
    ap.add_argument("--model", help="the model folder (default: the packaged model)")
    ap.add_argument("--json", action="store_true", help="one JSON object: matter -> [topic ids]")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        engine = open_engine(args.db if args.db and not args.taxonomy else str(Path(scratch) / "links.db"),
                             existing=bool(args.db and not args.taxonomy))
        if not args.db or args.taxonomy:
            store_taxonomy(engine, read_taxonomy(args.taxonomy or default_taxonomy_path()))
        topics = load_topics(engine)
        space = TopicSpace.build(topics, held(EmbeddingCache(engine, load_encoder(args.model))))
    table = link_table(topics, space.links)
    if args.json:
        json.dump(table, sys.stdout)
        print()
        return
    names = {t.topic_id: t.name for t in topics}
    print(f"{sum(t.sensitive for t in topics)} sensitive topics of {len(topics)}")
    for matter, ids in table.items():
        print(f"{matter}: " + ("; ".join(f"{t} ({names[t]})" for t in ids) if ids else "(none: veiled for everyone)"))


if __name__ == "__main__":
    main()
