"""Yelp Fusion: pure parsers of business searches, reviews and error bodies.

Wire format (README.md): bearer-key auth; ``/v3/businesses/search``
pages with ``limit`` <= 50 and a result cap on ``offset + limit`` (1000 in the docs, 240
in practice) answered with 400 ``VALIDATION_ERROR``; ``/v3/businesses/{id}/reviews``
answers at most 3 reviews, or 301 ``BUSINESS_MIGRATED`` with the new id. Errors are
``{"error": {"code", "description"}}``; 429 is either ``TOO_MANY_REQUESTS_PER_SECOND``
(back off and retry) or ``ACCESS_LIMIT_REACHED`` (daily quota spent, resets at midnight
UTC). Every answer carries ``RateLimit-DailyLimit``, ``RateLimit-Remaining`` and
``RateLimit-ResetTime``.

Parsing choices:

* Empty strings in optional text fields (phone, address2/3...) become None: Yelp sends ""
  and null interchangeably, and the warehouse should hold one "unknown".
* Business URLs lose Yelp's tracking query (``adjust_creative``, ``utm_*``): it carries the
  API client id and would churn the SCD2 dimension for nothing.
* Transactions are sorted and de-duplicated (a set on the wire); categories keep Yelp's
  order, the first one being the primary.
* Review ``time_created`` is a naive "YYYY-MM-DD HH:MM:SS" which Yelp documents as Pacific
  time: it is read as America/Los_Angeles (so PST or PDT by date; an ambiguous hour of the
  autumn change takes the first, daylight-time, reading) and converted to UTC. A value
  that carries its own offset keeps it. One that leaves datetime's range once in UTC
  (year 9999 in Pacific time) is malformed, not an OverflowError.
* Values PostgreSQL could not store are malformed too: text with a NUL character or an
  unpaired surrogate (text and jsonb refuse both), a count beyond its integer; and a rating
  that is not one of Yelp's 1, 1.5, ..., 5 (the model's checks refuse it).
* One bad record does not spoil its answer: ``parse_search_records`` and
  ``parse_review_records`` set it aside as a ``Rejected`` (its position, id, the reason
  naming the field path, the record as JSON text capped at ``RAW_RECORD_MAX_BYTES``) and
  keep the rest; ``parse_search``/``parse_reviews`` are the strict forms (they raise the
  first reason). The structure of the answer itself (no list, a bad ``total``) still
  raises.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from include.sources.yelp.settings import RAW_RECORD_MAX_BYTES

PACIFIC = ZoneInfo("America/Los_Angeles")
PRICES = ("$", "$$", "$$$", "$$$$")
_TRACKING_PARAMS = re.compile(r"^(adjust_creative|utm_.*)$")
_SURROGATE = re.compile("[\ud800-\udfff]")
_INT4_MAX = 2**31 - 1  # PostgreSQL integer (review_count)


class YelpError(RuntimeError):
    """Yelp answered an error, or something that is not Yelp's JSON. Never holds the key."""

    def __init__(self, code: str, description: str, status: int | None = None):
        self.code = code
        self.description = description
        self.status = status
        where = f" (HTTP {status})" if status is not None else ""
        super().__init__(f"Yelp {code}{where}: {description}")


class YelpQuotaExhausted(YelpError):
    """429 ACCESS_LIMIT_REACHED (the daily quota resets at midnight UTC), or the client's
    own call budget (`max_calls`) is spent."""


@dataclass(frozen=True)
class Business:
    business_id: str
    alias: str
    name: str
    is_closed: bool
    url: str | None
    phone: str | None
    review_count: int
    rating: float | None
    price: str | None  # "$".."$$$$" or None
    latitude: float | None
    longitude: float | None
    address1: str | None
    address2: str | None
    address3: str | None
    city: str | None
    zip_code: str | None
    country: str | None
    state: str | None
    categories: tuple[tuple[str, str], ...]  # (alias, title), the primary first
    transactions: tuple[str, ...]


@dataclass(frozen=True)
class Review:
    review_id: str
    business_id: str
    user_id: str
    user_name: str | None
    user_profile_url: str | None
    user_image_url: str | None
    rating: int
    text: str
    time_created: datetime  # tz-aware UTC, read from Yelp's Pacific local time


@dataclass(frozen=True)
class Rejected:
    """A record of an answer set aside (quarantined), with why."""

    index: int  # its position in the answer's list (businesses[i], reviews[i])
    record_id: str | None  # its "id", when it has a string one
    reason: str  # names the field path, e.g. "businesses[3].rating 7 is outside 1..5"
    raw: str  # the record as JSON text, at most RAW_RECORD_MAX_BYTES of UTF-8


@dataclass(frozen=True)
class SearchPage:
    businesses: list[Business]
    total: int
    offset: int
    rejected: tuple[Rejected, ...] = ()

    @property
    def size(self) -> int:
        """Records on the wire (kept and set aside): the next page starts this far on."""
        return len(self.businesses) + len(self.rejected)

    def positions(self) -> list[int]:
        """The search offset of each kept business, in order."""
        skipped = {r.index for r in self.rejected}
        return [self.offset + i for i in range(self.size) if i not in skipped]


@dataclass(frozen=True)
class ReviewsAnswer:
    final_id: str  # the business id after any 301 move
    reviews: list[Review]
    rejected: tuple[Rejected, ...] = ()


# --- pure parsers -------------------------------------------------------------------


def _malformed(what: str) -> YelpError:
    return YelpError("MALFORMED_RESPONSE", what)


def _text(value: str, where: str) -> str:
    """`value` if PostgreSQL text (and jsonb) can hold it."""
    if "\x00" in value:
        raise _malformed(f"{where} holds a NUL character, which PostgreSQL text cannot store")
    if not value.isascii() and _SURROGATE.search(value):
        raise _malformed(f"{where} holds an unpaired surrogate, not valid Unicode text")
    return value


def _opt_str(obj: dict, key: str, where: str) -> str | None:
    value = obj.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _malformed(f"{where}.{key} is {type(value).__name__} {value!r}, not a string")
    return _text(value, f"{where}.{key}")


def _req_str(obj: dict, key: str, where: str, allow_empty: bool = False) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or (not value and not allow_empty):
        raise _malformed(
            f"{where}.{key} is missing or not a "
            f"{'string' if allow_empty else 'non-empty string'}: {value!r}"
        )
    return _text(value, f"{where}.{key}")


def _number(value, where: str, low: float, high: float) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _malformed(f"{where} is {type(value).__name__} {value!r}, not a number")
    if not low <= value <= high:
        raise _malformed(f"{where} {value!r} is outside {low}..{high}")
    return float(value)


def _rating(value, where: str) -> float | None:
    """Yelp's business rating: 1, 1.5, ..., 5 (or none)."""
    rating = _number(value, where, 1, 5)
    if rating is not None and (rating * 2) % 1:
        raise _malformed(f"{where} {value!r} is not a half step (1, 1.5, ..., 5)")
    return rating


def _storable(text: str) -> str:
    """`text` as PostgreSQL can store it: NUL and unpaired surrogates written as escapes."""
    return text.replace("\x00", "\\u0000").encode("utf-8", "backslashreplace").decode("utf-8")


def _rejected(index: int, record, error: YelpError) -> Rejected:
    raw = json.dumps(record, ensure_ascii=False, default=str)  # NUL becomes \u0000
    data = raw.encode("utf-8", "backslashreplace")
    if len(data) > RAW_RECORD_MAX_BYTES:
        data = data[:RAW_RECORD_MAX_BYTES]
    record_id = record.get("id") if isinstance(record, dict) else None
    return Rejected(
        index=index,
        record_id=_storable(record_id) if isinstance(record_id, str) and record_id else None,
        reason=_storable(error.description),
        raw=data.decode("utf-8", "ignore"),
    )


def _strip_tracking(url: str | None) -> str | None:
    if not url:
        return None
    if "?" not in url:  # nothing to strip (the common case in bulk pages): skip the parse
        return url
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. "Invalid IPv6 URL"
        raise _malformed(f"url {url!r} cannot be parsed: {exc}") from exc
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not _TRACKING_PARAMS.match(k)
    ]
    return urlunsplit(parts._replace(query=urlencode(query)))


def parse_business(obj, where: str = "business") -> Business:
    if not isinstance(obj, dict):
        raise _malformed(f"{where} is {type(obj).__name__}, not an object")
    business_id = _req_str(obj, "id", where)
    is_closed = obj.get("is_closed")
    if not isinstance(is_closed, bool):
        raise _malformed(f"{where}.is_closed is missing or not a boolean: {is_closed!r}")
    review_count = obj.get("review_count")
    if (
        isinstance(review_count, bool)
        or not isinstance(review_count, int)
        or not 0 <= review_count <= _INT4_MAX
    ):
        raise _malformed(
            f"{where}.review_count is missing or not a count (0..{_INT4_MAX}): {review_count!r}"
        )
    price = _opt_str(obj, "price", where)
    if price is not None and price not in PRICES:
        raise _malformed(f"{where}.price {price!r} is not one of {', '.join(PRICES)}")
    coords = obj.get("coordinates") or {}
    loc = obj.get("location") or {}
    for key, value in (("coordinates", coords), ("location", loc)):
        if not isinstance(value, dict):
            raise _malformed(f"{where}.{key} is {type(value).__name__}, not an object")
    categories = obj.get("categories") or []
    transactions = obj.get("transactions") or []
    if not isinstance(categories, list):
        raise _malformed(f"{where}.categories is not a list: {categories!r}")
    if not isinstance(transactions, list) or not all(isinstance(t, str) for t in transactions):
        raise _malformed(f"{where}.transactions is not a list of strings: {transactions!r}")
    for i, transaction in enumerate(transactions):
        _text(transaction, f"{where}.transactions[{i}]")
    pairs = []
    for i, cat in enumerate(categories):
        if not isinstance(cat, dict):
            raise _malformed(f"{where}.categories[{i}] is not an object: {cat!r}")
        pairs.append(
            (
                _req_str(cat, "alias", f"{where}.categories[{i}]"),
                _req_str(cat, "title", f"{where}.categories[{i}]"),
            )
        )
    return Business(
        business_id=business_id,
        alias=_req_str(obj, "alias", where),
        name=_req_str(obj, "name", where),
        is_closed=is_closed,
        url=_strip_tracking(_opt_str(obj, "url", where)),
        phone=_opt_str(obj, "phone", where),
        review_count=review_count,
        rating=_rating(obj.get("rating"), f"{where}.rating"),
        price=price,
        latitude=_number(coords.get("latitude"), f"{where}.coordinates.latitude", -90, 90),
        longitude=_number(coords.get("longitude"), f"{where}.coordinates.longitude", -180, 180),
        address1=_opt_str(loc, "address1", f"{where}.location"),
        address2=_opt_str(loc, "address2", f"{where}.location"),
        address3=_opt_str(loc, "address3", f"{where}.location"),
        city=_opt_str(loc, "city", f"{where}.location"),
        zip_code=_opt_str(loc, "zip_code", f"{where}.location"),
        country=_opt_str(loc, "country", f"{where}.location"),
        state=_opt_str(loc, "state", f"{where}.location"),
        categories=tuple(pairs),
        transactions=tuple(sorted(set(transactions))),
    )


def _error_in_payload(payload: dict) -> None:
    err = payload.get("error")
    if isinstance(err, dict):
        raise YelpError(str(err.get("code") or "UNKNOWN_ERROR"), str(err.get("description") or ""))


def parse_search(payload: dict) -> tuple[list[Business], int]:
    """(businesses, total) of one search page; any bad business raises."""
    businesses, rejected, total = parse_search_records(payload)
    if rejected:
        raise _malformed(rejected[0].reason)
    return businesses, total


def parse_search_records(payload: dict) -> tuple[list[Business], list[Rejected], int]:
    """(businesses, rejected, total) of one search page: a bad business is set aside with
    its reason; a page without its list or total raises."""
    if not isinstance(payload, dict):
        raise _malformed(f"search payload is {type(payload).__name__}, not an object")
    if "businesses" not in payload:
        _error_in_payload(payload)
    businesses = payload.get("businesses")
    if not isinstance(businesses, list):
        raise _malformed(f"search payload has no 'businesses' list (keys: {sorted(payload)})")
    total = payload.get("total")
    if isinstance(total, bool) or not isinstance(total, int) or total < 0:
        raise _malformed(f"search payload 'total' is missing or not a count: {total!r}")
    kept, rejected = [], []
    for i, obj in enumerate(businesses):
        try:
            kept.append(parse_business(obj, f"businesses[{i}]"))
        except YelpError as exc:
            rejected.append(_rejected(i, obj, exc))
    return kept, rejected, total


def parse_time_created(value: str, where: str = "time_created") -> datetime:
    """Yelp's naive Pacific-time "YYYY-MM-DD HH:MM:SS" as an aware UTC datetime."""
    if not isinstance(value, str):
        raise _malformed(f"{where} is not a string: {value!r}")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise _malformed(f"{where} {value!r} is not 'YYYY-MM-DD HH:MM:SS'") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=PACIFIC)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError) as exc:  # year 9999 Pacific is year 10000 in UTC
        raise _malformed(f"{where} {value!r} is out of range once in UTC ({exc})") from exc


def parse_reviews(payload: dict, business_id: str) -> list[Review]:
    """The reviews of `business_id` (the id the reviews were fetched under); any bad
    review raises."""
    reviews, rejected = parse_review_records(payload, business_id)
    if rejected:
        raise _malformed(rejected[0].reason)
    return reviews


def parse_review_records(payload: dict, business_id: str) -> tuple[list[Review], list[Rejected]]:
    """(reviews, rejected) of `business_id`: a bad review is set aside with its reason; an
    answer without its list raises."""
    if not isinstance(payload, dict):
        raise _malformed(f"reviews payload is {type(payload).__name__}, not an object")
    if "reviews" not in payload:
        _error_in_payload(payload)
    reviews = payload.get("reviews")
    if not isinstance(reviews, list):
        raise _malformed(f"reviews payload has no 'reviews' list (keys: {sorted(payload)})")
    kept, rejected = [], []
    for i, rev in enumerate(reviews):
        try:
            kept.append(_parse_review(rev, f"reviews[{i}]", business_id))
        except YelpError as exc:
            rejected.append(_rejected(i, rev, exc))
    return kept, rejected


def _parse_review(rev, where: str, business_id: str) -> Review:
    if not isinstance(rev, dict):
        raise _malformed(f"{where} is not an object: {rev!r}")
    user = rev.get("user")
    if not isinstance(user, dict):
        raise _malformed(f"{where}.user is missing or not an object: {user!r}")
    rating = rev.get("rating")
    if isinstance(rating, float) and rating.is_integer():
        rating = int(rating)
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise _malformed(f"{where}.rating is missing or not an integer 1-5: {rating!r}")
    text = rev.get("text")
    return Review(
        review_id=_req_str(rev, "id", where),
        business_id=business_id,
        user_id=_req_str(user, "id", f"{where}.user"),
        user_name=_opt_str(user, "name", f"{where}.user"),
        user_profile_url=_opt_str(user, "profile_url", f"{where}.user"),
        user_image_url=_opt_str(user, "image_url", f"{where}.user"),
        rating=rating,
        text=_text(text, f"{where}.text") if isinstance(text, str) else "",
        time_created=parse_time_created(rev.get("time_created"), f"{where}.time_created"),
    )


def _html_title(text: str) -> str | None:
    match = re.search(r"<title[^>]*>(.*?)</title>", text, re.I | re.S)
    return " ".join(match.group(1).split()) if match else None


def _looks_html(text: str, content_type: str = "") -> bool:
    return "html" in content_type.lower() or text.lstrip()[:1] == "<"


def parse_error(status: int, body: bytes | str) -> tuple[str, str]:
    """(code, description) of an error answer, whatever its body."""
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    if _looks_html(text):
        title = _html_title(text)
        return "HTML_RESPONSE", (
            f"HTTP {status} answered an HTML page ({title or 'no title'}) instead of JSON: "
            "a bad key page, a proxy or a captive portal; check the yelp_api connection"
        )
    try:
        payload = json.loads(text)
    except ValueError:
        snippet = " ".join(text.split())[:200]
        return "NON_JSON_RESPONSE", f"HTTP {status} with a non-JSON body: {snippet!r}"
    err = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(err, dict) and err.get("code"):
        return str(err["code"]), str(err.get("description") or "")
    return "UNKNOWN_ERROR", f"HTTP {status}: {' '.join(text.split())[:200]}"


def migrated_business_id(body: bytes | str, location: str | None) -> str | None:
    """The new id of a 301 BUSINESS_MIGRATED: the body's new_business_id, else the
    Location header's /v3/businesses/{id}/..."""
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    try:
        payload = json.loads(text)
        new_id = payload["error"]["new_business_id"]
        if isinstance(new_id, str) and new_id:
            return new_id
    except (ValueError, KeyError, TypeError):
        pass
    match = re.search(r"/v3/businesses/([^/?#]+)", location or "")
    return match.group(1) if match else None
