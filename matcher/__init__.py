"""perkmatch: topics people really write about, matched to perks, with the evidence.

Stages, one module each: ingest -> embed -> classify (posts to topics) -> profiles -> match
(candidates) -> assign (perks under limits) -> explain. ``store`` holds the tables, ``cli`` wraps it all.
"""

__version__ = "0.1.0"
