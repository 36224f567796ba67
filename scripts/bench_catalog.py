#!/usr/bin/env python3
"""Benchmark the catalog at scale: full load, 1% incremental refresh, memory, and HNSW recall against exact search.

    python scripts/bench_catalog.py [--perks 100000] [--encoder real|fake] [--seed 0] [--json]

Steps (everything lives in a temporary folder that is removed at the end):

1. generate a deterministic synthetic catalog of ``--perks`` perks (titles and descriptions composed from
   word lists over many themes and brands; some perks with regions, quantities and dates) as JSON Lines;
2. full load: ``catalog.refresh.refresh`` into a fresh SQLite database through an ``EmbeddingCache``;
3. edit 1% of the perks (half change their text, so they are re-embedded; half change only their
   eligibility: quantity or regions, so nothing is embedded), refresh again, and check the diff;
4. track the process RSS (current, via psutil, around each phase; peak, via getrusage);
5. build the HNSW index (``exact_limit=0``) and the exact one over the stored perk vectors, run 1,000
   noisy perk-vector queries against both, and report recall@10 of HNSW against exact, build times and
   queries/s (one query per call, as ``matcher.match`` searches, and all queries in one batched call; the
   one-by-one runs are repeated with FAISS limited to one OpenMP thread for comparison).

``--encoder fake`` uses ``FakeEncoder(dim=384)`` (bag-of-words, no model) for a quick check;
the default ``real`` loads the packaged all-MiniLM-L6-v2 (about 250 texts/s on 2 cores).
A progress line goes to stderr while embedding; the table (or with ``--json`` one JSON object) to stdout.
Exits 1 if a check on the refresh diff or the embedded counts fails.
"""

import argparse
import datetime as dt
import json
import random
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from catalog.index import HNSW_EF_SEARCH, HNSW_M, PerkIndex, build_index
from catalog.refresh import live_perks, refresh
from catalog.schema import PerkIn
from matcher.embed import EmbeddingCache
from matcher.encoder import Encoder, FakeEncoder, load_encoder
from matcher.store import open_engine, session

QUERIES = 1_000
K = 10
QUERY_NOISE = 0.3  # norm of the Gaussian noise added to a unit perk vector before renormalising
EDIT_SHARE = 0.01

# --- synthetic catalog -----------------------------------------------------------------------------------------

THEMES: dict[str, dict[str, list[str]]] = {
    "travel": {"things": ["flights", "hotel nights", "airport lounge passes", "carry-on luggage", "city breaks",
                          "travel insurance", "rail passes", "car rentals", "boutique hostels", "ferry tickets"],
               "doing": ["weekend getaways", "long-haul trips", "backpacking", "business travel", "road trips"]},
    "fitness": {"things": ["gym memberships", "yoga classes", "running shoes", "protein bars", "spin sessions",
                           "resistance bands", "climbing wall entry", "personal training", "smart watches"],
                "doing": ["marathon training", "strength workouts", "morning runs", "pilates", "home workouts"]},
    "food": {"things": ["meal kits", "pizza delivery", "coffee beans", "vegan snacks", "sushi platters",
                        "craft chocolate", "tasting menus", "spice boxes", "sourdough loaves", "ramen bowls"],
             "doing": ["home cooking", "date-night dinners", "baking", "brunch", "street food tours"]},
    "gaming": {"things": ["game passes", "mechanical keyboards", "gaming headsets", "controller skins",
                          "in-game currency", "indie game bundles", "console storage", "streaming gear"],
               "doing": ["co-op nights", "speedrunning", "esports tournaments", "retro gaming", "live streaming"]},
    "pets": {"things": ["dog food", "cat litter", "pet insurance", "grooming sessions", "chew toys",
                        "dog walking", "aquarium filters", "bird seed", "vet check-ups", "pet beds"],
             "doing": ["puppy training", "adopting a rescue", "dog park visits", "cat care", "pet sitting"]},
    "music": {"things": ["concert tickets", "vinyl records", "guitar lessons", "studio headphones",
                         "streaming subscriptions", "festival passes", "synth plugins", "drum sticks"],
              "doing": ["live gigs", "home recording", "learning piano", "DJ sets", "choir practice"]},
    "books": {"things": ["e-books", "audiobooks", "hardcover novels", "book club kits", "reading lights",
                         "comic subscriptions", "poetry collections", "library tote bags"],
              "doing": ["late-night reading", "book clubs", "literary festivals", "writing workshops"]},
    "tech": {"things": ["cloud storage", "wireless earbuds", "laptop stands", "password managers", "VPN plans",
                        "smart home hubs", "USB-C docks", "phone cases", "coding courses", "web hosting"],
             "doing": ["side projects", "remote work", "home office upgrades", "learning to code"]},
    "fashion": {"things": ["sneakers", "denim jackets", "linen shirts", "sunglasses", "winter coats",
                           "leather boots", "tailoring", "vintage dresses", "silk scarves", "wool socks"],
                "doing": ["capsule wardrobes", "thrift shopping", "street style", "seasonal refreshes"]},
    "beauty": {"things": ["skincare sets", "haircuts", "nail appointments", "fragrance samples", "sunscreen",
                          "beard oil", "makeup brushes", "spa days", "lip balms"],
               "doing": ["self-care Sundays", "skincare routines", "bridal prep", "grooming"]},
    "home": {"things": ["houseplants", "scented candles", "bedding sets", "kitchen knives", "cast-iron pans",
                        "storage boxes", "paint samples", "air purifiers", "robot vacuums", "throw blankets"],
             "doing": ["redecorating", "moving house", "spring cleaning", "DIY repairs", "hosting dinners"]},
    "outdoors": {"things": ["hiking boots", "tents", "camping stoves", "trail maps", "kayak rentals",
                            "climbing ropes", "rain jackets", "sleeping bags", "national park passes"],
                 "doing": ["wild camping", "day hikes", "paddling", "birdwatching", "trail running"]},
    "finance": {"things": ["savings accounts", "budgeting apps", "cashback cards", "tax filing help",
                           "investment courses", "currency exchange", "credit reports"],
                "doing": ["saving for a house", "paying off debt", "first-time investing", "budgeting"]},
    "parenting": {"things": ["strollers", "baby carriers", "nappies", "kids' books", "car seats",
                             "toddler classes", "school bags", "lunch boxes", "baby monitors"],
                  "doing": ["school runs", "family days out", "bedtime routines", "newborn weeks"]},
    "cycling": {"things": ["bike servicing", "helmets", "bike lights", "cycling jerseys", "e-bike rentals",
                           "bike locks", "inner tubes", "saddle bags", "indoor trainers"],
                "doing": ["commuting by bike", "gravel rides", "sportives", "bikepacking"]},
    "photography": {"things": ["camera lenses", "photo prints", "tripods", "editing software", "film rolls",
                               "memory cards", "photo walks", "camera bags"],
                    "doing": ["street photography", "portrait sessions", "wildlife shooting", "film developing"]},
    "gardening": {"things": ["seed packets", "raised beds", "garden tools", "compost bins", "fruit trees",
                             "watering cans", "bulbs", "garden gloves"],
                  "doing": ["growing vegetables", "balcony gardening", "composting", "allotment life"]},
    "coffee": {"things": ["espresso machines", "pour-over kits", "oat milk", "coffee subscriptions",
                          "travel mugs", "grinders", "barista courses", "single-origin beans"],
               "doing": ["slow mornings", "latte art", "home brewing", "cafe hopping"]},
    "film": {"things": ["cinema tickets", "streaming passes", "projectors", "popcorn makers", "film festival passes",
                        "soundbars", "box sets"],
             "doing": ["movie nights", "binge watching", "indie film screenings", "horror marathons"]},
    "education": {"things": ["language lessons", "online courses", "exam prep", "study planners", "tutoring",
                             "notebooks", "coding bootcamps", "flashcard apps"],
                  "doing": ["learning Spanish", "night school", "career changes", "exam season"]},
    "wellness": {"things": ["meditation apps", "massage sessions", "sleep trackers", "herbal teas",
                            "sauna visits", "journals", "breathing courses"],
                 "doing": ["better sleep", "mindfulness", "digital detox", "stress relief"]},
    "sports": {"things": ["match tickets", "football boots", "tennis lessons", "golf rounds", "team kits",
                          "swimming passes", "padel courts", "ski passes", "surf lessons"],
               "doing": ["five-a-side", "weekend leagues", "ski trips", "learning to surf"]},
    "crafts": {"things": ["knitting yarn", "pottery classes", "sewing machines", "paint sets", "embroidery kits",
                          "woodworking tools", "candle-making kits", "sketchbooks"],
               "doing": ["rainy-day crafting", "making gifts", "upcycling", "life drawing"]},
    "cars": {"things": ["car washes", "EV charging", "tyre fitting", "dash cams", "roadside assistance",
                        "parking passes", "detailing kits", "MOT checks"],
             "doing": ["long drives", "switching to electric", "weekend track days", "commuting by car"]},
}

BRAND_HEAD = ["North", "Blue", "Bright", "Urban", "Wild", "Golden", "Little", "Green", "Silver", "Happy", "True",
              "Red", "Open", "Quiet", "Bold", "Fresh", "Lucky", "Maple", "Harbor", "Summit", "Pixel", "Copper",
              "Cedar", "Nova", "Echo", "Atlas", "Orbit", "Willow", "Falcon", "Juniper", "Lumen", "Tidal"]
BRAND_TAIL = ["Co", "Labs", "Works", "House", "Supply", "Club", "Studio", "Market", "Goods", "Collective",
              "Outfitters", "Kitchen", "Hub", "Depot", "Society", "Bros", "Union", "Garage", "Room", "Yard"]
OFFERS = ["{pct}% off {thing}", "Free {thing} with your first order", "Two-for-one {thing}",
          "{thing}: first month free", "{money} off {thing}", "Members' price on {thing}", "Early access to {thing}",
          "Free trial of {thing}", "{thing} bundle at {pct}% off", "Double points on {thing}",
          "Exclusive {thing} drop", "{thing} upgrade on us"]
OPENERS = ["Perfect for {doing}.", "Made for people into {doing}.", "A treat for anyone who loves {doing}.",
           "Ideal if you are planning {doing}.", "For fans of {doing} and {doing2}.",
           "Great for {doing}, whatever your level."]
BODIES = ["{brand} gives you {pct}% off {thing} and {thing2}.", "Get {thing} from {brand} at member prices.",
          "{brand} covers your {thing} for the first {n} weeks.", "Pick up {thing} and get {thing2} free.",
          "Claim {money} off {thing} at {brand}, online or in store in {city}.",
          "Join {brand} and unlock {thing} plus {n} bonus credits.",
          "Our {adj} {thing} are {pct}% cheaper this season.",
          "Book {thing} through {brand} and we add {thing2}."]
CLOSERS = ["", "", "", " Limited stock.", " While supplies last.", " New customers only.", " Ends soon.",
           " No code needed.", " One per person.", " Stacks with loyalty rewards.", " Available in {city}."]
ADJECTIVES = ["premium", "eco-friendly", "handmade", "limited-edition", "best-selling", "award-winning",
              "locally made", "refurbished", "organic", "compact", "lightweight", "classic"]
CITIES = ["New York", "London", "Berlin", "Toronto", "Sydney", "Austin", "Manchester", "Dublin", "Lisbon",
          "Chicago", "Melbourne", "Paris", "Seattle", "Amsterdam", "Denver"]
REGIONS = ["US", "US-NY", "US-CA", "US-TX", "US-WA", "GB", "DE", "FR", "CA", "AU", "IE", "NL", "ES", "IT", "PT"]


def _fill(rng: random.Random, template: str, theme: dict[str, list[str]], brand: str) -> str:
    things = rng.sample(theme["things"], 2)
    doings = rng.sample(theme["doing"], 2)
    return template.format(
        thing=things[0], thing2=things[1], doing=doings[0], doing2=doings[1], brand=brand,
        pct=rng.choice([10, 15, 20, 25, 30, 40, 50]), money=f"${rng.choice([5, 10, 15, 20, 25, 50])}",
        n=rng.randint(2, 12), city=rng.choice(CITIES), adj=rng.choice(ADJECTIVES))


def make_perk(rng: random.Random, i: int, brands: list[str]) -> dict[str, Any]:
    """One synthetic perk; most are unique through the brand and the composed sentences."""
    names = list(THEMES)
    theme_name = names[int(rng.paretovariate(1.2) * 3) % len(names)]  # some themes much more common
    theme = THEMES[theme_name]
    brand = brands[int(rng.paretovariate(1.1) * 7) % len(brands)]
    title = _fill(rng, rng.choice(OFFERS), theme, brand)
    title = title[0].upper() + title[1:]
    description = " ".join(_fill(rng, rng.choice(part), theme, brand) for part in (OPENERS, BODIES))
    description += _fill(rng, rng.choice(CLOSERS), theme, brand)
    topics = [theme_name] + ([rng.choice(names)] if rng.random() < 0.2 else [])
    perk: dict[str, Any] = {"perk_id": f"perk-{i:07d}", "brand": brand, "title": title, "description": description,
                            "topics": sorted(set(topics))}
    if rng.random() < 0.3:
        perk["regions"] = sorted(rng.sample(REGIONS, rng.randint(1, 3)))
    if rng.random() < 0.4:
        perk["quantity"] = rng.choice([10, 25, 50, 100, 250, 500, 1000])
    if rng.random() < 0.25:
        start = dt.date(2026, 1, 1) + dt.timedelta(days=rng.randint(0, 300))
        perk["starts"] = start.isoformat()
        if rng.random() < 0.8:
            perk["ends"] = (start + dt.timedelta(days=rng.randint(7, 180))).isoformat()
    return perk


def make_catalog(n: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    brands = sorted({f"{h} {t}" for h in BRAND_HEAD for t in BRAND_TAIL})
    rng.shuffle(brands)
    return [make_perk(rng, i, brands) for i in range(n)]


def edit_catalog(perks: list[dict[str, Any]], seed: int) -> tuple[list[dict[str, Any]], int, int]:
    """A copy with 1% of perks edited: half a text change, half an eligibility-only change."""
    rng = random.Random(seed + 1)
    out = [dict(p) for p in perks]
    chosen = rng.sample(range(len(out)), round(len(out) * EDIT_SHARE))
    text_edits = len(chosen) // 2
    for j, i in enumerate(chosen):
        p = out[i]
        if j < text_edits:
            if j % 2:
                p["description"] = f"{p['description']} Updated offer #{j}: now also in {rng.choice(CITIES)}."
            else:
                p["title"] = f"{p['title']} (new for {2026 + j % 3}, round {j})"
        elif j % 2:
            p["quantity"] = (p.get("quantity") or 0) + rng.randint(1, 100)
        else:
            regions = set(p.get("regions", []))
            p["regions"] = sorted(regions | {rng.choice([r for r in REGIONS if r not in regions])})
    return out, text_edits, len(chosen) - text_edits


def write_jsonl(perks: list[dict[str, Any]], path: Path) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for perk in perks:
            handle.write(json.dumps(perk, ensure_ascii=False) + "\n")


def embed_texts(perks: list[dict[str, Any]]) -> set[str]:
    return {PerkIn.model_validate(p).embed_text() for p in perks}


# --- measurement helpers -----------------------------------------------------------------------------------------


class ProgressEncoder:
    """Wraps an encoder to advance a progress bar; same name and dim, so the cache keys are unchanged."""

    def __init__(self, inner: Encoder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.advance: Callable[[int], None] | None = None

    def encode(self, texts: list[str]) -> np.ndarray:
        vectors = self.inner.encode(texts)
        if self.advance:
            self.advance(len(texts))
        return vectors


def progress_bar(encoder: ProgressEncoder, label: str, total: int, enabled: bool) -> Any:
    """A rich progress line on stderr, fed by the encoder, for the duration of a `with` block."""
    if not enabled or total == 0:
        return nullcontext()
    from rich import progress as rp
    from rich.console import Console

    bar = rp.Progress(rp.TextColumn(f"[bold]{label}"), rp.BarColumn(), rp.MofNCompleteColumn(),
                      rp.TimeElapsedColumn(), rp.TextColumn("eta"), rp.TimeRemainingColumn(),
                      console=Console(stderr=True), transient=True)
    task = bar.add_task(label, total=total)
    encoder.advance = lambda n: bar.advance(task, n)
    return bar


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def note(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def timed_search(index: PerkIndex, queries: np.ndarray, one_by_one: bool) -> tuple[list[list[int]], float]:
    start = time.perf_counter()
    if one_by_one:
        hits = [index.search(q[None, :], K)[0] for q in queries]
    else:
        hits = index.search(queries, K)
    elapsed = time.perf_counter() - start
    return [[i for i, _ in row] for row in hits], len(queries) / elapsed


# --- the benchmark -----------------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    show = sys.stderr.isatty()
    m: dict[str, Any] = {"perks": args.perks, "encoder": args.encoder, "seed": args.seed}
    checks: list[str] = []
    rss: dict[str, float] = {"start": rss_mb()}

    note(f"loading encoder ({args.encoder}) ...")
    inner: Encoder = load_encoder() if args.encoder == "real" else FakeEncoder(dim=384)
    encoder = ProgressEncoder(inner)
    m["model"] = encoder.name
    rss["encoder loaded"] = rss_mb()

    note(f"generating {args.perks:,} perks ...")
    perks = make_catalog(args.perks, args.seed)
    edited, text_edits, eligibility_edits = edit_catalog(perks, args.seed)
    texts_v1 = embed_texts(perks)
    new_texts = embed_texts(edited) - texts_v1
    m["distinct_texts"] = len(texts_v1)

    with tempfile.TemporaryDirectory(prefix="bench_catalog_") as tmp:
        v1, v2 = Path(tmp) / "catalog_v1.jsonl", Path(tmp) / "catalog_v2.jsonl"
        write_jsonl(perks, v1)
        write_jsonl(edited, v2)
        m["file_mb"] = v1.stat().st_size / 2**20
        engine = open_engine(str(Path(tmp) / "bench.db"))
        cache = EmbeddingCache(engine, encoder)
        rss["catalog generated"] = rss_mb()

        note("full load ...")
        with session(engine) as s, progress_bar(encoder, "full load", len(texts_v1), show):
            start = time.perf_counter()
            result = refresh(s, str(v1), cache)
            m["full_load_s"] = time.perf_counter() - start
        m["full_load_embedded"] = result.embedded
        rss["after full load"] = rss_mb()
        m["peak_rss_after_full_load_mb"] = peak_rss_mb()
        if result.embedded != len(texts_v1) or len(result.diff.added) != args.perks:
            checks.append(f"full load embedded {result.embedded} / added {len(result.diff.added)}, "
                          f"expected {len(texts_v1)} / {args.perks}")

        note("1% refresh ...")
        with session(engine) as s, progress_bar(encoder, "refresh", len(new_texts), show):
            start = time.perf_counter()
            result = refresh(s, str(v2), cache)
            m["refresh_s"] = time.perf_counter() - start
        summary = result.summary()
        m["refresh_embedded"] = result.embedded
        m.update(changed=summary["changed"], added=summary["added"], retired=summary["retired"],
                 text_edits=text_edits, eligibility_edits=eligibility_edits)
        rss["after refresh"] = rss_mb()
        expected_changed = text_edits + eligibility_edits
        if (summary["changed"], summary["added"], summary["retired"]) != (expected_changed, 0, 0):
            checks.append(f"refresh diff changed/added/retired = {summary['changed']}/{summary['added']}/"
                          f"{summary['retired']}, expected {expected_changed}/0/0")
        if result.embedded != len(new_texts):
            checks.append(f"refresh embedded {result.embedded}, expected {len(new_texts)} (the text edits)")

        note("loading stored vectors ...")
        with session(engine) as s:
            live = live_perks(s)
        start = time.perf_counter()
        vectors = cache.get([record.text_hash for record in live])
        m["vector_load_s"] = time.perf_counter() - start
        ids = np.arange(len(live))
        del live
        engine.dispose()
        rss["vectors loaded"] = rss_mb()

        note("building indexes ...")
        start = time.perf_counter()
        exact = build_index(ids, vectors, exact_limit=10**9)
        m["exact_build_s"] = time.perf_counter() - start
        start = time.perf_counter()
        hnsw = build_index(ids, vectors, exact_limit=0)
        m["hnsw_build_s"] = time.perf_counter() - start
        rss["indexes built"] = rss_mb()

        rng = np.random.default_rng(args.seed)
        base = vectors[rng.integers(0, len(vectors), QUERIES)]
        noise = rng.standard_normal(base.shape).astype(np.float32) * (QUERY_NOISE / np.sqrt(base.shape[1]))
        queries = base + noise
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
        queries = queries.astype(np.float32)

        note(f"searching {QUERIES:,} queries ...")
        truth, m["exact_qps"] = timed_search(exact, queries, one_by_one=True)
        found, m["hnsw_qps"] = timed_search(hnsw, queries, one_by_one=True)
        truth_b, m["exact_batch_qps"] = timed_search(exact, queries, one_by_one=False)
        found_b, m["hnsw_batch_qps"] = timed_search(hnsw, queries, one_by_one=False)
        m["hnsw_recall_at_10"] = float(np.mean([len(set(t) & set(f)) / len(t) for t, f in zip(truth, found,
                                                                                               strict=True)]))
        if truth_b != truth or found_b != found:
            checks.append("batched search returned different results from one-by-one search")
        import faiss  # one query per call pays FAISS's OpenMP start-up on every call: compare with one thread

        threads = faiss.omp_get_max_threads()
        m["omp_threads"] = threads
        faiss.omp_set_num_threads(1)
        _, m["exact_qps_1thread"] = timed_search(exact, queries, one_by_one=True)
        _, m["hnsw_qps_1thread"] = timed_search(hnsw, queries, one_by_one=True)
        faiss.omp_set_num_threads(threads)
        rss["after search"] = rss_mb()

    m["peak_rss_mb"] = peak_rss_mb()
    m["rss_mb"] = rss
    m["hnsw_m"], m["hnsw_ef_search"] = HNSW_M, HNSW_EF_SEARCH
    m["checks"] = checks
    return m


def print_table(m: dict[str, Any]) -> None:
    rows = [
        ("perks / distinct texts", f"{m['perks']:,} / {m['distinct_texts']:,}  ({m['file_mb']:.1f} MB JSONL)"),
        ("encoder", f"{m['encoder']} ({m['model']})"),
        ("full load", f"{m['full_load_s']:.1f} s, embedded {m['full_load_embedded']:,} "
                      f"({m['full_load_embedded'] / m['full_load_s']:.0f} perks/s)"),
        ("1% refresh", f"{m['refresh_s']:.1f} s, embedded {m['refresh_embedded']:,}"),
        ("refresh diff", f"changed {m['changed']:,} (text {m['text_edits']:,} + eligibility "
                         f"{m['eligibility_edits']:,}), added {m['added']}, retired {m['retired']}"),
        ("peak RSS", f"{m['peak_rss_mb']:,.0f} MB (after full load {m['peak_rss_after_full_load_mb']:,.0f} MB)"),
        ("RSS by phase", ", ".join(f"{k} {v:,.0f}" for k, v in m["rss_mb"].items()) + " MB"),
        ("vector load", f"{m['vector_load_s']:.2f} s"),
        ("exact index", f"build {m['exact_build_s']:.2f} s, {m['exact_qps']:,.0f} q/s one-by-one, "
                        f"{m['exact_batch_qps']:,.0f} q/s batched, {m['exact_qps_1thread']:,.0f} q/s one-by-one "
                        f"with 1 thread"),
        (f"HNSW (M={m['hnsw_m']}, efSearch={m['hnsw_ef_search']})",
         f"build {m['hnsw_build_s']:.2f} s, {m['hnsw_qps']:,.0f} q/s one-by-one, "
         f"{m['hnsw_batch_qps']:,.0f} q/s batched, {m['hnsw_qps_1thread']:,.0f} q/s one-by-one with 1 thread"),
        ("HNSW recall@10 vs exact", f"{m['hnsw_recall_at_10']:.4f} ({QUERIES:,} queries)"),
        ("FAISS OpenMP threads", f"{m['omp_threads']} (q/s above use this unless marked '1 thread')"),
        ("checks", "OK" if not m["checks"] else "FAILED: " + "; ".join(m["checks"])),
    ]
    width = max(len(k) for k, _ in rows)
    print(f"catalog benchmark  (seed {m['seed']})")
    print("-" * (width + 60))
    for key, value in rows:
        print(f"{key:<{width}}  {value}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--perks", type=int, default=100_000, help="catalog size (default 100000)")
    ap.add_argument("--encoder", choices=["real", "fake"], default="real",
                    help="real: the packaged model (default); fake: FakeEncoder(dim=384), for quick runs")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    args = ap.parse_args()
    if args.perks < 200:
        ap.error("--perks must be at least 200 (1% of them are edited, in two halves)")
    m = run(args)
    if args.json:
        keys = ["full_load_s", "full_load_embedded", "refresh_s", "refresh_embedded", "changed", "peak_rss_mb",
                "hnsw_recall_at_10", "hnsw_build_s", "exact_qps", "hnsw_qps"]
        print(json.dumps({k: round(m[k], 4) if isinstance(m[k], float) else m[k] for k in keys}))
    else:
        print_table(m)
    sys.exit(1 if m["checks"] else 0)


if __name__ == "__main__":
    main()
