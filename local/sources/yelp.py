"""Local stand-in for the Yelp Fusion API, served by server.py under ``/v3/``.

It speaks Yelp's wire format (each source's include/sources/<name>/README.md):

* Auth ``Authorization: Bearer KEY``; a wrong or missing key gets 401 ``TOKEN_INVALID``.
* ``GET /v3/businesses/search?location=<County Name>, <ST>&limit=..&offset=..`` (optional
  ``categories``; ``term`` is accepted and ignored) answers
  ``{"businesses": [...], "total": T, "region": {"center": {...}}}``. ``limit`` > 50 and
  ``offset + limit`` over the result cap get 400 ``VALIDATION_ERROR``; an unknown location
  gets 400 ``LOCATION_NOT_FOUND``.
* ``GET /v3/businesses/{id}/reviews`` answers at most 3 reviews. A moved business answers
  301 ``BUSINESS_MIGRATED`` with ``Location`` and ``new_business_id``; an unknown id 404.
* Every response carries ``RateLimit-DailyLimit``, ``RateLimit-Remaining`` and
  ``RateLimit-ResetTime`` (next UTC midnight).

The data is deterministic, from (county FIPS, business index, data version):

* Counties are the Census part's ``counties(counties_per_state)``; the location string is
  ``"<county name>, <postal code>"`` (for example ``"Doña Ana County, NM"``).
* Each county has ``per_county`` businesses of its own, except the *big county* (the
  first California county of the list) which has ``big_county_size`` (> cap), so paging
  hits the cap. Each county's search also lists business 0 of the next county of the same
  state (wrapping around), at position 1: that business appears in two searches.
* A business is *moved* when ``_h(id, "moved") % MOVED_ONE_IN == 0``; its new id is
  ``yelp_id("moved", old id)``. Searches list the old id.
* Data version 2 changes rating and price of the businesses with
  ``_h(id, "v2") % 10 == 0`` (see ``changed_in_v2``).
* Data version 3 is version 2 plus edits Yelp makes to the rest of what it serves: the
  titles of ``V3_TITLES``' categories, the name and picture of users with
  ``_h("user", index, "v3") % 4 == 0`` (``user_changed_in_v3``), and the text and rating of
  reviews with ``_h(review id, "v3") % 3 == 0`` (``review_edited_in_v3``).

Scenario keys of ``POST /_control`` (all reset by ``{}``, as is the Yelp call counter):
``yelp_version`` (1, 2 or 3), ``yelp_daily_quota`` (N calls, then 429
``ACCESS_LIMIT_REACHED``), ``yelp_rps_429_every`` (every Nth call answers 429
``TOO_MANY_REQUESTS_PER_SECOND``), ``"yelp": "500"`` (every call answers 500
``INTERNAL_ERROR``, like the Census ``"500"`` fault), ``yelp_hold_after`` (N calls are
answered, then every later call is held, unanswered, until the next ``POST /_control`` or
for at most ``HOLD_MAX_SECONDS``; ``yelp_held`` counts the calls held: a test freezes a run
mid-way with it). Every ``/v3/`` call counts, whatever it answers, in the ``yelp``,
``yelp_search``/``yelp_reviews`` counts of ``GET /_control``.
Per-item faults (they combine with the rest):

* ``"yelp_location_not_found": ["<County>, <ST>", ...]``: those searches answer 400
  ``LOCATION_NOT_FOUND``, as Yelp does for a location it cannot resolve.
* ``"yelp_business_not_found": ["<business id>", ...]``: those reviews answer 404
  ``BUSINESS_NOT_FOUND`` (before any 301).
* ``"yelp_bad_businesses": {"<business id>": kind}``: that business is malformed in every
  search listing it: ``"type"`` (``review_count`` a string), ``"nul"`` (a NUL in its
  name), ``"range"`` (latitude 123.4), ``"surrogate"`` (an unpaired ``\ud800`` escape in
  its name).
* ``"yelp_bad_reviews": {"<business id>": kind}``: its first review is malformed:
  ``"year_9999"`` (``time_created`` 9999-12-31 23:59:59, past datetime's range in UTC) or
  ``"nul"`` (a NUL in its text).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
import unicodedata
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, quote

DEFAULT_CAP = 240
DEFAULT_PER_COUNTY = 4
DEFAULT_BIG_COUNTY_SIZE = 260
DEFAULT_DAILY_LIMIT = 100_000  # a generous local key; yelp_daily_quota lowers it
MAX_LIMIT = 50
MOVED_ONE_IN = 25
CONTROL_KEYS = ("yelp_version", "yelp_daily_quota", "yelp_rps_429_every", "yelp_hold_after")
# A held call is answered after this long at the latest (below the clients' 60 s read
# timeout), so a test that forgets to release it cannot hang a run.
HOLD_MAX_SECONDS = 30
LIST_KEYS = ("yelp_location_not_found", "yelp_business_not_found")
BAD_BUSINESS_KINDS = ("type", "nul", "range", "surrogate")
BAD_REVIEW_KINDS = ("year_9999", "nul")
_SURROGATE_MARK = "\u0001surrogate\u0001"  # written as an unpaired \ud800 escape by encode()

# (template, primary category): names with non-ASCII characters keep unicode honest.
NAME_TEMPLATES = [
    ("{base} Diner", ("diners", "Diners")),
    ("Café {base}", ("cafes", "Cafes")),
    ("{base} Pizza Co.", ("pizza", "Pizza")),
    ("Taquería {base}", ("mexican", "Mexican")),
    ("{base} Brewing", ("breweries", "Breweries")),
    ("Pho Saigon Phở", ("vietnamese", "Vietnamese")),
    ("{base} Bagels", ("bagels", "Bagels")),
    ("Crème de la Crème Bakery", ("bakeries", "Bakeries")),
    ("The {base} Grill", ("tradamerican", "American (Traditional)")),
    ("Sushi Ōsaka", ("sushi", "Sushi Bars")),
    ("{base} Coffee Roasters", ("coffee", "Coffee & Tea")),
    ("Jalapeño's Cantina", ("tex-mex", "Tex-Mex")),
    ("{base} BBQ", ("bbq", "Barbeque")),
    ("Smörgås Deli", ("delis", "Delis")),
    ("{base} Noodle House", ("noodles", "Noodles")),
]
EXTRA_CATEGORIES = [
    ("breakfast_brunch", "Breakfast & Brunch"),
    ("bars", "Bars"),
    ("sandwiches", "Sandwiches"),
    ("vegan", "Vegan"),
    ("desserts", "Desserts"),
    ("newamerican", "American (New)"),
    ("burgers", "Burgers"),
    ("salad", "Salad"),
]
TRANSACTIONS = ("delivery", "pickup", "restaurant_reservation")
RATINGS = (1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 3.5, 4.0, 4.0, 4.0, 4.5, 4.5, 5.0)
STREETS = [
    "Main St",
    "Oak Ave",
    "Mesa Rd",
    "Calle Río",
    "2nd St",
    "Elm St",
    "Market St",
    "Broadway",
    "Park Blvd",
    "Mill Rd",
]
# Version 3 renames these category titles (the alias stays), as Yelp does now and then.
V3_TITLES = {"coffee": "Coffee & Tea Shops", "bbq": "Barbecue", "diners": "Classic Diners"}
CITY_SUFFIXES = ["", "ville", " Springs", " City"]
SPECIAL_CITIES = {"Doña Ana County": "Las Cruces"}
FIRST_NAMES = [
    "Maria",
    "José",
    "Zoë",
    "Renée",
    "Björn",
    "Siobhán",
    "Thảo",
    "John",
    "Aisha",
    "Wei",
    "Priya",
    "Liam",
    "Noémie",
    "Carlos",
    "Emily",
    "Kenji",
    "Fatima",
    "Ana",
    "David",
    "Chloé",
]
USER_POOL = 240  # ~4 reviews per user at the default scale: users review several businesses
REVIEW_TEXTS = [
    "Best phở in town, the broth is incredible and the service quick. Parking is a pain though...",
    "Came here for brunch with friends. The crème brûlée French toast was perfect and the "
    "coffee strong...",
    "Meh. Waited 40 minutes for a table and the food was lukewarm.\nWon't be back...",
    "Friendly staff, fair prices, big portions. The jalapeño poppers are a must! Will come back...",
    "Solid spot. Nothing fancy, but everything we ordered was fresh and tasty...",
    'Hidden gem! Try the special of the day, ask for "extra crispy"...',
]


def _h(*parts: object) -> int:
    return int(hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:12], 16)


def yelp_id(*parts: object) -> str:
    """A 22-character url-safe id, like Yelp's."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:16]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _norm_location(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def _base_name(county_name: str) -> str:
    words = [w for w in county_name.split() if w not in ("County", "Municipio") and not w.isdigit()]
    return " ".join(words)


def is_moved(business_id: str) -> bool:
    return _h(business_id, "moved") % MOVED_ONE_IN == 0


def new_id_of(business_id: str) -> str:
    return yelp_id("moved", business_id)


def changed_in_v2(business_id: str) -> bool:
    return _h(business_id, "v2") % 10 == 0


def user_changed_in_v3(index: int) -> bool:
    return _h("user", index, "v3") % 4 == 0


def review_edited_in_v3(review_id: str) -> bool:
    return _h(review_id, "v3") % 3 == 0


def next_utc_midnight(now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return (datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)).isoformat()


class YelpWorld:
    """The deterministic business directory. Immutable once built."""

    def __init__(
        self,
        counties: list[tuple[str, str, str]],
        state_codes: dict[str, str],
        per_county: int = DEFAULT_PER_COUNTY,
        big_county_size: int = DEFAULT_BIG_COUNTY_SIZE,
    ):
        self.county_names: dict[tuple[str, str], str] = {}
        self.locations: dict[str, tuple[str, str]] = {}
        self.by_id: dict[str, tuple[str, str, int]] = {}  # id -> (state, county, index)
        self.search_ids: dict[tuple[str, str], list[str]] = {}
        self.moved: dict[str, str] = {}  # old id -> new id
        self.moved_to: dict[str, str] = {}  # new id -> old id
        by_state: dict[str, list[tuple[str, str]]] = {}
        for sfips, cfips, cname in counties:
            self.county_names[(sfips, cfips)] = cname
            self.locations[_norm_location(f"{cname}, {state_codes[sfips]}")] = (sfips, cfips)
            by_state.setdefault(sfips, []).append((sfips, cfips))
        self.state_codes = state_codes
        ca = by_state.get("06") or next(iter(by_state.values()))
        self.big_county = ca[0]
        own: dict[tuple[str, str], list[str]] = {}
        for key in self.county_names:
            size = big_county_size if key == self.big_county else per_county
            ids = []
            for idx in range(size):
                bid = yelp_id("business", key[0], key[1], idx)
                self.by_id[bid] = (key[0], key[1], idx)
                ids.append(bid)
                if is_moved(bid):
                    self.moved[bid] = new_id_of(bid)
                    self.moved_to[new_id_of(bid)] = bid
            own[key] = ids
        for keys in by_state.values():
            for pos, key in enumerate(keys):
                ids = list(own[key])
                nxt = keys[(pos + 1) % len(keys)]
                if nxt != key and own[nxt]:
                    ids.insert(min(1, len(ids)), own[nxt][0])
                self.search_ids[key] = ids

    def location_key(self, location: str) -> tuple[str, str] | None:
        return self.locations.get(_norm_location(location))

    def location_of(self, key: tuple[str, str]) -> str:
        return f"{self.county_names[key]}, {self.state_codes[key[0]]}"

    def center(self, key: tuple[str, str]) -> tuple[float, float]:
        lat = 25.0 + (_h(*key, "lat") % 2300) / 100
        lon = -(67.0 + (_h(*key, "lon") % 5700) / 100)
        return round(lat, 6), round(lon, 6)

    def business(self, business_id: str, version: int = 1) -> dict:
        sfips, cfips, idx = self.by_id[business_id]
        cname = self.county_names[(sfips, cfips)]
        st = self.state_codes[sfips]
        base = _base_name(cname)
        h = lambda *p: _h(business_id, *p)  # noqa: E731
        if idx == 0 and not cname.isascii():
            template, primary = NAME_TEMPLATES[1]  # "Café Doña Ana": non-ASCII county names
        else:
            template, primary = NAME_TEMPLATES[h("name") % len(NAME_TEMPLATES)]
        name = template.format(base=base)
        city = SPECIAL_CITIES.get(cname) or (
            base + CITY_SUFFIXES[_h(sfips, cfips, idx % 2, "city") % len(CITY_SUFFIXES)]
        )
        categories = [primary]
        for k in range(h("ncat") % 3):
            extra = EXTRA_CATEGORIES[h("cat", k) % len(EXTRA_CATEGORIES)]
            if extra not in categories:
                categories.append(extra)
        rating = RATINGS[h("rating") % len(RATINGS)]
        price_level = h("price") % 10
        price = None if price_level < 2 else "$" * (1 + price_level % 4)
        if version >= 2 and changed_in_v2(business_id):
            rating = rating + 0.5 if rating < 5.0 else 4.5
            price = "$$" if price is None else "$" * (len(price) + 1) if len(price) < 4 else "$$$"
        if version >= 3:
            categories = [(a, V3_TITLES.get(a, t)) for a, t in categories]
        review_count = 0 if h("norev") % 20 == 0 else 1 + h("reviews") % 400
        tx_bits = h("tx") % 8
        transactions = [t for bit, t in enumerate(TRANSACTIONS) if tx_bits >> bit & 1]
        lat, lon = self.center((sfips, cfips))
        zip_code = f"{10000 + _h(sfips, cfips, 'zip') % 89000 + idx % 5:05d}"
        address1 = f"{100 + h('num') % 9900} {STREETS[h('street') % len(STREETS)]}"
        address2 = [None, "", "", f"Ste {100 + h('ste') % 400}"][h("a2") % 4]
        address3 = [None, ""][h("a3") % 2]
        area = 200 + _h(sfips, cfips, "area") % 800
        number = f"{area}555{h('phone') % 10000:04d}"
        phone = "" if h("nophone") % 7 == 0 else f"+1{number}"
        # Unique like Yelp's: the county FIPS and index tell same-named businesses apart.
        alias = f"{_slug(name)}-{_slug(city)}-{sfips}{cfips}-{idx + 1}"
        tracking = (
            "adjust_creative=local-client-id&utm_campaign=yelp_api_v3&utm_medium="
            "api_v3_business_search&utm_source=local-client-id"
        )
        body = {
            "id": business_id,
            "alias": alias,
            "name": name,
            "image_url": f"https://s3-media1.fl.yelpcdn.com/bphoto/{yelp_id('img', business_id)}"
            "/o.jpg",
            "is_closed": h("closed") % 20 == 0,
            "url": f"https://www.yelp.com/biz/{quote(alias)}?{tracking}",
            "review_count": review_count,
            "categories": [{"alias": a, "title": t} for a, t in categories],
            "rating": rating,
            "coordinates": {
                "latitude": round(lat + (h("dlat") % 4001 - 2000) / 10000, 6),
                "longitude": round(lon + (h("dlon") % 4001 - 2000) / 10000, 6),
            },
            "transactions": transactions,
            "location": {
                "address1": address1,
                "address2": address2,
                "address3": address3,
                "city": city,
                "zip_code": zip_code,
                "country": "US",
                "state": st,
                "display_address": [address1]
                + ([address2] if address2 else [])
                + [f"{city}, {st} {zip_code}"],
            },
            "phone": phone,
            "display_phone": "" if not phone else f"({number[:3]}) {number[3:6]}-{number[6:]}",
            "distance": round(100 + h("dist") % 20000 + (h("distf") % 1000) / 1000, 3),
        }
        if price is not None:  # Yelp leaves the key out when it has no price level
            body["price"] = price
        return body

    def reviews(self, business_id: str, version: int = 1) -> dict:
        """Reviews of `business_id` (a current id: a new id of a moved business works).
        Version 3 edits some reviews (text and rating) and some users."""
        old_id = self.moved_to.get(business_id, business_id)
        business = self.business(old_id)
        count = business["review_count"]
        out = []
        used_users: set[int] = set()
        for k in range(min(3, count)):
            user = _h(old_id, k, "user") % USER_POOL
            while user in used_users:
                user = (user + 1) % USER_POOL
            used_users.add(user)
            review_id = yelp_id("review", old_id, k)
            stars = max(1, min(5, round(business["rating"]) + (_h(old_id, k, "stars") % 3) - 1))
            text = REVIEW_TEXTS[_h(old_id, k, "text") % len(REVIEW_TEXTS)]
            if version >= 3 and review_edited_in_v3(review_id):
                stars, text = stars % 5 + 1, f"Update: {text}"
            created = datetime(2015, 1, 1) + timedelta(
                seconds=_h(old_id, k, "time") % (5 * 365 * 86400)
            )
            out.append(
                {
                    "id": review_id,
                    "url": f"https://www.yelp.com/biz/{quote(business['alias'])}?adjust_creative="
                    f"local-client-id&hrid={review_id}&utm_campaign=yelp_api_v3"
                    "&utm_medium=api_v3_business_reviews&utm_source=local-client-id",
                    "text": text,
                    "rating": stars,
                    # Yelp documents review times as local Pacific time, without an offset.
                    "time_created": created.strftime("%Y-%m-%d %H:%M:%S"),
                    "user": user_object(user, version),
                }
            )
        out.sort(key=lambda r: r["time_created"], reverse=True)
        return {"reviews": out, "total": count, "possible_languages": ["en"]}


def user_object(index: int, version: int = 1) -> dict:
    """A reviewer; in version 3 some users changed their name and picture."""
    uid = yelp_id("user", index)
    first = FIRST_NAMES[index % len(FIRST_NAMES)]
    position = _h("user", index, "initial") % 22
    avatar = yelp_id("avatar", index)
    if version >= 3 and user_changed_in_v3(index):
        position, avatar = (position + 1) % 22, yelp_id("avatar", index, "v3")
    initial = "ABCDEFGHIJKLMNOPRSTVWZ"[position]
    return {
        "id": uid,
        "profile_url": f"https://www.yelp.com/user_details?userid={uid}",
        "image_url": None
        if index % 5 == 0
        else f"https://s3-media2.fl.yelpcdn.com/photo/{avatar}/o.jpg",
        "name": f"{first} {initial}.",
    }


def error(code: str, description: str, **extra) -> dict:
    return {"error": {"code": code, "description": description, **extra}}


def validate_control(payload: dict) -> str | None:
    """The reason a `_control` body's Yelp keys are unusable, or None."""
    if payload.get("yelp", "500") != "500":
        return f'yelp fault must be "500", got {payload["yelp"]!r}'
    for key in CONTROL_KEYS:
        if key not in payload:
            continue
        value = payload[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return f"{key} must be a non-negative integer, got {value!r}"
        if key == "yelp_version" and value not in (1, 2, 3):
            return "yelp_version must be 1, 2 or 3"
        if key == "yelp_rps_429_every" and value == 0:
            return "yelp_rps_429_every must be >= 1"
    for key in LIST_KEYS:
        value = payload.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return f"{key} must be a list of strings, got {value!r}"
    for key, kinds in (
        ("yelp_bad_businesses", BAD_BUSINESS_KINDS),
        ("yelp_bad_reviews", BAD_REVIEW_KINDS),
    ):
        value = payload.get(key, {})
        if not isinstance(value, dict) or not all(v in kinds for v in value.values()):
            return f"{key} must map business ids to one of {', '.join(kinds)}, got {value!r}"
    return None


def spoil_business(body: dict, kind: str) -> dict:
    """A copy of a business object made malformed the `kind` way."""
    body = json.loads(json.dumps(body))
    if kind == "type":
        body["review_count"] = str(body["review_count"])
    elif kind == "nul":
        body["name"] = body["name"] + "\x00"
    elif kind == "range":
        body["coordinates"]["latitude"] = 123.4
    elif kind == "surrogate":
        body["name"] = body["name"] + _SURROGATE_MARK
    return body


def spoil_reviews(body: dict, kind: str) -> dict:
    """A copy of a reviews answer whose first review is malformed the `kind` way."""
    body = json.loads(json.dumps(body))
    if body["reviews"]:
        first = body["reviews"][0]
        if kind == "year_9999":
            first["time_created"] = "9999-12-31 23:59:59"
        elif kind == "nul":
            first["text"] = "\x00" + first["text"]
    return body


class YelpService:
    """Routes one /v3/ request. Call counting and faults live in the shared SourceState
    (its lock, `faults` and `requests`), so `POST /_control` resets them with the rest."""

    def __init__(
        self,
        world: YelpWorld,
        api_key: str,
        cap: int = DEFAULT_CAP,
        daily_limit: int = DEFAULT_DAILY_LIMIT,
    ):
        self.world = world
        self.api_key = api_key
        self.cap = cap
        self.daily_limit = daily_limit
        self.day = datetime.now(UTC).date()

    def respond(
        self, state, path: str, query: str, authorization: str | None
    ) -> tuple[int, dict, dict[str, str]]:
        """(status, JSON body, extra headers) for GET `path`?`query`."""
        route = (
            "search"
            if path.rstrip("/") == "/v3/businesses/search"
            else "reviews"
            if re.fullmatch(r"/v3/businesses/[^/]+/reviews/?", path)
            else "other"
        )
        with state.lock:
            today = datetime.now(UTC).date()
            if today != self.day:  # the daily quota resets at midnight UTC, like Yelp's
                self.day = today
                state.requests["yelp_quota_used"] = 0
            for counter in ("yelp", f"yelp_{route}", "yelp_quota_used"):
                state.requests[counter] = state.requests.get(counter, 0) + 1
            calls = state.requests["yelp"]
            used = state.requests["yelp_quota_used"]
            faults = dict(state.faults)
            held = state.faults
            hold = faults.get("yelp_hold_after") is not None and calls > faults["yelp_hold_after"]
            if hold:
                state.requests["yelp_held"] = state.requests.get("yelp_held", 0) + 1
        if hold:  # unanswered until the faults change (POST /_control) or the bound passes
            deadline = time.monotonic() + HOLD_MAX_SECONDS
            while state.faults is held and time.monotonic() < deadline:
                time.sleep(0.05)
            with state.lock:
                faults = dict(state.faults)
        limit = faults.get("yelp_daily_quota", self.daily_limit)
        headers = {
            "RateLimit-DailyLimit": str(limit),
            "RateLimit-Remaining": str(max(0, limit - used)),
            "RateLimit-ResetTime": next_utc_midnight(),
        }
        if authorization != f"Bearer {self.api_key}":
            return (
                401,
                error("TOKEN_INVALID", "Invalid access token or authorization header."),
                headers,
            )
        if used > limit:
            return (
                429,
                error(
                    "ACCESS_LIMIT_REACHED",
                    "You've reached the access limit for this client. See instructions for "
                    "requesting a higher access limit at "
                    "https://docs.developer.yelp.com/docs/fusion-rate-limiting",
                ),
                headers,
            )
        if faults.get("yelp") == "500":
            return (
                500,
                error(
                    "INTERNAL_ERROR",
                    "Something went wrong internally, please try your request again",
                ),
                headers,
            )
        every = faults.get("yelp_rps_429_every")
        if every and calls % every == 0:
            return (
                429,
                error(
                    "TOO_MANY_REQUESTS_PER_SECOND",
                    "You have exceeded the queries-per-second limit for this endpoint. "
                    "Try reducing the rate at which you make queries.",
                ),
                headers,
            )
        version = faults.get("yelp_version", 1)
        params = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
        if route == "search":
            status, body = self.search(params, version, faults)
            return status, body, headers
        if route == "reviews":
            business_id = path.rstrip("/").split("/")[3]
            if business_id in faults.get("yelp_business_not_found", ()):
                return (
                    404,
                    error("BUSINESS_NOT_FOUND", "The requested business could not be found."),
                    headers,
                )
            if business_id in self.world.moved:
                new_id = self.world.moved[business_id]
                headers["Location"] = f"/v3/businesses/{new_id}/reviews"
                return (
                    301,
                    error(
                        "BUSINESS_MIGRATED",
                        f"The business has been migrated to {new_id}. Use the new business id.",
                        new_business_id=new_id,
                    ),
                    headers,
                )
            if business_id not in self.world.by_id and business_id not in self.world.moved_to:
                return (
                    404,
                    error("BUSINESS_NOT_FOUND", "The requested business could not be found."),
                    headers,
                )
            body = self.world.reviews(business_id, version)
            kind = faults.get("yelp_bad_reviews", {}).get(business_id)
            return 200, spoil_reviews(body, kind) if kind else body, headers
        return 404, error("NOT_FOUND", "Resource could not be found."), headers

    def search(
        self, params: dict[str, str], version: int, faults: dict | None = None
    ) -> tuple[int, dict]:
        faults = faults or {}
        ints = {}
        for name, default in (("limit", 20), ("offset", 0)):
            raw = params.get(name, "")
            if raw == "":
                ints[name] = default
                continue
            try:
                ints[name] = int(raw)
            except ValueError:
                return 400, error(
                    "VALIDATION_ERROR", f"'{raw}' is not a valid integer", field=name, instance=raw
                )
            if ints[name] < 0:
                return 400, error(
                    "VALIDATION_ERROR",
                    f"{raw} is less than the minimum of 0",
                    field=name,
                    instance=ints[name],
                )
        limit, offset = ints["limit"], ints["offset"]
        if limit > MAX_LIMIT:
            return 400, error(
                "VALIDATION_ERROR",
                f"{limit} is greater than the maximum of {MAX_LIMIT}",
                field="limit",
                instance=limit,
            )
        if offset + limit > self.cap:
            return 400, error(
                "VALIDATION_ERROR",
                f"Too many results requested, limit+offset must be <= {self.cap}.",
            )
        location = params.get("location", "").strip()
        if not location:
            return 400, error(
                "VALIDATION_ERROR", "Please specify a location or a latitude and longitude"
            )
        key = self.world.location_key(location)
        unknown = {_norm_location(x) for x in faults.get("yelp_location_not_found", ())}
        if key is None or _norm_location(location) in unknown:
            return 400, error(
                "LOCATION_NOT_FOUND",
                "Could not execute search, try specifying a more exact location.",
            )
        businesses = [self.world.business(b, version) for b in self.world.search_ids[key]]
        bad = faults.get("yelp_bad_businesses", {})
        businesses = [spoil_business(b, bad[b["id"]]) if b["id"] in bad else b for b in businesses]
        wanted = {c.strip() for c in params.get("categories", "").split(",") if c.strip()}
        if wanted:
            businesses = [b for b in businesses if wanted & {c["alias"] for c in b["categories"]}]
        lat, lon = self.world.center(key)
        return 200, {
            "businesses": businesses[offset : offset + limit],
            "total": len(businesses),
            "region": {"center": {"latitude": lat, "longitude": lon}},
        }


def encode(body: dict) -> bytes:
    # json.dumps writes the mark's control characters as \u0001 escapes: the "surrogate"
    # fault turns that text into an unpaired surrogate escape, as a broken encoder would.
    mark = json.dumps(_SURROGATE_MARK)[1:-1]
    return json.dumps(body, ensure_ascii=False).replace(mark, "\\ud800").encode()
