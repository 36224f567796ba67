"""What each post says before any topic (``matcher.post_signals``): here, the order of a user's posts in time."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.post_signals import time_order
from matcher.profile_types import UserPosts


def _posts(times: list[int], names: list[tuple[str, str]] | None) -> UserPosts:
    n = len(times)
    return UserPosts(keys=list(range(n, 0, -1)), created_at=np.array(times, dtype=np.int64), likes=np.zeros(n, int),
                     replies=np.zeros(n, int), shares=np.zeros(n, int), is_share=np.zeros(n, bool),
                     self_vote=np.zeros(n, bool), thread=[f"t{i}" for i in range(n)], text_vecs=np.zeros((n, 4)),
                     names=names)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.sampled_from(["reddit", "twitter"]), st.text("ab", max_size=3)),
                max_size=12, unique_by=lambda post: post[1:]))
def test_posts_are_ordered_by_time_then_platform_and_post_id(posts: list[tuple[int, str, str]]) -> None:
    """Oldest first; posts of the same second by (platform, post id), whatever order they are stored in: times
    from a few seconds, so that some share one (read by names) and some do not (read by time alone, the quick way)."""
    times, names = [t for t, *_ in posts], [(platform, post_id) for _, platform, post_id in posts]
    order = time_order(_posts(times, names))
    assert order.dtype == np.int64
    assert order.tolist() == sorted(range(len(posts)), key=lambda i: (times[i], names[i]))


def test_posts_without_names_of_the_same_second_are_ordered_by_key() -> None:
    """Without (platform, post id), posts of one second come by key: the order they were stored in."""
    assert time_order(_posts([7, 3, 7, 3], None)).tolist() == [3, 1, 2, 0]
