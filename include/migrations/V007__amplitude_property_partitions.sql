-- raw.amplitude_event_property becomes partitioned by export_day: the load fills a new
-- day's partition without its index, builds the primary key in bulk (about twice as fast
-- as maintaining it row by row, measured) and swaps it in with ATTACH PARTITION; a rerun
-- replaces the day's partition. Rows loaded before this migration stay in the default
-- partition (the former table); the load deletes a day there before attaching it.
alter table raw.amplitude_event_property rename to amplitude_event_property_before_v007;
alter index raw.amplitude_event_property_pkey rename to amplitude_event_property_before_v007_pkey;

create table raw.amplitude_event_property (
    export_day     date  not null,
    event_key      text  not null,
    property_type  text  not null
        constraint amplitude_event_property_property_type_check
        check (property_type in ('event','user','group','groups','data')),
    key            text  not null,
    value          text,
    primary key (export_day, event_key, property_type, key)
) partition by range (export_day);

alter table raw.amplitude_event_property
    attach partition raw.amplitude_event_property_before_v007 default;
