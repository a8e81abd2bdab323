"""One redactor for every connection secret: log lines, exception texts, alert payloads, the
alert outbox and `quality.check_results`.

What it knows:

* the secrets of every connection this process fetched through
  `include.connections.get_connection` (registered on each fetch), and of every connection
  the project uses (`load_all()`: the `from_connection` default of each source's client in
  `include/sources/*/client.py`, plus `INFRA_CONN_IDS`), so that a secret fetched by a
  provider hook directly (Slack, Google) is known too;
* per connection: the password; the login unless it is a database user name (an HTTP
  connection's login is an API key: Amplitude's); extra values under secret-sounding keys
  (`SECRET_KEY_PARTS`, nested dicts and JSON strings walked); the webhook token (the path)
  of a Slack webhook; each as written, URL-encoded (a key in a query string), JSON-escaped,
  and login:password as HTTP basic auth sends it;
* patterns for secrets it was never told about: `key=`/`token=`/`signature=`... query
  parameters, `user:password@` in URLs, Slack webhook paths, `Bearer`/`Basic` credentials.

Where it applies: `install_log_filter()` (called by the first `get_connection` and by
`retrying_session`) redacts every stdlib log record when it is created (a record factory:
a filter on a logger does not see its children's records, and urllib3 logs from
`urllib3.connectionpool` and `urllib3.util.retry`) and puts a `SecretsFilter` on the root
logger, its handlers and the loggers that print URLs (urllib3, requests, slack_sdk, the task
logger). Under Airflow every secret is also given to Airflow's own masker (`mask_secret`),
which masks what Airflow logs itself (the task's traceback, structlog lines) in the task
process and the supervisor. `include.quality.alerts` and `record_checks` call `redact` /
`redact_obj` before anything is stored or posted.

Secrets shorter than MIN_SECRET_LENGTH are not masked (they would mask ordinary words);
Airflow skips them too.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import re
import threading
from urllib.parse import quote, quote_plus

MASK = "***"
MIN_SECRET_LENGTH = 5
# The connections beside the sources' own (theirs are read from their clients).
INFRA_CONN_IDS = ("source_db", "warehouse_db", "lake_s3", "google_cloud_default", "slack_alerts")
# A database connection's login is a user name, not a secret.
USER_NAME_CONN_TYPES = frozenset({"postgres", "postgresql"})
# An extra value is secret when its key contains one of these (lower case, _ for - or space).
SECRET_KEY_PARTS = (
    "password",
    "passwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "access_key",
    "private_key",
    "keyfile",
    "credential",
    "authorization",
)
# Loggers that print URLs or headers, and the task logger, get the filter too.
FILTERED_LOGGERS = (
    "urllib3",
    "urllib3.connectionpool",
    "urllib3.util.retry",
    "requests",
    "slack_sdk",
    "airflow.task",
)

_SECRET_PARAM = re.compile(
    r"(?i)([?&;](?:api[_-]?key|key|access[_-]?token|token|secret|client[_-]?secret|"
    r"password|passwd|pwd|sig|signature|x-amz-signature|x-amz-credential|"
    r"x-amz-security-token|x-goog-signature|x-goog-credential)=)[^&\s'\"#)<>]+"
)
_GENERIC = (
    (_SECRET_PARAM, rf"\1{MASK}"),
    # scheme://user:password@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@'\"]+):[^/\s@'\"]+@"), rf"\1:{MASK}@"),
    (
        re.compile(r"(?i)(hooks\.slack\.com/(?:services|workflows|triggers)/)[^\s'\")>]+"),
        rf"\1{MASK}",
    ),
    (re.compile(r"\bT[A-Z0-9]+/B[A-Z0-9]+/[^\s'\")>]+"), MASK),  # a webhook's T../B../token
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), rf"\1 {MASK}"),
)


def _is_secret_key(name) -> bool:
    key = re.sub(r"[\s-]+", "_", str(name).strip().lower())
    return any(part in key for part in SECRET_KEY_PARTS)


def _forms(secret: str):
    """A secret as it travels: raw, URL-encoded, JSON-escaped."""
    yield secret
    yield quote(secret, safe="")
    yield quote(secret)
    yield quote_plus(secret)
    yield json.dumps(secret)[1:-1]


class Redactor:
    """Known secrets (longest first) and the generic patterns, applied to text."""

    def __init__(self):
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        self._pattern: re.Pattern | None = None

    def add(self, *secrets: str) -> list[str]:
        """Register secrets (and their encoded forms); returns the forms that were new."""
        new = []
        for secret in secrets:
            if not isinstance(secret, str) or len(secret) < MIN_SECRET_LENGTH:
                continue
            for form in _forms(secret):
                if len(form) >= MIN_SECRET_LENGTH and form not in self._secrets:
                    new.append(form)
        if new:
            with self._lock:
                self._secrets.update(new)
                ordered = sorted(self._secrets, key=len, reverse=True)
                self._pattern = re.compile("|".join(re.escape(s) for s in ordered))
        return new

    def redact(self, text) -> str:
        text = text if isinstance(text, str) else str(text)
        pattern = self._pattern
        if pattern is not None:
            text = pattern.sub(MASK, text)
        for regex, replacement in _GENERIC:
            text = regex.sub(replacement, text)
        return text

    def redact_obj(self, value, key=None):
        """A JSON-like value with every string redacted; values under secret-sounding keys
        masked whole."""
        if key is not None and _is_secret_key(key) and isinstance(value, (str, int, float)):
            return MASK
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, dict):
            return {
                (self.redact(k) if isinstance(k, str) else k): self.redact_obj(v, k)
                for k, v in value.items()
            }
        if isinstance(value, (list, tuple)):
            return type(value)(self.redact_obj(v) for v in value)
        return value


REDACTOR = Redactor()


def redact(text) -> str:
    """`text` with every known secret and secret-looking token replaced by ***."""
    return REDACTOR.redact(text)


def redact_obj(value):
    """A JSON-like value (alert payload, check details) with every string redacted."""
    return REDACTOR.redact_obj(value)


# --- what a connection holds --------------------------------------------------------


def _extra_secrets(value, secret: bool = False):
    if isinstance(value, str) and value.lstrip().startswith("{"):
        try:
            value = json.loads(value)
        except ValueError:
            pass
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _extra_secrets(v, _is_secret_key(k))
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _extra_secrets(v, secret)
    elif secret and isinstance(value, (str, int)) and not isinstance(value, bool):
        yield str(value)


def _webhook_token(password: str):
    """The secret parts of a Slack webhook password (a URL or its T../B../token path)."""
    path = password.split("://", 1)[-1]
    if "/services/" in path:
        path = path.split("/services/", 1)[1]
    parts = [p for p in path.strip("/").split("/") if p]
    if len(parts) >= 2:
        yield "/".join(parts)
        yield parts[-1]


def connection_secrets(conn) -> set[str]:
    """Every secret value an Airflow connection holds (see the module docstring)."""
    secrets: set[str] = set()
    conn_type = (getattr(conn, "conn_type", None) or "").lower()
    password, login = getattr(conn, "password", None), getattr(conn, "login", None)
    if password:
        secrets.add(password)
        if conn_type == "slackwebhook":
            secrets.update(_webhook_token(password.strip()))
    if login and conn_type not in USER_NAME_CONN_TYPES:
        secrets.add(login)
    if login and password:
        secrets.add(base64.b64encode(f"{login}:{password}".encode()).decode())
    try:
        extra = conn.extra_dejson
    except Exception:  # noqa: BLE001 - an unreadable extra: take it whole as a string
        extra = getattr(conn, "extra", None)
    secrets.update(_extra_secrets(extra or {}))
    return {s for s in secrets if len(s) >= MIN_SECRET_LENGTH}


_airflow_masked: set[str] = set()


def _mask_in_airflow(forms: list[str]) -> None:
    """Give secrets to Airflow's masker (task logs, the supervisor), when running under it."""
    try:
        from airflow.sdk.log import mask_secret
    except ImportError:  # Airflow < 3.1: the execution-time module held it
        try:
            from airflow.sdk.execution_time.secrets_masker import mask_secret
        except ImportError:
            return
    for form in forms:
        if form not in _airflow_masked:
            _airflow_masked.add(form)
            try:
                mask_secret(form)
            except Exception:  # noqa: BLE001 - our own redaction still applies
                pass


def register(*secrets: str) -> None:
    """Redact these values from now on (logs, alerts, outbox, check results)."""
    install_log_filter()
    new = REDACTOR.add(*secrets)
    if new:
        _mask_in_airflow(new)


def register_connection(conn) -> None:
    register(*connection_secrets(conn))


@functools.cache
def known_conn_ids() -> tuple[str, ...]:
    """The sources' connection ids (each client's `from_connection` default), then the
    shared ones."""
    import importlib
    import inspect

    from include.sources import SOURCES

    ids = []
    for name in SOURCES:
        client = importlib.import_module(f"include.sources.{name}.client")
        default = inspect.signature(client.from_connection).parameters["conn_id"].default
        ids.append(default)
    return tuple(dict.fromkeys(ids + list(INFRA_CONN_IDS)))


_loaded: set[str] = set()
_load_lock = threading.Lock()


def load_all() -> None:
    """Register the secrets of every connection the project uses (once per process per
    connection; a connection that is not defined here is skipped)."""
    with _load_lock:
        todo = [c for c in known_conn_ids() if c not in _loaded]
        _loaded.update(todo)
    if not todo:
        return
    from airflow.sdk import BaseHook

    for conn_id in todo:
        try:
            conn = BaseHook.get_connection(conn_id)
        except Exception:  # noqa: BLE001 - not defined in this deployment
            continue
        register_connection(conn)


# --- logs -----------------------------------------------------------------------------

_REDACTED_FLAG = "_elt_secrets_redacted"


def redact_exception(exc: BaseException, _seen: set[int] | None = None) -> BaseException:
    """Redact an exception's args in place (its str and traceback line), and its cause's
    and context's."""
    seen = _seen if _seen is not None else set()
    if exc is None or id(exc) in seen or len(seen) > 10:
        return exc
    seen.add(id(exc))
    try:
        args = []
        for arg in exc.args:
            if isinstance(arg, BaseException):
                args.append(redact_exception(arg, seen))
            elif isinstance(arg, str):
                args.append(redact(arg))
            else:
                text = str(arg)
                cleaned = redact(text)
                args.append(arg if cleaned == text else cleaned)
        exc.args = tuple(args)
    except Exception:  # noqa: BLE001 - an exception type that refuses new args
        pass
    redact_exception(exc.__cause__, seen)
    redact_exception(exc.__context__, seen)
    return exc


def redact_record(record: logging.LogRecord) -> None:
    """Redact a log record in place: its message (args merged in), exception and stack."""
    if record.__dict__.get(_REDACTED_FLAG):
        return
    record.__dict__[_REDACTED_FLAG] = True
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a broken format string: logging reports it itself
        return
    cleaned = redact(message)
    if cleaned != message:
        record.msg, record.args = cleaned, ()
    if record.exc_info and record.exc_info[1] is not None:
        redact_exception(record.exc_info[1])
        if not record.exc_text:
            # the traceback as logging's formatters print it (they reuse exc_text), redacted
            # whole: its source lines and chained messages too
            record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


class SecretsFilter(logging.Filter):
    """A logging filter that redacts each record it sees (never drops one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


_FILTER = SecretsFilter()
_install_lock = threading.Lock()
_installed = False


def install_log_filter() -> None:
    """Redact every log record of this process (idempotent); see the module docstring."""
    global _installed
    with _install_lock:
        if _installed:
            return
        _installed = True
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs):
        record = previous(*args, **kwargs)
        redact_record(record)
        return record

    logging.setLogRecordFactory(factory)
    for name in ("", *FILTERED_LOGGERS):
        logger = logging.getLogger(name)
        logger.addFilter(_FILTER)
        for handler in logger.handlers:
            handler.addFilter(_FILTER)
