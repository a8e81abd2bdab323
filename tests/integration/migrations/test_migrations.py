"""The migrator on a scratch migrations folder and a scratch schema: one transaction per
file (a failing file keeps the ones before it), a checksum per applied file, and a
refusal to run when an applied file has changed."""

import uuid

import pytest

from include.connections import pg_connect

pytestmark = pytest.mark.integration


@pytest.fixture
def scratch(tmp_path):
    schema = f"mig_{uuid.uuid4().hex[:8]}"
    with pg_connect("source_db", autocommit=True) as conn:
        conn.execute(f"create schema {schema}")
    yield tmp_path, schema
    with pg_connect("source_db", autocommit=True) as conn:
        conn.execute(f"drop schema {schema} cascade")


def _tables(schema):
    with pg_connect("source_db") as conn:
        return {
            r[0]
            for r in conn.execute(
                "select table_name from information_schema.tables where table_schema = %s",
                (schema,),
            )
        }


def test_each_file_is_its_own_transaction(scratch):
    from include.migrations import migrate

    folder, schema = scratch
    (folder / "V001__one.sql").write_text(f"create table {schema}.one (x int);")
    (folder / "V002__broken.sql").write_text(f"create table {schema}.two (x int); select 1/0;")
    with pytest.raises(Exception, match="division by zero"):
        migrate(directory=folder, table=f"{schema}.schema_migrations")
    # V001 stays applied and recorded; V002 left nothing behind.
    assert _tables(schema) == {"one", "schema_migrations"}
    with pg_connect("source_db") as conn:
        versions = [r[0] for r in conn.execute(f"select version from {schema}.schema_migrations")]
    assert versions == ["V001__one.sql"]


def test_an_applied_file_that_changed_is_refused(scratch):
    from include.migrations import MigrationChanged, migrate

    folder, schema = scratch
    path = folder / "V001__one.sql"
    path.write_text(f"create table {schema}.one (x int);")
    assert migrate(directory=folder, table=f"{schema}.schema_migrations") == ["V001__one.sql"]
    path.write_text(f"create table {schema}.one (x bigint);")
    (folder / "V002__two.sql").write_text(f"create table {schema}.two (x int);")
    with pytest.raises(MigrationChanged, match=r"V001__one\.sql"):
        migrate(directory=folder, table=f"{schema}.schema_migrations")
    assert "two" not in _tables(schema)  # nothing runs after a refusal


def test_v013_gives_existing_yelp_rows_the_latest_landed_day_that_carries_them(
    scratch_database, tmp_path
):
    """A database at V012 with Yelp rows: V013's seen_on is the latest raw day that carries
    each category, user and review (the days written here), else 1900-01-01."""
    import shutil
    from datetime import date

    from include.migrations import MIGRATIONS, migrate

    for path in MIGRATIONS.glob("V*.sql"):
        if path.name < "V013":
            shutil.copy(path, tmp_path)
    assert migrate(scratch_database, directory=tmp_path)[-1] == "V012__alert_outbox_delivery.sql"
    d1, d2, d3 = date(2030, 1, 1), date(2030, 1, 2), date(2030, 1, 3)
    with pg_connect(scratch_database, autocommit=True) as conn:
        search = (
            "insert into raw.yelp_search (logical_date, county_fips, business_id, "
            "search_offset, categories) values (%s, '35013', 'b1', 0, %s::jsonb)"
        )
        conn.execute(search, (d1, '[["cafes", "Cafes"], ["bbq", "Barbeque"]]'))
        conn.execute(search, (d2, '[["cafes", "Cafes"]]'))
        conn.execute(
            "insert into oltp.category (category_alias, title) values "
            "('cafes', 'Cafes'), ('bbq', 'Barbeque'), ('gone', 'Not in raw')"
        )
        conn.execute(
            "insert into oltp.business (business_id, business_name, changed_on, seen_on) "
            "values ('b1', 'B', %s, %s)",
            (d1, d2),
        )
        conn.execute("insert into oltp.yelp_user (user_id) values ('u1'), ('u2'), ('u3')")
        review = (
            "insert into raw.yelp_review (logical_date, business_id, review_id, user_id) "
            "values (%s, 'b1', %s, %s)"
        )
        for day, review_id, user_id in ((d1, "r1", "u1"), (d3, "r1", "u1"), (d2, "r2", "u2")):
            conn.execute(review, (day, review_id, user_id))
        conn.execute(
            "insert into oltp.review (review_id, business_id, user_id) values "
            "('r1', 'b1', 'u1'), ('r2', 'b1', 'u2'), ('r3', 'b1', 'u3')"
        )

    assert migrate(scratch_database)[0] == "V013__yelp_seen_on_rest.sql"
    old = date(1900, 1, 1)
    with pg_connect(scratch_database) as conn:
        seen = {
            table: dict(conn.execute(f"select {key}, seen_on from oltp.{table}").fetchall())
            for table, key in (
                ("category", "category_alias"),
                ("yelp_user", "user_id"),
                ("review", "review_id"),
            )
        }
        nullable = conn.execute(
            "select table_name, is_nullable from information_schema.columns "
            "where table_schema = 'oltp' and column_name = 'seen_on'"
        ).fetchall()
    assert seen == {
        "category": {"cafes": d2, "bbq": d1, "gone": old},
        "yelp_user": {"u1": d3, "u2": d2, "u3": old},
        "review": {"r1": d3, "r2": d2, "r3": old},
    }
    assert sorted(nullable) == [
        (t, "NO") for t in ("business", "category", "city", "review", "yelp_user")
    ]
