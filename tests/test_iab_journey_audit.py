"""An operator's journey with the IAB Content Taxonomy 3.1 (helper s34/h2): numeric topic ids, a taxonomy reloaded
with a topic removed and one marked sensitive, and a catalog refreshed again. Each test fails on the code it was
written against, because of the bug it names. The tiny world of ``test_cli_match`` (fake encoder), with topic ids
written as the IAB writes them where the id-for-a-name matters."""

import json
import re

import pytest

from matcher.taxonomy import read_taxonomy
from tests.test_cli_match import PERKS, TAXONOMY, build_world, posts_for

IAB_LIKE = [  # the world's topics under IAB-style numeric ids
    {"topic_id": "653", "name": "Travel", "description": "flights airport lounge travel trips"},
    {"topic_id": "222", "name": "Coffee", "description": "coffee espresso beans roast brewing"},
    {"topic_id": "286", "name": "Health", "description": "doctor therapy medicine", "sensitive": True},
]
USERS = [{"user_id": "ann", "consent": "opted_in", "region": "US-NY"},
         {"user_id": "eve", "consent": "opted_in", "region": "US-NY"},
         {"user_id": "cat", "consent": "opted_in", "region": "GB"}]
POSTS = (posts_for("ann", "flights airport lounge travel") + posts_for("eve", "travel trips flights airport lounge")
         + posts_for("cat", "coffee espresso beans roast"))
TARGETED = [  # brands name the world's topics by id; the lounge (one unit, US-NY) is wanted by ann and eve both
    {**PERKS[0], "topics": ["travel"]}, {**PERKS[1], "topics": ["travel"]}, {**PERKS[2], "topics": ["coffee"]},
    PERKS[3],
]


def _said(result) -> str:  # type: ignore[no-untyped-def]
    return " ".join(result.output.split())


@pytest.fixture
def iab_world(tmp_path, write, monkeypatch):  # type: ignore[no-untyped-def]
    """Ann, eve (travel, US-NY) and cat (coffee), profiled and matched under numeric topic ids."""
    perks = [{**p, "topics": [{"travel": "653", "coffee": "222"}[t] for t in p.get("topics", [])]} for p in TARGETED]
    return build_world(tmp_path, write, monkeypatch, USERS, POSTS, "2025-03-01", perks=perks,
                       then=(["match"],), taxonomy=IAB_LIKE)


@pytest.fixture
def targeted_world(tmp_path, write, monkeypatch):  # type: ignore[no-untyped-def]
    """The same world under the readable ids of ``test_cli_match``, perks naming their topics, matched."""
    return build_world(tmp_path, write, monkeypatch, USERS, POSTS, "2025-03-01", perks=TARGETED,
                       then=(["match"],))


def _travel_sensitive(write) -> str:  # type: ignore[no-untyped-def]
    """The operator's second taxonomy: travel is now marked sensitive (as an operator marks alcohol)."""
    return write("t2.yaml", [{**t, "sensitive": True} if t["topic_id"] == "travel" else t for t in TAXONOMY])


def test_topics_changes_names_each_topic_not_only_its_id(iab_world, write) -> None:  # type: ignore[no-untyped-def]
    """`topics USER --changes` printed each move as "653: score 0.41 -> 0.52 ...": under the IAB's numeric ids the
    operator cannot tell which topic moved (`topics`, `explain` and the user's report page name it). Its `--json`
    records carry no `name` either, unlike every other topic record (``changes.topic_changes``;
    ``cli/results.py``'s printing of ``c['topic_id']`` alone)."""
    more = [{**p, "post_id": p["post_id"] + "-b", "created_at": p["created_at"] + 86_400, "likes": 9}
            for p in posts_for("ann", "lounge airport trips travel")]  # new texts, not copies of hers
    assert iab_world("ingest", write("more.jsonl", more)).exit_code == 0
    assert iab_world("profile", "--as-of", "2025-03-01").exit_code == 0
    table = iab_world("topics", "ann", "--changes")
    assert table.exit_code == 0, table.output
    assert re.search(r"Travel \(653\): score", table.stdout), table.stdout  # a move is listed, naming its topic
    record = json.loads(iab_world("topics", "ann", "--changes", "--json").stdout)
    assert record["changes"] and all(c.get("name") == "Travel" for c in record["changes"]), record


def test_an_iab_tsv_column_marking_topics_sensitive_is_not_silently_ignored(tmp_path) -> None:
    """The IAB TSV has no sensitivity column: an operator who adds one ("Sensitive", true on Alcoholic Beverages) has
    it ignored without a word, and the topic is inferred, shown and matched for everyone. In any other taxonomy format
    such a field is read (`sensitive`) or refused (`Sensitive`, `is_sensitive`: ``taxonomy.meant_sensitive``);
    ``taxonomy.iab_rows`` reads columns 0-6 only."""
    tsv = tmp_path / "iab.tsv"
    tsv.write_text(
        "Relational ID System\t\t\tContent Taxonomy v3.1 Tiered Categories\t\t\t\tExtension\t\n"
        "Unique ID\tParent\tName\tTier 1\tTier 2\tTier 3\tTier 4\t\tSensitive\n"
        "210\t\tFood & Drink\tFood & Drink\t\t\t\t\tfalse\n"
        "211\t210\tAlcoholic Beverages\tFood & Drink\tAlcoholic Beverages\t\t\t\ttrue\n", encoding="utf-8")
    try:
        topics = {t.topic_id: t for t in read_taxonomy(str(tsv))}
    except Exception as exc:  # noqa: BLE001  (refusing the column, naming it, would do too)
        assert "Sensitive" in str(exc), exc
        return
    assert topics["211"].sensitive, "the file marks Alcoholic Beverages sensitive; it was loaded as not sensitive"


def test_taxonomy_load_warns_of_live_perks_targeting_a_topic_it_now_marks_sensitive(targeted_world, write) -> None:  # type: ignore[no-untyped-def]
    """`taxonomy load` lists live perks whose `topics` name ids it lacks (they now reach users by meaning alone, and
    the next refresh of the same file is refused), but says nothing of perks whose `topics` name a topic it now marks
    sensitive, though the next `catalog refresh` of the same catalog is refused for them just the same
    ('travel' is a sensitive topic; brands cannot target ...): the operator learns it a step later
    (``cli/data.py``'s taxonomy load, which checks only for missing ids)."""
    loaded = targeted_world("taxonomy", "load", _travel_sensitive(write))
    assert loaded.exit_code == 0, loaded.output
    again = targeted_world("catalog", "refresh", write("c.yaml", TARGETED))
    assert again.exit_code == 1 and "'travel' is a sensitive topic" in _said(again)  # what it leads to
    assert "lounge" in _said(loaded) and "trips" in _said(loaded), _said(loaded)


def test_topics_changes_does_not_say_nothing_changed_when_a_topic_became_sensitive(targeted_world, write) -> None:  # type: ignore[no-untyped-def]
    """Travel, ann's one topic, is marked sensitive by a taxonomy reload; the next profile no longer infers it. Then
    `topics ann --changes` says "no topic changed" (JSON: `"changes": []`), the report page "No change between profile
    runs", while `match --changes` sends the operator there: "user: topics changed between profile runs ...
    (`topics USER --changes ...` says why)". Both runs' rows are read through today's sensitivity
    (``changes.topic_changes`` reads ``topic_records`` of each run, which hides the topic in both), so a topic that
    went away is never said to have gone."""
    assert targeted_world("taxonomy", "load", _travel_sensitive(write)).exit_code == 0
    assert targeted_world("catalog", "refresh", write("c2.yaml", [{k: v for k, v in p.items() if k != "topics"}
                                                                  for p in TARGETED])).exit_code == 0
    assert targeted_world("profile", "--as-of", "2025-03-01").exit_code == 0
    matched = targeted_world("match", "--changes")
    assert "ann: lost" in matched.stdout and "topics changed between profile runs" in matched.stdout, matched.stdout
    changes = targeted_world("topics", "ann", "--changes")
    assert changes.exit_code == 0, changes.output
    assert "no topic changed" not in changes.stdout, changes.stdout
    assert "1 topic(s) of run 1 not shown: the taxonomy now marks them sensitive" in _said(changes), changes.stdout
    assert "travel" not in changes.stdout.lower()  # counted, never named: the user has not opted in to it
    record = json.loads(targeted_world("topics", "ann", "--changes", "--json").stdout)
    assert record["now_sensitive"] == 1 and record["changes"] == [], record


def test_brand_view_adds_up_and_hides_left_out_users_once_its_topic_is_sensitive(targeted_world, write) -> None:  # type: ignore[no-untyped-def]
    """The lounge's one unit went to ann, eve was left out as quantity ran out. After a taxonomy reload marks travel
    sensitive (no profile or match since), `brand lounge` says "1 of 1 used" and lists nobody, with no word of why
    (only units of users forgotten are explained), yet still lists eve, left out of the same perk on the same topic
    now sensitive: the holders are hidden (``assignments.assignment_records``), the left-out are not
    (``assignments.brand_view``)."""
    before = json.loads(targeted_world("brand", "lounge", "--json").stdout)
    assert [u["user_id"] for u in before["users"]] and [w["user_id"] for w in before["left_out"]], before
    assert targeted_world("taxonomy", "load", _travel_sensitive(write)).exit_code == 0
    view = targeted_world("brand", "lounge", "--json")
    assert view.exit_code == 0, view.output
    after = json.loads(view.stdout)
    hidden = after["assigned"] - len(after["users"]) - after["forgotten_units"]
    text = _said(targeted_world("brand", "lounge"))
    assert hidden == 0 or "sensitive" in text, f"{hidden} unit(s) used by nobody shown, unexplained: {text}"
    assert after["left_out"] == [], after["left_out"]  # eve's interest in a topic now sensitive, shown to the brand


def test_brand_says_a_perk_went_to_nobody_because_its_topic_is_sensitive(targeted_world, write) -> None:  # type: ignore[no-untyped-def]
    """After travel is marked sensitive and the users profiled and matched again, `brand trips` (a travel perk) says
    "none of the topics it is about was inferred for anyone ... Travel: inferred for 0 user(s); short of its thresholds
    for 0": the brand is not told the topic is sensitive, goes only to users who opted in, and that nobody has
    (``why_perk.nobody_reason`` counts hidden rows as absent); `explain USER trips` does say it."""
    assert targeted_world("taxonomy", "load", _travel_sensitive(write)).exit_code == 0
    assert targeted_world("catalog", "refresh", write("c2.yaml", [{k: v for k, v in p.items() if k != "topics"}
                                                                  for p in TARGETED])).exit_code == 0
    assert targeted_world("profile", "--as-of", "2025-03-01").exit_code == 0
    assert targeted_world("match").exit_code == 0
    said = _said(targeted_world("brand", "trips"))
    assert "nobody got it" in said, said
    assert "sensitive" in said, said


def test_a_removed_topics_name_is_kept_in_the_assignments_that_cited_it(iab_world, write) -> None:  # type: ignore[no-untyped-def]
    """The operator reloads the taxonomy without Coffee (222). Cat's past assignment of `beans` cited it: `export
    cat`, `brand beans` and `explain cat beans` now name the topic "222" (``"name": "222"``): names are looked up in
    today's taxonomy, falling back on the id (``assignments.assignment_records``, ``topic_records``), though the
    run used a taxonomy that had its name. The export is the user's record of what was done with their data."""
    assert cited_once_dropped(iab_world, write, IAB_LIKE, "222", "cat") == [("222", "Coffee")]


def cited_once_dropped(world, write, taxonomy: list[dict], topic_id: str, user_id: str) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """The (id, name) of each topic the user's exported assignments cite, once a taxonomy without ``topic_id`` is
    loaded."""
    without = write("t2.yaml", [t for t in taxonomy if t["topic_id"] != topic_id])
    assert world("taxonomy", "load", without).exit_code == 0
    exported = json.loads(world("export", user_id).stdout)
    return [(t["topic_id"], t["name"]) for a in exported["assignments"] for t in a["topics"]]


def test_explain_user_does_not_say_one_wrote_of_nothing_when_their_topic_is_sensitive(targeted_world, write) -> None:  # type: ignore[no-untyped-def]
    """Ann's six posts are all about travel, which a taxonomy reload marked sensitive (she has not opted in). After
    `profile` and `match`, `explain ann` says "none of their 6 post(s) is about any topic often enough to be weighed
    (a topic needs at least 3 posts on it)", and her report page "nothing was written about often enough, or with
    real engagement": both false, while `explain ann travel` says the truth (a sensitive topic she has not opted in
    to). A run keeps no row for a sensitive topic without opt-in, and ``explain.no_perks_reason`` (its "not scored"
    branch) reads that as no topic at all; on the IAB taxonomy every Stack Exchange beer user got this sentence once
    Alcoholic Beverages was marked sensitive (the template ``user.html.j2`` says the same on the report page)."""
    assert targeted_world("taxonomy", "load", _travel_sensitive(write)).exit_code == 0
    assert targeted_world("catalog", "refresh", write("c2.yaml", [{k: v for k, v in p.items() if k != "topics"}
                                                                  for p in TARGETED])).exit_code == 0
    assert targeted_world("profile", "--as-of", "2025-03-01").exit_code == 0
    assert targeted_world("match").exit_code == 0
    topic = _said(targeted_world("explain", "ann", "travel"))
    assert "sensitive topic and the user has not opted in" in topic, topic
    said = _said(targeted_world("explain", "ann"))
    assert "got no perk" in said, said
    assert "sensitive topics aside: those are weighed only for users who opted in to them" in said, said


def test_an_iab_tsv_problem_names_the_tsvs_own_column(tmp_path) -> None:
    """The operator drops a tier-1 row (Food & Drink, 210) from the IAB TSV: the refusal names "field 'parent_id'" on
    the 12 rows below it, and a row without a name "field 'name'", though the file has no such columns: its columns
    are `Unique ID`, `Parent` and `Name` (``taxonomy.iab_rows`` maps them to the topic fields, and
    ``taxonomy.read_taxonomy`` reports the mapped names). Its own refusals (a missing header) do name `Unique ID`."""
    from catalog.errors import InputFileError

    tsv = tmp_path / "iab.tsv"
    tsv.write_text("Relational ID System\t\t\tContent Taxonomy v3.1 Tiered Categories\t\t\t\tExtension\n"
                   "Unique ID\tParent\tName\tTier 1\tTier 2\tTier 3\tTier 4\t\n"
                   "211\t210\tAlcoholic Beverages\tFood & Drink\tAlcoholic Beverages\t\t\t\n", encoding="utf-8")
    with pytest.raises(InputFileError) as refused:
        read_taxonomy(str(tsv))
    said = str(refused.value) + " ".join(str(p) for p in getattr(refused.value, "problems", []))
    assert "'210'" in said, said
    assert "field 'Parent'" in said, said


def _iab_tsv(tmp_path, column: str, values: tuple[str, str, str]):  # type: ignore[no-untyped-def]
    tsv = tmp_path / "iab.tsv"
    tsv.write_text(
        "Relational ID System\t\t\tContent Taxonomy v3.1 Tiered Categories\t\t\t\tExtension\t\n"
        f"Unique ID\tParent\tName\tTier 1\tTier 2\tTier 3\tTier 4\t\t{column}\n"
        f"210\t\tFood & Drink\tFood & Drink\t\t\t\t\t{values[0]}\n"
        f"211\t210\tAlcoholic Beverages\tFood & Drink\tAlcoholic Beverages\t\t\t\t{values[1]}\n"
        f"286\t\tMedical Health\tMedical Health\t\t\t\t\t{values[2]}\n", encoding="utf-8")
    return str(tsv)


def test_an_iab_sensitive_column_marks_more_topics_never_fewer(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`yes` marks a topic; `false` on a topic perkmatch's IAB list marks (Medical Health) leaves it sensitive: a
    column of false everywhere but the operator's additions must not unmark health for everyone."""
    topics = {t.topic_id: t.sensitive for t in read_taxonomy(_iab_tsv(tmp_path, "sensitive", ("", "yes", "false")))}
    assert topics == {"210": False, "211": True, "286": True}


def test_an_iab_sensitive_column_with_another_word_is_refused_naming_line_and_column(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from catalog.errors import InputFileError

    with pytest.raises(InputFileError) as refused:
        read_taxonomy(_iab_tsv(tmp_path, "Sensitive", ("", "maybe", "")))
    assert "line 4, field 'Sensitive': 'maybe' is neither true nor false" in str(refused.value.problems[0])
    with pytest.raises(InputFileError) as other:
        read_taxonomy(_iab_tsv(tmp_path, "is_private", ("", "true", "")))
    assert "line 2, field 'is_private': is not a column perkmatch reads" in str(other.value.problems[0])


def test_a_target_the_taxonomy_now_marks_sensitive_lets_no_perk_in(tmp_path, write, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A coffee perk the brand aimed at travel (before the operator marked travel sensitive) no longer reaches a user
    through travel: a brand cannot target a sensitive topic, and the live record's target used to let the perk in
    through it, boosted, for users who opted in to travel (``perk_space.PerkSpace``'s targets)."""
    users = [{"user_id": "ann", "consent": "opted_in", "region": "US-NY", "sensitive_opt_in": ["travel"]}]
    perks = [{**PERKS[2], "topics": ["travel"]}]  # beans, about coffee by meaning
    world = build_world(tmp_path, write, monkeypatch, users, posts_for("ann", "flights airport lounge travel"),
                        "2025-03-01", perks=perks, then=(["match"],))
    got = [json.loads(line)["perk_id"] for line in world("match", "--dry-run", "--json").stdout.splitlines()]
    assert got == ["beans"]  # through its target, travel, not yet sensitive
    loaded = world("taxonomy", "load", _travel_sensitive(write))
    assert "1 live perk(s) target topics this taxonomy marks sensitive: beans (travel)" in _said(loaded)
    assert json.loads(world("taxonomy", "load", _travel_sensitive(write), "--json").stdout)[
        "perks_targeting_sensitive_topics"] == {"beans": ["travel"]}
    assert world("profile", "--as-of", "2025-03-01").exit_code == 0  # travel inferred: ann opted in to it
    assert "travel" in world("topics", "ann", "--json").stdout
    assert world("match", "--dry-run", "--json").stdout.strip() == ""


def test_the_iab_file_marks_health_and_grief_outside_medical_health_sensitive() -> None:
    """In IAB 3.1, Special Needs Kids (under Parenting) and Physical Therapy (under Healthy Living) are health data
    outside Medical Health, and Bereavement and Funeral are grief: they were inferred and matched for everyone
    (helper-101). Disabled Sports (watching the Paralympics says nothing of one's health) stays as it was."""
    from tests.conftest import SHARED

    iab = SHARED / "data" / "iab" / "Content Taxonomy 3.1.tsv"
    marked = {t.name: t.sensitive for t in read_taxonomy(str(iab))}
    assert all(marked[n] for n in ("Special Needs Kids", "Physical Therapy", "Bereavement", "Funeral")), marked
    assert not marked["Disabled Sports"] and not marked["Personal Finance"]


def test_catalog_show_names_the_topics_a_perk_targets(iab_world) -> None:  # type: ignore[no-untyped-def]
    """`catalog show PERK` said "targets: 653": under the IAB's numeric ids, no one can tell what a perk is aimed at
    (helper-101)."""
    shown = iab_world("catalog", "show", "lounge")
    assert shown.exit_code == 0 and "targets: Travel (653);" in _said(shown), shown.output
