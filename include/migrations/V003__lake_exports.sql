-- One row per (table, day) exported to the lake: the updated_at window it covered.
create schema if not exists lake;
create table lake.exports (
    table_name     text        not null,
    day            date        not null,
    watermark_from timestamptz,
    watermark_to   timestamptz,
    row_count      bigint      not null,
    s3_key         text        not null,
    exported_at    timestamptz not null default now(),
    primary key (table_name, day)
);
