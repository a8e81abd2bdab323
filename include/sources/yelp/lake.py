"""Yelp in the lake: the OLTP business model, exported incrementally (updated_at)."""

from include.lake.table import LakeTable

TABLES = (
    LakeTable(
        "city",
        ("state_code", "city_name"),
        (
            ("state_code", "string"),
            ("city_name", "string"),
            ("county_fips", "string"),
            ("updated_at", "timestamp"),
        ),
    ),
    LakeTable(
        "business",
        ("business_id",),
        (
            ("business_id", "string"),
            ("alias", "string"),
            ("business_name", "string"),
            ("address1", "string"),
            ("address2", "string"),
            ("address3", "string"),
            ("zip_code", "string"),
            ("phone", "string"),
            ("url", "string"),
            ("price_level", "int16"),
            ("latitude", "float64"),
            ("longitude", "float64"),
            ("state_code", "string"),
            ("city_name", "string"),
            ("county_fips", "string"),
            ("changed_on", "date"),
            ("updated_at", "timestamp"),
        ),
    ),
    LakeTable(
        "category",
        ("category_alias",),
        (("category_alias", "string"), ("title", "string"), ("updated_at", "timestamp")),
    ),
    LakeTable(
        "business_category",
        ("business_id", "category_alias"),
        (
            ("business_id", "string"),
            ("category_alias", "string"),
            ("is_current", "bool"),
            ("updated_at", "timestamp"),
        ),
    ),
    LakeTable(
        "transaction_type",
        ("transaction_type",),
        (("transaction_type", "string"), ("updated_at", "timestamp")),
    ),
    LakeTable(
        "business_transaction",
        ("business_id", "transaction_type"),
        (
            ("business_id", "string"),
            ("transaction_type", "string"),
            ("is_current", "bool"),
            ("updated_at", "timestamp"),
        ),
    ),
    LakeTable(
        "yelp_user",
        ("user_id",),
        (
            ("user_id", "string"),
            ("user_name", "string"),
            ("profile_url", "string"),
            ("image_url", "string"),
            ("updated_at", "timestamp"),
        ),
    ),
    LakeTable(
        "review",
        ("review_id",),
        (
            ("review_id", "string"),
            ("business_id", "string"),
            ("user_id", "string"),
            ("rating", "int16"),
            ("text_excerpt", "string"),
            ("created_at", "timestamp"),
            ("updated_at", "timestamp"),
        ),
    ),
    LakeTable(
        "business_holding",
        ("business_id", "holding_date"),
        (
            ("business_id", "string"),
            ("holding_date", "date"),
            ("rating", "float64"),
            ("review_count", "int64"),
            ("is_closed", "bool"),
            ("updated_at", "timestamp"),
        ),
    ),
)
