"""API responses as received, archived in the lake before they are landed.

The stage that calls an API (`extract`) writes each response body here, under a
deterministic key per source and day, `<prefix>-raw/<source>/dt=D/<name>` (the layout of
Amplitude's zips); the next stage (`land`, maybe on another worker) reads it back, parses
it and lands the raw batch. So a retry of any later stage never calls the API again, and a
day can be re-landed from its archive after a parser fix. A rerun of the extract for D
overwrites D's objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Archived:
    """One archived response: its key, body, Content-Type and HTTP status."""

    key: str
    body: bytes
    content_type: str
    status: int


def archive_key(prefix: str, source: str, day: date, name: str) -> str:
    return f"{prefix}-raw/{source}/dt={day.isoformat()}/{name}".lstrip("/")


def put(source: str, day: date, name: str, body: bytes, content_type: str, status: int = 200):
    """Archive a response body for `source` and day D; returns its key."""
    from include.lake import lake_location

    s3, bucket, prefix = lake_location()
    key = archive_key(prefix, source, day, name)
    s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=body,
        ContentType=content_type or "application/octet-stream",
        Metadata={"http-status": str(status)},
    )
    return key


def key_for(source: str, day: date, name: str) -> str:
    """The key `put` writes for `source`, D and `name` (for a stage retried without its
    upstream's XCom)."""
    from include.lake import lake_location

    _, _, prefix = lake_location()
    return archive_key(prefix, source, day, name)


def get(key: str) -> Archived:
    """An archived response; FileNotFoundError naming the key when there is none (the
    extract of that day has not run: run it first)."""
    from include.lake import lake_location

    s3, bucket, _ = lake_location()
    try:
        obj = s3.get_object(Bucket=bucket, Key=key)
    except s3.exceptions.NoSuchKey:
        raise FileNotFoundError(
            f"no archived response at s3://{bucket}/{key}: run the day's extract first"
        ) from None
    return Archived(
        key=key,
        body=obj["Body"].read(),
        content_type=obj.get("ContentType") or "",
        status=int(obj.get("Metadata", {}).get("http-status", "200")),
    )
