"""Review of the matching and assignment stage: each test here failed before the fix it names (or, where the fix is
not made, still fails and is marked ``xfail(strict=True)`` with the defect it shows)."""



from matcher.assign import Candidate, lost_reasons
from matcher.match import region_ok


def test_a_perk_for_a_subdivision_serves_the_subdivisions_iso_places_inside_it() -> None:
    # ISO 3166-2 nests subdivisions: London (GB-LND) is in England (GB-ENG), Barcelona (ES-B) in Catalonia (ES-CT),
    # Paris (FR-75C) in Ile-de-France (FR-IDF). A perk for England was withheld from a Londoner ("region: the perk
    # is for GB-ENG; the user is in GB-LND"), though a perk for GB served them.
    assert region_ok("GB-LND", ["GB-ENG"])
    assert region_ok("ES-B", ["ES-CT"])
    assert region_ok("FR-75C", ["FR-IDF"])
    # ... and the rest holds: a part does not serve the whole, nor a sibling
    assert region_ok("GB-LND", ["GB"]) and not region_ok("GB-ENG", ["GB-LND"]) and not region_ok("GB-SCT", ["GB-ENG"])
    assert not region_ok("ES-CT", ["ES-B"]) and not region_ok("US-NJ", ["US-NY"])


def test_a_per_user_limit_of_zero_is_put_into_words_not_a_key_error() -> None:
    # ``assign`` takes per_user 0 (nothing is given) but ``lost_reasons``, which ``run_match`` calls next, looked up
    # the user's lowest assigned score, of none: KeyError ('user', 'ann')
    cands = [Candidate("ann", "p", "Acme", 0.5, None)]
    lost = lost_reasons([], cands, per_user=0, per_brand=1)
    assert lost["ann"][0][2].startswith("per-user limit")
    lost = lost_reasons([], cands, per_user=1, per_brand=0)
    assert lost["ann"][0][2].startswith("brand limit") and "already gets 0" not in lost["ann"][0][2]
