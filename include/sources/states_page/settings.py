"""Settings of the states page source."""

USER_AGENT = "elt-dag-bundle/0.1 (+https://github.com/)"
# 50 states + DC in the states table; territories are in their own table.
EXPECTED_STATES = 51
