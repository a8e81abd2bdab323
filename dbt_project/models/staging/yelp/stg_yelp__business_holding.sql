-- Latest version of each business_holding across the loaded lake days.
{{ latest_version(source('yelp', 'business_holding'), ['business_id','holding_date']) }}
