"""The redactor: what a connection's secrets are, the forms they travel in, the patterns
for secrets nobody registered, and log records (urllib3's child loggers, tracebacks)."""

import base64
import json
import logging

import pytest
from airflow.sdk import Connection

from include.connections import secrets


def _conn(**kwargs):
    extra = kwargs.pop("extra", None)
    return Connection(
        conn_id="x", extra=json.dumps(extra) if isinstance(extra, dict) else extra, **kwargs
    )


def test_a_connections_secrets_are_its_password_key_logins_and_secret_extras():
    http = _conn(
        conn_type="http",
        host="https://amplitude.com",
        login="amp-api-key-1",
        password="amp-secret-1",
    )
    assert secrets.connection_secrets(http) == {
        "amp-api-key-1",
        "amp-secret-1",
        base64.b64encode(b"amp-api-key-1:amp-secret-1").decode(),  # HTTP basic auth
    }
    pg = _conn(conn_type="postgres", host="db", login="elt_user", password="pg-pass-1")
    assert "elt_user" not in secrets.connection_secrets(pg)  # a user name, not a secret
    assert "pg-pass-1" in secrets.connection_secrets(pg)
    aws = _conn(
        conn_type="aws",
        login="AKIAEXAMPLE1",
        password="aws-secret-1",
        extra={
            "endpoint_url": "http://127.0.0.1:9000",
            "region_name": "us-east-1",
            "aws_session_token": "aws-token-1",
        },
    )
    assert secrets.connection_secrets(aws) >= {"AKIAEXAMPLE1", "aws-secret-1", "aws-token-1"}
    assert not {"http://127.0.0.1:9000", "us-east-1"} & secrets.connection_secrets(aws)
    gcp = _conn(
        conn_type="google_cloud_platform",
        extra={
            "project": "my-project",
            "key_path": "/secrets/sa.json",
            "keyfile_dict": json.dumps({"type": "service_account", "private_key": "-----PK-1"}),
        },
    )
    assert secrets.connection_secrets(gcp) == {"-----PK-1"}


def test_a_slack_webhooks_token_is_secret_in_every_spelling():
    url = "https://hooks.slack.com/services/T0AAAA/B0BBBB/tokentoken123"
    got = secrets.connection_secrets(_conn(conn_type="slackwebhook", password=url))
    assert {url, "T0AAAA/B0BBBB/tokentoken123", "tokentoken123"} <= got


def test_registered_secrets_are_redacted_raw_and_encoded():
    key = "k3y+with/special=chars"
    secrets.register(key)
    text = (
        f"raw {key} | query key%2Bwith... /data?get=NAME&key=k3y%2Bwith%2Fspecial%3Dchars "
        f"| json {json.dumps({'k': key})}"
    )
    cleaned = secrets.redact(text)
    assert "k3y" not in cleaned, cleaned
    assert cleaned.count("***") >= 3


def test_secrets_nobody_registered_are_caught_by_their_shape():
    samples = {
        "GET /v1/x?api_key=abcdef123456&q=1": "abcdef123456",
        "https://svc/x?token=tok-999999": "tok-999999",
        "postgresql://user:hunter2hunter@db:5432/x": "hunter2hunter",
        "posted to https://hooks.slack.com/services/T1/B2/zzzzzzzz": "zzzzzzzz",
        "header Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.abc": "eyJhbGciOiJIUzI1NiJ9",
        "s3 https://b.s3/x?X-Amz-Signature=deadbeefcafe": "deadbeefcafe",
    }
    for text, secret in samples.items():
        assert secret not in secrets.redact(text), text
    # ...and ordinary words stay
    assert secrets.redact("partition_key=None monkey=1") == "partition_key=None monkey=1"


def test_short_secrets_are_not_masked():
    secrets.register("abc")  # would blank every "abc"
    assert secrets.redact("abcdef") == "abcdef"


def test_redact_obj_walks_payloads_and_masks_secret_keys():
    secrets.register("payload-secret-1")
    got = secrets.redact_obj(
        {"text": "x payload-secret-1", "nested": [{"password": "plain"}, ("payload-secret-1",)]}
    )
    assert got == {"text": "x ***", "nested": [{"password": "***"}, ("***",)]}


@pytest.fixture
def captured():
    """A handler on the root logger, as any log sink is."""
    records: list[str] = []

    class Handler(logging.Handler):
        def emit(self, record):
            records.append(self.format(record))

    handler = Handler()
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.DEBUG)
    secrets.install_log_filter()
    yield records
    root.removeHandler(handler)
    root.setLevel(level)


def test_log_records_of_child_loggers_and_their_tracebacks_are_redacted(captured):
    secrets.register("log-secret-12345")
    # urllib3 logs from child loggers, with the URL as an argument
    logging.getLogger("urllib3.connectionpool").warning(
        "Retrying after connection broken: %s", "/data?get=NAME&key=log-secret-12345"
    )
    logging.getLogger("some.library.created.later").debug("dsn %s", "log-secret-12345")
    try:
        raise RuntimeError("Max retries exceeded with url: /x?key=log-secret-12345")
    except RuntimeError:
        logging.getLogger("include.anything").exception("failed")
    text = "\n".join(captured)
    assert "log-secret-12345" not in text, text
    assert "Retrying after connection broken" in text and "Traceback" in text


def test_an_exception_and_its_chain_are_redacted_in_place():
    secrets.register("exc-secret-12345")
    try:
        try:
            raise ValueError("inner exc-secret-12345")
        except ValueError as inner:
            raise RuntimeError("outer", "exc-secret-12345") from inner
    except RuntimeError as exc:
        secrets.redact_exception(exc)
        assert "exc-secret-12345" not in str(exc)
        assert "exc-secret-12345" not in str(exc.__cause__)


def test_the_known_connections_are_the_sources_and_the_shared_ones():
    assert secrets.known_conn_ids() == (
        "states_page",
        "census_api",
        "yelp_api",
        "amplitude_api",
        "source_db",
        "warehouse_db",
        "lake_s3",
        "google_cloud_default",
        "slack_alerts",
    )
