"""Static charts for the HTML reports: matplotlib figures rendered to inline SVG strings.

No pyplot and no global state: each chart is a bare ``Figure`` drawn inside an ``rc_context`` that makes the
SVG deterministic (a fixed hash salt, no date in the metadata) and self-contained (glyphs as paths, no fonts).
"""

import datetime as dt
import html
import io
from typing import Any

import matplotlib
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator
from matplotlib.typing import RcKeyType

from matcher.profile_types import ProfileParams

RC: dict[RcKeyType, Any] = {
      "svg.hashsalt": "perkmatch", "svg.fonttype": "path", "font.family": "DejaVu Sans", "font.size": 8.5,
      "axes.spines.top": False, "axes.spines.right": False, "axes.titlesize": 9.5, "axes.titleweight": "bold",
      "axes.titlelocation": "left"}
MAX_TOPICS = 8  # colours a reader can still tell apart
GREY = "#9aa3ad"


def to_svg(fig: Figure, label: str) -> str:
    """The figure as an ``<svg>`` element (no XML prolog or doctype), labelled for screen readers."""
    buf = io.StringIO()
    with matplotlib.rc_context(RC):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    return text.replace("<svg ", f'<svg role="img" aria-label="{html.escape(label)}" ', 1)


def engagement(post: dict[str, Any], params: ProfileParams = ProfileParams()) -> float:
    """A post's weighted engagement, on the scale the profile compares with the user's usual: likes net of the
    author's own vote where the platform counts it (``post_signals.engagement``)."""
    likes = post["likes"] - (post.get("platform") in params.self_vote_platforms)
    return float(params.like_weight * likes + params.reply_weight * post["replies"]
                 + params.share_weight * post["shares"])


def _plain(label: str) -> str:
    """A label drawn as written: matplotlib reads text between two ``$`` as math ("$5 off, $10 back" loses its
    dollars; "$\\x$" is an error), so each ``$`` is escaped."""
    return label.replace("$", r"\$")


def _when(iso_ts: str) -> dt.datetime:
    return dt.datetime.strptime(iso_ts, "%Y-%m-%dT%H:%M:%SZ")


def _month(d: dt.datetime) -> dt.datetime:
    return dt.datetime(d.year, d.month, 15)


def activity_chart(posts: list[dict[str, Any]], topics: list[dict[str, Any]], usual: float | None) -> str | None:
    """Two panels over time: the user's posts per month, and the engagement of each topic's evidence posts."""
    if not posts:
        return None
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(8.0, 4.6), layout="constrained")
        top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [1, 2]})
        _posts_per_month(top, posts)
        _evidence_engagement(bottom, topics[:MAX_TOPICS], usual)
        locator = AutoDateLocator()  # type: ignore[no-untyped-call]  # a year of monthly ticks as "2021-04" ran into each other: "Apr", "May"
        bottom.xaxis.set_major_locator(locator)
        bottom.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
        fig.align_ylabels()
        return to_svg(fig, "The user's posts per month, and the engagement of each topic's evidence posts over time")


def _posts_per_month(ax: Any, posts: list[dict[str, Any]]) -> None:
    counts: dict[dt.datetime, int] = {}
    for p in posts:
        month = _month(_when(p["created_at"]))
        counts[month] = counts.get(month, 0) + 1
    months = sorted(counts)
    ax.bar(months, [counts[m] for m in months], width=24, color=GREY)
    ax.set_title("All posts per month")
    ax.set_ylabel("posts")


def _evidence_engagement(ax: Any, topics: list[dict[str, Any]], usual: float | None) -> None:
    colours = matplotlib.colormaps["tab10"].colors  # type: ignore[attr-defined]  # (tab10: a ListedColormap)
    markers = "osD^vP*X"
    for i, t in enumerate(topics):
        xs = [_when(p["created_at"]) for p in t["evidence"]]
        ys = [engagement(p) for p in t["evidence"]]
        ax.scatter(xs, ys, s=26, color=colours[i % len(colours)], marker=markers[i % len(markers)],
                   label=_plain(t["name"]), alpha=0.85, linewidths=0)
    if usual is not None:
        ax.axhline(usual, color="#444", linestyle="--", linewidth=0.8, label=f"user's usual ({usual:g})")
    ax.set_yscale("symlog", linthresh=1)
    values = [engagement(p) for t in topics for p in t["evidence"]] + ([usual] if usual is not None else [])
    low, high = min(values, default=0.0), max(values, default=1.0)
    ax.set_ylim(low / 1.6 if low >= 2 else min(low * 1.6, 0.0), high * 1.6 if high > 0 else 1.0)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
    ax.set_title("Evidence posts per topic: engagement")
    ax.set_ylabel("likes + 2×replies + 3×shares")
    ax.set_xlabel("date posted")
    if topics or usual is not None:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=7.5)


def quantity_chart(perks: list[dict[str, Any]]) -> str | None:
    """Per perk, the quantity used and left (a perk without a limit shows only what was used)."""
    if not perks:
        return None
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(8.0, 0.9 + 0.38 * len(perks)), layout="constrained")
        ax = fig.subplots()
        labels = [_plain(p["title"]) for p in perks][::-1]
        used = [p["assigned"] for p in perks][::-1]
        left = [p["left"] or 0 for p in perks][::-1]
        rows = range(len(perks))  # by position, not by title: two perks may share one
        ax.barh(rows, used, color="#2b6cb0", label="assigned")
        ax.barh(rows, left, left=used, color="#cfd8e3", label="left")
        ax.set_yticks(rows, labels)
        for y, p in enumerate(perks[::-1]):
            total = p["assigned"] + (p["left"] or 0)
            note = f"{p['assigned']} of {p['quantity']}" if p["quantity"] is not None else f"{p['assigned']}, no limit"
            ax.text(total, y, f"  {note}", va="center", fontsize=7.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("perks")
        ax.set_title("Quantity assigned and left")
        # outside the axes: inside, it sat over the label of a perk whose bar ran the whole width ("0 of 10")
        fig.legend(loc="outside lower center", ncols=2, frameon=False, fontsize=7.5)
        ax.margins(x=0.15)
        return to_svg(fig, "Per perk, the quantity assigned and the quantity left")
