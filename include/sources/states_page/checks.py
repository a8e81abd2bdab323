"""The Great Expectations suite on a landed states page batch (raw.states_page)."""

from include.quality.gx import Check, Suite, gxe
from include.sources.states_page.settings import EXPECTED_STATES

SUITE = Suite(
    name="states_page",
    target="raw.states_page",
    query=(
        "select *, is_state::int as is_state_int from raw.states_page where batch_id = '{batch_id}'"
    ),
    checks=(
        Check(
            "states_count_is_50_plus_dc",
            "completeness",
            lambda: gxe().ExpectColumnSumToBeBetween(
                column="is_state_int", min_value=EXPECTED_STATES, max_value=EXPECTED_STATES
            ),
        ),
        Check(
            "state_code_unique",
            "uniqueness",
            lambda: gxe().ExpectColumnValuesToBeUnique(column="state_code"),
            sample_key="duplicates",
        ),
        Check(
            "state_code_not_null",
            "completeness",
            lambda: gxe().ExpectColumnValuesToNotBeNull(column="state_code"),
        ),
        Check(
            "state_code_two_letters",
            "validity",
            lambda: gxe().ExpectColumnValuesToMatchRegex(column="state_code", regex="^[A-Z]{2}$"),
        ),
    ),
)
