-- Latest version of each business_transaction across the loaded lake days.
{{ latest_version(source('yelp', 'business_transaction'), ['business_id','transaction_type']) }}
