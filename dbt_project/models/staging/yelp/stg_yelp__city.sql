-- Latest version of each city across the loaded lake days.
{{ latest_version(source('yelp', 'city'), ['state_code','city_name']) }}
