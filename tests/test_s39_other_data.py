"""perkmatch run as a new operator runs it on data it was not tuned on (the IAB taxonomies, a Stack Exchange dump,
topic-labelled tweets): what such an operator stumbled over, pinned with small hand-written files."""

import pytest

from catalog.errors import CatalogError
from matcher.taxonomy import read_taxonomy

IAB_HEAD = ("Relational ID System\t\t\tContent Taxonomy v3.1 Tiered Categories\n"
            "Unique ID\tParent\tName\tTier 1\tTier 2\n")


def _refused(path: str) -> str:
    with pytest.raises(CatalogError) as info:
        read_taxonomy(path)
    return " ".join(str(info.value).split())


def test_a_csv_taxonomy_header_written_otherwise_is_named_with_the_names_to_use(write) -> None:  # type: ignore[no-untyped-def]
    # "Topic ID,Name" was read as rows without a topic_id or name: "Field required; give every topic a stable,
    # unique id" on every line, though every row gives one
    said = _refused(write("t.csv", "Topic ID,Name,Parent ID\nbeer,Beer,\nipa,IPA,beer\n"))
    assert "t.csv, line 1: the header has no column 'topic_id', 'name'" in said
    assert "rename 'Topic ID' to 'topic_id', 'Name' to 'name'" in said
    assert "Field required" not in said


@pytest.mark.parametrize("head", [IAB_HEAD, IAB_HEAD.split("\n", 1)[1]])
def test_the_iab_taxonomy_saved_as_csv_is_named_as_iabs_with_the_fix(write, head: str) -> None:  # type: ignore[no-untyped-def]
    # the IAB TSV opened in a spreadsheet and saved as CSV: its columns (Unique ID, Parent, Name) are IAB's, which
    # perkmatch reads (with IAB's sensitive topics) only from the .tsv
    text = (head + "210\t\tFood & Drink\tFood & Drink\n211\t210\tAlcoholic Beverages\tFood & Drink\t"
            "Alcoholic Beverages\n").replace("\t", ",")
    said = _refused(write("iab.csv", text))
    line = 1 if head == IAB_HEAD.split("\n", 1)[1] else 2
    assert f"iab.csv, line {line}, field 'Unique ID': this is the IAB Content Taxonomy saved as CSV" in said
    assert "save it as the tab-separated .tsv IAB publishes" in said
    assert "Field required" not in said


def test_a_tsv_of_ones_own_topics_is_told_that_tsv_means_iabs_layout(write) -> None:  # type: ignore[no-untyped-def]
    # a .tsv is read as the IAB Content Taxonomy; one with perkmatch's own columns was told only "no 'Unique ID'
    # header row; give the IAB Content Taxonomy TSV as published", with no word of the formats its columns fit
    said = _refused(write("mine.tsv", "topic_id\tname\tparent_id\nbeer\tBeer\t\nipa\tIPA\tbeer\n"))
    assert "mine.tsv, line 1, field 'Unique ID': no 'Unique ID' header row" in said
    assert "a .tsv file is read as the IAB Content Taxonomy" in said
    assert "save it as .csv (comma-separated)" in said


@pytest.mark.parametrize("key", ["Parent ID", "parent", "Description"])
def test_a_column_plainly_meant_for_parent_id_or_description_is_refused_not_ignored(write, key: str) -> None:  # type: ignore[no-untyped-def]
    # "topic_id,name,Parent ID" loaded every topic at the top level: the hierarchy (and the sensitive marking that
    # flows down it, and a parent's support from its children) was silently lost
    said = _refused(write("t.csv", f"topic_id,name,{key}\nbeer,Beer,\nipa,IPA,beer\n"))
    wanted = "description" if key == "Description" else "parent_id"
    assert f"line 3, field '{key}': is not a field perkmatch reads" in said
    assert f"name it '{wanted}'" in said


def _explained(platform: str) -> str:
    from matcher.cli.explain_view import _engagement

    return _engagement({
        "posts": 4, "engagement_vs_usual": 1.2, "confidence": 0.8,
        "evidence": [{"post_id": "p1", "platform": platform}],
        "thresholds": {"engagement_vs_usual": 0.5, "engagement_per_post": 0.5, "confidence": 0.5},
        "details": {"positive_engagement": 6.0, "usual_engagement": 2.0, "duplicates_dropped": 0, "shares": 0,
                    "recency": 0.9},
    })


def test_explain_leaves_out_the_authors_own_vote_only_where_the_platform_counts_one() -> None:
    """`explain` said the usual engagement was "beyond the author's own vote" on Stack Exchange and Twitter too,
    where no such vote exists: it is said only for evidence on a platform that counts one (Reddit)."""
    assert "reactions a post, beyond the author's own vote)" in _explained("reddit")
    assert "own vote" not in _explained("stackexchange")
    assert "reactions a post)" in _explained("twitter")


def _catalog_refused(write, topics: list[str], known, sensitive=frozenset()) -> str:  # type: ignore[no-untyped-def]
    from catalog.errors import InputFileError
    from catalog.perk_file import read_catalog

    perk = {"perk_id": "p1", "brand": "Try Line", "title": "Match tickets", "description": "Two seats at a match.",
            "topics": topics}
    with pytest.raises(InputFileError) as info:
        read_catalog(write("c.yaml", [perk]), known, set(sensitive))
    return str(info.value)


def test_a_catalog_naming_a_topic_by_its_name_is_told_the_id_meant(write) -> None:  # type: ignore[no-untyped-def]
    """An IAB catalog gave "Rugby League" where the id is '528': the error said only that it is not in the taxonomy.
    It now names the id (and a typo in an id, or another case, is answered the same way)."""
    known = {"528": "Rugby League", "483": "Sports", "food.coffee": "Coffee"}
    assert "did you mean '528' (Rugby League)?" in _catalog_refused(write, ["Rugby League"], known)
    assert "did you mean 'food.coffee' (Coffee)?" in _catalog_refused(write, ["food.cofee"], known)
    assert "did you mean 'food.coffee'?" in _catalog_refused(write, ["food.cofee"], set(known))  # ids only: no names
    assert "did you mean" not in _catalog_refused(write, ["knitting"], known)
    assert "did you mean" not in _catalog_refused(write, ["Mental Health"], known | {"h.mh": "Mental Health"}, {"h.mh"})


def test_topic_sets_give_each_topic_id_its_name(engine) -> None:  # type: ignore[no-untyped-def]
    from matcher.store import session
    from matcher.taxonomy import load_topics, topic_sets

    load_topics(engine)  # the default taxonomy stored
    with session(engine) as s:
        known, sensitive = topic_sets(s)
    assert known and all(isinstance(name, str) and name for name in known.values())
    assert sensitive <= set(known)
