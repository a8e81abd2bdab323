-- Latest version of each postal code across the loaded lake days.
{{ latest_version(source('lake', 'state'), ['state_code']) }}
