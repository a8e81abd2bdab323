"""Settings of the Census source."""

DEFAULT_BASE_URL = "https://api.census.gov"
# The Population Estimates vintage (extra `vintage` of the census_api connection overrides it).
DEFAULT_VINTAGE = "2019"
COUNTY_VARIABLES = ("NAME", "POP", "DATE_CODE")
