# ruff: noqa: E501
"""Generate the demo sample data that ships in ``matcher/data/sample/``.

Usage::

    python scripts/make_sample_data.py                 # writes matcher/data/sample/{posts,users}.jsonl + catalog.yaml
    python scripts/make_sample_data.py --seed 7 --out /tmp/sample

Standard library only and fully deterministic: every random choice comes from one
``random.Random(seed)`` and nothing depends on the clock, so the same seed always writes
byte-identical files. Re-run it after editing the fragments below and commit the output.

What it writes (the project's public input formats):

* ``posts.jsonl``: one post per line: post_id, user_id, text, created_at (ISO-8601, UTC "Z"),
  platform (twitter | reddit | mastodon | blog), likes (may be negative on reddit), replies, shares,
  optional context (the thread title / parent post a reply answers), is_share.
* ``users.jsonl``: user_id, handle, region (ISO 3166), consent (opted_in | opted_out, or absent),
  and ``sensitive_opt_in`` for the one user who chose to share a sensitive topic.
* ``catalog.yaml``: about 60 perks from fictional brands (topics only from the taxonomy, never a
  sensitive one; a few with regions, quantities, and start/end dates: two already ended, one
  starting in 2031).

The cast is built so that ``perkmatch demo`` makes its point at a glance:

* ``u-maya`` (maya_travels, US-NY) writes about flights, lounges, hotels, packing and points for
  two years with steady real engagement: she should get the travel perks, with the evidence.
* The accounts that try to game, or accidentally fool, a naive matcher should get nothing from it:
  a firehose posting on every topic with no engagement, a one-viral-post account, a reshare-only
  account, a spammer repeating one sneaker promo, a one-day crypto burst, a huge account whose
  fitness posts do far worse than its own usual, and the consent / sensitive-topic cases.
* About twenty ordinary users with one to three real interests and some everyday noise.

Posts are composed from many hand-written fragments (topic sentence + optional follow-up +
occasional tag, emoji or link, or a short reply with its thread context) so that a user's posts are
genuinely different sentences: the pipeline collapses near-duplicates, and only the spammer is
meant to trip that. Templates may contain ``{slot}`` (a random pick from SLOTS; ``{city2}`` is a
second, different city) and ``{a-b}`` (a random whole number in [a, b]).

Rules the generator keeps, so that edits stay safe:

* No user repeats a fragment of a bank until the bank is used up (``Builder.pick``), and the
  extras (reddit's two-sentence posts, blog paragraphs) only use fragments the user can spare, so
  every bank must hold more fragments than its heaviest user writes posts on it.
* Topic fragments name their topic in plain words ("dog walk", "board game", "coding"): topics are
  inferred by embedding similarity to short topic descriptions, and a post that never says what it
  is about is, to the model, about nothing.
* A reply in someone else's thread gets about half the engagement of the user's own posts on the
  topic; the everyday noise gets almost none.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import re
from pathlib import Path

SEED = 20260101
FIRST_DAY = dt.date(2024, 6, 1)
LAST_DAY = dt.date(2026, 11, 15)
PREFIX = {"twitter": "tw", "reddit": "rd", "mastodon": "md", "blog": "bl"}

# --------------------------------------------------------------------------- slots

SLOTS: dict[str, list[str]] = {
    "city": ["Lisbon", "Tokyo", "Mexico City", "Reykjavik", "Seoul", "Marrakech", "Copenhagen",
             "Buenos Aires", "Hanoi", "Cape Town", "Istanbul", "Oaxaca", "Porto", "Kyoto", "Singapore",
             "Dublin", "Montreal", "Athens", "Bangkok", "Vienna", "Edinburgh", "Lima", "Taipei", "Naples",
             "Tbilisi", "Osaka", "Bogotá", "Seville"],
    "airport": ["JFK", "LGA", "Newark", "Heathrow", "CDG", "Frankfurt", "Schiphol", "Doha", "Narita",
                "Haneda", "Incheon", "SFO", "O'Hare", "DFW", "Atlanta", "Miami", "Denver", "Toronto Pearson",
                "Istanbul", "Zurich", "Lisbon", "Changi", "Mexico City", "Logan"],
    "airline": ["Skyway", "Northstar Air", "Meridian", "Bluecrest", "Atlantica", "Pacific Reach"],
    "country": ["Portugal", "Japan", "Mexico", "Iceland", "Vietnam", "Morocco", "Greece", "Peru",
                "Georgia", "Colombia", "Italy", "Korea", "Chile", "Turkey"],
    "weekday": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    "month": ["January", "February", "March", "April", "May", "June", "July", "August", "September",
              "October", "November", "December"],
    "city_us": ["Moab", "Bend", "Santa Fe", "Asheville", "Big Sur", "Marfa", "Sedona", "Flagstaff",
                "Missoula", "Boise", "Taos", "Bozeman", "Joshua Tree", "Mendocino", "Jackson", "Durango"],
    "state_us": ["Utah", "Oregon", "New Mexico", "Arizona", "Montana", "Colorado", "Nevada", "Idaho",
                 "Wyoming", "Washington"],
    "origin": ["Ethiopian Yirgacheffe", "Kenyan AA", "Colombian Huila", "Guatemalan Antigua", "Rwandan",
               "Costa Rican honey-process", "Sumatran", "Burundi", "Peruvian", "Honduran", "Panama Geisha",
               "Ethiopian Guji"],
    "race": ["Brooklyn Half", "Chicago Marathon", "city 10k", "Berlin Marathon", "local turkey trot",
             "Shamrock Run", "Big Sur Marathon", "county half marathon", "Bay to Breakers", "harbor 10-miler"],
    "cuisine": ["Thai", "Mexican", "Korean", "Moroccan", "Sichuan", "Ethiopian", "Japanese", "Lebanese",
                "Vietnamese", "Georgian", "Peruvian", "Sri Lankan"],
    "gamerank": ["Gold II", "Platinum IV", "Diamond III", "Silver I", "Master"],
    "genre": ["sci-fi", "horror", "romance", "western", "thriller", "heist", "coming-of-age", "war"],
    "decade": ["'70s", "'80s", "'90s", "'60s"],
    "wine_region": ["Burgundy", "Rioja", "Willamette Valley", "Barolo", "Napa", "the Mosel", "the Douro",
                    "Sancerre", "Mendoza", "the Barossa", "the Loire", "Beaujolais", "Etna"],
    "grape": ["Pinot Noir", "Nebbiolo", "Riesling", "Chenin Blanc", "Syrah", "Grenache", "Sangiovese",
              "Gamay", "Tempranillo", "Cabernet Franc", "Albariño", "Grüner Veltliner"],
    "beer_style": ["hazy IPA", "West Coast IPA", "Czech pilsner", "imperial stout", "saison", "gose",
                   "Baltic porter", "Kölsch", "barleywine", "Belgian tripel", "Berliner Weisse", "ESB"],
    "trail": ["the ridge trail", "the lake loop", "the old fire road", "the canyon trail", "the waterfall trail",
              "the north summit route", "the coastal path", "the larch valley trail", "the saddle trail"],
    "sneaker": ["Jordan 1 Chicago", "Dunk Low Panda", "New Balance 990v6", "Air Max 1", "Samba OG",
                "Yeezy 350", "Asics Gel-Kayano 14", "Air Force 1", "Jordan 4 Bred", "Salomon XT-6"],
    "lang": ["Rust", "Python", "Go", "TypeScript", "Kotlin", "Elixir", "C++", "Zig"],
    "album_era": ["1970s soul", "'80s synth-pop", "'90s trip-hop", "1960s jazz", "Krautrock", "early house",
                  "'70s Afrobeat", "bossa nova", "post-punk", "'90s Britpop"],
    "book_genre": ["literary novel", "historical novel", "mystery", "family saga", "short story collection",
                   "fantasy novel", "debut novel", "translated novel"],
    "stack": ["Postgres", "Redis", "Kubernetes", "the CI pipeline", "the ORM", "the build system", "the test suite"],
    "dog": ["Max", "Luna", "Pepper", "Moose", "Waffles", "Olive"],
    "cat": ["Miso", "Pickle", "Juno", "Biscotti", "Pesto"],
    "handle_rt": ["@runnersdaily", "@trackandtrail", "@marathonhq", "@coach_kemi", "@milesandgels",
                  "@stridemag", "@longrun_lucy", "@splits_and_pace"],
}

EMOJI = ["🙌", "😅", "✨", "🙃", "👀", "💯", "😂", "🥲", "👏", "🤞", "😍", "🫠"]
LINK_PATHS = ["p", "post", "notes", "2025", "blog", "r", "s"]

AN_RE = re.compile(r"\b([Aa]) (?=Ethiopian|imperial|Albariño|ESB|early|Air |Asics|'8\ds)")  # "a" -> "an" before slot values
SLOT_RE = re.compile(r"\{(\d+)-(\d+)\}|\{([a-z_]+?)(\d*)\}")


def baby_age(born: dt.date, when: dt.datetime) -> str:
    days = (when.date() - born).days
    if days < 56:
        return f"{max(1, days // 7)}-week-old"
    months = days * 12 // 365
    return f"{months}-month-old" if months < 24 else f"{months // 12}-year-old"


def fill(tpl: str, rng: random.Random, user: dict, when: dt.datetime) -> str:
    """Fill ``{slot}``, ``{slot2}`` (a different value of the same slot) and ``{a-b}`` in a template.

    ``user["pin"]`` may fix a slot's value for the post being written (see Builder.compose)."""
    used: dict[str, set[str]] = {}

    def one(m: re.Match[str]) -> str:
        if m.group(1):
            return str(rng.randint(int(m.group(1)), int(m.group(2))))
        base = m.group(3)
        if base == "baby_age":
            return baby_age(user["born"], when)
        pool = user.get("slots", {}).get(base) or SLOTS[base]
        seen = used.setdefault(base, set())
        pinned = user.get("pin", {}).get(base)
        if pinned:  # one post talks about one city: {city} is the same everywhere in it, {city2} differs
            seen.add(pinned)
            if not m.group(4):
                return pinned
        value = rng.choice([v for v in pool if v not in seen] or pool)
        seen.add(value)
        return value

    return AN_RE.sub(r"\1n ", SLOT_RE.sub(one, tpl))


def lines(block: str) -> list[str]:
    return [ln.strip() for ln in block.strip().splitlines() if ln.strip() and not ln.strip().startswith("#")]


def pairs(block: str) -> list[tuple[str, str]]:
    out = []
    for ln in lines(block):
        ctx, _, reply = ln.partition("||")
        out.append((ctx.strip(), reply.strip()))
    return out


def bank(posts: str, extras: str = "", replies: str = "", tags: str = "") -> dict:
    return {"posts": lines(posts), "extras": lines(extras), "replies": pairs(replies), "tags": tags.split()}


BANKS: dict[str, dict] = {}

# --------------------------------------------------------------------------- travel

BANKS["air"] = bank(
    """
    Boarding group {3-6} on a completely full {airline} flight to {city}. Overhead bin strategy: pray.
    {3-7} hour layover at {airport} airport and the only open food place near my gate is a sad pretzel stand.
    The airport lounge at {airport} was surprisingly calm before my flight: quiet seats, an outlet at every chair, decent breakfast.
    Got moved to an exit row on the red-eye to {city} and I have never been this emotional about legroom.
    Pro tip: the quietest lounge at {airport} is the one past the last gate that nobody bothers walking to.
    Missed my connection at {airport} by 6 minutes. Rebooked on the 9:40pm. The lounge day pass is paying for itself tonight.
    Window seat, noise-cancelling headphones and {3-7} hours of clouds over the Atlantic. Perfect afternoon.
    Why does every airline app crash at the exact moment you need to check a gate change
    Flight to {city} delayed {2-5} hours for a "crew timing issue". The gate agent deserves a raise for staying that calm.
    Sunrise above the clouds from my window seat, {10-38}A, on the flight to {city}.
    Cleared security at {airport} in 4 minutes with PreCheck. Now what do I do with the other 90.
    Every time I fly {airline} I remember why I chase their status. Priority boarding alone saves my sanity.
    Red-eye to {city}: slept maybe 40 minutes, watched two movies, ate a mystery pasta. Going exploring anyway.
    Lounge ranking after this trip: {airport} > {airport2} > anywhere that still charges for wifi.
    The flight attendant on my {airline} flight to {city} moved me to an empty row so I could sleep. Legend.
    Took the 6am flight to save $90. Future me is furious with past me.
    Airport sushi at {airport} was shockingly good. Would layover there again.
    Shoutout to the gate agent at {airport} who found me a seat on the earlier flight home.
    Walked {5-12}k steps between terminals during the layover at {airport}. Counting it as leg day.
    Turbulence over {country} was so bad the pilot stopped the cabin service. Held my armrest for an hour of the flight.
    Flew {airline} business on points for the first time and I finally understand the lie-flat seat obsession.
    The lounge shower at {airport} after a {9-16}-hour flight is the closest I get to a spa day.
    Gate changed three times at {airport}. We have now toured the entire terminal as a group.
    My carry-on officially fits the {airline} sizer. Measured it at home twice just to be sure.
    Landed in {city} 40 minutes early and then spent 90 in passport control. Balance restored.
    Seat {10-40}C on an {8-13} hour flight and the person in front reclined before takeoff. We go again.
    Booked an open-jaw into {city} and out of {city2} for less than a round trip. Still can't believe it priced out.
    Airport lounge review, {airport} Skyway Club: great runway views, quiet seats by the gates, decent food before a long flight.
    Free wifi on the whole flight to {city}. Answered zero emails and watched travel vlogs instead.
    The airport in {city} has a nap pod, a tiny library and a rooftop garden. Other airports, take notes.
    Sat on the tarmac at {airport} for {40-120} minutes with no AC. Still rather be traveling than not.
    Did a mileage run flight to {city} and back in 36 hours. Friends think I'm unwell. My airline elite status disagrees.
    Jet lag after {city} hit at 3pm like a truck. Forcing myself to stay up until 10.
    Upgraded to premium economy at the gate for ${80-150} on a long-haul to {city}. Best money I spent all trip.
    The boarding pass scanner at the gate beeped red and my heart stopped. Just a seat change on the flight. To an aisle!
    Overnight flight hack: eat in the lounge, skip the meal service, sleep the moment the seatbelt sign goes off.
    """,
    """
    Next stop: {city}.
    Lounge visits this year: {4-14}. No regrets.
    Still the best way to start a trip.
    Anyone flown {airline}'s new cabin yet?
    Already checking fares for the spring.
    Window seat forever.
    Writing up the full trip report this week.
    Boarding pass on my phone, screenshot as backup, paper copy as backup to the backup.
    The points were worth it.
    Noise-cancelling headphones remain the best travel purchase I've ever made.
    Travel days are long but I love them.
    """,
    """
    What's the worst layover you've had? || lol same, {9-16} hours with two layovers, one of them at {airport}
    Aisle or window? || window seat, every time. I need to watch the plane land
    Is a lounge day pass ever actually worth it? || anything over 3 hours, yes. showers + real food + quiet
    Share your best airport food find || the ramen counter past gate {10-40} at {airport} airport, best layover food
    Anyone else get anxious about tight connections? || had a {35-55} minute connection at {airport} once and sprinted to the gate. made the flight, barely
    How early do you really get to the airport? || {60-120} min for international, then straight to the lounge
    Best airline you've flown lately? || {airline} on the {city} route surprised me, lovely crew and a decent meal
    Unpopular travel opinion? || red-eyes are underrated if you get a window seat and skip the meal
    Has anyone tried the new lounge at {airport}? || yes! go before 7am, it fills up once the European departures start boarding
    Flight delayed again, how do you cope? || lounge, podcast, and an extremely large pretzel
    How do you beat jet lag? || sunlight the moment I land and no naps longer than 20 minutes
    """,
    "#travel #avgeek #wanderlust #layover #frequentflyer",
)

BANKS["hotels"] = bank(
    """
    Checked into a tiny family-run guesthouse in {city}. The owner gave us a hand-drawn map of the neighborhood and the best room in the house.
    The hotel in {city} upgraded us to a room with a balcony for no reason at all. The sunset from up here is unreal.
    Late checkout is the most underrated hotel perk. 2pm checkout in {city} meant one more swim.
    The hotel front desk in {city} remembered my name from my stay two years ago. That is how you earn loyalty.
    Paid $40 extra for the sea view room in {city} and I've been staring out the window for an hour. Worth it.
    Hotel breakfast power ranking: {city} wins this trip for the fresh pastry table and actual good coffee.
    Our room in {city} has a bathtub in the middle of the bedroom. A design choice. A bold one.
    Two nights at a ryokan outside Kyoto: tatami floors, an onsen and a nine-course dinner. Ruined for normal hotels now.
    The hotel gym in {city} is one treadmill and a single sad dumbbell. Still love this hotel.
    Tried a capsule hotel in {city}. Spotless and quiet, not designed for anyone over 5'9.
    The rooftop pool at our {city} hotel opens at 7am and nobody is there. My favorite hour of the whole trip.
    Hotel points finally turned into a free night in {city}. Been collecting since last spring.
    Our rental in {city} advertised a "cozy" kitchen. Cozy means one burner and zero pans.
    Asked for a quiet room away from the elevator in {city}. Got the room next to the ice machine. Win some, lose some.
    The hotel in {city} left a handwritten card and local chocolates for our anniversary. Tiny gesture, huge impact.
    Suite upgrade in {city}!! Living room, two bathrooms and a view over the old town.
    Email the hotel a week before you arrive and politely ask about upgrades. Worked {2-5} times for me this year.
    Slept 11 hours straight in our hotel room in {city}. Hotel blackout curtains should be a human right.
    The boutique hotel in {city} has a record player and a stack of vinyl in every room. Stayed in all evening.
    Hotel wifi in {city} tonight: {1-4} Mbps. Uploading one photo at a time like it's 2004.
    Booked the cheapest room at a grand old hotel in {city} just to have breakfast in that dining room.
    Hotel housekeeping in {city} folded my pajamas into a swan. I feel very looked after.
    """,
    """
    Would absolutely stay again.
    Leaving them a glowing review.
    Full hotel review going on the blog.
    The staff made the whole stay.
    Already looking at rates for next year.
    """,
    """
    Hotel or Airbnb? || hotel for short trips, an apartment for anything over 5 nights
    Best hotel perk? || late checkout. nothing else comes close
    Where did you stay in {city}? || a small place near the old market, sending you the name
    Do you ever ask for upgrades at check-in? || always ask at the hotel desk, politely. it works more often than you'd think
    What makes a hotel great for you? || blackout curtains, an outlet by the bed and a front desk that cares
    """,
    "#hotels #travel #staycation #wanderlust",
)

BANKS["planning"] = bank(
    """
    Packing {5-14} days in {city} into a single carry-on. The packing cubes are doing the heavy lifting.
    The {city} itinerary is done: {3-5} days, two museums max, and at least one afternoon with zero plans.
    Transferred my credit card points to book the flight to {city}. About ${400-900} less than paying cash.
    My packing list has evolved over {20-40} trips and I think it's finally perfect. Rolling beats folding.
    The spreadsheet for the {city} trip has {6-12} tabs. Color coded. I regret nothing.
    Travel insurance paid out ${600-2400} when my bag vanished on the way to {city}. Always buy it.
    Points update: {40-120}k miles banked, aiming for a business class redemption to {city} next spring.
    Spent the evening pinning every bakery in {city} onto my itinerary map. Priorities.
    Reminder to check your passport expiry date! Plenty of countries want six months of validity left.
    Carry-on only for two weeks across {country}: four shirts, two trousers and one very good jacket.
    Booked the train from {city} to {city2} instead of flying. No security line and the views are the point.
    Itinerary tip: plan day one in a new city around a walking tour. You'll know your way around by lunch.
    Signed up for a travel card for the {50-80}k point bonus. Lounge access alone covers the annual fee.
    AirTag in every bag since the {city} luggage saga. Never again.
    How I plan a trip: flights first, then one anchor hotel, then leave half the days unplanned.
    Compression packing cubes are magic. Got a winter coat into the carry-on for {city}.
    Trip #{8-15} of the year is booked: {city} in {month}. Found the fare on a random {weekday} night.
    Built a map list of {30-80} places for {city}. We'll get to maybe a third and that's fine.
    Learned the hard way: photograph your checked bag before you hand it over. Lost-bag claims go so much faster.
    Alarm set for exactly 24 hours before the {city} flight so I can check in and grab an aisle seat.
    Money tip for {city}: skip the airport exchange desk and bring a card with no foreign transaction fees.
    I keep a toiletry bag permanently packed. Saves me {10-20} minutes and one forgotten toothbrush per trip.
    My points strategy: one main airline, one flexible points card, zero guilt about redemptions.
    Global Entry renewed! The interview took five minutes.
    Two-week plan: {city} → {city2} → home. Trains in between, one flight at the very end.
    Trying to travel lighter this year: one carry-on and one tote, every trip, no exceptions.
    Booked the whole {city} trip on points: flight, hotel and the airport transfer. Cash spent: ${20-90} in taxes.
    My travel budget spreadsheet says I spent {20-40}% less this year by traveling in shoulder season.
    Passport renewal came back in {3-6} weeks. If you have summer trips, start now.
    First draft of the {city} day-by-day: markets in the morning, a long lunch, one neighborhood each afternoon.
    Checked bag or carry-on for {10-21} days in {country}? Leaning carry-on plus laundry halfway through.
    Used a stopover to spend {2-3} free days in {city} on the way to {city2}. Best itinerary trick I know.
    """,
    """
    Trip report coming soon.
    Happy to share the packing list if anyone wants it.
    Where should I go next?
    Points nerds, check my math.
    Future me will thank me.
    Saving this for the next trip.
    """,
    """
    Packing cubes: worth it? || yes, get the compression ones. changed my life, not exaggerating
    How do you plan a trip? || flights first, then the hotel, then a map full of bakeries
    What card do you use for travel points? || one flexible points card plus one airline card, and I transfer when there's a bonus
    Carry-on only for two weeks, possible? || did {city} for 16 days with a carry-on and one laundry stop. totally doable
    What's on your packing list that nobody expects? || a tiny extension cord. hotel outlets are always behind the bed
    Where are you going next? || {city} in {month}! first time, tips welcome
    Travel insurance, yes or no? || yes. one lost bag and it paid for itself for years
    """,
    "#travel #packinglist #travelhacks #pointsandmiles #itinerary",
)

BANKS["roadtrip"] = bank(
    """
    Drove {200-400} miles up the coast today with the kids asleep in the back. Stopped at every single viewpoint.
    Road trip snack ranking after 600 miles of driving: gas station jerky > trail mix > sad triangle sandwiches.
    Day {2-6} of the road trip, rolling into {city_us}. The motels got better, the coffee did not.
    Highway 1 at golden hour. I will never get tired of this drive.
    Road trip playlist for the drive was {4-9} hours long and we still ran out before {city_us}.
    Took the scenic byway instead of the interstate. Added 45 minutes. Best call of the whole trip.
    Road trip night at a tiny motel in {city_us} with a neon sign and a pool nobody has used since 1987. Perfect.
    Roadside diner pie in {city_us}. I would drive another 300 miles for that slice.
    State line #{3-9} of the road trip. The kids are keeping a license plate tally in the back seat.
    Best thing about a road trip: stopping wherever looks interesting. Today that was a giant fiberglass dinosaur.
    Motels and diner food for {5-8} days came in under ${600-1100}. Road trips are the original budget travel hack.
    Out the car windshield: desert, cactus, exactly one tumbleweed. {city_us} in two hours of driving.
    Road trip rule in our car: nobody drives more than four hours in a row. It has saved our marriage.
    Pulled the car over for the sunset outside {city_us} on our road trip and sat on the hood for an hour.
    Found a scenic overlook that isn't on any map. This stretch of highway keeps surprising me.
    Back from a {1200-2600} mile road trip loop through {state_us}. Odometer and heart both full.
    Route planned for the long weekend: {city_us} → {city_us2}, back roads only, no interstates.
    Cooler packed, camp chairs in the trunk of the car, podcasts downloaded. Road trip season is open.
    """,
    """
    Road trip season!
    Already planning the next loop.
    Back roads forever.
    """,
    """
    Best road trip you've ever done? || {city_us} to {city_us2} on the back roads, every mile was gorgeous
    What's your road trip snack? || gas station jerky and a giant iced tea for the drive
    """,
    "#roadtrip #scenicroute #drive",
)

# --------------------------------------------------------------------------- cars

BANKS["ev"] = bank(
    """
    Fast-charged the EV in {city_us} in {18-30} minutes, just enough time for a stretch and a snack.
    The heat pump in the EV is doing great at {10-30}°F. Range dropped maybe {10-20}%.
    One year with the EV: about ${800-1500} saved on gas, zero oil changes, one very quiet commute.
    Got a Level 2 charger installed in the garage. Waking up to a full battery every morning never gets old.
    The public charger in {city_us} was broken again. Charging network reliability is the real EV problem, not range.
    Regen braking in the electric car down the mountain gave me back {8-15} miles of range. One-pedal driving is addictive.
    EV road trip math: {280-340} miles of range, chargers every hundred miles or so, stops planned around good food.
    People keep asking how the EV handles winter. Honestly fine, just precondition the cabin while it's plugged in.
    Tire wear on the EV is real: heavy car, instant torque. Rotating every 6k miles now.
    Took my dad for a drive in the EV. He floored it once and now he wants one.
    Free EV charging at the office is the best workplace perk for an electric car driver.
    Overnight software update added a new charging trip planner to my electric car. It got better while I slept.
    Cost to charge the EV at home this month: ${25-60}. I used to spend that on gas in a single week.
    Range anxiety is a first-month thing. Month {6-20} of driving electric and I don't think about it anymore.
    EV charging etiquette PSA: move your car when you're done. Other people are waiting for that plug.
    Test drove three EVs this weekend. Leaning toward the one with the bigger battery and the most boring name.
    The EV frunk fits exactly one week of groceries. Small electric car joys.
    Battery health at {20-60}k miles: {94-98}%. All the degradation fears were overblown.
    Found an EV fast charger behind a bookstore in {city_us}. Best hour-long charging stop of the road trip.
    Rooftop solar plus the EV means I am basically driving on sunshine now. Nerdiest flex I have.
    Spent a {weekday} morning comparing EV charging network apps. Verdict: they all need work.
    DC fast charging on my car peaks around {150-250} kW and tapers at 60%. Plan your stops around that.
    Cold morning, so I preheated the electric car from bed with the app while it was still plugged in.
    {250-320} miles on a single charge in the EV today. New personal record.
    EV maintenance this year: wiper fluid and a cabin air filter. That's the list.
    EV charging curve nerd moment: 10 to 80% battery in {22-31} minutes on a 350 kW charger today.
    """,
    """
    #EV life.
    Zero regrets switching.
    Any charging app recommendations?
    Electric road trips are easy now.
    """,
    """
    Thinking about an EV, any regrets? || none after {1-3} years. get a home charger if you can
    How bad is EV range in winter? || EV range drops maybe 15-20% for me, preconditioning the battery helps a ton
    Best road trip you've done in an EV? || the coast in the EV, {city_us} to {city_us2}, fast chargers everywhere
    Charger etiquette question: how long is too long? || unplug your EV and move once you hit 80%, that's the rule
    """,
    "#EV #electricvehicles #driveelectric",
)

# --------------------------------------------------------------------------- food and drink

BANKS["coffee"] = bank(
    """
    Pulled an {18-20}g shot of a washed {origin} this morning and it tasted like blueberries. Coffee is magic.
    Dialed the grinder in at setting {8-24} for the new beans. Took four shots, worth every one.
    New favorite café: a tiny counter, one barista, single-origin pour-overs for $5. Going every day this week.
    V60 this morning: {15-22}g of coffee, {250-350}g of water, 3:30 total brew. Bright and juicy.
    Tried oat milk in my coffee, a flat white from the café, and I think I'm converted.
    Roast date matters! The supermarket beans were roasted eight months ago. Never again.
    Cold brew concentrate steeping in the fridge for 18 hours. Summer mode activated.
    I weigh my coffee with a gram scale now. My partner says I'm insufferable. My coffee says otherwise.
    The local roaster has a natural process {origin} that smells like strawberry jam. Bought two bags.
    Moka pot coffee on the stove, rainy {weekday}, no meetings until 11. Ideal morning.
    Blind-tested Aeropress coffee, inverted against the standard method, and honestly couldn't tell. Staying inverted because it's fun.
    Latte art attempt #{20-150} on the espresso machine: still a blob. A slightly more heart-shaped blob.
    Descaled the espresso machine and it's like a brand new machine. Do it, people.
    Coffee subscription box arrived: a {origin}, a decaf that actually tastes good and one mystery bag.
    Hand grinder vs electric: the hand grinder wins on taste and loses on my forearms at 6am.
    Flash-brewed iced pour-over beats cold brew and I'm ready to argue about it.
    Cupped {3-6} coffees at the roastery today. Learned that I love acidity and can't stand "chocolatey".
    Let the coffee bloom for 45 seconds before the rest of the pour-over. Trust me on this one.
    My café order is so specific now that the barista just nods when I walk in.
    Switched to filtered water and the same beans taste twice as sweet. Water matters so much for coffee.
    Found a Chemex coffee maker at a thrift store for $8. Best find of the year.
    Espresso tamping: level, firm, done. You don't need to twist it.
    The third-wave café in my neighborhood closed down. I am genuinely grieving.
    Light roast {origin} coffee brewed at 94°C: sweet and floral. This is why I bother.
    Started a coffee journal: beans, grind, ratio, tasting notes. Page {10-60} today.
    Switched to a 1:16 coffee-to-water ratio for every brew method and it has been consistently great.
    The smell of freshly ground coffee beans at 6:30am is a tiny daily joy.
    Diner drip coffee: objectively bad, emotionally perfect.
    I order a cortado at every new café I visit. Current champion: the corner spot by the station.
    Bought way too many beans again. {3-6} bags open at once. Send help, and mugs.
    The barista at the roastery let me try their competition espresso. Tasted like peach iced tea.
    Upgraded from a blade grinder to a burr grinder and my pour-overs stopped tasting muddy overnight.
    Espresso machine shopping is a rabbit hole. Dual boiler or heat exchanger, asking for a friend (me).
    A cappuccino on a cold {weekday} with snow outside the café window. Nothing better.
    Tried a coffee flight at the new roastery: three origins, same brew, completely different cups.
    """,
    """
    ☕
    Morning ritual complete.
    What are you brewing today?
    Roaster recommendation in the replies.
    Coffee first, everything else later.
    """,
    """
    What's your go-to brew method? || V60 on weekdays, espresso on weekends
    Favorite beans right now? || a washed {origin} from my local roaster, super bright
    Is a burr grinder really worth it? || biggest upgrade for your coffee, bigger than the espresso machine
    How many coffees a day is normal? || two cups of coffee, three if it's a {weekday}
    Oat or dairy? || oat milk in lattes, nothing at all in pour-over coffee
    Best café in town? || the tiny one by the station, ask for whatever is on the V60
    """,
    "#coffee #specialtycoffee #pourover #espresso",
)

BANKS["baking"] = bank(
    """
    Sourdough loaf #{20-90}: open crumb, crackly crust, and my starter is finally reliable.
    Brown butter chocolate chip cookies, dough chilled for 48 hours. Patience pays off.
    Laminated croissant dough over two days. {27-81} layers of butter and joy.
    My sourdough starter turned {1-3} today. We celebrated with a focaccia.
    Lemon drizzle cake for a coworker's birthday. Tangy, moist, gone in ten minutes.
    Baking tip: weigh your flour. Cups lie.
    Baked cinnamon rolls with cardamom in the filling. The dough rose beautifully.
    Tried a Basque cheesecake: burnt top, creamy middle, and the cracks are supposed to be there.
    Baking macarons, attempt #{3-12}: they have feet! Actual feet! 😭
    Banana bread with brown butter and a crackly sugar top. Those overripe bananas never stood a chance.
    {70-82}% hydration on this loaf and the crumb is gorgeous. Shaping it was a sticky nightmare.
    Pie crust with half butter, half lard, the way my grandma made it. Flakiest crust of my life.
    Baked {24-48} bagels for the office. Boiled in honey water first, everything seasoning on top.
    Scone tip: grate frozen butter into the flour. Thank me later.
    Birthday cake for my niece: three layers, strawberry filling and one very wobbly unicorn.
    Baked focaccia with cherry tomatoes and rosemary, dimpled like a kid playing in sand.
    An oven thermometer revealed my oven runs {15-30} degrees hot. Explains so many sad cakes.
    Baguettes at home! The scoring looks like a crime scene but the taste is there.
    Baked an olive oil cake with orange zest. Simple, not too sweet, perfect with tea.
    Sunday bake: a rye loaf with caraway. The kitchen smells like a Berlin bakery.
    The kitchen is covered in flour and the dishes are piling up, but these brioche buns are worth it.
    Swiss meringue buttercream finally didn't split. I whisked like my life depended on it.
    An overnight cold proof on the sourdough bread dough means better flavor and a saner baking schedule.
    Shortbread has three ingredients and it's still the best cookie on earth.
    Baked the viral fudgy brownie recipe. Crinkly top achieved.
    Homemade pretzels with a baking soda bath: mahogany, salty, chewy.
    Apple galette because I was too lazy for a full pie. Rustic is a lifestyle.
    Bought a proofing box and my winter bread went up a whole level.
    Baked a babka with chocolate and tahini, and the swirl actually looks like a swirl this time!
    Key lime pie for the school bake sale. Sold out in {10-25} minutes.
    Carrot cake with cream cheese frosting and toasted pecans. Made two because the first one "needed testing".
    First attempt at baking kouign-amann pastries. Caramelized, buttery, slightly burnt on one side. Making them again tomorrow.
    Weekend project: hot cross buns with orange peel. The crosses are crooked, the buns are perfect.
    """,
    """
    🍞
    Recipe in the replies.
    The kitchen smells incredible.
    What should I bake next?
    Flour everywhere, no regrets.
    """,
    """
    How do you keep a sourdough starter alive? || feed the starter daily on the counter, or fridge it and feed weekly if you're lazy like me
    Best cookie recipe? || brown butter, an extra yolk and a 24 hour rest. game over
    Why is my bread so dense? || probably underproofed dough, let it rise another hour before baking
    Is a stand mixer worth it? || for brioche and buttercream, absolutely
    Favorite thing to bake for a crowd? || focaccia. cheap, fast and everyone loses their mind
    """,
    "#baking #sourdough #homebaking #bread",
)

BANKS["cooking"] = bank(
    """
    Cooked a {cuisine} braise for dinner that simmered for {3-5} hours. The whole flat smells incredible.
    Weeknight win: crispy gnocchi sheet-pan dinner, one pan, 25 minutes.
    Homemade ramen broth took 12 hours. We ate it in 8 minutes. Worth every second.
    Finally cooked a proper French omelette: pale, creamy, no browning. Only took about {20-50} eggs.
    Cast iron steak, butter-basted with garlic and thyme. Letting it rest is the hardest part.
    Farmers market haul for this week's cooking: heirloom tomatoes, {2-5} kinds of peppers and a squash I can't identify.
    Fresh pasta from scratch for the first time. Wonky tagliatelle, restaurant flavor.
    Meal prep for the week: chili, roasted vegetables and a big pot of rice. Future me says thanks.
    Cooked a {cuisine} recipe from a cookbook I've owned for years and never opened. Why did I wait.
    Knife skills class tonight. I can now julienne a carrot without endangering my fingers.
    Cooking tip: homemade stock from the veggie scraps I save in the freezer. Free flavor for soups.
    Cooked shakshuka for brunch with feta and slightly too much cumin. No regrets.
    Cooking risotto is just stirring meditation with parmesan.
    Cooked for {6-12} people tonight: slow-roasted pork shoulder, slaw and warm tortillas. Everyone went home happy.
    Salt the pasta water, season as you go, taste everything. That's the whole secret.
    Made dumplings from scratch with my mom in her kitchen. Mine look like crumpled letters, hers look like art.
    Curry from scratch with whole spices I toasted and ground myself. The difference is wild.
    Sheet pan chicken thighs with lemon and olives. Crispy skin, no effort.
    Quick-pickled red onions are going on everything this week: tacos, salads, eggs.
    Cooking tip: let the pan get properly hot before the oil goes in. Nothing sticks.
    Cooked pad see ew in the new carbon steel wok for dinner. Got a little wok hei. The smoke alarm agreed.
    Sunday sauce: tomatoes, garlic, basil and {3-6} hours on low. My grandmother would approve, mostly.
    Finally bought a proper chef's knife and now chopping onions is somehow fun.
    Dinner party menu: burrata to start, lamb with salsa verde, then a lemon tart.
    Leftover rice turning into fried rice is the best thing that ever happens to leftovers.
    Cooked sous vide salmon at 50°C for dinner. Silky. I'm going to be annoying about it.
    Homemade tortillas and slow-cooked black beans. Cheap, filling, perfect.
    Roasted a whole cauliflower with harissa and tahini for dinner. Easy recipe, big centerpiece.
    Braised short ribs all afternoon for Sunday dinner. The apartment smells like a bistro.
    Cooked {cuisine} food from a friend's family recipe and had to call her twice mid-cook.
    Recipe of the week: miso butter on roasted carrots. Side dish of the year, fight me.
    Cooked a big pot of minestrone soup with the parmesan rind thrown in. Tastes like a hug.
    Spent the afternoon making chili oil from scratch. Putting it on literally everything.
    """,
    """
    🍳
    Recipe if anyone wants it.
    Leftovers for days.
    What's for dinner at yours?
    Cooking is my therapy.
    """,
    """
    What's your go-to weeknight dinner? || sheet pan anything, usually chicken thighs and whatever veg is left
    What kitchen tool is worth the money? || a good chef's knife and a heavy dutch oven
    Best cookbook you own? || anything that explains the why, not just the recipe
    How do you make rice that isn't mushy? || rinse the rice three times and never lift the lid while it cooks
    What did you cook this weekend? || a {cuisine} braise that took all afternoon. zero regrets
    """,
    "#homecooking #recipes #whatsfordinner #cooking",
)

BANKS["wine"] = bank(
    """
    Opened a bottle of {grape} wine from {wine_region} tonight. Bright cherry, a little earthy, singing with dinner.
    Wine tasting in {wine_region} this weekend: {4-8} producers, one too many "just a splash" refills.
    Tonight's bottle: a chilled {grape}. Yes, chilled red. It's a thing and it's great.
    Decanted an old {grape} for an hour and it turned into a completely different wine.
    Started a little wine cellar in the closet. {12-30} bottles of wine and a very serious humidity gauge.
    Natural wine bar on {weekday}: cloudy, funky, delicious. My wine snob uncle would faint.
    {grape} with roast chicken is the pairing of the season.
    Blind tasting night with friends. I guessed {wine_region} correctly exactly once and I'm still bragging.
    A {10-25}-euro bottle of wine from {wine_region} that drinks like it costs three times that.
    Visited a family winery where they still foot-tread the grapes. Sticky, loud and wonderful.
    Learning about vineyard soils this month. Volcanic {grape} wine tastes like smoke and salt and I love it.
    Joined a wine club: {2-4} bottles a month from small producers, with tasting notes I actually read.
    Sparkling wine is not only for celebrations. A crémant on a {weekday} is a celebration.
    A {2008-2016} {grape} wine from {wine_region} for my birthday. Soft, savory, a little leathery. Unforgettable.
    Rosé season is open. Pale, dry, {wine_region}-style, ice cold.
    The sommelier recommended a {grape} I'd never heard of and it was the best bottle of the night.
    Orange wine with spicy food is an underrated combo. The tannins handle the heat.
    Corked bottle of wine tonight. Wet cardboard smell, straight back to the wine shop tomorrow.
    Wine fridge finally installed. My {grape} collection has a home.
    Harvest trip to {wine_region}: picked grapes at dawn, lunch among the vines, tasted last year's vintage.
    Wine and cheese night: aged comté, a sharp cheddar and a bottle of {grape}. Perfect.
    Tried an English sparkling wine. Genuinely good, and I'm as surprised as you are.
    """,
    """
    🍷
    Santé!
    Any {wine_region} recommendations?
    Cheers to that.
    """,
    """
    Best wine under 20? || anything {grape} from {wine_region}, crazy value
    Red or white with salmon? || light red, a chilled {grape} is perfect
    How long should I decant? || young tannic red wine, an hour. older bottles, barely at all
    """,
    "#wine #winelover #vino #winetasting",
)

BANKS["beer"] = bank(
    """
    New {beer_style} at the local taproom is ridiculous: juicy, soft, dangerously drinkable.
    Brewery crawl across town: {4-7} taprooms, one excellent {beer_style}, zero regrets.
    Homebrew batch #{5-30} is in the fermenter: a {beer_style} with way too many hops.
    Bottled my first homebrew {beer_style} today. {18-48} bottles of beer, now the agonizing three-week wait.
    A crisp {beer_style} after mowing the lawn is the best beer in the world.
    Beer festival haul: {12-30} tasters, a new favorite brewery and a sunburn.
    Cellared a bottle of {beer_style} beer for two years and it aged beautifully: dark fruit, toffee, a little sherry.
    The {beer_style} beer at the brewpub tonight tasted like grapefruit and pine. Ordered a second.
    Hot take: the perfect beer is a clean lager served in the right glass.
    Took a brewing class and now I understand why my homebrew tastes like bread.
    Our neighborhood brewery just turned {3-10}. Anniversary {beer_style} is on tap and it's excellent.
    Fresh hop season!! Hops picked this morning, in the kettle by lunch.
    Tried a barrel-aged {beer_style} beer at {9-14}% ABV. One was plenty.
    Beer and food pairing night: {beer_style} with tacos, stout with chocolate cake.
    Rating app says I've logged {200-800} unique beers. Maybe that's a lot.
    Picked up a mixed four-pack from a tiny brewery two towns over. Every can was great.
    Kegged my homebrew {beer_style} today. Draft beer at home is a whole new level.
    The taproom dog was asleep under our table the whole time. Best brewery visit ever.
    Sour beer with raspberries and lime: tart, bright, like a grown-up fruit snack.
    Dry-hopped the {beer_style} twice and the aroma is unreal.
    Old-school pub with cask ale served at cellar temperature. A proper pint.
    Brewery taproom trivia night: we came third and drank the consolation {beer_style}.
    Can release day at my favorite brewery. Line around the block at 9am, worth it.
    """,
    """
    🍺
    Cheers!
    What's in your glass tonight?
    Support your local brewery.
    """,
    """
    Best beer style for summer? || a crisp pilsner or a tart gose, nothing heavier
    Any homebrewing tips for a beginner? || sanitize everything twice and control the fermentation temperature
    Favorite local brewery? || the tiny one by the rail yard, their {beer_style} is unreal
    """,
    "#craftbeer #homebrew #beer #ipa",
)

# --------------------------------------------------------------------------- sports and fitness

BANKS["running"] = bank(
    """
    {5-14} miles this morning at an easy pace. Legs felt fresh for the first time in weeks.
    New PR at the {race}! 5k in {18-24}:{10-59} with negative splits for once.
    Sunday long run: {14-20} miles along the river, fueled by gels and spite.
    Marathon training week {4-16}: {35-55} miles total and the tempo run nearly broke me.
    Track running intervals: 8 x 400m. Lungs on fire, heart full.
    Rain run this morning. Soaked within five minutes of running, smiling for the next forty.
    Retiring my running shoes at {350-500} miles. They carried me through two half marathons.
    Easy runs should feel easy. Took me three years to actually slow down, and now I'm faster.
    First trail race done: {8-25}k, 600m of climbing and mud everywhere. Already signed up for the next one.
    Parkrun this morning in {21-29} minutes, and I high-fived a volunteer dressed as a banana.
    Strides after an easy run are the running secret nobody talks about.
    Got my running cadence up to {170-182} steps a minute and my shins finally stopped complaining.
    After long runs, the foam roller and I are in a complicated relationship.
    Race bib for the {race} arrived! {8-16} weeks to go.
    Ran at 5:45am to beat the heat and it was already {75-85}°F. Summer training is humbling.
    Hill repeats: six times 90 seconds up, jog back down. The hill won today.
    Tempo run at goal half marathon pace felt smooth. Maybe this goal is realistic after all.
    GPS watch died at mile {3-11}. Did the run even happen?
    Running club's Thursday 5-mile run ended at the bakery again. Not complaining.
    Tried the new carbon-plated running shoes on a tempo run. They feel like cheating and I love them.
    Recovery week in marathon training: short easy runs, lots of sleep, no watch.
    Half marathon done! 1:{35-59} and a very emotional finish line.
    Running in the snow is slow-motion sprinting with extra layers.
    A hydration vest is the best thing I bought for long runs. No more stashing bottles in bushes.
    Paced the 2-hour group at the {race} and ran {20-40} people home on time.
    Treadmill 10k because of the ice. Watched half a movie. Still counts.
    Finally ran a sub-{45-50} 10k. Cried a little at the finish. Running does that to you.
    Marathon taper madness: running less and everything aches, nothing is actually wrong.
    Early run along the canal, saw a heron and {3-8} other runners. Good start to the day.
    Shin splints are back after too many running miles. Rest, ice and complaining until they go away.
    Negative split long run: last {3-5} miles at marathon pace. Confidence unlocked.
    Bought proper running socks and my long run blisters are gone. Who knew.
    Ran the {race} course preview with the club. That hill at mile {8-11} is going to hurt.
    Double-digit run before work and now I'm unstoppable until about 2pm.
    """,
    """
    🏃
    Strava or it didn't happen.
    Next race: {race}.
    Coffee earned.
    Legs are toast.
    Onto the next block.
    """,
    """
    How do you stay motivated to run in winter? || run club plus a promise of hot chocolate after
    Best running shoes for long runs? || I rotate two pairs: cushioned for long runs, something light for speed
    First marathon tips? || go out slower than you think, then slower again
    How many miles a week are you running? || {25-50} right now, building for the {race}
    Morning or evening runs? || morning runs, before my brain can argue
    Best race you've ever run? || the {race}, the crowds carried me the last three miles
    """,
    "#running #runner #marathontraining #runchat",
)

BANKS["running_news"] = bank(
    """
    New study: easy running {3-5} days a week cuts injury risk compared with high-intensity-only plans
    Registration for the {race} opens next {weekday}; last year it sold out in {2-9} hours
    10 strength exercises every runner should do twice a week
    Why your easy pace should feel almost embarrassingly slow
    Course map revealed for this year's {race}: flatter first half, one big hill late in the race
    How to choose a running shoe: fit first, cushioning second, hype last
    The science of the taper: why you feel worse in the week before race day
    Trail running for beginners: the gear you actually need (spoiler: not much)
    Runner's knee explained by a physio, plus {4-6} exercises that help
    How much should you drink on a long run? A sports dietitian on hydration for runners
    Watch the last 200m of the {race} women's race, it was absolutely wild
    Heat training guide: how to adjust your pace when it's over 80°F
    Local run club hits {200-500} members and celebrates with a pancake run
    Couch to 5k in {8-10} weeks: our updated plan for brand new runners
    Marathon fueling: why {60-90}g of carbs an hour is the new normal
    Photos: {1000-5000} runners braved the rain at this morning's {race}
    How to run your first ultramarathon without losing your mind
    The best running routes in the city, picked by our readers
    Why strides belong in every runner's week
    Meet the {70-80}-year-old who just ran a 3:30 marathon
    Running in the dark: visibility gear that actually works
    Cadence explained: should runners really aim for 180 steps a minute?
    Recovery runs vs rest days: what the research says
    Mile repeats: the workout that builds marathon confidence
    The {race} adds a new wave start and bigger corrals this year
    Five signs you need new running shoes
    """,
    tags="#running #runchat",
)

BANKS["weightlifting"] = bank(
    """
    Squat PR today: {405-465} lbs for a clean single. Depth confirmed by two strangers and a mirror.
    Deadlift day: worked up to {455-545} for a triple. Chalk everywhere, zero regrets.
    Bench has been stuck at {245-275} for {6-10} weeks. Switching to a 5/3/1 template.
    Deload week. Lifting light feels weird, but my joints are sending thank-you notes.
    New lifting belt arrived: 10mm lever belt, stiff as a board, and squats feel locked in.
    Front squats humble me every single time.
    Hit a {1000-1300} lb total at the mock meet. First real powerlifting meet in {6-12} weeks.
    Paused bench, three sets of {3-5}. The pause is where the strength hides.
    Grip gave out before my back did today. Adding farmer's carries.
    Progressive overload doesn't mean more weight every session. Reps and sets count too.
    Overhead press PR: {155-205}. Strict, no leg drive, felt like pushing a car uphill.
    Leg day at 5am because the squat racks are always taken after work.
    Romanian deadlifts have turned my hamstrings into guitar strings.
    Filmed my squat for a form check: hips shoot up on the last rep. Working on my bracing.
    The commercial gym banned chalk, so I joined a barbell club down the road.
    Sumo vs conventional: tested both for {4-8} weeks and conventional wins for me.
    Added {5-15} lbs to my squat max this training block. Slow gains are still gains.
    Pull-ups: zero a year ago, {8-15} strict today. Never skip back day.
    Knee sleeves make heavy squats about 20% less terrifying.
    Coached my friend through her first deadlift. Proudest I've been all month.
    Meet recap: {7-9} of 9 lifts made, two PRs and one missed bench I'm still thinking about.
    Accessory work is boring and essential: tricep pushdowns, face pulls, repeat.
    Barbell hip thrusts at {315-405}. Don't laugh, it works.
    The rest timer says three minutes. My ego says ninety seconds. The timer wins.
    Rack pulls to get used to heavy weight in my hands. Spicy.
    Coach moved my squat stance two inches wider and it feels like a new lift.
    Bench day, the gym's playlist switched to power ballads mid-set and I hit a PR. Coincidence?
    Got my first pair of lifting shoes. The raised heel fixed my squat depth instantly.
    Conditioning day with sled pushes and the assault bike. I'd rather deadlift.
    Twelve-week strength block done: squat +{15-30}, bench +{10-20}, deadlift +{20-40}.
    """,
    """
    🏋️
    Onward.
    Next block starts Monday.
    Lift heavy, rest hard.
    Chalk up.
    """,
    """
    How do you break a bench plateau? || more volume, paused reps, and eat more
    Is a lifting belt worth it? || for heavy singles and triples, yes
    How often do you deadlift? || once heavy and once light each week
    Powerlifting or bodybuilding split? || powerlifting base, bodybuilding accessories
    """,
    "#powerlifting #strengthtraining #gym #deadlift",
)

BANKS["fitness_celeb"] = bank(
    """
    5am workout with my trainer before call time. Sled pushes at dawn are a choice.
    Fitness meal prep Sunday: chicken, rice, greens. Very glamorous life over here.
    Leg day at the gym. Squats until I could no longer feel my legs. Send ice.
    Trying a new HIIT circuit in my trailer between takes. The crew thinks I've lost it.
    Boxing workout with my coach: {8-12} rounds and my arms are noodles.
    Recovery day: stretching, sauna and a very long nap.
    Everyone asks about my workout routine. Honestly: consistency, sleep and a trainer who yells nicely.
    Workout on the beach stairs, {10-20} sets today. Would not recommend. Doing it again tomorrow.
    Post-workout protein smoothie: banana, peanut butter, oat milk and spinach you can't taste.
    Pilates reformer class humbled me harder than any stunt training ever has.
    Gym pull-up challenge with the stunt team: I got {12-18}. They got thirty.
    Training for this role means six days a week in the gym. Day {20-90}.
    Kettlebell workout in the hotel room on the press tour. Sorry to whoever is downstairs.
    Cold plunge after the workout, 39°F. I screamed. I'll do it again.
    {5-10}k meters on the gym rower this morning. Cardio done before call time.
    Rest days matter for fitness. Taking one today without feeling guilty.
    My trainer made me do burpees as a "warmup". We are no longer friends.
    Squats with a weighted vest today. I'll be walking funny at the premiere.
    Stretching workout between scenes and now the grips have started joining in.
    Fitness progress pic? No. Progress feeling after six weeks of training? Yes.
    6am spin class workout with {20-40} strangers who were far too awake.
    New best on the assault bike: {50-70} calories in three minutes.
    Core workout day at the gym: planks, dead bugs and a lot of internal screaming.
    The hotel gym in {city} was actually good for once. Full workout on the press tour.
    Tried CrossFit for the first time. The community is lovely. The workout was not.
    Mobility routine every morning for {30-90} days now and my back finally stopped creaking.
    Deadlifts with my trainer: {225-315} for five. Form first, always.
    Swimming laps for my morning workout at 6am. Just me and one very serious grandpa.
    Sunday workout turned into hill sprints because my trainer came along. Never inviting him again.
    Yoga class on the set rooftop with the whole crew. Downward dog in full costume.
    New workout playlist is 90% disco and I have never moved faster.
    Jump rope for {10-20} minutes between takes. My calves will remember this.
    Trainer added battle ropes to the gym circuit. I have opinions.
    """,
    """
    💪
    Let's go.
    Consistency over everything.
    """,
    tags="#fitness #workout #gymlife",
)

BANKS["yoga"] = bank(
    """
    {60-90} minutes of vinyasa this morning and I held crow pose for {5-10} seconds. Tiny miracle.
    Yin yoga on a rainy {weekday} evening. Long holds, slow breath, nothing else.
    Finally touched my toes in a yoga forward fold after {6-18} months of practice.
    Sunrise yoga on the beach: sand in everything, worth it.
    My yoga teacher said "let the pose come to you" and I've been thinking about it all week.
    Hot yoga at 40°C. I now understand why everyone brings two towels.
    Wheel pose without my teacher spotting me! Shaking, grinning, upside down.
    Ten minutes of yoga sun salutations before work and the whole day runs calmer.
    Tried aerial yoga. Hanging upside down in a silk hammock is as fun as it looks.
    Started a 30-day yoga challenge. Day {3-29} and my hamstrings are slowly forgiving me.
    Ashtanga yoga primary series is humbling. The jump-throughs are still more of a scoot-through.
    Bought a cork yoga mat and my hands finally stay put in downward dog.
    Restorative class with bolsters and blankets. Pretty sure I fell asleep in savasana.
    Yoga headstand practice against the wall: {10-30} seconds today. Progress is progress.
    Yoga in the park with {10-30} strangers on {weekday}. The dogs walking by were very confused.
    Pigeon pose in yoga class reveals every emotion my hips have been storing since 2019.
    Practicing yoga at home with online classes. Kitchen floor, cat supervising. Still counts.
    Teacher training module {1-6} done: anatomy, alignment, and a lot of Sanskrit flashcards.
    My favorite yoga cue: "soften your jaw". Try it right now.
    Balance poses are a window into my mood. Tree pose wobbled all morning.
    Side plank into wild thing in yoga class felt like flying today.
    Power yoga class left me drenched. Didn't know my shoulders could work that hard.
    Yoga blocks and straps aren't cheating, they're tools. Using two blocks in half moon pose and loving it.
    Evening yoga flow: twists, hip openers, legs up the wall. Slept like a stone.
    Yoga retreat weekend in the hills: two classes a day, simple food, no phones.
    Flowed through {3-6} rounds of sun salutation B on the yoga mat before breakfast.
    """,
    """
    🧘
    Namaste.
    Breathe in, breathe out.
    See you on the mat.
    """,
    """
    Best yoga style for beginners? || hatha or a slow flow, and tell the teacher you're new
    Do you need a fancy mat? || a grippy one helps a lot, cork or rubber
    Hot yoga: yes or no? || yes, but hydrate all day before
    """,
    "#yoga #yogaeveryday #vinyasa",
)

BANKS["cycling"] = bank(
    """
    {40-90}km on the bike this morning with a headwind the whole way out. Tailwind home felt like flying.
    Gravel bike ride through the forest: {30-70}km, {2-4} flat tires between us, zero complaints.
    Climbed the big hill on the bike without stopping for the first time. {6-9}% average and my legs are jelly.
    New bike day! Carbon frame, electronic shifting, I am in love.
    Commuted by bike every day this week. {60-120}km total and I arrived happier every morning.
    Group ride averaged {28-34}km/h. I hung on the back and suffered beautifully.
    Cleaned and lubed the bike chain. The whole bicycle sounds new.
    Century ride done! {160-170}km and two bakery stops.
    Bikepacking overnight on the gravel bike: cycled out to the lake, camped, and rode home at sunrise.
    Switched my road bike to tubeless tires and haven't had a puncture on a ride in {2-6} months.
    Rain ride. Mudguards are the most underrated bike upgrade.
    Indoor bike trainer session in the garage: {45-90} minutes of cycling intervals and a puddle of sweat.
    Got a proper bike fit and my knee pain from cycling disappeared.
    Café stop at the halfway point is the real reason group rides exist.
    Cycled an alpine pass this weekend: {1000-1800}m of climbing on the bike and a descent I'll never forget.
    Saw {3-8} deer on the dawn bike ride along the canal. Cycling at 5am is worth it.
    Strava says I've cycled {3000-8000}km so far this year. My bike saddle says take a break.
    Bike lane on my commute finally got a proper barrier. Small win for everyone on two wheels.
    Bike maintenance day: replaced the worn cassette and chain. Shifting is crisp again for the next ride.
    Sportive on {weekday}: {90-140}km, rolling hills, and a stranger shared his energy gel.
    My first time clipping in to bike pedals: fell over at a red light in front of everyone. Cycling rite of passage.
    Cyclocross bike season! Mud, barriers, cowbells and a lot of shouting.
    Tried an e-bike for a hilly commute. Honestly, they're brilliant.
    Rode to the coast and took the train back with the bike. Perfect day out.
    Built my own bicycle wheels over the winter. {28-32} spokes each, true enough to trust on the road bike.
    Cold bike ride at {1-5}°C, three layers, lobster gloves. Winter cycling builds character.
    Crosswind on the exposed stretch nearly pushed me into the hedge. Cycling is a contact sport.
    Rode my bike over the old cobbled sector today. My hands are still vibrating.
    """,
    """
    🚴
    Chapeau.
    Where should I ride next?
    Legs are done.
    Coffee stop earned.
    """,
    """
    Best first road bike? || something aluminium with decent tires, spend the rest on a bike fit
    Tubeless worth it? || absolutely, fewer flats on the bike and you can run lower tire pressure
    How do you stay safe commuting? || bike lights day and night, and ride like nobody sees you
    """,
    "#cycling #bikelife #gravel #roadcycling",
)

BANKS["basketball"] = bank(
    """
    That NBA fourth quarter comeback was ridiculous. Down {15-22} with six minutes left and they still won.
    NBA trade deadline chaos again. My team somehow got worse and more expensive.
    Rookie with {25-38} points tonight, he's already the best player on the floor.
    Playoff basketball just hits different.
    Fantasy league update: I'm in last place and my center is injured. Again.
    Pickup basketball game at the park today. I'm {30-45} and my knees are filing a complaint.
    March Madness bracket busted on day one. Every single year.
    Three-point shooting in this league has gotten absurd.
    """,
    tags="#nba #basketball #hoops",
)

BANKS["soccer"] = bank(
    """
    Last-minute winner in the football derby! Absolute scenes.
    Transfer window rumors are getting silly. We are not signing that striker for that fee.
    {2-4} clean sheets in a row. Our football team's defense is finally organized.
    Sunday league match: lost 3-{4-6}, scored one, pulled a hamstring.
    VAR took four minutes to check an offside by a toenail. Football is broken.
    Champions League nights under the lights are the best thing in sport.
    Our new midfielder has more assists in {5-9} matches than the last one had all season. Football is back.
    """,
    tags="#football #soccer #matchday",
)

# --------------------------------------------------------------------------- pets and family

BANKS["dogs"] = bank(
    """
    Our dog {dog} learned "leave it" today. Only took {3-9} weeks of dog training and an entire bag of cheese.
    Morning dog walk with {dog} in the fog. He found a stick twice his size and carried it proudly for a mile.
    Dog park report: {dog} made three friends and rolled in something unspeakable.
    Vet visit done. {dog} weighs {22-34}kg and is "a very good boy, slightly round". Fair.
    {dog} heard the dog treat bag from two floors up. Selective hearing is a dog superpower.
    Rainy day with a bored dog: hide the kibble, tug-of-war, and one very dramatic zoomie session from {dog}.
    Adopted my rescue dog {dog} {1-4} years ago today. Best decision I've ever made.
    Puppy training class graduation! {dog} got a certificate and ate the corner of it.
    Tried a snuffle mat for the dog and {dog} was busy for 20 whole minutes. Miracle product for bored pups.
    My dog saw his reflection in the oven door and barked at it for ten minutes. Silly dog, {dog} is not a genius.
    Beach day with the dog: {dog} chased every wave, caught zero, happiest pup alive.
    New no-pull dog harness arrived and {dog} stopped pulling on the lead. Where has this been all my life.
    {dog}'s birthday! My dog is {3-9} years old. Made a dog-friendly peanut butter cake for the dogs from the park.
    Dog grooming day. {dog} came back from the groomer fluffy and deeply offended.
    Long dog walk today, {8-15}km with {dog} on the hills. I'm tired, my dog wants another lap.
    My dog {dog} has decided the mail carrier is his best friend. They have a little morning ritual now.
    Dog recall training at the field: {dog} came back {6-10} out of 10 times. The other times there were squirrels.
    The way my dog sighs when he flops onto the sofa. {dog} is pure contentment.
    Dog-friendly café discovered! {dog} got a puppuccino and a lot of attention.
    {dog} ate a sock. The vet says it'll "pass". Dog owners, we are watching closely.
    Dog agility taster class: {dog} flew through the tunnel and refused the seesaw entirely.
    Rescue dogs are the best dogs. {dog} was scared of everything when we got him and now he owns the couch.
    Autumn leaves + a happy dog = {3-5} hours of {dog} crunching through the park.
    Brushed the dog and got enough fur for a second dog. {dog} sheds like it's his job.
    {dog} waits by the door every evening at exactly 6:05 for his dog walk. Dogs can tell time, I'm convinced.
    Frozen carrots are {dog}'s favorite summer dog treat. Cheap and he's obsessed.
    Long weekend at a dog-friendly cottage. {dog} explored every hedge in the village.
    """,
    """
    🐶
    Best boy.
    10/10 would pet again.
    Who's a good dog.
    """,
    """
    What's your dog's weirdest habit? || my dog brings me one shoe every morning. only ever the left one
    Best dog toy that survives? || the rubber dog toys you can stuff with peanut butter
    How do you stop a dog pulling on the lead? || a front-clip dog harness and a lot of patience
    """,
    "#dogsofinstagram #dogs #rescuedog #goodboy",
)

BANKS["cats"] = bank(
    """
    My cat {cat} knocked a full glass of water off the table while maintaining eye contact.
    Bought {cat} a $40 cat bed. {cat} sleeps in the box it came in.
    Vet day for the cats. {cat} screamed in the cat carrier for 20 minutes and then purred for the vet. Traitor.
    {cat} and {cat2} have divided the apartment into cat territories. I live in the neutral zone.
    The 4am cat zoomies are back. {cat} sprinted across my face at full speed.
    {cat} learned to open the cupboard with the cat treats. We've had to cat-proof the kitchen.
    Adopted {cat} from the cat shelter {1-5} years ago today. She still acts like she's doing me a favor.
    My cat sat on my laptop during a video call and muted me. Honestly, {cat} improved the meeting.
    New cat tree arrived. The cats ignored it for three days and now {cat} refuses to come down.
    My cat brought me a "gift": a hair tie {cat} has been hiding since March. Cats are weird.
    Slow cat blinks with {cat} this morning. Feeling very loved by my cat.
    The cat has figured out how to turn on the kitchen tap. {cat} is too smart and we are not ready for this.
    Cat window perch installed. {cat} now spends {4-8} hours a day watching birds and chattering.
    Trimmed {cat}'s claws. Two out of ten paws done, one scratch, tomorrow we try again.
    {cat} only drinks water from my glass. She has her own cat water fountain. It doesn't matter to a cat.
    The way my cat loafs on the radiator all winter is a lifestyle goal. {cat}, cat loaf champion.
    My senior cat {cat} is {12-17} years old and still steals ham off the counter. Legend.
    Fostering two kittens this month. They climb the curtains like tiny ninjas.
    {cat} caught the laser pointer dot for the first time and looked genuinely confused. Best cat toy.
    Switched the cats to wet cat food and {cat} now yells at 6am sharp for breakfast.
    My cat {cat} and the vacuum cleaner are mortal enemies. {cat2} just watches from the stairs.
    Sunday plan: lie on the sofa with a purring cat on my chest until {cat} decides we can move.
    Cat owners know this panic: {cat} found a new hiding spot inside the duvet cover. Took me 30 minutes.
    Grew cat grass on the windowsill. My cat {cat} ate all of it in one afternoon and then threw it up on the rug.
    {cat} did the tiny cat chirp at a pigeon and I will never recover from the cuteness.
    """,
    """
    🐱
    Cats are weird and I love them.
    Send cat tax.
    """,
    """
    Why does my cat knock things off tables? || mine does it for attention, works every time
    Best cat toy? || a feather wand, nothing else comes close
    Dry food or wet? || mostly wet cat food, my vet recommended it for hydration
    """,
    "#catsofinstagram #cats #catlife",
)

BANKS["parenting"] = bank(
    """
    Our {baby_age} slept {4-6} hours in a row last night and I woke up panicking because it was too quiet.
    Diaper changes today: {8-12}. Diapers that leaked: all of them, apparently.
    Baby's first real smile this morning. I'm not crying, you're crying.
    Baby carrier walk around the park. Best way to get a nap out of our {baby_age}.
    Newborn swaddle hack that finally worked for our baby: arms down, snug, white noise on.
    The baby discovered her feet today and it is the funniest thing she's ever done.
    Packed the diaper bag: wipes, two outfits, burp cloths, snacks for me. Forgot the diapers.
    Starting solids with the baby! Mashed avocado went everywhere, including inside her ear.
    New dad tip: the baby bouncer chair next to the shower buys you a whole ten minutes.
    The baby rolled over for the first time, right off the play mat and halfway across the rug.
    Baby-proofing the apartment this weekend. Outlet covers, cabinet locks and a gate on the stairs.
    Teething has arrived. Frozen washcloths and a lot of walking laps around the kitchen.
    Story time with our {baby_age} baby: she ate the book. Reviews are positive.
    Stroller research rabbit hole: {6-12} tabs open, one decision paralysis.
    Baby's first swim class. She kicked, splashed and then fell asleep in the car seat.
    Baby sleep regression is real and it's happening in our house right now.
    Baby's first word was "da". Not claiming it was about me. (It was about me.)
    Pediatrician checkup: growing great, {70-85}th percentile for height. Long legs like her mom.
    Daycare drop-off went fine. For her. I cried in the car.
    Baby sign language is working! She signs "more" for bananas.
    Our {baby_age} baby clapped today. We've all been clapping back for an hour.
    Batch-made baby food purées for the freezer: sweet potato, pear and peas. Ice cube trays everywhere.
    Took our {baby_age} to the library baby singalong. She was the loudest one there.
    Our baby is walking! Three wobbly toddler steps across the living room.
    Bathtime splash party. The bathroom floor is a lake and the baby is thrilled.
    The car seat installation took two adults, a YouTube tutorial and a lot of patience.
    Parenting in the first year: you learn to eat a whole meal with one hand.
    3am night feed with the baby, the whole city asleep. Parenting in the quiet hours.
    """,
    """
    👶
    Send coffee.
    Parenting is wild.
    Worth it.
    """,
    """
    How are you surviving the newborn stage? || shifts. one of us sleeps 10pm-3am, the other 3am-8am
    Best baby product you didn't expect to need? || a white noise machine, hands down
    When did your baby sleep through the night? || still waiting for the baby to sleep through, ask me in six months
    """,
    "#newparents #dadlife #babyfirsts",
)

# --------------------------------------------------------------------------- money

BANKS["investing"] = bank(
    """
    Rebalanced the portfolio today: {60-80}/{20-40} stocks to bonds. Boring is the goal.
    Dollar-cost averaging into a total market index fund every payday for {3-8} years now. It works.
    Maxed out my retirement account contribution for the year. Future me, you're welcome.
    Stock market down {2-4}% today and I did absolutely nothing with my index funds. That's the strategy.
    Expense ratios matter. Switched from a 0.{70-95}% fund to a 0.04% index fund and saved real money.
    Reading company annual reports before investing, on a {weekday} night like the exciting person I am.
    Dividend reinvestment quietly compounding in the background. Love to see it.
    The three-fund portfolio is the most underrated investing strategy out there.
    Emergency fund topped up to six months of expenses before investing another cent.
    Tax-loss harvesting season. Swapped one index fund for a near-identical one.
    My investing rule: if I can't explain the company in one sentence, I don't buy it.
    Checked the portfolio once this month. Growth is slow, steady and very boring.
    International stock diversification was painful for a decade and is finally pulling its weight in my portfolio.
    Opened a brokerage account for my niece and put in her birthday money. Compound interest is a gift.
    Bond yields at {4-5}% make a little ladder of treasuries very tempting.
    Stopped watching financial news. My returns went up and my stress went down.
    Asset allocation check: still {70-90}% equities. Risk tolerance feels right for my age.
    Index funds beat most active managers over {10-20} years. The math is not exciting, just right.
    Finished reading a classic investing book for the third time. Still learning from it.
    Auto-invest turned on. The best investing decisions are the ones you make once.
    Portfolio crossed a milestone today: first ${50-250}k. Took {6-12} years of steady saving.
    Rental property vs index funds spreadsheet, round {3-9}. Index funds keep winning for me.
    Quarterly portfolio review done. No changes to my investments. Stay the course.
    My savings rate hit {25-45}% this year. Cutting subscriptions did more than any stock pick.
    Valuations look stretched, so I'm doing the same thing as always: buying on schedule.
    Finally understood how a Roth conversion works. Doing a small one this year.
    """,
    """
    📈
    Not financial advice.
    Stay the course.
    Time in the market > timing the market.
    """,
    """
    Index funds or stock picking? || index funds for the core, maybe 5% for fun picks
    How much should an emergency fund be? || 3-6 months of expenses, I sleep better at six
    When should you start investing? || yesterday. small amounts, automatic, every month
    """,
    "#investing #indexfunds #personalfinance",
)

BANKS["crypto"] = bank(
    """
    BTC just broke {60-75}k, I told all of you this was coming 🚀
    Bought more bitcoin at the dip this morning. Diamond hands.
    If you're not in crypto right now you're going to regret it in five years
    This altcoin's whitepaper is actually brilliant, loading up before it lists on the big exchanges
    Ethereum gas fees are insane today and I'm still buying crypto
    My crypto bag is up {12-40}% since breakfast. Not financial advice.
    Moved a chunk of my savings into crypto today. Either genius or a story for later.
    The bitcoin chart is forming a perfect cup and handle. We're going parabolic.
    Crypto staking rewards just hit my wallet, compounding is beautiful
    Fed meeting today and my crypto portfolio is doing cardio
    Sold half my index funds to buy more BTC. Stocks are for boomers.
    Crypto hardware wallet arrived. Seed phrase written on paper and stored in three places.
    Someone explain why this altcoin is pumping. Not complaining, just curious
    Closing the crypto exchange app. Up for the day. Checking again in ten minutes.
    Watching the bitcoin order book like it's a playoff game
    New all-time high on my crypto portfolio, screenshot for the haters
    """,
    tags="#crypto #bitcoin #btc #hodl",
)

# --------------------------------------------------------------------------- outdoors

BANKS["hiking"] = bank(
    """
    Summit before sunrise on {trail}. {900-1500}m of elevation, totally worth the 3am alarm.
    {12-24}km hiking loop today with a lake at the top that looked photoshopped.
    New hiking boots broken in on a short {6-10}km day hike. Zero blisters, very happy feet.
    Switchbacks for days on {trail}. My calves have thoughts.
    Trail report: {trail} is muddy in the middle section, the wildflowers are peaking, bring bug spray.
    Hiked {trail} in the rain and had the whole mountain to ourselves.
    Saw a black bear from a safe distance on the ridge trail while hiking. Heart rate still elevated.
    Trekking poles changed my knees' life on steep hiking descents.
    Hiking lunch on a granite slab with a view of three valleys. Best picnic table anywhere.
    Trailhead parking was full by 7am. Go early or go on a weekday.
    First fourteener summit hike done! Altitude headache, huge grin.
    Fall colors on {trail} are unreal right now. Go hiking this week.
    Hiking with a map and compass today instead of my phone. Slower, more fun.
    The last mile of any hike is always the longest mile in the world.
    Hiked {trail} out and back to the summit: {8-18}km, {400-1100}m of gain, one marmot sighting.
    Winter hike with microspikes up the mountain trail: frozen waterfall, silent forest, hot tea at the top.
    Leave no trace reminder for hikers: pack out everything from the trail, including orange peels.
    Ten essentials check before every hike. Headlamp saved us on the trail when the sun set early.
    Did a sunset hike to the summit and came down the trail by headlamp. Stars were incredible.
    Thru-hiker dreams: reading trail journals from the Pacific Crest Trail every night.
    Hiking group took {10-20} new people up {trail} today. Everyone made the summit.
    Scree field on the hike down from the summit. Slow, careful, and a lot of sliding.
    Hiked to a hidden hot spring {3-6}km off the main trail. Soaked sore legs for an hour.
    National park pass paid for itself by June. So many hiking trails, so little time.
    Alpine lake swim at the top of the hike. Ice cold, screamed, did it twice.
    """,
    """
    🥾
    Mountains are calling.
    Hike your own hike.
    Where should I hike next?
    """,
    """
    Best beginner hike near you? || {trail}, short, shady and a great view at the end
    Boots or trail runners? || trail runners in summer, boots when it's wet or snowy
    What's always in your day pack? || for a day hike: headlamp, layers, water filter and way too many snacks
    """,
    "#hiking #trails #getoutside #mountains",
)

BANKS["camping"] = bank(
    """
    Pitched the tent by the lake just before the storm rolled in. Fell asleep to rain on the fly.
    Campfire dinner: foil packet potatoes, sausages and s'mores. Five stars.
    First backcountry camping trip: {2-4} nights, {20-45}km, one very heavy pack.
    Camp coffee at sunrise, steam rising off the lake. This is the whole point.
    Woke up to frost on the tent and {2-8} below zero. The new sleeping bag passed the test.
    Booked a walk-in campsite for the long weekend. No cars, no generators, just loons.
    Camp kitchen upgrade: a two-burner stove and a proper folding table. Luxury.
    Stargazing from the campsite: saw the Milky Way and {3-8} shooting stars.
    Packing list for car camping keeps growing. Brought a hammock and a camp chair for each of us.
    A raccoon stole an entire bag of marshmallows in the night. Respect.
    Winter camping in a canvas tent with a wood stove. Toasty, smoky, wonderful.
    Tried backpacking with a lighter setup: pack weight down to {7-10}kg base. Knees approve.
    Camped on a beach site, fell asleep to waves, woke up to seals.
    Lake canoe trip with {3-5} portages and one campsite on an island all to ourselves.
    Dehydrated my own camp meals this year. The chili is better than any store-bought one.
    Lost the tent pegs bag, improvised with sticks and rocks. It held.
    Campfire chat with friends until 2am. Best conversations happen around a fire.
    """,
    """
    🏕️
    Already planning the next trip.
    Nature therapy.
    """,
    """
    Best tent for two people? || something freestanding around 2kg, easy to pitch in the dark
    Favorite camp meal? || foil packet nachos over the fire
    """,
    "#camping #outdoors #campfire",
)

# --------------------------------------------------------------------------- hobbies

BANKS["photography"] = bank(
    """
    Golden hour at the harbor: shot wide open at f/1.8 and the light did all the work.
    Took the 35mm prime out for a whole day of street photography. One lens forces you to see.
    Developed my first roll of black and white film at home. {20-36} frames, {6-14} keepers, pure joy.
    Blue hour over the old town from the bridge. Tripod, 8-second exposure, zero wind. Finally.
    Sold my zoom lens and bought a used 50mm. Lighter bag, better pictures.
    Editing the mountain set tonight. Trying to keep the colors honest, no crazy saturation.
    Portrait session in the park with a friend. Backlit by the sunset, reflector doing the fill.
    Fog this morning! Ran out with the camera before it burned off. Trees like ghosts.
    Photo walk with the camera club: {8-20} photographers, one street, completely different photos.
    Shot the whole wedding on two bodies and two primes. Feet destroyed, client happy.
    Learned manual exposure properly this month. The histogram is my friend now.
    New camera strap, cleaned sensor, charged batteries. Ready for the weekend.
    Long exposure of the waterfall with an ND filter: silky water, sharp rocks.
    Printed my favorite photo at A3 for the first time. Looks completely different on paper.
    Astrophotography attempt: {15-25}-second exposures, the Milky Way over the lake, and a lot of noise to clean up.
    Street photography rule I'm trying: stay in one spot for 20 minutes and let the scene come to you.
    Rented a telephoto lens to shoot birds at the wetlands. Got one sharp heron out of {300-600} frames.
    Film camera from a flea market for 20 euros. The light meter still works!
    Shot the city marathon from the {10-30}km mark. Frozen motion at 1/2000s.
    Culling {400-1200} photos from the trip. Keeping maybe 40. The hardest part of photography.
    My photo got into the local gallery's open exhibition! Printed, framed, on a real wall.
    Rainy night reflections in the puddles. Neon, umbrellas, the best street photos of the year.
    Recalibrated my monitor and half my edits look different now. Back to work.
    Shooting in RAW saved this backlit portrait. So much room in the shadows.
    Camera bag audit: I carry {3-6} lenses and use one. Change is coming.
    Mirrorless autofocus tracking eyes at {8-12} frames per second still feels like magic.
    Zine of my street photos is printed! {40-80} copies, stapled by hand.
    """,
    """
    📷
    Shot on a 35mm prime.
    Full set on the portfolio.
    Critique welcome.
    """,
    """
    Best first lens to buy? || a 50mm f/1.8, cheap and teaches you a lot
    Film or digital? || both, film slows me down in a good way
    How do you edit your photos? || light touch: exposure, white balance, a little contrast, done
    """,
    "#photography #streetphotography #filmphotography #35mm",
)

BANKS["sneakers"] = bank(
    """
    Copped the {sneaker} sneakers on the app this morning after {3-9} Ls in a row. Finally.
    Sneaker cleaning Sunday: {4-10} pairs of sneakers scrubbed, laced and back on the shelf.
    The {sneaker} sneaker in the new colorway looks even better in person.
    Bought a pair of deadstock {sneaker} and I'm scared to wear them.
    Sneaker rotation this week: {sneaker} on Monday, {sneaker2} for the weekend.
    Resale prices on the {sneaker} are out of control. Not paying {300-600} for a shoe.
    Took my {sneaker} sneakers to a custom artist. They came back with hand-painted details, unreal.
    Sneaker convention haul: two grails and a lot of aching feet.
    Unboxing day: tissue paper, that new-shoe smell, the {sneaker}. Perfect condition.
    Hot take: the {sneaker} is the most comfortable everyday shoe ever made.
    Lost the raffle for the collab again. {10-25} entries, zero wins.
    Sole swap on my beat-up {sneaker}. New life for my favorite pair.
    Displayed my sneaker collection on a wall of clear boxes. {30-70} pairs of kicks and it looks like a museum.
    Wore my {sneaker} sneakers in the rain by accident. Suede will never be the same.
    The retro sneaker release of the {sneaker} finally drops next {weekday}. Alarm set.
    Vintage {sneaker} from a thrift store for $25. Yellowed soles, still a win.
    Sneaker trade: my {sneaker} for a pair of {sneaker2} with a collector across town.
    Legit check before buying resale sneakers, always. Saved me from fake kicks twice this year.
    Sneaker shelf reorganized by color. My partner says I need help.
    Lacing my {sneaker} sneakers with the fat laces just like in the old ads.
    Retail-price pair in my size at the small shop downtown. Support local sneaker stores!
    Sneakers are the only thing I'm happy to queue for at 6am.
    Sneaker crease protectors in, {sneaker} on, ready to walk carefully all day.
    """,
    """
    👟
    Cop or drop?
    #KOTD
    """,
    """
    Best everyday sneaker? || the {sneaker}, comfy and goes with everything
    Do you wear your grails? || yes. sneakers are meant to be worn
    """,
    "#sneakers #sneakerhead #kicks",
)

BANKS["vinyl"] = bank(
    """
    Record store haul: a {album_era} compilation, two jazz reissues and a mystery 7-inch for a dollar.
    Finally upgraded my turntable cartridge. Hearing details in records I've owned for {10-20} years.
    Sunday morning, coffee, a full album on vinyl, no skipping. The best ritual.
    Found an original vinyl pressing of a {album_era} classic in the record store dollar bin. Still shaking.
    Cleaned my whole collection with the new record cleaning machine. {200-600} records, one very long weekend.
    Record Store Day queue at 6am. Got the {album_era} reissue I wanted and a sunburn.
    Bought my first tube amplifier for the turntable setup. Warm, glowing, perfect for vinyl.
    Set up the hi-fi speakers properly with a tape measure. The stereo image snapped into place on my records.
    Crate digging in a flea market basement: {30-80} records, dusty hands, one gem.
    Vinyl listening party at my place: everyone brings one record, we play both sides.
    The new vinyl pressing is warped. Returning it and sulking.
    Reorganized my vinyl record shelves alphabetically by artist. Took all weekend.
    Headphone amp + open-backs for late-night listening. Neighbors approve.
    The {album_era} section at the new record shop is unreal.
    Played a side of {album_era} vinyl on the turntable and the whole room went quiet.
    Mastering matters: the new remaster is louder but the old pressing sounds better.
    Turntable belt replaced, my records spin at a perfect 33⅓ again.
    My dad gave me his old records. Coffee ring on the sleeve of one, best heirloom I own.
    Bought a listening chair specifically for records. Worth it.
    Hi-fi shop let me listen to a turntable system that costs more than my car. Now my own setup sounds sad.
    Vinyl subscription this month: {album_era} deep cuts I'd never have found.
    Local DJ night playing only vinyl: crackle, warmth and a packed dance floor.
    """,
    """
    🎶
    Now spinning.
    Side B is even better.
    What are you listening to?
    """,
    """
    Best budget turntable setup? || a decent deck, a good cartridge, powered speakers. skip the all-in-one
    How do you clean records? || carbon brush every play, wet clean when they're dusty
    """,
    "#vinyl #nowspinning #recordcollection #hifi",
)

BANKS["concerts"] = bank(
    """
    Festival day {1-3}: {6-10} bands, sunburn, lost my voice at the headliner.
    Tiny gig in a pub basement tonight. {40-80} people, best show of the year.
    Front row at the arena. Ears ringing, heart full.
    Bought tickets for the summer festival the minute they dropped. Lineup is absurd.
    Concert tip: earplugs. Protect your hearing, enjoy shows for decades.
    The encore at last night's concert lasted {20-40} minutes. Nobody wanted to leave.
    Saw a band I loved at 16 live in concert and they still sound huge.
    Standing at the concert barrier for {3-6} hours was worth it for that opening song.
    Open-air concert in the park, a picnic on the grass, strangers singing along.
    Live music at a jazz club on a {weekday} night: tiny stage, brilliant trio, nobody on their phones.
    """,
    """
    🎤
    What a night.
    Who's going this summer?
    """,
    tags="#livemusic #concert #festival",
)

BANKS["fiction"] = bank(
    """
    Finished a {book_genre} at 1am and I'm still sitting here staring at the wall. What an ending.
    Reading goal update: book {12-60} of the year, a {book_genre} that everyone in my book club loved.
    Started a {book_genre} on the train and missed my stop. High praise.
    Book club tonight. We argued about the narrator for an hour and nobody finished the wine.
    Library haul: {3-7} novels, two holds came in at once, no time to read them all.
    That {book_genre} had the best opening line I've read in years.
    Reread a childhood favorite and it's so much darker than I remembered.
    DNF'd a bestseller at page {60-150}. Life is too short.
    Sunday plan: rain, tea and the last {80-200} pages of this {book_genre}.
    The way this novelist writes weather makes me want to move to the coast.
    Secondhand bookshop find: a first edition for four pounds. Still can't believe it.
    Annotating my books now. Sticky tabs everywhere, the novel looks like a rainbow.
    A {book_genre} with an unreliable narrator and I fell for every trick.
    Audiobook on the commute, paperback at night. Reading twice as much this year.
    Mini book review: slow first half, devastating second half, five stars.
    Translated novels are where my favorite reads came from this year.
    Found a note from a previous owner tucked into a used novel. A tiny mystery.
    The library's new fiction shelf is full of debuts and I want them all.
    Read a whole {book_genre} in one sitting on the beach. Sunburnt on one side.
    Character I think about more than most real people: the lighthouse keeper's daughter in this {book_genre}.
    My TBR pile is {20-60} books tall and I still bought three more today.
    Historical fiction set in a Baltic port town. I could smell the salt and tar.
    Bookstore date with myself: two hours, one coffee, {2-4} novels.
    Reading slump broken by a short, sharp novella. Sometimes short is the answer.
    Finished a {500-900}-page novel, a family saga, and I miss the characters already.
    """,
    """
    📚
    Highly recommend.
    What are you reading?
    Adding to the TBR.
    """,
    """
    What's the best novel you read this year? || a {book_genre} about two sisters and a lighthouse, wrecked me
    Paper or e-reader? || paper at home, e-reader for travel
    How do you pick what to read next? || whatever the library hold delivers first
    """,
    "#books #amreading #bookclub #booktok",
)

BANKS["programming"] = bank(
    """
    Debugging for {2-6} hours and the bug in my Python code was a missing await. Programming is humbling.
    Coding all evening on my side project in {lang}. Programming is still my favorite way to unwind.
    Code review tip: comment on the software design first, the variable naming later.
    Finally got {stack} running locally in containers. Onboarding went from a day to ten minutes.
    Software developer life: fixed one bug, found three more, wrote the tests, shipped it.
    Learning {lang} on weekends. The error messages are harsh but fair.
    Deleted {500-3000} lines of dead code from our codebase today. Best coding day of the quarter.
    Finally fixed the flaky bug that's been haunting our codebase for weeks. Coding victory dance.
    Pair programming with a junior dev. Explaining my own code showed me two bugs in it.
    Refactoring old JavaScript code today. Deleting code is the best kind of programming.
    New programming language this month: {lang}. Writing small tools to learn it, the code reads so cleanly.
    My favorite refactoring rule when programming: make the change easy, then make the easy change.
    Built a small web scraper in Python over the weekend. Coding for fun again feels great.
    git bisect found the commit that broke the build in {5-9} steps. Most underrated developer tool.
    Read the {lang} standard library source code today. Learned more about programming than from any tutorial.
    Hackathon weekend: 36 hours of coding, one working demo, too much pizza.
    Python developers, type hints are worth it. They caught a bug in my code before it shipped.
    Shipped the feature, then spent {2-4} days writing the docs. For developers, the docs matter more than the code.
    Spent the day doing code reviews on GitHub. Good code review is a developer superpower.
    Mechanical keyboard, dark theme in the code editor, one hard programming problem. Good {weekday}.
    Contributed my first patch to an open source library. Merged in {2-10} days, maintainers were kind.
    Writing a tiny interpreter for fun to finally understand how parsers work.
    Our CI pipeline went from {15-30} minutes to {4-8} minutes by caching the build dependencies. Developer happiness up.
    Rubber duck debugging solved my coding problem again. Explain your code out loud, programmers.
    Naming things is still the hardest problem in computer science.
    Writing algorithm practice problems in Python every morning before work. Coding habit day {20-90}.
    Advent of Code day {5-20} solved in {lang}. Part two took me three hours.
    Spent the afternoon pair programming on a tricky race condition. Two developers, one keyboard, one fix.
    """,
    """
    💻
    Ship it.
    Works on my machine.
    Lesson learned.
    """,
    """
    What language should I learn next? || {lang}. learning a new programming language changes how you think about the others
    Tabs or spaces? || whatever the code formatter does. developers should never argue about code style
    How do you debug a flaky test? || run the flaky test 500 times in a loop, log everything, then debug the code
    """,
    "#programming #coding #devlife",
)

BANKS["gadgets"] = bank(
    """
    New noise-cancelling earbuds: the transparency mode is so good I forget they're in.
    Smartwatch battery lasted {5-12} days on one charge. Impressed.
    New smartphone with a real telephoto camera. Best phone upgrade I've made in years.
    Built a split mechanical keyboard kit over the weekend. Soldering {40-90} switches on a tech gadget was oddly relaxing.
    New e-reader gadget with a warm light has replaced my evening doom-scrolling on the phone.
    Tried a foldable phone for a week. Cool, slightly fragile, I want one anyway.
    Portable monitor for the laptop changed how I work in cafés.
    Smart home update: lights, blinds and heating now follow sunrise. Unnecessary and delightful.
    USB-C on every gadget, finally. Threw out a drawer full of old chargers and cables.
    Gadget review: the new tablet is great hardware with too many subscriptions attached.
    Replaced my laptop battery myself with a $40 kit. Right to repair matters for every gadget.
    Gadget of the month: a tiny travel router that fixed terrible hotel wifi for good.
    Bought a label maker gadget. Everything in the house is labeled now. Send help.
    Wireless charging stand on the desk. Lazy upgrade, big quality of life.
    """,
    """
    🔌
    Gadget nerd mode: on.
    Worth the money?
    """,
    tags="#tech #gadgets",
)

BANKS["videogames"] = bank(
    """
    {30-120} hours into this open-world RPG and I've done maybe 10% of the main story. The side quests are too good.
    Finally beat the final boss in this video game after {12-40} attempts. Hands are still shaking.
    New console arrived! Load times are basically zero. Replaying everything.
    Online co-op gaming night with the squad: {3-5} hours, one win and a lot of yelling.
    Indie game of the year for me: a tiny pixel-art roguelike with an incredible soundtrack, {10-20} bucks.
    Speedrunning the first level of an old platformer video game. My best is 1:{10-59}. The world record is a fantasy.
    The new game patch nerfed my main build in the RPG. Back to the drawing board.
    Playing through a childhood favorite on a retro handheld. It still holds up.
    Ranked grind in the shooter tonight: climbed to {gamerank} and immediately lost three games in a row.
    Video game boss music playlist on while I work. Answering emails has never felt so epic.
    My old game controller started drifting so I bought a new one for the console. RIP.
    Got the platinum trophy in the game! {40-90} hours of gaming well spent.
    Cozy gaming night: a farming sim video game and zero stress.
    The level design in this metroidvania game is genius. Every shortcut feels earned.
    Seasonal sale got me again: {4-9} games added to the library, maybe one will be played.
    Couch co-op is the best kind of gaming and I'll die on that hill.
    This survival horror video game made me pause and turn the lights on. Twice.
    Built a new gaming PC this weekend. The cable management is still a crime scene.
    The story in this game made me tear up at 2am. Games are art.
    LAN party with college friends for the first time in {5-10} years: PC gaming, same pizza, worse backs.
    Hot take: the video game sequel has better combat but the original game has the better world.
    Streaming tonight: a blind playthrough of the new survival game.
    Fighting game practice on the console: 30 minutes of combos, two hours of losing online. Growth.
    Every game should have a difficulty slider. Let people enjoy things.
    Finished a {20-60}-hour JRPG and now I feel empty. Recommend me another one.
    Open-world game fatigue is real. Playing a tight eight-hour indie video game instead and loving it.
    The new battle royale season map is chaos in the best way.
    Internet dropped mid-raid in the MMO. The gaming guild was not amused.
    Played {3-6} hours straight without checking my phone once. The game is that good.
    Replaying the classic space shooter remaster. The HDR is stunning.
    Co-op puzzle game with my partner. We communicate so much better in real life than in this game.
    Modded the old RPG with a fan translation patch. Twenty-year-old game, brand new to me.
    """,
    """
    🎮
    GG.
    One more run.
    Anyone else playing this?
    """,
    """
    What are you playing this weekend? || finishing the RPG, then more roguelike runs
    Controller or mouse and keyboard? || controller for action games, mouse for shooters
    Best game of the year so far? || the pixel roguelike, no contest
    Is the new console worth it? || if you care about load times, yes
    """,
    "#gaming #videogames #nowplaying #gamer",
)

BANKS["boardgames"] = bank(
    """
    Board game night: {3-6} players, one heavy euro game and a 40-minute rules explanation. Worth it.
    New favorite board game: a cooperative deckbuilder where we all win or all lose dramatically.
    Sleeved all {200-500} cards of the new board game. Cheaper than therapy.
    Taught my parents a worker placement board game. Mom won by {10-30} points. Humbling.
    Our legacy campaign is on game {6-12} and the board is covered in stickers and secrets.
    Board game café on {weekday}: {2-4} games, too many snacks, one friendship tested.
    Bought an organizer insert for my big-box game. Setup went from 20 minutes to 5.
    Engine-building board games are my love language.
    Played a social deduction board game and my best friend lied to my face for an hour. Impressed.
    Painted the miniatures for our dungeon crawler board game. They're terrible. I love them.
    Two-player board game with my partner every night this week. Currently {3-5} to {2-4}.
    The crowdfunded board game arrived! The box weighs {4-8} pounds and it's glorious.
    The solo mode in this board game is surprisingly good. Quiet {weekday} night sorted.
    Rules lawyering got heated at board game night. We need a house rules doc.
    Board game shelf of shame: {8-20} unplayed games. This year I play them all.
    Lost a trading and negotiation board game, laughed the whole time, would play again.
    Card drafting board games hit the sweet spot between strategy and chaos.
    First time playing a 4X board game. Five hours. I dream in hex tiles now.
    Board game night snack rule: nothing greasy near the cards and the game boards.
    Introduced {3-6} people to modern board games today. They're hooked.
    Tile-laying board game with beautiful art, perfect for a lazy Sunday at the table.
    Organized my board game collection by weight and play time. Yes, I'm that person.
    Meeple-shaped cookies at board game night were a massive hit.
    Our board game group rated every game we played this year. Winner: a tense area-control game.
    Learned an abstract strategy board game tonight. Simple rules, brain-melting depth.
    Hosted a board game marathon: {8-12} hours, {6-10} games, pizza at the halfway point.
    """,
    """
    🎲
    Who's in for game night?
    Next week: something heavier.
    """,
    """
    Best gateway board game? || a tile-layer or a light engine builder, under an hour
    Favorite two-player game? || a card drafting one we play almost every night
    How do you teach a new game? || the goal first, then the turn structure, edge cases as they come up
    """,
    "#boardgames #tabletop #gamenight",
)

# --------------------------------------------------------------------------- film and tv

BANKS["film"] = bank(
    """
    Saw the new {genre} film in 70mm. The sound design alone deserves every award.
    Rewatched a {decade} classic movie tonight and it holds up shockingly well.
    Finished the whole season in two nights. That finale. I need a minute.
    The book was better, but the movie adaptation's film score is perfect.
    Movie theater popcorn, reclining seats, phones away. Cinema is church.
    The cinematography in this {genre} drama is unreal. Every frame could hang in a gallery.
    Film festival day {1-5}: {2-4} screenings, one Q&A, zero sleep.
    Double feature tonight: a noir and a musical. Chaotic programming.
    The TV adaptation changed the ending and I... kind of love it?
    My film diary says I watched {120-300} films this year. No notes.
    Rewatched the trilogy with friends who'd never seen it. Their faces at the twist!
    Prestige TV is great, but sometimes I just want a procedural with a satisfying case of the week.
    The director's cut of the film is {15-40} minutes longer and somehow feels shorter.
    Best performance of the year, no contest. The silent scene in the kitchen destroyed me.
    Watched an '80s {genre} movie with practical effects. CGI could never.
    Limited series recommendation: six episodes, tight script, incredible ending.
    Midnight movie screening of a cult classic film where everyone shouted the lines. Perfect night.
    The trailer spoiled half the movie. Please stop doing this, studios.
    This show's writers' room understands pacing better than most movies do.
    Watching every Best Picture winner in order. Currently in the {decade}.
    An animated film made every grown adult in my row cry. Me included.
    The score from that sci-fi film is still in my head {2-5} days later.
    Subtitles on for everything now. I'm catching so many details.
    Found a tiny indie cinema that screens old movies on {weekday}s. New tradition.
    Season premiere tonight: phone off, snacks ready.
    The long take in the final act of this {genre} film had the whole theater holding its breath.
    A documentary about a small-town cinema made me want to open a small-town cinema.
    Ranking every film by this director. The early low-budget one is still my number one.
    Went to a silent movie screening at the cinema with a live pianist. Magical.
    The costume design in this period drama film deserves its own exhibition.
    Spent the evening on a {decade} {genre} marathon. Four films, one very happy couch.
    Just saw the new {genre} movie at the morning show with {3-9} other people. Perfect theater experience.
    Saw a restored {decade} movie at the cinematheque. The colors looked brand new.
    """,
    """
    🎬
    Go see it in a theater.
    Letterboxd review up.
    What should I watch next?
    """,
    """
    Best movie you saw this year? || a quiet {genre} film nobody is talking about, go find it
    Theater or streaming? || theater for anything with a big score, streaming for the rest
    Comfort rewatch? || a {decade} {genre} classic, every winter
    Best TV finale ever? || the one that ended on the long quiet shot of the kitchen, still think about it
    """,
    "#movies #film #filmtwitter #cinema",
)

BANKS["film_celeb"] = bank(
    """
    Wrapped day {20-60} of filming on the new TV series. This crew is the best I've ever worked with.
    Premiere tonight!! Thank you to everyone who made this film happen. So proud of it.
    Table read for season {2-4} today and I got chills reading the last episode.
    Behind the scenes on the film: we shot the rooftop scene {10-20} times at 3am in the rain. Worth it.
    Can't stop thinking about the director's note today: "play it like you already know the ending."
    Two weeks until the trailer drops. I've seen it. It's so good.
    Our movie's film festival screening sold out in {5-15} minutes. I'm shaking.
    Watched the final cut with our editor last night and cried at a scene I'm in. Is that allowed?
    The show just got renewed!! Season {2-5}, here we come.
    Best movie I saw this year that I wasn't in: a quiet indie about two sisters. Go see it.
    My dialect coach has me saying "water" {30-100} times a day. My family is concerned.
    Night shoots on a film set are brutal, but the light at 5am is the most beautiful thing.
    Rewatched the film that made me want to act. Still perfect.
    Costume fitting #{6-14} for the period drama film. The corset and I have reached an understanding.
    Press junket day: {20-40} interviews, the same four questions, one great one about the score.
    Our cinematographer lit this movie scene with a single lamp and it looks like a painting.
    First day on a new film set always feels like the first day of school.
    Tonight's episode is my favorite thing I've ever shot. Watch it with the lights off.
    Improvised a line in the kitchen scene of the movie and the director kept it in the cut. Still buzzing.
    An award nomination?! I'm sitting in my car in a grocery store parking lot screaming.
    Filmed a chase scene for the movie on a bridge today. The stunt team deserves all the credit.
    Watched the dailies and finally understood why the director wanted that extra take.
    Rehearsals for the limited series start Monday. Episode one already memorized.
    If you haven't watched the season finale yet, stay off the internet tonight.
    The composer sent over the main theme and I've listened to it {10-40} times today.
    Q&A after the screening and a teenager asked the smartest question about the editing. Future director.
    Our little film is streaming everywhere from {weekday}! Tell a friend.
    My scene partner made me break {6-12} times today. The blooper reel will be long.
    See it in the biggest theater you can. The sound mix was made for it.
    Late-night ADR session. Re-recording one whisper 25 times is an art form.
    Location scouting in {city} for the next project. The light here is unreal.
    The trailer hit {10-40} million views in a day. Thank you, thank you, thank you.
    Director's chair, fresh coffee, first shot of the day. Let's make a movie.
    Filmmaking is 90% waiting and 10% magic. Today was a magic day.
    Reading scripts on the flight home. One made me laugh out loud. Saying yes to that one.
    Season {2-4} finale airs tonight. We shot the last scene in one take.
    Ten years since my first film came out. I still can't watch my audition tape.
    Table read, wardrobe, camera tests. Pre-production week on the new movie is a blur.
    """,
    """
    🎬
    Thank you for watching.
    Love this team.
    """,
    tags="#premiere #behindthescenes #film",
)

BANKS["celeb_noise"] = bank(
    """
    Grateful for every one of you. Thank you for the birthday messages 💛
    Happy {weekday}! What's everyone up to today?
    My mom just texted me to "post more". Hi mom.
    Family dinner tonight. Best part of any week.
    Airport hair, don't care. Home soon.
    Somebody at the grocery store recognized me and asked where the cereal aisle was. Iconic.
    Learning to play piano at {30-45}. Currently mastering "Chopsticks".
    Rainy day at home, puzzle on the table, phone on silent.
    Trying to keep my houseplants alive on a shooting schedule. Pray for the fern.
    Road trip playlist recommendations? Going long.
    Fell asleep on the couch at 9pm. The glamorous life.
    """,
)

# --------------------------------------------------------------------------- health (sensitive)

BANKS["mentalhealth"] = bank(
    """
    Therapy was a hard one today, but I walked out feeling lighter than I have in weeks.
    My anxiety spiked in the grocery store again. Did the 5-4-3-2-1 grounding exercise my therapist taught me and made it to the checkout.
    {1-3} years of therapy and I finally understand that rest isn't something I have to earn.
    Mental health reminder: it's okay to cancel plans to protect your energy.
    Started journaling for my mental health before bed. Writing down three good things quiets the anxiety.
    Depression week. Showering counted as a win today and I'm choosing to count it.
    My therapist asked what I'd say to a friend in my situation. I would never talk to a friend the way I talk to myself.
    Had a panic attack on the train this morning. Breathed through the anxiety, in for 4, hold for 7, out for 8. It passed.
    Finally told my manager I've been struggling with depression. She was kind about it. Wish I'd done it sooner.
    Week {1-6} of adjusting my antidepressants. Not fun, but I can feel the depression fog lifting a little.
    Burnout recovery is slow and nonlinear, my therapist keeps reminding me. Mental health takes time.
    Self-care evening for my mental health: offline, no news, no scrolling, just tea and a blanket.
    Seasonal depression is arriving on schedule. Light therapy lamp on, walks scheduled, therapist briefed.
    Anxiety support group tonight. Hearing someone describe exactly what I've been feeling was such a relief.
    Therapy is working: said no to something today without over-explaining. Boundaries are hard.
    Therapy homework for my anxiety: notice when I catastrophize. Counted {8-20} times today. Awareness is step one.
    If your mental health is struggling, you're not a burden for reaching out. I needed to hear that once, so here it is.
    Had a genuinely good mental health day today. Writing it down so I remember they exist.
    Switched therapists after {6-12} months and the new fit is so much better. Don't be afraid to shop around for therapy.
    The "just think positive" crowd has clearly never had anxiety and intrusive thoughts at 3am.
    Took a mental health day from work. Not sick in the usual way, still need the rest.
    Learning in therapy the difference between being alone and being lonely.
    Sleep, movement, sunlight, people. The boring basics really do help my anxiety.
    Rough anxiety night, close to a panic attack. Called a friend instead of spiraling. That's progress.
    {3-12} months since my last depressive episode. Therapy and meds helped. Not taking it for granted.
    Wrote a letter to my younger self in therapy today. Cried in the car afterwards. Therapy is hard work.
    Intrusive thoughts are thoughts, not facts, says my therapist. Repeating it until my anxiety believes it.
    My therapist said "you're allowed to take up space." Thinking about it all week.
    CBT therapy worksheet tonight: caught the anxious thought, questioned it, found a kinder version. It helped a bit.
    Being honest with my doctor about my anxiety was the scariest and best thing I did this year.
    """,
    """
    💛
    Be gentle with yourselves.
    One day at a time.
    Sending love to anyone who needs it.
    """,
    """
    How do you find a good therapist? || ask for short consultation calls with two or three people and trust your gut
    What actually helps your anxiety? || grounding exercises for the anxiety and getting outside, even for ten minutes
    Anyone else struggling this week? || yep, my anxiety is bad this week too. you're not alone, hang in there
    Is therapy worth it? || for me, completely. took a few tries to find the right person
    """,
    "#mentalhealth #anxiety #therapy #selfcare",
)

# --------------------------------------------------------------------------- everyday noise

BANKS["noise"] = bank(
    """
    Why does the dishwasher always finish exactly when I'm about to go to bed
    Third {weekday} in a row the train has been delayed. {5-25} minutes this time.
    Finally fixed the squeaky cabinet door. Twenty minutes and a lot of muttering.
    Someone in my building is learning the trumpet and honestly they're getting better.
    Grocery bill was ${40-160} and I forgot the one thing I actually went in for.
    It's {60-95}°F and my neighbor is mowing at 7am.
    Rain all day. The laundry stays in the basket another night.
    Does anyone else's phone autocorrect "ok" to "oil" or is it just mine
    Parking ticket for being {2-9} minutes over. Love that for me.
    Spent my lunch break on hold with the internet company. Still no resolution.
    Replaced the kitchen light bulb and now it looks like an operating room in there.
    My houseplant is either thriving or dying, I genuinely can't tell.
    Reminder to back up your phone. Ask me how I know.
    Power went out for {1-4} hours and I read an entire magazine from 2019.
    Tried a new barber. Results: mixed.
    Someone left a single shoe on the bus stop bench again.
    Moving apartments in {month}. Accepting condolences and cardboard boxes.
    The self-checkout accused me of an unexpected item in the bagging area and I've never felt so judged.
    Birthday dinner for my sister tonight. She picked the loudest restaurant in town.
    Fell asleep at 8:40pm on a {weekday}. Peak adulthood.
    My inbox is at {200-3000} unread and I've made peace with it.
    Snow day! Nowhere to be, nothing to do.
    Took the car in for an oil change and they found three other things I "should look at".
    Why does every streaming app ask who's watching. It's me. It's always me.
    New pillow and I slept like a log. Apparently you're supposed to replace them every few years?
    The ice cream truck plays the same song at {9-10}pm. Who is this for.
    Filled out {3-9} forms at the DMV today. Every single one asked for my address.
    Someone on my street has had their holiday lights up since {month}.
    My alarm didn't go off and I still woke up at the exact time. The body clock is wild.
    Assembled a bookshelf without reading the instructions. There are {2-6} screws left over.
    Lost my keys for 40 minutes. They were in my hand.
    Hot take: {weekday}s are worse than Mondays.
    My umbrella flipped inside out twice on the walk home.
    Went to return a jacket and came home with two more things. Classic.
    Dreamed I missed an exam. I graduated {8-15} years ago.
    The printer only works when someone from IT is standing next to it.
    Long week. Ordering takeout and not apologizing.
    The group chat has been arguing about pineapple on pizza for two hours.
    Cleaned out the junk drawer: {3-12} dead batteries and a key to nothing.
    The downstairs smoke alarm has been chirping since {weekday}.
    Overheard someone say "I'm not a morning person, I'm a never person" and felt that deeply.
    The wifi at my parents' house is a spiritual test.
    Signed up for a pottery class on a whim. We'll see.
    Spilled a whole glass of water on my keyboard. It lives, miraculously.
    Road works outside my window started at 6:58am. Very precise.
    Today's win: watered the plants before they filed a complaint.
    It's {weekday} and I've already written "per my last email" twice.
    Can anyone recommend a reliable plumber? Asking for my bathroom.
    The fire drill at work lasted {10-40} minutes in the drizzle.
    New glasses! Everything is sharp and slightly terrifying.
    My dad just discovered voice messages and now sends three a day.
    Watched the sunset from the roof tonight. Small good thing.
    Put the winter coats away too early, as is tradition.
    Library fine of {20-90} cents. Paid it with pride.
    The neighbors are renovating. Day {4-30} of drilling.
    Found a {5-20} dollar bill in last winter's coat. Best day of the month.
    Learned how to fold a fitted sheet from a video. Forgot by the next wash.
    The bakery near work gave me a free croissant because it was "a bit ugly". Best croissant ever.
    Crossword done in {8-25} minutes. Wednesday puzzles are my level.
    Two-hour meeting that could have been an email. You know the one.
    Walked past a street musician playing the cello at 8am. Made my commute.
    Just spent 20 minutes choosing a font for a birthday card.
    Friday night plan: pajamas at 7, no notes.
    The wind today turned my hair into modern art.
    Why is there always one sock missing after laundry day
    Got a new plant. Named it Gerald. Gerald looks thirsty already.
    """,
)

# --------------------------------------------------------------------------- more fragments
# The heavier posters need banks bigger than their post counts, so that no one repeats themselves.


def more(name: str, posts: str = "", replies: str = "", extras: str = "") -> None:
    BANKS[name]["posts"] += lines(posts)
    BANKS[name]["replies"] += pairs(replies)
    BANKS[name]["extras"] += lines(extras)


more("coffee", """
    Switched my morning pour-over to a flat-bottom dripper and the cups got sweeter and more forgiving.
    Decaf that actually tastes like coffee exists. A Swiss water process {origin} changed my evenings.
    Bought a gooseneck kettle for pour-over coffee. My V60 pours are finally consistent.
    First espresso of the new bag ran way too fast. Went {2-4} clicks finer and it's syrupy now.
    Tiny coffee win: got the grind right on the first try with the new beans.
    Coffee with an old friend at the roastery by the river. Two cortados, three hours of talking.
    Tried a washed and a natural process coffee from the same {origin} farm side by side. Like two different fruits.
    Iced shaken espresso with a little maple syrup is my summer personality.
    Found a café that roasts in the back of the shop. The smell on the street is unreal.
    Reading about coffee processing methods on a {weekday} night. This hobby has no bottom.
    Brewed for my parents with the Chemex and my dad asked for the "fancy filter coffee" again. Win.
    Cold mornings call for a bigger mug and a darker roast. Sorry, light roast.
    The coffee roaster gave me a sample of their holiday espresso blend. Orange peel and spice, very festive.
    Finally learned to steam milk without the screaming noise. Microfoam achieved.
    Traveling with a hand grinder and an Aeropress because hotel coffee is a gamble.
    Tried a Vietnamese iced coffee at the new spot: strong, sweet, dangerous.
""", """
    What's in your mug this morning? || a light roast {origin}, brewed as a V60
    Moka pot or French press? || moka pot for strong, press for lazy Sundays
    Best coffee gadget under $50? || a scale with a timer. changes everything
    Light or dark roast? || light roast coffee, always, but I respect the dark roast people
""")

more("cooking", """
    Cooked gyoza from scratch tonight, wrappers and all. Pleated {20-40} of them. My fingers hurt, my heart is full.
    Cooked a one-pot lemon orzo with spinach for dinner. Going straight into the weeknight recipe rotation.
    Roasted a spatchcocked chicken for the first time. Faster roast, crispier skin.
    Weekend cooking project: a big pot of pho, charred onions and ginger, star anise in the air.
    My kitchen spice drawer finally has labels and dates. Threw out paprika from 2019. Cooking is easier already.
    Made homemade pesto for pasta with basil from the balcony. Tastes like summer.
    Stuffed peppers with rice, lamb and dill, my neighbor's recipe. She approved.
    Made a tarte tatin that actually came out of the pan in one piece. Screaming.
""", """
    How do you get crispy skin on chicken? || dry it overnight in the fridge, uncovered
    Favorite thing to cook for friends? || a huge pot of braised beans with crusty bread
    Cast iron or nonstick? || cast iron for searing, nonstick for eggs, no shame
""")

more("dogs", """
    My dog met the neighbor's cat today. The cat won. {dog} is sulking in his dog bed.
    New dog walk route with {dog}. My dog stopped to sniff every single fence post for 4km.
    Made frozen yogurt dog treats for hot days. {dog} acts like it's Christmas.
    Snow day! The dog did zoomies in the garden for 20 minutes, then {dog} demanded a towel and the dog bed.
    Dog-friendly pub lunch with {dog}: he got a sausage and a lot of compliments.
    Dog training update: {dog} is learning "place" and it's going surprisingly well. Cheese remains the secret.
    Vet checkup for the dog: the nurse said {dog} has "excellent teeth for his age". Proudest dog parent ever.
    Bought the dog a raincoat for rainy dog walks. {dog} stood completely still in protest for five minutes.
    Watching my dog dream and paddle his legs on the rug. {dog} is chasing something, clearly winning.
    Woke up to the dog's head on the pillow next to me. Not sure how {dog} got up there. Dog owners, is this normal?
    Puppy playdate in the park: {dog} and a golden retriever wrestled until both fell asleep.
    Taught the dog to ring a bell when he needs to go out. Now {dog} rings it for fun.
""", """
    Dog walkers, how early do you go out? || 6:30 before the park gets busy, {dog} likes it quiet
    Raw food or kibble? || good dog kibble plus some fresh toppers, vet approved
    How do you keep a dog entertained on rainy days? || snuffle mat, hide and seek, and a frozen kong. a tired dog is a happy dog
""")

more("videogames", """
    Started a new save file in my favorite RPG video game. 200 hours last time, no regrets.
    Gaming PC upgrade: new graphics card, every game on ultra settings now.
    Retro gaming night: plugged in the old console and played the platformers of my childhood.
    Finished an indie video game in one sitting. Four hours, a perfect little story.
    Watched the esports finals on the big screen with friends. The comeback in game five was insane.
    Beat a soulslike boss on my first try. Best gaming moment of the year.
    Roguelike video game run #{80-200}: finally got the perfect build and then died to the second boss.
    The photo mode in this video game is so good I spent an hour on one sunset instead of playing.
    Bought a second-hand handheld gaming console for the train. Commute gaming is the best.
    Racing video game with a steering wheel setup. My living room is now a cockpit.
    Replayed the first game in the series before the sequel drops. The nostalgia is strong.
""", """
    What game do you always go back to? || the old space RPG, at least once a year
    Handheld or TV? || handheld console in bed, TV for any game with a story
""")

more("film", """
    Saw a rerelease of a {decade} {genre} movie on the big screen. The crowd laughed at all the right moments.
    The editing in this thriller movie is so tight I forgot to breathe for the last half hour.
    Started a film club at work: one movie a month, long arguments at lunch.
    A two-hour {genre} film with barely any dialogue and I was hooked the entire time.
    The production design in this fantasy TV series is so detailed I keep pausing the episode to look around.
""", """
    Most overrated movie? || I'll get in trouble for this, but the long space one
""")

more("weightlifting", """
    Safety squat bar day. My upper back now understands suffering.
    Deadlifted {405-475} for a smooth triple with a hook grip. Thumbs are not happy.
    Bench form tweak: tucked elbows a little more and the bar path finally straightened out.
    Trap bar deadlifts for volume: 5x5 at {365-405}. Felt like a warm hug.
    Chalk, belt, sleeves, wraps. The gym bag weighs more than my first squat.
    Competition day nerves: opened light, went 3 for 3 on squats, PR on the total.
""")

more("photography", """
    Shot a whole roll of color film on a grey day and the muted tones look beautiful.
    Macro lens weekend: dew drops on spider webs in the garden at 6am.
    Learned to read the light: soft shade for portraits, hard light for street graphics.
    Panorama of the valley stitched from {6-12} vertical frames. Sharp edge to edge.
    Took the old rangefinder to the market. People barely notice a small quiet camera.
    Night photography in the rain with a fast prime. Every puddle is a mirror.
    Cleaned and re-lubricated a vintage lens. Smooth focus ring, no haze, ready to shoot.
    Photographed my neighbor's bakery for their new website. Paid in pastries.
    Editing preset I made from scratch finally looks like my film scans.
    Sunrise shoot on the dunes: footprints, long shadows, wind-blown sand.
""", """
    Best time of day to shoot? || the hour after sunrise, soft light and empty streets
    Prime or zoom? || primes, they make me move my feet
""")

more("programming", """
    Technical interview prep: practicing coding problems and algorithms every evening.
    Wrote my first Rust program that compiled on the first try. The borrow checker and I are friends now.
    Code formatting debates are over for our team. The formatter decides, developers get on with coding.
    Wrote a small fuzzer for our parser and it crashed it in {4-40} seconds.
    The best code I wrote this week was a README. Documentation is programming too.
    Replaced a pile of regexes in our code with a real parser. {40-80}% fewer bugs since.
    Programming in {lang} this week, the pattern matching makes the code so much cleaner.
    My code editor setup: Vim keybindings and a linter that yells at me. Programming bliss.
    Learned how garbage collection works in {lang} and now I see memory allocations everywhere in my code.
    Got our five-minute test suite down to {40-90} seconds by running the tests in parallel. Developer experience matters.
""", """
    Best way to learn a codebase? || read the code and the tests first, then fix a small bug
    How do you review big PRs? || ask the developer for smaller pull requests, nicely. code review gets so much easier
""")

more("cats", """
    Took the cats to the vet for their yearly checkup. {cat} hid under the chair the entire time.
    Cat cafe visit on my day off. Twelve cats, one latte, zero regrets.
    {cat} and {cat2} had their first real cat fight over the sunny spot. Peace has been restored with treats.
    Ordered a cat water fountain and now {cat} drinks from it like it's a tiny waterfall show.
    Cat tax for the weekend: {cat} asleep in the laundry basket on top of the clean towels.
    The cat has learned the sound of the cheese drawer. {cat} appears instantly. There is no hiding.
    My cat fell asleep in a sunbeam and slowly slid off the windowsill. {cat} is still asleep.
    Bought a cat puzzle feeder. {cat} solved it in two days and now looks bored at me.
    The cat sat on my book every time I tried to read tonight. {cat} wanted attention, message received.
    Brushed the cat for ten minutes and {cat} purred the whole time. Rare cooperative cat mood.
    {cat} discovered the empty bathtub and now sits in it like a throne. Cats are royalty.
""")

more("parenting", """
    Baby bedtime routine that works for now: bath, bottle, one song, lights out. Do not change anything.
    The baby laughed so hard at the dog sneezing. Best parenting moment of the week.
    Took our {baby_age} to the pediatrician for shots. She was braver than I was.
    Packed the car for our first family trip. Baby luggage takes more space than ours combined.
    Grandparents visiting this weekend. First full night of sleep in weeks.
    The baby nap schedule spreadsheet has become my most-opened file.
""")

more("investing", """
    Checked my expense ratios again this year. Still low. Still boring. Good.
    Automated contributions went up {5-10}% after my raise. Lifestyle creep avoided, for now.
    Read a long thread about market timing and closed it without doing anything. Growth.
    Put this year's bonus into the index fund the day it arrived. No overthinking.
    Started tracking net worth quarterly instead of monthly. Much calmer.
    Opened a high-yield savings account for the emergency fund. {4-5}% for doing nothing.
""")

more("ev", """
    Took the EV on a mountain pass: uphill ate the battery, downhill gave a surprising amount back.
    Found the cheapest overnight electricity rate for charging the EV. Charging at 2am now.
    Kids named the EV "Sparky". The name is permanent.
    Added a portable EV charging cable to the trunk. Electric road trip ready.
""")

more("wine", """
    Learning to taste wine properly: look, swirl, smell, sip, and write one honest note.
    Found a {grape} wine from a tiny producer at the village market. Ten euros, gorgeous.
    Wine pairing dinner at a bistro: five courses, five glasses, one very happy evening.
    Bought a Coravin so I can try a glass of wine without opening the whole bottle. Dangerous.
    Vertical tasting of the same {grape} across three vintages. The middle year was the star.
    Picnic wine: a crisp {grape}, cold from the river, with bread and cheese.
    Reading about {wine_region} wines before my trip there in {month}. Already planning winery visits.
    A sweet late-harvest {grape} dessert wine with blue cheese. Perfect end to a dinner.
""", """
    How do you store wine without a cellar? || lying down, somewhere dark, away from the radiator
    Any {wine_region} producers to visit? || the small family ones, call ahead and they'll pour everything
""")

more("beer", """
    Brew day: mashed in at 67°C, hit my gravity for once, the whole garage smells of malt.
    Visited a monastery brewery and had the {beer_style} right next to where it was made.
    Beer of the week: a crisp {beer_style} from a brewery that's only been open for two months.
    Tried my first smoked beer. Tastes like a campfire in the best way.
    Homebrew club meeting: tasted {6-12} beers, got honest feedback on my {beer_style}.
    Cleaned every keg line in the kegerator. Beer tastes brighter already.
    Non-alcoholic craft beer has gotten seriously good. Had a hoppy one at lunch.
    Taproom opened a patio for summer. Perfect spot for a {weekday} evening pint.
    Learning about water chemistry for brewing. Adjusting minerals made my {beer_style} so much crisper.
""", """
    Bottles or kegs for homebrew? || kegs, once you stop bottling you never go back
    What's your desert island beer? || a clean {beer_style}, nothing fancy
""")

more("hiking", """
    Hiked the ridge in a cloud. Zero views, full atmosphere, very wet socks.
    Hut-to-hut hike over {2-4} days: shared bunk rooms, soup at every stop, mountains all day.
    Took my parents on their first real hike. They out-walked me on the descent.
    Larches turning gold along {trail}. Best hiking week of the year.
    Started trail running the easy hiking routes. Same trails, more snacks per hour.
    Downloaded offline maps before losing signal at the trailhead. Saved us at the junction.
""")

more("yoga", """
    Practiced yoga at home with the windows open and birdsong for a soundtrack.
    Tried a yoga nidra class for the first time. Most rested I've felt in weeks.
    Finally stopped comparing my poses to the person on the next mat. Freedom.
    Morning yoga flow on the balcony before the heat: {20-40} minutes of slow breath and stretching.
    Held a forearm stand in yoga for three breaths today. Teacher cheered. I fell. Still counts.
    Chair yoga class with my grandmother. She's more flexible than me.
""")

more("sneakers", """
    Restored a pair of beat-up {sneaker}: deep clean, new laces, repainted midsole. Good as new.
    Sneaker shopping in Tokyo was everything I dreamed of. Came home with {3-5} pairs.
    Wore my {sneaker} sneakers to a wedding. Nobody complained, three people asked where I got the kicks.
    The sample size {sneaker} I found at a consignment shop is the weirdest pair I own.
    New shoe rack arrived: {20-40} slots, already full.
    Sneaker photo shoot on the rooftop for my kicks collection page. Golden hour does wonders for suede.
    Swapped the insoles in my {sneaker} and they're comfortable enough for a 10-hour day.
    Finally tracked down my grail: a {sneaker} in my size, good condition, fair price.
    Kept the original sneaker box for every pair I own. The closet is 60% shoe boxes now.
""", """
    What's your grail? || a {sneaker} in the original colorway, size 10
    How do you clean white soles? || magic eraser and a soft brush on the sneaker soles, never the washing machine
""")

more("vinyl", """
    Bought a used stereo receiver for the turntable. Warm, heavy and it glows.
    Three-hour record shop session, one coffee, {4-8} albums. Perfect Saturday.
    Finally sorted the records I'll never play again for the charity shop. Kept most of them anyway.
    Isolation feet under the turntable got rid of the rumble from the floorboards.
    Listening to a vinyl album start to finish with the lyrics sheet from the record sleeve. Remember doing that?
    Found a signed copy of a {album_era} record at a car boot sale for £3.
""")

more("concerts", """
    Small venue, sold-out crowd, the band played the whole first album front to back.
    Queued from noon for the front row at the gig. Worth every minute when the lights went down.
    First concert with my niece. She knew every word. I knew about half.
    Concert night: an orchestra in the cathedral. The acoustics gave me goosebumps.
""")

more("fiction", """
    Finished a {book_genre} set on a remote island and I can still hear the waves.
    Book club pick was divisive: half loved the ending, half threw the book across the room.
    Started a reading journal: one line per book, one quote, one feeling.
    Bought a book just for the cover and it's the best {book_genre} I've read this year.
    A short story collection where every story made me gasp at the last line.
    Read on the balcony until it got too dark to see the page.
""")

more("boardgames", """
    Finally played the big sci-fi board game that's been on the shelf for a year. Six hours, worth it.
    Cooperative board game win on the hardest difficulty. We high-fived like we'd won the lottery.
    Lent my favorite board game to a friend and it came back with every card sleeved. True friendship.
    Speed round of a party board game with {6-10} people. Loudest game night of the year.
""")

more("cycling", """
    Fixed my first bike flat on the road without help. Took 20 minutes, felt like an hour.
    Evening bike ride along the river with the low sun. {30-50}km of pure calm.
    Lined up for my first criterium bike race. Survived {20-35} laps, finished mid-pack, shaking with adrenaline.
    Cycled to the next town for a pastry and back. Best bike ride excuse there is.
""")

more("fitness_celeb", """
    Hit a new rowing machine best in today's workout and then lay on the gym floor for ten minutes.
    Trainer brought a medicine ball to the beach workout. The sand made everything twice as hard.
    Outdoor workout with the stunt team: tire flips and sprints at sunrise, everyone laughing.
""")

more("film_celeb", """
    Cast dinner after the last day of shooting. Everyone cried at least once.
    Watched the restored print of my favorite {decade} film at the festival. Still perfect on the big screen.
""")

more("basketball", """
    Watched the whole double-overtime basketball game on a tiny phone screen on the bus. No regrets.
    Our point guard just dropped {12-18} assists and made it look easy.
    The new arena food menu has a brisket sandwich and I might start going to more games.
    Our free throw percentage in the fourth quarter is going to give me a heart attack. Basketball is stress.
    The March Madness upsets this year have been absolutely unhinged.
    NBA draft lottery night is my Super Bowl.
""")

more("soccer", """
    Away end at the football match was bouncing for ninety minutes. Lost 1-0, still the best day out of the season.
    Our football club's new kit leaked online and it's the best home shirt in {10-20} years.
    Five-a-side on a {weekday} night: scored twice, fell over once, carried the team in spirit.
    That goalkeeper made {6-9} saves in tonight's soccer match. Man of the match, no debate.
    Watched the football title decider in a packed pub. Couldn't hear anything, didn't need to.
    International break again. I miss my football club already.
""")

more("vinyl", """
    Picked up a cheap phono preamp upgrade and the background hiss is gone.
    Late-night vinyl listening session with a {album_era} record and the lights off.
    Sleeve art on this vinyl reissue is better than the original pressing. Framing it.
    Record fair in the church hall: {20-40} dealers, sore back, very light wallet.
    Finally heard a record on a proper pair of horn speakers. I get it now.
    Boxed set arrived: {4-8} LPs, a booklet thicker than most novels, and a poster.
""", """
    What was the first record you ever bought? || a scratched {album_era} compilation from a charity shop, still have it
    Where do you find good records now? || charity shops, car boot sales and one grumpy dealer I love
    Worth upgrading the cartridge first? || yes, a new turntable cartridge made the biggest difference for the money
""")

more("boardgames", """
    Our group finally finished the legacy board game campaign after {14-30} sessions. Group photo with the board.
    Designed a house rule variant for our favorite co-op board game to make it harder. It's now too hard.
    Convention day: demoed {5-9} unreleased games and came home with a bag of promos.
    Rainy Sunday solo session with a dungeon crawler board game and a pile of dice.
    New player at board game night won her first game ever. The table erupted.
    Printed a custom scorepad for our weekly board game night. We take this very seriously.
""", """
    What's the best game for six players? || a hidden role game or a big party word game
    Heavy euros or light fillers? || a heavy board game to start the night, fillers once the snacks run out
""")

more("running", replies="""
    Do you run with music? || podcasts on easy days, nothing on race day
    How do you fuel a long run? || a gel every 40 minutes of running and water at every fountain
""")
more("cooking", replies="""
    What's your comfort food? || a big bowl of {cuisine} noodle soup, every time
    Best way to use up leftover vegetables? || frittata or fried rice, no exceptions
""")
more("dogs", replies="""
    Best dog walk you've ever done? || a coastal path with {dog}, seals on the rocks, him very confused
""")
more("cats", replies="""
    How many cats is too many? || the answer is always one more cat
    What's your cat's weirdest habit? || my cat drinks from the shower after I get out, every single day
""")
more("hiking", replies="""
    How do you train for a big hike? || stairs with a loaded pack twice a week
    Favorite trail snack? || salted peanuts and a squashed cinnamon roll at the summit
""")
more("photography", replies="""
    What's in your camera bag today? || one body, a 35mm, spare batteries and a lens cloth
""")
more("programming", replies="""
    What's the worst bug you've fixed? || an off-by-one bug in my date range code that only failed in leap years. worst debugging session ever
    Favorite debugging tool? || print statements, I'm not proud
""")
more("fiction", replies="""
    What's on your nightstand? || a {book_genre} I'm rationing to ten pages a night
    Best book club pick ever? || a {book_genre} that started a two-hour argument
""")
more("yoga", replies="""
    How often do you practice? || yoga four times a week, plus ten minutes most mornings
    Favorite pose? || pigeon pose, even though it hates me
""")
more("wine", replies="""
    What are you drinking tonight? || a chilled glass of {grape} wine from {wine_region}, very happy
""")
more("sneakers", replies="""
    How many pairs do you own? || {40-70} pairs of sneakers and my partner says that's the limit
""")
more("weightlifting", replies="""
    Best tip for a bigger deadlift? || push the floor away and keep the bar close
    How long are your rest periods? || three to five minutes on heavy sets
""")
more("investing", replies="""
    Do you check your portfolio daily? || once a month, any more and I'd start tinkering
""")
more("parenting", replies="""
    What surprised you most about the first year? || how fast the hard baby phases pass
""")
more("film", replies="""
    Favorite film of the {decade}? || a {genre} film with the best final shot ever made
""")
more("videogames", replies="""
    What game made you cry? || the indie game with the lighthouse ending. everyone knows the one
""")
more("cycling", replies="""
    Favorite bike upgrade ever? || good bike tires. nothing else comes close for the money
""")
more("beer", replies="""
    Favorite beer and food pairing? || stout with chocolate cake, it's not even close
""")
more("coffee", replies="""
    Is expensive coffee worth it? || fresh beans from a local roaster, yes. fancy gadgets, sometimes
""")
more("ev", replies="""
    Home charging or public? || home charging 95% of the time, public EV chargers only on road trips
""")
more("baking", replies="""
    What's your baking disaster story? || a cake that rose, fell and glued itself to the oven
""")
more("mentalhealth", replies="""
    How do you handle a bad mental health day? || lower the bar, eat something, text one person
""")

FIREHOSE_OPENERS = ["Hot take:", "Quick thought:", "PSA:", "Today's thought:", "Random one:", "Daily reminder:",
                    "Ok so", "Thread idea:", "Real talk:", "Unpopular opinion:", "Just saying:", "Fun fact:",
                    "Morning thought:", "Breaking (for me):", "Note to self:", ""]
FIREHOSE_TAGS = ["#trending", "#followforfollow", "#viral", "#contentcreator", "#dailypost", "#mood", "#fyp",
                 "#explore", "#instagood", "#growth"]

SPAM_EMOJI = ["🔥", "🔥🔥", "💥", "⚡", "🚨", "👟🔥"]
SPAM_TAILS = ["", " #sneakers", " #kicks", " #deals", " #sale", " #sneakerhead", " #ad", " 👀"]

BLOG_TITLES = {
    "air": ["Trip report: {city} in {4-9} days.", "Lounge diaries: {airport}.", "How I flew to {city} on points."],
    "hotels": ["Where we stayed in {city}.", "Hotel review: {city}."],
    "planning": ["My {city} itinerary, day by day.", "The packing list, {month} edition.", "Points update for the year."],
    "photography": ["Photo diary: a week with one lens.", "Notes from the darkroom.", "Contact sheet: {month}."],
    "programming": ["Dev log #{10-60}.", "What I learned shipping this week.", "A tale of one slow query."],
}
PINNED = ("city", "airport", "city_us")
RT_HANDLES = ["@jess_k", "@marco_p", "@thelocalpaper", "@weekendreads", "@sam_and_co", "@notes_by_ana", "@dailybits",
              "@kai_writes", "@the_monday_list"]

# --------------------------------------------------------------------------- people

# Engagement spec: ((likes_min, likes_max), (replies_min, replies_max), (shares_min, shares_max)).
NOISE_ENG = ((0, 3), (0, 1), (0, 0))

# UTC offset (hours) used to turn a plausible local posting hour into UTC.
UTC_OFFSET = {"US": 5, "US-NY": 5, "US-MA": 5, "US-GA": 5, "US-FL": 5, "US-IL": 6, "US-TX": 6, "US-MN": 6,
              "US-CO": 7, "US-CA": 8, "US-OR": 8, "US-WA": 8, "CA-ON": 5, "CA-BC": 8, "GB": 0, "DE": -1, "FR": -1,
              "AU": -10}
LOCAL_HOUR_WEIGHTS = [1, 0.6, 0.3, 0.2, 0.2, 0.3, 0.8, 1.5, 1.8, 1.6, 1.4, 1.4, 2, 1.8, 1.4, 1.3, 1.4, 1.8, 2.3,
                      2.8, 3, 3, 2.6, 1.7]


def E(likes: tuple[int, int], replies: tuple[int, int], shares: tuple[int, int]) -> tuple:
    return (likes, replies, shares)


def reply_share(eng: tuple) -> tuple:
    """A short reply in someone else's thread gets about half the attention of a post of one's own."""
    return tuple((lo, max(lo, hi // 2)) for lo, hi in eng)


ORDINARY = [
    {"uid": "u-runner", "handle": "dani_runs_long", "region": "US-CO", "platforms": {"twitter": 5, "reddit": 2, "mastodon": 1},
         "interests": [("running", 34, E((8, 40), (1, 7), (0, 4))), ("coffee", 14, E((5, 22), (0, 4), (0, 2)))], "noise": 9},
    {"uid": "u-gamer", "handle": "pixel_pete", "region": "US-TX", "platforms": {"twitter": 4, "reddit": 4, "mastodon": 1},
         "interests": [("videogames", 36, E((10, 45), (2, 9), (0, 5))), ("gadgets", 10, E((4, 18), (0, 3), (0, 2)))], "noise": 8},
    {"uid": "u-homecook", "handle": "sunday_sauce_sal", "region": "US-IL", "platforms": {"twitter": 5, "reddit": 2},
         "interests": [("cooking", 38, E((6, 30), (1, 6), (0, 3)))], "noise": 7},
    {"uid": "u-photographer", "handle": "lena_shoots_35", "region": "DE", "platforms": {"mastodon": 5, "twitter": 3, "blog": 0.35},
         "interests": [("photography", 32, E((12, 60), (1, 8), (0, 6))), ("hiking", 12, E((5, 25), (0, 4), (0, 2)))], "noise": 7},
    {"uid": "u-dogowner", "handle": "rufus_and_me", "region": "GB", "platforms": {"twitter": 6, "mastodon": 1},
         "interests": [("dogs", 36, E((10, 55), (1, 9), (0, 5)))], "noise": 7, "slots": {"dog": ["Rufus"]}},
    {"uid": "u-catowner", "handle": "luna_and_juno", "region": "CA-ON", "platforms": {"twitter": 4, "reddit": 3},
         "interests": [("cats", 30, E((8, 45), (1, 7), (0, 4))), ("fiction", 12, E((4, 16), (0, 3), (0, 1)))], "noise": 7,
         "slots": {"cat": ["Luna", "Juno"]}},
    {"uid": "u-newparent", "handle": "sleepless_seattle_dad", "region": "US-WA", "platforms": {"twitter": 4, "reddit": 3},
         "interests": [("parenting", 32, E((6, 30), (1, 8), (0, 3)), dt.date(2025, 3, 20))], "noise": 8,
         "born": dt.date(2025, 3, 2), "start": dt.date(2024, 9, 1)},
    {"uid": "u-investor", "handle": "index_ida", "region": "US-MA", "platforms": {"twitter": 4, "reddit": 4},
         "interests": [("investing", 30, E((5, 28), (1, 6), (0, 4)))], "noise": 8},
    {"uid": "u-evowner", "handle": "volt_valerie", "region": "US-CA", "platforms": {"twitter": 5, "reddit": 2, "mastodon": 1},
         "interests": [("ev", 28, E((8, 35), (1, 8), (0, 4))), ("roadtrip", 14, E((6, 25), (0, 5), (0, 3)))], "noise": 7},
    {"uid": "u-winelover", "handle": "claret_claire", "region": "FR", "platforms": {"twitter": 3, "mastodon": 3},
         "interests": [("wine", 30, E((6, 30), (1, 6), (0, 3))), ("cooking", 12, E((4, 18), (0, 3), (0, 2)))], "noise": 7},
    {"uid": "u-beerfan", "handle": "hop_head_hank", "region": "US-OR", "platforms": {"twitter": 3, "reddit": 4},
         "interests": [("beer", 32, E((5, 26), (1, 6), (0, 3)))], "noise": 8},
    {"uid": "u-hiker", "handle": "trail_mix_tomas", "region": "CA-BC", "platforms": {"twitter": 4, "mastodon": 2, "reddit": 1},
         "interests": [("hiking", 30, E((8, 40), (1, 7), (0, 4))), ("camping", 16, E((6, 30), (0, 5), (0, 3)))], "noise": 7},
    {"uid": "u-yogi", "handle": "om_olivia", "region": "AU", "platforms": {"twitter": 5, "mastodon": 1},
         "interests": [("yoga", 32, E((7, 34), (1, 6), (0, 3)))], "noise": 7},
    {"uid": "u-lifter", "handle": "deadlift_dre", "region": "US-FL", "platforms": {"twitter": 4, "reddit": 3},
         "interests": [("weightlifting", 34, E((9, 45), (1, 9), (0, 4)))], "noise": 7},
    {"uid": "u-sneakerhead", "handle": "sole_collector_nyc", "region": "US-NY", "platforms": {"twitter": 6, "reddit": 2},
         "interests": [("sneakers", 32, E((10, 50), (2, 10), (0, 5)))], "noise": 7},
    {"uid": "u-vinyl", "handle": "crate_digger_kim", "region": "GB", "platforms": {"twitter": 3, "mastodon": 3, "reddit": 1},
         "interests": [("vinyl", 28, E((6, 30), (1, 6), (0, 3))), ("concerts", 12, E((5, 24), (0, 4), (0, 2)))], "noise": 7},
    {"uid": "u-moviebuff", "handle": "reel_rosa", "region": "US-GA", "platforms": {"twitter": 5, "mastodon": 1, "reddit": 1},
         "interests": [("film", 36, E((7, 36), (1, 9), (0, 4)))], "noise": 7},
    {"uid": "u-programmer", "handle": "segfault_sid", "region": "DE", "platforms": {"mastodon": 5, "twitter": 2, "blog": 0.35},
         "interests": [("programming", 32, E((8, 45), (1, 8), (0, 6))), ("gadgets", 10, E((3, 15), (0, 3), (0, 1)))], "noise": 7},
    {"uid": "u-boardgamer", "handle": "meeple_mo", "region": "US-MN", "platforms": {"reddit": 4, "twitter": 3},
         "interests": [("boardgames", 30, E((6, 30), (1, 7), (0, 3)))], "noise": 7},
    {"uid": "u-reader", "handle": "dog_eared_dana", "region": "AU", "platforms": {"twitter": 4, "mastodon": 2},
         "interests": [("fiction", 32, E((7, 32), (1, 7), (0, 3)))], "noise": 7},
    {"uid": "u-cyclist", "handle": "spoke_sophie", "region": "FR", "platforms": {"twitter": 4, "mastodon": 2, "reddit": 1},
         "interests": [("cycling", 30, E((8, 38), (1, 6), (0, 4)))], "noise": 7},
]

# (bank, weight) for the firehose account: a bit of everything, gaming included.
FIREHOSE_BANKS = [("air", 1), ("hotels", 1), ("planning", 1), ("roadtrip", 1), ("coffee", 1), ("baking", 1),
                  ("cooking", 1), ("wine", 1), ("beer", 1), ("running", 1), ("weightlifting", 1), ("yoga", 1),
                  ("cycling", 1), ("basketball", 1), ("soccer", 1), ("videogames", 2), ("boardgames", 1), ("film", 1),
                  ("photography", 1), ("sneakers", 1), ("vinyl", 1), ("concerts", 1), ("fiction", 1),
                  ("programming", 1), ("gadgets", 1), ("investing", 1), ("crypto", 1), ("ev", 1), ("hiking", 1),
                  ("camping", 1), ("dogs", 1), ("cats", 1), ("noise", 2)]


class Builder:
    """Draws every post, with one Random so the output depends on the seed only."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.posts: list[dict] = []
        self.users: list[dict] = []
        self._order: dict[tuple[str, str], list[int]] = {}
        self._next: dict[tuple[str, str], int] = {}
        self._used: dict[tuple[str, str, str], set[int]] = {}

    # ---- fragments

    def pick(self, uid: str, bank_name: str, kind: str, fresh_only: bool = False):
        """Next fragment of a bank for a user: no repeats for that user until the bank is used up
        (then None if ``fresh_only``), and different users walk the bank from different places."""
        items = BANKS[bank_name][kind]
        key = (bank_name, kind)
        if key not in self._order:
            order = list(range(len(items)))
            self.rng.shuffle(order)
            self._order[key] = order
            self._next[key] = self.rng.randrange(len(items))
        used = self._used.setdefault((uid, bank_name, kind), set())
        if len(used) >= len(items):
            if fresh_only:
                return None
            used.clear()
        order, start = self._order[key], self._next[key]
        for step in range(len(order)):
            idx = order[(start + step) % len(order)]
            if idx not in used:
                self._next[key] = (start + step + 1) % len(order)
                used.add(idx)
                return items[idx]
        raise AssertionError("unreachable")

    def unused(self, uid: str, bank_name: str, kind: str) -> int:
        """How many fragments of this kind the user has not used yet."""
        return len(BANKS[bank_name][kind]) - len(self._used.get((uid, bank_name, kind), ()))

    def sentence(self, user: dict, bank_name: str, when: dt.datetime, extra_rate: float = 0.4,
                 fresh_only: bool = False) -> str | None:
        b = BANKS[bank_name]
        tpl = self.pick(user["uid"], bank_name, "posts", fresh_only)
        if tpl is None:
            return None
        text = fill(tpl, self.rng, user, when)
        ends_open = text[-1].isalnum()
        if b["extras"] and not ends_open and self.rng.random() < extra_rate:
            text += " " + fill(self.pick(user["uid"], bank_name, "extras"), self.rng, user, when)
        return text

    def decorate(self, text: str, bank_name: str, tag_rate: float = 0.15, link_rate: float = 0.04) -> str:
        tags = BANKS[bank_name]["tags"]
        roll = self.rng.random()
        if tags and roll < tag_rate:
            text += " " + " ".join(self.rng.sample(tags, k=min(len(tags), self.rng.choice([1, 1, 2]))))
        elif roll > 0.92:
            text += " " + self.rng.choice(EMOJI)
        if self.rng.random() < link_rate:
            text += f" https://example.com/{self.rng.choice(LINK_PATHS)}/{self.rng.randint(1000, 99999)}"
        return text

    def compose(self, user: dict, bank_name: str, when: dt.datetime, platform: str,
                reply_rate: float = 0.2, still_to_write: int = 0) -> tuple[str, str | None, bool]:
        """One post on a topic: a reply with its thread context, a blog entry, or a normal post.

        Returns (text, context, is_reply)."""
        b = BANKS[bank_name]
        rng = self.rng
        user["pin"] = {k: rng.choice(user.get("slots", {}).get(k) or SLOTS[k]) for k in PINNED}
        try:
            return self._compose(user, bank_name, b, when, platform, reply_rate, still_to_write)
        finally:
            user.pop("pin")

    def _compose(self, user: dict, bank_name: str, b: dict, when: dt.datetime, platform: str,
                 reply_rate: float, still_to_write: int) -> tuple[str, str | None, bool]:
        rng = self.rng
        if platform == "blog":
            titles = BLOG_TITLES.get(bank_name, ["Notes from this month."])
            parts = [fill(rng.choice(titles), rng, user, when)]
            parts.append(self.sentence(user, bank_name, when, extra_rate=0.0))
            for _ in range(rng.randint(2, 3)):  # more paragraphs only while fragments to spare remain
                if self.unused(user["uid"], bank_name, "posts") > still_to_write:
                    parts.append(self.sentence(user, bank_name, when, extra_rate=0.0))
            parts = [p if not p[-1].isalnum() else p + "." for p in parts]
            return " ".join(parts) + f" https://example.com/blog/{rng.randint(100, 999)}", None, False
        pair = self.pick(user["uid"], bank_name, "replies", fresh_only=True) if b["replies"] and \
            rng.random() < reply_rate else None
        if pair:  # a short reply, usually with the thread title or parent post it answers
            ctx, reply = pair
            context = fill(ctx, rng, user, when) if rng.random() < 0.9 else None
            return fill(reply, rng, user, when), context, True
        text = self.sentence(user, bank_name, when)
        # reddit posts run a little longer, but never at the cost of repeating a fragment later on
        spare = self.unused(user["uid"], bank_name, "posts") > still_to_write
        second = self.sentence(user, bank_name, when, 0.0, fresh_only=True) if platform == "reddit" and \
            spare and rng.random() < 0.35 else None
        if second:
            text = (text if not text[-1].isalnum() else text + ".") + " " + second
        return self.decorate(text, bank_name), None, False

    # ---- numbers and times

    def tri(self, lo: int, hi: int) -> int:
        if hi <= lo:
            return lo
        return int(round(self.rng.triangular(lo, hi, lo + (hi - lo) * 0.35)))

    def engagement(self, eng: tuple, platform: str) -> tuple[int, int, int]:
        (l1, l2), (r1, r2), (s1, s2) = eng
        likes, replies, shares = self.tri(l1, l2), self.tri(r1, r2), self.tri(s1, s2)
        if platform == "reddit" and l2 <= 5 and self.rng.random() < 0.25:
            likes = -self.rng.randint(1, 6)  # net votes can go negative on reddit
        return likes, replies, shares

    def at(self, user: dict, day: dt.date, hour_range: tuple[int, int] | None = None) -> dt.datetime:
        if hour_range:
            local = self.rng.randint(*hour_range)
        else:
            local = self.rng.choices(range(24), weights=LOCAL_HOUR_WEIGHTS)[0]
        base = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
        when = base + dt.timedelta(hours=local + UTC_OFFSET[user["region"]], minutes=self.rng.randint(0, 59),
                                   seconds=self.rng.randint(0, 59))
        last = dt.datetime(LAST_DAY.year, LAST_DAY.month, LAST_DAY.day, 23, 59, 59, tzinfo=dt.UTC)
        first = dt.datetime(FIRST_DAY.year, FIRST_DAY.month, FIRST_DAY.day, tzinfo=dt.UTC)
        return min(max(when, first), last)

    def days(self, n: int, start: dt.date, end: dt.date, steady: bool = False) -> list[dt.date]:
        span = (end - start).days
        if steady:  # evenly spaced with jitter: a small account posting like clockwork
            gap = span / n
            return [start + dt.timedelta(days=min(span, max(0, int(i * gap + self.rng.uniform(-0.4, 0.4) * gap))))
                    for i in range(n)]
        return [start + dt.timedelta(days=self.rng.randint(0, span)) for _ in range(n)]

    def platform(self, weights: dict[str, float]) -> str:
        return self.rng.choices(list(weights), weights=list(weights.values()))[0]

    # ---- output

    def add(self, user: dict, when: dt.datetime, platform: str, text: str, eng: tuple[int, int, int],
            context: str | None = None, is_share: bool = False) -> None:
        likes, replies, shares = eng
        post = {"post_id": None, "user_id": user["uid"], "text": text,
                "created_at": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "platform": platform,
                "likes": likes, "replies": replies, "shares": shares}
        if context:
            post["context"] = context
        post["is_share"] = is_share
        self.posts.append(post)

    def user(self, uid: str, handle: str, region: str, consent: str | None = "opted_in", **extra) -> dict:
        record = {"user_id": uid, "handle": handle, "region": region}
        if consent is not None:
            record["consent"] = consent
        record.update(extra)
        self.users.append(record)
        return {"uid": uid, "region": region}

    # ---- generic user

    def topic_posts(self, user: dict, bank_name: str, n: int, eng: tuple, start: dt.date, end: dt.date,
                    platforms: dict[str, float], reply_rate: float = 0.2, share_rate: float = 0.0,
                    steady: bool = False) -> None:
        for i, day in enumerate(self.days(n, start, end, steady)):
            when = self.at(user, day)
            platform = self.platform(platforms)
            shared = self.sentence(user, bank_name, when, 0.0, fresh_only=True) if share_rate and \
                platform == "twitter" and self.rng.random() < share_rate else None
            if shared:  # an occasional reshare of someone else's post on the topic
                text = f"RT {self.rng.choice(RT_HANDLES)}: {shared}"
                self.add(user, when, platform, text, self.engagement(((0, 3), (0, 1), (0, 1)), platform),
                         is_share=True)
                continue
            text, context, is_reply = self.compose(user, bank_name, when, platform, reply_rate, n - i - 1)
            self.add(user, when, platform, text, self.engagement(reply_share(eng) if is_reply else eng, platform),
                     context)

    def ordinary(self, spec: dict) -> None:
        rng = self.rng
        user = self.user(spec["uid"], spec["handle"], spec["region"])
        user["slots"] = spec.get("slots", {})
        if "born" in spec:
            user["born"] = spec["born"]
        start = spec.get("start") or FIRST_DAY + dt.timedelta(days=rng.randint(0, 90))
        end = LAST_DAY - dt.timedelta(days=rng.randint(0, 60))
        for interest in spec["interests"]:
            bank_name, n, eng = interest[:3]
            topic_start = interest[3] if len(interest) > 3 else start
            self.topic_posts(user, bank_name, n, eng, topic_start, end, spec["platforms"],
                             reply_rate=0.2, share_rate=0.06)
        noise_platforms = {p: w for p, w in spec["platforms"].items() if p != "blog"}
        self.topic_posts(user, "noise", spec["noise"], NOISE_ENG, start, end, noise_platforms, reply_rate=0)

    # ---- the special cases

    def maya(self) -> None:
        """The heavy travel poster with steady, real engagement on it."""
        user = self.user("u-maya", "maya_travels", "US-NY")
        eng = E((5, 40), (1, 8), (0, 5))
        start, end = dt.date(2024, 6, 4), dt.date(2026, 11, 12)
        platforms = {"twitter": 6, "reddit": 2, "mastodon": 1}
        for bank_name, n in (("air", 30), ("hotels", 16), ("planning", 20)):
            self.topic_posts(user, bank_name, n, eng, start, end, platforms, reply_rate=0.22)
        for day in self.days(5, start, end):
            bank_name = self.rng.choice(["air", "hotels", "planning"])
            when = self.at(user, day)
            text, _, _ = self.compose(user, bank_name, when, "blog")
            self.add(user, when, "blog", text, self.engagement(eng, "blog"))
        self.topic_posts(user, "noise", 6, ((0, 2), (0, 0), (0, 0)), start, end, {"twitter": 1}, reply_rate=0)

    def firehose(self) -> None:
        """~300 posts on everything, many a day, with (near) zero engagement."""
        rng = self.rng
        user = self.user("u-firehose", "allthethings_247", "US")
        start = dt.date(2025, 1, 6)
        span = (dt.date(2026, 11, 10) - start).days
        days = sorted(start + dt.timedelta(days=d) for d in rng.sample(range(span), 55))
        counts = [3] * len(days)
        for _ in range(300 - sum(counts)):
            counts[rng.randrange(len(days))] += 1
        names, weights = zip(*FIREHOSE_BANKS, strict=True)
        for day, count in zip(days, counts, strict=True):
            for _ in range(count):
                bank_name = rng.choices(names, weights=weights)[0]
                if not self.unused(user["uid"], bank_name, "posts"):  # even the firehose never repeats itself
                    bank_name = rng.choice([b for b in names if self.unused(user["uid"], b, "posts")])
                when = self.at(user, day)
                platform = rng.choices(["twitter", "reddit", "mastodon"], weights=[7, 3, 1])[0]
                opener = rng.choice(FIREHOSE_OPENERS)
                text = self.sentence(user, bank_name, when, extra_rate=0.2)
                if opener and not opener.endswith(":"):
                    text = text[0].lower() + text[1:]
                text = f"{opener} {text}" if opener else text
                text = self.decorate(text, bank_name, tag_rate=0.3, link_rate=0.08)
                if rng.random() < 0.4:
                    text += " " + rng.choice(FIREHOSE_TAGS)
                # near-zero engagement: a stray like now and then on small talk, nothing on the topical
                # posts (a reddit score of 1 is just the author's own vote)
                likes = int(bank_name == "noise" and rng.random() < 0.3)
                if platform == "reddit":
                    likes = rng.choice([-1, 0, 1, 1, 1])
                self.add(user, when, platform, text, (likes, 0, 0))

    def one_viral(self) -> None:
        """Regular baking with modest engagement, and one viral post on basketball."""
        user = self.user("u-oneviral", "crumb_and_cosy", "US-IL")
        start, end = dt.date(2024, 7, 2), dt.date(2026, 10, 30)
        self.topic_posts(user, "baking", 34, E((2, 14), (0, 3), (0, 2)), start, end,
                         {"twitter": 5, "mastodon": 1}, reply_rate=0.15)
        self.topic_posts(user, "noise", 5, NOISE_ENG, start, end, {"twitter": 1}, reply_rate=0)
        when = dt.datetime(2025, 5, 21, 2, 47, 12, tzinfo=dt.UTC)
        text = ("That buzzer-beater from half court in game 7?!?! I have never screamed at a TV this loud "
                "in my life 🏀🤯 #NBAPlayoffs")
        self.add(user, when, "twitter", text, (5000, 800, 1200))

    def resharer(self) -> None:
        """Sixty reshares about running, and nothing of its own."""
        rng = self.rng
        user = self.user("u-resharer", "rt_runner_feed", "US-MA")
        sources = ["running_news"] * 26 + ["running"] * 34
        rng.shuffle(sources)
        for bank_name, day in zip(sources, self.days(60, dt.date(2024, 9, 2), dt.date(2026, 10, 28)), strict=True):
            when = self.at(user, day)
            body = self.sentence(user, bank_name, when, extra_rate=0.0)
            text = f"RT {rng.choice(SLOTS['handle_rt'])}: {body}"
            self.add(user, when, "twitter", text, self.engagement(E((1, 9), (0, 1), (0, 3)), "twitter"),
                     is_share=True)

    def spammer(self) -> None:
        """One promotional sneaker text, thirty times over thirty days, with tiny variations."""
        rng = self.rng
        user = self.user("u-spammer", "kicks_deals_4u", "US")
        first = dt.date(2026, 2, 10)
        for i in range(30):
            emoji = rng.choice(SPAM_EMOJI)
            only = rng.choice(["today only", "TODAY ONLY", "today only", "today ONLY"])
            text = (f"{emoji} HUGE DROP {emoji} Limited-edition Velo Runner 'Midnight' sneakers 70% OFF {only}!! "
                    f"Shop now 👉 https://kicksdeal.example/shop{rng.choice(SPAM_TAILS)}")
            when = self.at(user, first + dt.timedelta(days=i), hour_range=(9, 20))
            self.add(user, when, "twitter", text, (rng.choice([0, 0, 1, 2]), 0, rng.choice([0, 0, 0, 1])))

    def burst(self) -> None:
        """Fifteen crypto posts on a single day, and only a handful of other posts."""
        rng = self.rng
        user = self.user("u-burst", "moonshot_mike", "US-TX")
        day = dt.date(2025, 11, 18)
        eng = E((3, 25), (1, 8), (0, 4))
        # 08:00-17:59 local is 14:00-23:59 UTC: the whole burst falls on one calendar day either way
        for hour in sorted(rng.choices(range(8, 18), k=15)):
            when = self.at(user, day, hour_range=(hour, hour))
            text = self.decorate(self.sentence(user, "crypto", when), "crypto", tag_rate=0.4, link_rate=0.0)
            self.add(user, when, "twitter", text, self.engagement(eng, "twitter"))
        self.topic_posts(user, "noise", 6, ((0, 4), (0, 1), (0, 0)), dt.date(2024, 8, 1), dt.date(2026, 10, 1),
                         {"twitter": 3, "reddit": 1}, reply_rate=0)

    def big_account(self) -> None:
        """Huge engagement on everything; film far above its own usual, fitness far below it."""
        user = self.user("u-bigaccount", "jordan_vale_official", "US-CA")
        start, end = dt.date(2024, 6, 10), dt.date(2026, 11, 8)
        platforms = {"twitter": 5, "mastodon": 1}
        self.topic_posts(user, "film_celeb", 38, E((8000, 22000), (500, 1800), (800, 3000)), start, end, platforms)
        self.topic_posts(user, "fitness_celeb", 34, E((250, 900), (10, 60), (5, 40)), start, end, platforms)
        self.topic_posts(user, "celeb_noise", 10, E((2500, 6000), (150, 500), (150, 500)), start, end, platforms,
                         reply_rate=0)

    def small_steady(self) -> None:
        """A tiny account posting about coffee every couple of weeks for two years."""
        user = self.user("u-smallsteady", "pourover_pat", "US-OR")
        start, end = dt.date(2024, 6, 10), dt.date(2026, 11, 10)
        platforms = {"mastodon": 4, "twitter": 2}
        self.topic_posts(user, "coffee", 52, E((2, 4), (0, 2), (0, 1)), start, end, platforms,
                         reply_rate=0.15, steady=True)
        self.topic_posts(user, "noise", 12, ((1, 2), (0, 0), (0, 0)), start, end, platforms, reply_rate=0)

    def sensitive(self) -> None:
        """Mental health with engagement (not opted in to sharing it) plus some hiking; and the one
        user who did opt in to sharing mental health, plus dogs."""
        user = self.user("u-sensitive", "quiet_trails_q", "US-WA")
        start, end = dt.date(2024, 8, 1), dt.date(2026, 11, 1)
        platforms = {"twitter": 3, "reddit": 2, "mastodon": 1}
        self.topic_posts(user, "mentalhealth", 28, E((8, 40), (2, 12), (0, 6)), start, end, platforms)
        self.topic_posts(user, "hiking", 12, E((5, 22), (0, 4), (0, 2)), start, end, platforms)
        self.topic_posts(user, "noise", 5, NOISE_ENG, start, end, platforms, reply_rate=0)

        user = self.user("u-shares-health", "otis_and_jules", "GB", sensitive_opt_in=["health.mental-health"])
        user["slots"] = {"dog": ["Otis"]}
        start, end = dt.date(2024, 10, 1), dt.date(2026, 11, 12)
        platforms = {"twitter": 4, "mastodon": 2}
        self.topic_posts(user, "mentalhealth", 18, E((6, 30), (1, 9), (0, 4)), start, end, platforms)
        self.topic_posts(user, "dogs", 18, E((6, 30), (1, 6), (0, 3)), start, end, platforms)
        self.topic_posts(user, "noise", 5, NOISE_ENG, start, end, platforms, reply_rate=0)

    def consent_cases(self) -> None:
        """Two cyclists: one opted out, one whose record says nothing about consent."""
        for uid, handle, region, consent in (("u-optout", "wheelie_will", "GB", "opted_out"),
                                             ("u-noconsent", "gravel_greta", "DE", None)):
            user = self.user(uid, handle, region, consent=consent)
            start, end = dt.date(2024, 9, 1), dt.date(2026, 11, 5)
            platforms = {"twitter": 3, "mastodon": 2}
            self.topic_posts(user, "cycling", 18, E((8, 35), (1, 6), (0, 3)), start, end, platforms)
            self.topic_posts(user, "noise", 4, NOISE_ENG, start, end, platforms, reply_rate=0)

    def build(self) -> None:
        self.maya()
        self.firehose()
        self.one_viral()
        self.resharer()
        self.spammer()
        self.burst()
        self.big_account()
        self.small_steady()
        self.sensitive()
        self.consent_cases()
        for spec in ORDINARY:
            self.ordinary(spec)
        self.posts.sort(key=lambda p: (p["created_at"], p["user_id"], p["text"]))
        for n, post in enumerate(self.posts, start=1):
            post["post_id"] = f"{PREFIX[post['platform']]}-{n:06d}"


# --------------------------------------------------------------------------- catalog

RUN = {"starts": "2026-01-01", "ends": "2030-12-31"}  # the usual campaign window


def perk(perk_id: str, brand: str, title: str, description: str, **fields) -> dict:
    return {"perk_id": perk_id, "brand": brand, "title": title, "description": description, **fields}


CATALOG = [
    # travel
    perk("pk-skyway-lounge", "Skyway Airlines", "Skyway Club lounge day pass",
         "One free day pass to the Skyway Club lounges at JFK, LaGuardia and Newark. For frequent flyers who would "
         "rather wait out a layover with real food, showers and quiet wifi.",
         topics=["travel.air-travel"], regions=["US-NY"], quantity=5, **RUN),
    perk("pk-skyway-seat-upgrade", "Skyway Airlines", "Free extra-legroom seat upgrade",
         "An upgrade to an extra-legroom seat on one Skyway flight of your choice, for people who spend a lot of "
         "their life on planes.", quantity=10, **RUN),
    perk("pk-skyway-summer-miles-2025", "Skyway Airlines", "Summer 2025 double miles",
         "Double Skyway miles on every flight booked during summer 2025, for travelers collecting toward an award "
         "ticket.", topics=["travel.air-travel"], starts="2025-06-01", ends="2025-09-30"),
    perk("pk-harborline-room-upgrade", "Harborline Hotels", "Room upgrade at check-in",
         "A guaranteed one-category room upgrade at any Harborline hotel worldwide. For travelers who spend a lot of "
         "nights in hotels and love a better view.", topics=["travel.hotels-and-lodging"], **RUN),
    perk("pk-harborline-late-checkout", "Harborline Hotels", "4pm late checkout",
         "Keep your Harborline room until 4pm on your departure day, so the last morning of a trip is not spent "
         "sitting in the lobby."),
    perk("pk-harborline-grand-reopening", "Harborline Hotels", "Two nights at the reopened Harborline Grand",
         "Two nights in a harbor-view suite when the Harborline Grand reopens after its renovation, for hotel lovers "
         "who like to be first.", quantity=4, starts="2031-01-01", ends="2031-12-31"),
    perk("pk-wayfarer-carry-on", "Wayfarer Luggage", "30% off the Wayfarer carry-on",
         "A lightweight hard-shell carry-on that fits every major airline's sizer. For one-bag travelers who never "
         "want to check a bag again.", **RUN),
    perk("pk-wayfarer-packing-cubes", "Wayfarer Luggage", "Free set of compression packing cubes",
         "A set of four compression packing cubes that fit two weeks of clothes into a carry-on. For people who "
         "treat packing as a sport.", quantity=3),
    perk("pk-safepassage-travel-insurance", "SafePassage", "Three months of free travel insurance",
         "Trip cancellation, lost luggage and medical cover abroad for three months. For anyone who travels often "
         "and has learned the hard way.", regions=["US", "CA"], **RUN),
    perk("pk-milestone-points-bonus", "Milestone Rewards", "25,000 bonus points on the Milestone travel card",
         "25,000 bonus points that transfer to partner airlines and hotels, for travelers who plan trips around "
         "points and miles.", topics=["travel"], regions=["US"], **RUN),
    perk("pk-roamly-esim", "Roamly", "10 GB of international eSIM data",
         "10 GB of mobile data usable in over 100 countries, activated from your phone before you land. For "
         "international travelers tired of roaming charges."),
    # coffee
    perk("pk-ember-oak-subscription", "Ember & Oak Coffee", "Three months of single-origin beans",
         "A bag of freshly roasted single-origin coffee every two weeks for three months. For home brewers who "
         "care about roast dates and tasting notes.", topics=["food-and-drink.coffee"], **RUN),
    perk("pk-ember-oak-grinder", "Ember & Oak Coffee", "40% off a burr grinder",
         "A conical burr grinder for pour-over and espresso at 40% off. For coffee lovers ready to upgrade from "
         "pre-ground or blade grinders.", quantity=4),
    perk("pk-ember-oak-cafe-credit", "Ember & Oak Coffee", "$25 credit at Ember & Oak cafés",
         "A $25 credit to spend on pour-overs, espresso and pastries at any Ember & Oak café.", regions=["US"]),
    # running and cycling
    perk("pk-stridelab-gait-analysis", "Stridelab", "Free gait analysis and shoe fitting",
         "A video gait analysis and running shoe fitting with a Stridelab coach. For runners training for a race "
         "or fighting recurring niggles.", **RUN),
    perk("pk-stridelab-race-entry", "Stridelab", "Free entry to a partner half marathon",
         "A free bib for one of Stridelab's partner half marathons, for runners who want a new race on the "
         "calendar.", topics=["sports.running"], quantity=4, **RUN),
    perk("pk-cadence-tune-up", "Cadence Cycles", "Free bike tune-up",
         "A full service for your road, gravel or commuter bike: gears indexed, brakes bled, chain checked. For "
         "cyclists who ride a lot of kilometers.", regions=["GB", "DE", "FR"], **RUN),
    perk("pk-cadence-lights", "Cadence Cycles", "Rechargeable front and rear bike lights",
         "A bright USB-rechargeable light set for commuting and dawn rides, for cyclists who ride in all "
         "conditions.", topics=["sports.cycling"]),
    # baking and cooking
    perk("pk-crumb-co-stand-mixer", "Crumb & Co.", "25% off a stand mixer",
         "A 5-quart stand mixer for bread, brioche and buttercream at 25% off. For home bakers who have outgrown "
         "mixing by hand.", **RUN),
    perk("pk-crumb-co-sourdough-kit", "Crumb & Co.", "Sourdough starter kit",
         "A banneton, lame, dough scraper and a dried heritage starter. For bakers who want better loaves at home.",
         topics=["food-and-drink.baking"]),
    perk("pk-forkful-meal-kits", "Forkful", "Four free meal kits",
         "Four chef-designed meal kits with pre-portioned ingredients delivered to your door, for home cooks who "
         "like trying new recipes.", **RUN),
    perk("pk-forkful-knife-class", "Forkful", "Knife skills class",
         "A two-hour hands-on knife skills class with a professional chef, for home cooks who want to chop faster "
         "and safer.", regions=["US"], quantity=6, **RUN),
    # gaming
    perk("pk-pixelforge-game-pass", "Pixelforge", "Three months of Pixelforge Game Pass",
         "Unlimited access to a library of 300+ console and PC games for three months, for players who always "
         "want something new to play.", **RUN),
    perk("pk-pixelforge-pro-controller", "Pixelforge", "Pixelforge Pro wireless controller",
         "A pro-grade wireless controller with back paddles and drift-resistant sticks, for gamers who play a lot.",
         topics=["gaming.video-games"], quantity=3),
    perk("pk-pixelforge-headset", "Pixelforge", "50% off a gaming headset",
         "A wireless gaming headset with a clear boom mic at half price, for co-op and online players.", **RUN),
    perk("pk-questbox-indie-bundle", "Questbox", "Indie game bundle",
         "Ten hand-picked indie games, from roguelikes to cozy farming sims, for players who love smaller, "
         "stranger games.", topics=["gaming.video-games"]),
    perk("pk-meeple-co-cafe-night", "Meeple & Co.", "Game night at Meeple & Co. board game café",
         "A reserved table for six, the full game library and a snack platter. For board game groups looking for a "
         "night out.", regions=["US"], **RUN),
    perk("pk-meeple-co-expansion", "Meeple & Co.", "Free board game expansion",
         "Pick any expansion from the Meeple & Co. shelf for a game you already own, for tabletop fans whose "
         "favorite games need more content.", topics=["gaming.board-games"], quantity=5),
    # film, music, books
    perk("pk-reelhouse-premium-tickets", "Reelhouse Cinemas", "Two premium cinema tickets",
         "Two tickets in the recliner seats for any film, with popcorn. For movie lovers who still believe in the "
         "big screen.", **RUN),
    perk("pk-reelhouse-festival-pass", "Reelhouse Cinemas", "Reelhouse film festival pass",
         "A pass to every screening of the Reelhouse independent film festival, for cinephiles who want to see "
         "films before anyone else.", topics=["film-and-tv.movies"], quantity=2, **RUN),
    perk("pk-groove-vault-record-club", "Groove Vault", "Three months of the Groove Vault record club",
         "A hand-picked vinyl record every month for three months, for collectors who love digging for deep cuts.",
         topics=["music.vinyl-and-audio"], **RUN),
    perk("pk-groove-vault-cleaning-kit", "Groove Vault", "Record cleaning kit",
         "A carbon fiber brush, cleaning fluid and anti-static inner sleeves, for people who play their records "
         "a lot."),
    perk("pk-stagepass-presale", "Stagepass", "Festival ticket presale access",
         "Early access to tickets for summer music festivals and arena tours, for fans who hate losing the ticket "
         "race.", **RUN),
    perk("pk-pageturner-book-club", "Pageturner Books", "Six months of the Pageturner novel club",
         "A new hardback novel each month with discussion notes, for readers who love literary fiction and a good "
         "book club argument.", topics=["books.fiction"], **RUN),
    perk("pk-pageturner-audiobooks", "Pageturner Books", "Three free audiobooks",
         "Three audiobooks of your choice, for readers who want to fit more books into commutes and walks."),
    # fitness
    perk("pk-ironworks-gym-trial", "Ironworks Gym", "Two-week Ironworks gym pass",
         "Two weeks of unlimited gym access and classes at any Ironworks location, for people building a regular "
         "workout habit.", **RUN),
    perk("pk-ironworks-strength-program", "Ironworks Gym", "12-week coached strength program",
         "A 12-week powerlifting program with monthly form checks from an Ironworks coach, for lifters chasing "
         "squat, bench and deadlift PRs.", topics=["fitness.weightlifting"], quantity=6, **RUN),
    perk("pk-lotus-loft-class-pack", "Lotus Loft", "10-class yoga pack",
         "Ten drop-in classes at Lotus Loft studios, from slow yin to power vinyasa, for yogis at any level.",
         **RUN),
    perk("pk-lotus-loft-cork-mat", "Lotus Loft", "Cork yoga mat",
         "A grippy cork and natural rubber yoga mat that doesn't slip in hot classes, for people who practice "
         "yoga often.", topics=["fitness.yoga"]),
    # photography
    perk("pk-aperture-works-lens-rental", "Aperture Works", "Free weekend lens rental",
         "Rent any prime or telephoto lens for a weekend, for photographers who want to try new glass before "
         "buying.", topics=["photography.cameras-and-gear"], **RUN),
    perk("pk-aperture-works-photo-walk", "Aperture Works", "Guided street photography walk",
         "A three-hour photo walk with a professional street photographer, for photographers who want fresh eyes "
         "on their city.", regions=["GB", "DE", "FR"], quantity=8, **RUN),
    # pets and family
    perk("pk-wagtail-dog-box", "Wagtail & Whisker", "Three months of the dog treat box",
         "A monthly box of natural treats and tough toys, for dog owners whose best friend deserves a surprise.",
         topics=["pets.dogs"], **RUN),
    perk("pk-wagtail-dog-training", "Wagtail & Whisker", "Free dog training session",
         "A one-to-one session with a certified trainer for recall, lead pulling or puppy manners, for dog owners "
         "working on good habits."),
    perk("pk-wagtail-cat-tree", "Wagtail & Whisker", "30% off a cat tree",
         "A tall sisal cat tree with a window perch and a hidey hole, for cat owners whose cats rule the home.",
         **RUN),
    perk("pk-little-sprout-diapers", "Little Sprout", "A month of eco diapers",
         "A month's supply of plant-based diapers and wipes delivered to your door, for new parents in the thick "
         "of the baby months.", **RUN),
    perk("pk-little-sprout-carrier", "Little Sprout", "Ergonomic baby carrier",
         "A soft structured baby carrier for newborns to toddlers, for parents who want their hands free on walks.",
         topics=["parenting.babies"], quantity=3),
    # money and cars
    perk("pk-ledgerly-premium", "Ledgerly", "A year of Ledgerly Premium",
         "Portfolio tracking, rebalancing alerts and tax-loss reports for a year, for long-term investors who like "
         "to keep an eye on their allocation.", regions=["US"], **RUN),
    perk("pk-voltway-charging-credit", "Voltway", "$100 of fast-charging credit",
         "$100 to spend on the Voltway fast-charging network, for electric vehicle drivers who take road trips.",
         topics=["cars.electric-vehicles"], regions=["US", "CA"], **RUN),
    perk("pk-voltway-home-charger", "Voltway", "Free home charger installation",
         "Installation of a Level 2 home charger by a certified electrician, for EV owners tired of public "
         "charging.", quantity=2, **RUN),
    # drinks
    perk("pk-vinea-tasting-flight", "Vinea Cellars", "Private wine tasting for two",
         "A guided tasting of six wines from small European producers, for wine lovers who want to learn about "
         "grapes, regions and soils.", **RUN),
    perk("pk-vinea-wine-club", "Vinea Cellars", "Three months of the Vinea wine club",
         "Three bottles a month from independent winemakers with tasting notes, for curious wine drinkers.",
         regions=["FR", "DE", "GB"], **RUN),
    perk("pk-hopyard-brewery-tour", "Hopyard Brewing", "Brewery tour and tasting flight",
         "A behind-the-scenes brewery tour with a flight of six fresh beers, for craft beer fans and homebrewers.",
         topics=["food-and-drink.beer"], quantity=6, **RUN),
    perk("pk-hopyard-mixed-case", "Hopyard Brewing", "Mixed case of seasonal beers",
         "Twelve cans of small-batch seasonal beers, from hazy IPAs to stouts, for people who love trying new "
         "beers."),
    # outdoors
    perk("pk-summit-stream-daypack", "Summit & Stream Outfitters", "Free 24-liter hiking daypack",
         "A lightweight daypack with a hydration sleeve and rain cover, for hikers who spend their weekends on "
         "the trail.", topics=["outdoors.hiking"], **RUN),
    perk("pk-summit-stream-tent-rental", "Summit & Stream Outfitters", "Free weekend tent and stove rental",
         "A two-person tent, sleeping pads and a camp stove for a weekend, for campers heading into the backcountry.",
         topics=["outdoors.camping"]),
    perk("pk-summit-stream-park-pass", "Summit & Stream Outfitters", "Annual national parks pass",
         "A year of entry to national parks, for people who hike and camp every chance they get.",
         regions=["CA"], quantity=5, **RUN),
    # fashion
    perk("pk-kicklab-release-raffle", "Kicklab", "Guaranteed pair in a Kicklab release",
         "A guaranteed pair at retail price in one upcoming limited sneaker release, for sneakerheads tired of "
         "losing raffles.", topics=["fashion.sneakers"], quantity=5, **RUN),
    perk("pk-kicklab-summer-2025", "Kicklab", "Summer 2025 sneaker cleaning kit",
         "A premium cleaning kit with brushes, foam cleaner and crease protectors, for collectors who keep their "
         "pairs spotless.", starts="2025-05-01", ends="2025-08-31"),
    # technology
    perk("pk-bytecraft-pro", "Bytecraft", "A year of Bytecraft Pro",
         "Unlimited access to in-depth programming courses and hands-on labs for a year, for software developers "
         "who keep learning.", topics=["technology.programming"], **RUN),
    perk("pk-circuit-supply-keyboard", "Circuit Supply", "Mechanical keyboard kit",
         "A hot-swappable mechanical keyboard kit with switches and keycaps, for people who love their gadgets and "
         "type all day.", quantity=4, **RUN),
    # distractors
    perk("pk-courtside-poster", "Courtside Posters", "Limited-edition hoops art print",
         "A signed, numbered art print of a legendary NBA arena, for die-hard hoops fans who watch every game.",
         topics=["sports.basketball"], quantity=10, **RUN),
    perk("pk-pitchside-scarf", "Pitchside", "Supporters' club scarf",
         "A knitted scarf in your club's colors, for football supporters who never miss a match.",
         topics=["sports.soccer"]),
]


def catalog_yaml(perks: list[dict]) -> str:
    """YAML by hand (standard library only): strings as JSON double-quoted scalars, which YAML reads as-is."""
    out = ["# perkmatch sample perk catalog: fictional brands and offers for `perkmatch demo`.",
           "# Generated by scripts/make_sample_data.py; edit the script, not this file.", ""]
    for p in perks:
        out.append(f"- perk_id: {p['perk_id']}")
        for key in ("brand", "title", "description"):
            out.append(f"  {key}: {json.dumps(p[key], ensure_ascii=False)}")
        for key in ("topics", "regions"):
            if key in p:
                out.append(f"  {key}: [{', '.join(json.dumps(v) for v in p[key])}]")
        if "quantity" in p:
            out.append(f"  quantity: {p['quantity']}")
        for key in ("starts", "ends"):
            if key in p:
                out.append(f'  {key}: "{p[key]}"')
        out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=SEED, help=f"random seed (default {SEED})")
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).resolve().parent.parent / "matcher" / "data" / "sample",
                        help="output directory (default: matcher/data/sample in this repository)")
    args = parser.parse_args(argv)

    builder = Builder(args.seed)
    builder.build()
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "posts.jsonl", "w", encoding="utf-8", newline="\n") as fh:
        for post in builder.posts:
            fh.write(json.dumps(post, ensure_ascii=False) + "\n")
    with open(args.out / "users.jsonl", "w", encoding="utf-8", newline="\n") as fh:
        for user in builder.users:
            fh.write(json.dumps(user, ensure_ascii=False) + "\n")
    (args.out / "catalog.yaml").write_text(catalog_yaml(CATALOG), encoding="utf-8", newline="\n")
    print(f"wrote {len(builder.posts)} posts, {len(builder.users)} users, {len(CATALOG)} perks to {args.out}")


if __name__ == "__main__":
    main()
