-- Latest version of each transaction_type across the loaded lake days.
{{ latest_version(source('lake', 'transaction_type'), ['transaction_type']) }}
