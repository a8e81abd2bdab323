"""The Assets that connect the DAGs: defined once, imported by producers and consumers."""

from airflow.sdk import Asset

STATES_ASSET = Asset(name="oltp.state", uri="elt://source_db/oltp/state")
COUNTY_POPULATION_ASSET = Asset(
    name="oltp.county_population", uri="elt://source_db/oltp/county_population"
)
MARTS_ASSET = Asset(name="marts.geography", uri="elt://warehouse/marts/geography")
YELP_ASSET = Asset(name="oltp.business", uri="elt://source_db/oltp/business")
AMPLITUDE_RAW_ASSET = Asset(name="raw.amplitude_event", uri="elt://source_db/raw/amplitude_event")
