-- Session-local staging of one business's reviews.
create temp table if not exists yelp_review_in
(like raw.yelp_review including defaults) on commit delete rows
