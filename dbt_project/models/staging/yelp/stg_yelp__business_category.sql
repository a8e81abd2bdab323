-- Latest version of each business_category across the loaded lake days.
{{ latest_version(source('yelp', 'business_category'), ['business_id','category_alias']) }}
