-- Each warehouse target has its own delta stream in the lake: a target's watermark only
-- moves with what that target loads. Rows exported before this migration belong to the
-- default target. watermark_to is now the exclusive upper bound the export was safe to
-- read to (no transaction still open could write below it), not the largest updated_at.
alter table lake.exports add column target text not null default 'postgres';
alter table lake.exports drop constraint exports_pkey;
alter table lake.exports add primary key (target, table_name, day);
