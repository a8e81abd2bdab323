-- Day D's landed and quarantined records, for yelp_quarantine_share.
select
    (
        select count(*) as n from raw.yelp_search
        where logical_date = %(d)s
    ) as businesses,
    (
        select count(*) as n from raw.yelp_review
        where logical_date = %(d)s
    ) as reviews,
    (
        select count(*) as n from raw.yelp_quarantine
        where logical_date = %(d)s and item_type = 'search'
    ) as bad_businesses,
    (
        select count(*) as n from raw.yelp_quarantine
        where logical_date = %(d)s and item_type = 'reviews'
    ) as bad_reviews
