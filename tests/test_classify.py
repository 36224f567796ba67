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
from matcher.store import open_engine
from matcher.taxonomy import TopicInfo
from matcher.topic_space import TopicSpace, space_texts


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
