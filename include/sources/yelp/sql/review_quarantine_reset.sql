-- A business's reviews land whole: its earlier quarantined reviews go with the old answer.
delete from raw.yelp_quarantine
where logical_date = %(d)s and item_type = 'reviews' and item_key = %(key)s
