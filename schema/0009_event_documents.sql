-- The public JSON of each event, built once when it is written, so that the
-- timeline, the change feed and the exports read text instead of rebuilding
-- JSON for every row on every request. It is derived data: body, id and
-- hash stay the record; `registry verify` checks body and hash.
ALTER TABLE events ADD COLUMN doc text;
ALTER TABLE events DISABLE TRIGGER events_immutable;
UPDATE events SET doc = (body || jsonb_build_object('id', id, 'hash', hash))::text;
ALTER TABLE events ENABLE TRIGGER events_immutable;
ALTER TABLE events ALTER COLUMN doc SET NOT NULL;
