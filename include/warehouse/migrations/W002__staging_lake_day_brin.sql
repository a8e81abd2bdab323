-- The `_lake_day` index of every staging table becomes a BRIN index (with autosummarize):
-- a day arrives in one load, so its rows sit together in the heap, and a BRIN range per
-- 128 pages finds them for the load's delete of the day it replaces and for the
-- reconciliation's day counts. The btree it replaces took an entry per row at every load
-- (7-14% of the load's time at 1M rows, 17-39% at 10M, in paired runs; docs/benchmarks.md).
-- A day reloaded after vacuum may reuse free space in older ranges; those ranges still
-- answer correctly, only less selectively. The btree goes after its replacement exists.

create index if not exists state_lake_day_brin on staging.state
using brin (_lake_day) with (autosummarize = on);
drop index if exists staging.state_lake_day;
create index if not exists census_state_lake_day_brin on staging.census_state
using brin (_lake_day) with (autosummarize = on);
drop index if exists staging.census_state_lake_day;
create index if not exists county_lake_day_brin on staging.county
using brin (_lake_day) with (autosummarize = on);
drop index if exists staging.county_lake_day;
create index if not exists county_population_lake_day_brin on staging.county_population
using brin (_lake_day) with (autosummarize = on);
drop index if exists staging.county_population_lake_day;
create index if not exists city_lake_day_brin on staging.city
using brin (_lake_day) with (autosummarize = on);
drop index if exists staging.city_lake_day;
create index if not exists business_lake_day_brin on staging.business
using brin (_lake_day) with (autosummarize = on);
drop index if exists staging.business_lake_day;
create index if not exists category_lake_day_brin on staging.category
using brin (_lake_day) with (autosummarize = on);
drop index if exists staging.category_lake_day;
create index if not exists business_category_lake_day_brin on staging.business_category
using brin (_lake_day) with (autosummarize = on);
drop index if exists staging.business_category_lake_day;
create index if not exists transaction_type_lake_day_brin on staging.transaction_type
using brin (_lake_day) with (autosummarize = on);
drop index if exists staging.transaction_type_lake_day;
create index if not exists business_transaction_lake_day_brin on staging.business_transaction
using brin (_lake_day) with (autosummarize = on);
drop index if exists staging.business_transaction_lake_day;
create index if not exists yelp_user_lake_day_brin on staging.yelp_user
using brin (_lake_day) with (autosummarize = on);
drop index if exists staging.yelp_user_lake_day;
create index if not exists review_lake_day_brin on staging.review
using brin (_lake_day) with (autosummarize = on);
drop index if exists staging.review_lake_day;
create index if not exists business_holding_lake_day_brin on staging.business_holding
using brin (_lake_day) with (autosummarize = on);
drop index if exists staging.business_holding_lake_day;
create index if not exists amplitude_event_lake_day_brin on staging.amplitude_event
using brin (_lake_day) with (autosummarize = on);
drop index if exists staging.amplitude_event_lake_day;
create index if not exists amplitude_event_property_lake_day_brin
on staging.amplitude_event_property using brin (_lake_day) with (autosummarize = on);
drop index if exists staging.amplitude_event_property_lake_day;
