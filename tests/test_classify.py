"""Post-topic similarity and membership on hand-made vectors, the topic views taken from a taxonomy, and the
words of the model's vocabulary topics are also read through."""

import numpy as np

from matcher import artefacts, vocabulary
from matcher.classify import (
    ClassifyParams,
    adapt_topic_vectors,
    cosines,
    fit_topic_vectors,
    memberships_from_similarity,
    post_vectors,
    prototype_sums,
    readable,
    related_words,
    smooth_within_user,
    top_columns,
    topic_similarity,
    view_closeness,
)
from matcher.embed import EmbeddingCache
from matcher.encoder import FakeEncoder, known_words, packaged_model_path, vocabulary_file
from matcher.sensitive_content import matter_phrases
from matcher.store import open_engine
from matcher.taxonomy import TopicInfo
from matcher.topic_space import Subtrees, TopicSpace, space_texts


def unit(*xs: float) -> np.ndarray:
    v = np.array(xs, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_a_description_lists_its_keyword_phrases() -> None:
    finance = TopicInfo("business.finance", "Finance", "business",
                        "Investing and trading: stocks, options, index funds, accounting, taxes and the stock market.",
                        False)
    assert finance.phrases() == ["stocks", "options", "index funds", "accounting", "taxes", "the stock market"]
    assert finance.view_texts()[:2] == finance.embed_texts()
    assert finance.view_texts()[2:] == finance.phrases()
    bare = TopicInfo("x", "Chess", None, "", False)
    assert bare.phrases() == [] and bare.view_texts() == ["Chess"]


def test_a_post_plainly_about_one_listed_thing_is_close_to_the_topic() -> None:
    # topic 0 as a whole points along x, but lists a phrase along y; topic 1 points along z with one view
    topics = np.stack([unit(1, 0, 0), unit(0, 0, 1)])
    views = np.stack([unit(1, 0, 0), unit(0, 1, 0), unit(0, 0, 1)])
    starts = np.array([0, 2])
    post = unit(0, 1, 0.3)[None, :]
    whole_only = topic_similarity(post, topics, views, starts, ClassifyParams(view_weight=0.0))
    blended = topic_similarity(post, topics, views, starts, ClassifyParams(view_weight=0.5))
    assert whole_only[0, 0] < whole_only[0, 1]  # by the whole vectors alone it leans to topic 1
    assert blended[0, 0] > blended[0, 1]  # its closest view is topic 0's phrase
    assert np.isclose(blended[0, 0], 0.5 * whole_only[0, 0] + 0.5 * float(post[0] @ views[1]))


def test_membership_is_gated_by_the_floor_and_sums_to_at_most_one() -> None:
    sims = np.array([[0.6, 0.58, 0.1], [0.2, 0.1, 0.05], [0.3, 0.0, 0.0]], dtype=np.float32)
    m = memberships_from_similarity(sims, ClassifyParams())
    assert (m.sum(axis=1) <= 1.0 + 1e-6).all()
    assert m[0, 0] > m[0, 1] > 0 and m[0, 2] == 0  # close rivals share, a distant topic gets nothing
    assert m[1].sum() == 0  # about nothing in the taxonomy
    assert 0 < m[2, 0] < 1  # on the ramp above the floor
    assert memberships_from_similarity(np.zeros((0, 3), np.float32)).shape == (0, 3)


def test_top_columns_are_a_stable_sort_ties_and_all() -> None:
    rng = np.random.default_rng(7)
    for decimals in (6, 2, 1):  # few ties, many ties, ties everywhere
        values = np.round(rng.normal(0.3, 0.1, (500, 12)), decimals).astype(np.float32)
        for k in (1, 3, 12, 20):
            assert np.array_equal(top_columns(values, k), np.argsort(-values, axis=1, kind="stable")[:, :k])
    assert top_columns(np.zeros((0, 4), np.float32), 3).shape == (0, 3)
    assert top_columns(np.array([[0.5, 0.5, 0.5, 0.1]], np.float32), 2).tolist() == [[0, 1]]  # ties: lower first


def test_topic_vectors_move_towards_the_posts_plainly_about_them() -> None:
    topics = np.stack([unit(1, 0, 0), unit(0, 1, 0), unit(0, 0, 1)])  # 0 Video Games, 1 Football, 2 Opera
    posts = np.stack([unit(1, 0, 1), unit(1, 0, 1), unit(1, 0, 1), unit(0, 1, 1), unit(0, 1, -1)])
    members = np.array([[0.9, 0, 0], [0.95, 0, 0], [0.9, 0, 0],  # three posts plainly about games
                        [0, 0.9, 0],  # one plainly about football
                        [0, 0.6, 0.3]], dtype=np.float32)  # a vague one: shapes nothing
    sums, mass = prototype_sums(members, posts)
    assert np.allclose(mass, [2.75, 0.9, 0.0])
    adapted = adapt_topic_vectors(topics, sums, mass)
    assert np.allclose(np.linalg.norm(adapted, axis=1), 1.0, atol=1e-6)
    moved = adapted @ unit(1, 0, 1)
    assert moved[0] > 0.9 > topics[0] @ unit(1, 0, 1)  # games now reads posts written the way its posts are
    assert adapted[0] @ topics[0] > 0.7  # ... and is still about games
    assert adapted[1] @ unit(0, 1, 1) < adapted[0] @ unit(1, 0, 1)  # one post moves a topic less than three
    assert np.array_equal(adapted[2], topics[2])  # no post plainly about opera: its own vector
    assert np.array_equal(adapt_topic_vectors(topics, sums, mass, ClassifyParams(prototype_weight=0)), topics)


def test_later_fit_rounds_count_posts_only_the_fitted_vector_recognises() -> None:
    topics = np.stack([unit(1, 0, 0), unit(0, 1, 0)])  # 0 Video Games, 1 Football; each its own only view
    views, starts = topics.copy(), np.array([0, 1])
    plain = [unit(1, 0, 0.5)] * 3  # plainly about games in the taxonomy's own terms
    jargon = [unit(0.35, 0, 1)] * 4  # written the way those posts are, barely like the word "games"
    posts = np.stack(plain + jargon)
    one, mass_one = fit_topic_vectors(topics, views, starts, posts, rounds=1)
    assert np.allclose(mass_one, [3, 0], atol=0.01)  # round 1 reads the jargon below plainly-about
    sums, mass = prototype_sums(memberships_from_similarity(topic_similarity(posts, topics, views, starts)), posts)
    assert np.array_equal(one, adapt_topic_vectors(topics, sums, mass))  # one round: the plain adaptation
    two, mass_two = fit_topic_vectors(topics, views, starts, posts, rounds=2)
    assert np.allclose(mass_two, [7, 0], atol=0.01)  # read against round 1's vector, the jargon counts too
    assert two[0] @ jargon[0] > one[0] @ jargon[0]
    assert np.array_equal(two[1], topics[1])  # no post about football: its own vector, whatever the rounds
    many, _ = fit_topic_vectors(topics, views, starts, posts, rounds=6)
    assert np.allclose(np.linalg.norm(many, axis=1), 1.0, atol=1e-6)
    assert many[0] @ topics[0] > 0.6  # every round blends with the taxonomy's vector: no drift away from it
    by_two, _ = fit_topic_vectors(topics, views, starts, posts, rounds=2, block=2)
    assert np.allclose(by_two, two, atol=1e-6)  # read in blocks of any size
    assert np.array_equal(fit_topic_vectors(topics, views, starts, posts[:0], rounds=3)[0], topics)


def test_related_words_are_close_to_a_topic_and_owned_by_it() -> None:
    topics = np.stack([unit(1, 0, 0), unit(0, 1, 0)])  # 0 Video Games, 1 Football
    words = np.stack([
        unit(1, 0.2, 0),  # "capcom": plainly games
        unit(1, 0.9, 0),  # "sports": close to both, a little closer to games: never football's
        unit(0.1, 1, 0),  # "quarterback": plainly football
        unit(1, 0, 2),  # "arcade-ish": nearest games, but not close enough
        unit(1, 0.5, 0),  # "gameplay"
        unit(1, 0.1, 0),  # "tackle": close to games as a whole, but football's description lists it
    ])
    closeness = topics @ words.T
    owner = np.array([0, 0, 1, 0, 0, 1])  # who each word is most similar to, views included
    picks = related_words(closeness, owner, ClassifyParams(related_words=2, related_min=0.5))
    assert picks == [[0, 4], [2]]  # closest first, at most 2; "sports" would be 3rd; the far word never
    assert related_words(closeness, owner, ClassifyParams(related_words=5, related_min=0.5)) == [[0, 4, 1], [2]]
    assert related_words(closeness, owner, ClassifyParams(related_words=0)) == [[], []]
    assert related_words(np.zeros((2, 0), np.float32), np.zeros(0, np.int64)) == [[], []]


def test_topic_space_reads_topics_through_the_models_words(tmp_path) -> None:  # type: ignore[no-untyped-def]
    topics = [TopicInfo("travel", "Travel", None, "flights airport lounge", False),
              TopicInfo("coffee", "Coffee", None, "espresso beans roast", False)]
    engine = open_engine(str(tmp_path / "w.db"))
    words = ("flights", "espresso", "zebra")
    cache = EmbeddingCache(engine, FakeEncoder(words=words))
    params = ClassifyParams(related_min=0.2)  # bag-of-words fakes: a single word is far from a whole topic
    space = TopicSpace.build(topics, cache, params)
    assert space.related == [["flights"], ["espresso"]]  # "zebra" is near no topic
    plain = TopicSpace.build(topics, cache, ClassifyParams(related_words=0))
    assert plain.related == [[], []] and len(space.views) == len(plain.views) + 2
    assert np.array_equal(space.vectors, plain.vectors)  # the whole-topic vectors do not change
    post = cache.vectors(["flights"])
    assert space.similarity(post, params)[0, 0] > plain.similarity(post, params)[0, 0]
    # an encoder without a vocabulary (most fakes) reads topics as before
    assert TopicSpace.build(topics, EmbeddingCache(engine, FakeEncoder()), params).related == [[], []]


def test_the_choice_of_related_words_is_kept_and_reused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    topics = [TopicInfo("travel", "Travel", None, "flights airport lounge", False),
              TopicInfo("coffee", "Coffee", None, "espresso beans roast", False)]
    engine = open_engine(str(tmp_path / "w.db"))
    encoder = FakeEncoder(words=("flights", "espresso", "zebra"))
    cache = EmbeddingCache(engine, encoder)
    params = ClassifyParams(related_min=0.2)
    assert space_texts(topics, cache, params)[1]  # to be chosen (from the vocabulary's vectors, not the cache's)
    first = TopicSpace.build(topics, cache, params)
    texts, choose = space_texts(topics, cache, params)
    assert texts[-2:] == ["flights", "espresso"] and not choose  # not the whole vocabulary now
    asked: list[str] = []
    vectors = cache.vectors
    cache.vectors = lambda texts: asked.extend(texts) or vectors(texts)  # type: ignore[method-assign]
    again = TopicSpace.build(topics, cache, params)
    assert again.related == first.related and np.array_equal(again.views, first.views)
    assert "zebra" not in asked  # the vocabulary was not compared with the topics again
    cache.vectors = vectors  # type: ignore[method-assign]
    # other parameters, or another taxonomy, choose again (and only the latest choice is kept)
    assert TopicSpace.build(topics, cache, ClassifyParams(related_min=0.99)).related == [[], []]
    texts, choose = space_texts(topics, cache, params)
    assert choose and "zebra" not in texts  # to be chosen again; the vocabulary is never in the embedding cache
    assert not space_texts(topics, EmbeddingCache(engine, FakeEncoder()), params)[1]  # no vocabulary: nothing to choose


def test_a_posts_similarities_do_not_depend_on_the_posts_computed_beside_it() -> None:
    # a float32 matrix product rounds a row differently by its place in the block on some CPUs (OpenBLAS on AMD
    # EPYC): a user's scores would then move with whoever shared their block, or with a reshare added before them
    rng = np.random.default_rng(7)
    posts, views = (rng.standard_normal((n, 384)).astype(np.float32) for n in (300, 900))
    posts /= np.linalg.norm(posts, axis=1, keepdims=True)
    views /= np.linalg.norm(views, axis=1, keepdims=True)
    topics, starts = views[::9].copy(), np.arange(0, 900, 9)
    closest = view_closeness(posts, views, starts)  # float32: profiles compute it one user's own words at a time
    whole = topic_similarity(posts, topics, views, starts, closest=closest)
    for lead in (1, 5, 7, 13, 64):  # other posts before them, changing each row's place and the block's height
        shifted = np.concatenate([posts[-lead:], posts])
        near = np.concatenate([closest[-lead:], closest])
        assert np.array_equal(topic_similarity(shifted, topics, views, starts, closest=near)[lead:], whole)
    alone = np.concatenate([cosines(row[None, :], views) for row in posts[:20]])
    assert np.array_equal(alone, cosines(posts, views)[:20])


def test_posts_left_out_of_the_sources_do_not_change_how_the_others_are_read() -> None:
    def unit(v: list[float]) -> np.ndarray:
        return np.array(v, dtype=np.float32) / np.linalg.norm(v)

    post, related, pasted = unit([1, 0, 0, 0]), unit([1, 0.5, 0, 0]), unit([1, 0, 1, 0])
    vecs = np.stack([post, related, pasted] + [pasted] * 29)
    sources = np.arange(len(vecs)) < 3  # the 29 repeats of the pasted text are not read alongside anything
    once = smooth_within_user(vecs[:3])
    assert np.array_equal(smooth_within_user(vecs, sources=sources)[:3], once)  # bit for bit
    crowded = smooth_within_user(vecs)[0]  # every repeat a neighbour: the post reads as the pasted text
    assert crowded @ pasted > once[0] @ pasted + 0.1
    assert np.allclose(smooth_within_user(vecs, sources=np.zeros(len(vecs), bool)), vecs)


def test_the_vocabularys_vectors_are_built_once_per_machine_and_give_the_same_space(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PERKMATCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(vocabulary, "_READ", {})
    topics = [TopicInfo("travel", "Travel", None, "flights airport lounge", False),
              TopicInfo("coffee", "Coffee", None, "espresso beans roast", False)]
    words = ("flights", "espresso", "zebra", "lounges")
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "vocab.txt").write_text("\n".join(words))
    params = ClassifyParams(related_min=0.2)
    spaces, encoders = [], []
    for name in ("builds", "reads"):
        encoder = FakeEncoder(words=words)
        encoder.folder = tmp_path / "model"  # type: ignore[attr-defined]  # as load_encoder sets it
        cache = EmbeddingCache(open_engine(str(tmp_path / f"{name}.db")), encoder)
        spaces.append(TopicSpace.build(topics, cache, params))
        encoders.append(encoder)
        vocabulary._READ.clear()  # as a new process would
    assert artefacts.BUILDS["vocabulary"] >= 1 and list((tmp_path / "cache").iterdir())
    # the first database embedded the vocabulary (and its views); the second only its views
    assert encoders[0].encoded_texts - encoders[1].encoded_texts == len(words)
    assert spaces[0].related == spaces[1].related == [["flights"], ["espresso"]]
    assert np.array_equal(spaces[0].views, spaces[1].views)  # the chosen words' vectors came from the one file


def test_an_unwritable_model_cache_still_gives_the_vocabularys_vectors_once_a_process(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "not-a-folder").write_text("")
    monkeypatch.setenv("PERKMATCH_CACHE", str(tmp_path / "not-a-folder"))
    monkeypatch.setattr(vocabulary, "_READ", {})
    words = ["flights", "espresso"]
    encoder = FakeEncoder(words=tuple(words))
    encoder.folder = tmp_path  # type: ignore[attr-defined]
    cache = EmbeddingCache(open_engine(str(tmp_path / "w.db")), encoder)
    first = vocabulary.vocabulary_vectors(cache, words)
    assert np.array_equal(first, encoder.encode(words))
    assert np.array_equal(vocabulary.vocabulary_vectors(cache, words), first)
    assert encoder.encoded_texts == len(words) * 2  # embedded once by the run (and once above, by the test)


def test_a_post_is_read_only_when_the_model_knows_most_of_its_words() -> None:
    model_words = known_words(str(vocabulary_file(packaged_model_path())))
    assert "cycling" in model_words and "##ing" not in model_words and "[cls]" not in model_words
    posts = [
        ("Rode 80 km this morning, the new gravel tyres were worth every penny.", None),  # English
        ("Vanochtend 80 km gefietst, de nieuwe gravelbanden waren elke cent waard.", None),  # Dutch
        ("Ajoin aamulla kahdeksankymmentä kilometriä, uudet renkaat olivat hintansa arvoiset.", None),  # Finnish
        ("Pmed", None),  # too few words to tell: read
        ("Zeker!", "Wie fietst er dit weekend de Amstel Gold Race mee?"),  # a Dutch reply in a Dutch thread
        ("Same here, the climbs on that route are brutal in the wind.", "Wie fietst er dit weekend mee?"),
        ("", None),
        ("The Pokémon Café in Zürich was a great idea.", None),  # 3 of 8 words unknown with their accents: read
        ("Agreed", "https://nos.nl/artikel/2466021-kabinet-wil-minder-vliegen-vanaf-schiphol"),  # as it is embedded:
        # the context is only a link, which is not embedded, so one word is too few to tell
    ]
    texts, contexts = [t for t, _ in posts], [c for _, c in posts]
    assert readable(texts, contexts, model_words).tolist() == [True, False, False, True, False, True, True, True,
                                                               True]
    # a stricter share reads less (the English reply's Dutch thread title counts too); a model without a vocabulary
    # file reads everything
    assert not readable(texts[5:6], contexts[5:6], model_words, ClassifyParams(read_share=0.95))[0]
    assert readable(texts, contexts, frozenset()).all()


def test_a_short_reply_leans_on_its_thread_more_than_a_long_post_does() -> None:
    """The context (thread title or parent) is blended in with weight 2 under 120 characters, 1 above; a post with no
    context is its text alone."""
    text, context = np.eye(4, dtype=np.float32)[:2]
    out = post_vectors(np.stack([text] * 3), np.stack([context, context, np.zeros(4, np.float32)]),
                       np.array([True, True, False]), np.array([20, 400, 20]))
    toward = out @ context
    assert toward[0] > toward[1] > toward[2] == 0.0
    assert np.allclose(out[0], (text + 2 * context) / np.sqrt(5)) and np.allclose(out[1], (text + context) / np.sqrt(2))


def test_a_post_is_read_with_its_neighbours_and_is_not_its_own() -> None:
    a = np.array([1.0, 0.0, 0.0], dtype=np.float32)
    b = np.array([0.6, 0.8, 0.0], dtype=np.float32)  # cosine 0.6 with a
    out = smooth_within_user(np.stack([a, b]))
    mixed = a + 2.0 * 0.6 * b  # (``neighbour_weight`` 2, weighted by the cosine)
    assert np.allclose(out[0], mixed / np.linalg.norm(mixed), atol=1e-6)


def test_a_post_of_three_words_is_judged_and_an_even_split_is_read() -> None:
    """Three words are enough to judge a post (two are not); a post is read when at least half its words are known,
    exactly half included."""
    model_words = known_words(str(vocabulary_file(packaged_model_path())))
    assert readable(["Zeker echt mooi", "Zeker mooi"], [None, None], model_words).tolist() == [False, True]
    assert readable(["Prachtige fietstocht, great ride"], [None], model_words)[0]  # two of four words known


def test_a_post_in_title_case_is_read_by_its_lower_case_words() -> None:
    """Words are looked up in lower case: a headline-style English post is read."""
    model_words = known_words(str(vocabulary_file(packaged_model_path())))
    assert readable(["Great Ride Through The Mountains Today"], [None], model_words)[0]


def test_a_post_is_judged_by_the_first_300_characters_of_its_text() -> None:
    """An English first sentence does not make a post read when the rest of its opening is in Dutch: the verdict
    reads 300 characters of the text (and 120 of its context), not 120 of the text."""
    model_words = known_words(str(vocabulary_file(packaged_model_path())))
    text = ("Lovely ride along the coast this morning with the wind behind us. Daarna zijn we met de hele groep naar "
            "het dorpscafé gegaan voor koffie en appeltaart, echt heerlijk gezellig weer eens samen fietsen in het "
            "voorjaar met vrienden uit de buurt, volgende week weer.")
    assert not readable([text], [None], model_words)[0]
    assert readable([text], [None], model_words, ClassifyParams(read_chars=(120, 300)))[0]  # the opening alone


def test_a_reply_of_exactly_120_characters_is_a_long_one() -> None:
    """Context weight 2 is for texts under ``short_chars`` (120); at 120 characters the weight is 1."""
    text, context = np.eye(4, dtype=np.float32)[:2]
    out = post_vectors(np.stack([text, text]), np.stack([context, context]), np.array([True, True]),
                       np.array([119, 120]))
    assert np.allclose(out[0], (text + 2 * context) / np.sqrt(5)) and np.allclose(out[1], (text + context) / np.sqrt(2))


def test_a_post_is_read_with_its_related_source_posts_wherever_they_sit_among_the_others() -> None:
    """Neighbours are taken from the source posts by their place among the sources: with the repeats left out
    ahead of them, a post is still read with its related post, as without the repeats at all."""
    post, related, pasted = unit(1, 0, 0, 0), unit(1, 0.5, 0, 0), unit(1, 0, 1, 0)
    vecs = np.stack([pasted] * 29 + [post, related, pasted])
    sources = np.arange(len(vecs)) >= 29
    assert np.allclose(smooth_within_user(vecs, sources=sources)[29:], smooth_within_user(vecs[29:]), atol=1e-6)


def test_the_view_weight_is_the_closest_views_share_of_the_similarity() -> None:
    """With ``view_weight`` 0.2 a post's similarity is 0.8 of its cosine to the whole topic and 0.2 of its closest
    view's."""
    topics = np.stack([unit(1, 0, 0), unit(0, 0, 1)])
    views = np.stack([unit(1, 0, 0), unit(0, 1, 0), unit(0, 0, 1)])
    post = unit(0.2, 1, 0.3)[None, :]
    sims = topic_similarity(post, topics, views, np.array([0, 2]), ClassifyParams(view_weight=0.2))
    assert np.isclose(sims[0, 0], 0.8 * float(post[0] @ topics[0]) + 0.2 * float(post[0] @ views[1]))


def test_related_words_equally_close_go_to_the_lower_index() -> None:
    """Of two words equally close to a topic, with room for one, the one earlier in the vocabulary is chosen."""
    closeness = np.array([[0.6, 0.8, 0.8, 0.7]], dtype=np.float32)
    assert related_words(closeness, np.zeros(4, np.int64), ClassifyParams(related_words=1)) == [[1]]
    assert related_words(closeness, np.zeros(4, np.int64), ClassifyParams(related_words=3)) == [[1, 2, 3]]


def test_a_post_belongs_to_at_most_three_topics() -> None:
    """Of five topics equally close, a post belongs to the first three (``top_k``), the rest get nothing."""
    m = memberships_from_similarity(np.full((1, 5), 0.6, np.float32))
    assert np.flatnonzero(m[0]).tolist() == [0, 1, 2] and np.isclose(m[0].sum(), 1.0)


def test_more_fit_rounds_over_the_same_plain_posts_do_not_move_a_topic_further() -> None:
    """Every round blends the posts with the taxonomy's vector, not the previous round's: when each round finds
    the same posts plainly about a topic, three rounds give the vectors one round does."""
    topics = np.stack([unit(1, 0, 0), unit(0, 1, 0)])
    posts = np.stack([unit(1, 0, 0.5)] * 3)
    one, mass_one = fit_topic_vectors(topics, topics.copy(), np.array([0, 1]), posts, rounds=1)
    three, mass_three = fit_topic_vectors(topics, topics.copy(), np.array([0, 1]), posts, rounds=3)
    assert np.allclose(mass_one, mass_three) and np.allclose(one, three, atol=1e-6)


def test_no_number_of_posts_pulls_a_topic_further_than_the_prototype_weight() -> None:
    """The posts' pull is ``prototype_weight`` times mass / (mass + ``prototype_shrink``), along the unit mean of
    the posts: however many posts are plainly about a topic, its vector stays at least as close to its own as
    ``topic + prototype_weight * direction`` is."""
    topic, direction = unit(1, 0, 0), unit(0, 1, 0)
    for mass in (3.0, 1_000.0, 1_000_000.0):
        adapted = adapt_topic_vectors(topic[None, :], mass * direction[None, :], np.array([mass]))
        assert adapted[0] @ topic >= 1 / np.sqrt(1 + 4.0**2) - 1e-6
    few = adapt_topic_vectors(topic[None, :], direction[None, :], np.array([5.0]))  # mass = prototype_shrink
    assert np.allclose(few[0], (topic + 2.0 * direction) / np.sqrt(5), atol=1e-6)  # half the weight


def _sports_space(tmp_path, params: ClassifyParams):  # type: ignore[no-untyped-def]
    """Sports, with Cycling under it, and Cooking; the fake encoder has no vocabulary (no related words)."""
    topics = [TopicInfo("sports", "Sports", None, "Team games, matches, league tables.", False),
              TopicInfo("sports.cycling", "Cycling", "sports", "Road cycling, gravel bikes, tyres and saddles.", False),
              TopicInfo("cooking", "Cooking", None, "Recipes, baking.", False)]
    cache = EmbeddingCache(open_engine(str(tmp_path / "s.db")), FakeEncoder())
    return topics, cache, TopicSpace.build(topics, cache, params)


def test_a_topic_space_keeps_each_topics_parent_views_and_whole_vector(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Each topic's parent is its parent's index (-1 for none); its views are its own view texts' vectors, from
    where they start, whatever the other topics' number of views; its whole vector is the normalised sum of its
    name and its name and description only (not its keyword phrases)."""
    topics, cache, space = _sports_space(tmp_path, ClassifyParams())
    assert space.parents == [-1, 0, -1]
    assert len({len(t.view_texts()) for t in topics}) == 3  # three different numbers of views
    for k, t in enumerate(topics):
        start = space.view_starts[k]
        assert np.array_equal(space.views[start:start + len(t.view_texts())], cache.vectors(t.view_texts()))
        whole = cache.vectors(t.embed_texts()).sum(axis=0)
        assert np.allclose(space.vectors[k], whole / np.linalg.norm(whole), atol=1e-6)


def test_the_closeness_a_profile_computes_once_gives_the_same_similarity(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """``closeness`` (the closest view of each topic, computed once a user) is the part of the similarity the
    views give: passing it changes nothing."""
    params = ClassifyParams()
    _, cache, space = _sports_space(tmp_path, params)
    posts = cache.vectors(["gravel tyres for the road", "baking bread", "league tables"])
    assert np.allclose(space.similarity(posts, params, closest=space.closeness(posts, params)),
                       space.similarity(posts, params), atol=1e-6)


def test_a_post_read_alone_counts_for_a_topic_through_the_topics_under_it_only(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """``read_alone`` gives a post's similarity to topic k or to the closest topic under it: a post about gravel
    tyres counts for Sports through Cycling, but a post about Sports does not count for Cycling through its
    parent; with or without the views."""
    for params in (ClassifyParams(), ClassifyParams(view_weight=0.0)):
        _, cache, space = _sports_space(tmp_path, params)
        posts = cache.vectors(["gravel tyres and saddles", "league tables and matches", "baking bread"])
        alone = space.read_alone(posts, params, Subtrees(space, params))
        sims = space.similarity(posts, params)
        rows = np.arange(3)
        assert np.allclose(alone(rows, 0), sims[:, :2].max(axis=1), atol=1e-5)  # Sports and Cycling
        assert np.allclose(alone(rows, 1), sims[:, 1], atol=1e-5)  # Cycling alone
        assert np.allclose(alone(rows, 2), sims[:, 2], atol=1e-5)
        assert alone(rows[:1], 0)[0] > sims[0, 0]  # the gravel post lifts Sports through Cycling
        assert alone(rows[1:2], 1)[0] < sims[1, 0]  # the league post does not lift Cycling through Sports


def test_whether_posts_read_alone_reach_a_floor_is_what_their_similarities_say(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """``ReadAlone.reaches`` (read first from topic k's own vectors) answers as ``(alone(rows, k) >= floor).any()``
    does, for every topic and set of posts, at floors far from the similarities and at each of them and a float32
    step either side (where only the full reading can tell); with or without the views. The gravel post reaches
    Sports only through Cycling, under it: not from Sports' own vectors."""
    for params in (ClassifyParams(), ClassifyParams(view_weight=0.0)):
        _, cache, space = _sports_space(tmp_path, params)
        posts = cache.vectors(["gravel tyres and saddles", "league tables and matches", "baking bread"])
        alone = space.read_alone(posts, params, Subtrees(space, params))
        for rows in (np.arange(3), np.array([0]), np.array([1, 2]), np.zeros(0, dtype=np.int64)):
            for k in range(3):
                sims = alone(rows, k)
                floors = [-1.0, 0.0, 0.1, 0.5, 0.99, 2.0]
                floors += [float(f) for v in sims for f in (np.nextafter(v, -1), v, np.nextafter(v, 2))]
                for floor in floors:
                    assert alone.reaches(rows, k, floor) is bool((sims >= floor).any()), (params, rows, k, floor)
        gravel, sports = np.array([0]), 0
        own = space.similarity(posts[:1], params)[0, sports]
        floor = float(own) + 0.01  # above what Sports' own vectors give the gravel post, under what Cycling gives it
        assert alone(gravel, sports)[0] > floor and alone.reaches(gravel, sports, floor)


def test_a_word_a_topics_description_lists_is_that_topics_related_word(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """"hacking" is closer to Travel Hacking as a whole, but Cybersecurity lists it: it is Cybersecurity's related
    word (owned by the similarity with views), not Travel Hacking's."""
    topics = [TopicInfo("travel", "Travel Hacking", None, "Points and miles: airline points, lounge access.", False),
              TopicInfo("security", "Cybersecurity", None, "Hacking, malware, encryption.", False)]
    cache = EmbeddingCache(open_engine(str(tmp_path / "w.db")), FakeEncoder(words=("hacking", "lounge")))
    params = ClassifyParams(related_min=0.2)
    space = TopicSpace.build(topics, cache, params)
    word = cache.vectors(["hacking"])[0]
    assert space.vectors[0] @ word > space.vectors[1] @ word
    assert space.related == [["lounge"], ["hacking"]]


def test_another_model_with_the_same_words_chooses_its_own_related_words(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The kept choice of related words is the model's: a model of another name with the same vocabulary does
    not reuse it."""
    topics = [TopicInfo("travel", "Travel", None, "flights airport lounge", False),
              TopicInfo("coffee", "Coffee", None, "espresso beans roast", False)]
    engine = open_engine(str(tmp_path / "w.db"))
    words = ("flights", "espresso", "zebra")
    params = ClassifyParams(related_min=0.2)
    TopicSpace.build(topics, EmbeddingCache(engine, FakeEncoder(words=words)), params)
    other = EmbeddingCache(engine, FakeEncoder(dim=32, words=words))
    assert space_texts(topics, other, params)[1]  # still to be chosen for this model


def test_without_related_words_the_vocabulary_is_not_compared_with_the_topics(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """With ``related_words`` 0 there is nothing to choose: a run does not embed the model's whole vocabulary."""
    topics = [TopicInfo("travel", "Travel", None, "flights airport lounge", False)]
    encoder = FakeEncoder(words=("flights", "espresso", "zebra"))
    cache = EmbeddingCache(open_engine(str(tmp_path / "w.db")), encoder)
    params = ClassifyParams(related_words=0)
    assert not space_texts(topics, cache, params)[1]
    TopicSpace.build(topics, cache, params)
    assert encoder.encoded_texts == len(topics[0].view_texts()) + len(matter_phrases())  # (and the matters' phrases)
