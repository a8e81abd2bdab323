"""Two Amplitude days loaded at the same time (a backfill beside the daily run): each day
ends with exactly the events its export carries, as when they load one after the other."""

import gzip
import io
import json
import os
import subprocess
import sys
import uuid
import zipfile
from datetime import date
from pathlib import Path

import pytest

from include.connections import pg_connect
from tests.helpers import amplitude_export

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
DAYS = (date(2036, 7, 1), date(2036, 7, 2), date(2036, 7, 3))
LOAD = """
from datetime import date
from include.quality import RunContext
from include.sources.amplitude import ingest_day
d = date.fromisoformat("{day}")
ingest_day(d, RunContext("{run}", "amplitude_events", "export_archive_load", d))
"""


def _wire_keys(day: date) -> set[str]:
    keys = set()
    with zipfile.ZipFile(io.BytesIO(amplitude_export(day))) as zf:
        for name in zf.namelist():
            for line in gzip.decompress(zf.read(name)).decode().splitlines():
                if line.strip():
                    event = json.loads(line)
                    keys.add(event.get("$insert_id") or event["uuid"])
    return keys


def test_three_amplitude_days_loading_at_once_each_end_whole():
    run = f"test-concurrent-{uuid.uuid4()}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", LOAD.format(day=d, run=run)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for d in DAYS
    ]
    outputs = [p.communicate(timeout=600)[0].decode() for p in procs]
    for p, out in zip(procs, outputs):
        assert p.returncode == 0, out[-3000:]
    with pg_connect("source_db") as conn:
        for day in DAYS:
            loaded = {
                r[0]
                for r in conn.execute(
                    "select coalesce(insert_id, uuid) from raw.amplitude_event "
                    "where export_day = %s",
                    (day,),
                )
            }
            props = conn.execute(
                "select count(distinct event_key) from raw.amplitude_event_property "
                "where export_day = %s",
                (day,),
            ).fetchone()[0]
            assert loaded == _wire_keys(day), day
            assert 0 < props <= len(loaded)
