"""The fault scenarios run on the real local stack, in any order: the Yelp ones search the
counties that the states page and the Census land, so both are landed first, here, instead
of relying on whichever test ran before."""

import uuid
from datetime import date

import pytest


@pytest.fixture(scope="session", autouse=True)
def _geography(local_stack):
    from include.quality import RunContext
    from include.sources import census, states_page
    from tests.helpers import control

    control({})
    day = date(2024, 1, 1)
    for source, dag in ((states_page, "states_page"), (census, "census_population")):
        source.ingest_day(day, RunContext(f"test-faults-{uuid.uuid4()}", dag, "geography", day))
