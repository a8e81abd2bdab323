"""The local stack itself: the Slack sink, the S3 server and the databases answer as the
real services do (make test starts them)."""

import json

import pytest
import requests

from include.connections import get_connection

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _no_faults(reset_faults):
    """Every test here starts and ends with the source server fault-free."""


def test_slack_sink_answers_like_slack():
    conn = get_connection("slack_alerts")
    base = f"{conn.schema}://{conn.host.split('/')[0]}"
    url = f"{conn.schema}://{conn.host}/{conn.password}"
    requests.delete(f"{base}/_messages", timeout=5)
    ok = requests.post(url, json={"text": "hello ✓"}, timeout=5)
    assert (ok.status_code, ok.text) == (200, "ok")
    bad = requests.post(url, data=b"not json", timeout=5)
    assert (bad.status_code, bad.text) == (400, "invalid_payload")
    requests.post(f"{base}/_control", json={"mode": "429", "times": 1}, timeout=5)
    limited = requests.post(url, json={"text": "x"}, timeout=5)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "1"
    messages = requests.get(f"{base}/_messages", timeout=5).json()["messages"]
    assert [m["payload"]["text"] for m in messages] == ["hello ✓"]
    assert conn.password not in json.dumps(messages)


def test_lake_bucket_exists_on_the_s3_server():
    import boto3

    conn = get_connection("lake_s3")
    extra = conn.extra_dejson
    s3 = boto3.client(
        "s3",
        endpoint_url=extra["endpoint_url"],
        aws_access_key_id=conn.login,
        aws_secret_access_key=conn.password,
        region_name=extra["region_name"],
    )
    bucket = extra["lake_uri"].removeprefix("s3://").split("/")[0]
    s3.put_object(Bucket=bucket, Key="lake/_probe/x.txt", Body=b"x")
    assert s3.get_object(Bucket=bucket, Key="lake/_probe/x.txt")["Body"].read() == b"x"


def test_source_and_warehouse_databases_accept_connections():
    from include.connections import pg_connect

    for conn_id in ("source_db", "warehouse_db"):
        with pg_connect(conn_id) as conn:
            assert conn.execute("select 1").fetchone() == (1,)
