-- Latest version of each category across the loaded lake days.
{{ latest_version(source('yelp', 'category'), ['category_alias']) }}
