-- Latest version of each transaction_type across the loaded lake days.
{{ latest_version(source('yelp', 'transaction_type'), ['transaction_type']) }}
