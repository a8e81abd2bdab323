-- Latest version of each state FIPS across the loaded lake days.
{{ latest_version(source('census', 'census_state'), ['state_fips']) }}
