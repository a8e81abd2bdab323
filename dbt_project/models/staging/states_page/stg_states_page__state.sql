-- Latest version of each postal code across the loaded lake days.
{{ latest_version(source('states_page', 'state'), ['state_code']) }}
