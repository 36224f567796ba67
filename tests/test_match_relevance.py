"""A perk's relevance to a topic: similarity relative to the perk's usual best topics, on hand-made numbers."""

import numpy as np

from matcher.perk_space import MatchParams, perk_relevance


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
    from matcher.perk_space import closest_topics

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


def _perk_space(relevance: list[list[float]], topics: list[tuple[str, str | None, bool]], targets=None,  # type: ignore[no-untyped-def]
                **params: float):
    """A ``PerkSpace`` over a hand-written relevance matrix (perks x topics); topics as (id, parent, sensitive)."""
    from types import SimpleNamespace

    from matcher.perk_space import PerkSpace, closest_topics

    ps = object.__new__(PerkSpace)
    ps.params = MatchParams(**params)
    ps.space = SimpleNamespace(ids=[t for t, _, _ in topics], topics=[
        SimpleNamespace(topic_id=t, name=t.title(), parent_id=p, sensitive=s) for t, p, s in topics])
    ps.relevance = np.array(relevance, dtype=np.float32)
    ps.perks = [SimpleNamespace(perk_id=f"k{i}") for i in range(len(relevance))]
    ps.close = closest_topics(ps.relevance, ps.params.perk_topics)
    ps.most_relevant = np.argsort(-np.where(ps.close, ps.relevance, 0.0), axis=0, kind="stable")[
        : ps.params.topic_perks].T
    ps.targets = targets or [set() for _ in relevance]
    ps.targeting = {}
    for i, named in enumerate(ps.targets):
        for topic_id in sorted(named):
            ps.targeting.setdefault(topic_id, []).append(i)
    ps.parents = {t: p for t, p, _ in topics}
    ps.column = {t: k for k, (t, _, _) in enumerate(topics)}
    return ps


def test_a_perk_is_about_a_sensitive_topic_that_fits_it_nearly_as_well_as_its_best_at_whatever_rank() -> None:
    """An adult store's voucher fits Shopping (1.04), Gifts and Fashion before Adult (0.94): it is still about Adult,
    and goes to nobody who has not opted in to it; an alternative-music festival (Music 1.11) is not made about the
    occult by Alternative's 0.91."""
    topics = [("shopping", None, False), ("gifts", None, False), ("fashion", None, False), ("adult", None, True)]
    ps = _perk_space([[1.04, 1.0, 0.98, 0.94], [1.11, 0.5, 0.4, 0.91]], topics)
    assert ps.sensitive == [["adult"], []]  # before the rule: only among a perk's 3 closest, so none
    assert ps.sensitive_reason(0, frozenset({"adult"})).startswith("sensitive: the perk is about Adult")
    assert ps.sensitive_reason(0, frozenset()) is None and ps.sensitive_reason(1, frozenset({"adult"})) is None


def test_a_catalog_targeting_a_parent_lets_its_perk_reach_users_through_a_child_it_fits() -> None:
    topics = [("a", None, False), ("b", None, False), ("c", None, False), ("leisure-child", "leisure", False),
              ("other-child", "x", False)]
    ps = _perk_space([[1.2, 1.1, 1.05, 0.95, 0.95]], topics, targets=[{"leisure"}])
    assert ps.admits(0, "a") and not ps.close[0, 3]  # its 3 closest; the children are 4th and 5th
    assert ps.admits(0, "leisure-child") and not ps.admits(0, "other-child")


def test_a_topics_query_also_weighs_the_perks_named_for_it_and_its_most_relevant() -> None:
    topics = [("travel", None, False), ("coffee", None, False)]
    ps = _perk_space([[1.3, 0.2], [0.2, 1.3], [0.2, 0.3]], topics, targets=[set(), set(), {"travel"}], topic_perks=1)
    assert ps.weighed(0, []) == {0, 2}  # the index found nothing: its most relevant, and the one named for it
    assert ps.weighed(1, [(1, 0.9)]) == {1}
    assert ps.weighed(0, [(1, 0.9)]) == {0, 1, 2}


def test_a_catalog_targeting_a_topic_reaches_the_ones_two_tiers_below_it_too() -> None:
    # IAB's taxonomy has four tiers: a perk aimed at Travel fits Airport Lounges (tier 3) but is closer to three other
    # topics; it reached users through a child of Travel only, never through a grandchild, though profiles and
    # opt-ins follow the whole line (helper-108's review)
    topics = [("a", None, False), ("b", None, False), ("c", None, False), ("travel", None, False),
              ("air", "travel", False), ("lounges", "air", False), ("other", "x", False)]
    ps = _perk_space([[1.2, 1.1, 1.05, 0.5, 0.5, 0.95, 0.95]], topics, targets=[{"travel"}])
    assert not ps.close[0, 5] and ps.admits(0, "lounges") and ps.targeted(0, "lounges") and ps.targeted(0, "air")
    assert not ps.admits(0, "other") and not ps.targeted(0, "a")
