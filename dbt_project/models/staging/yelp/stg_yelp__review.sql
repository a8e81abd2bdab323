-- Latest version of each review across the loaded lake days.
{{ latest_version(source('lake', 'review'), ['review_id']) }}
