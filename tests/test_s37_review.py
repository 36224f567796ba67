"""Review of the day's change (helper-120): the users' digests read from the driver's rows, the match worked out again
when users drop out while it computes, a dry run on a read-only file."""

from collections import defaultdict

from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import aliased
from sqlmodel import col

from matcher import incremental
from matcher.embed import EmbeddingCache
from matcher.encoder import FakeEncoder
from matcher.explain import changed_since
from matcher.profile_run import latest_run, run_profile
from matcher.store import Post, ProfiledUser, session
from tests.test_incremental import WHEN, sample_lines, setup_db


def digests_as_stored_before(engine, as_of: int) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Each user's digest as the previous release stored it (``profiled_users``): each post's values as SQLAlchemy
    gave them (the share and copy flags as booleans), the text of each post's tuple, one after the other."""
    earlier = aliased(Post)
    copied = exists().where(col(earlier.text_key) == Post.text_key, col(earlier.user_id) != Post.user_id,
                            col(earlier.created_at) < Post.created_at)
    stmt = (select(Post.user_id, Post.id, Post.platform, Post.text_key, Post.context_key, func.length(Post.text),
                   Post.created_at, Post.likes, Post.replies, Post.shares, Post.is_share, copied.label("copied"))
            .where(col(Post.created_at) <= as_of).order_by(col(Post.user_id), col(Post.id)))
    posts: dict[str, bytes] = defaultdict(bytes)
    with engine.connect() as conn:
        for row in conn.execute(stmt):
            posts[row[0]] += repr(tuple(row[1:])).encode()
    return {u: incremental.inputs_digest(p, u, incremental.opt_ins(engine, [u])) for u, p in posts.items()}


def test_the_digests_an_earlier_release_stored_still_match_unchanged_users(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The digests were read from the driver's rows in a new form (a list per user, the flags as 0 or 1), so every
    digest stored before no longer matched: until a profile run computed everyone again, `explain` warned of every
    user that their posts or record had changed after the run, `status` counted a region changed as inputs changed,
    and `topics --changes` gave opt-ins as the reason. Now the digest keeps its form, read as fast."""
    engine = setup_db(tmp_path, "form", sample_lines())
    first = run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN)
    before = digests_as_stored_before(engine, WHEN)
    with session(engine) as s:  # (reshares among them: a flag read as True, not 1)
        assert s.exec(select(func.count()).select_from(Post).where(col(Post.is_share))).one()[0] > 0
    with session(engine) as s:
        stored = dict(s.exec(select(ProfiledUser.user_id, ProfiledUser.digest)
                             .where(ProfiledUser.run_id == first.run_id)).all())
    assert {u: d for u, d in stored.items() if u in before} == before  # the form a run stores: before, another
    assert incremental.user_digests(engine, sorted(before), WHEN) == before
    with session(engine) as s:  # a database the previous release profiled holds these
        for user_id, digest in before.items():
            s.exec(update(ProfiledUser).where(col(ProfiledUser.run_id) == first.run_id)  # type: ignore[call-overload]
                   .where(col(ProfiledUser.user_id) == user_id).values(digest=digest))
        s.commit()
    run = latest_run(engine, "profile")
    assert run is not None and not changed_since(engine, run, "u-maya")  # before: True, and `explain` warned
    again = run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=WHEN)
    assert again.recomputed == 0 and again.reused == first.users  # before: everyone computed again
    engine.dispose()
