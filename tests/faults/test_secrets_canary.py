"""Secrets never leak: every connection carries a unique canary secret, each failure mode
runs through the real code paths (a source's `ingest_day`, then the failure callback
`on_task_failure`), and the canaries must appear in no log line (DEBUG, urllib3 included),
no table of source_db, no Slack message and no alerted text.

The canaries are looked for as written and as they travel: URL-encoded (a query-string
key), and in HTTP basic auth (base64 of login:password). Their values are fixed here, never
taken from the code under test.
"""

import base64
import json
import logging
import os
import socket
import threading
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote, quote_plus

import pytest
import requests
from psycopg import sql

from include.connections import pg_connect
from tests.helpers import slack_record, slack_reset

pytestmark = pytest.mark.integration

DAY = date(2031, 7, 1)  # a day no other test lands: the failed runs leave nothing in its way


def _canary(tag: str, special: bool = False) -> str:
    # "+/=" change under URL encoding, so an encoded copy is told from a redacted one
    return f"cnry{tag}{uuid.uuid4().hex[:12]}" + ("+/=" if special else "")


def _forms(secret: str) -> set[str]:
    return {secret, quote(secret, safe=""), quote_plus(secret)}


@pytest.fixture
def canaries(monkeypatch):
    """Every connection of the local stack, each secret field a fresh canary; the databases
    through two canary roles (members of the stack's user) whose passwords are canaries."""
    env = {k: json.loads(v) for k, v in os.environ.items() if k.startswith("AIRFLOW_CONN_")}
    c = {
        "census": _canary("census", special=True),
        "states": _canary("states"),
        "yelp": _canary("yelp"),
        "amplitude_key": _canary("amplkey"),
        "amplitude_secret": _canary("amplsecret"),
        "source_db": _canary("srcdb", special=True),
        "warehouse_db": _canary("whdb"),
        "s3_key_id": _canary("s3id"),
        "s3_secret": _canary("s3secret"),
        "s3_token": _canary("s3token"),
        "gcp_private_key": _canary("gcpkey"),
        "slack": _canary("slack"),  # the webhook token: the secret part of its URL
    }
    roles = {db: f"canary_{db}_{uuid.uuid4().hex[:8]}" for db in ("source_db", "warehouse_db")}
    with pg_connect("source_db", autocommit=True) as conn:
        for db, role in roles.items():
            conn.execute(
                sql.SQL("create role {} login password {} in role {}").format(
                    sql.Identifier(role),
                    sql.Literal(c[db]),
                    sql.Identifier(env["AIRFLOW_CONN_SOURCE_DB"]["login"]),
                )
            )
    sources = env["AIRFLOW_CONN_CENSUS_API"]["host"]
    conns = {
        "CENSUS_API": {**env["AIRFLOW_CONN_CENSUS_API"], "password": c["census"]},
        "STATES_PAGE": {**env["AIRFLOW_CONN_STATES_PAGE"], "password": c["states"]},
        "YELP_API": {**env["AIRFLOW_CONN_YELP_API"], "password": c["yelp"]},
        "AMPLITUDE_API": {
            **env["AIRFLOW_CONN_AMPLITUDE_API"],
            "login": c["amplitude_key"],
            "password": c["amplitude_secret"],
        },
        "SOURCE_DB": {
            **env["AIRFLOW_CONN_SOURCE_DB"],
            "login": roles["source_db"],
            "password": c["source_db"],
        },
        "WAREHOUSE_DB": {
            **env["AIRFLOW_CONN_WAREHOUSE_DB"],
            "login": roles["warehouse_db"],
            "password": c["warehouse_db"],
        },
        "LAKE_S3": {
            **env["AIRFLOW_CONN_LAKE_S3"],
            "login": c["s3_key_id"],
            "password": c["s3_secret"],
            "extra": {**env["AIRFLOW_CONN_LAKE_S3"]["extra"], "aws_session_token": c["s3_token"]},
        },
        "GOOGLE_CLOUD_DEFAULT": {
            **env["AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT"],
            "extra": {
                **env["AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT"]["extra"],
                "keyfile_dict": {"type": "service_account", "private_key": c["gcp_private_key"]},
            },
        },
        "SLACK_ALERTS": {
            **env["AIRFLOW_CONN_SLACK_ALERTS"],
            "password": f"TCNRY/BCNRY/{c['slack']}",
        },
    }
    for name, value in conns.items():
        monkeypatch.setenv(f"AIRFLOW_CONN_{name}", json.dumps(value))
    forms = set().union(*(_forms(v) for v in c.values()))
    basic = f"{c['amplitude_key']}:{c['amplitude_secret']}".encode()
    forms.add(base64.b64encode(basic).decode())
    yield SimpleNamespace(values=c, forms=forms, sources=sources)
    monkeypatch.undo()  # back to the stack's own connections to clean up
    with pg_connect("source_db", autocommit=True) as conn:
        for role in roles.values():
            conn.execute(sql.SQL("drop owned by {}").format(sql.Identifier(role)))
            conn.execute(sql.SQL("drop role {}").format(sql.Identifier(role)))
        conn.execute("delete from yelp.progress where logical_date = %s", (DAY,))


@pytest.fixture
def fast_http(monkeypatch):
    """One retry, no backoff, 1 s timeouts: every failure mode takes seconds, not minutes."""
    import include.connections.http as http
    import include.sources.amplitude.client as amplitude_client

    real = http.retrying_session

    def fast(**kwargs):
        return real(**{**kwargs, "total": 1, "backoff": 0})

    monkeypatch.setattr(http, "retrying_session", fast)
    monkeypatch.setattr(amplitude_client, "retrying_session", fast)
    monkeypatch.setattr(http, "DEFAULT_TIMEOUT", (1, 1))
    monkeypatch.setattr(amplitude_client, "TIMEOUT", (1, 1))


# --- servers that fail ----------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Silent:
    """Accepts connections (the kernel's backlog) and never answers: a read timeout."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def close(self):
        self.sock.close()


class _ResetMidBody:
    """Answers 200 with a Content-Length it never sends, then resets the connection."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.running = True
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        import struct

        while self.running:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    conn.recv(65536)
                    conn.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        b'Content-Length: 100000\r\n\r\n[["NAME","POP"'
                    )
                except OSError:
                    continue
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    def close(self):
        self.running = False
        self.sock.close()


def _faults(sources: str, faults: dict) -> None:
    """The source server's faults, at its own address (the test repoints the connections)."""
    requests.post(f"{sources}/_control", json=faults, timeout=5).raise_for_status()


@pytest.fixture(params=["refused", "timeout", "500", "reset"])
def failing_host(request, canaries):
    """The base URL every HTTP source is pointed at, failing the given way."""
    mode = request.param
    server = None
    _faults(canaries.sources, {})
    if mode == "refused":
        url = f"http://127.0.0.1:{_closed_port()}"
    elif mode == "timeout":
        server = _Silent()
        url = server.url
    elif mode == "500":
        _faults(
            canaries.sources, {"census": "500", "states": "500", "yelp": "500", "amplitude": "504"}
        )
        url = canaries.sources
    else:
        server = _ResetMidBody()
        url = server.url
    yield mode, url
    if server:
        server.close()
    _faults(canaries.sources, {})


# --- where a canary could land ----------------------------------------------------------


def _outbox_and_checks_since(marks) -> str:
    with pg_connect("source_db") as conn:
        outbox = conn.execute(
            "select coalesce(string_agg(o::text, E'\\n'), '') from quality.alert_outbox o "
            "where id > %s",
            (marks["outbox"],),
        ).fetchone()[0]
        checks = conn.execute(
            "select coalesce(string_agg(c::text, E'\\n'), '') from quality.check_results c "
            "where id > %s",
            (marks["checks"],),
        ).fetchone()[0]
    return outbox + "\n" + checks


def _marks() -> dict:
    with pg_connect("source_db") as conn:
        outbox, checks = conn.execute(
            "select (select coalesce(max(id), 0) from quality.alert_outbox), "
            "(select coalesce(max(id), 0) from quality.check_results)"
        ).fetchone()
    record = _sink_record_file()
    return {
        "outbox": outbox,
        "checks": checks,
        "record": record.stat().st_size if record.exists() else 0,
    }


def _sink_record_file() -> Path:
    from local.config import STATE_DIR

    return STATE_DIR / "slack_messages.jsonl"


def _sink_record_since(marks) -> str:
    record = _sink_record_file()
    if not record.exists():
        return ""
    with record.open("rb") as f:
        f.seek(marks["record"])
        return f.read().decode("utf-8", errors="replace")


def _leaks(forms: set[str], **haystacks: str) -> dict[str, list[str]]:
    """{where: [the lines holding a canary]}"""
    found = {}
    for where, text in haystacks.items():
        lines = [line[:300] for line in text.splitlines() if any(f in line for f in forms)]
        if lines:
            found[where] = lines[:5]
    return found


def _fail_like_airflow(dag_id: str, task_id: str, call):
    """Run a task's entry point; on failure, call the failure callback as Airflow does."""
    from include.quality.alerts import on_task_failure

    run_id = f"canary-{uuid.uuid4()}"
    try:
        call()
    except Exception as exc:  # noqa: BLE001 - the failure is the point
        ti = SimpleNamespace(dag_id=dag_id, task_id=task_id, run_id=run_id, log_url=None)
        on_task_failure({"ti": ti, "exception": exc, "logical_date": DAY})
        return exc
    return None


SOURCES = {
    "census": ("census_population", "extract_land_check_normalize", "CENSUS_API"),
    "states_page": ("states_page", "scrape_land_check_normalize", "STATES_PAGE"),
    "yelp": ("yelp_businesses", "fetch_land_check_normalize", "YELP_API"),
    "amplitude": ("amplitude_events", "export_archive_load", "AMPLITUDE_API"),
}


@pytest.mark.parametrize("source", list(SOURCES))
def test_no_canary_leaks_when_a_source_fails(
    source, canaries, failing_host, fast_http, monkeypatch, caplog, capfd
):
    import importlib

    from include.quality import RunContext

    mode, url = failing_host
    dag_id, task_id, conn = SOURCES[source]
    current = json.loads(os.environ[f"AIRFLOW_CONN_{conn}"])
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn}", json.dumps({**current, "host": url}))
    slack_reset()
    marks = _marks()
    caplog.set_level(logging.DEBUG)
    for name in ("urllib3", "requests", "slack_sdk", "airflow"):
        caplog.set_level(logging.DEBUG, logger=name)
    package = importlib.import_module(f"include.sources.{source}")
    ctx = RunContext(run_id="canary", dag_id=dag_id, task_id=task_id, logical_date=DAY)
    error = _fail_like_airflow(dag_id, task_id, lambda: package.ingest_day(DAY, ctx))
    out, err = capfd.readouterr()
    assert error is not None, f"{source} did not fail on {mode}"
    messages = json.dumps(slack_record()["messages"])
    assert f"Task `{task_id}`" in messages, "the failure was not alerted"
    leaks = _leaks(
        canaries.forms,
        log_records=caplog.text,
        stdout_stderr=out + err,
        outbox_and_check_results=_outbox_and_checks_since(marks),
        slack_messages=messages,
        slack_sink_record=_sink_record_since(marks),
    )
    assert leaks == {}, f"{source} / {mode}: canary secrets leaked: {leaks}"


def test_no_canary_leaks_from_the_webhook_itself(canaries, monkeypatch, caplog, capfd):
    """Slack refused, timing out and answering 500: the webhook URL (its token) is not in
    the errors stored, logged or alerted."""
    from include.quality.alerts import drain, send_alert

    marks = _marks()
    caplog.set_level(logging.DEBUG)
    slack = json.loads(os.environ["AIRFLOW_CONN_SLACK_ALERTS"])
    silent = _Silent()
    try:
        for host in (f"127.0.0.1:{_closed_port()}", silent.url.split("//")[1]):
            monkeypatch.setenv(
                "AIRFLOW_CONN_SLACK_ALERTS", json.dumps({**slack, "host": f"{host}/services"})
            )
            monkeypatch.setattr("include.quality.alerts.POST_TIMEOUT_SECONDS", 1)
            assert send_alert("test", {"text": f"canary-webhook-{uuid.uuid4()}"}) is False
    finally:
        silent.close()
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_ALERTS", json.dumps(slack))
    from tests.helpers import slack_control

    slack_control("500", times=3)
    assert send_alert("test", {"text": f"canary-webhook-{uuid.uuid4()}"}) is False
    slack_control("ok")
    drain()
    out, err = capfd.readouterr()
    leaks = _leaks(
        canaries.forms,
        log_records=caplog.text,
        stdout_stderr=out + err,
        outbox_and_check_results=_outbox_and_checks_since(marks),
        slack_sink_record=_sink_record_since(marks),
    )
    assert leaks == {}, f"canary secrets leaked: {leaks}"


_DAG_TEST = """
import sys
from datetime import UTC, datetime

import include.connections.http as http

real = http.retrying_session
http.retrying_session = lambda **kw: real(**{**kw, "total": 1, "backoff": 0})

from airflow.dag_processing.dagbag import DagBag  # noqa: E402

from local.run import DAGS_DIR  # noqa: E402

day = datetime.fromisoformat(sys.argv[1]).replace(tzinfo=UTC)
dr = DagBag(dag_folder=str(DAGS_DIR)).get_dag("census_population").test(logical_date=day)
print("DAG RUN STATE", dr.state)
"""


def test_no_canary_in_a_dag_test_run_log(canaries):
    """census_population through dag.test() in its own process, as `make run --log` runs
    it (every task log line to one file under AIRFLOW_HOME/logs), the Census host refusing
    connections and the failure callback alerting Slack: no file under AIRFLOW_HOME/logs
    holds a canary, nor do the outbox, the check results or Slack."""
    import subprocess
    import sys

    env = {
        **os.environ,
        "ELT_TASK_RETRIES": "0",  # fail at once: the failure callback runs
        "AIRFLOW_CONN_CENSUS_API": json.dumps(
            {
                **json.loads(os.environ["AIRFLOW_CONN_CENSUS_API"]),
                "host": f"http://127.0.0.1:{_closed_port()}",
            }
        ),
    }
    slack_reset()
    marks = _marks()
    logs = Path(os.environ["AIRFLOW_HOME"]) / "logs"
    run_log = logs / "canary" / f"census_population-{uuid.uuid4().hex[:8]}.log"
    run_log.parent.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC).timestamp()
    with run_log.open("wb") as out:
        subprocess.run(
            [sys.executable, "-c", _DAG_TEST, DAY.isoformat()],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=Path(__file__).resolve().parents[2],
            timeout=300,
            check=False,
        )
    text = run_log.read_text(errors="replace")
    assert "DAG RUN STATE failed" in text, text[-3000:]
    assert "Connection refused" in text, "the refused call is not in the log"
    written = [p for p in logs.rglob("*") if p.is_file() and p.stat().st_mtime >= started]
    messages = json.dumps(slack_record()["messages"])
    # The DAG's first stage is the one that calls the (refusing) Census API.
    assert "Task `extract` of DAG `census_population`" in messages, "the failure was not alerted"
    leaks = _leaks(
        canaries.forms,
        **{str(p.relative_to(logs)): p.read_text(errors="replace") for p in written},
        outbox_and_check_results=_outbox_and_checks_since(marks),
        slack_messages=messages,
    )
    assert leaks == {}, f"canary secrets leaked: {leaks}"


def test_slack_control_sequences_in_upstream_text_are_neutralized():
    """An error text (upstream's words) cannot ping the channel or a user."""
    from include.quality.alerts import alert_failure

    slack_reset()
    marker = uuid.uuid4().hex
    alert_failure(
        "census_population",
        "extract_land_check_normalize",
        f"ctl-{marker}",
        DAY,
        f"CensusError: Census API HTTP 400: <!channel> <!here> <!everyone> <@U024BE7LH> "
        f"<!subteam^S012> <https://evil.example|click> {marker}",
    )
    (text,) = [m["payload"]["text"] for m in slack_record()["messages"] if marker in json.dumps(m)]
    for sequence in ("<!channel>", "<!here>", "<!everyone>", "<@U024BE7LH>", "<!subteam", "<https"):
        assert sequence not in text, text
    assert "channel" in text and "U024BE7LH" in text  # still readable, only neutralized
