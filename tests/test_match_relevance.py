"""A perk's relevance to a topic: similarity relative to the perk's usual best topics, on hand-made numbers."""

import numpy as np

from matcher.match import MatchParams, perk_relevance


def test_a_broad_perk_fits_no_topic_as_well_as_a_specific_one_fits_its_own() -> None:
    # topics: 0 Air Travel, 1 Hotels, 2 Cooking, 3 Running
    similarity = np.array([
        [0.62, 0.30, 0.10, 0.12],  # lounge pass: plainly about air travel
        [0.50, 0.49, 0.48, 0.47],  # "a gift card for anything": near everything
        [0.10, 0.12, 0.15, 0.14],  # about nothing in the taxonomy
    ], dtype=np.float32)
    rel = perk_relevance(similarity, MatchParams(hub_topics=3))
    # the broad perk is more similar to Air Travel than the lounge pass is to Cooking, and nearly as similar as the
    # lounge pass is to Air Travel, yet it is far less relevant: it is just as close to everything else
    assert similarity[1, 0] > similarity[0, 2]
    assert rel[0, 0] > 1.2 > rel[1, 0] > 1.0
    assert np.isclose(rel[0, 0], 0.62 / np.mean([0.62, 0.30, 0.12]))
    # ranking a topic's perks by relevance puts the specific perk first
    assert np.argmax(rel[:, 0]) == 0
    # a perk about nothing is divided by the classifier's floor, not by its own tiny similarities: never relevant
    assert rel[2].max() < MatchParams().min_relevance


def test_relevance_keeps_shape_and_handles_an_empty_catalog() -> None:
    assert perk_relevance(np.zeros((0, 4), dtype=np.float32)).shape == (0, 4)
    rel = perk_relevance(np.array([[0.4, 0.3]], dtype=np.float32), MatchParams(hub_topics=5))
    assert rel.shape == (1, 2) and np.isclose(rel[0, 0], 0.4 / 0.35)


def test_a_perk_is_matched_only_through_the_topics_it_is_most_about() -> None:
    from matcher.match import closest_topics

    rel = np.array([
        [1.30, 1.00, 0.95, 0.92],  # a lounge pass: air travel first, three more above the 0.9 floor
        [1.00, 1.00, 1.00, 0.50],  # a tie at the third place keeps every tied topic
    ], dtype=np.float32)
    close = closest_topics(rel, 3)
    assert close.tolist() == [[True, True, True, False], [True, True, True, False]]
    assert closest_topics(rel, 2)[1].tolist() == [True, True, True, False]  # ties at the second place
    assert closest_topics(rel, 9).all() and closest_topics(rel[:0], 3).shape == (0, 4)


def test_a_perk_is_shown_with_the_topics_posts_closest_to_it_ties_to_the_stronger() -> None:
    from matcher.match import perk_evidence

    axes = np.eye(4, dtype=np.float32)
    keys = [11, 12, 13, 14, 15, 16, 17]  # strongest first
    vecs = axes[[0, 1, 1, 2, 0, 1, 3]]
    luggage, lounge = axes[1], axes[0]
    shown = perk_evidence((keys, vecs), np.stack([luggage, lounge]))
    assert shown[0][:3] == [12, 13, 16] and shown[1][:2] == [11, 15]  # each perk its own posts, stronger first
    assert all(len(s) == 5 and len(set(s)) == 5 and set(s) <= set(keys) for s in shown)
    assert perk_evidence(([21, 22], axes[[2, 3]]), np.stack([luggage])) == [[21, 22]]  # fewer posts: all of them
    assert perk_evidence(([], np.zeros((0, 4))), np.stack([luggage, lounge])) == [[], []]
    assert perk_evidence((keys, vecs), np.zeros((0, 4))) == []
