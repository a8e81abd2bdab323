-- Latest version of each yelp_user across the loaded lake days.
{{ latest_version(source('yelp', 'yelp_user'), ['user_id']) }}
