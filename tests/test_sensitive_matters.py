"""Posts touching a sensitive matter the taxonomy does not name closely (a miscarriage under Parenting, medication
under Psychology) are shown to no one: ``matcher.sensitive_content``, read into ``profiles.build_profile``'s veil."""

import numpy as np
import pytest
import yaml
from sqlmodel import Session
from typer.testing import CliRunner

from catalog.refresh import text_key
from matcher.classify import ClassifyParams
from matcher.cli import app
from matcher.embed import EmbeddingCache
from matcher.encoder import load_encoder
from matcher.explain import explain_topic
from matcher.ingest import ingest_posts, ingest_users
from matcher.profile_run import run_profile
from matcher.profile_types import ProfileParams
from matcher.profiles import build_profile
from matcher.records import to_epoch
from matcher.report import render_user_report
from matcher.sensitive_content import Words, matter_names, matter_phrases, matter_words, touches, veiled_matters
from matcher.store import open_engine
from matcher.topic_records import user_topics
from matcher.topic_space import topic_text_keys
from tests.conftest import post
from tests.test_s38_audit import _user  # ten posts three days apart, engaged, each its own thread

T0, DAY = 1_700_000_000, 86_400
P = ProfileParams()
C = ClassifyParams()


def _unit(*rows: list[float]) -> np.ndarray:
    a = np.array(rows, dtype=np.float64)
    return a / np.linalg.norm(a, axis=1, keepdims=True)


def test_names_and_words_are_found_whole_in_any_case_and_in_a_row() -> None:
    names, words = matter_names(), matter_words()
    for said in ("I had a Miscarriage in May", "she miscarried twice", "on 'Adderall' again", "my mom passed   away",
                 "self-harming again", "self harm", "living with Crohn’s", "PREGNANT!", "we're pregnant- it's early",
                 "a murder-suicide", "I lost my Mom in May"):
        assert names.found(said), said
    for said in ("the transmission failed", "Sussex coast", "diagnostic port",
                 "passed the ball", "away we passed", "grievances about the referee", "my meds ran out"):
        assert not names.found(said), said
    assert words.found("my meds ran out") and words.found("Coming out to my parents")
    assert not words.found("methane leak") and not words.found("weeds in the garden")


def test_names_a_common_word_would_overreach_with_are_read_in_the_first_person() -> None:
    """Found on dev as shown evidence (a fiancé's death, anti-depressants, a darknet MDMA order, coming out at work,
    a bankruptcy, being cheated on): named outright now. The same words in other senses are not names: a basketball
    player's rehab (six posts under Kings and Sixers threads were veiled by "rehab"), a price that "came out to" $5, a
    company's bankruptcy, a therapist who is someone else's."""
    names = matter_names()
    for said in ("Lost my fiance as she was coming over", "until I started taking anti-depressants",
                 "Reviews of SR2 MDMA vendors", "Came out at work today!", "I filed for bankruptcy in 2019",
                 "a hard time hashing out with my therapist", "I'm gay and", "watering my fiancé's grave",
                 "Microdosed at the gym twice", "my mom was sent to collections", "since I went to rehab",
                 "Tonight, I finally come out to my parents.", "my Nx totally cheated on me"):
        assert names.found(said), said
    for said in ("Klay draining threes during his rehab", "it came out to about $5 in material",
                 "PG&E filed for bankruptcy", "the therapist said", "Dolphins get high on puffer fish"):
        assert not names.found(said), said
    assert matter_words().found("Klay draining threes during his rehab")  # a word: only near a matter's phrase


def test_words_in_a_row_a_matter_lists_as_not_name_nothing_but_the_rest_of_the_text_is_read() -> None:
    """"Suicide Squad" (a film, six posts veiled on dev) holds "suicide", a name: read as none; the word said
    elsewhere in the same text still is, and a title said twice in a row is none twice."""
    names = matter_names()
    for said in ("Official Discussion - The Suicide Squad [SPOILERS]", "suicide squad suicide squad",
                 "the ME2 suicide mission", "Cocaine Bear is a bad movie on purpose", "a pregnant pause"):
        assert not names.found(said), said
    assert names.found("The Suicide Squad's director on suicide") and names.found("Cocaine Bear and cocaine")
    words = Words.of(["meds", "ran out"], unless=["meds ran out of steam"])
    assert not words.found("the Meds ran out of steam") and words.found("my meds ran out")


def test_the_matters_file_gives_each_matter_words_and_phrases() -> None:
    from importlib import resources

    matters = yaml.safe_load(resources.files("matcher").joinpath("data/sensitive_matters.yaml").read_text())
    assert len(matters) >= 12 and {"money trouble", "relationships"} <= set(matters)
    for name, m in matters.items():
        assert m["words"] and m["phrases"], name
    assert "I had a miscarriage" in matter_phrases()
    every = Words.of([str(w) for m in matters.values() for w in m["names"] + m["words"]])  # and no "not"
    for name, m in matters.items():  # each "not" holds a name or a word (else it says nothing), and unnames it
        for run in m.get("not", []):
            assert every.found(run) and not matter_names().found(run) and not matter_words().found(run), (name, run)


def test_a_text_touches_a_matter_by_its_similarity_by_a_name_or_by_a_word_and_a_lower_one() -> None:
    """Phrase vector (1, 0): a text 0.6 similar touches a matter whatever it says; one naming a matter outright
    ("lexapro") does at any similarity; one holding a word that may name it ("meds") only at 0.35 or more; a text
    that is None (no thread) only by similarity."""
    phrases = _unit([1.0, 0.0])
    sims = [0.6, 0.4, 0.4, 0.3, 0.05, 0.6, 0.3]
    vecs = np.array([[s, np.sqrt(1 - s * s)] for s in sims])
    texts = ["a long day", "my meds ran out", "a long day", "my meds ran out", "on lexapro since May", None, None]
    one = np.zeros(1, dtype=np.int64)  # (one matter's phrase: the file's first, pregnancy)
    assert (touches(texts, vecs, phrases, C, one) != 0).tolist() == [True, True, False, False, True, True, False]
    assert not touches(texts, vecs, np.zeros((0, 2)), C).any()  # no phrases: nothing veiled


def test_a_post_about_a_sensitive_topic_the_user_opted_in_to_is_not_veiled_by_a_matter() -> None:
    touchy = np.array([1, 6, 0], dtype=np.uint32)  # the matters (bits) each post touches
    members = np.array([[0.1, 0.6], [0.9, 0.0], [0.1, 0.9]])  # post 0 is a member of topic 1 (sensitive)
    assert veiled_matters(touchy, members, np.array([False, True]), P).tolist() == [0, 6, 0]
    assert veiled_matters(touchy, members, np.array([False, False]), P).tolist() == [1, 6, 0]
    assert veiled_matters(None, members, np.array([False, True]), P) is None


def test_posts_touching_a_matter_are_no_evidence_and_a_topic_resting_on_them_alone_is_not_inferred() -> None:
    members = np.array([[0.9]] * 6, dtype=np.float32)
    touchy = np.array([True, False, False, False, False, False])
    kept = build_profile(_user(6), members, ["parenting"], [-1], np.array([True]), T0 + 30 * DAY, P, touchy=touchy)
    assert kept[0].inferred and 1 not in [key for key, _ in kept[0].evidence]
    every = build_profile(_user(6), members, ["parenting"], [-1], np.array([True]), T0 + 30 * DAY, P,
                          touchy=np.ones(6, dtype=bool))
    assert not every[0].inferred and not every[0].evidence
    assert "touching a sensitive matter" in " ".join(every[0].details["shortfalls"])


def test_forgetting_a_post_keeps_the_vectors_of_the_matters_phrases(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = open_engine(str(tmp_path / "k.db"))
    with Session(engine) as s:
        keys = topic_text_keys(s)
    assert {text_key(p) for p in matter_phrases()} <= keys


# --- with the real model ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def encoder():  # type: ignore[no-untyped-def]
    return load_encoder()


@pytest.mark.integration
def test_the_real_model_veils_what_the_taxonomy_missed_and_not_ordinary_posts(encoder) -> None:  # type: ignore[no-untyped-def]
    touchy = ["I had a miscarriage at ten weeks last month and I still cry every morning.",
              "My psychiatrist upped my Adderall dose and the crash at 4pm is brutal.",
              "I lost my Mom on Monday. There really are no words.",
              "I was formally diagnosed with ADHD in October last year.",
              "I filed for bankruptcy last year and the debt collectors still call every week.",
              "Came out to my parents last night and it went better than I feared."]
    plain = ["Swapped my cassette for an 11-34 and the climbs feel so much easier now.",
             "The exit row on the A321 has the most legroom I have found in economy.",
             "Our sourdough starter finally doubled overnight, the loaf had a great crumb.",
             "The new GPU runs every game I own at 144 fps on high settings.",
             "Suicide Squad has the best King Shark, the effects looked great in IMAX.",
             "Klay is draining threes during his Achilles rehab, what a shooter.",
             "The new turntable came out to about 300 dollars with the cartridge."]
    texts = touchy + plain
    flags = touches(texts, encoder.encode(texts), encoder.encode(matter_phrases()), C)
    assert (flags != 0).tolist() == [True] * len(touchy) + [False] * len(plain)


@pytest.mark.integration
def test_a_pregnancy_loss_is_not_shown_as_parenting_evidence(tmp_path, write) -> None:  # type: ignore[no-untyped-def]
    """A parent writing about toddlers and once about a miscarriage: Toddlers is inferred from the other posts, and
    the miscarriage post is none of its evidence (before, on the dev data, such a post was Parenting's), nor is a
    reply under a thread about the user's ADHD."""
    texts = ["Our toddler finally sleeps through the night after we moved bedtime to seven.",
             "Potty training tip: a sticker chart worked wonders for our three year old.",
             "I had a miscarriage at ten weeks and our toddler keeps asking when the baby is coming.",
             "Packing lunches for two kids under five is a daily puzzle, bento boxes help.",
             "Our daughter started daycare and we are all exhausted but she loves it.",
             "Screen time rules for toddlers: we allow one short show after dinner."]
    posts = [post(f"p{i}", "u-mum", t, day=9 * i, likes=8, replies=2, platform="reddit")
             for i, t in enumerate(texts)]
    posts[3]["context"] = "I have ADHD and I think my toddler does too"  # a reply there tells as much
    engine = open_engine(str(tmp_path / "m.db"))
    ingest_users(engine, write("users.jsonl", [{"user_id": "u-mum", "consent": "opted_in"}]))
    ingest_posts(engine, write("posts.jsonl", posts))
    run_profile(engine, EmbeddingCache(engine, load_encoder()), as_of=to_epoch("2025-03-01"))
    (record,) = user_topics(engine)
    shown = [e["text"] for t in record["topics"] for e in t["evidence"]]
    assert [t["topic_id"] for t in record["topics"]] == ["parenting.toddlers"] and shown
    assert not any("miscarriage" in s or "bento" in s for s in shown) and len(shown) == 4
    said = explain_topic(engine, "u-mum", "parenting.toddlers")
    assert not any("miscarriage" in e["text"] or "bento" in e["text"] for e in said["evidence"])
    assert said["details"]["not_shown"] == 2  # (`explain` says so: "not shown 2 (each ... touching a sensitive")
    assert record["topics"][0]["not_shown"] == 2  # `topics --json` too; a topic with none carries no such field
    table = CliRunner().invoke(app, ["--db", str(tmp_path / "m.db"), "topics", "u-mum"]).stdout
    assert "(and 2 post(s) not shown: sensitive)" in table  # before: 4 posts shown of 6 counted, and no word why
    assert "Not shown: posts each about a sensitive topic the user has not opted in to, or touching" in table
    page = render_user_report(engine, "u-mum")
    assert "And 2 posts not shown, each about a sensitive topic" in page and "miscarriage" not in page


def test_explain_says_how_many_of_a_topics_posts_are_not_shown() -> None:
    """A topic counts posts it never quotes; `explain` says how many and why, so its evidence is not taken to be all
    of them. A topic with none such says nothing of it."""
    from matcher.cli.explain_view import _engagement

    record = {"posts": 10, "engagement_vs_usual": 1.0, "confidence": 0.9,
              "thresholds": {"engagement_vs_usual": 0.5, "engagement_per_post": 0.5, "confidence": 0.5},
              "evidence": [], "details": {"positive_engagement": 20.0, "usual_engagement": 1.0, "duplicates_dropped": 0,
                                          "shares": 0, "recency": 1.0, "not_shown": 3}}
    assert "not shown 3 (each about a sensitive topic the user has not opted in to, or touching a sensitive" in \
        _engagement(record)
    assert "their opt-ins do not cover: counted, never quoted)" in _engagement(record)  # (no matters said: none)
    del record["details"]["not_shown"]
    assert "not shown" not in _engagement(record)


def test_a_texts_side_of_each_threshold_is_float64s_whatever_rows_are_read_beside_it() -> None:
    """``_best`` reads the product in float32 and again in float64 near a threshold: each row's side of
    ``matter_alone`` and ``matter_with_word`` is the float64 product's, alone or among 500 others."""
    from matcher.sensitive_content import _best

    rng = np.random.default_rng(7)
    phrases = _unit(*rng.standard_normal((5, 16)).tolist()).astype(np.float32)
    near = []  # rows 1e-6 to 5e-5 from a threshold, on either side
    for i, cos in enumerate([0.35 + 3e-6, 0.35 - 3e-6, 0.55 + 5e-5, 0.55 - 1e-6] * 10):
        other = rng.standard_normal(16)
        other -= other @ phrases[i % 5] * phrases[i % 5]
        near.append(cos * phrases[i % 5] + np.sqrt(1 - cos * cos) * other / np.linalg.norm(other))
    vecs = np.concatenate([np.array(near), _unit(*rng.standard_normal((500, 16)).tolist())]).astype(np.float32)
    exact = (vecs.astype(np.float64) @ phrases.T.astype(np.float64)).max(axis=1)
    thresholds = (C.matter_alone, C.matter_with_word)
    for rows in (np.arange(len(vecs)), np.arange(40), np.arange(3, 9)):
        got = _best(vecs[rows], phrases, thresholds)[:, 0]  # (one matter)
        for t in thresholds:
            assert ((got >= t) == (exact[rows] >= t)).all()
