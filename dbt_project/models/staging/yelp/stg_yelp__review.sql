-- Latest version of each review across the loaded lake days.
{{ latest_version(source('yelp', 'review'), ['review_id']) }}
