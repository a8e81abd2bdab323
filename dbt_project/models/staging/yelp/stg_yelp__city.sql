-- Latest version of each city across the loaded lake days.
{{ latest_version(source('lake', 'city'), ['state_code','city_name']) }}
