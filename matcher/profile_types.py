"""What flows into and out of a user's profile: the thresholds and weights of topic inference
(``ProfileParams``, documented in the README, 'How topics are inferred'), one user's posts as arrays
(``UserPosts``), and one topic's numbers, verdict and evidence (``TopicResult``)."""

import math
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class ProfileParams:
    """Thresholds and weights of topic inference."""

    like_weight: float = 1.0
    reply_weight: float = 2.0  # a reply costs the reader more than a like
    share_weight: float = 3.0  # a reshare puts the post in front of new people
    self_vote_platforms: tuple[str, ...] = ("reddit",)  # net score starts at 1: the author's own vote
    unit_share: float = 1 / 3  # engagement is counted in units of this share of the user's median engaged post
    prior_engagement: float = math.log1p(1.0)  # log-engagement (in the user's units) assumed before evidence
    prior_weight: float = 2.0  # the prior counts as this many posts when estimating a user's usual
    lift_shrinkage: float = 2.0  # pseudo-posts of zero lift added to each topic's engagement lift
    share_originality: float = 0.2  # a reshare counts this much of an original post
    duplicate_cosine: float = 0.95  # posts of one user this similar collapse to one ...
    duplicate_words: float = 0.5  # ... and so do posts sharing this share of their words (a template, words swapped)
    duplicate_min_words: int = 4  # ... when both have at least this many words (3+ letters, links and numbers out;
    # shorter posts: when their 2 or more words are all the same)
    duplicate_words_cosine: float = 0.8  # ... and are this similar in meaning (only such pairs' words are compared)
    member_min: float = 0.2  # membership at which a post counts as "about" the topic
    alone_min: float = 0.25  # a topic needs a post this similar to it read alone (classify's membership floor)
    half_life_days: float = 730.0  # recency weight halves every two years
    min_posts: int = 3
    min_days: int = 2
    day_gap_hours: float = 20.0  # posts closer than this count as the same day
    max_burst_share: float = 0.8  # at most this share of a topic's posts may fall within any 24 hours
    max_thread_share: float = 0.8  # ... and at most this share in any one thread (one thread's crowd of posts)
    min_threads: int = 2
    min_engaged_posts: int = 2  # posts with engagement above zero
    min_mean_engagement: float = 0.5  # weighted engagement per original post on the topic (absolute floor)
    min_lift: float = -0.7  # topic engagement may not sit far below the user's usual (log scale)
    min_confidence: float = 0.5
    confidence_scale: float = 2.5  # confidence = 1 - exp(-evidence / scale)
    clarity_post: int = 3  # clarity is the similarity of the user's 3rd closest post to the topic ...
    clarity_floor: float = 0.2  # ... mapped linearly from this similarity (clarity ~0) ...
    clarity_full: float = 0.5  # ... to this one (clarity 1)
    min_clarity: float = 0.03  # clarity never drops below this (a score stays comparable)
    min_plain: float = 0.30  # the 3rd closest post must be this similar to the topic: three posts at least halfway
    # into the membership ramp (classify: similarity 0.25 to 0.35), not chatter that only grazes the topic
    min_share_of_best: float = 0.5  # a topic's score must reach this share of the user's strongest topic's
    min_focus: float = 0.25  # no topic at all while no top-level topic group holds this share of the user's posts
    # plainly about a topic: posts on everything, each topic a thin slice (a firehose with a little engagement)
    focus_member: float = 0.85  # ... a post is plainly about a group at this summed membership in its topics (the
    # topic fit's "plainly", ``ClassifyParams.prototype_member``)
    focus_posts: int = 20  # ... judged from at least this many such posts of the user's own (fewer tell too little)
    evidence_posts: int = 5  # a topic's evidence: its strongest posts (``_describe``'s strength), shown with it
    evidence_pool: int = 20  # an inferred topic keeps this many, its evidence first: the posts a perk it brings is
    # shown with are chosen from them, those closest to the perk (``match``), not the topic's best whatever the perk
    max_candidates: int = 8


@dataclass(frozen=True)
class UserPosts:
    """One user's posts as arrays, row i = post i (sorted by post key for determinism)."""

    keys: list[int]  # database ids of the posts
    created_at: np.ndarray  # int64 Unix seconds
    likes: np.ndarray
    replies: np.ndarray
    shares: np.ndarray
    is_share: np.ndarray  # bool
    self_vote: np.ndarray  # bool: platform counts the author's own vote
    thread: list[str]  # context key, or the post's own key when it answers nothing
    text_vecs: np.ndarray  # (n, d) text-only vectors, for near-duplicate detection
    readable: np.ndarray | None = None  # bool: posts the model can read (``classify.readable``); None: all
    texts: list[str] | None = None  # the posts' texts, for near-duplicates by words (``word_set``); None: unknown
    copied: np.ndarray | None = None  # bool: another user posted the same text earlier (``copies``); None: none did
    inputs: bytes = b""  # read for a profile run: the posts' inputs as its digests read them (``matcher.incremental``)
    names: list[tuple[str, str]] | None = None  # (platform, post id): which of two posts of one second came first
    touchy: np.ndarray | None = None  # the sensitive matters it or its thread touches, bits (``sensitive_content``)


@dataclass(frozen=True)
class TopicResult:
    """One topic of one user: the numbers, the verdict and the evidence."""

    topic_id: str
    inferred: bool
    score: float
    confidence: float
    posts: int
    days: int
    engagement: float  # lift over the user's usual, log scale (0 = usual)
    details: dict[str, float | int | str | list[str]] = field(default_factory=dict)
    evidence: list[tuple[int, float]] = field(default_factory=list)  # (post key, weight)
