"""HTML reports: content of the user and brand pages on the demo data, escaping, determinism, the CLI,
and the page in headless Chromium (no console errors, no network requests).

The demo database is built once per session with the fake encoder: the topics differ from the real model's,
so the users and brands checked here are picked from whatever that database holds.
"""

import importlib.util
import json
import shutil
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import typer
import yaml
from markupsafe import escape
from sqlalchemy import Engine, text
from sqlmodel import select
from typer.testing import CliRunner

from catalog.refresh import refresh
from matcher.assignments import match_records
from matcher.cli.report import register
from matcher.demo import AS_OF, run_demo, sample_path
from matcher.embed import EmbeddingCache
from matcher.encoder import FakeEncoder
from matcher.errors import PerkmatchError, UnknownUserError
from matcher.ingest import ingest_posts
from matcher.match import run_match
from matcher.profile_run import run_profile
from matcher.records import to_epoch
from matcher.report import brand_report, render, user_report, write_report
from matcher.report_charts import activity_chart, engagement, quantity_chart
from matcher.store import Topic, User, open_engine, session
from matcher.taxonomy import topic_sets
from matcher.topic_records import user_topics

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = "<script>alert(1)</script>"
runner = CliRunner()


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory) -> str:  # type: ignore[no-untyped-def]
    path = str(tmp_path_factory.mktemp("report") / "demo.db")
    engine = open_engine(path)
    run_demo(engine, EmbeddingCache(engine, FakeEncoder()))
    with engine.connect() as conn:
        conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def demo(demo_db):  # type: ignore[no-untyped-def]
    engine = open_engine(demo_db)
    yield engine
    engine.dispose()


@pytest.fixture
def demo_copy(demo_db, tmp_path):  # type: ignore[no-untyped-def]
    target = str(tmp_path / "copy.db")
    shutil.copy(demo_db, target)
    engine = open_engine(target)
    yield engine
    engine.dispose()


def matched_user(engine: Engine) -> str:
    """The first user (by id) who has a perk: they have inferred topics, evidence and assignments."""
    return str(match_records(engine)[0]["user_id"])


def matched_brand(engine: Engine) -> str:
    return str(match_records(engine)[0]["brand"])


def test_user_report_shows_topics_evidence_candidates_perks_and_changes(demo) -> None:  # type: ignore[no-untyped-def]
    user = matched_user(demo)
    data = user_report(demo, user)
    page = render("user.html.j2", data)
    assert data["topics"] and data["assignments"]
    assert page.startswith("<!doctype html>") and f"<h1><bdi>{user}</bdi>" in page
    for t in data["topics"]:
        assert f'id="ev-{t["topic_id"]}"' in page and str(escape(t["name"])) in page
        assert f"{t['score']:.2f}" in page and f"×{t['engagement_vs_usual']:.2f}" in page
        for p in t["evidence"]:
            assert p["post_id"] in page and str(escape(p["text"])) in page
    for c in data["candidates"]:
        assert c["why"] and all(f"<li>{escape(w)}</li>" in page for w in c["why"])
    for a in data["assignments"]:
        assert a["perk_id"] in page and str(escape(a["title"])) in page
        assert all(str(escape(t["name"])) in page for t in a["topics"])
    for w in data["withheld"]:
        assert str(escape(w["reason"])) in page
    assert "Changes since the previous profile run" in page and "is the first: every topic is new" in page
    assert page.count("<svg") == 1 and "<?xml" not in page and "<!DOCTYPE svg" not in page


def test_user_report_reads_the_users_posts_once_for_every_topic_it_explains(demo, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import matcher.explain

    real, calls = matcher.explain._unread_posts, []
    monkeypatch.setattr(matcher.explain, "_unread_posts", lambda *a: calls.append(a) or real(*a))
    data = user_report(demo, matched_user(demo))
    assert len(data["topics"]) + len(data["candidates"]) > 1
    assert len(calls) == 1  # before: once per topic, which took 42 s for a user of 20,000 posts


def test_brand_report_says_why_a_perk_went_to_nobody(demo) -> None:  # type: ignore[no-untyped-def]
    from catalog.refresh import live_perks
    from matcher.store import session as open_session

    with open_session(demo) as s:
        brands = sorted({p.brand for p in live_perks(s)})
    loads = []

    def cache() -> EmbeddingCache:  # the model is asked for only when a perk went to nobody
        loads.append(1)
        return EmbeddingCache(demo, FakeEncoder())

    nobody = []
    for brand in brands:
        data = brand_report(demo, brand, cache)
        for p in data["perks"]:
            if "nobody" in p:
                assert not p["assigned"] and p["in_match"] and p["offer"] == "open"
                page = render("brand.html.j2", data)
                assert str(escape(p["nobody"]["why"][1:])) in page
                assert "the topics it reaches people through" in page or not p["nobody"]["topics"]
                nobody.append(p["perk_id"])
            else:
                assert p["assigned"] or not p["in_match"] or p["offer"] != "open"
    assert nobody and loads  # the demo has perks nobody got, and they are explained


def test_candidates_say_why_they_fell_short(demo) -> None:  # type: ignore[no-untyped-def]
    users = [r["user_id"] for r in user_topics(demo, candidates=True)
             if any(t["status"] == "candidate" for t in r["topics"])]
    assert users, "the demo should have users with candidate topics"
    for c in user_report(demo, users[0])["candidates"]:
        assert all(", needs " in w for w in c["why"]) or "more specific" in c["why"][0]


def test_brand_report_shows_each_perk_users_evidence_quantity_and_left_out(demo) -> None:  # type: ignore[no-untyped-def]
    brand = matched_brand(demo)
    data = brand_report(demo, brand.upper())  # the name matches case-insensitively
    # ... and whatever its width and spacing, as the per-brand limit counts brands
    assert brand_report(demo, "  ".join(brand.upper().split()) + " ")["brand"] == brand
    page = render("brand.html.j2", data)
    assert data["brand"] == brand and f"<h1>{escape(brand)}</h1>" in page
    assert data["assigned"] >= 1 and data["assigned"] == sum(p["assigned"] for p in data["perks"])
    for p in data["perks"]:
        assert f'id="{p["perk_id"]}"' in page and p["brand"] == brand
        if p["quantity"] is not None:
            assert p["left"] == p["quantity"] - p["assigned"] and f"left of {p['quantity']}" in page
        for u in p["users"]:
            assert u["user_id"] in page
            for t in u["topics"][:2]:
                assert all(e["post_id"] in page for e in t["evidence"][:2])
        for w in p["left_out"]:
            assert w["user_id"] in page and str(escape(w["reason"])) in page
        assert ", ".join(p["regions"]) in page if p["regions"] else "anywhere" in page
    assert page.count("<svg") == 1


def test_left_out_users_appear_when_quantity_runs_out(demo_copy, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # the busiest perk of the demo, refreshed to a quantity of one: everyone but its best user is left out
    counts: dict[str, int] = {}
    for r in match_records(demo_copy):
        counts[r["perk_id"]] = counts.get(r["perk_id"], 0) + 1
    busiest = min(counts, key=lambda p: (-counts[p], p))
    assert counts[busiest] >= 2, "the demo should give some perk to two users"
    perks = yaml.safe_load(Path(sample_path("catalog.yaml")).read_text())
    scarce = [{**p, "quantity": 1} if p["perk_id"] == busiest else p for p in perks]
    (tmp_path / "scarce.yaml").write_text(yaml.safe_dump(scarce))
    cache = EmbeddingCache(demo_copy, FakeEncoder())
    with session(demo_copy) as s:
        known, sensitive = topic_sets(s)
        refresh(s, str(tmp_path / "scarce.yaml"), cache, topics=known, sensitive=sensitive)
    run_match(demo_copy, cache)
    brand = next(r["brand"] for r in match_records(demo_copy) if r["perk_id"] == busiest)
    perk = next(p for p in brand_report(demo_copy, brand)["perks"] if p["perk_id"] == busiest)
    assert perk["assigned"] == 1 and perk["left"] == 0 and 1 <= len(perk["left_out"]) <= counts[busiest] - 1
    assert perk["left_out"][0]["reason"].startswith("quantity: all 1 went to users it fits better")
    page = render("brand.html.j2", brand_report(demo_copy, brand))
    assert "Best-fitting people left out" in page and perk["left_out"][0]["user_id"] in page


def test_unknown_brand_names_known_brands(demo) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PerkmatchError, match=r"^no brand 'Skyway Airline' in the live catalog; did you mean "
                       r"'Skyway Airlines'\? give the name as in the catalog's brand field; known brands: "
                       r"Aperture Works, Bytecraft, .* and \d+ more$"):
        brand_report(demo, "Skyway Airline")


def test_unknown_user_is_an_error(demo) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UnknownUserError, match="no user 'nobody' is stored"):
        user_report(demo, "nobody")


def test_reports_are_deterministic(demo) -> None:  # type: ignore[no-untyped-def]
    user, brand = matched_user(demo), matched_brand(demo)
    assert render("user.html.j2", user_report(demo, user)) == render("user.html.j2", user_report(demo, user))
    assert render("brand.html.j2", brand_report(demo, brand)) == render("brand.html.j2", brand_report(demo, brand))


def test_chart_is_inline_svg_without_date_or_prolog(demo) -> None:  # type: ignore[no-untyped-def]
    svg = user_report(demo, matched_user(demo))["chart"]
    assert svg.startswith('<svg role="img" aria-label=') and svg.rstrip().endswith("</svg>")
    assert "<dc:date>" not in svg and "<?xml" not in svg and "<script" not in svg
    assert activity_chart([], [], None) is None


def test_post_text_is_escaped_end_to_end(demo_copy, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A stored post whose text holds a <script> tag shows up as text in both reports."""
    before = match_records(demo_copy)[0]
    user, cited = before["user_id"], before["topics"][0]
    shown = next(t for t in user_topics(demo_copy, user)[0]["topics"] if t["topic_id"] == cited["topic_id"])
    post = next(e for e in cited["evidence"][:2] if e in shown["evidence"])  # on the brand's page and the user's
    changed = {"post_id": post["post_id"], "platform": post["platform"], "user_id": user,
               "text": f"{post['text']} {SCRIPT}", "created_at": post["created_at"], "likes": post["likes"],
               "replies": post["replies"], "shares": post["shares"], "context": post["context"]}
    path = tmp_path / "posts.jsonl"
    path.write_text(json.dumps(changed) + "\n", encoding="utf-8")
    ingest_posts(demo_copy, str(path))  # the post is edited after the runs: the pages show its stored text
    pages = [render("user.html.j2", user_report(demo_copy, user)),
             render("brand.html.j2", brand_report(demo_copy, before["brand"]))]
    cache = EmbeddingCache(demo_copy, FakeEncoder())
    run_profile(demo_copy, cache, as_of=to_epoch(AS_OF) + 86400)  # and profiled again, it is still evidence
    run_match(demo_copy, cache)
    data = user_report(demo_copy, user)
    assert any(SCRIPT in p["text"] for t in data["topics"] for p in t["evidence"]), "the post should stay evidence"
    pages.append(render("user.html.j2", data))
    for page in pages:
        assert "<script" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Changes since the previous profile run" in pages[2] and "is the first: every topic is new" not in pages[2]


def test_template_escapes_every_field_it_is_given() -> None:
    """Rendering a crafted record directly: names, ids, reasons and post fields are all escaped."""
    bad = SCRIPT
    ev = {"post_id": bad, "platform": bad, "text": bad, "context": bad, "created_at": "2026-01-02T00:00:00Z",
          "likes": 1, "replies": 0, "shares": 0}
    topic = {"topic_id": bad, "name": bad, "status": "inferred", "score": 1.0, "confidence": 0.9, "posts": 3,
             "days": 3, "threads": 3, "engagement": 5.0, "engagement_vs_usual": 1.2, "first": None, "last": None,
             "evidence": [ev]}
    data = {"profile_run": 1, "as_of": "2026-01-03", "match_run": 2, "match_profile_run": 1, "usual": 3.0,
            "post_count": 1,
            "user": {"user_id": bad, "handle": bad, "region": bad, "consent": bad},
            "topics": [topic], "candidates": [topic | {"status": "candidate", "why": [bad]}], "chart": None,
            "assignments": [{"user_id": bad, "perk_id": bad, "brand": bad, "title": bad, "rank": 1, "score": 0.5,
                             "topics": [{"topic_id": bad, "name": bad, "score": 0.5, "fit": 0.5, "evidence": [ev]}]}],
            "withheld": [{"perk_id": bad, "brand": bad, "title": bad, "score": 0.4, "reason": bad}],
            "changes": {"run_id": 2, "previous_run_id": 1, "changes": [{"topic_id": bad, "name": bad, "change": bad,
                                                                         "before": 1.0, "after": None, "why": bad}]}}
    page = render("user.html.j2", data)
    assert "<script" not in page and page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 15


def test_brand_template_escapes_every_field_it_is_given() -> None:
    bad = SCRIPT
    ev = {"post_id": bad, "platform": bad, "text": bad, "context": bad, "created_at": "2026-01-02T00:00:00Z",
          "likes": 1, "replies": 0, "shares": 0}
    user = {"user_id": bad, "region": bad, "brand_rank": 1, "score": 0.5,
            "topics": [{"topic_id": bad, "name": bad, "score": 0.5, "fit": 0.5, "evidence": [ev]}]}
    perk = {"perk_id": bad, "brand": bad, "title": bad, "quantity": 1, "assigned": 1, "left": 0, "retired": False,
            "offer": bad, "regions": [bad], "starts": None, "ends": None, "users": [user],
            "left_out": [{"user_id": bad, "region": bad, "score": 0.4, "reason": bad}]}
    data = {"profile_run": 1, "as_of": "2026-01-03", "match_run": 2, "brand": bad, "perks": [perk], "regions": [bad],
            "assigned": 1, "users": 1, "chart": None, "open": 0}
    page = render("brand.html.j2", data)
    assert "<script" not in page and page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 15


def cli_app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _main() -> None:
        """perkmatch (only the report commands)."""

    register(app)
    return app


def test_cli_writes_both_reports(demo_copy, tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = str(demo_copy.url.database)
    user, brand = matched_user(demo_copy), matched_brand(demo_copy)
    app = cli_app()
    result = runner.invoke(app, ["report", "user", user, "--out", str(tmp_path / "u.html"), "--db", db])
    assert result.exit_code == 0, result.output
    assert f"wrote {tmp_path / 'u.html'}" in result.stderr
    result = runner.invoke(app, ["report", "brand", brand, "--out", str(tmp_path / "b.html"), "--db", db])
    assert result.exit_code == 0, result.output
    assert f"<h1>{escape(brand)}</h1>" in (tmp_path / "b.html").read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix in (".html", ".part")) == ["b.html", "u.html"]


@pytest.mark.parametrize(("args", "message"), [
    (["user", "nobody"], "Error: no user 'nobody' is stored; check the id"),
    (["brand", "Nobrand"], "Error: no brand 'Nobrand' in the live catalog; give the name as in the catalog's "
                           "brand field; known brands: Aperture Works, "),
])
def test_cli_errors_exit_1_and_write_nothing(demo_copy, tmp_path, args, message) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "r.html"
    result = runner.invoke(cli_app(), ["report", *args, "--out", str(out), "--db", str(demo_copy.url.database)])
    assert result.exit_code == 1 and result.stderr.startswith(message) and not out.exists()


def test_cli_missing_out_folder_is_named(demo_copy, tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "missing" / "r.html"
    result = runner.invoke(cli_app(), ["report", "user", matched_user(demo_copy), "--out", str(out),
                                       "--db", str(demo_copy.url.database)])
    assert result.exit_code == 1
    assert result.stderr == (f"Error: --out {out}: folder {out.parent} does not exist; "
                             "create it or choose another path\n")


def test_write_report_replaces_the_file_whole(tmp_path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "r.html"
    target.write_text("old", encoding="utf-8")
    write_report(str(target), "<p>new</p>")
    assert target.read_text(encoding="utf-8") == "<p>new</p>" and [p.name for p in tmp_path.iterdir()] == ["r.html"]


def screenshot_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("screenshot", ROOT / "scripts" / "screenshot.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_pages_load_in_headless_chromium_without_errors_or_network(demo, tmp_path) -> None:  # type: ignore[no-untyped-def]
    shot = screenshot_module()
    try:
        shot.find_chromium()
    except FileNotFoundError as exc:
        pytest.fail(str(exc))
    pages: dict[str, Any] = {"user": user_report(demo, matched_user(demo)),
                             "brand": brand_report(demo, matched_brand(demo))}
    for name, data in pages.items():
        html, png = tmp_path / f"{name}.html", tmp_path / f"{name}.png"
        write_report(str(html), render(f"{name}.html.j2", data))
        result = shot.capture(str(html), str(png))
        assert result["console_errors"] == [] and result["network_requests"] == []
        assert result["title"].endswith(" · perkmatch") and result["height"] > 800
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_chart_labels_are_drawn_as_written_not_as_math() -> None:
    """Matplotlib reads text between two dollar signs as math: a title lost its dollars, or stopped the report."""
    titles = ["Save $5 on $10 orders", r"Get $\foo$ now", "50% off $^$"]
    svg = quantity_chart([{"title": t, "assigned": 1, "left": 0, "quantity": 1} for t in titles])
    assert svg is not None and all(f"<!-- {t} -->" in svg for t in titles)
    post = {"created_at": "2026-01-02T00:00:00Z", "likes": 3, "replies": 0, "shares": 0, "platform": "twitter"}
    assert activity_chart([post], [{"name": r"C$\foo$", "evidence": [post]}], 1.0) is not None


def test_quantity_chart_gives_perks_with_one_title_a_bar_each() -> None:
    perks = [{"title": "Free shipping", "assigned": 3, "left": 2, "quantity": 5},
             {"title": "Free shipping", "assigned": 1, "left": None, "quantity": None}]
    svg = quantity_chart(perks)
    assert svg is not None and svg.count("<!-- Free shipping -->") == 2
    assert "<!--   3 of 5 -->" in svg and "<!--   1, no limit -->" in svg


def test_chart_engagement_leaves_out_the_reddit_authors_own_vote() -> None:
    """The dashed 'usual' line is net of Reddit's self-vote (``post_signals.engagement``): so are the points."""
    post = {"likes": 1, "replies": 1, "shares": 1}
    assert engagement(post | {"platform": "reddit"}) == 5.0 and engagement(post | {"platform": "twitter"}) == 6.0


def test_sensitive_topic_not_opted_in_now_is_on_no_page(demo_copy) -> None:  # type: ignore[no-untyped-def]
    """A topic stored by a run while the user opted in to it (or before the taxonomy marked it sensitive) is shown on
    neither page once they no longer opt in, as `explain` says; opted in again, it is."""
    record = match_records(demo_copy)[0]
    user, brand, topic = record["user_id"], record["brand"], record["topics"][0]["topic_id"]
    with session(demo_copy) as s:
        row = s.get(Topic, topic)
        assert row is not None
        row.sensitive = True
        s.add(row)
        s.commit()
    pages = [render("user.html.j2", user_report(demo_copy, user)),
             render("brand.html.j2", brand_report(demo_copy, brand))]
    assert all(topic not in page for page in pages)
    with session(demo_copy) as s:
        person = s.get(User, user)
        assert person is not None
        person.sensitive_opt_in = json.dumps([topic])
        s.add(person)
        s.commit()
    assert f'id="ev-{topic}"' in render("user.html.j2", user_report(demo_copy, user))
    assert f'href="#ev-{topic}"' in render("user.html.j2", user_report(demo_copy, user))


def test_bidi_controls_in_names_cannot_reorder_the_numbers_beside_them() -> None:
    """A right-to-left override in a name, a platform or a perk title stays inside its own isolated element."""
    rlo = "\u202eevil"
    ev = {"post_id": "p1", "platform": rlo, "text": "t", "context": rlo, "created_at": "2026-01-02T00:00:00Z",
          "likes": 1, "replies": 0, "shares": 0}
    topic = {"topic_id": "t1", "name": rlo, "status": "inferred", "score": 1.0, "confidence": 0.9, "posts": 3,
             "days": 3, "threads": 3, "engagement": 5.0, "engagement_vs_usual": 1.2, "first": None, "last": None,
             "evidence": [ev]}
    data = {"profile_run": 1, "as_of": "2026-01-03", "match_run": 2, "match_profile_run": 1, "usual": 3.0,
            "post_count": 1,
            "user": {"user_id": rlo, "handle": None, "region": None, "consent": None},
            "topics": [topic], "candidates": [], "chart": None,
            "assignments": [{"user_id": rlo, "perk_id": "k", "brand": rlo, "title": rlo, "rank": 1, "score": 0.5,
                             "topics": [{"topic_id": "t1", "name": rlo, "score": 0.5, "fit": 0.5, "evidence": [ev]}]}],
            "withheld": [{"perk_id": "k2", "brand": rlo, "title": rlo, "score": 0.4, "reason": "r"}],
            "changes": {"run_id": 2, "previous_run_id": None, "changes": []}}
    page = render("user.html.j2", data)
    isolated = page.count(f"<bdi>{rlo}</bdi>") + page.count(f">{rlo}</a>")  # links isolate by the stylesheet
    assert isolated == page.count(rlo) - 1  # the other is the page title's, between FSI and PDI
    assert f"<title>\u2068{rlo}\u2069: " in page.replace("&#x2068;", "\u2068").replace("&#x2069;", "\u2069")
    assert "bdi, .id, a, b { unicode-bidi: isolate; }" in page


def test_long_words_wrap_instead_of_widening_the_page() -> None:
    css = (ROOT / "matcher" / "templates" / "report.css").read_text(encoding="utf-8")
    assert "overflow-wrap: anywhere" in css and "td.user { white-space: nowrap" not in css


def test_cli_unwritable_out_is_one_line(demo_copy) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(cli_app(), ["report", "user", matched_user(demo_copy), "--out", "/proc/r.html",
                                       "--db", str(demo_copy.url.database)])
    assert result.exit_code == 1
    assert result.stderr == ("Error: --out /proc/r.html: cannot write in folder /proc (No such file or directory); "
                             "choose another path\n")  # found before the report is built


def test_write_report_to_a_stream_writes_it_without_replacing_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """``--out /dev/stdout`` or a named pipe: written to, never replaced by a regular file (as root that replaced
    the device node itself); a full device is a one-line error."""
    import os

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # open first, so that writing it does not wait
    try:
        write_report(str(fifo), "<p>page</p>")
        assert os.read(reader, 100) == b"<p>page</p>" and fifo.is_fifo()
    finally:
        os.close(reader)
    with pytest.raises(PerkmatchError, match=r"^--out /dev/full: cannot write it \(No space left on device\)"):
        write_report("/dev/full", "<p>page</p>")
    assert Path("/dev/full").is_char_device()


def test_activity_chart_dates_do_not_run_into_each_other() -> None:
    """A year of monthly ticks was labelled 2021-04, 2021-05, ... too close to read: now Apr, May, ..., 2022."""
    posts = [{"created_at": f"{2021 + m // 12}-{m % 12 + 1:02d}-10T00:00:00Z", "likes": 2, "replies": 0, "shares": 0,
              "platform": "reddit"} for m in range(3, 15)]
    svg = activity_chart(posts, [{"name": "T", "evidence": posts}], 1.0)
    assert svg is not None and "<!-- May -->" in svg and "<!-- 2022 -->" in svg and "<!-- 2021-05 -->" not in svg


def test_perk_added_after_the_match_run_is_not_said_to_fit_nobody(demo_copy, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A perk the latest match run never saw (the catalog was refreshed after it) is not 'nobody fits it'."""
    perks = yaml.safe_load(Path(sample_path("catalog.yaml")).read_text())
    brand = matched_brand(demo_copy)
    first = next(p for p in perks if p["brand"] == brand)
    (tmp_path / "more.yaml").write_text(yaml.safe_dump([*perks, first | {"perk_id": "pk-new", "title": "New one"}]))
    with session(demo_copy) as s:
        known, sensitive = topic_sets(s)
        refresh(s, str(tmp_path / "more.yaml"), EmbeddingCache(demo_copy, FakeEncoder()), topics=known,
                sensitive=sensitive)
    data = brand_report(demo_copy, brand)
    assert [p["perk_id"] for p in data["perks"] if not p["in_match"]] == ["pk-new"]
    page = render("brand.html.j2", data)
    section = page[page.index('id="pk-new"'):].split("</section>")[0]
    assert ("Not in match run 2: the perk came into the catalog (version 2) after that run, which assigned the "
            "perks of version 1; run <code>perkmatch match</code> to assign it.") in section
    assert "Nobody in match run" not in section


def test_perks_from_a_match_on_an_earlier_profile_run_say_so(demo_copy) -> None:  # type: ignore[no-untyped-def]
    """Profiled again after the match: the page's topics are the new run's, its perks the old one's, and it says so."""
    user = matched_user(demo_copy)
    assert "These perks come from match run" not in render("user.html.j2", user_report(demo_copy, user))
    run_profile(demo_copy, EmbeddingCache(demo_copy, FakeEncoder()), as_of=to_epoch(AS_OF) + 86400)
    data = user_report(demo_copy, user)
    assert data["assignments"] and data["match_profile_run"] == 1 and data["profile_run"] == 3
    assert ("These perks come from match run 2, made on the topics of profile run 1, not on those of profile run 3 "
            "shown on this page: run <code>perkmatch match</code> to match the user again."
            ) in render("user.html.j2", data)


def test_a_covered_parent_candidate_names_the_children_its_posts_count_for(demo) -> None:  # type: ignore[no-untyped-def]
    from matcher.explain import explain_topic

    covered = [(u["user_id"], t) for u in user_topics(demo, candidates=True) for t in u["topics"] if "covered_by" in t]
    assert covered  # before: only "0 original post(s); needs 3", where `explain` says they count for its children
    for user_id, t in covered:
        inferred = {x["topic_id"] for x in user_topics(demo, user_id)[0]["topics"]}
        assert t["status"] == "candidate" and set(t["covered_by"]) <= inferred
        assert "not shown: its posts count for the more specific" in explain_topic(demo, user_id, t["topic_id"])[
            "verdict"]


def test_brand_template_escapes_why_a_perk_went_to_nobody() -> None:
    # the reason names topics and perks whose text comes from files: it is escaped as every other field
    perk = {"perk_id": "p", "brand": "B", "title": "T", "quantity": None, "assigned": 0, "left": None,
            "retired": False, "offer": "open", "regions": [], "starts": None, "ends": None, "users": [],
            "left_out": [], "in_match": True, "forgotten_units": 0,
            "nobody": {"why": "x" + SCRIPT, "topics": [{"topic_id": SCRIPT, "name": SCRIPT, "relevance": 1.0,
                                                        "inferred": 0, "fell_short": 1}]}}
    data = {"profile_run": 1, "as_of": "2026-01-03", "match_run": 2, "brand": "B", "perks": [perk],
            "regions": ["anywhere"], "assigned": 0, "users": 0, "chart": None, "open": 1}
    page = render("brand.html.j2", data)
    assert "<script" not in page and page.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 3


def test_user_page_lists_the_perks_withheld_from_the_user(demo) -> None:  # type: ignore[no-untyped-def]
    # the perks that fit but were not given, with why: part of what the match stored about the user
    from matcher.assignments import withheld_records

    user = next(r["user_id"] for r in match_records(demo) if withheld_records(demo, r["user_id"]))
    withheld = withheld_records(demo, user)
    page = render("user.html.j2", user_report(demo, user))
    assert "Perks that fit but were not given" in page
    assert all(str(escape(w["perk_id"])) in page and str(escape(w["reason"])) in page for w in withheld)


def test_brand_page_gives_each_user_their_stored_region(demo) -> None:  # type: ignore[no-untyped-def]
    # each user given or left out of a perk is shown in their own region (what the offer's regions were checked on)
    with session(demo) as s:
        regions = {u.user_id: u.region for u in s.exec(select(User)).all()}
    views = brand_report(demo, matched_brand(demo))["perks"]
    shown = [(u["user_id"], u["region"]) for v in views for u in v["users"] + v["left_out"]]
    assert shown and all(region == regions[user] and region for user, region in shown)


def test_export_holds_every_topic_the_latest_run_stored_candidates_too(demo) -> None:  # type: ignore[no-untyped-def]
    # the right of access lists all that is stored of the run: the topics that fell short as well as those inferred
    from matcher.user_export import export_user

    user = matched_user(demo)
    with demo.connect() as conn:
        stored = conn.execute(text("SELECT topic_id, status FROM topic_scores WHERE user_id = :u AND run_id = "
                                   "(SELECT MAX(run_id) FROM topic_scores) ORDER BY rank"), {"u": user}).all()
    assert {s for _, s in stored} >= {"inferred", "candidate"}
    assert [(t["topic_id"], t["status"]) for t in export_user(demo, user)["topics"]] == [tuple(r) for r in stored]


def test_activity_chart_draws_only_the_inferred_topics(demo) -> None:  # type: ignore[no-untyped-def]
    # the chart's legend is of the inferred topics: a candidate that fell short is not drawn as if inferred (the SVG
    # keeps each text drawn as a comment); every inferred topic is drawn, not only the first
    users = sorted({r["user_id"] for r in match_records(demo)})
    report = next(r for r in (user_report(demo, u) for u in users) if r["candidates"] and len(r["topics"]) > 1)
    names = {t["name"] for t in report["topics"]} - {t["name"] for t in report["candidates"]}
    assert names and all(f"<!-- {escape(n)} -->" in report["chart"] for n in names)
    drawn_too = {t["name"] for t in report["candidates"]} - {t["name"] for t in report["topics"]}
    assert not any(f"<!-- {escape(n)} -->" in report["chart"] for n in drawn_too)


def test_brand_page_accounts_for_every_unit_beside_the_holders_it_lists() -> None:
    # a perk given to 3 users, 1 of them forgotten since and 1 hidden by a topic now sensitive: the page listed the
    # one holder left and "2 left of 5" with nothing said of the other 2 units (the notes showed only with no holder)
    holder = {"user_id": "u-kept", "region": "US", "score": 0.9, "brand_rank": 1, "topics": []}
    perk = {"perk_id": "p", "brand": "B", "title": "T", "quantity": 5, "assigned": 3, "left": 2,
            "retired": False, "offer": "open", "regions": [], "starts": None, "ends": None, "users": [holder],
            "left_out": [], "in_match": True, "forgotten_units": 1, "sensitive_units": 1}
    data = {"profile_run": 1, "as_of": "2026-01-03", "match_run": 2, "brand": "B", "perks": [perk],
            "regions": ["anywhere"], "assigned": 3, "users": 1, "chart": None, "open": 1}
    page = " ".join(render("brand.html.j2", data).split())
    assert "u-kept" in page
    assert "1 unit went to a user whose data was deleted since at their request" in page
    assert "1 unit went to a user not shown: the topics it reached them by are now marked sensitive" in page
    assert "Nobody in match run" not in page
