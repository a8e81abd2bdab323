"""Every endpoint comes from an Airflow connection (overridable with AIRFLOW_CONN_<ID>)."""

from __future__ import annotations


def get_connection(conn_id: str):
    """The Airflow connection `conn_id`, from the secrets backends (env vars first)."""
    from airflow.sdk import BaseHook

    return BaseHook.get_connection(conn_id)


def census_client(conn_id: str = "census_api"):
    from include.sources.census import CensusClient

    conn = get_connection(conn_id)
    extra = conn.extra_dejson
    return CensusClient(base_url=conn.host, api_key=conn.password,
                        vintage=str(extra.get("vintage", "2019")))


def yelp_client(conn_id: str = "yelp_api", **kwargs):
    """A YelpClient for the `yelp_api` connection (host = base URL, password = API key);
    kwargs (max_calls, page_size, session...) go to YelpClient."""
    from include.sources.yelp import DEFAULT_BASE_URL, YelpClient

    conn = get_connection(conn_id)
    return YelpClient(base_url=conn.host or DEFAULT_BASE_URL, api_key=conn.password, **kwargs)


def amplitude_client(conn_id: str = "amplitude_api", **kwargs):
    """An AmplitudeClient for the `amplitude_api` connection (host = base URL, login = API
    key, password = secret key); kwargs (session...) go to AmplitudeClient."""
    from include.sources.amplitude import DEFAULT_BASE_URL, AmplitudeClient

    conn = get_connection(conn_id)
    return AmplitudeClient(base_url=conn.host or DEFAULT_BASE_URL, api_key=conn.login,
                           secret_key=conn.password, **kwargs)


def states_page_location(conn_id: str = "states_page") -> tuple[str, str]:
    conn = get_connection(conn_id)
    return conn.host, conn.extra_dejson.get("path", "/")


def pg_connect(conn_id: str, **kwargs):
    """A psycopg 3 connection for a postgres-type Airflow connection."""
    import psycopg

    conn = get_connection(conn_id)
    return psycopg.connect(host=conn.host, port=conn.port or 5432, user=conn.login,
                           password=conn.password, dbname=conn.schema, **kwargs)
