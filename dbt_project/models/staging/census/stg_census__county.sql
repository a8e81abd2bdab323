-- Latest version of each county FIPS across the loaded lake days.
{{ latest_version(source('census', 'county'), ['county_fips']) }}
