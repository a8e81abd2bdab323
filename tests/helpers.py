"""What the integration tests share about the local source server, as plain HTTP: its
fault control, its request counts, and the Amplitude export as the wire sends it (no
project code is involved, so expected values computed from these stay independent)."""

from datetime import date

import requests

from include.connections import get_connection


def _sources_host() -> str:
    return get_connection("census_api").host  # one local server stands in for every source


def control(payload: dict) -> None:
    """Set the server's faults (`{}` resets them and the request counts)."""
    requests.post(f"{_sources_host()}/_control", json=payload, timeout=5).raise_for_status()


def request_counts() -> dict:
    """Calls the server has answered per source since the last reset."""
    return requests.get(f"{_sources_host()}/_control", timeout=5).json()["requests"]


def amplitude_export(day: date) -> bytes:
    """The zip of the UTC day's Amplitude export, downloaded with requests."""
    conn = get_connection("amplitude_api")
    r = requests.get(f"{conn.host}/api/2/export", auth=(conn.login, conn.password), timeout=30,
                     params={"start": f"{day:%Y%m%d}T00", "end": f"{day:%Y%m%d}T23"})
    r.raise_for_status()
    return r.content
