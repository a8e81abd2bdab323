"""The Airflow pools the API tasks take a slot of, and the command that creates them.

    python -m include.runs.pools     # create or update every pool (idempotent)

A pool bounds how many tasks call one API at once across every DAG run and worker (a
backfill of ten days runs ten DAG runs side by side; with two Celery workers their tasks
may run on either). The scheduler needs the pools to exist: a task whose pool is missing
is never queued. Slots and why: docs/decisions.md ("Tasks per stage, pools, deadlines").
"""

from __future__ import annotations

# name: (slots, description)
POOLS: dict[str, tuple[int, str]] = {
    "yelp_api": (
        1,
        "Yelp Fusion: the daily quota and the per-second limit are per API key, and each "
        "day's queue is worked by one task; two days at once would share the budget and "
        "hit TOO_MANY_REQUESTS_PER_SECOND",
    ),
    "amplitude_api": (
        1,
        "Amplitude Export API: each export streams up to 4 GB to a worker's disk and is "
        "rate-limited per project; one export at a time",
    ),
    "census_api": (
        2,
        "US Census Data API: two small calls per day; two days side by side in a backfill, "
        "well inside the key's limits (500 calls a day without a key)",
    ),
}


def ensure_pools() -> dict[str, int]:
    """Create every pool of POOLS, or set its slots and description (a pool changed by
    hand is put back). Returns {name: slots}. Needs the Airflow metadata database."""
    from airflow.models.pool import Pool

    for name, (slots, description) in POOLS.items():
        Pool.create_or_update_pool(name, slots, description, include_deferred=False)
    return {name: slots for name, (slots, _) in POOLS.items()}


def main() -> None:
    for name, slots in ensure_pools().items():
        print(f"pool {name}: {slots} slot(s)")


if __name__ == "__main__":
    main()
