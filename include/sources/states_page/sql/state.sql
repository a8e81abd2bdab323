-- oltp.state rows of one landed batch, in page order.
select
    state_code,
    state_name,
    is_state
from raw.states_page
where batch_id = %(b)s
order by row_num
