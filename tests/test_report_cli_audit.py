"""`report user` and `report brand` through the CLI: what the command checks before it works, what it says, and
what the page shows, on a tiny world (fake encoder; ``test_cli_match.build_world``).

Ann writes about travel, Cat about coffee (one of her posts, in a thread, quotes an HTML entity, as Reddit sends
"&gt;"). Bean offers two coffee perks: one anywhere, one only in GB, where nobody lives, so it goes to nobody.
"""

import re
from pathlib import Path

import pytest

from tests.test_cli_match import build_world, posts_for
from tests.test_report_audit import TAXONOMY

PERKS = [
    {"perk_id": "trips", "brand": "Roam", "title": "Trips credit", "description": "travel trips flights airport"},
    {"perk_id": "beans", "brand": "Bean", "title": "Beans", "description": "coffee beans roast espresso",
     "quantity": 5},
    {"perk_id": "gb-beans", "brand": "Bean", "title": "GB beans", "description": "coffee espresso beans brewing",
     "regions": ["GB"]},
]


@pytest.fixture
def world(tmp_path, write, monkeypatch):  # type: ignore[no-untyped-def]
    users = [{"user_id": u, "consent": "opted_in", "region": "US"} for u in ("ann", "cat")]
    posts = posts_for("ann", "flights airport lounge travel") + posts_for("cat", "coffee espresso beans roast")
    posts[-1] |= {"text": "coffee espresso beans roast: dark &gt; light", "context": "Daily grind &amp; roast"}
    return build_world(tmp_path, write, monkeypatch, users, posts, "2025-03-15", PERKS, taxonomy=TAXONOMY,
                       then=(["match"],))


def text_of(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", re.sub(r"<svg.*?</svg>", "", html, flags=re.S)).split())


def test_user_report_refuses_to_write_over_the_database(world) -> None:  # type: ignore[no-untyped-def]
    before = Path(world.db).read_bytes()
    result = world("report", "user", "ann", "--out", world.db)
    assert result.exit_code == 1
    assert "that is the database (--db), which writing would replace" in " ".join(result.stderr.split())
    assert Path(world.db).read_bytes() == before  # the page did not replace the database


def test_brand_report_refuses_to_write_over_the_database(world) -> None:  # type: ignore[no-untyped-def]
    before = Path(world.db).read_bytes()
    result = world("report", "brand", "Bean", "--out", world.db)
    assert result.exit_code == 1
    assert "that is the database (--db), which writing would replace" in " ".join(result.stderr.split())
    assert Path(world.db).read_bytes() == before


@pytest.mark.parametrize("kind", ["user", "brand"])
def test_a_missing_out_folder_is_named_before_the_user_or_brand_is_looked_up(world, tmp_path, kind) -> None:  # type: ignore[no-untyped-def]
    # the path is checked before any work: an unknown user or brand is not what the command complains of
    out = tmp_path / "no-such-folder" / "page.html"
    result = world("report", kind, "nobody-known", "--out", str(out))
    assert result.exit_code == 1 and not out.exists()
    message = " ".join(result.stderr.split())
    assert "does not exist; create it or choose another path" in message and "nobody-known" not in message


@pytest.mark.parametrize(("args", "title"), [(["user", "cat"], "cat"), (["brand", "bean"], "Bean")])
def test_both_reports_say_what_they_wrote(world, tmp_path, args, title) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "page.html"
    result = world("report", *args, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout == "" and result.stderr.strip().endswith(f"wrote {out}")
    assert f"{title}" in out.read_text(encoding="utf-8")


def test_brand_page_through_the_cli_says_why_a_perk_went_to_nobody(world, tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "bean.html"
    assert world("report", "brand", "Bean", "--out", str(out)).exit_code == 0
    shown = text_of(out.read_text(encoding="utf-8"))
    assert "Nobody got it in match run 2: it was withheld from 1 user(s) (1 by region)" in shown
    assert "no profiled user fits it well enough" not in shown  # not the guess the page makes without the reason


def test_user_page_shows_an_entity_in_a_post_as_the_character_it_stands_for(world, tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "cat.html"
    assert world("report", "user", "cat", "--out", str(out)).exit_code == 0
    html = out.read_text(encoding="utf-8")
    assert "dark &gt; light" in html  # ">" (escaped again), as the platform meant it
    assert "&amp;gt;" not in html
    assert '<div class="post-context">in: <bdi>Daily grind &amp; roast</bdi></div>' in html  # the thread it is in


def test_user_page_names_the_topics_that_changed_between_profile_runs(world, write, tmp_path) -> None:  # type: ignore[no-untyped-def]
    more = [{"post_id": f"cat-travel-{i}", "user_id": "cat", "text": f"flights airport lounge travel {w}",
             "created_at": 1_735_732_800 + i * 3 * 86_400, "likes": 5, "replies": 1}
            for i, w in enumerate(["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"])]
    assert world("ingest", write("more.jsonl", more)).exit_code == 0
    assert world("profile", "--as-of", "2025-03-15").exit_code == 0
    out = tmp_path / "cat.html"
    assert world("report", "user", "cat", "--out", str(out)).exit_code == 0
    html = out.read_text(encoding="utf-8")
    assert "Profile run 3 against run 1." in html
    assert "<td>Travel<br><span class=\"id\">travel</span></td><td>new</td>" in html  # the name, then the id


def test_user_page_warns_of_a_perks_evidence_stored_again_after_the_matchs_profile_run(world, write, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # the match read profile run 1; cat's posts were stored again (new engagement) before profile run 3, which
    # read them as they are now: only the perk's evidence, from run 1, is shown as it was not read
    again = [p | {"likes": 9} for p in posts_for("cat", "coffee espresso beans roast")[:-1]]
    assert world("ingest", write("again.jsonl", again)).exit_code == 0
    assert world("profile", "--as-of", "2025-03-15").exit_code == 0
    out = tmp_path / "cat.html"
    assert world("report", "user", "cat", "--out", str(out)).exit_code == 0
    shown = text_of(out.read_text(encoding="utf-8"))
    assert re.search(r"Note: \d+ evidence post\(s\) were stored again \(a new text or new engagement\) after "
                     r"profile run 1 read them", shown)


def test_brand_page_lists_anywhere_among_the_regions_when_a_perk_has_none(world, tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "bean.html"
    assert world("report", "brand", "Bean", "--out", str(out)).exit_code == 0
    assert "anywhere, GB where the perks are offered" in text_of(out.read_text(encoding="utf-8"))


def test_brand_report_before_any_match_is_refused_and_writes_nothing(tmp_path, write, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    users = [{"user_id": "cat", "consent": "opted_in", "region": "US"}]
    unmatched = build_world(tmp_path, write, monkeypatch, users, posts_for("cat", "coffee espresso beans roast"),
                            "2025-03-15", PERKS, taxonomy=TAXONOMY)
    out = tmp_path / "bean.html"
    result = unmatched("report", "brand", "Bean", "--out", str(out))
    assert result.exit_code == 1 and not out.exists()
    assert "no match yet; run `perkmatch match` first" in " ".join(result.stderr.split())


def test_a_covered_parent_candidate_is_said_to_count_for_its_children_not_its_shortfalls() -> None:
    from matcher.report import _why

    covered = {"verdict": "not shown: its posts count for the more specific Coffee (coffee)",
               "details": {"covered_by": ["coffee"], "shortfalls": ["0 original post(s); needs 3"]}}
    assert _why(covered) == [covered["verdict"]]  # its own shortfalls read as "nothing written about it"
    short = {"verdict": "not inferred", "details": {"shortfalls": ["2 original post(s); needs 3"]}}
    assert _why(short) == ["2 original post(s), needs 3"]


def svg_texts(svg: str) -> list[str]:
    """The texts a chart draws, in order (drawn as paths, each follows a comment giving it)."""
    return re.findall(r"<!-- (.*?) -->", svg)


def test_quantity_chart_puts_each_perks_title_beside_its_own_bar() -> None:
    from matcher.report_charts import quantity_chart

    svg = quantity_chart([{"title": "Alpha pass", "assigned": 1, "left": 4, "quantity": 5},
                          {"title": "Bravo kit", "assigned": 2, "left": None, "quantity": None}])
    assert svg is not None
    texts = svg_texts(svg)
    titles = [t for t in texts if t in ("Alpha pass", "Bravo kit")]
    notes = [t.strip() for t in texts if t.strip() in ("1 of 5", "2, no limit")]
    # titles and the notes at the end of the bars are drawn row by row: the same perk's on each row
    assert [{"Alpha pass": "1 of 5", "Bravo kit": "2, no limit"}[t] for t in titles] == notes
    assert titles == ["Bravo kit", "Alpha pass"]  # rows from the bottom: the first perk is on top


def test_activity_chart_draws_at_most_eight_topics() -> None:
    from matcher.report_charts import MAX_TOPICS, activity_chart

    posts = [{"created_at": f"2025-01-{i + 1:02d}T12:00:00Z", "likes": i, "replies": 0, "shares": 0}
             for i in range(10)]
    topics = [{"name": f"Topic {i}", "evidence": [posts[i]]} for i in range(10)]
    svg = activity_chart(posts, topics, None)
    assert svg is not None
    drawn = [t for t in svg_texts(svg) if t.startswith("Topic ")]
    assert MAX_TOPICS == 8 and drawn == [f"Topic {i}" for i in range(8)]  # the legend names the first eight only


def test_user_page_gives_the_users_usual_engagement(world, tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "cat.html"
    assert world("report", "user", "cat", "--out", str(out)).exit_code == 0
    html = out.read_text(encoding="utf-8")
    usual = re.search(r"<li><b>(\d+(\.\d+)?)</b> usual engagement per post</li>", html)
    assert usual and f"<!-- user's usual ({float(usual[1]):g}) -->" in html  # the chart's dashed line, in its legend


@pytest.mark.parametrize("kind", ["user", "brand"])
def test_a_report_on_a_mistyped_db_is_an_error_and_makes_no_database(cli, tmp_path, kind) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "page.html"
    result = cli("report", kind, "ann", "--out", str(out))
    assert result.exit_code == 1 and not out.exists()
    assert not Path(cli.db).exists()
    # the path is said to be wrong, not that the empty database it would have made has no profile yet
    assert "there is no database there; check the path" in " ".join(result.stderr.split())


def test_brand_report_on_a_catalog_with_every_perk_retired_says_so(world, write, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert world("catalog", "refresh", write("none.yaml", []), "--retire-all").exit_code == 0
    result = world("report", "brand", "Bean", "--out", str(tmp_path / "bean.html"))
    assert result.exit_code == 1 and not (tmp_path / "bean.html").exists()
    assert "catalog version 2 has no live perks (every perk was retired)" in " ".join(result.stderr.split())


def test_quantity_chart_draws_what_is_left_after_what_was_used(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from matplotlib.axes import Axes

    from matcher.report_charts import quantity_chart

    bars: dict[str, tuple[list[float], list[float]]] = {}
    real = Axes.barh

    def barh(self, y, width, *args, **kwargs):  # type: ignore[no-untyped-def]
        bars[kwargs["label"]] = (list(width), list(kwargs.get("left") or [0] * len(width)))
        return real(self, y, width, *args, **kwargs)

    monkeypatch.setattr(Axes, "barh", barh)
    quantity_chart([{"title": "Beans", "assigned": 2, "left": 3, "quantity": 5},
                    {"title": "Trips", "assigned": 4, "left": None, "quantity": None}])
    # rows from the bottom: Trips (no limit: nothing left to draw), then Beans (2 used, then 3 left after them)
    assert bars == {"assigned": ([4, 2], [0, 0]), "left": ([0, 3], [4, 2])}
