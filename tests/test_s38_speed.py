"""Work outside the encoder in `profile` (issue 7): what was made cheaper gives the same results."""

import dataclasses
import pickle

import numpy as np

from matcher import profile_types
from matcher.profile_chunk import ReadUser
from matcher.profile_types import UserPosts


def _read_user() -> ReadUser:
    rng = np.random.default_rng(7)
    posts = UserPosts(keys=[3, 5, 9], created_at=np.array([1, 2, 3], dtype=np.int64), likes=np.array([0, 4, 1]),
                      replies=np.zeros(3, dtype=np.int64), shares=np.zeros(3, dtype=np.int64),
                      is_share=np.array([False, True, False]), self_vote=np.zeros(3, dtype=bool),
                      thread=["a", "b", "a"], text_vecs=rng.random((3, 4), dtype=np.float32),
                      readable=np.array([True, True, False]), texts=["one", "two", "three"],
                      copied=np.zeros(3, dtype=bool), inputs=b"(1, 'x')", names=[("reddit", "p3"), ("reddit", "p5"),
                                                                                   ("reddit", "p9")])
    return ReadUser(posts, np.array([False, False, True]), np.array([True, False, False]),
                    rng.random((3, 4), dtype=np.float32), rng.random((3, 2), dtype=np.float32))


def test_a_read_user_passes_through_the_run_process_with_its_posts_pickled_once(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The topic fit's users go from a worker to the run's process and back to a worker: in between, their posts are
    passed on as the bytes they came as, never unpickled nor pickled again (the run's process reads only their vectors
    and closeness; before, it rebuilt every post's objects, then pickled them again, about 0.05 s a chunk)."""
    user = _read_user()
    sent = pickle.dumps(user, protocol=pickle.HIGHEST_PROTOCOL)

    class NotHere:
        def __new__(cls, *args, **kwargs):  # type: ignore[no-untyped-def]
            raise AssertionError("the run's process unpickled a user's posts")

    with monkeypatch.context() as m:  # the run's process: a UserPosts made or pickled there fails
        m.setattr(profile_types, "UserPosts", NotHere)
        held = pickle.loads(sent)
        assert np.array_equal(held.vectors, user.vectors) and np.array_equal(held.closeness, user.closeness)
        assert np.array_equal(held.own, user.own) and np.array_equal(held.dup, user.dup)
        assert pickle.dumps(held, protocol=pickle.HIGHEST_PROTOCOL) == sent  # passed on as it came
    back = pickle.loads(pickle.dumps(held))
    for field in dataclasses.fields(UserPosts):
        mine, theirs = getattr(back.posts, field.name), getattr(user.posts, field.name)
        assert (np.array_equal(mine, theirs) and mine.dtype == theirs.dtype if isinstance(theirs, np.ndarray)
                else mine == theirs), field.name
    assert back.posts is back.posts  # unpickled once
