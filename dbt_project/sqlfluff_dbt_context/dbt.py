"""`dbt.<macro>()`: the cross-database macros the project calls, as dbt-postgres renders them."""


def type_string():
    return "text"


def type_timestamp():
    return "timestamp"


def cast(field, type_):
    return f"cast({field} as {type_})"


def safe_cast(field, type_):
    return f"cast({field} as {type_})"


def concat(fields):
    return f"({' || '.join(fields)})"


def hash(field):
    return f"md5(cast({field} as text))"


def dateadd(datepart, interval, from_date_or_timestamp):
    return f"{from_date_or_timestamp} + ((interval '1 {datepart}') * ({interval}))"


def date_trunc(datepart, date):
    return f"date_trunc('{datepart}', {date})"


def current_timestamp():
    return "now()"
