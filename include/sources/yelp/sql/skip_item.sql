-- An item Yelp cannot serve (LOCATION_NOT_FOUND, BUSINESS_NOT_FOUND): not pending any more,
-- not retried; detail keeps the error for the check and for on-call.
update yelp.progress set
    status = 'skipped',
    detail = %(detail)s,
    updated_at = now()
where logical_date = %(d)s and item_type = %(type)s and item_key = %(key)s
