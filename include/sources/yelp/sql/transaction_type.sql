insert into oltp.transaction_type (transaction_type)
select distinct t
from yelp.ready_search as s, jsonb_array_elements_text(s.transactions) as t
where s.logical_date = %(d)s
on conflict do nothing
