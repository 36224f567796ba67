"""Mutation audit of taxonomy loading, classification and the topic space: each test pins behaviour a user depends on
that the suite let change unnoticed (a blank id or padded ids accepted, a `sensitive` field given twice or under another
name silently read, IAB TSV rows that raised a traceback or refused a blank line, keyword phrases lost from a topic's
views, stale related words after a taxonomy's descriptions changed, foreign posts read through their links or a long
thread title)."""

import json
from pathlib import Path

import numpy as np
import pytest

from catalog.errors import CatalogError, InputFileError
from matcher import topic_space
from matcher.classify import ClassifyParams, readable
from matcher.embed import EmbeddingCache
from matcher.encoder import FakeEncoder
from matcher.store import open_engine
from matcher.taxonomy import TopicInfo, read_taxonomy, replaced_since
from matcher.topic_space import TopicSpace

IAB_HEAD = "Unique ID\tParent\tName\tTier 1\tTier 2\tTier 3\tTier 4\n"


def _refused(path: str) -> str:
    with pytest.raises(InputFileError) as info:
        read_taxonomy(path)
    return " ".join(str(info.value).split())


# --- loading a taxonomy file ------------------------------------------------------------------------------------


def test_a_blank_topic_id_is_refused_naming_its_line_and_field(write) -> None:  # type: ignore[no-untyped-def]
    # a topic with no id cannot be targeted by a perk or opted in to: the row must be fixed, not loaded
    said = _refused(write("t.jsonl", [{"topic_id": "t", "name": "T"}, {"topic_id": "  ", "name": "Blank"}]))
    assert "line 2, field 'topic_id'" in said and "give every topic a stable, unique id" in said


def test_ids_names_and_parents_are_read_without_surrounding_blanks(write) -> None:  # type: ignore[no-untyped-def]
    # a CSV written by hand ("travel, Travel") or padded by a spreadsheet: the id is "travel", which perks' `topics`
    # and users' opt-ins name, and a padded parent id still finds its parent
    topics = read_taxonomy(write("t.csv", "topic_id,name,parent_id\n travel , Travel \n air , Air Travel , travel \n"))
    assert [(t.topic_id, t.name, t.parent_id) for t in topics] == [("travel", "Travel", None),
                                                                   ("air", "Air Travel", "travel")]


@pytest.mark.parametrize("key", ["sensitive_topic", "Sensitive Topic"])
def test_a_field_named_sensitive_topic_is_refused_not_ignored(write, key) -> None:  # type: ignore[no-untyped-def]
    # ignored, it would load Health as not sensitive: inferred and shown for everyone
    said = _refused(write("t.jsonl", [{"topic_id": "t", "name": "T"}, {"topic_id": "h", "name": "Health", key: True}]))
    assert f"line 2, field '{key}': is not a field perkmatch reads" in said and "name it 'sensitive'" in said


def test_a_sensitive_field_given_twice_in_a_row_is_refused(write, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # which of `true` and `false` was meant cannot be told: keeping the last would load a sensitive topic as not
    with pytest.raises(CatalogError) as info:
        read_taxonomy(write("t.csv", "topic_id,name,sensitive,sensitive\nh,Health,true,false\n"))
    assert "'sensitive' more than once" in str(info.value)
    path = tmp_path / "t.jsonl"
    path.write_text('{"topic_id": "t", "name": "T"}\n{"topic_id": "h", "name": "Health", "sensitive": true, '
                    '"sensitive": false}\n', encoding="utf-8")
    with pytest.raises(CatalogError) as info:
        read_taxonomy(str(path))
    said = " ".join(str(info.value).split())
    assert "line 2" in said and "'sensitive'" in said


# --- the IAB Content Taxonomy TSV -----------------------------------------------------------------------------


def test_an_iab_row_of_two_columns_is_a_problem_with_its_line_not_a_traceback(write) -> None:  # type: ignore[no-untyped-def]
    said = _refused(write("t.tsv", IAB_HEAD + "1\t\tTravel\tTravel\n2\t1\n"))
    assert "line 3, field 'Name': fewer than 3 columns (Unique ID, Parent, Name)" in said


def test_blank_lines_in_an_iab_tsv_are_skipped(write) -> None:  # type: ignore[no-untyped-def]
    # an empty line, or a line of tabs only (a spreadsheet's empty row), between rows or at the end is no topic
    topics = read_taxonomy(write("t.tsv", IAB_HEAD + "1\t\tTravel\tTravel\n\n\t\t\t\n2\t1\tAir Travel\tTravel\t"
                                 "Air Travel\n\n"))
    assert [(t.topic_id, t.parent_id) for t in topics] == [("1", None), ("2", "1")]


def test_an_iab_tsv_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "t.tsv"
    path.write_bytes(IAB_HEAD.encode() + b"1\t\tTravel\tTravel\n2\t1\tCaf\xe9s\tTravel\tCaf\xe9s\n")  # Latin-1
    said = _refused(str(path))
    assert "line 3: not valid UTF-8 (byte 0xe9" in said and "save the file as UTF-8" in said


def test_a_fourth_tier_iab_topic_is_described_by_all_four_tiers(write) -> None:  # type: ignore[no-untyped-def]
    rows = ("1\t\tSports\tSports\n2\t1\tSoccer\tSports\tSoccer\n3\t2\tLeagues\tSports\tSoccer\tLeagues\n"
            "4\t3\tPremier League\tSports\tSoccer\tLeagues\tPremier League\n")
    topics = read_taxonomy(write("t.tsv", IAB_HEAD + rows))
    assert topics[-1].description == "Sports > Soccer > Leagues > Premier League"


# --- what the pipeline reads of a topic -----------------------------------------------------------------------


def test_three_letter_phrases_and_phrases_joined_by_or_are_views_of_the_topic() -> None:
    # "tea", "gym", "art": a post plainly about one of them is about the topic (a view of its own)
    topic = TopicInfo("x", "Leisure", None, "Leisure: tea, gym or art; books or comics", False)
    assert topic.phrases() == ["tea", "gym", "art", "books", "comics"]
    assert {"tea", "gym", "art", "books", "comics"} <= set(topic.view_texts())


def test_the_replaced_taxonomy_warning_adds_an_ellipsis_only_when_ids_are_left_out() -> None:
    assert replaced_since(3, list("abcde")).endswith("(a, b, c, d, e); run `perkmatch profile` again")
    assert "(a, b, c, d, e, ...)" in replaced_since(3, list("abcdef"))


def test_a_thread_title_counts_towards_reading_a_post_only_by_its_first_120_characters() -> None:
    # a foreign reply under a long English title: what lies past the title's first 120 characters is not read
    vocab = frozenset("the flight was delayed again at airport and we missed our connection to boston".split())
    sentence = "the flight was delayed again at the airport and we missed our connection to boston "
    title = "qq " * 40 + sentence * 4  # its first 120 characters are 40 words the model does not know
    assert not readable(["zorg voor mij"], [title], vocab)[0]
    assert readable(["zorg voor mij"], [sentence * 4], vocab)[0]  # the same words early on are read


def test_words_inside_a_link_do_not_make_a_foreign_post_readable() -> None:
    # posts are judged as they are embedded (links and URLs reduced): an English URL is not English text
    vocab = frozenset("the flight was delayed again at airport lounge gate".split())
    path = "/the/flight/was/delayed/again/at/the/airport/lounge/gate"
    for text in (f"Wat een mooie dag vandaag https://example.com{path}",
                 f"Wat een mooie dag vandaag [zie hier](https://example.com{path})"):
        assert not readable([text], [None], vocab)[0], text


# --- related words: chosen once per taxonomy, kept -----------------------------------------------------------


WORDS = ("flights", "espresso", "zebra", "lounge", "beans")


def test_related_words_are_chosen_again_when_only_the_descriptions_change(tmp_path: Path) -> None:
    # the same names, new descriptions (a taxonomy loaded again, reworded): the words kept for the old wording must
    # not be reused, or topics are read through words their description no longer names
    cache = EmbeddingCache(open_engine(str(tmp_path / "w.db")), FakeEncoder(words=WORDS))
    params = ClassifyParams(related_min=0.2)
    old = [TopicInfo("travel", "Travel", None, "flights airport", False),
           TopicInfo("coffee", "Coffee", None, "espresso roast", False)]
    new = [TopicInfo("travel", "Travel", None, "lounge airport", False),
           TopicInfo("coffee", "Coffee", None, "beans roast", False)]
    assert TopicSpace.build(old, cache, params).related == [["flights"], ["espresso"]]
    fresh = TopicSpace.build(new, EmbeddingCache(open_engine(str(tmp_path / "fresh.db")), FakeEncoder(words=WORDS)),
                             params)
    assert fresh.related == [["lounge"], ["beans"]]
    assert TopicSpace.build(new, cache, params).related == fresh.related


def test_the_kept_choice_of_related_words_is_reused_without_reading_the_vocabulary(tmp_path: Path,
                                                                                   monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # README: the choice (about a second, and the whole vocabulary's vectors) is kept in the settings table
    cache = EmbeddingCache(open_engine(str(tmp_path / "w.db")), FakeEncoder(words=WORDS))
    params = ClassifyParams(related_min=0.2)
    topics = [TopicInfo("travel", "Travel", None, "flights airport", False),
              TopicInfo("coffee", "Coffee", None, "espresso roast", False)]
    first = TopicSpace.build(topics, cache, params)

    def refuse(*args: object) -> None:
        raise AssertionError("the vocabulary was compared with the topics again")

    monkeypatch.setattr(topic_space, "vocabulary_vectors", refuse)
    again = TopicSpace.build(topics, cache, params)
    assert again.related == first.related and np.array_equal(again.views, first.views)
    with open_engine(str(tmp_path / "w.db")).connect() as conn:
        kept = [json.loads(v) for (v,) in conn.exec_driver_sql(
            "SELECT value FROM settings WHERE key LIKE 'related_words:%'")]
    assert kept == [first.related]


def test_a_fit_given_the_posts_closeness_reads_each_block_with_its_own_posts_closeness() -> None:
    # a profile fits on up to 20,000 posts, 4,096 at a time, with the closeness it computed where it read them: each
    # block must be read with its own rows' closeness (as when the fit computes it), never another block's
    from matcher.classify import fit_topic_vectors, view_closeness

    rng = np.random.default_rng(3)
    topics = rng.standard_normal((4, 8)).astype(np.float32)
    topics /= np.linalg.norm(topics, axis=1, keepdims=True)
    views = np.concatenate([topics, rng.standard_normal((4, 8)).astype(np.float32)])
    views /= np.linalg.norm(views, axis=1, keepdims=True)
    starts = np.array([0, 1, 2, 3])  # topic 3 has views 3..7
    posts = np.concatenate([topics[k] + 0.3 * rng.standard_normal((6, 8)) for k in range(4)]).astype(np.float32)
    posts /= np.linalg.norm(posts, axis=1, keepdims=True)
    params = ClassifyParams(prototype_member=0.5)
    closest = view_closeness(posts, views, starts)
    for block in (5, 8, 24):  # blocks of uneven and even size
        given = fit_topic_vectors(topics, views, starts, posts, 2, params, block=block, closest=closest)
        computed = fit_topic_vectors(topics, views, starts, posts, 2, params, block=block)
        assert np.allclose(given[0], computed[0], atol=1e-6) and np.allclose(given[1], computed[1], atol=1e-6)


# --- found by the audit, fixed -----------------------------------------------------------------------------------


def test_an_id_with_an_invisible_character_or_a_nul_is_refused_naming_its_line_and_field(write) -> None:  # type: ignore[no-untyped-def]
    """"travel\\u200b" loaded as a topic that looks like travel but no perk or opt-in reaches (perk and user ids were
    refused so); a NUL in a name reached PostgreSQL, which failed with no file, line or field."""
    said = _refused(write("t.jsonl", [{"topic_id": "ok", "name": "OK"}, {"topic_id": "travel\u200b", "name": "T"},
                                      {"topic_id": "b", "name": "a\u0000b"},
                                      {"topic_id": "c", "name": "C", "parent_id": "ok\u200b"}]))
    assert "line 2, field 'topic_id'" in said and "invisible character (U+200B" in said
    assert "line 3, field 'name'" in said and "NUL character" in said
    assert "line 4, field 'parent_id'" in said


def test_children_of_a_refused_row_are_not_said_to_lack_their_parent(write) -> None:  # type: ignore[no-untyped-def]
    """Each child of a row refused for its own problem (an empty name) was also told "'travel' is not a topic_id in
    this file; add it", though it is on line 1."""
    said = _refused(write("t.jsonl", [{"topic_id": "travel", "name": ""},
                                      {"topic_id": "air", "name": "Air Travel", "parent_id": "travel"},
                                      {"topic_id": "trains", "name": "Trains", "parent_id": "rail"}]))
    assert "line 1, field 'name'" in said
    assert "'travel' is not a topic_id" not in said
    assert "line 3, field 'parent_id': 'rail' is not a topic_id in this file" in said  # a parent truly missing


def test_a_description_given_as_null_is_no_description(write) -> None:  # type: ignore[no-untyped-def]
    # `description:` left empty in YAML, JSON null: "not given", as everywhere else (before: refused as not text)
    yaml_text = "- topic_id: travel\n  name: Travel\n  description:\n"
    assert read_taxonomy(write("t.yaml", yaml_text))[0].description == ""
    assert read_taxonomy(write("t.json", [{"topic_id": "travel", "name": "Travel", "description": None}])
                         )[0].description == ""
