-- Latest version of each category across the loaded lake days.
{{ latest_version(source('lake', 'category'), ['category_alias']) }}
